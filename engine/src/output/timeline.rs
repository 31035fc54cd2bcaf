//! The run over time, as the HTML report draws it: one [`Point`] per flush interval,
//! computed from that interval's merged delta (latency percentiles from the interval's own
//! merged histogram, never averaged across intervals). Serializable, so a coordinator can
//! keep, ship or rebuild the same timeline for a fleet. Pure: no IO.

use super::Live;
use crate::metrics::{Aggregate, SeriesData};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Every interval of a run, in order.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    pub points: Vec<Point>,
}

/// One interval.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Point {
    /// End of the interval, ms since the run's start (the first flush counts from there).
    pub t_ms: u64,
    /// End of the interval, Unix ms.
    pub unix_ms: u64,
    /// Length of the interval in seconds (rates divide by it).
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
    /// The point of one interval: `delta` holds the interval's merged snapshots.
    pub fn from_delta(delta: &Aggregate, live: &Live, unix_ms: u64, secs: f64) -> Point {
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
            t_ms: u64::try_from(live.elapsed.as_millis()).unwrap_or(u64::MAX),
            unix_ms,
            secs,
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
