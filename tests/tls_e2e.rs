//! `http.tls` end to end: a real nginx on loopback that requires a client certificate
//! (`ssl_verify_client on`), with a throwaway PKI made for each test. With the client
//! certificate the run passes; without it nginx refuses every request; without `ca:` the
//! private CA is not trusted and no request gets a response. Every run is bounded.

use crate::services::{start_service, Proc};
use crate::support::*;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// nginx serving TLS with the PKI in `dir/certs`, asking every client for a certificate
/// issued by its CA. One process, as `run_e2e`'s nginx.
pub struct MtlsNginx {
    _proc: Proc,
    pub port: u16,
}

impl MtlsNginx {
    pub fn start(dir: &Path) -> Option<Self> {
        let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| Path::new(p).exists())?;
        let root = dir.join("nginx");
        std::fs::create_dir_all(root.join("html")).unwrap();
        std::fs::write(root.join("html/index.html"), "hello over mutual TLS\n").unwrap();
        let certs = dir.join("certs");
        let args = |ports: &[u16]| {
            let conf = format!(
                "daemon off; master_process off; pid {d}/nginx.pid; error_log {d}/error.log;\n\
                 events {{ worker_connections 1024; }}\n\
                 http {{ access_log off; client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d}; uwsgi_temp_path {d}; scgi_temp_path {d};\n\
                   server {{ listen 127.0.0.1:{port} ssl; root {d}/html;\n\
                     ssl_certificate {c}/server.pem; ssl_certificate_key {c}/server.key;\n\
                     ssl_client_certificate {c}/ca.pem; ssl_verify_client on;\n\
                     location / {{ index index.html; }} }} }}\n",
                d = root.display(),
                c = certs.display(),
                port = ports[0]
            );
            std::fs::write(root.join("nginx.conf"), conf).unwrap();
            vec![
                "-p".to_string(),
                root.display().to_string(),
                "-c".to_string(),
                root.join("nginx.conf").display().to_string(),
            ]
        };
        let (proc, ports) = start_service(
            "nginx",
            Path::new(bin),
            &root.join("nginx.out"),
            1,
            Duration::from_secs(10),
            args,
            |port| TcpStream::connect(("127.0.0.1", port)).is_ok(),
        );
        Some(MtlsNginx {
            _proc: proc,
            port: ports[0],
        })
    }
}

/// A test folder with a fresh PKI and nginx requiring its client certificates; the client
/// key's PEM.
fn setup(name: &str) -> Option<(PathBuf, MtlsNginx, String)> {
    let dir = temp_dir(name);
    let key = write_test_pki(&dir);
    let Some(nginx) = MtlsNginx::start(&dir) else {
        skip_or_fail("nginx");
        return None;
    };
    Some((dir, nginx, key))
}

/// Runs `file` in `dir` against nginx with `CLIENT_KEY` set: the output and the summary.
fn run_in(
    dir: &Path,
    file: &str,
    nginx: &MtlsNginx,
    key: &str,
) -> (std::process::Output, serde_json::Value) {
    let sj = dir.join(format!("{file}.summary.json"));
    let param = format!("base_url=https://127.0.0.1:{}", nginx.port);
    let out = volley_env(
        dir,
        &[
            "run",
            file,
            "-q",
            "--param",
            &param,
            "--summary-json",
            sj.to_str().unwrap(),
        ],
        &[("CLIENT_KEY", key)],
        Duration::from_secs(60),
    );
    let s = summary(&sj);
    (out, s)
}

/// The example with its `tls` field replaced by `tls`.
fn variant(dir: &Path, name: &str, tls: &str) -> String {
    let example = std::fs::read_to_string(repo().join("examples/mtls.load")).unwrap();
    let start = example.find("http = {\n").expect("the example sets http");
    let end = start + example[start..].find("\n  }\n").expect("closed") + 4;
    let file = format!("{name}.load");
    let text = format!(
        "{}http = {{tls: {tls}}}{}",
        &example[..start],
        &example[end..]
    );
    std::fs::write(dir.join(&file), text).unwrap();
    file
}

#[test]
fn the_mtls_example_runs_against_nginx_that_requires_a_client_certificate() {
    let Some((dir, nginx, key)) = setup("tls-mtls") else {
        return;
    };
    std::fs::copy(repo().join("examples/mtls.load"), dir.join("mtls.load")).unwrap();
    let (out, s) = run_in(&dir, "mtls.load", &nginx, &key);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(metric(&s, "http_reqs", "count"), 40.0);
    assert_eq!(metric(&s, "checks", "rate"), 1.0);
    assert!(metric(&s, "http_req_tls_handshaking", "max") > 0.0);
    assert!(
        !text(&out).contains("BEGIN PRIVATE KEY"),
        "the key never shows"
    );
}

#[test]
fn without_the_client_certificate_nginx_refuses_every_request() {
    let Some((dir, nginx, key)) = setup("tls-no-cert") else {
        return;
    };
    let file = variant(&dir, "no_cert", r#"{ca: file("certs/ca.pem")}"#);
    let (out, s) = run_in(&dir, &file, &nginx, &key);
    // nginx completes the handshake and answers 400 ("No required SSL certificate was sent").
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    assert_eq!(metric(&s, "http_req_failed", "rate"), 1.0);
    assert_eq!(metric(&s, "checks", "rate"), 0.0);
}

#[test]
fn a_private_ca_is_trusted_only_with_ca() {
    let Some((dir, nginx, key)) = setup("tls-no-ca") else {
        return;
    };
    let file = variant(
        &dir,
        "no_ca",
        r#"{cert: file("certs/client.pem"), key: client_key}"#,
    );
    let (out, s) = run_in(&dir, &file, &nginx, &key);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(99), "{t}");
    assert!(
        t.contains("1310  TLS certificate not trusted  40"),
        "every request failed on the untrusted certificate: {t}"
    );
    assert_eq!(metric(&s, "http_req_failed", "rate"), 1.0);
}

#[test]
fn a_key_in_a_file_does_not_compile() {
    let dir = temp_dir("tls-key-file");
    write_test_pki(&dir);
    let file = variant(
        &dir,
        "key_file",
        r#"{cert: file("certs/client.pem"), key: file("certs/client.key")}"#,
    );
    let out = volley_in(&dir, &["check", &file], Duration::from_secs(30));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(104), "{t}");
    assert!(t.contains("E0510"), "{t}");
    assert!(
        t.contains("secret client_key = env("),
        "the help shows the fix: {t}"
    );
    assert!(
        !t.contains("BEGIN PRIVATE KEY"),
        "the key is never quoted: {t}"
    );
}

#[test]
fn system_roots_trust_the_machines_store() {
    let Some((dir, nginx, key)) = setup("tls-system-roots") else {
        return;
    };
    let file = variant(
        &dir,
        "system",
        r#"{cert: file("certs/client.pem"), key: client_key, system_roots: true}"#,
    );
    // rustls-native-certs reads SSL_CERT_FILE first: the test CA stands for the machine's.
    let sj = dir.join("system.summary.json");
    let param = format!("base_url=https://127.0.0.1:{}", nginx.port);
    let ca = dir.join("certs/ca.pem");
    let out = volley_env(
        &dir,
        &[
            "run",
            &file,
            "-q",
            "--param",
            &param,
            "--summary-json",
            sj.to_str().unwrap(),
        ],
        &[
            ("CLIENT_KEY", &key),
            ("SSL_CERT_FILE", ca.to_str().unwrap()),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(metric(&summary(&sj), "checks", "rate"), 1.0);
}
