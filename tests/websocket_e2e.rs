//! WebSocket end to end against the demo shop's `/ws/echo` and `/ws/ticker` (`--demo`, on
//! loopback): examples/websocket.load and its k6 metrics in the summary, a threshold on a
//! `ws_*` metric failing the run with exit 99, and a fleet of runner processes whose merged
//! verdict judges the `ws_*` metrics of every runner. Every run is bounded.

use crate::support::*;
use std::time::Duration;

fn case(name: &str) -> String {
    repo()
        .join("tests/cases/ws")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn threshold_ok(s: &serde_json::Value, metric: &str, cond: &str) -> bool {
    s["metrics"][metric]["thresholds"][cond]["ok"]
        .as_bool()
        .unwrap_or_else(|| panic!("no threshold `{metric}: {cond}` in {s:#}"))
}

#[test]
fn the_websocket_example_runs_against_the_demo_with_k6_metrics() {
    let (out, s) = run_with_summary(
        "ws-example",
        "examples/websocket.load",
        &["--demo"],
        Duration::from_secs(90),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // chatters: 2 VUs × 5 iterations; watchers: 2 × 2; one listener.
    assert_eq!(metric(&s, "ws_sessions", "count"), 15.0);
    // Each chatter sends a text and a binary message; the listener one per 100 ms tick in
    // its 500 ms.
    let sent = metric(&s, "ws_msgs_sent", "count");
    assert!((23.0..=25.0).contains(&sent), "{sent}");
    // Their two echoes, at least one price per watcher, and the listener's prices.
    assert!(metric(&s, "ws_msgs_received", "count") >= 29.0);
    // The listener's session lasts its loop's 500 ms, and its loop closes it.
    assert!(metric(&s, "ws_session_duration", "max") >= 500.0);
    assert!(metric(&s, "ws_ping", "max") < 2000.0);
    assert!(metric(&s, "ws_connecting", "avg") > 0.0);
    assert_eq!(s["metrics"]["ws_connecting"]["contains"], "time");
    for (name, passes) in [
        ("echoed", 10),
        ("binary echoed", 10),
        ("pong", 10),
        ("a price came", 4),
        ("prices streamed", 1),
    ] {
        assert_eq!(root_check(&s, name), (passes, 0), "{name}");
    }
    assert!(threshold_ok(&s, "ws_sessions", "count >= 15"));
}

#[test]
fn a_threshold_on_a_ws_metric_fails_the_run_with_99() {
    let (out, s) = run_with_summary(
        "ws-threshold",
        &case("threshold_fails.load"),
        &["--demo"],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    assert_eq!(metric(&s, "ws_msgs_received", "count"), 6.0);
    assert!(!threshold_ok(&s, "ws_msgs_received", "count > 1000000"));
    assert!(threshold_ok(&s, "checks", "rate == 100%"));
}

#[test]
fn a_fleet_merges_the_ws_metrics_of_its_runners_into_one_verdict() {
    let (out, s) = run_with_summary(
        "ws-fleet",
        &case("fleet.load"),
        &["--demo", "--runners", "2"],
        Duration::from_secs(120),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // 8 VUs split 4 + 4, two iterations each: the merged counts are the whole file's.
    assert_eq!(metric(&s, "ws_sessions", "count"), 16.0);
    assert_eq!(metric(&s, "ws_msgs_sent", "count"), 32.0);
    assert!(metric(&s, "ws_ping", "max") < 2000.0);
    for (m, cond) in [
        ("ws_sessions", "count == 16"),
        ("ws_msgs_sent", "count == 32"),
        ("ws_msgs_received", "count == 32"),
        ("ws_session_duration", "p(95) < 5s"),
        ("ws_ping", "max < 2s"),
        ("ws_connecting", "p(99) < 2s"),
    ] {
        assert!(
            threshold_ok(&s, m, cond),
            "{m}: {cond} in the fleet's verdict"
        );
    }
    let rows = s["volley"]["runners"].as_array().expect("per-runner rows");
    assert_eq!(rows.len(), 2);
}

#[test]
fn the_demo_shop_refuses_a_plain_get_on_its_websocket_endpoints_and_counts_them() {
    let demo = DemoProcess::start();
    for path in ["/ws/echo", "/ws/ticker"] {
        let (status, body) = http(demo.1, "GET", path, "");
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body.contains("WebSocket handshake"), "{body}");
        let (status, _) = http(demo.1, "POST", path, "");
        assert_eq!(status, 405, "{path} takes GET only");
    }
    let stats = demo.stats();
    assert_eq!(stats["requests"]["GET /ws/echo"], 1);
    assert_eq!(stats["requests"]["GET /ws/ticker"], 1);
}

/// `wss://`, bytes, hosts, proxies and misbehaving servers.
#[path = "websocket_net.rs"]
mod net;

/// Every handshake refused: the run must not say "passed". It exits 99 as a run whose
/// requests all failed does, counts the failures in `ws_connect_errors` by `error_code`,
/// and lists them in the errors section with the first one's name and target.
#[test]
fn a_run_whose_sessions_all_fail_to_open_exits_99_and_says_so() {
    let dir = temp_dir("ws-refused");
    let port = free_port(); // nothing listens on it
    let file = dir.join("refused.load");
    std::fs::write(
        &file,
        format!(
            "target live = \"ws://127.0.0.1:{port}\"\n\n\
             scenario chat {{\n  workload = per_vu_iterations(vus: 2, iterations: 3)\n  \
             iteration {{\n    let s = ws.connect(live, \"/ws/echo\", timeout: 2s)\n    \
             s.send(\"hi\")\n    s.close(1000)\n  }}\n}}\n"
        ),
    )
    .unwrap();
    let sj = dir.join("summary.json");
    let out = volley_in(
        &dir,
        &[
            "run",
            file.to_str().unwrap(),
            "--summary-json",
            sj.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(99), "{t}");
    assert!(
        t.contains("nothing answered: all 6 WebSocket handshakes failed to reach a server"),
        "{t}"
    );
    assert!(!t.contains("passed"), "{t}");
    let s = summary(&sj);
    assert_eq!(s["volley"]["verdict"], "no_responses");
    assert_eq!(metric(&s, "ws_connect_errors", "count"), 6.0);
    let errors = s["volley"]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["code"], 1212);
    assert_eq!(errors[0]["count"], 6);
    assert_eq!(errors[0]["first"]["target"], "live");
    assert_eq!(errors[0]["first"]["request"], "/ws/echo");

    // One session that opens (the demo's echo) makes it an ordinary run again: the
    // refused ones stay counted, the verdict is the thresholds'.
    let demo = DemoProcess::start();
    std::fs::write(
        &file,
        format!(
            "target live = \"ws://127.0.0.1:{port}\"\ntarget demo = \"ws://127.0.0.1:{}\"\n\n\
             scenario chat {{\n  workload = per_vu_iterations(vus: 1, iterations: 2)\n  \
             iteration {{\n    let ok = ws.connect(demo, \"/ws/echo\", timeout: 5s)\n    \
             ok.close(1000)\n    let s = ws.connect(live, \"/ws/echo\", timeout: 2s)\n    \
             s.close(1000)\n  }}\n}}\n",
            demo.1
        ),
    )
    .unwrap();
    let out = volley_in(
        &dir,
        &[
            "run",
            file.to_str().unwrap(),
            "--summary-json",
            sj.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let s = summary(&sj);
    assert_eq!(metric(&s, "ws_sessions", "count"), 2.0);
    assert_eq!(metric(&s, "ws_connect_errors", "count"), 2.0);
}
