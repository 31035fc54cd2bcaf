//! Multipart uploads end to end: examples/uploads.load against the embedded demo shop (the
//! shop's SHA-256 of each file part checked in the file), the same through a local fleet
//! of runner processes (the files travel in their plan.json), gzip and HTTP/2 bodies, the
//! plan ConfigMap of the compiled manifests carrying the files to every pod, and the
//! compile errors that need a real folder (a path that leaves it, a directory, files over
//! the bound).

use crate::support::*;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Duration;

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn example_file(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("examples/data").join(name)).unwrap()
}

/// 2 VUs × 5 iterations × 6 checks, every one passing, and 10 uploads.
fn assert_every_upload_checked(s: &serde_json::Value) {
    assert_eq!(metric(s, "checks", "passes"), 60.0, "{s:#}");
    assert_eq!(metric(s, "checks", "fails"), 0.0, "{s:#}");
    assert_eq!(metric(s, "http_reqs", "count"), 10.0, "{s:#}");
    assert_eq!(root_check(s, "the image arrived byte for byte"), (10, 0));
    // Each request carried both files whole (their parts' headers and text come on top).
    let sent = metric(s, "data_sent", "count");
    assert!(sent > 10.0 * (90.0 + 110.0), "data_sent {sent}");
}

#[test]
fn the_uploads_example_delivers_every_byte_to_the_demo_shop() {
    // The digests the example checks are those of the files on disk, and the image is
    // binary (not UTF-8), so a lossy or text-only path would fail its checks.
    let source = std::fs::read_to_string(repo().join("examples/uploads.load")).unwrap();
    let png = example_file("pixels.png");
    assert!(std::str::from_utf8(&png).is_err());
    for f in [example_file("report.csv"), png] {
        assert!(
            source.contains(&sha256_hex(&f)),
            "uploads.load checks {}",
            sha256_hex(&f)
        );
    }
    let (out, s) = run_with_summary(
        "uploads",
        "examples/uploads.load",
        &["--demo"],
        Duration::from_secs(90),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_every_upload_checked(&s);
}

#[test]
fn runner_processes_send_the_files_their_plan_carries() {
    let (out, s) = run_with_summary(
        "uploads-fleet",
        "examples/uploads.load",
        &["--demo", "--runners", "2"],
        Duration::from_secs(120),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_every_upload_checked(&s);
    let runners = s["volley"]["runners"].as_array().expect("per-runner rows");
    assert_eq!(runners.len(), 2, "{s:#}");
}

/// A request body gzipped (`compress:`), over HTTP/2 (hyper's body, chunk by chunk) and
/// over HTTP/1.1, with text parts built at run time from numbers and bools.
#[test]
fn gzipped_and_http2_multipart_bodies_arrive_whole() {
    let demo = DemoProcess::start();
    let dir = temp_dir("multipart-h2");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let blob: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(dir.join("data/blob.bin"), &blob).unwrap();
    let digest = sha256_hex(&blob);
    let src = format!(
        r#"
param base_url: url = "http://127.0.0.1:8088"
param h2: bool = false
target shop = base_url
scenario s {{
  workload = per_vu_iterations(vus: 2, iterations: 3)
  http = {{http2: h2}}
  iteration {{
    let plain = post(shop, "/api/upload", multipart: {{n: vu.iteration * 2, ok: true, blob: file("data/blob.bin")}})
    check "plain": plain.json("files[0].sha256").string() == "{digest}" and plain.json("fields.n").string() == "{{vu.iteration * 2}}" and plain.json("fields.ok").string() == "true"
    let zipped = post(shop, "/api/upload", multipart: {{blob: file("data/blob.bin")}}, compress: "gzip")
    check "gzipped": zipped.json("files[0].size").int() == 70000 and zipped.json("files[0].sha256").string() == "{digest}"
    check "octet-stream": zipped.json("files[0].content_type").string() == "application/octet-stream"
  }}
}}
thresholds {{ checks: rate == 100% }}
"#
    );
    let file = dir.join("t.load");
    std::fs::write(&file, src).unwrap();
    for h2 in ["false", "true"] {
        let sj = dir.join(format!("summary-{h2}.json"));
        let out = volley_in(
            &dir,
            &[
                "run",
                file.to_str().unwrap(),
                "-q",
                "--param",
                &demo.url(),
                "--param",
                &format!("h2={h2}"),
                "--summary-json",
                sj.to_str().unwrap(),
            ],
            Duration::from_secs(90),
        );
        assert_eq!(out.status.code(), Some(0), "h2={h2}: {}", text(&out));
        let s = summary(&sj);
        assert_eq!(metric(&s, "checks", "passes"), 18.0, "h2={h2}: {s:#}");
        assert_eq!(metric(&s, "checks", "fails"), 0.0, "h2={h2}: {s:#}");
    }
    assert_eq!(demo.stats()["requests"]["POST /api/upload"], 24);
}

/// `volley compile`: the plan ConfigMap that every pod mounts holds each file's bytes.
#[test]
fn the_compiled_plan_configmap_carries_the_files_to_the_pods() {
    let out_dir = temp_dir("multipart-k8s");
    let out = volley(&[
        "compile",
        "examples/uploads.load",
        "--out-dir",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let objects = crate::sim::cluster::read_manifests(&out_dir);
    let plan_map = objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["data"]["plan.json"].is_string())
        .expect("a plan ConfigMap");
    let map_name = plan_map["metadata"]["name"].as_str().unwrap().to_string();
    let plan: serde_json::Value =
        serde_json::from_str(plan_map["data"]["plan.json"].as_str().unwrap()).unwrap();
    let files = plan["files"].as_array().expect("the plan's files");
    let got: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(f["bytes"].as_str().unwrap())
                .unwrap();
            (f["path"].as_str().unwrap().to_string(), bytes)
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("data/report.csv".to_string(), example_file("report.csv")),
            ("data/pixels.png".to_string(), example_file("pixels.png")),
        ]
    );
    // Both Jobs' pods mount that ConfigMap, so coordinator and runners read the files.
    let jobs: Vec<&serde_json::Value> = objects.iter().filter(|o| o["kind"] == "Job").collect();
    assert_eq!(jobs.len(), 2);
    for job in jobs {
        let volumes = job["spec"]["template"]["spec"]["volumes"].to_string();
        assert!(
            volumes.contains(&map_name),
            "{} mounts {map_name}: {volumes}",
            job["metadata"]["name"]
        );
    }
    // The written plan.json is the same plan.
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("plan.json")).unwrap()).unwrap();
    assert_eq!(written["files"], plan["files"]);
}

/// Compiles `src` as `t.load` in `dir`; the errors as (code, text under the span).
fn errors_in(dir: &Path, src: &str) -> Vec<(String, String)> {
    std::fs::write(dir.join("t.load"), src).unwrap();
    let loader = volley_compiler::FsLoader::new(dir);
    let c = volley_compiler::compile("t.load", &loader, &Default::default());
    c.diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let sp = d.span().unwrap_or_default();
            (d.code.clone(), src[sp.start..sp.end].to_string())
        })
        .collect()
}

fn upload_of(files: &str) -> String {
    format!(
        "target api = \"http://127.0.0.1:8088\"\nscenario s {{\n  workload = constant_vus(vus: 1, duration: 1s)\n  iteration {{\n{files}  }}\n}}\n"
    )
}

#[test]
fn files_outside_the_folder_directories_and_oversized_files_do_not_compile() {
    let root = temp_dir("multipart-errors");
    let dir = root.join("test");
    std::fs::create_dir_all(dir.join("data/folder")).unwrap();
    std::fs::write(root.join("secret.txt"), "outside").unwrap();
    std::fs::write(dir.join("data/big.bin"), vec![1u8; 600 * 1024]).unwrap();
    std::fs::write(dir.join("data/half1.bin"), vec![2u8; 300 * 1024]).unwrap();
    std::fs::write(dir.join("data/half2.bin"), vec![3u8; 300 * 1024]).unwrap();
    let errs = errors_in(
        &dir,
        &upload_of(
            "    post(api, \"/a\", multipart: {f: file(\"../secret.txt\")})\n\
             \x20   post(api, \"/b\", multipart: {f: file(\"data/folder\")})\n\
             \x20   post(api, \"/c\", multipart: {f: file(\"data/big.bin\")})\n\
             \x20   post(api, \"/d\", multipart: {a: file(\"data/half1.bin\"), b: file(\"data/half2.bin\")})\n",
        ),
    );
    assert_eq!(
        errs,
        vec![
            ("E0407".to_string(), "\"../secret.txt\"".to_string()),
            ("E0321".to_string(), "\"data/folder\"".to_string()),
            ("E0323".to_string(), "\"data/big.bin\"".to_string()),
            ("E0323".to_string(), "\"data/half2.bin\"".to_string()),
        ]
    );
    // `volley check` says why, with the bound and the sizes.
    let out = volley_in(&dir, &["check", "t.load"], Duration::from_secs(30));
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("614,400 bytes"), "{t}");
    assert!(t.contains("524,288 bytes"), "{t}");
    assert!(!t.contains("outside\n"), "never the file's content: {t}");
}
