//! A tiny loopback HTTP server for the engine's tests: fixed routes, request counts per
//! `METHOD /path`, optional latency. Runs on its own runtime thread; stops on drop.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

#[derive(Default)]
struct Seen {
    counts: HashMap<String, u64>,
    order: Vec<String>,
}

type Counts = Arc<Mutex<Seen>>;

pub struct TestServer {
    pub addr: SocketAddr,
    counts: Counts,
    _rt: tokio::runtime::Runtime,
}

impl TestServer {
    /// Routes: `/ok` 200, `/created` 201 (any method), `/missing` 404, `/json` a JSON
    /// document, `/slow` 200 after 300 ms, `/echo` the request's `x-token` header and
    /// body, anything else 404.
    pub fn start() -> TestServer {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let counts: Counts = Arc::default();
        let listener = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let c = Arc::clone(&counts);
        rt.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let c = Arc::clone(&c);
                tokio::spawn(async move {
                    let svc = service_fn(move |req| handle(req, Arc::clone(&c)));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        TestServer {
            addr,
            counts,
            _rt: rt,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests seen for `METHOD /path`.
    pub fn count(&self, key: &str) -> u64 {
        self.counts
            .lock()
            .unwrap()
            .counts
            .get(key)
            .copied()
            .unwrap_or(0)
    }

    /// Every request's `METHOD /path`, in arrival order.
    pub fn order(&self) -> Vec<String> {
        self.counts.lock().unwrap().order.clone()
    }
}

async fn handle(
    req: Request<Incoming>,
    counts: Counts,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let key = format!("{} {}", req.method(), req.uri().path());
    {
        let mut seen = counts.lock().unwrap();
        *seen.counts.entry(key.clone()).or_default() += 1;
        seen.order.push(key);
    }
    let path = req.uri().path().to_string();
    let token = req
        .headers()
        .get("x-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let (status, text): (u16, String) = match path.as_str() {
        "/ok" => (200, "ok".into()),
        "/created" => (201, "{\"id\": 7}".into()),
        "/json" => (
            200,
            r#"{"token": "abc", "n": 5, "items": [{"id": 1}, {"id": 2}]}"#.into(),
        ),
        "/slow" => {
            tokio::time::sleep(Duration::from_millis(300)).await;
            (200, "slow".into())
        }
        "/echo" => (200, format!("{token}|{}", String::from_utf8_lossy(&body))),
        _ => (404, "not found".into()),
    };
    let mut resp = Response::new(Full::new(Bytes::from(text)));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap();
    resp.headers_mut()
        .insert("x-token", "tok-123".parse().unwrap());
    Ok(resp)
}

/// A listener that accepts connections and never answers.
pub struct BlackHole {
    pub addr: SocketAddr,
    _rt: tokio::runtime::Runtime,
}

impl BlackHole {
    pub fn start() -> BlackHole {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        rt.spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                held.push(s);
            }
        });
        BlackHole { addr, _rt: rt }
    }
}
