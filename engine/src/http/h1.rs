//! The engine's own HTTP/1.1 exchange: write one request, read one response, on the VU's
//! own task.
//!
//! Why not hyper here: hyper's HTTP/1.1 client drives each connection from a separate task
//! and talks to it through channels, which costs several times wrk's user CPU per request.
//! A VU sends one request at a time, so nothing needs a background task: the request head
//! is encoded into a reused buffer and written with (usually) one syscall, the response is
//! read into a reused buffer and its head parsed by `httparse` in place (the framing and
//! connection headers are read in that one pass; no header map is built). The head and a
//! small body are copied out into exact-size buffers, so the read buffer stays unshared and
//! the next response reuses it without allocating; a large body is split off it without
//! copying, and a buffer grown large is let go once the response is read. An idle
//! connection is not polled; a server that closed it is noticed at the next request (which
//! the client then retries on a fresh connection). Supported: `Content-Length`, chunked (trailers skipped)
//! and read-until-close bodies, HEAD/204/304 without body, 1xx responses skipped, HTTP/1.0
//! keep-alive rules. Not supported: pipelining, `101 Switching Protocols` (an error).
//! This module must not pool, retry, follow redirects or know about TLS.

use std::io;
use std::mem::MaybeUninit;
use std::rc::Rc;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use http::header::{HeaderName, HeaderValue};
use http::{Method, Version};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use url::{Position, Url};

use super::conn::IoStats;
use super::error::{codes, HttpError};
use super::headers::{Headers, MAX_HEADERS};
use super::Request;

/// Bodies up to this size are copied behind the head and written with it in one syscall.
const INLINE_BODY: usize = 16 * 1024;
/// Response bodies up to this size are copied out of the read buffer, which then stays
/// unshared and is reused by the next response without allocating; larger ones are split
/// off it without copying.
const COPY_BODY: u64 = 16 * 1024;
/// A read buffer grown past this (by a large response) is let go once the response is
/// read, so an idle VU does not keep it.
const KEEP_READ: usize = 64 * 1024;
/// Read at least this much room at a time. Small, because every VU keeps its buffer (a
/// response head and a small body fit; larger bodies reserve what they miss).
const READ_CHUNK: usize = 2 * 1024;
/// Never reserve more than this ahead of a declared `Content-Length`.
const MAX_RESERVE: u64 = 1 << 20;
/// A response head larger than this is refused.
const MAX_HEAD: usize = 64 * 1024;
/// The default `Accept-Encoding` header line ([`super::encoding::ACCEPT_ENCODING`]), written
/// with one copy.
pub(crate) const ACCEPT_ENCODING_LINE: &[u8] = b"Accept-Encoding: gzip, br, deflate, zstd\r\n";

/// An HTTP/1.1 connection: the socket and its byte counters.
pub(crate) struct H1Conn<IO> {
    pub(crate) io: IO,
    pub(crate) stats: Rc<IoStats>,
}

/// Buffers reused by all of a VU's HTTP/1.1 requests (a VU sends one at a time).
#[derive(Default)]
pub(crate) struct Buffers {
    write: Vec<u8>,
    read: BytesMut,
}

/// Headers the client adds to the request's own, `None` when not wanted.
pub(crate) struct Added<'a> {
    pub(crate) host: Option<&'a [u8]>,
    pub(crate) user_agent: Option<&'a [u8]>,
    pub(crate) authorization: Option<&'a [u8]>,
    pub(crate) content_length: bool,
    pub(crate) close: bool,
    /// Through a proxy: the request line in absolute form (`GET http://host/path`).
    pub(crate) absolute: bool,
    /// Through a proxy with credentials: `Proxy-Authorization`.
    pub(crate) proxy_authorization: Option<&'a [u8]>,
    /// `Cookie`: the jar's and the request's own cookies.
    pub(crate) cookie: Option<&'a [u8]>,
    /// `Accept-Encoding` (compression on and not set by the request): the line
    /// [`ACCEPT_ENCODING_LINE`].
    pub(crate) accept_encoding: bool,
}

/// A complete response and when its phases ended.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) version: Version,
    pub(crate) headers: Headers,
    pub(crate) body: Bytes,
    pub(crate) written: Instant,
    pub(crate) first_byte: Instant,
    /// The connection may carry another request.
    pub(crate) reusable: bool,
    /// The head has a `Set-Cookie` header.
    pub(crate) set_cookie: bool,
    /// The head has a `Content-Encoding` header.
    pub(crate) encoded: bool,
}

impl<IO: AsyncRead + AsyncWrite + Unpin> H1Conn<IO> {
    /// Send `req` (with the `added` headers), then read the whole response; a body kept
    /// (not `discard_body`) longer than `max_body` bytes fails with code 1060.
    pub(crate) async fn exchange(
        &mut self,
        bufs: &mut Buffers,
        req: &Request,
        added: &Added<'_>,
        max_body: u64,
    ) -> Result<Reply, HttpError> {
        let body = &req.body;
        let w = &mut bufs.write;
        encode_head(w, &req.method, &req.url, &req.headers, body.len(), added);
        let inline = body.len() <= INLINE_BODY;
        if inline {
            for chunk in body.chunks() {
                w.extend_from_slice(chunk);
            }
        }
        self.io.write_all(w).await.map_err(|e| io_error(&e))?;
        if !inline {
            // A multipart body's file chunks are written from their shared buffers.
            for chunk in body.chunks() {
                self.io.write_all(chunk).await.map_err(|e| io_error(&e))?;
            }
        }
        self.io.flush().await.map_err(|e| io_error(&e))?;
        if w.capacity() > 4 * INLINE_BODY {
            *w = Vec::new(); // do not keep a rare huge head around
        }
        let written = Instant::now();
        // A failure from here on (a timeout waiting for the answer) is timed as waiting.
        self.stats.last_write.set(Some(written));
        let head_request = req.method == Method::HEAD;
        let keep = (!req.discard_body).then_some(max_body);
        self.read_response(bufs, head_request, keep, written).await
    }

    async fn read_response(
        &mut self,
        bufs: &mut Buffers,
        head_request: bool,
        keep: Option<u64>,
        written: Instant,
    ) -> Result<Reply, HttpError> {
        let buf = &mut bufs.read;
        buf.clear();
        let mut first_byte = None;
        let head = loop {
            if !buf.is_empty() {
                match parse_head(buf, head_request)? {
                    Parsed::Final(head) => break head,
                    Parsed::Informational(len) => {
                        buf.advance(len);
                        continue;
                    }
                    Parsed::Partial if buf.len() > MAX_HEAD => {
                        return Err(protocol("response head too large"));
                    }
                    Parsed::Partial => {}
                }
            }
            if self.fill(buf, READ_CHUNK).await? == 0 {
                return Err(closed());
            }
            first_byte.get_or_insert_with(Instant::now);
        };
        let first_byte = first_byte.unwrap_or(written);
        // A copy of the head (small): the read buffer stays unshared for the next response.
        let headers = Headers::from_head(Bytes::copy_from_slice(&buf[..head.len]));
        buf.advance(head.len);
        let (body, clean_end) = match head.framing {
            Framing::Empty => (Bytes::new(), true),
            Framing::Length(n) => (self.read_length(buf, n, keep).await?, true),
            Framing::Chunked => (self.read_chunked(buf, keep).await?, true),
            Framing::UntilClose => (self.read_to_close(buf, keep).await?, false),
        };
        let reusable = head.keep_alive && clean_end && buf.is_empty();
        buf.clear();
        if buf.capacity() > KEEP_READ {
            *buf = BytesMut::new();
        }
        Ok(Reply {
            status: head.status,
            version: head.version,
            headers,
            body,
            written,
            first_byte,
            reusable,
            set_cookie: head.set_cookie,
            encoded: head.encoded,
        })
    }

    /// Read more into `buf` with at least `room` spare capacity; `Ok(0)` at end of stream.
    async fn fill(&mut self, buf: &mut BytesMut, room: usize) -> Result<usize, HttpError> {
        if buf.capacity() - buf.len() < room.min(READ_CHUNK) {
            buf.reserve(room);
        }
        self.io.read_buf(buf).await.map_err(|e| io_error(&e))
    }

    async fn fill_or_fail(&mut self, buf: &mut BytesMut, room: usize) -> Result<(), HttpError> {
        match self.fill(buf, room).await? {
            0 => Err(closed()),
            _ => Ok(()),
        }
    }

    async fn read_length(
        &mut self,
        buf: &mut BytesMut,
        len: u64,
        keep: Option<u64>,
    ) -> Result<Bytes, HttpError> {
        let Some(max) = keep else {
            let mut left = len;
            loop {
                let take = left.min(buf.len() as u64);
                buf.advance(take as usize);
                left -= take;
                if left == 0 {
                    return Ok(Bytes::new());
                }
                self.fill_or_fail(buf, READ_CHUNK).await?;
            }
        };
        if len > max {
            return Err(HttpError::body_too_large(max));
        }
        while (buf.len() as u64) < len {
            let missing = len - buf.len() as u64;
            self.fill_or_fail(buf, missing.min(MAX_RESERVE) as usize)
                .await?;
        }
        if len <= COPY_BODY {
            let body = Bytes::copy_from_slice(&buf[..len as usize]);
            buf.advance(len as usize);
            return Ok(body);
        }
        Ok(buf.split_to(len as usize).freeze())
    }

    async fn read_chunked(
        &mut self,
        buf: &mut BytesMut,
        keep: Option<u64>,
    ) -> Result<Bytes, HttpError> {
        let mut out = BytesMut::new();
        loop {
            let size = loop {
                match httparse::parse_chunk_size(buf) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        buf.advance(used);
                        break size;
                    }
                    Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
                        return Err(protocol("chunk size line too long"))
                    }
                    Ok(httparse::Status::Partial) => self.fill_or_fail(buf, READ_CHUNK).await?,
                    Err(_) => return Err(protocol("invalid chunk size")),
                }
            };
            if size == 0 {
                return self.skip_trailers(buf).await.map(|()| out.freeze());
            }
            let mut left = size;
            while left > 0 {
                if buf.is_empty() {
                    self.fill_or_fail(buf, left.min(MAX_RESERVE) as usize)
                        .await?;
                }
                let take = left.min(buf.len() as u64) as usize;
                if let Some(max) = keep {
                    if (out.len() + take) as u64 > max {
                        return Err(HttpError::body_too_large(max));
                    }
                    out.extend_from_slice(&buf[..take]);
                }
                buf.advance(take);
                left -= take as u64;
            }
            while buf.len() < 2 {
                self.fill_or_fail(buf, READ_CHUNK).await?;
            }
            if &buf[..2] != b"\r\n" {
                return Err(protocol("chunk not followed by CRLF"));
            }
            buf.advance(2);
        }
    }

    /// Skip trailer lines up to and including the empty line that ends a chunked body.
    async fn skip_trailers(&mut self, buf: &mut BytesMut) -> Result<(), HttpError> {
        loop {
            match buf.windows(2).position(|w| w == b"\r\n") {
                Some(0) => {
                    buf.advance(2);
                    return Ok(());
                }
                Some(end) => buf.advance(end + 2),
                None if buf.len() > MAX_HEAD => return Err(protocol("trailers too large")),
                None => self.fill_or_fail(buf, READ_CHUNK).await?,
            }
        }
    }

    async fn read_to_close(
        &mut self,
        buf: &mut BytesMut,
        keep: Option<u64>,
    ) -> Result<Bytes, HttpError> {
        loop {
            match keep {
                None => buf.clear(),
                Some(max) if buf.len() as u64 > max => return Err(HttpError::body_too_large(max)),
                Some(_) => {}
            }
            if self.fill(buf, 4 * READ_CHUNK).await? == 0 {
                return Ok(buf.split().freeze());
            }
        }
    }
}

/// Request line and headers, ending with the blank line.
fn encode_head(
    w: &mut Vec<u8>,
    method: &Method,
    url: &Url,
    headers: &[(HeaderName, HeaderValue)],
    body_len: usize,
    added: &Added<'_>,
) {
    w.clear();
    w.extend_from_slice(method.as_str().as_bytes());
    w.push(b' ');
    if added.absolute {
        // Without user info: `scheme://host[:port]`, then the path and query.
        w.extend_from_slice(url.scheme().as_bytes());
        w.extend_from_slice(b"://");
        w.extend_from_slice(url[Position::BeforeHost..Position::AfterPort].as_bytes());
    }
    w.extend_from_slice(url[Position::BeforePath..Position::AfterQuery].as_bytes());
    w.extend_from_slice(b" HTTP/1.1\r\n");
    if let Some(host) = added.host {
        line(w, b"Host", host);
    }
    for (name, value) in headers {
        line(w, name.as_str().as_bytes(), value.as_bytes());
    }
    if let Some(agent) = added.user_agent {
        line(w, b"User-Agent", agent);
    }
    if let Some(auth) = added.authorization {
        line(w, b"Authorization", auth);
    }
    if let Some(auth) = added.proxy_authorization {
        line(w, b"Proxy-Authorization", auth);
    }
    if let Some(cookie) = added.cookie {
        line(w, b"Cookie", cookie);
    }
    if added.accept_encoding {
        w.extend_from_slice(ACCEPT_ENCODING_LINE);
    }
    if added.content_length {
        w.extend_from_slice(b"Content-Length: ");
        push_decimal(w, body_len);
        w.extend_from_slice(b"\r\n");
    }
    if added.close {
        line(w, b"Connection", b"close");
    }
    w.extend_from_slice(b"\r\n");
}

fn line(w: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    w.extend_from_slice(name);
    w.extend_from_slice(b": ");
    w.extend_from_slice(value);
    w.extend_from_slice(b"\r\n");
}

fn push_decimal(w: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    w.extend_from_slice(&digits[i..]);
}

/// How the response body is delimited.
#[derive(Debug, PartialEq, Eq)]
enum Framing {
    Empty,
    Length(u64),
    Chunked,
    UntilClose,
}

struct Head {
    /// Length of the head in the buffer.
    len: usize,
    status: u16,
    version: Version,
    framing: Framing,
    keep_alive: bool,
    set_cookie: bool,
    encoded: bool,
}

enum Parsed {
    Partial,
    /// A 1xx response of this many bytes, to skip.
    Informational(usize),
    /// The final head, still at the start of the buffer.
    Final(Head),
}

/// Parse a response head at the start of `buf`.
fn parse_head(buf: &[u8], head_request: bool) -> Result<Parsed, HttpError> {
    // Uninitialised slots: zeroing 128 of them cost more than parsing a small head.
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut resp, buf, &mut slots);
    let len = match parsed {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(Parsed::Partial),
        Err(e) => return Err(protocol(format_args!("malformed response head: {e}"))),
    };
    let status = resp.code.unwrap_or(0);
    if status == 101 {
        return Err(protocol("protocol upgrades are not supported"));
    }
    if (100..200).contains(&status) {
        return Ok(Parsed::Informational(len));
    }
    let version = if resp.version == Some(0) {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    let mut scan = Scan::default();
    for h in resp.headers.iter() {
        scan.header(h.name.as_bytes(), h.value);
    }
    let framing = scan.framing(status, head_request)?;
    let keep_alive = match version {
        Version::HTTP_10 => scan.keep_alive,
        _ => !scan.close,
    };
    Ok(Parsed::Final(Head {
        len,
        status,
        version,
        framing,
        keep_alive,
        set_cookie: scan.set_cookie,
        encoded: scan.encoded,
    }))
}

/// What the framing and connection headers of a head say, gathered in one pass.
struct Scan<'a> {
    /// The last `Transfer-Encoding` value.
    transfer_encoding: Option<&'a [u8]>,
    /// Every `Content-Length` value agreed on this length (`Err` when one did not parse
    /// or two disagreed).
    length: Result<Option<u64>, &'static str>,
    /// A `Connection` token `close` / `keep-alive` was seen.
    close: bool,
    keep_alive: bool,
    /// A `Set-Cookie` header was seen (the jar reads it from the kept head).
    set_cookie: bool,
    /// A `Content-Encoding` header was seen.
    encoded: bool,
}

impl Default for Scan<'_> {
    fn default() -> Self {
        Scan {
            transfer_encoding: None,
            length: Ok(None),
            close: false,
            keep_alive: false,
            set_cookie: false,
            encoded: false,
        }
    }
}

impl<'a> Scan<'a> {
    fn header(&mut self, name: &[u8], value: &'a [u8]) {
        // By length first: most names are none of the three and cost one comparison.
        match name.len() {
            17 if is_name(name, b"transfer-encoding") => self.transfer_encoding = Some(value),
            14 if is_name(name, b"content-length") => self.content_length(value),
            16 if is_name(name, b"content-encoding") => self.encoded = true,
            10 if is_name(name, b"set-cookie") => self.set_cookie = true,
            10 if is_name(name, b"connection") => {
                for token in value.split(|b| *b == b',').map(<[u8]>::trim_ascii) {
                    self.close |= token.eq_ignore_ascii_case(b"close");
                    self.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
                }
            }
            _ => {}
        }
    }

    fn content_length(&mut self, value: &[u8]) {
        let Ok(mut length) = self.length else { return };
        for part in value.split(|b| *b == b',') {
            let Some(n) = std::str::from_utf8(part.trim_ascii())
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
            else {
                self.length = Err("invalid Content-Length");
                return;
            };
            if length.is_some_and(|l| l != n) {
                self.length = Err("conflicting Content-Length values");
                return;
            }
            length = Some(n);
        }
        self.length = Ok(length);
    }

    fn framing(&self, status: u16, head_request: bool) -> Result<Framing, HttpError> {
        if head_request || status == 204 || status == 304 {
            return Ok(Framing::Empty);
        }
        if let Some(te) = self.transfer_encoding {
            let last = te.rsplit(|b| *b == b',').next().unwrap_or(b"");
            return Ok(if last.trim_ascii().eq_ignore_ascii_case(b"chunked") {
                Framing::Chunked
            } else {
                Framing::UntilClose
            });
        }
        Ok(match self.length.map_err(protocol)? {
            Some(0) => Framing::Empty,
            Some(n) => Framing::Length(n),
            None => Framing::UntilClose,
        })
    }
}

/// Whether header name `name` (as received) is `lower` (lower-case letters and `-`) in any
/// case. Setting bit 5 lower-cases a letter and keeps `-`; the only other byte it maps to
/// `-` or a letter is not a token byte, which `httparse` has refused in a name already.
fn is_name(name: &[u8], lower: &[u8]) -> bool {
    name.len() == lower.len() && name.iter().zip(lower).all(|(a, b)| a | 0x20 == *b)
}

fn protocol(what: impl std::fmt::Display) -> HttpError {
    HttpError::new(codes::GENERIC, what.to_string())
}

fn closed() -> HttpError {
    HttpError::new(
        codes::GENERIC,
        "connection closed before the response was complete (EOF)",
    )
}

fn io_error(e: &io::Error) -> HttpError {
    HttpError::io(e)
}
