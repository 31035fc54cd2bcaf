//! Following a run to its verdict: poll the run's pods (an image that cannot be pulled,
//! pods the Job controller could not create, pods stuck past the start timeout are errors
//! at once), read the coordinator's `GET /status` through the API server's service proxy,
//! and when the run is done read `GET /summary` and return the run's exit code. If the
//! coordinator pod ended before its summary could be read, its exit code is the answer.
//! Progress goes to a callback; it must not print.

use super::error::{classify, Ctx, DeployError, StuckPod};
use super::{proxy_request, FleetStatus};
use crate::manifests::names::{Names, COMPONENT_LABEL, RUN_LABEL};
use k8s_openapi::api::core::v1::{Event as K8sEvent, Pod};
use kube::api::{Api, ListParams};
use kube::Client;
use std::time::Duration;
use tokio::time::Instant;

/// What the caller is told while following.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Pods of the run by phase, while the coordinator does not answer yet.
    Pods {
        running: usize,
        pending: usize,
        total: usize,
    },
    Status(FleetStatus),
}

#[derive(Clone, Debug)]
pub struct FollowOptions {
    /// Time between polls.
    pub poll: Duration,
    /// How long the pods may take to start (the plan's start timeout plus a margin).
    pub start_timeout: Duration,
}

/// How the run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub exit_code: i32,
    /// `GET /summary` (the `--summary-json` shape), when it could be read.
    pub summary: Option<serde_json::Value>,
    pub status: Option<FleetStatus>,
}

const IMAGE_REASONS: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
];

struct Follower<'a> {
    client: &'a Client,
    ns: &'a str,
    names: &'a Names,
}

impl Follower<'_> {
    fn ctx<'b>(
        &'b self,
        verb: &'b str,
        kind: &'b str,
        resource: &'b str,
        name: &'b str,
    ) -> Ctx<'b> {
        Ctx::new(verb, kind, resource, name, self.ns, &self.names.run)
    }

    async fn pods(&self) -> Result<Vec<Pod>, DeployError> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), self.ns);
        let lp = ListParams::default().labels(&format!("{RUN_LABEL}={}", self.names.run));
        api.list(&lp)
            .await
            .map(|l| l.items)
            .map_err(|e| classify(e, self.ctx("list", "Pod", "pods", &self.names.run)))
    }

    /// The proxy GET of a coordinator endpoint; `None` while it does not answer.
    async fn proxy_get(&self, endpoint: &str) -> Result<Option<String>, DeployError> {
        let req = proxy_request(self.ns, &self.names.coordinator(), endpoint, None, None)?;
        match self.client.request_text(req).await {
            Ok(t) => Ok(Some(t)),
            Err(kube::Error::Api(s)) if s.code == 403 => Err(classify(
                kube::Error::Api(s),
                self.ctx(
                    "get",
                    "Service",
                    "services/proxy",
                    &self.names.coordinator(),
                ),
            )),
            // 503 "no endpoints available", 404 before the summary exists, a refused
            // connection while the pod starts: not an answer yet.
            Err(_) => Ok(None),
        }
    }

    /// FailedCreate events of the run's Jobs: quota and admission refusals.
    async fn failed_creates(&self) -> Result<(), DeployError> {
        let api: Api<K8sEvent> = Api::namespaced(self.client.clone(), self.ns);
        for job in [self.names.coordinator(), self.names.runners()] {
            let lp = ListParams::default().fields(&format!(
                "involvedObject.kind=Job,involvedObject.name={job}"
            ));
            let events = api
                .list(&lp)
                .await
                .map_err(|e| classify(e, self.ctx("list", "Event", "events", &job)))?;
            if let Some(e) = events
                .items
                .iter()
                .find(|e| e.reason.as_deref() == Some("FailedCreate"))
            {
                let message = e.message.clone().unwrap_or_default();
                if message.contains("exceeded quota") {
                    return Err(DeployError::Quota { message });
                }
                return Err(DeployError::PodsNotCreated { job, message });
            }
        }
        Ok(())
    }
}

fn pod_name(p: &Pod) -> String {
    p.metadata.name.clone().unwrap_or_default()
}

/// An image pull failure of any container of `p`.
fn image_error(p: &Pod) -> Option<DeployError> {
    let statuses = p.status.as_ref()?.container_statuses.as_ref()?;
    statuses.iter().find_map(|c| {
        let w = c.state.as_ref()?.waiting.as_ref()?;
        let reason = w.reason.clone()?;
        IMAGE_REASONS
            .contains(&reason.as_str())
            .then(|| DeployError::ImagePull {
                pod: pod_name(p),
                image: c.image.clone(),
                reason,
                message: w.message.clone().unwrap_or_default(),
            })
    })
}

/// Why `p` is not running: a container's waiting reason, else the scheduler's condition.
fn stuck_reason(p: &Pod) -> Option<StuckPod> {
    let status = p.status.as_ref();
    let phase = status
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Unknown".into());
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    if phase == "Succeeded" || phase == "Failed" || (phase == "Running" && ready) {
        return None;
    }
    let waiting = status
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.iter().find_map(|c| c.state.as_ref()?.waiting.clone()))
        .map(|w| {
            format!(
                "{}: {}",
                w.reason.unwrap_or_default(),
                w.message.unwrap_or_default()
            )
        });
    let condition = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.status != "True" && c.reason.is_some()))
        .map(|c| {
            format!(
                "{}: {}",
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default()
            )
        });
    Some(StuckPod {
        name: pod_name(p),
        phase,
        reason: waiting.or(condition).unwrap_or_else(|| "not ready".into()),
    })
}

/// The exit code of a terminated coordinator container.
fn coordinator_exit(pods: &[Pod]) -> Option<i32> {
    pods.iter()
        .filter(|p| {
            p.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(COMPONENT_LABEL))
                .map(String::as_str)
                == Some("coordinator")
        })
        .find_map(|p| {
            let cs = p.status.as_ref()?.container_statuses.as_ref()?;
            cs.iter()
                .find_map(|c| c.state.as_ref()?.terminated.as_ref().map(|t| t.exit_code))
        })
}

/// Follows the run until its verdict.
pub async fn follow(
    client: &Client,
    ns: &str,
    names: &Names,
    expected_pods: usize,
    opts: &FollowOptions,
    on: &mut (dyn FnMut(Event) + Send),
) -> Result<Outcome, DeployError> {
    let f = Follower { client, ns, names };
    let start = Instant::now();
    let mut last: Option<FleetStatus> = None;
    tracing::info!(
        run = %names.run,
        namespace = ns,
        pods = expected_pods,
        "waiting for run `{}` ({expected_pods} pods)",
        names.run
    );
    loop {
        let pods = f.pods().await?;
        tracing::debug!(
            pods = pods.len(),
            expected = expected_pods,
            "polled the run's pods"
        );
        if let Some(e) = pods.iter().find_map(image_error) {
            return Err(e);
        }
        if pods.len() < expected_pods {
            f.failed_creates().await?;
        }
        if let Some(text) = f.proxy_get("status").await? {
            if let Ok(s) = serde_json::from_str::<FleetStatus>(&text) {
                // A new phase is logged before the caller's progress line, except the
                // end: the caller closes its (terminal, in-place) line first.
                let changed = last.as_ref().is_none_or(|l| l.phase != s.phase);
                let log = || tracing::info!(phase = %s.phase, "run `{}` is {}", names.run, s.phase);
                if changed && !s.is_done() {
                    log();
                }
                on(Event::Status(s.clone()));
                if changed && s.is_done() {
                    log();
                }
                let done = s.is_done();
                last = Some(s);
                if done {
                    return finish(&f, last).await;
                }
            }
        } else if let Some(code) = coordinator_exit(&pods) {
            tracing::info!(
                exit_code = code,
                "the coordinator exited with {code} before its status could be read"
            );
            return Ok(Outcome {
                exit_code: code,
                summary: None,
                status: last,
            });
        } else {
            let running = pods
                .iter()
                .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
                .count();
            on(Event::Pods {
                running,
                pending: pods.len() - running,
                total: expected_pods,
            });
        }
        let started = last
            .as_ref()
            .is_some_and(|s| s.phase != "waiting" && !s.phase.is_empty());
        if !started && start.elapsed() > opts.start_timeout {
            let mut stuck: Vec<StuckPod> = pods.iter().filter_map(stuck_reason).collect();
            stuck.sort_by(|a, b| a.name.cmp(&b.name));
            return Err(DeployError::StartTimeout {
                waited_s: start.elapsed().as_secs(),
                stuck,
            });
        }
        tokio::time::sleep(opts.poll).await;
    }
}

async fn finish(f: &Follower<'_>, status: Option<FleetStatus>) -> Result<Outcome, DeployError> {
    let summary = f
        .proxy_get("summary")
        .await?
        .and_then(|t| serde_json::from_str(&t).ok());
    let exit_code = status.as_ref().and_then(|s| s.exit_code).unwrap_or(0);
    tracing::info!(
        exit_code,
        summary = summary.is_some(),
        "run `{}` finished with exit code {exit_code}",
        f.names.run
    );
    Ok(Outcome {
        exit_code,
        summary,
        status,
    })
}
