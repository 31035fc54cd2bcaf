//! gRPC end to end (issue 18): `grpc.invoke` against the demo shop's `shop.Catalog`
//! over h2c, with the answer's fields checked, `grpc_req_duration` in the summary with
//! k6's tags, a threshold on it failing the run (exit 99), a fleet whose merged verdict
//! includes it, and a call to a closed port ending UNAVAILABLE. Loopback only, bounded.

use crate::support::*;
use std::time::Duration;

fn case() -> String {
    repo()
        .join("tests/cases/run/grpc_unary.load")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn unary_calls_check_their_fields_and_record_grpc_req_duration() {
    let demo = DemoProcess::start();
    let (out, s) = run_with_summary(
        "grpc-unary",
        &case(),
        &["--param", &demo.url()],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(metric(&s, "checks", "rate"), 1.0, "{s:#}");
    assert_eq!(root_check(&s, "enum"), (20, 0));
    assert_eq!(root_check(&s, "not found"), (20, 0));
    assert!(metric(&s, "grpc_req_duration", "max") > 0.0);
    let th = &s["metrics"]["grpc_req_duration"]["thresholds"];
    assert_eq!(th["max < max_ms"]["ok"], true, "{s:#}");
    // A threshold without a sample fails at the end: this one passing shows that the
    // NOT_FOUND calls were recorded with `status: "5"`.
    let not_found = &s["metrics"]["grpc_req_duration{status:5}"]["thresholds"];
    assert_eq!(not_found["max < max_ms"]["ok"], true, "{s:#}");
    assert_eq!(
        demo.stats()["requests"]["POST /shop.Catalog/GetProduct"],
        40,
        "every call reached the shop"
    );
}

#[test]
fn a_failed_threshold_on_grpc_req_duration_exits_99() {
    let demo = DemoProcess::start();
    let (out, s) = run_with_summary(
        "grpc-threshold",
        &case(),
        &["--param", &demo.url(), "--param", "max_ms=1us"],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    assert_eq!(
        s["metrics"]["grpc_req_duration"]["thresholds"]["max < max_ms"]["ok"], false,
        "{s:#}"
    );
    assert_eq!(
        metric(&s, "checks", "rate"),
        1.0,
        "the calls themselves passed"
    );
}

#[test]
fn a_fleet_merges_grpc_req_duration_into_its_verdict() {
    let demo = DemoProcess::start();
    let (out, s) = run_with_summary(
        "grpc-fleet",
        &case(),
        &["--runners", "2", "--param", &demo.url()],
        Duration::from_secs(90),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        s["volley"]["runners"].as_array().map(Vec::len),
        Some(2),
        "{s:#}"
    );
    assert!(metric(&s, "grpc_req_duration", "max") > 0.0);
    assert_eq!(
        s["metrics"]["grpc_req_duration"]["thresholds"]["max < max_ms"]["ok"], true,
        "{s:#}"
    );
    assert_eq!(root_check(&s, "ok"), (20, 0), "the runners' checks, merged");
    assert_eq!(
        demo.stats()["requests"]["POST /shop.Catalog/GetProduct"],
        40
    );
    // The same fleet with a threshold no call can meet fails on the merged metric.
    let (out, s) = run_with_summary(
        "grpc-fleet-fail",
        &case(),
        &[
            "--runners",
            "2",
            "--param",
            &demo.url(),
            "--param",
            "max_ms=1us",
        ],
        Duration::from_secs(90),
    );
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    assert_eq!(
        s["metrics"]["grpc_req_duration"]["thresholds"]["max < max_ms"]["ok"], false,
        "{s:#}"
    );
    assert_eq!(
        demo.stats()["requests"]["POST /shop.Catalog/GetProduct"],
        80
    );
}

#[test]
fn a_closed_port_answers_unavailable_and_the_iteration_goes_on() {
    let port = free_port();
    let (out, s) = run_with_summary(
        "grpc-unavailable",
        &repo()
            .join("tests/cases/run/grpc_unavailable.load")
            .to_string_lossy(),
        &["--param", &format!("base_url=http://127.0.0.1:{port}")],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(metric(&s, "checks", "rate"), 1.0, "{s:#}");
    assert_eq!(root_check(&s, "unavailable"), (2, 0));
    assert!(metric(&s, "grpc_req_duration", "max") >= 0.0);
}

#[test]
fn the_grpc_example_runs_against_the_embedded_demo() {
    let (out, s) = run_with_summary(
        "grpc-example",
        "examples/grpc.load",
        &["--demo"],
        Duration::from_secs(90),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(metric(&s, "checks", "rate"), 1.0, "{s:#}");
    assert!(metric(&s, "grpc_req_duration", "p(95)") > 0.0);
}
