//! The log subscriber: the engine, the fleet and deploy log through `tracing` with levels;
//! this installs where those lines go. Plain text on standard error (`WARN runner 1 lost`)
//! unless `--log-format json` or `VOLLEY_LOG_FORMAT=json` asks for JSON lines, which is what
//! the pods' manifests set so a cluster's log pipeline can filter by level. `VOLLEY_LOG`
//! sets the level filter (`RUST_LOG` syntax: `debug`, `volley_engine::fleet=debug`);
//! the default is `info` (without kube's per-request HTTP errors).

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `LEVEL message key=value`, for people.
    #[default]
    Text,
    /// One JSON object a line (`timestamp`, `level`, `target`, `fields`), for pods.
    Json,
}

/// Installs the subscriber once, before any command runs.
pub fn init(format: LogFormat) {
    // kube's HTTP trace layer logs every 5xx at ERROR, and the service proxy answers 503
    // whenever a run's coordinator has no endpoint (starting, or gone after its linger):
    // the commands report what matters themselves.
    let filter = EnvFilter::try_from_env("VOLLEY_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,kube_client::client::builder=off"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Its own report of a failed write is an `eprintln!`, which panics when stderr's
        // reader is gone (a closed pipe): such lines are dropped, as `crate::term` does.
        .log_internal_errors(false);
    // A second install (tests calling `main` twice) keeps the first: nothing to report.
    let _ = match format {
        LogFormat::Text => builder
            .without_time()
            .with_target(false)
            .with_ansi(false)
            .try_init(),
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
    };
}
