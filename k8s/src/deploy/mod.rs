//! `volley deploy` and the commands that act on a run, over kube: connecting (kubeconfig,
//! `--context`), server-side apply ([`apply`]), following the run through the API server's
//! service proxy to its verdict ([`follow`]), status, logs, abort, delete ([`ops`]), and the
//! run's summary, report and json outputs from its coordinator ([`results`]).
//! Returns data and errors; progress goes to a callback. It must not print.

pub mod apply;
pub mod error;
pub mod follow;
pub mod ops;
pub mod results;

pub use apply::{apply, random_token, Applied, FIELD_MANAGER};
pub use error::{DeployError, StuckPod};
pub use follow::{follow, Event, FollowOptions, Outcome};
pub use kube::Client;

use crate::manifests::names::STATUS_PORT;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::Config;
use serde::{Deserialize, Serialize};

/// A client for `context` (or the kubeconfig's current one, or in-cluster config) and the
/// namespace to use when none is given.
pub async fn connect(context: Option<&str>) -> Result<(Client, String), DeployError> {
    let config = match context {
        Some(c) => {
            let kc = Kubeconfig::read().map_err(DeployError::config)?;
            let opts = KubeConfigOptions {
                context: Some(c.to_string()),
                ..Default::default()
            };
            Config::from_custom_kubeconfig(kc, &opts)
                .await
                .map_err(|e| DeployError::Config {
                    what: format!("context `{c}`: "),
                    source: Box::new(e),
                })?
        }
        None => Config::infer().await.map_err(DeployError::config)?,
    };
    let ns = config.default_namespace.clone();
    // No hidden retries: kube's default policy retries a 503 up to 15 times with a back-off
    // growing to minutes, and the service proxy answers 503 whenever the coordinator has no
    // endpoint (starting, or exited after its linger). `follow` polls on its own clock, and
    // `status` must answer at once.
    let mut config = config;
    config.default_retry = false;
    tracing::debug!(
        host = config.cluster_url.host().unwrap_or_default(),
        namespace = %ns,
        "connecting to the cluster"
    );
    let client = Client::try_from(config).map_err(DeployError::config)?;
    Ok((client, ns))
}

/// The path of a coordinator endpoint through the API server's service proxy.
pub fn proxy_path(namespace: &str, service: &str, endpoint: &str) -> String {
    format!(
        "/api/v1/namespaces/{namespace}/services/{service}:{STATUS_PORT}/proxy/{}",
        endpoint.trim_start_matches('/')
    )
}

/// A request to a coordinator endpoint through the service proxy: a GET, or with `body` a
/// JSON POST; with `token`, the run token in [`ops::TOKEN_HEADER`]. A deploy error, not a
/// panic, when the path cannot be a URI (a namespace or service that is no DNS label).
pub(crate) fn proxy_request(
    namespace: &str,
    service: &str,
    endpoint: &str,
    token: Option<http::HeaderValue>,
    body: Option<Vec<u8>>,
) -> Result<http::Request<Vec<u8>>, DeployError> {
    let path = proxy_path(namespace, service, endpoint);
    let mut req = match body {
        Some(_) => {
            http::Request::post(&path).header(http::header::CONTENT_TYPE, "application/json")
        }
        None => http::Request::get(&path),
    };
    if let Some(t) = token {
        req = req.header(ops::TOKEN_HEADER, t);
    }
    req.body(body.unwrap_or_default())
        .map_err(|e| DeployError::Api {
            action: format!("build the service-proxy request `{path}`"),
            message: e.to_string(),
            source: Some(Box::new(e)),
        })
}

/// Runner counts of `GET /status`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunnerCounts {
    pub expected: u64,
    pub joined: u64,
    pub ready: u64,
    pub done: u64,
    pub lost: u64,
}

/// The coordinator's `GET /status` (docs/protocol.md).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FleetStatus {
    pub protocol: u32,
    pub run: String,
    pub plan_hash: String,
    pub phase: String,
    pub elapsed_ms: u64,
    pub total_ms: u64,
    pub runners: RunnerCounts,
    pub vus: u64,
    pub vus_max: u64,
    pub http_reqs: u64,
    pub rps: f64,
    pub http_req_failed: f64,
    pub iterations: u64,
    pub exit_code: Option<i32>,
    pub verdict: Option<String>,
}

impl FleetStatus {
    /// Whether the run has ended (the exit code is known).
    pub fn is_done(&self) -> bool {
        self.phase == "done" || self.exit_code.is_some()
    }
}

#[cfg(test)]
mod tests;
