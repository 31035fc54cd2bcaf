//! The string methods and the std/encoding, std/crypto, std/time and std/data functions
//! end to end: `volley run` of files whose checks hold only if every function gives the
//! right answer, and whose signed requests the demo shop accepts only if the HMAC is the
//! body's under its key. A wrong key must fail the run, and the key never shows in the
//! output. Every run is bounded and uses loopback only.

use crate::support::*;
use std::time::Duration;

const DEMO_KEY: &str = "volley-demo-signing-key";

fn run_with_key(args: &[&str], key: &str) -> std::process::Output {
    volley_env(
        &repo(),
        args,
        &[("SIGNING_KEY", key)],
        Duration::from_secs(90),
    )
}

#[test]
fn known_answers_and_a_signature_the_demo_verifies() {
    let demo = DemoProcess::start();
    let dir = temp_dir("strings-values");
    let sj = dir.join("summary.json");
    let case = repo().join("tests/cases/run/strings_values.load");
    let args = [
        "run",
        case.to_str().unwrap(),
        "-q",
        "--param",
        &demo.url(),
        "--summary-json",
        sj.to_str().unwrap(),
    ];
    let out = run_with_key(&args, DEMO_KEY);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = summary(&sj);
    assert_eq!(metric(&s, "checks", "rate"), 1.0, "every check passed");
    assert_eq!(metric(&s, "iterations", "count"), 2.0);
    let stats = demo.stats();
    assert_eq!(
        stats["requests"]["POST /api/signed"], 4,
        "each iteration sent a signed and a tampered request: {stats}"
    );
    assert!(!text(&out).contains(DEMO_KEY), "the key is never printed");

    // Another key signs differently: the shop refuses, the `signed` check fails.
    let wrong = run_with_key(&args, "not-the-demo-key");
    assert_eq!(wrong.status.code(), Some(99), "{}", text(&wrong));
    let s = summary(&sj);
    assert!(metric(&s, "checks", "rate") < 1.0);
    assert!(!text(&wrong).contains("not-the-demo-key"));
}

#[test]
fn the_string_and_signed_examples_run_against_the_embedded_demo() {
    let out = volley_in(
        &repo(),
        &["run", "examples/strings.load", "--demo", "-q"],
        Duration::from_secs(90),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run_with_key(&["run", "examples/signed.load", "--demo", "-q"], DEMO_KEY);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains(DEMO_KEY));
}
