//! `volley abort RUN`: reads the run token from the run's Secret and asks the coordinator,
//! through the API server's service proxy, to stop the run (it then ends with 105).

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
        match volley_k8s::deploy::ops::abort(&client, &ns, &a.run).await {
            Ok(_) => {
                errln!("run {} is stopping", a.run);
                ExitCode::Ok
            }
            Err(e) => fail(&e),
        }
    })
}
