//! The coordinator Job (one pod, never retried) and the runners as one Indexed Job
//! (`JOB_COMPLETION_INDEX` is the segment), with their deadlines, clean-up, placement and
//! the pod failure policy that never re-runs a runner with double load. Pure.
//!
//! Why this failure policy: `backoffLimitPerIndex: 0` gives no index a second pod for a
//! failure, and the `FailIndex` rule makes that explicit for any non-zero exit (a runner
//! that exits 104 because the coordinator refused it, 111 because it lost the coordinator,
//! or crashed). Only a pod the cluster itself disrupted (condition `DisruptionTarget`:
//! preemption, a node going away) is `Ignore`d and so replaced; the replacement is created
//! only once the old pod has terminated (`podReplacementPolicy: Failed`, implied by a pod
//! failure policy), and the coordinator accepts it only before the start. After the start
//! it refuses the index with 409, the pod exits 104 and the index fails: load is never
//! doubled, and the run ends with 110 (a lost runner).

use super::names::{Names, PORT, STATUS_PORT};
use super::outputs::{self, ClusterOut};
use super::pod::{self, PLAN_FILE};
use super::{Deadlines, ManifestError};
use k8s_openapi::api::batch::v1::{
    Job, JobSpec, PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement,
    PodFailurePolicyOnPodConditionsPattern, PodFailurePolicyRule,
};
use k8s_openapi::api::core::v1::{
    Affinity, ContainerPort, HTTPGetAction, PodAffinity, PodAffinityTerm, PodAntiAffinity,
    PodTemplateSpec, Probe, TopologySpreadConstraint, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use volley_plan::{Cleanup, Placement, Plan};

fn ttl(plan: &Plan) -> Option<i32> {
    match plan.fleet.cleanup {
        Cleanup::After { ms } => Some(ms.div_ceil(1000).min(i32::MAX as u64) as i32),
        Cleanup::OnSuccess | Cleanup::Never => None,
    }
}

fn template(
    plan: &Plan,
    names: &Names,
    component: &str,
    meta: &ObjectMeta,
    spec: k8s_openapi::api::core::v1::PodSpec,
) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(pod_metadata(plan, names, component, meta)),
        spec: Some(spec),
    }
}

/// A pod's labels and annotations: the run's own, then `fleet.labels` and
/// `fleet.annotations` (the compiler refuses keys Volley sets, so none is overwritten).
fn pod_metadata(plan: &Plan, names: &Names, component: &str, meta: &ObjectMeta) -> ObjectMeta {
    let mut labels = plan.fleet.labels.clone();
    labels.extend(names.labels(component));
    let mut annotations = plan.fleet.annotations.clone();
    annotations.extend(meta.annotations.clone().unwrap_or_default());
    ObjectMeta {
        labels: Some(labels),
        annotations: (!annotations.is_empty()).then_some(annotations),
        ..Default::default()
    }
}

fn http_probe(period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/healthz".into()),
            port: IntOrString::String("status".into()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(failures),
        ..Default::default()
    }
}

/// The coordinator: `volley coordinator` (its data is mounted by [`mount_data`]), its
/// outputs and report (`outputs.rs`), probes on `/healthz`, one pod that is never retried
/// (`backoffLimit: 0`).
pub fn coordinator(
    plan: &Plan,
    names: &Names,
    meta: ObjectMeta,
    runners: u32,
    outs: &[ClusterOut],
    d: &Deadlines,
) -> Result<Job, ManifestError> {
    let mut args: Vec<String> = vec!["coordinator".into(), "--plan".into(), PLAN_FILE.into()];
    args.extend([
        "--listen".into(),
        format!("0.0.0.0:{PORT}"),
        "--status-listen".into(),
        format!("0.0.0.0:{STATUS_PORT}"),
        "--runners".into(),
        runners.to_string(),
        "--linger".into(),
        format!("{}s", d.linger_s),
    ]);
    args.extend(outputs::args(outs));
    let mut c = pod::container("coordinator", plan, names, args);
    let port = |name: &str, container_port: i32| ContainerPort {
        name: Some(name.into()),
        container_port,
        protocol: Some("TCP".into()),
        ..Default::default()
    };
    c.ports = Some(vec![port("http", PORT), port("status", STATUS_PORT)]);
    c.readiness_probe = Some(http_probe(2, 3));
    c.liveness_probe = Some(http_probe(10, 6));
    let mut spec = pod::pod_spec(plan, names, c, d.coordinator_s)?;
    outputs::add_to_pod(&mut spec, names, outs);
    Ok(Job {
        spec: Some(JobSpec {
            active_deadline_seconds: Some(d.coordinator_s),
            backoff_limit: Some(0),
            completions: Some(1),
            parallelism: Some(1),
            template: template(plan, names, "coordinator", &meta, spec),
            ttl_seconds_after_finished: ttl(plan),
            ..Default::default()
        }),
        metadata: meta,
        ..Default::default()
    })
}

/// Mounts data ConfigMaps into a Job's pod (`data::mount`) and passes `--data-dir`.
pub fn mount_data(job: &mut Job, parts: &[&super::data::Part]) {
    let spec = job.spec.as_mut().and_then(|s| s.template.spec.as_mut());
    if let Some(spec) = spec {
        super::data::mount(spec, parts);
    }
}

/// The runners: one Indexed Job, `completions = parallelism = runners`, placement and
/// zone spread, the failure policy of the module doc.
pub fn runners(
    plan: &Plan,
    names: &Names,
    meta: ObjectMeta,
    runners: u32,
    d: &Deadlines,
) -> Result<Job, ManifestError> {
    let args = vec![
        "runner".into(),
        "--plan".into(),
        PLAN_FILE.into(),
        "--coordinator".into(),
        format!("http://{}:{PORT}", names.coordinator()),
        "--runners".into(),
        runners.to_string(),
    ];
    let c = pod::container("runner", plan, names, args);
    let mut spec = pod::pod_spec(plan, names, c, d.runner_s)?;
    spec.affinity = Some(super::affinity::with_placement(
        placement(plan.fleet.placement, names),
        spec.affinity.take(),
    ));
    if plan.fleet.zone_spread {
        spec.topology_spread_constraints = Some(vec![TopologySpreadConstraint {
            label_selector: Some(runner_selector(names)),
            max_skew: 1,
            topology_key: "topology.kubernetes.io/zone".into(),
            when_unsatisfiable: "DoNotSchedule".into(),
            ..Default::default()
        }]);
    }
    let n = runners.min(i32::MAX as u32) as i32;
    Ok(Job {
        spec: Some(JobSpec {
            active_deadline_seconds: Some(d.runner_s),
            backoff_limit_per_index: Some(0),
            completion_mode: Some("Indexed".into()),
            completions: Some(n),
            parallelism: Some(n),
            pod_failure_policy: Some(failure_policy()),
            template: template(plan, names, "runner", &meta, spec),
            ttl_seconds_after_finished: ttl(plan),
            ..Default::default()
        }),
        metadata: meta,
        ..Default::default()
    })
}

fn failure_policy() -> PodFailurePolicy {
    PodFailurePolicy {
        rules: vec![
            PodFailurePolicyRule {
                action: "Ignore".into(),
                on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                    type_: "DisruptionTarget".into(),
                    status: Some("True".into()),
                }]),
                ..Default::default()
            },
            PodFailurePolicyRule {
                action: "FailIndex".into(),
                on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                    operator: "NotIn".into(),
                    values: vec![0],
                    ..Default::default()
                }),
                ..Default::default()
            },
        ],
    }
}

fn runner_selector(names: &Names) -> LabelSelector {
    LabelSelector {
        match_labels: Some(names.selector("runner")),
        ..Default::default()
    }
}

/// `spread`: prefer one runner per node; `separate`: require it; `pack`: prefer nodes that
/// already hold runners of this run.
fn placement(p: Placement, names: &Names) -> Affinity {
    let term = PodAffinityTerm {
        label_selector: Some(runner_selector(names)),
        topology_key: "kubernetes.io/hostname".into(),
        ..Default::default()
    };
    let weighted = WeightedPodAffinityTerm {
        pod_affinity_term: term.clone(),
        weight: 100,
    };
    match p {
        Placement::Spread => Affinity {
            pod_anti_affinity: Some(PodAntiAffinity {
                preferred_during_scheduling_ignored_during_execution: Some(vec![weighted]),
                ..Default::default()
            }),
            ..Default::default()
        },
        Placement::Separate => Affinity {
            pod_anti_affinity: Some(PodAntiAffinity {
                required_during_scheduling_ignored_during_execution: Some(vec![term]),
                ..Default::default()
            }),
            ..Default::default()
        },
        Placement::Pack => Affinity {
            pod_affinity: Some(PodAffinity {
                preferred_during_scheduling_ignored_during_execution: Some(vec![weighted]),
                ..Default::default()
            }),
            ..Default::default()
        },
    }
}
