//! Levelled logs as an operator sees them: a script's `log(..)` is an INFO event of
//! target `volley::script`; `VOLLEY_LOG_FORMAT=json` (what the pods' manifests set) makes
//! every log line a JSON object with a `level`, and `VOLLEY_LOG` filters by level.

use crate::support::*;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// One VU, two iterations, each logging one line, against the demo shop.
const LOGS: &str = "target api = \"http://127.0.0.1:8088\"\n\nscenario s {\n  workload = per_vu_iterations(vus: 1, iterations: 2)\n  iteration {\n    get(api, \"/health\")\n    log(\"hello from the script\")\n  }\n}\n";

/// `volley run f.load --demo -q` with `env`; returns its stderr (the run must pass).
fn run_logging(name: &str, env: &[(&str, &str)]) -> String {
    let dir = temp_dir(name);
    std::fs::write(dir.join("f.load"), LOGS).unwrap();
    let out = volley_env(&dir, &["run", "f.load", "--demo", "-q"], env, LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn json_log_format_writes_a_json_object_with_a_level_per_line() {
    let err = run_logging("logs-json", &[("VOLLEY_LOG_FORMAT", "json")]);
    let events: Vec<serde_json::Value> = err
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for e in &events {
        assert!(e["level"].is_string(), "every event has a level: {e}");
    }
    let script: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["target"] == "volley::script")
        .collect();
    assert_eq!(script.len(), 2, "one event per log(..): {err}");
    for e in script {
        assert_eq!(e["level"], "INFO", "{e}");
        assert_eq!(e["fields"]["message"], "hello from the script", "{e}");
        assert_eq!(e["fields"]["vu"], 1, "{e}");
    }
    assert!(
        !err.lines()
            .any(|l| l.contains("hello from the script") && !l.starts_with('{')),
        "no plain-text copy of a script line: {err}"
    );
}

#[test]
fn volley_log_warn_filters_info_lines_out() {
    let plain = run_logging("logs-info", &[]);
    assert_eq!(
        plain
            .lines()
            .filter(|l| l.trim_start() == "INFO hello from the script vu=1")
            .count(),
        2,
        "the text format is `INFO message vu=N`: {plain}"
    );
    let warn = run_logging("logs-warn", &[("VOLLEY_LOG", "warn")]);
    assert!(
        !warn.contains("hello from the script") && !warn.contains("INFO"),
        "VOLLEY_LOG=warn drops INFO lines: {warn}"
    );
}
