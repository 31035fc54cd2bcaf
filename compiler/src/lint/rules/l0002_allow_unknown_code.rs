//! An allow comment names a code that is no lint rule.
//!
//! **What it finds.** `// volley: allow(L0110x) …` or a code no rule has (compile errors,
//! `E…`, cannot be allowed).
//!
//! **Why it matters.** A mistyped code silences nothing: the finding it was meant for is
//! still reported, and the comment misleads the reader.
//!
//! Bad:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario s {
//!   workload = constant_vus(vus: 5, duration: 30s)
//!   iteration {
//!     get(api, "/health") // volley: allow(L1016) a probe as fast as the service answers
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
//!     get(api, "/health")
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
    code: "L0002",
    name: "allow-unknown-code",
    severity: Severity::Warning,
    summary: "an allow comment names a code no rule has",
    source: include_str!("l0002_allow_unknown_code.rs"),
    check: super::none,
};

pub(crate) fn finding(file: &str, span: Span, code: &str) -> Diagnostic {
    let known: Vec<&str> = crate::lint::RULES.iter().map(|r| r.code).collect();
    let help = match crate::suggest::did_you_mean(code, known.iter().copied()) {
        Some(s) => format!("did you mean `{s}`? `volley lint --explain CODE` describes each rule"),
        None => {
            "lint codes are L0001..; `volley lint --explain CODE` describes each rule".to_string()
        }
    };
    Diagnostic::warning(
        "",
        format!("`{code}` is not a lint rule: this allow silences nothing"),
    )
    .in_file(file)
    .with_label(span, "no rule has this code")
    .with_help(help)
}
