//! The runner process: one segment of a plan, driven by the coordinator.
//!
//! Join (presenting segment and plan hash; retried while the coordinator comes up),
//! fetch the data slice when the plan has sliced data, run the engine's local source
//! (its workers pre-allocate VUs; the runner reports ready and waits for the start instant),
//! push every second's snapshot with a sequence number (every unacknowledged one is
//! resent until acknowledged), obey stop, push a last snapshot and exit.
//!
//! No zombie load: when no call to the coordinator has succeeded for `fleet.grace`, the
//! runner stops all load by itself and exits with [`ExitCode::CoordinatorLost`] (111); when the
//! coordinator refuses it (409: replaced, declared lost) it stops and exits 104. A signal
//! to the runner (a pod eviction) stops its load gracefully: its last push carries its data
//! flagged `stopped`, so the coordinator counts it lost with a reason (before the start it
//! only leaves, and a replacement may take its segment), and it exits 105.
//! The network side runs on its own thread and runtime, so a slow coordinator never
//! stalls the load. This module must not merge metrics or judge thresholds.

use super::http::{self, Reply};
use super::protocol::{
    Control, ErrorBody, Join, Joined, Push, PushAck, Ready, Sequenced, PROTOCOL,
};
use super::FleetError;
use crate::executor::ScenarioState;
use crate::metrics::Snapshot;
use crate::run::local::LocalSource;
use crate::run::supervisor::{Delta, SourceEvent};
use crate::run::{self, RunError, StopHandle};
use crate::value::Value;
use hyper::Method;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot, watch};
use volley_plan::segment::Segment;
use volley_plan::slice::{self, DataSlice};
use volley_plan::{ExitCode, Plan};

/// Snapshots sent in one push at most (the rest follow with the next).
const MAX_BATCH: usize = 64;
/// The timeout of one call to the coordinator (the control long poll adds its 5 s).
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

pub struct RunnerOptions {
    /// The fleet plan as deployed (its hash must match the coordinator's).
    pub plan: Plan,
    pub segment: Segment,
    /// The coordinator's base URL, `http://host:6565`.
    pub coordinator: String,
    pub token: String,
    /// Who this runner is (pod name, `pid N`).
    pub instance: String,
    pub workers: usize,
    pub env: BTreeMap<String, String>,
    /// A data slice read from a file instead of fetched from the coordinator.
    pub slice: Option<DataSlice>,
    /// Stops the load from outside (a signal to the process): the runner's share is then
    /// short, and its last push says so.
    pub stop: StopHandle,
}

/// The coordinator link's state shared by the network tasks.
struct Link {
    base: String,
    token: String,
    index: u32,
    instance: String,
    /// When a call to the coordinator last succeeded (ms since `epoch`).
    last_ok_ms: AtomicU64,
    epoch: Instant,
    lost: AtomicBool,
    /// The coordinator refused this runner (409): it must stop and exit 104.
    refused: AtomicBool,
}

impl Link {
    fn ok(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.last_ok_ms.store(ms, Ordering::Relaxed);
    }

    fn silent_for(&self) -> Duration {
        let now = self.epoch.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_ok_ms.load(Ordering::Relaxed)))
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Reply, http::CallError> {
        let r = http::call(
            &self.base,
            method,
            path,
            Some(&self.token),
            body,
            CALL_TIMEOUT + Duration::from_secs(5),
        )
        .await;
        if r.is_ok() {
            self.ok();
        }
        r
    }
}

/// Why the coordinator refused: its message, or the status.
fn refusal(r: &Reply) -> String {
    serde_json::from_slice::<ErrorBody>(&r.body)
        .map(|e| e.error)
        .unwrap_or_else(|_| format!("HTTP {}", r.status))
}

/// Runs one segment; returns the process exit code (0 when its load ran to the end or was
/// stopped by the coordinator, 104 when refused, 105 when stopped by a signal, 111 when the
/// coordinator was lost).
pub fn run_runner(opts: RunnerOptions) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let e = FleetError::Runtime(e);
            tracing::error!("{}", run::error_chain(&e));
            return e.exit_code();
        }
    };
    let mut plan = opts.plan.clone();
    let grace = Duration::from_millis(plan.fleet.grace_ms.max(1000));
    let link = Arc::new(Link {
        base: opts.coordinator.trim_end_matches('/').to_string(),
        token: opts.token.clone(),
        index: opts.segment.index,
        instance: opts.instance.clone(),
        last_ok_ms: AtomicU64::new(0),
        epoch: Instant::now(),
        lost: AtomicBool::new(false),
        refused: AtomicBool::new(false),
    });
    let joined = match rt.block_on(join(&link, &plan, opts.segment, grace)) {
        Ok(j) => j,
        Err(e) => {
            tracing::error!("runner {}: {}", opts.segment.index, run::error_chain(&e));
            return e.exit_code();
        }
    };
    tracing::info!(
        "runner {} of {} joined run {} at {}",
        opts.segment.index,
        opts.segment.count,
        joined.run,
        link.base
    );
    if slice::needs_slice(&plan) {
        let s = match opts.slice.clone() {
            Some(s) => Ok(s),
            None => rt.block_on(fetch_slice(&link)),
        };
        let applied = s.and_then(|s| {
            slice::apply(&mut plan, &s, opts.segment).map_err(|e| FleetError::Slice(e.to_string()))
        });
        if let Err(e) = applied {
            tracing::error!("runner {}: {e}", opts.segment.index);
            return e.exit_code();
        }
    }
    let grace = Duration::from_millis(joined.grace_ms.max(1000));
    drop(rt);

    // The run's own stop: the coordinator's orders, a lost coordinator, a refusal, or the
    // signal handle `opts.stop` (which also marks the share as short).
    let stop = StopHandle::default();
    let signal = opts.stop.clone();
    let (ready_tx, ready_rx) = oneshot::channel::<()>();
    let (start_tx, start_rx) = oneshot::channel();
    let (released_tx, released_rx) = watch::channel(BTreeMap::new());
    let (finished_tx, finished_rx) = mpsc::unbounded_channel();
    let (snap_tx, snap_rx) = mpsc::unbounded_channel::<Snapshot>();
    let (done_tx, done_rx) = oneshot::channel::<()>();
    let first_request = Arc::new(OnceLock::new());
    let started = Arc::new(OnceLock::new());
    let net = {
        let tasks = NetTasks {
            link: Arc::clone(&link),
            stop: stop.clone(),
            signal: signal.clone(),
            grace,
            ready_rx,
            start_tx,
            released_tx,
            finished_rx,
            snap_rx,
            done_rx,
            first_request: Arc::clone(&first_request),
            started: Arc::clone(&started),
        };
        std::thread::Builder::new()
            .name("volley-runner-net".into())
            .spawn(move || tasks.run())
    };
    let net = match net {
        Ok(n) => n,
        Err(e) => {
            let e = FleetError::Thread(e);
            tracing::error!("{}", run::error_chain(&e));
            return e.exit_code();
        }
    };
    let wiring = Wiring {
        ready: ready_tx,
        start: start_rx,
        released: released_rx,
        finished: finished_tx,
        snapshots: snap_tx,
        first_request,
        started,
    };
    let ran = run_segment(&plan, &opts, wiring, stop.clone());
    if let Err(e) = &ran {
        tracing::error!("runner {}: {}", opts.segment.index, run::error_chain(e));
    }
    let _ = done_tx.send(());
    let _ = net.join();
    if link.refused.load(Ordering::SeqCst) {
        return ExitCode::InvalidInput;
    }
    if link.lost.load(Ordering::SeqCst) {
        return ExitCode::CoordinatorLost;
    }
    if signal.is_stopped() {
        return ExitCode::AbortedBySignal;
    }
    match ran {
        Err(e) if e.exit_code() == ExitCode::InvalidInput => ExitCode::InvalidInput,
        _ => ExitCode::Ok,
    }
}

/// What the load side of a runner exchanges with its network side.
struct Wiring {
    /// Told once every worker is up with its VUs pre-allocated.
    ready: oneshot::Sender<()>,
    /// The fleet's start instant and setup's values; a dropped sender means the run never
    /// starts (the coordinator stopped it or was lost).
    start: oneshot::Receiver<(Instant, Vec<Value>)>,
    /// The fleet-wide release instant of each `start = after(..)` scenario.
    released: watch::Receiver<BTreeMap<u32, Instant>>,
    /// Told the index of every scenario as it finishes on this runner.
    finished: mpsc::UnboundedSender<u32>,
    /// Every snapshot of the workers, to push.
    snapshots: mpsc::UnboundedSender<Snapshot>,
    /// Set when this runner sends its first scenario request.
    first_request: Arc<OnceLock<SystemTime>>,
    /// Set when this runner's workers wake at the start instant (its actual start).
    started: Arc<OnceLock<SystemTime>>,
}

/// Runs this runner's segment with the engine's local source: neither setup nor teardown
/// (the coordinator runs them, once), no thresholds (the coordinator judges the merged
/// metrics), a start only when told. Blocking.
fn run_segment(
    plan: &Plan,
    opts: &RunnerOptions,
    wiring: Wiring,
    stop: StopHandle,
) -> Result<(), RunError> {
    let plan = Arc::new(plan.clone());
    let mut shared = run::shared_for(&plan, &opts.env, opts.segment)?;
    shared.barrier = Some(wiring.released.clone());
    shared.first_request = Arc::clone(&wiring.first_request);
    shared.started = Arc::clone(&wiring.started);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    let mut source = LocalSource::new(Arc::new(shared), opts.workers.max(1), None);
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, drive_segment(&mut source, wiring, stop));
    Ok(())
}

async fn drive_segment(source: &mut LocalSource, wiring: Wiring, stop: StopHandle) {
    let Wiring {
        ready,
        start,
        finished,
        snapshots,
        ..
    } = wiring;
    let push = |d: Delta| {
        if let Delta::Dense(s) = d {
            let _ = snapshots.send(*s);
        }
    };
    source.spawn();
    source.ready().await;
    let _ = ready.send(());
    let start = tokio::select! {
        s = start => s.ok(),
        _ = run::interrupted(Some(stop.clone())) => None,
    };
    match start {
        Some((t0, values)) => {
            report_finished(source.scenarios(), finished);
            source.release(t0, values);
        }
        // Never started: wind the workers down without a single request.
        None => source.abandon(),
    }
    let signal = run::interrupted(Some(stop));
    tokio::pin!(signal);
    let mut armed = true;
    loop {
        tokio::select! {
            ev = source.recv() => match ev {
                SourceEvent::Snapshot(d) => push(d),
                SourceEvent::Done => break,
                SourceEvent::RunnerLost { .. } => {}
            },
            _ = &mut signal, if armed => {
                armed = false;
                source.halt();
            }
        }
    }
    for d in source.join() {
        push(d);
    }
    // The coordinator's summary cannot say it: the runner's own log (`volley logs RUN
    // --runner K`) does.
    if let Some(w) = source.lag_warning() {
        tracing::warn!("{}", w.trim_start_matches("warning: "));
    }
}

/// Tells the network side each scenario's index as it finishes on this runner.
fn report_finished(scenarios: &Arc<[Arc<ScenarioState>]>, tx: mpsc::UnboundedSender<u32>) {
    for st in scenarios.iter() {
        let (st, tx) = (Arc::clone(st), tx.clone());
        tokio::task::spawn_local(async move {
            st.wait_finished().await;
            let _ = tx.send(u32::try_from(st.index).unwrap_or(u32::MAX));
        });
    }
}

async fn join(
    link: &Link,
    plan: &Plan,
    seg: Segment,
    grace: Duration,
) -> Result<Joined, FleetError> {
    let body = serde_json::to_vec(&Join {
        protocol: PROTOCOL,
        segment: seg,
        plan_hash: volley_plan::content_hash(plan),
        instance: link.instance.clone(),
    })
    .unwrap_or_default();
    // The coordinator may still be starting (a pod scheduled later), or the runner this
    // one replaces may not be known gone yet (503): retry for the start timeout.
    let deadline = Instant::now() + Duration::from_millis(plan.fleet.start_timeout_ms).max(grace);
    let mut waiting = false;
    loop {
        match link
            .call(Method::POST, "/v1/join", Some(body.clone()))
            .await
        {
            Ok(r) if r.status == 200 => {
                return serde_json::from_slice(&r.body).map_err(FleetError::BadAnswer)
            }
            Ok(r) if r.status == 503 && Instant::now() < deadline => {
                if !std::mem::replace(&mut waiting, true) {
                    tracing::warn!("runner {}: join deferred: {}", seg.index, refusal(&r));
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Ok(r) => return Err(FleetError::Refused(refusal(&r))),
            Err(e) if Instant::now() >= deadline => {
                return Err(FleetError::Unreachable(e.to_string()))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

async fn fetch_slice(link: &Link) -> Result<DataSlice, FleetError> {
    let path = format!("/v1/slice?index={}", link.index);
    let r = link
        .call(Method::GET, &path, None)
        .await
        .map_err(|e| FleetError::Slice(e.message))?;
    if r.status != 200 {
        return Err(FleetError::Slice(refusal(&r)));
    }
    volley_plan::pack::decode_slice(&r.body)
        .map_err(|e| FleetError::Slice(format!("the data slice from the coordinator: {e}")))
}

/// The network side of a running runner.
struct NetTasks {
    link: Arc<Link>,
    stop: StopHandle,
    signal: StopHandle,
    grace: Duration,
    ready_rx: oneshot::Receiver<()>,
    start_tx: oneshot::Sender<(Instant, Vec<Value>)>,
    released_tx: watch::Sender<BTreeMap<u32, Instant>>,
    finished_rx: mpsc::UnboundedReceiver<u32>,
    snap_rx: mpsc::UnboundedReceiver<Snapshot>,
    done_rx: oneshot::Receiver<()>,
    first_request: Arc<OnceLock<SystemTime>>,
    started: Arc<OnceLock<SystemTime>>,
}

impl NetTasks {
    fn run(self) {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!("runner network runtime: {e}");
                self.stop.stop();
                return;
            }
        };
        rt.block_on(self.main());
    }

    async fn main(self) {
        let NetTasks {
            link,
            stop,
            signal,
            grace,
            ready_rx,
            start_tx,
            released_tx,
            mut finished_rx,
            mut snap_rx,
            mut done_rx,
            first_request,
            started,
        } = self;
        link.ok();
        let signalled = {
            let (signal, stop) = (signal.clone(), stop.clone());
            tokio::spawn(async move {
                signal.wait().await;
                stop.stop();
            })
        };
        let control = tokio::spawn(control_loop(
            Arc::clone(&link),
            stop.clone(),
            ready_rx,
            start_tx,
            released_tx,
        ));
        // The grace is watched on its own: a push waits up to its call timeout (10 s) for
        // a coordinator that holds the connection open and never answers (frozen, or its
        // node partitioned), and the load must stop `grace` after the last answer.
        let gone = Arc::new(tokio::sync::Notify::new());
        let watchdog = {
            let (link, stop, gone) = (Arc::clone(&link), stop.clone(), Arc::clone(&gone));
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_millis(250));
                loop {
                    every.tick().await;
                    if link.silent_for() > grace && !link.lost.swap(true, Ordering::SeqCst) {
                        tracing::error!(
                            "runner {}: no answer from the coordinator for {}s: stopping all load",
                            link.index,
                            grace.as_secs()
                        );
                        stop.stop();
                        // A push still waiting on the silent coordinator gives up now.
                        gone.notify_one();
                        return;
                    }
                }
            })
        };
        let mut pusher = Pusher::new(Arc::clone(&link), first_request, signal, started);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut done = false;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut done_rx, if !done => done = true,
            }
            while let Ok(i) = finished_rx.try_recv() {
                pusher.finished.insert(i);
            }
            while let Ok(s) = snap_rx.try_recv() {
                pusher.add(s);
            }
            if link.refused.load(Ordering::SeqCst) {
                // Replaced or declared lost: no more load, nothing more to push.
                stop.stop();
                if done {
                    break;
                }
                continue;
            }
            if link.lost.load(Ordering::SeqCst) {
                if done {
                    break;
                }
                continue;
            }
            let pushed = tokio::select! {
                p = pusher.push(done) => p,
                _ = gone.notified() => continue,
            };
            match pushed {
                Pushed::AllAcked if done => break,
                Pushed::CoordinatorGone if done && pusher.sent_done => {
                    // The coordinator ends only once every runner is done or lost, so a
                    // closed port after our final push means it has finished.
                    tracing::info!(
                        "runner {}: the coordinator has already finished",
                        link.index
                    );
                    break;
                }
                _ => {}
            }
        }
        control.abort();
        signalled.abort();
        watchdog.abort();
    }
}

/// How a push went.
enum Pushed {
    /// Everything, and `done` when asked, is acknowledged.
    AllAcked,
    /// Sent or not, something is still unacknowledged.
    Pending,
    /// Nobody listens at the coordinator's address any more.
    CoordinatorGone,
}

/// Sequenced snapshots waiting for their acknowledgement.
struct Pusher {
    link: Arc<Link>,
    first_request: Arc<OnceLock<SystemTime>>,
    started: Arc<OnceLock<SystemTime>>,
    pending: Snapshot,
    unacked: VecDeque<Sequenced>,
    seq: u64,
    finished: BTreeSet<u32>,
    /// A push with `done` has been sent at least once.
    sent_done: bool,
    /// Set by a signal to this runner: its share is short.
    signal: StopHandle,
}

impl Pusher {
    fn new(
        link: Arc<Link>,
        first_request: Arc<OnceLock<SystemTime>>,
        signal: StopHandle,
        started: Arc<OnceLock<SystemTime>>,
    ) -> Pusher {
        Pusher {
            link,
            first_request,
            started,
            pending: Snapshot::default(),
            unacked: VecDeque::new(),
            seq: 0,
            finished: BTreeSet::new(),
            sent_done: false,
            signal,
        }
    }

    /// Adds a worker's snapshot to the pending delta. One pending delta holds one
    /// interval of the run (`end_ms`): a snapshot of another interval seals it first, so
    /// the coordinator files every delta under the interval it was taken in.
    fn add(&mut self, s: Snapshot) {
        let interval = |end: Option<u64>| end.map(crate::output::timeline::interval_of);
        if interval(s.end_ms) != interval(self.pending.end_ms) {
            self.seal();
        }
        self.pending.end_ms = s.end_ms.max(self.pending.end_ms);
        self.pending.series.extend(s.series);
        self.pending.first_errors.extend(s.first_errors);
    }

    /// Seals the pending delta, if any, as the next snapshot.
    fn seal(&mut self) {
        if !self.pending.is_empty() {
            self.seq += 1;
            self.unacked.push_back(Sequenced {
                seq: self.seq,
                snapshot: std::mem::take(&mut self.pending),
            });
        }
    }

    /// Seals the pending delta as the next snapshot and sends every unacknowledged one.
    async fn push(&mut self, done: bool) -> Pushed {
        self.seal();
        // Even with nothing new, the push is the heartbeat.
        let batch: Vec<Sequenced> = self.unacked.iter().take(MAX_BATCH).cloned().collect();
        let complete = batch.len() == self.unacked.len();
        let body = Push {
            protocol: PROTOCOL,
            index: self.link.index,
            instance: self.link.instance.clone(),
            snapshots: batch,
            first_request_unix_us: self.first_request.get().and_then(unix_us),
            started_unix_us: self.started.get().and_then(unix_us),
            finished: self.finished.iter().copied().collect(),
            done: done && complete,
            stopped: self.signal.is_stopped(),
        };
        let Ok(bytes) = serde_json::to_vec(&body) else {
            return Pushed::Pending;
        };
        self.sent_done |= body.done;
        match self.link.call(Method::POST, "/v1/push", Some(bytes)).await {
            Ok(r) if r.status == 200 => {
                let Ok(ack) = serde_json::from_slice::<PushAck>(&r.body) else {
                    return Pushed::Pending;
                };
                while self.unacked.front().is_some_and(|s| s.seq <= ack.acked) {
                    self.unacked.pop_front();
                }
                let all = self.unacked.is_empty() && ack.missing_from.is_none();
                if all && (complete || !done) {
                    Pushed::AllAcked
                } else {
                    Pushed::Pending
                }
            }
            Ok(r) => {
                tracing::warn!("runner {}: push refused: {}", self.link.index, refusal(&r));
                if r.status == 409 {
                    // Declared lost or replaced: this runner must not go on.
                    self.link.refused.store(true, Ordering::SeqCst);
                }
                Pushed::Pending
            }
            Err(e) if e.refused => Pushed::CoordinatorGone,
            Err(_) => Pushed::Pending,
        }
    }
}

/// Long-polls the control state: start, barrier releases, stop.
async fn control_loop(
    link: Arc<Link>,
    stop: StopHandle,
    ready_rx: oneshot::Receiver<()>,
    start_tx: oneshot::Sender<(Instant, Vec<Value>)>,
    released_tx: watch::Sender<BTreeMap<u32, Instant>>,
) {
    // Ready once the driver has its VUs.
    if ready_rx.await.is_err() {
        return;
    }
    let ready = serde_json::to_vec(&Ready {
        protocol: PROTOCOL,
        index: link.index,
        instance: link.instance.clone(),
    })
    .unwrap_or_default();
    loop {
        match link
            .call(Method::POST, "/v1/ready", Some(ready.clone()))
            .await
        {
            Ok(r) if r.status == 200 => break,
            Ok(r) => {
                tracing::error!("runner {}: ready refused: {}", link.index, refusal(&r));
                stop.stop();
                return;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
    let mut start_tx = Some(start_tx);
    let mut version = 0u64;
    let instance: String = url::form_urlencoded::byte_serialize(link.instance.as_bytes()).collect();
    let mut released_seen: BTreeMap<u32, u64> = BTreeMap::new();
    loop {
        let path = format!(
            "/v1/control?index={}&instance={instance}&after={version}",
            link.index
        );
        let c: Control = match link.call(Method::GET, &path, None).await {
            Ok(r) if r.status == 200 => match serde_json::from_slice(&r.body) {
                Ok(c) => c,
                Err(_) => continue,
            },
            Ok(r) if r.status == 409 => {
                // Replaced by another instance, or declared lost: never go on (exit 104).
                tracing::error!("runner {}: control refused: {}", link.index, refusal(&r));
                link.refused.store(true, Ordering::SeqCst);
                stop.stop();
                start_tx.take();
                return;
            }
            Ok(r) => {
                tracing::warn!("runner {}: control refused: {}", link.index, refusal(&r));
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            }
        };
        version = c.version;
        if let Some(s) = &c.start {
            if let Some(tx) = start_tx.take() {
                let values = s.setup_values.iter().map(|v| v.to_value()).collect();
                let _ = tx.send((super::instant_of_unix_ms(s.at_unix_ms), values));
            }
        }
        if c.released != released_seen {
            released_seen = c.released.clone();
            let map = c
                .released
                .iter()
                .map(|(&i, &ms)| (i, super::instant_of_unix_ms(ms)))
                .collect();
            let _ = released_tx.send(map);
        }
        if c.stop.is_some() {
            stop.stop();
            // Never started: the dropped sender tells the driver.
            start_tx.take();
        }
    }
}

/// The segment from `--segment`, else `JOB_COMPLETION_INDEX`, and the runner count from
/// `--runners`, else the plan's `fleet.runners`.
pub fn segment_from(
    segment: Option<u32>,
    runners: Option<u32>,
    env: &BTreeMap<String, String>,
    plan: &Plan,
) -> Result<Segment, FleetError> {
    let bad = |m: &str| FleetError::Segment(m.to_string());
    let index = match segment {
        Some(k) => k,
        None => env
            .get("JOB_COMPLETION_INDEX")
            .ok_or_else(|| bad("no --segment and no JOB_COMPLETION_INDEX in the environment"))?
            .trim()
            .parse()
            .map_err(|_| bad("JOB_COMPLETION_INDEX is not a number"))?,
    };
    let count = runners
        .or(plan.fleet.runners)
        .ok_or_else(|| bad("no --runners and the plan's fleet.runners is auto"))?;
    Segment::new(index, count).map_err(|e| FleetError::Segment(e.to_string()))
}

/// A short instance name: the pod name (`HOSTNAME` in Kubernetes) or the pid.
pub fn instance_name(env: &BTreeMap<String, String>) -> String {
    env.get("HOSTNAME")
        .filter(|h| !h.is_empty())
        .cloned()
        .unwrap_or_else(|| format!("pid {}", std::process::id()))
}

/// A wall-clock instant in Unix µs.
fn unix_us(t: &SystemTime) -> Option<u64> {
    t.duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| d.as_micros() as u64)
}
