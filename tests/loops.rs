//! `var`, `for`, `while`, `break` and `continue` end to end (issue 17): examples/loops.load
//! against the demo shop, with request counts that only come out right when a
//! scenario-level `var` keeps its value per VU, `while` and `break` stop paging at the
//! short page, a range excludes its end and `continue` skips a round; and a `while true`
//! that never awaits still ends with the test.

use crate::support::*;
use std::time::{Duration, Instant};

/// 2 VUs × 3 iterations: 11 pages each (the last one empty), products 1 and 3, and `/health` in each VU's
/// first two iterations only.
const LISTS: u64 = 6 * 11;
const PRODUCTS: u64 = 6 * 2;
const HEALTH: u64 = 2 * 2;

#[test]
fn loops_example_counts_each_request_against_the_demo_shop() {
    let demo = DemoProcess::start();
    let (out, s) = run_with_summary(
        "loops",
        "examples/loops.load",
        &["--param", &demo.url()],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stats = demo.stats();
    let served = |k: &str| stats["requests"][k].as_u64().unwrap_or(0);
    assert_eq!(served("GET /api/products"), LISTS, "{stats}");
    assert_eq!(served("GET /api/products/{id}"), PRODUCTS, "{stats}");
    assert_eq!(served("GET /health"), HEALTH, "{stats}");
    assert_eq!(metric(&s, "iterations", "count"), 6.0);
    assert_eq!(
        metric(&s, "http_reqs", "count"),
        (LISTS + PRODUCTS + HEALTH) as f64
    );
    assert_eq!(metric(&s, "checks", "rate"), 1.0, "{}", text(&out));
}

#[test]
fn loops_example_runs_with_the_embedded_demo() {
    let (out, s) = run_with_summary(
        "loops-demo",
        "examples/loops.load",
        &["--demo"],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        metric(&s, "http_reqs", "count"),
        (LISTS + PRODUCTS + HEALTH) as f64
    );
}

#[test]
fn a_spinning_while_ends_at_graceful_stop() {
    let started = Instant::now();
    let (out, s) = run_with_summary(
        "loops-spin",
        "tests/cases/run/spin.load",
        &["--demo"],
        Duration::from_secs(60),
    );
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // 1 s of load and 1 s of graceful stop; the loop never ends on its own.
    assert!(took < Duration::from_secs(20), "the run took {took:?}");
    assert_eq!(metric(&s, "http_reqs", "count"), 2.0, "one request per VU");
    assert_eq!(
        s["metrics"]["iterations"]["values"]["count"]
            .as_f64()
            .unwrap_or(0.0),
        0.0,
        "no iteration completes"
    );
}

#[test]
fn loop_and_var_semantics_hold_at_run_time() {
    let (out, s) = run_with_summary(
        "loops-semantics",
        "tests/cases/run/loops_semantics.load",
        &["--demo"],
        Duration::from_secs(60),
    );
    // The `checks: rate == 100%` threshold fails the run (99) if any check is false.
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(metric(&s, "iterations", "count"), 6.0);
    // 6 checks in each of the 6 iterations, all passing.
    assert_eq!(metric(&s, "checks", "passes"), 36.0, "{}", text(&out));
}
