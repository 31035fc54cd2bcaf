//! The coordinator process: serves the protocol (docs/protocol.md) and the status
//! endpoint, and runs the run's supervisor (`crate::run::supervisor`: setup and teardown
//! once, thresholds every 2 s on the merged metrics, progress, outputs, stops, the
//! summary) with the fleet as its source: waits for every runner (within
//! `fleet.start_timeout`), ships setup's values, fixes one start instant, hands over
//! every applied snapshot in order, watches heartbeats and process exits, and adds the
//! runners' rows and the start skew to the summary.
//!
//! The bookkeeping is [`super::state::FleetState`]; this module adds the clock, the
//! sockets and the source. It must not run any scenario load itself.

use super::http::{self, Handler, Reply, ServerRequest};
use super::protocol::{
    Control, ErrorBody, Join, Ready, ReceivedPush, StopReason as WireStop, WireValue, PROTOCOL,
};
use super::state::{FleetState, Now, Phase, RunnerState};
use super::FleetError;
use crate::interp::Role;
use crate::metrics::{Aggregate, Registry, Snapshot};
use crate::output::dashboard::{Dashboard, RunnerRow};
use crate::output::prometheus::{self, PromOptions};
use crate::output::{Live as OutputLive, OutputConfig, OutputSet};
use crate::progress::Progress;
use crate::run::report::Report;
use crate::run::supervisor::{
    Delta, EventSink, HookVu, Live, Runners, Source, SourceEvent, StopReason, Supervisor,
};
use crate::run::{ProgressMode, RunError, RunOutcome, StopHandle};
use crate::summary::{RunnerOutcome, RunnerSummary, Summary, Verdict};
use crate::value::Value;
use bytes::Bytes;
use hyper::Method;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Notify};
use volley_plan::{ExitCode, Plan};

/// How to coordinate.
pub struct CoordinatorOptions {
    /// The fleet plan, exactly as the runners hold it (its hash is checked on join).
    pub plan: Plan,
    /// One data slice per segment when the plan has sliced data, each a data pack
    /// (`volley_plan::pack::encode_slice`), handed to its runner as it is.
    pub slices: Vec<Vec<u8>>,
    pub runners: u32,
    pub token: String,
    /// Where secrets are read for setup and teardown.
    pub env: BTreeMap<String, String>,
    pub progress: ProgressMode,
    /// How long to keep answering `/status` and `/summary` after the end.
    pub linger: Duration,
    /// How far ahead the start instant is fixed once everyone is ready.
    pub start_margin: Duration,
    /// `--out` and `--report`, fed the fleet's merged deltas.
    pub outputs: Option<OutputSet>,
    /// The `testid` label of `/metrics`.
    pub testid: String,
    /// A second port serving only the status endpoints and `POST /v1/abort`.
    pub status_listen: Option<SocketAddr>,
    /// Stops the fleet as `volley abort` does (a signal to this process).
    pub stop: StopHandle,
    /// Ends the linger early (a signal to this process).
    pub linger_end: StopHandle,
    /// Receives the run's events (progress, stops, lost runners, the outputs' notes).
    pub events: Option<EventSink>,
    /// The files the outputs write that the status port serves once the run has ended.
    pub served: Served,
    /// Log the summary as one JSON line when the run ends, before the linger (target
    /// `volley::summary`, field `summary`): what the pods' log keeps after they exit.
    pub log_summary: bool,
    /// `--baseline`: the fleet's summary is compared with this run's at the end.
    pub baseline: Option<Arc<crate::compare::Baseline>>,
}

/// The output files a coordinator serves on its status port (both ports, in fact: they
/// are read-only) once the run has ended, through its linger: `GET /report` the
/// `--report` file, `GET /out/K` the `K`-th `--out json=FILE` (0-based, in the order of
/// the specs). `volley deploy` and `volley status` fetch them through the API server.
#[derive(Clone, Debug, Default)]
pub struct Served {
    pub report: Option<std::path::PathBuf>,
    pub json: Vec<std::path::PathBuf>,
}

/// What the handlers and the lifecycle share.
struct Hub {
    state: Mutex<FleetState>,
    /// Woken on every control change (long polls wait on it).
    changed: Notify,
    token: String,
    slices: Vec<Bytes>,
    summary: Mutex<Option<Summary>>,
    started: Mutex<Option<Instant>>,
    total: Duration,
    /// When a runner last called (ms since `epoch`), for the drain after the end.
    last_call_ms: std::sync::atomic::AtomicU64,
    epoch: Instant,
    /// `POST /v1/abort` stops the run as a signal does.
    stop: StopHandle,
    prom: PromOptions,
    served: Served,
    /// The live page (`GET /dashboard`), fed by the outputs.
    dashboard: Dashboard,
    /// To the fleet source: every applied delta, in order, and each push.
    events: mpsc::UnboundedSender<HubEvent>,
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, FleetState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends the deltas the state applied to the source; called with the lock held, so
    /// they arrive in the order they were applied.
    fn flush_outbox(&self, st: &mut FleetState) {
        for d in st.take_outbox() {
            let _ = self.events.send(HubEvent::Delta(d));
        }
    }
}

/// A runner process that exited: its index and how.
pub type Exit = (u32, String);

/// A bound coordinator, ready to run.
pub struct Coordinator {
    listener: std::net::TcpListener,
    /// The status port, when it is separate (Kubernetes: its NetworkPolicy opens only
    /// this one beyond the runners).
    status_listener: Option<std::net::TcpListener>,
    opts: CoordinatorOptions,
    hub: Arc<Hub>,
    exits: (mpsc::UnboundedSender<Exit>, mpsc::UnboundedReceiver<Exit>),
    hub_events: mpsc::UnboundedReceiver<HubEvent>,
    stop: StopHandle,
}

impl Coordinator {
    /// Binds `addr` (port 0 picks one) and prepares the state.
    pub fn bind(addr: SocketAddr, mut opts: CoordinatorOptions) -> std::io::Result<Coordinator> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let status_listener = match opts.status_listen {
            Some(a) => {
                let l = std::net::TcpListener::bind(a)?;
                l.set_nonblocking(true)?;
                Some(l)
            }
            None => None,
        };
        let hash = volley_plan::content_hash(&opts.plan);
        let agg = Aggregate::new(Registry::new(&opts.plan.metrics));
        let mut state = FleetState::new(&opts.plan, hash, opts.runners, agg);
        state.outbox = Some(Vec::new());
        let (events, hub_events) = mpsc::unbounded_channel();
        let stop = opts.stop.clone();
        // The caller's dashboard (`volley run --runners N --dashboard`, served on its own
        // port without a control), or one of its own whose page offers the abort.
        let dashboard = match opts.outputs.as_ref().and_then(|o| o.dashboard().cloned()) {
            Some(d) => d,
            None => {
                let d = Dashboard::new(Arc::new(opts.plan.clone()), opts.testid.clone(), None);
                d.set_control(true);
                d
            }
        };
        let slices = std::mem::take(&mut opts.slices)
            .into_iter()
            .map(Bytes::from)
            .collect();
        let hub = Arc::new(Hub {
            state: Mutex::new(state),
            changed: Notify::new(),
            token: opts.token.clone(),
            slices,
            summary: Mutex::new(None),
            started: Mutex::new(None),
            total: Duration::from_millis(opts.plan.planned_duration_ms()),
            last_call_ms: Default::default(),
            epoch: Instant::now(),
            stop: stop.clone(),
            prom: PromOptions::new(&opts.testid),
            served: opts.served.clone(),
            dashboard,
            events,
        });
        // Any server of the dashboard (`volley run --runners N --dashboard`'s own) shows
        // the runners; a weak link, as the hub holds the dashboard.
        let weak = Arc::downgrade(&hub);
        hub.dashboard.set_runner_rows(move || {
            weak.upgrade()
                .map(|hub| runner_rows(&hub))
                .unwrap_or_default()
        });
        Ok(Coordinator {
            listener,
            status_listener,
            opts,
            hub,
            exits: mpsc::unbounded_channel(),
            hub_events,
            stop,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where a local launcher reports a runner process that exited: (index, status).
    pub fn exits(&self) -> mpsc::UnboundedSender<Exit> {
        self.exits.0.clone()
    }

    /// Stops the fleet as `volley abort` does.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Runs the whole lifecycle; blocking. Returns the fleet's exit code and summary.
    pub fn run(self) -> RunOutcome {
        let rt = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("volley-coordinator")
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => return failed(&self.opts.plan, &FleetError::Runtime(e)),
        };
        // Setup and teardown run on the supervisor, whose VU needs a `LocalSet`; the
        // servers run on the runtime's threads.
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, self.lifecycle())
    }

    async fn lifecycle(mut self) -> RunOutcome {
        // The dashboard is always fed, with or without `--out` and `--report`.
        let outputs = match self.opts.outputs.take() {
            Some(o) => Some(o),
            None => OutputSet::new(OutputConfig {
                specs: Vec::new(),
                report: None,
                testid: self.opts.testid.clone(),
                plan: Arc::new(self.opts.plan.clone()),
                source: None,
                env: BTreeMap::new(),
            })
            .map_err(|e| tracing::warn!("the dashboard gets no data: {e}"))
            .ok(),
        };
        let outputs = outputs.map(|mut o| {
            if o.dashboard().is_none() {
                o.attach_dashboard(self.hub.dashboard.clone());
            }
            // Runners' deltas arrive up to a push period late: intervals wait longer.
            o.set_settle(super::OUTPUT_SETTLE);
            o
        });
        let events = self.opts.events.take();
        let Coordinator {
            listener,
            status_listener,
            opts,
            hub,
            exits: (_, exits),
            hub_events,
            stop,
        } = self;
        let plan = Arc::new(opts.plan.clone());
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => return failed(&plan, &FleetError::Listen(e)),
        };
        let (stop_server, server_stopped) = watch::channel(false);
        let token: Arc<str> = Arc::from(hub.token.as_str());
        let server = tokio::spawn(http::serve(
            listener,
            handler(Arc::clone(&hub), false),
            server_stopped.clone(),
            Some(Arc::clone(&token)),
        ));
        let status_server = match status_listener.map(tokio::net::TcpListener::from_std) {
            Some(Ok(l)) => Some(tokio::spawn(http::serve(
                l,
                handler(Arc::clone(&hub), true),
                server_stopped,
                Some(token),
            ))),
            Some(Err(e)) => return failed(&plan, &FleetError::Listen(e)),
            None => None,
        };
        let mut source = FleetSource {
            plan: Arc::clone(&plan),
            hub: Arc::clone(&hub),
            runners: opts.runners,
            start_margin: opts.start_margin,
            events: hub_events,
            exits,
            exits_open: true,
            exited: Default::default(),
            told: Default::default(),
            pending: Default::default(),
            finished: false,
            overdue: None,
            heartbeat: tokio::time::interval(HEARTBEAT_CHECK),
        };
        let supervisor = Supervisor {
            plan: Arc::clone(&plan),
            agg: Aggregate::new(Registry::new(&plan.metrics)),
            progress: opts.progress,
            outputs,
            stop: Some(stop),
            events,
            tap: None,
            hooks: HookVu::Build {
                plan: Arc::clone(&plan),
                env: opts.env.clone(),
                built: None,
            },
            report: Report::new(&plan),
            detail: Some(crate::compare::detail::DetailRecorder::new(
                &plan,
                Registry::new(&plan.metrics),
            )),
            baseline: opts.baseline.clone(),
        };
        let outcome = supervisor.run(&mut source).await;
        if opts.log_summary {
            log_summary(&outcome.summary);
        }
        *hub.summary.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome.summary.clone());
        hub.lock().phase = Phase::Done;
        hub.changed.notify_waiters();
        source.drain().await;
        if !opts.linger.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(opts.linger) => {}
                _ = opts.linger_end.wait() => {}
            }
        }
        let _ = stop_server.send(true);
        let _ = server.await;
        if let Some(s) = status_server {
            let _ = s.await;
        }
        outcome
    }
}

/// Logs the summary as one JSON line (compact, the `--summary-json` shape), target
/// `volley::summary`, field `summary`; `volley status` reads it from the coordinator pod's
/// log once the coordinator has exited (`volley_k8s::deploy::results::summary_from_log`).
fn log_summary(summary: &Summary) {
    match serde_json::to_string(summary) {
        Ok(json) => tracing::info!(
            target: "volley::summary",
            summary = %json,
            "the fleet summary (the --summary-json shape)"
        ),
        Err(e) => tracing::warn!("the summary cannot be logged as JSON: {e}"),
    }
}

/// A run that ended before it could start: its exit code and an empty summary.
fn failed(plan: &Plan, e: &FleetError) -> RunOutcome {
    tracing::error!("{}", crate::run::error_chain(e));
    let code = e.exit_code();
    let plan = Arc::new(plan.clone());
    let mut agg = Aggregate::new(Registry::new(&plan.metrics));
    RunOutcome {
        exit_code: code,
        summary: Report::new(&plan).finish(&mut agg, Duration::ZERO, None, Some(code)),
    }
}

/// What the hub tells the fleet source, in the order it happened (sent under the hub's
/// lock, so merges keep the state machine's order).
enum HubEvent {
    Delta(Delta),
    /// A push was applied: runners may be done or lost.
    Pushed,
    /// A runner is ready (before the start).
    Changed,
}

/// The fleet as the supervisor's source: the hub of runners (joins, the exact merge of
/// sequenced snapshots, barriers), one start instant, heartbeats, process exits and lost
/// runners.
struct FleetSource {
    plan: Arc<Plan>,
    hub: Arc<Hub>,
    runners: u32,
    start_margin: Duration,
    events: mpsc::UnboundedReceiver<HubEvent>,
    exits: mpsc::UnboundedReceiver<Exit>,
    /// Whether anyone can still report an exit (a local fleet's process watcher).
    exits_open: bool,
    /// Runner processes known to have exited (local fleets report them).
    exited: BTreeSet<u32>,
    /// Lost runners already announced.
    told: BTreeSet<u32>,
    pending: VecDeque<SourceEvent>,
    /// Every runner is done or lost.
    finished: bool,
    /// Past the plan's end plus grace everybody should be done: then they are lost.
    overdue: Option<Instant>,
    heartbeat: tokio::time::Interval,
}

/// How often heartbeats are checked (a runner is lost after [`HEARTBEAT_TIMEOUT`]).
const HEARTBEAT_CHECK: Duration = Duration::from_millis(250);

/// After the end the server keeps answering until no runner has called for [`QUIET`]
/// (a runner whose last acknowledgement was lost retries within a second), every local
/// runner process has exited, or [`DRAIN_MAX`] has passed.
const QUIET: Duration = Duration::from_millis(1500);
const DRAIN_MAX: Duration = Duration::from_secs(15);

impl FleetSource {
    async fn drain(&mut self) {
        let deadline = Instant::now() + DRAIN_MAX;
        while Instant::now() < deadline && self.exited.len() < self.runners as usize {
            while let Ok((index, _)) = self.exits.try_recv() {
                self.exited.insert(index);
            }
            let last = self
                .hub
                .last_call_ms
                .load(std::sync::atomic::Ordering::Relaxed);
            let now = self.hub.epoch.elapsed().as_millis() as u64;
            if now.saturating_sub(last) >= QUIET.as_millis() as u64 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn stop_fleet(&self, reason: WireStop) {
        self.hub.lock().stop(reason);
        self.hub.changed.notify_waiters();
    }

    /// Announces newly lost runners and notices the end.
    fn check(&mut self) {
        let st = self.hub.lock();
        for (index, reason) in st.lost_reasons() {
            if self.told.insert(index) {
                self.pending
                    .push_back(SourceEvent::RunnerLost { index, reason });
            }
        }
        if st.phase == Phase::Running && st.all_finished() {
            self.finished = true;
        }
    }

    /// A runner process exited (a local fleet): lost unless it was done.
    fn process_exited(&mut self, index: u32, status: String) {
        self.exited.insert(index);
        let mut st = self.hub.lock();
        if st.process_exited(index, &status, Now::read()) {
            self.told.insert(index);
            self.pending.push_back(SourceEvent::RunnerLost {
                index,
                reason: format!("its process exited ({status})"),
            });
            self.hub.flush_outbox(&mut st);
            drop(st);
            self.hub.changed.notify_waiters();
        }
    }

    fn check_heartbeats(&mut self) {
        let mut st = self.hub.lock();
        let lost = st.check_heartbeats(Now::read());
        for &index in &lost {
            self.told.insert(index);
            self.pending.push_back(SourceEvent::RunnerLost {
                index,
                reason: "no heartbeat".into(),
            });
        }
        if !lost.is_empty() {
            self.hub.flush_outbox(&mut st);
            drop(st);
            self.hub.changed.notify_waiters();
        }
    }

    /// Long past the plan's end: every runner not done is lost, and the load is over.
    fn overdue(&mut self) {
        let mut st = self.hub.lock();
        for (i, r) in st.runners.iter_mut().enumerate() {
            if !matches!(r.state, RunnerState::Done | RunnerState::Lost) {
                r.state = RunnerState::Lost;
                r.lost_reason = Some("overdue".into());
                self.told.insert(i as u32);
                self.pending.push_back(SourceEvent::RunnerLost {
                    index: i as u32,
                    reason: "still not done long after the plan's end".into(),
                });
            }
        }
        self.finished = true;
    }
}

impl Source for FleetSource {
    /// Every runner ready, within the start timeout. A runner that leaves before the start
    /// (an eviction's signal) sent no load: its segment waits for a replacement.
    async fn prepare(&mut self, stop: &StopHandle) -> Result<(), RunError> {
        let timeout = Duration::from_millis(self.plan.fleet.start_timeout_ms);
        let deadline = tokio::time::Instant::now() + timeout;
        let mut left = BTreeSet::new();
        loop {
            if self.hub.lock().all_ready(Instant::now()) {
                return Ok(());
            }
            let now_left = self.hub.lock().left();
            left.retain(|i| now_left.iter().any(|(k, _)| k == i));
            for (index, reason) in now_left {
                if left.insert(index) {
                    tracing::warn!(
                        "runner {index} left before the start ({reason}): waiting for a replacement"
                    );
                }
            }
            tokio::select! {
                ev = self.events.recv() => {
                    // A delta before the start (a runner's first push) is kept for the
                    // supervisor, in order.
                    if let Some(HubEvent::Delta(d)) = ev {
                        self.pending.push_back(SourceEvent::Snapshot(d));
                    }
                }
                ex = self.exits.recv(), if self.exits_open => match ex {
                    Some((index, status)) => {
                        self.exited.insert(index);
                        let state = self.hub.lock().runners.get(index as usize).map(|r| r.state);
                        let e = FleetError::ExitedBeforeStart { index, status };
                        if state != Some(RunnerState::Done) {
                            self.stop_fleet(WireStop::Failed);
                            return Err(e.into());
                        }
                        tracing::error!("{e}");
                    }
                    None => self.exits_open = false,
                },
                _ = stop.wait() => {
                    self.stop_fleet(WireStop::Stop);
                    return Err(FleetError::Stopped.into());
                }
                // A replacement that stopped asking no longer holds the start.
                _ = tokio::time::sleep(HEARTBEAT_CHECK) => {}
                _ = tokio::time::sleep_until(deadline) => {
                    let stuck: Vec<String> = self
                        .hub
                        .lock()
                        .not_ready()
                        .into_iter()
                        .map(|(i, s)| format!("runner {i} ({})", state_name(s)))
                        .collect();
                    self.stop_fleet(WireStop::Failed);
                    return Err(FleetError::StartTimeout {
                        timeout: volley_plan::view::human_ms(self.plan.fleet.start_timeout_ms),
                        stuck: stuck.join(", "),
                    }
                    .into());
                }
            }
        }
    }

    fn hook(&mut self, role: Role) {
        self.hub.lock().phase = match role {
            Role::Setup => Phase::Setup,
            _ => Phase::Teardown,
        };
    }

    fn own_samples(&mut self, snapshot: &Snapshot) {
        // The hub's live view (`/status`, `/metrics`) shows setup's samples too.
        self.hub.lock().agg.merge(snapshot);
    }

    /// Ships setup's values and fixes one start instant for all.
    async fn start(&mut self, values: Vec<Value>) -> Result<Instant, RunError> {
        let used = setup_values_used(&self.plan);
        let wire: Result<Vec<WireValue>, FleetError> = values
            .iter()
            .zip(&self.plan.setup_values)
            .enumerate()
            .map(|(i, (v, name))| {
                if !used.contains(&(i as u32)) {
                    // The runners never read it: nothing to ship (it may be a response).
                    return Ok(WireValue::Null);
                }
                WireValue::from_value(v).map_err(|source| FleetError::SetupValue {
                    name: name.clone(),
                    source,
                })
            })
            .collect();
        let wire = wire?;
        let at = super::unix_ms_now() + self.start_margin.as_millis() as u64;
        let t0 = super::instant_of_unix_ms(at);
        self.hub.lock().start(at, wire);
        *self.hub.started.lock().unwrap_or_else(|p| p.into_inner()) = Some(t0);
        self.hub.changed.notify_waiters();
        self.overdue = Some(
            t0 + Duration::from_millis(self.plan.max_duration_ms() + self.plan.fleet.grace_ms)
                + Duration::from_secs(30),
        );
        Ok(t0)
    }

    async fn next(&mut self) -> SourceEvent {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return e;
            }
            if self.finished {
                return SourceEvent::Done;
            }
            // Set by `start`, which comes before the first `next`.
            let overdue = self.overdue.unwrap_or_else(|| Instant::now() + DRAIN_MAX);
            tokio::select! {
                ev = self.events.recv() => match ev {
                    Some(HubEvent::Delta(d)) => return SourceEvent::Snapshot(d),
                    Some(HubEvent::Pushed | HubEvent::Changed) => self.check(),
                    None => self.finished = true,
                },
                ex = self.exits.recv(), if self.exits_open => match ex {
                    Some((index, status)) => {
                        self.process_exited(index, status);
                        self.check();
                    }
                    None => self.exits_open = false,
                },
                _ = self.heartbeat.tick() => {
                    self.check_heartbeats();
                    self.check();
                }
                _ = tokio::time::sleep_until(overdue.into()) => self.overdue(),
            }
        }
    }

    fn stop(&mut self, reason: StopReason) {
        self.stop_fleet(match reason {
            StopReason::Signal => WireStop::Stop,
            StopReason::AbortOnFail => WireStop::AbortOnFail,
            StopReason::Failed => WireStop::Failed,
        });
    }

    async fn finish(&mut self) -> Vec<Delta> {
        let mut out = Vec::new();
        while let Ok(ev) = self.events.try_recv() {
            if let HubEvent::Delta(d) = ev {
                out.push(d);
            }
        }
        out
    }

    fn live(&self) -> Live {
        let st = self.hub.lock();
        let (vus, vus_max) = st.vus();
        Live {
            vus,
            vus_max,
            scenarios: Vec::new(),
            runners: Some(Runners {
                total: self.runners,
                lost: st.lost(),
            }),
        }
    }

    fn verdict(&self) -> Option<Verdict> {
        (self.hub.lock().lost() > 0).then_some(Verdict::RunnersLost)
    }

    /// The per-runner rows, the start skew and the lost count.
    fn complete(&mut self, summary: &mut Summary) {
        let st = self.hub.lock();
        let total_reqs: f64 = st.runners.iter().map(|r| r.http_reqs).sum();
        summary.volley.runners = st
            .runners
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let lost = r.state == RunnerState::Lost;
                let (start, first) = st.offsets_ms(i);
                RunnerSummary {
                    index: i as u32,
                    lost,
                    state: if lost {
                        RunnerOutcome::Lost
                    } else {
                        RunnerOutcome::Ok
                    },
                    http_reqs: r.http_reqs,
                    iterations: r.iterations,
                    share: if total_reqs > 0.0 {
                        r.http_reqs / total_reqs
                    } else {
                        0.0
                    },
                    start_offset_ms: start,
                    first_request_offset_ms: first,
                    reason: r.lost_reason.clone().filter(|_| lost),
                }
            })
            .collect();
        summary.volley.start_skew_ms = st.start_skew_ms();
        summary.volley.runners_lost = st.lost();
        if st.duplicates > 0 || st.gaps > 0 {
            tracing::info!(
                "note: {} retried snapshot(s) ignored, {} gap(s) refilled by the runners",
                st.duplicates,
                st.gaps
            );
        }
    }
}
/// The setup values the runners' code reads (`setup.NAME` in scenarios and flows).
fn setup_values_used(plan: &Plan) -> std::collections::BTreeSet<u32> {
    let mut used = std::collections::BTreeSet::new();
    let mut code: Vec<&[volley_plan::Stmt]> =
        plan.flows.iter().map(|f| f.body.as_slice()).collect();
    for s in &plan.scenarios {
        code.push(&s.init);
        code.push(&s.iteration);
    }
    for body in code {
        volley_plan::program::walk_exprs(body, &mut |e| {
            if let volley_plan::Expr::Setup(i) = e {
                used.insert(*i);
            }
        });
    }
    used
}

fn state_name(s: RunnerState) -> &'static str {
    match s {
        RunnerState::Absent => "never joined",
        RunnerState::Joined => "joined, not ready",
        RunnerState::Ready => "ready",
        RunnerState::Running => "running",
        RunnerState::Done => "done",
        RunnerState::Lost => "lost",
        RunnerState::Left => "left before the start, no replacement yet",
    }
}

/// Every runner's row on the dashboard.
fn runner_rows(hub: &Hub) -> Vec<RunnerRow> {
    let st = hub.lock();
    st.runners
        .iter()
        .enumerate()
        .map(|(i, r)| RunnerRow {
            index: i as u32,
            state: match r.state {
                RunnerState::Absent => "waiting",
                RunnerState::Joined => "joined",
                RunnerState::Ready => "ready",
                RunnerState::Running => "running",
                RunnerState::Done => "done",
                RunnerState::Lost => "lost",
                RunnerState::Left => "left",
            },
            http_reqs: r.http_reqs,
            iterations: r.iterations,
            reason: r
                .lost_reason
                .clone()
                .filter(|_| r.state == RunnerState::Lost),
        })
        .collect()
}

/// `/status`: what `volley deploy` and `volley status` show.
#[derive(Serialize)]
struct Status<'a> {
    protocol: u32,
    run: &'a str,
    plan_hash: &'a str,
    phase: &'static str,
    elapsed_ms: u64,
    total_ms: u64,
    runners: RunnerCounts,
    vus: u64,
    vus_max: u64,
    http_reqs: u64,
    rps: f64,
    http_req_failed: f64,
    iterations: u64,
    exit_code: Option<ExitCode>,
    verdict: Option<Verdict>,
}

#[derive(Serialize)]
struct RunnerCounts {
    expected: u32,
    joined: usize,
    ready: usize,
    done: usize,
    lost: u32,
}

fn status(hub: &Hub) -> Vec<u8> {
    let started = *hub.started.lock().unwrap_or_else(|p| p.into_inner());
    let summary = hub
        .summary
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let st = hub.lock();
    let elapsed = started.map_or(Duration::ZERO, |t| {
        Instant::now().saturating_duration_since(t)
    });
    let p = Progress::from_aggregate(&st.agg, elapsed, hub.total);
    let failed = st
        .agg
        .view("http_req_failed", &BTreeMap::new())
        .map_or(0.0, |v| v.rate);
    let secs = elapsed.as_secs_f64();
    let joined = st
        .runners
        .iter()
        .filter(|r| !matches!(r.state, RunnerState::Absent | RunnerState::Left))
        .count();
    let body = Status {
        protocol: PROTOCOL,
        run: &st.run,
        plan_hash: &st.plan_hash,
        phase: st.phase.name(),
        elapsed_ms: elapsed.as_millis() as u64,
        total_ms: hub.total.as_millis() as u64,
        runners: RunnerCounts {
            expected: st.expected(),
            joined,
            ready: st.count(RunnerState::Ready) + st.count(RunnerState::Running),
            done: st.count(RunnerState::Done),
            lost: st.lost(),
        },
        vus: p.vus,
        vus_max: p.vus_max,
        http_reqs: p.http_reqs,
        rps: if secs > 0.0 {
            p.http_reqs as f64 / secs
        } else {
            0.0
        },
        http_req_failed: failed,
        iterations: p.iterations,
        exit_code: summary.as_ref().map(Summary::exit_code),
        verdict: summary.as_ref().map(|s| s.volley.verdict),
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

fn json<T: Serialize>(status: u16, body: &T) -> Reply {
    Reply {
        status,
        body: Bytes::from(serde_json::to_vec(body).unwrap_or_default()),
    }
}

fn error(status: u16, message: impl Into<String>) -> Reply {
    json(
        status,
        &ErrorBody {
            error: message.into(),
        },
    )
}

/// Whether the request carries the run token (`Authorization: Bearer …` or
/// `X-Volley-Token`), compared in time independent of where it differs.
fn authorized(hub: &Hub, req: &ServerRequest) -> bool {
    http::token_ok(
        req.authorization.as_deref(),
        req.volley_token.as_deref(),
        &hub.token,
    )
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Reply> {
    serde_json::from_slice(body).map_err(|e| error(400, format!("malformed body: {e}")))
}

/// The protocol port's handler, or (`status_only`) the status port's: the read-only
/// endpoints and `POST /v1/abort`, never the runners' API.
fn handler(hub: Arc<Hub>, status_only: bool) -> Handler {
    Arc::new(move |req: ServerRequest| {
        let hub = Arc::clone(&hub);
        Box::pin(async move { route(&hub, req, status_only).await.unwrap_or_else(|r| r) })
    })
}

async fn route(hub: &Arc<Hub>, req: ServerRequest, status_only: bool) -> Result<Reply, Reply> {
    match (&req.method, req.path.as_str()) {
        (&Method::GET, "/healthz") => {
            return Ok(Reply {
                status: 200,
                body: Bytes::from_static(b"ok\n"),
            })
        }
        (&Method::GET, "/status") => {
            return Ok(Reply {
                status: 200,
                body: Bytes::from(status(hub)),
            })
        }
        (&Method::GET, "/metrics") => {
            let st = hub.lock();
            let (vus, vus_max) = st.vus();
            let started = *hub.started.lock().unwrap_or_else(|p| p.into_inner());
            let live = OutputLive {
                elapsed: started.map_or(Duration::ZERO, |t| t.elapsed()),
                vus,
                vus_max,
            };
            return Ok(Reply {
                status: 200,
                body: Bytes::from(prometheus::text(&st.agg, &hub.prom, Some(&live))),
            });
        }
        (_, "/dashboard" | "/dashboard/data") => {
            let rows = || runner_rows(hub);
            if let Some(reply) =
                hub.dashboard
                    .route(&req.method, &req.path, &req.query, false, rows)
            {
                return Ok(reply);
            }
        }
        (&Method::GET, "/summary") => {
            let summary = hub
                .summary
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            return match summary {
                Some(s) => Ok(json(200, &s)),
                None => Err(error(404, "the run has not finished")),
            };
        }
        (&Method::GET, "/report") => {
            return served_file(hub, hub.served.report.as_deref(), "--report FILE").await
        }
        (&Method::GET, p) if p.starts_with("/out/") => {
            let file = p["/out/".len()..]
                .parse::<usize>()
                .ok()
                .and_then(|k| hub.served.json.get(k));
            return served_file(hub, file.map(|f| f.as_path()), "--out json=FILE").await;
        }
        _ => {}
    }
    if !req.path.starts_with("/v1/") {
        return Err(error(404, format!("no such endpoint: {}", req.path)));
    }
    if !authorized(hub, &req) {
        return Err(error(
            401,
            "a valid run token is required (Authorization: Bearer … or X-Volley-Token)",
        ));
    }
    if status_only && req.path != "/v1/abort" {
        return Err(error(
            404,
            "the status port serves /status, /summary, /report, /out/K, /metrics, /dashboard, /healthz and POST /v1/abort only",
        ));
    }
    hub.last_call_ms.store(
        hub.epoch.elapsed().as_millis() as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
    let now = Now::read();
    let refusal = |r: super::state::Refusal| error(r.status, r.message);
    match (&req.method, req.path.as_str()) {
        (&Method::POST, "/v1/join") => {
            let j: Join = parse(&req.body)?;
            let joined = hub.lock().join(&j, now.at).map_err(refusal)?;
            Ok(json(200, &joined))
        }
        (&Method::POST, "/v1/ready") => {
            let r: Ready = parse(&req.body)?;
            hub.lock().ready(&r, now.at).map_err(refusal)?;
            let _ = hub.events.send(HubEvent::Changed);
            Ok(json(200, &serde_json::json!({"ok": true})))
        }
        (&Method::GET, "/v1/slice") => {
            let index: usize = http::query_param(&req.query, "index")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| error(400, "slice needs ?index=K"))?;
            match hub.slices.get(index) {
                Some(b) => Ok(Reply {
                    status: 200,
                    body: b.clone(),
                }),
                None => Err(error(404, format!("no data slice for runner {index}"))),
            }
        }
        (&Method::GET, "/v1/control") => control(hub, &req.query).await,
        (&Method::POST, "/v1/push") => {
            let p: ReceivedPush = parse(&req.body)?;
            let (ack, version_before, version_after) = {
                let mut st = hub.lock();
                let before = st.control.version;
                let ack = st.push(&p, now);
                hub.flush_outbox(&mut st);
                let _ = hub.events.send(HubEvent::Pushed);
                (ack.map_err(refusal)?, before, st.control.version)
            };
            if version_after != version_before {
                hub.changed.notify_waiters();
            }
            Ok(json(200, &ack))
        }
        (&Method::POST, "/v1/abort") => {
            // The supervisor sees it at once and stops the fleet (exit 105).
            hub.stop.stop();
            Ok(json(200, &serde_json::json!({"ok": true})))
        }
        _ => Err(error(
            404,
            format!("no such endpoint: {} {}", req.method, req.path),
        )),
    }
}

/// A file the outputs wrote, once the run has ended (they write it at the end, or flush
/// it until then); `flag` names what the coordinator needs to have one.
async fn served_file(
    hub: &Hub,
    path: Option<&std::path::Path>,
    flag: &str,
) -> Result<Reply, Reply> {
    let done = hub
        .summary
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .is_some();
    if !done {
        return Err(error(
            404,
            "the run has not finished: the file is complete only at the end",
        ));
    }
    let Some(path) = path else {
        return Err(error(
            404,
            format!("this coordinator writes no such file (it was started without {flag})"),
        ));
    };
    match tokio::fs::read(path).await {
        Ok(body) => Ok(Reply {
            status: 200,
            body: Bytes::from(body),
        }),
        Err(e) => Err(error(500, format!("cannot read `{}`: {e}", path.display()))),
    }
}

/// The long poll: answers once the control state is newer than `after`, or after 5 s.
async fn control(hub: &Arc<Hub>, query: &str) -> Result<Reply, Reply> {
    let index: u32 = http::query_param(query, "index")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| error(400, "control needs ?index=K&instance=I&after=V"))?;
    let instance = http::query_param(query, "instance").unwrap_or("");
    let instance = url::form_urlencoded::parse(format!("i={instance}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let after: u64 = http::query_param(query, "after")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let notified = hub.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let snapshot: Control = {
            let mut st = hub.lock();
            st.seen(index, &instance, Instant::now())
                .map_err(|r| error(r.status, r.message))?;
            st.control.clone()
        };
        if snapshot.version > after {
            return Ok(json(200, &snapshot));
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            // A held poll is a live runner: it counts as seen when it answers too, so the
            // heartbeat gap is the round trip between two polls, not the 5 s hold.
            let _ = hub.lock().seen(index, &instance, Instant::now());
            return Ok(json(200, &snapshot));
        }
    }
}
