//! The dashboard fed through an `OutputSet` as a run feeds it: its data follows the
//! intervals, its page is live until the end and the report after, and it is read-only.

use super::*;
use crate::metrics::{ids, Registry, Shard, Snapshot, Tags};
use crate::output::{OutputConfig, OutputSet, SETTLE};
use std::collections::BTreeMap;
use std::time::Duration;

/// `n` requests of `ms` each, taken `secs` seconds after the start.
fn second(reg: &Arc<Registry>, n: u32, ms: f64, secs: u64) -> Snapshot {
    let mut shard = Shard::new(Arc::clone(reg));
    for i in 0..n {
        shard.count(ids::HTTP_REQS, &Tags::default(), 1.0);
        shard.trend(ids::HTTP_REQ_DURATION, &Tags::default(), ms);
        shard.rate(ids::HTTP_REQ_FAILED, &Tags::default(), i == 0);
    }
    let mut s = shard.take();
    s.end_ms = Some(secs * 1000);
    s
}

fn data(d: &Dashboard, since: usize) -> serde_json::Value {
    serde_json::from_slice(&d.data(since, &[])).unwrap()
}

fn body(r: &Reply) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

#[test]
fn the_data_follows_the_intervals_and_the_page_becomes_the_report() {
    let plan = Arc::new(crate::output::tests::plan());
    let d = Dashboard::new(Arc::clone(&plan), "run-1", Some("// the source".into()));
    let mut set = OutputSet::new(OutputConfig {
        specs: Vec::new(),
        report: None,
        testid: "run-1".into(),
        plan: Arc::clone(&plan),
        source: None,
        env: BTreeMap::new(),
    })
    .unwrap();
    assert!(set.is_empty());
    set.attach_dashboard(d.clone());
    assert!(!set.is_empty(), "a dashboard is something to feed");
    assert_eq!(data(&d, 0)["phase"], "starting");

    let reg = Registry::new(&plan.metrics);
    let mut agg = Aggregate::new(Arc::clone(&reg));
    let t0 = SystemTime::now();
    for (secs, ms) in [(1u64, 10.0), (2, 500.0)] {
        let s = second(&reg, 20, ms, secs);
        set.observe(&s);
        agg.merge(&s);
        let live = Live {
            elapsed: Duration::from_secs(secs) + SETTLE,
            vus: 4,
            vus_max: 5,
        };
        set.flush(t0 + live.elapsed, &agg, &live);
        let v = data(&d, 0);
        assert_eq!(v["phase"], "running");
        assert_eq!(v["points"].as_array().unwrap().len(), secs as usize);
        assert_eq!(v["totals"]["http_reqs"], 20 * secs);
        assert_eq!(v["vus"], 4);
    }
    let v = data(&d, 0);
    assert_eq!(v["points"][0]["latency"]["p95"], 10.0);
    assert_eq!(v["points"][1]["latency"]["p95"], 500.0);
    assert_eq!(v["points"][1]["http_failed"], 1);
    // The threshold `p(95) < 400ms` turned red with the slow second.
    assert_eq!(v["thresholds"][0]["name"], "http_req_duration");
    assert_eq!(v["thresholds"][0]["passed"], false);
    assert_eq!(
        v["thresholds"][0]["conditions"][0]["source"],
        "p(95) < 400ms"
    );
    // What the page shows carries the metric's unit, as the summary writes it.
    assert_eq!(
        v["thresholds"][0]["conditions"][0]["observed_text"],
        "500ms"
    );
    assert_eq!(v["control"], false);
    // The page asks only for what it has not seen.
    let v = data(&d, 1);
    assert_eq!(
        (v["since"].as_u64(), v["point_count"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(v["points"].as_array().unwrap().len(), 1);
    assert_eq!(data(&d, 99)["points"].as_array().unwrap().len(), 0);

    // Live: the script's page, self-contained.
    let page = d.route(&Method::GET, "/", "", true, Vec::new).unwrap();
    assert_eq!(page.status, 200);
    let html = body(&page);
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("id=\"live\"") && html.contains("<script>"));
    assert!(
        !html.contains("://"),
        "the page refers to nothing outside itself"
    );
    assert!(!html.contains(" src="), "no external script or image");
    assert!(d.route(&Method::GET, "/", "", false, Vec::new).is_none());
    assert!(d
        .route(&Method::GET, "/v1/abort", "", true, Vec::new)
        .is_none());
    // Read-only.
    for m in [Method::POST, Method::PUT, Method::DELETE] {
        let r = d.route(&m, "/dashboard/data", "", true, Vec::new).unwrap();
        assert_eq!(r.status, 405, "{m}");
    }
    let rows = || {
        vec![RunnerRow {
            index: 0,
            state: "running",
            http_reqs: 40.0,
            iterations: 40.0,
            reason: None,
        }]
    };
    let r = d
        .route(&Method::GET, "/dashboard/data", "since=2", false, rows)
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["runners"][0]["state"], "running");
    assert_eq!(v["points"].as_array().unwrap().len(), 0);

    // A fleet's rows reach any server of the dashboard.
    d.set_runner_rows(rows);
    let r = d
        .route(&Method::GET, "/dashboard/data", "", true, Vec::new)
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["runners"][0]["http_reqs"], 40.0);

    // The end: the page is the report.
    agg.set_elapsed(Duration::from_secs(2));
    let results = thresholds::evaluate(&plan.thresholds, &agg, Phase::End);
    let s = crate::summary::build(&agg, &plan, &results, Duration::from_secs(2));
    let live = Live {
        elapsed: Duration::from_secs(2) + SETTLE,
        vus: 0,
        vus_max: 5,
    };
    assert!(!d.is_done());
    set.finish(&s, &agg, &live);
    assert!(d.is_done());
    let v = data(&d, 0);
    assert_eq!(v["phase"], "done");
    assert_eq!(v["verdict"], "thresholds_failed");
    assert_eq!(v["exit_code"], 99);
    let html = body(
        &d.route(&Method::GET, "/dashboard", "", false, Vec::new)
            .unwrap(),
    );
    assert!(html.contains("id=\"intervals\""), "the report");
    assert!(html.contains("the source"), "with the file's source");
    assert!(!html.contains("id=\"live\""));
}

#[test]
fn the_server_serves_the_page_and_data_and_nothing_else() {
    use std::io::{Read, Write};
    let plan = Arc::new(crate::output::tests::plan());
    let d = Dashboard::new(plan, "run-2", None);
    let server = DashboardServer::start("127.0.0.1:0".parse().unwrap(), d.clone()).unwrap();
    let port = server.addr().port();
    assert!(server.url().ends_with(&format!(":{port}/")));
    let get = |method: &str, path: &str| {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    };
    let page = get("GET", "/");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("text/html"), "{page}");
    let data = get("GET", "/dashboard/data?since=0");
    assert!(data.contains("application/json") && data.contains("\"phase\":\"starting\""));
    assert!(
        get("POST", "/v1/abort").starts_with("HTTP/1.1 404"),
        "no control"
    );
    assert!(get("POST", "/dashboard").starts_with("HTTP/1.1 405"));
    drop(server);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "stopped when dropped"
    );
}

#[test]
fn observed_values_are_written_in_their_metrics_units() {
    let time = Some((MetricKind::Trend, Contains::Time));
    assert_eq!(
        observed_text(6.79, time, Some(Aggregation::P)),
        fmt_duration(6.79)
    );
    assert_eq!(observed_text(12.0, time, Some(Aggregation::Count)), "12");
    let rate = Some((MetricKind::Rate, Contains::Default));
    assert_eq!(observed_text(0.005, rate, Some(Aggregation::Rate)), "0.5%");
    let data = Some((MetricKind::Counter, Contains::Data));
    assert_eq!(
        observed_text(2048.0, data, Some(Aggregation::Count)),
        fmt_bytes(2048.0)
    );
    let count = Some((MetricKind::Counter, Contains::Default));
    assert_eq!(
        observed_text(33.2, count, Some(Aggregation::Rate)),
        "33.2/s"
    );
    assert_eq!(observed_text(7.0, None, None), fmt_num(7.0));
}
