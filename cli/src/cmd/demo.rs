//! `volley demo-server [--port 8088]`: the sample shop (its API: docs/demo.md), until Ctrl-C.
//! It binds first and announces only once it listens; a port it cannot bind exits with
//! [`ExitCode::CannotListen`].

use std::net::{Ipv4Addr, SocketAddr};
use volley_demo::{DemoConfig, DemoServer};
use volley_plan::ExitCode;

pub fn run(port: u16, latency: bool) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            errln!("error: cannot start the runtime: {e}");
            return ExitCode::Usage;
        }
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    runtime.block_on(async {
        let server = match DemoServer::start(
            addr,
            DemoConfig {
                latency,
                ..DemoConfig::default()
            },
        )
        .await
        {
            Ok(s) => s,
            Err(e) => {
                errln!("error: {}", cannot_listen(addr, &e));
                return ExitCode::CannotListen;
            }
        };
        errln!(
            "demo shop listening on {} (endpoints: docs/demo.md; Ctrl-C to stop)",
            server.url()
        );
        let signal = tokio::signal::ctrl_c().await;
        server.shutdown().await;
        match signal {
            Ok(()) => ExitCode::Ok,
            Err(e) => {
                errln!("error: demo shop on {addr}: cannot wait for Ctrl-C: {e}");
                ExitCode::CannotListen
            }
        }
    })
}

/// Why the shop could not listen, in words (a taken port says so and how to pick another).
pub fn cannot_listen(addr: SocketAddr, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::AddrInUse {
        format!(
            "cannot listen on {addr}: port {} is already in use (another demo-server?); choose another with --port",
            addr.port()
        )
    } else {
        format!("cannot listen on {addr}: {e}")
    }
}
