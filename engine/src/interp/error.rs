//! The interpreter's errors at its boundary: a plan whose code cannot be prepared
//! ([`ProgramError`], before any load) and a setup or teardown that stopped
//! ([`HookError`]). Their texts are what users read (`setup: require "api up" failed`); the
//! runtime errors of an iteration are not here: they become failed checks and log lines.

use crate::data::DataError;
use crate::http::HttpError;
use std::sync::Arc;

/// Why a plan's code cannot be prepared for the VUs.
#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    #[error("target {name}: invalid url {url:?}: {source}")]
    TargetUrl {
        name: String,
        url: String,
        #[source]
        source: url::ParseError,
    },
    #[error("target {name}: only http://, https://, ws:// and wss:// urls are supported")]
    TargetScheme { name: String },
    #[error(
        "invalid plan: scenario {scenario} starts after scenario {after}, which does not exist"
    )]
    StartsAfterMissing { scenario: String, after: usize },
    #[error("invalid plan: scenario {scenario} waits for itself through `after`")]
    WaitsForItself { scenario: String },
    #[error("invalid plan: {what} {index} does not exist ({len} declared)")]
    NoSuch {
        what: &'static str,
        index: u32,
        len: usize,
    },
    #[error("invalid HTTP method {0:?}")]
    Method(String),
    #[error("TLS setup: {}", .0.message)]
    Tls(#[source] HttpError),
    #[error("proxy setup: {}", .0.message)]
    Proxy(#[source] HttpError),
    #[error("invalid plan: proto {path}: {why}")]
    Proto { path: String, why: String },
}

/// Why setup or teardown stopped (its samples are recorded).
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("{function}: require {check:?} failed")]
    Require { function: Arc<str>, check: Arc<str> },
    #[error("{function}: {detail}")]
    Runtime { function: Arc<str>, detail: String },
    #[error("{function}: {source}")]
    Data {
        function: Arc<str>,
        #[source]
        source: DataError,
    },
}
