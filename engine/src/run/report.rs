//! The supervisor's view of the aggregate: threshold verdicts (during the run and at the
//! end), the progress line's figures and the summary. Glue over the metrics, thresholds, progress
//! and summary modules; it must not merge snapshots itself.

use crate::metrics::Aggregate;
use crate::progress::Progress;
use crate::summary::{self, Summary, Verdict};
use crate::thresholds::{self, Phase, ThresholdResult};
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

    /// The progress line's figures: the aggregate's, the source's VUs and scenarios,
    /// and the request rate since the last line.
    pub fn progress(
        &mut self,
        agg: &Aggregate,
        live: &super::supervisor::Live,
        elapsed: Duration,
        total: Duration,
        done: bool,
    ) -> Progress {
        let mut p = Progress::from_aggregate(agg, elapsed, total);
        p.done = done;
        p.vus = live.vus;
        p.vus_max = live.vus_max;
        let (reqs, secs) = (p.http_reqs, elapsed.as_secs_f64());
        if let Some((r0, s0)) = self.last.replace((reqs, secs)) {
            if secs > s0 {
                p.req_rate = Some(reqs.saturating_sub(r0) as f64 / (secs - s0));
            }
        }
        p.scenarios = live.scenarios.clone();
        p
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
