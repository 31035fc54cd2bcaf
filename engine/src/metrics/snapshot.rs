//! What a worker sends its aggregator once per second (and later, a runner its
//! coordinator, as JSON): the delta of every series touched since the last snapshot.
//! Series are named by metric name and tag map so snapshots make sense without the
//! sender's registry; trends carry whole histograms. This module must not compute
//! percentiles.

use super::hist::{self, Hist};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A delta of series since the previous snapshot of the same shard.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub series: Vec<SeriesSnapshot>,
    /// The first error of each code the sender saw, sent once (see `crate::errors`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub first_errors: Vec<crate::errors::FirstError>,
    /// When the delta was taken, in ms since the run's start instant, when its sender
    /// knows (a worker's ticker does; setup and teardown do not). The outputs file the
    /// delta under the interval it belongs to by this, however late it reaches them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<u64>,
}

/// One series: a metric with one set of tags.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SeriesSnapshot {
    pub metric: String,
    pub tags: BTreeMap<String, String>,
    pub data: SeriesData,
}

/// The data of one series. Trends keep exact `sum`/`min`/`max` (for avg/min/max) and a
/// histogram (for percentiles; its `len()` is the sample count).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SeriesData {
    Trend {
        sum: f64,
        min: f64,
        max: f64,
        /// Values in µs (time trends) or value × 1000, as an HDR V2 base64 string.
        hist: Hist,
    },
    Counter {
        sum: f64,
    },
    Rate {
        hits: u64,
        total: u64,
    },
    Gauge {
        /// The last value set.
        value: f64,
        min: f64,
        max: f64,
    },
}

impl SeriesData {
    /// Adds `other` (a later delta of the same series) into `self`: trends add
    /// histograms exactly, counters and rates add up, a gauge takes `other`'s value.
    /// Returns false, changing nothing, when the kinds differ.
    pub fn merge(&mut self, other: &SeriesData) -> bool {
        match (self, other) {
            (
                SeriesData::Trend {
                    sum,
                    min,
                    max,
                    hist,
                },
                SeriesData::Trend {
                    sum: s,
                    min: lo,
                    max: hi,
                    hist: h,
                },
            ) => {
                if h.0.is_empty() {
                    return true;
                }
                if hist.0.is_empty() {
                    (*min, *max) = (*lo, *hi);
                } else {
                    *min = min.min(*lo);
                    *max = max.max(*hi);
                }
                *sum += s;
                hist::add(&mut hist.0, &h.0);
                true
            }
            (SeriesData::Counter { sum }, SeriesData::Counter { sum: s }) => {
                *sum += s;
                true
            }
            (SeriesData::Rate { hits, total }, SeriesData::Rate { hits: h, total: t }) => {
                *hits = hits.saturating_add(*h);
                *total = total.saturating_add(*t);
                true
            }
            (
                SeriesData::Gauge { value, min, max },
                SeriesData::Gauge {
                    value: v,
                    min: lo,
                    max: hi,
                },
            ) => {
                *value = *v;
                *min = min.min(*lo);
                *max = max.max(*hi);
                true
            }
            _ => false,
        }
    }

    /// A copy whose histogram (if any) auto-resizes, fit to be merged into.
    pub(crate) fn to_owned_mergeable(&self) -> SeriesData {
        let mut d = self.clone();
        if let SeriesData::Trend { hist, .. } = &mut d {
            hist.0.auto(true);
        }
        d
    }
}

impl Snapshot {
    pub fn is_empty(&self) -> bool {
        self.series.is_empty() && self.first_errors.is_empty()
    }

    /// The last value of a gauge over all its series, if it was set in this snapshot.
    pub fn gauge(&self, metric: &str) -> Option<f64> {
        self.series.iter().rev().find_map(|s| match s.data {
            SeriesData::Gauge { value, .. } if s.metric == metric => Some(value),
            _ => None,
        })
    }

    /// A counter's total over all its series in this snapshot (0 when absent).
    pub fn counter(&self, metric: &str) -> f64 {
        self.series
            .iter()
            .filter(|s| s.metric == metric)
            .map(|s| match s.data {
                SeriesData::Counter { sum } => sum,
                _ => 0.0,
            })
            .sum()
    }

    /// Samples of a trend or rate metric over all its series in this snapshot.
    pub fn samples(&self, metric: &str) -> u64 {
        self.series
            .iter()
            .filter(|s| s.metric == metric)
            .map(|s| match &s.data {
                SeriesData::Trend { hist, .. } => hist.0.len(),
                SeriesData::Rate { total, .. } => *total,
                _ => 0,
            })
            .sum()
    }

    /// As JSON (what a runner pushes).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// Parses [`Snapshot::to_json`]'s output; errors on anything malformed (never panics).
    pub fn from_json(text: &str) -> Result<Snapshot, serde_json::Error> {
        serde_json::from_str(text)
    }
}
