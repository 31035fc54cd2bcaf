//! `volley demo-server [--port 8088]`: the sample shop, until Ctrl-C.

use crate::exit;
use std::net::{Ipv4Addr, SocketAddr};
use volley_demo::DemoConfig;

pub fn run(port: u16, latency: bool) -> u8 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return exit::USAGE;
        }
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    eprintln!("demo shop listening on http://{addr} (Ctrl-C to stop)");
    match runtime.block_on(volley_demo::serve_forever(addr, DemoConfig { latency })) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("error: demo server on {addr}: {e}");
            exit::USAGE
        }
    }
}
