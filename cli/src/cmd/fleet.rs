//! `volley runner` and `volley coordinator`: the fleet's two entry points (the pods'
//! commands, and what `volley run --runners N` starts locally). The protocol is in
//! docs/protocol.md; the work is in `volley_engine::fleet`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use volley_engine::fleet::coordinator::{Coordinator, CoordinatorOptions, Served};
use volley_engine::fleet::datadir::{self, DataDirError};
use volley_engine::fleet::protocol::TOKEN_ENV;
use volley_engine::fleet::runner::{self, RunnerOptions};
use volley_engine::run::{ProgressMode, StopHandle};
use volley_plan::slice::{self, DataSlice};
use volley_plan::ExitCode;
use volley_plan::Plan;

pub struct RunnerArgs {
    pub plan: PathBuf,
    pub coordinator: String,
    pub segment: Option<u32>,
    pub runners: Option<u32>,
    pub workers: Option<usize>,
    pub data: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
}

pub struct CoordinatorArgs {
    pub plan: PathBuf,
    pub data_dir: Option<PathBuf>,
    pub listen: SocketAddr,
    pub runners: Option<u32>,
    pub linger: Duration,
    pub summary_json: Option<PathBuf>,
    pub quiet: bool,
    pub out: Vec<String>,
    pub report: Option<PathBuf>,
    pub status_listen: Option<SocketAddr>,
    /// Log lines are JSON (the pods): the summary is also logged as one JSON line at the
    /// end, so `volley status` can read it from the pod's log after the linger.
    pub json_logs: bool,
    /// `--baseline FILE`: compared with the fleet's summary at the end.
    pub baseline: Option<PathBuf>,
    pub judge: super::compare::Judge,
    /// `--summary-trend-stats`, `--summary-time-unit`, `--summary-template`.
    pub summary: super::summary_format::SummaryArgs,
}

fn read_plan(path: &Path) -> Result<Plan, ExitCode> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        errln!("error: cannot read plan `{}`: {e}", path.display());
        ExitCode::Usage
    })?;
    volley_plan::from_json(&text).map_err(|e| {
        errln!("error: `{}`: {e}", path.display());
        ExitCode::InvalidInput
    })
}

fn token(env: &BTreeMap<String, String>) -> Result<String, ExitCode> {
    match env
        .get(TOKEN_ENV)
        .map(|t| volley_plan::run_token(t))
        .filter(|t| !t.is_empty())
    {
        Some(t) => Ok(t.to_string()),
        None => {
            errln!("error: the run token is missing: set {TOKEN_ENV} (the same value on the coordinator and every runner)");
            Err(ExitCode::Usage)
        }
    }
}

fn workers_or_cores(workers: Option<usize>) -> usize {
    workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
}

pub fn runner(args: RunnerArgs) -> ExitCode {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let plan = match read_plan(&args.plan).and_then(|p| with_packs(p, args.data_dir.as_deref())) {
        Ok(p) => p,
        Err(c) => return c,
    };
    let token = match token(&env) {
        Ok(t) => t,
        Err(c) => return c,
    };
    let segment = match runner::segment_from(args.segment, args.runners, &env, &plan) {
        Ok(s) => s,
        Err(e) => {
            errln!("error: {e}");
            return ExitCode::Usage;
        }
    };
    let slice = match &args.data {
        None => None,
        Some(p) => match read_slice(p) {
            Ok(s) => Some(s),
            Err(c) => return c,
        },
    };
    // A signal (a pod eviction) stops the load gracefully; the runner's data is still
    // pushed, flagged short, and it exits 105.
    let stop = volley_engine::run::StopHandle::default();
    crate::signals::install(vec![stop.clone()], Box::new(|| {}));
    runner::run_runner(RunnerOptions {
        plan,
        segment,
        coordinator: args.coordinator,
        token,
        instance: runner::instance_name(&env),
        workers: workers_or_cores(args.workers),
        env,
        slice,
        stop,
    })
}

fn read_slice(path: &Path) -> Result<DataSlice, ExitCode> {
    datadir::slice_file(path).map_err(data_error)
}

fn data_error(e: DataDirError) -> ExitCode {
    errln!("error: {e}");
    match e {
        DataDirError::Io { .. } => ExitCode::Usage,
        DataDirError::Oversized { .. } | DataDirError::Pack { .. } => ExitCode::InvalidInput,
    }
}

/// The plan with every packed source's rows read from `dir` (`--data-dir`).
fn with_packs(mut plan: Plan, dir: Option<&Path>) -> Result<Plan, ExitCode> {
    if !datadir::needs_packs(&plan) {
        return Ok(plan);
    }
    let Some(dir) = dir else {
        let names: Vec<String> = plan
            .data
            .iter()
            .filter(|d| d.pack.is_some() && d.rows.is_empty())
            .map(|d| format!("`{}`", d.name))
            .collect();
        errln!(
            "error: the data {} travels outside the plan: pass --data-dir DIR holding its data packs (data-NAME-P.pack)",
            names.join(", ")
        );
        return Err(ExitCode::Usage);
    };
    datadir::fill(&mut plan, dir).map_err(data_error)?;
    Ok(plan)
}

pub fn coordinator(args: CoordinatorArgs) -> ExitCode {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    // The coordinator reads data only in setup and teardown: without them it leaves the
    // shared packs unread (a runner's rows are no business of its memory).
    let plan = match read_plan(&args.plan).and_then(|p| {
        let reads_data = p.setup.is_some() || p.teardown.is_some();
        if reads_data {
            with_packs(p, args.data_dir.as_deref())
        } else {
            Ok(p)
        }
    }) {
        Ok(p) => p,
        Err(c) => return c,
    };
    let token = match token(&env) {
        Ok(t) => t,
        Err(c) => return c,
    };
    let Some(runners) = args.runners.or(plan.fleet.runners) else {
        errln!("error: no --runners and the plan's fleet.runners is auto");
        return ExitCode::Usage;
    };
    let slices = if slice::needs_slice(&plan) {
        let Some(dir) = &args.data_dir else {
            errln!("error: the plan has sliced data: pass --data-dir DIR holding slice-K-P.pack for every runner");
            return ExitCode::Usage;
        };
        match datadir::slices(dir, runners) {
            Ok(s) => s,
            Err(e) => return data_error(e),
        }
    } else {
        Vec::new()
    };
    let progress = if args.quiet {
        ProgressMode::Quiet
    } else if std::io::stderr().is_terminal() {
        ProgressMode::Tty
    } else {
        ProgressMode::Plain
    };
    if let Err(code) = super::check_summary_json(args.summary_json.as_deref()) {
        return code;
    }
    let format = match args.summary.prepare() {
        Ok(f) => f,
        Err(code) => return code,
    };
    let unresolved = volley_engine::compare::unresolved(&plan);
    if !unresolved.is_empty() {
        errln!(
            "error: the plan's thresholds against a baseline were not filled in ({}): deploy it with `volley deploy --baseline FILE` or run it with `volley run --baseline FILE`",
            unresolved.join(", ")
        );
        return ExitCode::Usage;
    }
    let baseline = match &args.baseline {
        Some(file) => match super::compare::read_summary(file) {
            Ok(summary) => Some(std::sync::Arc::new(volley_engine::compare::Baseline {
                summary,
                options: args.judge.options(&[]),
            })),
            Err(e) => {
                errln!("error: --baseline: {e}");
                return ExitCode::Usage;
            }
        },
        None => None,
    };
    let testid = volley_engine::output::default_testid(&plan.name, std::time::SystemTime::now());
    let (stop, linger_end) = (StopHandle::default(), StopHandle::default());
    let outputs = if args.out.is_empty() && args.report.is_none() {
        None
    } else {
        let cfg = volley_engine::output::OutputConfig {
            specs: args.out.clone(),
            report: args.report.clone(),
            testid: testid.clone(),
            plan: std::sync::Arc::new(plan.clone()),
            source: None,
            env: env.clone(),
        };
        match volley_engine::output::OutputSet::new(cfg) {
            Ok(o) => Some(o),
            Err(e) => {
                errln!("error: {e}");
                return ExitCode::Usage;
            }
        }
    };
    let coordinator = match Coordinator::bind(
        args.listen,
        CoordinatorOptions {
            plan,
            slices,
            runners,
            token,
            env,
            progress,
            linger: args.linger,
            start_margin: Duration::from_millis(1000),
            outputs,
            testid,
            status_listen: args.status_listen,
            stop: stop.clone(),
            linger_end: linger_end.clone(),
            events: Some(super::render_events(progress, "the fleet")),
            served: served(&args),
            log_summary: args.json_logs,
            baseline,
        },
    ) {
        Ok(c) => c,
        Err(e) => {
            errln!("error: cannot listen on {}: {e}", args.listen);
            return ExitCode::CannotListen;
        }
    };
    if let Ok(addr) = coordinator.local_addr() {
        let s = if runners == 1 { "" } else { "s" };
        tracing::info!("coordinator listening on http://{addr} for {runners} runner{s}");
    }
    if let Some(addr) = args.status_listen {
        tracing::info!("status endpoint on http://{addr}/status");
    }
    // A signal stops the fleet (exit 105 with the summary) and ends the linger.
    crate::signals::install(vec![stop, linger_end], Box::new(|| {}));
    let outcome = coordinator.run();
    super::finish(&outcome.summary, args.summary_json.as_deref(), &format);
    if !format.quiet() {
        super::compare::print(&outcome.summary);
    }
    outcome.exit_code
}

/// What the status port serves at the end: the report and the `--out json` files (the
/// specs were parsed already, by `OutputSet::new`).
fn served(args: &CoordinatorArgs) -> Served {
    let json = args
        .out
        .iter()
        .filter_map(|raw| match volley_engine::output::spec::parse(raw) {
            Ok(volley_engine::output::OutSpec::Json { path }) => Some(path),
            _ => None,
        })
        .collect();
    Served {
        report: args.report.clone(),
        json,
    }
}

/// `30s`, `5m`, `1h`, `250ms` or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((s, ""), |i| s.split_at(i));
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 30s, 5m)"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("`{s}` is not a duration (e.g. 30s, 5m)")),
    };
    Ok(Duration::from_secs_f64(secs.max(0.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_token_loses_one_trailing_newline_and_an_empty_one_is_refused() {
        let env = |v: &str| BTreeMap::from([(TOKEN_ENV.to_string(), v.to_string())]);
        assert_eq!(token(&env("s3cr3t\n")), Ok("s3cr3t".to_string()));
        assert_eq!(token(&env("s3cr3t\r\n")), Ok("s3cr3t".to_string()));
        assert_eq!(token(&env("s3cr3t")), Ok("s3cr3t".to_string()));
        assert!(token(&env("\n")).is_err(), "a bare newline is no token");
        assert!(token(&BTreeMap::new()).is_err());
    }
}
