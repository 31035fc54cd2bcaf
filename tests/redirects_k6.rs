//! Redirects against real k6 1.1.0 as the oracle: one scenario, written as a k6 script and
//! as a `.load` file, runs against a loopback server of its own per tool that answers
//! scripted paths with 301, 302, 303, 307 and 308 and records every request it gets. The
//! test compares, hop by hop:
//!
//! * what reached the server: the method, the path and query, the body's length, and the
//!   custom header, `Authorization` and `Content-Type` each hop carried (a POST with a
//!   body through each status; relative, dot-relative and absolute `Location`s, with a
//!   query; a hop to another port, and to another host name, of the same machine);
//! * what the script got back: the final status and URL (`res.url` / `r.url`), and with
//!   `max_redirects` exceeded the last 3xx, its `Location`, and no error or warning;
//! * a request's own limit (k6's `params.redirects`, Volley's `redirects:`) in place of
//!   the scenario's 3: 0, 1 and 5 as constants, and the VU's id (1) known at run time;
//! * `http_reqs` from `--out json`: one sample per hop, with that hop's `method` and
//!   `status` tags (and `name`, below).
//!
//! Three differences are deliberate and documented (docs/language.md, *Redirects*): a
//! 301/302/303 that turns a POST into a body-less GET drops the body's headers
//! (`Content-Type`, as browsers do; k6 keeps it); a hop to another port drops
//! `Authorization` (as browsers and curl do; k6, as Go, compares host names only); and
//! every hop's sample is named after the request (its path template or `name:`), never the
//! hop's raw URL (k6 names an unnamed hop after its URL, and tags `url`). The test asserts
//! both sides of each.
//!
//! Volley is checked against the expected table below whether or not k6 is installed; k6,
//! when present, against the same table (or `VOLLEY_REQUIRE_TOOLS=1` fails without it).

use crate::support::{k6_bin, k6_run, read_head, skip_or_fail, temp_dir, text, volley_out_json};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A loopback HTTP/1.1 server (keep-alive, a thread per connection) answering the
/// scripted paths; `seen` has one line per request, in arrival order.
struct Scripted {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Scripted {
    /// A server whose `/port` redirects to the same machine's port `other`.
    fn start(other: u16) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("local addr").port();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = Arc::clone(&log);
                std::thread::spawn(move || serve(stream, port, other, &log));
            }
        });
        Scripted { port, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("log").clone()
    }
}

/// The answer to `target` (path and query): (status, Location).
fn route(target: &str, port: u16, other: u16) -> (u16, Option<String>) {
    let path = target.split('?').next().unwrap_or("");
    if let Some(code) = path.strip_prefix("/r/") {
        let code: u16 = code.parse().unwrap_or(500);
        return (code, Some(format!("/final?from={code}")));
    }
    if let Some(n) = path.strip_prefix("/loop/") {
        let n: u32 = n.parse().unwrap_or(0);
        return (302, Some(format!("/loop/{}", n + 1)));
    }
    match path {
        "/abs" => (
            302,
            Some(format!("http://127.0.0.1:{port}/final?abs=1&b=%2F")),
        ),
        "/dir/rel" => (301, Some("next?q=a%20b".to_string())),
        "/port" => (302, Some(format!("http://127.0.0.1:{other}/final?port=1"))),
        "/host" => (302, Some(format!("http://localhost:{port}/final?host=1"))),
        "/dir/next" => (302, Some("/final".to_string())),
        _ => (200, None),
    }
}

/// One request as a line: `METHOD TARGET body=N` and the headers this test watches, as
/// `name=value` in name order.
fn describe(head: &str, body_len: usize) -> String {
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let (method, target) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
    let mut watched = BTreeMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            if ["x-custom", "authorization", "content-type", "cookie"].contains(&name.as_str()) {
                watched.insert(name, value.trim().to_string());
            }
        }
    }
    let mut out = format!("{method} {target} body={body_len}");
    for (n, v) in watched {
        out.push_str(&format!(" {n}={v}"));
    }
    out
}

fn content_length(head: &str) -> usize {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}

fn serve(mut stream: TcpStream, port: u16, other: u16, log: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut buf = Vec::new();
    while let Some(head) = read_head(&mut stream, &mut buf) {
        let want = content_length(&head);
        let mut chunk = [0u8; 4096];
        while buf.len() < want {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..want);
        log.lock().expect("log").push(describe(&head, want));
        let target = head.split_whitespace().nth(1).unwrap_or("");
        let reply = match route(target, port, other) {
            (status, Some(location)) => format!(
                "HTTP/1.1 {status} Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
            ),
            (status, None) => format!("HTTP/1.1 {status} OK\r\nContent-Length: 5\r\n\r\nfinal"),
        };
        if stream.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// The headers the POSTs carry, and the ones that follow them.
const H: &str = "authorization=Bearer tok content-type=text/plain x-custom=c1";
const H_NO_TYPE: &str = "authorization=Bearer tok x-custom=c1";
/// The headers of the requests to another port and host.
const H_COOKIE: &str = "authorization=Bearer tok cookie=a=b x-custom=c1";

/// Which server a hop reaches: the main one by `127.0.0.1` or by `localhost`, or the other.
#[derive(Clone, Copy, PartialEq)]
enum At {
    Main,
    Localhost,
    Other,
}

/// One request a server must see: where, and its line from Volley and from k6.
struct Seen {
    at: At,
    volley: String,
    k6: String,
}

/// What the servers must see, in order. Volley and k6 differ twice: k6 (Go) keeps
/// `Content-Type` on the GET a 301/302/303 makes of a POST, and `Authorization` on a hop
/// to another port of the same host; Volley drops both.
fn expected_requests() -> Vec<Seen> {
    let same = |l: String| Seen {
        at: At::Main,
        volley: l.clone(),
        k6: l,
    };
    let mut out = Vec::new();
    for code in [301, 302, 303, 307, 308] {
        out.push(same(format!("POST /r/{code} body=10 {H}")));
        if code >= 307 {
            out.push(same(format!("POST /final?from={code} body=10 {H}")));
        } else {
            out.push(Seen {
                at: At::Main,
                volley: format!("GET /final?from={code} body=0 {H_NO_TYPE}"),
                k6: format!("GET /final?from={code} body=0 {H}"),
            });
        }
    }
    out.push(same(format!("GET /abs body=0 {H}")));
    out.push(same(format!("GET /final?abs=1&b=%2F body=0 {H}")));
    let rel = [
        "GET /dir/rel body=0",
        "GET /dir/next?q=a%20b body=0",
        "GET /final body=0",
    ];
    out.extend(rel.map(|l| same(l.to_string())));
    // max_redirects 3: the request and three hops; the third redirect is returned.
    out.extend((0..4).map(|n| same(format!("GET /loop/{n} body=0"))));
    // The request's own `redirects`: 0, 1, 5, then the VU's id (1) at run time.
    for hops in [0, 1, 5, 1] {
        out.extend((0..=hops).map(|n| same(format!("GET /loop/{n} body=0"))));
    }
    out.extend(rel.map(|l| same(l.to_string())));
    // Another port: k6 keeps `Authorization`; both drop the `Cookie` header.
    out.push(same(format!("GET /port body=0 {H_COOKIE}")));
    out.push(Seen {
        at: At::Other,
        volley: "GET /final?port=1 body=0 x-custom=c1".to_string(),
        k6: "GET /final?port=1 body=0 authorization=Bearer tok x-custom=c1".to_string(),
    });
    // Another host name: both drop `Authorization` and `Cookie`.
    out.push(same(format!("GET /host body=0 {H_COOKIE}")));
    let mut last = same("GET /final?host=1 body=0 x-custom=c1".to_string());
    last.at = At::Localhost;
    out.push(last);
    out
}

/// The lines `server` must have seen, from `k6` or Volley.
fn lines_at(expected: &[Seen], server: At, k6: bool) -> Vec<String> {
    let main = |at: At| at == At::Main || at == At::Localhost;
    expected
        .iter()
        .filter(|s| {
            if server == At::Other {
                s.at == At::Other
            } else {
                main(s.at)
            }
        })
        .map(|s| if k6 { s.k6.clone() } else { s.volley.clone() })
        .collect()
}

/// What the script logs of each response, from both tools: `RES|case|status|url|location`.
const EXPECTED_RESULTS: [&str; 15] = [
    "RES|post301|200|http://HOST/final?from=301|",
    "RES|post302|200|http://HOST/final?from=302|",
    "RES|post303|200|http://HOST/final?from=303|",
    "RES|post307|200|http://HOST/final?from=307|",
    "RES|post308|200|http://HOST/final?from=308|",
    "RES|abs|200|http://HOST/final?abs=1&b=%2F|",
    "RES|rel|200|http://HOST/final|",
    "RES|loop|302|http://HOST/loop/3|/loop/4",
    "RES|zero|302|http://HOST/loop/0|/loop/1",
    "RES|one|302|http://HOST/loop/1|/loop/2",
    "RES|five|302|http://HOST/loop/5|/loop/6",
    "RES|dyn|302|http://HOST/loop/1|/loop/2",
    "RES|named|200|http://HOST/final|",
    "RES|port|200|http://OTHER/final?port=1|",
    "RES|host|200|http://LOCALHOST/final?host=1|",
];

/// `http_reqs` per (case tag, method, status), one per hop, in both tools.
fn expected_samples() -> BTreeMap<(String, String, String), u64> {
    let mut out = BTreeMap::new();
    let mut add = |case: &str, method: &str, status: &str, n: u64| {
        *out.entry((case.to_string(), method.to_string(), status.to_string()))
            .or_insert(0) += n;
    };
    for code in [301, 302, 303, 307, 308] {
        let case = format!("post{code}");
        add(&case, "POST", &code.to_string(), 1);
        // The hop after a 301/302/303 was sent as GET: its sample says so.
        add(&case, if code >= 307 { "POST" } else { "GET" }, "200", 1);
    }
    add("abs", "GET", "302", 1);
    add("abs", "GET", "200", 1);
    for case in ["port", "host"] {
        add(case, "GET", "302", 1);
        add(case, "GET", "200", 1);
    }
    for case in ["rel", "named"] {
        add(case, "GET", "301", 1);
        add(case, "GET", "302", 1);
        add(case, "GET", "200", 1);
    }
    add("loop", "GET", "302", 4);
    add("zero", "GET", "302", 1);
    add("one", "GET", "302", 2);
    add("five", "GET", "302", 6);
    add("dyn", "GET", "302", 2);
    out
}

/// The k6 script: each request tagged with its `case`.
fn k6_script(port: u16) -> String {
    format!(
        r#"import http from 'k6/http';
export const options = {{ vus: 1, iterations: 1, maxRedirects: 3 }};
const B = 'http://127.0.0.1:{port}';
const h = {{ 'X-Custom': 'c1', 'Content-Type': 'text/plain', 'Authorization': 'Bearer tok' }};
function show(c, r) {{
  console.log(`RES|${{c}}|${{r.status}}|${{r.url}}|${{r.headers['Location'] || ''}}|${{r.error}}|END`);
}}
export default function () {{
  for (const c of [301, 302, 303, 307, 308]) {{
    show(`post${{c}}`, http.post(`${{B}}/r/${{c}}`, 'hello body', {{ headers: h, tags: {{ case: `post${{c}}` }} }}));
  }}
  show('abs', http.get(`${{B}}/abs`, {{ headers: h, tags: {{ case: 'abs' }} }}));
  show('rel', http.get(`${{B}}/dir/rel`, {{ tags: {{ case: 'rel' }} }}));
  show('loop', http.get(`${{B}}/loop/0`, {{ tags: {{ case: 'loop' }} }}));
  show('zero', http.get(`${{B}}/loop/0`, {{ redirects: 0, tags: {{ case: 'zero' }} }}));
  show('one', http.get(`${{B}}/loop/0`, {{ redirects: 1, tags: {{ case: 'one' }} }}));
  show('five', http.get(`${{B}}/loop/0`, {{ redirects: 5, tags: {{ case: 'five' }} }}));
  show('dyn', http.get(`${{B}}/loop/0`, {{ redirects: __VU, tags: {{ case: 'dyn' }} }}));
  show('named', http.get(`${{B}}/dir/rel`, {{ tags: {{ case: 'named', name: 'named' }} }}));
  const hc = {{ 'X-Custom': 'c1', 'Authorization': 'Bearer tok', 'Cookie': 'a=b' }};
  show('port', http.get(`${{B}}/port`, {{ headers: hc, tags: {{ case: 'port' }} }}));
  show('host', http.get(`${{B}}/host`, {{ headers: hc, tags: {{ case: 'host' }} }}));
}}
"#
    )
}

/// The same scenario as a `.load` file.
fn load_file(port: u16, other: u16) -> String {
    let mut calls = String::new();
    for code in [301, 302, 303, 307, 308] {
        calls.push_str(&format!(
            "    out = out + show(\"post{code}\", post(srv, \"/r/{code}\", body: \"hello body\", headers: h, \
             tags: {{case: \"post{code}\"}}))\n"
        ));
    }
    format!(
        r#"target srv = "http://127.0.0.1:{port}"
target other = "http://127.0.0.1:{other}"
target by_name = "http://localhost:{port}"

flow show(c: string, r: Response) -> string {{
  return "RES|{{c}}|{{r.status}}|{{r.url}}|{{r.header("location")}}||END "
}}

scenario redirects {{
  workload = per_vu_iterations(vus: 1, iterations: 1)
  http = {{max_redirects: 3}}
  iteration {{
    // One log line: `log(..)` keeps to 10 lines a second.
    var out = ""
    let h = {{"x-custom": "c1", "content-type": "text/plain", "authorization": "Bearer tok"}}
{calls}    out = out + show("abs", get(srv, "/abs", headers: h, tags: {{case: "abs"}}))
    out = out + show("rel", get(srv, "/dir/rel", tags: {{case: "rel"}}))
    out = out + show("loop", get(srv, "/loop/0", tags: {{case: "loop"}}))
    out = out + show("zero", get(srv, "/loop/0", redirects: 0, tags: {{case: "zero"}}))
    out = out + show("one", get(srv, "/loop/0", redirects: 1, tags: {{case: "one"}}))
    out = out + show("five", get(srv, "/loop/0", redirects: 5, tags: {{case: "five"}}))
    out = out + show("dyn", get(srv, "/loop/0", redirects: vu.id, tags: {{case: "dyn"}}))
    out = out + show("named", get(srv, "/dir/rel", name: "named", tags: {{case: "named"}}))
    let hc = {{"x-custom": "c1", "authorization": "Bearer tok", "cookie": "a=b"}}
    out = out + show("port", get(srv, "/port", headers: hc, tags: {{case: "port"}}))
    out = out + show("host", get(srv, "/host", headers: hc, tags: {{case: "host"}}))
    log(out)
  }}
}}
"#
    )
}

/// The `RES|..` lines a run logged, the servers' addresses as `HOST`, `LOCALHOST` and
/// `OTHER`, the error field (empty in both tools) checked and dropped.
fn results(out: &str, port: u16, other: u16) -> Vec<String> {
    out.split("RES|")
        .skip(1)
        .filter_map(|l| {
            let end = l.find("|END")?;
            Some(
                format!("RES|{}", &l[..end])
                    .replace(&format!("127.0.0.1:{port}"), "HOST")
                    .replace(&format!("localhost:{port}"), "LOCALHOST")
                    .replace(&format!("127.0.0.1:{other}"), "OTHER"),
            )
        })
        .map(|l| {
            let (rest, error) = l.rsplit_once('|').expect("an error field");
            assert_eq!(error, "", "no request fails: {l}");
            rest.to_string()
        })
        .collect()
}

/// A hop's sample: (case, method, status) and its `name` and `url` tags.
type Sample = ((String, String, String), String, String);

/// `http_reqs` samples of a k6 `--out json` file (one per hop).
fn k6_samples(ndjson: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in ndjson.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["metric"] != "http_reqs" || v["type"] != "Point" {
            continue;
        }
        let tag = |k: &str| v["data"]["tags"][k].as_str().unwrap_or("").to_string();
        out.push((
            (tag("case"), tag("method"), tag("status")),
            tag("name"),
            tag("url"),
        ));
    }
    out
}

/// `http_reqs` of a Volley `--out json` file, one sample per count.
fn volley_samples(ndjson: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in ndjson.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["metric"] != "http_reqs" {
            continue;
        }
        let tag = |k: &str| v["tags"][k].as_str().unwrap_or("").to_string();
        let n = v["values"]["count"].as_f64().unwrap_or(0.0) as u64;
        for _ in 0..n {
            out.push((
                (tag("case"), tag("method"), tag("status")),
                tag("name"),
                tag("url"),
            ));
        }
    }
    out
}

fn count(samples: &[Sample]) -> BTreeMap<(String, String, String), u64> {
    let mut out = BTreeMap::new();
    for (key, _, _) in samples {
        *out.entry(key.clone()).or_insert(0) += 1;
    }
    out
}

/// A server for the hops to another port, and the main one, redirecting there.
fn servers() -> (Scripted, Scripted) {
    let other = Scripted::start(0);
    let main = Scripted::start(other.port);
    (main, other)
}

#[test]
fn redirects_match_k6() {
    let dir = temp_dir("redirects-k6");
    let expected = expected_requests();

    // Volley.
    let (srv, other) = servers();
    let load = load_file(srv.port, other.port);
    std::fs::write(dir.join("redirects.load"), load).expect("write .load");
    let ndjson = dir.join("volley.ndjson");
    let out = volley_out_json(&dir, "redirects.load", &ndjson);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    let at = |server, k6| lines_at(&expected, server, k6);
    assert_eq!(srv.seen(), at(At::Main, false), "what Volley sent\n{log}");
    assert_eq!(other.seen(), at(At::Other, false), "Volley, other port");
    assert_eq!(
        results(&log, srv.port, other.port),
        EXPECTED_RESULTS,
        "{log}"
    );
    assert!(
        !log.contains("WARN") && !log.contains("ERROR"),
        "max_redirects exceeded is not an error, nor logged\n{log}"
    );
    let samples = volley_samples(&std::fs::read_to_string(&ndjson).unwrap_or_default());
    assert_eq!(count(&samples), expected_samples(), "Volley's http_reqs");
    for ((case, _, _), name, url) in &samples {
        // Every hop is named after its request (the path template, or `name:`); no `url`.
        let template = match case.as_str() {
            "abs" | "port" | "host" => format!("/{case}"),
            "rel" => "/dir/rel".to_string(),
            "loop" | "zero" | "one" | "five" | "dyn" => "/loop/0".to_string(),
            "named" => "named".to_string(),
            post => format!("/r/{}", post.trim_start_matches("post")),
        };
        assert_eq!((name, url.as_str()), (&template, ""), "{case}");
    }

    // k6, the oracle, against servers of its own.
    let Some(k6) = k6_bin() else {
        return skip_or_fail("k6");
    };
    let (srv, other) = servers();
    std::fs::write(dir.join("redirects.js"), k6_script(srv.port)).expect("write script");
    let k6_json = dir.join("k6.ndjson");
    let out = k6_run(
        &k6,
        &dir,
        &[
            // k6's REST API on a port of its own: on its default 6565, a k6 of another
            // test running meanwhile makes it warn "address already in use".
            "--address",
            "127.0.0.1:0",
            "--out",
            &format!("json={}", k6_json.display()),
            "redirects.js",
        ],
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert_eq!(srv.seen(), at(At::Main, true), "what k6 sent\n{log}");
    assert_eq!(other.seen(), at(At::Other, true), "k6, other port");
    assert_eq!(
        results(&log, srv.port, other.port),
        EXPECTED_RESULTS,
        "{log}"
    );
    assert!(
        !log.contains("level=warning") && !log.contains("level=error"),
        "k6 does not log max_redirects exceeded\n{log}"
    );
    let samples = k6_samples(&std::fs::read_to_string(&k6_json).unwrap_or_default());
    assert_eq!(count(&samples), expected_samples(), "k6's http_reqs");
    // k6 names an unnamed hop after its URL; a named request's hops all get the name, in
    // `url` too.
    assert_eq!(samples.len(), expected.len());
    for (((case, _, _), name, url), seen) in samples.iter().zip(&expected) {
        let target = seen.k6.split_whitespace().nth(1).unwrap_or("");
        let origin = match seen.at {
            At::Main => format!("127.0.0.1:{}", srv.port),
            At::Localhost => format!("localhost:{}", srv.port),
            At::Other => format!("127.0.0.1:{}", other.port),
        };
        let want = if case == "named" {
            "named".to_string()
        } else {
            format!("http://{origin}{target}")
        };
        assert_eq!((name, url), (&want, &want), "{case}");
    }
}
