//! The terminal summary as a user reads it (`volley run` stdout), snapshot-tested when
//! things go wrong: a run that never started, a target that refuses connections, a fleet
//! of 4 on a ramp, a threshold with no data. Timings and rates are normalised (`<t>`,
//! `<n>/s`); counts, marks, words and exit codes are not.

use crate::support::*;
use std::time::Duration;

fn case(name: &str) -> String {
    repo()
        .join("tests/cases/summary")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Whether `v` reads as a duration the summary prints: `850µs`, `12.3ms`, `1.5s`,
/// `2m3.4s`, `1h2m3s`.
fn is_duration(v: &str) -> bool {
    let v = v.trim_start_matches(['-', '+']);
    let body = v
        .strip_suffix("µs")
        .or_else(|| v.strip_suffix("ms"))
        .or_else(|| v.strip_suffix('s'));
    match body {
        Some(b) if !b.is_empty() => b
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'm' | 'h')),
        _ => false,
    }
}

fn is_number(v: &str) -> bool {
    !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// Timings to `<t>`, per-second rates to `<n>/s`, VU gauges (their timing varies) to
/// `<n>`; a line with a replacement has its inner runs of spaces collapsed (column widths
/// follow the replaced values), as has the runner table's header; trailing spaces off.
fn normalise(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        // A threshold's condition line (`✗ p(95) < 400ms (no data)`) stays as written.
        if (trimmed.starts_with('✓') || trimmed.starts_with('✗')) && !trimmed.contains(':') {
            out.push_str(line.trim_end());
            out.push('\n');
            continue;
        }
        let gauge = trimmed.starts_with("vus");
        // The runner table's header is padded to the width of the (replaced) timings.
        let header = trimmed.starts_with("runner") && trimmed.contains(" state ");
        let tokens: Vec<&str> = line.split(' ').collect();
        let mut fixed: Vec<String> = Vec::with_capacity(tokens.len());
        for (i, tok) in tokens.iter().enumerate() {
            let next = tokens.get(i + 1).copied().unwrap_or("");
            let t = if let Some((k, v)) = tok.split_once('=') {
                if is_duration(v) {
                    format!("{k}=<t>")
                } else if gauge && is_number(v) {
                    format!("{k}=<n>")
                } else {
                    (*tok).to_string()
                }
            } else if is_duration(tok) {
                "<t>".to_string()
            } else if tok.strip_suffix("/s").is_some_and(is_number) {
                "<n>/s".to_string()
            } else if is_number(tok) && (next.ends_with("B/s") || gauge) {
                "<n>".to_string()
            } else {
                (*tok).to_string()
            };
            fixed.push(t);
        }
        let joined = fixed.join(" ");
        if joined == line && !header {
            out.push_str(line.trim_end());
        } else {
            let indent = line.len() - line.trim_start().len();
            // A data rate's unit follows its value: `<n> kB/s` reads `<n> B/s`.
            let words: Vec<&str> = joined
                .split_whitespace()
                .map(|w| if w.ends_with("B/s") { "B/s" } else { w })
                .collect();
            out.push_str(&" ".repeat(indent));
            out.push_str(&words.join(" "));
        }
        out.push('\n');
    }
    out
}

fn snapshot(name: &str, stdout: &[u8], code: Option<i32>) {
    let text = format!(
        "{}\n(exit code {})\n",
        normalise(&String::from_utf8_lossy(stdout)),
        code.map_or("none".into(), |c| c.to_string())
    );
    insta::with_settings!({snapshot_path => repo().join("tests/snapshots"), prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!(format!("summary__{name}"), text);
    });
}

#[test]
fn normalise_keeps_counts_and_hides_timings() {
    let t = normalise("     http_req_duration...: avg=1.2ms min=850µs p(95)=2m3.4s\n     http_reqs...: 3      0.52/s   \n     data_sent...: 1.2 kB 3.4 kB/s\n       ✗ p(95) < 400ms (no data)\n");
    assert_eq!(
        t,
        "     http_req_duration...: avg=<t> min=<t> p(95)=<t>\n     http_reqs...: 3 <n>/s\n     data_sent...: 1.2 kB <n> B/s\n       ✗ p(95) < 400ms (no data)\n"
    );
    assert_eq!(
        normalise("   vus....: 0      min=0 max=4\n       0  ok  +1.2ms   +500ms\n"),
        "   vus....: <n> min=<n> max=<n>\n       0 ok <t> <t>\n"
    );
}

#[test]
fn a_run_that_never_started_prints_one_line_with_the_reason() {
    let dir = temp_dir("summary-never-started");
    let sj = dir.join("summary.json");
    let out = volley_in(
        &repo(),
        &[
            "run",
            &case("never_started.load"),
            "-q",
            "--summary-json",
            sj.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(104), "{}", text(&out));
    let s = summary(&sj);
    assert_eq!(s["volley"]["verdict"], "not_started");
    let reason = s["volley"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("VOLLEY_TEST_UNSET_SHOP_TOKEN"),
        "the reason names the variable: {s:#}"
    );
    assert!(s["metrics"].as_object().is_some_and(|m| m.is_empty()));
    snapshot("never_started", &out.stdout, out.status.code());
}

#[test]
fn a_threshold_with_no_data_fails_and_a_counter_without_samples_reads_zero() {
    let demo = DemoProcess::start();
    let dir = temp_dir("summary-no-data");
    let sj = dir.join("summary.json");
    let out = volley_in(
        &repo(),
        &[
            "run",
            &case("no_data.load"),
            "-q",
            "--param",
            &demo.url(),
            "--summary-json",
            sj.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    let s = summary(&sj);
    let t = &s["metrics"]["http_req_duration{group:never}"]["thresholds"]["p(95) < 400ms"];
    assert_eq!(
        (t["ok"].as_bool(), t["no_data"].as_bool()),
        (Some(false), Some(true)),
        "{s:#}"
    );
    let c = &s["metrics"]["failed_orders"]["thresholds"]["count == 0"];
    assert_eq!(c["ok"].as_bool(), Some(true), "{s:#}");
    snapshot("no_data", &out.stdout, out.status.code());
}

#[test]
fn a_refused_target_shows_connection_refused_in_words() {
    let port = free_port();
    let out = volley_in(
        &repo(),
        &[
            "run",
            &case("refused.load"),
            "-q",
            "--param",
            &format!("base_url=http://127.0.0.1:{port}"),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).replace(&port.to_string(), "PORT");
    snapshot("refused", stdout.as_bytes(), out.status.code());
}

#[test]
fn a_fleet_of_four_on_a_ramp_has_runner_rows() {
    let demo = DemoProcess::start();
    let dir = temp_dir("summary-fleet-ramp");
    let sj = dir.join("summary.json");
    let out = volley_in(
        &repo(),
        &[
            "run",
            &case("fleet_ramp.load"),
            "--runners",
            "4",
            "-q",
            "--param",
            &demo.url(),
            "--summary-json",
            sj.to_str().unwrap(),
        ],
        Duration::from_secs(90),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The skew is the spread of the runners' starts, not the ramp's offsets: the ramp
    // spreads the first requests over about 1.5 s, the starts stay together.
    let s = summary(&sj);
    let rows = s["volley"]["runners"].as_array().expect("runner rows");
    assert_eq!(rows.len(), 4, "{s:#}");
    let offsets = |key: &str| -> Vec<f64> {
        rows.iter()
            .map(|r| r[key].as_f64().unwrap_or_else(|| panic!("{key} in {r}")))
            .collect()
    };
    let spread = |v: &[f64]| {
        v.iter().copied().fold(f64::MIN, f64::max) - v.iter().copied().fold(f64::MAX, f64::min)
    };
    let firsts = spread(&offsets("first_request_offset_ms"));
    let skew = s["volley"]["start_skew_ms"].as_f64().expect("skew");
    assert!(
        (skew - spread(&offsets("start_offset_ms"))).abs() < 1e-6,
        "{s:#}"
    );
    assert!(firsts >= 500.0, "the ramp spreads first requests: {s:#}");
    assert!(
        skew < firsts / 2.0,
        "skew {skew} ms is not the ramp's {firsts} ms"
    );
    assert!(
        rows.iter()
            .all(|r| r["state"] == "ok" && r["share"] == 0.25),
        "{s:#}"
    );
    snapshot("fleet_ramp", &out.stdout, out.status.code());
}
