//! Real external services for the output tests, each started by the test on a loopback
//! port with its own temporary directory and stopped on drop: Prometheus (remote-write
//! receiver on), InfluxDB 1.x, and headless Chromium with the network blocked. A missing
//! tool skips its test with a note, or fails it when `VOLLEY_REQUIRE_TOOLS=1` (what
//! scripts/test.sh sets after installing them). Every wait is bounded.

pub use crate::support::http;
use crate::support::{free_port, skip_or_fail, temp_dir, try_http};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary of an external tool: the first candidate that exists. `None` (after a note)
/// skips the test, unless `VOLLEY_REQUIRE_TOOLS=1`, where a missing tool fails it.
pub fn tool(name: &str, candidates: &[&str]) -> Option<PathBuf> {
    let found = candidates.iter().map(PathBuf::from).find(|p| p.is_file());
    if found.is_none() {
        skip_or_fail(&format!(
            "{name} (one of {candidates:?}; scripts/test.sh installs it)"
        ));
    }
    found
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Whether 127.0.0.1:`port` answers `GET path` with `status`; never panics (a refused or
/// dropped connection is just "not yet").
fn responds(port: u16, path: &str, status: u16) -> bool {
    matches!(try_http(port, "GET", path), Ok((s, _)) if s == status)
}

/// A child process killed on drop.
pub struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The last lines of a log, for a failure message (CI keeps the output, not the files).
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Starts a service on `ports` fresh loopback ports and waits (at most `limit`) until
/// `ready(first port)`. `args` gets the ports and returns the command line (writing any
/// config file it needs). A port chosen by [`free_port`] can be taken again before the
/// service binds it (the kernel hands the same range to outgoing connections), so a
/// service that exits while starting is tried again on new ports, 3 times in all. A failure
/// shows the log's tail in the panic message.
pub fn start_service(
    name: &str,
    bin: &Path,
    log: &Path,
    ports: usize,
    limit: Duration,
    args: impl Fn(&[u16]) -> Vec<String>,
    ready: impl Fn(u16) -> bool,
) -> (Proc, Vec<u16>) {
    let mut failures = Vec::new();
    for _attempt in 0..3 {
        let ports: Vec<u16> = (0..ports).map(|_| free_port()).collect();
        let file = std::fs::File::create(log).expect("log file");
        let mut proc = Proc(
            Command::new(bin)
                .args(args(&ports))
                .stdin(Stdio::null())
                .stdout(file.try_clone().expect("log"))
                .stderr(file)
                .spawn()
                .expect("the service starts"),
        );
        let deadline = Instant::now() + limit;
        loop {
            if ready(ports[0]) {
                return (proc, ports);
            }
            if let Some(status) = proc.0.try_wait().expect("wait on the service") {
                failures.push(format!("exited with {status}:\n{}", log_tail(log)));
                break;
            }
            if Instant::now() > deadline {
                panic!(
                    "{name} did not become ready within {limit:?} on port {}; {} says:\n{}",
                    ports[0],
                    log.display(),
                    log_tail(log)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    panic!(
        "{name} did not start in 3 attempts:\n{}",
        failures.join("\n---\n")
    );
}

/// A Prometheus server with the remote-write receiver, on loopback, with fresh storage.
pub struct Prometheus {
    _proc: Proc,
    pub port: u16,
    pub dir: PathBuf,
}

impl Prometheus {
    pub fn start() -> Option<Prometheus> {
        let bin = tool(
            "prometheus",
            &["/usr/bin/prometheus", "/usr/local/bin/prometheus"],
        )?;
        let dir = temp_dir("prometheus");
        // Nothing is scraped: the data comes only by remote write.
        std::fs::write(
            dir.join("prometheus.yml"),
            "global:\n  scrape_interval: 1h\n",
        )
        .unwrap();
        let args = |ports: &[u16]| {
            vec![
                format!("--config.file={}", dir.join("prometheus.yml").display()),
                format!("--storage.tsdb.path={}", dir.join("data").display()),
                format!("--web.listen-address=127.0.0.1:{}", ports[0]),
                "--web.enable-remote-write-receiver".to_string(),
                "--log.level=warn".to_string(),
            ]
        };
        let (proc, ports) = start_service(
            "Prometheus",
            &bin,
            &dir.join("prometheus.log"),
            1,
            Duration::from_secs(60),
            args,
            |port| responds(port, "/-/ready", 200),
        );
        let port = ports[0];
        Some(Prometheus {
            _proc: proc,
            port,
            dir,
        })
    }

    /// The remote-write URL.
    pub fn write_url(&self) -> String {
        format!("http://127.0.0.1:{}/api/v1/write", self.port)
    }

    /// `GET /api/v1/PATH?QUERY` as JSON; panics unless the status is `success`.
    pub fn api(&self, path_and_query: &str) -> serde_json::Value {
        let (status, body) = http(self.port, "GET", &format!("/api/v1/{path_and_query}"), "");
        let v: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("Prometheus answered {status} {body}: {e}"));
        assert_eq!(v["status"], "success", "{v}");
        v["data"].clone()
    }

    /// An instant query's result vector.
    pub fn query(&self, promql: &str) -> Vec<serde_json::Value> {
        let data = self.api(&format!("query?query={}", enc(promql)));
        data["result"].as_array().cloned().unwrap_or_default()
    }

    /// The series matching a selector (their label sets).
    pub fn series(&self, selector: &str) -> Vec<serde_json::Value> {
        let data = self.api(&format!("series?match[]={}", enc(selector)));
        data.as_array().cloned().unwrap_or_default()
    }

    /// Every metric name stored.
    pub fn names(&self) -> Vec<String> {
        let data = self.api("label/__name__/values");
        data.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// An InfluxDB 1.x server on loopback (HTTP API and its RPC port), with fresh storage.
pub struct InfluxDb {
    _proc: Proc,
    pub port: u16,
    pub dir: PathBuf,
}

impl InfluxDb {
    pub fn start() -> Option<InfluxDb> {
        let bin = tool(
            "influxd (InfluxDB 1.x)",
            &["/usr/bin/influxd", "/usr/local/bin/influxd"],
        )?;
        let dir = temp_dir("influxdb");
        let args = |ports: &[u16]| {
            let (port, rpc, d) = (ports[0], ports[1], dir.display());
            let conf = format!(
                "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n\
                 [meta]\n  dir = \"{d}/meta\"\n\
                 [data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  query-log-enabled = false\n\
                 [monitor]\n  store-enabled = false\n\
                 [continuous_queries]\n  enabled = false\n\
                 [http]\n  bind-address = \"127.0.0.1:{port}\"\n  log-enabled = false\n  pprof-enabled = false\n"
            );
            std::fs::write(dir.join("influxdb.conf"), conf).unwrap();
            vec![
                "-config".to_string(),
                dir.join("influxdb.conf").display().to_string(),
            ]
        };
        let (proc, ports) = start_service(
            "InfluxDB",
            &bin,
            &dir.join("influxdb.log"),
            2,
            Duration::from_secs(60),
            args,
            |port| responds(port, "/ping", 204),
        );
        let port = ports[0];
        Some(InfluxDb {
            _proc: proc,
            port,
            dir,
        })
    }

    /// Runs an InfluxQL statement (`CREATE DATABASE`, `SELECT`); returns the JSON answer.
    pub fn query(&self, db: &str, q: &str) -> serde_json::Value {
        let body = format!("db={}&q={}", enc(db), enc(q));
        let (status, text) = http(self.port, "POST", "/query", &body);
        assert_eq!(status, 200, "{q}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{q}: {text}: {e}"))
    }

    /// The first value of the first row of a `SELECT` (0 when there is no row).
    pub fn scalar(&self, db: &str, q: &str) -> f64 {
        let v = self.query(db, q);
        v["results"][0]["series"][0]["values"][0][1]
            .as_f64()
            .unwrap_or(0.0)
    }
}

/// Headless Chromium with every network access blocked.
pub struct Chromium {
    bin: PathBuf,
}

impl Chromium {
    pub fn find() -> Option<Chromium> {
        let bin = tool(
            "chromium",
            &[
                "/usr/bin/chromium",
                "/usr/bin/chromium-browser",
                "/usr/lib/chromium/chromium",
            ],
        )?;
        Some(Chromium { bin })
    }

    /// Runs Chromium on `page` with `extra` flags and a fresh profile; bounded by 90 s.
    fn run(&self, page: &Path, extra: &[String]) -> Output {
        self.run_target(&format!("file://{}", page.display()), extra)
    }

    /// Runs Chromium on `target` (a URL) with `extra` flags and a fresh profile; only
    /// loopback is reachable; bounded by 90 s.
    fn run_target(&self, target: &str, extra: &[String]) -> Output {
        let profile = temp_dir("chromium-profile");
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            // No network: every proxied request goes to a closed port, names do not resolve.
            "--proxy-server=127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.extend_from_slice(extra);
        args.push(target.to_string());
        let mut child = Command::new(&self.bin)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium starts");
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if child.try_wait().expect("wait on chromium").is_some() {
                return child.wait_with_output().expect("chromium output");
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("chromium did not finish within 90 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The DOM after loading `page`.
    pub fn dump_dom(&self, page: &Path) -> String {
        let out = self.run(page, &["--dump-dom".to_string()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// The DOM of the page at `url` (a loopback server) after its scripts ran for
    /// `budget_ms` of virtual time (timers run fast, network answers are waited for).
    pub fn dump_url(&self, url: &str, budget_ms: u64) -> String {
        let flags = [
            "--dump-dom".to_string(),
            format!("--virtual-time-budget={budget_ms}"),
        ];
        let out = self.run_target(url, &flags);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// A PNG screenshot of `page` at `width`×`height`, in the dark colour scheme when
    /// `dark`.
    pub fn screenshot(&self, page: &Path, png: &Path, width: u32, height: u32, dark: bool) {
        let mut flags = vec![
            format!("--screenshot={}", png.display()),
            format!("--window-size={width},{height}"),
        ];
        if dark {
            flags.push("--force-dark-mode".into());
            flags.push("--blink-settings=preferredColorScheme=0".into());
        }
        let out = self.run(page, &flags);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `page` printed to PDF (the `@media print` styles).
    pub fn print_pdf(&self, page: &Path, pdf: &Path) {
        let flags = [
            format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer".to_string(),
        ];
        let out = self.run(page, &flags);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
