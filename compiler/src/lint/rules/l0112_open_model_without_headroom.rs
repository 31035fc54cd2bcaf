//! Open model without headroom: `max_vus` below what the arrival rate keeps busy.
//!
//! **What it finds.** An arrival-rate scenario whose `max_vus` is below Little's law:
//! VUs busy = arrival rate × iteration time. The iteration time is the requests of one
//! iteration times the latency budget, plus its pauses (sleeps and think times at their
//! lower bound). The latency budget is, in order: the largest bound of an upper-bound
//! threshold on `http_req_duration` (all requests, or this scenario's:
//! `p(99) < 250ms` → 250 ms); else the longest explicit request or scenario `timeout`;
//! else 50 ms, the estimate `volley_plan::capacity` uses. A threshold on
//! `iteration_duration` bounds the whole iteration instead.
//!
//! **Why it matters.** When every VU is busy, the arrival-rate executor drops iterations
//! (counted in `dropped_iterations`): the server gets less load than planned exactly
//! when it slows down, which is the moment the test exists to measure.
//!
//! Bad:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario orders {
//!   workload = constant_arrival_rate(rate: 1000/s, duration: 5m, pre_allocated_vus: 50, max_vus: 100)
//!   iteration {
//!     get(api, "/api/products")
//!     post(api, "/api/orders", json: {qty: 1})
//!   }
//! }
//!
//! thresholds {
//!   http_req_duration: p(99) < 300ms
//! }
//! ```
//!
//! Good:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario orders {
//!   workload = constant_arrival_rate(rate: 1000/s, duration: 5m, pre_allocated_vus: 300, max_vus: 800)
//!   iteration {
//!     get(api, "/api/products")
//!     post(api, "/api/orders", json: {qty: 1})
//!   }
//! }
//!
//! thresholds {
//!   http_req_duration: p(99) < 300ms
//! }
//! ```

use crate::lint::context::{millis, num, thousands};
use crate::lint::{LintCx, Rule};
use volley_plan::{capacity, Aggregation, CmpOp, HttpOptions, Workload};
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0112",
    name: "open-model-without-headroom",
    severity: Severity::Warning,
    summary: "`max_vus` below arrival rate × iteration time (Little's law)",
    source: include_str!("l0112_open_model_without_headroom.rs"),
    check,
};

/// The largest upper bound of `metric`'s thresholds that apply to scenario `name`.
fn bound(cx: &LintCx, metric: &str, name: &str) -> Option<(f64, String)> {
    let mut best: Option<(f64, String)> = None;
    for t in &cx.prog.thresholds {
        let th = &t.threshold;
        let applies = th.tags.iter().all(|(k, v)| k == "scenario" && v == name);
        if th.metric != metric || !applies {
            continue;
        }
        for c in th.conditions.iter().filter(|c| c.baseline.is_none()) {
            let upper = matches!(c.op, CmpOp::Lt | CmpOp::Le)
                && matches!(
                    c.aggregation,
                    Aggregation::P | Aggregation::Max | Aggregation::Avg | Aggregation::Med
                );
            if upper && best.as_ref().is_none_or(|(b, _)| c.value > *b) {
                best = Some((c.value, c.source.clone()));
            }
        }
    }
    best
}

/// The latency budget of one request of scenario `s`, and where it comes from.
fn budget(cx: &LintCx, s: u32) -> (f64, String) {
    let sc = cx.scenario(s);
    if let Some((ms, src)) = bound(cx, "http_req_duration", &sc.name) {
        return (ms, format!("the threshold `{src}`"));
    }
    let explicit = cx
        .facts
        .sites
        .iter()
        .filter(|x| x.scenario == Some(s))
        .filter_map(|x| x.timeout_ms.map(|t| t as f64))
        .fold(None, |acc: Option<f64>, t| {
            Some(acc.map_or(t, |a| a.max(t)))
        });
    let scenario_timeout = (sc.http.timeout_ms != HttpOptions::default().timeout_ms)
        .then_some(sc.http.timeout_ms as f64);
    match explicit
        .into_iter()
        .chain(scenario_timeout)
        .reduce(f64::max)
    {
        Some(t) => (t, "its timeout".to_string()),
        None => (
            capacity::ASSUMED_LATENCY_MS,
            "no latency threshold or timeout: assumed".to_string(),
        ),
    }
}

fn check(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    for (i, sc) in cx.prog.scenarios.iter().enumerate() {
        let s = i as u32;
        let max_vus = match &sc.workload {
            Workload::ConstantArrivalRate {
                max_vus,
                pre_allocated_vus,
                ..
            }
            | Workload::RampingArrivalRate {
                max_vus,
                pre_allocated_vus,
                ..
            } => (*max_vus).max(*pre_allocated_vus),
            _ => continue,
        };
        let load = cx.load(s);
        let rate = load.peak_iteration_rate;
        let pauses = (load.min_iteration_ms
            - load.requests_per_iteration * capacity::ASSUMED_LATENCY_MS)
            .max(0.0);
        let (per_request, why) = budget(cx, s);
        let (iteration_ms, how) = match bound(cx, "iteration_duration", &sc.name) {
            Some((ms, src)) => (ms, format!("the threshold `{src}`")),
            None => (
                load.requests_per_iteration * per_request + pauses,
                format!(
                    "{} request{} × {} ({why}){}",
                    num(load.requests_per_iteration),
                    if load.requests_per_iteration == 1.0 {
                        ""
                    } else {
                        "s"
                    },
                    millis(per_request),
                    if pauses > 0.0 {
                        format!(" + {} of pauses", millis(pauses))
                    } else {
                        String::new()
                    }
                ),
            ),
        };
        let busy = (rate * iteration_ms / 1000.0).ceil() as u64;
        if max_vus >= busy {
            continue;
        }
        let msg = format!(
            "at {} iterations/s, iterations of up to {} ({how}) keep {} VUs busy (Little's law), but max_vus is {}: when the server nears its budget the executor drops iterations instead of applying the load",
            num(rate),
            millis(iteration_ms),
            thousands(busy),
            thousands(max_vus)
        );
        let d = cx
            .at(
                sc.workload_loc,
                msg,
                format!("at most {} VUs", thousands(max_vus)),
            )
            .with_help(format!(
                "raise max_vus to at least {} (with headroom: {}), or lower the rate",
                thousands(busy),
                thousands((busy as f64 * 1.5).ceil() as u64)
            ));
        out.push(d);
    }
}
