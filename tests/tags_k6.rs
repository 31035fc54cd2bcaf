//! Metric tags sample by sample against real k6 1.1.0 as the oracle: one scenario, written
//! as a k6 script and as a `.load` file, runs against a loopback server of its own per
//! tool (`/ok/..` answers 200, `/missing` 404, `/close` closes the connection unanswered)
//! with `--out json`. The scenario is named and has tags of its own (`team`), a group with
//! a check inside and a check outside, a request with a tag of its own (`kind`) and a
//! `name`, the 404 and the failing request. For `http_reqs`, `http_req_duration`,
//! `http_req_failed`, `checks`, `iteration_duration`, `iterations`, `data_sent`,
//! `data_received`, `group_duration` and `vus` the test compares the tag sets each tool
//! wrote (keys and values) with one expected table.
//!
//! The differences are deliberate and documented (docs/outputs.md, *`--out json=FILE`*);
//! the test folds each of k6's into Volley's form after asserting it is there:
//!
//! * k6 tags `url` (and names an unnamed request after its URL): Volley never tags a raw
//!   URL, and names an unnamed request after its path template (`/missing`);
//! * k6 tags `proto` on an answered request and `error` (Go's text: `EOF`) on a failed
//!   one: Volley has neither;
//! * k6's `group` is the path from the root (`::browse`, `""` outside any group); Volley's
//!   is the group's own path (`browse`), and no `group` tag outside any group;
//! * k6 tags a 4xx/5xx answer `error_code` 1000 + status (`1404`): Volley tags
//!   `error_code` only when no server answered (status 0), the status being in `status`;
//! * k6's `data_sent`/`data_received` come once per iteration with the iteration's tags;
//!   Volley's come per request with the request's tags.
//!
//! Volley is checked against the expected table whether or not k6 is installed; k6, when
//! present, against the same table (or `VOLLEY_REQUIRE_TOOLS=1` fails without it).

use crate::support::{k6_bin, k6_run, read_head, skip_or_fail, temp_dir, text, volley_out_json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// The metrics compared (`vus` apart: k6 writes it once a second, so maybe not at all).
const METRICS: [&str; 9] = [
    "http_reqs",
    "http_req_duration",
    "http_req_failed",
    "checks",
    "iteration_duration",
    "iterations",
    "data_sent",
    "data_received",
    "group_duration",
];

/// A loopback HTTP/1.1 server (keep-alive, a thread per connection); returns its port.
fn serve() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("local addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream));
        }
    });
    port
}

fn answer(mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut buf = Vec::new();
    while let Some(head) = read_head(&mut stream, &mut buf) {
        let target = head.split_whitespace().nth(1).unwrap_or("");
        let status = if target.starts_with("/close") {
            return; // closed unanswered: the request fails (EOF)
        } else if target.starts_with("/ok") {
            "200 OK"
        } else {
            "404 Not Found"
        };
        let reply = format!("HTTP/1.1 {status}\r\nContent-Length: 2\r\n\r\nhi");
        if stream.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// The tags of the three requests' `http_*` samples, in Volley's form.
const ITEM: &str =
    "expected_response=true group=browse kind=list method=GET name=item scenario=tagged status=200 team=shop";
const MISSING: &str =
    "expected_response=false method=GET name=/missing scenario=tagged status=404 team=shop";
const CLOSE: &str =
    "error_code=1000 expected_response=false method=GET name=/close scenario=tagged status=0 team=shop";
/// The iteration's own tags.
const ITER: &str = "scenario=tagged team=shop";

/// Every (metric, tag set) the run writes, as `metric k=v k=v` lines (keys in order);
/// `k6` for k6's `data_*`, once per iteration.
fn expected(k6: bool) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for m in ["http_reqs", "http_req_duration", "http_req_failed"] {
        for t in [ITEM, MISSING, CLOSE] {
            out.insert(format!("{m} {t}"));
        }
    }
    out.insert("checks check=is 200 group=browse scenario=tagged team=shop".to_string());
    out.insert("checks check=is 404 scenario=tagged team=shop".to_string());
    out.insert("group_duration group=browse scenario=tagged team=shop".to_string());
    for m in ["iteration_duration", "iterations"] {
        out.insert(format!("{m} {ITER}"));
    }
    for m in ["data_sent", "data_received"] {
        if k6 {
            out.insert(format!("{m} {ITER}"));
        } else {
            for t in [ITEM, MISSING, CLOSE] {
                out.insert(format!("{m} {t}"));
            }
        }
    }
    out
}

fn line(metric: &str, tags: &BTreeMap<String, String>) -> String {
    let mut out = metric.to_string();
    for (k, v) in tags {
        out.push_str(&format!(" {k}={v}"));
    }
    out
}

fn tags_of(v: &serde_json::Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// The (metric, tags) lines of a Volley `--out json` file, and the `vus` tag sets.
fn volley_lines(ndjson: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut lines, mut vus) = (BTreeSet::new(), BTreeSet::new());
    for l in ndjson.lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("an NDJSON line");
        let metric = v["metric"].as_str().unwrap_or("");
        let tags = tags_of(&v["tags"]);
        if metric == "vus" {
            vus.insert(line(metric, &tags));
        } else if METRICS.contains(&metric) {
            lines.insert(line(metric, &tags));
        }
    }
    (lines, vus)
}

/// The (metric, tags) lines of a k6 `--out json` file in Volley's form, and the `vus` tag
/// sets; each of k6's deliberate differences is asserted before it is folded.
fn k6_lines(ndjson: &str, port: u16) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut lines, mut vus) = (BTreeSet::new(), BTreeSet::new());
    let origin = format!("http://127.0.0.1:{port}");
    for l in ndjson.lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("an NDJSON line");
        if v["type"] != "Point" {
            continue;
        }
        let metric = v["metric"].as_str().unwrap_or("");
        let mut tags = tags_of(&v["data"]["tags"]);
        if metric == "vus" {
            vus.insert(line(metric, &tags));
            continue;
        }
        if !METRICS.contains(&metric) {
            continue;
        }
        let seen = line(metric, &tags);
        // `group`: the path from the root, `""` outside any group.
        let group = tags.remove("group").expect("k6 tags every sample `group`");
        if !group.is_empty() {
            let own = group.strip_prefix("::").expect("a `::` path");
            tags.insert("group".to_string(), own.to_string());
        }
        if metric.starts_with("http_req") {
            // `url`: the URL, or the `name` when there is one; an unnamed request is
            // named after its URL.
            let url = tags.remove("url").expect("k6 tags `url`");
            let name = tags.get_mut("name").expect("k6 tags `name`");
            assert!(url == *name, "{seen}");
            if let Some(path) = name.strip_prefix(&origin) {
                *name = path.to_string();
            }
            let status: u16 = tags["status"].parse().expect("a status");
            // `proto` on an answer, `error` on a failure.
            let proto = tags.remove("proto");
            let error = tags.remove("error");
            if status == 0 {
                assert_eq!((proto, error.as_deref()), (None, Some("EOF")), "{seen}");
            } else {
                assert_eq!(
                    (proto.as_deref(), error),
                    (Some("HTTP/1.1"), None),
                    "{seen}"
                );
            }
            // `error_code` 1000 + status on a 4xx/5xx answer.
            if status >= 400 {
                let code = tags.remove("error_code");
                assert_eq!(code, Some((1000 + status).to_string()), "{seen}");
            }
        }
        lines.insert(line(metric, &tags));
    }
    (lines, vus)
}

/// The scenario as a k6 script.
fn k6_script(port: u16) -> String {
    format!(
        r#"import http from 'k6/http';
import {{ check, group }} from 'k6';
export const options = {{
  scenarios: {{
    tagged: {{ executor: 'per-vu-iterations', vus: 1, iterations: 1, tags: {{ team: 'shop' }} }},
  }},
}};
const B = 'http://127.0.0.1:{port}';
export default function () {{
  group('browse', function () {{
    const r = http.get(`${{B}}/ok/1`, {{ tags: {{ kind: 'list', name: 'item' }} }});
    check(r, {{ 'is 200': (r) => r.status === 200 }});
  }});
  const m = http.get(`${{B}}/missing`);
  check(m, {{ 'is 404': (r) => r.status === 404 }});
  http.get(`${{B}}/close`);
}}
"#
    )
}

/// The same scenario as a `.load` file.
fn load_file(port: u16) -> String {
    format!(
        r#"target srv = "http://127.0.0.1:{port}"

scenario tagged {{
  workload = per_vu_iterations(vus: 1, iterations: 1)
  tags = {{team: "shop"}}
  iteration {{
    group "browse" {{
      let r = get(srv, "/ok/1", name: "item", tags: {{kind: "list"}})
      check "is 200": r.status == 200
    }}
    let m = get(srv, "/missing")
    check "is 404": m.status == 404
    get(srv, "/close")
  }}
}}
"#
    )
}

#[test]
fn tags_match_k6_sample_by_sample() {
    let dir = temp_dir("tags-k6");

    // Volley.
    let port = serve();
    std::fs::write(dir.join("tags.load"), load_file(port)).expect("write .load");
    let ndjson = dir.join("volley.ndjson");
    let out = volley_out_json(&dir, "tags.load", &ndjson);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    let (lines, vus) = volley_lines(&std::fs::read_to_string(&ndjson).unwrap_or_default());
    assert_eq!(lines, expected(false), "Volley's tags\n{log}");
    assert_eq!(vus, BTreeSet::from(["vus".to_string()]), "Volley's vus");

    // k6, the oracle, against a server of its own.
    let Some(k6) = k6_bin() else {
        return skip_or_fail("k6");
    };
    let port = serve();
    std::fs::write(dir.join("tags.js"), k6_script(port)).expect("write script");
    let k6_json = dir.join("k6.ndjson");
    let out = k6_run(
        &k6,
        &dir,
        &["--out", &format!("json={}", k6_json.display()), "tags.js"],
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    let (lines, vus) = k6_lines(&std::fs::read_to_string(&k6_json).unwrap_or_default(), port);
    assert_eq!(lines, expected(true), "k6's tags\n{log}");
    // k6 writes `vus` once a second: when it did, untagged, as Volley's.
    assert!(vus.iter().all(|l| l == "vus"), "k6's vus: {vus:?}");
}
