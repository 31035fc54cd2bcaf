//! The run's configuration objects: the plan ConfigMap (the fleet plan of
//! `volley_plan::slice::split`, its data as pack references: the data ConfigMaps are
//! `data.rs`'s), the coordinator's Service, the PodDisruptionBudget and the token
//! Secret (built only by `volley deploy`: compiled manifests never carry a value). Pure.

use super::names::{Names, PORT, RUN_LABEL, STATUS_PORT};
use super::pod::TOKEN_KEY;
use super::ManifestError;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServicePort, ServiceSpec};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::ByteString;
use std::collections::BTreeMap;

/// The most data a ConfigMap may hold (the API server refuses more).
pub const CONFIGMAP_LIMIT: usize = 1024 * 1024;

fn data_size(data: &BTreeMap<String, String>) -> usize {
    data.iter().map(|(k, v)| k.len() + v.len()).sum()
}

pub fn plan_map(meta: ObjectMeta, plan_json: String) -> Result<ConfigMap, ManifestError> {
    let mut data = BTreeMap::new();
    data.insert("plan.json".to_string(), plan_json);
    let size = data_size(&data);
    if size > CONFIGMAP_LIMIT {
        return Err(ManifestError::PlanTooLarge {
            name: meta.name.clone().unwrap_or_default(),
            bytes: size,
        });
    }
    Ok(ConfigMap {
        metadata: meta,
        data: Some(data),
        immutable: Some(true),
        ..Default::default()
    })
}

/// The coordinator's Service: port 6565 `http` for the runners, port 6566 `status` for
/// the API server's service proxy (`volley deploy`, `status`, `abort`).
pub fn service(meta: ObjectMeta, names: &Names) -> Service {
    Service {
        metadata: meta,
        spec: Some(ServiceSpec {
            ports: Some(
                [("http", PORT), ("status", STATUS_PORT)]
                    .into_iter()
                    .map(|(name, port)| ServicePort {
                        name: Some(name.into()),
                        port,
                        protocol: Some("TCP".into()),
                        target_port: Some(IntOrString::String(name.into())),
                        app_protocol: Some("http".into()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            selector: Some(names.selector("coordinator")),
            type_: Some("ClusterIP".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// No voluntary eviction (a node drain) of a running pod of the run: a drained runner
/// would end the run with 110. Pods that are not ready may still be evicted.
pub fn disruption_budget(meta: ObjectMeta, names: &Names) -> PodDisruptionBudget {
    let mut sel = BTreeMap::new();
    sel.insert(RUN_LABEL.to_string(), names.run.clone());
    PodDisruptionBudget {
        metadata: meta,
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(0)),
            selector: Some(LabelSelector {
                match_labels: Some(sel),
                ..Default::default()
            }),
            unhealthy_pod_eviction_policy: Some("AlwaysAllow".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The run's token Secret (`volley deploy` only; the value never reaches a file).
pub fn token_secret(meta: ObjectMeta, token: &str) -> Secret {
    let mut data = BTreeMap::new();
    data.insert(TOKEN_KEY.to_string(), ByteString(token.as_bytes().to_vec()));
    Secret {
        metadata: meta,
        data: Some(data),
        type_: Some("Opaque".into()),
        ..Default::default()
    }
}
