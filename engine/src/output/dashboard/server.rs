//! The dashboard's own server for `volley run --dashboard[=ADDR]`: the fleet's bounded
//! HTTP/1.1 loop ([`crate::fleet::http::serve`]) on a thread and runtime of its own, so
//! the run's runtime never waits on a browser. It serves the page at `/` and
//! `/dashboard` and the data at `/dashboard/data`; it has no control endpoint at all.

use super::Dashboard;
use crate::fleet::http::{self, Handler, Reply, ServerRequest};
use bytes::Bytes;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;

/// A running dashboard server; stopped when dropped.
pub struct DashboardServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DashboardServer {
    /// Binds `addr` (port 0 picks one) and serves `dashboard` until dropped.
    pub fn start(addr: SocketAddr, dashboard: Dashboard) -> std::io::Result<DashboardServer> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = watch::channel(false);
        let handler: Handler = Arc::new(move |req: ServerRequest| {
            let d = dashboard.clone();
            Box::pin(async move {
                d.route(&req.method, &req.path, &req.query, true, Vec::new)
                    .unwrap_or_else(|| Reply {
                        status: 404,
                        body: Bytes::from(
                            serde_json::to_vec(&serde_json::json!({
                                "error": format!("no such endpoint: {}; the dashboard is at /", req.path)
                            }))
                            .unwrap_or_default(),
                        ),
                    })
            })
        });
        let thread = std::thread::Builder::new()
            .name("volley-dashboard".into())
            .spawn(move || {
                rt.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => http::serve(l, handler, stopped, None).await,
                        Err(e) => tracing::error!("the dashboard cannot serve: {e}"),
                    }
                });
            })?;
        Ok(DashboardServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

impl Drop for DashboardServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
