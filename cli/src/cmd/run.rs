//! `volley run FILE [--demo] [--out KIND=TARGET]… [--report FILE.html] [--dashboard[=ADDR]
//! [--linger DURATION]]`: compile, run on this machine with its outputs (and the live
//! dashboard, whose server outlives the run by `--linger`), print the summary, exit with
//! the verdict (0, 99, 104, 105, 108; 2 for a bad `--out`, `--report` or `--summary-json`
//! before any load; 106 when the dashboard's address cannot be bound).
//! SIGINT, SIGTERM, SIGHUP and SIGQUIT stop it gracefully (see `crate::signals`).

use super::compile_or_report;
use std::io::IsTerminal;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use volley_engine::fleet::local::{LocalFleet, Processes};
use volley_engine::output::dashboard::{Dashboard, DashboardServer};
use volley_engine::output::{default_testid, OutputConfig, OutputSet};
use volley_engine::run::{run_with, ProgressMode, RunHooks, RunOptions, StopHandle};
use volley_plan::ExitCode;

pub struct Args {
    pub file: PathBuf,
    /// Run as a local fleet of this many runner processes.
    pub runners: Option<u32>,
    pub demo: bool,
    pub params: Vec<String>,
    pub summary_json: Option<PathBuf>,
    pub workers: Option<usize>,
    pub quiet: bool,
    pub out: Vec<String>,
    pub report: Option<PathBuf>,
    /// `--baseline FILE` (or `--no-baseline`) and how to judge against it.
    pub baseline: super::compare::BaselineArgs,
    /// `--demo-latency`: extra latency of every demo answer.
    pub demo_latency: Option<std::time::Duration>,
    /// `--dashboard[=ADDR]`: serve the live dashboard there.
    pub dashboard: Option<SocketAddr>,
    /// `--linger`: how long the dashboard outlives the run.
    pub linger: Option<std::time::Duration>,
    /// `--summary-trend-stats`, `--summary-time-unit`, `--summary-template`.
    pub summary: super::summary_format::SummaryArgs,
}

pub fn run(args: Args) -> ExitCode {
    // The demo shop starts before the file compiles: `proto(reflect: ..)` reads its
    // services from the shop's reflection service.
    let demo = match args.demo {
        true => match start_demo(args.demo_latency.unwrap_or_default()) {
            Ok(d) => {
                super::reflect::redirect(&d.1);
                Some(d)
            }
            Err(e) => {
                errln!("error: cannot start the demo shop: {e}");
                return ExitCode::CannotListen;
            }
        },
        false => None,
    };
    let mut plan = match compile_or_report(&args.file, &args.params) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if args.runners.is_none() {
        let wanted = super::fleet_runners(&plan);
        if wanted > 1 {
            errln!(
                "note: the file's fleet asks for {wanted} runners; this run is one process with all the load. Run them with `volley run {} --runners {wanted}` (or `volley deploy`)",
                args.file.display()
            );
        }
    }
    // The summary's flags and templates are checked before anything starts.
    let format = match args.summary.prepare() {
        Ok(f) => f,
        Err(code) => return code,
    };
    let baseline = match super::compare::prepare(&mut plan, &args.baseline) {
        Ok(b) => b,
        Err(code) => return code,
    };
    if let Some(d) = &demo {
        for target in &mut plan.targets {
            // A WebSocket target stays one (`ws://` to the same shop).
            target.url = match target.url.starts_with("ws") {
                true => d.1.replacen("http", "ws", 1),
                false => d.1.clone(),
            };
        }
        match args.demo_latency.filter(|d| !d.is_zero()) {
            Some(extra) => errln!(
                "demo shop on {} (every target points at it; {} extra latency per answer)",
                d.1,
                volley_engine::summary::fmt_duration(extra.as_secs_f64() * 1000.0)
            ),
            None => errln!("demo shop on {} (every target points at it)", d.1),
        }
    }
    let progress = if args.quiet {
        ProgressMode::Quiet
    } else if std::io::stderr().is_terminal() {
        ProgressMode::Tty
    } else {
        ProgressMode::Plain
    };
    let env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
    if let Err(code) = super::check_summary_json(args.summary_json.as_deref()) {
        return code;
    }
    let outputs = match outputs(&args, &plan, &env) {
        Ok(o) => o,
        Err(e) => {
            errln!("error: {e}");
            return ExitCode::Usage;
        }
    };
    let dashboard = match (args.dashboard, outputs.as_ref().and_then(|o| o.dashboard())) {
        (Some(addr), Some(d)) => match DashboardServer::start(addr, d.clone()) {
            Ok(server) => {
                errln!("dashboard: {} (live while the test runs)", server.url());
                Some(server)
            }
            Err(e) => {
                errln!("error: cannot serve the dashboard on {addr}: {e}; pick another address with --dashboard=ADDR (port 0 picks a free one)");
                return ExitCode::CannotListen;
            }
        },
        _ => None,
    };
    let stop = StopHandle::default();
    // A signal stops the run, and ends the dashboard's linger after it.
    let linger_end = StopHandle::default();
    let outcome = match args.runners {
        Some(n) if n >= 1 => {
            // A private work folder (0700, made fresh under a random name): the plan file
            // is never written through a link someone else placed.
            let private =
                <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700);
            let work_dir = match tempfile::Builder::new()
                .prefix("volley-fleet-")
                .permissions(private)
                .tempdir()
            {
                Ok(d) => d,
                Err(e) => {
                    errln!("error: cannot create a work folder: {e}");
                    return ExitCode::Usage;
                }
            };
            let processes = Processes::default();
            let on_second = {
                let (processes, path) = (processes.clone(), work_dir.path().to_path_buf());
                Box::new(move || {
                    processes.kill_now();
                    let _ = std::fs::remove_dir_all(&path);
                })
            };
            crate::signals::install(vec![stop.clone(), linger_end.clone()], on_second);
            let fleet = LocalFleet {
                exe: match std::env::current_exe() {
                    Ok(p) => p,
                    Err(e) => {
                        errln!("error: cannot find the volley binary: {e}");
                        return ExitCode::Usage;
                    }
                },
                plan,
                runners: n,
                workers: args.workers.unwrap_or(1).max(1),
                progress,
                work_dir: work_dir.path().to_path_buf(),
                env,
                outputs,
                stop,
                processes,
                events: Some(super::render_events(progress, "the fleet")),
                baseline,
            };
            let result = fleet.run();
            drop(work_dir);
            match result {
                Ok(o) => o,
                Err(e) => {
                    errln!("error: {}", volley_engine::run::error_chain(&e));
                    return ExitCode::Usage;
                }
            }
        }
        Some(_) => {
            errln!("error: --runners must be at least 1");
            return ExitCode::Usage;
        }
        None => {
            let mut opts = RunOptions {
                progress,
                ..RunOptions::default()
            };
            if let Some(w) = args.workers {
                opts.workers = w.max(1);
            }
            crate::signals::install(vec![stop.clone(), linger_end.clone()], Box::new(|| {}));
            let hooks = RunHooks {
                outputs,
                stop: Some(stop),
                events: Some(super::render_events(progress, "the test")),
                baseline,
                ..RunHooks::default()
            };
            run_with(&plan, opts, hooks)
        }
    };
    drop(demo);
    super::finish(&outcome.summary, args.summary_json.as_deref(), &format);
    if !format.quiet() {
        super::compare::print(&outcome.summary);
    }
    if let (Some(server), Some(linger)) = (&dashboard, args.linger) {
        linger_with(server, linger, &linger_end);
    }
    drop(dashboard);
    outcome.exit_code
}

/// Keeps the dashboard's server (now serving the report) up for `linger`, or until a
/// signal.
fn linger_with(server: &DashboardServer, linger: std::time::Duration, end: &StopHandle) {
    if end.is_stopped() {
        return;
    }
    errln!(
        "dashboard: the report stays at {} for {} (Ctrl-C ends it)",
        server.url(),
        volley_engine::summary::fmt_duration(linger.as_secs_f64() * 1000.0)
    );
    let deadline = std::time::Instant::now() + linger;
    while !end.is_stopped() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The `--out` and `--report` outputs (none when neither is given). The report shows the
/// file's source; tokens are read from the environment the run reads secrets from.
fn outputs(
    args: &Args,
    plan: &volley_plan::Plan,
    env: &std::collections::BTreeMap<String, String>,
) -> Result<Option<OutputSet>, volley_engine::output::OutputError> {
    if args.out.is_empty() && args.report.is_none() && args.dashboard.is_none() {
        return Ok(None);
    }
    let cfg = OutputConfig {
        specs: args.out.clone(),
        report: args.report.clone(),
        testid: default_testid(&plan.name, std::time::SystemTime::now()),
        plan: Arc::new(plan.clone()),
        source: std::fs::read_to_string(&args.file).ok(),
        env: env.clone(),
    };
    let dashboard = args.dashboard.map(|_| {
        Dashboard::new(
            Arc::clone(&cfg.plan),
            cfg.testid.clone(),
            cfg.source.clone(),
        )
    });
    let mut set = OutputSet::new(cfg)?;
    if let Some(d) = dashboard {
        set.attach_dashboard(d);
    }
    Ok(Some(set))
}

/// Starts the demo shop on an ephemeral loopback port; the runtime lives as long as the
/// returned value.
fn start_demo(extra: std::time::Duration) -> std::io::Result<(tokio::runtime::Runtime, String)> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("volley-demo")
        .enable_all()
        .build()?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let server = runtime.block_on(volley_demo::DemoServer::start(
        addr,
        volley_demo::DemoConfig {
            extra_latency: extra,
            ..volley_demo::DemoConfig::default()
        },
    ))?;
    let url = server.url();
    // The server task lives on the runtime; keep the handle alive with it.
    std::mem::forget(server);
    Ok((runtime, url))
}
