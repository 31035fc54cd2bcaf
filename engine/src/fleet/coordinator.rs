//! The coordinator process: serves the protocol (docs/protocol.md) and the status
//! endpoint, waits for every runner (within `fleet.start_timeout`), runs setup once and
//! ships its values, fixes one start instant, judges the thresholds on the merged metrics
//! every 2 s (stopping the fleet on `abort_on_fail`), watches heartbeats and process
//! exits, runs teardown once and builds the fleet summary.
//!
//! The bookkeeping is [`super::state::FleetState`]; this module adds the clock, the
//! sockets and the lifecycle. It must not run any scenario load itself.

use super::http::{self, Handler, Reply, ServerRequest};
use super::protocol::{
    Control, ErrorBody, Join, Ready, ReceivedPush, StopReason, WireValue, PROTOCOL,
};
use super::state::{FleetState, Now, Phase, RunnerState};
use crate::interp::Role;
use crate::metrics::{Aggregate, Registry};
use crate::output::prometheus::{self, PromOptions};
use crate::output::{Live, OutputSet};
use crate::progress::{self, Progress};
use crate::run::report::{Report, EVALUATE_EVERY};
use crate::run::{ProgressMode, RunOutcome, StopHandle};
use crate::summary::{RunnerOutcome, RunnerSummary, Summary, Verdict};
use crate::thresholds;
use crate::value::Value;
use bytes::Bytes;
use hyper::Method;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, watch, Notify};
use volley_plan::slice::DataSlice;
use volley_plan::{ExitCode, Plan};

/// How to coordinate.
pub struct CoordinatorOptions {
    /// The fleet plan, exactly as the runners hold it (its hash is checked on join).
    pub plan: Plan,
    /// One data slice per segment when the plan has sliced data.
    pub slices: Vec<DataSlice>,
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
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, FleetState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
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
    stop: StopHandle,
}

impl Coordinator {
    /// Binds `addr` (port 0 picks one) and prepares the state.
    pub fn bind(addr: SocketAddr, opts: CoordinatorOptions) -> std::io::Result<Coordinator> {
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
        if opts.outputs.is_some() {
            state.deltas = Some(super::state::Deltas::new(Arc::clone(state.agg.registry())));
        }
        let stop = opts.stop.clone();
        let slices = opts
            .slices
            .iter()
            .map(|s| Bytes::from(serde_json::to_vec(s).unwrap_or_default()))
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
        });
        Ok(Coordinator {
            listener,
            status_listener,
            opts,
            hub,
            exits: mpsc::unbounded_channel(),
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
            Err(e) => {
                return failed(
                    &self.opts.plan,
                    ExitCode::Failure,
                    &format!("cannot start a runtime: {e}"),
                )
            }
        };
        rt.block_on(self.lifecycle())
    }

    async fn lifecycle(mut self) -> RunOutcome {
        let outputs = self.opts.outputs.take().map(|mut o| {
            o.set_settle(super::OUTPUT_SETTLE);
            o
        });
        let Coordinator {
            listener,
            status_listener,
            opts,
            hub,
            exits: (_, mut exits),
            stop,
        } = self;
        let plan = Arc::new(opts.plan.clone());
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => return failed(&plan, ExitCode::Failure, &format!("cannot listen: {e}")),
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
            Some(Err(e)) => {
                return failed(&plan, ExitCode::Failure, &format!("cannot listen: {e}"))
            }
            None => None,
        };
        let mut life = Life {
            plan: Arc::clone(&plan),
            hub: Arc::clone(&hub),
            opts: &opts,
            report: Report::new(&plan),
            stop: &stop,
            exits: &mut exits,
            exited: Default::default(),
            run_start: Instant::now(),
            outputs,
        };
        let outcome = life.drive().await;
        *hub.summary.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome.summary.clone());
        hub.lock().phase = Phase::Done;
        hub.changed.notify_waiters();
        life.drain().await;
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

/// A run that ended before it could start: `code` and an empty summary.
fn failed(plan: &Plan, code: ExitCode, msg: &str) -> RunOutcome {
    eprintln!("error: {msg}");
    let plan = Arc::new(plan.clone());
    let mut agg = Aggregate::new(Registry::new(&plan.metrics));
    RunOutcome {
        exit_code: code,
        summary: Report::new(&plan).finish(&mut agg, Duration::ZERO, None, Some(code)),
    }
}

/// The lifecycle's working set.
struct Life<'a> {
    plan: Arc<Plan>,
    hub: Arc<Hub>,
    opts: &'a CoordinatorOptions,
    report: Report,
    stop: &'a StopHandle,
    exits: &'a mut mpsc::UnboundedReceiver<Exit>,
    /// Runner processes known to have exited (local fleets report them).
    exited: std::collections::BTreeSet<u32>,
    run_start: Instant,
    outputs: Option<OutputSet>,
}

/// Why the fleet stopped early.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Early {
    Signal,
    AbortOnFail,
}

/// After the end the server keeps answering until no runner has called for [`QUIET`]
/// (a runner whose last acknowledgement was lost retries within a second), every local
/// runner process has exited, or [`DRAIN_MAX`] has passed.
const QUIET: Duration = Duration::from_millis(1500);
const DRAIN_MAX: Duration = Duration::from_secs(15);

impl Life<'_> {
    async fn drain(&mut self) {
        let deadline = Instant::now() + DRAIN_MAX;
        while Instant::now() < deadline && self.exited.len() < self.opts.runners as usize {
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

    async fn drive(&mut self) -> RunOutcome {
        // 1. Every runner ready, within the start timeout.
        if let Err(code) = self.wait_ready().await {
            return self.end(None, Some(code)).await;
        }
        // 2. Setup, once.
        self.hub.lock().phase = Phase::Setup;
        let values = match self.hook(Role::Setup, Vec::new()).await {
            Ok(v) => v,
            Err(msg) => {
                eprintln!("error: setup failed: {msg}");
                self.stop_fleet(StopReason::Failed);
                return self.end(None, Some(ExitCode::SetupFailed)).await;
            }
        };
        let used = setup_values_used(&self.plan);
        let wire: Result<Vec<WireValue>, String> = values
            .iter()
            .zip(&self.plan.setup_values)
            .enumerate()
            .map(|(i, (v, name))| {
                if !used.contains(&(i as u32)) {
                    // The runners never read it: nothing to ship (it may be a response).
                    return Ok(WireValue::Null);
                }
                WireValue::from_value(v).map_err(|e| format!("setup value `{name}`: {e}"))
            })
            .collect();
        let wire = match wire {
            Ok(w) => w,
            Err(msg) => {
                eprintln!("error: {msg}");
                self.stop_fleet(StopReason::Failed);
                return self.end(None, Some(ExitCode::SetupFailed)).await;
            }
        };
        // 3. One start instant for all.
        let at = super::unix_ms_now() + self.opts.start_margin.as_millis() as u64;
        let t0 = super::instant_of_unix_ms(at);
        self.hub.lock().start(at, wire);
        *self.hub.started.lock().unwrap_or_else(|p| p.into_inner()) = Some(t0);
        self.hub.changed.notify_waiters();
        // 4. The run.
        let early = self.watch(t0).await;
        // 5. Teardown, once, then the verdict.
        self.hub.lock().phase = Phase::Teardown;
        if let Err(msg) = self.hook(Role::Teardown, values).await {
            eprintln!("error: teardown failed: {msg}");
        }
        let verdict = match early {
            Some(Early::Signal) => Some(Verdict::Aborted),
            Some(Early::AbortOnFail) => Some(Verdict::AbortedByThreshold),
            None if self.hub.lock().lost() > 0 => Some(Verdict::RunnersLost),
            None => None,
        };
        self.end_at(t0, verdict, None).await
    }

    async fn wait_ready(&mut self) -> Result<(), ExitCode> {
        let deadline = Instant::now() + Duration::from_millis(self.plan.fleet.start_timeout_ms);
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            tick.tick().await;
            if self.hub.lock().all_ready() {
                return Ok(());
            }
            while let Ok((index, status)) = self.exits.try_recv() {
                self.exited.insert(index);
                let state = self.hub.lock().runners.get(index as usize).map(|r| r.state);
                eprintln!("error: runner {index} exited before the start ({status})");
                if state != Some(RunnerState::Done) {
                    self.stop_fleet(StopReason::Failed);
                    return Err(ExitCode::InvalidInput);
                }
            }
            if self.stop.is_stopped() {
                self.stop_fleet(StopReason::Stop);
                return Err(ExitCode::AbortedBySignal);
            }
            let lost = self.hub.lock().lost_reasons();
            if let Some((index, reason)) = lost.into_iter().next() {
                eprintln!("error: runner {index} was lost before the start ({reason})");
                self.stop_fleet(StopReason::Failed);
                return Err(ExitCode::InvalidInput);
            }
            if Instant::now() >= deadline {
                let stuck: Vec<String> = self
                    .hub
                    .lock()
                    .not_ready()
                    .into_iter()
                    .map(|(i, s)| format!("runner {i} ({})", state_name(s)))
                    .collect();
                eprintln!(
                    "error: not every runner was ready within the start timeout ({}): {}",
                    volley_plan::view::human_ms(self.plan.fleet.start_timeout_ms),
                    stuck.join(", ")
                );
                self.stop_fleet(StopReason::Failed);
                return Err(ExitCode::InvalidInput);
            }
        }
    }

    /// Setup or teardown on its own thread (VU code needs a `LocalSet`).
    async fn hook(&self, role: Role, values: Vec<Value>) -> Result<Vec<Value>, String> {
        let has = match role {
            Role::Setup => self.plan.setup.is_some(),
            _ => self.plan.teardown.is_some(),
        };
        if !has {
            return Ok(Vec::new());
        }
        let (plan, env) = (Arc::clone(&self.plan), self.opts.env.clone());
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let _ = tx.send(crate::run::run_hook(&plan, &env, role, values));
        });
        let (result, snap) = rx
            .await
            .map_err(|_| "setup/teardown thread ended without a result".to_string())?;
        let mut st = self.hub.lock();
        st.agg.merge(&snap);
        if let Some(d) = st.deltas.as_mut() {
            d.merge(&snap);
        }
        result
    }

    fn stop_fleet(&self, reason: StopReason) {
        self.hub.lock().stop(reason);
        self.hub.changed.notify_waiters();
    }

    /// From the start until every runner is done or lost.
    async fn watch(&mut self, t0: Instant) -> Option<Early> {
        let mut early = None;
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let mut next_eval = t0 + EVALUATE_EVERY;
        let progress_every = match self.opts.progress {
            ProgressMode::Tty => Duration::from_secs(1),
            _ => Duration::from_secs(10),
        };
        let mut next_progress = t0 + progress_every;
        // Past the plan's end plus grace everybody should be done: stop, then give up.
        let overdue = t0
            + Duration::from_millis(self.plan.max_duration_ms() + self.plan.fleet.grace_ms)
            + Duration::from_secs(30);
        let mut last_reqs = (0u64, t0);
        let mut next_flush = t0 + Duration::from_secs(1);
        // Lost runners already named on stderr.
        let mut told = std::collections::BTreeSet::new();
        loop {
            tick.tick().await;
            let now = Now::read();
            if now.at >= next_flush {
                next_flush += Duration::from_secs(1);
                self.flush_outputs(t0, None);
            }
            while let Ok((index, status)) = self.exits.try_recv() {
                self.exited.insert(index);
                if self.hub.lock().process_exited(index, &status, now) {
                    eprintln!(
                        "runner {index} lost: its process exited ({status}); the others go on"
                    );
                    told.insert(index);
                    self.hub.changed.notify_waiters();
                }
            }
            for index in self.hub.lock().check_heartbeats(now) {
                eprintln!("runner {index} lost: no heartbeat; the others go on");
                told.insert(index);
                self.hub.changed.notify_waiters();
            }
            let lost = self.hub.lock().lost_reasons();
            for (index, reason) in lost {
                if told.insert(index) {
                    eprintln!("runner {index} lost: {reason}; the others go on");
                }
            }
            if self.hub.lock().all_finished() {
                break;
            }
            if early.is_none() && self.stop.is_stopped() {
                eprintln!("stopping the fleet (the summary follows)");
                early = Some(Early::Signal);
                self.stop_fleet(StopReason::Stop);
            }
            if now.at >= next_eval {
                next_eval += EVALUATE_EVERY;
                if early.is_none() && self.should_abort(t0) {
                    eprintln!("a threshold with abort_on_fail failed: stopping the fleet");
                    early = Some(Early::AbortOnFail);
                    self.stop_fleet(StopReason::AbortOnFail);
                }
            }
            if now.at >= next_progress {
                next_progress += progress_every;
                self.progress(t0, &mut last_reqs, false);
            }
            if now.at >= overdue {
                let mut st = self.hub.lock();
                for (i, r) in st.runners.iter_mut().enumerate() {
                    if !matches!(r.state, RunnerState::Done | RunnerState::Lost) {
                        eprintln!("runner {i} lost: still not done long after the plan's end");
                        r.state = RunnerState::Lost;
                        r.lost_reason = Some("overdue".into());
                    }
                }
                break;
            }
        }
        self.progress(t0, &mut last_reqs, true);
        if self.opts.progress == ProgressMode::Tty {
            eprintln!();
        }
        early
    }

    /// Hands the deltas merged since the last flush to the outputs; with `summary`, ends
    /// them (the report is written, network queues drained) and prints their notes.
    fn flush_outputs(&mut self, t0: Instant, summary: Option<&Summary>) {
        let Some(outs) = self.outputs.as_mut() else {
            return;
        };
        let (deltas, live) = {
            let mut st = self.hub.lock();
            let (vus, vus_max) = st.vus();
            let live = Live {
                elapsed: t0.elapsed(),
                vus,
                vus_max,
            };
            (st.take_deltas(), live)
        };
        for d in &deltas {
            outs.observe(d);
        }
        let st = self.hub.lock();
        match summary {
            None => outs.flush(SystemTime::now(), &st.agg, &live),
            Some(summary) => {
                if let Some(outs) = self.outputs.take() {
                    for note in outs.finish(summary, &st.agg, &live) {
                        eprintln!("{note}");
                    }
                }
            }
        }
    }

    fn should_abort(&self, t0: Instant) -> bool {
        let mut st = self.hub.lock();
        st.agg.set_elapsed(t0.elapsed());
        let results =
            thresholds::evaluate(&self.plan.thresholds, &st.agg, thresholds::Phase::Running);
        thresholds::should_abort(&results, t0.elapsed())
    }

    /// Prints the fleet's progress line; `done`: the last one, at 100 %.
    fn progress(&self, t0: Instant, last: &mut (u64, Instant), done: bool) {
        if self.opts.progress == ProgressMode::Quiet {
            return;
        }
        let (line, lost) = {
            let st = self.hub.lock();
            let mut p = Progress::from_aggregate(&st.agg, t0.elapsed(), self.hub.total);
            p.done = done;
            let now = Instant::now();
            let secs = now.saturating_duration_since(last.1).as_secs_f64();
            if secs > 0.0 {
                p.req_rate = Some(p.http_reqs.saturating_sub(last.0) as f64 / secs);
            }
            *last = (p.http_reqs, now);
            (
                progress::line(&p, self.opts.progress == ProgressMode::Tty),
                st.lost(),
            )
        };
        let n = self.opts.runners;
        let fleet = if lost > 0 {
            format!(
                "{} ({lost} lost)",
                crate::summary::plural(n as usize, "runner")
            )
        } else {
            crate::summary::plural(n as usize, "runner")
        };
        match self.opts.progress {
            ProgressMode::Tty => eprint!("\r\x1b[2K{fleet}: {line}"),
            _ => eprintln!("{fleet}: {line}"),
        }
    }

    async fn end(&mut self, verdict: Option<Verdict>, code: Option<ExitCode>) -> RunOutcome {
        let now = Instant::now();
        self.end_at(now, verdict, code).await
    }

    async fn end_at(
        &mut self,
        t0: Instant,
        verdict: Option<Verdict>,
        code: Option<ExitCode>,
    ) -> RunOutcome {
        let elapsed = if code.is_some() {
            self.run_start.elapsed()
        } else {
            t0.elapsed()
        };
        let mut st = self.hub.lock();
        let mut summary = self.report.finish(&mut st.agg, elapsed, verdict, code);
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
            eprintln!(
                "note: {} retried snapshot(s) ignored, {} gap(s) refilled by the runners",
                st.duplicates, st.gaps
            );
        }
        drop(st);
        self.flush_outputs(t0, Some(&summary));
        RunOutcome {
            exit_code: summary.exit_code(),
            summary,
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
    }
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
        .filter(|r| r.state != RunnerState::Absent)
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
            let live = Live {
                elapsed: started.map_or(Duration::ZERO, |t| t.elapsed()),
                vus,
                vus_max,
            };
            return Ok(Reply {
                status: 200,
                body: Bytes::from(prometheus::text(&st.agg, &hub.prom, Some(&live))),
            });
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
            "the status port serves /status, /summary, /metrics, /healthz and POST /v1/abort only",
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
                let ack = st.push(&p, now).map_err(refusal)?;
                (ack, before, st.control.version)
            };
            if version_after != version_before {
                hub.changed.notify_waiters();
            }
            Ok(json(200, &ack))
        }
        (&Method::POST, "/v1/abort") => {
            // The lifecycle sees it within a tick and stops the fleet (exit 105).
            hub.stop.stop();
            Ok(json(200, &serde_json::json!({"ok": true})))
        }
        _ => Err(error(
            404,
            format!("no such endpoint: {} {}", req.method, req.path),
        )),
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
