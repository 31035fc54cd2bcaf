//! `--out otlp=URL` end to end: a short `volley run` against the embedded demo shop sends
//! OTLP/HTTP protobuf to a receiver this test starts. No OpenTelemetry Collector installs
//! here (none in Debian's apt; GitHub releases are unreachable), so the receiver is a loopback HTTP/1.1 server that decodes each body as an
//! `ExportMetricsServiceRequest` with the types generated from the official proto
//! (`opentelemetry-proto`) and answers as a collector does (200, or 500 when told to).

use crate::support::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::mpsc::Receiver;
use std::time::Duration;
use volley_engine::output::otlp::{self, Request};

/// One received export: its path, content type, and decoded body.
struct Export {
    path: String,
    content_type: String,
    req: Request,
}

/// A loopback receiver answering `status` to each POST; what it decoded comes out of the
/// channel.
fn receiver(status: u16) -> (u16, Receiver<Export>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for conn in l.incoming().take(200) {
            let Ok(s) = conn else { return };
            s.set_read_timeout(Some(Duration::from_secs(5))).ok();
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut w = s.try_clone().unwrap();
                let mut r = BufReader::new(s);
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = line.split(' ').nth(1).unwrap_or_default().to_string();
                    let mut headers = BTreeMap::new();
                    loop {
                        let mut h = String::new();
                        if r.read_line(&mut h).unwrap_or(0) == 0 {
                            return;
                        }
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = h.split_once(':') {
                            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                        }
                    }
                    let len: usize = headers
                        .get("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    let mut body = vec![0u8; len];
                    if r.read_exact(&mut body).is_err() {
                        return;
                    }
                    if status == 200 {
                        let req = otlp::decode(&body).expect("a valid ExportMetricsServiceRequest");
                        let _ = tx.send(Export {
                            path,
                            content_type: headers.get("content-type").cloned().unwrap_or_default(),
                            req,
                        });
                        let _ = w.write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
                        );
                    } else {
                        let _ = w.write_all(
                            b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\n\r\nboom",
                        );
                    }
                }
            });
        }
    });
    (port, rx)
}

fn case(name: &str) -> String {
    repo()
        .join("tests/cases/outputs")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn run(dir: &Path, extra: &[&str]) -> (std::process::Output, Value) {
    let sj = dir.join("summary.json");
    let file = case("short.load");
    let mut args = vec![
        "run",
        file.as_str(),
        "--demo",
        "-q",
        "--summary-json",
        sj.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = volley_in(&repo(), &args, Duration::from_secs(120));
    let s = serde_json::from_slice(&std::fs::read(&sj).expect("summary written")).unwrap();
    (out, s)
}

fn value(s: &Value, metric: &str, key: &str) -> f64 {
    s["metrics"][metric]["values"][key]
        .as_f64()
        .unwrap_or_else(|| panic!("summary has no {metric}.{key}"))
}

fn attr(kvs: &[opentelemetry_proto_kv::KeyValue], key: &str) -> Option<String> {
    use opentelemetry_proto_kv::Value as V;
    kvs.iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            V::StringValue(s) => Some(s.clone()),
            _ => None,
        })
}

/// The proto types the assertions read (re-exported by the engine's module).
mod opentelemetry_proto_kv {
    pub use volley_engine::output::otlp::proto::common::v1::any_value::Value;
    pub use volley_engine::output::otlp::proto::common::v1::KeyValue;
    pub use volley_engine::output::otlp::proto::metrics::v1::metric::Data;
}

/// The metrics of the last export, by name.
fn last_metrics(
    exports: &[Export],
) -> BTreeMap<String, volley_engine::output::otlp::proto::metrics::v1::Metric> {
    let last = exports.last().expect("at least one export");
    last.req.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .map(|m| (m.name.clone(), m.clone()))
        .collect()
}

#[test]
fn otlp_exports_match_the_summary() {
    let (port, rx) = receiver(200);
    let dir = temp_dir("out-otlp");
    let spec = format!("otlp=http://127.0.0.1:{port},testid=otlp-e2e");
    let (out, s) = run(&dir, &["--out", &spec]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("otlp: "), "{}", text(&out));
    let exports: Vec<Export> = rx.try_iter().collect();
    assert!(
        exports.len() >= 3,
        "one export per interval: {}",
        exports.len()
    );
    for e in &exports {
        assert_eq!(e.path, "/v1/metrics");
        assert_eq!(e.content_type, "application/x-protobuf");
        let rm = &e.req.resource_metrics;
        assert_eq!(rm.len(), 1);
        let res = &rm[0].resource.as_ref().unwrap().attributes;
        assert_eq!(attr(res, "service.name").as_deref(), Some("volley"));
        assert_eq!(attr(res, "volley.run_id").as_deref(), Some("otlp-e2e"));
        assert!(
            attr(res, "volley.test").is_some_and(|t| !t.is_empty()),
            "{res:?}"
        );
    }
    use opentelemetry_proto_kv::Data;
    let m = last_metrics(&exports);
    for name in [
        "http_req_duration",
        "http_reqs",
        "iterations",
        "checks",
        "vus",
        "data_received",
    ] {
        assert!(m.contains_key(name), "{name} missing: {:?}", m.keys());
    }
    // Cumulative by default: the last export's histograms and sums hold the whole run.
    let Some(Data::ExponentialHistogram(h)) = &m["http_req_duration"].data else {
        panic!("an exponential histogram: {:?}", m["http_req_duration"]);
    };
    assert_eq!(m["http_req_duration"].unit, "ms");
    assert_eq!(h.aggregation_temporality, 2, "cumulative");
    let mut hist_count = 0;
    let mut names = BTreeSet::new();
    for p in &h.data_points {
        let buckets: u64 = p
            .positive
            .as_ref()
            .map_or(0, |b| b.bucket_counts.iter().sum());
        assert_eq!(
            buckets + p.zero_count,
            p.count,
            "bucket counts sum to the count"
        );
        hist_count += p.count;
        names.extend(attr(&p.attributes, "name"));
        assert!(attr(&p.attributes, "url").is_none(), "no url attribute");
        assert_eq!(attr(&p.attributes, "scenario").as_deref(), Some("browse"));
    }
    let reqs = value(&s, "http_reqs", "count");
    assert_eq!(
        hist_count as f64, reqs,
        "histogram counts = the summary's http_reqs"
    );
    assert!(
        names.iter().any(|n| n.contains("/api/products")),
        "{names:?}"
    );
    let Some(Data::Sum(sum)) = &m["http_reqs"].data else {
        panic!("a Sum")
    };
    assert!(sum.is_monotonic);
    let total: f64 = sum
        .data_points
        .iter()
        .map(|p| match p.value {
            Some(
                volley_engine::output::otlp::proto::metrics::v1::number_data_point::Value::AsDouble(
                    v,
                ),
            ) => v,
            _ => 0.0,
        })
        .sum();
    assert_eq!(total, reqs, "http_reqs sum = the summary's");
}

#[test]
fn otlp_delta_and_explicit_buckets_add_up_to_the_summary() {
    let (port, rx) = receiver(200);
    let dir = temp_dir("out-otlp-delta");
    let spec =
        format!("otlp=http://127.0.0.1:{port}/v1/metrics,temporality=delta,histogram=explicit");
    // A local fleet: the coordinator sends the merged intervals once.
    let (out, s) = run(&dir, &["--runners", "2", "--out", &spec]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(s["volley"]["runners"].as_array().map(Vec::len), Some(2));
    use opentelemetry_proto_kv::Data;
    let exports: Vec<Export> = rx.try_iter().collect();
    let mut count = 0u64;
    for e in &exports {
        assert_eq!(e.path, "/v1/metrics", "a full path is used as is");
        for m in &e.req.resource_metrics[0].scope_metrics[0].metrics {
            if m.name != "http_req_duration" {
                continue;
            }
            let Some(Data::Histogram(h)) = &m.data else {
                panic!("explicit buckets: {m:?}")
            };
            assert_eq!(h.aggregation_temporality, 1, "delta");
            for p in &h.data_points {
                assert_eq!(p.bucket_counts.len(), p.explicit_bounds.len() + 1);
                assert_eq!(p.bucket_counts.iter().sum::<u64>(), p.count);
                assert!(p.start_time_unix_nano < p.time_unix_nano);
                count += p.count;
            }
        }
    }
    assert_eq!(
        count as f64,
        value(&s, "http_reqs", "count"),
        "the deltas add up to the fleet's requests, each once"
    );
}

#[test]
fn a_failing_collector_does_not_fail_the_run_and_is_reported() {
    let (port, _rx) = receiver(500);
    let dir = temp_dir("out-otlp-500");
    let spec = format!("otlp=http://127.0.0.1:{port}");
    let (out, s) = run(&dir, &["--out", &spec]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(value(&s, "http_reqs", "count") > 0.0);
    let t = text(&out);
    assert!(
        t.contains("warning: otlp:") && t.contains("HTTP 500"),
        "the failure is reported: {t}"
    );
    // Nothing listens: the same.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let spec = format!("otlp=http://127.0.0.1:{port}");
    let (out, _) = run(&dir, &["--out", &spec]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("warning: otlp:"), "{}", text(&out));
    // A bad option is refused before any load.
    let bad = format!("otlp=http://127.0.0.1:{port},temporality=sometimes");
    let out = volley_in(
        &repo(),
        &["run", &case("short.load"), "--demo", "--out", &bad],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("cumulative or delta"), "{}", text(&out));
}
