//! Per-pod state: a value that differs per runner, used as if it were fleet-wide.
//!
//! **What it finds.** While the fleet has more than one runner:
//! * a request under `if` on `vu.local_id` (`if vu.local_id == 1 { post(…/reset) }`): the
//!   "only one VU does this" guard of a single machine holds once per runner;
//! * `vu.local_id` (without `runner.index`, `vu.id` or unique data) in a request's path,
//!   query or body outside identity fields (those are L0102): every runner sends the same
//!   values, so records meant to be distinct (carts, orders, ids) are written N times.
//!
//! Conditions on `runner.index` (`if runner.index == 0`) are fine: that is one runner.
//!
//! **Why it matters.** Work meant to happen once happens on every pod (N resets, N
//! seeded carts), and the "distinct" keys collide across pods: the server sees conflicts
//! and cache hits no single-machine run had.
//!
//! Bad:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario orders {
//!   workload = constant_vus(vus: 40, duration: 1m)
//!   iteration {
//!     if vu.local_id == 1 and vu.iteration == 0 {
//!       post(api, "/api/admin/reset")
//!     }
//!     post(api, "/api/orders", json: {qty: 1})
//!     sleep 1s
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
//! setup {
//!   post(api, "/api/admin/reset")
//! }
//!
//! scenario orders {
//!   workload = constant_vus(vus: 40, duration: 1m)
//!   iteration {
//!     post(api, "/api/orders", json: {qty: 1})
//!     sleep 1s
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

use crate::ir::Builtin;
use crate::lint::provenance::{Class, Kind};
use crate::lint::{LintCx, Rule};
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0106",
    name: "per-pod-state",
    severity: Severity::Warning,
    summary: "a value that differs per runner (`vu.local_id`) used as if fleet-wide",
    source: include_str!("l0106_per_pod_state.rs"),
    check,
};

fn check(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    let runners = cx.runners();
    if runners < 2 {
        return;
    }
    for site in &cx.facts.sites {
        let Some(s) = site.scenario else { continue };
        let scenario = &cx.scenario(s).name;
        for (guard, loc) in &site.guards {
            if guard.class() != Class::PerRunner(Builtin::VuLocalId) {
                continue;
            }
            let loc = cx.user_loc(*loc, &site.calls);
            let msg = format!(
                "`vu.local_id` restarts at 1 on every runner: this condition holds on each of the {runners} runners, so scenario `{scenario}` sends `{} {}` {runners} times as often as on one machine",
                site.method, site.name
            );
            let d = cx
                .at(loc, msg, format!("true on {runners} runners"))
                .with_help("do fleet-wide one-off work in `setup { .. }` (runs once for the whole fleet), or test `vu.id` (unique fleet-wide)");
            out.push(cx.note(d, site.loc, "sent on every runner"));
        }
        for f in site.fields.iter().filter(|f| f.role.is_none()) {
            if f.prov.class() != Class::PerRunner(Builtin::VuLocalId) {
                continue;
            }
            let Some(part) = f.prov.find(|k| *k == Kind::PerRunner(Builtin::VuLocalId)) else {
                continue;
            };
            let loc = cx.user_loc(part.loc, &site.calls);
            let key = if f.key.is_empty() {
                String::new()
            } else {
                format!(" `{}`", f.key)
            };
            let msg = format!(
                "`vu.local_id` restarts at 1 on every runner: the {runners} runners of scenario `{scenario}` all send the same{key} values 1..{} to `{}`",
                cx.runner_vus(s),
                site.name
            );
            let d = cx
                .at(
                    loc,
                    msg,
                    format!("repeats on every runner ({runners} runners)"),
                )
                .with_help("use `vu.id` or `test.iteration`, unique across the whole fleet");
            out.push(cx.note(d, site.loc, "sent here"));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::tests::codes;

    fn src(body: &str) -> String {
        format!("target api = \"http://127.0.0.1:8088\"\nthresholds {{ http_req_failed: rate < 1% }}\nscenario s {{\n  workload = constant_vus(vus: 8, duration: 10s)\n  iteration {{\n    {body}\n    sleep 1s\n  }}\n}}\nfleet {{ runners = 2 }}\n")
    }

    #[test]
    fn local_guards_and_keys_fire_runner_guards_do_not() {
        let fires = |b: &str| codes(&src(b)).contains(&"L0106".to_string());
        assert!(fires("if vu.local_id == 1 { post(api, \"/reset\") }"));
        assert!(!fires("if runner.index == 0 { post(api, \"/reset\") }"));
        assert!(!fires("if vu.id == 1 { post(api, \"/reset\") }"));
        assert!(fires("post(api, \"/carts/{vu.local_id}\")"));
        assert!(!fires("post(api, \"/carts/{vu.id}\")"));
        assert!(!fires("log(\"local {vu.local_id}\")"));
    }
}
