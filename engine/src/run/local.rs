//! The in-process source of a run: `workers` threads (thread-per-core, see `worker`) that
//! pre-allocate their VUs, report ready, wake at one start instant and send their shards'
//! snapshots every second. The supervisor (`super::supervisor`) consumes it for
//! `volley run`; a fleet runner (`crate::fleet::runner`) consumes it directly and pushes
//! the snapshots to its coordinator.
//! This module must not merge snapshots, judge thresholds or print.

use super::supervisor::{Delta, Live, Source, SourceEvent, StopReason};
use super::worker::{self, Msg};
use super::RunError;
use crate::executor::{ScenarioState, VuCounts};
use crate::interp::Shared;
use crate::value::Value;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;
use tokio::sync::{mpsc, watch};

/// The worker threads of this process and the channel they report on.
pub struct LocalSource {
    shared: Arc<Shared>,
    scenarios: Arc<[Arc<ScenarioState>]>,
    vus: Arc<VuCounts>,
    rx: mpsc::UnboundedReceiver<Msg>,
    /// The workers' sender, until they are spawned.
    tx: Option<mpsc::UnboundedSender<Msg>>,
    workers: usize,
    start_tx: watch::Sender<Option<Instant>>,
    stop_tx: watch::Sender<bool>,
    threads: Vec<JoinHandle<()>>,
    /// Workers that have sent `Done`.
    done: usize,
    /// Snapshots received while waiting for the workers to be ready.
    early: VecDeque<Delta>,
    /// A start instant fixed by the caller (`RunHooks::start`).
    at: Option<Instant>,
    /// Whether the workers kept up.
    lag: Arc<super::lag::Lag>,
}

impl LocalSource {
    /// The source of `workers` threads on `shared`; nothing starts before
    /// [`LocalSource::spawn`]. `at`: a start instant fixed by the caller.
    pub(crate) fn new(shared: Arc<Shared>, workers: usize, at: Option<Instant>) -> LocalSource {
        let workers = workers.max(1);
        let scenarios: Arc<[Arc<ScenarioState>]> =
            ScenarioState::for_plan(&shared.plan, shared.segment, workers).into();
        let (tx, rx) = mpsc::unbounded_channel();
        let (start_tx, _) = watch::channel(None);
        let (stop_tx, _) = watch::channel(false);
        LocalSource {
            shared,
            scenarios,
            vus: Arc::new(VuCounts::default()),
            rx,
            tx: Some(tx),
            workers,
            start_tx,
            stop_tx,
            threads: Vec::with_capacity(workers),
            done: 0,
            early: VecDeque::new(),
            at,
            lag: Arc::default(),
        }
    }

    /// Spawns the workers (they pre-allocate their VUs, then wait for the start). A worker
    /// thread that cannot be started is logged; the run goes on with the others.
    pub(crate) fn spawn(&mut self) {
        let Some(tx) = self.tx.take() else { return };
        for index in 0..self.workers {
            let args = worker::WorkerArgs {
                index,
                count: self.workers,
                shared: Arc::clone(&self.shared),
                scenarios: Arc::clone(&self.scenarios),
                vus: Arc::clone(&self.vus),
                tx: tx.clone(),
                start: self.start_tx.subscribe(),
                stop: self.stop_tx.subscribe(),
                lag: Arc::clone(&self.lag),
            };
            match std::thread::Builder::new()
                .name(format!("volley-worker-{index}"))
                .spawn(move || worker::main(args))
            {
                Ok(h) => self.threads.push(h),
                Err(e) => {
                    tracing::error!("cannot start worker thread {index}: {e}");
                    self.stop_tx.send_replace(true);
                    break;
                }
            }
        }
    }

    /// Resolves once every worker is up with its VUs pre-allocated (or gone).
    pub(crate) async fn ready(&mut self) {
        let mut ready = 0;
        while ready < self.threads.len() {
            match self.rx.recv().await {
                Some(Msg::Ready) => ready += 1,
                Some(Msg::Snapshot(s)) => self.early.push_back(Delta::Dense(s)),
                Some(Msg::Done) => {
                    self.done += 1;
                    break;
                }
                None => break,
            }
        }
    }

    /// Wakes the workers at `t0` with setup's `values`.
    pub(crate) fn release(&mut self, t0: Instant, values: Vec<Value>) {
        let _ = self.shared.setup_values.set(values.into());
        self.start_tx.send_replace(Some(t0));
    }

    /// The warning for a run whose workers fell behind ([`super::lag`]).
    pub(crate) fn lag_warning(&self) -> Option<String> {
        self.lag.warning()
    }

    /// Every scenario's state on this process.
    pub(crate) fn scenarios(&self) -> &Arc<[Arc<ScenarioState>]> {
        &self.scenarios
    }

    /// Tells the workers to stop (they end their iterations and send their last snapshot).
    pub(crate) fn halt(&self) {
        self.stop_tx.send_replace(true);
    }

    /// The run never started: wind the workers down without a single request.
    pub(crate) fn abandon(&mut self) {
        self.halt();
        self.start_tx.send_replace(Some(Instant::now()));
    }

    /// The next worker message as a source event; `Done` once every worker is done.
    pub(crate) async fn recv(&mut self) -> SourceEvent {
        if let Some(d) = self.early.pop_front() {
            return SourceEvent::Snapshot(d);
        }
        loop {
            if self.done >= self.threads.len() {
                return SourceEvent::Done;
            }
            match self.rx.recv().await {
                Some(Msg::Snapshot(s)) => return SourceEvent::Snapshot(Delta::Dense(s)),
                Some(Msg::Done) => self.done += 1,
                Some(Msg::Ready) => {}
                None => return SourceEvent::Done,
            }
        }
    }

    /// Joins the threads and returns the snapshots still queued.
    pub(crate) fn join(&mut self) -> Vec<Delta> {
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let mut out: Vec<Delta> = self.early.drain(..).collect();
        while let Ok(msg) = self.rx.try_recv() {
            if let Msg::Snapshot(s) = msg {
                out.push(Delta::Dense(s));
            }
        }
        out
    }
}

impl Source for LocalSource {
    async fn prepare(&mut self, _stop: &super::StopHandle) -> Result<(), RunError> {
        Ok(())
    }

    fn notes(&self) -> Vec<String> {
        self.lag_warning().into_iter().collect()
    }

    async fn start(&mut self, values: Vec<Value>) -> Result<Instant, RunError> {
        self.spawn();
        self.ready().await;
        let t0 = self.at.unwrap_or_else(Instant::now);
        self.release(t0, values);
        Ok(t0)
    }

    async fn next(&mut self) -> SourceEvent {
        self.recv().await
    }

    fn stop(&mut self, _reason: StopReason) {
        self.halt();
    }

    async fn finish(&mut self) -> Vec<Delta> {
        self.join()
    }

    fn live(&self) -> Live {
        let plan = &self.shared.plan;
        Live {
            vus: self.vus.active.load(Ordering::Relaxed),
            vus_max: self.vus.created.load(Ordering::Relaxed),
            scenarios: self
                .scenarios
                .iter()
                .filter(|st| st.started_at().is_some() && st.finished_at().is_none())
                .filter_map(|st| plan.scenarios.get(st.index).map(|s| s.name.clone()))
                .collect(),
            runners: None,
        }
    }
}
