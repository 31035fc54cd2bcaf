//! Whether the load generator kept up. Each worker wakes every [`PROBE_EVERY`] and
//! measures how late its timer fired: on a worker that has the CPU it needs, that is
//! under a millisecond or two; on one short of CPU (too many VUs for its cores, a busy node,
//! a CPU limit that throttles the pod) its requests wait to be sent and their responses
//! to be read, so the latencies it records include its own delay, and an open model's
//! rate slips. Locust warns of this ("CPU usage above 90%"); k6 does not. Volley says
//! so at the end of the run, when the workers were stalled (late beyond [`TOLERANCE`])
//! for more than [`SHARE`] of the time they observed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often each worker probes its timer: short, so that a stall (a throttled period
/// is 100 ms) always covers at least one probe, whatever its phase.
pub(crate) const PROBE_EVERY: Duration = Duration::from_millis(10);
/// Lateness a worker with the CPU it needs still shows (the timer's 1 ms ticks, a busy
/// poll); only what is beyond it counts as stalled.
pub(crate) const TOLERANCE: Duration = Duration::from_millis(2);
/// The share of the run's time stalled above which the run is flagged.
pub(crate) const SHARE: f64 = 0.10;
/// A run shorter than this (per worker) says nothing.
const MIN_OBSERVED: Duration = Duration::from_secs(2);

/// The workers' probes, shared: the time they observed, and how much of it they were
/// stalled (late beyond [`TOLERANCE`]).
#[derive(Debug, Default)]
pub struct Lag {
    observed_us: AtomicU64,
    stalled_us: AtomicU64,
    worst_us: AtomicU64,
}

fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Lag {
    /// One probe, due [`PROBE_EVERY`] after the last, that fired `late` after it was due.
    pub(crate) fn record(&self, late: Duration) {
        self.observed_us
            .fetch_add(us(PROBE_EVERY + late), Ordering::Relaxed);
        self.stalled_us
            .fetch_add(us(late.saturating_sub(TOLERANCE)), Ordering::Relaxed);
        self.worst_us.fetch_max(us(late), Ordering::Relaxed);
    }

    /// The warning for the end of the run, when the generator fell behind.
    pub fn warning(&self) -> Option<String> {
        let observed = self.observed_us.load(Ordering::Relaxed);
        let stalled = self.stalled_us.load(Ordering::Relaxed);
        if observed < us(MIN_OBSERVED) || (stalled as f64) <= SHARE * observed as f64 {
            return None;
        }
        let worst = self.worst_us.load(Ordering::Relaxed) as f64 / 1000.0;
        Some(format!(
            "warning: the load generator was short of CPU: its workers were stalled for {}% \
             of the run, the longest stall {}. Its latencies include that wait and an \
             arrival rate may have slipped: give it more CPU (`--workers`, \
             `fleet.resources`) or more runners",
            (100 * stalled).div_ceil(observed),
            crate::summary::fmt_duration(worst)
        ))
    }
}

/// Probes the current worker's timer until aborted.
pub(crate) async fn probe(lag: Arc<Lag>) {
    let mut tick = tokio::time::interval_at((Instant::now() + PROBE_EVERY).into(), PROBE_EVERY);
    // After a late tick the next is due a period later, not at once (a burst would count
    // one stall many times).
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
    fn a_generator_is_flagged_only_past_the_share_of_stalled_time() {
        let lag = Lag::default();
        // 1.5 s of probes on time (under the tolerance): too short to say anything.
        for _ in 0..150 {
            lag.record(Duration::from_millis(1));
        }
        lag.record(Duration::from_millis(102));
        assert_eq!(lag.warning(), None, "under 2 s observed");
        // 3 s observed, 0.1 s stalled: 3 %.
        for _ in 0..140 {
            lag.record(Duration::from_micros(1500));
        }
        assert_eq!(lag.warning(), None);
        // Ten more stalls of 100 ms: 1.1 s of 4.5 s.
        for _ in 0..10 {
            lag.record(Duration::from_millis(102));
        }
        let w = lag.warning().expect("a quarter of the time stalled");
        assert!(
            w.contains("stalled for 25% of the run, the longest stall 102ms."),
            "{w}"
        );
    }
}
