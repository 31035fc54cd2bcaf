//! `volley abort RUN`: reads the run token from the run's Secret and asks the coordinator,
//! through the API server's service proxy, to stop the run (it then ends with 105).

use super::deploy::{fail, on_cluster, Cluster};
use crate::exit;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub run: String,
    #[command(flatten)]
    pub cluster: Cluster,
}

pub fn run(a: Args) -> u8 {
    on_cluster(&a.cluster, |client, ns| async move {
        match volley_k8s::deploy::ops::abort(&client, &ns, &a.run).await {
            Ok(_) => {
                eprintln!("run {} is stopping", a.run);
                exit::OK
            }
            Err(e) => fail(&e),
        }
    })
}
