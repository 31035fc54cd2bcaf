//! The one list of Volley's process exit codes (k6's where they exist, documented in the
//! README). Every crate names a code through [`ExitCode`]; summaries, the coordinator's
//! status and pod states carry the number (`ExitCode::code`), read back with
//! [`ExitCode::from_code`].

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;

/// How a `volley` process ends. Ordered by the number, so `a.max(b)` keeps the worse of
/// two outcomes the way the commands that check many files do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExitCode {
    /// 0: the run passed, or the command did what was asked.
    Ok,
    /// 1: a generic failure (`volley fmt --check` found unformatted files).
    Failure,
    /// 2: bad usage or an IO error outside a test (a missing file).
    Usage,
    /// 99: a threshold failed (or no request got a response).
    ThresholdsFailed,
    /// 103: the fleet could not be deployed or started (API denied, quota, image, timeout).
    DeployFailed,
    /// 104: invalid input: the test does not compile, a plan or secret is missing.
    InvalidInput,
    /// 105: stopped by a signal (or `volley abort`).
    AbortedBySignal,
    /// 106: a port Volley must listen on could not be bound.
    CannotListen,
    /// 107: `setup` failed: no load was sent.
    SetupFailed,
    /// 108: a threshold with `abort_on_fail` stopped the run.
    AbortedByThreshold,
    /// 110: the fleet lost a runner.
    RunnersLost,
    /// 111: a runner lost its coordinator and stopped its load.
    CoordinatorLost,
    /// Any other code, passed through as it came (a pod killed with 137, say).
    Other(u8),
}

impl ExitCode {
    /// The number the process exits with.
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Ok => 0,
            ExitCode::Failure => 1,
            ExitCode::Usage => 2,
            ExitCode::ThresholdsFailed => 99,
            ExitCode::DeployFailed => 103,
            ExitCode::InvalidInput => 104,
            ExitCode::AbortedBySignal => 105,
            ExitCode::CannotListen => 106,
            ExitCode::SetupFailed => 107,
            ExitCode::AbortedByThreshold => 108,
            ExitCode::RunnersLost => 110,
            ExitCode::CoordinatorLost => 111,
            ExitCode::Other(c) => c,
        }
    }

    /// The code a number names; numbers outside 0..=255 read as a generic failure.
    pub fn from_code(code: i32) -> ExitCode {
        let Ok(c) = u8::try_from(code) else {
            return ExitCode::Failure;
        };
        ExitCode::ALL
            .iter()
            .copied()
            .find(|e| e.code() == c)
            .unwrap_or(ExitCode::Other(c))
    }

    /// The number as the summary JSON and the coordinator's status carry it.
    pub fn as_i32(self) -> i32 {
        i32::from(self.code())
    }

    /// Every named code.
    pub const ALL: [ExitCode; 12] = [
        ExitCode::Ok,
        ExitCode::Failure,
        ExitCode::Usage,
        ExitCode::ThresholdsFailed,
        ExitCode::DeployFailed,
        ExitCode::InvalidInput,
        ExitCode::AbortedBySignal,
        ExitCode::CannotListen,
        ExitCode::SetupFailed,
        ExitCode::AbortedByThreshold,
        ExitCode::RunnersLost,
        ExitCode::CoordinatorLost,
    ];
}

impl Ord for ExitCode {
    fn cmp(&self, other: &Self) -> Ordering {
        self.code().cmp(&other.code())
    }
}

impl PartialOrd for ExitCode {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Serialised as its number, as summaries and the coordinator's status have always carried it.
impl Serialize for ExitCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

impl<'de> Deserialize<'de> for ExitCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        i64::deserialize(d).map(|n| ExitCode::from_code(i32::try_from(n).unwrap_or(-1)))
    }
}

impl fmt::Display for ExitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::ExitCode;

    #[test]
    fn codes_round_trip_and_are_distinct() {
        for e in ExitCode::ALL {
            assert_eq!(ExitCode::from_code(e.as_i32()), e);
        }
        let mut codes: Vec<u8> = ExitCode::ALL.iter().map(|e| e.code()).collect();
        codes.dedup();
        assert_eq!(codes.len(), ExitCode::ALL.len(), "sorted and distinct");
        assert_eq!(ExitCode::from_code(137), ExitCode::Other(137));
        assert_eq!(ExitCode::from_code(-1), ExitCode::Failure);
        assert!(ExitCode::InvalidInput > ExitCode::Usage);
        let json = serde_json::to_string(&ExitCode::ThresholdsFailed).unwrap();
        assert_eq!(json, "99");
        assert_eq!(
            serde_json::from_str::<ExitCode>("111").unwrap(),
            ExitCode::CoordinatorLost
        );
    }
}
