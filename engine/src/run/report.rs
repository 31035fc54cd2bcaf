//! The driver's view of the aggregate: threshold verdicts (during the run and at the
//! end), the progress line and the summary. Glue over the metrics, thresholds, progress
//! and summary modules; it must not merge snapshots itself.

use super::ProgressMode;
use crate::executor::{ScenarioState, VuCounts};
use crate::metrics::Aggregate;
use crate::progress::{self, Progress};
use crate::summary::{self, Summary, Verdict};
use crate::thresholds::{self, Phase, ThresholdResult};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use volley_plan::{ExitCode, Plan};

/// How often thresholds are evaluated during the run.
pub(crate) const EVALUATE_EVERY: Duration = Duration::from_secs(2);

pub(crate) struct Report {
    plan: Arc<Plan>,
    /// Requests and seconds at the last progress line, for the current rate.
    last: Option<(u64, f64)>,
}

/// What the progress line reads.
pub(crate) struct Live<'a> {
    pub agg: &'a Aggregate,
    pub vus: &'a VuCounts,
    pub scenarios: &'a [Arc<ScenarioState>],
    pub elapsed: Duration,
    pub total: Duration,
    /// The load has ended (the last line: 100 %).
    pub done: bool,
}

impl Report {
    pub fn new(plan: &Arc<Plan>) -> Report {
        Report {
            plan: Arc::clone(plan),
            last: None,
        }
    }

    fn evaluate(
        &self,
        agg: &mut Aggregate,
        elapsed: Duration,
        phase: Phase,
    ) -> Vec<ThresholdResult> {
        agg.set_elapsed(elapsed);
        thresholds::evaluate(&self.plan.thresholds, agg, phase)
    }

    /// Whether a failing `abort_on_fail` threshold (past its delay) should stop the run.
    pub fn should_abort(&self, agg: &mut Aggregate, elapsed: Duration) -> bool {
        let results = self.evaluate(agg, elapsed, Phase::Running);
        thresholds::should_abort(&results, elapsed)
    }

    /// Prints the progress line (`\r`-rewritten on a terminal, a plain line otherwise).
    pub fn progress(&mut self, mode: ProgressMode, live: &Live<'_>) {
        if mode == ProgressMode::Quiet {
            return;
        }
        let line = self.progress_line(mode, live);
        match mode {
            ProgressMode::Tty => eprint!("\r\x1b[2K{line}"),
            _ => eprintln!("{line}"),
        }
    }

    /// The last progress line (100 %), ending the rewritten one on a terminal.
    pub fn progress_done(&mut self, mode: ProgressMode, live: &Live<'_>) {
        self.progress(mode, live);
        if mode == ProgressMode::Tty {
            eprintln!();
        }
    }

    fn progress_line(&mut self, mode: ProgressMode, live: &Live<'_>) -> String {
        let mut p = Progress::from_aggregate(live.agg, live.elapsed, live.total);
        p.done = live.done;
        p.vus = live.vus.active.load(Ordering::Relaxed);
        p.vus_max = live.vus.created.load(Ordering::Relaxed);
        let (reqs, secs) = (p.http_reqs, live.elapsed.as_secs_f64());
        if let Some((r0, s0)) = self.last.replace((reqs, secs)) {
            if secs > s0 {
                p.req_rate = Some(reqs.saturating_sub(r0) as f64 / (secs - s0));
            }
        }
        p.scenarios = live
            .scenarios
            .iter()
            .filter(|st| st.started_at().is_some() && st.finished_at().is_none())
            .filter_map(|st| self.plan.scenarios.get(st.index).map(|s| s.name.clone()))
            .collect();
        progress::line(&p, mode == ProgressMode::Tty)
    }

    /// The summary of the run so far: the final threshold verdicts, then `verdict`
    /// when the driver knows better (an abort), or `exit_code` for ends the summary has no
    /// verdict for (an invalid plan, a failed setup).
    pub fn finish(
        &self,
        agg: &mut Aggregate,
        elapsed: Duration,
        verdict: Option<Verdict>,
        exit_code: Option<ExitCode>,
    ) -> Summary {
        let results = self.evaluate(agg, elapsed, Phase::End);
        let mut s = summary::build(agg, &self.plan, &results, elapsed);
        if let Some(v) = verdict {
            s.set_verdict(v);
        }
        if let Some(code) = exit_code {
            s.volley.exit_code = code;
        }
        s
    }
}
