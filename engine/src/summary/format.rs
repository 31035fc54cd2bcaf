//! k6's summary flags: `--summary-trend-stats` (which statistics each trend shows, in
//! which order) and `--summary-time-unit` (every time value in one unit). A statistic the
//! summary lacks (`p(99.9)`, `count`, `sum`) is computed from the run's merged histogram
//! kept in `volley.detail` (the exact HDR data the summary's own percentiles come from),
//! so a summary read back from JSON, a fleet's merged one included, gains it the same.
//! Pure: no IO.

use super::Summary;
use crate::metrics::hist::from_units;
use crate::output::stats::TrendStat;
use std::collections::BTreeMap;
use volley_plan::plan::MetricKind;

/// How the text summary is shaped; the default is Volley's own (every percentile the
/// summary holds, human time units).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TextOptions {
    /// `--summary-trend-stats`: the statistics of every trend, in this order.
    pub trend_stats: Option<Vec<TrendStat>>,
    /// `--summary-time-unit`: time values in this unit rather than a human one.
    pub time_unit: Option<TimeUnit>,
}

/// k6's `--summary-time-unit` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    S,
    Ms,
    Us,
}

impl TimeUnit {
    /// `s`, `ms` or `us` (k6's names); `None` for anything else.
    pub fn parse(text: &str) -> Option<TimeUnit> {
        match text.trim() {
            "s" => Some(TimeUnit::S),
            "ms" => Some(TimeUnit::Ms),
            "us" => Some(TimeUnit::Us),
            _ => None,
        }
    }

    /// A duration in ms written in this unit with two decimals, as k6 does: `12.35ms`,
    /// `0.01s`, `12345.00µs`.
    pub fn format(self, ms: f64) -> String {
        if !ms.is_finite() {
            return "-".into();
        }
        let (coef, unit) = match self {
            TimeUnit::S => (0.001, "s"),
            TimeUnit::Ms => (1.0, "ms"),
            TimeUnit::Us => (1000.0, "µs"),
        };
        format!("{:.2}{unit}", ms * coef)
    }
}

/// Adds to every trend of `s` each statistic of `stats` it lacks, from its merged
/// histogram in `volley.detail` (a trend without one, or without samples, is left as
/// it is). Percentiles are clamped to the exact min and max, as the summary's own are.
pub fn add_trend_stats(s: &mut Summary, stats: &[TrendStat]) {
    let Some(detail) = s.volley.detail.as_ref() else {
        return;
    };
    let series: BTreeMap<String, &crate::compare::detail::SeriesDetail> = detail
        .series
        .iter()
        .filter(|d| d.kind == MetricKind::Trend)
        .map(|d| (d.key(), d))
        .collect();
    for (key, m) in s.metrics.iter_mut() {
        if m.kind != MetricKind::Trend {
            continue;
        }
        let missing: Vec<TrendStat> = stats
            .iter()
            .copied()
            .filter(|st| !m.values.contains_key(&st.key()))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let Some(h) = series.get(key).and_then(|d| d.histogram()) else {
            continue;
        };
        if h.is_empty() {
            continue;
        }
        let get = |k: &str| m.values.get(k).copied().unwrap_or(0.0);
        let (min, max, avg, count) = (get("min"), get("max"), get("avg"), h.len() as f64);
        let percentile = |p: f64| {
            let q = (p / 100.0).clamp(0.0, 1.0);
            let v = from_units(h.value_at_quantile(q));
            // Not `f64::clamp`: it panics on crossed bounds.
            if v > max {
                max
            } else if v < min {
                min
            } else {
                v
            }
        };
        for st in missing {
            let v = match st {
                TrendStat::Count => count,
                TrendStat::Sum => avg * count,
                TrendStat::Min => min,
                TrendStat::Max => max,
                TrendStat::Avg => avg,
                TrendStat::Med => percentile(50.0),
                TrendStat::P(p) => percentile(p),
            };
            m.values
                .insert(st.key(), if v.is_finite() { v } else { 0.0 });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::detail::{encode_hist, Detail, SeriesDetail};
    use crate::metrics::Contains;

    /// A passed run without metrics.
    fn empty() -> Summary {
        let mut s = crate::summary::not_started(&crate::summary::tests::plan(vec![]), "");
        s.set_verdict(crate::summary::Verdict::Passed);
        s.volley.reason = None;
        s
    }

    fn summary_with_hist(values_ms: &[f64]) -> Summary {
        let mut h = crate::metrics::hist::new_hist();
        for v in values_ms {
            crate::metrics::hist::record(&mut h, *v, true);
        }
        let mut s = empty();
        let min = values_ms.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values_ms.iter().copied().fold(0.0, f64::max);
        let avg = values_ms.iter().sum::<f64>() / values_ms.len() as f64;
        s.metrics.insert(
            "t".into(),
            super::super::MetricSummary {
                kind: MetricKind::Trend,
                contains: Contains::Time,
                values: BTreeMap::from([
                    ("avg".into(), avg),
                    ("min".into(), min),
                    ("max".into(), max),
                ]),
                thresholds: BTreeMap::new(),
            },
        );
        s.volley.detail = Some(Detail {
            interval_ms: 1000,
            intervals: 1,
            series: vec![SeriesDetail {
                metric: "t".into(),
                tags: BTreeMap::new(),
                kind: MetricKind::Trend,
                contains: Contains::Time,
                hist: encode_hist(&h),
                count: vec![Some(values_ms.len() as f64)],
                avg: vec![],
                med: vec![],
                p90: vec![],
                p95: vec![],
                p99: vec![],
                rate: vec![],
            }],
        });
        s
    }

    #[test]
    fn missing_stats_come_from_the_merged_histogram() {
        let values: Vec<f64> = (1..=1000).map(f64::from).collect();
        let mut s = summary_with_hist(&values);
        let stats = TrendStat::parse_list("avg,p(99.9),count,sum,med,p(100)").unwrap();
        add_trend_stats(&mut s, &stats);
        let v = &s.metrics["t"].values;
        assert_eq!(v["count"], 1000.0);
        assert!((v["sum"] - 500_500.0).abs() < 1e-6, "{}", v["sum"]);
        assert!((v["p(99.9)"] - 999.0).abs() <= 1.0, "{}", v["p(99.9)"]);
        assert!((v["med"] - 500.0).abs() <= 1.0, "{}", v["med"]);
        assert_eq!(v["p(100)"], 1000.0, "clamped to the exact max");
        // What was there stays as it was.
        assert_eq!(v["avg"], 500.5);
    }

    #[test]
    fn a_summary_without_detail_is_left_alone() {
        let mut s = empty();
        let before = s.clone();
        add_trend_stats(&mut s, &[TrendStat::P(99.9)]);
        assert_eq!(s, before);
    }

    #[test]
    fn the_text_shows_the_listed_stats_in_order_in_one_unit() {
        let values: Vec<f64> = (1..=1000).map(f64::from).collect();
        let mut s = summary_with_hist(&values);
        let stats = TrendStat::parse_list("max,p(99.9),count").unwrap();
        add_trend_stats(&mut s, &stats);
        let opts = TextOptions {
            trend_stats: Some(stats),
            time_unit: Some(TimeUnit::S),
        };
        let text = crate::summary::render_text_with(&s, false, &opts);
        let line = text.lines().find(|l| l.contains(" t.")).unwrap();
        assert!(
            line.ends_with(": max=1.00s p(99.9)=1.00s count=1000"),
            "{line}"
        );
        // Without options: Volley's own line, human units.
        let plain = crate::summary::render_text(&s, false);
        let line = plain.lines().find(|l| l.contains(" t.")).unwrap();
        assert!(line.contains("avg=500.5ms min=1ms med="), "{line}");
    }

    #[test]
    fn time_units_write_two_decimals_as_k6() {
        assert_eq!(TimeUnit::Ms.format(12.345), "12.35ms");
        assert_eq!(TimeUnit::S.format(1234.5), "1.23s");
        assert_eq!(TimeUnit::Us.format(0.5), "500.00µs");
        assert_eq!(TimeUnit::parse("us"), Some(TimeUnit::Us));
        assert_eq!(TimeUnit::parse("m"), None);
    }
}
