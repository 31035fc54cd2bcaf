//! Proxies end to end, through a small forwarding proxy this test runs on loopback: plain
//! HTTP from `HTTP_PROXY` in absolute form (to a host name only the proxy knows), HTTPS
//! with mutual TLS through a `CONNECT` tunnel from the scenario's own `proxy`, and a proxy
//! that cannot be reached failing with its own code, 1030. Every run is bounded.

use crate::support::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A forwarding proxy: `CONNECT host:port` tunnels to 127.0.0.1:port, an absolute-form
/// request goes to 127.0.0.1 on the URL's port in origin form; whatever host was asked
/// for. Counts both and keeps the request lines it saw. Threads end with the process.
/// (websocket_e2e's sessions go through it too.)
pub struct TestProxy {
    pub port: u16,
    pub tunnels: Arc<AtomicUsize>,
    forwarded: Arc<AtomicUsize>,
    pub lines: Arc<Mutex<Vec<String>>>,
}

impl TestProxy {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let p = TestProxy {
            port,
            tunnels: Arc::default(),
            forwarded: Arc::default(),
            lines: Arc::default(),
        };
        let (tunnels, forwarded, lines) = (
            Arc::clone(&p.tunnels),
            Arc::clone(&p.forwarded),
            Arc::clone(&p.lines),
        );
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (t, f, l) = (
                    Arc::clone(&tunnels),
                    Arc::clone(&forwarded),
                    Arc::clone(&lines),
                );
                std::thread::spawn(move || {
                    let _ = serve(client, &t, &f, &l);
                });
            }
        });
        p
    }
}

fn read_head(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut b)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.push(b[0]);
    }
    Ok(head)
}

fn serve(
    mut client: TcpStream,
    tunnels: &AtomicUsize,
    forwarded: &AtomicUsize,
    lines: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let head = String::from_utf8_lossy(&read_head(&mut client)?).into_owned();
    let first = head.lines().next().unwrap_or("").to_string();
    lines.lock().unwrap().push(first.clone());
    let mut parts = first.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let mut upstream;
    if method == "CONNECT" {
        let port = target
            .rsplit(':')
            .next()
            .unwrap_or("")
            .parse::<u16>()
            .unwrap();
        upstream = TcpStream::connect(("127.0.0.1", port))?;
        client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
        tunnels.fetch_add(1, Ordering::SeqCst);
    } else {
        let rest_of_url = target.strip_prefix("http://").expect("absolute form");
        let (authority, path) =
            rest_of_url.split_at(rest_of_url.find('/').unwrap_or(rest_of_url.len()));
        let port = authority
            .rsplit_once(':')
            .map_or(80, |(_, p)| p.parse().unwrap());
        upstream = TcpStream::connect(("127.0.0.1", port))?;
        let rest = head.split_once("\r\n").map_or("", |(_, r)| r);
        write!(upstream, "{method} {path} HTTP/1.1\r\n{rest}")?;
        forwarded.fetch_add(1, Ordering::SeqCst);
    }
    let (mut c2, mut u2) = (client.try_clone()?, upstream.try_clone()?);
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut u2);
        let _ = u2.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut upstream, &mut client);
    let _ = client.shutdown(std::net::Shutdown::Write);
    let _ = up.join();
    Ok(())
}

const SHOP: &str = r#"param base_url: url = "http://shop.test:8088"
target shop = base_url

scenario browse {
  workload = shared_iterations(vus: 2, iterations: 20)
  iteration {
    let r = get(shop, "/health")
    check "200": r.status == 200
  }
}

thresholds {
  http_req_failed: rate == 0%
}
"#;

#[test]
fn http_proxy_from_the_environment_carries_plain_requests_in_absolute_form() {
    let demo = DemoProcess::start();
    let proxy = TestProxy::start();
    let dir = temp_dir("proxy-env");
    std::fs::write(dir.join("shop.load"), SHOP).unwrap();
    let param = format!("base_url=http://shop.test:{}", demo.1);
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let sj = dir.join("summary.json");
    let out = volley_env(
        &dir,
        &[
            "run",
            "shop.load",
            "-q",
            "--param",
            &param,
            "--summary-json",
            sj.to_str().unwrap(),
        ],
        &[("HTTP_PROXY", &proxy_url), ("NO_PROXY", "other.test")],
        Duration::from_secs(60),
    );
    // `shop.test` resolves nowhere: only the proxy can have reached the shop.
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(metric(&summary(&sj), "http_reqs", "count"), 20.0);
    assert!(proxy.forwarded.load(Ordering::SeqCst) >= 1);
    let lines = proxy.lines.lock().unwrap().clone();
    let want = format!("GET http://shop.test:{}/health HTTP/1.1", demo.1);
    assert!(lines.contains(&want), "{lines:?}");
}

#[test]
fn a_scenario_proxy_tunnels_https_with_connect() {
    let dir = temp_dir("proxy-connect");
    let key = write_test_pki(&dir);
    let Some(nginx) = crate::tls_e2e::MtlsNginx::start(&dir) else {
        skip_or_fail("nginx");
        return;
    };
    let proxy = TestProxy::start();
    let example = std::fs::read_to_string(repo().join("examples/mtls.load")).unwrap();
    let with_proxy = example.replace(
        "http = {\n",
        &format!(
            "http = {{\n    proxy: \"http://127.0.0.1:{}\",\n",
            proxy.port
        ),
    );
    assert_ne!(with_proxy, example);
    std::fs::write(dir.join("via.load"), with_proxy).unwrap();
    let param = format!("base_url=https://127.0.0.1:{}", nginx.port);
    let out = volley_env(
        &dir,
        &["run", "via.load", "-q", "--param", &param],
        &[("CLIENT_KEY", &key)],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(proxy.tunnels.load(Ordering::SeqCst) >= 1);
    let lines = proxy.lines.lock().unwrap().clone();
    let want = format!("CONNECT 127.0.0.1:{} HTTP/1.1", nginx.port);
    assert!(lines.iter().all(|l| *l == want), "{lines:?}");
}

#[test]
fn an_unreachable_proxy_fails_requests_with_its_own_code() {
    let demo = DemoProcess::start();
    let dir = temp_dir("proxy-down");
    let closed = free_port();
    let file = SHOP.replace(
        "  iteration {",
        &format!("  http = {{proxy: \"http://127.0.0.1:{closed}\"}}\n  iteration {{"),
    );
    std::fs::write(dir.join("down.load"), file).unwrap();
    let param = format!("base_url=http://127.0.0.1:{}", demo.1);
    let out = volley_in(
        &dir,
        &["run", "down.load", "-q", "--param", &param],
        Duration::from_secs(60),
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(99), "{t}");
    assert!(t.contains("1030"), "{t}");
    assert!(t.contains("proxy unreachable"), "{t}");
}
