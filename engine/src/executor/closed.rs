//! The closed-model controller: follows the part's VU steps ([`schedule::vu_steps`]),
//! waking VUs as the target rises and releasing them as it falls (a released VU finishes
//! its iteration within `graceful_ramp_down`, then is interrupted), and ends every VU at
//! the executor's end with `graceful_stop`. Iteration budgets (`shared_iterations`,
//! `per_vu_iterations`) end the part early once every VU has run out.
//! This module must not run iterations (the VU loop does).

use super::part::{Feed, Part};
use crate::schedule;
use std::time::{Duration, Instant};
use volley_plan::{Scenario, Workload};

pub(crate) async fn run(mut part: Part, scenario: &Scenario) {
    let w = &scenario.workload;
    let sub = part.worker.sub_segment();
    let seg = part.worker.shared.segment;
    let steps = schedule::vu_steps(w, sub);
    let end_ms = schedule::duration_ms(w);
    let end = part.start + Duration::from_millis(end_ms);
    let ramp_down = match w {
        Workload::RampingVus {
            graceful_ramp_down_ms,
            ..
        } => Duration::from_millis(*graceful_ramp_down_ms),
        _ => Duration::ZERO,
    };
    let (budget, per_vu) = match w {
        Workload::SharedIterations { .. } => (schedule::iterations(w, seg), None),
        Workload::PerVuIterations { iterations, .. } => (None, Some(*iterations)),
        _ => (None, None),
    };
    let exhaustible = budget.is_some() || per_vu.is_some();
    let workers = part.worker.count.max(1) as u64;
    let me = part.worker.index as u64;

    let mut stopped = false;
    let mut applied = false;
    let end_ns = end_ms.saturating_mul(1_000_000);
    for &(t_ns, n) in &steps {
        if t_ns >= end_ns {
            break;
        }
        let at = part.start + Duration::from_nanos(t_ns);
        if !wait(&part, at, exhaustible && applied).await {
            stopped = part.worker.stop.is_fired();
            break;
        }
        let now = Instant::now();
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        // Wake (or create) the first n VUs of this part, release the rest.
        while part.slots.len() < n {
            let m = part.slots.len() as u64;
            part.spawn_vu(me + m * workers, Feed::Closed { budget, per_vu });
        }
        for (i, slot) in part.slots.iter().enumerate() {
            if i < n {
                slot.want();
            } else {
                slot.release(now + ramp_down);
            }
        }
        applied = true;
    }
    if !stopped && !part.worker.stop.is_fired() {
        // Run to the executor's end (or until every VU ran out of iterations).
        stopped = !wait(&part, end, exhaustible && applied).await && part.worker.stop.is_fired();
    }
    let deadline = if stopped || part.worker.stop.is_fired() {
        Instant::now()
    } else {
        end.max(Instant::now()) + Duration::from_millis(scenario.graceful_stop_ms)
    };
    part.finish(deadline).await;
}

/// Waits until `t`: true when reached; false when the run stopped, or (`exhaustible`:
/// iteration budgets, once the VUs are created) when every VU of the part has exited.
async fn wait(part: &Part, t: Instant, exhaustible: bool) -> bool {
    if !exhaustible {
        return part.sleep_until(t).await;
    }
    loop {
        let exited = part.exited.notified();
        if part.live.get() == 0 {
            return false;
        }
        tokio::select! {
            ok = part.sleep_until(t) => return ok,
            _ = exited => {}
        }
    }
}
