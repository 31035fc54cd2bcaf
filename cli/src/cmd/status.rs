//! `volley status RUN`: the run's Jobs, pods and, while the coordinator answers, its
//! progress line; with `--summary-json F` and `--report F`, the run's summary and report
//! fetched from the coordinator (while it lingers after the end; the summary also later,
//! from the coordinator pod's log). Never waits for the run.

use super::deploy::{fail, fetch_results, on_cluster, status_line, Cluster, Wanted};
use std::path::PathBuf;
use volley_plan::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The run id `volley deploy` printed (`checkout-1a2b3c4d`).
    pub run: String,
    #[command(flatten)]
    pub cluster: Cluster,
    /// Fetch the run's HTML report into this file (once the run has ended, within the
    /// coordinator's linger).
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Write the run's summary as JSON (once it has ended; after the linger, from the
    /// coordinator pod's log).
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
}

pub fn run(a: Args) -> ExitCode {
    if let Err(e) = super::cluster_out::check_files(a.report.as_deref(), a.summary_json.as_deref())
    {
        errln!("error: {e}");
        return ExitCode::Usage;
    }
    on_cluster(&a.cluster, |client, ns| async move {
        let st = match volley_k8s::deploy::ops::status(&client, &ns, &a.run).await {
            Ok(s) => s,
            Err(e) => return fail(&e),
        };
        outln!("run {} in namespace {ns}", st.run);
        for j in &st.jobs {
            outln!(
                "  job {}: {} (active {}, succeeded {}, failed {})",
                j.name,
                j.state,
                j.active,
                j.succeeded,
                j.failed
            );
        }
        for p in &st.pods {
            let code = p
                .exit_code
                .map(|c| format!(", exit {c}"))
                .unwrap_or_default();
            outln!("  pod {} [{}]: {}{code}", p.name, p.component, p.phase);
        }
        match &st.fleet {
            Some(f) => outln!("  {}", status_line(f)),
            None => outln!("  the coordinator does not answer (not started, or finished: see `volley logs {}`)", st.run),
        }
        let wanted = Wanted {
            report: a.report.as_deref(),
            summary_json: a.summary_json.as_deref(),
            json_files: &[],
            junit: None,
        };
        if wanted.is_empty() {
            return ExitCode::Ok;
        }
        match fetch_results(&client, &ns, &st.run, &wanted, None).await {
            Ok(true) => ExitCode::Ok,
            Ok(false) => ExitCode::Failure,
            Err(e) => fail(&e),
        }
    })
}
