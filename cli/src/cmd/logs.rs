//! `volley logs RUN [--runner K]`: the coordinator's logs (with the fleet summary at the
//! end), or runner K's.

use super::deploy::{fail, on_cluster, Cluster};
use volley_plan::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub run: String,
    /// Runner K's logs (0-based segment index) instead of the coordinator's.
    #[arg(long, value_name = "K")]
    pub runner: Option<u32>,
    #[command(flatten)]
    pub cluster: Cluster,
}

pub fn run(a: Args) -> ExitCode {
    on_cluster(&a.cluster, |client, ns| async move {
        match volley_k8s::deploy::ops::logs(&client, &ns, &a.run, a.runner).await {
            Ok(text) => {
                out!("{text}");
                ExitCode::Ok
            }
            Err(e) => fail(&e),
        }
    })
}
