//! `--out json|prometheus|influxdb` and `--report` end to end: a short `volley run` against
//! the embedded demo shop, then the written results read back (the NDJSON file, a real
//! Prometheus's and InfluxDB's query APIs, the report in headless Chromium) and compared
//! with the run's own `--summary-json`. Services come from `services` (skipped when
//! missing unless `VOLLEY_REQUIRE_TOOLS=1`).

use crate::services::{Chromium, InfluxDb, Prometheus};
use crate::support::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn case(name: &str) -> String {
    repo()
        .join("tests/cases/outputs")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn json_file(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("file written")).expect("JSON")
}

fn value(s: &Value, metric: &str, key: &str) -> f64 {
    s["metrics"][metric]["values"][key]
        .as_f64()
        .unwrap_or_else(|| panic!("summary has no {metric}.{key}"))
}

/// `volley run CASE --demo -q --summary-json DIR/summary.json EXTRA…` (bounded); returns
/// its output and the summary.
fn run_case(
    dir: &Path,
    file: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (std::process::Output, Value) {
    let sj = dir.join("summary.json");
    let mut args = vec![
        "run",
        file,
        "--demo",
        "-q",
        "--summary-json",
        sj.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = volley_env(&repo(), &args, env, Duration::from_secs(120));
    let summary = json_file(&sj);
    (out, summary)
}

fn ndjson(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("NDJSON written")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

fn sum(lines: &[Value], metric: &str, key: &str) -> f64 {
    lines
        .iter()
        .filter(|l| l["metric"] == metric)
        .map(|l| l["values"][key].as_f64().unwrap())
        .sum()
}

#[test]
fn ndjson_lines_stream_and_sum_to_the_summary() {
    let dir = temp_dir("out-json");
    let path = dir.join("out.ndjson");
    let spec = format!("json={}", path.display());
    let sj = dir.join("summary.json");
    // Read the file while the run is going: lines appear before it ends.
    let mut child = std::process::Command::new(volley_bin())
        .args(["run", &case("short.load"), "--demo", "-q", "--out", &spec])
        .args(["--summary-json", sj.to_str().unwrap()])
        .current_dir(repo())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen_while_running = false;
    while Instant::now() < deadline {
        let running = child.try_wait().unwrap().is_none();
        let has_lines = std::fs::read_to_string(&path).is_ok_and(|t| t.lines().count() > 0);
        if has_lines {
            seen_while_running = running;
            break;
        }
        if !running {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "volley did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(child.wait().unwrap().success(), "{stderr}");
    assert!(seen_while_running, "lines are flushed during the run");
    let s = json_file(&sj);
    let lines = ndjson(&path);
    assert_eq!(
        sum(&lines, "http_reqs", "count"),
        value(&s, "http_reqs", "count")
    );
    assert_eq!(
        sum(&lines, "iterations", "count"),
        value(&s, "iterations", "count")
    );
    assert_eq!(sum(&lines, "checks", "hits"), value(&s, "checks", "passes"));
    assert_eq!(
        sum(&lines, "http_req_duration", "count"),
        value(&s, "http_reqs", "count")
    );
    for l in &lines {
        for key in [
            "time",
            "elapsed_ms",
            "interval_ms",
            "testid",
            "metric",
            "type",
            "tags",
            "values",
        ] {
            assert!(l.get(key).is_some(), "every line has `{key}`: {l}");
        }
        assert!(l["tags"].get("url").is_none(), "{l}");
    }
    assert!(
        stderr.contains(&format!("json: {} lines", lines.len())),
        "{stderr}"
    );
}

/// The metric names the Grafana dashboard queries.
fn dashboard_names() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo().join("docs/grafana/volley.json")).unwrap();
    let dash: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("expr" | "query" | "definition", Value::String(s)) => out.push(s.clone()),
                        _ => walk(x, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    walk(&dash, &mut exprs);
    assert!(!exprs.is_empty(), "the dashboard has queries");
    let mut names = BTreeSet::new();
    for e in exprs {
        for (i, _) in e.match_indices("k6_") {
            let name: String = e[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            names.insert(name);
        }
    }
    names
}

#[test]
fn prometheus_remote_write_matches_the_summary() {
    let Some(prom) = Prometheus::start() else {
        return;
    };
    let dir = temp_dir("out-prom");
    let testid = format!("e2e-{}", std::process::id());
    let spec = format!("prometheus={},testid={testid}", prom.write_url());
    let json = dir.join("out.ndjson");
    let json_spec = format!("json={}", json.display());
    let (out, s) = run_case(
        &dir,
        &case("short.load"),
        &["--out", &spec, "--out", &json_spec],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("prometheus: "), "{}", text(&out));
    let sel = format!("{{testid=\"{testid}\"}}");
    let total = prom.query(&format!("sum(k6_http_reqs_total{sel})"));
    let got: f64 = total[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert_eq!(
        got,
        value(&s, "http_reqs", "count"),
        "requests in Prometheus = the summary's"
    );
    let iters = prom.query(&format!("sum(k6_iterations_total{sel})"));
    let got: f64 = iters[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert_eq!(got, value(&s, "iterations", "count"));
    // Each series once: as many k6_http_reqs_total series as distinct tag sets in the run,
    // and no label that would split them (per runner, per URL).
    let series = prom.series(&format!("k6_http_reqs_total{sel}"));
    let lines = ndjson(&json);
    let tag_sets: BTreeSet<String> = lines
        .iter()
        .filter(|l| l["metric"] == "http_reqs")
        .map(|l| l["tags"].to_string())
        .collect();
    assert_eq!(series.len(), tag_sets.len(), "{series:?}");
    for sr in &series {
        for bad in ["url", "instance", "runner", "pod", "job"] {
            assert!(sr.get(bad).is_none(), "no `{bad}` label: {sr}");
        }
        assert!(
            sr["name"].as_str().is_some_and(|n| !n.contains("://")),
            "{sr}"
        );
    }
    // Trends in seconds, like k6's output.
    let p95 = prom.query(&format!("max(k6_http_req_duration_p95{sel})"));
    let p95: f64 = p95[0]["value"][1].as_str().unwrap().parse().unwrap();
    let want = value(&s, "http_req_duration", "p(95)") / 1000.0;
    assert!(
        p95 > 0.0 && p95 <= value(&s, "http_req_duration", "max") / 1000.0 + 1e-9,
        "{p95} vs {want}"
    );
    // Every name the Grafana dashboard queries was written (no drops in this run, so
    // `k6_dropped_iterations_total` has no series).
    let stored: BTreeSet<String> = prom.names().into_iter().collect();
    for name in dashboard_names() {
        if name != "k6_dropped_iterations_total" {
            assert!(
                stored.contains(&name),
                "the dashboard queries {name}, not written: {stored:?}"
            );
        }
    }
    let _ = &prom.dir;
}

#[test]
fn prometheus_holds_the_fleet_once_not_once_per_runner() {
    let Some(prom) = Prometheus::start() else {
        return;
    };
    let dir = temp_dir("out-prom-fleet");
    let testid = format!("fleet-{}", std::process::id());
    let spec = format!("prometheus={},testid={testid}", prom.write_url());
    let json = dir.join("out.ndjson");
    let json_spec = format!("json={}", json.display());
    let (out, s) = run_case(
        &dir,
        &case("short.load"),
        &["--runners", "3", "--out", &spec, "--out", &json_spec],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(s["volley"]["runners"].as_array().map(Vec::len), Some(3));
    let sel = format!("{{testid=\"{testid}\"}}");
    let total = prom.query(&format!("sum(k6_http_reqs_total{sel})"));
    let got: f64 = total[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert_eq!(
        got,
        value(&s, "http_reqs", "count"),
        "the fleet's requests, counted once"
    );
    // One series per tag set of the merged run, none per runner.
    let series = prom.series(&format!("k6_http_reqs_total{sel}"));
    let tag_sets: BTreeSet<String> = ndjson(&json)
        .iter()
        .filter(|l| l["metric"] == "http_reqs")
        .map(|l| l["tags"].to_string())
        .collect();
    assert_eq!(series.len(), tag_sets.len(), "{series:?}");
    for sr in &series {
        for bad in ["instance", "runner", "pod", "segment"] {
            assert!(sr.get(bad).is_none(), "no `{bad}` label: {sr}");
        }
    }
    // The fleet's VUs are the sum over runners: 5 VUs in all, not 5 per runner.
    let vus = prom.query(&format!("max_over_time(k6_vus{sel}[1h])"));
    let vus: f64 = vus[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!((1.0..=5.0).contains(&vus), "fleet VUs {vus}");
}

#[test]
fn influxdb_points_match_the_summary() {
    let Some(influx) = InfluxDb::start() else {
        return;
    };
    influx.query("", "CREATE DATABASE volley");
    let dir = temp_dir("out-influx");
    let testid = format!("e2e-{}", std::process::id());
    let token = "influx-token-e2e-7d1c";
    let spec = format!(
        "influxdb=http://127.0.0.1:{}/write?db=volley,token_env=VOLLEY_TEST_INFLUX_TOKEN,testid={testid}",
        influx.port
    );
    let env = [("VOLLEY_TEST_INFLUX_TOKEN", token)];
    let (out, s) = run_case(&dir, &case("short.load"), &["--out", &spec], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains(token), "the token is never printed");
    let q = |what: &str, m: &str| {
        influx.scalar(
            "volley",
            &format!("SELECT {what} FROM \"{m}\" WHERE \"testid\" = '{testid}'"),
        )
    };
    assert_eq!(
        q("sum(\"value\")", "http_reqs"),
        value(&s, "http_reqs", "count")
    );
    assert_eq!(
        q("sum(\"value\")", "iterations"),
        value(&s, "iterations", "count")
    );
    assert_eq!(q("sum(\"hits\")", "checks"), value(&s, "checks", "passes"));
    assert_eq!(
        q("sum(\"total\")", "checks"),
        value(&s, "checks", "passes") + value(&s, "checks", "fails")
    );
    assert_eq!(
        q("sum(\"count\")", "http_req_duration"),
        value(&s, "http_reqs", "count")
    );
    assert!(q("max(\"max\")", "http_req_duration") > 0.0);
    let _ = &influx.dir;
}

/// A loopback server that answers `204` to every request and keeps what it read.
fn capture_server() -> (u16, std::sync::mpsc::Receiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for conn in l.incoming().take(50) {
            let Ok(mut s) = conn else { return };
            s.set_read_timeout(Some(Duration::from_millis(500))).ok();
            let mut buf = [0u8; 65536];
            let mut seen = String::new();
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.push_str(&String::from_utf8_lossy(&buf[..n]));
                // One answer per request head seen.
                while let Some(i) = seen.find("\r\n\r\n") {
                    let head: String = seen.drain(..i + 4).collect();
                    let _ = tx.send(head);
                    let _ = s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n");
                }
            }
        }
    });
    (port, rx)
}

#[test]
fn the_influx_token_is_sent_but_never_printed() {
    let (port, rx) = capture_server();
    let dir = temp_dir("out-secret");
    let token = "s3cr3t-influx-token-0b8e";
    let spec = format!("influxdb=http://127.0.0.1:{port}/volley,token_secret=influx_token");
    let json = dir.join("out.ndjson");
    let report = dir.join("report.html");
    let (out, s) = run_case(
        &dir,
        &case("secret_token.load"),
        &[
            "--out",
            &spec,
            "--out",
            &format!("json={}", json.display()),
            "--report",
            report.to_str().unwrap(),
        ],
        &[("VOLLEY_TEST_INFLUX_TOKEN", token)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let heads: Vec<String> = rx.try_iter().collect();
    assert!(
        heads.iter().any(|h| h
            .to_ascii_lowercase()
            .contains(&format!("authorization: token {token}"))),
        "the token reaches InfluxDB in its header: {heads:?}"
    );
    for (what, body) in [
        ("stdout and stderr", text(&out)),
        ("the NDJSON file", std::fs::read_to_string(&json).unwrap()),
        ("the report", std::fs::read_to_string(&report).unwrap()),
        ("the summary", s.to_string()),
    ] {
        assert!(!body.contains(token), "the token appears in {what}");
    }
    // A token on the command line is refused before any load, without echoing it.
    let bad = format!("influxdb=http://127.0.0.1:{port}/volley,token={token}");
    let out = volley_in(
        &repo(),
        &["run", &case("secret_token.load"), "--demo", "--out", &bad],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(!text(&out).contains(token), "{}", text(&out));
    assert!(
        text(&out).contains("never taken from the command line"),
        "{}",
        text(&out)
    );
}

/// `<tr data-metric=… data-condition=… data-ok=…>` rows of a page.
fn threshold_rows(html: &str) -> BTreeSet<(String, String, bool)> {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let end = tag[start..].find('"')? + start;
        Some(unescape(&tag[start..end]))
    };
    html.split("<tr")
        .skip(1)
        .filter_map(|t| {
            let tag = &t[..t.find('>')?];
            Some((
                attr(tag, "data-metric")?,
                attr(tag, "data-condition")?,
                attr(tag, "data-ok")? == "true",
            ))
        })
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn summary_thresholds(s: &Value) -> BTreeSet<(String, String, bool)> {
    let mut out = BTreeSet::new();
    for (metric, m) in s["metrics"].as_object().unwrap() {
        for (cond, v) in m["thresholds"].as_object().into_iter().flatten() {
            out.insert((metric.clone(), cond.clone(), v["ok"].as_bool().unwrap()));
        }
    }
    out
}

fn artifacts() -> PathBuf {
    let d = repo().join("tests/artifacts");
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn the_html_report_renders_offline_in_chromium() {
    let Some(chromium) = Chromium::find() else {
        return;
    };
    let dir = temp_dir("out-report");
    let report = dir.join("report.html");
    let (out, s) = run_case(
        &dir,
        &case("report.load"),
        &["--report", report.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    let dom = chromium.dump_dom(&report);
    assert!(
        dom.contains("id=\"thresholds\""),
        "the page rendered: {}",
        &dom[..dom.len().min(2000)]
    );
    // The charts: four figures, each with a drawn line of several points.
    for id in [
        "chart-latency",
        "chart-throughput",
        "chart-vus",
        "chart-errors",
    ] {
        let at = dom
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no {id}"));
        let fig = &dom[at..at + dom[at..].find("</figure>").unwrap()];
        let d = fig
            .split("<path class=\"line")
            .nth(1)
            .and_then(|p| p.split("d=\"").nth(1))
            .and_then(|p| p.split('"').next())
            .unwrap_or_else(|| panic!("{id} has no line"));
        assert!(
            d.starts_with('M') && d.matches('L').count() >= 2,
            "{id}: {d}"
        );
    }
    let rows = threshold_rows(&dom);
    let want = summary_thresholds(&s);
    assert_eq!(rows, want, "the thresholds table is the summary's");
    assert!(
        want.iter().any(|r| !r.2) && want.iter().any(|r| r.2),
        "both verdicts shown"
    );
    assert!(dom.contains("always fails"), "checks by name");
    assert!(dom.contains("id=\"source\""), "the source is shown");
    // Kept under tests/artifacts/: light and dark screenshots, the printed PDF, the page.
    for (name, dark) in [("report.png", false), ("report-dark.png", true)] {
        let png = artifacts().join(name);
        let _ = std::fs::remove_file(&png);
        chromium.screenshot(&report, &png, 1200, 3200, dark);
        let bytes = std::fs::read(&png).expect("the screenshot is written");
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 20_000,
            "{name}: {} bytes",
            bytes.len()
        );
    }
    let pdf = artifacts().join("report.pdf");
    let _ = std::fs::remove_file(&pdf);
    chromium.print_pdf(&report, &pdf);
    let bytes = std::fs::read(&pdf).expect("the PDF is written");
    assert!(
        bytes.starts_with(b"%PDF") && bytes.len() > 10_000,
        "{} bytes",
        bytes.len()
    );
    std::fs::copy(&report, artifacts().join("report.html")).unwrap();
}

#[test]
fn the_html_report_references_nothing_outside_itself() {
    let dir = temp_dir("out-report-refs");
    let report = dir.join("report.html");
    let (out, _) = run_case(
        &dir,
        &case("short.load"),
        &["--report", report.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        html.contains("<svg") && html.contains("<style>"),
        "charts and styles are inline"
    );
    let lower = html.to_ascii_lowercase();
    for bad in [
        "<script",
        "<link",
        "<img",
        "<iframe",
        "@import",
        "url(",
        "src=",
        "href=",
        "@font-face",
    ] {
        assert!(!lower.contains(bad), "the report contains `{bad}`");
    }
    // The only URLs are the plan's targets, shown as text: none sits inside a tag.
    for (i, _) in lower.match_indices("://") {
        let (open, close) = (lower[..i].rfind('<'), lower[..i].rfind('>'));
        assert!(
            open <= close,
            "a URL inside a tag: {}",
            &lower[i.saturating_sub(60)..(i + 40).min(lower.len())]
        );
    }
}

/// The report's intervals: (start ms, end ms, http_reqs) of each `#intervals` row.
fn report_intervals(html: &str) -> Vec<(u64, u64, u64)> {
    let attr = |row: &str, name: &str| -> u64 {
        let at = row
            .find(&format!(" {name}=\""))
            .unwrap_or_else(|| panic!("no {name} in {row}"));
        let rest = &row[at + name.len() + 3..];
        rest[..rest.find('"').unwrap()].parse().unwrap()
    };
    let table = html
        .split("<table id=\"intervals\">")
        .nth(1)
        .expect("the report lists its intervals");
    let table = &table[..table.find("</table>").unwrap()];
    table
        .split("<tr data-start-ms=")
        .skip(1)
        .map(|r| {
            let row = format!(" data-start-ms={r}");
            (
                attr(&row, "data-start-ms"),
                attr(&row, "data-end-ms"),
                attr(&row, "data-http-reqs"),
            )
        })
        .collect()
}

/// `steady.load` (100 requests/s for 3 s) with `--report` and `--out json` (and `extra`):
/// the report's series are the NDJSON file's intervals, from 0 to the run's end, each with
/// its true length, and no interval, the last one included, is a spike or a dip.
fn report_matches_ndjson(name: &str, extra: &[&str]) {
    let dir = temp_dir(name);
    let (report, json) = (dir.join("report.html"), dir.join("out.ndjson"));
    let spec = format!("json={}", json.display());
    let mut args = vec!["--report", report.to_str().unwrap(), "--out", &spec];
    args.extend_from_slice(extra);
    let (out, s) = run_case(&dir, &case("steady.load"), &args, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let html = std::fs::read_to_string(&report).unwrap();
    let series = report_intervals(&html);
    let lines = ndjson(&json);
    // The NDJSON's intervals: (start, end) → http_reqs, from `elapsed_ms` and `interval_ms`.
    let mut by_interval = std::collections::BTreeMap::<(u64, u64), u64>::new();
    for l in &lines {
        let end = l["elapsed_ms"].as_u64().unwrap();
        let start = end - l["interval_ms"].as_u64().unwrap();
        let n = by_interval.entry((start, end)).or_default();
        if l["metric"] == "http_reqs" {
            *n += l["values"]["count"].as_f64().unwrap() as u64;
        }
    }
    let ndjson_series: Vec<(u64, u64, u64)> = by_interval
        .into_iter()
        .map(|((a, b), n)| (a, b, n))
        .collect();
    assert_eq!(
        series, ndjson_series,
        "the report's series are the NDJSON's"
    );
    let total: u64 = series.iter().map(|p| p.2).sum();
    assert_eq!(total as f64, value(&s, "http_reqs", "count"), "{series:?}");
    // From the run's start, contiguous, to the run's end.
    assert_eq!(
        series[0].0, 0,
        "the first interval starts at the start: {series:?}"
    );
    assert!(series[0].1 <= 1000, "{series:?}");
    for w in series.windows(2) {
        assert_eq!(w[0].1, w[1].0, "contiguous: {series:?}");
    }
    let (last_start, last_end, last_n) = *series.last().unwrap();
    assert!(
        (2500..4500).contains(&last_end),
        "the last interval ends with the run (3 s and its tail): {series:?}"
    );
    // Rates are count / true length: 100/s everywhere, the last (partial) interval too.
    let rate = |(a, b, n): (u64, u64, u64)| n as f64 * 1000.0 / (b - a) as f64;
    let full: Vec<f64> = series[..series.len() - 1]
        .iter()
        .map(|p| rate(*p))
        .collect();
    for r in &full {
        assert!(
            (80.0..=120.0).contains(r),
            "a steady 100/s: {full:?} of {series:?}"
        );
    }
    let last = rate((last_start, last_end, last_n));
    assert!(
        (50.0..=115.0).contains(&last),
        "the last interval is a true rate, not a spike: {last}/s in {series:?}"
    );
}

#[test]
fn the_reports_series_are_the_ndjson_intervals_from_start_to_end() {
    report_matches_ndjson("out-series", &[]);
}

#[test]
fn a_fleets_report_series_are_the_ndjson_intervals_from_start_to_end() {
    report_matches_ndjson("out-series-fleet", &["--runners", "2"]);
}
