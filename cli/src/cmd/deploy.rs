//! `volley deploy FILE`: compile, check `--out`, `--report` and `--summary-json` (exit 2
//! before anything is applied), build the manifests, server-side apply them, follow the
//! run through the API server to its verdict with `volley run`'s progress line, print the
//! fleet summary, fetch the report, the summary JSON and the json outputs from the
//! coordinator, clean up as `fleet.cleanup` says and exit with the run's code
//! (`--detach`: return after applying). Also the cluster flags and helpers the run
//! commands (status, logs, abort, delete) share.

use super::cluster_out::{self, ClusterOutputs};
use super::{compiled_or_report, manifests_or_report};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use volley_engine::output::junit;
use volley_engine::progress::Progress as Line;
use volley_engine::run::{EventSink, ProgressLine, ProgressMode, RunEvent, Runners};
use volley_engine::summary::Summary;
use volley_k8s::deploy::results::{self, Fetch};
use volley_k8s::deploy::{self, Client, DeployError, Event, FleetStatus, FollowOptions};
use volley_plan::Cleanup;
use volley_plan::ExitCode;

/// Where a run lives: the kubeconfig context and the namespace.
#[derive(clap::Args, Debug, Clone)]
pub struct Cluster {
    /// The kubeconfig context (default: the current one, or the in-cluster config).
    #[arg(long)]
    pub context: Option<String>,
    /// The namespace (default: the context's; for deploy, the file's `fleet.namespace`
    /// when it sets one).
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    pub file: PathBuf,
    #[command(flatten)]
    pub cluster: Cluster,
    /// Return once the objects are applied, printing the run id.
    #[arg(long)]
    pub detach: bool,
    /// Take over fields another field manager owns (server-side apply `force`).
    #[arg(long)]
    pub force_conflicts: bool,
    /// Override a `param` of the file (`--param peak=200`, repeatable), type-checked
    /// against its declaration.
    #[arg(long = "param", value_name = "K=V")]
    pub params: Vec<String>,
    /// The coordinator streams the fleet's merged results: `prometheus=URL[,…]`,
    /// `influxdb=URL[,…]`, `json=FILE` (fetched into FILE at the end), or `junit=FILE`
    /// (written from the fleet's summary at the end); repeatable, see docs/outputs.md.
    #[arg(long = "out", short = 'o', value_name = "KIND=TARGET")]
    pub out: Vec<String>,
    /// Fetch the coordinator's HTML report into this file at the end.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Write the fleet summary as JSON at the end (as `volley run --summary-json`).
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
    /// No live progress line.
    #[arg(long, short)]
    pub quiet: bool,
    /// `--baseline FILE`: `baseline` thresholds are filled in before the deploy (the
    /// coordinator judges them), and the fleet's summary is compared with it at the end.
    #[command(flatten)]
    pub baseline: super::compare::BaselineArgs,
    /// `--summary-trend-stats`, `--summary-time-unit`, `--summary-template` on the fleet
    /// summary printed at the end.
    #[command(flatten)]
    pub summary: super::summary_format::SummaryArgs,
}

/// The local files a run's results are written to at the end.
#[derive(Debug, Default)]
pub struct Wanted<'a> {
    pub report: Option<&'a Path>,
    pub summary_json: Option<&'a Path>,
    /// `--out json=FILE` of deploy, in order (the coordinator's `GET /out/K`).
    pub json_files: &'a [PathBuf],
    /// `--out junit=FILE` of deploy, written from the summary with the plan's thresholds.
    pub junit: Option<(&'a volley_plan::Plan, &'a [PathBuf])>,
}

impl Wanted<'_> {
    pub fn is_empty(&self) -> bool {
        self.report.is_none()
            && self.summary_json.is_none()
            && self.json_files.is_empty()
            && self.junit.is_none_or(|(_, f)| f.is_empty())
    }

    fn junit_files(&self) -> &[PathBuf] {
        self.junit.map_or(&[], |(_, f)| f)
    }
}

/// The exit code of a deploy error, after printing it.
pub fn fail(e: &DeployError) -> ExitCode {
    errln!("error: {e}");
    match e {
        DeployError::NotFound { .. } => ExitCode::Usage,
        _ => ExitCode::DeployFailed,
    }
}

#[allow(
    clippy::expect_used,
    reason = "a current-thread runtime fails to build only when the process cannot make an epoll or timer fd; nothing can run then"
)]
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A client and the namespace to act in.
pub async fn connect(c: &Cluster) -> Result<(Client, String), DeployError> {
    let (client, default_ns) = deploy::connect(c.context.as_deref()).await?;
    Ok((client, c.namespace.clone().unwrap_or(default_ns)))
}

/// Runs `f` with a client and the namespace of `c` (the run-level commands: status, logs,
/// abort, delete), or fails as `fail` does when the cluster cannot be reached.
pub fn on_cluster<F, Fut>(c: &Cluster, f: F) -> ExitCode
where
    F: FnOnce(Client, String) -> Fut,
    Fut: std::future::Future<Output = ExitCode>,
{
    runtime().block_on(async {
        match connect(c).await {
            Ok((client, ns)) => f(client, ns).await,
            Err(e) => fail(&e),
        }
    })
}

pub fn run(a: Args) -> ExitCode {
    let (compiled, mut plan) = match compiled_or_report(&a.file, &a.params) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let baseline = match super::compare::prepare(&mut plan, &a.baseline) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let outputs = match checked_outputs(&a, &plan) {
        Ok(o) => o,
        Err(e) => {
            errln!("error: {e}");
            return ExitCode::Usage;
        }
    };
    let format = match a.summary.prepare() {
        Ok(f) => f,
        Err(code) => return code,
    };
    // `-n`, else the file's `fleet.namespace`, else the context's (as kubectl, and as
    // `volley status` and the other run commands look for the run).
    let namespace = match (&a.cluster.namespace, &plan.fleet.namespace) {
        (Some(ns), _) => Some(ns.clone()),
        (None, Some(_)) => None,
        (None, None) => match runtime().block_on(deploy::connect(a.cluster.context.as_deref())) {
            Ok((_, ns)) => Some(ns),
            Err(e) => return fail(&e),
        },
    };
    let opts = volley_k8s::Options {
        namespace,
        outputs: outputs.outs.clone(),
    };
    let m = match manifests_or_report(&a.file, &compiled, &plan, &opts) {
        Ok(m) => m,
        Err(code) => return code,
    };
    drop(compiled);
    for n in &m.notes {
        errln!("note: {n}");
    }
    let wanted = Wanted {
        report: a.report.as_deref(),
        summary_json: a.summary_json.as_deref(),
        json_files: &outputs.json_files,
        junit: Some((&plan, &outputs.junit_files)),
    };
    let mode = progress_mode(a.quiet);
    runtime().block_on(async {
        let (client, _) = match deploy::connect(a.cluster.context.as_deref()).await {
            Ok(c) => c,
            Err(e) => return fail(&e),
        };
        let (run, ns) = (m.names.run.clone(), m.namespace.clone());
        let s = if m.runners == 1 { "" } else { "s" };
        errln!(
            "deploying run {run}: {} runner{s} in namespace {ns}",
            m.runners
        );
        let applied = match deploy::apply(&client, &m, a.force_conflicts, deploy::random_token).await {
            Ok(x) => x,
            Err(e) => return fail(&e),
        };
        errln!("applied {} objects (server-side, field manager `volley`)", applied.objects.len());
        errln!("{}", dashboard_hint(&ns, &m.names.coordinator(), a.cluster.context.as_deref()));
        if a.detach {
            outln!("{run}");
            errln!("follow it with `volley status {run} -n {ns}`, stop it with `volley abort {run} -n {ns}`");
            return ExitCode::Ok;
        }
        let fo = FollowOptions {
            poll: Duration::from_secs(1),
            start_timeout: Duration::from_millis(plan.fleet.start_timeout_ms) + Duration::from_secs(60),
        };
        let mut printer = Progress::new(mode);
        let outcome = match deploy::follow(&client, &ns, &m.names, m.runners as usize + 1, &fo, &mut |e| printer.show(e)).await {
            Ok(o) => o,
            Err(e) => return fail(&e),
        };
        printer.end();
        // A coordinator that exited before its summary could be read logged it.
        let summary = match outcome.summary {
            Some(s) => Some(s),
            None => match results::summary(&client, &ns, &run).await {
                Ok(Ok((s, _))) => Some(s),
                _ => None,
            },
        };
        let (summary, regressed) = judged(summary, baseline.as_deref());
        // `--summary-trend-stats`: the written JSON gains the stats, as `volley run`'s.
        let summary = summary.map(|v| format.apply_value(v));
        print_summary(summary.as_ref(), &format);
        let mut code = ExitCode::from_code(outcome.exit_code);
        if regressed && code == ExitCode::Ok {
            code = ExitCode::ThresholdsFailed;
        }
        let verdict = outcome.status.as_ref().and_then(|s| s.verdict.clone());
        errln!(
            "run {run}: {} (exit {})",
            verdict.as_deref().unwrap_or("ended"),
            outcome.exit_code
        );
        let fetched = fetch_results(&client, &ns, &run, &wanted, summary).await;
        if code == ExitCode::Ok && plan.fleet.cleanup == Cleanup::OnSuccess {
            match deploy::ops::delete(&client, &ns, &run).await {
                Ok(d) => errln!("cleanup = on_success: deleted {} objects of run {run}", d.len()),
                Err(e) => errln!("warning: cleanup failed: {e}"),
            }
        }
        if let Err(e) = fetched {
            return fail(&e);
        }
        code
    })
}

/// `--out`, `--report` and `--summary-json`, checked before anything is applied; with
/// `--detach` no file can be fetched at the end.
fn checked_outputs(a: &Args, plan: &volley_plan::Plan) -> Result<ClusterOutputs, String> {
    let json = |s: &String| {
        matches!(
            volley_engine::output::spec::parse(s),
            Ok(volley_engine::output::OutSpec::Json { .. }
                | volley_engine::output::OutSpec::Junit { .. })
        )
    };
    if a.detach && a.out.iter().any(json) {
        return Err("--out json=FILE and junit=FILE are written when the run ends, and --detach does not wait for it; stream to prometheus or influxdb".into());
    }
    let outputs = cluster_out::parse(&a.out, plan, true)?;
    if a.detach
        && (a.report.is_some() || a.summary_json.is_some() || a.summary.summary_export.is_some())
    {
        return Err(
            "--detach returns before the run ends: fetch the report and the summary later with `volley status RUN --report FILE --summary-json FILE` (within the coordinator's linger)".into(),
        );
    }
    cluster_out::check_files(a.report.as_deref(), a.summary_json.as_deref())?;
    Ok(outputs)
}

/// How to open the coordinator's live dashboard (`GET /dashboard` on its status port):
/// through `kubectl port-forward`, or the API server's service proxy (`kubectl proxy`).
pub fn dashboard_hint(ns: &str, service: &str, context: Option<&str>) -> String {
    let port = volley_k8s::manifests::names::STATUS_PORT;
    let kubectl = match context {
        Some(c) => format!("kubectl --context {c}"),
        None => "kubectl".to_string(),
    };
    format!(
        "dashboard: `{kubectl} port-forward -n {ns} svc/{service} {port}`, then http://127.0.0.1:{port}/dashboard\n   \
         or: `{kubectl} proxy`, then http://127.0.0.1:8001/api/v1/namespaces/{ns}/services/{service}:{port}/proxy/dashboard"
    )
}

/// Progress lines on a terminal (rewritten in place), plain lines otherwise, or none.
pub fn progress_mode(quiet: bool) -> ProgressMode {
    if quiet {
        ProgressMode::Quiet
    } else if std::io::stderr().is_terminal() {
        ProgressMode::Tty
    } else {
        ProgressMode::Plain
    }
}

/// The fleet's summary compared with `--baseline` (recorded in it, and printed after
/// it); whether that found a regression.
fn judged(
    summary: Option<serde_json::Value>,
    baseline: Option<&volley_engine::compare::Baseline>,
) -> (Option<serde_json::Value>, bool) {
    let (Some(value), Some(b)) = (summary.as_ref(), baseline) else {
        return (summary, false);
    };
    let Ok(mut s) = serde_json::from_value::<volley_engine::summary::Summary>(value.clone()) else {
        errln!("warning: --baseline: the fleet's summary could not be read: no comparison");
        return (summary, false);
    };
    volley_engine::compare::judge(&mut s, b);
    let regressed = s
        .volley
        .comparison
        .as_ref()
        .is_some_and(|c| c.regressions > 0);
    (serde_json::to_value(&s).ok().or(summary), regressed)
}

/// Fetches what `wanted` asks for from the run's coordinator and writes the local files;
/// `summary` is the one already read, if any. Each file that cannot be had is a warning
/// naming why; `Err` only for a cluster error (RBAC, unreachable). Never waits: the
/// coordinator answers at once, or nothing answers.
pub async fn fetch_results(
    client: &Client,
    ns: &str,
    run: &str,
    wanted: &Wanted<'_>,
    summary: Option<serde_json::Value>,
) -> Result<bool, DeployError> {
    let mut all = true;
    let junit = wanted.junit_files();
    let summary = if wanted.summary_json.is_some() || !junit.is_empty() {
        Some(match summary {
            Some(s) => Ok(s),
            None => results::summary(client, ns, run).await?.map(|(s, from)| {
                if from == results::SummaryFrom::Log {
                    errln!("note: the summary was read from the coordinator pod's log");
                }
                s
            }),
        })
    } else {
        None
    };
    if let (Some(path), Some(summary)) = (wanted.summary_json, &summary) {
        all &= match summary {
            Ok(s) => written(cluster_out::write_summary(s, path), path, "--summary-json"),
            Err(why) => {
                errln!("warning: --summary-json: no summary for run {run}: {why}");
                unwritten(path)
            }
        };
    }
    if let (Some((plan, _)), Some(summary)) = (wanted.junit, &summary) {
        for path in junit {
            all &= match summary
                .as_ref()
                .map(|s| serde_json::from_value::<Summary>(s.clone()))
            {
                Ok(Ok(s)) => {
                    let meta = junit::Meta::ended_now(run, &s);
                    match junit::write(&s, plan, &meta, path) {
                        Ok(counts) => {
                            errln!("{}", junit::note(counts, path));
                            true
                        }
                        Err(e) => {
                            errln!(
                                "warning: --out junit: cannot write `{}`: {e}",
                                path.display()
                            );
                            false
                        }
                    }
                }
                Ok(Err(e)) => {
                    errln!("warning: --out junit: the summary of run {run} does not read: {e}");
                    unwritten(path)
                }
                Err(why) => {
                    errln!("warning: --out junit: no summary for run {run}: {why}");
                    unwritten(path)
                }
            };
        }
    }
    let mut files: Vec<(String, &Path, &str)> = Vec::new();
    if let Some(p) = wanted.report {
        files.push(("report".into(), p, "--report"));
    }
    for (k, p) in wanted.json_files.iter().enumerate() {
        files.push((format!("out/{k}"), p, "--out json"));
    }
    for (endpoint, path, flag) in files {
        all &= match results::fetch(client, ns, run, &endpoint).await? {
            Fetch::Got(body) => written(std::fs::write(path, body), path, flag),
            Fetch::Missing(why) => {
                errln!("warning: {flag}: the coordinator of run {run} has no such file: {why}");
                unwritten(path)
            }
            Fetch::NoCoordinator => {
                errln!(
                    "warning: {flag}: cannot fetch `{}` of run {run}: {}",
                    path.display(),
                    results::gone()
                );
                unwritten(path)
            }
        };
    }
    Ok(all)
}

/// Removes the empty file the up-front check created for a result that could not be
/// had, so no empty report or summary is taken for one; `false`.
fn unwritten(path: &Path) -> bool {
    if std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0) {
        let _ = std::fs::remove_file(path);
    }
    false
}

fn written(r: std::io::Result<()>, path: &Path, flag: &str) -> bool {
    match r {
        Ok(()) => {
            errln!("{}: {}", flag.trim_start_matches("--"), path.display());
            true
        }
        Err(e) => {
            errln!("warning: {flag}: cannot write `{}`: {e}", path.display());
            false
        }
    }
}

/// Shows the run as it is followed: the pods and the runners' readiness until the start
/// (a line when it changes), then `volley run`'s progress line from the coordinator's
/// `/status` (rendered by the same `render_events`: in place on a terminal, a plain line
/// every 10 s otherwise), and the last one, at 100 %, when the status says done.
struct Progress {
    mode: ProgressMode,
    sink: EventSink,
    last: String,
    /// When a progress line was last shown (none yet: the load has not run).
    shown: Option<Instant>,
    /// The closing line was shown.
    ended: bool,
}

impl Progress {
    fn new(mode: ProgressMode) -> Progress {
        Progress {
            mode,
            sink: super::render_events(mode, "the fleet"),
            last: String::new(),
            shown: None,
            ended: false,
        }
    }

    fn show(&mut self, e: Event) {
        let s = match e {
            Event::Pods {
                running,
                pending,
                total,
            } => {
                return self.note(format!(
                    "pods: {running} running, {pending} pending of {total}"
                ))
            }
            Event::Status(s) => s,
        };
        if matches!(s.phase.as_str(), "waiting" | "setup" | "") && !s.is_done() {
            let r = &s.runners;
            return self.note(format!(
                "{}: {} of {} runners ready ({} joined, {} lost)",
                if s.phase == "setup" {
                    "setup"
                } else {
                    "waiting"
                },
                r.ready,
                r.expected,
                r.joined,
                r.lost
            ));
        }
        if self.ended {
            return;
        }
        if s.is_done() {
            // The load never ran (a fleet that did not start): no progress to close.
            if self.shown.is_some() {
                self.ended = true;
                (self.sink)(progress_event(&s, true));
            }
            return;
        }
        let due = self
            .shown
            .is_none_or(|t| t.elapsed() + Duration::from_millis(50) >= self.mode.interval());
        if due {
            self.shown = Some(Instant::now());
            (self.sink)(progress_event(&s, false));
        }
    }

    /// A line about the pods or the start, when it changes (one per line, also on a
    /// terminal, where it replaces the in-place progress line until the next one).
    fn note(&mut self, line: String) {
        if line != self.last && self.mode != ProgressMode::Quiet {
            if self.mode == ProgressMode::Tty && self.shown.is_some() && !self.ended {
                err!("\r\x1b[2K"); // over the in-place line; the next one redraws it
            }
            errln!("{line}");
            self.last = line;
        }
    }

    /// Ends an in-place line the run left open (the coordinator went away before it said
    /// done), so what follows starts on a line of its own.
    fn end(&mut self) {
        if self.shown.is_some() && !self.ended && self.mode == ProgressMode::Tty {
            errln!();
        }
        self.ended = true;
    }
}

/// `volley run`'s progress event of a fleet status: VUs, iterations, requests per second,
/// errors (from `http_req_failed`), elapsed over total, and the runners (lost ones named).
pub fn progress_event(s: &FleetStatus, done: bool) -> RunEvent {
    let progress = Line {
        vus: s.vus,
        vus_max: s.vus_max.max(s.vus),
        iterations: s.iterations,
        http_reqs: s.http_reqs,
        errors: (s.http_req_failed * s.http_reqs as f64).round() as u64,
        elapsed: Duration::from_millis(s.elapsed_ms),
        total: Duration::from_millis(s.total_ms),
        done: done || s.is_done(),
        scenarios: Vec::new(),
        req_rate: Some(s.rps),
    };
    RunEvent::Progress {
        line: ProgressLine {
            progress,
            runners: Some(Runners {
                total: s.runners.expected.min(u64::from(u32::MAX)) as u32,
                lost: s.runners.lost.min(u64::from(u32::MAX)) as u32,
            }),
        },
        done,
    }
}

/// `running 00:42/08:30  runners 10/10 ready  vus 500  1234 req/s  0.10% failed`.
pub fn status_line(s: &FleetStatus) -> String {
    let mmss = |ms: u64| format!("{:02}:{:02}", ms / 60_000, ms / 1000 % 60);
    let r = &s.runners;
    let mut line = format!(
        "{} {}/{}  runners {}/{} ready, {} done, {} lost  vus {}  {:.0} req/s  {:.2}% failed",
        s.phase,
        mmss(s.elapsed_ms),
        mmss(s.total_ms),
        r.ready,
        r.expected,
        r.done,
        r.lost,
        s.vus,
        s.rps,
        s.http_req_failed * 100.0
    );
    if let (Some(code), Some(v)) = (s.exit_code, &s.verdict) {
        line.push_str(&format!("  → {v} (exit {code})"));
    }
    line
}

/// The fleet summary as `volley run` prints it (shaped by the summary flags), or the raw
/// JSON if it has another shape.
pub fn print_summary(
    summary: Option<&serde_json::Value>,
    format: &super::summary_format::SummaryFormat,
) {
    let Some(v) = summary else {
        errln!("note: the fleet summary could not be read (see `volley logs RUN`)");
        format.missing();
        return;
    };
    match serde_json::from_value::<volley_engine::summary::Summary>(v.clone()) {
        Ok(s) => {
            out!(
                "{}",
                format.finish(&format.apply(&s), std::io::stdout().is_terminal())
            );
            if !format.quiet() {
                super::compare::print(&s);
            }
        }
        Err(e) => {
            if !format.quiet() {
                outln!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
            }
            if format.exporting() {
                errln!(
                    "warning: --summary-export: the fleet summary does not read as Volley's: {e}"
                );
                format.missing();
            }
        }
    }
}
