//! `volley status RUN`: the run's Jobs, pods and, while the coordinator answers, its
//! progress line.

use super::deploy::{fail, on_cluster, status_line, Cluster};
use volley_plan::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The run id `volley deploy` printed (`checkout-1a2b3c4d`).
    pub run: String,
    #[command(flatten)]
    pub cluster: Cluster,
}

pub fn run(a: Args) -> ExitCode {
    on_cluster(&a.cluster, |client, ns| async move {
        let st = match volley_k8s::deploy::ops::status(&client, &ns, &a.run).await {
            Ok(s) => s,
            Err(e) => return fail(&e),
        };
        println!("run {} in namespace {ns}", st.run);
        for j in &st.jobs {
            println!(
                "  job {}: {} (active {}, succeeded {}, failed {})",
                j.name, j.state, j.active, j.succeeded, j.failed
            );
        }
        for p in &st.pods {
            let code = p
                .exit_code
                .map(|c| format!(", exit {c}"))
                .unwrap_or_default();
            println!("  pod {} [{}]: {}{code}", p.name, p.component, p.phase);
        }
        match &st.fleet {
            Some(f) => println!("  {}", status_line(f)),
            None => println!("  the coordinator does not answer (not started, or finished: see `volley logs {}`)", st.run),
        }
        ExitCode::Ok
    })
}
