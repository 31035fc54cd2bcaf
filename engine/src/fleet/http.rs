//! The fleet's HTTP plumbing on hyper: a one-shot HTTP/1.1 client call (a fresh
//! connection per call: runners talk to the coordinator about once a second, so pooling
//! would buy nothing and a dead connection can never wedge a runner) and an HTTP/1.1
//! server loop handing whole-body requests to a handler. Every call is bounded by a
//! timeout. The server is exposed to the cluster, so it bounds what a stranger can cost
//! it (see docs/protocol.md, "Exposure and bounds"): the run token of a `/v1/` request
//! is checked before its body is read (401), bodies are capped by path (413), at most
//! [`MAX_CONNECTIONS`] connections are served at once (more wait in the listen backlog),
//! a request head must arrive within [`HEADER_DEADLINE`] and a connection lives at most
//! [`CONNECTION_LIFETIME`]. This module must not know the protocol's messages.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

/// The largest response body a call accepts (a data slice can be large).
pub const MAX_BODY: usize = 256 * 1024 * 1024;
/// The largest request body of `POST /v1/push` (a runner's metrics since its last push).
pub const MAX_PUSH_BODY: usize = 128 * 1024 * 1024;
/// The largest request body of any other `/v1/` call (join, ready, abort).
pub const MAX_V1_BODY: usize = 1024 * 1024;
/// The largest request body anywhere else (the read-only endpoints take none).
pub const MAX_OTHER_BODY: usize = 64 * 1024;
/// Connections served at once; more wait in the listen backlog until one closes.
pub const MAX_CONNECTIONS: usize = 512;
/// A request head (line and headers) must be read within this.
pub const HEADER_DEADLINE: Duration = Duration::from_secs(10);
/// A connection is closed after this, whatever it is doing (a control long poll
/// answers within 5 s, a push of the largest body takes seconds).
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(300);

/// The request body limit for `path` (see the constants).
pub fn body_limit(path: &str) -> usize {
    match path {
        "/v1/push" => MAX_PUSH_BODY,
        p if p.starts_with("/v1/") => MAX_V1_BODY,
        _ => MAX_OTHER_BODY,
    }
}

/// Whether a request carries `token` (`Authorization: Bearer …` or `X-Volley-Token`),
/// compared in time independent of where it differs.
pub fn token_ok(authorization: Option<&str>, volley_token: Option<&str>, token: &str) -> bool {
    let bearer = authorization.and_then(|h| h.strip_prefix("Bearer "));
    let Some(given) = bearer.or(volley_token) else {
        return false;
    };
    let (a, b) = (given.as_bytes(), token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An answer: status and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

/// A failed call: nobody listens at the address (`refused`), or anything else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallError {
    pub refused: bool,
    pub message: String,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn other(message: String) -> CallError {
    CallError {
        refused: false,
        message,
    }
}

/// `METHOD base+path` with an optional bearer token and JSON body, within `timeout`
/// (connect included). `Err` is a transport failure, never an HTTP status.
pub async fn call(
    base: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
    timeout: Duration,
) -> Result<Reply, CallError> {
    match tokio::time::timeout(timeout, call_inner(base, method, path, token, body)).await {
        Ok(r) => r,
        Err(_) => Err(other(format!("{base}{path}: no answer within {timeout:?}"))),
    }
}

async fn call_inner(
    base: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
) -> Result<Reply, CallError> {
    let url =
        url::Url::parse(base).map_err(|e| other(format!("bad coordinator URL {base}: {e}")))?;
    let host = url
        .host_str()
        .ok_or_else(|| other(format!("coordinator URL {base} has no host")))?
        .to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    let stream = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| CallError {
            refused: e.kind() == std::io::ErrorKind::ConnectionRefused,
            message: format!("cannot connect to {host}:{port}: {e}"),
        })?;
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| other(format!("{host}:{port}: {e}")))?;
    let driver = tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, format!("{host}:{port}"))
        .header(hyper::header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = req
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| other(e.to_string()))?;
    let result = async {
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| other(e.to_string()))?;
        let status = resp.status().as_u16();
        let body = Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| other(e.to_string()))?
            .to_bytes();
        Ok(Reply { status, body })
    }
    .await;
    driver.abort();
    result
}

/// A request as the handler sees it.
pub struct ServerRequest {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    /// `X-Volley-Token`: the run token where `Authorization` cannot carry it (the
    /// Kubernetes API server's service proxy consumes that header).
    pub volley_token: Option<String>,
    pub body: Bytes,
}

pub type Handler =
    Arc<dyn Fn(ServerRequest) -> Pin<Box<dyn Future<Output = Reply> + Send>> + Send + Sync>;

/// Serves `handler` on `listener` until `stop` turns true. Each connection is HTTP/1.1
/// with keep-alive, within the bounds of the module docs. With a `token`, a `/v1/`
/// request without it is answered 401 before its body is read.
pub async fn serve(
    listener: TcpListener,
    handler: Handler,
    mut stop: watch::Receiver<bool>,
    token: Option<Arc<str>>,
) {
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_DEADLINE);
    let builder = Arc::new(builder.http1_only());
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            p = Arc::clone(&slots).acquire_owned() => p,
        };
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            a = listener.accept() => a,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (builder, handler, token) = (Arc::clone(&builder), Arc::clone(&handler), token.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let (handler, token) = (Arc::clone(&handler), token.clone());
                async move {
                    Ok::<_, std::convert::Infallible>(handle(req, handler, token.as_deref()).await)
                }
            });
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_LIFETIME, conn).await;
            drop(permit);
        });
    }
}

async fn handle(
    req: Request<Incoming>,
    handler: Handler,
    token: Option<&str>,
) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let authorization = header("authorization");
    let volley_token = header("x-volley-token");
    if let (Some(token), true) = (token, path.starts_with("/v1/")) {
        if !token_ok(authorization.as_deref(), volley_token.as_deref(), token) {
            return respond(Reply {
                status: 401,
                body: Bytes::from_static(
                    b"{\"error\":\"a valid run token is required (Authorization: Bearer ... or X-Volley-Token)\"}",
                ),
            });
        }
    }
    let limit = body_limit(&path);
    let declared = header("content-length").and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit);
    }
    let body = match Limited::new(req.into_body(), limit).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return too_large(limit),
    };
    let reply = handler(ServerRequest {
        method,
        path,
        query,
        authorization,
        volley_token,
        body,
    })
    .await;
    respond(reply)
}

fn too_large(limit: usize) -> Response<Full<Bytes>> {
    respond(Reply {
        status: 413,
        body: Bytes::from(format!(
            "{{\"error\":\"body too large (over {limit} bytes) or cut off\"}}"
        )),
    })
}

fn respond(reply: Reply) -> Response<Full<Bytes>> {
    let content_type = if reply.body.first() == Some(&b'{') || reply.body.first() == Some(&b'[') {
        "application/json"
    } else if reply.body.starts_with(b"<!doctype html") || reply.body.starts_with(b"<!DOCTYPE html")
    {
        "text/html; charset=utf-8"
    } else if reply.body.starts_with(&volley_plan::pack::MAGIC[..7]) {
        // A runner's data slice (`GET /v1/slice`).
        "application/octet-stream"
    } else {
        "text/plain; version=0.0.4; charset=utf-8"
    };
    Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(hyper::header::CONTENT_TYPE, content_type)
        .body(Full::new(reply.body))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// Binds a listener, resolving `addr` first.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// The value of `key` in a query string (`a=1&b=2`), undecoded.
pub fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params() {
        assert_eq!(query_param("index=3&after=7", "after"), Some("7"));
        assert_eq!(query_param("index=3", "after"), None);
        assert_eq!(query_param("", "x"), None);
    }

    #[tokio::test]
    async fn a_call_round_trips_and_a_dead_port_is_an_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = watch::channel(false);
        let handler: Handler = Arc::new(|req: ServerRequest| {
            Box::pin(async move {
                let auth = req.authorization.unwrap_or_default();
                Reply {
                    status: 200,
                    body: Bytes::from(format!(
                        "{} {} {auth} {}",
                        req.method,
                        req.path,
                        req.body.len()
                    )),
                }
            })
        });
        let server = tokio::spawn(serve(listener, handler, rx, None));
        let base = format!("http://{addr}");
        let r = call(
            &base,
            Method::POST,
            "/v1/x?y=1",
            Some("tok"),
            Some(b"abc".to_vec()),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(&r.body[..], b"POST /v1/x Bearer tok 3");
        let _ = tx.send(true);
        let _ = server.await;
        let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead_addr = dead.local_addr().unwrap();
        drop(dead);
        let err = call(
            &format!("http://{dead_addr}"),
            Method::GET,
            "/",
            None,
            None,
            Duration::from_secs(5),
        )
        .await;
        assert!(err.is_err_and(|e| e.refused));
    }

    /// Sends a raw request head and returns the status line, without sending a body.
    async fn head_only(addr: SocketAddr, head: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("answered without the body")
            .unwrap();
        String::from_utf8_lossy(&buf[..n])
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    }

    #[tokio::test]
    async fn the_token_is_checked_before_the_body_and_bodies_are_bounded() {
        // Regression (issue 14): a 200 MB POST was read whole before the token check.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = watch::channel(false);
        let handler: Handler = Arc::new(|req: ServerRequest| {
            Box::pin(async move {
                Reply {
                    status: 200,
                    body: Bytes::from(req.body.len().to_string()),
                }
            })
        });
        let server = tokio::spawn(serve(listener, handler, rx, Some(Arc::from("tok"))));
        let huge = "POST /v1/push HTTP/1.1\r\nHost: x\r\nContent-Length: 200000000\r\n";
        let no_token = head_only(addr, &format!("{huge}\r\n")).await;
        assert!(no_token.contains(" 401 "), "{no_token}");
        let too_big = head_only(addr, &format!("{huge}Authorization: Bearer tok\r\n\r\n")).await;
        assert!(too_big.contains(" 413 "), "{too_big}");
        let join = "POST /v1/join HTTP/1.1\r\nHost: x\r\nX-Volley-Token: tok\r\n\
                    Content-Length: 2000000\r\n\r\n";
        assert!(head_only(addr, join).await.contains(" 413 "));
        let other = "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";
        assert!(head_only(addr, other).await.contains(" 413 "));
        assert_eq!(body_limit("/v1/push"), 128 << 20);
        let _ = tx.send(true);
        let _ = server.await;
    }
}
