//! The parts every pod of a run shares: the restricted security context, resources
//! (requests = limits: guaranteed QoS), tolerations parsed from `key=value:Effect`,
//! secret references, DNS tuning and the scratch volume. Pure; it must not decide which
//! role a pod has (jobs.rs does).

use super::names::Names;
use super::ManifestError;
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapKeySelector, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    LocalObjectReference, PodDNSConfig, PodDNSConfigOption, PodSecurityContext, PodSpec,
    ResourceRequirements, SeccompProfile, SecretKeySelector, SecurityContext, Toleration, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use std::collections::BTreeMap;
use volley_plan::{EnvValue, Plan, Resources};

/// The image's non-root user (distroless `nonroot`).
pub const UID: i64 = 65532;
/// Where the plan ConfigMap is mounted, and the plan file in it.
pub const PLAN_DIR: &str = "/etc/volley/plan";
pub const PLAN_FILE: &str = "/etc/volley/plan/plan.json";
/// The key of the token in the run's token Secret.
pub const TOKEN_KEY: &str = "token";

/// The environment every container of a run gets as plain values (none is a secret):
/// JSON log lines, so a cluster's log pipeline can filter a pod's log by level.
pub const PLAIN_ENV: &[(&str, &str)] = &[("VOLLEY_LOG_FORMAT", "json")];

/// Pod-level security: non-root 65532, RuntimeDefault seccomp (Pod Security "restricted").
pub fn pod_security() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(UID),
        run_as_group: Some(UID),
        seccomp_profile: Some(runtime_default()),
        ..Default::default()
    }
}

/// Container-level security: no privilege escalation, every capability dropped, a
/// read-only root filesystem.
pub fn container_security() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Default::default()
        }),
        privileged: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        run_as_user: Some(UID),
        run_as_group: Some(UID),
        seccomp_profile: Some(runtime_default()),
        ..Default::default()
    }
}

fn runtime_default() -> SeccompProfile {
    SeccompProfile {
        type_: "RuntimeDefault".into(),
        ..Default::default()
    }
}

/// `2000` millicores → `2`, `500` → `500m`.
pub fn cpu_quantity(millis: u64) -> Quantity {
    if millis.is_multiple_of(1000) {
        Quantity(format!("{}", millis / 1000))
    } else {
        Quantity(format!("{millis}m"))
    }
}

/// Bytes in the largest binary unit that divides them exactly (`512Mi`, `1Gi`, `1500`).
pub fn memory_quantity(bytes: u64) -> Quantity {
    for (unit, size) in [("Gi", 1u64 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return Quantity(format!("{}{unit}", bytes / size));
        }
    }
    Quantity(bytes.to_string())
}

/// Requests equal to limits, so the pods get the guaranteed QoS class.
pub fn resources(r: &Resources) -> ResourceRequirements {
    let mut m = BTreeMap::new();
    m.insert("cpu".to_string(), cpu_quantity(r.cpu_millis));
    m.insert("memory".to_string(), memory_quantity(r.memory_bytes));
    ResourceRequirements {
        limits: Some(m.clone()),
        requests: Some(m),
        ..Default::default()
    }
}

const EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// `key=value:Effect`, `key:Effect`, `key=value` or `key` (the last two for every effect).
pub fn toleration(text: &str) -> Result<Toleration, ManifestError> {
    let bad = |why: &str| ManifestError::Toleration {
        toleration: text.to_string(),
        why: why.to_string(),
    };
    let (kv, effect) = match text.rsplit_once(':') {
        Some((kv, e)) if EFFECTS.contains(&e) => (kv, Some(e.to_string())),
        Some((_, e)) => {
            return Err(bad(&format!(
                "the effect `{e}` is not one of NoSchedule, PreferNoSchedule, NoExecute"
            )))
        }
        None => (text, None),
    };
    let (key, value) = match kv.split_once('=') {
        Some((k, v)) => (k, Some(v.to_string())),
        None => (kv, None),
    };
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    };
    if !valid(key) {
        return Err(bad("the key is empty or has characters a label key cannot"));
    }
    if value.as_deref().is_some_and(|v| !v.is_empty() && !valid(v)) {
        return Err(bad("the value has characters a label value cannot"));
    }
    Ok(Toleration {
        key: Some(key.to_string()),
        operator: Some(if value.is_some() { "Equal" } else { "Exists" }.into()),
        value,
        effect,
        ..Default::default()
    })
}

/// `VOLLEY_TOKEN` from the run's Secret, then [`PLAIN_ENV`] (`VOLLEY_LOG_FORMAT=json`),
/// then each plan secret from its Kubernetes Secret (by reference: a secret's value never
/// appears in a manifest).
pub fn env(plan: &Plan, names: &Names) -> Vec<EnvVar> {
    let secret_env = |name: &str, secret: String, key: String| EnvVar {
        name: name.to_string(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret,
                key,
                optional: Some(false),
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut out = vec![secret_env("VOLLEY_TOKEN", names.token(), TOKEN_KEY.into())];
    out.extend(PLAIN_ENV.iter().map(|(name, value)| EnvVar {
        name: name.to_string(),
        value: Some(value.to_string()),
        ..Default::default()
    }));
    let mut secrets: Vec<_> = plan.secrets.iter().collect();
    secrets.sort_by(|a, b| a.env.cmp(&b.env));
    secrets.dedup_by(|a, b| a.env == b.env);
    for s in secrets {
        let (secret, key) = match plan.fleet.secrets.get(&s.name) {
            Some(r) => (r.secret.clone(), r.key.clone()),
            None => (names.default_secrets(), s.env.clone()),
        };
        out.push(secret_env(&s.env, secret, key));
    }
    out.extend(extra_env(plan));
    out
}

/// `fleet.env`, by name: plain values, or references to a Secret or ConfigMap key.
pub fn extra_env(plan: &Plan) -> Vec<EnvVar> {
    plan.fleet
        .env
        .iter()
        .map(|(name, v)| {
            let (value, value_from) = match v {
                EnvValue::Value { value } => (Some(value.clone()), None),
                EnvValue::Secret { secret, key } => (
                    None,
                    Some(EnvVarSource {
                        secret_key_ref: Some(SecretKeySelector {
                            name: secret.clone(),
                            key: key.clone(),
                            optional: Some(false),
                        }),
                        ..Default::default()
                    }),
                ),
                EnvValue::ConfigMap { config_map, key } => (
                    None,
                    Some(EnvVarSource {
                        config_map_key_ref: Some(ConfigMapKeySelector {
                            name: config_map.clone(),
                            key: key.clone(),
                            optional: Some(false),
                        }),
                        ..Default::default()
                    }),
                ),
            };
            EnvVar {
                name: name.clone(),
                value,
                value_from,
            }
        })
        .collect()
}

/// The resources of a role: the coordinator's own, or the runners' `fleet.resources`.
pub fn role_resources<'p>(plan: &'p Plan, role: &str) -> &'p Resources {
    match role {
        "coordinator" => plan.fleet.coordinator_resources(),
        _ => &plan.fleet.resources,
    }
}

/// The plan volume (read-only ConfigMap) and a small writable `/tmp`.
pub fn common_volumes(names: &Names) -> Vec<Volume> {
    use k8s_openapi::api::core::v1::{ConfigMapVolumeSource, KeyToPath};
    vec![
        Volume {
            name: "plan".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: names.plan(),
                items: Some(vec![KeyToPath {
                    key: "plan.json".into(),
                    path: "plan.json".into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        },
        Volume {
            name: "tmp".into(),
            empty_dir: Some(EmptyDirVolumeSource {
                size_limit: Some(Quantity("64Mi".into())),
                ..Default::default()
            }),
            ..Default::default()
        },
    ]
}

pub fn common_mounts() -> Vec<VolumeMount> {
    vec![
        VolumeMount {
            name: "plan".into(),
            mount_path: PLAN_DIR.into(),
            read_only: Some(true),
            ..Default::default()
        },
        VolumeMount {
            name: "tmp".into(),
            mount_path: "/tmp".into(),
            ..Default::default()
        },
    ]
}

/// A container of the run: the image's `/volley` with `args`, restricted, guaranteed QoS.
pub fn container(name: &str, plan: &Plan, names: &Names, args: Vec<String>) -> Container {
    Container {
        name: name.into(),
        image: Some(plan.fleet.image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        args: Some(args),
        env: Some(env(plan, names)),
        resources: Some(resources(role_resources(plan, name))),
        security_context: Some(container_security()),
        volume_mounts: Some(common_mounts()),
        termination_message_policy: Some("FallbackToLogsOnError".into()),
        ..Default::default()
    }
}

/// The pod spec both roles share: restricted, no service-account token, no service
/// links, `ndots: 1`, node selector and tolerations, a deadline, never restarted.
pub fn pod_spec(
    plan: &Plan,
    names: &Names,
    container: Container,
    deadline_s: i64,
) -> Result<PodSpec, ManifestError> {
    let tolerations = plan
        .fleet
        .tolerations
        .iter()
        .map(|t| toleration(t))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PodSpec {
        active_deadline_seconds: Some(deadline_s),
        automount_service_account_token: Some(false),
        containers: vec![container],
        dns_config: Some(PodDNSConfig {
            options: Some(vec![PodDNSConfigOption {
                name: Some("ndots".into()),
                value: Some("1".into()),
            }]),
            ..Default::default()
        }),
        dns_policy: Some("ClusterFirst".into()),
        enable_service_links: Some(false),
        node_selector: (!plan.fleet.node_selector.is_empty())
            .then(|| plan.fleet.node_selector.clone()),
        restart_policy: Some("Never".into()),
        security_context: Some(pod_security()),
        tolerations: (!tolerations.is_empty()).then_some(tolerations),
        volumes: Some(common_volumes(names)),
        ..Default::default()
    }
    .with_fleet_pod_fields(plan))
}

/// The pod fields a team sets for its cluster: service account, pull secrets, priority
/// class and the affinity of `fleet.affinity` (the runners add their placement to it).
trait FleetPodFields {
    fn with_fleet_pod_fields(self, plan: &Plan) -> Self;
}

impl FleetPodFields for PodSpec {
    fn with_fleet_pod_fields(mut self, plan: &Plan) -> PodSpec {
        let f = &plan.fleet;
        self.service_account_name = f.service_account.clone();
        self.priority_class_name = f.priority_class.clone();
        self.image_pull_secrets = (!f.image_pull_secrets.is_empty()).then(|| {
            f.image_pull_secrets
                .iter()
                .map(|name| LocalObjectReference { name: name.clone() })
                .collect()
        });
        self.affinity = super::affinity::of_fleet(&f.affinity);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_use_the_largest_exact_unit() {
        assert_eq!(cpu_quantity(2000).0, "2");
        assert_eq!(cpu_quantity(500).0, "500m");
        assert_eq!(memory_quantity(512 << 20).0, "512Mi");
        assert_eq!(memory_quantity(2 << 30).0, "2Gi");
        assert_eq!(memory_quantity(1500).0, "1500");
    }

    #[test]
    fn tolerations_parse_every_form() {
        let t = toleration("role=loadgen:NoSchedule").unwrap();
        assert_eq!(
            (t.key.as_deref(), t.operator.as_deref(), t.value.as_deref()),
            (Some("role"), Some("Equal"), Some("loadgen"))
        );
        assert_eq!(t.effect.as_deref(), Some("NoSchedule"));
        let t = toleration("dedicated:NoExecute").unwrap();
        assert_eq!(t.operator.as_deref(), Some("Exists"));
        assert_eq!(t.value, None);
        let t = toleration("gpu").unwrap();
        assert_eq!((t.operator.as_deref(), t.effect), (Some("Exists"), None));
        let e = toleration("role=x:Sometimes").unwrap_err().to_string();
        assert!(e.contains("Sometimes"), "{e}");
        assert!(toleration("=x:NoSchedule").is_err());
        assert!(toleration("a b").is_err());
    }
}
