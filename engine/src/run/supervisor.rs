//! The supervisor: the one owner of a run, for `volley run` on this machine and for a
//! fleet's coordinator alike. It owns the merged metrics (the [`Aggregate`]), judges the
//! thresholds on its tick (a failed `abort_on_fail` stops the run), paces the progress
//! line, feeds the outputs (observe every delta, flush once a second, finish at the end),
//! runs setup once before the load starts and teardown once after it, handles stops (a
//! signal or `volley abort` through the [`StopHandle`]) and builds the summary and its
//! exit code.
//!
//! The load comes from a [`Source`]: the worker threads of this process
//! ([`super::local::LocalSource`]) or a fleet's hub of runners
//! ([`crate::fleet::coordinator`]). The source prepares (a fleet waits for its runners),
//! starts at one instant with setup's values, delivers [`SourceEvent`]s through one
//! channel, stops when told, and adds what only it knows to the summary. The supervisor
//! never asks which source it has.
//!
//! What happens is told to the caller as typed [`RunEvent`]s (progress, stops, lost
//! runners, the outputs' notes); the CLI renders them. Failures are logged with
//! `tracing`. This module must not interpret code beyond setup and teardown, schedule
//! VUs or print.

use super::report::{Report, EVALUATE_EVERY};
use super::{interrupted, ProgressMode, RunError, RunOutcome, SnapshotSink, StopHandle};
use crate::compare::detail::DetailRecorder;
use crate::compare::Baseline;
use crate::interp::{Identity, Recorder, Role, Shared, Vu};
use crate::metrics::wire::SparseSnapshot;
use crate::metrics::{Aggregate, SeriesSnapshot, Shard, Snapshot};
use crate::output::OutputSet;
use crate::progress::Progress;
use crate::summary::{Summary, Verdict};
use crate::value::Value;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use volley_plan::segment::Segment;
use volley_plan::{ExitCode, Plan};

/// One delta of metrics from a source.
#[derive(Debug)]
pub enum Delta {
    /// A worker's snapshot (or setup's, teardown's): merged and observed by the outputs.
    Dense(Box<Snapshot>),
    /// A runner's pushed snapshot (sparse trend buckets), its fleet-wide series only:
    /// merged and observed.
    Sparse(Box<SparseSnapshot>),
    /// The fleet's VU gauges (the sum over live runners): merged, not observed (the
    /// outputs read VUs from [`Live`]).
    Gauges(Box<Snapshot>),
}

/// What a source tells the supervisor.
#[derive(Debug)]
pub enum SourceEvent {
    Snapshot(Delta),
    /// A runner of a fleet was lost; the others go on.
    RunnerLost {
        index: u32,
        reason: String,
    },
    /// The load has ended: every producer is done (or lost).
    Done,
}

/// Why the supervisor stops the load early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// A signal or `volley abort`.
    Signal,
    /// A threshold with `abort_on_fail` failed.
    AbortOnFail,
    /// The run cannot go on (setup failed).
    Failed,
}

/// How many runners a fleet has and has lost (for the progress line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Runners {
    pub total: u32,
    pub lost: u32,
}

/// What a source reports of its load now.
#[derive(Clone, Debug, Default)]
pub struct Live {
    pub vus: u64,
    pub vus_max: u64,
    /// Scenarios running now (by name).
    pub scenarios: Vec<String>,
    /// A fleet's runners.
    pub runners: Option<Runners>,
}

/// Where the load of a run comes from.
#[allow(async_fn_in_trait)]
pub trait Source {
    /// Until the load can be started (a fleet: every runner ready). An error ends the
    /// run before setup with its exit code.
    async fn prepare(&mut self, stop: &StopHandle) -> Result<(), RunError>;
    /// Setup or teardown is about to run on the supervisor.
    fn hook(&mut self, _role: Role) {}
    /// The supervisor's own samples (setup's, teardown's), for a source that keeps a
    /// live view of the metrics (a fleet's `/status`).
    fn own_samples(&mut self, _snapshot: &Snapshot) {}
    /// Starts the load with setup's values; returns the start instant.
    async fn start(&mut self, values: Vec<Value>) -> Result<Instant, RunError>;
    /// The next event; `Done` once the load has ended. Cancel-safe.
    async fn next(&mut self) -> SourceEvent;
    /// Stops the load early (the source still ends with `Done`).
    fn stop(&mut self, reason: StopReason);
    /// After `Done`: winds down and returns the deltas still queued.
    async fn finish(&mut self) -> Vec<Delta>;
    fn live(&self) -> Live;
    /// The verdict the source knows better when nobody stopped the run (lost runners).
    fn verdict(&self) -> Option<Verdict> {
        None
    }
    /// Adds what only the source knows to the summary (a fleet's runners, start skew).
    fn complete(&mut self, _summary: &mut Summary) {}
    /// Notes for the end of the run (`warning: …` first), printed with the outputs' (a
    /// local run's workers short of CPU).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The progress line's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgressLine {
    pub progress: Progress,
    /// A fleet's runners (the line is prefixed `3 runners (1 lost): `).
    pub runners: Option<Runners>,
}

/// Why a run is stopping early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopCause {
    /// A signal or `volley abort`: graceful, the summary follows.
    Signal,
    /// A threshold with `abort_on_fail` failed.
    Threshold,
}

/// What a run tells its caller as it goes; the CLI renders them.
#[derive(Clone, Debug, PartialEq)]
pub enum RunEvent {
    /// The load starts at `at` (wall clock) and is planned to run `total`.
    Started { at: SystemTime, total: Duration },
    /// A progress line is due (at the cadence of the [`ProgressMode`]); `done`: the last.
    Progress { line: ProgressLine, done: bool },
    /// The run stops early.
    Stopping(StopCause),
    /// A runner of the fleet was lost; the others go on.
    RunnerLost { index: u32, reason: String },
    /// The outputs' closing notes (`warning: …` first).
    Notes(Vec<String>),
}

/// Receives the run's events.
pub type EventSink = Box<dyn FnMut(RunEvent) + Send>;

/// Where setup and teardown run: on the run's shared state, or (a fleet's coordinator)
/// on state built for them when the plan has them.
pub(crate) enum HookVu {
    Shared(Arc<Shared>),
    Build {
        plan: Arc<Plan>,
        env: BTreeMap<String, String>,
        built: Option<Arc<Shared>>,
    },
}

impl HookVu {
    fn shared(&mut self) -> Result<Arc<Shared>, RunError> {
        match self {
            HookVu::Shared(s) => Ok(Arc::clone(s)),
            HookVu::Build { plan, env, built } => {
                if let Some(s) = built {
                    return Ok(Arc::clone(s));
                }
                let s = Arc::new(super::shared_for(plan, env, Segment::whole())?);
                *built = Some(Arc::clone(&s));
                Ok(s)
            }
        }
    }
}

/// How the supervisor runs.
pub(crate) struct Supervisor {
    pub plan: Arc<Plan>,
    pub agg: Aggregate,
    pub progress: ProgressMode,
    pub outputs: Option<OutputSet>,
    pub stop: Option<StopHandle>,
    pub events: Option<EventSink>,
    /// A copy of every delta the source sends (tests).
    pub tap: Option<SnapshotSink>,
    pub hooks: HookVu,
    pub report: Report,
    /// Per-interval figures for the summary's `detail` (what `volley compare` reads).
    pub detail: Option<DetailRecorder>,
    /// `--baseline`: the earlier run the summary is compared with at the end.
    pub baseline: Option<Arc<Baseline>>,
}

/// How long after a snapshot second the progress line and the outputs' flush come, so
/// both read that second's snapshots.
const LAG: Duration = Duration::from_millis(200);
/// How often the outputs are flushed (the workers' snapshot period).
const FLUSH_EVERY: Duration = super::worker::SNAPSHOT_EVERY;

impl Supervisor {
    fn emit(&mut self, e: RunEvent) {
        if let Some(sink) = self.events.as_mut() {
            sink(e);
        }
    }

    /// Runs the whole lifecycle with `source`.
    pub async fn run<S: Source>(mut self, source: &mut S) -> RunOutcome {
        let run_start = Instant::now();
        if let Err(e) = source.prepare(&self.stop.clone().unwrap_or_default()).await {
            if e.exit_code() != ExitCode::AbortedBySignal {
                tracing::error!("{}", super::error_chain(&e));
            }
            let code = Some(e.exit_code());
            return self.end(source, run_start.elapsed(), None, code);
        }

        // Setup, once, before any load.
        let stop = self.stop.clone();
        let setup = tokio::select! {
            r = self.run_hook(source, Role::Setup, Vec::new()) => Some(r),
            _ = interrupted(stop) => None,
        };
        let values = match setup {
            Some(Ok(v)) => v,
            None => {
                tracing::warn!("interrupted during setup");
                source.stop(StopReason::Signal);
                let elapsed = run_start.elapsed();
                return self.end(source, elapsed, Some(Verdict::Aborted), None);
            }
            Some(Err(msg)) => {
                tracing::error!("setup failed: {}", super::error_chain(&msg));
                source.stop(StopReason::Failed);
                let code = Some(ExitCode::SetupFailed);
                return self.end(source, run_start.elapsed(), None, code);
            }
        };
        let t0 = match source.start(values.clone()).await {
            Ok(t0) => t0,
            Err(e) => {
                tracing::error!("{}", super::error_chain(&e));
                source.stop(StopReason::Failed);
                let code = Some(e.exit_code());
                return self.end(source, run_start.elapsed(), None, code);
            }
        };
        let total = Duration::from_millis(self.plan.planned_duration_ms());
        let at = SystemTime::now() + t0.saturating_duration_since(Instant::now());
        self.emit(RunEvent::Started { at, total });

        let stopped = self.watch(source, t0, total).await;
        for d in source.finish().await {
            self.merge(d);
        }
        self.progress_line(source, t0, total, true);

        // Teardown, once, even after an abort (k6 does the same).
        let mut stopped = stopped;
        tokio::select! {
            r = self.run_hook(source, Role::Teardown, values) => {
                if let Err(msg) = r {
                    tracing::error!("teardown failed: {}", super::error_chain(&msg));
                }
            }
            _ = interrupted(None) => {
                tracing::warn!("interrupted during teardown");
                stopped = stopped.or(Some(StopCause::Signal));
            }
        }
        let verdict = match stopped {
            Some(StopCause::Threshold) => Some(Verdict::AbortedByThreshold),
            Some(StopCause::Signal) => Some(Verdict::Aborted),
            None => source.verdict(),
        };
        self.end(source, t0.elapsed(), verdict, None)
    }

    /// From the start until the source is done: deltas, thresholds, progress, flushes,
    /// stops. Returns why the run stopped early, if it did.
    async fn watch<S: Source>(
        &mut self,
        source: &mut S,
        t0: Instant,
        total: Duration,
    ) -> Option<StopCause> {
        let mut stopped = None;
        let mut eval_tick = tokio::time::interval_at((t0 + EVALUATE_EVERY).into(), EVALUATE_EVERY);
        let progress_every = self.progress.interval();
        let mut progress_tick =
            tokio::time::interval_at((t0 + progress_every + LAG).into(), progress_every);
        let mut flush_tick = tokio::time::interval_at((t0 + FLUSH_EVERY + LAG).into(), FLUSH_EVERY);
        flush_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let signal = interrupted(self.stop.clone());
        tokio::pin!(signal);
        let mut armed = true;
        loop {
            tokio::select! {
                ev = source.next() => match ev {
                    SourceEvent::Snapshot(d) => self.merge(d),
                    SourceEvent::RunnerLost { index, reason } => {
                        self.emit(RunEvent::RunnerLost { index, reason });
                    }
                    SourceEvent::Done => break,
                },
                _ = eval_tick.tick() => {
                    if stopped.is_none() && self.report.should_abort(&mut self.agg, t0.elapsed()) {
                        self.emit(RunEvent::Stopping(StopCause::Threshold));
                        stopped = Some(StopCause::Threshold);
                        source.stop(StopReason::AbortOnFail);
                    }
                }
                _ = progress_tick.tick(), if self.progress != ProgressMode::Quiet => {
                    self.progress_line(source, t0, total, false);
                }
                _ = flush_tick.tick(), if self.outputs.is_some() || self.detail.is_some() => {
                    let live = self.output_live(source, t0.elapsed());
                    if let Some(o) = self.outputs.as_mut() {
                        o.flush(SystemTime::now(), &self.agg, &live);
                    }
                    if let Some(d) = self.detail.as_mut() {
                        d.flush(millis(live.elapsed));
                    }
                }
                _ = &mut signal, if armed => {
                    armed = false;
                    if stopped.is_none() {
                        self.emit(RunEvent::Stopping(StopCause::Signal));
                        stopped = Some(StopCause::Signal);
                        source.stop(StopReason::Signal);
                    }
                }
            }
        }
        stopped
    }

    /// Merges one delta, and hands it to the outputs and the tap.
    fn merge(&mut self, d: Delta) {
        match d {
            Delta::Dense(s) => {
                if let Some(f) = self.tap.as_mut() {
                    f(&s);
                }
                if let Some(o) = self.outputs.as_mut() {
                    o.observe(&s);
                }
                if let Some(d) = self.detail.as_mut() {
                    d.observe(&s);
                }
                self.agg.merge(&s);
            }
            Delta::Sparse(s) => {
                if self.outputs.is_some() || self.detail.is_some() {
                    let s = dense(&s);
                    if let Some(o) = self.outputs.as_mut() {
                        o.observe(&s);
                    }
                    if let Some(d) = self.detail.as_mut() {
                        d.observe(&s);
                    }
                }
                self.agg.merge_sparse(&s);
            }
            Delta::Gauges(s) => self.agg.merge(&s),
        }
    }

    /// Emits a progress line (none when quiet); `done`: the last one, at 100 %.
    fn progress_line<S: Source>(&mut self, source: &S, t0: Instant, total: Duration, done: bool) {
        if self.progress == ProgressMode::Quiet {
            return;
        }
        let live = source.live();
        let progress = self
            .report
            .progress(&self.agg, &live, t0.elapsed(), total, done);
        let line = ProgressLine {
            progress,
            runners: live.runners,
        };
        self.emit(RunEvent::Progress { line, done });
    }

    fn output_live<S: Source>(&self, source: &S, elapsed: Duration) -> crate::output::Live {
        let live = source.live();
        crate::output::Live {
            elapsed,
            vus: live.vus,
            vus_max: live.vus_max,
        }
    }

    /// Runs setup or teardown (if the plan has it) on its own VU, merging its samples.
    /// Returns setup's values (empty when there is no such code).
    async fn run_hook<S: Source>(
        &mut self,
        source: &mut S,
        role: Role,
        setup_values: Vec<Value>,
    ) -> Result<Vec<Value>, RunError> {
        source.hook(role);
        let has = match role {
            Role::Setup => self.plan.setup.is_some(),
            _ => self.plan.teardown.is_some(),
        };
        if !has {
            return Ok(Vec::new());
        }
        let shared = self.hooks.shared()?;
        if role == Role::Teardown {
            let _ = shared.setup_values.set(setup_values.into());
        }
        let (result, snap) = hook_vu(&shared, role).await;
        source.own_samples(&snap);
        self.merge(Delta::Dense(Box::new(snap)));
        result
    }

    /// The summary (the final verdicts, then `verdict` or `code` when the run knows
    /// better), the source's additions, the outputs finished.
    fn end<S: Source>(
        mut self,
        source: &mut S,
        elapsed: Duration,
        verdict: Option<Verdict>,
        code: Option<ExitCode>,
    ) -> RunOutcome {
        let mut summary = self.report.finish(&mut self.agg, elapsed, verdict, code);
        source.complete(&mut summary);
        if summary.volley.verdict != Verdict::NotStarted {
            if let Some(d) = self.detail.take() {
                summary.volley.detail = Some(d.finish(&self.agg, millis(elapsed)));
            }
            if let Some(b) = self.baseline.as_ref() {
                crate::compare::judge(&mut summary, b);
            }
        }
        let live = self.output_live(source, elapsed);
        let mut notes = source.notes();
        if let Some(o) = self.outputs.take() {
            notes.extend(o.finish(&summary, &self.agg, &live));
        }
        notes.sort_by_key(|n| !n.starts_with("warning"));
        if !notes.is_empty() {
            self.emit(RunEvent::Notes(notes));
        }
        RunOutcome {
            exit_code: summary.exit_code(),
            summary,
        }
    }
}

/// A duration in whole ms.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A sparse snapshot as a dense one (what the outputs observe).
fn dense(s: &SparseSnapshot) -> Snapshot {
    Snapshot {
        series: s
            .series
            .iter()
            .map(|x| SeriesSnapshot {
                metric: x.metric.clone(),
                tags: x.tags.clone(),
                data: x.data.to_dense(),
            })
            .collect(),
        first_errors: s.first_errors.clone(),
        end_ms: s.end_ms,
    }
}

/// Runs setup or teardown on its own VU: its result and the snapshot of its samples.
pub(crate) async fn hook_vu(
    shared: &Arc<Shared>,
    role: Role,
) -> (Result<Vec<Value>, RunError>, Snapshot) {
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
    let result = vu
        .run_function(f)
        .await
        .map_err(|e| RunError::Code(e.to_string()));
    let snap = shard.borrow_mut().take();
    (result, snap)
}

#[cfg(test)]
mod tests;
