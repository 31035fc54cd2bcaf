//! Prometheus names and values for Volley's metrics, as k6's `experimental-prometheus-rw`
//! output writes them, so a k6 user's dashboards and queries keep working:
//!
//! | metric kind | Prometheus | name |
//! |---|---|---|
//! | counter | counter | `k6_NAME_total` (`k6_http_reqs_total`, `k6_iterations_total`, `k6_data_sent_total`) |
//! | rate | gauge | `k6_NAME_rate` (`k6_http_req_failed_rate`, `k6_checks_rate`) |
//! | gauge | gauge | `k6_NAME` (`k6_vus`, `k6_vus_max`) |
//! | trend | gauges, one per stat | `k6_NAME_STAT` (`k6_http_req_duration_p95`, `…_avg`, `…_med`) |
//!
//! Every value is cumulative since the start of the run (as k6's are): counters are
//! running totals, rates the ratio so far, trend stats computed from the series' whole
//! merged histogram; time trends are in seconds (k6's unit there), data counters in bytes.
//! Labels are the series' tags (the request `name` tag is the path template, never a raw
//! URL: a `url` tag is dropped) plus `testid`; there is no per-runner or per-pod label, so
//! a fleet's merged aggregate gives each series once.
//!
//! [`families`] is the one mapping; [`text`] renders it in the text exposition format
//! (for a `/metrics` endpoint) and `remote` encodes it for remote write. Pure but for the
//! `remote` output's sender.

pub(crate) mod remote;

pub use remote::{decode_write_request, encode_write_request, RemoteWrite};

use super::stats::{finite, TrendNumbers, TrendStat};
use super::Live;
use crate::metrics::{Aggregate, Contains, Registry, SeriesData};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use volley_plan::plan::MetricKind;

/// k6's default is `p(99)`; Volley writes a few more by default.
pub const DEFAULT_TREND_STATS: &str = "p(95),p(99),avg,min,max,med";

/// The environment variables read for the trend stats, first found wins (the spec's
/// `trend_stats=` option overrides both).
pub const TREND_STATS_ENV: &[&str] = &[
    "VOLLEY_PROMETHEUS_TREND_STATS",
    "K6_PROMETHEUS_RW_TREND_STATS",
];

/// How series are named and labelled.
#[derive(Clone, Debug, PartialEq)]
pub struct PromOptions {
    pub trend_stats: Vec<TrendStat>,
    /// Labels added to every series (`testid`).
    pub labels: BTreeMap<String, String>,
}

impl PromOptions {
    /// The default stats and a `testid` label.
    pub fn new(testid: &str) -> PromOptions {
        PromOptions {
            trend_stats: TrendStat::parse_list(DEFAULT_TREND_STATS).unwrap_or_default(),
            labels: BTreeMap::from([("testid".to_string(), testid.to_string())]),
        }
    }
}

/// Counter or gauge, as the text format's `# TYPE` line says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FamilyKind {
    Counter,
    Gauge,
}

/// All samples of one Prometheus metric name.
#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    pub name: String,
    pub kind: FamilyKind,
    /// (labels sorted by name, value).
    pub samples: Vec<(Vec<(String, String)>, f64)>,
}

/// The Prometheus families of an aggregate. The VU gauges come from `live` when given
/// (a fleet sums its runners' VUs), else from the aggregate's `vus`/`vus_max` gauges.
pub fn families(agg: &Aggregate, opts: &PromOptions, live: Option<&Live>) -> Vec<Family> {
    let mut out: BTreeMap<String, Family> = BTreeMap::new();
    let reg = agg.registry();
    let mut put = |name: String, kind: FamilyKind, labels: Vec<(String, String)>, v: f64| {
        out.entry(name.clone())
            .or_insert_with(|| Family {
                name,
                kind,
                samples: Vec::new(),
            })
            .samples
            .push((labels, finite(v)));
    };
    for (metric, tags, data) in agg.series() {
        if live.is_some() && (metric == "vus" || metric == "vus_max") {
            continue;
        }
        let base = format!("k6_{}", sanitize_name(metric));
        let labels = labels(tags, &opts.labels);
        let is_time = reg
            .by_name(metric)
            .is_some_and(|d| d.contains == Contains::Time);
        match data {
            SeriesData::Counter { sum } => {
                put(format!("{base}_total"), FamilyKind::Counter, labels, *sum)
            }
            SeriesData::Rate { hits, total } if *total > 0 => put(
                format!("{base}_rate"),
                FamilyKind::Gauge,
                labels,
                *hits as f64 / *total as f64,
            ),
            SeriesData::Rate { .. } => {}
            SeriesData::Gauge { value, .. } => put(base, FamilyKind::Gauge, labels, *value),
            SeriesData::Trend { .. } => {
                let Some(n) = TrendNumbers::of(data) else {
                    continue;
                };
                for s in &opts.trend_stats {
                    let mut v = n.get(*s);
                    if is_time && s.is_value() {
                        v /= 1000.0;
                    }
                    let name = format!("{base}_{}", s.suffix());
                    put(name, FamilyKind::Gauge, labels.clone(), v);
                }
            }
        }
    }
    if let Some(l) = live {
        let labels = labels_only(&opts.labels);
        put(
            "k6_vus".into(),
            FamilyKind::Gauge,
            labels.clone(),
            l.vus as f64,
        );
        put(
            "k6_vus_max".into(),
            FamilyKind::Gauge,
            labels,
            l.vus_max as f64,
        );
    }
    out.into_values().collect()
}

/// Every name [`families`] can write for a run with this registry (for dashboards and
/// their tests).
pub fn metric_names(reg: &Registry, stats: &[TrendStat]) -> Vec<String> {
    let mut names = Vec::new();
    for (_, d) in reg.iter() {
        let base = format!("k6_{}", sanitize_name(&d.name));
        match d.kind {
            MetricKind::Counter => names.push(format!("{base}_total")),
            MetricKind::Rate => names.push(format!("{base}_rate")),
            MetricKind::Gauge => names.push(base),
            MetricKind::Trend => {
                names.extend(stats.iter().map(|s| format!("{base}_{}", s.suffix())))
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// The text exposition format (version 0.0.4) of an aggregate: what a coordinator's
/// `/metrics` answers (`Content-Type: text/plain; version=0.0.4`).
pub fn text(agg: &Aggregate, opts: &PromOptions, live: Option<&Live>) -> String {
    let mut out = String::new();
    for f in families(agg, opts, live) {
        let kind = match f.kind {
            FamilyKind::Counter => "counter",
            FamilyKind::Gauge => "gauge",
        };
        let _ = writeln!(out, "# TYPE {} {kind}", f.name);
        for (labels, v) in &f.samples {
            out.push_str(&f.name);
            if !labels.is_empty() {
                out.push('{');
                for (i, (k, val)) in labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{k}=\"{}\"", escape_label(val));
                }
                out.push('}');
            }
            let _ = writeln!(out, " {v}");
        }
    }
    out
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The labels of a series: its tags (no `url`, no empty values, names made valid) and the
/// extra labels, sorted by name.
fn labels(
    tags: &BTreeMap<String, String>,
    extra: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let mut m: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in tags {
        if k == "url" || v.is_empty() {
            continue;
        }
        m.insert(sanitize_label(k), v.clone());
    }
    for (k, v) in extra {
        if !v.is_empty() {
            m.insert(sanitize_label(k), v.clone());
        }
    }
    m.into_iter().collect()
}

fn labels_only(extra: &BTreeMap<String, String>) -> Vec<(String, String)> {
    labels(&BTreeMap::new(), extra)
}

/// A metric name made of `[a-zA-Z0-9_]` (others become `_`).
pub fn sanitize_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A label name matching `[a-zA-Z_][a-zA-Z0-9_]*` and not reserved (`__…`).
fn sanitize_label(name: &str) -> String {
    let mut s = sanitize_name(name);
    if s.starts_with(|c: char| c.is_ascii_digit()) || s.starts_with("__") || s.is_empty() {
        s.insert_str(0, "tag_");
    }
    s
}
