//! The HTTP/1.1 exchange over an in-memory pipe: request encoding and every body framing,
//! with the response fed in small pieces so that every partial-read path runs.

use std::rc::Rc;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Version};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{run, url};
use crate::http::error::HttpError;
use crate::http::h1::{Added, Buffers, H1Conn, Reply};
use crate::http::Request;

/// Send `method` with `body` to a fake server answering `response` (in 7-byte pieces,
/// then closing); returns the reply and the exact request bytes.
async fn exchange(
    method: Method,
    body: &'static [u8],
    response: &'static [u8],
    discard: bool,
) -> (Result<Reply, HttpError>, Vec<u8>) {
    let (client, mut server) = tokio::io::duplex(64);
    let expected = body.len();
    let server = tokio::task::spawn_local(async move {
        let mut request = Vec::new();
        let mut buf = [0u8; 256];
        loop {
            let end = request.windows(4).position(|w| w == b"\r\n\r\n");
            if end.is_some_and(|e| request.len() >= e + 4 + expected) {
                break;
            }
            match server.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        for piece in response.chunks(7) {
            if server.write_all(piece).await.is_err() {
                break;
            }
            tokio::task::yield_now().await;
        }
        request
    });
    let mut conn = H1Conn {
        io: client,
        stats: Rc::default(),
    };
    let mut bufs = Buffers::default();
    let added = Added {
        host: Some(b"example.test"),
        user_agent: Some(b"volley/test"),
        authorization: None,
        content_length: !body.is_empty() || method == Method::POST,
        close: false,
        absolute: false,
        proxy_authorization: None,
        cookie: None,
        accept_encoding: false,
    };
    let mut req = Request::new(method, url("http://example.test/p?q=1#frag"))
        .header(
            HeaderName::from_static("x-custom"),
            HeaderValue::from_static("1"),
        )
        .body(Bytes::from_static(body));
    req.discard_body = discard;
    let reply = conn.exchange(&mut bufs, &req, &added, 1 << 30).await;
    let request = server.await.expect("server task");
    (reply, request)
}

fn ok(result: Result<Reply, HttpError>) -> Reply {
    result.expect("a reply")
}

#[test]
fn request_is_encoded_exactly() {
    run(async {
        let (reply, request) = exchange(
            Method::POST,
            b"hello",
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            false,
        )
        .await;
        assert_eq!(ok(reply).status, 200);
        assert_eq!(
            String::from_utf8_lossy(&request),
            "POST /p?q=1 HTTP/1.1\r\nHost: example.test\r\nx-custom: 1\r\n\
             User-Agent: volley/test\r\nContent-Length: 5\r\n\r\nhello"
        );
    });
}

#[test]
fn content_length_body_and_headers() {
    run(async {
        let (reply, _) = exchange(
            Method::GET,
            b"",
            b"HTTP/1.1 201 Created\r\nX-A: one\r\nx-a: two\r\nContent-Length: 11\r\n\r\nhello world",
            false,
        )
        .await;
        let reply = ok(reply);
        assert_eq!(reply.status, 201);
        assert_eq!(reply.version, Version::HTTP_11);
        assert_eq!(&reply.body[..], b"hello world");
        let values: Vec<_> = reply.headers.get_all("x-a").iter().collect();
        assert_eq!(values, ["one", "two"]);
        assert!(reply.reusable);
        assert!(reply.first_byte >= reply.written);
    });
}

#[test]
fn chunked_body_with_trailers_and_informational_head() {
    run(async {
        let (reply, _) = exchange(
            Method::GET,
            b"",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
              5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
            false,
        )
        .await;
        let reply = ok(reply);
        assert_eq!(reply.status, 200);
        assert_eq!(&reply.body[..], b"hello world");
        assert!(reply.reusable);
    });
}

#[test]
fn discarded_bodies_are_read_but_not_kept() {
    run(async {
        for response in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"[..],
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"[..],
        ] {
            let (reply, _) = exchange(Method::GET, b"", response, true).await;
            let reply = ok(reply);
            assert!(reply.body.is_empty());
            assert!(reply.reusable);
        }
    });
}

#[test]
fn bodiless_responses() {
    run(async {
        let (reply, _) = exchange(
            Method::HEAD,
            b"",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
            false,
        )
        .await;
        let reply = ok(reply);
        assert!(reply.body.is_empty());
        assert!(reply.reusable);
        let (reply, _) =
            exchange(Method::GET, b"", b"HTTP/1.1 204 No Content\r\n\r\n", false).await;
        assert_eq!(ok(reply).status, 204);
    });
}

#[test]
fn body_until_close_and_http10_rules() {
    run(async {
        let (reply, _) =
            exchange(Method::GET, b"", b"HTTP/1.0 200 OK\r\n\r\nall of it", false).await;
        let reply = ok(reply);
        assert_eq!(reply.version, Version::HTTP_10);
        assert_eq!(&reply.body[..], b"all of it");
        assert!(!reply.reusable);
        let (reply, _) = exchange(
            Method::GET,
            b"",
            b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok",
            false,
        )
        .await;
        assert!(ok(reply).reusable);
        let (reply, _) = exchange(
            Method::GET,
            b"",
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
            false,
        )
        .await;
        assert!(!ok(reply).reusable);
    });
}

#[test]
fn broken_responses_are_errors() {
    run(async {
        for response in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"[..],
            &b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok"[..],
            &b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"[..],
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"[..],
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX"[..],
            &b"NOT HTTP AT ALL\r\n\r\n"[..],
            &b"HTTP/1.1 101 Switching Protocols\r\n\r\n"[..],
            &b""[..],
        ] {
            let (reply, _) = exchange(Method::GET, b"", response, false).await;
            let text = String::from_utf8_lossy(response);
            assert!(reply.is_err(), "accepted {text:?}");
        }
    });
}

#[test]
fn large_body_over_many_reads() {
    run(async {
        let mut response = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".to_vec();
        response.extend(std::iter::repeat_n(b'z', 100_000));
        let response: &'static [u8] = Box::leak(response.into_boxed_slice());
        let (reply, _) = exchange(Method::GET, b"", response, false).await;
        let reply = ok(reply);
        assert_eq!(reply.body.len(), 100_000);
        assert!(reply.body.iter().all(|b| *b == b'z'));
    });
}
