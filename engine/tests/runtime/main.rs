//! The runtime end to end: hand-built plans run against a loopback server started by
//! each test; every run is short and bounded.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test binary: its helpers panic with the failure message"
)]

mod executors;
mod interp;
mod lifecycle;
mod support;

use std::time::Duration;

/// The longest any one run may take before its test fails.
const LIMIT: Duration = Duration::from_secs(20);
