//! Idle runner: more runners than a scenario has VUs, so some runners never run it.
//!
//! **What it finds.** With `runners = N > 1` written in the fleet block, a scenario whose
//! VUs (its peak for `ramping_vus`, `max_vus` for the arrival-rate executors) are fewer
//! than N. Runner k of N owns VUs k, k+N, …, and as in k6 a scenario's iterations and
//! arrivals follow its VUs: a runner without a VU gets none of them and idles through
//! the scenario. `volley plan` names the idle runners under `idle:`.
//!
//! **Why it matters.** The runners are paid for (pods, machines) but do nothing, and the
//! runners that do work carry the whole scenario: per-runner figures and each runner's
//! CPU look skewed. Usually the VU count was chosen before the runner count.
//!
//! Bad:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario imports {
//!   workload = shared_iterations(vus: 2, iterations: 400)
//!   iteration {
//!     post(api, "/api/imports", json: {batch: test.iteration})
//!   }
//! }
//!
//! thresholds {
//!   http_req_failed: rate < 1%
//! }
//!
//! fleet {
//!   runners = 4
//! }
//! ```
//!
//! Good:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario imports {
//!   workload = shared_iterations(vus: 4, iterations: 400)
//!   iteration {
//!     post(api, "/api/imports", json: {batch: test.iteration})
//!   }
//! }
//!
//! thresholds {
//!   http_req_failed: rate < 1%
//! }
//!
//! fleet {
//!   runners = 4
//! }
//! ```

use crate::lint::context::thousands;
use crate::lint::{LintCx, Rule};
use volley_plan::view::{idle_runners, runner_list};
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0118",
    name: "idle-runner",
    severity: Severity::Warning,
    summary: "more runners than a scenario has VUs: some runners never run it",
    source: include_str!("l0118_idle_runner.rs"),
    check,
};

fn check(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    let Some(n) = cx.prog.fleet.runners.filter(|n| *n > 1) else {
        return;
    };
    for idle in idle_runners(cx.plan, n) {
        let Some(sc) = cx.prog.scenarios.iter().find(|s| s.name == idle.scenario) else {
            continue;
        };
        let busy = u64::from(n) - idle.runners.len() as u64;
        let msg = format!(
            "scenario `{}` has {} VU{} for {n} runners: {} idle{} through it, and the other {busy} run all of its work (iterations and arrivals follow the VUs)",
            sc.name,
            thousands(idle.vus),
            if idle.vus == 1 { "" } else { "s" },
            runner_list(&idle.runners),
            if idle.runners.len() == 1 { "s" } else { "" },
        );
        out.push(
            cx.at(sc.workload_loc, msg, "fewer VUs than runners")
                .with_help(format!(
                    "give the scenario at least {n} VUs, or use `runners = {}`",
                    idle.vus.max(1)
                )),
        );
    }
}
