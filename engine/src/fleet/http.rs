//! The fleet's HTTP plumbing on hyper: a one-shot HTTP/1.1 client call (a fresh
//! connection per call: runners talk to the coordinator about once a second, so pooling
//! would buy nothing and a dead connection can never wedge a runner) and an HTTP/1.1
//! server loop handing whole-body requests to a handler. Every call is bounded by a
//! timeout. This module must not know the protocol's messages.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The largest request or response body accepted (a data slice can be large).
pub const MAX_BODY: usize = 256 * 1024 * 1024;

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
/// with keep-alive; a body over [`MAX_BODY`] is answered 413.
pub async fn serve(listener: TcpListener, handler: Handler, mut stop: watch::Receiver<bool>) {
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder.http1().keep_alive(true);
    let builder = Arc::new(builder.http1_only());
    loop {
        let accepted = tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            a = listener.accept() => a,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (builder, handler) = (Arc::clone(&builder), Arc::clone(&handler));
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let handler = Arc::clone(&handler);
                async move { Ok::<_, std::convert::Infallible>(handle(req, handler).await) }
            });
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(req: Request<Incoming>, handler: Handler) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let authorization = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let volley_token = req
        .headers()
        .get("x-volley-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return respond(Reply {
                status: 413,
                body: Bytes::from_static(b"{\"error\":\"body too large or cut off\"}"),
            })
        }
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

fn respond(reply: Reply) -> Response<Full<Bytes>> {
    let content_type = if reply.body.first() == Some(&b'{') || reply.body.first() == Some(&b'[') {
        "application/json"
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
        let server = tokio::spawn(serve(listener, handler, rx));
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
}
