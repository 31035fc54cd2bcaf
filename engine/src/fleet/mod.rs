//! The fleet: one test run as N runners that together reproduce the single-machine plan,
//! start at one instant and end with one verdict on their merged metrics.
//!
//! * [`protocol`]: the messages (docs/protocol.md is the narrative).
//! * [`state`]: the coordinator's pure state machine (joins, the exact merge of sequenced
//!   snapshots, barriers, heartbeats, lost runners).
//! * [`coordinator`]: the coordinator process: HTTP server, setup and teardown once,
//!   start instant, thresholds every 2 s on the merged data, summary.
//! * [`runner`]: the runner process: join, slice, ready, run one segment with the
//!   engine, push snapshots, obey stop, stop by itself when the coordinator is gone.
//! * [`local`]: `volley run --runners N`: a coordinator and N runner processes here.
//! * [`http`]: the small HTTP/1.1 client and server both sides use (hyper).
//!
//! This module must not schedule VUs or interpret code: a runner runs the engine's
//! ordinary driver (`run::run_with`) with a [`crate::run::FleetLink`].

pub mod coordinator;
pub mod http;
pub mod local;
pub mod protocol;
pub mod runner;
pub mod state;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long the coordinator's outputs wait after an interval's end before they close it
/// (see `OutputSet::set_settle`): a runner pushes its workers' deltas once a second, not
/// in step with the start, so a second's deltas reach the coordinator up to a push period
/// (plus the call) after it ends.
pub const OUTPUT_SETTLE: Duration = Duration::from_secs(2);

/// The current Unix time in ms.
pub fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A Unix time in ms as an `Instant` of this process (the past clamps to now). "Now" is
/// read to the nanosecond on both clocks: rounding it to the ms would shift each runner's
/// start by up to 1 ms, a skew of its own.
pub fn instant_of_unix_ms(at: u64) -> std::time::Instant {
    let now = std::time::Instant::now();
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    now + std::time::Duration::from_millis(at).saturating_sub(since_epoch)
}
