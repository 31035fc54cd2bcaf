//! WebSocket sessions (`ws.connect(..)` and a session's methods): the connection, its
//! opening handshake and every frame are tokio-tungstenite's; this module dials (TCP,
//! then TLS with the VU's rustls configuration for `wss://`), hands the stream to
//! tungstenite with the handshake request (headers, the jar's cookies, subprotocols), and
//! keeps the session's state: the messages that arrived while it waited for a pong, and
//! whether it is closed. Pings from the server are answered by tungstenite.
//!
//! A [`Session`] is owned by one VU, which uses it one call at a time: the lock inside is
//! never contended (it is there because script values are `Send + Sync`). This module
//! records no metric and knows nothing of scripts: it returns what happened (how long the
//! handshake took, how many messages came) and `interp/ws.rs` records k6's `ws_*` samples.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::HeaderValue;
use rustls::pki_types::ServerName;
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
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
pub struct WsError(pub String);

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
        .map_err(|e| WsError(format!("invalid WebSocket URL: {e}")))?;
    let h = req.headers_mut();
    for (k, v) in &c.headers {
        let name = http::HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| WsError(format!("invalid header name `{k}`")))?;
        let value = HeaderValue::from_str(v)
            .map_err(|_| WsError(format!("invalid value of header `{k}`")))?;
        h.insert(name, value);
    }
    if let Some(cookie) = &c.cookie {
        if !h.contains_key(http::header::COOKIE) {
            h.insert(http::header::COOKIE, cookie.clone());
        }
    }
    if !c.subprotocols.is_empty() {
        let v = HeaderValue::from_str(&c.subprotocols.join(", "))
            .map_err(|_| WsError("invalid subprotocol".into()))?;
        h.insert(http::header::SEC_WEBSOCKET_PROTOCOL, v);
    }
    Ok(req)
}

/// Dials the URL's host: TCP, then TLS for `wss://` (ALPN `http/1.1`).
async fn dial(c: &Connect) -> Result<Box<dyn Io>, WsError> {
    let host = c
        .url
        .host_str()
        .ok_or_else(|| WsError("the URL has no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = c
        .url
        .port_or_known_default()
        .ok_or_else(|| WsError("the URL has no port".into()))?;
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| WsError(format!("dial {host}:{port}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    if c.url.scheme() != "wss" {
        return Ok(Box::new(tcp));
    }
    let mut cfg = (*c.tls).clone();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    let name = ServerName::try_from(host.clone())
        .map_err(|_| WsError(format!("`{host}` is not a TLS server name")))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(name, tcp)
        .await
        .map_err(|e| WsError(format!("TLS handshake with {host}: {e}")))?;
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

/// Opens a session within the timeout: dial, TLS, and the opening handshake.
pub async fn connect(c: Connect, name: Arc<str>) -> Result<Session, WsError> {
    let req = request(&c)?;
    let open = async {
        let io = dial(&c).await?;
        tokio_tungstenite::client_async_with_config(req, io, Some(config()))
            .await
            .map_err(|e| WsError(handshake_error(e)))
    };
    let (ws, _response) = tokio::time::timeout(c.timeout, open)
        .await
        .map_err(|_| WsError(format!("no session within {} ms", c.timeout.as_millis())))??;
    Ok(Session {
        name,
        opened: Instant::now(),
        conn: Mutex::new(Conn {
            ws,
            queue: VecDeque::new(),
            closed: false,
        }),
        pings: std::sync::atomic::AtomicU64::new(0),
        ended: std::sync::atomic::AtomicBool::new(false),
    })
}

fn handshake_error(e: tokio_tungstenite::tungstenite::Error) -> String {
    use tokio_tungstenite::tungstenite::Error as E;
    match e {
        E::Http(res) => format!(
            "the server answered the handshake with status {}",
            res.status().as_u16()
        ),
        other => format!("handshake: {other}"),
    }
}

impl Session {
    /// Sends one text or binary message.
    pub async fn send(&self, data: &str, binary: bool) -> Result<(), WsError> {
        let mut c = self.conn.lock().await;
        if c.closed {
            return Err(WsError("send on a closed session".into()));
        }
        let msg = if binary {
            Message::Binary(Bytes::copy_from_slice(data.as_bytes()))
        } else {
            Message::Text(data.to_string().into())
        };
        c.ws.send(msg)
            .await
            .map_err(|e| WsError(format!("send: {e}")))
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
            return Err(WsError("ping on a closed session".into()));
        }
        let t0 = Instant::now();
        c.ws.send(Message::Ping(Bytes::from(payload.clone())))
            .await
            .map_err(|e| WsError(format!("ping: {e}")))?;
        let mut came = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, c.ws.next()).await {
                Err(_) => return Ok((None, came)),
                Ok(None | Some(Err(_))) => {
                    c.closed = true;
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
            Ok(None | Some(Err(_))) => {
                c.closed = true;
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
        }
    }

    #[tokio::test]
    async fn a_session_sends_receives_pings_and_closes() {
        let port = echo_server(None).await;
        let s = connect(connect_to(port), Arc::from("echo")).await.unwrap();
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
        let s = connect(connect_to(port), Arc::from("echo")).await.unwrap();
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
        let s = connect(connect_to(port), Arc::from("echo")).await.unwrap();
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
        let s = connect(connect_to(port), Arc::from("echo")).await.unwrap();
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
        let s = connect(connect_to(port), Arc::from("echo")).await.unwrap();
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
        let e = connect(connect_to(port), Arc::from("x")).await.unwrap_err();
        assert!(e.0.contains("403"), "{e}");
        let closed = free_port();
        let e = connect(connect_to(closed), Arc::from("x"))
            .await
            .unwrap_err();
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
        // A `Cookie` the script sets itself wins over the jar's.
        c.headers.push(("cookie".into(), "mine=1".into()));
        let req = request(&c).unwrap();
        assert_eq!(req.headers()[http::header::COOKIE], "mine=1");
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }
}
