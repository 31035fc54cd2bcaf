//! Opening client connections: TCP dial, optional TLS, and the HTTP/2 connection (hyper);
//! plus the byte/time accounting that feeds `data_sent`, `data_received` and the timings.
//!
//! The socket is wrapped in [`CountingIo`] *below* TLS, so byte counts are wire bytes (TLS
//! records, HTTP/2 frames and handshakes included), as k6 counts them. For HTTP/2 the
//! wrapper also remembers the instant of the last write, which is how `sending` is measured
//! there (hyper writes from its own task). The HTTP/2 driver is spawned with
//! `tokio::task::spawn_local`, so this must run inside a `tokio::task::LocalSet`; the driver
//! is aborted when the [`H2Conn`] is dropped, so a dropped connection never lingers.
//! HTTP/1.1 needs no driver (see `h1`). This module must not pool, retry or follow
//! redirects: that is the client's job.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use hyper::client::conn::http2;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::task::AbortHandle;
use tokio_rustls::client::TlsStream;

use super::error::{codes, HttpError};
use super::proxy::{self, Proxy};

/// The request body type given to hyper.
pub(crate) use super::body::ReqBody;

/// Bytes through one socket and the instant of its last write (HTTP/2: any write;
/// HTTP/1.1: the end of a request's write).
#[derive(Debug, Default)]
pub(crate) struct IoStats {
    pub(crate) read: Cell<u64>,
    pub(crate) written: Cell<u64>,
    pub(crate) last_write: Cell<Option<Instant>>,
}

/// A socket that counts what passes through it into shared [`IoStats`].
#[derive(Debug)]
pub(crate) struct CountingIo<T> {
    inner: T,
    stats: Rc<IoStats>,
    /// Timestamp writes (HTTP/2 only: HTTP/1.1 stamps the end of each request's write).
    stamp: bool,
}

impl<T> CountingIo<T> {
    fn wrote(&self, n: usize) {
        let stats = &self.stats;
        stats.written.set(stats.written.get() + n as u64);
        if self.stamp && n > 0 {
            stats.last_write.set(Some(Instant::now()));
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for CountingIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            let n = buf.filled().len().saturating_sub(before) as u64;
            self.stats.read.set(self.stats.read.get() + n);
        }
        poll
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for CountingIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = poll {
            self.wrote(n);
        }
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut nonempty = bufs.iter().filter(|b| !b.is_empty());
        let poll = match (nonempty.next(), nonempty.next()) {
            (Some(one), None) => Pin::new(&mut self.inner).poll_write(cx, one),
            _ => Pin::new(&mut self.inner).poll_write_vectored(cx, bufs),
        };
        if let Poll::Ready(Ok(n)) = poll {
            self.wrote(n);
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Spawns hyper's HTTP/2 background futures on the current `LocalSet`, boxed: hyper
/// spawns one per request (the response future), of an enum type as large as its largest
/// variant (the whole connection task), which tokio would otherwise copy into the task
/// and again at each change of the task's stage (about 1,400 instructions a request in
/// callgrind; the box costs one copy).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LocalExec;

impl<F> hyper::rt::Executor<F> for LocalExec
where
    F: Future + 'static,
{
    fn execute(&self, fut: F) {
        tokio::task::spawn_local(Box::pin(fut));
    }
}

/// A connected socket, with or without TLS.
pub(crate) enum Stream {
    Plain(CountingIo<TcpStream>),
    Tls(Box<TlsStream<CountingIo<TcpStream>>>),
}

impl AsyncRead for Stream {
    /// Over TLS, the plaintext of the records already read, or one read of the socket
    /// when there is none: `TlsStream::poll_read` would try the socket again after
    /// taking what was buffered, which on a request's one response record costs a
    /// `WouldBlock` error made and dropped every time (hundreds of instructions a request
    /// in callgrind). A shorter read is as valid, and the caller reads again when it needs
    /// more.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => {
                let mut tls = Pin::new(s.as_mut());
                let data = ready!(tls.as_mut().poll_fill_buf(cx))?;
                let n = data.len().min(buf.remaining());
                buf.put_slice(&data[..n]);
                tls.consume(n);
                Poll::Ready(Ok(()))
            }
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// An HTTP/2 connection; dropping it aborts its driver task and closes the socket.
pub(crate) struct H2Conn {
    sender: http2::SendRequest<ReqBody>,
    pub(crate) stats: Rc<IoStats>,
    driver: AbortHandle,
}

impl H2Conn {
    /// Start HTTP/2 on `stream` (prior knowledge or after ALPN `h2`).
    pub(crate) async fn handshake(stream: Stream, stats: Rc<IoStats>) -> Result<Self, HttpError> {
        let (sender, conn) = http2::Builder::new(LocalExec)
            .handshake::<_, ReqBody>(TokioIo::new(stream))
            .await
            .map_err(|e| HttpError::h2(&e))?;
        let task = tokio::task::spawn_local(async move {
            let _ = conn.await;
        });
        Ok(H2Conn {
            sender,
            stats,
            driver: task.abort_handle(),
        })
    }

    /// Whether the connection can take a request now; `false` means broken or closing.
    pub(crate) async fn ready(&mut self) -> bool {
        !self.sender.is_closed() && self.sender.ready().await.is_ok()
    }

    /// Send one request and wait for the response head.
    pub(crate) async fn send(
        &mut self,
        req: http::Request<ReqBody>,
    ) -> Result<http::Response<hyper::body::Incoming>, hyper::Error> {
        self.sender.send_request(req).await
    }
}

impl Drop for H2Conn {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// What a dial needs to know about TLS; `None` for `http://`.
pub(crate) struct TlsParams<'a> {
    pub(crate) config: &'a Arc<rustls::ClientConfig>,
    pub(crate) server_name: ServerName<'static>,
}

/// How long the phases of opening a connection took.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct DialTimes {
    pub(crate) connecting: Duration,
    pub(crate) tls_handshaking: Duration,
}

/// A new connection, before any HTTP.
pub(crate) struct Opened {
    pub(crate) stream: Stream,
    pub(crate) stats: Rc<IoStats>,
    /// ALPN chose `h2`.
    pub(crate) alpn_h2: bool,
}

/// Through a proxy: the proxy itself, and for `https://` the `host:port` to `CONNECT` to.
pub(crate) struct Via<'a> {
    pub(crate) proxy: &'a Proxy,
    pub(crate) connect: Option<&'a str>,
}

/// Dial `addr` (the proxy's, with `via`), open a `CONNECT` tunnel when asked, and do the
/// TLS handshake when `tls` is given. `stamp_writes` is for HTTP/2. The tunnel's time
/// counts as `connecting`; a proxy that cannot be reached or refuses the tunnel is
/// [`codes::PROXY`].
pub(crate) async fn open(
    addr: SocketAddr,
    via: Option<Via<'_>>,
    tls: Option<TlsParams<'_>>,
    stamp_writes: bool,
    stats: Rc<IoStats>,
    times: &mut DialTimes,
) -> Result<Opened, HttpError> {
    let start = Instant::now();
    let tcp = TcpStream::connect(addr).await.map_err(|e| match &via {
        Some(v) => HttpError::new(codes::PROXY, format!("proxy {}: {e}", v.proxy.shown)),
        None => HttpError::dial(&e),
    })?;
    // Latency matters more than packet count in a load test; failure here is harmless.
    let _ = tcp.set_nodelay(true);
    let mut io = CountingIo {
        inner: tcp,
        stats: Rc::clone(&stats),
        stamp: stamp_writes,
    };
    if let Some(Via {
        proxy,
        connect: Some(authority),
    }) = via
    {
        tunnel(&mut io, proxy, authority).await?;
    }
    let connected = Instant::now();
    times.connecting = connected - start;
    let Some(params) = tls else {
        return Ok(Opened {
            stream: Stream::Plain(io),
            stats,
            alpn_h2: false,
        });
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(params.config));
    let stream = connector
        .connect(params.server_name, io)
        .await
        .map_err(|e| HttpError::tls(&e))?;
    times.tls_handshaking = connected.elapsed();
    let alpn_h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
    Ok(Opened {
        stream: Stream::Tls(Box::new(stream)),
        stats,
        alpn_h2,
    })
}

/// The longest `CONNECT` answer head read.
const MAX_CONNECT_HEAD: usize = 16 * 1024;

/// `CONNECT authority` through `proxy` on `io`; Ok once the proxy answered 2xx. The head
/// is read a byte at a time so nothing of the tunnel's first bytes is consumed.
pub(crate) async fn tunnel<T: AsyncRead + AsyncWrite + Unpin>(
    io: &mut T,
    proxy: &Proxy,
    authority: &str,
) -> Result<(), HttpError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let fail = |why: String| {
        HttpError::new(
            codes::PROXY,
            format!("proxy {}: CONNECT {authority}: {why}", proxy.shown),
        )
    };
    io.write_all(&proxy::connect_head(authority, proxy))
        .await
        .map_err(|e| fail(e.to_string()))?;
    let mut head = Vec::with_capacity(128);
    let mut byte = [0u8; 1];
    loop {
        let n = io.read(&mut byte).await.map_err(|e| fail(e.to_string()))?;
        if n == 0 {
            return Err(fail("the proxy closed the connection".into()));
        }
        head.push(byte[0]);
        if head.ends_with(b"\r\n\r\n") {
            break;
        }
        if head.len() > MAX_CONNECT_HEAD {
            return Err(fail("answer head too long".into()));
        }
    }
    match proxy::connect_status(&head) {
        Ok(Some((status, _))) if (200..300).contains(&status) => Ok(()),
        Ok(Some((status, reason))) => Err(fail(format!("refused: {status} {reason}"))),
        _ => Err(fail("not an HTTP answer".into())),
    }
}
