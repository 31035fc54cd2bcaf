//! The messages of the runner ⇄ coordinator protocol, version [`PROTOCOL`] (see
//! docs/protocol.md for the sequence). JSON bodies; metric snapshots travel as the
//! engine's [`Snapshot`] (whole HDR histograms as their non-empty buckets, never
//! percentiles), read by the coordinator as [`SparseSnapshot`]s.
//!
//! These types live in the engine rather than in `volley-plan` because they carry engine
//! types (snapshots with histograms, runtime setup values). This module must not do IO.

use crate::metrics::{Snapshot, SparseSnapshot};
use crate::value::Value;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use volley_plan::segment::Segment;

/// The protocol version both sides must speak.
pub const PROTOCOL: u32 = 1;
/// The coordinator's default port (k6's API port).
pub const DEFAULT_PORT: u16 = 6565;
/// The environment variable holding the per-run token on both sides.
pub const TOKEN_ENV: &str = "VOLLEY_TOKEN";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Join {
    pub protocol: u32,
    pub segment: Segment,
    pub plan_hash: String,
    /// Who this runner is (pod name or `pid N`), for logs and replacements.
    pub instance: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Joined {
    pub run: String,
    pub grace_ms: u64,
    pub heartbeat_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ready {
    pub protocol: u32,
    pub index: u32,
    pub instance: String,
}

/// The coordinator's orders, long-polled by every runner.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Control {
    /// Bumped on every change.
    pub version: u64,
    pub start: Option<Start>,
    /// `start = after(..)` scenarios released fleet-wide: scenario index → start instant
    /// (Unix ms).
    pub released: BTreeMap<u32, u64>,
    pub stop: Option<StopReason>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Start {
    /// The fleet's start instant, Unix ms.
    pub at_unix_ms: u64,
    pub setup_values: Vec<WireValue>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// `volley abort` or a signal to the coordinator.
    Stop,
    /// A threshold with `abort_on_fail` failed on the merged metrics.
    AbortOnFail,
    /// The run failed before it started (a start timeout, a failed setup).
    Failed,
}

/// A snapshot with its sequence number. Runners send [`Snapshot`]s; the coordinator reads
/// the same JSON as [`SparseSnapshot`]s, merging trend buckets without a dense copy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sequenced<S = Snapshot> {
    pub seq: u64,
    pub snapshot: S,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Push<S = Snapshot> {
    pub protocol: u32,
    pub index: u32,
    pub instance: String,
    /// Every snapshot not yet acknowledged, in `seq` order.
    pub snapshots: Vec<Sequenced<S>>,
    /// When this runner sent its first request (Unix µs), once it has.
    pub first_request_unix_us: Option<u64>,
    /// When this runner's workers actually started (woke at the agreed start instant),
    /// Unix µs, once they have: the fleet's start skew and each runner's start offset.
    #[serde(default)]
    pub started_unix_us: Option<u64>,
    /// Scenarios that have finished on this runner.
    pub finished: Vec<u32>,
    /// This is the runner's last push: its load has ended.
    pub done: bool,
    /// The runner was stopped by a signal to it (a pod eviction), not by the coordinator:
    /// its share is short. A `done` push with it makes the runner lost (with its data).
    #[serde(default)]
    pub stopped: bool,
}

/// A push as the coordinator reads it.
pub type ReceivedPush = Push<SparseSnapshot>;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PushAck {
    /// The highest `seq` applied; the runner drops every snapshot up to it.
    pub acked: u64,
    /// Set when the batch started past the next expected `seq` (a lost push).
    pub missing_from: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

/// A setup value on the wire: the runtime values a `let` in setup can hold, secrets kept
/// tainted (a secret stays a secret on every runner). Responses do not travel: setup must
/// keep the field it needs (`r.header("x-token")`, `r.json("id").int()`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "t", content = "v")]
pub enum WireValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Secret(String),
    Duration(f64),
    Size(f64),
    Percent(f64),
    List(Vec<WireValue>),
    Record(Vec<(String, WireValue)>),
    Json(serde_json::Value),
}

/// A setup value that cannot travel to the runners.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("a response cannot be shared with the runners; keep the field you need (e.g. `r.header(\"x-token\")`)")]
    Response,
}

impl WireValue {
    /// The wire form of a setup value; `Err` names the kind that cannot travel.
    pub fn from_value(v: &Value) -> Result<WireValue, WireError> {
        Ok(match v {
            Value::Null => WireValue::Null,
            Value::Bool(b) => WireValue::Bool(*b),
            Value::Int(i) => WireValue::Int(*i),
            Value::Float(f) => WireValue::Float(*f),
            Value::Str(s) => WireValue::Str(s.to_string()),
            Value::Secret(s) => WireValue::Secret(s.to_string()),
            Value::Duration(d) => WireValue::Duration(*d),
            Value::Size(d) => WireValue::Size(*d),
            Value::Percent(d) => WireValue::Percent(*d),
            Value::List(xs) => WireValue::List(
                xs.iter()
                    .map(WireValue::from_value)
                    .collect::<Result<_, _>>()?,
            ),
            Value::Record(fields) => WireValue::Record(
                fields
                    .iter()
                    .map(|(k, v)| Ok((k.to_string(), WireValue::from_value(v)?)))
                    .collect::<Result<_, WireError>>()?,
            ),
            Value::Json(j) => WireValue::Json((**j).clone()),
            Value::Response(_) | Value::Ws(_) => return Err(WireError::Response),
        })
    }

    pub fn to_value(&self) -> Value {
        match self {
            WireValue::Null => Value::Null,
            WireValue::Bool(b) => Value::Bool(*b),
            WireValue::Int(i) => Value::Int(*i),
            WireValue::Float(f) => Value::Float(*f),
            WireValue::Str(s) => Value::Str(Arc::from(s.as_str())),
            WireValue::Secret(s) => Value::Secret(Arc::from(s.as_str())),
            WireValue::Duration(d) => Value::Duration(*d),
            WireValue::Size(d) => Value::Size(*d),
            WireValue::Percent(d) => Value::Percent(*d),
            WireValue::List(xs) => Value::List(xs.iter().map(WireValue::to_value).collect()),
            WireValue::Record(fields) => Value::Record(
                fields
                    .iter()
                    .map(|(k, v)| (Arc::from(k.as_str()), v.to_value()))
                    .collect(),
            ),
            WireValue::Json(j) => Value::Json(Arc::new(j.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_values_round_trip_and_secrets_stay_tainted() {
        let v = Value::List(
            vec![
                Value::Secret(Arc::from("s3cr3t")),
                Value::Record(vec![(Arc::from("n"), Value::Int(3))].into()),
                Value::Duration(250.0),
            ]
            .into(),
        );
        let wire = WireValue::from_value(&v).unwrap();
        let text = serde_json::to_string(&wire).unwrap();
        let back: WireValue = serde_json::from_str(&text).unwrap();
        let v2 = back.to_value();
        let Value::List(xs) = &v2 else {
            panic!("not a list: {v2:?}")
        };
        assert!(xs[0].is_secret());
        assert_eq!(xs[2].as_f64(), Some(250.0));
        assert_eq!(xs[1].field("n").and_then(|n| n.as_f64()), Some(3.0));
    }

    #[test]
    fn control_state_serialises_compactly() {
        let c = Control {
            version: 3,
            start: Some(Start {
                at_unix_ms: 1_700_000_000_000,
                setup_values: vec![],
            }),
            released: BTreeMap::from([(1, 1_700_000_060_000)]),
            stop: Some(StopReason::AbortOnFail),
        };
        let text = serde_json::to_string(&c).unwrap();
        assert!(text.contains("\"stop\":\"abort_on_fail\""), "{text}");
        assert_eq!(serde_json::from_str::<Control>(&text).unwrap(), c);
    }
}
