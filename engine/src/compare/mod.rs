//! Regression gates between runs: `volley compare BASE.json NEW.json` and `--baseline`.
//!
//! What is compared, per metric and tag set ([`detail`], summary format 2): the whole
//! run's value from the merged histogram (or the summary's exact value) for the table's
//! base, new and change columns, and the per-interval values of the same statistic for
//! the judgement.
//!
//! The test, and why: requests of one run are not independent (a GC pause, a busy core
//! or a full queue slows many neighbours at once), so a test over every request claims
//! far more certainty than the data holds. One value per interval (a second) is much
//! closer to independent, and with a few hundred requests per interval its p(95) is a
//! stable figure. The per-interval values of the two runs are compared with a one-sided
//! **Mann–Whitney U test** (rank-based: no normality assumed, robust to the odd slow
//! second; exact for small samples, normal approximation with tie correction past
//! 50 × 50), after removing the **tolerance** from the new run's values: a regression is
//! reported only when the test is significant at `alpha` (default 0.01) that the new
//! values exceed the base ones by more than the tolerance, `max(base × tolerance,
//! min_change)` (default 10 % and 1 ms for times, 1 point for rates). So a change must
//! be both statistically clear and large enough to matter: two runs of the same build on
//! a busy machine differ slightly but truly (the machine was not the same), and that must
//! not be called a regression. The shift itself is estimated by Hodges–Lehmann (the
//! median of pairwise differences) with a 95 % interval.
//!
//! Which direction is worse: higher for time trends, `http_req_failed` and
//! `dropped_iterations`; lower for `checks`. Other metrics (throughput, custom metrics)
//! are reported as `changed`, never as a regression: throughput in a closed model follows
//! latency, and in an open model the test sets it.
//!
//! This module must not do IO or print.

pub mod detail;
pub mod stats;
#[cfg(test)]
pub(crate) mod tests;

use crate::metrics::hist::from_units;
use crate::metrics::Contains;
use crate::summary::{percentile_key, Summary};
use crate::thresholds::submetric_key;
use detail::SeriesDetail;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use volley_plan::plan::{Aggregation, MetricKind, Plan};

/// How a comparison judges.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Options {
    /// Significance level of the one-sided test.
    pub alpha: f64,
    /// Smallest relative change that counts (0.1: 10 %).
    pub tolerance: f64,
    /// Smallest change of a time that counts, ms.
    pub min_change_ms: f64,
    /// Smallest change of a rate that counts (0.01: one percentage point).
    pub min_change_rate: f64,
    /// A trend's statistics compared (`avg`, `med`, `p(90)`, `p(95)`, `p(99)`).
    pub stats: Vec<String>,
    /// Only these metrics (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            alpha: 0.01,
            tolerance: 0.10,
            min_change_ms: 1.0,
            min_change_rate: 0.01,
            stats: vec!["med".into(), "p(95)".into()],
            metrics: Vec::new(),
        }
    }
}

/// Fewer intervals than this on either side: too short to judge.
pub const MIN_INTERVALS: usize = 5;
/// An interval with fewer samples than this share of the median interval's is left out
/// of the test (a ramp's first second, the run's last partial one).
const MIN_SHARE: f64 = 0.25;

/// The judgement of one row.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RowVerdict {
    /// Worse by more than the tolerance, significantly.
    Regression,
    /// Better by more than the tolerance, significantly.
    Improvement,
    /// A metric without a worse direction changed by more than the tolerance.
    Changed,
    /// No significant change beyond the tolerance.
    Unchanged,
    /// Too few intervals (or none: a summary without `detail`) to judge.
    TooShort,
    /// In one run only.
    Missing,
}

impl RowVerdict {
    pub fn text(self) -> &'static str {
        match self {
            RowVerdict::Regression => "REGRESSION",
            RowVerdict::Improvement => "improvement",
            RowVerdict::Changed => "changed",
            RowVerdict::Unchanged => "no change",
            RowVerdict::TooShort => "too short to judge",
            RowVerdict::Missing => "missing",
        }
    }
}

/// One metric, tag set and statistic.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Row {
    pub metric: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// `p(95)`, `med`, `avg`, `rate`.
    pub stat: String,
    /// `ms`, `%` (a rate), `/s` (a counter's rate) or empty.
    pub unit: String,
    /// The whole run's value (from the merged histogram for percentiles).
    pub base: Option<f64>,
    pub new: Option<f64>,
    /// `(new - base) / base`.
    pub change: Option<f64>,
    pub verdict: RowVerdict,
    /// The one-sided p-value in the direction of the verdict (towards worse for
    /// `no change`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// Hodges–Lehmann shift of the per-interval values, with its 95 % interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<[f64; 3]>,
    /// The tolerance the change had to exceed, in the row's unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// Intervals used (base, new).
    pub intervals: [usize; 2],
}

impl Row {
    pub fn key(&self) -> String {
        submetric_key(&self.metric, &self.tags)
    }
}

/// A whole comparison.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The test used, in words.
    pub method: String,
    pub options: Options,
    pub rows: Vec<Row>,
    /// Rows judged a regression.
    pub regressions: usize,
    /// What the reader should know (a summary without detail, different tests).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

pub const METHOD: &str = "one-sided Mann-Whitney U test on per-interval values, the tolerance removed from the new run's values first";

/// Whether higher is worse (`Some(true)`), better (`Some(false)`) or neither (`None`).
fn worse_when_higher(metric: &str, kind: MetricKind, contains: Contains) -> Option<bool> {
    match (kind, metric) {
        (MetricKind::Trend, _) if contains == Contains::Time => Some(true),
        (MetricKind::Rate, "http_req_failed") => Some(true),
        (MetricKind::Rate, "checks") => Some(false),
        (MetricKind::Counter, "dropped_iterations") => Some(true),
        _ => None,
    }
}

/// A row's statistics for a series.
fn stats_of(s: &SeriesDetail, opts: &Options) -> Vec<String> {
    match s.kind {
        MetricKind::Trend => opts.stats.clone(),
        MetricKind::Rate | MetricKind::Counter => vec!["rate".into()],
        MetricKind::Gauge => Vec::new(),
    }
}

/// The whole run's value of a statistic: the summary's own when it has it, else from the
/// merged histogram, else from the intervals.
fn whole(sum: &Summary, s: &SeriesDetail, stat: &str) -> Option<f64> {
    let own = sum.metrics.get(&s.key()).and_then(|m| m.values.get(stat));
    if let Some(v) = own {
        return Some(*v);
    }
    if s.kind == MetricKind::Trend {
        let h = s.histogram()?;
        if h.is_empty() {
            return None;
        }
        let q = match stat {
            "avg" => return Some(h.mean() / crate::metrics::hist::SCALE),
            "med" => 0.5,
            _ => {
                stat.strip_prefix("p(")
                    .and_then(|r| r.strip_suffix(')'))
                    .and_then(|p| p.parse::<f64>().ok())?
                    .clamp(0.0, 100.0)
                    / 100.0
            }
        };
        return Some(from_units(h.value_at_quantile(q)));
    }
    let n: f64 = s.count.iter().flatten().sum();
    match s.kind {
        MetricKind::Rate => {
            let hits: f64 = s
                .count
                .iter()
                .zip(&s.rate)
                .filter_map(|(c, r)| Some((*c)? * (*r)?))
                .sum();
            (n > 0.0).then(|| hits / n)
        }
        MetricKind::Counter => {
            let secs = sum.state.test_run_duration_ms / 1000.0;
            (secs > 0.0).then(|| n / secs)
        }
        _ => None,
    }
}

/// The per-interval values used by the test: intervals with enough samples.
fn usable(s: &SeriesDetail, stat: &str) -> Vec<f64> {
    let Some(vals) = s.per_interval(stat) else {
        return Vec::new();
    };
    let mut counts: Vec<f64> = s.count.iter().flatten().copied().collect();
    counts.sort_by(f64::total_cmp);
    let median = counts.get(counts.len() / 2).copied().unwrap_or(0.0);
    let floor = if s.kind == MetricKind::Counter {
        0.0
    } else {
        median * MIN_SHARE
    };
    s.count
        .iter()
        .zip(vals)
        .filter_map(|(c, v)| ((*c)? >= floor).then_some(*v)?)
        .collect()
}

fn unit(s: &SeriesDetail) -> &'static str {
    match (s.kind, s.contains) {
        (MetricKind::Trend, Contains::Time) => "ms",
        (MetricKind::Rate, _) => "%",
        (MetricKind::Counter, _) => "/s",
        _ => "",
    }
}

/// The tolerance of a row, in its unit, for a base value.
fn tolerance(s: &SeriesDetail, base: f64, opts: &Options) -> f64 {
    let rel = base.abs() * opts.tolerance;
    match (s.kind, s.contains) {
        (MetricKind::Trend, Contains::Time) => rel.max(opts.min_change_ms),
        (MetricKind::Rate, _) => rel.max(opts.min_change_rate),
        _ => rel,
    }
}

/// Judges one row from the two series.
fn judge_row(base: &SeriesDetail, new: &SeriesDetail, stat: &str, opts: &Options) -> Row {
    let (a, b) = (usable(base, stat), usable(new, stat));
    let mut row = Row {
        metric: new.metric.clone(),
        tags: new.tags.clone(),
        stat: stat.to_string(),
        unit: unit(new).to_string(),
        base: None,
        new: None,
        change: None,
        verdict: RowVerdict::TooShort,
        p_value: None,
        shift: None,
        tolerance: None,
        intervals: [a.len(), b.len()],
    };
    if a.len() < MIN_INTERVALS || b.len() < MIN_INTERVALS {
        return row;
    }
    let mut sorted = a.clone();
    sorted.sort_by(f64::total_cmp);
    let tol = tolerance(base, sorted[sorted.len() / 2], opts);
    row.tolerance = Some(tol);
    let rel = 1.0 + opts.tolerance;
    // The new values with the tolerance taken off (for "worse by more than it") and
    // added on (for "better by more than it").
    let down: Vec<f64> = b.iter().map(|y| (y / rel).min(y - tol)).collect();
    let up: Vec<f64> = b.iter().map(|y| (y * rel).max(y + tol)).collect();
    let (Some(higher), Some(lower)) =
        (stats::mann_whitney(&a, &down), stats::mann_whitney(&a, &up))
    else {
        return row;
    };
    let (p_up, p_down) = (higher.p_greater, lower.p_less);
    row.shift = stats::hodges_lehmann(&a, &b, 0.95).map(|(e, lo, hi)| [e, lo, hi]);
    let direction = worse_when_higher(&new.metric, new.kind, new.contains);
    let (verdict, p) = match direction {
        Some(up_is_worse) => {
            let (p_worse, p_better) = if up_is_worse {
                (p_up, p_down)
            } else {
                (p_down, p_up)
            };
            if p_worse < opts.alpha {
                (RowVerdict::Regression, p_worse)
            } else if p_better < opts.alpha {
                (RowVerdict::Improvement, p_better)
            } else {
                (RowVerdict::Unchanged, p_worse)
            }
        }
        None if p_up.min(p_down) < opts.alpha => (RowVerdict::Changed, p_up.min(p_down)),
        None => (RowVerdict::Unchanged, p_up.min(p_down)),
    };
    row.verdict = verdict;
    row.p_value = Some(p);
    row
}

/// Compares two summaries.
pub fn compare(base: &Summary, new: &Summary, opts: &Options) -> Comparison {
    let mut notes = Vec::new();
    if base.volley.test != new.volley.test {
        notes.push(format!(
            "the runs are of different tests (`{}` and `{}`)",
            base.volley.test, new.volley.test
        ));
    }
    let empty = detail::Detail::default();
    let bd = base.volley.detail.as_ref().unwrap_or(&empty);
    let nd = new.volley.detail.as_ref().unwrap_or(&empty);
    for (which, s, d) in [("base", base, bd), ("new", new, nd)] {
        if s.volley.detail.is_none() {
            notes.push(format!(
                "the {which} summary has no per-interval detail (summary format {}): its rows cannot be judged; write it again with this version's --summary-json",
                s.volley.summary_version
            ));
        } else if d.intervals < MIN_INTERVALS {
            notes.push(format!(
                "the {which} run has {} intervals: at least {MIN_INTERVALS} are needed to judge",
                d.intervals
            ));
        }
    }
    let wanted = |m: &str| opts.metrics.is_empty() || opts.metrics.iter().any(|x| x == m);
    let by_key: BTreeMap<String, &SeriesDetail> = bd.series.iter().map(|s| (s.key(), s)).collect();
    let mut rows = Vec::new();
    for ns in nd.series.iter().filter(|s| wanted(&s.metric)) {
        for stat in stats_of(ns, opts) {
            let mut row = match by_key.get(&ns.key()) {
                Some(bs) => judge_row(bs, ns, &stat, opts),
                None => missing(ns, &stat),
            };
            if let Some(bs) = by_key.get(&ns.key()) {
                row.base = whole(base, bs, &stat);
            }
            row.new = whole(new, ns, &stat);
            row.change = match (row.base, row.new) {
                (Some(b), Some(n)) if b != 0.0 => Some((n - b) / b),
                _ => None,
            };
            // Zero in both runs (no TLS, no new connections): nothing to say.
            let zero = |x: Option<f64>| x.is_none_or(|v| v == 0.0);
            if zero(row.base) && zero(row.new) && (row.base.is_some() || row.new.is_some()) {
                continue;
            }
            rows.push(row);
        }
    }
    let new_keys: std::collections::BTreeSet<String> =
        nd.series.iter().map(SeriesDetail::key).collect();
    for bs in bd.series.iter().filter(|s| wanted(&s.metric)) {
        if !new_keys.contains(&bs.key()) {
            for stat in stats_of(bs, opts) {
                let mut row = missing(bs, &stat);
                row.base = whole(base, bs, &stat);
                rows.push(row);
            }
        }
    }
    let regressions = rows
        .iter()
        .filter(|r| r.verdict == RowVerdict::Regression)
        .count();
    Comparison {
        method: METHOD.into(),
        options: opts.clone(),
        rows,
        regressions,
        notes,
    }
}

fn missing(s: &SeriesDetail, stat: &str) -> Row {
    Row {
        metric: s.metric.clone(),
        tags: s.tags.clone(),
        stat: stat.to_string(),
        unit: unit(s).to_string(),
        base: None,
        new: None,
        change: None,
        verdict: RowVerdict::Missing,
        p_value: None,
        shift: None,
        tolerance: None,
        intervals: [0, 0],
    }
}

/// Why a summary cannot serve as a baseline for a threshold.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum BaselineError {
    #[error("the baseline has no `{key}` (thresholds compare the same metric and tag set; the baseline run did not measure it{known})")]
    NoSeries { key: String, known: String },
    #[error("the baseline has no `{stat}` of `{key}` (it has {have}); run the baseline again with this version's --summary-json, which keeps the histogram every percentile comes from")]
    NoStat {
        key: String,
        stat: String,
        have: String,
    },
    #[error("the baseline's `{key}` had no sample: there is nothing to compare with")]
    NoData { key: String },
}

/// The name of an aggregation in a summary's `values`.
fn stat_name(agg: Aggregation, percentile: Option<f64>) -> String {
    match agg {
        Aggregation::Avg => "avg".into(),
        Aggregation::Min => "min".into(),
        Aggregation::Max => "max".into(),
        Aggregation::Med => "med".into(),
        Aggregation::P => percentile_key(percentile.unwrap_or(0.0)),
        Aggregation::Count => "count".into(),
        Aggregation::Rate => "rate".into(),
        Aggregation::Value => "value".into(),
    }
}

/// A baseline's value of an aggregation of a (sub)metric.
pub fn baseline_value(
    base: &Summary,
    metric: &str,
    tags: &BTreeMap<String, String>,
    agg: Aggregation,
    percentile: Option<f64>,
) -> Result<f64, BaselineError> {
    let key = submetric_key(metric, tags);
    let stat = stat_name(agg, percentile);
    let series = base
        .volley
        .detail
        .as_ref()
        .and_then(|d| d.series.iter().find(|s| s.key() == key));
    let summary = base.metrics.get(&key);
    if summary.is_none() && series.is_none() {
        let mut known: Vec<String> = base
            .metrics
            .keys()
            .filter(|k| k.starts_with(metric))
            .cloned()
            .collect();
        if let Some(d) = &base.volley.detail {
            known.extend(
                d.series
                    .iter()
                    .map(SeriesDetail::key)
                    .filter(|k| k.starts_with(metric)),
            );
        }
        known.sort();
        known.dedup();
        let known = if known.is_empty() {
            String::new()
        } else {
            format!("; it has {}", known.join(", "))
        };
        return Err(BaselineError::NoSeries { key, known });
    }
    if summary.is_some_and(|m| m.thresholds.values().any(|t| t.no_data)) {
        return Err(BaselineError::NoData { key });
    }
    if let Some(v) = summary.and_then(|m| m.values.get(&stat)) {
        return Ok(*v);
    }
    if let Some(s) = series {
        if let Some(v) = whole(base, s, &stat) {
            return Ok(v);
        }
    }
    let have = summary
        .map(|m| m.values.keys().cloned().collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|| "no value".into());
    Err(BaselineError::NoStat { key, stat, have })
}

/// Sets the value of every condition written against `baseline` from the baseline
/// summary; returns, per condition resolved, a line saying what it became (for the
/// user), or every error.
pub fn resolve_baseline(plan: &mut Plan, base: &Summary) -> Result<Vec<String>, Vec<String>> {
    let (mut lines, mut errors) = (Vec::new(), Vec::new());
    for t in &mut plan.thresholds {
        let key = submetric_key(&t.metric, &t.tags);
        for c in &mut t.conditions {
            let Some(rel) = c.baseline.as_mut() else {
                continue;
            };
            match baseline_value(base, &t.metric, &t.tags, c.aggregation, c.percentile) {
                Ok(b) => {
                    rel.base = Some(b);
                    c.value = rel.factor * b + rel.offset;
                    lines.push(format!(
                        "{key}: {} (baseline {} = {}, so {})",
                        c.source,
                        stat_name(c.aggregation, c.percentile),
                        crate::summary::fmt_num(b),
                        crate::summary::fmt_num(c.value)
                    ));
                }
                Err(e) => errors.push(format!("{key}: {}: {e}", c.source)),
            }
        }
    }
    if errors.is_empty() {
        Ok(lines)
    } else {
        Err(errors)
    }
}

/// The conditions written against `baseline` whose value was not filled in
/// (`metric: condition`).
pub fn unresolved(plan: &Plan) -> Vec<String> {
    plan.thresholds
        .iter()
        .flat_map(|t| {
            t.conditions
                .iter()
                .filter(|c| c.baseline.is_some_and(|b| b.base.is_none()))
                .map(move |c| format!("{}: {}", submetric_key(&t.metric, &t.tags), c.source))
        })
        .collect()
}

/// Whether a plan has a condition written against `baseline`.
pub fn needs_baseline(plan: &Plan) -> bool {
    plan.thresholds
        .iter()
        .flat_map(|t| &t.conditions)
        .any(|c| c.baseline.is_some())
}

/// `--baseline`: the earlier run's summary and how to compare with it.
#[derive(Clone, Debug)]
pub struct Baseline {
    pub summary: Summary,
    pub options: Options,
}

/// Compares a finished run's summary with the baseline and records the comparison in
/// it; a regression turns a passed verdict into `regression` (exit 99). Other verdicts
/// (failed thresholds, aborts) stay: they say more.
pub fn judge(summary: &mut Summary, baseline: &Baseline) {
    let c = compare(&baseline.summary, summary, &baseline.options);
    if c.regressions > 0 && summary.volley.verdict == crate::summary::Verdict::Passed {
        summary.set_verdict(crate::summary::Verdict::Regression);
    }
    summary.volley.comparison = Some(c);
}

/// A value in a row's unit, for people.
fn fmt_value(x: Option<f64>, unit: &str) -> String {
    use crate::summary::{fmt_duration, fmt_num};
    match (x, unit) {
        (None, _) => "-".into(),
        (Some(x), "ms") => fmt_duration(x),
        (Some(x), "%") => format!("{}%", fmt_num(x * 100.0)),
        (Some(x), "/s") => format!("{}/s", fmt_num(x)),
        (Some(x), _) => fmt_num(x),
    }
}

/// The verdict column: the verdict, its p-value and the estimated shift.
fn verdict_text(r: &Row) -> String {
    let mut t = r.verdict.text().to_string();
    let p = r.p_value.map(|p| {
        if p < 0.001 {
            "p<0.001".to_string()
        } else {
            format!("p={p:.3}")
        }
    });
    match (r.verdict, p, r.shift) {
        (
            RowVerdict::Regression | RowVerdict::Improvement | RowVerdict::Changed,
            Some(p),
            Some(s),
        ) => {
            let shift = |x: f64| {
                let v = fmt_value(Some(x.abs()), &r.unit);
                if x < 0.0 {
                    format!("-{v}")
                } else {
                    format!("+{v}")
                }
            };
            t.push_str(&format!(
                " ({p}, shift {} [{}, {}])",
                shift(s[0]),
                shift(s[1]),
                shift(s[2])
            ));
        }
        (RowVerdict::Unchanged, Some(p), _) => t.push_str(&format!(" ({p})")),
        (RowVerdict::TooShort, ..) => {
            t = format!("{t} ({}+{} intervals)", r.intervals[0], r.intervals[1]);
        }
        _ => {}
    }
    t
}

/// The comparison as a table for people: metric, tag set, statistic, base, new, change
/// and the verdict with its p-value; then the method and the notes.
pub fn render_table(c: &Comparison) -> String {
    let head = ["metric", "tags", "stat", "base", "new", "change", "verdict"];
    let mut rows: Vec<[String; 7]> = vec![head.map(String::from)];
    for r in &c.rows {
        let tags: Vec<String> = r.tags.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        let change = match r.change {
            Some(x) => format!("{:+.1}%", x * 100.0),
            None => "-".into(),
        };
        rows.push([
            r.metric.clone(),
            if tags.is_empty() {
                "-".into()
            } else {
                tags.join(",")
            },
            r.stat.clone(),
            fmt_value(r.base, &r.unit),
            fmt_value(r.new, &r.unit),
            change,
            verdict_text(r),
        ]);
    }
    let mut widths = [0usize; 7];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            if (3..6).contains(&i) {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                if i < 6 {
                    line.push_str(&" ".repeat(pad));
                }
            }
            if i < 6 {
                line.push_str("  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let o = &c.options;
    out.push_str(&format!(
        "\n{}: {} at alpha {} (a regression is a change beyond max({}% of base, {} for times, {} points for rates))\n",
        match c.regressions {
            0 => "no regression".to_string(),
            1 => "1 regression".to_string(),
            n => format!("{n} regressions"),
        },
        c.method,
        o.alpha,
        crate::summary::fmt_num(o.tolerance * 100.0),
        crate::summary::fmt_duration(o.min_change_ms),
        crate::summary::fmt_num(o.min_change_rate * 100.0),
    ));
    for n in &c.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out
}
