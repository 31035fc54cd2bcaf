//! The cookie jar end to end: examples/session.load against the embedded demo shop (log
//! in, the session cookie sent back, log out), and the jar's modes, `vu.cookies` and a
//! request's own cookies against `volley demo-server` (tests/cases/run/cookie_modes.load).
//! Every check there fails if cookies are not stored, sent, reset or set as documented.

use crate::support::*;
use std::time::Duration;

#[test]
fn the_session_example_logs_in_and_out_with_the_jar() {
    let dir = temp_dir("cookies-session");
    let sj = dir.join("summary.json");
    let out = volley_env(
        &repo(),
        &[
            "run",
            "examples/session.load",
            "--demo",
            "-q",
            "--summary-json",
            sj.to_str().unwrap(),
        ],
        &[("SHOP_PASSWORD", "pw")],
        Duration::from_secs(90),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = summary(&sj);
    // 2 VUs × 5 iterations × 5 checks, every one passing.
    assert_eq!(metric(&s, "checks", "passes"), 50.0, "{s:#}");
    assert_eq!(metric(&s, "checks", "fails"), 0.0, "{s:#}");
}

#[test]
fn the_jar_is_kept_per_vu_or_reset_per_iteration_and_set_by_the_script() {
    let demo = DemoProcess::start();
    let (out, s) = run_with_summary(
        "cookies-modes",
        "tests/cases/run/cookie_modes.load",
        &["--param", &demo.url()],
        Duration::from_secs(90),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // kept: 2 logins + 6 account checks; fresh: 6 iterations × 6 checks.
    assert_eq!(metric(&s, "checks", "passes"), 2.0 + 6.0 + 36.0, "{s:#}");
    assert_eq!(metric(&s, "checks", "fails"), 0.0, "{s:#}");
    let stats = demo.stats();
    assert_eq!(stats["requests"]["POST /api/session"], 2 + 6, "{stats}");
}
