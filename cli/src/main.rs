//! The `volley` binary: argument parsing (clap), file IO and rendering. One function per
//! subcommand lives in `cmd/`; the libraries return data and diagnostics, and only this
//! crate prints them (miette for diagnostics).

#[macro_use]
mod term;

mod cmd;
mod logging;
#[cfg(feature = "compiler")]
mod render;
mod signals;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "volley",
    version,
    about = "Load tests as typed code: check, plan, compile and run `.load` files."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Also read data and imported files from DIR, outside the test's folder (repeatable).
    #[arg(long = "allow-path", value_name = "DIR", global = true)]
    allow_path: Vec<PathBuf>,
    /// How log lines are written: `text` for a terminal, `json` lines for pods (the
    /// level filter is `VOLLEY_LOG`, e.g. `VOLLEY_LOG=debug`).
    #[arg(
        long,
        value_enum,
        global = true,
        env = "VOLLEY_LOG_FORMAT",
        default_value_t
    )]
    log_format: logging::LogFormat,
}

#[derive(Subcommand, Debug)]
enum Command {
    #[cfg(feature = "compiler")]
    /// Parse and type-check `.load` files; every error of every file is reported.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Override a `param` (`--param peak=200`), type-checked against its declaration.
        #[arg(long = "param", value_name = "K=V")]
        params: Vec<String>,
    },
    #[cfg(feature = "compiler")]
    /// Lint `.load` files for test designs that mislead (shared logins, per-pod state,
    /// plaintext secrets…); `--explain L0101` describes a rule.
    Lint {
        files: Vec<PathBuf>,
        /// Output: miette diagnostics, JSON, SARIF 2.1.0 or GitHub workflow annotations.
        #[arg(long, value_enum, default_value_t = cmd::lint::Format::Human)]
        format: cmd::lint::Format,
        /// Override a `param` of the file (`--param peak=200`, repeatable), type-checked
        /// against its declaration.
        #[arg(long = "param", value_name = "K=V")]
        params: Vec<String>,
        /// Print the documentation of one rule and exit.
        #[arg(long, value_name = "CODE")]
        explain: Option<String>,
    },
    #[cfg(feature = "compiler")]
    /// Show the plan in words, per runner: VUs over time, iterations, rates, data slices.
    Plan {
        file: PathBuf,
        /// Split the plan across this many runners (default: the file's `fleet { runners }`).
        #[arg(long)]
        runners: Option<u32>,
        /// Show only this runner's segment (0-based).
        #[arg(long)]
        segment: Option<u32>,
        /// Print the plan as JSON (the whole plan, or the selected segment's view).
        #[arg(long)]
        json: bool,
        /// Override a `param` of the file (`--param peak=200`, repeatable), type-checked
        /// against its declaration.
        #[arg(long = "param", value_name = "K=V")]
        params: Vec<String>,
    },
    #[cfg(feature = "compiler")]
    /// Compile a `.load` file into DIR/plan.json, manifests.yaml and kustomization.yaml.
    Compile {
        file: PathBuf,
        /// The directory to write into (long form only: `-o` is `--out` in `volley run`).
        #[arg(long = "out-dir", value_name = "DIR")]
        out: PathBuf,
        /// Override a `param` of the file (`--param peak=200`, repeatable), type-checked
        /// against its declaration.
        #[arg(long = "param", value_name = "K=V")]
        params: Vec<String>,
        /// The coordinator streams the fleet's merged results: `prometheus=URL[,…]` or
        /// `influxdb=URL[,…]` (repeatable; written into its arguments, see docs/outputs.md).
        #[arg(long = "out", value_name = "KIND=TARGET")]
        outputs: Vec<String>,
    },
    #[cfg(feature = "compiler")]
    /// Convert a k6 script or a HAR recording to a `.load` file, report what was
    /// converted, approximated and left, and lint the result.
    #[command(subcommand)]
    Convert(cmd::convert::Source),
    #[cfg(feature = "compiler")]
    /// Format `.load` files canonically (comments kept); `--check` only reports.
    Fmt {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Exit 1 and list the files that are not formatted, without writing.
        #[arg(long)]
        check: bool,
    },
    #[cfg(feature = "compiler")]
    /// Serve the language server of `.load` files over stdio (for editors: diagnostics,
    /// fix-its, hover, completion, navigation, formatting, rename; see docs/editors.md).
    Lsp {
        /// Accepted for editors that pass it; stdio is the only transport.
        #[arg(long)]
        stdio: bool,
    },
    #[cfg(feature = "compiler")]
    /// Run a test on this machine and exit with its verdict.
    Run {
        file: PathBuf,
        /// Run as a fleet: a coordinator and this many runner processes on this machine
        /// (without it, one process, whatever the file's `fleet { runners }` says).
        #[arg(long)]
        runners: Option<u32>,
        /// Start the embedded demo shop on loopback and point every target at it.
        #[arg(long)]
        demo: bool,
        /// Override a `param` of the file (`--param peak=200`, repeatable), type-checked
        /// against its declaration.
        #[arg(long = "param", value_name = "K=V")]
        params: Vec<String>,
        /// Write the end-of-test summary as JSON (close to k6's `handleSummary` data; see
        /// docs/outputs.md).
        #[arg(long, value_name = "FILE")]
        summary_json: Option<PathBuf>,
        /// Worker threads (default: the number of CPUs; 1 per runner with --runners).
        #[arg(long)]
        workers: Option<usize>,
        /// No live progress line.
        #[arg(long, short)]
        quiet: bool,
        /// Stream results: `json=FILE`, `csv=FILE[,time_format=…]` (k6's CSV),
        /// `junit=FILE` (thresholds and checks as JUnit XML), `prometheus=URL[,trend_stats=…]`,
        /// `influxdb=URL[,token_env=VAR]` (repeatable; see docs/outputs.md).
        #[arg(long = "out", short = 'o', value_name = "KIND=TARGET")]
        out: Vec<String>,
        /// Write a self-contained HTML report at the end.
        #[arg(long, value_name = "FILE.html")]
        report: Option<PathBuf>,
        #[command(flatten)]
        baseline: cmd::compare::BaselineArgs,
        /// With --demo: add this much latency to every answer of the demo shop (e.g.
        /// `20ms`), to stand for a slower build.
        #[arg(long, value_name = "DURATION", requires = "demo", value_parser = cmd::fleet::parse_duration)]
        demo_latency: Option<std::time::Duration>,
        /// Serve a live dashboard while the test runs (`--dashboard` on 127.0.0.1:5665,
        /// `--dashboard=ADDR`; port 0 picks one); it prints its URL. Read-only; after the
        /// run the page is the HTML report (see docs/dashboard.md).
        #[arg(long, value_name = "ADDR", num_args = 0..=1, require_equals = true,
              default_missing_value = volley_engine::output::dashboard::DEFAULT_ADDR)]
        dashboard: Option<std::net::SocketAddr>,
        /// With --dashboard: keep serving it (the report, now) this long after the run,
        /// or until Ctrl-C (e.g. `10m`).
        #[arg(long, value_name = "DURATION", requires = "dashboard", value_parser = cmd::fleet::parse_duration)]
        linger: Option<std::time::Duration>,
        #[command(flatten)]
        summary: cmd::summary_format::SummaryArgs,
    },
    #[cfg(feature = "compiler")]
    /// Compare two runs' summaries (`--summary-json`): the change per metric and tag set,
    /// judged with a test on per-interval values; exit 99 on a regression.
    Compare(cmd::compare::Args),
    /// A fleet runner: runs one segment of a plan for a coordinator (a pod's command).
    Runner {
        /// The fleet plan (`plan.json`), the same file the coordinator holds.
        #[arg(long)]
        plan: PathBuf,
        /// The coordinator's URL, e.g. `http://volley-coordinator:6565`.
        #[arg(long)]
        coordinator: String,
        /// This runner's segment (0-based); default `JOB_COMPLETION_INDEX`.
        #[arg(long)]
        segment: Option<u32>,
        /// How many runners the fleet has; default the plan's `fleet.runners`.
        #[arg(long)]
        runners: Option<u32>,
        /// Worker threads (default: the number of CPUs).
        #[arg(long)]
        workers: Option<usize>,
        /// Read this runner's data slice from a file (a `slice-K` data pack) instead of
        /// the coordinator.
        #[arg(long, value_name = "FILE")]
        data: Option<PathBuf>,
        /// Directory of the data packs of sources every runner reads (`data-NAME-P.pack`,
        /// for plans whose data travels outside the plan).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// A fleet coordinator: waits for the runners, starts them together, merges their
    /// metrics, judges the thresholds and exits with the fleet's verdict.
    Coordinator {
        /// The fleet plan (`plan.json`).
        #[arg(long)]
        plan: PathBuf,
        /// Directory of the data packs: every runner's slice (`slice-K-P.pack`, plans
        /// with unique data) and the sources every runner reads (`data-NAME-P.pack`).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        #[arg(long, default_value = "0.0.0.0:6565")]
        listen: std::net::SocketAddr,
        /// Also serve the read-only status endpoints (and `POST /v1/abort`) on a port of
        /// their own, e.g. `0.0.0.0:6566` (what the Kubernetes manifests use).
        #[arg(long, value_name = "ADDR")]
        status_listen: Option<std::net::SocketAddr>,
        /// How many runners; default the plan's `fleet.runners`.
        #[arg(long)]
        runners: Option<u32>,
        /// Keep serving `/status` and `/summary` this long after the end (e.g. `5m`).
        #[arg(long, default_value = "0s", value_parser = cmd::fleet::parse_duration)]
        linger: std::time::Duration,
        #[arg(long, value_name = "FILE")]
        summary_json: Option<PathBuf>,
        /// No progress lines.
        #[arg(long, short)]
        quiet: bool,
        /// Stream the fleet's merged results: `json=FILE`, `csv=FILE`, `junit=FILE`,
        /// `prometheus=URL`, `influxdb=URL` (repeatable; see docs/outputs.md).
        #[arg(long = "out", value_name = "KIND=TARGET")]
        out: Vec<String>,
        /// Write a self-contained HTML report of the fleet's run.
        #[arg(long, value_name = "FILE.html")]
        report: Option<PathBuf>,
        /// Compare the fleet's summary with an earlier run's (the plan's `baseline`
        /// thresholds must already be filled in, as `volley run --baseline` does).
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
        #[command(flatten)]
        judge: cmd::compare::Judge,
        /// Boxed: without the compiler feature (the pods' binary) this variant is the
        /// largest by far (clippy's large_enum_variant).
        #[command(flatten)]
        summary: Box<cmd::summary_format::SummaryArgs>,
    },
    #[cfg(feature = "deploy")]
    /// Deploy a test to Kubernetes, follow it and exit with its verdict.
    Deploy(cmd::deploy::Args),
    #[cfg(feature = "deploy")]
    /// Show a deployed run's Jobs, pods and progress.
    Status(cmd::status::Args),
    #[cfg(feature = "deploy")]
    /// Print the logs of a run's coordinator, or of one runner.
    Logs(cmd::logs::Args),
    #[cfg(feature = "deploy")]
    /// Stop a deployed run (it ends with exit code 105).
    Abort(cmd::abort::Args),
    #[cfg(feature = "deploy")]
    /// Delete every object of a deployed run.
    Delete(cmd::delete::Args),
    #[cfg(feature = "compiler")]
    /// Serve the demo shop the examples load (`/api/products`, `/api/login`, ...); its
    /// endpoints are documented in docs/demo.md.
    #[command(after_help = "The shop's endpoints, bodies and answers: docs/demo.md \
                      (https://github.com/volley-load/volley/blob/main/docs/demo.md).")]
    DemoServer {
        /// The loopback port to listen on; a taken port exits with code 106.
        #[arg(long, default_value_t = 8088)]
        port: u16,
        /// Answer without the realistic small latencies.
        #[arg(long)]
        no_latency: bool,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    cmd::allow_paths(cli.allow_path);
    let code = match cli.command {
        #[cfg(feature = "compiler")]
        Command::Check { files, params } => cmd::check::run(&files, &params),
        #[cfg(feature = "compiler")]
        Command::Lint {
            files,
            format,
            params,
            explain,
        } => cmd::lint::run(&files, format, &params, explain.as_deref()),
        #[cfg(feature = "compiler")]
        Command::Plan {
            file,
            runners,
            segment,
            json,
            params,
        } => cmd::plan::run(&file, runners, segment, json, &params),
        #[cfg(feature = "compiler")]
        Command::Compile {
            file,
            out,
            params,
            outputs,
        } => cmd::compile::run(&file, &out, &params, &outputs),
        #[cfg(feature = "compiler")]
        Command::Convert(source) => cmd::convert::run(source),
        #[cfg(feature = "compiler")]
        Command::Fmt { files, check } => cmd::fmt::run(&files, check),
        #[cfg(feature = "compiler")]
        Command::Lsp { stdio: _ } => cmd::lsp::run(),
        #[cfg(feature = "compiler")]
        Command::Run {
            file,
            runners,
            demo,
            params,
            summary_json,
            workers,
            quiet,
            out,
            report,
            baseline,
            demo_latency,
            dashboard,
            linger,
            summary,
        } => cmd::run::run(cmd::run::Args {
            file,
            runners,
            demo,
            params,
            summary_json,
            workers,
            quiet,
            out,
            report,
            baseline,
            demo_latency,
            dashboard,
            linger,
            summary,
        }),
        #[cfg(feature = "compiler")]
        Command::Compare(a) => cmd::compare::run(a),
        Command::Runner {
            plan,
            coordinator,
            segment,
            runners,
            workers,
            data,
            data_dir,
        } => cmd::fleet::runner(cmd::fleet::RunnerArgs {
            plan,
            coordinator,
            segment,
            runners,
            workers,
            data,
            data_dir,
        }),
        Command::Coordinator {
            plan,
            data_dir,
            listen,
            runners,
            linger,
            summary_json,
            quiet,
            out,
            report,
            status_listen,
            baseline,
            judge,
            summary,
        } => cmd::fleet::coordinator(cmd::fleet::CoordinatorArgs {
            baseline,
            judge,
            summary: *summary,
            plan,
            data_dir,
            listen,
            runners,
            linger,
            summary_json,
            quiet,
            out,
            report,
            status_listen,
            json_logs: cli.log_format == logging::LogFormat::Json,
        }),
        #[cfg(feature = "compiler")]
        Command::DemoServer { port, no_latency } => cmd::demo::run(port, !no_latency),
        #[cfg(feature = "deploy")]
        Command::Deploy(a) => cmd::deploy::run(a),
        #[cfg(feature = "deploy")]
        Command::Status(a) => cmd::status::run(a),
        #[cfg(feature = "deploy")]
        Command::Logs(a) => cmd::logs::run(a),
        #[cfg(feature = "deploy")]
        Command::Abort(a) => cmd::abort::run(a),
        #[cfg(feature = "deploy")]
        Command::Delete(a) => cmd::delete::run(a),
    };
    std::process::ExitCode::from(code.code())
}
