//! The runtime end to end: hand-built plans run against a loopback server started by
//! each test; every run is short and bounded.

mod executors;
mod interp;
mod lifecycle;
mod support;

use std::time::Duration;

/// The longest any one run may take before its test fails.
const LIMIT: Duration = Duration::from_secs(20);
