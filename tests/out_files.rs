//! `--out junit=FILE` and `--out csv=FILE` end to end (issue 20): a bounded run of
//! tests/cases/outputs/verdicts.load against the embedded demo shop, then the files read
//! back by tests/junit/check.py with the project venv's Python: the JUnit XML validated
//! against the Jenkins xUnit schema (tests/junit/junit-10.xsd) with `xmlschema` and read
//! by `junitparser` as a CI system reads it; the CSV compared with the summary's counts
//! and with the header real k6 (1.1.0, `.venv/bin/k6`) writes against the same shop.

use crate::support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const CASE: &str = "tests/cases/outputs/verdicts.load";
/// The check name that needs escaping (the case file writes it with `\"`).
const ODD_CHECK: &str = "<b> & \"quotes\" 'ok' — café ✓";

/// k6 1.1.0's CSV header (also read from the real k6 when it is installed).
const K6_HEADER: &str = "metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,method,name,proto,scenario,service,status,subproto,tls_version,url,extra_tags,metadata";

/// The venv's Python with xmlschema and junitparser, or `None` (skip or fail).
fn python() -> Option<PathBuf> {
    let py = repo().join(".venv/bin/python");
    let ok = py.is_file()
        && std::process::Command::new(&py)
            .args(["-c", "import xmlschema, junitparser"])
            .output()
            .is_ok_and(|o| o.status.success());
    if ok {
        Some(py)
    } else {
        skip_or_fail(".venv with xmlschema and junitparser (scripts/test.sh installs them)");
        None
    }
}

fn check_py(py: &Path, args: &[&str]) -> Value {
    let out = std::process::Command::new(py)
        .current_dir(repo())
        .arg(repo().join("tests/junit/check.py"))
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "check.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("check.py prints JSON")
}

/// Runs the case with the given extra arguments; returns (output, summary).
fn run(name: &str, extra: &[&str]) -> (std::process::Output, Value) {
    let mut args = vec!["--demo"];
    args.extend_from_slice(extra);
    run_with_summary(name, CASE, &args, Duration::from_secs(120))
}

fn count(s: &Value, metric: &str) -> u64 {
    metric_value(s, metric, "count")
}

fn metric_value(s: &Value, metric: &str, key: &str) -> u64 {
    s["metrics"][metric]["values"][key]
        .as_f64()
        .unwrap_or_else(|| panic!("summary has no {metric}.{key}")) as u64
}

/// (passes, fails) of a check over every group.
fn check_counts(s: &Value, name: &str) -> (u64, u64) {
    fn walk(g: &Value, name: &str, acc: &mut (u64, u64)) {
        for c in g["checks"].as_array().into_iter().flatten() {
            if c["name"] == name {
                acc.0 += c["passes"].as_u64().unwrap();
                acc.1 += c["fails"].as_u64().unwrap();
            }
        }
        for sub in g["groups"].as_array().into_iter().flatten() {
            walk(sub, name, acc);
        }
    }
    let mut acc = (0, 0);
    walk(&s["root_group"], name, &mut acc);
    acc
}

fn cases<'a>(j: &'a Value, suite: &str) -> &'a Vec<Value> {
    j["suites"][suite]["cases"]
        .as_array()
        .unwrap_or_else(|| panic!("no suite {suite}: {j}"))
}

fn failed_names(j: &Value, suite: &str) -> Vec<String> {
    let mut v: Vec<String> = cases(j, suite)
        .iter()
        .filter(|c| !c["message"].is_null())
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn message<'a>(j: &'a Value, suite: &str, name: &str) -> &'a str {
    cases(j, suite)
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name} in {suite}"))["message"]
        .as_str()
        .unwrap_or("")
}

/// What a JUnit file of the case must say, given the run's summary.
fn assert_junit(j: &Value, s: &Value, testid_prefix: &str) {
    assert_eq!(
        j["schema_errors"],
        serde_json::json!([]),
        "valid against junit-10.xsd"
    );
    // One case per threshold condition, the failing ones those the summary failed.
    let thresholds: Vec<&str> = cases(j, "thresholds")
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        thresholds,
        [
            "http_req_duration: p(95) < 10s",
            "http_req_duration: max < 60s",
            "http_req_duration{group:catalogue}: p(99) < 10s",
            "http_reqs: count > 1000000",
            "checks: rate > 99%",
        ]
    );
    assert_eq!(
        failed_names(j, "thresholds"),
        ["checks: rate > 99%", "http_reqs: count > 1000000"]
    );
    let reqs = count(s, "http_reqs");
    assert_eq!(
        message(j, "thresholds", "http_reqs: count > 1000000"),
        format!("count={reqs}, threshold > 1000000")
    );
    let rate = s["metrics"]["checks"]["values"]["rate"].as_f64().unwrap();
    let m = message(j, "thresholds", "checks: rate > 99%");
    assert!(
        m.starts_with("rate=") && m.ends_with("%, threshold > 99%"),
        "{m}"
    );
    let shown: f64 = m["rate=".len()..m.find('%').unwrap()].parse().unwrap();
    assert!((shown - rate * 100.0).abs() < 0.01, "{m} vs {rate}");
    // One case per check, named exactly (escaping undone by the reader), failing with its
    // counts.
    let mut checks: Vec<(String, String)> = cases(j, "checks")
        .iter()
        .map(|c| {
            (
                c["classname"].as_str().unwrap().to_string(),
                c["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    checks.sort();
    assert_eq!(
        checks,
        [
            ("verdicts.checks".to_string(), "half found".to_string()),
            ("verdicts.checks.catalogue".into(), ODD_CHECK.into()),
            ("verdicts.checks.catalogue".into(), "status is 200".into()),
        ]
    );
    assert_eq!(failed_names(j, "checks"), [ODD_CHECK, "half found"]);
    let (p, f) = check_counts(s, "half found");
    assert!(p > 0 && f > 0, "half of them fail: {p} {f}");
    let pct = f as f64 * 100.0 / (p + f) as f64;
    let want = format!("check 'half found': {p} passes, {f} fails (");
    let m = message(j, "checks", "half found");
    assert!(
        m.starts_with(&want) && m.ends_with("%)"),
        "{m} (want {want}…)"
    );
    let shown: f64 = m[want.len()..m.len() - 2].parse().unwrap();
    assert!((shown - pct).abs() <= 0.05, "{m}: {pct}");
    let (p, f) = check_counts(s, ODD_CHECK);
    assert_eq!(
        message(j, "checks", ODD_CHECK),
        format!("check '{ODD_CHECK}': {p} passes, {f} fails (100%)")
    );
    assert_eq!(p, 0);
    // The run completed: its own case passes. junitparser counts exactly the failures.
    assert_eq!(failed_names(j, "run"), Vec::<String>::new());
    assert_eq!(j["failures"], 4);
    for suite in ["thresholds", "checks", "run"] {
        let props = &j["suites"][suite]["properties"];
        assert_eq!(props["test"], "verdicts");
        assert_eq!(props["verdict"], "thresholds_failed");
        assert_eq!(props["exit_code"], "99");
        let id = props["testid"].as_str().unwrap();
        assert!(id.starts_with(testid_prefix), "{id}");
    }
}

#[test]
fn junit_names_every_threshold_and_check_and_validates() {
    let Some(py) = python() else { return };
    let dir = temp_dir("out-junit");
    let xml = dir.join("verdicts.xml");
    let spec = format!("junit={}", xml.display());
    let (out, s) = run("out-junit", &["--out", &spec]);
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    assert!(
        text(&out).contains("junit: 9 test cases (4 failed)"),
        "{}",
        text(&out)
    );
    let raw = std::fs::read_to_string(&xml).expect("junit written");
    // Escaped by the writer, not dropped or mangled.
    assert!(
        raw.contains("&lt;b&gt; &amp; &quot;quotes&quot; &apos;ok&apos; — café ✓"),
        "{raw}"
    );
    let j = check_py(
        &py,
        &["junit", "tests/junit/junit-10.xsd", xml.to_str().unwrap()],
    );
    assert_junit(&j, &s, "verdicts-");
}

#[test]
fn junit_and_csv_of_a_local_fleet_are_the_coordinators_merged_results() {
    let Some(py) = python() else { return };
    let dir = temp_dir("out-junit-fleet");
    let xml = dir.join("fleet.xml");
    let csv = dir.join("fleet.csv");
    let (a, b) = (
        format!("junit={}", xml.display()),
        format!("csv={}", csv.display()),
    );
    let (out, s) = run(
        "out-junit-fleet",
        &["--runners", "2", "--out", &a, "--out", &b],
    );
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    assert_eq!(s["volley"]["runners"].as_array().map(Vec::len), Some(2));
    let j = check_py(
        &py,
        &["junit", "tests/junit/junit-10.xsd", xml.to_str().unwrap()],
    );
    assert_junit(&j, &s, "verdicts-");
    // The coordinator writes each sample once, not once per runner.
    let v = check_py(&py, &["csv", csv.to_str().unwrap()]);
    assert_eq!(
        v["metrics"]["http_reqs"]["rows"].as_u64(),
        Some(count(&s, "http_reqs"))
    );
    assert_eq!(
        v["metrics"]["checks"]["ones"].as_u64(),
        Some(metric_value(&s, "checks", "passes"))
    );
}

#[test]
fn an_unwritable_file_is_refused_before_any_load() {
    for kind in ["junit", "csv"] {
        let spec = format!("{kind}=/nonexistent-volley-dir/out.{kind}");
        let start = Instant::now();
        let out = volley_in(
            &repo(),
            &["run", CASE, "--demo", "--out", &spec],
            Duration::from_secs(60),
        );
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{t}");
        assert!(
            t.contains(&format!(
                "--out {kind}: cannot create `/nonexistent-volley-dir/out.{kind}`"
            )),
            "{t}"
        );
        assert!(!t.contains("http_reqs"), "no load was sent: {t}");
        assert!(start.elapsed() < Duration::from_secs(20));
    }
}

#[test]
fn junit_of_a_run_that_never_started_fails_its_run_case() {
    let Some(py) = python() else { return };
    let dir = temp_dir("out-junit-not-started");
    let file = dir.join("unset.load");
    std::fs::write(
        &file,
        "target api = \"http://127.0.0.1:8088\"\n\
         secret key = env(\"VOLLEY_JUNIT_TEST_NEVER_SET\")\n\
         scenario s {\n  workload = shared_iterations(vus: 1, iterations: 1, max_duration: 10s)\n\
         \x20 iteration {\n    check get(api, \"/health\", headers: {authorization: \"Bearer {key}\"}).status == 200\n  }\n}\n\
         thresholds {\n  http_req_failed: rate < 1%\n}\n",
    )
    .unwrap();
    let xml = dir.join("never.xml");
    let spec = format!("junit={}", xml.display());
    let out = volley_in(
        &dir,
        &[
            "run",
            file.to_str().unwrap(),
            "--demo",
            "-q",
            "--out",
            &spec,
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(104), "{}", text(&out));
    let j = check_py(
        &py,
        &["junit", "tests/junit/junit-10.xsd", xml.to_str().unwrap()],
    );
    assert_eq!(j["schema_errors"], serde_json::json!([]));
    let m = message(&j, "run", "verdict");
    assert!(
        m.starts_with("the run ended as `not_started` (exit code 104): ")
            && m.contains("VOLLEY_JUNIT_TEST_NEVER_SET"),
        "{m}"
    );
    assert_eq!(
        message(&j, "thresholds", "http_req_failed: rate < 1%"),
        "not evaluated: the run ended as `not_started`"
    );
    assert_eq!(j["failures"], 2);
}

/// Runs real k6 against a demo shop the test starts, writing CSV; returns its file.
fn k6_csv(dir: &Path) -> Option<PathBuf> {
    let k6 = repo().join(".venv/bin/k6");
    if !k6.is_file() {
        skip_or_fail("k6 (.venv/bin/k6, scripts/test.sh installs it)");
        return None;
    }
    let port = free_port();
    let mut shop = spawn_volley(
        &["demo-server", "--port", &port.to_string(), "--no-latency"],
        &[],
    );
    let up = wait_until(Duration::from_secs(20), || {
        try_http(port, "GET", "/health").is_ok()
    });
    assert!(up, "demo shop did not start");
    let script = dir.join("k6.js");
    std::fs::write(
        &script,
        format!(
            "import http from 'k6/http';\nimport {{ check, group, sleep }} from 'k6';\n\
             export const options = {{ iterations: 6, vus: 2 }};\n\
             export default function () {{\n\
               group('catalogue', function () {{\n\
                 const r = http.get('http://127.0.0.1:{port}/api/products/1');\n\
                 check(r, {{ 'status is 200': (r) => r.status === 200 }});\n\
               }});\n\
               sleep(0.6);\n\
             }}\n"
        ),
    )
    .unwrap();
    let csv = dir.join("k6.csv");
    let out = std::process::Command::new(&k6)
        .args(["run", "-q", "--out"])
        .arg(format!("csv={}", csv.display()))
        .arg(&script)
        .env("K6_NO_USAGE_REPORT", "true")
        .output()
        .expect("k6 runs");
    let _ = shop.kill();
    let _ = shop.wait();
    assert!(
        out.status.success(),
        "k6: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(csv)
}

#[test]
fn csv_rows_are_k6s_and_count_the_summary() {
    let Some(py) = python() else { return };
    let dir = temp_dir("out-csv");
    let plain = dir.join("volley.csv");
    let gz = dir.join("volley.csv.gz");
    let ms = dir.join("milli.csv");
    let (a, b, c) = (
        format!("csv={}", plain.display()),
        format!("csv={}", gz.display()),
        format!("csv=fileName={},timeFormat=unix_milli", ms.display()),
    );
    let (out, s) = run("out-csv", &["--out", &a, "--out", &b, "--out", &c]);
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    let v = check_py(&py, &["csv", plain.to_str().unwrap()]);
    let header: Vec<&str> = v["header"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert_eq!(header.join(","), K6_HEADER);
    assert_eq!(
        v["widths"],
        serde_json::json!([19]),
        "every row has 19 cells"
    );
    let m = &v["metrics"];
    let rows = |metric: &str| m[metric]["rows"].as_u64().unwrap_or(0);
    // One row per sample, as k6: per request, per iteration, per check.
    let reqs = count(&s, "http_reqs");
    assert_eq!(rows("http_reqs"), reqs);
    assert_eq!(m["http_reqs"]["ones"].as_u64(), Some(reqs));
    for trend in [
        "http_req_duration",
        "http_req_waiting",
        "http_req_blocked",
        "http_req_failed",
    ] {
        assert_eq!(rows(trend), reqs, "{trend}");
    }
    assert_eq!(rows("iterations"), count(&s, "iterations"));
    assert_eq!(rows("iteration_duration"), count(&s, "iterations"));
    let passes = metric_value(&s, "checks", "passes");
    let fails = metric_value(&s, "checks", "fails");
    assert_eq!(m["checks"]["ones"].as_u64(), Some(passes));
    assert_eq!(m["checks"]["zeros"].as_u64(), Some(fails));
    assert_eq!(rows("checks"), passes + fails);
    let sent = m["data_sent"]["sum"].as_f64().unwrap();
    assert_eq!(sent as u64, count(&s, "data_sent"));
    assert!(rows("vus") >= 1 && rows("vus") == rows("vus_max"));
    // k6's columns: the group path with `::`, the check's own name, whole unix seconds.
    let row = &v["first"]["http_reqs|::catalogue|200|"];
    assert_eq!(row["method"], "GET");
    assert_eq!(row["scenario"], "browse");
    assert_eq!(row["expected_response"], "true");
    assert_eq!(row["name"], "/api/products/{test.iteration % 20 + 1}");
    let ts = row["timestamp"].as_str().unwrap();
    assert!(
        ts.len() == 10 && ts.bytes().all(|b| b.is_ascii_digit()),
        "{ts}"
    );
    assert_eq!(row["metric_value"], "1.000000");
    let miss = &v["first"]["http_reqs||404|"];
    assert_eq!(miss["expected_response"], "false");
    let odd = &v["first"][&format!("checks|::catalogue||{ODD_CHECK}")];
    assert_eq!(odd["metric_value"], "0.000000", "the check always fails");
    // The gzipped file holds the same rows; timeFormat=unix_milli writes ms.
    let z = check_py(&py, &["csv", gz.to_str().unwrap()]);
    assert_eq!(z["rows"], v["rows"]);
    let milli = check_py(&py, &["csv", ms.to_str().unwrap()]);
    let ts = milli["first"]["iterations"]["timestamp"].as_str().unwrap();
    assert_eq!(ts.len(), 13, "{ts}");
    // Real k6 against the same shop: the same header, and every metric Volley writes is
    // one k6 writes too (by the same name), with the same kind of rows.
    let Some(k6) = k6_csv(&dir) else { return };
    let k = check_py(&py, &["csv", k6.to_str().unwrap()]);
    assert_eq!(k["header"], v["header"], "k6's header");
    let k6_names: Vec<&String> = k["metrics"].as_object().unwrap().keys().collect();
    for name in m.as_object().unwrap().keys() {
        assert!(
            k6_names.contains(&name),
            "k6 writes no {name}: {k6_names:?}"
        );
    }
    let krow = &k["first"]["http_reqs|::catalogue|200|"];
    for col in [
        "method",
        "expected_response",
        "metric_value",
        "check",
        "group",
    ] {
        assert_eq!(krow[col], row[col], "column {col} of an http_reqs row");
    }
    assert_eq!(krow["scenario"], "default");
    assert_eq!(k["first"]["checks"]["check"], "status is 200");
    let kts = krow["timestamp"].as_str().unwrap();
    assert!(
        kts.len() == 10 && kts.bytes().all(|b| b.is_ascii_digit()),
        "k6's unix seconds: {kts}"
    );
}
