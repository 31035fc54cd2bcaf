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
//! * [`datadir`]: data packs read from `--data-dir` (shared rows, the runners' slices).
//! * [`http`]: the small HTTP/1.1 client and server both sides use (hyper).
//!
//! The coordinator is the run's supervisor (`crate::run::supervisor`) with the hub of
//! runners as its source; a runner is the engine's local source (`crate::run::local`)
//! whose snapshots go to the coordinator.
//!
//! This module must not schedule VUs or interpret code.

pub mod coordinator;
pub mod datadir;
pub mod http;
pub mod local;
pub mod protocol;
pub mod runner;
pub mod state;

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use volley_plan::ExitCode;

/// Why a fleet could not start, or a runner could not run, with its exit code
/// ([`FleetError::exit_code`]).
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("runner {index} exited before the start ({status})")]
    ExitedBeforeStart { index: u32, status: String },
    #[error("not every runner was ready within the start timeout ({timeout}): {stuck}")]
    StartTimeout { timeout: String, stuck: String },
    /// A signal or `volley abort` before the start.
    #[error("stopped before the start")]
    Stopped,
    #[error("setup value `{name}`")]
    SetupValue {
        name: String,
        #[source]
        source: protocol::WireError,
    },
    #[error("cannot listen")]
    Listen(#[source] std::io::Error),
    #[error("cannot start a runtime")]
    Runtime(#[source] std::io::Error),
    /// The coordinator refused this runner (another plan, replaced, declared lost).
    #[error("the coordinator refused this runner: {0}")]
    Refused(String),
    #[error("bad join answer")]
    BadAnswer(#[source] serde_json::Error),
    #[error("cannot reach the coordinator: {0}")]
    Unreachable(String),
    #[error("data slice: {0}")]
    Slice(String),
    #[error("cannot start the network thread")]
    Thread(#[source] std::io::Error),
    /// The runner's segment cannot be told (flags, `JOB_COMPLETION_INDEX`, the plan).
    #[error("{0}")]
    Segment(String),
    #[error("cannot write {path}")]
    WritePlan {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start runner {index}")]
    Spawn {
        index: u32,
        #[source]
        source: std::io::Error,
    },
}

impl FleetError {
    /// The exit code of a coordinator or runner ending with this error.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            FleetError::ExitedBeforeStart { .. }
            | FleetError::StartTimeout { .. }
            | FleetError::Refused(_)
            | FleetError::BadAnswer(_)
            | FleetError::Slice(_) => ExitCode::InvalidInput,
            FleetError::Stopped => ExitCode::AbortedBySignal,
            FleetError::SetupValue { .. } => ExitCode::SetupFailed,
            FleetError::Unreachable(_) => ExitCode::CoordinatorLost,
            FleetError::Segment(_) | FleetError::WritePlan { .. } | FleetError::Spawn { .. } => {
                ExitCode::Usage
            }
            FleetError::Listen(_) | FleetError::Runtime(_) | FleetError::Thread(_) => {
                ExitCode::Failure
            }
        }
    }
}

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
