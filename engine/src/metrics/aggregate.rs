//! The aggregator's merged view of a run (or, on the coordinator, of a fleet): every
//! series ever seen, merged exactly (histograms added bucket by bucket), and the queries
//! thresholds and the summary need: a metric's view under a tag filter, the checks, the
//! groups. Percentiles are computed here, from merged histograms only.
//! This module must not record samples (that is the shard's job) nor judge them.

use super::hist::{self, from_units};
use super::registry::{Contains, Registry};
use super::snapshot::{SeriesData, SeriesSnapshot, Snapshot};
use super::tags::matches;
use hdrhistogram::Histogram;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use volley_plan::plan::{Aggregation, MetricKind};

type TagMap = BTreeMap<String, String>;

#[derive(Clone, Debug)]
struct AggSeries {
    data: SeriesData,
    /// Merge order of the last update (the latest gauge value wins across series).
    seq: u64,
}

/// Every series of a run, merged.
#[derive(Clone, Debug)]
pub struct Aggregate {
    reg: Arc<Registry>,
    metrics: BTreeMap<String, BTreeMap<TagMap, AggSeries>>,
    elapsed: Duration,
    seq: u64,
    /// The earliest first occurrence of each error code (see `crate::errors`).
    first_errors: BTreeMap<u32, crate::errors::FirstError>,
}

/// One check's outcomes, summed over scenarios.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckStat {
    pub name: String,
    /// The group path (`a::b`), empty at the root.
    pub group: String,
    pub passes: u64,
    pub fails: u64,
}

/// A metric merged over the series that match a filter. Per kind:
/// - trend: `count` samples, exact `sum`/`min`/`max`/`avg` (ms for time trends), the
///   histogram for percentiles;
/// - counter: `sum` the total, `count` the total rounded, `rate` per second of elapsed;
/// - rate: `count` samples, `hits` true samples, `rate` = hits / count;
/// - gauge: `value` the last value set, `min`/`max` over the run, `count` series set.
///
/// The `series` field counts the series merged in (a counter or gauge has samples when
/// it is not 0).
#[derive(Clone, Debug)]
pub struct MetricView {
    pub kind: MetricKind,
    pub contains: Contains,
    pub is_time: bool,
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub avg: f64,
    pub rate: f64,
    pub value: f64,
    pub hits: u64,
    /// Number of series merged into this view.
    pub series: usize,
    hist: Option<Histogram<u64>>,
}

impl MetricView {
    fn empty(kind: MetricKind, contains: Contains) -> MetricView {
        MetricView {
            kind,
            contains,
            is_time: contains == Contains::Time,
            count: 0,
            sum: 0.0,
            min: 0.0,
            max: 0.0,
            avg: 0.0,
            rate: 0.0,
            value: 0.0,
            hits: 0,
            series: 0,
            hist: None,
        }
    }

    /// Whether any sample matched (for a counter: any series).
    pub fn has_samples(&self) -> bool {
        match self.kind {
            MetricKind::Counter | MetricKind::Gauge => self.series > 0,
            MetricKind::Trend | MetricKind::Rate => self.count > 0,
        }
    }

    /// The `p`-th percentile (0..=100) of a trend, in value units (ms for time trends),
    /// within 0.1 % (3 significant figures) and clamped to the exact min..max; 0 without
    /// samples.
    pub fn percentile(&self, p: f64) -> f64 {
        let Some(h) = self.hist.as_ref().filter(|h| !h.is_empty()) else {
            return 0.0;
        };
        let q = (p / 100.0).clamp(0.0, 1.0);
        let v = from_units(h.value_at_quantile(if q.is_nan() { 0.0 } else { q }));
        // Not `f64::clamp`: it panics on NaN or crossed bounds, which a malformed
        // snapshot could bring.
        if v > self.max {
            self.max
        } else if v < self.min {
            self.min
        } else {
            v
        }
    }

    /// The median of a trend.
    pub fn med(&self) -> f64 {
        self.percentile(50.0)
    }

    /// The merged histogram of a trend (units: µs, or value × 1000).
    pub fn histogram(&self) -> Option<&Histogram<u64>> {
        self.hist.as_ref()
    }

    /// Failed samples of a rate (`count - hits`).
    pub fn misses(&self) -> u64 {
        self.count.saturating_sub(self.hits)
    }

    /// The value of an aggregation as thresholds compare it (ms for time trends,
    /// fractions for rates, per second for a counter's `rate`); `None` when the
    /// aggregation does not apply to the metric's kind (k6's table: trend `avg min max
    /// med p(N) count`, counter `count rate`, rate `rate`, gauge `value min max`).
    pub fn aggregate(&self, agg: Aggregation, percentile: Option<f64>) -> Option<f64> {
        use Aggregation as A;
        match (self.kind, agg) {
            (MetricKind::Trend, A::Avg) => Some(self.avg),
            (MetricKind::Trend | MetricKind::Gauge, A::Min) => Some(self.min),
            (MetricKind::Trend | MetricKind::Gauge, A::Max) => Some(self.max),
            (MetricKind::Trend, A::Med) => Some(self.med()),
            (MetricKind::Trend, A::P) => percentile.map(|p| self.percentile(p)),
            (MetricKind::Trend, A::Count) => Some(self.count as f64),
            (MetricKind::Counter, A::Count) => Some(self.sum),
            (MetricKind::Counter | MetricKind::Rate, A::Rate) => Some(self.rate),
            (MetricKind::Gauge, A::Value) => Some(self.value),
            _ => None,
        }
    }
}

impl Aggregate {
    pub fn new(reg: Arc<Registry>) -> Aggregate {
        Aggregate {
            reg,
            metrics: BTreeMap::new(),
            elapsed: Duration::ZERO,
            seq: 0,
            first_errors: BTreeMap::new(),
        }
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.reg
    }

    /// The run time counters' rates are computed over.
    pub fn set_elapsed(&mut self, elapsed: Duration) {
        self.elapsed = elapsed;
    }

    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Merges a delta snapshot. Series of a metric the registry defines with another
    /// kind are ignored (they cannot come from this run's plan).
    pub fn merge(&mut self, s: &Snapshot) {
        for series in &s.series {
            self.merge_series(series);
        }
        self.keep_first_errors(&s.first_errors);
    }

    fn keep_first_errors(&mut self, errors: &[crate::errors::FirstError]) {
        for e in errors {
            crate::errors::keep_first(&mut self.first_errors, e);
        }
    }

    /// The earliest first occurrence of each error code merged so far.
    pub fn first_errors(&self) -> &BTreeMap<u32, crate::errors::FirstError> {
        &self.first_errors
    }

    /// Merges a snapshot received sparse (a runner's push): trend buckets are added
    /// straight into this aggregate's histograms.
    pub fn merge_sparse(&mut self, s: &super::wire::SparseSnapshot) {
        self.merge_sparse_where(s, |_| true);
    }

    /// [`Aggregate::merge_sparse`] of the series `keep` accepts (no copy of the rest).
    pub fn merge_sparse_where(
        &mut self,
        s: &super::wire::SparseSnapshot,
        keep: impl Fn(&super::wire::SparseSeries) -> bool,
    ) {
        use super::wire::SparseData;
        self.keep_first_errors(&s.first_errors);
        for series in s.series.iter().filter(|s| keep(s)) {
            let SparseData::Trend {
                sum,
                min,
                max,
                hist: pairs,
            } = &series.data
            else {
                self.merge_data(&series.metric, &series.tags, &series.data.to_dense());
                continue;
            };
            if pairs.is_empty() {
                continue;
            }
            let existing = self
                .metrics
                .get_mut(&series.metric)
                .and_then(|m| m.get_mut(&series.tags));
            match existing {
                Some(AggSeries {
                    data:
                        SeriesData::Trend {
                            sum: s0,
                            min: lo,
                            max: hi,
                            hist: h,
                        },
                    seq,
                }) => {
                    if h.0.is_empty() {
                        (*lo, *hi) = (*min, *max);
                    } else {
                        *lo = lo.min(*min);
                        *hi = hi.max(*max);
                    }
                    *s0 += sum;
                    hist::add_buckets(&mut h.0, pairs);
                    self.seq += 1;
                    *seq = self.seq;
                }
                // A new series (or one of another kind, which `merge_data` refuses).
                _ => self.merge_data(&series.metric, &series.tags, &series.data.to_dense()),
            }
        }
    }

    /// Merges another aggregate's series (e.g. a runner's into the fleet's). Elapsed
    /// times are not added.
    pub fn merge_aggregate(&mut self, other: &Aggregate) {
        for (metric, series) in &other.metrics {
            for (tags, s) in series {
                self.merge_data(metric, tags, &s.data);
            }
        }
        for e in other.first_errors.values() {
            crate::errors::keep_first(&mut self.first_errors, e);
        }
    }

    /// Every series as one snapshot (e.g. for a summary of a runner's own data).
    pub fn to_snapshot(&self) -> Snapshot {
        Snapshot {
            series: self
                .series()
                .map(|(metric, tags, data)| SeriesSnapshot {
                    metric: metric.to_string(),
                    tags: tags.clone(),
                    data: data.clone(),
                })
                .collect(),
            first_errors: self.first_errors.values().cloned().collect(),
            end_ms: None,
        }
    }

    fn merge_series(&mut self, s: &SeriesSnapshot) {
        self.merge_data(&s.metric, &s.tags, &s.data);
    }

    fn merge_data(&mut self, metric: &str, tags: &TagMap, data: &SeriesData) {
        if let Some(def) = self.reg.by_name(metric) {
            if def.kind != kind_of(data) {
                return;
            }
        }
        self.seq += 1;
        let seq = self.seq;
        if !self.metrics.contains_key(metric) {
            self.metrics.insert(metric.to_string(), BTreeMap::new());
        }
        let Some(series) = self.metrics.get_mut(metric) else {
            return;
        };
        match series.get_mut(tags) {
            Some(s) => {
                if s.data.merge(data) {
                    s.seq = seq;
                }
            }
            None => {
                series.insert(
                    tags.clone(),
                    AggSeries {
                        data: data.to_owned_mergeable(),
                        seq,
                    },
                );
            }
        }
    }

    /// Every series: (metric, tags, data), by metric name then tags.
    pub fn series(&self) -> impl Iterator<Item = (&str, &TagMap, &SeriesData)> + '_ {
        self.metrics.iter().flat_map(|(m, series)| {
            series
                .iter()
                .map(move |(tags, s)| (m.as_str(), tags, &s.data))
        })
    }

    /// Names of the metrics that have at least one series.
    pub fn metric_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.metrics.keys().map(String::as_str)
    }

    /// The merged view of `metric` over all series whose tags contain every key/value of
    /// `filter` (empty: all series). `None` for a metric neither in the registry nor seen;
    /// a view with no samples (see [`MetricView::has_samples`]) when nothing matched.
    pub fn view(&self, metric: &str, filter: &TagMap) -> Option<MetricView> {
        let series = self.metrics.get(metric);
        let (kind, contains) = match self.reg.by_name(metric) {
            Some(d) => (d.kind, d.contains),
            None => {
                let first = series?.values().next()?;
                (kind_of(&first.data), Contains::Default)
            }
        };
        let mut v = MetricView::empty(kind, contains);
        let mut last_gauge = 0u64;
        for s in series
            .into_iter()
            .flat_map(|m| m.iter())
            .filter(|(tags, _)| matches(tags, filter))
            .map(|(_, s)| s)
        {
            let first = v.series == 0;
            v.series += 1;
            match &s.data {
                SeriesData::Trend {
                    sum,
                    min,
                    max,
                    hist: h,
                } => {
                    if h.0.is_empty() {
                        continue;
                    }
                    if v.count == 0 {
                        (v.min, v.max) = (*min, *max);
                    } else {
                        v.min = v.min.min(*min);
                        v.max = v.max.max(*max);
                    }
                    v.count += h.0.len();
                    v.sum += sum;
                    match &mut v.hist {
                        Some(acc) => hist::add(acc, &h.0),
                        None => {
                            let mut acc = h.0.clone();
                            acc.auto(true);
                            v.hist = Some(acc);
                        }
                    }
                }
                SeriesData::Counter { sum } => v.sum += sum,
                SeriesData::Rate { hits, total } => {
                    v.hits += hits;
                    v.count += total;
                }
                SeriesData::Gauge { value, min, max } => {
                    if first {
                        (v.min, v.max) = (*min, *max);
                    } else {
                        v.min = v.min.min(*min);
                        v.max = v.max.max(*max);
                    }
                    if s.seq >= last_gauge {
                        last_gauge = s.seq;
                        v.value = *value;
                    }
                    v.count += 1;
                }
            }
        }
        let secs = self.elapsed.as_secs_f64();
        match kind {
            MetricKind::Trend => {
                v.avg = if v.count > 0 {
                    v.sum / v.count as f64
                } else {
                    0.0
                };
            }
            MetricKind::Counter => {
                v.count = if v.sum > 0.0 { v.sum.round() as u64 } else { 0 };
                v.rate = if secs > 0.0 { v.sum / secs } else { 0.0 };
            }
            MetricKind::Rate => {
                v.sum = v.hits as f64;
                v.rate = if v.count > 0 {
                    v.hits as f64 / v.count as f64
                } else {
                    0.0
                };
            }
            MetricKind::Gauge => {}
        }
        Some(v)
    }

    /// Every check by (group, name), summed over scenarios and other tags, ordered by
    /// group path then name.
    pub fn checks(&self) -> Vec<CheckStat> {
        let mut by: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        for (tags, s) in self.metrics.get("checks").into_iter().flatten() {
            if let SeriesData::Rate { hits, total } = s.data {
                let name = tags.get("check").cloned().unwrap_or_default();
                let group = tags.get("group").cloned().unwrap_or_default();
                let e = by.entry((group, name)).or_default();
                e.0 += hits;
                e.1 += total.saturating_sub(hits);
            }
        }
        by.into_iter()
            .map(|((group, name), (passes, fails))| CheckStat {
                name,
                group,
                passes,
                fails,
            })
            .collect()
    }

    /// Every group path seen on any sample (`a::b`, with its ancestors `a`), sorted.
    pub fn groups(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (_, tags, _) in self.series() {
            if let Some(g) = tags.get("group").filter(|g| !g.is_empty()) {
                let mut path = String::new();
                for part in g.split("::") {
                    if !path.is_empty() {
                        path.push_str("::");
                    }
                    path.push_str(part);
                    out.insert(path.clone());
                }
            }
        }
        out
    }
}

fn kind_of(d: &SeriesData) -> MetricKind {
    match d {
        SeriesData::Trend { .. } => MetricKind::Trend,
        SeriesData::Counter { .. } => MetricKind::Counter,
        SeriesData::Rate { .. } => MetricKind::Rate,
        SeriesData::Gauge { .. } => MetricKind::Gauge,
    }
}
