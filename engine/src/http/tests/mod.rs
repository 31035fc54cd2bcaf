//! Tests of the HTTP client against servers the tests start on 127.0.0.1:0.
//!
//! Every test runs in a `LocalSet` on a `current_thread` runtime (the engine's shape) and is
//! bounded by [`run`]'s timeout. The servers here are private to these tests: a hyper
//! server (HTTP/1.1 and h2c, optionally behind rustls) with a few routes, and raw TCP
//! servers that misbehave. They never reach anything but loopback.

mod cookies;
mod dns;
mod errors;
mod h1;
mod plain;
mod tls;

use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::task::AbortHandle;
use url::Url;

use super::conn::LocalExec;
use super::{ClientOptions, Resolver, TlsConfig, VuClient};

/// Run a test future on the engine's runtime shape, failing after 20 s.
pub(super) fn run<F: Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        tokio::time::timeout(Duration::from_secs(20), f)
            .await
            .expect("test timed out")
    })
}

/// A client with fresh shared state and the given options.
pub(super) fn client(opts: ClientOptions) -> VuClient {
    VuClient::new(
        Arc::new(opts),
        Resolver::new(),
        TlsConfig::new().expect("tls config"),
    )
}

pub(super) fn url(s: &str) -> Url {
    Url::parse(s).expect("test url")
}

/// A background server; dropping it stops accepting.
pub(super) struct Server {
    pub(super) addr: SocketAddr,
    pub(super) accepts: Rc<Cell<usize>>,
    task: AbortHandle,
}

impl Server {
    pub(super) fn url(&self, scheme: &str, path: &str) -> Url {
        url(&format!("{scheme}://{}{path}", self.addr))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Accept connections and hand each to `conn` as a local task.
pub(super) async fn listen<F, Fut>(conn: F) -> Server
where
    F: Fn(tokio::net::TcpStream) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listen_on(listener, conn)
}

/// [`listen`] on a bound listener.
pub(super) fn listen_on<F, Fut>(listener: TcpListener, conn: F) -> Server
where
    F: Fn(tokio::net::TcpStream) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let addr = listener.local_addr().expect("local addr");
    let accepts = Rc::new(Cell::new(0));
    let counter = Rc::clone(&accepts);
    let task = tokio::task::spawn_local(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counter.set(counter.get() + 1);
            tokio::task::spawn_local(conn(tcp));
        }
    });
    Server {
        addr,
        accepts,
        task: task.abort_handle(),
    }
}

/// The hyper test server (HTTP/1.1 or h2c by preface; TLS with ALPN when `tls` is given).
pub(super) async fn serve(tls: Option<Arc<rustls::ServerConfig>>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    serve_on(listener, tls)
}

/// [`serve`] on a bound listener.
pub(super) fn serve_on(listener: TcpListener, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
    listen_on(listener, move |tcp| {
        let tls = tls.clone();
        async move {
            let builder = auto::Builder::new(LocalExec);
            let svc = service_fn(handle);
            match tls {
                None => {
                    let _ = builder.serve_connection(TokioIo::new(tcp), svc).await;
                }
                Some(config) => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(config);
                    if let Ok(stream) = acceptor.accept(tcp).await {
                        let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
                    }
                }
            }
        }
    })
}

type Resp = http::Response<Full<Bytes>>;

fn reply(status: u16, body: impl Into<Bytes>) -> Resp {
    let mut resp = http::Response::new(Full::new(body.into()));
    *resp.status_mut() = http::StatusCode::from_u16(status).expect("status");
    resp
}

fn redirect_to(status: u16, location: &str) -> Resp {
    let mut resp = reply(status, "");
    if let Ok(v) = http::HeaderValue::from_str(location) {
        resp.headers_mut().insert(http::header::LOCATION, v);
    }
    resp
}

/// Routes: `/hello`, `/echo` (body back; method, headers and version in `x-*` headers),
/// `/big` (256 KiB), `/close` (`Connection: close`), `/redirect/N` (302 chain to 0),
/// `/see-other` (303 to /echo), `/temporary` (307 to /echo).
async fn handle(req: http::Request<Incoming>) -> Result<Resp, Infallible> {
    let path = req.uri().path().to_owned();
    let mut echoed = Vec::new();
    for name in [
        "host",
        "user-agent",
        "content-length",
        "connection",
        "authorization",
        "cookie",
        "accept-encoding",
    ] {
        if let Some(v) = req.headers().get(name) {
            echoed.push((format!("x-{name}"), v.clone()));
        }
    }
    let method = req.method().to_string();
    let version = format!("{:?}", req.version());
    let authority = req.uri().authority().map(|a| a.to_string());
    let body = req
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let mut resp = match path.as_str() {
        "/hello" => reply(200, "hello"),
        "/echo" => reply(200, body),
        "/big" => reply(200, vec![b'x'; 256 * 1024]),
        "/close" => {
            let mut r = reply(200, "bye");
            r.headers_mut().insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
            r
        }
        "/login" => {
            let mut r = redirect_to(302, "/echo");
            for c in [
                "sid=s1; Path=/",
                "scoped=x; Path=/echo",
                "gone=1; Max-Age=0",
            ] {
                r.headers_mut()
                    .append(http::header::SET_COOKIE, http::HeaderValue::from_static(c));
            }
            r
        }
        "/logout" => {
            let mut r = reply(200, "bye");
            r.headers_mut().insert(
                http::header::SET_COOKIE,
                http::HeaderValue::from_static("sid=; Max-Age=0; Path=/"),
            );
            r
        }
        "/gzip" => {
            let mut r = reply(200, crate::http::gzip(&vec![b'z'; 100_000]));
            r.headers_mut().insert(
                http::header::CONTENT_ENCODING,
                http::HeaderValue::from_static("gzip"),
            );
            r
        }
        "/see-other" => redirect_to(303, "/echo"),
        "/temporary" => redirect_to(307, "/echo"),
        p => match p
            .strip_prefix("/redirect/")
            .and_then(|n| n.parse::<u32>().ok())
        {
            Some(0) => reply(200, "done"),
            Some(n) => redirect_to(302, &format!("/redirect/{}", n - 1)),
            None => reply(404, "not found"),
        },
    };
    let headers = resp.headers_mut();
    headers.insert("x-test", http::HeaderValue::from_static("yes"));
    for (name, value) in echoed {
        if let Ok(n) = http::HeaderName::from_bytes(name.as_bytes()) {
            headers.insert(n, value);
        }
    }
    for (name, value) in [("x-method", method), ("x-version", version)] {
        if let Ok(v) = http::HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
    if let Some(a) = authority.and_then(|a| http::HeaderValue::from_str(&a).ok()) {
        headers.insert("x-authority", a);
    }
    Ok(resp)
}
