//! Unique data may run out: a closed workload that runs for a duration can start more
//! iterations than `unique_per_iteration` data has rows.
//!
//! **What it finds.** A `constant_vus` or `ramping_vus` scenario reading a
//! `pick: unique_per_iteration` source in its iteration, where the iterations it can
//! start (its VU-seconds divided by the shortest an iteration can take: its sleeps and
//! think times at their lower bound, plus 50 ms per request, as `volley_plan::capacity`
//! estimates) exceed the rows. A warning, since it is an estimate: a slower server
//! starts fewer iterations.
//!
//! **Why it matters.** Once the rows run out each VU stops: the load falls off before the
//! planned end, and the summary reports a shorter, lighter test than the one designed.
//!
//! Bad (with `data/orders.json` of 50 orders):
//!
//! ```load
//! target shop = "http://127.0.0.1:8088"
//! data orders = json("data/orders.json", pick: unique_per_iteration)
//!
//! scenario buyers {
//!   workload = constant_vus(vus: 10, duration: 1m)
//!   iteration {
//!     let o = orders.next()
//!     post(shop, "/api/orders", json: {sku: o.sku, qty: o.qty})
//!     sleep 1s
//!   }
//! }
//!
//! thresholds {
//!   http_req_failed: rate < 1%
//! }
//! ```
//!
//! Good:
//!
//! ```load
//! target shop = "http://127.0.0.1:8088"
//! data orders = json("data/orders.json", pick: unique_per_iteration)
//!
//! scenario buyers {
//!   workload = per_vu_iterations(vus: 10, iterations: 5)
//!   iteration {
//!     let o = orders.next()
//!     post(shop, "/api/orders", json: {sku: o.sku, qty: o.qty})
//!     sleep 1s
//!   }
//! }
//!
//! thresholds {
//!   http_req_failed: rate < 1%
//! }
//! ```

use crate::ir::Pick;
use crate::lint::context::{millis, thousands};
use crate::lint::{LintCx, Rule};
use volley_plan::{capacity, Workload};
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0104",
    name: "unique-data-may-run-out",
    severity: Severity::Warning,
    summary:
        "a duration-based closed workload can start more iterations than unique-per-iteration rows",
    source: include_str!("l0104_unique_data_may_run_out.rs"),
    check,
};

/// VU-milliseconds of a closed duration-based workload (`None` otherwise).
fn vu_ms(w: &Workload) -> Option<f64> {
    match w {
        Workload::ConstantVus { vus, duration_ms } => Some(*vus as f64 * *duration_ms as f64),
        Workload::RampingVus {
            start_vus, stages, ..
        } => {
            let (mut from, mut total) = (*start_vus as f64, 0.0);
            for st in stages {
                total += (from + st.target) / 2.0 * st.duration_ms as f64;
                from = st.target;
            }
            Some(total)
        }
        _ => None,
    }
}

fn check(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    for (di, d) in cx.prog.data.iter().enumerate() {
        if d.pick != Pick::UniquePerIteration {
            continue;
        }
        let rows = d.rows.len() as u64;
        for r in super::l0103_too_little_unique_data::reads(cx, di as u32, true) {
            let s = r.scenario.unwrap_or(0);
            let Some(vu_ms) = vu_ms(&cx.scenario(s).workload) else {
                continue;
            };
            let load = cx.load(s);
            let n = (vu_ms / load.min_iteration_ms).floor() as u64;
            if n <= rows {
                continue;
            }
            let msg = format!(
                "scenario `{}` can start about {} iterations ({} VU-seconds, at least {} each: its pauses plus {} ms per request), but `{}` has {} rows: once they run out its VUs stop",
                cx.scenario(s).name,
                thousands(n),
                thousands((vu_ms / 1000.0).round() as u64),
                millis(load.min_iteration_ms),
                capacity::ASSUMED_LATENCY_MS,
                d.name,
                thousands(rows)
            );
            let f = cx
                .at(r.loc, msg, "a fresh row per iteration")
                .with_help(format!(
                    "add rows (about {}), pause longer between iterations, or use `per_vu_iterations`/`shared_iterations` for an exact count",
                    thousands(n)
                ));
            out.push(cx.note(f, d.loc, "declared here"));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ramps_integrate_to_vu_seconds() {
        let w = volley_plan::Workload::RampingVus {
            start_vus: 0,
            stages: vec![
                volley_plan::Stage {
                    duration_ms: 10_000,
                    target: 10.0,
                },
                volley_plan::Stage {
                    duration_ms: 10_000,
                    target: 10.0,
                },
            ],
            graceful_ramp_down_ms: 0,
        };
        assert_eq!(super::vu_ms(&w), Some(50_000.0 + 100_000.0));
    }
}
