//! `volley deploy FILE`: compile, build the manifests, server-side apply them, follow the
//! run through the API server to its verdict, print the fleet summary, clean up as
//! `fleet.cleanup` says and exit with the run's code (`--detach`: return after applying).
//! Also the cluster flags and helpers the run commands (status, logs, abort, delete) share.

use super::manifests_or_report;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;
use volley_k8s::deploy::{self, Client, DeployError, Event, FleetStatus, FollowOptions};
use volley_plan::Cleanup;
use volley_plan::ExitCode;

/// Where a run lives: the kubeconfig context and the namespace.
#[derive(clap::Args, Debug, Clone)]
pub struct Cluster {
    /// The kubeconfig context (default: the current one, or the in-cluster config).
    #[arg(long)]
    pub context: Option<String>,
    /// The namespace (default for deploy: `fleet.namespace`; otherwise the context's).
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
}

/// The exit code of a deploy error, after printing it.
pub fn fail(e: &DeployError) -> ExitCode {
    eprintln!("error: {e}");
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
    let opts = volley_k8s::Options {
        namespace: a.cluster.namespace.clone(),
    };
    let (plan, m) = match manifests_or_report(&a.file, &a.params, &opts) {
        Ok(x) => x,
        Err(code) => return code,
    };
    for n in &m.notes {
        eprintln!("note: {n}");
    }
    runtime().block_on(async {
        let (client, _) = match deploy::connect(a.cluster.context.as_deref()).await {
            Ok(c) => c,
            Err(e) => return fail(&e),
        };
        let (run, ns) = (m.names.run.clone(), m.namespace.clone());
        let s = if m.runners == 1 { "" } else { "s" };
        eprintln!(
            "deploying run {run}: {} runner{s} in namespace {ns}",
            m.runners
        );
        let applied = match deploy::apply(&client, &m, a.force_conflicts, deploy::random_token).await {
            Ok(x) => x,
            Err(e) => return fail(&e),
        };
        eprintln!("applied {} objects (server-side, field manager `volley`)", applied.objects.len());
        if a.detach {
            println!("{run}");
            eprintln!("follow it with `volley status {run} -n {ns}`, stop it with `volley abort {run} -n {ns}`");
            return ExitCode::Ok;
        }
        let fo = FollowOptions {
            poll: Duration::from_secs(1),
            start_timeout: Duration::from_millis(plan.fleet.start_timeout_ms) + Duration::from_secs(60),
        };
        let mut printer = Progress::default();
        let outcome = match deploy::follow(&client, &ns, &m.names, m.runners as usize + 1, &fo, &mut |e| printer.show(e)).await {
            Ok(o) => o,
            Err(e) => return fail(&e),
        };
        print_summary(outcome.summary.as_ref());
        let code = ExitCode::from_code(outcome.exit_code);
        if code == ExitCode::Ok && plan.fleet.cleanup == Cleanup::OnSuccess {
            match deploy::ops::delete(&client, &ns, &run).await {
                Ok(d) => eprintln!("cleanup = on_success: deleted {} objects of run {run}", d.len()),
                Err(e) => eprintln!("warning: cleanup failed: {e}"),
            }
        }
        code
    })
}

/// Prints a progress line when it changes.
#[derive(Default)]
struct Progress {
    last: String,
}

impl Progress {
    fn show(&mut self, e: Event) {
        let line = match e {
            Event::Pods {
                running,
                pending,
                total,
            } => {
                format!("pods: {running} running, {pending} pending of {total}")
            }
            Event::Status(s) => status_line(&s),
        };
        if line != self.last {
            eprintln!("{line}");
            self.last = line;
        }
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

/// The fleet summary as `volley run` prints it, or the raw JSON if it has another shape.
pub fn print_summary(summary: Option<&serde_json::Value>) {
    let Some(v) = summary else {
        eprintln!("note: the fleet summary could not be read (see `volley logs RUN`)");
        return;
    };
    match serde_json::from_value::<volley_engine::summary::Summary>(v.clone()) {
        Ok(s) => print!(
            "{}",
            volley_engine::summary::render_text(&s, std::io::stdout().is_terminal())
        ),
        Err(_) => println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()),
    }
}
