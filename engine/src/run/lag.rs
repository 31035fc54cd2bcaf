//! Whether the load generator kept up. Each worker wakes every [`PROBE_EVERY`] and
//! measures how late its timer fired: on a worker that has the CPU it needs, that is
//! about a millisecond; on one short of CPU (too many VUs for its cores, a busy node,
//! a CPU limit that throttles the pod) its requests wait to be sent and their responses
//! to be read, so the latencies it records include its own delay, and an open model's
//! rate slips. Locust warns of this ("CPU usage above 90%"); k6 does not. Volley says
//! so at the end of the run, when more than [`SHARE`] of the probes were [`LATE`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often each worker probes its timer.
pub(crate) const PROBE_EVERY: Duration = Duration::from_millis(100);
/// A probe this late means the worker was busy (or had no CPU) for that long.
pub(crate) const LATE: Duration = Duration::from_millis(10);
/// The share of late probes above which the run is flagged.
pub(crate) const SHARE: f64 = 0.10;
/// Fewer probes than this (a run under 2 s per worker) say nothing.
const MIN_PROBES: u64 = 20;

/// The workers' probes, shared.
#[derive(Debug, Default)]
pub struct Lag {
    probes: AtomicU64,
    late: AtomicU64,
    worst_us: AtomicU64,
}

impl Lag {
    /// One probe that fired `late` after it was due.
    pub(crate) fn record(&self, late: Duration) {
        self.probes.fetch_add(1, Ordering::Relaxed);
        if late >= LATE {
            self.late.fetch_add(1, Ordering::Relaxed);
        }
        let us = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        self.worst_us.fetch_max(us, Ordering::Relaxed);
    }

    /// The warning for the end of the run, when the generator fell behind.
    pub fn warning(&self) -> Option<String> {
        let probes = self.probes.load(Ordering::Relaxed);
        let late = self.late.load(Ordering::Relaxed);
        if probes < MIN_PROBES || (late as f64) <= SHARE * probes as f64 {
            return None;
        }
        let worst = Duration::from_micros(self.worst_us.load(Ordering::Relaxed));
        Some(format!(
            "warning: the load generator was short of CPU: {late} of its {probes} timer checks \
             ({}%) fired {} ms or more late, the worst by {}. Its latencies include that wait and \
             an arrival rate may have slipped: give it more CPU (`--workers`, \
             `fleet.resources`) or more runners",
            (100 * late).div_ceil(probes),
            LATE.as_millis(),
            crate::summary::fmt_duration(worst.as_secs_f64() * 1000.0)
        ))
    }
}

/// Probes the current worker's timer until aborted.
pub(crate) async fn probe(lag: Arc<Lag>) {
    let mut tick = tokio::time::interval_at((Instant::now() + PROBE_EVERY).into(), PROBE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let due = tick.tick().await;
        lag.record(Instant::now().saturating_duration_since(due.into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generator_is_flagged_only_past_the_share_of_late_probes() {
        let lag = Lag::default();
        for _ in 0..18 {
            lag.record(Duration::from_millis(1));
        }
        lag.record(Duration::from_millis(40));
        assert_eq!(lag.warning(), None, "too few probes");
        for _ in 0..81 {
            lag.record(Duration::from_micros(900));
        }
        // 1 late of 100.
        assert_eq!(lag.warning(), None);
        for _ in 0..11 {
            lag.record(Duration::from_millis(12));
        }
        let w = lag.warning().expect("12 of 111 late");
        assert!(w.contains("12 of its 111 timer checks (11%)"), "{w}");
        assert!(w.contains("the worst by 40ms"), "{w}");
    }
}
