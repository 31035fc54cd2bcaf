//! k6's `--summary-export FILE`: the legacy flat JSON that k6 writes (its
//! `summary-wrapper.js`, `oldJSONSummary`), for the dashboards and scripts that read it:
//!
//! ```json
//! { "root_group": { "name": "", "path": "", "id": "d41d8cd98f00b204e9800998ecf8427e",
//!                   "groups": { "browse": { "name": "browse", "path": "::browse", "id": "…", "groups": {}, "checks": {…} } },
//!                   "checks": { "ok": { "name": "ok", "path": "::ok", "id": "…", "passes": 10, "fails": 0 } } },
//!   "metrics": {
//!     "http_req_duration": { "avg": 12.1, "min": 1.0, "med": 10.0, "max": 120.0, "p(90)": 20.0, "p(95)": 25.0,
//!                            "thresholds": { "p(95) < 400ms": false } },
//!     "http_reqs": { "count": 2000, "rate": 66.6 },
//!     "checks": { "passes": 1950, "fails": 50, "value": 0.975 },
//!     "vus": { "value": 0, "min": 0, "max": 50 } } }
//! ```
//!
//! k6's quirks, kept: a metric is its values, flat; a trend has exactly the
//! `--summary-trend-stats` (k6's default `avg,min,med,max,p(90),p(95)`), in that order; a
//! rate's `rate` is called `value`; a threshold maps to `true` when it FAILED (k6 writes
//! `!ok`); groups and checks are objects keyed by name, each with an `id` (the MD5 of its
//! path, in hex, as k6's). Times in ms, data in bytes, rates as fractions, as in the
//! summary JSON. No `state`, no `volley` part. Pure but for [`write`].

use super::{GroupSummary, MetricSummary, Summary};
use crate::output::stats::TrendStat;
use serde_json::{Map, Value};
use std::path::Path;
use volley_plan::plan::MetricKind;

/// k6's default `--summary-trend-stats`.
pub const K6_TREND_STATS: &[TrendStat] = &[
    TrendStat::Avg,
    TrendStat::Min,
    TrendStat::Med,
    TrendStat::Max,
    TrendStat::P(90.0),
    TrendStat::P(95.0),
];

/// The legacy export of `s`, each trend with `trend_stats` (k6's default without any).
/// A statistic `s` lacks is left out: [`super::format::add_trend_stats`] fills them in
/// first.
pub fn legacy(s: &Summary, trend_stats: Option<&[TrendStat]>) -> Value {
    let stats = trend_stats.unwrap_or(K6_TREND_STATS);
    let metrics: Map<String, Value> = s
        .metrics
        .iter()
        .map(|(name, m)| (name.clone(), Value::Object(metric(m, stats))))
        .collect();
    let mut out = Map::new();
    out.insert("root_group".into(), group(&s.root_group));
    out.insert("metrics".into(), Value::Object(metrics));
    Value::Object(out)
}

/// Writes [`legacy`] as indented JSON (k6 indents by 4).
pub fn write(s: &Summary, trend_stats: Option<&[TrendStat]>, path: &Path) -> std::io::Result<()> {
    use serde::Serialize;
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    legacy(s, trend_stats)
        .serialize(&mut ser)
        .map_err(std::io::Error::other)?;
    std::fs::write(path, buf)
}

/// A number as JavaScript's `JSON.stringify` writes it in k6's file: an integral value
/// without a fraction (`80`, not `80.0`).
fn number(v: f64) -> Value {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53: every integer below is exact
    if v.fract() == 0.0 && v.abs() < EXACT {
        return Value::from(v as i64);
    }
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// One metric, flat: its values (a trend's as listed, a rate's `rate` as `value`), then
/// its thresholds as `failed` booleans.
fn metric(m: &MetricSummary, stats: &[TrendStat]) -> Map<String, Value> {
    let mut out = Map::new();
    match m.kind {
        MetricKind::Trend => {
            for st in stats {
                let key = st.key();
                if let Some(v) = m.values.get(&key) {
                    out.insert(key, number(*v));
                }
            }
        }
        MetricKind::Rate => {
            for (k, v) in &m.values {
                if k != "rate" {
                    out.insert(k.clone(), number(*v));
                }
            }
            if let Some(v) = m.values.get("rate") {
                out.insert("value".into(), number(*v));
            }
        }
        MetricKind::Counter | MetricKind::Gauge => {
            for (k, v) in &m.values {
                out.insert(k.clone(), number(*v));
            }
        }
    }
    if !m.thresholds.is_empty() {
        let failed: Map<String, Value> = m
            .thresholds
            .iter()
            .map(|(source, t)| (source.clone(), Value::Bool(!t.ok)))
            .collect();
        out.insert("thresholds".into(), Value::Object(failed));
    }
    out
}

/// k6's id of a group or check: the MD5 of its path, in hex.
fn id(path: &str) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(path.as_bytes()))
}

fn group(g: &GroupSummary) -> Value {
    let groups: Map<String, Value> = g
        .groups
        .iter()
        .map(|sub| (sub.name.clone(), group(sub)))
        .collect();
    let checks: Map<String, Value> = g
        .checks
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                serde_json::json!({ "name": c.name, "path": c.path, "id": id(&c.path),
                                    "passes": c.passes, "fails": c.fails }),
            )
        })
        .collect();
    serde_json::json!({ "name": g.name, "path": g.path, "id": id(&g.path),
                        "groups": groups, "checks": checks })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Contains;
    use crate::summary::{CheckSummary, ThresholdOk};
    use std::collections::BTreeMap;

    fn m(kind: MetricKind, values: &[(&str, f64)]) -> MetricSummary {
        MetricSummary {
            kind,
            contains: Contains::Default,
            values: values.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            thresholds: BTreeMap::new(),
        }
    }

    #[test]
    fn metrics_are_flat_with_k6s_keys_and_inverted_thresholds() {
        let mut s = crate::summary::not_started(&crate::summary::tests::plan(vec![]), "");
        let mut d = m(
            MetricKind::Trend,
            &[
                ("avg", 2.0),
                ("min", 1.0),
                ("med", 2.0),
                ("max", 3.0),
                ("p(90)", 2.8),
                ("p(95)", 2.9),
                ("p(99)", 3.0),
            ],
        );
        d.thresholds.insert(
            "p(95) < 1ms".into(),
            ThresholdOk {
                ok: false,
                no_data: false,
            },
        );
        s.metrics.insert("http_req_duration".into(), d);
        let mut checks = m(
            MetricKind::Rate,
            &[("rate", 0.5), ("passes", 1.0), ("fails", 1.0)],
        );
        checks.thresholds.insert(
            "rate > 0".into(),
            ThresholdOk {
                ok: true,
                no_data: false,
            },
        );
        s.metrics.insert("checks".into(), checks);
        s.metrics.insert(
            "http_reqs".into(),
            m(MetricKind::Counter, &[("count", 2.0), ("rate", 1.0)]),
        );
        s.root_group.checks.push(CheckSummary {
            name: "ok".into(),
            path: "::ok".into(),
            passes: 1,
            fails: 1,
        });
        let v = legacy(&s, None);
        let d = &v["metrics"]["http_req_duration"];
        let keys: Vec<&String> = d.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["avg", "min", "med", "max", "p(90)", "p(95)", "thresholds"]
        );
        assert_eq!(d["thresholds"]["p(95) < 1ms"], true, "failed is true");
        let c = &v["metrics"]["checks"];
        assert_eq!(c["value"], 0.5);
        assert!(c.get("rate").is_none());
        assert_eq!(c["thresholds"]["rate > 0"], false);
        assert_eq!(v["metrics"]["http_reqs"]["count"], 2.0);
        assert_eq!(v["root_group"]["id"], "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(v["root_group"]["checks"]["ok"]["passes"], 1);
        assert_eq!(v["root_group"]["checks"]["ok"]["path"], "::ok");
        assert!(v.get("state").is_none() && v.get("volley").is_none());
        let only = legacy(&s, Some(&[TrendStat::Max, TrendStat::P(99.0)]));
        let keys: Vec<&String> = only["metrics"]["http_req_duration"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(keys, ["max", "p(99)", "thresholds"]);
    }
}
