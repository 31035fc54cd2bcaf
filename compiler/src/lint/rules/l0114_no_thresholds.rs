//! No thresholds: a file with scenarios and no `thresholds` block can never fail.
//!
//! **What it finds.** A file that declares at least one scenario and no threshold.
//!
//! **Why it matters.** Without a threshold the run exits 0 whatever the latency or the
//! error rate: in CI it is a test that always passes. k6, Gatling and Artillery behave
//! the same way, and it is the most common reason a load test "never caught anything".
//!
//! Bad:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario s {
//!   workload = constant_vus(vus: 10, duration: 1m)
//!   iteration {
//!     get(api, "/api/products")
//!     sleep 1s
//!   }
//! }
//! ```
//!
//! Good:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario s {
//!   workload = constant_vus(vus: 10, duration: 1m)
//!   iteration {
//!     get(api, "/api/products")
//!     sleep 1s
//!   }
//! }
//!
//! thresholds {
//!   http_req_failed: rate < 1%
//!   http_req_duration: p(95) < 400ms
//! }
//! ```

use crate::lint::{LintCx, Rule};
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0114",
    name: "no-thresholds",
    severity: Severity::Warning,
    summary: "a file with scenarios and no threshold: the run can never fail",
    source: include_str!("l0114_no_thresholds.rs"),
    check,
};

fn check(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    let Some(first) = cx.prog.scenarios.first() else {
        return;
    };
    if !cx.prog.thresholds.is_empty() {
        return;
    }
    let n = cx.prog.scenarios.len();
    let msg = format!(
        "this file has {n} scenario{} and no threshold: the run exits 0 whatever the latency or error rate",
        if n == 1 { "" } else { "s" }
    );
    out.push(
        cx.at(first.loc, msg, "nothing can fail this test")
            .with_help("add `thresholds { http_req_failed: rate < 1%  http_req_duration: p(95) < 400ms }` with the limits your service promises"),
    );
}
