//! The `volley` binary: argument parsing (clap), file IO and rendering. One function per
//! subcommand lives in `cmd/`; the libraries return data and diagnostics, and only this
//! crate prints them (miette for diagnostics).

mod cmd;
mod render;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes (k6's where they exist); documented in the README.
pub mod exit {
    pub const OK: u8 = 0;
    /// Bad usage or an IO error outside a test (a missing file).
    pub const USAGE: u8 = 2;
    pub const THRESHOLDS_FAILED: u8 = 99;
    /// The fleet could not be deployed or started (API denied, quota, image, start timeout).
    pub const DEPLOY_FAILED: u8 = 103;
    pub const INVALID_INPUT: u8 = 104;
    pub const ABORTED_BY_SIGNAL: u8 = 105;
    pub const ABORTED_BY_THRESHOLD: u8 = 108;
}

#[derive(Parser, Debug)]
#[command(
    name = "volley",
    version,
    about = "Load tests as typed code: check, plan, compile and run `.load` files."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Parse and type-check `.load` files; every error of every file is reported.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Override a `param` (`--param peak=200`), type-checked against its declaration.
        #[arg(long = "param", value_name = "K=V")]
        params: Vec<String>,
    },
    /// Show the plan in words, per runner: VUs over time, iterations, rates, data slices.
    Plan {
        file: PathBuf,
        /// Split the plan across this many runners.
        #[arg(long, default_value_t = 1)]
        runners: u32,
        /// Show only this runner's segment (0-based).
        #[arg(long)]
        segment: Option<u32>,
        /// Print the plan as JSON (the whole plan, or the selected segment's view).
        #[arg(long)]
        json: bool,
        #[arg(long = "param", value_name = "K=V")]
        params: Vec<String>,
    },
    /// Compile a `.load` file into DIR/plan.json, manifests.yaml and kustomization.yaml.
    Compile {
        file: PathBuf,
        #[arg(short = 'o', long = "out-dir", value_name = "DIR")]
        out: PathBuf,
        #[arg(long = "param", value_name = "K=V")]
        params: Vec<String>,
    },
    /// Format `.load` files canonically (comments kept); `--check` only reports.
    Fmt {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Exit 1 and list the files that are not formatted, without writing.
        #[arg(long)]
        check: bool,
    },
    /// Run a test on this machine and exit with its verdict.
    Run {
        file: PathBuf,
        /// Start the embedded demo shop on loopback and point every target at it.
        #[arg(long)]
        demo: bool,
        #[arg(long = "param", value_name = "K=V")]
        params: Vec<String>,
        /// Write the end-of-test summary as JSON (k6 `--summary-export` shape, see docs/outputs.md).
        #[arg(long, value_name = "FILE")]
        summary_json: Option<PathBuf>,
        /// Worker threads (default: the number of CPUs).
        #[arg(long)]
        workers: Option<usize>,
        /// No live progress line.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Deploy a test to Kubernetes, follow it and exit with its verdict.
    Deploy(cmd::deploy::Args),
    /// Show a deployed run's Jobs, pods and progress.
    Status(cmd::status::Args),
    /// Print the logs of a run's coordinator, or of one runner.
    Logs(cmd::logs::Args),
    /// Stop a deployed run (it ends with exit code 105).
    Abort(cmd::abort::Args),
    /// Delete every object of a deployed run.
    Delete(cmd::delete::Args),
    /// Serve the demo shop the examples load (`/api/products`, `/api/login`, ...).
    DemoServer {
        #[arg(long, default_value_t = 8088)]
        port: u16,
        /// Answer without the realistic small latencies.
        #[arg(long)]
        no_latency: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check { files, params } => cmd::check::run(&files, &params),
        Command::Plan {
            file,
            runners,
            segment,
            json,
            params,
        } => cmd::plan::run(&file, runners, segment, json, &params),
        Command::Compile { file, out, params } => cmd::compile::run(&file, &out, &params),
        Command::Fmt { files, check } => cmd::fmt::run(&files, check),
        Command::Run {
            file,
            demo,
            params,
            summary_json,
            workers,
            quiet,
        } => cmd::run::run(cmd::run::Args {
            file,
            demo,
            params,
            summary_json,
            workers,
            quiet,
        }),
        Command::DemoServer { port, no_latency } => cmd::demo::run(port, !no_latency),
        Command::Deploy(a) => cmd::deploy::run(a),
        Command::Status(a) => cmd::status::run(a),
        Command::Logs(a) => cmd::logs::run(a),
        Command::Abort(a) => cmd::abort::run(a),
        Command::Delete(a) => cmd::delete::run(a),
    };
    ExitCode::from(code)
}
