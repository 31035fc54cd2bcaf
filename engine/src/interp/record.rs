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
//! sample also carries the scenario's own `tags = {..}`.
//!
//! This module must not aggregate or evaluate anything.

use crate::metrics::{ids, Registry, Shard, Tags};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

/// What one request did, for its samples.
pub struct HttpSample<'a> {
    pub group: &'a Option<Arc<str>>,
    pub name: &'a Arc<str>,
    pub method: &'a Arc<str>,
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

/// A VU's (or a dispatcher's) handle on its worker's shard, with its scenario's tags.
pub struct Recorder {
    shard: Rc<RefCell<Shard>>,
    reg: Arc<Registry>,
    base: Tags,
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
        }
    }

    fn with_group(&self, group: &Option<Arc<str>>) -> Tags {
        let mut t = self.base.clone();
        t.group.clone_from(group);
        t
    }

    pub fn http(&mut self, s: &HttpSample<'_>) {
        let mut t = self.with_group(s.group);
        t.name = Some(Arc::clone(s.name));
        t.method = Some(Arc::clone(s.method));
        t.status = Some(s.status);
        t.expected_response = Some(s.expected);
        t.error_code = s.error_code;
        let mut sh = self.shard.borrow_mut();
        sh.count(ids::HTTP_REQS, &t, 1.0);
        sh.trend(ids::HTTP_REQ_DURATION, &t, s.duration_ms);
        sh.trend(ids::HTTP_REQ_BLOCKED, &t, s.blocked_ms);
        sh.trend(ids::HTTP_REQ_CONNECTING, &t, s.connecting_ms);
        sh.trend(ids::HTTP_REQ_TLS_HANDSHAKING, &t, s.tls_handshaking_ms);
        sh.trend(ids::HTTP_REQ_SENDING, &t, s.sending_ms);
        sh.trend(ids::HTTP_REQ_WAITING, &t, s.waiting_ms);
        sh.trend(ids::HTTP_REQ_RECEIVING, &t, s.receiving_ms);
        sh.rate(ids::HTTP_REQ_FAILED, &t, !s.expected);
        sh.count(ids::DATA_SENT, &t, s.bytes_sent as f64);
        sh.count(ids::DATA_RECEIVED, &t, s.bytes_received as f64);
    }

    /// A `checks` sample (`ok`: passed).
    pub fn check(&mut self, group: &Option<Arc<str>>, name: &Arc<str>, ok: bool) {
        let mut t = self.with_group(group);
        t.check = Some(Arc::clone(name));
        self.shard.borrow_mut().rate(ids::CHECKS, &t, ok);
    }

    /// A completed iteration and its duration.
    pub fn iteration(&mut self, duration_ms: f64) {
        let mut sh = self.shard.borrow_mut();
        sh.count(ids::ITERATIONS, &self.base, 1.0);
        sh.trend(ids::ITERATION_DURATION, &self.base, duration_ms);
    }

    pub fn group_duration(&mut self, group: &Option<Arc<str>>, ms: f64) {
        let t = self.with_group(group);
        self.shard.borrow_mut().trend(ids::GROUP_DURATION, &t, ms);
    }

    /// `metric.add(v)` of the file's metric `metric` (index into `Plan::metrics`).
    pub fn custom(&mut self, metric: u32, group: &Option<Arc<str>>, value: f64) {
        if let Some(id) = self.reg.custom(metric) {
            let t = self.with_group(group);
            self.shard.borrow_mut().add(id, &t, value);
        }
    }

    /// An arrival no VU was free for.
    pub fn dropped_iteration(&mut self) {
        self.shard
            .borrow_mut()
            .count(ids::DROPPED_ITERATIONS, &self.base, 1.0);
    }
}
