//! volley-plan: the runner plan shared by the compiler and the engine, the segment
//! arithmetic that splits it across runners, and (later) the runner⇄coordinator
//! messages. Types and pure arithmetic only: no IO, no async, few dependencies.

pub mod capacity;
pub mod plan;
pub mod program;
pub mod schedule;
pub mod segment;
pub mod slice;
pub mod value;
pub mod view;

pub use plan::*;
pub use program::{Body, Builtin, Expr, Function, Intrinsic, Request, Stmt};
pub use value::Value;

use sha2::{Digest, Sha256};

/// The image used when `fleet.image` is not set.
pub const DEFAULT_IMAGE: &str = "ghcr.io/volley-load/volley:0.1.0";

/// The run token as stored in its Secret or handed over in `VOLLEY_TOKEN`: without one
/// trailing newline (`\n` or `\r\n`), which `echo token >file` or an editor adds to a
/// hand-made Secret and which is never part of a generated token. The coordinator, the
/// runners and `volley abort` all read the token through this, so they agree on it.
pub fn run_token(raw: &str) -> &str {
    raw.strip_suffix("\r\n")
        .or_else(|| raw.strip_suffix('\n'))
        .unwrap_or(raw)
}

/// The canonical `plan.json` text: pretty JSON with a trailing newline. Deterministic:
/// the same plan always gives the same bytes.
pub fn to_json(plan: &Plan) -> String {
    let mut s = serde_json::to_string_pretty(plan).expect("a plan always serialises");
    s.push('\n');
    s
}

/// Parses `plan.json`, refusing other format versions.
pub fn from_json(text: &str) -> Result<Plan, String> {
    let plan: Plan = serde_json::from_str(text).map_err(|e| format!("invalid plan: {e}"))?;
    if plan.version != PLAN_VERSION {
        return Err(format!(
            "plan format version {} is not supported (this volley reads version {PLAN_VERSION})",
            plan.version
        ));
    }
    Ok(plan)
}

/// The content hash of a plan: `sha256:` and the hex digest of its canonical JSON.
pub fn content_hash(plan: &Plan) -> String {
    let digest = Sha256::digest(to_json(plan).as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::run_token;

    #[test]
    fn run_tokens_lose_one_trailing_newline_only() {
        assert_eq!(run_token("abc"), "abc");
        assert_eq!(run_token("abc\n"), "abc");
        assert_eq!(run_token("abc\r\n"), "abc");
        assert_eq!(
            run_token("abc\n\n"),
            "abc\n",
            "only one line end is trimmed"
        );
        assert_eq!(run_token(" abc \n"), " abc ", "other whitespace is kept");
    }
}
