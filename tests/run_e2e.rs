//! `volley run` end to end against the demo shop (in-process with `--demo`, or the
//! `volley demo-server` process) and a real nginx on loopback. Every run is bounded.

use crate::services::{start_service, Proc};
use crate::support::*;
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

fn case(name: &str) -> String {
    repo()
        .join("tests/cases/run")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn run(args: &[&str], limit: Duration) -> std::process::Output {
    volley_in(&repo(), args, limit)
}

#[test]
fn iterations_example_runs_against_the_embedded_demo() {
    let dir = temp_dir("run-iterations");
    let sj = dir.join("summary.json");
    let out = run(
        &[
            "run",
            "examples/iterations.load",
            "--demo",
            "-q",
            "--summary-json",
            sj.to_str().unwrap(),
        ],
        Duration::from_secs(90),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = summary(&sj);
    // shared_iterations 200, then per_vu_iterations 4 × 10.
    assert_eq!(metric(&s, "iterations", "count"), 240.0);
    assert_eq!(metric(&s, "http_reqs", "count"), 240.0);
    let t = text(&out);
    assert!(t.contains("✓"), "the summary marks passing checks:\n{t}");
}

#[test]
fn failing_threshold_exits_99() {
    let demo = DemoProcess::start();
    let out = run(
        &[
            "run",
            &case("fail_threshold.load"),
            "-q",
            "--param",
            &demo.url(),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    assert!(text(&out).contains("✗"), "{}", text(&out));
}

#[test]
fn abort_on_fail_stops_early_with_108() {
    let demo = DemoProcess::start();
    let start = Instant::now();
    let out = run(
        &[
            "run",
            &case("abort_on_fail.load"),
            "-q",
            "--param",
            &demo.url(),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(108), "{}", text(&out));
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "a 20 s test aborted at the first evaluation"
    );
}

#[test]
fn require_ends_the_iteration() {
    let demo = DemoProcess::start();
    let dir = temp_dir("run-require");
    let sj = dir.join("summary.json");
    let out = run(
        &[
            "run",
            &case("require.load"),
            "-q",
            "--param",
            &demo.url(),
            "--summary-json",
            sj.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(metric(&summary(&sj), "http_reqs", "count"), 10.0);
    let stats = demo.stats();
    assert_eq!(
        stats["requests"]["GET /api/products"].as_u64().unwrap_or(0),
        0,
        "{stats}"
    );
}

#[test]
fn setup_and_teardown_run_once() {
    let demo = DemoProcess::start();
    let out = run(
        &[
            "run",
            &case("setup_once.load"),
            "-q",
            "--param",
            &demo.url(),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stats = demo.stats();
    assert_eq!(stats["requests"]["POST /api/admin/reset"], 1, "{stats}");
    assert_eq!(stats["requests"]["POST /api/admin/report"], 1, "{stats}");
    assert_eq!(stats["requests"]["POST /api/orders"], 40, "{stats}");
}

/// A setup whose `require` fails stops the run with 107 before any VU starts, and says
/// which require it was (it said only "a require failed").
#[test]
fn a_failed_setup_require_exits_107_and_names_the_require() {
    let demo = DemoProcess::start();
    let dir = temp_dir("run-setup-require");
    let file = dir.join("setup.load");
    let source = std::fs::read_to_string(case("setup_once.load"))
        .unwrap()
        .replace(
            "require r.status == 204",
            "require \"reset answered\": r.status == 299",
        );
    std::fs::write(&file, source).unwrap();
    let out = run(
        &["run", file.to_str().unwrap(), "-q", "--param", &demo.url()],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(107), "{}", text(&out));
    assert!(
        text(&out).contains("setup failed: setup: require \"reset answered\" failed"),
        "{}",
        text(&out)
    );
    let stats = demo.stats();
    assert_eq!(stats["requests"]["POST /api/admin/reset"], 1, "{stats}");
    assert_eq!(stats["requests"]["POST /api/orders"], 0, "{stats}");
}

#[test]
fn compile_error_exits_104_before_any_load() {
    let dir = temp_dir("run-104");
    std::fs::write(dir.join("bad.load"), "scenario s { workload = constant_vus(vus: 1, duration: 1s) iteration { get(nope, \"/\") } }\n").unwrap();
    let out = volley_in(&dir, &["run", "bad.load"], Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(104), "{}", text(&out));
}

/// A real nginx on loopback with a temporary configuration, stopped on drop. One process
/// (`master_process off`): it serves as the user running the tests, so files under a
/// checkout only that user may read (a `mktemp -d` clone, run as root) are not forbidden
/// to nginx's `nobody` worker, and killing it leaves no orphaned worker behind.
struct Nginx {
    _proc: Proc,
    port: u16,
}

impl Nginx {
    fn start() -> Option<Self> {
        let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| Path::new(p).exists())?;
        let dir = temp_dir("nginx");
        std::fs::create_dir_all(dir.join("html")).unwrap();
        std::fs::write(dir.join("html/index.html"), "hello from nginx\n").unwrap();
        let args = |ports: &[u16]| {
            let conf = format!(
                "daemon off; master_process off; pid {d}/nginx.pid; error_log {d}/error.log;\n\
                 events {{ worker_connections 1024; }}\n\
                 http {{ access_log off; client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d}; uwsgi_temp_path {d}; scgi_temp_path {d};\n\
                   server {{ listen 127.0.0.1:{port}; root {d}/html; location / {{ index index.html; }} }} }}\n",
                d = dir.display(),
                port = ports[0]
            );
            std::fs::write(dir.join("nginx.conf"), conf).unwrap();
            vec![
                "-p".to_string(),
                dir.display().to_string(),
                "-c".to_string(),
                dir.join("nginx.conf").display().to_string(),
            ]
        };
        let (proc, ports) = start_service(
            "nginx",
            Path::new(bin),
            &dir.join("nginx.out"),
            1,
            Duration::from_secs(10),
            args,
            |port| TcpStream::connect(("127.0.0.1", port)).is_ok(),
        );
        Some(Nginx {
            _proc: proc,
            port: ports[0],
        })
    }
}

#[test]
fn runs_against_a_real_nginx() {
    let Some(nginx) = Nginx::start() else {
        skip_or_fail("nginx");
        return;
    };
    let dir = temp_dir("run-nginx");
    let sj = dir.join("summary.json");
    let param = format!("base_url=http://127.0.0.1:{}", nginx.port);
    let out = run(
        &[
            "run",
            &case("nginx.load"),
            "-q",
            "--param",
            &param,
            "--summary-json",
            sj.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = summary(&sj);
    assert_eq!(metric(&s, "http_reqs", "count"), 500.0);
    assert_eq!(metric(&s, "checks", "passes"), 500.0);
}
