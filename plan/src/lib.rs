//! volley-plan: the runner plan shared by the compiler and the engine, the segment
//! arithmetic that splits it across runners, and (later) the runner⇄coordinator
//! messages. Types and pure arithmetic only: no IO, no async, few dependencies.

pub mod capacity;
pub mod exit;
pub mod plan;
pub mod program;
pub mod schedule;
pub mod segment;
pub mod slice;
pub mod value;
pub mod view;

pub use exit::ExitCode;
pub use plan::*;
pub use program::{Body, Builtin, Expr, Function, Intrinsic, Request, Stmt};
pub use segment::SegmentError;
pub use slice::SliceError;
pub use value::Value;

use sha2::{Digest, Sha256};

/// The image used when `fleet.image` is not set.
pub const DEFAULT_IMAGE: &str = "ghcr.io/volley-load/volley:0.1.0";

/// The canonical `plan.json` text: pretty JSON with a trailing newline. Deterministic:
/// the same plan always gives the same bytes.
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
