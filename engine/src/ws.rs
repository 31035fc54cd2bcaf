//! WebSocket sessions (`ws.connect(..)` and a session's methods): the connection, its
//! opening handshake and every frame are tokio-tungstenite's; this module dials as a
//! request would (the scenario's `hosts` and `dns` policy through the runner's resolver,
//! its proxy with a `CONNECT` tunnel, then TLS with the VU's rustls configuration for
//! `wss://`), hands the stream to tungstenite with the handshake request (headers, the
//! jar's cookies, subprotocols), and keeps the session's state: the messages that arrived
//! while it waited for a pong, whether it is closed and how its connection broke. Pings
//! from the server are answered by tungstenite.
//!
//! The socket is counted below TLS into the session's [`Wire`] (handshakes, frames, TLS
//! records: the bytes on the wire), which `interp/ws.rs` reports to `data_sent` and
//! `data_received` after each call, as k6 counts a session's traffic.
//!
//! Every phase of opening (dial, tunnel, TLS, the opening handshake) ends by the session's
//! timeout, and the error says which phase did not finish, or why it failed: a transport
//! error with its kind and k6's code as requests name them (`TLS certificate not trusted
//! (1310)`), a status other than 101, an answer that is not HTTP.
//!
//! A [`Session`] is owned by one VU, which uses it one call at a time: the lock inside is
//! never contended (it is there because script values are `Send + Sync`). This module
//! records no metric and knows nothing of scripts: it returns what happened (how long the
//! handshake took, how many messages came) and `interp/ws.rs` records k6's `ws_*` samples.

use crate::http::{codes, ClientOptions, HttpError, Resolver};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::HeaderValue;
use rustls::pki_types::ServerName;
use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use url::Url;

/// The byte stream under a session: plain TCP or TLS over it.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

type Stream = WebSocketStream<Box<dyn Io>>;

/// Why a session could not open or a frame could not be sent.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct WsError(pub String, pub u32);

impl WsError {
    /// An error of no transport kind (k6's generic 1000).
    fn new(message: String) -> WsError {
        WsError(message, codes::GENERIC)
    }

    /// A phase that did not end in time (k6's request timeout, 1050).
    fn timeout(message: String) -> WsError {
        WsError(message, codes::REQUEST_TIMEOUT)
    }

    /// The error's code, as the summary's errors section counts it.
    pub fn code(&self) -> u32 {
        self.1
    }
}

/// What `ws.connect` asks for.
pub struct Connect {
    pub url: Url,
    pub headers: Vec<(String, String)>,
    /// The `Cookie` header from the VU's jar (and nothing when it has none).
    pub cookie: Option<HeaderValue>,
    pub subprotocols: Vec<String>,
    pub timeout: Duration,
    /// The VU's TLS configuration, for `wss://`.
    pub tls: Arc<rustls::ClientConfig>,
    /// The scenario's HTTP options: its `hosts`, `dns` policy and proxies apply.
    pub opts: Arc<ClientOptions>,
    /// The runner's DNS cache, shared with requests.
    pub resolver: Arc<Resolver>,
}

/// One message as scripts see it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Received {
    pub data: String,
    pub binary: bool,
}

/// How waiting for a message ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    Message(Received),
    TimedOut,
    /// The server closed the session (or the connection broke).
    Closed,
}

/// What `for e in s.events(..)` waits for next.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Message(Received),
    /// The interval's tick.
    Tick,
    /// The loop's duration has passed.
    Deadline,
    Closed,
}

struct Conn {
    ws: Stream,
    /// Messages that came while a ping waited for its pong, oldest first.
    queue: VecDeque<Received>,
    closed: bool,
    /// How the connection broke, when it ended without the server's close frame (not
    /// yet told).
    broke: Option<String>,
}

impl Conn {
    /// The connection ended without the server's close frame: how, for the log.
    fn broke(&mut self, e: Option<tokio_tungstenite::tungstenite::Error>) {
        use tokio_tungstenite::tungstenite::error::ProtocolError as P;
        use tokio_tungstenite::tungstenite::Error as E;
        self.closed = true;
        self.broke = Some(match e {
            None | Some(E::Protocol(P::ResetWithoutClosingHandshake)) => {
                "the server ended the connection without a close frame".into()
            }
            Some(E::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                "the server ended the connection in the middle of a message".into()
            }
            Some(E::Io(e)) => format!("the connection broke: {e}"),
            Some(E::Protocol(p)) => format!("the server broke the protocol: {p}"),
            Some(other) => format!("the connection broke: {other}"),
        });
    }
}

/// An open session.
pub struct Session {
    /// The `name` tag of its samples (the path template unless given).
    pub name: Arc<str>,
    /// When the handshake completed (`ws_session_duration` counts from here).
    pub opened: Instant,
    conn: Mutex<Conn>,
    pings: std::sync::atomic::AtomicU64,
    ended: std::sync::atomic::AtomicBool,
    /// The socket's bytes, for `data_sent` and `data_received`.
    pub wire: Arc<Wire>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session").field("name", &self.name).finish()
    }
}

/// The handshake request: the URL, the script's headers, the jar's cookie and the
/// subprotocols (one `Sec-WebSocket-Protocol` header, comma separated).
fn request(c: &Connect) -> Result<http::Request<()>, WsError> {
    let mut req = c
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| WsError::new(format!("invalid WebSocket URL: {e}")))?;
    let h = req.headers_mut();
    for (k, v) in &c.headers {
        let name = http::HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| WsError::new(format!("invalid header name `{k}`")))?;
        let value = HeaderValue::from_str(v)
            .map_err(|_| WsError::new(format!("invalid value of header `{k}`")))?;
        h.insert(name, value);
    }
    if let Some(cookie) = &c.cookie {
        if !h.contains_key(http::header::COOKIE) {
            h.insert(http::header::COOKIE, cookie.clone());
        }
    }
    // The scenario's `user_agent`, as its requests send it (k6 sends its own on every
    // handshake too); a header the script sets wins, and an empty agent sends none.
    if !c.opts.user_agent.is_empty() && !h.contains_key(http::header::USER_AGENT) {
        let v = HeaderValue::from_str(&c.opts.user_agent)
            .map_err(|_| WsError::new("invalid user_agent".into()))?;
        h.insert(http::header::USER_AGENT, v);
    }
    if !c.subprotocols.is_empty() {
        let v = HeaderValue::from_str(&c.subprotocols.join(", "))
            .map_err(|_| WsError::new("invalid subprotocol".into()))?;
        h.insert(http::header::SEC_WEBSOCKET_PROTOCOL, v);
    }
    Ok(req)
}

/// Bytes through a session's socket, below TLS (so TLS records and handshakes count, as
/// k6 counts them), and how many of them were already reported to `data_sent` and
/// `data_received`.
#[derive(Debug, Default)]
pub struct Wire {
    read: AtomicU64,
    written: AtomicU64,
    reported_read: AtomicU64,
    reported_written: AtomicU64,
}

impl Wire {
    /// (sent, received) since the last call.
    pub fn take(&self) -> (u64, u64) {
        let w = self.written.load(Ordering::Relaxed);
        let r = self.read.load(Ordering::Relaxed);
        let pw = self.reported_written.swap(w, Ordering::Relaxed);
        let pr = self.reported_read.swap(r, Ordering::Relaxed);
        (w.saturating_sub(pw), r.saturating_sub(pr))
    }
}

/// A socket that counts its bytes into a [`Wire`].
struct Counted<T> {
    inner: T,
    wire: Arc<Wire>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            let n = buf.filled().len().saturating_sub(before) as u64;
            self.wire.read.fetch_add(n, Ordering::Relaxed);
        }
        poll
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = poll {
            self.wire.written.fetch_add(n as u64, Ordering::Relaxed);
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A transport error in words: its kind and k6's code, as the errors section names them
/// (`TLS certificate not trusted (1310): tls: invalid peer certificate: UnknownIssuer`).
fn transport(e: &HttpError) -> WsError {
    WsError(
        format!(
            "{} ({}): {}",
            crate::errors::kind(e.code),
            e.code,
            e.message
        ),
        e.code,
    )
}

/// Dials the URL's host as a request to it would: the address from the scenario's
/// `hosts` and `dns` policy (the runner's resolver), through the scenario's (or the
/// environment's) proxy with a `CONNECT` tunnel, `ws://` as `http://` and `wss://` as
/// `https://`; then TLS for `wss://` (ALPN `http/1.1`). Each phase ends by `deadline`,
/// and a phase that does not says which it was.
async fn dial(c: &Connect, wire: &Arc<Wire>, deadline: Instant) -> Result<Box<dyn Io>, WsError> {
    let host = c
        .url
        .host_str()
        .ok_or_else(|| WsError::new("the URL has no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = c
        .url
        .port_or_known_default()
        .ok_or_else(|| WsError::new("the URL has no port".into()))?;
    let secure = c.url.scheme() == "wss";
    let ms = c.timeout.as_millis();
    let deadline = tokio::time::Instant::from_std(deadline);
    let proxy = c
        .opts
        .proxy
        .as_ref()
        .and_then(|p| p.for_target(secure, &host, port));
    let (name, name_port) = match proxy {
        Some(p) => (p.host.as_str(), p.port),
        None => (host.as_str(), port),
    };
    let resolved =
        tokio::time::timeout_at(deadline, c.resolver.resolve(name, name_port, &c.opts.dns))
            .await
            .map_err(|_| WsError::timeout(format!("no address for {name} within {ms} ms")))?;
    let (addr, shown) = match proxy {
        Some(p) => (
            resolved.map_err(|e| {
                transport(&HttpError::new(
                    codes::PROXY,
                    format!("proxy {}: {}", p.shown, e.message),
                ))
            })?,
            format!("proxy {}", p.shown),
        ),
        None => (
            resolved.map_err(|e| transport(&e))?,
            format!("{host}:{port}"),
        ),
    };
    let dialled = tokio::time::timeout_at(deadline, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| {
            WsError::timeout(format!("no connection to {shown} ({addr}) within {ms} ms"))
        })?;
    let tcp = dialled.map_err(|e| match proxy {
        Some(p) => transport(&HttpError::new(
            codes::PROXY,
            format!("proxy {}: {e}", p.shown),
        )),
        None => transport(&HttpError::dial(&e)),
    })?;
    let _ = tcp.set_nodelay(true);
    let mut io = Counted {
        inner: tcp,
        wire: Arc::clone(wire),
    };
    if let Some(p) = proxy {
        let authority = match c.url.host() {
            Some(url::Host::Ipv6(a)) => format!("[{a}]:{port}"),
            _ => format!("{host}:{port}"),
        };
        tokio::time::timeout_at(deadline, crate::http::tunnel(&mut io, p, &authority))
            .await
            .map_err(|_| {
                WsError::timeout(format!(
                    "proxy {}: no answer to CONNECT {authority} within {ms} ms",
                    p.shown
                ))
            })?
            .map_err(|e| transport(&e))?;
    }
    if !secure {
        return Ok(Box::new(io));
    }
    let mut cfg = (*c.tls).clone();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    let name = ServerName::try_from(host.clone())
        .map_err(|_| WsError::new(format!("`{host}` is not a TLS server name")))?;
    let tls = tokio::time::timeout_at(
        deadline,
        tokio_rustls::TlsConnector::from(Arc::new(cfg)).connect(name, io),
    )
    .await
    .map_err(|_| {
        WsError::timeout(format!(
            "no TLS handshake with {host}:{port} within {ms} ms"
        ))
    })?
    .map_err(|e| transport(&HttpError::tls(&e)))?;
    Ok(Box::new(tls))
}

/// tungstenite's 128 KiB default read buffer is allocated per session and zero-filled
/// before the first read, so 10,000 idle sessions held 1.3 GiB (139 KiB each, k6's 143);
/// with 4 KiB they hold 17 KiB each (bench/protocols.sh). A larger message is still read
/// whole: the buffer is the size of one read from the socket, not a limit.
const READ_BUFFER: usize = 4 * 1024;

fn config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
}

/// Opens a session within the timeout: dial (through a proxy's tunnel when one applies),
/// TLS, and the opening handshake; its bytes go to `wire` whether it opens or not.
pub async fn connect(c: Connect, name: Arc<str>, wire: Arc<Wire>) -> Result<Session, WsError> {
    let req = request(&c)?;
    let deadline = Instant::now() + c.timeout;
    let io = dial(&c, &wire, deadline).await?;
    let handshake = tokio_tungstenite::client_async_with_config(req, io, Some(config()));
    let (ws, _response) =
        tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), handshake)
            .await
            .map_err(|_| {
                WsError::timeout(format!(
                    "the server took the connection but did not answer the opening handshake \
                     within {} ms",
                    c.timeout.as_millis()
                ))
            })?
            .map_err(|e| WsError::new(handshake_error(e)))?;
    Ok(Session {
        name,
        opened: Instant::now(),
        conn: Mutex::new(Conn {
            ws,
            queue: VecDeque::new(),
            closed: false,
            broke: None,
        }),
        pings: std::sync::atomic::AtomicU64::new(0),
        ended: std::sync::atomic::AtomicBool::new(false),
        wire,
    })
}

/// Why the opening handshake failed, in the terms of the protocol: the status the server
/// answered with when it was not 101, an answer that is not HTTP, a connection closed
/// before the answer, a 101 that is not a WebSocket one.
fn handshake_error(e: tokio_tungstenite::tungstenite::Error) -> String {
    use tokio_tungstenite::tungstenite::error::ProtocolError as P;
    use tokio_tungstenite::tungstenite::Error as E;
    match e {
        E::Http(res) => {
            let status = res.status();
            format!(
                "the server answered the opening handshake with status {} {}, not 101 \
                 Switching Protocols (is the path a WebSocket endpoint?)",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )
            .replace("  ", " ")
        }
        E::Protocol(P::HttparseError(e)) => {
            format!("the server's answer to the opening handshake is not HTTP ({e})")
        }
        E::Protocol(P::HandshakeIncomplete) => {
            "the server closed the connection before answering the opening handshake".into()
        }
        E::Protocol(
            p @ (P::MissingUpgradeWebSocketHeader
            | P::MissingConnectionUpgradeHeader
            | P::SecWebSocketAcceptKeyMismatch
            | P::WrongHttpVersion
            | P::SecWebSocketSubProtocolError(_)),
        ) => format!("the server's 101 answer is not a valid WebSocket handshake: {p}"),
        // A TLS alert (a server that wants a client certificate refuses it here, after
        // the TLS 1.3 handshake) or a reset, with its kind and code as requests have.
        E::Io(e) => format!(
            "the connection broke during the opening handshake: {}",
            transport(&HttpError::io(&e)).0
        ),
        other => format!("opening handshake: {other}"),
    }
}

impl Session {
    /// Sends one text or binary message.
    pub async fn send(&self, data: &str, binary: bool) -> Result<(), WsError> {
        let mut c = self.conn.lock().await;
        if c.closed {
            return Err(WsError::new("send on a closed session".into()));
        }
        let msg = if binary {
            Message::Binary(Bytes::copy_from_slice(data.as_bytes()))
        } else {
            Message::Text(data.to_string().into())
        };
        c.ws.send(msg)
            .await
            .map_err(|e| WsError::new(format!("send: {e}")))
    }

    /// The next message (a queued one first), within `timeout`.
    pub async fn receive(&self, timeout: Duration) -> Next {
        let mut c = self.conn.lock().await;
        if let Some(m) = c.queue.pop_front() {
            return Next::Message(m);
        }
        next(&mut c, Instant::now() + timeout).await
    }

    /// Messages until one whose text `matches`, within `timeout` in all; also the number
    /// of messages that came (the skipped ones included).
    pub async fn wait_for(&self, matches: impl Fn(&str) -> bool, timeout: Duration) -> (Next, u64) {
        let deadline = Instant::now() + timeout;
        let mut c = self.conn.lock().await;
        let mut seen = 0;
        while let Some(m) = c.queue.pop_front() {
            seen += 1;
            if matches(&m.data) {
                return (Next::Message(m), seen);
            }
        }
        loop {
            match next(&mut c, deadline).await {
                Next::Message(m) => {
                    seen += 1;
                    if matches(&m.data) {
                        return (Next::Message(m), seen);
                    }
                }
                other => return (other, seen),
            }
        }
    }

    /// The next event of a `for e in s.events(..)`: a queued message first, then whichever
    /// comes first of a message, the tick and the deadline (a tick due with the deadline
    /// loses to it).
    pub async fn next_event(&self, deadline: Option<Instant>, tick: Option<Instant>) -> Event {
        let mut c = self.conn.lock().await;
        if let Some(m) = c.queue.pop_front() {
            return Event::Message(m);
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| d <= now) {
            return Event::Deadline;
        }
        if c.closed {
            return Event::Closed;
        }
        if tick.is_some_and(|t| t <= now) {
            return Event::Tick;
        }
        // Without either, a day: the iteration's end comes first.
        let until = [deadline, tick]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now + Duration::from_secs(86_400));
        match next(&mut c, until).await {
            Next::Message(m) => Event::Message(m),
            Next::Closed => Event::Closed,
            Next::TimedOut => {
                if deadline.is_some_and(|d| d <= Instant::now()) {
                    Event::Deadline
                } else {
                    Event::Tick
                }
            }
        }
    }

    /// Sends a ping and waits for its pong: the round trip, or `None` when none came
    /// within `timeout` (or the session closed). Messages that come meanwhile are kept
    /// for `receive`; their count is returned.
    pub async fn ping(&self, timeout: Duration) -> Result<(Option<Duration>, u64), WsError> {
        let n = self
            .pings
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let payload = n.to_be_bytes().to_vec();
        let deadline = Instant::now() + timeout;
        let mut c = self.conn.lock().await;
        if c.closed {
            return Err(WsError::new("ping on a closed session".into()));
        }
        let t0 = Instant::now();
        c.ws.send(Message::Ping(Bytes::from(payload.clone())))
            .await
            .map_err(|e| WsError::new(format!("ping: {e}")))?;
        let mut came = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, c.ws.next()).await {
                Err(_) => return Ok((None, came)),
                Ok(end @ (None | Some(Err(_)))) => {
                    c.broke(end.and_then(Result::err));
                    return Ok((None, came));
                }
                Ok(Some(Ok(msg))) => match msg {
                    Message::Pong(p) if p.as_ref() == payload.as_slice() => {
                        return Ok((Some(t0.elapsed()), came))
                    }
                    Message::Close(_) => {
                        c.closed = true;
                        return Ok((None, came));
                    }
                    other => {
                        if let Some(m) = data(other) {
                            came += 1;
                            c.queue.push_back(m);
                        }
                    }
                },
            }
        }
    }

    /// Sends a close frame with `code` and waits (a second at most) for the server's;
    /// false when the session was already closed.
    pub async fn close(&self, code: u16) -> bool {
        let mut c = self.conn.lock().await;
        if c.closed {
            return false;
        }
        c.closed = true;
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: Default::default(),
        };
        if c.ws.send(Message::Close(Some(frame))).await.is_err() {
            return true;
        }
        let drain = async {
            while let Some(Ok(m)) = c.ws.next().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
        true
    }

    /// How the connection broke, once, when it ended without the server's close frame.
    /// (The lock is never contended: a VU uses its session one call at a time.)
    pub fn take_broke(&self) -> Option<String> {
        self.conn.try_lock().ok().and_then(|mut c| c.broke.take())
    }

    /// Whether the session is closed (by `close`, or by the server).
    pub async fn is_closed(&self) -> bool {
        self.conn.lock().await.closed
    }

    /// The session's length, the first time it is asked for once the session has ended
    /// (so that `ws_session_duration` has one sample per session); `None` after.
    pub fn take_end(&self) -> Option<Duration> {
        let first = !self.ended.swap(true, std::sync::atomic::Ordering::Relaxed);
        first.then(|| self.opened.elapsed())
    }
}

/// A data message's content; `None` for control frames.
fn data(m: Message) -> Option<Received> {
    match m {
        Message::Text(t) => Some(Received {
            data: t.to_string(),
            binary: false,
        }),
        Message::Binary(b) => Some(Received {
            data: String::from_utf8_lossy(&b).into_owned(),
            binary: true,
        }),
        _ => None,
    }
}

/// The next data message before `deadline`; control frames are skipped (tungstenite
/// answers pings itself).
async fn next(c: &mut Conn, deadline: Instant) -> Next {
    if c.closed {
        return Next::Closed;
    }
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, c.ws.next()).await {
            Err(_) => return Next::TimedOut,
            Ok(end @ (None | Some(Err(_)))) => {
                c.broke(end.and_then(Result::err));
                return Next::Closed;
            }
            Ok(Some(Ok(Message::Close(_)))) => {
                c.closed = true;
                return Next::Closed;
            }
            Ok(Some(Ok(m))) => {
                if let Some(r) = data(m) {
                    return Next::Message(r);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A loopback server that echoes data messages, offering `chat` back, and closes
    /// after `close_after` messages (never when `None`).
    async fn echo_server(close_after: Option<usize>) -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = l.accept().await {
                tokio::spawn(async move {
                    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
                    let mut n = 0;
                    while let Some(Ok(m)) = ws.next().await {
                        if m.is_text() || m.is_binary() {
                            n += 1;
                            if ws.send(m).await.is_err() {
                                return;
                            }
                            if close_after == Some(n) {
                                let _ = ws.close(None).await;
                            }
                        }
                    }
                });
            }
        });
        port
    }

    fn connect_to(port: u16) -> Connect {
        let tls = crate::http::TlsConfig::new().unwrap();
        Connect {
            url: Url::parse(&format!("ws://127.0.0.1:{port}/echo")).unwrap(),
            headers: vec![("x-test".into(), "1".into())],
            cookie: None,
            subprotocols: Vec::new(),
            timeout: Duration::from_secs(5),
            tls: Arc::clone(tls.client_config(false, false)),
            opts: Arc::new(ClientOptions::default()),
            resolver: Resolver::new(),
        }
    }

    async fn open(c: Connect) -> Result<Session, WsError> {
        connect(c, Arc::from("echo"), Arc::default()).await
    }

    #[tokio::test]
    async fn a_session_sends_receives_pings_and_closes() {
        let port = echo_server(None).await;
        let s = open(connect_to(port)).await.unwrap();
        s.send("hello", false).await.unwrap();
        let got = s.receive(Duration::from_secs(2)).await;
        assert_eq!(
            got,
            Next::Message(Received {
                data: "hello".into(),
                binary: false
            })
        );
        s.send("raw", true).await.unwrap();
        let Next::Message(m) = s.receive(Duration::from_secs(2)).await else {
            panic!("no binary echo");
        };
        assert!(m.binary);
        let (rtt, _) = s.ping(Duration::from_secs(2)).await.unwrap();
        assert!(rtt.is_some(), "a pong came");
        assert_eq!(s.receive(Duration::from_millis(50)).await, Next::TimedOut);
        assert!(s.close(1000).await);
        assert!(!s.close(1000).await, "closed once");
        assert!(s.take_end().is_some());
        assert!(s.take_end().is_none(), "one duration per session");
        assert!(s.send("late", false).await.is_err());
    }

    #[tokio::test]
    async fn a_message_larger_than_the_read_buffer_arrives_whole() {
        let port = echo_server(None).await;
        let s = open(connect_to(port)).await.unwrap();
        // 25 reads' worth of the 4 KiB buffer, text and binary.
        let big: String = (0..100 * 1024)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        for binary in [false, true] {
            s.send(&big, binary).await.unwrap();
            let Next::Message(m) = s.receive(Duration::from_secs(5)).await else {
                panic!("no echo of the large message");
            };
            assert_eq!(m.data.len(), big.len());
            assert!(m.data == big, "the echo differs from what was sent");
            assert_eq!(m.binary, binary);
        }
    }

    #[tokio::test]
    async fn wait_for_skips_to_the_matching_message() {
        let port = echo_server(None).await;
        let s = open(connect_to(port)).await.unwrap();
        for t in ["a", "b", "price 12"] {
            s.send(t, false).await.unwrap();
        }
        let (next, seen) = s
            .wait_for(|t| t.starts_with("price"), Duration::from_secs(2))
            .await;
        assert_eq!(seen, 3);
        assert!(matches!(next, Next::Message(m) if m.data == "price 12"));
        let (next, _) = s.wait_for(|_| true, Duration::from_millis(50)).await;
        assert_eq!(next, Next::TimedOut);
    }

    #[tokio::test]
    async fn events_tick_then_end_at_the_deadline_or_the_servers_close() {
        let port = echo_server(Some(1)).await;
        let s = open(connect_to(port)).await.unwrap();
        let start = Instant::now();
        let tick = Some(start + Duration::from_millis(20));
        let deadline = Some(start + Duration::from_secs(2));
        assert_eq!(s.next_event(deadline, tick).await, Event::Tick);
        s.send("one", false).await.unwrap();
        let far = Some(Instant::now() + Duration::from_secs(60));
        assert!(matches!(
            s.next_event(deadline, far).await,
            Event::Message(_)
        ));
        // The server closes after its first echo.
        assert_eq!(s.next_event(deadline, far).await, Event::Closed);
        let s = open(connect_to(port)).await.unwrap();
        let soon = Some(Instant::now() + Duration::from_millis(30));
        assert_eq!(s.next_event(soon, far).await, Event::Deadline);
    }

    #[tokio::test]
    async fn a_refused_handshake_says_why() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            if let Ok((mut tcp, _)) = l.accept().await {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 1024];
                let _ = tcp.read(&mut buf).await;
                let _ = tcp
                    .write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
        let e = open(connect_to(port)).await.unwrap_err();
        assert!(e.0.contains("403"), "{e}");
        let closed = free_port();
        let e = open(connect_to(closed)).await.unwrap_err();
        assert!(e.0.contains("dial"), "{e}");
    }

    #[test]
    fn the_handshake_carries_headers_the_jars_cookie_and_subprotocols() {
        let mut c = connect_to(1);
        c.cookie = Some(HeaderValue::from_static("room=lobby"));
        c.subprotocols = vec!["chat".into(), "v2.json".into()];
        let req = request(&c).unwrap();
        let h = req.headers();
        assert_eq!(h["x-test"], "1");
        assert_eq!(h[http::header::COOKIE], "room=lobby");
        assert_eq!(h[http::header::SEC_WEBSOCKET_PROTOCOL], "chat, v2.json");
        assert_eq!(req.uri(), "ws://127.0.0.1:1/echo");
        // The scenario's user agent, as on its requests.
        assert_eq!(h[http::header::USER_AGENT], "volley/0.1");
        // A `Cookie` or `User-Agent` the script sets itself wins over the jar's and the
        // scenario's.
        c.headers.push(("cookie".into(), "mine=1".into()));
        c.headers.push(("user-agent".into(), "mine/2".into()));
        let req = request(&c).unwrap();
        assert_eq!(req.headers()[http::header::COOKIE], "mine=1");
        assert_eq!(req.headers()[http::header::USER_AGENT], "mine/2");
        // An empty agent sends none, as for requests.
        c.headers.pop();
        let mut opts = ClientOptions::default();
        opts.user_agent.clear();
        c.opts = Arc::new(opts);
        assert!(!request(&c)
            .unwrap()
            .headers()
            .contains_key(http::header::USER_AGENT));
    }

    #[tokio::test]
    async fn the_wire_counts_the_handshake_and_every_frame() {
        let port = echo_server(None).await;
        let wire = Arc::new(Wire::default());
        let s = connect(connect_to(port), Arc::from("echo"), Arc::clone(&wire))
            .await
            .unwrap();
        // The upgrade request and the 101 answer.
        let (sent, received) = wire.take();
        assert!(sent > 150 && received > 100, "{sent} {received}");
        assert_eq!(wire.take(), (0, 0), "taken once");
        // A client frame: 2 bytes of header, a 4-byte mask, the payload; the server's is
        // unmasked. 200 bytes take a 2-byte extended length.
        s.send("hello", false).await.unwrap();
        assert_eq!(wire.take(), (2 + 4 + 5, 0));
        let _ = s.receive(Duration::from_secs(2)).await;
        assert_eq!(wire.take(), (0, 2 + 5));
        s.send(&"b".repeat(200), true).await.unwrap();
        let _ = s.receive(Duration::from_secs(2)).await;
        assert_eq!(wire.take(), (4 + 4 + 200, 4 + 200));
        // A ping carries 8 bytes, its pong the same.
        s.ping(Duration::from_secs(2)).await.unwrap();
        assert_eq!(wire.take(), (2 + 4 + 8, 2 + 8));
        // Close 1000 (2 bytes of code), and the server's close back.
        assert!(s.close(1000).await);
        assert_eq!(wire.take(), (2 + 4 + 2, 2 + 2));
    }

    /// A server that accepts, reads the upgrade request and does `answer` with the socket.
    async fn hostile<F, Fut>(answer: F) -> u16
    where
        F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = l.accept().await {
                use tokio::io::AsyncReadExt;
                let mut buf = [0u8; 2048];
                let _ = tcp.read(&mut buf).await;
                answer(tcp).await;
            }
        });
        port
    }

    async fn refused_with(reply: &'static [u8]) -> String {
        let port = hostile(move |mut tcp| async move {
            use tokio::io::AsyncWriteExt;
            let _ = tcp.write_all(reply).await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        })
        .await;
        let mut c = connect_to(port);
        c.timeout = Duration::from_millis(500);
        open(c).await.unwrap_err().0
    }

    #[tokio::test]
    async fn a_hostile_handshake_ends_within_the_timeout_and_says_what_happened() {
        let t0 = Instant::now();
        // Takes the connection, never answers.
        let port = hostile(|tcp| async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            drop(tcp);
        })
        .await;
        let mut c = connect_to(port);
        c.timeout = Duration::from_millis(300);
        let e = open(c).await.unwrap_err().0;
        assert_eq!(
            e,
            "the server took the connection but did not answer the opening handshake within 300 ms"
        );
        let e = refused_with(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await;
        assert!(
            e.contains("status 200 OK, not 101 Switching Protocols"),
            "{e}"
        );
        let e = refused_with(b"SSH-2.0-OpenSSH_9.6\r\n\r\n").await;
        assert!(e.contains("is not HTTP"), "{e}");
        // Half an answer, then nothing: the timeout ends it.
        let e = refused_with(b"HTTP/1.1 101 Switching").await;
        assert!(
            e.contains("did not answer the opening handshake within 500 ms"),
            "{e}"
        );
        let e = refused_with(
            b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-accept: nope\r\n\r\n",
        )
        .await;
        assert!(e.contains("not a valid WebSocket handshake"), "{e}");
        let port = hostile(|tcp| async move { drop(tcp) }).await;
        let e = open(connect_to(port)).await.unwrap_err().0;
        assert!(e.contains("closed the connection before answering"), "{e}");
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    }

    #[tokio::test]
    async fn a_connection_cut_mid_message_closes_the_session_and_says_so() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            if let Ok((tcp, _)) = l.accept().await {
                use tokio::io::AsyncWriteExt;
                let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
                // A text frame announcing 100 bytes, 10 of them, then the end.
                let raw = ws.get_mut();
                let _ = raw.write_all(&[0x81, 100]).await;
                let _ = raw.write_all(b"0123456789").await;
                let _ = raw.shutdown().await;
            }
        });
        let s = open(connect_to(port)).await.unwrap();
        assert_eq!(s.receive(Duration::from_secs(5)).await, Next::Closed);
        let why = s.take_broke().unwrap();
        assert!(why.contains("without a close frame"), "{why}");
        assert_eq!(s.take_broke(), None, "told once");
        assert!(s.send("late", false).await.is_err());
    }

    #[tokio::test]
    async fn hosts_and_a_proxy_route_the_session_as_a_request() {
        let port = echo_server(None).await;
        // `echo.test` is known only to the scenario's hosts.
        let mut hosts = crate::http::Hosts::new();
        hosts.insert(
            "echo.test".into(),
            Arc::from(vec!["127.0.0.1".parse().unwrap()]),
        );
        let mut opts = ClientOptions::default();
        opts.dns.hosts = Some(Arc::new(hosts));
        let mut c = connect_to(port);
        c.url = Url::parse(&format!("ws://echo.test:{port}/echo")).unwrap();
        c.opts = Arc::new(opts.clone());
        let s = open(c).await.unwrap();
        s.send("via hosts", false).await.unwrap();
        assert!(
            matches!(s.receive(Duration::from_secs(2)).await, Next::Message(m) if m.data == "via hosts")
        );
        // A CONNECT proxy that tunnels to loopback whatever host it is asked for.
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy_port = l.local_addr().unwrap().port();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut tcp, _)) = l.accept().await {
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if tcp.read(&mut b).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(b[0]);
                }
                let line = String::from_utf8_lossy(&head)
                    .lines()
                    .next()
                    .unwrap()
                    .to_string();
                let _ = tx.send(line);
                let mut up = tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .unwrap();
                tcp.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                tokio::spawn(async move {
                    let _ = tokio::io::copy_bidirectional(&mut tcp, &mut up).await;
                });
            }
        });
        let mut c = connect_to(port);
        c.url = Url::parse(&format!("ws://nowhere.test:{port}/echo")).unwrap();
        c.opts = Arc::new(ClientOptions {
            proxy: Some(Arc::new(
                crate::http::Proxies::explicit(&format!("http://127.0.0.1:{proxy_port}"), &[])
                    .unwrap(),
            )),
            ..opts
        });
        let s = open(c).await.unwrap();
        s.send("via proxy", false).await.unwrap();
        assert!(
            matches!(s.receive(Duration::from_secs(2)).await, Next::Message(m) if m.data == "via proxy")
        );
        assert_eq!(
            rx.recv().await.unwrap(),
            format!("CONNECT nowhere.test:{port} HTTP/1.1")
        );
        // A proxy that is not there: its own code, 1030.
        let mut c = connect_to(port);
        c.opts = Arc::new(ClientOptions {
            proxy: Some(Arc::new(
                crate::http::Proxies::explicit(&format!("http://127.0.0.1:{}", free_port()), &[])
                    .unwrap(),
            )),
            ..ClientOptions::default()
        });
        let e = open(c).await.unwrap_err().0;
        assert!(
            e.starts_with("proxy unreachable or refused the tunnel (1030): proxy 127.0.0.1:"),
            "{e}"
        );
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }
}
