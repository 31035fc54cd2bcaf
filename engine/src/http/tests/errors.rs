//! Failures: refused, reset, silent servers, stale pooled connections, unusable URLs.

use std::time::{Duration, Instant};

use http::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{client, listen, run, url};
use crate::http::{codes, ClientOptions, Request};

#[test]
fn closed_port_is_connection_refused() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let mut c = client(ClientOptions::default());
        let resp = c
            .send(Request::new(Method::GET, url(&format!("http://{addr}/"))))
            .await;
        assert_eq!(resp.status, 0);
        assert_eq!(resp.error.map(|e| e.code), Some(codes::CONNECTION_REFUSED));
    });
}

#[test]
fn reset_on_accept_is_an_error_not_a_hang() {
    run(async {
        let server = listen(|tcp: TcpStream| async move {
            let _ = tcp.set_zero_linger();
            drop(tcp);
        })
        .await;
        let mut c = client(ClientOptions {
            timeout: Duration::from_secs(10),
            ..ClientOptions::default()
        });
        let started = Instant::now();
        let resp = c
            .send(Request::new(Method::GET, server.url("http", "/")))
            .await;
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(resp.status, 0);
        let err = resp.error.expect("an error");
        assert_ne!(err.code, codes::REQUEST_TIMEOUT, "{err}");
    });
}

#[test]
fn close_on_accept_is_an_error_not_a_hang() {
    run(async {
        let server = listen(|tcp: TcpStream| async move { drop(tcp) }).await;
        let mut c = client(ClientOptions {
            timeout: Duration::from_secs(10),
            ..ClientOptions::default()
        });
        for _ in 0..3 {
            let resp = c
                .send(Request::new(Method::GET, server.url("http", "/")))
                .await;
            assert_eq!(resp.status, 0);
            let err = resp.error.expect("an error");
            assert_ne!(err.code, codes::REQUEST_TIMEOUT, "{err}");
        }
        // A fresh connection is never retried.
        assert_eq!(server.accepts.get(), 3);
    });
}

#[test]
fn silent_server_times_out_with_1050() {
    run(async {
        let server = listen(|mut tcp: TcpStream| async move {
            // Read forever, answer never.
            let mut buf = [0u8; 1024];
            while let Ok(n) = tcp.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        })
        .await;
        let mut c = client(ClientOptions {
            timeout: Duration::from_millis(300),
            ..ClientOptions::default()
        });
        let started = Instant::now();
        let resp = c
            .send(Request::new(Method::GET, server.url("http", "/")))
            .await;
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(250) && took < Duration::from_secs(5));
        assert_eq!(resp.status, 0);
        assert_eq!(resp.error.map(|e| e.code), Some(codes::REQUEST_TIMEOUT));
        assert!(resp.bytes_sent > 0);
        assert!(resp.timings.duration >= Duration::from_millis(200));
        assert_eq!(c.idle_connections(), 0);

        // The per-request timeout overrides the client's.
        let req =
            Request::new(Method::GET, server.url("http", "/")).timeout(Duration::from_millis(50));
        let started = Instant::now();
        let resp = c.send(req).await;
        assert!(started.elapsed() < Duration::from_millis(250));
        assert_eq!(resp.error.map(|e| e.code), Some(codes::REQUEST_TIMEOUT));
    });
}

/// Reads one request head; `false` at EOF.
async fn read_head(tcp: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    true
}

#[test]
fn request_failing_on_a_reused_connection_is_retried_once() {
    run(async {
        // Answers the first request of each connection, then drops it when the second
        // request arrives: the race of a server closing an idle keep-alive connection.
        let server = listen(|mut tcp: TcpStream| async move {
            if read_head(&mut tcp).await {
                let _ = tcp
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .await;
                let _ = read_head(&mut tcp).await;
            }
        })
        .await;
        let mut c = client(ClientOptions::default());
        for i in 0..4 {
            let resp = c
                .send(Request::new(Method::POST, server.url("http", "/")).body("b"))
                .await;
            assert_eq!(resp.error, None, "request {i}");
            assert_eq!(&resp.body[..], b"ok");
        }
        assert_eq!(server.accepts.get(), 4);
    });
}

#[test]
fn pooled_connection_closed_by_server_is_replaced() {
    run(async {
        // Answers one request, then closes (without saying `Connection: close`).
        let server = listen(|mut tcp: TcpStream| async move {
            if read_head(&mut tcp).await {
                let _ = tcp
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .await;
            }
        })
        .await;
        let mut c = client(ClientOptions::default());
        for i in 0..4 {
            let resp = c
                .send(Request::new(Method::GET, server.url("http", "/")))
                .await;
            assert_eq!(resp.error, None, "request {i}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(server.accepts.get(), 4);
    });
}

#[test]
fn unusable_urls_fail_with_1020() {
    run(async {
        let mut c = client(ClientOptions::default());
        for bad in ["ftp://127.0.0.1/x", "mailto:someone@example.com"] {
            let resp = c.send(Request::new(Method::GET, url(bad))).await;
            assert_eq!(resp.status, 0);
            assert_eq!(
                resp.error.map(|e| e.code),
                Some(codes::INVALID_URL),
                "{bad}"
            );
        }
        let mut req = Request::new(Method::GET, url("http://127.0.0.1/"));
        let err = req.try_header("bad name", "v").expect_err("bad header");
        assert_eq!(err.code, codes::INVALID_URL);
        assert!(req.try_header("x-ok", "fine").is_ok());
        assert!(req.try_header("x-bad", "line\nbreak").is_err());
    });
}
