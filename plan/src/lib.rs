//! volley-plan: the runner plan shared by the compiler and the engine, the segment
//! arithmetic that splits it across runners, and (later) the runner⇄coordinator
//! messages. Types and pure arithmetic only: no IO, no async, few dependencies.

pub mod capacity;
pub mod exit;
pub mod files;
pub mod grpc;
pub mod pack;
pub mod plan;
pub mod program;
pub mod schedule;
pub mod segment;
pub mod slice;
pub mod tls;
pub mod value;
pub mod view;

pub use exit::ExitCode;
pub use files::FileData;
pub use plan::*;
pub use program::{Body, Builtin, Expr, Function, Intrinsic, Part, PartValue, Request, Stmt};
pub use segment::SegmentError;
pub use slice::SliceError;
pub use tls::{TlsOptions, TlsVersion};
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
#[allow(
    clippy::expect_used,
    reason = "a Plan has string keys and finite numbers only: serialising it cannot fail"
)]
pub fn to_json(plan: &Plan) -> String {
    let mut s = serde_json::to_string_pretty(plan).expect("a plan always serialises");
    s.push('\n');
    s
}

/// Why a `plan.json` text is not a plan this volley runs.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Not JSON, or not the plan's shape.
    #[error("invalid plan: {0}")]
    Invalid(#[source] serde_json::Error),
    /// Another format version.
    #[error(
        "plan format version {found} is not supported (this volley reads version {PLAN_VERSION})"
    )]
    Version { found: u32 },
}

/// Parses `plan.json`, refusing other format versions.
pub fn from_json(text: &str) -> Result<Plan, PlanError> {
    let plan: Plan = serde_json::from_str(text).map_err(PlanError::Invalid)?;
    if plan.version != PLAN_VERSION {
        return Err(PlanError::Version {
            found: plan.version,
        });
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
    use super::*;
    use std::error::Error as _;

    #[test]
    fn plan_errors_say_why_and_keep_their_source() {
        let e = from_json("{").unwrap_err();
        assert!(e.to_string().starts_with("invalid plan: "), "{e}");
        assert!(
            e.source().is_some_and(|s| s.is::<serde_json::Error>()),
            "{e:?}"
        );
        let mut v: serde_json::Value =
            serde_json::from_str(&to_json(&slice::tests::plan(&[1], Pick::Unique, 1))).unwrap();
        v["version"] = serde_json::json!(PLAN_VERSION + 1);
        let e = from_json(&v.to_string()).unwrap_err();
        assert!(matches!(e, PlanError::Version { found } if found == PLAN_VERSION + 1));
        assert!(e.to_string().contains("is not supported"), "{e}");
        assert_eq!(
            segment::Segment::new(4, 4).unwrap_err(),
            SegmentError::IndexOutOfRange { index: 4, count: 4 }
        );
    }

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
