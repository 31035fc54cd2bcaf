//! Status outside `expect`: a check that wants a status the request counts as failed.
//!
//! **What it finds.** `check r.status == 404` (or `require`, or any `==` on a response's
//! status) where the request's `expect` range (default `200..399`) does not include that
//! status. The compared response must come straight from the request (a `let`, a flow's
//! return).
//!
//! **Why it matters.** `expect` decides `expected_response` and `http_req_failed`: when
//! the check passes, the request is counted as failed anyway, so an error-rate threshold
//! such as `http_req_failed: rate < 1%` fails on a healthy run, or the team loosens it
//! until it hides real errors. k6's `http.expectedStatuses` has the same trap.
//!
//! Bad:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario probe {
//!   workload = constant_vus(vus: 2, duration: 30s)
//!   iteration {
//!     let r = get(api, "/api/products/0")
//!     check "missing is 404": r.status == 404
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
//! target api = "http://127.0.0.1:8088"
//!
//! scenario probe {
//!   workload = constant_vus(vus: 2, duration: 30s)
//!   iteration {
//!     let r = get(api, "/api/products/0", expect: 404)
//!     check "missing is 404": r.status == 404
//!     sleep 1s
//!   }
//! }
//!
//! thresholds {
//!   http_req_failed: rate < 1%
//! }
//! ```

use crate::lint::{LintCx, Rule};
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0117",
    name: "status-outside-expect",
    severity: Severity::Warning,
    summary: "a check wants a status the request's `expect` counts as failed",
    source: include_str!("l0117_status_outside_expect.rs"),
    check,
};

fn check(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    for c in &cx.facts.status_checks {
        let Some(site) = cx.facts.sites.get(c.site) else {
            continue;
        };
        let (lo, hi) = site.expect;
        if (i64::from(lo)..=i64::from(hi)).contains(&c.status) {
            continue;
        }
        let loc = cx.user_loc(c.loc, &site.calls);
        let msg = format!(
            "this check wants status {}, but the request `{} {}` expects {lo}..{hi}: every response that passes the check is counted in `http_req_failed`",
            c.status, site.method, site.name
        );
        let d = cx
            .at(loc, msg, format!("{} is outside {lo}..{hi}", c.status))
            .with_help(format!("add `expect: {}` to the request", c.status));
        out.push(cx.note(d, site.loc, "the request"));
    }
}
