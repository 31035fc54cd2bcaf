//! The summary shaped without code, end to end through `volley run` against the demo
//! shop: k6's `--summary-trend-stats` and `--summary-time-unit` on the text and the JSON
//! (one process, and a local fleet's merged summary), `--summary-template` (the shipped
//! Markdown PR comment) on stdout and into a file, and template errors reported with
//! their line before anything starts.

use crate::support::*;
use std::time::Duration;

const EXAMPLE: &str = "examples/iterations.load";
const PR_COMMENT: &str = "examples/summary/pr-comment.md.j2";

/// The `http_req_duration` line of a text summary.
fn duration_line(stdout: &str) -> String {
    stdout
        .lines()
        .find(|l| l.trim_start().starts_with("http_req_duration."))
        .unwrap_or_else(|| panic!("no http_req_duration line in:\n{stdout}"))
        .to_string()
}

/// `k=v` pairs after the line's `: `.
fn stats_of(line: &str) -> Vec<(String, String)> {
    let (_, values) = line.split_once(": ").expect("a metric line has `: `");
    values
        .split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("k=v");
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn trend_stats_and_time_unit_shape_the_text_and_the_json_and_a_template_writes_a_file() {
    let dir = temp_dir("summary-format-one");
    let (sj, md) = (dir.join("summary.json"), dir.join("comment.md"));
    let template = format!("{PR_COMMENT}={}", md.display());
    let out = volley_in(
        &repo(),
        &[
            "run",
            EXAMPLE,
            "--demo",
            "-q",
            "--summary-json",
            sj.to_str().unwrap(),
            "--summary-trend-stats",
            "avg,p(99.9),count,max",
            "--summary-time-unit",
            "ms",
            "--summary-template",
            &template,
        ],
        Duration::from_secs(90),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The text summary stays on stdout (the template went to its file), shaped.
    let stats = stats_of(&duration_line(&stdout));
    let keys: Vec<&str> = stats.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["avg", "p(99.9)", "count", "max"], "{stdout}");
    for (k, v) in &stats {
        if k == "count" {
            assert_eq!(v, "240", "{stdout}");
        } else {
            let n = v
                .strip_suffix("ms")
                .unwrap_or_else(|| panic!("{k}={v} in ms"));
            let (_, decimals) = n.split_once('.').expect("two decimals");
            assert_eq!(decimals.len(), 2, "{k}={v}");
        }
    }
    assert!(
        stdout.contains("passed: "),
        "the verdict line stays:\n{stdout}"
    );
    // The JSON gains the stats it lacked, from the merged histogram.
    let s = summary(&sj);
    assert_eq!(metric(&s, "http_req_duration", "count"), 240.0);
    let (p99, p999, max) = (
        metric(&s, "http_req_duration", "p(99)"),
        metric(&s, "http_req_duration", "p(99.9)"),
        metric(&s, "http_req_duration", "max"),
    );
    assert!(p99 <= p999 && p999 <= max, "{p99} {p999} {max}");
    // The template's file: the Markdown PR comment.
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(
        md.starts_with("### ✅ Load test `iterations`: passed\n"),
        "{md}"
    );
    assert!(md.contains("240 requests in "), "{md}");
    assert!(md.contains("| `http_req_duration` | "), "{md}");
    assert!(md.contains("| ✅ | `checks: rate == 100%` |"), "{md}");
    assert!(
        md.contains("- ✅ r.status == 200: 200 passed, 0 failed"),
        "{md}"
    );
    assert!(!md.contains("{{") && !md.contains("{%"), "{md}");
    assert!(
        text(&out).contains(&format!(
            "summary template: {}",
            dir.join("comment.md").display()
        )),
        "{}",
        text(&out)
    );
}

#[test]
fn a_fleet_merged_summary_takes_the_stats_and_a_template_replaces_the_text() {
    let dir = temp_dir("summary-format-fleet");
    let sj = dir.join("summary.json");
    let out = volley_in(
        &repo(),
        &[
            "run",
            EXAMPLE,
            "--demo",
            "-q",
            "--runners",
            "2",
            "--summary-json",
            sj.to_str().unwrap(),
            "--summary-trend-stats",
            "med,p(99.9),count",
            "--summary-template",
            PR_COMMENT,
        ],
        Duration::from_secs(120),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // stdout is the template's rendering, not the text summary.
    assert!(
        stdout.starts_with("### ✅ Load test `iterations`: passed\n"),
        "{stdout}"
    );
    assert!(stdout.contains("240 requests in "), "{stdout}");
    assert!(!stdout.contains("http_req_duration...."), "{stdout}");
    // The merged summary gained the fleet-wide count and p(99.9).
    let s = summary(&sj);
    assert_eq!(metric(&s, "http_req_duration", "count"), 240.0);
    assert!(metric(&s, "http_req_duration", "p(99.9)") > 0.0);
    assert_eq!(s["volley"]["runners"].as_array().map(Vec::len), Some(2));
}

#[test]
fn a_template_error_names_its_line_before_anything_starts() {
    let dir = temp_dir("summary-format-bad");
    let bad = dir.join("bad.md.j2");
    std::fs::write(
        &bad,
        "# {{ volley.test }}\n\n{% for m in metrics %}\n{{ m }\n",
    )
    .unwrap();
    let out = volley_in(
        &repo(),
        &[
            "run",
            EXAMPLE,
            "--demo",
            "--summary-template",
            bad.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("bad.md.j2`, line 4: syntax error"), "{all}");
    assert!(all.contains("  4 | {{ m }"), "{all}");
    assert!(all.contains("help: "), "{all}");
    assert!(!all.contains("demo shop on"), "nothing started:\n{all}");
    assert!(!all.contains("panicked"), "{all}");
    // An unknown filter is found by the sample render, also before the run.
    std::fs::write(&bad, "{{ metrics.http_reqs.values.count | nope }}\n").unwrap();
    let out = volley_in(
        &repo(),
        &[
            "run",
            EXAMPLE,
            "--demo",
            "--summary-template",
            bad.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("line 1") && all.contains("nope"), "{all}");
}

#[test]
fn bad_stats_and_units_are_usage_errors() {
    for (flag, value, says) in [
        (
            "--summary-trend-stats",
            "avg,p(abc)",
            "unknown trend stat `p(abc)`",
        ),
        (
            "--summary-trend-stats",
            "p(101)",
            "unknown trend stat `p(101)`",
        ),
        ("--summary-trend-stats", ",", "empty"),
        ("--summary-time-unit", "m", "possible values: s, ms, us"),
    ] {
        let out = volley_in(
            &repo(),
            &["run", EXAMPLE, "--demo", flag, value],
            Duration::from_secs(30),
        );
        let all = text(&out);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {all}");
        assert!(all.contains(says), "{flag} {value}: {all}");
        assert!(!all.contains("demo shop on"), "{all}");
    }
}

/// The same 1000 values (1..=1000 ms in a time trend, 1..=1000 in a number trend) through
/// real k6 and through Volley with the same `--summary-trend-stats` and
/// `--summary-time-unit`: the same statistics in the same order, written the same way
/// (two decimals and the unit for time, a plain number for `count`); exact statistics
/// equal, percentiles within HDR's precision (k6 interpolates between exact samples).
#[test]
fn trend_stats_and_time_unit_read_as_real_k6_writes_them() {
    let local = repo().join(".venv/bin/k6");
    let k6 = if local.is_file() {
        local
    } else {
        match std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("k6"))
                .find(|p| p.is_file())
        }) {
            Some(p) => p,
            None => return skip_or_fail("k6"),
        }
    };
    let dir = temp_dir("summary-format-k6");
    std::fs::write(
        dir.join("t.js"),
        "import { Trend } from 'k6/metrics';\n\
         const lat = new Trend('lat', true);\n\
         const num = new Trend('num');\n\
         export const options = { iterations: 1, vus: 1 };\n\
         export default function () { for (let i = 1; i <= 1000; i++) { lat.add(i); num.add(i); } }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("t.load"),
        "metric lat = trend(duration)\n\
         metric num = trend(number)\n\
         scenario once {\n  \
           workload = shared_iterations(vus: 1, iterations: 1)\n  \
           iteration {\n    \
             for i in 1..1001 {\n      \
               lat.add(1ms * i)\n      \
               num.add(i)\n    \
             }\n  \
           }\n\
         }\n",
    )
    .unwrap();
    let stats = "avg,min,med,max,p(90),p(99.9),count";
    for unit in ["ms", "s", "us"] {
        let flags = ["--summary-trend-stats", stats, "--summary-time-unit", unit];
        let mut child = std::process::Command::new(&k6)
            .args(["run", "-q", "--no-color", "--no-usage-report"])
            .args(flags)
            .arg("t.js")
            .current_dir(&dir)
            .env("K6_NO_USAGE_REPORT", "true")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                panic!("k6 did not finish within 60 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let k6_out = child.wait_with_output().unwrap();
        let k6_text = String::from_utf8_lossy(&k6_out.stdout).into_owned();
        assert!(k6_out.status.success(), "{}", text(&k6_out));
        let mut args = vec!["run", "t.load", "-q"];
        args.extend(flags);
        let ours = volley_in(&dir, &args, Duration::from_secs(60));
        assert_eq!(ours.status.code(), Some(0), "{}", text(&ours));
        let our_text = String::from_utf8_lossy(&ours.stdout).into_owned();
        for metric in ["lat", "num"] {
            let line = |t: &str| {
                let prefix = format!("{metric}.");
                t.lines()
                    .find(|l| l.trim_start().starts_with(&prefix))
                    .unwrap_or_else(|| panic!("no {metric} line in:\n{t}"))
                    .to_string()
            };
            let (theirs, mine) = (stats_of(&line(&k6_text)), stats_of(&line(&our_text)));
            let keys =
                |s: &[(String, String)]| s.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
            assert_eq!(
                keys(&theirs),
                keys(&mine),
                "{unit} {metric}:\n{k6_text}\n{our_text}"
            );
            for ((k, a), (_, b)) in theirs.iter().zip(&mine) {
                let split = |v: &str| {
                    let at = v
                        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                        .unwrap_or(v.len());
                    (v[..at].parse::<f64>().unwrap(), v[at..].to_string())
                };
                let ((x, ua), (y, ub)) = (split(a), split(b));
                assert_eq!(ua, ub, "{unit} {metric} {k}: k6 {a}, volley {b}");
                if metric == "lat" {
                    let decimals =
                        |v: &str| v.split_once('.').map_or(0, |(_, d)| d.len() - ua.len());
                    if k != "count" {
                        assert_eq!(decimals(a), 2, "k6 {a}");
                        assert_eq!(decimals(b), 2, "volley {b}");
                    }
                }
                if ["avg", "min", "max", "count"].contains(&k.as_str()) {
                    assert_eq!(a, b, "{unit} {metric} {k}");
                } else {
                    assert!(
                        (x - y).abs() <= x * 0.002 + 0.01,
                        "{unit} {metric} {k}: k6 {a}, volley {b}"
                    );
                }
            }
        }
    }
}

/// The same test of the demo shop as a k6 script and a `.load` file: 40 shared
/// iterations on 4 VUs, a group with a check, a check at the root, a threshold that passes
/// and one that fails; 2.5 s long, so that k6 samples its `vus` and `vus_max` (once a
/// second).
const EXPORT_JS: &str = "import http from 'k6/http';\n\
import { check, group, sleep } from 'k6';\n\
export const options = {\n\
  scenarios: { shared: { executor: 'shared-iterations', vus: 4, iterations: 40, maxDuration: '1m' } },\n\
  thresholds: { http_req_duration: ['p(95)<5000'], checks: ['rate>0.9'], http_reqs: ['count<1'] },\n\
};\n\
export default function () {\n\
  group('browse', function () {\n\
    const r = http.get(`${__ENV.BASE}/api/products?page=1`);\n\
    check(r, { 'status 200': (r) => r.status === 200 });\n\
  });\n\
  const h = http.get(`${__ENV.BASE}/health`);\n\
  check(h, { 'health ok': (r) => r.status === 200 });\n\
  sleep(0.25);\n\
}\n";

const EXPORT_LOAD: &str = "param base_url: url = \"http://127.0.0.1:8088\"\n\
target shop = base_url\n\
scenario shared {\n  \
  workload = shared_iterations(vus: 4, iterations: 40, max_duration: 1m)\n  \
  iteration {\n    \
    group \"browse\" {\n      \
      let r = get(shop, \"/api/products?page=1\")\n      \
      check \"status 200\": r.status == 200\n    \
    }\n    \
    let h = get(shop, \"/health\")\n    \
    check \"health ok\": h.status == 200\n    \
    sleep 250ms\n  \
  }\n\
}\n\
thresholds {\n  \
  http_req_duration: p(95) < 5s\n  \
  checks: rate > 90%\n  \
  http_reqs: count < 1\n\
}\n";

/// The keys of a JSON object, sorted.
fn keys(v: &serde_json::Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

/// A group of a legacy export with its groups and checks, keyed by name, with every
/// value but the check counts (which differ in nothing here) compared.
fn same_group(k6: &serde_json::Value, ours: &serde_json::Value) {
    assert_eq!(keys(k6), keys(ours), "group keys:\n{k6:#}\n{ours:#}");
    for k in ["name", "path", "id"] {
        assert_eq!(k6[k], ours[k], "group {k}");
    }
    assert_eq!(keys(&k6["checks"]), keys(&ours["checks"]), "check names");
    for name in keys(&k6["checks"]) {
        let (a, b) = (&k6["checks"][&name], &ours["checks"][&name]);
        assert_eq!(keys(a), keys(b), "check {name}'s keys");
        for k in ["name", "path", "id", "passes", "fails"] {
            assert_eq!(a[k], b[k], "check {name}: {k}");
        }
    }
    assert_eq!(keys(&k6["groups"]), keys(&ours["groups"]), "group names");
    for name in keys(&k6["groups"]) {
        same_group(&k6["groups"][&name], &ours["groups"][&name]);
    }
}

/// `--summary-export` against real k6 1.1.0's: both run the same test of the demo shop
/// and their files agree key by key: the same top-level keys, metric names and stat keys
/// per metric (a trend's k6 default stats, a rate's `value`, `passes` and
/// `fails`, a counter's `count` and `rate`, a gauge's `value`, `min` and `max`), the
/// thresholds as booleans `true` when failed, the groups and checks keyed by name with
/// k6's ids, and the deterministic values (counts) equal, times in ms. Volley's run also
/// takes `--no-summary`: nothing on stdout, the exit code of the failed threshold, and
/// `--summary-json` and the export written.
#[test]
fn summary_export_is_k6s_legacy_json_key_by_key() {
    let Some(k6) = k6_bin() else {
        return skip_or_fail("k6");
    };
    let demo = DemoProcess::start();
    let base = format!("http://127.0.0.1:{}", demo.1);
    let dir = temp_dir("summary-export-k6");
    std::fs::write(dir.join("t.js"), EXPORT_JS).unwrap();
    std::fs::write(dir.join("t.load"), EXPORT_LOAD).unwrap();
    let env = format!("BASE={base}");
    let theirs = k6_run(
        &k6,
        &dir,
        &["--env", &env, "--summary-export", "k6.json", "t.js"],
    );
    assert_eq!(theirs.status.code(), Some(99), "{}", text(&theirs));
    let param = format!("base_url={base}");
    let ours = volley_in(
        &dir,
        &[
            "run",
            "t.load",
            "-q",
            "--param",
            &param,
            "--no-summary",
            "--summary-export",
            "volley.json",
            "--summary-json",
            "summary.json",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(ours.status.code(), Some(99), "{}", text(&ours));
    assert!(
        ours.stdout.is_empty(),
        "--no-summary: nothing on stdout:\n{}",
        String::from_utf8_lossy(&ours.stdout)
    );
    assert_eq!(
        metric(&summary(&dir.join("summary.json")), "http_reqs", "count"),
        80.0
    );
    let (k6j, ourj) = (
        summary(&dir.join("k6.json")),
        summary(&dir.join("volley.json")),
    );
    assert_eq!(keys(&k6j), keys(&ourj), "top-level keys");
    // Metric names: k6's every one, and no more.
    let (km, om) = (&k6j["metrics"], &ourj["metrics"]);
    assert_eq!(keys(km), keys(om), "metric names:\n{km:#}\n{om:#}");
    for name in keys(km) {
        let (a, b) = (&km[&name], &om[&name]);
        assert_eq!(keys(a), keys(b), "{name}'s keys:\nk6 {a}\nvolley {b}");
        // (k6's order of a trend's stats varies from run to run: Go's map order.)
        if let Some(t) = a.get("thresholds") {
            let verdicts = |t: &serde_json::Value| -> Vec<bool> {
                t.as_object()
                    .unwrap()
                    .values()
                    .map(|v| v.as_bool().expect("a threshold is a boolean"))
                    .collect()
            };
            assert_eq!(
                verdicts(t),
                verdicts(&b["thresholds"]),
                "{name}'s thresholds (true: failed):\nk6 {t}\nvolley {}",
                b["thresholds"]
            );
        }
    }
    // The deterministic values: every request and iteration, every check.
    for (m, k, v) in [
        ("http_reqs", "count", 80.0),
        ("iterations", "count", 40.0),
        ("checks", "passes", 80.0),
        ("checks", "fails", 0.0),
        ("checks", "value", 1.0),
        ("http_req_failed", "value", 0.0),
        ("http_req_failed", "fails", 80.0),
    ] {
        assert_eq!(km[m][k], v, "k6 {m}.{k}");
        assert_eq!(om[m][k], v, "volley {m}.{k}");
    }
    assert_eq!(
        km["http_reqs"]["thresholds"]["count<1"], true,
        "k6: failed is true"
    );
    // Times in ms: loopback answers within 1 s and take more than 1 µs, in both.
    for m in ["http_req_duration", "iteration_duration"] {
        for f in [&km[m]["avg"], &om[m]["avg"]] {
            let ms = f.as_f64().unwrap();
            assert!(ms > 0.001 && ms < 1000.0, "{m} avg {ms} ms");
        }
    }
    same_group(&k6j["root_group"], &ourj["root_group"]);
    assert_eq!(ourj["root_group"]["checks"]["health ok"]["passes"], 40);
    assert_eq!(
        ourj["root_group"]["groups"]["browse"]["checks"]["status 200"]["passes"],
        40
    );
}

#[test]
fn no_summary_with_a_template_on_stdout_is_a_usage_error() {
    let out = volley_in(
        &repo(),
        &[
            "run",
            EXAMPLE,
            "--demo",
            "--no-summary",
            "--summary-template",
            PR_COMMENT,
        ],
        Duration::from_secs(30),
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("--no-summary prints nothing there") && all.contains("=OUT"),
        "{all}"
    );
    assert!(!all.contains("demo shop on"), "nothing started:\n{all}");
}
