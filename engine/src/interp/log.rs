//! Rate-limited script output: `log(..)` lines and iteration errors, at most a burst of
//! [`BURST`] lines and [`PER_SECOND`] lines per second for the whole run (all workers),
//! with a note of how many lines were suppressed.
//!
//! Lines are `tracing` events of target [`TARGET`] with the VU's id as the field `vu`:
//! `log(..)` at INFO, an iteration's error at WARN, the suppression note at WARN. The
//! CLI's subscriber writes them (`INFO line vu=3` on a terminal, JSON lines in pods) and
//! `VOLLEY_LOG` filters them (`VOLLEY_LOG=volley::script=warn` keeps only the errors).
//!
//! A lock-free token bucket (GCRA over one atomic "theoretical arrival time"). Callers
//! pass text that is already redacted (`Display` of a value prints secrets as `***`);
//! this module never sees a secret. It must not block.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Lines per second, on average.
pub const PER_SECOND: u64 = 10;
/// Lines allowed at once after a quiet period.
pub const BURST: u64 = 10;

const INTERVAL_US: u64 = 1_000_000 / PER_SECOND;

/// The `tracing` target of script output.
pub const TARGET: &str = "volley::script";

/// What a line of script output is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line {
    /// A `log(..)` statement's text (INFO).
    Log,
    /// Why an iteration stopped (WARN).
    IterationError,
}

/// The run-wide limiter of script output.
#[derive(Debug)]
pub struct LogLimiter {
    start: Instant,
    /// Theoretical arrival time of the next line, µs since `start`.
    tat: AtomicU64,
    suppressed: AtomicU64,
}

impl Default for LogLimiter {
    fn default() -> Self {
        LogLimiter::new()
    }
}

impl LogLimiter {
    pub fn new() -> Self {
        LogLimiter {
            start: Instant::now(),
            tat: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Whether a line may be written now; counts it as suppressed otherwise.
    pub fn allow(&self) -> bool {
        let now = u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX);
        let mut tat = self.tat.load(Ordering::Relaxed);
        loop {
            let next = tat.max(now).saturating_add(INTERVAL_US);
            if next.saturating_sub(now) > BURST * INTERVAL_US {
                self.suppressed.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            match self
                .tat
                .compare_exchange_weak(tat, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(current) => tat = current,
            }
        }
    }

    /// Lines suppressed since the last call (resets the count).
    pub fn take_suppressed(&self) -> u64 {
        self.suppressed.swap(0, Ordering::Relaxed)
    }

    /// Logs `line` if the budget allows, first noting suppressed lines.
    pub fn write(&self, kind: Line, vu_id: u64, line: &str) {
        if self.allow() {
            let skipped = self.take_suppressed();
            if skipped > 0 {
                tracing::warn!(
                    target: TARGET,
                    suppressed = skipped,
                    "{skipped} lines suppressed (at most {PER_SECOND} lines/s)"
                );
            }
            match kind {
                Line::Log => tracing::info!(target: TARGET, vu = vu_id, "{line}"),
                Line::IterationError => tracing::warn!(target: TARGET, vu = vu_id, "{line}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_limits() {
        let l = LogLimiter::new();
        let allowed = (0..1000).filter(|_| l.allow()).count() as u64;
        // A burst of BURST (+1 for the first slot), never all 1000.
        assert!((BURST..=BURST + 2).contains(&allowed), "{allowed}");
        assert_eq!(l.take_suppressed(), 1000 - allowed);
        assert_eq!(l.take_suppressed(), 0);
    }
}
