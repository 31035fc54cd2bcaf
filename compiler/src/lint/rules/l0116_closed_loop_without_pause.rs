//! Closed loop without pause: VUs that send their next request the moment the last one
//! returns.
//!
//! **What it finds.** A `constant_vus` or `ramping_vus` scenario whose iteration sends
//! requests and has no `sleep` or `think` anywhere (flows included). Iteration-count
//! workloads (`shared_iterations`, `per_vu_iterations`) do a fixed amount of work and
//! are not judged; neither are arrival-rate workloads, which pace themselves.
//!
//! **Why it matters.** Without a pause the request rate is set by the server's latency,
//! not by the test: a faster response means more load, a slower one less, so the load
//! and the latency measured depend on each other (coordinated omission), and each VU
//! behaves like no real user. It is k6's most common scripting mistake.
//!
//! Bad:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario browse {
//!   workload = constant_vus(vus: 20, duration: 1m)
//!   iteration {
//!     get(api, "/api/products")
//!   }
//! }
//!
//! thresholds {
//!   http_req_duration: p(95) < 300ms
//! }
//! ```
//!
//! Good:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario browse {
//!   workload = constant_vus(vus: 20, duration: 1m)
//!   iteration {
//!     get(api, "/api/products")
//!     think 500ms..1500ms
//!   }
//! }
//!
//! thresholds {
//!   http_req_duration: p(95) < 300ms
//! }
//! ```

use crate::lint::context::num;
use crate::lint::{LintCx, Rule};
use volley_plan::capacity;
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0116",
    name: "closed-loop-without-pause",
    severity: Severity::Warning,
    summary: "a duration-based closed workload whose iteration never sleeps or thinks",
    source: include_str!("l0116_closed_loop_without_pause.rs"),
    check,
};

fn check(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    for (s, sc, sends) in cx.unpaused_closed_loops() {
        if !sends {
            continue;
        }
        let vus = cx.peak_vus(s);
        let rate = vus as f64 * 1000.0 / capacity::ASSUMED_LATENCY_MS;
        let msg = format!(
            "the iteration of scenario `{}` never pauses: each of its {vus} VUs sends again as soon as a response arrives, so the rate follows the server's latency (at {} ms, about {} requests/s; at 5 ms, ten times that)",
            sc.name,
            capacity::ASSUMED_LATENCY_MS,
            num(rate)
        );
        out.push(
            cx.at(sc.loc, msg, "no sleep or think in the iteration")
                .with_help("add `think 500ms..1500ms` (or `sleep 1s`) to the iteration, or use `constant_arrival_rate` to fix the rate"),
        );
    }
}
