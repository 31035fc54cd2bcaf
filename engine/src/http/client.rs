//! [`VuClient`]: one VU's HTTP client: its connection pool, the request/response exchange,
//! the retry on a stale pooled connection, redirects, timeouts and timings.
//!
//! The semantics are documented on the parent module. Hot-path notes: HTTP/1.1 goes
//! through `h1` on the VU's own task with buffers reused across requests; the pool is a
//! small `Vec` scanned linearly (a VU talks to few hosts); the `Host` and `User-Agent`
//! values are built once (per connection and per client); the request URL is moved into
//! the response; the dial path is boxed so the per-request future stays small; the timeout
//! timer is one per client, moved to each request's deadline (no timer-wheel insertion per
//! request). This module must not record metrics or interpret scripts.

use std::net::IpAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderValue};
use http::{Method, StatusCode, Uri, Version};
use http_body_util::BodyExt;
use rustls::pki_types::ServerName;
use tokio::time::Sleep;
use url::{Position, Url};

use super::conn::{self, DialTimes, H2Conn, IoStats, ReqBody, Stream, TlsParams};
use super::cookies::{self, CookieJar};
use super::encoding;
use super::error::{codes, HttpError};
use super::h1::{self, H1Conn};
use super::headers;
use super::{ClientOptions, Headers, Hop, Request, Resolver, Response, Timings, TlsConfig};

/// One VU's HTTP client; see the module docs of [`crate::http`]. `!Send`: it lives on its
/// VU's worker thread and must be used inside a `tokio::task::LocalSet`.
pub struct VuClient {
    opts: Arc<ClientOptions>,
    resolver: Arc<Resolver>,
    tls: Arc<rustls::ClientConfig>,
    user_agent: Option<HeaderValue>,
    pool: Vec<Pooled>,
    bufs: h1::Buffers,
    /// The request timeout's timer, kept from one request to the next: moving a pending
    /// timer later is one atomic update, where a new timer per request means a timer-wheel
    /// insertion and removal (under the driver's lock) every time.
    timer: Option<Pin<Box<Sleep>>>,
    /// The VU's cookies; `None` until the first one arrives or is set, so a VU that never
    /// sees a cookie pays nothing per request.
    jar: Option<Box<CookieJar>>,
    /// An exchange is (or was, when its future was dropped) in flight on the pooled
    /// connection marked `in_use`; see [`VuClient::drop_cut`].
    busy: bool,
}

/// What sending on a connection needs of the client, borrowed beside its pool.
struct Ctx<'a> {
    opts: &'a ClientOptions,
    user_agent: Option<&'a HeaderValue>,
    bufs: &'a mut h1::Buffers,
}

/// A connection of either protocol.
enum Conn {
    H1(H1Conn<Stream>),
    H2(H2Conn),
}

impl Conn {
    fn stats(&self) -> &Rc<IoStats> {
        match self {
            Conn::H1(c) => &c.stats,
            Conn::H2(c) => &c.stats,
        }
    }

    /// HTTP/1.1 connections are not polled while idle: a stale one fails on use (and the
    /// request is retried); HTTP/2 knows whether it is still open.
    async fn ready(&mut self) -> bool {
        match self {
            Conn::H1(_) => true,
            Conn::H2(c) => c.ready().await,
        }
    }
}

/// An idle (or, while `in_use`, busy) connection and what identifies its origin. A
/// connection stays in the pool while it carries a request (a move of this struct would
/// be a `memcpy` call: it is larger than the 128 bytes copied inline).
struct Pooled {
    /// A request is in flight on it; still set after the exchange was dropped midway (a
    /// timeout, the end of the test), when the connection's state is unknown.
    in_use: bool,
    https: bool,
    host: Box<str>,
    port: u16,
    host_header: HeaderValue,
    conn: Conn,
    /// Plain HTTP through a proxy: absolute-form requests, with its credentials if any.
    proxied: Option<Option<HeaderValue>>,
}

/// How an HTTP/1.1 request reaches its origin: its `Host` value, and for plain HTTP
/// through a proxy, the proxy's credentials (absolute-form requests).
#[derive(Clone, Copy)]
struct Route<'a> {
    host_header: &'a HeaderValue,
    proxied: Option<&'a Option<HeaderValue>>,
}

/// The origin of a URL.
struct Target<'a> {
    https: bool,
    host: &'a str,
    port: u16,
}

/// The parts of a finished response.
struct Done {
    status: u16,
    headers: Headers,
    body: Bytes,
    /// The head has `Set-Cookie` headers.
    set_cookie: bool,
    /// The head has a `Content-Encoding` header.
    encoded: bool,
}

/// What a request has cost so far, kept outside the timed future so a timeout keeps it.
#[derive(Default)]
struct Acc {
    sent: u64,
    received: u64,
    timings: Timings,
    proto: &'static str,
    live: Option<Live>,
    /// The connection being opened, until it carries its first request: a dial that fails
    /// or times out still counts what it sent and received (a refused TLS handshake's
    /// ClientHello, a server's garbage) and how long its TCP connect took, as k6 does.
    dialing: Option<(Rc<IoStats>, DialTimes)>,
    /// A 301/302/303 turned the request into a body-less GET: the hops from then on
    /// were sent as GET (their `method` tag says so).
    as_get: bool,
}

/// The attempt in flight: its connection's counters and when it started.
struct Live {
    stats: Rc<IoStats>,
    read0: u64,
    written0: u64,
    t0: Instant,
}

impl Acc {
    /// Start an attempt on `conn` at `t0`; a fresh connection's setup bytes count too.
    fn begin(&mut self, conn: &Conn, fresh: bool, t0: Instant) {
        let stats = Rc::clone(conn.stats());
        let (read0, written0) = if fresh {
            (0, 0)
        } else {
            (stats.read.get(), stats.written.get())
        };
        self.proto = match conn {
            Conn::H1(_) => "HTTP/1.1",
            Conn::H2(_) => "HTTP/2",
        };
        self.live = Some(Live {
            stats,
            read0,
            written0,
            t0,
        });
    }

    /// Whether the attempt in flight has received nothing yet.
    fn nothing_received(&self) -> bool {
        self.live
            .as_ref()
            .is_none_or(|l| l.stats.read.get() == l.read0)
    }

    /// End the attempt: add its bytes; when it failed midway, time what there was.
    fn settle(&mut self, finished: bool) {
        self.settle_dial();
        let Some(live) = self.live.take() else {
            return;
        };
        self.sent += live.stats.written.get().saturating_sub(live.written0);
        self.received += live.stats.read.get().saturating_sub(live.read0);
        if !finished {
            // Until the request was written (HTTP/1.1 stamps the end of its write, HTTP/2
            // each write) the time was sending; a request still going out when it failed
            // (a server that does not read a large body) spent all of it sending.
            let now = Instant::now();
            let written = live
                .stats
                .last_write
                .get()
                .filter(|w| *w >= live.t0 && *w <= now)
                .unwrap_or(now);
            self.set_phases(live.t0, written, now, now);
        }
    }

    /// End a dial that never carried a request: add its bytes and its phases.
    fn settle_dial(&mut self) {
        if let Some((stats, times)) = self.dialing.take() {
            self.sent += stats.written.get();
            self.received += stats.read.get();
            self.timings.connecting = times.connecting;
            self.timings.tls_handshaking = times.tls_handshaking;
        }
    }

    fn set_phases(&mut self, t0: Instant, written: Instant, head: Instant, end: Instant) {
        let t = &mut self.timings;
        t.sending = written.saturating_duration_since(t0);
        t.waiting = head.saturating_duration_since(written);
        t.receiving = end.saturating_duration_since(head);
        t.duration = t.sending + t.waiting + t.receiving;
    }
}

/// The last socket write in `[t0, limit]`, or `t0` when there was none.
fn last_write_between(stats: &IoStats, t0: Instant, limit: Instant) -> Instant {
    stats
        .last_write
        .get()
        .filter(|w| *w >= t0 && *w <= limit)
        .unwrap_or(t0)
}

impl VuClient {
    /// A client with no connections yet.
    pub fn new(opts: Arc<ClientOptions>, resolver: Arc<Resolver>, tls: Arc<TlsConfig>) -> Self {
        let tls = Arc::clone(tls.client_config(opts.insecure_tls, opts.http2));
        let user_agent = if opts.user_agent.is_empty() {
            None
        } else {
            HeaderValue::from_str(&opts.user_agent).ok()
        };
        VuClient {
            opts,
            resolver,
            tls,
            user_agent,
            pool: Vec::new(),
            bufs: h1::Buffers::default(),
            timer: None,
            jar: None,
            busy: false,
        }
    }

    /// The TLS configuration of the VU's connections (WebSocket sessions use it too).
    pub fn tls_config(&self) -> Arc<rustls::ClientConfig> {
        Arc::clone(&self.tls)
    }

    /// The scenario's options (WebSocket sessions use its `hosts`, `dns` and proxies).
    pub fn options(&self) -> &Arc<ClientOptions> {
        &self.opts
    }

    /// The runner's DNS cache (WebSocket sessions resolve through it too).
    pub fn resolver(&self) -> &Arc<Resolver> {
        &self.resolver
    }

    /// The VU's cookie jar, made on first use.
    pub fn jar_mut(&mut self) -> &mut CookieJar {
        self.jar.get_or_insert_with(Box::default)
    }

    /// The VU's cookie jar, if it ever held a cookie.
    pub fn jar(&self) -> Option<&CookieJar> {
        self.jar.as_deref()
    }

    /// Forget every cookie (a new iteration, `vu.cookies.clear()`); keeps no jar.
    pub fn clear_cookies(&mut self) {
        self.jar = None;
    }

    /// Send `req`, following redirects; never panics, never outlives the timeout. A
    /// transport failure is a response with `status == 0` and `error` set.
    pub async fn send(&mut self, mut req: Request) -> Response {
        self.drop_cut();
        let limit = req.timeout.unwrap_or(self.opts.timeout);
        let mut acc = Acc::default();
        let mut redirects = Vec::new();
        let deadline = tokio::time::Instant::now() + limit;
        let mut timer = match self.timer.take() {
            Some(mut t) => {
                t.as_mut().reset(deadline);
                t
            }
            None => Box::pin(tokio::time::sleep_until(deadline)),
        };
        // As `tokio::time::timeout`: the request is polled first, then the deadline.
        let result = tokio::select! {
            biased;
            result = self.follow(&mut req, &mut acc, &mut redirects) => result,
            () = &mut timer => Err(HttpError::timeout(limit)),
        };
        self.timer = Some(timer);
        self.drop_cut();
        acc.settle(false);
        let result = result.and_then(|mut done| self.decode(&mut done).map(|wire| (done, wire)));
        let (status, headers, body, wire_body, error) = match result {
            Ok((done, wire)) => (done.status, done.headers, done.body, wire, None),
            Err(e) => (0, Headers::new(), Bytes::new(), 0, Some(e)),
        };
        Response {
            status,
            headers,
            body,
            timings: acc.timings,
            error,
            bytes_sent: acc.sent,
            bytes_received: acc.received,
            proto: acc.proto,
            as_get: acc.as_get,
            url: req.url,
            redirects,
            wire_body,
        }
    }

    /// Close the connection an exchange was cut on (its future dropped by a timeout or
    /// the end of the test): its state is unknown, as the old code dropped it with the
    /// future that owned it.
    fn drop_cut(&mut self) {
        if self.busy {
            self.pool.retain(|p| !p.in_use);
            self.busy = false;
        }
    }

    /// Undo the final response's `Content-Encoding` (compression on, body kept); gives
    /// the body's length as received.
    fn decode(&self, done: &mut Done) -> Result<u64, HttpError> {
        let wire = done.body.len() as u64;
        if done.encoded && self.opts.compression && !done.body.is_empty() {
            if let Some(value) = done.headers.get("content-encoding") {
                let body = std::mem::take(&mut done.body);
                done.body = encoding::decode(value, body, self.opts.max_body)?;
            }
        }
        Ok(wire)
    }

    /// The `Cookie` header of one hop: the jar's cookies matching `req.url` and the
    /// request's own; none when the request sets a `Cookie` header itself.
    fn cookie_header(&self, req: &Request) -> Option<HeaderValue> {
        if self.jar.is_none() && req.cookies.is_empty() {
            return None;
        }
        if req.headers.iter().any(|(n, _)| n == header::COOKIE) {
            return None;
        }
        match &self.jar {
            Some(jar) => jar.header_for(&req.url, &req.cookies),
            None => cookies::header_of(&req.cookies),
        }
    }

    /// Drop every connection (their sockets close now).
    pub fn close(&mut self) {
        self.pool.clear();
    }

    /// How many idle connections the client holds (for tests and diagnostics).
    pub fn idle_connections(&self) -> usize {
        self.pool.len()
    }

    async fn follow(
        &mut self,
        req: &mut Request,
        acc: &mut Acc,
        redirects: &mut Vec<Hop>,
    ) -> Result<Done, HttpError> {
        let mut hops = 0;
        let max = req.max_redirects.unwrap_or(self.opts.max_redirects);
        loop {
            let (sent0, received0) = (acc.sent, acc.received);
            let cookie = self.cookie_header(req);
            let done = self.exchange(req, acc, cookie.as_ref()).await?;
            if done.set_cookie {
                let jar = self.jar.get_or_insert_with(Box::default);
                jar.store_response(&done.headers, &req.url);
            }
            if hops >= max || !is_redirect(done.status) {
                return Ok(done);
            }
            let Some(location) = done.headers.get("location") else {
                return Ok(done);
            };
            let location = headers::as_text(location)
                .ok_or_else(|| HttpError::new(codes::GENERIC, "redirect: Location is not text"))?;
            let next = req.url.join(location).map_err(|e| {
                HttpError::new(codes::GENERIC, format!("redirect to {location:?}: {e}"))
            })?;
            redirects.push(Hop {
                status: done.status,
                timings: acc.timings,
                bytes_sent: acc.sent - sent0,
                bytes_received: acc.received - received0,
                as_get: acc.as_get,
            });
            if let Some(allowed) = &self.opts.redirect_origins {
                if let Err(e) = check_origin(&next, allowed) {
                    // Nothing was sent for this request: no phases to report.
                    acc.timings = Timings::default();
                    return Err(e);
                }
            }
            acc.as_get |= redirect(req, done.status, next);
            hops += 1;
        }
    }

    /// One hop: a connection, the request, the whole response; retried once on a fresh
    /// connection when a reused one fails before any response byte.
    async fn exchange(
        &mut self,
        req: &Request,
        acc: &mut Acc,
        cookie: Option<&HeaderValue>,
    ) -> Result<Done, HttpError> {
        let target = target(&req.url)?;
        let hop_start = Instant::now();
        acc.timings = Timings::default();
        let mut retried = false;
        loop {
            let mut pooled = None;
            if !retried {
                if let Some(i) = self.find(&target) {
                    if self.pool[i].conn.ready().await {
                        pooled = Some(i);
                    } else {
                        self.pool.swap_remove(i);
                    }
                }
            }
            let fresh = pooled.is_none();
            let i = match pooled {
                Some(i) => i,
                None => {
                    // Boxed: the dial future (TLS state included) is large and cold;
                    // inline it would make every request's future large and costly to
                    // move.
                    let entry = Box::pin(self.dial(&req.url, &target, acc)).await?;
                    self.pool.push(entry);
                    self.pool.len() - 1
                }
            };
            let VuClient {
                pool,
                opts,
                user_agent,
                bufs,
                busy,
                ..
            } = self;
            let entry = &mut pool[i];
            // A pooled HTTP/1.1 connection is used at once: no clock read needed.
            let t0 = match entry.conn {
                Conn::H1(_) if !fresh => hop_start,
                _ => Instant::now(),
            };
            let t = &mut acc.timings;
            t.blocked = t0
                .saturating_duration_since(hop_start)
                .saturating_sub(t.connecting + t.tls_handshaking);
            acc.begin(&entry.conn, fresh, t0);
            entry.in_use = true;
            *busy = true;
            let ctx = Ctx {
                opts,
                user_agent: user_agent.as_ref(),
                bufs,
            };
            let result = match &mut entry.conn {
                Conn::H1(c) => {
                    let route = Route {
                        host_header: &entry.host_header,
                        proxied: entry.proxied.as_ref(),
                    };
                    send_h1(ctx, c, route, req, cookie, acc, t0).await
                }
                Conn::H2(c) => send_h2(ctx, c, req, cookie, acc, t0).await,
            };
            entry.in_use = false;
            *busy = false;
            match result {
                Ok((done, reusable)) => {
                    acc.settle(true);
                    if !(reusable && self.opts.reuse_connections) {
                        self.pool.swap_remove(i);
                    }
                    return Ok(done);
                }
                Err(e) => {
                    let retry = !fresh && !retried && acc.nothing_received();
                    acc.settle(false);
                    self.pool.swap_remove(i);
                    if retry {
                        retried = true;
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }

    /// The pooled connection to `t`'s origin, if any.
    fn find(&self, t: &Target<'_>) -> Option<usize> {
        self.pool
            .iter()
            .position(|p| p.port == t.port && p.https == t.https && *p.host == *t.host)
    }

    async fn dial(&self, url: &Url, t: &Target<'_>, acc: &mut Acc) -> Result<Pooled, HttpError> {
        let proxy = self
            .opts
            .proxy
            .as_ref()
            .and_then(|p| p.for_target(t.https, t.host, t.port));
        let authority = &url[Position::BeforeHost..Position::AfterPort];
        let with_port;
        let connect = match url.port() {
            Some(_) => authority,
            None => {
                with_port = format!("{authority}:{}", t.port);
                &with_port
            }
        };
        let (addr, via) = match proxy {
            Some(p) => {
                let addr = self
                    .resolver
                    .resolve(&p.host, p.port, &self.opts.dns)
                    .await
                    .map_err(|e| {
                        HttpError::new(codes::PROXY, format!("proxy {}: {}", p.shown, e.message))
                    })?;
                let connect = t.https.then_some(connect);
                (addr, Some(conn::Via { proxy: p, connect }))
            }
            None => (
                self.resolver
                    .resolve(t.host, t.port, &self.opts.dns)
                    .await?,
                None,
            ),
        };
        let tls = if t.https {
            Some(TlsParams {
                config: &self.tls,
                server_name: server_name(url)?,
            })
        } else {
            None
        };
        // Plain HTTP through a proxy is HTTP/1.1 (absolute form); no h2c.
        let proxied = (!t.https)
            .then(|| proxy.map(|p| p.authorization.clone()))
            .flatten();
        let h2c = !t.https && self.opts.http2 && proxied.is_none();
        let stats = Rc::new(IoStats::default());
        let dialing = acc
            .dialing
            .insert((Rc::clone(&stats), DialTimes::default()));
        let opened = conn::open(addr, via, tls, self.opts.http2, stats, &mut dialing.1).await;
        let times = dialing.1;
        acc.timings.connecting = times.connecting;
        acc.timings.tls_handshaking = times.tls_handshaking;
        // A failure from here on returns with `acc.dialing` set: `send` settles it.
        let opened = opened?;
        let conn = if h2c || opened.alpn_h2 {
            Conn::H2(H2Conn::handshake(opened.stream, opened.stats).await?)
        } else {
            Conn::H1(H1Conn {
                io: opened.stream,
                stats: opened.stats,
            })
        };
        let host_header = HeaderValue::from_str(authority).map_err(HttpError::invalid_url)?;
        // The connection's first request counts its setup bytes (`Acc::begin`, fresh).
        acc.dialing = None;
        Ok(Pooled {
            https: t.https,
            host: t.host.into(),
            port: t.port,
            host_header,
            conn,
            proxied,
            in_use: false,
        })
    }
}

/// One HTTP/1.1 exchange on `conn`: the `Done` response and whether the connection may
/// carry another request.
async fn send_h1(
    ctx: Ctx<'_>,
    conn: &mut H1Conn<Stream>,
    route: Route<'_>,
    req: &Request,
    cookie: Option<&HeaderValue>,
    acc: &mut Acc,
    t0: Instant,
) -> Result<(Done, bool), HttpError> {
    let present = Present::scan(req);
    let authorization = match present.auth || !has_userinfo(&req.url) {
        true => None,
        false => Some(basic_auth(&req.url)?),
    };
    let added = h1::Added {
        host: (!present.host).then(|| route.host_header.as_bytes()),
        user_agent: match present.agent {
            true => None,
            false => ctx.user_agent.map(HeaderValue::as_bytes),
        },
        authorization: authorization.as_ref().map(HeaderValue::as_bytes),
        content_length: !present.length && (!req.body.is_empty() || needs_zero_length(&req.method)),
        close: !ctx.opts.reuse_connections,
        absolute: route.proxied.is_some(),
        proxy_authorization: route
            .proxied
            .and_then(|a| a.as_ref().map(HeaderValue::as_bytes)),
        cookie: cookie.map(HeaderValue::as_bytes),
        accept_encoding: ctx.opts.compression && !present.accept_encoding,
    };
    let reply = conn
        .exchange(ctx.bufs, req, &added, ctx.opts.max_body)
        .await?;
    acc.set_phases(t0, reply.written, reply.first_byte, Instant::now());
    acc.proto = proto(reply.version);
    let done = Done {
        status: reply.status,
        headers: reply.headers,
        body: reply.body,
        set_cookie: reply.set_cookie,
        encoded: reply.encoded,
    };
    Ok((done, reply.reusable))
}

/// One HTTP/2 exchange on `conn` (always reusable: hyper knows when it is not).
async fn send_h2(
    ctx: Ctx<'_>,
    conn: &mut H2Conn,
    req: &Request,
    cookie: Option<&HeaderValue>,
    acc: &mut Acc,
    t0: Instant,
) -> Result<(Done, bool), HttpError> {
    let request = build_h2(&ctx, req, cookie)?;
    let response = conn.send(request).await.map_err(|e| HttpError::h2(&e))?;
    let head = Instant::now();
    let written = last_write_between(&conn.stats, t0, head);
    let (parts, incoming) = response.into_parts();
    let keep = (!req.discard_body).then_some(ctx.opts.max_body);
    let body = read_body(incoming, keep).await?;
    acc.set_phases(t0, written, head, Instant::now());
    acc.proto = proto(parts.version);
    let done = Done {
        status: parts.status.as_u16(),
        set_cookie: parts.headers.contains_key(header::SET_COOKIE),
        encoded: parts.headers.contains_key(header::CONTENT_ENCODING),
        headers: Headers::from(parts.headers),
        body,
    };
    Ok((done, true))
}

/// The hyper request for HTTP/2 (hyper adds `content-length` from the body).
fn build_h2(
    ctx: &Ctx<'_>,
    req: &Request,
    cookie: Option<&HeaderValue>,
) -> Result<http::Request<ReqBody>, HttpError> {
    let mut out = http::Request::new(ReqBody::new(&req.body));
    *out.method_mut() = req.method.clone();
    *out.uri_mut() = h2_uri(&req.url)?;
    *out.version_mut() = Version::HTTP_2;
    let present = Present::scan(req);
    let headers = out.headers_mut();
    headers.reserve(req.headers.len() + 2);
    for (name, value) in &req.headers {
        headers.append(name.clone(), value.clone());
    }
    if !present.agent {
        if let Some(ua) = ctx.user_agent {
            headers.insert(header::USER_AGENT, ua.clone());
        }
    }
    if !present.auth && has_userinfo(&req.url) {
        headers.insert(header::AUTHORIZATION, basic_auth(&req.url)?);
    }
    if let Some(cookie) = cookie {
        headers.insert(header::COOKIE, cookie.clone());
    }
    if ctx.opts.compression && !present.accept_encoding {
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static(encoding::ACCEPT_ENCODING),
        );
    }
    Ok(out)
}

/// Which headers the request sets itself.
#[derive(Default)]
struct Present {
    host: bool,
    agent: bool,
    length: bool,
    auth: bool,
    accept_encoding: bool,
}

impl Present {
    fn scan(req: &Request) -> Self {
        let mut p = Present::default();
        for (name, _) in &req.headers {
            p.host |= name == header::HOST;
            p.agent |= name == header::USER_AGENT;
            p.length |= name == header::CONTENT_LENGTH || name == header::TRANSFER_ENCODING;
            p.auth |= name == header::AUTHORIZATION;
            p.accept_encoding |= name == header::ACCEPT_ENCODING;
        }
        p
    }
}

fn has_userinfo(url: &Url) -> bool {
    !url.username().is_empty() || url.password().is_some()
}

/// Read the whole body, keeping at most `keep` bytes of it (`None`: keep none); a body
/// in one frame is kept as is.
async fn read_body(mut body: hyper::body::Incoming, keep: Option<u64>) -> Result<Bytes, HttpError> {
    let mut first = Bytes::new();
    let mut rest: Option<BytesMut> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| HttpError::h2(&e))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        let Some(max) = keep else { continue };
        if data.is_empty() {
            continue;
        }
        let kept = rest.as_ref().map_or(first.len(), BytesMut::len);
        if (kept + data.len()) as u64 > max {
            return Err(HttpError::body_too_large(max));
        }
        if let Some(buf) = &mut rest {
            buf.extend_from_slice(&data);
        } else if first.is_empty() {
            first = data;
        } else {
            let mut buf = BytesMut::with_capacity((first.len() + data.len()) * 2);
            buf.extend_from_slice(&first);
            buf.extend_from_slice(&data);
            rest = Some(buf);
        }
    }
    Ok(match rest {
        Some(buf) => buf.freeze(),
        None => first,
    })
}

fn target(url: &Url) -> Result<Target<'_>, HttpError> {
    let https = match url.scheme() {
        "http" => false,
        "https" => true,
        other => {
            return Err(HttpError::invalid_url(format_args!(
                "unsupported scheme {other:?}"
            )))
        }
    };
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| HttpError::invalid_url(format_args!("no host in {url}")))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| HttpError::invalid_url(format_args!("no port in {url}")))?;
    Ok(Target { https, host, port })
}

fn server_name(url: &Url) -> Result<ServerName<'static>, HttpError> {
    match url.host() {
        Some(url::Host::Domain(d)) => ServerName::try_from(d.to_owned())
            .map_err(|e| HttpError::invalid_url(format_args!("bad TLS server name {d:?}: {e}"))),
        Some(url::Host::Ipv4(ip)) => Ok(ServerName::from(IpAddr::V4(ip))),
        Some(url::Host::Ipv6(ip)) => Ok(ServerName::from(IpAddr::V6(ip))),
        None => Err(HttpError::invalid_url(format_args!("no host in {url}"))),
    }
}

/// The absolute URI (without user info) that HTTP/2's pseudo-headers are made of.
fn h2_uri(url: &Url) -> Result<Uri, HttpError> {
    let uri = if has_userinfo(url) {
        let authority = &url[Position::BeforeHost..Position::AfterPort];
        let path = &url[Position::BeforePath..Position::AfterQuery];
        Uri::try_from(format!("{}://{authority}{path}", url.scheme()))
    } else {
        Uri::try_from(&url[..Position::AfterQuery])
    };
    uri.map_err(HttpError::invalid_url)
}

fn basic_auth(url: &Url) -> Result<HeaderValue, HttpError> {
    use base64::Engine as _;
    let credentials = format!(
        "{}:{}",
        percent_decode(url.username()),
        percent_decode(url.password().unwrap_or(""))
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
    HeaderValue::try_from(format!("Basic {encoded}")).map_err(HttpError::invalid_url)
}

/// Decode `%XX` escapes of URL user info; malformed escapes are kept as they are.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let v = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(v as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A redirect's target must be one of `allowed` (host and port); the error names only
/// the host and port (a path or query may carry data).
fn check_origin(next: &Url, allowed: &[(String, u16)]) -> Result<(), HttpError> {
    let host = next.host_str().unwrap_or("");
    let port = next.port_or_known_default().unwrap_or(0);
    if allowed
        .iter()
        .any(|(h, p)| *p == port && h.eq_ignore_ascii_case(host))
    {
        return Ok(());
    }
    Err(HttpError::new(
        codes::UNDECLARED_HOST,
        format!("redirect to {host}:{port} not followed: it is not a declared target"),
    ))
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Point `req` at the redirect target, with Go's method rules and its header rules but for
/// the body's headers, dropped with the body; true when it turned the request into a
/// body-less GET.
fn redirect(req: &mut Request, status: u16, next: Url) -> bool {
    let to_get = status != StatusCode::TEMPORARY_REDIRECT.as_u16()
        && status != StatusCode::PERMANENT_REDIRECT.as_u16()
        && req.method != Method::GET
        && req.method != Method::HEAD;
    if to_get {
        // The body goes, and the headers that describe it with it (the Fetch standard's
        // request-body-header names, as browsers do). Go, so k6, keeps them: a GET with a
        // `Content-Type` and no body (docs/language.md, *Redirects*).
        req.method = Method::GET;
        req.body = super::Body::default();
        req.headers.retain(|(n, _)| {
            n != header::CONTENT_TYPE
                && n != header::CONTENT_ENCODING
                && n != header::CONTENT_LANGUAGE
                && n != header::CONTENT_LOCATION
                && n != header::CONTENT_LENGTH
                && n != header::TRANSFER_ENCODING
        });
    }
    let same_origin = next.host_str() == req.url.host_str()
        && next.port_or_known_default() == req.url.port_or_known_default();
    if !same_origin {
        req.headers.retain(|(n, _)| {
            n != header::AUTHORIZATION
                && n != header::COOKIE
                && n != header::PROXY_AUTHORIZATION
                && n != header::WWW_AUTHENTICATE
        });
        req.cookies.clear();
    }
    req.url = Arc::new(next);
    to_get
}

fn needs_zero_length(method: &Method) -> bool {
    *method == Method::POST || *method == Method::PUT || *method == Method::PATCH
}

fn proto(version: Version) -> &'static str {
    match version {
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP/1.1",
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn uris() -> Result<(), Box<dyn std::error::Error>> {
        let url = Url::parse("http://u:p@h:81/a/b?q=1#frag")?;
        assert_eq!(h2_uri(&url)?.to_string(), "http://h:81/a/b?q=1");
        let auth = basic_auth(&url)?;
        assert_eq!(auth.to_str()?, "Basic dTpw");
        Ok(())
    }

    #[test]
    fn redirect_rules() -> Result<(), Box<dyn std::error::Error>> {
        let base = Url::parse("http://a/x")?;
        let mut req = Request::new(Method::POST, base.clone())
            .body("data")
            .header(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"))
            .header(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"))
            .header(header::AUTHORIZATION, HeaderValue::from_static("secret"))
            .header(
                header::HeaderName::from_static("x-custom"),
                HeaderValue::from_static("kept"),
            );
        assert!(
            !redirect(&mut req, 307, base.join("/y")?),
            "307 keeps the method"
        );
        assert_eq!(req.method, Method::POST);
        assert_eq!(req.body.to_bytes(), Bytes::from("data"));
        assert_eq!(req.headers.len(), 4);
        assert!(
            redirect(&mut req, 302, Url::parse("http://b/z")?),
            "302 turns POST to GET"
        );
        assert_eq!(req.method, Method::GET);
        assert!(req.body.is_empty());
        // The body's headers went with it, `Authorization` with the host; the rest stays.
        let names: Vec<&str> = req.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["x-custom"]);
        assert_eq!(req.url.as_str(), "http://b/z");
        Ok(())
    }

    #[test]
    fn bad_targets() {
        for bad in ["ftp://h/", "file:///etc/passwd", "data:text/plain,x"] {
            let Ok(url) = Url::parse(bad) else { continue };
            assert!(matches!(target(&url), Err(e) if e.code == codes::INVALID_URL));
        }
    }
}
