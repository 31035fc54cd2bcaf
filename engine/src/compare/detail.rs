//! What a summary keeps for `volley compare` and `--baseline` (summary format 2,
//! `volley.detail`): per metric and tag set, the merged HDR histogram (a trend's) and
//! per-interval figures. Built by a [`DetailRecorder`] the supervisor feeds with every
//! delta, the same deltas the outputs see, filed by when they were taken.
//!
//! Tag sets kept: each metric as a whole, each request name (`{name:…}`, the first
//! [`MAX_NAMES`] of a metric) and each threshold's tag set. Gauges are not kept (a gauge
//! is a level, not a measurement of the build). Intervals are one second, or longer for
//! runs over [`MAX_INTERVALS`] seconds (whole seconds merged exactly, so a file stays
//! under about [`MAX_INTERVALS`] points per series whatever the run's length).
//!
//! This module must not judge (that is `compare`) nor do IO.

use crate::metrics::{Aggregate, Contains, MetricView, Registry, Snapshot};
use crate::output::intervals::Intervals;
use crate::output::timeline::PERIOD_MS;
use crate::thresholds::submetric_key;
use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use volley_plan::plan::MetricKind;
use volley_plan::Plan;

/// Request names kept per metric (high-cardinality names stop here).
pub const MAX_NAMES: usize = 50;
/// About how many intervals a series keeps at most.
pub const MAX_INTERVALS: u64 = 300;
/// How long after its end an interval is closed (deltas of a fleet arrive late).
const SETTLE_MS: u64 = 2500;

type TagMap = BTreeMap<String, String>;

/// `volley.detail` of a summary.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Detail {
    /// The length of an interval, ms (the last one ends with the run).
    pub interval_ms: u64,
    /// How many intervals every series has.
    pub intervals: usize,
    pub series: Vec<SeriesDetail>,
}

/// One metric and tag set.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SeriesDetail {
    pub metric: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: TagMap,
    #[serde(rename = "type")]
    pub kind: MetricKind,
    pub contains: Contains,
    /// A trend's merged histogram: HdrHistogram's V2 compressed encoding in base64 (its
    /// logs' format; units: µs for time trends, value × 1000 otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hist: Option<String>,
    /// Per interval: samples (trend, rate) or the counter's sum; `null` without a sample.
    pub count: Vec<Option<f64>>,
    /// Per interval, a trend's mean, median and percentiles (ms for time trends).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub avg: Vec<Option<f64>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub med: Vec<Option<f64>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub p90: Vec<Option<f64>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub p95: Vec<Option<f64>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub p99: Vec<Option<f64>>,
    /// Per interval, a rate's fraction or a counter's per-second rate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rate: Vec<Option<f64>>,
}

impl SeriesDetail {
    /// `metric{k:v}` as the summary's `metrics` keys are.
    pub fn key(&self) -> String {
        submetric_key(&self.metric, &self.tags)
    }

    /// The per-interval values of a statistic (`avg`, `med`, `p(90)`, `p(95)`, `p(99)`,
    /// `rate`), intervals without a sample left out.
    pub fn per_interval(&self, stat: &str) -> Option<&[Option<f64>]> {
        let v = match stat {
            "avg" => &self.avg,
            "med" => &self.med,
            "p(90)" => &self.p90,
            "p(95)" => &self.p95,
            "p(99)" => &self.p99,
            "rate" => &self.rate,
            _ => return None,
        };
        (!v.is_empty()).then_some(v.as_slice())
    }

    /// The merged histogram, decoded.
    pub fn histogram(&self) -> Option<Histogram<u64>> {
        decode_hist(self.hist.as_deref()?)
    }
}

/// A histogram as V2 compressed bytes in base64.
pub fn encode_hist(h: &Histogram<u64>) -> Option<String> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new().serialize(h, &mut bytes).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A histogram from [`encode_hist`]'s text; `None` when it is not one.
pub fn decode_hist(text: &str) -> Option<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()?;
    Deserializer::new().deserialize(&mut bytes.as_slice()).ok()
}

/// Rounds to µs (ms values) or thousandths, to keep the file small.
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// One series' figures, growing one interval at a time.
struct Acc {
    metric: String,
    tags: TagMap,
    kind: MetricKind,
    contains: Contains,
    count: Vec<Option<f64>>,
    stats: [Vec<Option<f64>>; 6],
}

impl Acc {
    /// Pads the series with empty intervals up to `n`.
    fn pad(&mut self, n: usize) {
        self.count.resize(n, None);
        for s in &mut self.stats {
            s.resize(n, None);
        }
    }

    /// Interval `n`'s figures from its view.
    fn push(&mut self, n: usize, v: &MetricView, secs: f64) {
        self.pad(n);
        if !v.has_samples() {
            self.pad(n + 1);
            return;
        }
        let vals: [Option<f64>; 6] = match v.kind {
            MetricKind::Trend => [
                Some(v.avg),
                Some(v.med()),
                Some(v.percentile(90.0)),
                Some(v.percentile(95.0)),
                Some(v.percentile(99.0)),
                None,
            ],
            MetricKind::Rate => [None, None, None, None, None, Some(v.rate)],
            MetricKind::Counter => [
                None,
                None,
                None,
                None,
                None,
                (secs > 0.0).then(|| v.sum / secs),
            ],
            MetricKind::Gauge => [None; 6],
        };
        let count = match v.kind {
            MetricKind::Counter => v.sum,
            _ => v.count as f64,
        };
        self.count.push(Some(round3(count)));
        for (s, x) in self.stats.iter_mut().zip(vals) {
            s.push(x.filter(|x| x.is_finite()).map(round3));
        }
    }
}

/// Builds a run's [`Detail`] from its deltas.
pub struct DetailRecorder {
    intervals: Intervals,
    /// Thresholds' tag sets.
    filters: Vec<(String, TagMap)>,
    /// Seconds merged into one interval.
    per: u64,
    block: Option<Aggregate>,
    block_secs: u64,
    /// Intervals closed so far.
    n: usize,
    acc: BTreeMap<(String, TagMap), Acc>,
}

impl DetailRecorder {
    pub fn new(plan: &Plan, reg: Arc<Registry>) -> DetailRecorder {
        let planned_s = plan.planned_duration_ms().div_ceil(1000);
        DetailRecorder {
            intervals: Intervals::new(reg),
            filters: plan
                .thresholds
                .iter()
                .filter(|t| !t.tags.is_empty())
                .map(|t| (t.metric.clone(), t.tags.clone()))
                .collect(),
            per: planned_s.div_ceil(MAX_INTERVALS).max(1),
            block: None,
            block_secs: 0,
            n: 0,
            acc: BTreeMap::new(),
        }
    }

    /// Files one delta under the interval it was taken in.
    pub fn observe(&mut self, s: &Snapshot) {
        if !s.is_empty() {
            self.intervals.observe(s);
        }
    }

    /// Closes the intervals that ended a settle time before `now_ms` (since the start).
    pub fn flush(&mut self, now_ms: u64) {
        for c in self.intervals.close_until(now_ms.saturating_sub(SETTLE_MS)) {
            self.add_second(c.delta, c.end_ms.saturating_sub(c.start_ms), false);
        }
    }

    fn add_second(&mut self, delta: Aggregate, ms: u64, last: bool) {
        match self.block.as_mut() {
            Some(b) => b.merge_aggregate(&delta),
            None => self.block = Some(delta),
        }
        self.block_secs += ms;
        let full = self.block_secs >= self.per * PERIOD_MS;
        if full || last {
            if let Some(b) = self.block.take() {
                let secs = self.block_secs as f64 / 1000.0;
                self.block_secs = 0;
                self.close_block(&b, secs);
            }
        }
    }

    /// The tag sets kept for an interval: those kept so far, each metric whole, each
    /// request name (up to [`MAX_NAMES`] per metric), the thresholds'.
    fn keys_of(&self, block: &Aggregate) -> Vec<(String, TagMap)> {
        let mut keys: std::collections::BTreeSet<(String, TagMap)> =
            self.acc.keys().cloned().collect();
        let mut names: BTreeMap<String, usize> = BTreeMap::new();
        for (metric, tags) in &keys {
            if tags.contains_key("name") {
                *names.entry(metric.clone()).or_default() += 1;
            }
        }
        for (metric, tags, data) in block.series() {
            if matches!(data, crate::metrics::SeriesData::Gauge { .. }) {
                continue;
            }
            keys.insert((metric.to_string(), TagMap::new()));
            let Some(name) = tags.get("name") else {
                continue;
            };
            let key = (
                metric.to_string(),
                TagMap::from([("name".to_string(), name.clone())]),
            );
            if keys.contains(&key) {
                continue;
            }
            let seen = names.entry(metric.to_string()).or_default();
            if *seen < MAX_NAMES {
                *seen += 1;
                keys.insert(key);
            }
        }
        keys.extend(self.filters.iter().cloned());
        // k6's submetrics the summary has (once they have samples), so that
        // `--summary-trend-stats` finds their histograms too.
        for (metric, tags) in crate::summary::k6_submetrics() {
            if block.view(&metric, &tags).is_some_and(|v| v.has_samples()) {
                keys.insert((metric, tags));
            }
        }
        keys.into_iter().collect()
    }

    fn close_block(&mut self, block: &Aggregate, secs: f64) {
        let n = self.n;
        for (metric, tags) in self.keys_of(block) {
            let Some(v) = block.view(&metric, &tags) else {
                continue;
            };
            if v.kind == MetricKind::Gauge {
                continue;
            }
            let acc = self
                .acc
                .entry((metric.clone(), tags.clone()))
                .or_insert_with(|| Acc {
                    metric,
                    tags,
                    kind: v.kind,
                    contains: v.contains,
                    count: Vec::new(),
                    stats: Default::default(),
                });
            acc.push(n, &v, secs);
        }
        self.n += 1;
    }

    /// The end of the run, `end_ms` after the start: closes the intervals left and
    /// builds the detail, with each series' histogram from the run's final aggregate.
    pub fn finish(mut self, total: &Aggregate, end_ms: u64) -> Detail {
        let closed = self.intervals.close_all(end_ms);
        let k = closed.len();
        for (i, c) in closed.into_iter().enumerate() {
            let ms = c.end_ms.saturating_sub(c.start_ms);
            self.add_second(c.delta, ms, i + 1 == k);
        }
        if let Some(b) = self.block.take() {
            let secs = self.block_secs as f64 / 1000.0;
            self.close_block(&b, secs);
        }
        let n = self.n;
        let series = self
            .acc
            .into_values()
            .map(|mut a| {
                a.pad(n);
                let hist = match a.kind {
                    MetricKind::Trend => total
                        .view(&a.metric, &a.tags)
                        .and_then(|v| v.histogram().and_then(encode_hist)),
                    _ => None,
                };
                // A statistic the kind has not (a counter's percentiles) is left out.
                let [avg, med, p90, p95, p99, rate] = a.stats.map(|v| {
                    if v.iter().all(Option::is_none) {
                        Vec::new()
                    } else {
                        v
                    }
                });
                SeriesDetail {
                    metric: a.metric,
                    tags: a.tags,
                    kind: a.kind,
                    contains: a.contains,
                    hist,
                    count: a.count,
                    avg,
                    med,
                    p90,
                    p95,
                    p99,
                    rate,
                }
            })
            .collect();
        Detail {
            interval_ms: self.per * PERIOD_MS,
            intervals: n,
            series,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{ids, Shard, Tags};

    #[test]
    fn a_histogram_survives_its_text_exactly() {
        let mut h = crate::metrics::hist::new_hist();
        for i in 1..5000u64 {
            crate::metrics::hist::record_units(&mut h, i * 37 % 90_000 + 1000);
        }
        let text = encode_hist(&h).unwrap();
        let back = decode_hist(&text).unwrap();
        assert_eq!(back, h);
        assert_eq!(back.value_at_quantile(0.95), h.value_at_quantile(0.95));
        assert!(text.len() < 20_000, "{} bytes", text.len());
        assert!(decode_hist("not a histogram").is_none());
    }

    #[test]
    fn every_second_gets_its_figures_and_each_name_its_series() {
        let p = crate::compare::tests::tiny_plan();
        let reg = Registry::new(&p.metrics);
        let mut rec = DetailRecorder::new(&p, Arc::clone(&reg));
        for sec in 1..=4u64 {
            let mut shard = Shard::new(Arc::clone(&reg));
            for name in ["a", "b"] {
                let tags = Tags {
                    name: Some(Arc::from(name)),
                    ..Tags::default()
                };
                for i in 0..100 {
                    let level = if name == "a" { 10.0 } else { 20.0 } * sec as f64;
                    shard.trend(ids::HTTP_REQ_DURATION, &tags, level + f64::from(i) / 1000.0);
                    shard.count(ids::HTTP_REQS, &tags, 1.0);
                }
            }
            let mut s = shard.take();
            s.end_ms = Some(sec * 1000);
            rec.observe(&s);
            rec.flush(sec * 1000 + 200);
        }
        let total = Aggregate::new(Arc::clone(&reg));
        let d = rec.finish(&total, 4000);
        assert_eq!((d.interval_ms, d.intervals), (1000, 4));
        let keys: Vec<String> = d.series.iter().map(SeriesDetail::key).collect();
        assert_eq!(
            keys,
            [
                "http_req_duration",
                "http_req_duration{name:a}",
                "http_req_duration{name:b}",
                "http_reqs",
                "http_reqs{name:a}",
                "http_reqs{name:b}"
            ]
        );
        let a = &d.series[1];
        assert_eq!(a.count, vec![Some(100.0); 4]);
        let med: Vec<f64> = a.med.iter().map(|x| x.unwrap().round()).collect();
        assert_eq!(med, vec![10.0, 20.0, 30.0, 40.0]);
        assert_eq!(d.series[3].rate, vec![Some(200.0); 4]);
    }
}
