//! A run's results from the cluster: the files its coordinator serves on the status port
//! once the run has ended (`GET /summary`, `/report`, `/out/K`), fetched through the API
//! server's service proxy while the coordinator lingers, and the summary from the
//! coordinator pod's log once it has exited (its last `volley::summary` JSON line). Returns
//! data; it must not print or write files.

use super::error::{classify, Ctx, DeployError};
use super::proxy_request;
use crate::manifests::names::Names;
use crate::manifests::LINGER_S;

/// The log target of the coordinator's summary line (field `summary`: the summary as
/// JSON), as `volley coordinator` logs it with JSON log lines.
pub const SUMMARY_LOG_TARGET: &str = "volley::summary";

/// What the coordinator answered for one of its files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetch {
    /// The file.
    Got(Vec<u8>),
    /// The coordinator answered without it: its reason (not finished, not written).
    Missing(String),
    /// Nothing answers on the run's status port: the coordinator has not started, or
    /// has exited (its linger is over).
    NoCoordinator,
}

/// Fetches `endpoint` (`summary`, `report`, `out/0`) of run `run`'s coordinator.
pub async fn fetch(
    client: &kube::Client,
    ns: &str,
    run: &str,
    endpoint: &str,
) -> Result<Fetch, DeployError> {
    let service = Names::from_run(run).coordinator();
    let req = proxy_request(ns, &service, endpoint, None, None)?.map(kube::client::Body::from);
    let ctx = Ctx::new("get", "Service", "services/proxy", &service, ns, run);
    let resp = client.send(req).await.map_err(|e| classify(e, ctx))?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect_bytes()
        .await
        .map_err(|e| classify(e, ctx))?
        .to_vec();
    if status.is_success() {
        return Ok(Fetch::Got(body));
    }
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if let Some(message) = json["error"].as_str() {
        // The coordinator's own answer (`{"error": …}`).
        return Ok(Fetch::Missing(message.to_string()));
    }
    match status.as_u16() {
        // The API server's: no endpoints (503), a dial that failed (502), the Service gone
        // (404).
        502..=504 | 404 => Ok(Fetch::NoCoordinator),
        code => {
            let message = json["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
            let status =
                kube::core::Status::failure(&message, json["reason"].as_str().unwrap_or(""))
                    .with_code(code);
            Err(classify(kube::Error::Api(status.boxed()), ctx))
        }
    }
}

/// The last summary the coordinator logged, from its pod's log (JSON log lines).
pub fn summary_from_log(log: &str) -> Option<serde_json::Value> {
    log.lines().rev().find_map(|line| {
        let v: serde_json::Value = serde_json::from_str(line.trim()).ok()?;
        if v["target"] != SUMMARY_LOG_TARGET {
            return None;
        }
        serde_json::from_str(v["fields"]["summary"].as_str()?).ok()
    })
}

/// Where a summary came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SummaryFrom {
    /// The coordinator's `GET /summary`.
    Coordinator,
    /// The coordinator pod's log (the coordinator had exited).
    Log,
}

/// The run's summary: from the coordinator while it answers, else from its pod's log.
/// `Err` with a message in words when neither has it (the run has not finished, or the
/// pod and its log are gone).
pub async fn summary(
    client: &kube::Client,
    ns: &str,
    run: &str,
) -> Result<Result<(serde_json::Value, SummaryFrom), String>, DeployError> {
    match fetch(client, ns, run, "summary").await? {
        Fetch::Got(body) => Ok(serde_json::from_slice(&body)
            .map(|v| (v, SummaryFrom::Coordinator))
            .map_err(|e| format!("the coordinator's summary is not JSON: {e}"))),
        Fetch::Missing(why) => Ok(Err(format!("the coordinator has no summary: {why}"))),
        Fetch::NoCoordinator => {
            let log = match super::ops::logs(client, ns, run, None).await {
                Ok(l) => l,
                Err(DeployError::NotFound { .. }) => String::new(),
                Err(e) => return Err(e),
            };
            Ok(summary_from_log(&log)
                .map(|v| (v, SummaryFrom::Log))
                .ok_or_else(|| {
                    format!(
                        "the coordinator does not answer and its log holds no summary (the run \
                         has not finished, or {})",
                        gone()
                    )
                }))
        }
    }
}

/// Why a file cannot be fetched once the coordinator has exited, naming the linger.
pub fn gone() -> String {
    format!(
        "the coordinator has exited: it serves the summary, the report and the json outputs \
         for {LINGER_S} s after the end (its linger), and only the summary outlives it, in the \
         coordinator pod's log, while the pod exists"
    )
}
