//! volley-k8s: the Kubernetes side of a fleet. `manifests` turns a [`volley_plan::Plan`]
//! into typed API objects and deterministic YAML (pure: no IO, no clock); `deploy` applies
//! them with kube, follows the run through the API server and acts on runs (status, logs,
//! abort, delete). Errors are returned as data; only the CLI prints.
//!
//! It must not parse `.load` files (it starts from the plan) nor run load itself.

pub mod deploy;
pub mod manifests;

#[cfg(any(test, feature = "fake-api"))]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: a panic is the calling test's failure"
)]
pub mod fake;
#[cfg(any(test, feature = "fake-api"))]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: a panic is the calling test's failure"
)]
pub mod tooling;

pub use manifests::{build, ManifestError, Manifests, Options};
