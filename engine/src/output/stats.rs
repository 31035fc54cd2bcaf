//! The numbers outputs write for one series: trend statistics (k6's `avg min med max
//! p(N) count sum`) computed from a series' own histogram, and the parsing of a trend-stats
//! list such as `p(95),p(99),avg`. Pure; it must not know about any output format.

pub use super::error::TrendStatError;
use crate::metrics::hist::from_units;
use crate::metrics::SeriesData;

/// One trend statistic.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TrendStat {
    Count,
    Sum,
    Min,
    Max,
    Avg,
    Med,
    /// A percentile, 0..=100.
    P(f64),
}

impl TrendStat {
    /// Parses one of k6's stat names: `count sum min max avg med p(N)`.
    pub fn parse(text: &str) -> Result<TrendStat, TrendStatError> {
        let t = text.trim();
        Ok(match t {
            "count" => TrendStat::Count,
            "sum" => TrendStat::Sum,
            "min" => TrendStat::Min,
            "max" => TrendStat::Max,
            "avg" => TrendStat::Avg,
            "med" => TrendStat::Med,
            _ => {
                let p = t
                    .strip_prefix("p(")
                    .and_then(|r| r.strip_suffix(')'))
                    .and_then(|n| n.trim().parse::<f64>().ok())
                    .filter(|p| (0.0..=100.0).contains(p))
                    .ok_or_else(|| TrendStatError::Unknown(t.to_string()))?;
                TrendStat::P(p)
            }
        })
    }

    /// Parses a comma-separated list (`p(95),p(99),max`); an empty list is an error.
    pub fn parse_list(text: &str) -> Result<Vec<TrendStat>, TrendStatError> {
        let stats = text
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(TrendStat::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if stats.is_empty() {
            return Err(TrendStatError::Empty);
        }
        Ok(stats)
    }

    /// The suffix k6's Prometheus output uses: `p(95)` → `p95`, `p(99.9)` → `p999`.
    pub fn suffix(self) -> String {
        match self {
            TrendStat::Count => "count".into(),
            TrendStat::Sum => "sum".into(),
            TrendStat::Min => "min".into(),
            TrendStat::Max => "max".into(),
            TrendStat::Avg => "avg".into(),
            TrendStat::Med => "med".into(),
            TrendStat::P(p) => crate::summary::percentile_key(p).replace(['(', ')', '.'], ""),
        }
    }

    /// The name k6's summary uses: `p(95)`, `avg`, `count`.
    pub fn key(self) -> String {
        match self {
            TrendStat::P(p) => crate::summary::percentile_key(p),
            other => other.suffix(),
        }
    }

    /// Whether the value is in the metric's unit (a duration for time trends), as opposed
    /// to a sample count.
    pub fn is_value(self) -> bool {
        self != TrendStat::Count
    }
}

/// The exact numbers of one trend series (value units: ms for time trends).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrendNumbers<'a> {
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    hist: &'a hdrhistogram::Histogram<u64>,
}

impl<'a> TrendNumbers<'a> {
    /// The numbers of a trend series; `None` for other kinds or an empty trend.
    pub fn of(data: &'a SeriesData) -> Option<TrendNumbers<'a>> {
        match data {
            SeriesData::Trend {
                sum,
                min,
                max,
                hist,
            } if !hist.0.is_empty() => Some(TrendNumbers {
                count: hist.0.len(),
                sum: *sum,
                min: *min,
                max: *max,
                hist: &hist.0,
            }),
            _ => None,
        }
    }

    /// One statistic, in value units (a count for [`TrendStat::Count`]).
    pub fn get(&self, stat: TrendStat) -> f64 {
        match stat {
            TrendStat::Count => self.count as f64,
            TrendStat::Sum => self.sum,
            TrendStat::Min => self.min,
            TrendStat::Max => self.max,
            TrendStat::Avg => self.sum / self.count.max(1) as f64,
            TrendStat::Med => self.percentile(50.0),
            TrendStat::P(p) => self.percentile(p),
        }
    }

    /// A percentile from the histogram, clamped to the exact min..max.
    pub fn percentile(&self, p: f64) -> f64 {
        let q = (p / 100.0).clamp(0.0, 1.0);
        let v = from_units(
            self.hist
                .value_at_quantile(if q.is_nan() { 0.0 } else { q }),
        );
        if v > self.max {
            self.max
        } else if v < self.min {
            self.min
        } else {
            v
        }
    }
}

/// A finite number or 0 (outputs never write NaN or infinities).
pub fn finite(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}
