//! The cookie jar against real k6 1.1.0 as an oracle: one scenario, written as a k6 script
//! and as a `.load` file, runs against a loopback HTTP/1.1 server started here that
//! answers scripted paths with `Set-Cookie` headers and records the `Cookie` header of
//! every request it gets. The two tools' request-by-request `Cookie` headers must agree
//! with each other and with [`expected`] (the agreed behaviour, so Volley is checked even
//! where k6 is not installed).
//!
//! The scenario maps `www.shop.test`, `shop.test`, `api.shop.test` and `other.test` to
//! 127.0.0.1 (k6's `hosts`, Volley's `http.hosts`) and covers: host-only and `Domain`
//! cookies (subdomains, the parent, another domain), `Path`, a `Domain=127.0.0.1` on an IP
//! host, `Secure` over plain http (never sent), deletion by `Max-Age=0` and by a past
//! `Expires`, a `Set-Cookie` on a 302 (sent on the next hop), a request's own cookies
//! (Volley's `cookies:`, k6's `cookies` param with `replace: true`; k6 without `replace`
//! sends both values, a documented difference checked on k6's side only), setting and
//! clearing the jar from the script (k6's `clear(url)` clears one host and path: its
//! script clears each, and a k6-only request checks what one `clear` leaves), the jar
//! reset at each iteration (default) or kept (`per_vu`, k6's `noCookiesReset: true`) over
//! two iterations, and the order of the pairs in `Cookie` (k6's, and RFC 6265's: the
//! request's own, then longer paths, then older cookies).

use crate::support::{k6_bin, k6_run, read_head, skip_or_fail, temp_dir, text, volley_in};
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the server got: its path (with the step's query) and host (without the
/// port), and its `Cookie` pairs sorted (the order of a `Cookie` header is not compared).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    path: String,
    host: String,
    cookies: String,
    /// The `Cookie` header as sent (its order).
    raw: String,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// The loopback server: each path answers with its scripted `Set-Cookie` headers.
fn start_server() -> (u16, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("local addr").port();
    let log: Log = Arc::default();
    let shared = Arc::clone(&log);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let log = Arc::clone(&shared);
            std::thread::spawn(move || serve(stream, &log));
        }
    });
    (port, log)
}

fn serve(mut stream: TcpStream, log: &Mutex<Vec<Seen>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut buf = Vec::new();
    while let Some(head) = read_head(&mut stream, &mut buf) {
        let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
        let header = |name: &str| {
            head.lines()
                .filter_map(|l| l.split_once(':'))
                .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_string())
                .collect::<Vec<_>>()
        };
        let host = header("host").concat();
        let host = host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h);
        let mut pairs: Vec<String> = header("cookie")
            .iter()
            .flat_map(|v| v.split(';'))
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        let raw = pairs.join("; ");
        pairs.sort();
        log.lock().unwrap().push(Seen {
            path: path.clone(),
            host: host.to_string(),
            cookies: pairs.join("; "),
            raw,
        });
        let route = path.split('?').next().unwrap_or("");
        let (status, extra): (&str, &[&str]) = match route {
            "/set" => (
                "200 OK",
                &[
                    "Set-Cookie: h=1; Path=/",
                    "Set-Cookie: d=1; Domain=shop.test; Path=/",
                    "Set-Cookie: p=1; Path=/sub",
                    "Set-Cookie: s=1; Secure; Path=/",
                    "Set-Cookie: a=1",
                    "Set-Cookie: h=sub; Path=/sub",
                ],
            ),
            "/set-ip" => (
                "200 OK",
                &[
                    "Set-Cookie: ip=1; Domain=127.0.0.1; Path=/",
                    "Set-Cookie: iph=1; Path=/",
                ],
            ),
            "/del" => (
                "200 OK",
                &[
                    "Set-Cookie: a=; Max-Age=0",
                    "Set-Cookie: h=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
                ],
            ),
            "/redirect" => (
                "302 Found",
                &[
                    "Set-Cookie: r=1; Path=/",
                    "Location: /echo?s=after-redirect",
                ],
            ),
            "/last" => ("200 OK", &["Set-Cookie: last=1; Path=/"]),
            _ => ("200 OK", &[]),
        };
        let mut reply = format!("HTTP/1.1 {status}\r\nContent-Length: 2\r\n");
        for line in extra {
            reply.push_str(line);
            reply.push_str("\r\n");
        }
        reply.push_str("\r\nok");
        if stream.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// The steps of one iteration: (target, path) of each request; the named actions run
/// between them. `www` is `www.shop.test`, `apex` `shop.test`, `api` `api.shop.test`,
/// `other` `other.test`, `ip` 127.0.0.1 (all on the server's port).
enum Step {
    Get(&'static str, &'static str),
    /// A request with its own cookies `d=x` and `o=1`.
    Own(&'static str),
    /// The script sets `j=1` for www.
    JarSet,
    /// The script clears the jar.
    JarClear,
}

const STEPS: &[Step] = &[
    Step::Get("www", "/echo?s=start"),
    Step::Get("www", "/set?s=set"),
    Step::Get("www", "/echo?s=www"),
    Step::Get("www", "/sub/echo?s=www-sub"),
    Step::Get("apex", "/echo?s=apex"),
    Step::Get("api", "/echo?s=api"),
    Step::Get("other", "/echo?s=other"),
    Step::Get("ip", "/set-ip?s=set-ip"),
    Step::Get("ip", "/echo?s=ip"),
    Step::Get("www", "/del?s=del"),
    Step::Get("www", "/sub/echo?s=after-del"),
    Step::Get("www", "/redirect?s=redirect"),
    Step::Own("/echo?s=own"),
    Step::Get("www", "/echo?s=after-own"),
    Step::JarSet,
    Step::Get("www", "/sub/echo?s=after-set"),
    Step::Get("apex", "/echo?s=apex-after-set"),
    Step::JarClear,
    Step::Get("www", "/echo?s=after-clear"),
    Step::Get("www", "/sub/echo?s=sub-after-clear"),
    Step::Get("ip", "/echo?s=ip-after-clear"),
    Step::Get("www", "/last?s=last"),
];

const HOSTS: [&str; 4] = ["www.shop.test", "shop.test", "api.shop.test", "other.test"];

fn host_of(target: &str) -> &'static str {
    match target {
        "www" => "www.shop.test",
        "apex" => "shop.test",
        "api" => "api.shop.test",
        "other" => "other.test",
        _ => "127.0.0.1",
    }
}

/// The k6 script: one VU, two iterations; `noCookiesReset` when `keep`.
fn k6_script(port: u16, keep: bool) -> String {
    let hosts: Vec<String> = HOSTS
        .iter()
        .map(|h| format!("'{h}': '127.0.0.1'"))
        .collect();
    let mut body = String::new();
    for step in STEPS {
        match step {
            Step::Get(t, p) => {
                body.push_str(&format!("  http.get('http://{}:{port}{p}');\n", host_of(t)))
            }
            Step::Own(p) => {
                // Without `replace`, k6 sends the jar's `d` too (checked, not compared).
                let bare = p.replace("s=own", "s=k6-own-add");
                body.push_str(&format!(
                    "  http.get('http://www.shop.test:{port}{bare}', {{cookies: {{d: 'x', o: '1'}}}});\n  \
                     http.get('http://www.shop.test:{port}{p}', {{cookies: {{d: {{value: 'x', replace: true}}, o: '1'}}}});\n"
                ));
            }
            Step::JarSet => body.push_str(&format!(
                "  http.cookieJar().set('http://www.shop.test:{port}/', 'j', '1');\n"
            )),
            // k6's `clear(url)` removes the cookies sent to that URL that are keyed by its
            // host and path: www's leaves the `Domain=shop.test` cookie and the `/sub`
            // ones (seen by a k6-only request), so emptying the jar takes one `clear`
            // per domain and path.
            Step::JarClear => body.push_str(&format!(
                "  const jar = http.cookieJar();\n  \
                 jar.clear('http://www.shop.test:{port}/');\n  \
                 http.get('http://www.shop.test:{port}/sub/echo?s=k6-after-www-clear');\n  \
                 jar.clear('http://www.shop.test:{port}/sub/');\n  \
                 jar.clear('http://shop.test:{port}/');\n  \
                 jar.clear('http://127.0.0.1:{port}/');\n"
            )),
        }
    }
    format!(
        "import http from 'k6/http';\n\
         export const options = {{\n  hosts: {{{}}},\n  noCookiesReset: {keep},\n  \
         scenarios: {{s: {{executor: 'per-vu-iterations', vus: 1, iterations: 2}}}},\n}};\n\
         export default function () {{\n{body}}}\n",
        hosts.join(", ")
    )
}

/// The `.load` file of the same scenario; `cookies: per_vu` when `keep`.
fn load_file(port: u16, keep: bool) -> String {
    let mut body = String::new();
    for step in STEPS {
        match step {
            Step::Get(t, p) => body.push_str(&format!("    get({t}, \"{p}\")\n")),
            Step::Own(p) => body.push_str(&format!(
                "    get(www, \"{p}\", cookies: {{d: \"x\", o: \"1\"}})\n"
            )),
            Step::JarSet => body.push_str("    vu.cookies.set(www, \"j\", \"1\")\n"),
            Step::JarClear => body.push_str("    vu.cookies.clear()\n"),
        }
    }
    let hosts: Vec<String> = HOSTS
        .iter()
        .map(|h| format!("\"{h}\": [\"127.0.0.1\"]"))
        .collect();
    let mode = if keep { "per_vu" } else { "per_iteration" };
    format!(
        "target www = \"http://www.shop.test:{port}\"\n\
         target apex = \"http://shop.test:{port}\"\n\
         target api = \"http://api.shop.test:{port}\"\n\
         target other = \"http://other.test:{port}\"\n\
         target ip = \"http://127.0.0.1:{port}\"\n\n\
         scenario s {{\n  workload = per_vu_iterations(vus: 1, iterations: 2)\n  \
         http = {{cookies: {mode}, hosts: {{{}}}}}\n  iteration {{\n{body}  }}\n}}\n",
        hosts.join(", ")
    )
}

/// The agreed `Cookie` header (pairs sorted) of each request of one iteration (`first`:
/// the first iteration; else the second, whose start shows the reset or what was kept:
/// the first iteration ends by emptying the jar and then getting `last=1`).
fn expected(keep: bool, first: bool) -> Vec<(&'static str, &'static str, String)> {
    let last = !first && keep;
    // A cookie of www's, with `last=1` when the jar was kept from the first iteration.
    let www = |c: &str| {
        let mut pairs: Vec<&str> = c.split("; ").filter(|p| !p.is_empty()).collect();
        if last {
            pairs.push("last=1");
        }
        pairs.sort_unstable();
        pairs.join("; ")
    };
    let plain = |c: &str| c.to_string();
    vec![
        ("/echo?s=start", "www.shop.test", www("")),
        ("/set?s=set", "www.shop.test", www("")),
        // Host-only `h`, `Domain=shop.test` `d`, default-path `a`; not `p` (Path=/sub)
        // nor `s` (Secure, over http).
        ("/echo?s=www", "www.shop.test", www("a=1; d=1; h=1")),
        (
            "/sub/echo?s=www-sub",
            "www.shop.test",
            www("a=1; d=1; h=1; h=sub; p=1"),
        ),
        // The parent and a sibling get the domain cookie only; another domain nothing.
        ("/echo?s=apex", "shop.test", plain("d=1")),
        ("/echo?s=api", "api.shop.test", plain("d=1")),
        ("/echo?s=other", "other.test", plain("")),
        // `Domain=127.0.0.1` on the IP host itself is kept (as host-only).
        ("/set-ip?s=set-ip", "127.0.0.1", plain("")),
        ("/echo?s=ip", "127.0.0.1", plain("ip=1; iph=1")),
        // `Max-Age=0` removes `a`, a past `Expires` removes `h` (not `h` of /sub).
        ("/del?s=del", "www.shop.test", www("a=1; d=1; h=1")),
        (
            "/sub/echo?s=after-del",
            "www.shop.test",
            www("d=1; h=sub; p=1"),
        ),
        // The 302's `r` goes with the next hop.
        ("/redirect?s=redirect", "www.shop.test", www("d=1")),
        ("/echo?s=after-redirect", "www.shop.test", www("d=1; r=1")),
        // The request's own `d=x` replaces the jar's `d` for that request only.
        ("/echo?s=own", "www.shop.test", www("d=x; o=1; r=1")),
        ("/echo?s=after-own", "www.shop.test", www("d=1; r=1")),
        // The script's `j` is host-only, every path.
        (
            "/sub/echo?s=after-set",
            "www.shop.test",
            www("d=1; h=sub; j=1; p=1; r=1"),
        ),
        ("/echo?s=apex-after-set", "shop.test", plain("d=1")),
        ("/echo?s=after-clear", "www.shop.test", plain("")),
        ("/sub/echo?s=sub-after-clear", "www.shop.test", plain("")),
        ("/echo?s=ip-after-clear", "127.0.0.1", plain("")),
        ("/last?s=last", "www.shop.test", plain("")),
    ]
}

/// The log as comparable rows (path, host, sorted cookies), and apart the k6-only
/// requests (path `…s=k6-…`) as (path, sorted cookies).
type Row = (String, String, String);

fn rows(log: &[Seen]) -> (Vec<Row>, Vec<(String, String)>) {
    let mut out = Vec::new();
    let mut k6_only = Vec::new();
    for s in log {
        if s.path.contains("s=k6-") {
            k6_only.push((s.path.clone(), s.cookies.clone()));
        } else {
            out.push((s.path.clone(), s.host.clone(), s.cookies.clone()));
        }
    }
    (out, k6_only)
}

fn expected_rows(keep: bool) -> Vec<(String, String, String)> {
    [true, false]
        .into_iter()
        .flat_map(|first| expected(keep, first))
        .map(|(p, h, c)| (p.to_string(), h.to_string(), c))
        .collect()
}

/// A readable diff of two request logs, row by row.
fn diff(who: &str, got: &[(String, String, String)], want: &[(String, String, String)]) -> String {
    let mut out = format!("{who}: {} requests, expected {}\n", got.len(), want.len());
    for i in 0..got.len().max(want.len()) {
        let g = got.get(i);
        let w = want.get(i);
        let mark = if g == w { " " } else { "!" };
        out.push_str(&format!("{mark} {i:2} got {g:?}\n       want {w:?}\n"));
    }
    out
}

fn run_volley(keep: bool) -> Vec<Seen> {
    let (port, log) = start_server();
    let dir = temp_dir("cookies-k6-volley");
    std::fs::write(dir.join("cookies.load"), load_file(port, keep)).expect("write .load");
    let out = volley_in(
        &dir,
        &["run", "cookies.load", "-q"],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let seen = log.lock().unwrap().clone();
    seen
}

fn run_k6(k6: &std::path::Path, keep: bool) -> Vec<Seen> {
    let (port, log) = start_server();
    let dir = temp_dir("cookies-k6-k6");
    std::fs::write(dir.join("cookies.js"), k6_script(port, keep)).expect("write script");
    let out = k6_run(k6, &dir, &["cookies.js"]);
    assert_eq!(out.status.code(), Some(0), "k6: {}", text(&out));
    let seen = log.lock().unwrap().clone();
    seen
}

fn compare(keep: bool) {
    let want = expected_rows(keep);
    let volley_log = run_volley(keep);
    let (volley, _) = rows(&volley_log);
    assert_eq!(volley, want, "{}", diff("volley", &volley, &want));
    // The order of the pairs (also compared with k6's below): the request's own first,
    // then longer paths, then the older.
    let raw = |path: &str| {
        let row = volley_log.iter().find(|s| s.path == path);
        row.map(|s| s.raw.as_str()).unwrap_or("")
    };
    assert_eq!(raw("/sub/echo?s=www-sub"), "p=1; h=sub; h=1; d=1; a=1");
    assert_eq!(raw("/echo?s=own"), "d=x; o=1; r=1");
    let Some(k6) = k6_bin() else {
        return skip_or_fail("k6");
    };
    let k6_log = run_k6(&k6, keep);
    let (k6_rows, k6_only) = rows(&k6_log);
    assert_eq!(k6_rows, want, "{}", diff("k6", &k6_rows, &want));
    // k6's request cookies without `replace: true` go beside the jar's of the same name;
    // its `clear(url)` of www leaves the `Domain=shop.test` cookie.
    let mut k6_want = Vec::new();
    for first in [true, false] {
        let add = if first || !keep {
            "d=1; d=x; o=1; r=1"
        } else {
            "d=1; d=x; last=1; o=1; r=1"
        };
        k6_want.push(("/echo?s=k6-own-add".to_string(), add.to_string()));
        k6_want.push((
            "/sub/echo?s=k6-after-www-clear".to_string(),
            "d=1; h=sub; p=1".to_string(),
        ));
    }
    assert_eq!(k6_only, k6_want, "k6-only requests");
    // The order of the pairs in `Cookie` (longest path first, then oldest), as k6 sends it.
    // A request's own cookies go first; k6 sends them in Go's map order (random),
    // Volley in the order written (`d`, `o`): those two are compared as a set.
    let order = |log: &[Seen]| -> Vec<(String, String)> {
        log.iter()
            .filter(|s| !s.path.contains("s=k6-"))
            .map(|s| {
                let mut pairs: Vec<&str> = s.raw.split("; ").collect();
                if s.path.contains("s=own") {
                    pairs[..2].sort_unstable();
                }
                (s.path.clone(), pairs.join("; "))
            })
            .collect()
    };
    let (v, k) = (order(&volley_log), order(&k6_log));
    for (v, k) in v.iter().zip(&k) {
        assert_eq!(v, k, "the order of the Cookie pairs, volley vs k6");
    }
    assert_eq!(v.len(), k.len());
}

#[test]
fn the_jar_reset_per_iteration_matches_k6() {
    compare(false);
}

#[test]
fn the_jar_kept_per_vu_matches_k6_no_cookies_reset() {
    compare(true);
}
