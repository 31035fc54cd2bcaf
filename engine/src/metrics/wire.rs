//! A snapshot as a coordinator receives it: the same JSON as [`Snapshot`], but trend
//! histograms stay sparse (their non-empty buckets) until they are added into the
//! aggregate, so merging a runner's push costs one `record_n` per non-empty bucket instead
//! of materialising (and scanning) a dense histogram per series per push.
//! This module must not compute percentiles.

use super::hist;
use super::snapshot::{SeriesData, Snapshot};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct SparseSnapshot {
    pub series: Vec<SparseSeries>,
    /// The first error of each code the runner saw (see `crate::errors`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub first_errors: Vec<crate::errors::FirstError>,
    /// When the runner's worker took it (see [`Snapshot::end_ms`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<u64>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SparseSeries {
    pub metric: String,
    pub tags: BTreeMap<String, String>,
    pub data: SparseData,
}

/// [`SeriesData`] with a trend's histogram as its buckets `(value in units, count)`.
/// Read through a flat record ([`RawData`]) rather than serde's internally tagged enum,
/// which would buffer every series into an intermediate tree first.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[serde(try_from = "RawData")]
pub enum SparseData {
    Trend {
        sum: f64,
        min: f64,
        max: f64,
        hist: Vec<(u64, u64)>,
    },
    Counter {
        sum: f64,
    },
    Rate {
        hits: u64,
        total: u64,
    },
    Gauge {
        value: f64,
        min: f64,
        max: f64,
    },
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Trend,
    Counter,
    Rate,
    Gauge,
}

/// Every field any kind has: one pass over the JSON, no buffering.
#[derive(Deserialize)]
struct RawData {
    kind: Kind,
    sum: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    hist: Option<Vec<(u64, u64)>>,
    hits: Option<u64>,
    total: Option<u64>,
    value: Option<f64>,
}

/// A series of a snapshot's JSON that lacks a field its kind needs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("series without `{0}`")]
    Missing(&'static str),
    #[error("trend without `hist`")]
    TrendWithoutHist,
    #[error("rate without `{0}`")]
    RateWithout(&'static str),
}

impl TryFrom<RawData> for SparseData {
    type Error = WireError;

    fn try_from(r: RawData) -> Result<SparseData, WireError> {
        let need = |x: Option<f64>, f: &'static str| x.ok_or(WireError::Missing(f));
        Ok(match r.kind {
            Kind::Trend => SparseData::Trend {
                sum: need(r.sum, "sum")?,
                min: need(r.min, "min")?,
                max: need(r.max, "max")?,
                hist: r.hist.ok_or(WireError::TrendWithoutHist)?,
            },
            Kind::Counter => SparseData::Counter {
                sum: need(r.sum, "sum")?,
            },
            Kind::Rate => SparseData::Rate {
                hits: r.hits.ok_or(WireError::RateWithout("hits"))?,
                total: r.total.ok_or(WireError::RateWithout("total"))?,
            },
            Kind::Gauge => SparseData::Gauge {
                value: need(r.value, "value")?,
                min: need(r.min, "min")?,
                max: need(r.max, "max")?,
            },
        })
    }
}

impl SparseData {
    /// The data as a dense series (trends get a histogram of their buckets).
    pub fn to_dense(&self) -> SeriesData {
        match self {
            SparseData::Trend {
                sum,
                min,
                max,
                hist: pairs,
            } => {
                let mut h = hist::new_hist();
                hist::add_buckets(&mut h, pairs);
                SeriesData::Trend {
                    sum: *sum,
                    min: *min,
                    max: *max,
                    hist: hist::Hist(h),
                }
            }
            SparseData::Counter { sum } => SeriesData::Counter { sum: *sum },
            SparseData::Rate { hits, total } => SeriesData::Rate {
                hits: *hits,
                total: *total,
            },
            SparseData::Gauge { value, min, max } => SeriesData::Gauge {
                value: *value,
                min: *min,
                max: *max,
            },
        }
    }
}

impl SparseSnapshot {
    /// A counter's total over all its series (0 when absent).
    pub fn counter(&self, metric: &str) -> f64 {
        self.series
            .iter()
            .filter(|s| s.metric == metric)
            .map(|s| match s.data {
                SparseData::Counter { sum } => sum,
                _ => 0.0,
            })
            .sum()
    }
}

impl From<&Snapshot> for SparseSnapshot {
    fn from(s: &Snapshot) -> SparseSnapshot {
        SparseSnapshot {
            series: s
                .series
                .iter()
                .map(|x| SparseSeries {
                    metric: x.metric.clone(),
                    tags: x.tags.clone(),
                    data: match &x.data {
                        SeriesData::Trend {
                            sum,
                            min,
                            max,
                            hist: h,
                        } => SparseData::Trend {
                            sum: *sum,
                            min: *min,
                            max: *max,
                            hist: hist::buckets(&h.0),
                        },
                        SeriesData::Counter { sum } => SparseData::Counter { sum: *sum },
                        SeriesData::Rate { hits, total } => SparseData::Rate {
                            hits: *hits,
                            total: *total,
                        },
                        SeriesData::Gauge { value, min, max } => SparseData::Gauge {
                            value: *value,
                            min: *min,
                            max: *max,
                        },
                    },
                })
                .collect(),
            first_errors: s.first_errors.clone(),
            end_ms: s.end_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{ids, Aggregate, Registry, Shard, Tags};
    use std::sync::Arc;

    #[test]
    fn a_snapshot_read_sparse_merges_exactly_as_the_dense_one() {
        let reg = Registry::new(&[]);
        let mut shard = Shard::new(Arc::clone(&reg));
        let tags = Tags {
            name: Some(Arc::from("/x")),
            ..Tags::default()
        };
        for i in 0..500u32 {
            shard.trend(ids::HTTP_REQ_DURATION, &tags, f64::from(i % 97) * 3.7 + 0.2);
            shard.count(ids::HTTP_REQS, &tags, 1.0);
            shard.rate(ids::CHECKS, &tags, i % 5 != 0);
        }
        shard.gauge(ids::VUS, &Tags::default(), 7.0);
        let snap = shard.take();
        let json = snap.to_json().unwrap();
        let sparse: SparseSnapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(sparse, SparseSnapshot::from(&snap));
        let (mut dense, mut merged) = (Aggregate::new(Arc::clone(&reg)), Aggregate::new(reg));
        for _ in 0..3 {
            dense.merge(&snap);
            merged.merge_sparse(&sparse);
        }
        assert_eq!(dense.to_snapshot(), merged.to_snapshot());
        let none = BTreeMap::new();
        let (a, b) = (
            dense.view("http_req_duration", &none).unwrap(),
            merged.view("http_req_duration", &none).unwrap(),
        );
        assert_eq!((a.count, a.min, a.max), (1500, b.min, b.max));
        assert_eq!(a.percentile(99.0), b.percentile(99.0));
        // And the dense reading of the same JSON round-trips.
        assert_eq!(Snapshot::from_json(&json).unwrap(), snap);
    }
}
