//! `volley delete RUN`: deletes every object of the run (Jobs and their pods first).

use super::deploy::{fail, on_cluster, Cluster};
use volley_plan::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub run: String,
    #[command(flatten)]
    pub cluster: Cluster,
}

pub fn run(a: Args) -> ExitCode {
    on_cluster(&a.cluster, |client, ns| async move {
        match volley_k8s::deploy::ops::delete(&client, &ns, &a.run).await {
            Ok(deleted) => {
                for (kind, name) in &deleted {
                    outln!("deleted {kind} {name}");
                }
                ExitCode::Ok
            }
            Err(e) => fail(&e),
        }
    })
}
