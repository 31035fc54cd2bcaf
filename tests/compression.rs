//! Compression end to end against `volley demo-server`: gzip and brotli product lists
//! decoded for the checks, `res.wire_size` below `res.size`, `data_received` in wire bytes,
//! a gzip request body the shop decodes, and `http = {compression: false}`
//! (tests/cases/run/compression.load). Each check fails without the feature.

use crate::support::*;
use std::time::Duration;

#[test]
fn compressed_responses_are_decoded_and_counted_on_the_wire() {
    let demo = DemoProcess::start();
    let (out, s) = run_with_summary(
        "compression",
        "tests/cases/run/compression.load",
        &["--param", &demo.url()],
        Duration::from_secs(90),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(metric(&s, "checks", "passes"), 5.0 * 5.0 + 2.0, "{s:#}");
    assert_eq!(metric(&s, "checks", "fails"), 0.0, "{s:#}");
    // 12 product pages of 100 items (~5 KB each decoded); 10 of them came compressed.
    let (_, page) = http(demo.1, "GET", "/api/products?limit=100", "");
    let decoded = page.len() as f64;
    let received = metric(&s, "data_received", "count");
    assert!(
        received < decoded * 12.0 * 0.6,
        "data_received {received} counts wire bytes, not {decoded} per page"
    );
}
