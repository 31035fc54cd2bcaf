//! The live dashboard in real headless Chromium (network blocked but for loopback):
//! `volley run --demo --dashboard=127.0.0.1:0` and a `volley coordinator`'s `/dashboard`
//! with two runners. The page is loaded twice while the run goes on (`--dump-dom` after a
//! few virtual seconds of its own polling): its numbers and charts are drawn by its
//! script from the live data and grow between the two loads. After the run the same URL
//! serves the HTML report. The page needs no token; the coordinator's abort does.

use crate::services::Chromium;
use crate::support::*;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Child;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const TOKEN: &str = "dashboard-token-0123456789";

/// A 40-second test of the demo shop: long enough that both loads of the live page land
/// before its end even when Chromium starts slowly on a busy machine.
const SHOP: &str = "target shop = \"http://127.0.0.1:8088\"\n\nscenario browse {\n  workload = constant_vus(vus: 2, duration: 40s)\n  iteration {\n    let r = get(shop, \"/api/products\")\n    check r.status == 200\n    sleep 50ms\n  }\n}\n\nthresholds {\n  http_req_duration: p(95) < 2s\n}\n";

/// Reads `child`'s stderr on a thread: every line, as it comes.
fn stderr_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().expect("stderr is piped");
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// The first line starting with `prefix`, within `limit`; the lines read are kept.
fn line_with(rx: &mpsc::Receiver<String>, seen: &mut Vec<String>, prefix: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => {
                seen.push(l.clone());
                if l.starts_with(prefix) {
                    return l;
                }
            }
            Err(_) => panic!(
                "no `{prefix}` line within 60 s; stderr:\n{}",
                seen.join("\n")
            ),
        }
    }
}

/// `GET path` on `port` as JSON.
fn json(port: u16, path: &str) -> serde_json::Value {
    let (code, body) = http(port, "GET", path, "");
    assert_eq!(code, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

fn wait_for(limit: Duration, what: &str, ready: impl FnMut() -> bool) {
    assert!(wait_until(limit, ready), "{what}: not within {limit:?}");
}

/// The value of attribute `name` of the element whose id is `id` in a dumped DOM.
fn attr(dom: &str, id: &str, name: &str) -> Option<String> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let start = dom[..at].rfind('<')?;
    let end = at + dom[at..].find('>')?;
    let tag = &dom[start..end];
    let key = format!(" {name}=\"");
    let v = tag.find(&key)? + key.len();
    Some(tag[v..].split('"').next()?.to_string())
}

fn num(dom: &str, id: &str, name: &str) -> f64 {
    attr(dom, id, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric {name} on #{id} in:\n{dom}"))
}

/// The live page's figures in a dump: (intervals drawn, requests so far).
fn live_figures(dom: &str) -> (f64, f64) {
    assert!(dom.contains("id=\"live\""), "the live page:\n{dom}");
    for chart in ["latency", "throughput", "vus", "errors"] {
        let id = format!("chart-{chart}");
        let at = dom.find(&format!("id=\"{id}\"")).expect("the chart");
        let svg = &dom[at..at + dom[at..].find("</svg>").expect("svg end")];
        assert!(
            svg.contains("<path class=\"line s0"),
            "{id} has a line drawn by the script:\n{svg}"
        );
    }
    let points = num(dom, "chart-latency", "data-points");
    assert_eq!(points, num(dom, "chart-throughput", "data-points"));
    assert!(
        num(dom, "chart-throughput", "data-last") > 0.0,
        "requests/s"
    );
    assert!(num(dom, "c-vus", "data-value") >= 1.0, "active VUs");
    (points, num(dom, "c-reqs", "data-value"))
}

/// Two loads of the live page at least two intervals apart: the charts and numbers grew.
fn assert_the_page_follows_the_run(chromium: &Chromium, url: &str, data: impl Fn() -> u64) {
    wait_for(Duration::from_secs(30), "two intervals", || data() >= 2);
    let first = chromium.dump_url(url, 3000);
    let (p1, r1) = live_figures(&first);
    assert!(p1 >= 1.0 && r1 > 0.0, "{p1} intervals, {r1} requests");
    let seen = data();
    wait_for(Duration::from_secs(30), "two more intervals", || {
        data() >= seen + 2
    });
    let second = chromium.dump_url(url, 3000);
    let (p2, r2) = live_figures(&second);
    assert!(p2 > p1, "the charts grew: {p1} then {p2} intervals");
    assert!(r2 > r1, "the requests grew: {r1} then {r2}");
    assert_ne!(
        attr(&first, "chart-latency", "data-points"),
        attr(&second, "chart-latency", "data-points")
    );
}

/// SIGINT, through the `kill` command.
fn sigint(child: &Child) {
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
}

fn assert_report(dom: &str) {
    assert!(dom.contains("id=\"intervals\""), "the report:\n{dom}");
    assert!(!dom.contains("id=\"live\""), "no longer the live page");
    assert!(dom.contains("Volley report"));
}

#[test]
fn a_local_run_serves_a_live_page_that_becomes_the_report() {
    let Some(chromium) = Chromium::find() else {
        return;
    };
    let dir = temp_dir("dashboard-local");
    let file = dir.join("shop.load");
    std::fs::write(&file, SHOP).unwrap();
    let mut child = spawn_volley(
        &[
            "run",
            file.to_str().unwrap(),
            "--demo",
            "-q",
            "--dashboard=127.0.0.1:0",
            "--linger",
            "60s",
        ],
        &[],
    );
    let rx = stderr_lines(&mut child);
    let mut seen = Vec::new();
    let line = line_with(&rx, &mut seen, "dashboard: http://");
    let url = line["dashboard: ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let port: u16 = url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let page = http(port, "GET", "/", "").1;
    assert!(page.contains("id=\"live\""), "{page}");
    assert!(
        !page.contains("://"),
        "nothing from elsewhere: no URL in the page"
    );
    let points = || {
        json(port, "/dashboard/data")["point_count"]
            .as_u64()
            .unwrap()
    };
    assert_the_page_follows_the_run(&chromium, &url, points);
    // Read-only: no method but GET, no control endpoint.
    assert_eq!(http(port, "POST", "/dashboard/data", "").0, 405);
    assert_eq!(http(port, "POST", "/v1/abort", "").0, 404);
    wait_for(Duration::from_secs(70), "the end of the run", || {
        json(port, "/dashboard/data")["phase"] == "done"
    });
    let d = json(port, "/dashboard/data");
    assert_eq!(d["verdict"], "passed", "{d}");
    assert_eq!(d["thresholds"][0]["passed"], true, "{d}");
    assert_report(&chromium.dump_url(&url, 1000));
    line_with(&rx, &mut seen, "dashboard: the report stays at");
    sigint(&child);
    let out = wait_output(child, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("http_reqs"),
        "the summary"
    );
}

/// A minute of load on two runners, stopped by the test (the default start timeout: the
/// test looks at the page before it starts the runners).
const FLEET: &str = "param base_url: url = \"http://127.0.0.1:8088\"\ntarget api = base_url\n\nscenario s {\n  workload = constant_vus(vus: 2, duration: 1m)\n  iteration {\n    get(api, \"/z\")\n    sleep 100ms\n  }\n}\n\nthresholds {\n  http_req_failed: rate == 0%\n}\n\nfleet {\n  runners = 2\n  grace = 3s\n}\n";

fn compile(dir: &Path, url: &str) -> std::path::PathBuf {
    let file = dir.join("fleet.load");
    std::fs::write(&file, FLEET).unwrap();
    let out = volley(&[
        "compile",
        file.to_str().unwrap(),
        "--out-dir",
        dir.to_str().unwrap(),
        "--param",
        &format!("base_url={url}"),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    dir.join("plan.json")
}

fn runner(plan: &Path, port: u16, k: u32) -> Child {
    spawn_volley(
        &[
            "runner",
            "--plan",
            plan.to_str().unwrap(),
            "--coordinator",
            &format!("http://127.0.0.1:{port}"),
            "--segment",
            &k.to_string(),
            "--runners",
            "2",
            "--workers",
            "1",
        ],
        &[("VOLLEY_TOKEN", TOKEN)],
    )
}

#[test]
fn a_coordinator_serves_the_fleets_page_without_the_token_and_its_abort_needs_it() {
    let Some(chromium) = Chromium::find() else {
        return;
    };
    let rec = Recorder::start();
    let dir = temp_dir("dashboard-fleet");
    let plan = compile(&dir, &rec.url());
    let (port, status_port) = (free_port(), free_port());
    let coord = spawn_volley(
        &[
            "coordinator",
            "--plan",
            plan.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--status-listen",
            &format!("127.0.0.1:{status_port}"),
            "-q",
            "--linger",
            "60s",
        ],
        &[("VOLLEY_TOKEN", TOKEN)],
    );
    wait_for(Duration::from_secs(20), "the coordinator", || {
        try_http(status_port, "GET", "/healthz").is_ok()
    });
    let url = format!("http://127.0.0.1:{status_port}/dashboard");
    // Before the start: every runner's state, waited for.
    let waiting = chromium.dump_url(&url, 1500);
    assert_eq!(
        attr(&waiting, "phase", "class").as_deref(),
        Some("verdict wait")
    );
    assert_eq!(
        waiting.matches("data-state=\"waiting\"").count(),
        2,
        "{waiting}"
    );
    let runners: Vec<Child> = (0..2).map(|k| runner(&plan, port, k)).collect();
    let points = || {
        json(status_port, "/dashboard/data")["point_count"]
            .as_u64()
            .unwrap()
    };
    assert_the_page_follows_the_run(&chromium, &url, points);
    let live = chromium.dump_url(&url, 1500);
    assert_eq!(live.matches("data-state=\"running\"").count(), 2, "{live}");
    assert!(
        live.contains("<form id=\"abort\">"),
        "the abort form shows:\n{live}"
    );
    // Both ports serve the page and its data without the token; the abort needs it.
    for p in [port, status_port] {
        assert_eq!(http(p, "GET", "/dashboard", "").0, 200);
        assert_eq!(http(p, "GET", "/dashboard/data", "").0, 200);
        assert_eq!(http(p, "POST", "/dashboard", "").0, 405);
        assert_eq!(
            http(p, "POST", "/v1/abort", "").0,
            401,
            "no token, no abort"
        );
    }
    let d = json(status_port, "/dashboard/data");
    assert_eq!(d["control"], true);
    assert_eq!(d["runners"].as_array().unwrap().len(), 2, "{d}");
    let abort = http_with(
        status_port,
        "POST",
        "/v1/abort",
        &format!("X-Volley-Token: {TOKEN}\r\n"),
        "",
    );
    assert_eq!(abort.0, 200, "{abort:?}");
    for r in runners {
        let ro = wait_output(r, Duration::from_secs(30));
        assert_eq!(ro.status.code(), Some(0), "{}", text(&ro));
    }
    wait_for(Duration::from_secs(30), "the end of the run", || {
        json(status_port, "/dashboard/data")["phase"] == "done"
    });
    let report = chromium.dump_url(&url, 1000);
    assert_report(&report);
    assert!(report.contains("data-runner=\"1\""), "the runners' rows");
    sigint(&coord);
    let out = wait_output(coord, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(105), "aborted: {}", text(&out));
}
