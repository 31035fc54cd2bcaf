//! Plan → the Kubernetes objects of one run, in a fixed order, and their deterministic
//! YAML (`manifests.yaml`, `kustomization.yaml`). Built with k8s-openapi types; pure: no
//! IO, no clock, no randomness (the run token is made by `deploy`, never written here).
//!
//! The order: the plan ConfigMap, the data ConfigMaps (the packs of sources every runner
//! reads, by source, then the runners' slices, by segment; each pack in parts, see
//! `data.rs`), the coordinator's Service, the NetworkPolicies (coordinator, runners), the
//! PodDisruptionBudget, the coordinator Job, the runners' Indexed Job.

mod affinity;
mod config;
pub mod data;
mod jobs;
pub mod names;
mod network;
pub mod outputs;
pub mod pod;
mod yaml;

pub use config::{token_secret, CONFIGMAP_LIMIT};
pub use names::Names;
pub use yaml::{kustomization, to_yaml};

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;
use volley_plan::Plan;

/// How long the coordinator keeps answering after the end (`--linger`), so `volley deploy`
/// can read the summary through the API server.
pub const LINGER_S: i64 = 60;

/// What the caller may set besides the plan.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The namespace instead of `fleet.namespace` (`volley deploy --namespace`).
    pub namespace: Option<String>,
    /// The coordinator's outputs (`--out`), in the order given (see [`outputs`]).
    pub outputs: Vec<outputs::ClusterOut>,
}

/// One object of a run. (A run has a handful; their size difference does not matter.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    ConfigMap(ConfigMap),
    Service(Service),
    NetworkPolicy(NetworkPolicy),
    PodDisruptionBudget(PodDisruptionBudget),
    Job(Job),
}

impl Object {
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Object::ConfigMap(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::NetworkPolicy(o) => &o.metadata,
            Object::PodDisruptionBudget(o) => &o.metadata,
            Object::Job(o) => &o.metadata,
        }
    }

    pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Object::ConfigMap(o) => &mut o.metadata,
            Object::Service(o) => &mut o.metadata,
            Object::NetworkPolicy(o) => &mut o.metadata,
            Object::PodDisruptionBudget(o) => &mut o.metadata,
            Object::Job(o) => &mut o.metadata,
        }
    }

    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Object::ConfigMap(_) => "ConfigMap",
            Object::Service(_) => "Service",
            Object::NetworkPolicy(_) => "NetworkPolicy",
            Object::PodDisruptionBudget(_) => "PodDisruptionBudget",
            Object::Job(_) => "Job",
        }
    }

    /// The object as JSON: `apiVersion`, `kind`, `metadata`, then the rest in k8s-openapi's
    /// (alphabetical) order, as people write manifests.
    pub fn to_value(&self) -> serde_json::Value {
        let serde_json::Value::Object(fields) = self.raw_value() else {
            unreachable!("API objects serialise to JSON objects")
        };
        let mut out = serde_json::Map::new();
        for key in ["apiVersion", "kind", "metadata"] {
            if let Some(v) = fields.get(key) {
                out.insert(key.to_string(), v.clone());
            }
        }
        for (k, v) in fields {
            out.entry(k).or_insert(v);
        }
        serde_json::Value::Object(out)
    }

    #[allow(
        clippy::expect_used,
        reason = "k8s-openapi objects always serialise to JSON values"
    )]
    fn raw_value(&self) -> serde_json::Value {
        let v = match self {
            Object::ConfigMap(o) => serde_json::to_value(o),
            Object::Service(o) => serde_json::to_value(o),
            Object::NetworkPolicy(o) => serde_json::to_value(o),
            Object::PodDisruptionBudget(o) => serde_json::to_value(o),
            Object::Job(o) => serde_json::to_value(o),
        };
        v.expect("API objects always serialise")
    }
}

/// The objects of one run, and what the caller should know about them.
#[derive(Clone, Debug)]
pub struct Manifests {
    pub names: Names,
    pub namespace: String,
    pub runners: u32,
    /// The content hash of the full plan (`sha256:…`).
    pub plan_hash: String,
    /// The full plan's `plan.json`, its data left to packs (their references only).
    pub plan_json: String,
    pub objects: Vec<Object>,
    /// Things the CLI should show: unreachable hostname targets, default secret names.
    pub notes: Vec<String>,
}

/// Why a plan cannot become manifests.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ManifestError {
    #[error(
        "the run's data cannot be delivered: {}; at {} per ConfigMap (the {} object limit \
         less base64 and metadata) that takes {objects} ConfigMaps, over the limit of {} ({} \
         compressed): use fewer or smaller data files (fewer rows or columns, shorter cells)",
        shares_text(shares),
        kib(volley_plan::pack::PART_BYTES),
        mib(CONFIGMAP_LIMIT),
        data::MAX_DATA_OBJECTS,
        mib(data::max_packed_bytes() as usize)
    )]
    DataTooLarge {
        shares: Vec<data::Share>,
        objects: usize,
    },
    #[error(
        "the plan (ConfigMap `{name}`) is {}, over the {} ConfigMap limit (its data travels \
         apart, so this is its code): split the test into smaller files",
        mib(*bytes),
        mib(CONFIGMAP_LIMIT)
    )]
    PlanTooLarge { name: String, bytes: usize },
    #[error(
        "output token `token_env={var}`: `fleet.env` gives {var} a {given}; a token must come \
         from a Secret: write `{var}: k8s_secret(\"NAME\", \"KEY\")` in `fleet.env`, or drop the \
         entry so the coordinator reads it from the run's Secret"
    )]
    OutputTokenNotSecret { var: String, given: &'static str },
    #[error(
        "the toleration `{toleration}` is malformed: {why} (write `key=value:Effect`, e.g. `role=loadgen:NoSchedule`)"
    )]
    Toleration { toleration: String, why: String },
}

fn mib(bytes: usize) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn kib(bytes: usize) -> String {
    format!("{} KiB", bytes / 1024)
}

/// `` `users`: 60.00 MiB of rows, 41.20 MiB compressed, 59 ConfigMaps``, one per pack.
pub fn shares_text(shares: &[data::Share]) -> String {
    shares
        .iter()
        .map(|s| {
            let names: Vec<String> = s.sources.iter().map(|n| format!("`{n}`")).collect();
            format!(
                "{}{}: {} of rows, {} compressed, {} ConfigMaps",
                names.join(", "),
                if s.sliced {
                    " (the runners' slices)"
                } else {
                    ""
                },
                mib(s.raw_bytes as usize),
                mib(s.packed_bytes as usize),
                s.objects
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The deadlines of the pods, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadlines {
    /// The plan's longest duration plus the start timeout plus the grace period.
    pub runner_s: i64,
    /// The runners' deadline plus the linger.
    pub coordinator_s: i64,
    pub linger_s: i64,
}

impl Deadlines {
    pub fn of(plan: &Plan) -> Deadlines {
        let ms = plan
            .max_duration_ms()
            .saturating_add(plan.fleet.start_timeout_ms)
            .saturating_add(plan.fleet.grace_ms);
        let runner_s = ms.div_ceil(1000).clamp(1, i64::MAX as u64 / 2) as i64;
        Deadlines {
            runner_s,
            coordinator_s: runner_s + LINGER_S,
            linger_s: LINGER_S,
        }
    }
}

/// The runner count: `fleet.runners`, or `volley_plan::capacity::auto_runners` for `auto`.
pub fn runner_count(plan: &Plan) -> u32 {
    plan.fleet
        .runners
        .unwrap_or_else(|| volley_plan::capacity::auto_runners(plan, &plan.fleet.resources))
        .max(1)
}

/// Builds the objects of `plan`'s run.
pub fn build(plan: &Plan, opts: &Options) -> Result<Manifests, ManifestError> {
    outputs::check_token_env(plan, &opts.outputs)?;
    // Every source's rows go to a pack; the plan keeps their references (and no copy of
    // the rows is made: the slices read them from the caller's plan).
    let source = plan;
    let (full, packs) = volley_plan::pack::packed(plan);
    let plan = &full;
    let names = Names::new(plan);
    let plan_hash = volley_plan::content_hash(plan);
    let namespace = opts
        .namespace
        .clone()
        .unwrap_or_else(|| plan.fleet.namespace().to_string());
    let runners = runner_count(plan);
    let (fleet_plan, slices) = volley_plan::slice::split_from(full.clone(), source, runners);
    let sliced = volley_plan::slice::needs_slice(&fleet_plan);
    let slices = if sliced { slices } else { Vec::new() };
    let meta = |name: String, component: &str| ObjectMeta {
        name: Some(name),
        namespace: Some(namespace.clone()),
        labels: Some(names.labels(component)),
        annotations: Some(annotations(&plan_hash)),
        ..Default::default()
    };
    let d = Deadlines::of(plan);
    let mut objects = vec![Object::ConfigMap(config::plan_map(
        meta(names.plan(), "plan"),
        volley_plan::to_json(&fleet_plan),
    )?)];
    let data = data::objects(&fleet_plan, &packs, &slices, &names, &meta);
    let memory_note = data::memory_note(&data.shares, runners, plan.fleet.resources.memory_bytes);
    drop(fleet_plan);
    let mounts = (data.shared.clone(), data.slices.clone());
    objects.extend(data.into_config_maps()?.into_iter().map(Object::ConfigMap));
    objects.push(Object::Service(config::service(
        meta(names.coordinator(), "coordinator"),
        &names,
    )));
    let mut coordinator_policy =
        network::coordinator(plan, &names, meta(names.coordinator(), "coordinator"));
    if let Some(spec) = coordinator_policy.spec.as_mut() {
        let rules = outputs::egress(&opts.outputs, &plan.fleet.egress);
        spec.egress.get_or_insert_with(Vec::new).extend(rules);
    }
    objects.push(Object::NetworkPolicy(coordinator_policy));
    objects.push(Object::NetworkPolicy(network::runners(
        plan,
        &names,
        meta(names.runners(), "runner"),
    )));
    objects.push(Object::PodDisruptionBudget(config::disruption_budget(
        meta(names.run.clone(), "disruption-budget"),
        &names,
    )));
    let coordinator_meta = meta(names.coordinator(), "coordinator");
    let mut c = jobs::coordinator(plan, &names, coordinator_meta, runners, &opts.outputs, &d)?;
    let every: Vec<&data::Part> = mounts.0.iter().chain(&mounts.1).collect();
    jobs::mount_data(&mut c, &every);
    objects.push(Object::Job(c));
    let mut r = jobs::runners(plan, &names, meta(names.runners(), "runner"), runners, &d)?;
    jobs::mount_data(&mut r, &mounts.0.iter().collect::<Vec<_>>());
    objects.push(Object::Job(r));
    let mut notes = network::target_notes(plan);
    notes.extend(secret_notes(plan, &names));
    notes.extend(memory_note);
    notes.extend(outputs::notes(&opts.outputs, &plan.fleet.egress, &names));
    Ok(Manifests {
        names,
        namespace,
        runners,
        plan_hash,
        plan_json: volley_plan::to_json(plan),
        objects,
        notes,
    })
}

fn annotations(plan_hash: &str) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert(
        names::PLAN_HASH_ANNOTATION.to_string(),
        plan_hash.to_string(),
    );
    a
}

fn secret_notes(plan: &Plan, names: &Names) -> Vec<String> {
    plan.secrets
        .iter()
        .filter(|s| !plan.fleet.secrets.contains_key(&s.name))
        .map(|s| {
            format!(
                "secret `{}` has no `fleet.secrets` entry: the pods read it from Secret `{}`, key `{}`",
                s.name,
                names.default_secrets(),
                s.env
            )
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests;
