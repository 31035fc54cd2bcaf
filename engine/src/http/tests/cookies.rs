//! The cookie jar and compression through the client: cookies stored from every hop's
//! `Set-Cookie` and sent back by path, the request's own cookies, `Accept-Encoding` and
//! transparent decoding, on HTTP/1.1 and h2c.

use http::Method;

use super::{client, run, serve};
use crate::http::{codes, ClientOptions, Request};

fn opts(http2: bool) -> ClientOptions {
    ClientOptions {
        http2,
        ..ClientOptions::default()
    }
}

#[test]
fn set_cookie_is_stored_on_redirects_and_sent_back_by_path() {
    for http2 in [false, true] {
        run(async {
            let server = serve(None).await;
            let mut c = client(opts(http2));
            let hello = c
                .send(Request::new(Method::GET, server.url("http", "/hello")))
                .await;
            assert_eq!(hello.header("x-cookie"), None, "no jar, no cookie");
            assert!(c.jar().is_none(), "no jar before a first cookie");
            // The 302 sets the cookies; the hop it leads to already sends them.
            let login = c
                .send(Request::new(Method::GET, server.url("http", "/login")))
                .await;
            assert_eq!(login.status, 200);
            let sent = login.header("x-cookie").unwrap_or("");
            assert!(
                sent.contains("sid=s1") && sent.contains("scoped=x"),
                "{sent}"
            );
            assert!(!sent.contains("gone"), "{sent}");
            let other = c
                .send(Request::new(Method::GET, server.url("http", "/hello")))
                .await;
            assert_eq!(other.header("x-cookie"), Some("sid=s1"), "path-scoped");
            let mut own = Request::new(Method::GET, server.url("http", "/hello"));
            own.cookies = vec![("sid".into(), "mine".into()), ("ab".into(), "b".into())];
            let own = c.send(own).await;
            assert_eq!(own.header("x-cookie"), Some("sid=mine; ab=b"));
            c.send(Request::new(Method::GET, server.url("http", "/logout")))
                .await;
            let after = c
                .send(Request::new(Method::GET, server.url("http", "/hello")))
                .await;
            assert_eq!(after.header("x-cookie"), None, "Max-Age=0 removed it");
            c.jar_mut().set(&server.url("http", "/"), "theme", "dark");
            let set = c
                .send(Request::new(Method::GET, server.url("http", "/hello")))
                .await;
            assert_eq!(set.header("x-cookie"), Some("theme=dark"));
            c.clear_cookies();
            let cleared = c
                .send(Request::new(Method::GET, server.url("http", "/hello")))
                .await;
            assert_eq!(cleared.header("x-cookie"), None);
        });
    }
}

#[test]
fn compressed_bodies_are_decoded_and_counted_on_the_wire() {
    for http2 in [false, true] {
        run(async {
            let server = serve(None).await;
            let mut c = client(opts(http2));
            let resp = c
                .send(Request::new(Method::GET, server.url("http", "/gzip")))
                .await;
            assert_eq!(resp.error, None);
            assert_eq!(
                resp.header("x-accept-encoding"),
                Some("gzip, br, deflate, zstd")
            );
            assert_eq!(resp.body.len(), 100_000);
            assert!(resp.wire_body < 1_000, "wire {}", resp.wire_body);
            assert!(resp.bytes_received < 2_000, "{}", resp.bytes_received);

            let mut small = client(ClientOptions {
                max_body: 50_000,
                ..opts(http2)
            });
            let bomb = small
                .send(Request::new(Method::GET, server.url("http", "/gzip")))
                .await;
            assert_eq!(bomb.error.map(|e| e.code), Some(codes::DECODED_TOO_LARGE));

            let mut off = client(ClientOptions {
                compression: false,
                ..opts(http2)
            });
            let raw = off
                .send(Request::new(Method::GET, server.url("http", "/gzip")))
                .await;
            assert_eq!(raw.header("x-accept-encoding"), None);
            assert_eq!(raw.body.len() as u64, raw.wire_body);
            assert!(raw.body.starts_with(&[0x1f, 0x8b]), "gzip as received");
        });
    }
}
