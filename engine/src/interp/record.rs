//! The interpreter's side of metrics: turns what a VU did (a request, a check, an
//! iteration, a group, a custom metric, a dropped arrival) into samples of k6's metrics
//! with their tags, in the worker's shard.
//!
//! Tags per metric (k6's): request metrics (`http_reqs`, `http_req_duration` and its six
//! phases, `http_req_failed`, `data_sent`, `data_received`) carry `scenario`, `group`,
//! `name`, `method`, `status`, `expected_response` and `error_code` (on transport errors),
//! all in one tag set so a request costs one series lookup; `checks` carry `scenario`,
//! `group`, `check`; `iterations`, `iteration_duration` and `dropped_iterations` carry
//! `scenario`; `group_duration` and the file's own metrics `scenario` and `group`. Every
//! sample also carries the scenario's own `tags = {..}`, and a request's samples its own
//! `tags: {..}` over them (a request tag wins over a scenario tag of the same key, and
//! its `group` or `scenario` over the VU's, as in k6 1.1).
//!
//! This module must not aggregate or evaluate anything.

use super::tags::TagMap;
use crate::metrics::{ids, Registry, SeriesId, Shard, Tags};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

/// What one request did, for its samples.
pub struct HttpSample<'a> {
    pub group: &'a Option<Arc<str>>,
    pub name: &'a Arc<str>,
    pub method: &'a Arc<str>,
    /// The request's own tags (`tags: {..}`), over the scenario's.
    pub tags: &'a Option<TagMap>,
    /// 0 on a transport error.
    pub status: u16,
    pub expected: bool,
    pub duration_ms: f64,
    pub blocked_ms: f64,
    pub connecting_ms: f64,
    pub tls_handshaking_ms: f64,
    pub sending_ms: f64,
    pub waiting_ms: f64,
    pub receiving_ms: f64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub error_code: Option<u32>,
}

/// Most recent tag sets a recorder remembers per kind of sample: a VU's iteration visits
/// few request sites, checks and groups, so a short scan finds them; a miss costs one
/// lookup in the shard, as without the cache.
const REMEMBERED: usize = 8;

/// The tags of a request's samples beyond the scenario's (see [`Recorder::http`]).
struct HttpKey {
    group: Option<Arc<str>>,
    name: Arc<str>,
    method: Arc<str>,
    tags: Option<TagMap>,
    status: u16,
    expected: bool,
    error_code: Option<u32>,
}

impl HttpKey {
    fn of(s: &HttpSample<'_>) -> HttpKey {
        HttpKey {
            group: s.group.clone(),
            name: Arc::clone(s.name),
            method: Arc::clone(s.method),
            tags: s.tags.clone(),
            status: s.status,
            expected: s.expected,
            error_code: s.error_code,
        }
    }

    fn is(&self, s: &HttpSample<'_>) -> bool {
        self.status == s.status
            && self.expected == s.expected
            && self.error_code == s.error_code
            && self.name == *s.name
            && self.method == *s.method
            && self.group == *s.group
            && match (&self.tags, s.tags) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
                _ => false,
            }
    }
}

/// A small most-recent-first map from tags (beyond the scenario's) to the shard's series.
/// `Arc<str>` fields compare by pointer first, so keys from one request site match fast.
struct Remembered<K>(Vec<(K, SeriesId)>);

impl<K> Remembered<K> {
    fn find(&self, is: impl Fn(&K) -> bool) -> Option<SeriesId> {
        self.0.iter().find(|(k, _)| is(k)).map(|(_, s)| *s)
    }

    fn put(&mut self, key: K, s: SeriesId) {
        if self.0.len() >= REMEMBERED {
            self.0.pop();
        }
        self.0.insert(0, (key, s));
    }
}

/// A VU's (or a dispatcher's) handle on its worker's shard, with its scenario's tags.
/// It remembers the series of the tags it recorded last (per request site, check and
/// group), so a steady iteration records its samples without hashing any tags.
pub struct Recorder {
    shard: Rc<RefCell<Shard>>,
    reg: Arc<Registry>,
    base: Tags,
    /// The series of `base` alone.
    base_series: Option<SeriesId>,
    http: Remembered<HttpKey>,
    /// `base` plus a group (group durations, the file's own metrics).
    groups: Remembered<Option<Arc<str>>>,
    /// `base` plus a group and a check name.
    checks: Remembered<(Option<Arc<str>>, Arc<str>)>,
}

impl Recorder {
    /// A recorder for `scenario` (its name and own tags).
    pub fn new(
        shard: Rc<RefCell<Shard>>,
        scenario: &str,
        tags: &BTreeMap<String, String>,
    ) -> Recorder {
        let reg = Arc::clone(shard.borrow().registry());
        Recorder {
            shard,
            reg,
            base: Tags::scenario(scenario, tags),
            base_series: None,
            http: Remembered(Vec::new()),
            groups: Remembered(Vec::new()),
            checks: Remembered(Vec::new()),
        }
    }

    fn with_group(&self, group: &Option<Arc<str>>) -> Tags {
        let mut t = self.base.clone();
        t.group.clone_from(group);
        t
    }

    fn base_series(&mut self, sh: &mut Shard) -> SeriesId {
        *self
            .base_series
            .get_or_insert_with(|| sh.series(&self.base))
    }

    fn group_series(&mut self, sh: &mut Shard, group: &Option<Arc<str>>) -> SeriesId {
        if let Some(s) = self.groups.find(|g| g == group) {
            return s;
        }
        let s = sh.series(&self.with_group(group));
        self.groups.put(group.clone(), s);
        s
    }

    fn http_series(&mut self, sh: &mut Shard, s: &HttpSample<'_>) -> SeriesId {
        if let Some(id) = self.http.find(|k| k.is(s)) {
            return id;
        }
        let mut t = self.with_group(s.group);
        t.name = Some(Arc::clone(s.name));
        t.method = Some(Arc::clone(s.method));
        t.status = Some(s.status);
        t.expected_response = Some(s.expected);
        t.error_code = s.error_code;
        if let Some(own) = s.tags {
            // The request's tags over the scenario's, as k6 merges them.
            let mut extra = t.extra.as_deref().cloned().unwrap_or_default();
            extra.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
            t.extra = Some(Arc::new(extra));
            // As in k6, a request's `group` and `scenario` replace the VU's.
            if let Some(g) = own.get("group") {
                t.group = Some(Arc::from(g.as_str()));
            }
            if let Some(s) = own.get("scenario") {
                t.scenario = Some(Arc::from(s.as_str()));
            }
        }
        let id = sh.series(&t);
        self.http.put(HttpKey::of(s), id);
        id
    }

    pub fn http(&mut self, s: &HttpSample<'_>) {
        let shard = Rc::clone(&self.shard);
        let mut sh = shard.borrow_mut();
        let t = self.http_series(&mut sh, s);
        sh.count_at(t, ids::HTTP_REQS, 1.0);
        sh.trends_at(
            t,
            &[
                (ids::HTTP_REQ_DURATION, s.duration_ms),
                (ids::HTTP_REQ_BLOCKED, s.blocked_ms),
                (ids::HTTP_REQ_CONNECTING, s.connecting_ms),
                (ids::HTTP_REQ_TLS_HANDSHAKING, s.tls_handshaking_ms),
                (ids::HTTP_REQ_SENDING, s.sending_ms),
                (ids::HTTP_REQ_WAITING, s.waiting_ms),
                (ids::HTTP_REQ_RECEIVING, s.receiving_ms),
            ],
        );
        sh.rate_at(t, ids::HTTP_REQ_FAILED, !s.expected);
        sh.count_at(t, ids::DATA_SENT, s.bytes_sent as f64);
        sh.count_at(t, ids::DATA_RECEIVED, s.bytes_received as f64);
    }

    /// A gRPC call's `grpc_req_duration`, tagged `name` and `method` (the method's path)
    /// and `status` (its gRPC code), with the call's own tags over the scenario's, and
    /// `error_code` when no server answered it (its connection failed).
    pub fn grpc(
        &mut self,
        group: &Option<Arc<str>>,
        name: &Arc<str>,
        tags: &Option<TagMap>,
        status: u16,
        error_code: Option<u32>,
        duration_ms: f64,
    ) {
        let shard = Rc::clone(&self.shard);
        let mut sh = shard.borrow_mut();
        let s = self.grpc_series(&mut sh, group, name, tags, (status, error_code));
        sh.trend_at(s, ids::GRPC_REQ_DURATION, duration_ms);
    }

    /// A gRPC stream's `grpc_streams` (+1), `grpc_streams_msgs_sent` and
    /// `grpc_streams_msgs_received` (`counts`: sent, received), tagged as [`Self::grpc`].
    pub fn grpc_stream(
        &mut self,
        group: &Option<Arc<str>>,
        name: &Arc<str>,
        tags: &Option<TagMap>,
        status: u16,
        error_code: Option<u32>,
        counts: (usize, usize),
    ) {
        let shard = Rc::clone(&self.shard);
        let mut sh = shard.borrow_mut();
        let s = self.grpc_series(&mut sh, group, name, tags, (status, error_code));
        sh.count_at(s, ids::GRPC_STREAMS, 1.0);
        sh.count_at(s, ids::GRPC_STREAMS_MSGS_SENT, counts.0 as f64);
        sh.count_at(s, ids::GRPC_STREAMS_MSGS_RECEIVED, counts.1 as f64);
    }

    /// The series of a gRPC call's samples.
    fn grpc_series(
        &self,
        sh: &mut Shard,
        group: &Option<Arc<str>>,
        name: &Arc<str>,
        tags: &Option<TagMap>,
        (status, error_code): (u16, Option<u32>),
    ) -> SeriesId {
        let mut t = self.with_group(group);
        t.name = Some(Arc::clone(name));
        t.method = Some(Arc::clone(name));
        t.status = Some(status);
        t.error_code = error_code;
        if let Some(own) = tags {
            let mut extra = t.extra.as_deref().cloned().unwrap_or_default();
            extra.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
            t.extra = Some(Arc::new(extra));
        }
        sh.series(&t)
    }

    /// The first occurrence of error `code` in this worker (a request `request` to
    /// `target`, failed with `message`, already redacted), for the summary's errors
    /// section; later ones cost a short scan.
    pub fn first_error(&mut self, code: u32, request: &str, target: &str, message: String) {
        self.shard
            .borrow_mut()
            .first_error(code, || crate::errors::FirstError {
                code,
                request: request.to_string(),
                target: target.to_string(),
                message,
                at_unix_ms: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64),
            });
    }

    /// A `checks` sample (`ok`: passed).
    pub fn check(&mut self, group: &Option<Arc<str>>, name: &Arc<str>, ok: bool) {
        let shard = Rc::clone(&self.shard);
        let mut sh = shard.borrow_mut();
        let s = match self.checks.find(|(g, c)| c == name && g == group) {
            Some(s) => s,
            None => {
                let mut t = self.with_group(group);
                t.check = Some(Arc::clone(name));
                let s = sh.series(&t);
                self.checks.put((group.clone(), Arc::clone(name)), s);
                s
            }
        };
        sh.rate_at(s, ids::CHECKS, ok);
    }

    /// A completed iteration and its duration.
    pub fn iteration(&mut self, duration_ms: f64) {
        let shard = Rc::clone(&self.shard);
        let mut sh = shard.borrow_mut();
        let s = self.base_series(&mut sh);
        sh.count_at(s, ids::ITERATIONS, 1.0);
        sh.trend_at(s, ids::ITERATION_DURATION, duration_ms);
    }

    pub fn group_duration(&mut self, group: &Option<Arc<str>>, ms: f64) {
        let shard = Rc::clone(&self.shard);
        let mut sh = shard.borrow_mut();
        let s = self.group_series(&mut sh, group);
        sh.trend_at(s, ids::GROUP_DURATION, ms);
    }

    /// `metric.add(v)` of the file's metric `metric` (index into `Plan::metrics`).
    pub fn custom(&mut self, metric: u32, group: &Option<Arc<str>>, value: f64) {
        if let Some(id) = self.reg.custom(metric) {
            let shard = Rc::clone(&self.shard);
            let mut sh = shard.borrow_mut();
            let s = self.group_series(&mut sh, group);
            sh.add_at(s, id, value);
        }
    }

    /// One sample of a `ws_*` metric (`interp/ws.rs`), tagged with the scenario, the
    /// group and the session's `name`.
    pub fn ws(
        &mut self,
        group: &Option<Arc<str>>,
        name: &Arc<str>,
        metric: crate::metrics::MetricId,
        value: f64,
    ) {
        let shard = Rc::clone(&self.shard);
        let mut sh = shard.borrow_mut();
        let mut t = self.with_group(group);
        t.name = Some(Arc::clone(name));
        let s = sh.series(&t);
        sh.add_at(s, metric, value);
    }

    /// A WebSocket session that did not open: `ws_connect_errors` +1, tagged with its
    /// name and `error_code`, so the summary's errors section counts it beside requests'.
    pub fn ws_connect_error(&mut self, group: &Option<Arc<str>>, name: &Arc<str>, code: u32) {
        let shard = Rc::clone(&self.shard);
        let mut sh = shard.borrow_mut();
        let mut t = self.with_group(group);
        t.name = Some(Arc::clone(name));
        t.error_code = Some(code);
        let s = sh.series(&t);
        sh.count_at(s, ids::WS_CONNECT_ERRORS, 1.0);
    }

    /// An arrival no VU was free for.
    pub fn dropped_iteration(&mut self) {
        let shard = Rc::clone(&self.shard);
        let mut sh = shard.borrow_mut();
        let s = self.base_series(&mut sh);
        sh.count_at(s, ids::DROPPED_ITERATIONS, 1.0);
    }
}
