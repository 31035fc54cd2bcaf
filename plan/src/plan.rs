//! The runner plan: everything the engine needs to run a test, and nothing about the
//! source text (no spans). Produced by the compiler, serialised to `plan.json`,
//! consumed by the engine. Deterministic: maps are `BTreeMap`, lists keep source order.
//!
//! Units are normalised here: durations in milliseconds (`f64` in values, `u64` in
//! workloads), rates in iterations per second, sizes in bytes, percentages as fractions
//! (`1%` is `0.01`).

use crate::pack::PackRef;
use crate::program::{Function, Stmt};
use crate::value::Value;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of the plan format; the engine refuses other versions.
pub const PLAN_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub version: u32,
    /// The test's name: the file stem (`checkout` for `checkout.load`).
    pub name: String,
    /// Parameters after `--param` overrides, for the record (already folded into code).
    pub params: BTreeMap<String, Value>,
    pub targets: Vec<Target>,
    pub secrets: Vec<SecretRef>,
    pub data: Vec<DataSource>,
    /// The file's own metrics (built-in ones are implied).
    pub metrics: Vec<MetricDef>,
    /// Flows, referenced by index from `Expr::CallFlow`.
    pub flows: Vec<Function>,
    /// Runs once for the whole fleet before any scenario; its top-level `let`s are the
    /// setup values (`setup.NAME`), in `setup_values` order: the i-th top-level
    /// `Stmt::Let` of the body is value i. The compiler also ends the body with
    /// `Return(Some(List([..])))` of those values in that order.
    pub setup: Option<Function>,
    pub setup_values: Vec<String>,
    pub teardown: Option<Function>,
    pub scenarios: Vec<Scenario>,
    pub thresholds: Vec<Threshold>,
    pub fleet: Fleet,
    /// Files of the test's folder that requests send (`multipart:` file parts), by index
    /// (`PartValue::File::file`); left out of `plan.json` when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<crate::FileData>,
    /// The `.proto` files of `data NAME = proto(..)`, each compiled to an encoded
    /// `FileDescriptorSet` (`path` as written), by index (`GrpcCall::proto`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protos: Vec<crate::FileData>,
}

/// A declared host. Requests name targets by index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub name: String,
    /// Absolute base URL, e.g. `http://127.0.0.1:8088` (may carry a base path).
    pub url: String,
}

/// A secret by name and where the runner reads it; never its value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecretRef {
    pub name: String,
    /// The environment variable holding the value at run time.
    pub env: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataFormat {
    Csv,
    Json,
    Lines,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pick {
    /// Each VU its own row for its whole life, unique fleet-wide.
    Unique,
    /// Each iteration a fresh row, unique fleet-wide.
    UniquePerIteration,
    /// Rows in order, cycling.
    Sequential,
    /// A random row each time.
    Random,
    /// Everyone reads everything (explicit opt-in).
    Shared,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct DataSource {
    pub name: String,
    pub format: DataFormat,
    /// The path as written, relative to the `.load` file.
    pub path: String,
    pub pick: Pick,
    /// CSV headers or JSON object keys (empty for `lines`, whose rows are strings).
    pub columns: Vec<String>,
    /// The rows, read at compile time: `Value::Record` for csv/json objects (cells typed
    /// per column: `Int` for an all-integer CSV column, `Json` for mixed JSON values),
    /// `Value::Str` for lines. Left out of `plan.json` (and so of the content hash) when
    /// `pack` is set: the rows then travel in their pack and are filled in once read.
    #[serde(default)]
    pub rows: Vec<Value>,
    /// Set when the rows are one runner's slice of a unique source (see
    /// [`crate::slice`]): `rows[i]` is global row `indices[i]` of `total_rows`. In a fleet
    /// plan before its slice is applied, `rows` and `indices` are empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slice: Option<SliceInfo>,
    /// Set when the rows travel outside the plan, as a data pack (`crate::pack`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack: Option<PackRef>,
}

impl Serialize for DataSource {
    /// The derived shape, except that a packed source's rows are left out.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shape<'a> {
            name: &'a String,
            format: DataFormat,
            path: &'a String,
            pick: Pick,
            columns: &'a Vec<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            rows: Option<&'a Vec<Value>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            slice: Option<&'a SliceInfo>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pack: Option<&'a PackRef>,
        }
        Shape {
            name: &self.name,
            format: self.format,
            path: &self.path,
            pick: self.pick,
            columns: &self.columns,
            rows: self.pack.is_none().then_some(&self.rows),
            slice: self.slice.as_ref(),
            pack: self.pack.as_ref(),
        }
        .serialize(s)
    }
}

/// Which global rows a sliced data source holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SliceInfo {
    pub total_rows: u64,
    /// Ascending global row indices of `rows`.
    pub indices: Vec<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    Trend,
    Counter,
    Rate,
    Gauge,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricDef {
    pub name: String,
    pub kind: MetricKind,
    /// For trends: values are durations in ms (`trend(duration)`) rather than plain numbers.
    pub is_time: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    pub name: String,
    pub workload: Workload,
    pub start: Start,
    pub graceful_stop_ms: u64,
    pub tags: BTreeMap<String, String>,
    pub http: HttpOptions,
    /// Slots 0..frame_size of each VU's frame. Scenario-level lets (run once per VU by
    /// `init`) keep their slots for the VU's life; the iteration's locals follow them.
    pub frame_size: u32,
    pub init: Vec<Stmt>,
    pub iteration: Vec<Stmt>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Start {
    Immediately,
    /// `at(30s)`: offset from the test start.
    At {
        offset_ms: u64,
    },
    /// `after(warmup)`: a fleet-wide barrier on another scenario (by index).
    After {
        scenario: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HttpOptions {
    pub timeout_ms: u64,
    pub reuse_connections: bool,
    pub http2: bool,
    pub insecure_tls: bool,
    pub max_redirects: u32,
    /// The largest response body kept for a script that reads bodies, in bytes; a larger
    /// one fails the request (code 1060). Absent from plan.json at its default.
    #[serde(
        default = "default_max_body",
        skip_serializing_if = "is_default_max_body"
    )]
    pub max_body: u64,
    /// How host names are resolved (`http.dns`). Absent from plan.json at its default.
    #[serde(default, skip_serializing_if = "DnsOptions::is_default")]
    pub dns: DnsOptions,
    /// Names with fixed addresses, never looked up (`http.hosts`, k6's `hosts`): each
    /// address an IP literal. Absent from plan.json when empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hosts: BTreeMap<String, Vec<String>>,
    /// When the VU's cookie jar is emptied (`http.cookies`). Absent at its default.
    #[serde(default, skip_serializing_if = "CookieReset::is_default")]
    pub cookies: CookieReset,
    /// Send `Accept-Encoding` and decode compressed bodies (`http.compression`). Absent
    /// from plan.json at its default (on).
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub compression: bool,
    /// Client certificate, extra roots, versions and suites (`http.tls`). Absent from
    /// plan.json at its default.
    #[serde(default, skip_serializing_if = "crate::tls::TlsOptions::is_default")]
    pub tls: crate::tls::TlsOptions,
    /// The proxy every request goes through (`http.proxy`, an `http://` URL), instead of
    /// the environment's `HTTP_PROXY`/`HTTPS_PROXY`. Absent from plan.json when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// Hosts that bypass the proxy (`http.no_proxy`, `NO_PROXY`'s syntax), beside
    /// `NO_PROXY`. Absent from plan.json when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_proxy: Vec<String>,
    /// The `User-Agent` requests and WebSocket handshakes send unless they set their own
    /// (`http.user_agent`, k6's `userAgent`): `None` for Volley's own, empty for none.
    /// Absent from plan.json when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// `http.cookies`: when a VU's cookie jar is emptied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CookieReset {
    /// At the start of every iteration (k6's default): an iteration is a new visitor.
    #[default]
    PerIteration,
    /// Never: the VU keeps its cookies across iterations (k6's `noCookiesReset`).
    PerVu,
}

impl CookieReset {
    fn is_default(&self) -> bool {
        *self == CookieReset::PerIteration
    }
}

fn yes() -> bool {
    true
}

fn is_yes(b: &bool) -> bool {
    *b
}

/// `http.dns`: k6's `dns` option (default `{ttl: 5m, select: random, policy: prefer_ipv4}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsOptions {
    /// How long an answer is used, in ms: `None` for the whole run (`inf`), 0 for no
    /// cache (every new connection looks the name up).
    pub ttl_ms: Option<u64>,
    pub select: DnsSelect,
    pub policy: DnsPolicy,
}

/// The default of [`DnsOptions::ttl_ms`]: 5 minutes, as k6.
pub const DEFAULT_DNS_TTL_MS: u64 = 300_000;

impl Default for DnsOptions {
    fn default() -> Self {
        DnsOptions {
            ttl_ms: Some(DEFAULT_DNS_TTL_MS),
            select: DnsSelect::Random,
            policy: DnsPolicy::PreferIpv4,
        }
    }
}

impl DnsOptions {
    fn is_default(&self) -> bool {
        *self == DnsOptions::default()
    }
}

/// Which address of an answer a new connection uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DnsSelect {
    First,
    Random,
    RoundRobin,
}

/// Which address families are used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DnsPolicy {
    PreferIpv4,
    PreferIpv6,
    OnlyIpv4,
    OnlyIpv6,
    Any,
}

/// The default of [`HttpOptions::max_body`]: 16 MiB.
pub const DEFAULT_MAX_BODY: u64 = 16 * 1024 * 1024;

fn default_max_body() -> u64 {
    DEFAULT_MAX_BODY
}

fn is_default_max_body(n: &u64) -> bool {
    *n == DEFAULT_MAX_BODY
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout_ms: 60_000,
            reuse_connections: true,
            http2: false,
            insecure_tls: false,
            max_redirects: 10,
            max_body: DEFAULT_MAX_BODY,
            dns: DnsOptions::default(),
            hosts: BTreeMap::new(),
            cookies: CookieReset::PerIteration,
            compression: true,
            tls: crate::tls::TlsOptions::default(),
            proxy: None,
            no_proxy: Vec::new(),
            user_agent: None,
        }
    }
}

/// A ramp stage: reach `target` linearly over `duration_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    pub duration_ms: u64,
    /// VUs for `ramping_vus`, iterations per second for `ramping_arrival_rate`.
    pub target: f64,
}

/// k6's executors, same names, parameters and defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "executor")]
pub enum Workload {
    ConstantVus {
        vus: u64,
        duration_ms: u64,
    },
    RampingVus {
        start_vus: u64,
        stages: Vec<Stage>,
        graceful_ramp_down_ms: u64,
    },
    ConstantArrivalRate {
        /// Iterations per second.
        rate: f64,
        duration_ms: u64,
        pre_allocated_vus: u64,
        max_vus: u64,
    },
    RampingArrivalRate {
        /// Iterations per second at the start.
        start_rate: f64,
        stages: Vec<Stage>,
        pre_allocated_vus: u64,
        max_vus: u64,
    },
    SharedIterations {
        vus: u64,
        iterations: u64,
        max_duration_ms: u64,
    },
    PerVuIterations {
        vus: u64,
        iterations: u64,
        max_duration_ms: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    Avg,
    Min,
    Max,
    Med,
    /// `p(95)`: the percentile, 0..=100.
    P,
    Count,
    Rate,
    Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CmpOp {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
}

impl CmpOp {
    pub fn holds(self, lhs: f64, rhs: f64) -> bool {
        match self {
            CmpOp::Lt => lhs < rhs,
            CmpOp::Le => lhs <= rhs,
            CmpOp::Gt => lhs > rhs,
            CmpOp::Ge => lhs >= rhs,
            CmpOp::Eq => lhs == rhs,
            CmpOp::Ne => lhs != rhs,
        }
    }
}

/// One `p(95) < 400ms` condition, normalised (ms, fractions).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    pub aggregation: Aggregation,
    /// The percentile for `Aggregation::P`.
    pub percentile: Option<f64>,
    pub op: CmpOp,
    pub value: f64,
    /// The condition as written, for the summary (`p(95) < 400ms`).
    pub source: String,
    /// `p(95) < baseline * 1.1`: `value` is set before the run from the `--baseline`
    /// summary (the same aggregation of the same (sub)metric there), as
    /// `factor × baseline + offset`; 0 until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineRef>,
}

/// A condition's value relative to the baseline run: `factor × baseline + offset`
/// (`offset` in the condition's units: ms, a fraction, per second).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineRef {
    pub factor: f64,
    #[serde(default)]
    pub offset: f64,
    /// The baseline's value, once filled in (`value` is then `factor × base + offset`);
    /// a plan without it cannot judge the condition, and the engine fails it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    pub metric: String,
    /// Tag filter of a submetric (`{group: "browse"}`); empty for the whole metric.
    pub tags: BTreeMap<String, String>,
    pub conditions: Vec<Condition>,
    pub abort_on_fail: bool,
    /// Do not abort before this much of the test has run (k6's `delayAbortEval`).
    pub delay_abort_eval_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    Spread,
    Separate,
    Pack,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "when")]
pub enum Cleanup {
    After { ms: u64 },
    OnSuccess,
    Never,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    /// CPU in millicores.
    pub cpu_millis: u64,
    pub memory_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct K8sSecretRef {
    pub secret: String,
    pub key: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fleet {
    /// Number of runners; `None` means `auto` (sized from peak VUs and rate).
    pub runners: Option<u32>,
    /// `fleet.namespace`; none when the file does not set it: `volley compile` then
    /// writes `default`, and `volley deploy` uses the kubeconfig context's, as kubectl does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub image: String,
    pub resources: Resources,
    pub placement: Placement,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<String>,
    /// Secret name in the file → Kubernetes secret key reference.
    pub secrets: BTreeMap<String, K8sSecretRef>,
    /// CIDRs the runners may reach besides the targets.
    pub egress: Vec<String>,
    pub cleanup: Cleanup,
    /// How long the coordinator waits for all runners to be ready.
    pub start_timeout_ms: u64,
    /// How long a runner keeps load going without hearing from the coordinator.
    pub grace_ms: u64,
    /// Spread runners across zones (topology spread constraint).
    pub zone_spread: bool,
    /// The coordinator's resources when they differ from the runners' (`resources`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinator_resources: Option<Resources>,
    /// Extra environment of both roles, by variable name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, EnvValue>,
    /// The pods' service account (`serviceAccountName`); none means the namespace default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// Secrets the kubelet pulls the image with (`imagePullSecrets`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<String>,
    /// Extra labels of every pod (never a key Volley sets).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Extra annotations of every pod (never a `volley.dev/` key).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// The pods' `priorityClassName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class: Option<String>,
    /// Affinity of both roles besides the `placement` preset (which adds the runners' own).
    #[serde(default, skip_serializing_if = "FleetAffinity::is_empty")]
    pub affinity: FleetAffinity,
}

/// Where an extra environment variable's value comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "from")]
pub enum EnvValue {
    /// A plain value, written into the manifests.
    Value { value: String },
    /// A key of a Kubernetes Secret (`secretKeyRef`: the value never appears).
    Secret { secret: String, key: String },
    /// A key of a Kubernetes ConfigMap (`configMapKeyRef`).
    ConfigMap { config_map: String, key: String },
}

/// One node or pod label requirement: `key operator values`, as Kubernetes writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchExpression {
    pub key: String,
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt` or `Lt`.
    pub operator: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// A preferred node requirement with its weight (1..=100).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightedNodeTerm {
    pub weight: i32,
    pub expressions: Vec<MatchExpression>,
}

/// A pod (anti-)affinity term: pods with these labels, within this topology; with a
/// weight it is preferred, without one required.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodTerm {
    pub labels: BTreeMap<String, String>,
    pub topology_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    /// Namespaces of the selected pods; none means the fleet's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
}

/// `fleet.affinity`: node affinity (required expressions all hold; preferred terms add
/// their weight) and pod affinity and anti-affinity terms.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetAffinity {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_required: Vec<MatchExpression>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_preferred: Vec<WeightedNodeTerm>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pod_affinity: Vec<PodTerm>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pod_anti_affinity: Vec<PodTerm>,
}

impl FleetAffinity {
    pub fn is_empty(&self) -> bool {
        self == &FleetAffinity::default()
    }
}

impl Fleet {
    /// The coordinator's resources: its own, or the runners'.
    /// The namespace the manifests name: the file's, else `default`.
    pub fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or("default")
    }

    pub fn coordinator_resources(&self) -> &Resources {
        self.coordinator_resources
            .as_ref()
            .unwrap_or(&self.resources)
    }
}

impl Default for Fleet {
    fn default() -> Self {
        Fleet {
            runners: Some(1),
            namespace: None,
            image: crate::DEFAULT_IMAGE.into(),
            resources: Resources {
                cpu_millis: 1000,
                memory_bytes: 512 * 1024 * 1024,
            },
            placement: Placement::Spread,
            node_selector: BTreeMap::new(),
            tolerations: Vec::new(),
            secrets: BTreeMap::new(),
            egress: Vec::new(),
            cleanup: Cleanup::After { ms: 24 * 3_600_000 },
            start_timeout_ms: 120_000,
            grace_ms: 30_000,
            zone_spread: false,
            coordinator_resources: None,
            env: BTreeMap::new(),
            service_account: None,
            image_pull_secrets: Vec::new(),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            priority_class: None,
            affinity: FleetAffinity::default(),
        }
    }
}

impl Plan {
    /// The longest a scenario can run, including graceful stop, in ms (used for deadlines).
    pub fn scenario_max_duration_ms(s: &Scenario) -> u64 {
        let body = match &s.workload {
            Workload::ConstantVus { duration_ms, .. }
            | Workload::ConstantArrivalRate { duration_ms, .. } => *duration_ms,
            Workload::RampingVus {
                stages,
                graceful_ramp_down_ms,
                ..
            } => stages.iter().map(|st| st.duration_ms).sum::<u64>() + graceful_ramp_down_ms,
            Workload::RampingArrivalRate { stages, .. } => {
                stages.iter().map(|st| st.duration_ms).sum()
            }
            Workload::SharedIterations {
                max_duration_ms, ..
            }
            | Workload::PerVuIterations {
                max_duration_ms, ..
            } => *max_duration_ms,
        };
        body + s.graceful_stop_ms
    }

    /// Upper bound of the whole test's duration in ms (scenarios chained by `after` add up).
    pub fn max_duration_ms(&self) -> u64 {
        self.chained_end_ms(Plan::scenario_max_duration_ms)
    }

    /// The planned duration of the whole test in ms: every scenario's own duration (the
    /// "runs up to" of `volley plan`: `duration`, the stages, or `max_duration`) from its
    /// start, without graceful stops (those are the most the end may wait). What the
    /// progress line and the coordinator's `/status` show as the total.
    pub fn planned_duration_ms(&self) -> u64 {
        self.chained_end_ms(|s| crate::schedule::duration_ms(&s.workload))
    }

    /// When the last scenario ends if each lasts `length` from its start (an `after`
    /// start is the end of the scenario it waits on).
    fn chained_end_ms(&self, length: impl Fn(&Scenario) -> u64) -> u64 {
        let mut end = vec![0u64; self.scenarios.len()];
        // Scenarios may only wait on earlier-resolved ones; iterate to a fixed point.
        for _ in 0..self.scenarios.len().max(1) {
            for (i, s) in self.scenarios.iter().enumerate() {
                let start = match s.start {
                    Start::Immediately => 0,
                    Start::At { offset_ms } => offset_ms,
                    Start::After { scenario } => end.get(scenario as usize).copied().unwrap_or(0),
                };
                end[i] = start.saturating_add(length(s));
            }
        }
        end.into_iter().max().unwrap_or(0)
    }

    /// Statements of every function in the plan (flows, setup, teardown, scenarios), for
    /// analyses that walk code.
    pub fn all_code(&self) -> Vec<&[Stmt]> {
        let mut out: Vec<&[Stmt]> = self.flows.iter().map(|f| f.body.as_slice()).collect();
        out.extend(self.setup.iter().map(|f| f.body.as_slice()));
        out.extend(self.teardown.iter().map(|f| f.body.as_slice()));
        for s in &self.scenarios {
            out.push(&s.init);
            out.push(&s.iteration);
        }
        out
    }
}
