//! One worker thread: a current-thread tokio runtime with a `LocalSet`, its own metrics
//! shard, its part of every scenario, and a ticker that sends the shard's snapshot to the
//! aggregator every second (and a last one at the end).
//! This module must not aggregate, evaluate thresholds or print (it logs).

use crate::executor::{preallocate, run_part, ScenarioState, Signal, VuCounts, Worker};
use crate::interp::Shared;
use crate::metrics::{ids, Shard, Snapshot, Tags};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// What workers tell the driver.
pub(crate) enum Msg {
    /// The worker's runtime is up; it waits for the start instant.
    Ready,
    /// A delta snapshot of the worker's shard.
    Snapshot(Box<Snapshot>),
    /// The worker has finished every scenario part (its last snapshot was sent).
    Done,
}

/// How often workers send snapshots.
pub(crate) const SNAPSHOT_EVERY: Duration = Duration::from_secs(1);

pub(crate) struct WorkerArgs {
    pub index: usize,
    pub count: usize,
    pub shared: Arc<Shared>,
    pub scenarios: Arc<[Arc<ScenarioState>]>,
    pub vus: Arc<VuCounts>,
    pub tx: mpsc::UnboundedSender<Msg>,
    pub start: watch::Receiver<Option<Instant>>,
    pub stop: watch::Receiver<bool>,
    /// Whether this process's workers keep up ([`super::lag`]).
    pub lag: Arc<super::lag::Lag>,
}

/// The body of a worker thread; returns when its scenario parts are done.
pub(crate) fn main(args: WorkerArgs) {
    // `Done` is sent however the thread ends (even by a panic), so the driver never waits
    // for a worker that is gone.
    let _done = DoneGuard(args.tx.clone());
    let tx = args.tx.clone();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("worker {}: cannot start a runtime: {e}", args.index);
            let _ = tx.send(Msg::Ready);
            return;
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, run(args));
}

struct DoneGuard(mpsc::UnboundedSender<Msg>);

impl Drop for DoneGuard {
    fn drop(&mut self) {
        let _ = self.0.send(Msg::Done);
    }
}

async fn run(mut args: WorkerArgs) {
    let shard = Rc::new(RefCell::new(Shard::new(Arc::clone(&args.shared.registry))));
    let pool = preallocate(
        &args.shared,
        &shard,
        &args.scenarios,
        args.index,
        args.count,
    );
    crate::metrics::hist::reserve(SPARE_HISTOGRAMS);
    let _ = args.tx.send(Msg::Ready);
    let t0 = match args.start.wait_for(Option::is_some).await {
        Ok(t) => t.unwrap_or_else(Instant::now),
        Err(_) => return,
    };
    if !wait_precisely(t0, &mut args.stop).await {
        return;
    }
    // The first worker awake marks this process's actual start (no allocation).
    let _ = args.shared.started.set(std::time::SystemTime::now());
    let stop = Rc::new(Signal::default());
    {
        let stop = Rc::clone(&stop);
        let mut rx = args.stop.clone();
        tokio::task::spawn_local(async move {
            // A closed channel means the driver is gone: stop too.
            let _ = rx.wait_for(|s| *s).await;
            stop.fire();
        });
    }
    let worker = Rc::new(Worker {
        index: args.index,
        count: args.count,
        shared: Arc::clone(&args.shared),
        shard: Rc::clone(&shard),
        stop,
        t0,
        vus: Arc::clone(&args.vus),
        pool: RefCell::new(pool),
    });
    let all: Rc<[Arc<ScenarioState>]> = args.scenarios.iter().cloned().collect();
    let parts: Vec<_> = all
        .iter()
        .map(|st| {
            tokio::task::spawn_local(run_part(
                Rc::clone(&worker),
                Arc::clone(st),
                Rc::clone(&all),
            ))
        })
        .collect();
    let ticker = {
        let (shard, tx, vus) = (Rc::clone(&shard), args.tx.clone(), Arc::clone(&args.vus));
        let first = args.index == 0;
        tokio::task::spawn_local(async move {
            let mut tick = tokio::time::interval_at((t0 + SNAPSHOT_EVERY).into(), SNAPSHOT_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                send_snapshot(&shard, &tx, first.then_some(&*vus), t0);
            }
        })
    };
    let probe = tokio::task::spawn_local(super::lag::probe(Arc::clone(&args.lag)));
    for p in parts {
        let _ = p.await;
    }
    ticker.abort();
    probe.abort();
    send_snapshot(
        &shard,
        &args.tx,
        (args.index == 0).then_some(&*args.vus),
        t0,
    );
}

/// Histograms each worker makes before the start: a request's eight time trends for a few
/// requests, so the first iterations do not zero fresh memory at the start instant.
const SPARE_HISTOGRAMS: usize = 32;

/// How much of the wait for a future start is slept on the thread rather than the runtime.
const ON_THE_THREAD: Duration = Duration::from_millis(3);

/// Waits for the start instant `t0` (a fleet's is in the future; a single run's is now),
/// to tens of µs rather than the runtime's ms: tokio's timer rounds a deadline up to its
/// next ms tick, so each runner of a fleet would wake up to 1 ms late, and that is start
/// skew. It sleeps on the runtime until [`ON_THE_THREAD`] before `t0`, then the rest on
/// the thread (a high-resolution timer). Nothing runs on this worker yet, so blocking it
/// costs nothing. `false` when the run stopped first.
async fn wait_precisely(t0: Instant, stop: &mut watch::Receiver<bool>) -> bool {
    if let Some(early) = t0
        .checked_sub(ON_THE_THREAD)
        .filter(|e| *e > Instant::now())
    {
        tokio::select! {
            _ = tokio::time::sleep_until(early.into()) => {}
            _ = stop.wait_for(|s| *s) => return false,
        }
    }
    let left = t0.saturating_duration_since(Instant::now());
    if !left.is_zero() {
        std::thread::sleep(left);
    }
    !*stop.borrow()
}

/// Takes the shard's delta snapshot, stamped with the time since the start instant `t0`
/// (the outputs file it under its interval by it), and sends it; worker 0 also samples
/// the run-wide `vus` and `vus_max` gauges (so they are not counted once per worker).
fn send_snapshot(
    shard: &RefCell<Shard>,
    tx: &mpsc::UnboundedSender<Msg>,
    vus: Option<&VuCounts>,
    t0: Instant,
) {
    let mut shard = shard.borrow_mut();
    if let Some(v) = vus {
        let none = Tags::default();
        shard.gauge(ids::VUS, &none, v.active.load(Ordering::Relaxed) as f64);
        shard.gauge(
            ids::VUS_MAX,
            &none,
            v.created.load(Ordering::Relaxed) as f64,
        );
    }
    let mut snap = shard.take();
    snap.end_ms = Some(u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX));
    let _ = tx.send(Msg::Snapshot(Box::new(snap)));
}
