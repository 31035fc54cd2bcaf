//! The embedded demo shop: the small HTTP service that Volley's examples, the README's
//! `volley run examples/quickstart.load --demo` and the tests load. It serves HTTP/1.1 with
//! keep-alive and HTTP/2 with prior knowledge (h2c) on the same port, answers in JSON,
//! and is fast enough to take tens of thousands of requests per second: no lock on the hot
//! path, counters are atomics, simulated latency is a timer, never a blocked thread.
//! It must not reach outside its own listener (no outbound traffic, no files).
//!
//! # Endpoints
//!
//! | Request | Answer |
//! |---|---|
//! | `POST /api/login` `{"email": str, "password": str}` | 200 `{"token": "tok-<hex>", "user": email}`; 400 on invalid JSON, a missing or non-string field or an empty email; 401 on an empty password |
//! | `GET /api/products?page=N&limit=M` | 200 `{"page": N, "limit": M, "total": 1000, "items": [{"id", "name", "price"}…]}`; `page` from 1 (default 1), `limit` default 20, above 100 served as 100; 0 or a non-number gives 400; a page past the end has no items |
//! | `GET /api/catalog?page=N&per_page=M` | 200 `{"items": [..], "page": N, "next_page": N+1 or null}` over the same products (`per_page` as `limit` above) |
//! | `GET /api/products/{id}` | 200 `{"id", "name", "price"}` for ids `1..=1000`, 404 otherwise |
//! | `POST /api/cart` `{"product_id": int, "qty": int}` | 201 `{"cart_id": N, "items": qty}`; 400 on a bad body (both ≥ 1), 404 for an unknown product |
//! | `POST /api/checkout` (empty or any JSON) | 200 `{"order_id": N, "status": "paid"}`; 400 on invalid JSON |
//! | `POST /api/orders` (empty or any JSON) | 201 `{"id": N}`, N counting from 1 since the last reset; 400 on invalid JSON |
//! | `GET /api/orders` | 200 `{"count": N}`: orders created since the last reset |
//! | `POST /api/admin/reset` | 204, header `x-token: admin-<hex>`; resets the order counter |
//! | `POST /api/admin/report` | 200 `{"orders": N}` |
//! | `GET /api/admin/stats` | 200 the [`Stats`] JSON: `{"requests": {"POST /api/login": N, …}}` |
//! | `GET /health` | 200 `ok` (`text/plain`) |
//! | `POST /api/session` `{"email", "password"}` | 200 `{"user": email}` and a signed `session` cookie; 400/401 as login |
//! | `GET /api/account` | 200 `{"user": email}` with a valid `session` cookie, 401 without |
//! | `DELETE /api/session` | 204, expires the `session` cookie |
//! | `POST /api/signed` (any body, header `x-signature: <hex HMAC-SHA256 of the body under` [`SIGNING_KEY`]`>`) | 200 `{"verified": true, "bytes": N, "sha256": "<hex of the body>"}`; 401 when the header is missing, not hex or wrong |
//! | `GET /html/feedback` | 200 an HTML form whose hidden `csrf` input holds the session's token; `set-cookie: sid=…` when the request has no `sid` cookie |
//! | `POST /html/feedback` (form-encoded `csrf=…`) | 200 HTML with the `sid` cookie's token; 403 without a session or with another token |
//! | `GET /ws/echo` (WebSocket) | every text or binary message sent back as it came; the first subprotocol offered is accepted |
//! | `GET /ws/ticker?interval_ms=N` (WebSocket) | a text message `{"symbol", "price", "seq"}` every N ms (default 100, 10..=10000); any message in is echoed |
//! | gRPC `shop.Catalog/GetProduct` (`content-type: application/grpc`, h2c) | the product, `NOT_FOUND` outside `1..=1000` (see `grpc`) |
//! | anything else | 404 `{"error": …}`; a known path with the wrong method: 405 with `allow` |
//!
//! Bodies above 64 KiB get 413. Every JSON answer has `content-type: application/json`.
//! The product list is compressed (`br` or `gzip`) when the request's `Accept-Encoding`
//! asks for it.
//!
//! With [`DemoConfig::latency`] on (the default) each endpoint waits a pseudo-random
//! service time before answering: product list and catalog 2–6 ms, product (HTTP or gRPC) 1–3 ms, login and session 5–12 ms, account and logout 1–3 ms,
//! cart 3–8 ms, checkout 8–20 ms, orders 3–8 ms, admin reset/report 1–2 ms, signed and feedback 1–3 ms; stats and
//! health answer at once. Without latency every endpoint answers at once.

mod catalog;
mod endpoint;
mod feedback;
mod grpc;
mod server;
mod shop;
mod upload;
mod ws;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The key `POST /api/signed` checks signatures with: a documented demo value, not a
/// secret (docs/demo.md; examples/signed.load reads it with `secret` like a real key).
pub const SIGNING_KEY: &str = "volley-demo-signing-key";

/// How the demo shop behaves.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    /// Realistic small per-endpoint delays (see the crate docs). Default: on.
    pub latency: bool,
    /// Extra latency added to every endpoint's answer, whether `latency` is on or not
    /// (`volley run --demo --demo-latency 20ms`: a slower build, for regression gates).
    pub extra_latency: std::time::Duration,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            latency: true,
            extra_latency: std::time::Duration::ZERO,
        }
    }
}

/// Requests served per endpoint, keyed `"METHOD /path"` (`"GET /api/products/{id}"` for the
/// product page). Every endpoint is present, zeros included; requests that matched no
/// endpoint (404, 405) are not counted.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Stats {
    pub requests: BTreeMap<String, u64>,
}

/// A running demo shop. Dropping it stops it too, without waiting; [`DemoServer::shutdown`]
/// waits until the connections are closed.
pub struct DemoServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    shop: Arc<shop::Shop>,
}

impl DemoServer {
    /// Binds `addr` (e.g. `127.0.0.1:0`) and serves on the current tokio runtime
    /// (multi-thread or current-thread).
    pub async fn start(addr: SocketAddr, config: DemoConfig) -> std::io::Result<DemoServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let mut shop = shop::Shop::new(config.latency);
        shop.extra_latency = config.extra_latency;
        let shop = Arc::new(shop);
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(server::accept_loop(listener, shop.clone(), stopped));
        Ok(DemoServer {
            addr,
            stop,
            task: Some(task),
            shop,
        })
    }

    /// The bound address (with the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL, e.g. `http://127.0.0.1:8088`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A snapshot of the per-endpoint request counts.
    pub fn stats(&self) -> Stats {
        Stats {
            requests: self.shop.counters.snapshot(),
        }
    }

    /// Stops accepting, lets in-flight requests finish (about a second at most), closes
    /// idle keep-alive connections at once and returns when all are gone.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// Serves on `addr` until ctrl-c, then shuts down; used by `volley demo-server`.
pub async fn serve_forever(addr: SocketAddr, config: DemoConfig) -> std::io::Result<()> {
    let server = DemoServer::start(addr, config).await?;
    let signal = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    signal
}
