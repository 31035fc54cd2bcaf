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
