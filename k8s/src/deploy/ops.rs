//! The commands that act on an existing run by its id: `status` (the Jobs, the pods and
//! the coordinator's `/status`), `logs` (the coordinator's, or runner K's), `abort` (the
//! run token from its Secret, `POST /v1/abort` through the service proxy) and `delete`
//! (every object labelled with the run). Returns data; it must not print.

use super::error::{classify, Ctx, DeployError};
use super::{proxy_request, FleetStatus};
use crate::manifests::names::{Names, COMPONENT_LABEL, RUN_LABEL};
use crate::manifests::pod::TOKEN_KEY;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, DeleteParams, ListParams, LogParams, PropagationPolicy};
use kube::Client;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// The header `volley abort` sends the run token in. The API server consumes the
/// `Authorization` header of a proxied request (it authenticates the caller with it), so
/// the token cannot travel there; see the Kubernetes note of docs/protocol.md.
pub const TOKEN_HEADER: &str = "X-Volley-Token";

/// One Job of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobState {
    pub name: String,
    pub active: i32,
    pub succeeded: i32,
    pub failed: i32,
    /// `Complete`, `Failed` or `Running`.
    pub state: String,
}

/// One pod of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodState {
    pub name: String,
    pub component: String,
    pub phase: String,
    pub exit_code: Option<i32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RunStatus {
    pub run: String,
    pub jobs: Vec<JobState>,
    pub pods: Vec<PodState>,
    /// The coordinator's `/status`, while it answers.
    pub fleet: Option<FleetStatus>,
}

fn selector(run: &str) -> ListParams {
    ListParams::default().labels(&format!("{RUN_LABEL}={run}"))
}

async fn list<K>(
    client: &Client,
    ns: &str,
    run: &str,
    kind: &str,
    resource: &str,
) -> Result<Vec<K>, DeployError>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + Debug
        + DeserializeOwned,
    K::DynamicType: Default,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    api.list(&selector(run))
        .await
        .map(|l| l.items)
        .map_err(|e| classify(e, Ctx::new("list", kind, resource, run, ns, run)))
}

fn job_state(j: &Job) -> JobState {
    let s = j.status.clone().unwrap_or_default();
    let cond = |t: &str| {
        s.conditions
            .as_ref()
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == t && c.status == "True"))
    };
    let state = if cond("Complete") {
        "Complete"
    } else if cond("Failed") {
        "Failed"
    } else {
        "Running"
    };
    JobState {
        name: j.metadata.name.clone().unwrap_or_default(),
        active: s.active.unwrap_or(0),
        succeeded: s.succeeded.unwrap_or(0),
        failed: s.failed.unwrap_or(0),
        state: state.into(),
    }
}

fn pod_state(p: &Pod) -> PodState {
    let status = p.status.clone().unwrap_or_default();
    PodState {
        name: p.metadata.name.clone().unwrap_or_default(),
        component: p
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(COMPONENT_LABEL).cloned())
            .unwrap_or_default(),
        phase: status.phase.unwrap_or_default(),
        exit_code: status.container_statuses.and_then(|cs| {
            cs.iter()
                .find_map(|c| c.state.as_ref()?.terminated.as_ref().map(|t| t.exit_code))
        }),
    }
}

/// The state of run `run` in `ns`; `NotFound` when it has no Job.
pub async fn status(client: &Client, ns: &str, run: &str) -> Result<RunStatus, DeployError> {
    let jobs: Vec<Job> = list(client, ns, run, "Job", "jobs.batch").await?;
    if jobs.is_empty() {
        return Err(DeployError::NotFound {
            what: format!("run `{run}` in namespace `{ns}`"),
        });
    }
    let mut pods: Vec<PodState> = list::<Pod>(client, ns, run, "Pod", "pods")
        .await?
        .iter()
        .map(pod_state)
        .collect();
    pods.sort_by(|a, b| a.name.cmp(&b.name));
    let names = Names::from_run(run);
    let req = proxy_request(ns, &names.coordinator(), "status", None, None)?;
    let fleet = client
        .request_text(req)
        .await
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let mut jobs: Vec<JobState> = jobs.iter().map(job_state).collect();
    jobs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(RunStatus {
        run: run.into(),
        jobs,
        pods,
        fleet,
    })
}

/// The pod whose logs `volley logs RUN [--runner K]` shows.
async fn log_pod(
    client: &Client,
    ns: &str,
    run: &str,
    runner: Option<u32>,
) -> Result<String, DeployError> {
    let pods: Vec<Pod> = list(client, ns, run, "Pod", "pods").await?;
    let want = if runner.is_some() {
        "runner"
    } else {
        "coordinator"
    };
    let index = runner.map(|k| k.to_string());
    let mut found: Vec<&Pod> = pods
        .iter()
        .filter(|p| {
            p.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(COMPONENT_LABEL))
                .map(String::as_str)
                == Some(want)
        })
        .filter(|p| {
            index.is_none()
                || p.metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get("batch.kubernetes.io/job-completion-index"))
                    == index.as_ref()
        })
        .collect();
    // The newest pod of the index (a replacement, if any).
    found.sort_by_key(|p| p.metadata.creation_timestamp.clone().map(|t| t.0));
    found
        .last()
        .and_then(|p| p.metadata.name.clone())
        .ok_or_else(|| DeployError::NotFound {
            what: match runner {
                Some(k) => format!("runner {k} of run `{run}` in namespace `{ns}`"),
                None => format!("the coordinator of run `{run}` in namespace `{ns}`"),
            },
        })
}

/// The logs of the coordinator, or of runner `runner`.
pub async fn logs(
    client: &Client,
    ns: &str,
    run: &str,
    runner: Option<u32>,
) -> Result<String, DeployError> {
    let pod = log_pod(client, ns, run, runner).await?;
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    api.logs(&pod, &LogParams::default())
        .await
        .map_err(|e| classify(e, Ctx::new("get", "Pod", "pods/log", &pod, ns, run)))
}

/// Asks the coordinator to stop the run; returns its answer.
pub async fn abort(client: &Client, ns: &str, run: &str) -> Result<String, DeployError> {
    let names = Names::from_run(run);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let token_name = names.token();
    let secret = secrets.get(&token_name).await.map_err(|e| {
        classify(
            e,
            Ctx::new("get", "Secret", "secrets", &token_name, ns, run),
        )
    })?;
    let raw = secret
        .data
        .and_then(|d| d.get(TOKEN_KEY).cloned())
        .ok_or_else(|| DeployError::NotFound {
            what: format!("key `{TOKEN_KEY}` of Secret `{token_name}`"),
        })?;
    let token = token_header(&raw.0, &token_name)?;
    let service = names.coordinator();
    let body = br#"{"protocol":1}"#.to_vec();
    let req = proxy_request(ns, &service, "v1/abort", Some(token), Some(body))?;
    client.request_text(req).await.map_err(|e| {
        classify(
            e,
            Ctx::new("create", "Service", "services/proxy", &service, ns, run),
        )
    })
}

/// The run token of Secret `secret` (its raw bytes) as a header value, without one
/// trailing newline ([`volley_plan::run_token`]); an error naming the Secret, never the
/// token, when the rest cannot be a header (a control character, bytes that are not text).
fn token_header(raw: &[u8], secret: &str) -> Result<http::HeaderValue, DeployError> {
    let invalid = |why: &str| DeployError::InvalidToken {
        secret: secret.to_string(),
        key: TOKEN_KEY.to_string(),
        why: why.to_string(),
    };
    let text = std::str::from_utf8(raw).map_err(|_| invalid("it is not UTF-8 text"))?;
    let token = volley_plan::run_token(text);
    if token.is_empty() {
        return Err(invalid("it is empty"));
    }
    let mut value = http::HeaderValue::from_str(token).map_err(|_| {
        invalid("it holds a control character (a line break other than one at the end, a NUL, …)")
    })?;
    value.set_sensitive(true);
    Ok(value)
}

async fn delete_all<K>(
    client: &Client,
    ns: &str,
    run: &str,
    kind: &str,
    resource: &str,
    out: &mut Vec<(String, String)>,
) -> Result<(), DeployError>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + Debug
        + DeserializeOwned,
    K::DynamicType: Default,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let dp = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        ..Default::default()
    };
    for o in list::<K>(client, ns, run, kind, resource).await? {
        let name = o.meta().name.clone().unwrap_or_default();
        match api.delete(&name, &dp).await {
            Ok(_) => {
                tracing::debug!(kind, name = %name, namespace = ns, "deleted {kind} `{name}`");
                out.push((kind.to_string(), name))
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                return Err(classify(
                    e,
                    Ctx::new("delete", kind, resource, &name, ns, run),
                ))
            }
        }
    }
    Ok(())
}

/// Deletes every object of the run (Jobs first, so no pod starts again); returns what was
/// deleted as `(kind, name)`.
pub async fn delete(
    client: &Client,
    ns: &str,
    run: &str,
) -> Result<Vec<(String, String)>, DeployError> {
    let mut out = Vec::new();
    delete_all::<Job>(client, ns, run, "Job", "jobs.batch", &mut out).await?;
    delete_all::<NetworkPolicy>(
        client,
        ns,
        run,
        "NetworkPolicy",
        "networkpolicies.networking.k8s.io",
        &mut out,
    )
    .await?;
    delete_all::<PodDisruptionBudget>(
        client,
        ns,
        run,
        "PodDisruptionBudget",
        "poddisruptionbudgets.policy",
        &mut out,
    )
    .await?;
    delete_all::<Service>(client, ns, run, "Service", "services", &mut out).await?;
    delete_all::<ConfigMap>(client, ns, run, "ConfigMap", "configmaps", &mut out).await?;
    delete_all::<Secret>(client, ns, run, "Secret", "secrets", &mut out).await?;
    if out.is_empty() {
        return Err(DeployError::NotFound {
            what: format!("run `{run}` in namespace `{ns}`"),
        });
    }
    Ok(out)
}
