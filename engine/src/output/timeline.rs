//! The run over time, as the HTML report draws it: one [`Point`] per interval, computed
//! from that interval's merged delta (latency percentiles from the interval's own merged
//! histogram, never averaged across intervals). Serializable, so a coordinator can keep,
//! ship or rebuild the same timeline for a fleet. Pure: no IO.
//!
//! Intervals are fixed on the run's start instant: interval `k` (from 1) covers
//! `((k-1)·PERIOD, k·PERIOD]`, and the last one ends when the run ends, so it may be
//! shorter or longer than a period. Every point carries its true start and end, and its
//! rates divide by its true length. A delta is filed by when it was taken
//! ([`interval_of`]), not by when it reached the outputs: the first interval starts at 0
//! however late the first deltas arrive, and the last one never gets two periods' deltas.

use super::Live;
use crate::metrics::{Aggregate, SeriesData};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The length of an interval, in ms: the workers' snapshot period.
pub const PERIOD_MS: u64 = 1000;

/// The interval (from 1) of a delta taken `end_ms` after the start: the nearest period
/// boundary, so a tick a little late, or a worker's last delta a few ms past a boundary,
/// belongs with the interval that ends there (never 0: deltas taken in the first half
/// period belong to the first interval).
pub fn interval_of(end_ms: u64) -> u64 {
    (end_ms.saturating_add(PERIOD_MS / 2) / PERIOD_MS).max(1)
}

/// Every interval of a run, in order.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    pub points: Vec<Point>,
}

/// One interval.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Point {
    /// Start of the interval, ms since the run's start (0 for the first one).
    #[serde(default)]
    pub start_ms: u64,
    /// End of the interval, ms since the run's start.
    pub t_ms: u64,
    /// End of the interval, Unix ms.
    pub unix_ms: u64,
    /// Length of the interval in seconds, `t_ms - start_ms` (rates divide by it).
    pub secs: f64,
    pub vus: u64,
    pub vus_max: u64,
    pub http_reqs: u64,
    /// Requests counted in `http_req_failed`.
    pub http_failed: u64,
    pub iterations: u64,
    pub dropped_iterations: u64,
    pub checks_passed: u64,
    pub checks_failed: u64,
    /// `http_req_duration` of this interval's requests (ms); `None` without requests.
    pub latency: Option<Latency>,
    pub data_sent: f64,
    pub data_received: f64,
}

/// Latency of one interval, in ms.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub avg: f64,
    pub max: f64,
}

impl Point {
    /// The point of the interval from `start_ms` to `live.elapsed` (its end): `delta`
    /// holds the interval's merged snapshots, `unix_ms` is its end in Unix ms.
    pub fn from_delta(delta: &Aggregate, live: &Live, unix_ms: u64, start_ms: u64) -> Point {
        let t_ms = u64::try_from(live.elapsed.as_millis()).unwrap_or(u64::MAX);
        let none = BTreeMap::new();
        let count = |m: &str| delta.view(m, &none).map_or(0.0, |v| v.sum);
        let (passed, failed) = rate_counts(delta, "checks");
        let (http_failed, _) = rate_counts(delta, "http_req_failed");
        let latency = delta
            .view("http_req_duration", &none)
            .filter(|v| v.count > 0)
            .map(|v| Latency {
                p50: v.percentile(50.0),
                p90: v.percentile(90.0),
                p95: v.percentile(95.0),
                p99: v.percentile(99.0),
                avg: v.avg,
                max: v.max,
            });
        Point {
            start_ms,
            t_ms,
            unix_ms,
            secs: t_ms.saturating_sub(start_ms) as f64 / 1000.0,
            vus: live.vus,
            vus_max: live.vus_max,
            http_reqs: count("http_reqs").round() as u64,
            http_failed,
            iterations: count("iterations").round() as u64,
            dropped_iterations: count("dropped_iterations").round() as u64,
            checks_passed: passed,
            checks_failed: failed,
            latency,
            data_sent: count("data_sent"),
            data_received: count("data_received"),
        }
    }

    /// Requests per second in this interval.
    pub fn rps(&self) -> f64 {
        per_sec(self.http_reqs as f64, self.secs)
    }
}

/// (hits, misses) of a rate metric over all its series.
fn rate_counts(agg: &Aggregate, metric: &str) -> (u64, u64) {
    let (mut hits, mut total) = (0u64, 0u64);
    for (m, _, data) in agg.series() {
        if let (true, SeriesData::Rate { hits: h, total: t }) = (m == metric, data) {
            hits += h;
            total += t;
        }
    }
    (hits, total.saturating_sub(hits))
}

/// `n / secs`, 0 for an empty interval.
pub fn per_sec(n: f64, secs: f64) -> f64 {
    if secs > 0.0 {
        n / secs
    } else {
        0.0
    }
}

impl Timeline {
    pub fn push(&mut self, p: Point) {
        self.points.push(p);
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{ids, Registry, Shard, Tags};
    use std::time::Duration;

    #[test]
    fn a_point_spans_its_interval_and_its_rates_divide_by_its_length() {
        let reg = Registry::new(&[]);
        let mut shard = Shard::new(std::sync::Arc::clone(&reg));
        for i in 0..90 {
            shard.count(ids::HTTP_REQS, &Tags::default(), 1.0);
            shard.rate(ids::HTTP_REQ_FAILED, &Tags::default(), i < 9);
            shard.rate(ids::CHECKS, &Tags::default(), i >= 3);
        }
        let mut delta = Aggregate::new(reg);
        delta.merge(&shard.take());
        let live = Live {
            elapsed: Duration::from_millis(4400),
            vus: 3,
            vus_max: 5,
        };
        let p = Point::from_delta(&delta, &live, 1_700_000_004_400, 4000);
        assert_eq!((p.start_ms, p.t_ms, p.secs), (4000, 4400, 0.4));
        assert_eq!(p.http_reqs, 90);
        assert!((p.rps() - 225.0).abs() < 1e-9, "90 in 0.4 s: {}", p.rps());
        assert_eq!(
            p.http_failed, 9,
            "failed requests are the rate's true samples"
        );
        assert_eq!((p.checks_passed, p.checks_failed), (87, 3));
        assert_eq!(per_sec(5.0, 0.0), 0.0);
    }
}
