//! The HTTP client of the engine: one [`VuClient`] per VU, k6 semantics, built for the hot
//! path.
//!
//! # Shape
//!
//! ```text
//! once per run (shared by all threads):  Arc<ClientOptions>, Resolver::new(), TlsConfig::new()?
//! once per VU (on its worker thread):    VuClient::new(opts, resolver, tls)
//! per request:                           client.send(Request::new(Method::GET, url)).await -> Response
//! ```
//!
//! * [`VuClient::send`] never panics and never returns an `Err`: a transport failure is a
//!   [`Response`] with `status == 0` and `error: Some(HttpError { code, .. })` carrying k6's
//!   error code (see [`codes`]). It never outlives the request's timeout (default
//!   [`ClientOptions::timeout`]), which covers DNS, connect, TLS, every redirect hop and the
//!   whole response body; a timeout gives code 1050.
//! * **Threading.** The engine is thread-per-core: each worker is a tokio `current_thread`
//!   runtime (IO and time drivers enabled) running a `tokio::task::LocalSet`, and VUs are
//!   local tasks. A `VuClient` is `!Send`. HTTP/1.1 runs on the VU's own task (no
//!   background task, see `h1`); an HTTP/2 connection's hyper driver is spawned with
//!   `tokio::task::spawn_local`, so **`send` must be called from inside a `LocalSet`**
//!   (tokio panics otherwise). The [`Resolver`] and [`TlsConfig`] are `Send + Sync` and
//!   shared by every thread.
//! * **Connections.** A VU keeps at most one idle connection per (scheme, host, port) and
//!   reuses it across iterations (k6's behaviour) when `reuse_connections` is on; when off,
//!   HTTP/1.1 requests carry `Connection: close` and every request dials anew. A pooled
//!   HTTP/2 connection found closed is replaced silently; an idle HTTP/1.1 connection is not
//!   watched, so one the server closed fails on its next use. A request that fails on a
//!   *reused* connection before a single response byte arrived is retried once on a fresh
//!   connection, whatever its method (as browsers do: the usual cause is the server closing
//!   an idle keep-alive connection just as the request left). A connection that failed,
//!   timed out, or whose response said `Connection: close` (or was delimited by the close)
//!   is never reused.
//! * **DNS.** A new connection asks the runner's [`Resolver`] for its address, by the
//!   options' [`DnsOptions`] (k6's `dns` and `hosts`: TTL, select, family policy, fixed
//!   hosts); a request on a kept-alive connection never does. See `resolver`.
//! * **Protocols.** `http2: false` speaks HTTP/1.1 only. `http2: true` speaks HTTP/2 with
//!   prior knowledge (h2c) on `http://`, and offers `h2, http/1.1` by ALPN on `https://`
//!   (using whichever the server picks).
//! * **Redirects.** 301/302/303/307/308 with a `Location` are followed up to
//!   [`Request::max_redirects`] hops, or the options' `max_redirects` when it is `None`;
//!   301/302/303 turn any method but GET/HEAD into a body-less GET (as Go and k6 do;
//!   [`Hop::as_get`] and [`Response::as_get`] say so) and drop the body's own headers
//!   (`Content-Type`, `Content-Encoding`, .., as browsers do; Go keeps them); 307/308 keep
//!   method and body. `Authorization`, `Proxy-Authorization`, `Cookie` and
//!   `WWW-Authenticate` are dropped when the host or port changes. With
//!   [`ClientOptions::redirect_origins`] set (the engine sets it to the declared targets),
//!   a redirect to any other host and port is not followed: the request fails with code
//!   1111 ([`codes::UNDECLARED_HOST`]) and nothing is sent there. Past the limit (or with
//!   `max_redirects == 0`) the last 3xx response is returned, without error. The
//!   [`Response`] has the final URL and the final hop's timings, and each redirect
//!   response followed in [`Response::redirects`] (so each hop can be counted as a
//!   request, as k6 does); its byte counts cover every hop and retry.
//! * **Headers added** unless the request sets them: `Host` (HTTP/1.1; HTTP/2 sends
//!   `:authority`), `User-Agent` (from the options; none when empty), `Content-Length` (when
//!   there is a body, and `0` for an empty POST/PUT/PATCH), `Authorization: Basic` when the
//!   URL has user info, `Connection: close` on HTTP/1.1 without connection reuse,
//!   `Accept-Encoding: gzip, br, deflate, zstd` with [`ClientOptions::compression`], and
//!   `Cookie` from the VU's [`CookieJar`] and the request's own `cookies` (none when the
//!   request sets `Cookie` itself). Request headers are written as given (names
//!   lower-case), after `Host`.
//! * **Cookies.** Every hop's `Set-Cookie` goes into the VU's jar (made on the first one:
//!   a VU that never gets a cookie has none and pays nothing); each hop sends the cookies
//!   matching its URL. See `cookies`.
//! * **Compression.** With [`ClientOptions::compression`], the final response's kept body
//!   is decoded by its `Content-Encoding` within `max_body` (1701 corrupt, 1702 too large);
//!   [`Response::wire_body`] keeps its size as received. See `encoding`.
//! * **Response headers** are a [`Headers`]: an HTTP/1.1 head is kept as received and
//!   looked up by name (any case) when asked, not turned into a map per response.
//!
//! # Measurements (what exactly is measured)
//!
//! * `blocked`: from the start of the hop until a connection is ready to send, minus
//!   `connecting` and `tls_handshaking`: pool checkout, DNS (cached after the first lookup,
//!   k6 also counts DNS here), waiting for a pooled HTTP/2 connection to be ready, and a
//!   replaced or retried connection. A pooled HTTP/1.1 connection is used at once: 0.
//! * `connecting`: the TCP connect of a new connection (0 when reused).
//! * `tls_handshaking`: the TLS handshake of a new connection (0 when reused or plain).
//! * `sending`: HTTP/1.1: from the start of the write until the whole request (head and
//!   body) has been written to the socket. HTTP/2: from handing the request to hyper to the
//!   last socket write before the response head was parsed (the socket wrapper timestamps
//!   writes; hyper writes from its connection task, so this includes one task switch).
//! * `waiting`: HTTP/1.1: from the request written to the first response byte read (TTFB).
//!   HTTP/2: from that last write to the parsed response head.
//! * `receiving`: from the end of `waiting` to the last body byte.
//! * `duration` = `sending + waiting + receiving` (k6's `http_req_duration`).
//! * On an error the phases measured so far are reported; an attempt cut short (by the
//!   timeout, say) counts the time since its start as `sending` + `waiting`.
//! * `bytes_sent` / `bytes_received`: exact wire bytes on the socket during the request,
//!   counted below TLS (TLS records, HTTP/2 frames; a new connection's TCP-level handshake
//!   bytes such as the TLS handshake and the HTTP/2 preface are included). On HTTP/2 a
//!   connection-level frame (PING, SETTINGS) arriving during a request is counted with it.
//!
//! This module must not know about scripts, metrics or tags: the interpreter turns a
//! [`Response`] into samples.

mod body;
mod client;
mod conn;
mod cookies;
mod encoding;
mod error;
mod h1;
mod headers;
pub mod multipart;
mod proxy;
mod resolver;
mod tls;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};
use url::Url;

pub use body::Body;
pub use client::VuClient;
/// WebSocket sessions tunnel through a proxy as `https://` requests do.
pub(crate) use conn::tunnel;
pub use cookies::{
    response_cookies, valid_name as valid_cookie_name, valid_value as valid_cookie_value, CookieJar,
};
pub use encoding::{gzip, ACCEPT_ENCODING};
pub use error::{codes, HttpError};
pub use headers::{GetAll, Headers};
pub use proxy::{Proxies, Proxy};
pub use resolver::{
    Clock, DnsOptions, Hosts, Lookup, LookupFuture, Policy, Resolver, Select, SystemClock,
    SystemLookup, DEFAULT_TTL, RETRY_AFTER,
};
pub use tls::{TlsConfig, TlsSettings};

/// Per-scenario client options (the `http = {..}` scenario field), shared by its VUs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientOptions {
    /// Default per-request timeout (connect, TLS, redirects and the whole response).
    pub timeout: Duration,
    /// Keep connections alive and reuse them across requests and iterations.
    pub reuse_connections: bool,
    /// HTTP/2: prior knowledge on `http://`, ALPN `h2` on `https://`.
    pub http2: bool,
    /// Accept any server certificate.
    pub insecure_tls: bool,
    /// Redirect hops followed before the 3xx is returned as is.
    pub max_redirects: u32,
    /// `User-Agent` sent unless the request sets one; empty sends none.
    pub user_agent: String,
    /// The longest response body kept (without `discard_body`); longer fails (1060).
    pub max_body: u64,
    /// The (host, port) pairs a redirect may lead to; `None` follows redirects anywhere.
    pub redirect_origins: Option<Arc<[(String, u16)]>>,
    /// How host names are resolved and which address a new connection uses.
    pub dns: DnsOptions,
    /// The proxies requests go through (see `proxy`); `None` goes direct.
    pub proxy: Option<Arc<Proxies>>,
    /// Send `Accept-Encoding: gzip, br, deflate, zstd` (unless the request sets it) and
    /// decode a kept response body by its `Content-Encoding`.
    pub compression: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(60),
            reuse_connections: true,
            http2: false,
            insecure_tls: false,
            max_redirects: 10,
            user_agent: "volley/0.1".to_owned(),
            max_body: 16 * 1024 * 1024,
            redirect_origins: None,
            dns: DnsOptions::default(),
            proxy: None,
            compression: true,
        }
    }
}

/// One request. Build with [`Request::new`] and the builder methods, or fill the fields.
#[derive(Clone, Debug)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// An absolute `http://` or `https://` URL; a fragment is ignored. Shared, so a
    /// request site's constant URL is not copied for every request.
    pub url: Arc<Url>,
    /// Headers in order; repeated names are all sent.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body, in one or more chunks; empty sends none.
    pub body: Body,
    /// Overrides [`ClientOptions::timeout`].
    pub timeout: Option<Duration>,
    /// Overrides [`ClientOptions::max_redirects`] for this request (`redirects: N`).
    pub max_redirects: Option<u32>,
    /// Read and count the body but do not keep it (`Response::body` stays empty).
    pub discard_body: bool,
    /// Cookies of this request only (`cookies: {..}`), sent after the jar's and in place
    /// of the jar's cookies of the same name; kept on a redirect to the same origin only.
    pub cookies: Vec<(String, String)>,
}

impl Request {
    /// A request without headers or body.
    pub fn new(method: Method, url: impl Into<Arc<Url>>) -> Self {
        Request {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Body::default(),
            timeout: None,
            max_redirects: None,
            discard_body: false,
            cookies: Vec::new(),
        }
    }

    /// Add a header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Add a header given as text; an invalid name or value is an error with code 1020.
    pub fn try_header(&mut self, name: &str, value: &str) -> Result<(), HttpError> {
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| HttpError::invalid_url(format_args!("bad header name {name:?}")))?;
        let v = HeaderValue::from_str(value)
            .map_err(|_| HttpError::invalid_url(format_args!("bad value for header {name}")))?;
        self.headers.push((n, v));
        Ok(())
    }

    /// Set the body.
    pub fn body(mut self, body: impl Into<Body>) -> Self {
        self.body = body.into();
        self
    }

    /// Set this request's timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Set how many redirects this request follows, over the options' `max_redirects`.
    pub fn max_redirects(mut self, hops: u32) -> Self {
        self.max_redirects = Some(hops);
        self
    }
}

/// The phases of a request (k6's `http_req_*` trend metrics); see the module docs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timings {
    /// Waiting for a usable connection (pool, DNS, replaced connections).
    pub blocked: Duration,
    /// TCP connect.
    pub connecting: Duration,
    /// TLS handshake.
    pub tls_handshaking: Duration,
    /// Writing the request.
    pub sending: Duration,
    /// From the request written to the response head.
    pub waiting: Duration,
    /// Reading the body.
    pub receiving: Duration,
    /// `sending + waiting + receiving`.
    pub duration: Duration,
}

/// A redirect response that was followed: one hop before the final response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hop {
    /// The 3xx status.
    pub status: u16,
    /// The hop's timings.
    pub timings: Timings,
    /// Wire bytes written for this hop (its retry included).
    pub bytes_sent: u64,
    /// Wire bytes read for this hop (its retry included).
    pub bytes_received: u64,
    /// Sent as a body-less GET: an earlier 301/302/303 turned the request's method (not
    /// GET or HEAD) into one, so this hop's `method` tag is `GET`, as in k6.
    pub as_get: bool,
}

/// The outcome of [`VuClient::send`]: a response, or a transport error with `status == 0`.
#[derive(Clone, Debug)]
pub struct Response {
    /// The status code; 0 on a transport error.
    pub status: u16,
    /// Response headers (empty on error).
    pub headers: Headers,
    /// The whole body (empty on error or with `discard_body`).
    pub body: Bytes,
    /// Timings of the final hop.
    pub timings: Timings,
    /// The transport error, if any.
    pub error: Option<HttpError>,
    /// Wire bytes written, every hop and retry included.
    pub bytes_sent: u64,
    /// Wire bytes read, every hop and retry included.
    pub bytes_received: u64,
    /// `"HTTP/1.1"`, `"HTTP/2"` or `"HTTP/1.0"` (the protocol of the connection tried,
    /// or `""` when none was opened, on error).
    pub proto: &'static str,
    /// The final URL, after redirects.
    pub url: Arc<Url>,
    /// The final hop was sent as a body-less GET (see [`Hop::as_get`]).
    pub as_get: bool,
    /// The redirect responses followed before this one, in order (empty without
    /// redirects; no allocation then).
    pub redirects: Vec<Hop>,
    /// The length of the kept body as it came (before decoding its `Content-Encoding`);
    /// equal to `body.len()` for a body sent without a coding.
    pub wire_body: u64,
}

impl Response {
    /// A failed response (status 0) for `url`, for callers that fail before sending, e.g.
    /// on a header that [`Request::try_header`] rejected.
    pub fn failed(url: impl Into<Arc<Url>>, error: HttpError) -> Self {
        Response {
            status: 0,
            headers: Headers::new(),
            body: Bytes::new(),
            timings: Timings::default(),
            error: Some(error),
            bytes_sent: 0,
            bytes_received: 0,
            proto: "",
            url: url.into(),
            as_get: false,
            redirects: Vec::new(),
            wire_body: 0,
        }
    }

    /// The first value of a header, if present and valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get_str(name)
    }
}
