//! Tests of the outputs: spec parsing, Prometheus naming and wire format, line protocol,
//! NDJSON lines, the report, the sender's queue and retries (against loopback servers the
//! tests start), and that tokens never leave a request header.

use super::prometheus::{self, families, metric_names, text, PromOptions};
use super::sender::{SendPolicy, Sender, Target};
use super::stats::TrendStat;
use super::*;
use crate::metrics::{ids, Shard, Tags};
use crate::summary;
use crate::thresholds::{evaluate, Phase};
use bytes::Bytes;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use url::Url;
use volley_plan::plan::{Aggregation, CmpOp, Condition, Fleet, SecretRef, Threshold};

pub(super) fn plan() -> Plan {
    Plan {
        version: volley_plan::PLAN_VERSION,
        name: "checkout".into(),
        params: BTreeMap::new(),
        targets: Vec::new(),
        secrets: vec![SecretRef {
            name: "influx".into(),
            env: "OUT_TEST_INFLUX".into(),
        }],
        data: Vec::new(),
        metrics: Vec::new(),
        flows: Vec::new(),
        setup: None,
        setup_values: Vec::new(),
        teardown: None,
        scenarios: Vec::new(),
        thresholds: vec![Threshold {
            metric: "http_req_duration".into(),
            tags: BTreeMap::new(),
            conditions: vec![Condition {
                aggregation: Aggregation::P,
                percentile: Some(95.0),
                op: CmpOp::Lt,
                value: 400.0,
                source: "p(95) < 400ms".into(),
                baseline: None,
            }],
            abort_on_fail: false,
            delay_abort_eval_ms: 0,
        }],
        fleet: Fleet::default(),
        files: Vec::new(),
        protos: Vec::new(),
    }
}

fn config(specs: &[&str], env: &[(&str, &str)]) -> OutputConfig {
    OutputConfig {
        specs: specs.iter().map(|s| s.to_string()).collect(),
        report: None,
        testid: "run-1".into(),
        plan: Arc::new(plan()),
        source: None,
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn tags(name: &str, status: u16) -> Tags {
    Tags {
        scenario: Some("browse".into()),
        name: Some(name.into()),
        method: Some("GET".into()),
        status: Some(status),
        extra: Some(Arc::new(BTreeMap::from([(
            "url".to_string(),
            "http://x/raw?id=1".to_string(),
        )]))),
        ..Tags::default()
    }
}

/// A snapshot of `n` requests of `ms` each to `name`, `failed` of them failed.
fn requests(reg: &Arc<Registry>, name: &str, n: u32, ms: f64, failed: u32) -> Snapshot {
    let mut shard = Shard::new(Arc::clone(reg));
    for i in 0..n {
        let t = tags(name, if i < failed { 500 } else { 200 });
        shard.count(ids::HTTP_REQS, &t, 1.0);
        shard.trend(ids::HTTP_REQ_DURATION, &t, ms);
        shard.rate(ids::HTTP_REQ_FAILED, &t, i < failed);
    }
    shard.take()
}

fn registry() -> Arc<Registry> {
    Registry::new(&[])
}

#[test]
fn specs_parse_with_options_and_list_values() {
    let s = spec::parse(
        "prometheus=http://127.0.0.1:9090/api/v1/write,trend_stats=p(95),p(99),max,testid=abc",
    )
    .unwrap();
    let OutSpec::Prometheus { url, opts } = s else {
        panic!("{s:?}")
    };
    assert_eq!(url.path(), "/api/v1/write");
    assert_eq!(opts["trend_stats"], "p(95),p(99),max");
    assert_eq!(opts["testid"], "abc");
    assert_eq!(
        spec::parse("json=out.ndjson").unwrap(),
        OutSpec::Json {
            path: "out.ndjson".into()
        }
    );
    for (bad, says) in [
        (
            "influxdb=http://h/write?db=x,token=abc",
            "never taken from the command line",
        ),
        (
            "prometheus=http://h/w,colour=red",
            "unknown option `colour`",
        ),
        ("prometheus=ftp://h/w", "http:// or https://"),
        ("prometheus=not a url", "not a URL"),
        ("statsd=udp://h", "unknown output"),
        ("json=", "file name is missing"),
        ("influxdb=http://h/x,token_env=A,token_secret=B", "not both"),
    ] {
        let e = spec::parse(bad).unwrap_err().to_string();
        assert!(e.contains(says), "{bad}: {e}");
        assert!(!e.contains("abc"), "an error never repeats a token: {e}");
    }
}

#[test]
fn csv_and_junit_specs_take_k6s_csv_options() {
    use std::time::Duration;
    let csv = |path: &str, tf, si| OutSpec::Csv {
        path: path.into(),
        time_format: tf,
        save_interval: si,
    };
    assert_eq!(
        spec::parse("csv=out.csv").unwrap(),
        csv("out.csv", spec::TimeFormat::Unix, None)
    );
    assert_eq!(
        spec::parse("csv=fileName=out.csv.gz,timeFormat=rfc3339,saveInterval=5s").unwrap(),
        csv(
            "out.csv.gz",
            spec::TimeFormat::Rfc3339,
            Some(Duration::from_secs(5))
        )
    );
    assert_eq!(
        spec::parse("csv=out.csv,time_format=unix_nano").unwrap(),
        csv("out.csv", spec::TimeFormat::UnixNano, None)
    );
    assert_eq!(
        spec::parse("junit=results/load.xml").unwrap(),
        OutSpec::Junit {
            path: "results/load.xml".into()
        }
    );
    for (bad, says) in [
        ("csv=", "--out csv=FILE: the file name is missing"),
        (
            "csv=timeFormat=unix",
            "--out csv=FILE: the file name is missing",
        ),
        ("junit=", "--out junit=FILE: the file name is missing"),
        ("csv=a.csv,timeFormat=unixMilli", "timeFormat `unixMilli`"),
        ("csv=a.csv,saveInterval=soon", "saveInterval `soon`"),
        ("csv=a.csv,colour=red", "unknown option `colour`"),
        ("csv=a.csv,b.csv", "unknown option `b.csv`"),
    ] {
        let e = spec::parse(bad).unwrap_err().to_string();
        assert!(e.contains(says), "{bad}: {e}");
    }
}

#[test]
fn trend_stats_parse_and_name_like_k6() {
    let stats = TrendStat::parse_list("p(95), p(99.9),avg,med,count").unwrap();
    let names: Vec<String> = stats.iter().map(|s| s.suffix()).collect();
    assert_eq!(names, ["p95", "p999", "avg", "med", "count"]);
    assert_eq!(TrendStat::P(99.9).key(), "p(99.9)");
    assert!(TrendStat::parse("p(101)").is_err());
    assert!(TrendStat::parse("mean").is_err());
    assert!(TrendStat::parse_list(" , ").is_err());
}

#[test]
fn prometheus_families_follow_k6_naming_and_units() {
    let reg = registry();
    let mut agg = Aggregate::new(Arc::clone(&reg));
    agg.merge(&requests(&reg, "/api/products", 10, 20.0, 2));
    agg.merge(&requests(&reg, "/api/products", 10, 20.0, 0));
    let mut opts = PromOptions::new("run-1");
    opts.trend_stats = TrendStat::parse_list("p(95),avg,count").unwrap();
    let live = Live {
        elapsed: Duration::from_secs(2),
        vus: 7,
        vus_max: 9,
    };
    let fams = families(&agg, &opts, Some(&live));
    let by: BTreeMap<&str, &prometheus::Family> =
        fams.iter().map(|f| (f.name.as_str(), f)).collect();
    let reqs = by["k6_http_reqs_total"];
    let total: f64 = reqs.samples.iter().map(|s| s.1).sum();
    assert_eq!(total, 20.0, "counters are cumulative");
    assert_eq!(reqs.samples.len(), 2, "one series per status");
    for (labels, _) in &reqs.samples {
        let names: Vec<&str> = labels.iter().map(|l| l.0.as_str()).collect();
        assert_eq!(
            names,
            ["method", "name", "scenario", "status", "testid"],
            "no url label"
        );
    }
    let p95 = by["k6_http_req_duration_p95"].samples[0].1;
    assert!(
        (p95 - 0.020).abs() < 0.0001,
        "time trends in seconds: {p95}"
    );
    let count: f64 = by["k6_http_req_duration_count"]
        .samples
        .iter()
        .map(|s| s.1)
        .sum();
    assert_eq!(count, 20.0, "counts are not scaled");
    let failed = &by["k6_http_req_failed_rate"].samples;
    assert!(failed.iter().any(|s| s.1 == 1.0) && failed.iter().any(|s| s.1 == 0.0));
    assert_eq!(by["k6_vus"].samples[0].1, 7.0);
    assert_eq!(by["k6_vus_max"].samples[0].1, 9.0);
    let names = metric_names(&reg, &opts.trend_stats);
    for f in &fams {
        assert!(
            names.contains(&f.name),
            "{} is listed in metric_names",
            f.name
        );
    }
}

#[test]
fn prometheus_text_format_has_types_and_escaped_labels() {
    let reg = registry();
    let mut agg = Aggregate::new(Arc::clone(&reg));
    agg.merge(&requests(&reg, "/a \"quoted\"\\path", 3, 5.0, 0));
    let t = text(&agg, &PromOptions::new("run-1"), None);
    assert!(t.contains("# TYPE k6_http_reqs_total counter\n"), "{t}");
    assert!(t.contains("# TYPE k6_http_req_duration_p95 gauge\n"), "{t}");
    assert!(
        t.contains(r#"name="/a \"quoted\"\\path""#),
        "label values are escaped:\n{t}"
    );
    let line = t
        .lines()
        .find(|l| l.starts_with("k6_http_reqs_total{"))
        .unwrap();
    assert!(line.ends_with(" 3"), "{line}");
    assert!(!t.contains("url="), "{t}");
}

#[test]
fn remote_write_bodies_decode_to_sorted_labels() {
    let reg = registry();
    let mut agg = Aggregate::new(Arc::clone(&reg));
    agg.merge(&requests(&reg, "/x", 4, 5.0, 1));
    let fams = families(&agg, &PromOptions::new("run-1"), None);
    let body = prometheus::encode_write_request(&fams, 1_700_000_000_123).unwrap();
    let req = prometheus::decode_write_request(&body).unwrap();
    let n: usize = fams.iter().map(|f| f.samples.len()).sum();
    assert_eq!(req.timeseries.len(), n);
    for ts in &req.timeseries {
        let names: Vec<&str> = ts.labels.iter().map(|l| l.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted, "labels sorted by name");
        assert_eq!(names[0], "__name__");
        assert_eq!(ts.samples.len(), 1);
        assert_eq!(ts.samples[0].timestamp, 1_700_000_000_123);
    }
    let reqs: f64 = req
        .timeseries
        .iter()
        .filter(|t| t.labels[0].value == "k6_http_reqs_total")
        .map(|t| t.samples[0].value)
        .sum();
    assert_eq!(reqs, 4.0);
}

fn interval<'a>(delta: &'a Aggregate, total: &'a Aggregate, live: &'a Live) -> Interval<'a> {
    Interval {
        at: UNIX_EPOCH + Duration::from_millis(1_700_000_000_000),
        secs: 1.0,
        delta,
        total,
        live,
    }
}

#[test]
fn influx_urls_choose_the_api_by_shape() {
    let u = |s: &str| Url::parse(s).unwrap();
    let (w, api) = influx::write_url(&u("http://h:8086/volley")).unwrap();
    assert_eq!(
        (w.as_str(), api),
        (
            "http://h:8086/write?db=volley&precision=ms",
            influx::Api::V1
        )
    );
    let (w, api) = influx::write_url(&u("http://h:8086/write?db=k6")).unwrap();
    assert_eq!(
        (w.as_str(), api),
        ("http://h:8086/write?db=k6&precision=ms", influx::Api::V1)
    );
    let (w, api) =
        influx::write_url(&u("https://h/api/v2/write?org=o&bucket=b&precision=s")).unwrap();
    assert_eq!(
        (w.as_str(), api),
        (
            "https://h/api/v2/write?org=o&bucket=b&precision=s",
            influx::Api::V2
        )
    );
    assert!(influx::write_url(&u("http://h:8086/api/v2/write?org=o")).is_err());
    assert!(influx::write_url(&u("http://h:8086/write")).is_err());
    assert!(influx::write_url(&u("http://h:8086/")).is_err());
}

#[test]
fn influx_lines_escape_and_carry_the_interval() {
    let reg = registry();
    let mut delta = Aggregate::new(Arc::clone(&reg));
    delta.merge(&requests(&reg, "/a b,c=d", 3, 8.0, 1));
    let live = Live {
        vus: 2,
        vus_max: 3,
        ..Live::default()
    };
    let body = influx::lines(&interval(&delta, &delta, &live), "run-1");
    let reqs: Vec<&str> = body
        .lines()
        .filter(|l| l.starts_with("http_reqs,"))
        .collect();
    assert_eq!(reqs.len(), 2, "{body}");
    for l in &reqs {
        assert!(l.contains(r"name=/a\ b\,c\=d"), "tag values escaped: {l}");
        assert!(l.contains(",testid=run-1"), "{l}");
        assert!(!l.contains("url="), "{l}");
        assert!(l.ends_with(" 1700000000000"), "{l}");
    }
    let sum: f64 = reqs
        .iter()
        .map(|l| {
            let f = l.split(' ').rev().nth(1).unwrap();
            f.strip_prefix("value=").unwrap().parse::<f64>().unwrap()
        })
        .sum();
    assert_eq!(sum, 3.0);
    assert!(
        body.lines()
            .any(|l| l.starts_with("http_req_duration,") && l.contains("count=2i")),
        "{body}"
    );
    assert!(
        body.lines()
            .any(|l| l.starts_with("vus,testid=run-1 value=2")),
        "{body}"
    );
}

#[test]
fn json_lines_sum_to_the_interval() {
    let reg = registry();
    let mut delta = Aggregate::new(Arc::clone(&reg));
    delta.merge(&requests(&reg, "/a", 5, 8.0, 2));
    let live = Live {
        vus: 4,
        vus_max: 4,
        ..Live::default()
    };
    let lines = json::lines(&interval(&delta, &delta, &live), "run-1");
    let count: f64 = lines
        .iter()
        .filter(|l| l["metric"] == "http_reqs")
        .map(|l| l["values"]["count"].as_f64().unwrap())
        .sum();
    assert_eq!(count, 5.0);
    let hits: u64 = lines
        .iter()
        .filter(|l| l["metric"] == "http_req_failed")
        .map(|l| l["values"]["hits"].as_u64().unwrap())
        .sum();
    assert_eq!(hits, 2);
    let d = lines
        .iter()
        .find(|l| l["metric"] == "http_req_duration")
        .unwrap();
    assert_eq!(d["type"], "trend");
    assert_eq!(d["contains"], "time");
    assert_eq!(d["testid"], "run-1");
    assert!(d["tags"].get("url").is_none(), "{d}");
    assert!(d["values"]["p(95)"].as_f64().unwrap() > 7.9);
    assert_eq!(lines.iter().filter(|l| l["metric"] == "vus").count(), 1);
}

/// Reads one HTTP request (head and `Content-Length` body) from a stream.
fn read_request(s: &mut std::net::TcpStream) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return (head, buf[end + 4..].to_vec());
        }
    }
    (String::from_utf8_lossy(&buf).to_string(), Vec::new())
}

/// A loopback server answering each connection's requests with the given statuses in
/// turn; sends every (head, body) it reads.
fn server(statuses: Vec<u16>) -> (u16, mpsc::Receiver<(String, Vec<u8>)>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut statuses = statuses.into_iter();
        for conn in l.incoming() {
            let Ok(mut s) = conn else { return };
            s.set_read_timeout(Some(Duration::from_secs(10))).ok();
            loop {
                let (head, body) = read_request(&mut s);
                if head.is_empty() {
                    break;
                }
                let Some(status) = statuses.next() else {
                    return;
                };
                let _ = tx.send((head, body));
                let _ = write!(s, "HTTP/1.1 {status} X\r\ncontent-length: 2\r\n\r\nno");
            }
        }
    });
    (port, rx)
}

fn quick_policy() -> SendPolicy {
    SendPolicy {
        backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        ..SendPolicy::default()
    }
}

#[test]
fn sender_retries_5xx_then_delivers() {
    let (port, rx) = server(vec![503, 500, 204]);
    let url = Url::parse(&format!("http://127.0.0.1:{port}/w")).unwrap();
    let s = Sender::start(
        "test",
        Target {
            url,
            headers: Vec::new(),
        },
        quick_policy(),
    )
    .unwrap();
    s.push(Bytes::from_static(b"batch-1"));
    let r = s.finish();
    assert_eq!(
        (r.sent, r.retries, r.failed, r.dropped),
        (1, 2, 0, 0),
        "{r:?}"
    );
    let bodies: Vec<Vec<u8>> = rx.try_iter().map(|(_, b)| b).collect();
    assert_eq!(bodies, vec![b"batch-1".to_vec(); 3]);
}

#[test]
fn sender_does_not_retry_a_4xx_and_says_why() {
    let (port, _rx) = server(vec![400, 204]);
    let url = Url::parse(&format!("http://127.0.0.1:{port}/w")).unwrap();
    let s = Sender::start(
        "test",
        Target {
            url,
            headers: Vec::new(),
        },
        quick_policy(),
    )
    .unwrap();
    s.push(Bytes::from_static(b"x"));
    let r = s.finish();
    assert_eq!((r.sent, r.retries, r.failed), (0, 0, 1), "{r:?}");
    assert!(r.last_error.unwrap().contains("HTTP 400"));
}

#[test]
fn a_full_queue_drops_the_oldest_batch_and_counts_it() {
    // A server that reads the first request and never answers: the sender stays busy.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = l.accept() {
            let _ = tx.send(read_request(&mut s).1);
            std::thread::sleep(Duration::from_secs(5));
        }
    });
    let url = Url::parse(&format!("http://127.0.0.1:{port}/w")).unwrap();
    let policy = SendPolicy {
        capacity: 2,
        attempts: 1,
        drain: Duration::from_millis(50),
        timeout: Duration::from_secs(4),
        ..SendPolicy::default()
    };
    let s = Sender::start(
        "test",
        Target {
            url,
            headers: Vec::new(),
        },
        policy,
    )
    .unwrap();
    s.push(Bytes::from_static(b"first"));
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), b"first");
    for b in ["b2", "b3", "b4", "b5"] {
        s.push(Bytes::from(b));
    }
    let r = s.finish();
    // b2, b3 dropped by the full queue; b4, b5 left when the drain time ran out.
    assert_eq!((r.sent, r.dropped), (0, 4), "{r:?}");
}

/// A file output that fails mid-run (a full disk) is one warning, not one per interval
/// nor one from the set and another from the output.
#[test]
fn a_json_file_that_fails_mid_run_is_one_warning() {
    if !std::path::Path::new("/dev/full").exists() {
        return;
    }
    let mut set = OutputSet::new(config(&["json=/dev/full"], &[])).unwrap();
    let reg = registry();
    let mut agg = Aggregate::new(Arc::clone(&reg));
    for (i, path) in ["/a", "/b", "/c"].into_iter().enumerate() {
        let snap = requests(&reg, path, 2, 3.0, 0);
        set.observe(&snap);
        agg.merge(&snap);
        let live = Live {
            elapsed: Duration::from_secs(2 * i as u64 + 2),
            ..Live::default()
        };
        set.flush(SystemTime::now(), &agg, &live);
    }
    let s = summary::build(&agg, &plan(), &[], Duration::from_secs(6));
    let notes = set.finish(&s, &agg, &Live::default());
    let warnings: Vec<&String> = notes.iter().filter(|n| n.starts_with("warning")).collect();
    assert_eq!(warnings.len(), 1, "{notes:?}");
    assert!(
        warnings[0].starts_with("warning: --out json: cannot write `/dev/full`"),
        "{notes:?}"
    );
}

#[test]
fn influx_sends_the_token_only_in_its_header() {
    let (port, rx) = server(vec![204, 204, 204]);
    let token = "tok-3f9a-never-printed";
    let spec = format!("influxdb=http://127.0.0.1:{port}/volley,token_secret=influx");
    let cfg = config(&[&spec], &[("OUT_TEST_INFLUX", token)]);
    let mut set = OutputSet::new(cfg).unwrap();
    let reg = registry();
    let mut agg = Aggregate::new(Arc::clone(&reg));
    let snap = requests(&reg, "/a", 2, 3.0, 0);
    set.observe(&snap);
    agg.merge(&snap);
    let s = summary::build(&agg, &plan(), &[], Duration::from_secs(1));
    let notes = set.finish(&s, &agg, &Live::default());
    let (head, body) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        head.starts_with("POST /write?db=volley&precision=ms "),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("authorization: token {token}")),
        "{head}"
    );
    assert!(!String::from_utf8_lossy(&body).contains(token));
    assert!(!notes.join("\n").contains(token), "{notes:?}");
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("influxdb: 1 of 1 batches")),
        "{notes:?}"
    );
}

#[test]
fn a_missing_token_variable_stops_before_the_run() {
    let e = OutputSet::new(config(
        &["influxdb=http://127.0.0.1:1/db,token_env=NOPE_TOKEN"],
        &[],
    ))
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("NOPE_TOKEN is not set"), "{e}");
    let e = OutputSet::new(config(
        &["prometheus=http://127.0.0.1:1/w,token_secret=other"],
        &[],
    ))
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.contains("declares no secret `other`") && e.contains("influx"),
        "{e}"
    );
    assert!(format!("{:?}", Secret("abc".into())) == "Secret(***)");
}

/// A run of three intervals through an `OutputSet` with a JSON file and a report.
fn full_run(dir: &std::path::Path, source: &str) -> (Summary, String, String) {
    let json_path = dir.join("out.ndjson");
    let report_path = dir.join("r.html");
    let mut cfg = config(&[&format!("json={}", json_path.display())], &[]);
    cfg.report = Some(report_path.clone());
    cfg.source = Some(source.to_string());
    let mut set = OutputSet::new(cfg).unwrap();
    let reg = registry();
    let mut agg = Aggregate::new(Arc::clone(&reg));
    let t0 = SystemTime::now();
    // As the driver does: each second's snapshot is taken at the second, and the outputs
    // are flushed a little later.
    for (i, ms) in [10.0, 30.0, 90.0].into_iter().enumerate() {
        let mut snap = requests(&reg, "/api/products", 10, ms, u32::try_from(i).unwrap());
        let secs = u64::try_from(i + 1).unwrap();
        snap.end_ms = Some(secs * 1000);
        set.observe(&snap);
        agg.merge(&snap);
        let elapsed = Duration::from_secs(secs) + SETTLE;
        let live = Live {
            elapsed,
            vus: 5,
            vus_max: 5,
        };
        set.flush(t0 + elapsed, &agg, &live);
    }
    assert_eq!(set.timeline().points.len(), 3);
    let lat: Vec<f64> = set
        .timeline()
        .points
        .iter()
        .map(|p| p.latency.unwrap().p99)
        .collect();
    assert!(
        lat[0] < 11.0 && lat[2] > 89.0,
        "per-interval percentiles: {lat:?}"
    );
    agg.set_elapsed(Duration::from_secs(3));
    let p = plan();
    let results = evaluate(&p.thresholds, &agg, Phase::End);
    let s = summary::build(&agg, &p, &results, Duration::from_secs(3));
    let live = Live {
        elapsed: Duration::from_secs(3) + SETTLE,
        vus: 0,
        vus_max: 5,
    };
    let notes = set.finish(&s, &agg, &live);
    assert!(notes.iter().any(|n| n.starts_with("report: ")), "{notes:?}");
    let json = std::fs::read_to_string(json_path).unwrap();
    let html = std::fs::read_to_string(report_path).unwrap();
    (s, json, html)
}

fn temp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("volley-out-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn an_output_set_streams_json_and_writes_a_report() {
    let dir = temp("set");
    let (s, json, html) = full_run(&dir, "scenario s { } // <script>alert(1)</script> & more");
    let count: f64 = json
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["metric"] == "http_reqs")
        .map(|v| v["values"]["count"].as_f64().unwrap())
        .sum();
    assert_eq!(Some(count), s.value("http_reqs", "count"));
    // The thresholds table is the summary's.
    let ok = s.metrics["http_req_duration"].thresholds["p(95) < 400ms"].ok;
    assert!(
        html.contains(&format!(
            "data-metric=\"http_req_duration\" data-condition=\"p(95) &lt; 400ms\" data-ok=\"{ok}\""
        )),
        "{html}"
    );
    assert_eq!(
        html.matches("<path class=\"line").count(),
        4 + 2 + 2 + 3,
        "every line drawn"
    );
    // Every interval, from the start, as the NDJSON has them.
    for (start, end) in [(0, 1000), (1000, 2000), (2000, 3000)] {
        assert!(
            html.contains(&format!(
                "data-start-ms=\"{start}\" data-end-ms=\"{end}\" data-http-reqs=\"10\""
            )),
            "{html}"
        );
        assert!(
            json.lines()
                .any(|l| l.contains(&format!("\"elapsed_ms\":{end},\"interval_ms\":1000,"))),
            "{json}"
        );
    }
    // A rate says what it counts: 0 + 1 + 2 of 30 requests failed, every check passed.
    assert!(
        html.contains(
            "<tr data-metric=\"http_req_failed\"><td>http_req_failed</td><td>rate</td>\
             <td>10.00% failed (3 of 30 requests)</td></tr>"
        ),
        "{html}"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"));
    assert!(!html.contains("<script"), "the page has no script");
    for bad in ["src=", "href=", "@import", "url("] {
        assert!(!html.contains(bad), "no external reference ({bad})");
    }
    assert!(html.contains("prefers-color-scheme: dark") && html.contains("@media print"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_report_shows_a_fleets_runners_and_skew() {
    let dir = temp("fleet");
    let (mut s, _, _) = full_run(&dir, "");
    s.volley.runners = vec![
        summary::RunnerSummary {
            index: 0,
            lost: false,
            http_reqs: 20.0,
            iterations: 10.0,
            start_offset_ms: Some(0.25),
            ..Default::default()
        },
        summary::RunnerSummary {
            index: 1,
            lost: true,
            http_reqs: 10.0,
            iterations: 5.0,
            reason: Some("no heartbeat for 5s".into()),
            ..Default::default()
        },
    ];
    s.volley.start_skew_ms = Some(12.5);
    s.volley.runners_lost = 1;
    let check = |name: &str, path: &str| summary::CheckSummary {
        name: name.into(),
        path: path.into(),
        passes: 1,
        fails: 0,
    };
    s.root_group = summary::GroupSummary {
        checks: vec![check("r.status == 200", "::r.status == 200")],
        groups: vec![summary::GroupSummary {
            name: "browse".into(),
            path: "::browse".into(),
            checks: vec![check("ok", "::browse::ok")],
            groups: vec![],
        }],
        ..Default::default()
    };
    s.volley.errors = vec![crate::errors::ErrorSummary {
        code: 1212,
        kind: crate::errors::kind(1212).into(),
        count: 3,
        first: Some(crate::errors::FirstError {
            code: 1212,
            request: "products".into(),
            target: "shop".into(),
            at_unix_ms: 1,
            message: "Connection refused (os error 111) <&>".into(),
        }),
    }];
    let reg = registry();
    let html = report::render(&report::ReportInput {
        summary: &s,
        total: &Aggregate::new(reg),
        timeline: &Timeline::default(),
        plan: &plan(),
        source: None,
        testid: "run-1",
        generated: SystemTime::now(),
    });
    assert!(
        html.contains("data-runner=\"1\" data-lost=\"true\""),
        "{html}"
    );
    assert!(html.contains("12.5ms"), "start skew shown");
    assert!(html.contains("+250µs"), "start offset shown");
    // The plan says what ran; check names read as groups › name; errors in words.
    assert!(html.contains("on 2 runners (the whole fleet"), "{html}");
    assert!(!html.contains("runner 0 of 1"));
    assert!(
        html.contains(">browse › ok<") && html.contains(">r.status == 200<"),
        "{html}"
    );
    assert!(!html.contains(">::"), "no k6 paths as names");
    assert!(html.contains("data-error-code=\"1212\"") && html.contains("connection refused"));
    assert!(html.contains(
        "request <code>products</code> to target <code>shop</code>: Connection refused (os error 111) &lt;&amp;&gt;"
    ));
    assert!(html.contains("no data"), "an empty timeline says so");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn default_testids_name_the_plan_and_the_time() {
    let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    assert_eq!(default_testid("check out", t), "check-out-20231114T221320Z");
}

#[test]
fn the_grafana_dashboard_queries_only_names_the_output_writes() {
    let dash: serde_json::Value =
        serde_json::from_str(include_str!("../../../docs/grafana/volley.json")).unwrap();
    let panels = dash["panels"].as_array().unwrap();
    let opts = PromOptions::new("x");
    let written = metric_names(&registry(), &opts.trend_stats);
    let mut queried = BTreeMap::new();
    for p in panels {
        for t in p["targets"].as_array().unwrap() {
            let e = t["expr"].as_str().unwrap();
            for (i, _) in e.match_indices("k6_") {
                let name: String = e[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                queried.insert(name, p["title"].as_str().unwrap().to_string());
            }
        }
    }
    for want in [
        "k6_http_reqs_total",
        "k6_http_req_duration_p95",
        "k6_vus",
        "k6_checks_rate",
    ] {
        assert!(queried.contains_key(want), "the dashboard shows {want}");
    }
    for (name, panel) in &queried {
        assert!(
            written.contains(name),
            "panel `{panel}` queries {name}, which Volley does not write"
        );
    }
}

#[test]
fn docs_outputs_md_names_every_prometheus_metric_and_option() {
    let doc = include_str!("../../../docs/outputs.md");
    let reg = registry();
    for (_, d) in reg.iter() {
        let base = format!("k6_{}", prometheus::sanitize_name(&d.name));
        let documented = match d.kind {
            volley_plan::plan::MetricKind::Counter => format!("`{base}_total`"),
            volley_plan::plan::MetricKind::Rate => format!("`{base}_rate`"),
            volley_plan::plan::MetricKind::Gauge => format!("`{base}`"),
            volley_plan::plan::MetricKind::Trend => format!("`{base}_STAT`"),
        };
        assert!(
            doc.contains(&documented),
            "docs/outputs.md lists {documented}"
        );
    }
    for s in TrendStat::parse_list(prometheus::DEFAULT_TREND_STATS).unwrap() {
        let name = format!("`k6_http_req_duration_{}`", s.suffix());
        assert!(doc.contains(&name), "docs/outputs.md lists {name}");
    }
    for needle in [prometheus::DEFAULT_TREND_STATS]
        .into_iter()
        .chain(prometheus::TREND_STATS_ENV.iter().copied())
        .chain([
            "token_env=VAR",
            "token_secret=NAME",
            "trend_stats=LIST",
            "testid=ID",
        ])
    {
        assert!(doc.contains(needle), "docs/outputs.md mentions {needle}");
    }
}

#[test]
fn the_metrics_table_says_what_a_rate_counts() {
    let dir = temp("rates");
    let (mut s, _, _) = full_run(&dir, "");
    let rate = |passes: f64, fails: f64| {
        let mut m = s.metrics["http_req_failed"].clone();
        m.values = BTreeMap::from([
            ("passes".to_string(), passes),
            ("fails".to_string(), fails),
            ("rate".to_string(), passes / (passes + fails)),
        ]);
        m
    };
    // k6's keys: a request that did not fail is one of http_req_failed's `fails`.
    let (none_failed, checks, custom) = (rate(0.0, 2270.0), rate(3.0, 1.0), rate(1.0, 7.0));
    s.metrics.insert("http_req_failed".into(), none_failed);
    s.metrics.insert("checks".into(), checks);
    s.metrics.insert("cart_abandoned".into(), custom);
    let html = report::render(&report::ReportInput {
        summary: &s,
        total: &Aggregate::new(registry()),
        timeline: &Timeline::default(),
        plan: &plan(),
        source: None,
        testid: "run-1",
        generated: SystemTime::now(),
    });
    let row = |key: &str, words: &str| {
        format!("<tr data-metric=\"{key}\"><td>{key}</td><td>rate</td><td>{words}</td></tr>")
    };
    for (key, words) in [
        ("http_req_failed", "0.00% failed (0 of 2270 requests)"),
        ("checks", "75.00% passed (3 of 4 checks)"),
        ("cart_abandoned", "12.50% true (1 of 8)"),
    ] {
        assert!(html.contains(&row(key, words)), "{key}: {html}");
    }
    assert!(!html.contains("fails="), "no bare k6 keys");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_output_that_cannot_open_names_the_flag_and_keeps_the_io_error() {
    use std::error::Error as _;
    let dir = std::env::temp_dir().join("volley-no-such-dir-for-outputs");
    let missing = dir.join("deeper").join("run.ndjson");
    let spec = format!("json={}", missing.display());
    let e = OutputSet::new(config(&[&spec], &[])).err().unwrap();
    assert!(matches!(e, OutputError::JsonCreate { .. }), "{e:?}");
    assert!(
        e.to_string().starts_with("--out json: cannot create"),
        "{e}"
    );
    assert!(
        e.source().is_some_and(|s| s.is::<std::io::Error>()),
        "the io error is the source: {e:?}"
    );
    let e = OutputSet::new(config(&["prometheus=not a url"], &[]))
        .err()
        .unwrap();
    assert!(
        e.source().is_some_and(|s| s.is::<url::ParseError>()),
        "{e:?}"
    );
}
