//! An allow comment gives no reason.
//!
//! **What it finds.** `// volley: allow(L0101)` with nothing after the closing parenthesis.
//!
//! **Why it matters.** An allow turns a finding off for good; the reason is what the next
//! reviewer reads to decide whether it still holds. The allow still silences its finding,
//! so only this one is reported.
//!
//! Bad:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario s {
//!   workload = constant_vus(vus: 5, duration: 30s)
//!   iteration {
//!     // volley: allow(L0101)
//!     post(api, "/api/login", json: {user: "load-tester"})
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
//! scenario s {
//!   workload = constant_vus(vus: 5, duration: 30s)
//!   iteration {
//!     // volley: allow(L0101) the staging service has one load-test account, by design
//!     post(api, "/api/login", json: {user: "load-tester"})
//!     sleep 1s
//!   }
//! }
//!
//! thresholds {
//!   http_req_failed: rate < 1%
//! }
//! ```

use crate::ir::Loc;
use crate::lint::Rule;
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0001",
    name: "allow-without-reason",
    severity: Severity::Error,
    summary: "an allow comment without a reason",
    source: include_str!("l0001_allow_without_reason.rs"),
    check: super::none,
};

pub(crate) fn finding(file: &str, loc: Loc) -> Diagnostic {
    Diagnostic::error("", "this allow comment gives no reason")
        .in_file(file)
        .with_label(loc.span, "no reason after `allow(..)`")
        .with_help("say why the finding does not apply, e.g. `// volley: allow(L0101) one shared admin account, by design`")
}
