//! Plain-TCP behaviour: HTTP/1.1 and h2c requests, keep-alive, redirects, the DNS cache.

use std::sync::Arc;

use http::{HeaderName, HeaderValue, Method};

use super::{client, run, serve, url};
use crate::http::{ClientOptions, Request, Resolver, TlsConfig, VuClient};

#[test]
fn get_returns_status_body_headers_and_timings() {
    run(async {
        let server = serve(None).await;
        let mut c = client(ClientOptions::default());
        let resp = c
            .send(Request::new(Method::GET, server.url("http", "/hello")))
            .await;
        assert_eq!(resp.error, None);
        assert_eq!(resp.status, 200);
        assert_eq!(&resp.body[..], b"hello");
        assert_eq!(resp.header("x-test"), Some("yes"));
        assert_eq!(resp.header("x-user-agent"), Some("volley/0.1"));
        assert_eq!(
            resp.header("x-host"),
            Some(server.addr.to_string().as_str())
        );
        assert_eq!(resp.proto, "HTTP/1.1");
        let t = resp.timings;
        assert_eq!(t.duration, t.sending + t.waiting + t.receiving);
        assert!(t.duration > std::time::Duration::ZERO);
        // Request line + headers go out, status line + headers + body come back.
        assert!(resp.bytes_sent > 40, "sent {}", resp.bytes_sent);
        assert!(
            resp.bytes_received > 40 + 5,
            "received {}",
            resp.bytes_received
        );
    });
}

#[test]
fn post_sends_body_and_content_length() {
    run(async {
        let server = serve(None).await;
        let mut c = client(ClientOptions::default());
        let req = Request::new(Method::POST, server.url("http", "/echo"))
            .body("a body")
            .header(
                HeaderName::from_static("user-agent"),
                HeaderValue::from_static("mine"),
            );
        let resp = c.send(req).await;
        assert_eq!(resp.status, 200);
        assert_eq!(&resp.body[..], b"a body");
        assert_eq!(resp.header("x-method"), Some("POST"));
        assert_eq!(resp.header("x-content-length"), Some("6"));
        assert_eq!(resp.header("x-user-agent"), Some("mine"));
        assert!(resp.bytes_sent >= 6 + 40);

        let empty = c
            .send(Request::new(Method::POST, server.url("http", "/echo")))
            .await;
        assert_eq!(empty.status, 200);
        assert_eq!(empty.header("x-content-length"), Some("0"));
    });
}

#[test]
fn keep_alive_reuses_one_connection() {
    run(async {
        let server = serve(None).await;
        let mut c = client(ClientOptions::default());
        for i in 0..50 {
            let path = if i % 2 == 0 { "/hello" } else { "/big" };
            let resp = c
                .send(Request::new(Method::GET, server.url("http", path)))
                .await;
            assert_eq!(resp.status, 200, "request {i}: {:?}", resp.error);
            if i > 0 {
                assert_eq!(resp.timings.connecting, std::time::Duration::ZERO);
            }
        }
        assert_eq!(server.accepts.get(), 1);
        assert_eq!(c.idle_connections(), 1);
        c.close();
        assert_eq!(c.idle_connections(), 0);
        let resp = c
            .send(Request::new(Method::GET, server.url("http", "/hello")))
            .await;
        assert_eq!(resp.status, 200);
        assert_eq!(server.accepts.get(), 2);
    });
}

#[test]
fn no_reuse_dials_every_time() {
    run(async {
        let server = serve(None).await;
        let mut c = client(ClientOptions {
            reuse_connections: false,
            ..ClientOptions::default()
        });
        for _ in 0..5 {
            let resp = c
                .send(Request::new(Method::GET, server.url("http", "/echo")))
                .await;
            assert_eq!(resp.status, 200);
            assert_eq!(resp.header("x-connection"), Some("close"));
        }
        assert_eq!(server.accepts.get(), 5);
        assert_eq!(c.idle_connections(), 0);
    });
}

#[test]
fn connection_close_response_is_not_pooled() {
    run(async {
        let server = serve(None).await;
        let mut c = client(ClientOptions::default());
        for _ in 0..3 {
            let resp = c
                .send(Request::new(Method::GET, server.url("http", "/close")))
                .await;
            assert_eq!(resp.status, 200, "{:?}", resp.error);
            assert_eq!(&resp.body[..], b"bye");
        }
        assert_eq!(server.accepts.get(), 3);
    });
}

#[test]
fn big_and_discarded_bodies_are_counted() {
    run(async {
        let server = serve(None).await;
        let mut c = client(ClientOptions::default());
        let resp = c
            .send(Request::new(Method::GET, server.url("http", "/big")))
            .await;
        assert_eq!(resp.body.len(), 256 * 1024);
        assert!(resp.body.iter().all(|b| *b == b'x'));
        let mut req = Request::new(Method::GET, server.url("http", "/big"));
        req.discard_body = true;
        let resp = c.send(req).await;
        assert_eq!(resp.status, 200);
        assert!(resp.body.is_empty());
        assert!(resp.bytes_received >= 256 * 1024);
    });
}

#[test]
fn h2c_prior_knowledge() {
    run(async {
        let server = serve(None).await;
        let mut c = client(ClientOptions {
            http2: true,
            ..ClientOptions::default()
        });
        for _ in 0..10 {
            let req = Request::new(Method::POST, server.url("http", "/echo")).body("h2 body");
            let resp = c.send(req).await;
            assert_eq!(resp.error, None);
            assert_eq!(resp.status, 200);
            assert_eq!(resp.proto, "HTTP/2");
            assert_eq!(&resp.body[..], b"h2 body");
            assert_eq!(resp.header("x-version"), Some("HTTP/2.0"));
            assert_eq!(
                resp.header("x-authority"),
                Some(server.addr.to_string().as_str())
            );
        }
        let resp = c
            .send(Request::new(Method::GET, server.url("http", "/big")))
            .await;
        assert_eq!(resp.body.len(), 256 * 1024);
        assert_eq!(server.accepts.get(), 1);
    });
}

#[test]
fn redirects_are_followed_up_to_the_limit() {
    run(async {
        let server = serve(None).await;
        let mut c = client(ClientOptions::default());
        let resp = c
            .send(Request::new(Method::GET, server.url("http", "/redirect/3")))
            .await;
        assert_eq!(resp.status, 200);
        assert_eq!(&resp.body[..], b"done");
        assert_eq!(resp.url.path(), "/redirect/0");

        let mut c = client(ClientOptions {
            max_redirects: 2,
            ..ClientOptions::default()
        });
        let resp = c
            .send(Request::new(Method::GET, server.url("http", "/redirect/3")))
            .await;
        assert_eq!(resp.status, 302);
        assert_eq!(resp.error, None);
        assert_eq!(resp.url.path(), "/redirect/1");

        let mut c = client(ClientOptions {
            max_redirects: 0,
            ..ClientOptions::default()
        });
        let resp = c
            .send(Request::new(Method::GET, server.url("http", "/redirect/3")))
            .await;
        assert_eq!(resp.status, 302);
        assert_eq!(resp.url.path(), "/redirect/3");
        assert_eq!(resp.header("location"), Some("/redirect/2"));
        // Three clients, each following its hops over one connection.
        assert_eq!(server.accepts.get(), 3);
    });
}

/// A request's own limit (`redirects:`) replaces the options' for that request only,
/// fewer or more; hops are counted as with the options' limit.
#[test]
fn a_request_limit_overrides_the_options() {
    run(async {
        let server = serve(None).await;
        let mut c = client(ClientOptions {
            max_redirects: 2,
            ..ClientOptions::default()
        });
        let url = || server.url("http", "/redirect/3");
        let resp = c
            .send(Request::new(Method::GET, url()).max_redirects(0))
            .await;
        assert_eq!((resp.status, resp.url.path()), (302, "/redirect/3"));
        assert!(resp.redirects.is_empty());
        let resp = c
            .send(Request::new(Method::GET, url()).max_redirects(1))
            .await;
        assert_eq!((resp.status, resp.url.path()), (302, "/redirect/2"));
        assert_eq!(resp.redirects.len(), 1);
        // More than the options allow.
        let resp = c
            .send(Request::new(Method::GET, url()).max_redirects(3))
            .await;
        assert_eq!((resp.status, resp.url.path()), (200, "/redirect/0"));
        assert_eq!(resp.redirects.len(), 3);
        // The next request without one is back to the options' 2.
        let resp = c.send(Request::new(Method::GET, url())).await;
        assert_eq!((resp.status, resp.url.path()), (302, "/redirect/1"));
        assert_eq!(resp.redirects.len(), 2);
    });
}

#[test]
fn redirect_methods_follow_go() {
    run(async {
        let server = serve(None).await;
        let mut c = client(ClientOptions::default());
        let req = Request::new(Method::POST, server.url("http", "/see-other")).body("x");
        let resp = c.send(req).await;
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("x-method"), Some("GET"));
        assert!(resp.body.is_empty());
        assert_eq!(resp.url.path(), "/echo");

        let req = Request::new(Method::POST, server.url("http", "/temporary")).body("kept");
        let resp = c.send(req).await;
        assert_eq!(resp.header("x-method"), Some("POST"));
        assert_eq!(&resp.body[..], b"kept");
    });
}

#[test]
fn dns_cache_resolves_localhost_once() {
    run(async {
        let server = serve(None).await;
        let resolver = Resolver::new();
        let opts = Arc::new(ClientOptions {
            reuse_connections: false,
            ..ClientOptions::default()
        });
        let tls = TlsConfig::new().expect("tls");
        let mut a = VuClient::new(Arc::clone(&opts), Arc::clone(&resolver), Arc::clone(&tls));
        let mut b = VuClient::new(Arc::clone(&opts), Arc::clone(&resolver), tls);
        let target = url(&format!("http://localhost:{}/hello", server.addr.port()));
        for i in 0..3 {
            let c = if i == 1 { &mut b } else { &mut a };
            let resp = c.send(Request::new(Method::GET, target.clone())).await;
            assert_eq!(resp.status, 200, "{:?}", resp.error);
            assert_eq!(
                resp.header("x-host"),
                Some(format!("localhost:{}", server.addr.port()).as_str())
            );
        }
        assert_eq!(server.accepts.get(), 3);
        assert_eq!(resolver.lookups(), 1);
        // IP literals never reach the system resolver.
        let ip = resolver
            .resolve("127.0.0.1", 80, &opts.dns)
            .await
            .expect("literal");
        assert_eq!(ip.to_string(), "127.0.0.1:80");
        let v6 = resolver
            .resolve("[::1]", 80, &opts.dns)
            .await
            .expect("literal");
        assert_eq!(v6.to_string(), "[::1]:80");
        assert_eq!(resolver.lookups(), 1);
    });
}

#[test]
fn basic_auth_from_url() {
    run(async {
        let server = serve(None).await;
        let mut c = client(ClientOptions::default());
        let target = url(&format!("http://user:p%40ss@{}/echo", server.addr));
        let resp = c.send(Request::new(Method::GET, target)).await;
        assert_eq!(resp.status, 200);
        assert_eq!(
            resp.header("x-host"),
            Some(server.addr.to_string().as_str())
        );
        assert_eq!(resp.header("x-authorization"), Some("Basic dXNlcjpwQHNz"));
    });
}
