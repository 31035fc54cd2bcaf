//! The demo shop end to end over loopback: every endpoint and error case through a real
//! hyper client (HTTP/1.1 keep-alive and HTTP/2 prior knowledge), the stats, latency and
//! shutdown. Every test binds 127.0.0.1:0 and every await on the network is bounded.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test binary: its helpers panic with the failure message"
)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper::header::{HeaderMap, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, StatusCode, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use volley_demo::{DemoConfig, DemoServer};

const LIMIT: Duration = Duration::from_secs(10);

async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("bounded in time")
}

async fn start(latency: bool) -> DemoServer {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    DemoServer::start(
        addr,
        DemoConfig {
            latency,
            ..DemoConfig::default()
        },
    )
    .await
    .expect("binds loopback")
}

struct Reply {
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn json(&self) -> Value {
        assert_eq!(
            self.headers[CONTENT_TYPE], "application/json",
            "{:?}",
            self.body
        );
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }
    fn error(&self, status: StatusCode) -> String {
        assert_eq!(self.status, status, "{:?}", self.body);
        self.json()["error"]
            .as_str()
            .expect("an error message")
            .to_string()
    }
}

/// One HTTP/1.1 keep-alive connection; its driver task ends when the server closes it.
struct H1 {
    send: http1::SendRequest<Full<Bytes>>,
    driver: tokio::task::JoinHandle<()>,
}

impl H1 {
    async fn connect(addr: SocketAddr) -> H1 {
        let stream = bounded(TcpStream::connect(addr)).await.expect("connects");
        let (send, conn) = bounded(http1::handshake(TokioIo::new(stream)))
            .await
            .expect("handshake");
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        });
        H1 { send, driver }
    }

    async fn call(&mut self, method: Method, path: &str, body: Option<&str>) -> Reply {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "shop.test")
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.unwrap_or("").to_string())))
            .unwrap();
        bounded(async {
            self.send.ready().await.expect("connection ready");
            let res = self.send.send_request(req).await.expect("response");
            let (parts, body) = res.into_parts();
            let body = body.collect().await.expect("body").to_bytes();
            Reply {
                status: parts.status,
                version: parts.version,
                headers: parts.headers,
                body,
            }
        })
        .await
    }

    async fn get(&mut self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    async fn post(&mut self, path: &str, body: &str) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }
}

#[tokio::test]
async fn login_answers_tokens_and_rejects_bad_bodies() {
    let server = start(false).await;
    let mut c = H1::connect(server.addr()).await;

    let ok = c
        .post("/api/login", r#"{"email":"a@example.com","password":"pw"}"#)
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let v = ok.json();
    assert_eq!(v["user"], "a@example.com");
    let token = v["token"].as_str().unwrap();
    let hex = token
        .strip_prefix("tok-")
        .unwrap_or_else(|| panic!("{token}"));
    assert!(
        !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{token}"
    );

    assert!(c
        .post("/api/login", "{not json")
        .await
        .error(StatusCode::BAD_REQUEST)
        .contains("JSON"));
    let missing = c.post("/api/login", r#"{"email":"a@example.com"}"#).await;
    assert!(missing.error(StatusCode::BAD_REQUEST).contains("password"));
    c.post("/api/login", r#"{"email":5,"password":"pw"}"#)
        .await
        .error(StatusCode::BAD_REQUEST);
    c.post("/api/login", "")
        .await
        .error(StatusCode::BAD_REQUEST);
    c.post("/api/login", r#"{"email":"a@example.com","password":""}"#)
        .await
        .error(StatusCode::UNAUTHORIZED);

    assert_eq!(server.stats().requests["POST /api/login"], 6);
    bounded(server.shutdown()).await;
}

#[tokio::test]
async fn products_list_pages_and_validates() {
    let server = start(false).await;
    let mut c = H1::connect(server.addr()).await;

    let first = c.get("/api/products").await;
    assert_eq!(first.status, StatusCode::OK);
    let v = first.json();
    assert_eq!(v["page"], 1);
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 20);
    assert_eq!(items[0]["id"], 1);
    assert!(
        items[0]["name"].is_string() && items[0]["price"].is_number(),
        "{v}"
    );

    let v = c.get("/api/products?page=3&limit=5").await.json();
    assert_eq!(v["page"], 3);
    let ids: Vec<u64> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [11, 12, 13, 14, 15]);

    let v = c.get("/api/products?limit=1000").await.json();
    assert_eq!(
        v["items"].as_array().unwrap().len(),
        100,
        "limit is capped at 100"
    );
    let v = c.get("/api/products?page=999").await.json();
    assert_eq!(v["items"].as_array().unwrap().len(), 0);

    for bad in ["page=abc", "page=0", "limit=-1", "limit=", "page=1.5"] {
        c.get(&format!("/api/products?{bad}"))
            .await
            .error(StatusCode::BAD_REQUEST);
    }
    assert_eq!(server.stats().requests["GET /api/products"], 9);
    bounded(server.shutdown()).await;
}

#[tokio::test]
async fn product_pages_exist_for_ids_1_to_1000() {
    let server = start(false).await;
    let mut c = H1::connect(server.addr()).await;
    for id in [1, 42, 1000] {
        let r = c.get(&format!("/api/products/{id}")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json()["id"], id);
    }
    let again = c.get("/api/products/42").await.body;
    assert_eq!(
        again,
        c.get("/api/products/42").await.body,
        "products are stable"
    );
    for missing in ["0", "1001", "abc", "-1", "42/reviews", ""] {
        c.get(&format!("/api/products/{missing}"))
            .await
            .error(StatusCode::NOT_FOUND);
    }
    assert_eq!(server.stats().requests["GET /api/products/{id}"], 11);
    bounded(server.shutdown()).await;
}

#[tokio::test]
async fn cart_and_checkout() {
    let server = start(false).await;
    let mut c = H1::connect(server.addr()).await;

    let r = c.post("/api/cart", r#"{"product_id":42,"qty":3}"#).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let v = r.json();
    assert_eq!(v["items"], 3);
    assert!(v["cart_id"].is_u64(), "{v}");
    for bad in [
        "",
        "[]",
        r#"{"product_id":42}"#,
        r#"{"product_id":"42","qty":1}"#,
        r#"{"product_id":42,"qty":0}"#,
    ] {
        c.post("/api/cart", bad)
            .await
            .error(StatusCode::BAD_REQUEST);
    }
    c.post("/api/cart", r#"{"product_id":5000,"qty":1}"#)
        .await
        .error(StatusCode::NOT_FOUND);

    let pay = c
        .post("/api/checkout", r#"{"payment_method":"card_test"}"#)
        .await;
    assert_eq!(pay.status, StatusCode::OK);
    let v = pay.json();
    assert_eq!(v["status"], "paid");
    let first = v["order_id"].as_u64().unwrap();
    let next = c.post("/api/checkout", "").await.json()["order_id"]
        .as_u64()
        .unwrap();
    assert!(next > first, "{first} then {next}");
    c.post("/api/checkout", "nope")
        .await
        .error(StatusCode::BAD_REQUEST);
    bounded(server.shutdown()).await;
}

#[tokio::test]
async fn orders_admin_and_stats() {
    let server = start(false).await;
    let mut c = H1::connect(server.addr()).await;

    for want in 1..=3 {
        let r = c.post("/api/orders", r#"{"qty":1}"#).await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(r.json()["id"], want);
    }
    assert_eq!(c.get("/api/orders").await.json()["count"], 3);
    let report = c.post("/api/admin/report", "").await;
    assert_eq!(report.status, StatusCode::OK);
    assert_eq!(report.json()["orders"], 3);

    let reset = c.post("/api/admin/reset", "").await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT);
    assert!(reset.body.is_empty());
    let token = reset.headers["x-token"].to_str().unwrap();
    assert!(
        token.starts_with("admin-") && token.len() > "admin-".len(),
        "{token}"
    );
    assert_eq!(c.get("/api/orders").await.json()["count"], 0);
    assert_eq!(
        c.post("/api/orders", "").await.json()["id"],
        1,
        "ids restart after a reset"
    );
    c.post("/api/orders", "{")
        .await
        .error(StatusCode::BAD_REQUEST);

    let health = c.get("/health").await;
    assert_eq!(
        (health.status, &health.body[..]),
        (StatusCode::OK, &b"ok"[..])
    );
    c.get("/nope").await.error(StatusCode::NOT_FOUND);
    let wrong = c.call(Method::DELETE, "/api/orders", None).await;
    assert_eq!(wrong.headers[ALLOW], "GET, POST");
    wrong.error(StatusCode::METHOD_NOT_ALLOWED);
    c.get("/api/login")
        .await
        .error(StatusCode::METHOD_NOT_ALLOWED);

    let stats = c.get("/api/admin/stats").await.json();
    let r = &stats["requests"];
    assert_eq!(r["POST /api/orders"], 5, "{stats}");
    assert_eq!(r["GET /api/orders"], 2, "{stats}");
    assert_eq!(r["POST /api/admin/reset"], 1, "{stats}");
    assert_eq!(r["POST /api/admin/report"], 1, "{stats}");
    assert_eq!(r["GET /health"], 1, "{stats}");
    assert_eq!(r["GET /api/admin/stats"], 1, "{stats}");
    assert_eq!(r["POST /api/login"], 0, "zeros are listed: {stats}");
    let total: u64 = server.stats().requests.values().sum();
    assert_eq!(total, 11, "404 and 405 are not counted");
    bounded(server.shutdown()).await;
}

#[tokio::test]
async fn large_bodies_are_refused() {
    let server = start(false).await;
    let mut c = H1::connect(server.addr()).await;
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(100 * 1024));
    c.post("/api/orders", &big)
        .await
        .error(StatusCode::PAYLOAD_TOO_LARGE);
    bounded(server.shutdown()).await;
}

#[tokio::test]
async fn http2_prior_knowledge_on_the_same_port() {
    let server = start(false).await;
    let stream = bounded(TcpStream::connect(server.addr())).await.unwrap();
    let (mut send, conn) = bounded(http2::handshake(TokioExecutor::new(), TokioIo::new(stream)))
        .await
        .expect("h2c");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut pending = Vec::new();
    for id in [7u64, 8, 9] {
        let req = Request::builder()
            .uri(format!("{}/api/products/{id}", server.url()))
            .body(Full::new(Bytes::new()))
            .unwrap();
        pending.push((id, send.send_request(req)));
    }
    for (id, res) in pending {
        let res = bounded(res).await.expect("h2 response");
        let (parts, body) = res.into_parts();
        let body = bounded(body.collect()).await.unwrap().to_bytes();
        let reply = Reply {
            status: parts.status,
            version: parts.version,
            headers: parts.headers,
            body,
        };
        assert_eq!(
            (reply.status, reply.version),
            (StatusCode::OK, Version::HTTP_2)
        );
        assert_eq!(reply.json()["id"], id);
    }
    assert_eq!(server.stats().requests["GET /api/products/{id}"], 3);
    bounded(server.shutdown()).await;
}

#[tokio::test]
async fn connection_close_is_honoured() {
    let server = start(false).await;
    let mut s = bounded(TcpStream::connect(server.addr())).await.unwrap();
    let req = "GET /api/admin/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    bounded(s.write_all(req.as_bytes())).await.unwrap();
    let mut out = String::new();
    bounded(s.read_to_string(&mut out))
        .await
        .expect("server closes the connection");
    let (head, body) = out.split_once("\r\n\r\n").expect("a full response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let v: Value = serde_json::from_str(body).expect("stats JSON");
    assert_eq!(v["requests"]["GET /api/admin/stats"], 1);
    bounded(server.shutdown()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_keep_alive_load_is_counted() {
    let server = start(false).await;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let addr = server.addr();
        tasks.push(tokio::spawn(async move {
            let mut c = H1::connect(addr).await;
            for i in 0..250 {
                let r = c.get(&format!("/api/products/{}", i % 1000 + 1)).await;
                assert_eq!(r.status, StatusCode::OK);
            }
        }));
    }
    for t in tasks {
        bounded(t).await.expect("client task");
    }
    assert_eq!(server.stats().requests["GET /api/products/{id}"], 1000);
    bounded(server.shutdown()).await;
}

#[tokio::test]
async fn latency_delays_answers_without_blocking_the_runtime() {
    // A current-thread runtime: if a delay blocked the thread, the 20 concurrent requests
    // could not overlap; either way every one must come back.
    let server = start(true).await;
    let mut c = H1::connect(server.addr()).await;
    let t0 = Instant::now();
    let pay = c.post("/api/checkout", "{}").await;
    assert_eq!(pay.status, StatusCode::OK);
    assert!(
        t0.elapsed() >= Duration::from_millis(8),
        "checkout takes 8-20 ms: {:?}",
        t0.elapsed()
    );
    assert_eq!(c.get("/health").await.status, StatusCode::OK);

    let mut tasks = Vec::new();
    for _ in 0..20 {
        let addr = server.addr();
        tasks.push(tokio::spawn(async move {
            let mut c = H1::connect(addr).await;
            c.post("/api/login", r#"{"email":"u@example.com","password":"pw"}"#)
                .await
                .status
        }));
    }
    for t in tasks {
        assert_eq!(bounded(t).await.unwrap(), StatusCode::OK);
    }
    bounded(server.shutdown()).await;
}

#[tokio::test]
async fn shutdown_closes_idle_connections_and_stops_listening() {
    let server = start(false).await;
    let addr = server.addr();
    let mut idle = H1::connect(addr).await;
    assert_eq!(idle.get("/health").await.status, StatusCode::OK);
    let _never_spoke = bounded(TcpStream::connect(addr)).await.unwrap();

    tokio::time::timeout(Duration::from_secs(5), server.shutdown())
        .await
        .expect("shutdown is prompt with open connections");
    bounded(&mut idle.driver)
        .await
        .expect("the idle keep-alive connection was closed");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let server = start(true).await;
    let mut c = H1::connect(server.addr()).await;
    let in_flight = tokio::spawn(async move { c.post("/api/checkout", "{}").await.status });
    // Wait until the shop has the request (it counts before its 8-20 ms of service time).
    bounded(async {
        while server.stats().requests["POST /api/checkout"] == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    bounded(server.shutdown()).await;
    assert_eq!(bounded(in_flight).await.unwrap(), StatusCode::OK);
}

#[tokio::test]
async fn dropping_the_server_stops_it() {
    let server = start(false).await;
    let addr = server.addr();
    drop(server);
    bounded(async {
        while TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}
