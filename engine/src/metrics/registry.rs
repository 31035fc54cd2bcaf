//! The registry of metrics of one run: k6's built-in metrics at fixed ids (see [`ids`]),
//! then the plan's own metrics in `Plan::metrics` order. Immutable once built and shared
//! (`Arc`) by every shard and aggregate of the run. It must not hold any sample.

use std::collections::HashMap;
use std::sync::Arc;
use volley_plan::plan::{MetricDef, MetricKind};

/// A metric's index in its [`Registry`]: cheap to copy, used on the hot path instead of names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricId(pub u16);

/// What a metric's values are, as k6's summary says it (`"contains"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Contains {
    /// Plain numbers.
    Default,
    /// Durations, recorded in milliseconds.
    Time,
    /// Byte counts.
    Data,
}

/// One metric's definition.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricInfo {
    pub name: String,
    pub kind: MetricKind,
    pub contains: Contains,
}

impl MetricInfo {
    /// Whether the values are durations in ms (time trends).
    pub fn is_time(&self) -> bool {
        self.contains == Contains::Time
    }
}

/// The ids of the built-in metrics: always the first entries of every registry.
pub mod ids {
    use super::MetricId;
    pub const HTTP_REQS: MetricId = MetricId(0);
    pub const HTTP_REQ_DURATION: MetricId = MetricId(1);
    pub const HTTP_REQ_BLOCKED: MetricId = MetricId(2);
    pub const HTTP_REQ_CONNECTING: MetricId = MetricId(3);
    pub const HTTP_REQ_TLS_HANDSHAKING: MetricId = MetricId(4);
    pub const HTTP_REQ_SENDING: MetricId = MetricId(5);
    pub const HTTP_REQ_WAITING: MetricId = MetricId(6);
    pub const HTTP_REQ_RECEIVING: MetricId = MetricId(7);
    pub const HTTP_REQ_FAILED: MetricId = MetricId(8);
    pub const ITERATIONS: MetricId = MetricId(9);
    pub const ITERATION_DURATION: MetricId = MetricId(10);
    pub const DROPPED_ITERATIONS: MetricId = MetricId(11);
    pub const VUS: MetricId = MetricId(12);
    pub const VUS_MAX: MetricId = MetricId(13);
    pub const CHECKS: MetricId = MetricId(14);
    pub const DATA_SENT: MetricId = MetricId(15);
    pub const DATA_RECEIVED: MetricId = MetricId(16);
    pub const GROUP_DURATION: MetricId = MetricId(17);
    pub const WS_CONNECTING: MetricId = MetricId(18);
    pub const WS_SESSION_DURATION: MetricId = MetricId(19);
    pub const WS_SESSIONS: MetricId = MetricId(20);
    pub const WS_MSGS_SENT: MetricId = MetricId(21);
    pub const WS_MSGS_RECEIVED: MetricId = MetricId(22);
    pub const WS_PING: MetricId = MetricId(23);
    pub const GRPC_REQ_DURATION: MetricId = MetricId(24);
    pub const GRPC_STREAMS: MetricId = MetricId(25);
    pub const GRPC_STREAMS_MSGS_SENT: MetricId = MetricId(26);
    pub const GRPC_STREAMS_MSGS_RECEIVED: MetricId = MetricId(27);
    pub const WS_CONNECT_ERRORS: MetricId = MetricId(28);
}

/// The built-in metrics in id order: (name, kind, contains).
pub const BUILTINS: &[(&str, MetricKind, Contains)] = &[
    ("http_reqs", MetricKind::Counter, Contains::Default),
    ("http_req_duration", MetricKind::Trend, Contains::Time),
    ("http_req_blocked", MetricKind::Trend, Contains::Time),
    ("http_req_connecting", MetricKind::Trend, Contains::Time),
    (
        "http_req_tls_handshaking",
        MetricKind::Trend,
        Contains::Time,
    ),
    ("http_req_sending", MetricKind::Trend, Contains::Time),
    ("http_req_waiting", MetricKind::Trend, Contains::Time),
    ("http_req_receiving", MetricKind::Trend, Contains::Time),
    ("http_req_failed", MetricKind::Rate, Contains::Default),
    ("iterations", MetricKind::Counter, Contains::Default),
    ("iteration_duration", MetricKind::Trend, Contains::Time),
    ("dropped_iterations", MetricKind::Counter, Contains::Default),
    ("vus", MetricKind::Gauge, Contains::Default),
    ("vus_max", MetricKind::Gauge, Contains::Default),
    ("checks", MetricKind::Rate, Contains::Default),
    ("data_sent", MetricKind::Counter, Contains::Data),
    ("data_received", MetricKind::Counter, Contains::Data),
    ("group_duration", MetricKind::Trend, Contains::Time),
    // WebSocket (`interp/ws.rs`), k6's names.
    ("ws_connecting", MetricKind::Trend, Contains::Time),
    ("ws_session_duration", MetricKind::Trend, Contains::Time),
    ("ws_sessions", MetricKind::Counter, Contains::Default),
    ("ws_msgs_sent", MetricKind::Counter, Contains::Default),
    ("ws_msgs_received", MetricKind::Counter, Contains::Default),
    ("ws_ping", MetricKind::Trend, Contains::Time),
    ("grpc_req_duration", MetricKind::Trend, Contains::Time),
    ("grpc_streams", MetricKind::Counter, Contains::Default),
    (
        "grpc_streams_msgs_sent",
        MetricKind::Counter,
        Contains::Default,
    ),
    (
        "grpc_streams_msgs_received",
        MetricKind::Counter,
        Contains::Default,
    ),
    // Volley's own: WebSocket sessions that did not open, tagged with `error_code` as
    // `http_reqs` is (k6 has no metric for them: a failed `ws.connect` only throws).
    ("ws_connect_errors", MetricKind::Counter, Contains::Default),
];

/// Every metric of a run, by id and by name.
#[derive(Debug)]
pub struct Registry {
    defs: Vec<MetricInfo>,
    by_name: HashMap<String, MetricId>,
}

impl Registry {
    /// The built-ins followed by `custom` (the plan's `metrics`). A custom metric whose
    /// name repeats an earlier one keeps its own id (see [`Registry::custom`]) but
    /// [`Registry::id`] finds the first; the compiler rejects such plans anyway.
    /// Metrics beyond `u16::MAX` are dropped.
    pub fn new(custom: &[MetricDef]) -> Arc<Registry> {
        let mut defs: Vec<MetricInfo> = BUILTINS
            .iter()
            .map(|(name, kind, contains)| MetricInfo {
                name: (*name).to_string(),
                kind: *kind,
                contains: *contains,
            })
            .collect();
        defs.extend(custom.iter().map(|d| MetricInfo {
            name: d.name.clone(),
            kind: d.kind,
            contains: if d.is_time && d.kind == MetricKind::Trend {
                Contains::Time
            } else {
                Contains::Default
            },
        }));
        defs.truncate(usize::from(u16::MAX));
        let mut by_name = HashMap::with_capacity(defs.len());
        for (i, d) in defs.iter().enumerate() {
            // `truncate` above keeps `i` within u16.
            let id = MetricId(u16::try_from(i).unwrap_or(u16::MAX));
            by_name.entry(d.name.clone()).or_insert(id);
        }
        Arc::new(Registry { defs, by_name })
    }

    /// The id of a metric by name.
    pub fn id(&self, name: &str) -> Option<MetricId> {
        self.by_name.get(name).copied()
    }

    /// The id of the plan's `index`-th own metric (`Plan::metrics[index]`).
    pub fn custom(&self, index: u32) -> Option<MetricId> {
        let i = BUILTINS.len().checked_add(usize::try_from(index).ok()?)?;
        (i < self.defs.len()).then(|| MetricId(u16::try_from(i).unwrap_or(u16::MAX)))
    }

    /// A metric's definition; `None` for an id from another registry.
    pub fn def(&self, id: MetricId) -> Option<&MetricInfo> {
        self.defs.get(usize::from(id.0))
    }

    /// A metric's definition by name.
    pub fn by_name(&self, name: &str) -> Option<&MetricInfo> {
        self.id(name).and_then(|id| self.def(id))
    }

    /// Number of metrics (built-in and custom).
    pub fn len(&self) -> usize {
        self.defs.len()
    }

    /// Never true: the built-ins are always there.
    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    /// Every metric in id order.
    pub fn iter(&self) -> impl Iterator<Item = (MetricId, &MetricInfo)> {
        self.defs
            .iter()
            .enumerate()
            .map(|(i, d)| (MetricId(u16::try_from(i).unwrap_or(u16::MAX)), d))
    }
}
