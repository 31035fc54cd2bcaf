//! WebSocket sessions on the network as requests are (a module of websocket_e2e): `wss://`
//! through a TLS terminator this test runs in front of the demo shop, with the scenario's
//! TLS options (a private CA, `insecure_tls`, a client certificate) and an untrusted
//! certificate failing the session, counted and said; a session's bytes in `data_sent`
//! and `data_received`, equal to what a relay in front of the shop carried; sessions
//! routed by the scenario's `hosts` and through a proxy's `CONNECT` tunnel (the
//! environment's or the scenario's); and servers that misbehave at the handshake or cut a
//! session, which end within the timeout with a message that says what happened; and the
//! scenario's `user_agent` on handshakes as on requests. Every run is bounded and every
//! server is on loopback.

use crate::proxy_e2e::TestProxy;
use crate::support::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An echo session per iteration, three iterations, with `http` as the scenario's field.
fn echo_file(dir: &Path, name: &str, target: &str, http: &str, secret: &str) -> String {
    let src = format!(
        "target live = \"{target}\"\n{secret}\n\
         scenario s {{\n  workload = per_vu_iterations(vus: 1, iterations: 3)\n  {http}\n  \
         iteration {{\n    let s = ws.connect(live, \"/ws/echo\", timeout: 2s, name: \"echo\")\n    \
         s.send(\"hello {{vu.iteration}}\")\n    \
         check \"echoed\": s.receive(timeout: 2s).data == \"hello {{vu.iteration}}\"\n    \
         s.close()\n  }}\n}}\n"
    );
    let file = format!("{name}.load");
    std::fs::write(dir.join(&file), src).unwrap();
    file
}

/// `volley run FILE --summary-json` in `dir` with `env`: the output and the summary.
fn run(
    dir: &Path,
    file: &str,
    env: &[(&str, &str)],
    limit: Duration,
) -> (std::process::Output, serde_json::Value) {
    let sj = dir.join(format!("{file}.summary.json"));
    let out = volley_env(
        dir,
        &["run", file, "--summary-json", sj.to_str().unwrap()],
        env,
        limit,
    );
    let s = if sj.exists() {
        summary(&sj)
    } else {
        serde_json::Value::Null
    };
    (out, s)
}

#[test]
fn wss_sessions_use_the_scenarios_tls_options() {
    let demo = DemoProcess::start();
    let dir = temp_dir("ws-tls");
    let key = write_test_pki(&dir);
    let open = tls_front(&dir, demo.1, b"http/1.1", false);
    let mutual = tls_front(&dir, demo.1, b"http/1.1", true);
    let wss = |port: u16| format!("wss://127.0.0.1:{port}");
    let secret = "secret client_key = env(\"CLIENT_KEY\")";
    let cases = [
        (
            "ca",
            wss(open),
            "http = {tls: {ca: file(\"certs/ca.pem\")}}",
            "",
        ),
        ("insecure", wss(open), "http = {insecure_tls: true}", ""),
        (
            "mtls",
            wss(mutual),
            "http = {tls: {ca: file(\"certs/ca.pem\"), cert: file(\"certs/client.pem\"), key: client_key}}",
            secret,
        ),
    ];
    for (name, target, http, secret) in &cases {
        let file = echo_file(&dir, name, target, http, secret);
        let (out, s) = run(
            &dir,
            &file,
            &[("CLIENT_KEY", &key)],
            Duration::from_secs(60),
        );
        let t = text(&out);
        assert_eq!(out.status.code(), Some(0), "{name}: {t}");
        assert_eq!(root_check(&s, "echoed"), (3, 0), "{name}: {t}");
        assert_eq!(metric(&s, "ws_sessions", "count"), 3.0, "{name}");
        assert!(!t.contains("BEGIN PRIVATE KEY"), "the key never shows");
    }
    assert_eq!(
        demo.stats()["requests"]["GET /ws/echo"],
        9,
        "every session reached the shop through TLS"
    );
}

#[test]
fn an_untrusted_certificate_fails_each_session_counted_and_said() {
    let demo = DemoProcess::start();
    let dir = temp_dir("ws-tls-untrusted");
    write_test_pki(&dir);
    let open = tls_front(&dir, demo.1, b"http/1.1", false);
    let mutual = tls_front(&dir, demo.1, b"http/1.1", true);
    // No `ca:`: the private CA is not trusted.
    let file = echo_file(&dir, "no_ca", &format!("wss://127.0.0.1:{open}"), "", "");
    let t0 = Instant::now();
    let (out, s) = run(&dir, &file, &[], Duration::from_secs(60));
    let t = text(&out);
    assert!(t0.elapsed() < Duration::from_secs(30), "no hang: {t}");
    // Each of the three iterations fails at the connect (a failed iteration is not in
    // `iterations`), and the VU goes on to the next.
    assert_eq!(root_check(&s, "ws.connect: echo failed"), (0, 3), "{t}");
    // The refused TLS handshakes' bytes count.
    assert!(metric(&s, "data_sent", "count") > 0.0);
    assert!(s["metrics"]["ws_sessions"].is_null(), "no session opened");
    assert!(
        t.contains(
            "ws.connect echo: TLS certificate not trusted (1310): tls: invalid peer certificate"
        ),
        "{t}"
    );
    // A server that wants a client certificate and gets none.
    let file = echo_file(
        &dir,
        "no_cert",
        &format!("wss://127.0.0.1:{mutual}"),
        "http = {tls: {ca: file(\"certs/ca.pem\")}}",
        "",
    );
    let (out, s) = run(&dir, &file, &[], Duration::from_secs(60));
    let t = text(&out);
    assert_eq!(root_check(&s, "ws.connect: echo failed"), (0, 3), "{t}");
    assert!(
        t.contains("ws.connect echo: the connection broke during the opening handshake: TLS error (1300): received fatal alert: CertificateRequired"),
        "{t}"
    );
    assert_eq!(
        demo.stats()["requests"]["GET /ws/echo"],
        0,
        "no session reached the shop"
    );
}

/// A relay on loopback in front of `backend` that counts the bytes it carries each way.
struct Relay {
    port: u16,
    up: Arc<AtomicU64>,
    down: Arc<AtomicU64>,
    /// Directions still copying.
    open: Arc<AtomicUsize>,
}

fn relay(backend: u16) -> Relay {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let r = Relay {
        port: listener.local_addr().unwrap().port(),
        up: Arc::default(),
        down: Arc::default(),
        open: Arc::default(),
    };
    let (up, down, open) = (Arc::clone(&r.up), Arc::clone(&r.down), Arc::clone(&r.open));
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let server = TcpStream::connect(("127.0.0.1", backend)).unwrap();
            open.fetch_add(2, Ordering::SeqCst);
            for (from, to, count) in [
                (
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    &up,
                ),
                (server, client, &down),
            ] {
                let (count, open) = (Arc::clone(count), Arc::clone(&open));
                std::thread::spawn(move || {
                    copy_counted(from, to, &count);
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        }
    });
    r
}

fn copy_counted(mut from: TcpStream, mut to: TcpStream, count: &AtomicU64) {
    let _ = from.set_read_timeout(Some(Duration::from_secs(30)));
    let mut buf = [0u8; 8192];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
        count.fetch_add(n as u64, Ordering::SeqCst);
    }
    let _ = to.shutdown(Shutdown::Write);
}

#[test]
fn a_sessions_bytes_count_in_data_sent_and_data_received() {
    let demo = DemoProcess::start();
    let relay = relay(demo.1);
    let dir = temp_dir("ws-bytes");
    let big = "x".repeat(300);
    let src = format!(
        "target live = \"ws://127.0.0.1:{}\"\n\
         scenario s {{\n  workload = per_vu_iterations(vus: 1, iterations: 3)\n  \
         iteration {{\n    let s = ws.connect(live, \"/ws/echo\")\n    \
         s.send(\"0123456789\")\n    \
         check \"text\": s.receive(timeout: 2s).data == \"0123456789\"\n    \
         s.send_binary(\"{big}\")\n    \
         check \"binary\": s.receive(timeout: 2s).binary\n    \
         s.close()\n  }}\n}}\n",
        relay.port
    );
    std::fs::write(dir.join("bytes.load"), src).unwrap();
    let (out, s) = run(&dir, "bytes.load", &[], Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(root_check(&s, "text"), (3, 0));
    // Every session closed: the relay's copies end once both sides have gone.
    let until = Instant::now() + Duration::from_secs(10);
    while relay.open.load(Ordering::SeqCst) > 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (up, down) = (
        relay.up.load(Ordering::SeqCst) as f64,
        relay.down.load(Ordering::SeqCst) as f64,
    );
    // Exactly what crossed the wire, handshakes included.
    assert_eq!(metric(&s, "data_sent", "count"), up);
    assert_eq!(metric(&s, "data_received", "count"), down);
    // Per session, the client's frames: 10 bytes of text (2 + a 4-byte mask + 10), 300
    // of binary (4 + 4 + 300), the close (2 + 4 + 2); the server's, unmasked: 12, 304, 4.
    // The upgrade request and its 101 answer are a few hundred bytes more.
    let (frames_up, frames_down) = (3.0 * (16.0 + 308.0 + 8.0), 3.0 * (12.0 + 304.0 + 4.0));
    assert!(
        (frames_up + 3.0 * 100.0..frames_up + 3.0 * 400.0).contains(&up),
        "{up}"
    );
    assert!(
        (frames_down + 3.0 * 100.0..frames_down + 3.0 * 400.0).contains(&down),
        "{down}"
    );
}

#[test]
fn sessions_resolve_through_the_scenarios_hosts() {
    let demo = DemoProcess::start();
    let dir = temp_dir("ws-hosts");
    // `echo.test` is known only to the scenario.
    let file = echo_file(
        &dir,
        "hosts",
        &format!("ws://echo.test:{}", demo.1),
        "http = {hosts: {\"echo.test\": [\"127.0.0.1\"]}}",
        "",
    );
    let (out, s) = run(&dir, &file, &[], Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(root_check(&s, "echoed"), (3, 0));
    // Without it, the name resolves nowhere: a DNS error, said as requests say it.
    let file = echo_file(
        &dir,
        "no_hosts",
        &format!("ws://echo.test:{}", demo.1),
        "",
        "",
    );
    let (out, s) = run(&dir, &file, &[], Duration::from_secs(60));
    let t = text(&out);
    assert_eq!(root_check(&s, "ws.connect: echo failed"), (0, 3), "{t}");
    assert!(t.contains("host name not found (DNS) (1100)"), "{t}");
}

#[test]
fn sessions_go_through_a_proxy_with_connect() {
    let demo = DemoProcess::start();
    let dir = temp_dir("ws-proxy");
    let proxy = TestProxy::start();
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    // From the environment: `ws://` takes HTTP_PROXY; `shop.test` resolves nowhere, so
    // only the proxy can have reached the shop.
    let file = echo_file(&dir, "env", &format!("ws://shop.test:{}", demo.1), "", "");
    let (out, s) = run(
        &dir,
        &file,
        &[("HTTP_PROXY", &proxy_url), ("NO_PROXY", "other.test")],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(root_check(&s, "echoed"), (3, 0));
    let want = format!("CONNECT shop.test:{} HTTP/1.1", demo.1);
    assert_eq!(proxy.lines.lock().unwrap().clone(), vec![want; 3]);
    // NO_PROXY sends it direct (where `hosts` finds it).
    let file = echo_file(
        &dir,
        "no_proxy",
        &format!("ws://shop.test:{}", demo.1),
        "http = {hosts: {\"shop.test\": [\"127.0.0.1\"]}}",
        "",
    );
    let (out, s) = run(
        &dir,
        &file,
        &[("HTTP_PROXY", &proxy_url), ("NO_PROXY", "shop.test")],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(root_check(&s, "echoed"), (3, 0));
    assert_eq!(proxy.lines.lock().unwrap().len(), 3, "no tunnel");
    // The scenario's own proxy carries `wss://`: TLS inside the tunnel.
    write_test_pki(&dir);
    let tls = tls_front(&dir, demo.1, b"http/1.1", false);
    let file = echo_file(
        &dir,
        "wss",
        &format!("wss://127.0.0.1:{tls}"),
        &format!("http = {{proxy: \"{proxy_url}\", tls: {{ca: file(\"certs/ca.pem\")}}}}"),
        "",
    );
    let (out, s) = run(&dir, &file, &[], Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(root_check(&s, "echoed"), (3, 0));
    let lines = proxy.lines.lock().unwrap().clone();
    assert_eq!(
        lines[3..],
        vec![format!("CONNECT 127.0.0.1:{tls} HTTP/1.1"); 3]
    );
    // A proxy that is not there: its own code, as for requests.
    let closed = free_port();
    let file = echo_file(
        &dir,
        "down",
        &format!("ws://127.0.0.1:{}", demo.1),
        &format!("http = {{proxy: \"http://127.0.0.1:{closed}\"}}"),
        "",
    );
    let (out, s) = run(&dir, &file, &[], Duration::from_secs(60));
    let t = text(&out);
    assert_eq!(root_check(&s, "ws.connect: echo failed"), (0, 3), "{t}");
    assert!(
        t.contains("proxy unreachable or refused the tunnel (1030)"),
        "{t}"
    );
}

/// A loopback server that reads a request head and does `behave` with the socket, a
/// thread per connection.
fn hostile(behave: fn(TcpStream)) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match s.read(&mut b) {
                        Ok(1) => head.push(b[0]),
                        _ => return,
                    }
                }
                behave(s);
            });
        }
    });
    port
}

/// A WebSocket server that answers the handshake, reads one message, then sends the
/// first 10 bytes of a 100-byte text frame and ends the connection.
fn cutting() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            use futures_util::StreamExt;
            use tokio::io::AsyncWriteExt;
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                        return;
                    };
                    let _ = ws.next().await;
                    let raw = ws.get_mut();
                    let _ = raw.write_all(&[0x81, 100]).await;
                    let _ = raw.write_all(b"0123456789").await;
                    let _ = raw.shutdown().await;
                });
            }
        });
    });
    port
}

#[test]
fn misbehaving_servers_end_within_the_timeout_and_say_what_happened() {
    let silent = hostile(|s| {
        std::thread::sleep(Duration::from_secs(20));
        drop(s);
    });
    let plain = hostile(|mut s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        std::thread::sleep(Duration::from_secs(5));
    });
    let garbage = hostile(|mut s| {
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\r\n");
        std::thread::sleep(Duration::from_secs(5));
    });
    let dir = temp_dir("ws-hostile");
    let case = |port: u16| {
        let src = format!(
            "target live = \"ws://127.0.0.1:{port}\"\n\
             scenario s {{\n  workload = per_vu_iterations(vus: 2, iterations: 2)\n  \
             iteration {{\n    let s = ws.connect(live, \"/ws/echo\", timeout: 1s, name: \"x\")\n    \
             s.close()\n  }}\n}}\n"
        );
        std::fs::write(dir.join(format!("{port}.load")), src).unwrap();
        format!("{port}.load")
    };
    for (port, said) in [
        (
            silent,
            "ws.connect x: the server took the connection but did not answer the opening handshake within 1000 ms",
        ),
        (
            plain,
            "ws.connect x: the server answered the opening handshake with status 200 OK, not 101 Switching Protocols",
        ),
        (
            garbage,
            "ws.connect x: the server's answer to the opening handshake is not HTTP",
        ),
    ] {
        let t0 = Instant::now();
        let (out, s) = run(&dir, &case(port), &[], Duration::from_secs(60));
        let t = text(&out);
        assert!(t0.elapsed() < Duration::from_secs(20), "bounded: {t}");
        // Two VUs, two iterations each: every connect fails, and the VUs go on.
        assert_eq!(root_check(&s, "ws.connect: x failed"), (0, 4), "{t}");
        assert!(t.contains(said), "{said}\n{t}");
    }
    // A session cut in the middle of a message: the receive ends (no hang) with `closed`,
    // and the log says it was no clean close.
    let src = format!(
        "target live = \"ws://127.0.0.1:{}\"\n\
         scenario s {{\n  workload = per_vu_iterations(vus: 1, iterations: 2)\n  \
         iteration {{\n    let s = ws.connect(live, \"/\", name: \"cut\")\n    \
         s.send(\"hi\")\n    \
         let m = s.receive(timeout: 10s)\n    \
         check \"closed\": m.closed and not m.timed_out\n  }}\n}}\n",
        cutting()
    );
    std::fs::write(dir.join("cut.load"), src).unwrap();
    let t0 = Instant::now();
    let (out, s) = run(&dir, "cut.load", &[], Duration::from_secs(60));
    let t = text(&out);
    assert!(
        t0.elapsed() < Duration::from_secs(8),
        "no wait for the timeout: {t}"
    );
    assert_eq!(root_check(&s, "closed"), (2, 0), "{t}");
    assert_eq!(metric(&s, "ws_sessions", "count"), 2.0);
    assert!(
        t.contains("ws session cut: the server ended the connection without a close frame"),
        "{t}"
    );
}

/// `http.user_agent` (k6's `userAgent`) reaches requests and WebSocket handshakes alike:
/// a loopback server records every head it is sent (answering `200 ok`, so each
/// handshake fails after its head was read), and each scenario's agent is checked there.
#[test]
fn the_scenarios_user_agent_goes_with_requests_and_handshakes() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let heads: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let seen = Arc::clone(&heads);
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
                let mut buf = Vec::new();
                while let Some(head) = read_head(&mut s, &mut buf) {
                    seen.lock().unwrap().push(head);
                    if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    let dir = temp_dir("ws-user-agent");
    let scenario = |name: &str, http: &str| {
        format!(
            "scenario {name} {{\n  workload = per_vu_iterations(vus: 1, iterations: 1)\n  {http}\n  \
             iteration {{\n    get(web, \"/{name}\")\n    \
             let s = ws.connect(live, \"/ws-{name}\", timeout: 2s)\n  }}\n}}\n"
        )
    };
    let src = format!(
        "target web = \"http://127.0.0.1:{port}\"\ntarget live = \"ws://127.0.0.1:{port}\"\n{}{}{}",
        scenario("mine", "http = {user_agent: \"shop-tests/1.0\"}"),
        scenario("plain", ""),
        scenario("none", "http = {user_agent: \"\"}"),
    );
    std::fs::write(dir.join("ua.load"), src).unwrap();
    let (out, _) = run(&dir, "ua.load", &[], Duration::from_secs(60));
    let t = text(&out);
    let heads = heads.lock().unwrap().clone();
    let agent = |path: &str| -> Option<String> {
        let head = heads
            .iter()
            .find(|h| h.split_whitespace().nth(1) == Some(path))
            .unwrap_or_else(|| panic!("no request for {path}: {heads:?}\n{t}"));
        head.lines()
            .find_map(|l| {
                l.strip_prefix("user-agent: ")
                    .or(l.strip_prefix("User-Agent: "))
            })
            .map(str::to_owned)
    };
    for (path, want) in [
        ("/mine", Some("shop-tests/1.0")),
        ("/ws-mine", Some("shop-tests/1.0")),
        ("/plain", Some("volley/0.1")),
        ("/ws-plain", Some("volley/0.1")),
        ("/none", None),
        ("/ws-none", None),
    ] {
        assert_eq!(agent(path).as_deref(), want, "{path}\n{heads:?}");
    }
}
