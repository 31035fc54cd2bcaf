//! What can go wrong when deploying or following a run, as data with a message that says
//! what to do: RBAC denial (which verb on which resource), quota, field conflicts, an
//! image that cannot be pulled, a start timeout with the stuck pods and why. It must not
//! print.

/// A pod that did not start, and why (a waiting reason or the scheduler's message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StuckPod {
    pub name: String,
    pub phase: String,
    pub reason: String,
}

/// An error under a [`DeployError`]: kube's, its kubeconfig's, or the HTTP stack's.
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// No kubeconfig, an unknown context, a cluster that cannot be reached. `what` says
    /// where (`context `x`: `, `create Job `y`: `), or is empty.
    #[error("cannot reach the cluster: {what}{source}")]
    Config {
        what: String,
        #[source]
        source: Source,
    },
    #[error(
        "RBAC denied: you may not `{verb}` {resource} in namespace `{namespace}` ({message}); \
         docs/kubernetes.md has the Role a deploying user needs"
    )]
    Forbidden {
        verb: String,
        resource: String,
        namespace: String,
        message: String,
    },
    #[error(
        "a ResourceQuota refused the run: {message}; lower `fleet.runners` or `fleet.resources`, or raise the quota"
    )]
    Quota { message: String },
    /// Server-side apply found fields owned by another manager.
    #[error(
        "{kind} `{name}`: another field manager owns fields volley sets ({message}); \
         rerun with --force-conflicts to take them over"
    )]
    Conflict {
        kind: String,
        name: String,
        message: String,
    },
    /// The object exists with a spec that cannot change (a Job's pod template).
    #[error(
        "{kind} `{name}` exists with a spec that cannot be changed ({message}); \
         `volley delete {run}` first"
    )]
    Immutable {
        kind: String,
        name: String,
        run: String,
        message: String,
    },
    #[error(
        "pod `{pod}` cannot pull image `{image}` ({reason}: {message}); check `fleet.image` \
         and the registry credentials (imagePullSecrets of the namespace's default service account)"
    )]
    ImagePull {
        pod: String,
        image: String,
        reason: String,
        message: String,
    },
    /// The Job controller could not create pods (an admission webhook, PodSecurity, …).
    #[error("Job `{job}` could not create its pods: {message}")]
    PodsNotCreated { job: String, message: String },
    #[error("{}", start_timeout(*waited_s, stuck))]
    StartTimeout { waited_s: u64, stuck: Vec<StuckPod> },
    #[error("{what} not found")]
    NotFound { what: String },
    /// The run token of Secret `secret` cannot be sent in a header (a control character, or
    /// bytes that are not text). The token itself is never part of the error.
    #[error(
        "key `{key}` of Secret `{secret}` is not a usable run token: {why}; recreate the \
         Secret with a printable token (docs/kubernetes.md, GitOps)"
    )]
    InvalidToken {
        secret: String,
        key: String,
        why: String,
    },
    /// Any other failure of a request; `source` is kube's error when it was not an
    /// answer of the API server (whose message is `message`).
    #[error("{action}: {message}")]
    Api {
        action: String,
        message: String,
        #[source]
        source: Option<Source>,
    },
}

impl DeployError {
    /// [`DeployError::Config`] of an error with nothing to add.
    pub fn config(source: impl Into<Source>) -> DeployError {
        DeployError::Config {
            what: String::new(),
            source: source.into(),
        }
    }
}

/// The text of [`DeployError::StartTimeout`]: the wait, then one line per stuck pod.
fn start_timeout(waited_s: u64, stuck: &[StuckPod]) -> String {
    let mut s = format!("the fleet did not start within {waited_s} s; stuck pods:");
    if stuck.is_empty() {
        s.push_str(" none listed (the pods were never created)");
    }
    for p in stuck {
        s.push_str(&format!("\n  {} ({}): {}", p.name, p.phase, p.reason));
    }
    s
}

/// What a request was doing, to name it in an error.
#[derive(Clone, Copy, Debug)]
pub struct Ctx<'a> {
    pub verb: &'a str,
    pub kind: &'a str,
    /// The plural resource (`jobs`, `services/proxy`).
    pub resource: &'a str,
    pub name: &'a str,
    pub namespace: &'a str,
    pub run: &'a str,
}

impl<'a> Ctx<'a> {
    pub fn new(
        verb: &'a str,
        kind: &'a str,
        resource: &'a str,
        name: &'a str,
        namespace: &'a str,
        run: &'a str,
    ) -> Ctx<'a> {
        Ctx {
            verb,
            kind,
            resource,
            name,
            namespace,
            run,
        }
    }
}

/// `User "x" cannot patch resource "jobs" in API group "batch"` → (`patch`, `jobs.batch`).
fn parse_forbidden(message: &str) -> Option<(String, String)> {
    let rest = message.split("cannot ").nth(1)?;
    let verb = rest.split_whitespace().next()?.to_string();
    let quoted = |after: &str| -> Option<String> {
        let tail = rest.split(after).nth(1)?;
        let tail = tail.strip_prefix('"')?;
        Some(tail.split('"').next()?.to_string())
    };
    let resource = quoted("resource ")?;
    let group = quoted("API group ").unwrap_or_default();
    let full = if group.is_empty() {
        resource
    } else {
        format!("{resource}.{group}")
    };
    Some((verb, full))
}

/// Classifies a kube error of the request described by `ctx`.
pub fn classify(e: kube::Error, ctx: Ctx<'_>) -> DeployError {
    let action = format!("{} {} `{}`", ctx.verb, ctx.kind, ctx.name);
    let status = match e {
        kube::Error::Api(s) => s,
        other => {
            return match other {
                kube::Error::HyperError(_) | kube::Error::Service(_) => DeployError::Config {
                    what: format!("{action}: "),
                    source: Box::new(other),
                },
                _ => DeployError::Api {
                    action,
                    message: other.to_string(),
                    source: Some(Box::new(other)),
                },
            }
        }
    };
    let message = status.message.clone();
    match status.code {
        403 if message.contains("exceeded quota") => DeployError::Quota { message },
        403 => {
            let (verb, resource) = parse_forbidden(&message)
                .unwrap_or_else(|| (ctx.verb.to_string(), ctx.resource.to_string()));
            DeployError::Forbidden {
                verb,
                resource,
                namespace: ctx.namespace.to_string(),
                message,
            }
        }
        404 => DeployError::NotFound {
            what: format!(
                "{} `{}` in namespace `{}`",
                ctx.kind, ctx.name, ctx.namespace
            ),
        },
        409 => DeployError::Conflict {
            kind: ctx.kind.into(),
            name: ctx.name.into(),
            message,
        },
        422 if message.contains("immutable") => DeployError::Immutable {
            kind: ctx.kind.into(),
            name: ctx.name.into(),
            run: ctx.run.into(),
            message,
        },
        _ => DeployError::Api {
            action,
            message: format!("{} ({})", message, status.code),
            source: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_messages_name_verb_and_resource() {
        let m = r#"jobs.batch "x" is forbidden: User "ci" cannot patch resource "jobs" in API group "batch" in the namespace "loadtest""#;
        assert_eq!(
            parse_forbidden(m),
            Some(("patch".into(), "jobs.batch".into()))
        );
        let m = r#"secrets "t" is forbidden: User "ci" cannot get resource "secrets" in API group "" in the namespace "x""#;
        assert_eq!(parse_forbidden(m), Some(("get".into(), "secrets".into())));
        assert_eq!(parse_forbidden("forbidden"), None);
    }

    #[test]
    fn a_transport_error_keeps_kubes_error_as_its_source() {
        use std::error::Error as _;
        let e = classify(
            kube::Error::Service(Box::new(std::io::Error::other("connection refused"))),
            Ctx::new("get", "Job", "jobs.batch", "r-coordinator", "ns", "r"),
        );
        assert_eq!(
            e.to_string(),
            "cannot reach the cluster: get Job `r-coordinator`: ServiceError: connection refused"
        );
        let source = e.source().expect("a source");
        assert!(source.is::<kube::Error>(), "{source:?}");
        assert!(source.source().is_some(), "and kube's own source");
    }
}
