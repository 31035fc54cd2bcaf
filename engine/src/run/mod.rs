//! Local run orchestration: the entry point the CLI calls to run a plan (or one segment of
//! it) on this machine, and the exit code it ends with.
//!
//! Order of events: secrets are read from the environment (a missing one stops the run
//! before anything starts, exit 104); setup runs once on its own VU and its values are
//! frozen; `workers` threads start (thread-per-core, see `worker`) and, once all are
//! up, get one start instant; the driver (this thread) merges their snapshots every
//! second, evaluates thresholds every 2 s (a failed `abort_on_fail` threshold stops
//! everything: exit 108), prints progress and listens for Ctrl-C (a graceful stop that
//! still builds the summary: exit 105); when every worker is done, teardown runs once, the
//! thresholds are evaluated a last time (a failure: exit 99) and the summary is built.
//!
//! Exit codes: 0 passed, 99 a threshold failed, 104 the plan cannot run (invalid plan,
//! missing secret), 105 stopped by a signal, 107 setup failed (k6's script-error code),
//! 108 aborted by `abort_on_fail`.
//!
//! This module must not interpret code or schedule VUs (the executors do); it never
//! prints a secret.

pub(crate) mod report;
mod worker;

/// How progress is shown on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    /// One line rewritten every second (a terminal).
    Tty,
    /// A plain line every 10 s (logs, CI).
    Plain,
    /// Nothing.
    Quiet,
}

impl ProgressMode {
    fn interval(self) -> Duration {
        match self {
            ProgressMode::Tty => Duration::from_secs(1),
            ProgressMode::Plain | ProgressMode::Quiet => Duration::from_secs(10),
        }
    }
}

use crate::executor::{ScenarioState, VuCounts};
use crate::interp::{Identity, Recorder, Role, Shared, Vu};
use crate::metrics::{Aggregate, Shard, Snapshot};
use crate::summary::{Summary, Verdict};
use crate::value::Value;
use report::Report;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Notify};
use volley_plan::segment::Segment;
use volley_plan::{ExitCode, Plan};
use worker::Msg;

/// How to run.
pub struct RunOptions {
    /// The part of the plan this process runs (`Segment::whole()` for `volley run`).
    pub segment: Segment,
    /// Worker threads (default: the available cores).
    pub workers: usize,
    pub progress: ProgressMode,
    /// Where secrets are read (default: the process environment).
    pub env: BTreeMap<String, String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            segment: Segment::whole(),
            workers: std::thread::available_parallelism().map_or(1, usize::from),
            progress: ProgressMode::Quiet,
            env: std::env::vars().collect(),
        }
    }
}

/// How a run ended.
pub struct RunOutcome {
    pub exit_code: ExitCode,
    pub summary: Summary,
}

/// Receives a copy of every snapshot (see [`RunHooks::on_snapshot`]).
pub type SnapshotSink = Box<dyn FnMut(&Snapshot) + Send>;

/// Hooks for callers that drive runs themselves (the fleet runner): a start instant fixed
/// elsewhere, a copy of every snapshot.
#[derive(Default)]
pub struct RunHooks {
    /// Start the scenarios at this instant instead of as soon as the workers are up.
    pub start: Option<Instant>,
    /// Called with every snapshot the workers send, before it is merged.
    pub on_snapshot: Option<SnapshotSink>,
    /// Stops the run like Ctrl-C does (exit 105), from any thread (`volley abort`).
    pub stop: Option<StopHandle>,
    /// Run as one runner of a fleet (see [`FleetLink`]).
    pub fleet: Option<FleetLink>,
    /// `--out` and `--report`: fed every snapshot, flushed once a second, finished at the end.
    pub outputs: Option<crate::output::OutputSet>,
}

/// What a fleet runner's driver exchanges with the coordinator link (`crate::fleet`).
/// With a link the driver runs neither setup nor teardown (the coordinator does, once),
/// does not judge `abort_on_fail` itself (the coordinator judges the merged metrics), and
/// starts only when told.
pub struct FleetLink {
    /// Called once every worker is up with its VUs pre-allocated.
    pub ready: Box<dyn FnOnce() + Send>,
    /// The fleet's start instant and setup's values; a dropped sender means the run never
    /// starts (the coordinator stopped it or was lost).
    pub start: tokio::sync::oneshot::Receiver<(Instant, Vec<Value>)>,
    /// The fleet-wide release instant of each `start = after(..)` scenario.
    pub released: watch::Receiver<BTreeMap<u32, Instant>>,
    /// Told the index of every scenario as it finishes on this runner.
    pub finished: mpsc::UnboundedSender<u32>,
    /// Set when this runner sends its first scenario request.
    pub first_request: Arc<std::sync::OnceLock<std::time::SystemTime>>,
    /// Set when this runner's workers wake at the start instant (its actual start).
    pub started: Arc<std::sync::OnceLock<std::time::SystemTime>>,
}

/// A handle that stops a run gracefully, as Ctrl-C does; cheap to clone, usable from any
/// thread.
#[derive(Clone, Debug, Default)]
pub struct StopHandle(Arc<StopInner>);

#[derive(Debug, Default)]
struct StopInner {
    stopped: AtomicBool,
    notify: Notify,
}

impl StopHandle {
    pub fn stop(&self) {
        self.0.stopped.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    pub fn is_stopped(&self) -> bool {
        self.0.stopped.load(Ordering::SeqCst)
    }

    /// Resolves once the handle is stopped.
    pub async fn wait(&self) {
        loop {
            let n = self.0.notify.notified();
            if self.is_stopped() {
                return;
            }
            n.await;
        }
    }
}

/// Resolves on Ctrl-C (SIGINT) or when `handle` is stopped; never when neither happens
/// (nor when signals cannot be listened to).
async fn interrupted(handle: Option<StopHandle>) {
    let signal = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    match handle {
        Some(h) => {
            tokio::select! {
                _ = signal => {}
                _ = h.wait() => {}
            }
        }
        None => signal.await,
    }
}

/// Runs `plan` on this machine and returns the exit code and the summary. Blocking: it
/// builds its own runtimes and prints progress to stderr as `opts.progress` says.
pub fn run_plan(plan: &Plan, opts: RunOptions) -> RunOutcome {
    run_with(plan, opts, RunHooks::default())
}

/// [`run_plan`] with hooks.
pub fn run_with(plan: &Plan, opts: RunOptions, hooks: RunHooks) -> RunOutcome {
    let plan = Arc::new(plan.clone());
    // Nothing ran: the summary is one line with the reason (the caller prints it), no
    // metrics and no threshold verdicts.
    let fail = |code: ExitCode, msg: String| {
        let mut summary = crate::summary::not_started(&plan, &msg);
        summary.volley.exit_code = code;
        RunOutcome {
            exit_code: code,
            summary,
        }
    };
    let secrets = match resolve_secrets(&plan, &opts.env) {
        Ok(s) => s,
        Err(msg) => return fail(ExitCode::InvalidInput, msg),
    };
    let shared = match Shared::new(Arc::clone(&plan), secrets, opts.segment) {
        Ok(mut s) => {
            if let Some(f) = hooks.fleet.as_ref() {
                s.barrier = Some(f.released.clone());
                s.first_request = Arc::clone(&f.first_request);
                s.started = Arc::clone(&f.started);
            }
            Arc::new(s)
        }
        Err(msg) => return fail(ExitCode::InvalidInput, msg.to_string()),
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(ExitCode::Failure, format!("cannot start a runtime: {e}")),
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, drive(shared, opts, hooks))
}

/// Reads every secret of the plan from `env`, in `plan.secrets` order.
pub fn resolve_secrets(plan: &Plan, env: &BTreeMap<String, String>) -> Result<Vec<String>, String> {
    plan.secrets
        .iter()
        .map(|s| {
            env.get(&s.env).cloned().ok_or_else(|| {
                format!(
                    "secret {}: environment variable {} is not set",
                    s.name, s.env
                )
            })
        })
        .collect()
}

/// How long after a snapshot second the progress line is printed.
const PROGRESS_LAG: Duration = Duration::from_millis(200);

/// Why the run stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    Aborted,
    Signal,
}

async fn drive(shared: Arc<Shared>, opts: RunOptions, mut hooks: RunHooks) -> RunOutcome {
    let plan = Arc::clone(&shared.plan);
    let mut report = Report::new(&plan);
    let mut agg = Aggregate::new(Arc::clone(&shared.registry));
    let run_start = Instant::now();

    // Setup, once, before any scenario (a fleet's coordinator runs it instead).
    let stop_handle = hooks.stop.clone();
    let mut fleet = hooks.fleet.take();
    let setup = if fleet.is_some() {
        Some(Ok(Vec::new()))
    } else {
        tokio::select! {
            r = run_hook_code(&shared, Role::Setup, &mut agg, &mut hooks) => Some(r),
            _ = interrupted(stop_handle.clone()) => None,
        }
    };
    let values = match setup {
        Some(Ok(frame)) => frame,
        None => {
            eprintln!("interrupted during setup");
            let elapsed = run_start.elapsed();
            return end_early(
                &report,
                &mut agg,
                &mut hooks,
                elapsed,
                Some(Verdict::Aborted),
                None,
            );
        }
        Some(Err(msg)) => {
            eprintln!("error: setup failed: {msg}");
            let elapsed = run_start.elapsed();
            let code = Some(ExitCode::SetupFailed);
            return end_early(&report, &mut agg, &mut hooks, elapsed, None, code);
        }
    };
    if fleet.is_none() {
        let _ = shared.setup_values.set(values.into());
    }

    // Workers.
    let workers = opts.workers.max(1);
    let scenarios: Arc<[Arc<ScenarioState>]> =
        ScenarioState::for_plan(&plan, opts.segment, workers).into();
    let vus = Arc::new(VuCounts::default());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (start_tx, start_rx) = watch::channel(None);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut threads = Vec::with_capacity(workers);
    for index in 0..workers {
        let args = worker::WorkerArgs {
            index,
            count: workers,
            shared: Arc::clone(&shared),
            scenarios: Arc::clone(&scenarios),
            vus: Arc::clone(&vus),
            tx: tx.clone(),
            start: start_rx.clone(),
            stop: stop_rx.clone(),
        };
        match std::thread::Builder::new()
            .name(format!("volley-worker-{index}"))
            .spawn(move || worker::main(args))
        {
            Ok(h) => threads.push(h),
            Err(e) => {
                eprintln!("error: cannot start worker thread {index}: {e}");
                let _ = stop_tx.send(true);
                break;
            }
        }
    }
    drop(tx);
    let started = threads.len();
    let mut ready = 0;
    while ready < started {
        match rx.recv().await {
            Some(Msg::Ready) => ready += 1,
            Some(Msg::Snapshot(s)) => merge(&mut agg, &mut hooks, &s),
            Some(Msg::Done) | None => break,
        }
    }
    let t0 = match fleet.as_mut() {
        None => hooks.start.unwrap_or_else(Instant::now),
        Some(link) => {
            (std::mem::replace(&mut link.ready, Box::new(|| {})))();
            let start = tokio::select! {
                s = &mut link.start => s.ok(),
                _ = interrupted(stop_handle.clone()) => None,
            };
            match start {
                Some((t0, values)) => {
                    let _ = shared.setup_values.set(values.into());
                    report_finished(&scenarios, link.finished.clone());
                    t0
                }
                None => {
                    // Never started: wind the workers down without a single request.
                    let _ = stop_tx.send(true);
                    let _ = start_tx.send(Some(Instant::now()));
                    for t in threads {
                        let _ = t.join();
                    }
                    while let Ok(msg) = rx.try_recv() {
                        if let Msg::Snapshot(s) = msg {
                            merge(&mut agg, &mut hooks, &s);
                        }
                    }
                    let elapsed = run_start.elapsed();
                    let aborted = Some(Verdict::Aborted);
                    return end_early(&report, &mut agg, &mut hooks, elapsed, aborted, None);
                }
            }
        }
    };
    let _ = start_tx.send(Some(t0));

    // The driver loop: snapshots, thresholds, progress, signals.
    let total = Duration::from_millis(plan.planned_duration_ms());
    let mut stop: Option<Stop> = None;
    let mut done = 0;
    let mut eval_tick =
        tokio::time::interval_at((t0 + report::EVALUATE_EVERY).into(), report::EVALUATE_EVERY);
    let progress_every = opts.progress.interval();
    // A little after the workers' snapshots of the same second, so the line is current.
    let mut progress_tick =
        tokio::time::interval_at((t0 + progress_every + PROGRESS_LAG).into(), progress_every);
    let mut flush_tick = tokio::time::interval_at(
        (t0 + worker::SNAPSHOT_EVERY + PROGRESS_LAG).into(),
        worker::SNAPSHOT_EVERY,
    );
    flush_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ctrl_c = interrupted(stop_handle);
    tokio::pin!(ctrl_c);
    let mut ctrl_c_armed = true;
    while done < started {
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(Msg::Snapshot(s)) => merge(&mut agg, &mut hooks, &s),
                Some(Msg::Done) => done += 1,
                Some(Msg::Ready) => {}
                None => break,
            },
            _ = eval_tick.tick() => {
                if fleet.is_none() && stop.is_none() && report.should_abort(&mut agg, t0.elapsed()) {
                    eprintln!("a threshold with abort_on_fail failed: stopping the test");
                    stop = Some(Stop::Aborted);
                    let _ = stop_tx.send(true);
                }
            }
            _ = progress_tick.tick() => {
                let live = report::Live {
                    agg: &agg,
                    vus: &vus,
                    scenarios: &scenarios,
                    elapsed: t0.elapsed(),
                    total,
                    done: false,
                };
                report.progress(opts.progress, &live);
            }
            _ = flush_tick.tick(), if hooks.outputs.is_some() => {
                flush_outputs(&mut hooks, &agg, &vus, t0.elapsed(), None);
            }
            _ = &mut ctrl_c, if ctrl_c_armed => {
                ctrl_c_armed = false;
                if stop.is_none() {
                    eprintln!("interrupted: stopping gracefully (the summary follows)");
                    stop = Some(Stop::Signal);
                    let _ = stop_tx.send(true);
                }
            }
        }
    }
    for t in threads {
        let _ = t.join();
    }
    while let Ok(msg) = rx.try_recv() {
        if let Msg::Snapshot(s) = msg {
            merge(&mut agg, &mut hooks, &s);
        }
    }
    let live = report::Live {
        agg: &agg,
        vus: &vus,
        scenarios: &scenarios,
        elapsed: t0.elapsed(),
        total,
        done: true,
    };
    report.progress_done(opts.progress, &live);

    // Teardown, once, even after an abort (k6 does the same); a fleet's coordinator runs it.
    if fleet.is_none() {
        tokio::select! {
            r = run_hook_code(&shared, Role::Teardown, &mut agg, &mut hooks) => {
                if let Err(msg) = r {
                    eprintln!("error: teardown failed: {msg}");
                }
            }
            _ = interrupted(None) => {
                eprintln!("interrupted during teardown");
                stop = stop.or(Some(Stop::Signal));
            }
        }
    }

    let elapsed = t0.elapsed();
    let verdict = match stop {
        Some(Stop::Aborted) => Some(Verdict::AbortedByThreshold),
        Some(Stop::Signal) => Some(Verdict::Aborted),
        None => None,
    };
    let summary = report.finish(&mut agg, elapsed, verdict, None);
    flush_outputs(&mut hooks, &agg, &vus, elapsed, Some(&summary));
    RunOutcome {
        exit_code: summary.exit_code(),
        summary,
    }
}

/// The outcome of a run that ended before its scenarios ran (setup failed or was
/// interrupted, a fleet runner never started): the summary so far, outputs finished.
fn end_early(
    report: &Report,
    agg: &mut Aggregate,
    hooks: &mut RunHooks,
    elapsed: Duration,
    verdict: Option<Verdict>,
    code: Option<ExitCode>,
) -> RunOutcome {
    let summary = report.finish(agg, elapsed, verdict, code);
    flush_outputs(hooks, agg, &VuCounts::default(), elapsed, Some(&summary));
    RunOutcome {
        exit_code: summary.exit_code(),
        summary,
    }
}

/// Tells the fleet link each scenario's index as it finishes on this runner.
fn report_finished(scenarios: &Arc<[Arc<ScenarioState>]>, tx: mpsc::UnboundedSender<u32>) {
    for st in scenarios.iter() {
        let (st, tx) = (Arc::clone(st), tx.clone());
        tokio::task::spawn_local(async move {
            st.wait_finished().await;
            let _ = tx.send(u32::try_from(st.index).unwrap_or(u32::MAX));
        });
    }
}

fn merge(agg: &mut Aggregate, hooks: &mut RunHooks, s: &Snapshot) {
    if let Some(f) = hooks.on_snapshot.as_mut() {
        f(s);
    }
    if let Some(o) = hooks.outputs.as_mut() {
        o.observe(s);
    }
    agg.merge(s);
}

/// Flushes the outputs' interval, or at the end (`summary` given) finishes them and
/// prints their notes.
fn flush_outputs(
    hooks: &mut RunHooks,
    agg: &Aggregate,
    vus: &VuCounts,
    elapsed: Duration,
    summary: Option<&Summary>,
) {
    let live = crate::output::Live {
        elapsed,
        vus: vus.active.load(Ordering::Relaxed),
        vus_max: vus.created.load(Ordering::Relaxed),
    };
    match summary {
        None => {
            if let Some(o) = hooks.outputs.as_mut() {
                o.flush(std::time::SystemTime::now(), agg, &live);
            }
        }
        Some(s) => {
            for note in hooks
                .outputs
                .take()
                .map(|o| o.finish(s, agg, &live))
                .unwrap_or_default()
            {
                eprintln!("{note}");
            }
        }
    }
}

/// Runs setup or teardown (if the plan has it) on its own VU, merging its samples.
/// Returns setup's frame (empty when there is no such code).
async fn run_hook_code(
    shared: &Arc<Shared>,
    role: Role,
    agg: &mut Aggregate,
    hooks: &mut RunHooks,
) -> Result<Vec<Value>, String> {
    let (result, snap) = hook_vu(shared, role).await;
    merge(agg, hooks, &snap);
    result
}

/// Runs setup or teardown on its own VU: its result and the snapshot of its samples.
async fn hook_vu(shared: &Arc<Shared>, role: Role) -> (Result<Vec<Value>, String>, Snapshot) {
    let f = match role {
        Role::Setup => shared.program.setup.as_ref(),
        Role::Teardown => shared.program.teardown.as_ref(),
        Role::Scenario(_) => None,
    };
    let Some(f) = f else {
        return (Ok(Vec::new()), Snapshot::default());
    };
    let shard = Rc::new(RefCell::new(Shard::new(Arc::clone(&shared.registry))));
    let name = if role == Role::Setup {
        "setup"
    } else {
        "teardown"
    };
    let mut vu = Vu::new(
        Arc::clone(shared),
        Recorder::new(Rc::clone(&shard), name, &BTreeMap::new()),
        role,
        Identity { id: 0, local_id: 0 },
    );
    let result = vu.run_function(f).await;
    let snap = shard.borrow_mut().take();
    (result.map_err(|e| e.to_string()), snap)
}

/// Setup or teardown of `plan` alone, as a fleet's coordinator runs it: blocking, on
/// this thread, with secrets from `env`; setup's values (`setup_values` for teardown) are
/// what its code sees as `setup.NAME`. Returns the values (setup) and the samples.
pub fn run_hook(
    plan: &Arc<Plan>,
    env: &BTreeMap<String, String>,
    role: Role,
    setup_values: Vec<Value>,
) -> (Result<Vec<Value>, String>, Snapshot) {
    let secrets = match resolve_secrets(plan, env) {
        Ok(s) => s,
        Err(e) => return (Err(e), Snapshot::default()),
    };
    let shared = match Shared::new(Arc::clone(plan), secrets, Segment::whole()) {
        Ok(s) => Arc::new(s),
        Err(e) => return (Err(e.to_string()), Snapshot::default()),
    };
    let _ = shared.setup_values.set(setup_values.into());
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return (
                Err(format!("cannot start a runtime: {e}")),
                Snapshot::default(),
            )
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, hook_vu(&shared, role))
}
