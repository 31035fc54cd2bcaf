//! Per-pod identity: an identity built from `vu.local_id` or `runner.index` alone in a fleet.
//!
//! **What it finds.** A user, email, account, session or token field made from
//! `vu.local_id` (which restarts at 1 on every runner) or `runner.index` (one value for
//! every VU of a runner), without `vu.id`, `test.iteration` or unique data, while the
//! fleet has more than one runner (`runners = N > 1`, or what `runners = auto` chooses).
//! With one runner, or no fleet block, it is silent: then `vu.local_id` is `vu.id`.
//!
//! **Why it matters.** The test passes on a laptop and lies on the cluster: every pod
//! logs in as user 1, 2, 3…, so N runners share each identity N times over: N times the
//! session contention and 1/N of the distinct users planned.
//!
//! Bad:
//!
//! ```load
//! target shop = "http://127.0.0.1:8088"
//!
//! scenario shoppers {
//!   workload = constant_vus(vus: 100, duration: 1m)
//!   iteration {
//!     post(shop, "/api/login", json: {email: "user{vu.local_id}@example.com"})
//!     sleep 1s
//!   }
//! }
//!
//! thresholds {
//!   http_req_failed: rate < 1%
//! }
//!
//! fleet {
//!   runners = 5
//! }
//! ```
//!
//! Good:
//!
//! ```load
//! target shop = "http://127.0.0.1:8088"
//!
//! scenario shoppers {
//!   workload = constant_vus(vus: 100, duration: 1m)
//!   iteration {
//!     post(shop, "/api/login", json: {email: "user{vu.id}@example.com"})
//!     sleep 1s
//!   }
//! }
//!
//! thresholds {
//!   http_req_failed: rate < 1%
//! }
//!
//! fleet {
//!   runners = 5
//! }
//! ```

use crate::ir::Builtin;
use crate::lint::provenance::{Class, Kind};
use crate::lint::{LintCx, Rule};
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0102",
    name: "per-pod-identity",
    severity: Severity::Error,
    summary: "an identity built from `vu.local_id` or `runner.index` alone while `runners > 1`",
    source: include_str!("l0102_per_pod_identity.rs"),
    check,
};

fn check(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    let runners = cx.runners();
    if runners < 2 {
        return;
    }
    for site in &cx.facts.sites {
        let Some(s) = site.scenario else { continue };
        for f in site.fields.iter().filter(|f| f.role.is_some()) {
            let Class::PerRunner(b) = f.prov.class() else {
                continue;
            };
            let Some(part) = f.prov.find(|k| *k == Kind::PerRunner(b)) else {
                continue;
            };
            let loc = cx.user_loc(part.loc, &site.calls);
            let per_runner = cx.runner_vus(s);
            let scenario = &cx.scenario(s).name;
            let message = if b == Builtin::VuLocalId {
                let values = match template_range(cx, &f.prov, per_runner) {
                    Some(r) => format!("the same {} {r}", f.key),
                    None => format!("the same {} values", f.key),
                };
                format!(
                    "`vu.local_id` restarts at 1 on every runner: {runners} runners × VU 1..{per_runner} of scenario `{scenario}` all send {values}, each used by {runners} VUs at once"
                )
            } else {
                format!(
                    "`runner.index` is one value per runner: the up to {per_runner} VUs of each of the {runners} runners of scenario `{scenario}` all send the same {}",
                    f.key
                )
            };
            let d = cx
                .at(loc, message, format!("repeats on every runner ({runners} runners)"))
                .with_help(format!(
                    "use `vu.id`, unique across the whole fleet: `\"user{{vu.id}}@example.com\"` (or unique data: `users.next().{}`)",
                    f.key
                ));
            out.push(cx.note(d, site.loc, "sent here"));
        }
    }
}

/// `user1@example.com..user20@example.com` from the literal `"user{vu.local_id}@example.com"`.
fn template_range(cx: &LintCx, p: &crate::lint::provenance::Prov, n: u64) -> Option<String> {
    let lit = p.find(|k| *k == Kind::Literal)?;
    let text = cx.text(lit.loc).trim_matches('"');
    if !text.contains("{vu.local_id}") || text.matches('{').count() != 1 {
        return None;
    }
    let at = |i: u64| text.replace("{vu.local_id}", &i.to_string());
    Some(format!("{}..{}", at(1), at(n)))
}

#[cfg(test)]
mod tests {
    use crate::lint::tests::codes;

    fn src(id: &str, fleet: &str) -> String {
        format!("target api = \"http://127.0.0.1:8088\"\nthresholds {{ http_req_failed: rate < 1% }}\nscenario s {{\n  workload = constant_vus(vus: 10, duration: 10s)\n  iteration {{\n    post(api, \"/login\", json: {{user: \"u{id}\"}})\n    sleep 1s\n  }}\n}}\n{fleet}")
    }

    #[test]
    fn fires_only_in_a_fleet_and_only_without_a_fleet_unique_part() {
        let fleet = "fleet { runners = 4 }\n";
        assert!(codes(&src("{vu.local_id}", fleet)).contains(&"L0102".into()));
        assert!(codes(&src("{runner.index}", fleet)).contains(&"L0102".into()));
        assert!(!codes(&src("{vu.local_id}", "")).contains(&"L0102".into()));
        assert!(!codes(&src("{vu.local_id}", "fleet { runners = 1 }\n")).contains(&"L0102".into()));
        assert!(!codes(&src("{vu.id}", fleet)).contains(&"L0102".into()));
        assert!(!codes(&src("{runner.index}-{vu.local_id}", fleet)).contains(&"L0102".into()));
    }
}
