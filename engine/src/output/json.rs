//! `--out json=FILE`: newline-delimited JSON, one object per metric series per interval,
//! flushed every interval so `tail -f | jq` follows a run. The shape (docs/outputs.md):
//!
//! ```json
//! {"time":"2025-05-01T10:00:01.000Z","elapsed_ms":1000,"interval_ms":1000,"testid":"checkout-…",
//!  "metric":"http_req_duration","type":"trend","contains":"time",
//!  "tags":{"method":"GET","name":"/api/products","scenario":"browse","status":"200"},
//!  "values":{"count":96,"sum":1170.2,"avg":12.19,"min":3.1,"med":10.5,"max":81.0,
//!            "p(90)":20.1,"p(95)":25.3,"p(99)":70.2}}
//! ```
//!
//! Values are the interval's own: a counter's `count` is what was added in it, a rate's
//! `hits`/`total` the samples in it, a trend's percentiles come from its own histogram.
//! `vus` and `vus_max` come from the driver's live counts (one line each per interval).
//! This module must not do network IO; a write error is reported once, never panics.

use super::stats::{finite, TrendNumbers, TrendStat};
use super::{Interval, Output, OutputError};
use crate::metrics::{Contains, SeriesData};
use crate::summary::Summary;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use volley_plan::plan::MetricKind;

/// The trend values every JSON line carries.
const TREND: &[TrendStat] = &[
    TrendStat::Count,
    TrendStat::Sum,
    TrendStat::Avg,
    TrendStat::Min,
    TrendStat::Med,
    TrendStat::Max,
    TrendStat::P(90.0),
    TrendStat::P(95.0),
    TrendStat::P(99.0),
];

pub(crate) struct JsonOutput {
    path: PathBuf,
    file: BufWriter<File>,
    testid: String,
    lines: u64,
    failed: Option<String>,
}

impl JsonOutput {
    pub fn create(path: &Path, testid: &str) -> Result<JsonOutput, OutputError> {
        let file = File::create(path).map_err(|source| OutputError::JsonCreate {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(JsonOutput {
            path: path.to_path_buf(),
            file: BufWriter::new(file),
            testid: testid.to_string(),
            lines: 0,
            failed: None,
        })
    }

    fn write_line(&mut self, v: &Value) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.file, v)?;
        self.file.write_all(b"\n")?;
        self.lines += 1;
        Ok(())
    }
}

/// The lines of one interval (exposed for the coordinator and the tests).
pub fn lines(iv: &Interval<'_>, testid: &str) -> Vec<Value> {
    let time = humantime::format_rfc3339_millis(iv.at).to_string();
    let elapsed_ms = u64::try_from(iv.live.elapsed.as_millis()).unwrap_or(u64::MAX);
    let interval_ms = (iv.secs * 1000.0).round() as u64;
    let reg = iv.delta.registry();
    let head = |metric: &str, kind: &str, contains: Contains, tags: Value, values: Value| {
        json!({
            "time": time, "elapsed_ms": elapsed_ms, "interval_ms": interval_ms, "testid": testid,
            "metric": metric, "type": kind, "contains": contains, "tags": tags, "values": values,
        })
    };
    let mut out = Vec::new();
    for (metric, tags, data) in iv.delta.series() {
        if metric == "vus" || metric == "vus_max" {
            continue;
        }
        let contains = reg
            .by_name(metric)
            .map_or(Contains::Default, |d| d.contains);
        let Some((kind, values)) = values(data) else {
            continue;
        };
        out.push(head(metric, kind, contains, tags_value(tags), values));
    }
    for (metric, v) in [("vus", iv.live.vus), ("vus_max", iv.live.vus_max)] {
        let values = json!({ "value": v, "min": v, "max": v });
        out.push(head(metric, "gauge", Contains::Default, json!({}), values));
    }
    out
}

fn tags_value(tags: &BTreeMap<String, String>) -> Value {
    Value::Object(
        tags.iter()
            .filter(|(k, _)| k.as_str() != "url")
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// A series' kind name and its values; `None` for an empty trend.
fn values(data: &SeriesData) -> Option<(&'static str, Value)> {
    Some(match data {
        SeriesData::Trend { .. } => {
            let n = TrendNumbers::of(data)?;
            let mut m = Map::new();
            for s in TREND {
                let v = match s {
                    TrendStat::Count => json!(n.count),
                    _ => json!(finite(n.get(*s))),
                };
                m.insert(s.key(), v);
            }
            (kind_name(MetricKind::Trend), Value::Object(m))
        }
        SeriesData::Counter { sum } => ("counter", json!({ "count": finite(*sum) })),
        SeriesData::Rate { hits, total } => {
            let rate = if *total > 0 {
                *hits as f64 / *total as f64
            } else {
                0.0
            };
            (
                "rate",
                json!({ "hits": hits, "total": total, "rate": rate }),
            )
        }
        SeriesData::Gauge { value, min, max } => (
            "gauge",
            json!({ "value": finite(*value), "min": finite(*min), "max": finite(*max) }),
        ),
    })
}

fn kind_name(k: MetricKind) -> &'static str {
    match k {
        MetricKind::Trend => "trend",
        MetricKind::Counter => "counter",
        MetricKind::Rate => "rate",
        MetricKind::Gauge => "gauge",
    }
}

impl Output for JsonOutput {
    fn flush(&mut self, iv: &Interval<'_>) -> Result<(), OutputError> {
        if self.failed.is_some() {
            return Ok(());
        }
        let result = lines(iv, &self.testid)
            .iter()
            .try_for_each(|v| self.write_line(v))
            .and_then(|()| self.file.flush());
        result.map_err(|source| {
            let e = OutputError::JsonWrite {
                path: self.path.clone(),
                source,
            };
            self.failed = Some(e.to_string());
            e
        })
    }

    fn finish(
        mut self: Box<Self>,
        _summary: &Summary,
        _total: &crate::metrics::Aggregate,
    ) -> String {
        let _ = self.file.flush();
        match &self.failed {
            Some(e) => format!("warning: {e}"),
            None => format!("json: {} lines in {}", self.lines, self.path.display()),
        }
    }
}
