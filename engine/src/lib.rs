//! volley-engine: executes a compiled plan (or one segment of it).
//!
//! The entry point is [`run::run_plan`]; one run supervisor (`run::supervisor`) owns every
//! run, local or a fleet's. Inside: [`schedule`] (pure arithmetic of what
//! each executor wants when) drives the [`executor`]s on worker threads; each VU runs
//! the [`interp`]reter over runtime [`value`]s, fed rows by [`data`] and sending requests
//! with its [`http`] client; samples go to per-worker [`metrics`] shards whose snapshots
//! the supervisor merges, judges with [`thresholds`], shows with [`progress`], writes to the
//! [`output`]s (NDJSON, Prometheus, InfluxDB, the HTML report) and ends with a [`summary`].
//!
//! It must not depend on the compiler: the runner image carries no compiler.
pub mod compare;
pub mod data;
pub mod errors;
pub mod executor;
pub mod fleet;
pub mod grpc_reflect;
pub mod http;
pub mod interp;
pub mod metrics;
pub mod output;
pub mod progress;
pub mod run;
pub use volley_plan::schedule;
pub mod summary;
pub mod thresholds;
pub mod value;
pub mod ws;
