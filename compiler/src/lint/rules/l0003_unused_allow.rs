//! An allow comment silences nothing.
//!
//! **What it finds.** `// volley: allow(L0101) …` where no L0101 finding starts on the
//! line it covers (the same line for a trailing comment, else the next line of code).
//! Not reported for rules turned off in `volley.toml`.
//!
//! **Why it matters.** A stale allow outlives the code it excused and would silence a
//! new finding on that line without anyone deciding so.
//!
//! Bad:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario s {
//!   workload = constant_vus(vus: 5, duration: 30s)
//!   iteration {
//!     // volley: allow(L0101) one load-test account, by design
//!     post(api, "/api/login", json: {user: "user{vu.id}"})
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
//!     post(api, "/api/login", json: {user: "user{vu.id}"})
//!     sleep 1s
//!   }
//! }
//!
//! thresholds {
//!   http_req_failed: rate < 1%
//! }
//! ```

use crate::lint::Rule;
use volley_syntax::ast::Span;
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0003",
    name: "unused-allow",
    severity: Severity::Warning,
    summary: "an allow comment that silences nothing",
    source: include_str!("l0003_unused_allow.rs"),
    check: super::none,
};

pub(crate) fn finding(file: &str, span: Span, code: &str) -> Diagnostic {
    Diagnostic::warning(
        "",
        format!("nothing here reports {code}: this allow silences nothing"),
    )
    .in_file(file)
    .with_label(span, "unused")
    .with_help("remove the allow, or move it onto the line the finding starts on")
}
