//! Test support: a loopback server, hand-built plans, bounded runs, summary readers.
#![allow(dead_code)]

pub mod plans;
pub mod server;

use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use volley_engine::metrics::{Aggregate, MetricView, Registry, Snapshot};
use volley_engine::run::{run_with, RunHooks, RunOptions};
use volley_engine::summary::Summary;
use volley_plan::Plan;

/// Runs `f` on a thread and fails the test if it takes longer than `limit`.
pub fn bounded<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("the run did not finish within {limit:?}"))
}

/// A finished run: its outcome and every sample it recorded (merged from the snapshots the
/// workers sent, so tests read metrics independently of the summary's format).
pub struct Ran {
    pub exit_code: volley_plan::ExitCode,
    pub summary: Summary,
    pub agg: Aggregate,
}

/// Runs a plan with 2 workers, quietly, within `limit`.
pub fn run(plan: Plan, limit: Duration) -> Ran {
    let opts = RunOptions {
        workers: 2,
        ..RunOptions::default()
    };
    run_opts(plan, limit, opts, RunHooks::default())
}

pub fn run_opts(plan: Plan, limit: Duration, opts: RunOptions, mut hooks: RunHooks) -> Ran {
    let agg = Arc::new(Mutex::new(Aggregate::new(Registry::new(&plan.metrics))));
    let sink = Arc::clone(&agg);
    let mut inner = hooks.on_snapshot.take();
    hooks.on_snapshot = Some(Box::new(move |s| {
        sink.lock().unwrap().merge(s);
        if let Some(f) = inner.as_mut() {
            f(s);
        }
    }));
    let out = bounded(limit, move || run_with(&plan, opts, hooks));
    let agg = agg.lock().unwrap().clone();
    Ran {
        exit_code: out.exit_code,
        summary: out.summary,
        agg,
    }
}

fn view(a: &Aggregate, metric: &str) -> Option<MetricView> {
    a.view(metric, &Default::default())
}

/// A counter's total, or a trend's or rate's number of samples.
pub fn count(a: &Aggregate, metric: &str) -> f64 {
    match view(a, metric) {
        Some(v) if v.kind == volley_plan::MetricKind::Counter => v.sum,
        Some(v) => v.count as f64,
        None => 0.0,
    }
}

/// Samples of a check by name: (passes, fails).
pub fn check(a: &Aggregate, name: &str) -> (f64, f64) {
    a.checks()
        .iter()
        .filter(|c| c.name == name)
        .fold((0.0, 0.0), |(p, f), c| {
            (p + c.passes as f64, f + c.fails as f64)
        })
}

/// Failed requests (`http_req_failed` true).
pub fn failed_requests(a: &Aggregate) -> f64 {
    view(a, "http_req_failed").map_or(0.0, |v| v.hits as f64)
}

/// The `vus` gauge in a snapshot, if sampled.
pub fn vus_gauge(snap: &Snapshot) -> Option<f64> {
    snap.gauge("vus")
}
