//! Shared helpers: run the built `volley` binary with a time bound, find repo files.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli crate lives in the repo")
        .to_path_buf()
}

/// The binary under test: `VOLLEY_BIN` when set (scripts/test.sh points it at the release
/// build, so load and timing tests measure the real engine), else cargo's build of it.
pub fn volley_bin() -> PathBuf {
    match std::env::var_os("VOLLEY_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_volley")),
    }
}

/// Runs `volley ARGS` in `dir`, killing it after `limit`; panics on a hang.
pub fn volley_in(dir: &Path, args: &[&str], limit: Duration) -> Output {
    volley_env(dir, args, &[], limit)
}

pub fn volley_env(dir: &Path, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    let mut child = Command::new(volley_bin())
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("volley binary starts");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait on volley").is_some() {
            return child.wait_with_output().expect("collect output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("collect output");
            panic!(
                "volley {args:?} did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `volley run FILE -q --summary-json … ARGS` from the repository root, killed after
/// `limit`: its output, and the summary it wrote (JSON null when it wrote none) in a fresh
/// temporary directory named after `name`.
pub fn run_with_summary(
    name: &str,
    file: &str,
    args: &[&str],
    limit: Duration,
) -> (Output, serde_json::Value) {
    let sj = temp_dir(name).join("summary.json");
    let mut all = vec!["run", file, "-q", "--summary-json", sj.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = volley_in(&repo(), &all, limit);
    let s = if sj.exists() {
        summary(&sj)
    } else {
        serde_json::Value::Null
    };
    (out, s)
}

pub fn volley(args: &[&str]) -> Output {
    volley_in(&repo(), args, Duration::from_secs(120))
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A fresh temporary directory under the target dir (kept on failure for inspection),
/// unique to this call: tests run in parallel threads of one process, so two tests asking
/// for the same name (both starting a Prometheus, say) must not share or delete each
/// other's directory.
pub fn temp_dir(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = repo()
        .join("target")
        .join("test-tmp")
        .join(format!("{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// The path of SPEC.md, which lives in `../shared` beside the repository clone (CI always
/// checks it out there). Missing, it fails the test that asked for it rather than letting
/// the SPEC's examples pass unread.
pub fn spec_md() -> PathBuf {
    let spec = repo().join("../shared/SPEC.md");
    assert!(
        spec.is_file(),
        "{} not found: the SPEC examples need ../shared beside the repository clone",
        spec.display()
    );
    spec
}

/// Every ```load block of a markdown file, with the line it starts on.
pub fn load_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        match &mut current {
            None if line.trim_start().starts_with("```load") => {
                current = Some((i + 1, String::new()))
            }
            Some(_) if line.trim_start().starts_with("```") => out.extend(current.take()),
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    out
}

/// Copies the example data files next to a temp `.load` file so its `data` items resolve.
pub fn with_example_data(dir: &Path) {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("create data dir");
    for f in ["users.csv", "orders.json", "report.csv", "pixels.png"] {
        std::fs::copy(repo().join("examples/data").join(f), data.join(f)).expect("copy data");
    }
    let protos = dir.join("protos");
    std::fs::create_dir_all(&protos).expect("create protos dir");
    std::fs::copy(
        repo().join("examples/protos/shop.proto"),
        protos.join("shop.proto"),
    )
    .expect("copy shop.proto");
    write_test_pki(dir);
}

/// A throwaway PKI made for one test, in `dir/certs`: `ca.pem` (a CA), `server.pem` and
/// `server.key` (for `localhost` and 127.0.0.1, issued by the CA), `client.pem` and
/// `client.key` (a client certificate issued by the CA). Fresh keys on every call: no
/// private key is ever committed. Returns the client key's PEM (what `CLIENT_KEY` holds).
pub fn write_test_pki(dir: &Path) -> String {
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs).expect("create certs dir");
    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Volley test CA (throwaway)");
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let issue = |names: Vec<String>, file: &str| {
        let key = rcgen::KeyPair::generate().expect("key");
        let params = rcgen::CertificateParams::new(names).expect("params");
        let cert = params.signed_by(&key, &ca, &ca_key).expect("issued");
        std::fs::write(certs.join(format!("{file}.pem")), cert.pem()).expect("write cert");
        std::fs::write(certs.join(format!("{file}.key")), key.serialize_pem()).expect("write key");
        key.serialize_pem()
    };
    issue(vec!["localhost".into(), "127.0.0.1".into()], "server");
    let client_key = issue(vec!["volley-test-client".into()], "client");
    std::fs::write(certs.join("ca.pem"), ca.pem()).expect("write ca");
    client_key
}

pub fn summary(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("summary written")).expect("summary is JSON")
}

/// (passes, fails) of a check of the summary's root group; panics naming the check when
/// the summary has none of that name.
pub fn root_check(s: &serde_json::Value, name: &str) -> (u64, u64) {
    let checks = s["root_group"]["checks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let c = checks
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check `{name}` in {s:#}"));
    (c["passes"].as_u64().unwrap(), c["fails"].as_u64().unwrap())
}

pub fn metric(s: &serde_json::Value, name: &str, value: &str) -> f64 {
    s["metrics"][name]["values"][value]
        .as_f64()
        .unwrap_or_else(|| panic!("summary has no {name}.{value}: {s:#}"))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `volley demo-server` child process, killed on drop.
pub struct DemoProcess(Child, pub u16);

impl DemoProcess {
    pub fn start() -> Self {
        let port = free_port();
        let child = Command::new(volley_bin())
            .args(["demo-server", "--port", &port.to_string(), "--no-latency"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("demo server starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "demo server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        DemoProcess(child, port)
    }
    pub fn url(&self) -> String {
        format!("base_url=http://127.0.0.1:{}", self.1)
    }
    pub fn stats(&self) -> serde_json::Value {
        let (_, body) = http(self.1, "GET", "/api/admin/stats", "");
        serde_json::from_str(&body).expect("stats JSON")
    }
}

impl Drop for DemoProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback HTTP/1.1 server that answers every request `200 ok` (keep-alive) and
/// records when each path was asked for. Threads end with the test process.
pub struct Recorder {
    pub port: u16,
    log: std::sync::Arc<std::sync::Mutex<Vec<(String, Instant)>>>,
}

impl Recorder {
    pub fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind recorder");
        let port = listener.local_addr().unwrap().port();
        let log: std::sync::Arc<std::sync::Mutex<Vec<(String, Instant)>>> = Default::default();
        let shared = std::sync::Arc::clone(&log);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = std::sync::Arc::clone(&shared);
                std::thread::spawn(move || serve_recorded(stream, &log));
            }
        });
        Recorder { port, log }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// (path, when) of every request so far.
    pub fn requests(&self) -> Vec<(String, Instant)> {
        self.log.lock().unwrap().clone()
    }

    pub fn count(&self, path: &str) -> usize {
        self.requests().iter().filter(|(p, _)| p == path).count()
    }
}

/// Reads one request head (up to and including the blank line) from `stream`, keeping
/// any bytes after it in `buf` for the next call; `None` when the peer closes or a read
/// fails. Bodies are not read: the test servers answer GETs.
pub fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<String> {
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    buf.drain(..end);
    Some(head)
}

fn serve_recorded(mut stream: TcpStream, log: &std::sync::Mutex<Vec<(String, Instant)>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let mut buf = Vec::new();
    loop {
        // One request head (bodies are not expected from these tests' GETs).
        let Some(head) = read_head(&mut stream, &mut buf) else {
            return;
        };
        let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
        log.lock().unwrap().push((path, Instant::now()));
        if stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .is_err()
        {
            return;
        }
    }
}

/// Starts `volley ARGS` in the repo without waiting (for tests that signal it).
pub fn spawn_volley(args: &[&str], env: &[(&str, &str)]) -> Child {
    Command::new(volley_bin())
        .args(args)
        .current_dir(repo())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("volley starts")
}

/// Waits for `child` up to `limit`; kills it and panics on a hang.
pub fn wait_output(child: Child, limit: Duration) -> Output {
    let mut child = child;
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!("volley did not finish within {limit:?}:\n{}", text(&out));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Pids of the processes whose parent is `parent` (from /proc).
pub fn children_of(parent: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`: comm may hold spaces, so split after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                .unwrap_or_default();
            out.push((pid, cmd));
        }
    }
    out
}

/// Whether process `pid` still exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// SIGKILL, through the `kill` command (no libc crate in the tests).
pub fn sigkill(pid: u32) {
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
}

/// A tool a test needs is missing: fail when the test command promised to install it
/// (`VOLLEY_REQUIRE_TOOLS=1`), else say the test is skipped.
/// `volley run FILE -q --out json=NDJSON` in `dir`, bounded at 60 s: the run of a test
/// that compares Volley's samples with k6's.
pub fn volley_out_json(dir: &Path, file: &str, ndjson: &Path) -> Output {
    let out = format!("json={}", ndjson.display());
    volley_in(
        dir,
        &["run", file, "-q", "--out", &out],
        Duration::from_secs(60),
    )
}

/// Real k6, the oracle of the tests that compare with it: `.venv/bin/k6` of the repo
/// (scripts/test.sh installs it) or one on `PATH`.
pub fn k6_bin() -> Option<PathBuf> {
    let local = repo().join(".venv/bin/k6");
    if local.is_file() {
        return Some(local);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("k6"))
            .find(|p| p.is_file())
    })
}

/// `k6 run -q ARGS` in `dir`, killed after 60 s.
pub fn k6_run(k6: &Path, dir: &Path, args: &[&str]) -> Output {
    k6_run_env(k6, dir, args, &[])
}

/// `k6 run -q ARGS` in `dir` with `env` added to its environment, killed after 60 s.
pub fn k6_run_env(k6: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(k6)
        .args(["run", "-q", "--no-color", "--no-usage-report"])
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .env("K6_NO_USAGE_REPORT", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("k6 starts");
    let start = Instant::now();
    while child.try_wait().expect("wait on k6").is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("k6 did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("k6's output")
}

pub fn skip_or_fail(tool: &str) {
    assert!(
        std::env::var("VOLLEY_REQUIRE_TOOLS").as_deref() != Ok("1"),
        "{tool} is required (VOLLEY_REQUIRE_TOOLS=1) but missing"
    );
    eprintln!("skipping: {tool} is not installed");
}

/// One HTTP/1.1 request to 127.0.0.1:`port`; returns (status, body). Bounded by 10 s.
pub fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    http_with(port, method, path, "", body)
}

/// [`http`] with extra header lines (`"Authorization: Bearer x\r\n"`).
pub fn http_with(port: u16, method: &str, path: &str, headers: &str, body: &str) -> (u16, String) {
    try_http_with(port, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} 127.0.0.1:{port}{path}: {e}"))
}

/// [`http`] that returns a connection error instead of panicking (for readiness polls).
pub fn try_http(port: u16, method: &str, path: &str) -> std::io::Result<(u16, String)> {
    try_http_with(port, method, path, "", "")
}

fn try_http_with(
    port: u16,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    let body = if text
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(&body)
    } else {
        body
    };
    Ok((status, body))
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// Polls `ready` every 100 ms until it is true or `limit` passes.
pub fn wait_until(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A TLS terminator on loopback in front of `backend` (offering the ALPN protocol
/// `alpn`), with the test PKI's server certificate (`write_test_pki`); with
/// `client_auth`, it asks for a client certificate issued by the test CA and refuses a
/// client without one. Its port; it runs until the test process ends.
pub fn tls_front(dir: &Path, backend: u16, alpn: &[u8], client_auth: bool) -> u16 {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(dir.join("certs/server.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("certs/server.key")).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(std::sync::Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if client_auth {
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_file_iter(dir.join("certs/ca.pem")).unwrap() {
            roots.add(ca.unwrap()).unwrap();
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            std::sync::Arc::new(roots),
            provider,
        )
        .build()
        .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder.with_single_cert(certs, key).unwrap();
    config.alpn_protocols = vec![alpn.to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut plain) =
                        tokio::net::TcpStream::connect(("127.0.0.1", backend)).await
                    else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
    });
    port
}
