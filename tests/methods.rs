//! `request(METHOD, ..)` end to end against `volley demo-server`: a method outside the
//! seven built-ins reaches the server (tests/cases/run/methods.load).

use crate::support::*;
use std::time::Duration;

#[test]
fn any_method_reaches_the_server() {
    let demo = DemoProcess::start();
    let (out, s) = run_with_summary(
        "methods",
        "tests/cases/run/methods.load",
        &["--param", &demo.url()],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(metric(&s, "checks", "passes"), 4.0, "{s:#}");
    assert_eq!(metric(&s, "checks", "fails"), 0.0, "{s:#}");
    assert_eq!(demo.stats()["requests"]["DELETE /api/session"], 2);
}
