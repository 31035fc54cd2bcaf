//! Local run orchestration: the entry point the CLI calls to run a plan on this machine,
//! and the exit code it ends with.
//!
//! Order of events: secrets are read from the environment (a missing one stops the run
//! before anything starts, exit 104); then the [`supervisor`] owns the run with the
//! [`local`] source: setup runs once on its own VU and its values are frozen; `workers`
//! threads start (thread-per-core, see `worker`) and, once all are up, get one start
//! instant; the supervisor merges their snapshots, evaluates thresholds every 2 s (a
//! failed `abort_on_fail` threshold stops everything: exit 108), emits progress and
//! listens for Ctrl-C (a graceful stop that still builds the summary: exit 105); when
//! every worker is done, teardown runs once, the thresholds are evaluated a last time (a
//! failure: exit 99) and the summary is built. A fleet's coordinator runs the same
//! supervisor with its hub as the source (`crate::fleet::coordinator`); a fleet runner
//! runs the local source alone and pushes its snapshots (`crate::fleet::runner`).
//!
//! Exit codes ([`ExitCode`]): 0 passed, 99 a threshold failed, 104 the plan cannot run
//! (invalid plan, missing secret), 105 stopped by a signal, 107 setup failed (k6's
//! script-error code), 108 aborted by `abort_on_fail`.
//!
//! This module must not interpret code or schedule VUs (the executors do); it never
//! prints (the caller renders the [`RunEvent`]s) and never logs a secret.

pub mod lag;
pub(crate) mod local;
pub(crate) mod report;
pub mod supervisor;
mod worker;

pub use supervisor::{EventSink, ProgressLine, RunEvent, Runners, StopCause};

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
    /// How often a progress line is due.
    pub fn interval(self) -> Duration {
        match self {
            ProgressMode::Tty => Duration::from_secs(1),
            ProgressMode::Plain | ProgressMode::Quiet => Duration::from_secs(10),
        }
    }
}

use crate::compare::detail::DetailRecorder;
use crate::interp::Shared;
use crate::metrics::{Aggregate, Snapshot};
use crate::summary::Summary;
use local::LocalSource;
use report::Report;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use supervisor::{HookVu, Supervisor};
use tokio::sync::Notify;
use volley_plan::segment::Segment;
use volley_plan::{ExitCode, Plan};

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

/// Hooks for callers that drive runs themselves: a start instant fixed elsewhere, a
/// copy of every snapshot, a stop handle, outputs and the events.
#[derive(Default)]
pub struct RunHooks {
    /// Start the scenarios at this instant instead of as soon as the workers are up.
    pub start: Option<Instant>,
    /// Called with every snapshot the workers send, before it is merged.
    pub on_snapshot: Option<SnapshotSink>,
    /// Stops the run like Ctrl-C does (exit 105), from any thread (`volley abort`).
    pub stop: Option<StopHandle>,
    /// `--out` and `--report`: fed every snapshot, flushed once a second, finished at the end.
    pub outputs: Option<crate::output::OutputSet>,
    /// Receives the run's events (progress lines, stops, the outputs' notes).
    pub events: Option<EventSink>,
    /// `--baseline`: the summary is compared with this run's at the end.
    pub baseline: Option<Arc<crate::compare::Baseline>>,
}

/// Why a run could not start or go on, with its exit code ([`RunError::exit_code`]).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("secret {name}: environment variable {env} is not set")]
    MissingSecret { name: String, env: String },
    /// The plan cannot be prepared for running (its code, TLS).
    #[error("{0}")]
    Plan(String),
    #[error("cannot start a runtime")]
    Runtime(#[source] std::io::Error),
    /// Setup's or teardown's code failed (the interpreter's message).
    #[error("{0}")]
    Code(String),
    /// A fleet could not start (see [`crate::fleet::FleetError`]).
    #[error(transparent)]
    Fleet(#[from] crate::fleet::FleetError),
}

impl RunError {
    /// The exit code a run ending with this error has.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            RunError::MissingSecret { .. } | RunError::Plan(_) => ExitCode::InvalidInput,
            RunError::Code(_) => ExitCode::SetupFailed,
            RunError::Runtime(_) => ExitCode::Failure,
            RunError::Fleet(e) => e.exit_code(),
        }
    }
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
pub(crate) async fn interrupted(handle: Option<StopHandle>) {
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
/// builds its own runtime; events (progress at the pace `opts.progress` says) go to
/// `RunHooks::events` ([`run_with`]).
pub fn run_plan(plan: &Plan, opts: RunOptions) -> RunOutcome {
    run_with(plan, opts, RunHooks::default())
}

/// [`run_plan`] with hooks.
pub fn run_with(plan: &Plan, opts: RunOptions, hooks: RunHooks) -> RunOutcome {
    let plan = Arc::new(plan.clone());
    let shared = match shared_for(&plan, &opts.env, opts.segment) {
        Ok(s) => Arc::new(s),
        Err(e) => return not_started(&plan, &e, hooks),
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return not_started(&plan, &RunError::Runtime(e), hooks),
    };
    let mut source = LocalSource::new(Arc::clone(&shared), opts.workers, hooks.start);
    let supervisor = Supervisor {
        plan: Arc::clone(&plan),
        agg: Aggregate::new(Arc::clone(&shared.registry)),
        progress: opts.progress,
        outputs: hooks.outputs,
        stop: hooks.stop,
        events: hooks.events,
        tap: hooks.on_snapshot,
        detail: Some(DetailRecorder::new(&plan, Arc::clone(&shared.registry))),
        hooks: HookVu::Shared(shared),
        report: Report::new(&plan),
        baseline: hooks.baseline,
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, supervisor.run(&mut source))
}

/// Nothing ran: the summary is one line with the reason (the caller prints it), no
/// metrics and no threshold verdicts. The outputs are finished with it all the same, so a
/// file written at the end (`--out junit`) says the run did not start instead of staying
/// empty.
fn not_started(plan: &Plan, e: &RunError, mut hooks: RunHooks) -> RunOutcome {
    let code = e.exit_code();
    let mut summary = crate::summary::not_started(plan, &error_chain(e));
    summary.volley.exit_code = code;
    if let Some(o) = hooks.outputs.take() {
        let agg = Aggregate::new(crate::metrics::Registry::new(&plan.metrics));
        let notes = o.finish(&summary, &agg, &crate::output::Live::default());
        if let (Some(sink), false) = (hooks.events.as_mut(), notes.is_empty()) {
            sink(RunEvent::Notes(notes));
        }
    }
    RunOutcome {
        exit_code: code,
        summary,
    }
}

/// An error and its sources, `outer: inner: innermost`.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

/// The run's shared state for `segment` of `plan`, with secrets read from `env`.
pub(crate) fn shared_for(
    plan: &Arc<Plan>,
    env: &BTreeMap<String, String>,
    segment: Segment,
) -> Result<Shared, RunError> {
    let secrets = resolve_secrets(plan, env)?;
    Shared::new(Arc::clone(plan), secrets, segment).map_err(|e| RunError::Plan(e.to_string()))
}

/// Reads every secret of the plan from `env`, in `plan.secrets` order.
pub fn resolve_secrets(
    plan: &Plan,
    env: &BTreeMap<String, String>,
) -> Result<Vec<String>, RunError> {
    plan.secrets
        .iter()
        .map(|s| {
            env.get(&s.env)
                .cloned()
                .ok_or_else(|| RunError::MissingSecret {
                    name: s.name.clone(),
                    env: s.env.clone(),
                })
        })
        .collect()
}
