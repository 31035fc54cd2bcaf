//! The end-of-test summary: built once from the final aggregate and threshold verdicts,
//! written as JSON (`--summary-json FILE`) and rendered as k6-like text.
//!
//! JSON shape (close to k6's `handleSummary` data; keys in `metrics` sorted):
//! ```json
//! { "metrics": {
//!     "http_req_duration": { "type": "trend", "contains": "time",
//!       "values": { "avg": 12.1, "min": 1.0, "med": 10.0, "max": 120.0,
//!                   "p(90)": 20.0, "p(95)": 25.0, "p(99)": 40.0 },
//!       "thresholds": { "p(95) < 400ms": { "ok": true } } },
//!     "http_req_duration{group:browse}": { "type": "trend", … },
//!     "http_reqs": { "type": "counter", "contains": "default", "values": { "count": 2000, "rate": 66.6 } },
//!     "checks": { "type": "rate", "contains": "default", "values": { "rate": 0.97, "passes": 1950, "fails": 50 } },
//!     "vus": { "type": "gauge", "contains": "default", "values": { "value": 0, "min": 0, "max": 50 } } },
//!   "root_group": { "name": "", "path": "", "checks": [ { "name": "ok", "path": "::ok", "passes": 10, "fails": 0 } ],
//!                   "groups": [ { "name": "browse", "path": "::browse", "checks": [..], "groups": [] } ] },
//!   "state": { "testRunDurationMs": 30012.5, "isStdOutTTY": false },
//!   "volley": { "test": "checkout", "exit_code": 0, "verdict": "passed",
//!               "runners": [ { "index": 0, "lost": false, "state": "ok", "http_reqs": 500,
//!                              "iterations": 500, "share": 0.25, "start_offset_ms": 0.04,
//!                              "first_request_offset_ms": 250.1 } ],
//!               "start_skew_ms": 0.12, "runners_lost": 0,
//!               "errors": [ { "code": 1212, "kind": "connection refused", "count": 3,
//!                             "first": { "code": 1212, "request": "products",
//!                                        "target": "shop", "at_unix_ms": 1746093600000 } } ] } }
//! ```
//! Units: trend values in ms for `"contains": "time"` (plain values otherwise), rates as
//! fractions, counter `rate` per second of the test's duration, data in bytes. A metric
//! appears when it has samples or a threshold; a threshold's submetric appears as
//! `metric{k:v,…}`; a trend also lists any other `p(N)` its thresholds use. As k6's,
//! every summary has `http_req_duration{expected_response:true}` (once it has samples).
//! Group and check paths follow k6 (`::browse::ok`). `verdict` is one of `passed`,
//! `thresholds_failed`, `no_responses` (requests were made and not one got a response:
//! every one failed at the transport level, timed out or was cut by the end of the test),
//! `aborted` (signal or `volley abort`), `aborted_by_threshold`, `runners_lost`,
//! `not_started`, `regression` (thresholds passed, `--baseline` found a regression);
//! `exit_code` is its exit code (0, 99, 105, 108, 110, 104).
//! `volley.summary_version` is 2 (absent: 1) since `volley.detail` (per metric and tag set,
//! the merged histogram and per-interval figures `volley compare` reads, see
//! `crate::compare::detail`); `volley.comparison` is `--baseline`'s comparison. A run that
//! never started (a missing secret, an invalid plan) has verdict `not_started`, its
//! `reason` in words, and no metrics and no threshold verdicts. A threshold whose
//! (sub)metric got no sample is `{ "ok": false, "no_data": true }`.
//!
//! This module must not evaluate thresholds or merge metrics; it does no IO but
//! [`write_json`].

use crate::metrics::{Aggregate, Contains, MetricView};
use crate::thresholds::{submetric_key, ThresholdResult};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;
use volley_plan::plan::{Aggregation, MetricKind, Plan};
use volley_plan::ExitCode;

/// The percentiles every trend reports.
pub const TREND_PERCENTILES: &[f64] = &[90.0, 95.0, 99.0];

/// The submetrics every summary has, as k6's: `http_req_duration{expected_response:true}`,
/// the latency of the answers the requests expected (k6 shows it as `{
/// expected_response:true }` under `http_req_duration` and its `--summary-export` carries
/// it). As (metric, tags); present when it has samples.
pub fn k6_submetrics() -> Vec<(String, BTreeMap<String, String>)> {
    vec![(
        "http_req_duration".to_string(),
        BTreeMap::from([("expected_response".to_string(), "true".to_string())]),
    )]
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Summary {
    pub metrics: BTreeMap<String, MetricSummary>,
    pub root_group: GroupSummary,
    pub state: State,
    pub volley: VolleyInfo,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MetricSummary {
    #[serde(rename = "type")]
    pub kind: MetricKind,
    pub contains: Contains,
    pub values: BTreeMap<String, f64>,
    /// Condition source → verdict, for thresholds on exactly this (sub)metric.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub thresholds: BTreeMap<String, ThresholdOk>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThresholdOk {
    pub ok: bool,
    /// The (sub)metric had no sample: the threshold failed for want of data.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_data: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct GroupSummary {
    pub name: String,
    /// k6's path: `""` for the root, `::a::b` below it.
    pub path: String,
    pub checks: Vec<CheckSummary>,
    pub groups: Vec<GroupSummary>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CheckSummary {
    pub name: String,
    /// The group's path then the check's name: `::browse::ok`.
    pub path: String,
    pub passes: u64,
    pub fails: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct State {
    #[serde(rename = "testRunDurationMs")]
    pub test_run_duration_ms: f64,
    #[serde(rename = "isStdOutTTY")]
    pub is_std_out_tty: bool,
}

/// Volley's own part: the verdict and the fleet.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct VolleyInfo {
    /// The test's name (`Plan::name`).
    pub test: String,
    pub exit_code: ExitCode,
    pub verdict: Verdict,
    /// Why the run ended before it started (`verdict` is `not_started`): a missing
    /// secret, an invalid plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// One entry per runner of a fleet (empty for a single-machine run).
    pub runners: Vec<RunnerSummary>,
    /// The fleet's start skew: the spread of the runners' actual starts (each woken at
    /// the agreed start instant), not of their first requests.
    pub start_skew_ms: Option<f64>,
    pub runners_lost: u32,
    /// Each kind of transport error with its count and first occurrence, most frequent
    /// first (see `crate::errors`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<crate::errors::ErrorSummary>,
    /// The legend: what a reader needs to read the numbers right (e.g. the open model's
    /// latency), one sentence each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The file's format: 2 adds `detail` (read as 1 when absent).
    #[serde(default = "format_one")]
    pub summary_version: u32,
    /// Per metric and tag set, the merged histogram and per-interval figures that
    /// `volley compare` and `--baseline` read (see `crate::compare::detail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<crate::compare::detail::Detail>,
    /// The comparison with the `--baseline` run, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<crate::compare::Comparison>,
}

/// The summary format this version writes.
pub const SUMMARY_VERSION: u32 = 2;

fn format_one() -> u32 {
    1
}

/// One runner's row in a fleet's summary.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct RunnerSummary {
    pub index: u32,
    pub lost: bool,
    /// `ok` or `lost` (the same as `lost`, in words).
    #[serde(default)]
    pub state: RunnerOutcome,
    pub http_reqs: f64,
    pub iterations: f64,
    /// Its part of the fleet's requests (0..=1).
    #[serde(default)]
    pub share: f64,
    /// How late its workers actually started against the agreed start instant (ms).
    #[serde(default)]
    pub start_offset_ms: Option<f64>,
    /// How late its first request went out against the agreed start instant (ms): the
    /// start offset plus the workload's own (a ramp gives runner k its first VU later).
    #[serde(default)]
    pub first_request_offset_ms: Option<f64>,
    /// Why it was lost (or stopped), in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum RunnerOutcome {
    #[default]
    Ok,
    Lost,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    ThresholdsFailed,
    /// Requests were made and none got a response (exit 99, as a failed threshold): a
    /// run against a server that never answered must not pass.
    NoResponses,
    /// Stopped by a signal or `volley abort`.
    Aborted,
    /// Stopped by a failing `abort_on_fail` threshold.
    AbortedByThreshold,
    /// The fleet lost a runner.
    RunnersLost,
    /// The run never started (a missing secret, an invalid plan): no load, no verdicts.
    NotStarted,
    /// The thresholds passed, but `--baseline`'s comparison found a regression (exit 99).
    Regression,
}

impl Verdict {
    /// The process exit code (k6's where they exist).
    pub fn exit_code(self) -> ExitCode {
        match self {
            Verdict::Passed => ExitCode::Ok,
            Verdict::ThresholdsFailed | Verdict::NoResponses | Verdict::Regression => {
                ExitCode::ThresholdsFailed
            }
            Verdict::Aborted => ExitCode::AbortedBySignal,
            Verdict::AbortedByThreshold => ExitCode::AbortedByThreshold,
            Verdict::RunnersLost => ExitCode::RunnersLost,
            Verdict::NotStarted => ExitCode::InvalidInput,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::ThresholdsFailed => "thresholds failed",
            Verdict::NoResponses => "no request got a response",
            Verdict::Aborted => "aborted",
            Verdict::AbortedByThreshold => "aborted by a failing threshold (abort_on_fail)",
            Verdict::RunnersLost => "the fleet lost a runner",
            Verdict::NotStarted => "the run did not start",
            Verdict::Regression => "a regression against the baseline",
        }
    }
}

impl Summary {
    /// Sets the verdict and its exit code (the driver does, for aborts and lost runners).
    pub fn set_verdict(&mut self, v: Verdict) {
        self.volley.verdict = v;
        self.volley.exit_code = v.exit_code();
    }

    pub fn exit_code(&self) -> ExitCode {
        self.volley.exit_code
    }

    /// One value of a (sub)metric: `value("http_reqs", "count")`.
    pub fn value(&self, metric: &str, key: &str) -> Option<f64> {
        self.metrics.get(metric)?.values.get(key).copied()
    }

    /// A check's (passes, fails) over every group it appears in.
    pub fn check(&self, name: &str) -> (u64, u64) {
        fn walk(g: &GroupSummary, name: &str, acc: &mut (u64, u64)) {
            for c in g.checks.iter().filter(|c| c.name == name) {
                acc.0 += c.passes;
                acc.1 += c.fails;
            }
            for sub in &g.groups {
                walk(sub, name, acc);
            }
        }
        let mut acc = (0, 0);
        walk(&self.root_group, name, &mut acc);
        acc
    }

    /// (passed, total) thresholds conditions over every metric.
    pub fn threshold_counts(&self) -> (usize, usize) {
        let all = self.metrics.values().flat_map(|m| m.thresholds.values());
        let (mut ok, mut n) = (0, 0);
        for t in all {
            n += 1;
            ok += usize::from(t.ok);
        }
        (ok, n)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }
}

/// Writes the summary as pretty JSON.
pub fn write_json(s: &Summary, path: &Path) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(s).map_err(std::io::Error::other)?;
    text.push('\n');
    std::fs::write(path, text)
}

/// Builds the summary from the final aggregate and the final threshold verdicts. The
/// verdict is `passed` or `thresholds_failed`; the driver overrides it for aborts.
pub fn build(
    agg: &Aggregate,
    plan: &Plan,
    results: &[ThresholdResult],
    duration: Duration,
) -> Summary {
    // Thresholds by (sub)metric key: condition source → ok; and extra percentiles.
    let mut marks: BTreeMap<String, BTreeMap<String, ThresholdOk>> = BTreeMap::new();
    for r in results {
        let entry = marks.entry(r.key()).or_default();
        for c in &r.conditions {
            let before = entry.get(&c.source);
            let ok = before.is_none_or(|t| t.ok) && c.passed;
            let no_data = before.is_some_and(|t| t.no_data) || c.no_data;
            entry.insert(c.source.clone(), ThresholdOk { ok, no_data });
        }
    }
    let mut extra_p: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut filters: BTreeMap<String, (String, BTreeMap<String, String>)> = BTreeMap::new();
    for t in &plan.thresholds {
        let key = submetric_key(&t.metric, &t.tags);
        for c in &t.conditions {
            if let (Aggregation::P, Some(p)) = (c.aggregation, c.percentile) {
                extra_p.entry(key.clone()).or_default().push(p);
            }
        }
        filters.insert(key, (t.metric.clone(), t.tags.clone()));
    }
    for (metric, tags) in k6_submetrics() {
        filters
            .entry(submetric_key(&metric, &tags))
            .or_insert((metric, tags));
    }
    let mut names: BTreeSet<String> = agg.registry().iter().map(|(_, d)| d.name.clone()).collect();
    names.extend(agg.metric_names().map(str::to_string));
    for name in names {
        filters
            .entry(name.clone())
            .or_insert_with(|| (name, BTreeMap::new()));
    }

    let secs = duration.as_secs_f64();
    let mut metrics = BTreeMap::new();
    for (key, (metric, filter)) in filters {
        let Some(view) = agg.view(&metric, &filter) else {
            continue;
        };
        let thresholds = marks.remove(&key).unwrap_or_default();
        if !view.has_samples() && thresholds.is_empty() {
            continue;
        }
        let extra = extra_p.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        metrics.insert(
            key,
            MetricSummary {
                kind: view.kind,
                contains: view.contains,
                values: values(&view, extra, secs),
                thresholds,
            },
        );
    }
    let verdict = if !results.iter().all(|r| r.passed) {
        Verdict::ThresholdsFailed
    } else if no_responses(agg) {
        Verdict::NoResponses
    } else {
        Verdict::Passed
    };
    Summary {
        metrics,
        root_group: root_group(agg),
        state: State {
            test_run_duration_ms: secs * 1000.0,
            is_std_out_tty: false,
        },
        volley: VolleyInfo {
            test: plan.name.clone(),
            exit_code: verdict.exit_code(),
            verdict,
            reason: None,
            runners: Vec::new(),
            start_skew_ms: None,
            runners_lost: 0,
            errors: crate::errors::summarize(agg),
            notes: notes(plan).into_iter().chain(overflow_notes(agg)).collect(),
            summary_version: SUMMARY_VERSION,
            detail: None,
            comparison: None,
        },
    }
}

/// One note per request whose dynamic tags passed the cap of distinct values (a series
/// of `http_reqs` with a tag of value `__overflow__`), from the merged series, so a fleet
/// reports it as one machine does.
fn overflow_notes(agg: &Aggregate) -> Vec<String> {
    use volley_plan::program::{DYNAMIC_TAG_SERIES_CAP, OVERFLOW_TAG_VALUE};
    let mut by_name: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (metric, tags, _) in agg.series() {
        if metric != "http_reqs" {
            continue;
        }
        for (k, v) in tags.iter() {
            if v == OVERFLOW_TAG_VALUE {
                let name = tags.get("name").cloned().unwrap_or_default();
                by_name.entry(name).or_default().insert(k.clone());
            }
        }
    }
    by_name
        .into_iter()
        .map(|(name, keys)| {
            let keys: Vec<String> = keys.into_iter().map(|k| format!("`{k}`")).collect();
            format!(
                "request {name}: its tag {} took more than {DYNAMIC_TAG_SERIES_CAP} distinct values on a runner; the rest are recorded as `{OVERFLOW_TAG_VALUE}` (tag with a bounded value, or group URLs with `name:`)",
                keys.join(", ")
            )
        })
        .collect()
}

/// Whether requests, WebSocket handshakes or gRPC calls were made and not one got an
/// answer from a server: every request failed without a response (status 0), no session
/// opened, every gRPC call and stream failed at its connection (`error_code`).
fn no_responses(agg: &Aggregate) -> bool {
    let count = |metric: &str, filter: &BTreeMap<String, String>| {
        agg.view(metric, filter)
            .map_or(0.0, |v| match (v.has_samples(), v.kind) {
                (false, _) => 0.0,
                (true, volley_plan::plan::MetricKind::Trend) => v.count as f64,
                (true, _) => v.sum,
            })
    };
    let none = BTreeMap::new();
    let status0 = BTreeMap::from([("status".to_string(), "0".to_string())]);
    let unanswered =
        |metric: &str| -> f64 { crate::errors::unanswered(agg, metric).values().sum() };
    let requests = count("http_reqs", &none);
    let refused = count("ws_connect_errors", &none);
    let calls = count("grpc_req_duration", &none);
    let streams = count("grpc_streams", &none);
    requests + refused + calls + streams > 0.0
        && count("http_reqs", &status0) >= requests
        && count("ws_sessions", &none) == 0.0
        && unanswered("grpc_req_duration") >= calls
        && unanswered("grpc_streams") >= streams
}

/// The summary of a run that never started: no metrics, no threshold verdicts, the
/// reason and exit code 104.
pub fn not_started(plan: &Plan, reason: &str) -> Summary {
    let verdict = Verdict::NotStarted;
    Summary {
        metrics: BTreeMap::new(),
        root_group: GroupSummary::default(),
        state: State {
            test_run_duration_ms: 0.0,
            is_std_out_tty: false,
        },
        volley: VolleyInfo {
            test: plan.name.clone(),
            exit_code: verdict.exit_code(),
            verdict,
            reason: Some(reason.to_string()),
            runners: Vec::new(),
            start_skew_ms: None,
            runners_lost: 0,
            errors: Vec::new(),
            notes: Vec::new(),
            summary_version: SUMMARY_VERSION,
            detail: None,
            comparison: None,
        },
    }
}

/// The open model's note: in an arrival-rate scenario the `http_req_duration` of an
/// iteration's first request counts from when the iteration was due (the wait for a free
/// VU included, so a queue shows as latency, not hidden: coordinated omission), while
/// `iteration_duration` counts from when it started; with one request per iteration the
/// first can exceed the second.
pub const OPEN_MODEL_NOTE: &str = "open model: an iteration's first http_req_duration counts from when the iteration was due (any wait for a free VU included); iteration_duration counts from when it started";

fn notes(plan: &Plan) -> Vec<String> {
    let open = plan.scenarios.iter().any(|s| {
        matches!(
            s.workload,
            volley_plan::Workload::ConstantArrivalRate { .. }
                | volley_plan::Workload::RampingArrivalRate { .. }
        )
    });
    if open {
        vec![OPEN_MODEL_NOTE.to_string()]
    } else {
        Vec::new()
    }
}

/// `p(95)`, `p(99.9)`: k6's names of percentiles.
pub fn percentile_key(p: f64) -> String {
    format!("p({})", text::trim(format!("{p:.4}")))
}

fn values(v: &MetricView, extra_p: &[f64], secs: f64) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let mut put = |k: &str, x: f64| {
        out.insert(k.to_string(), if x.is_finite() { x } else { 0.0 });
    };
    match v.kind {
        MetricKind::Trend => {
            put("avg", v.avg);
            put("min", v.min);
            put("med", v.med());
            put("max", v.max);
            for p in TREND_PERCENTILES.iter().chain(extra_p) {
                put(&percentile_key(*p), v.percentile(*p));
            }
        }
        MetricKind::Counter => {
            put("count", v.sum);
            put("rate", if secs > 0.0 { v.sum / secs } else { v.rate });
        }
        MetricKind::Rate => {
            put("rate", v.rate);
            put("passes", v.hits as f64);
            put("fails", v.misses() as f64);
        }
        MetricKind::Gauge => {
            put("value", v.value);
            put("min", v.min);
            put("max", v.max);
        }
    }
    out
}

fn root_group(agg: &Aggregate) -> GroupSummary {
    let checks = agg.checks();
    let mut paths = agg.groups();
    for c in &checks {
        let mut path = String::new();
        for part in c.group.split("::").filter(|p| !p.is_empty()) {
            if !path.is_empty() {
                path.push_str("::");
            }
            path.push_str(part);
            paths.insert(path.clone());
        }
    }
    fn node(
        path: &str,
        paths: &BTreeSet<String>,
        checks: &[crate::metrics::CheckStat],
    ) -> GroupSummary {
        let k6_path = if path.is_empty() {
            String::new()
        } else {
            format!("::{path}")
        };
        let children = paths.iter().filter(|p| match p.rsplit_once("::") {
            Some((parent, _)) => parent == path,
            None => path.is_empty(),
        });
        GroupSummary {
            name: path.rsplit("::").next().unwrap_or_default().to_string(),
            checks: checks
                .iter()
                .filter(|c| c.group == path)
                .map(|c| CheckSummary {
                    name: c.name.clone(),
                    path: format!("{k6_path}::{}", c.name),
                    passes: c.passes,
                    fails: c.fails,
                })
                .collect(),
            groups: children.map(|c| node(c, paths, checks)).collect(),
            path: k6_path,
        }
    }
    node("", &paths, &checks)
}

pub mod export;
pub mod format;
mod text;
pub use text::{fmt_bytes, fmt_duration, fmt_num, plural, render_text, render_text_with};

#[cfg(test)]
pub(crate) mod tests;
