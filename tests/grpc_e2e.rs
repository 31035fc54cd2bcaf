//! gRPC end to end (issue 18): `grpc.invoke` against the demo shop's `shop.Catalog`
//! over h2c, with the answer's fields checked, `grpc_req_duration` in the summary with
//! k6's tags, a threshold on it failing the run (exit 99), a fleet whose merged verdict
//! includes it, and a call to a closed port ending UNAVAILABLE. Loopback only, bounded.

use crate::support::*;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

/// `volley run FILE -q --param P… --summary-json dir/summary.json` in `dir` with `env`
/// added, killed after a minute: its output, and the summary it wrote (JSON null when it
/// wrote none; an earlier run's is removed first).
pub(crate) fn run_grpc(
    dir: &Path,
    file: &Path,
    params: &[&str],
    env: &[(&str, &str)],
) -> (Output, serde_json::Value) {
    let sj = dir.join("summary.json");
    let _ = std::fs::remove_file(&sj);
    let mut args = vec!["run", file.to_str().unwrap(), "-q"];
    for p in params {
        args.extend(["--param", p]);
    }
    args.extend(["--summary-json", sj.to_str().unwrap()]);
    let out = volley_env(dir, &args, env, Duration::from_secs(60));
    let s = if sj.exists() {
        summary(&sj)
    } else {
        serde_json::Value::Null
    };
    (out, s)
}

fn case() -> String {
    repo()
        .join("tests/cases/run/grpc_unary.load")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn unary_calls_check_their_fields_and_record_grpc_req_duration() {
    let demo = DemoProcess::start();
    let (out, s) = run_with_summary(
        "grpc-unary",
        &case(),
        &["--param", &demo.url()],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(metric(&s, "checks", "rate"), 1.0, "{s:#}");
    assert_eq!(root_check(&s, "enum"), (20, 0));
    assert_eq!(root_check(&s, "not found"), (20, 0));
    assert!(metric(&s, "grpc_req_duration", "max") > 0.0);
    let th = &s["metrics"]["grpc_req_duration"]["thresholds"];
    assert_eq!(th["max < max_ms"]["ok"], true, "{s:#}");
    // A threshold without a sample fails at the end: this one passing shows that the
    // NOT_FOUND calls were recorded with `status: "5"`.
    let not_found = &s["metrics"]["grpc_req_duration{status:5}"]["thresholds"];
    assert_eq!(not_found["max < max_ms"]["ok"], true, "{s:#}");
    assert_eq!(
        demo.stats()["requests"]["POST /shop.Catalog/GetProduct"],
        40,
        "every call reached the shop"
    );
}

#[test]
fn a_failed_threshold_on_grpc_req_duration_exits_99() {
    let demo = DemoProcess::start();
    let (out, s) = run_with_summary(
        "grpc-threshold",
        &case(),
        &["--param", &demo.url(), "--param", "max_ms=1us"],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    assert_eq!(
        s["metrics"]["grpc_req_duration"]["thresholds"]["max < max_ms"]["ok"], false,
        "{s:#}"
    );
    assert_eq!(
        metric(&s, "checks", "rate"),
        1.0,
        "the calls themselves passed"
    );
}

#[test]
fn a_fleet_merges_grpc_req_duration_into_its_verdict() {
    let demo = DemoProcess::start();
    let (out, s) = run_with_summary(
        "grpc-fleet",
        &case(),
        &["--runners", "2", "--param", &demo.url()],
        Duration::from_secs(90),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        s["volley"]["runners"].as_array().map(Vec::len),
        Some(2),
        "{s:#}"
    );
    assert!(metric(&s, "grpc_req_duration", "max") > 0.0);
    assert_eq!(
        s["metrics"]["grpc_req_duration"]["thresholds"]["max < max_ms"]["ok"], true,
        "{s:#}"
    );
    assert_eq!(root_check(&s, "ok"), (20, 0), "the runners' checks, merged");
    assert_eq!(
        demo.stats()["requests"]["POST /shop.Catalog/GetProduct"],
        40
    );
    // The same fleet with a threshold no call can meet fails on the merged metric.
    let (out, s) = run_with_summary(
        "grpc-fleet-fail",
        &case(),
        &[
            "--runners",
            "2",
            "--param",
            &demo.url(),
            "--param",
            "max_ms=1us",
        ],
        Duration::from_secs(90),
    );
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    assert_eq!(
        s["metrics"]["grpc_req_duration"]["thresholds"]["max < max_ms"]["ok"], false,
        "{s:#}"
    );
    assert_eq!(
        demo.stats()["requests"]["POST /shop.Catalog/GetProduct"],
        80
    );
    // Streams on two runners: the merged counters meet the file's exact thresholds.
    let streams = repo().join("tests/cases/run/grpc_streams.load");
    let (out, s) = run_with_summary(
        "grpc-fleet-streams",
        &streams.to_string_lossy(),
        &["--runners", "2", "--param", &demo.url()],
        Duration::from_secs(90),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(metric(&s, "grpc_streams", "count"), 20.0, "{s:#}");
    assert_eq!(
        s["metrics"]["grpc_streams_msgs_received"]["thresholds"]["count == 30"]["ok"], true,
        "{s:#}"
    );
}

#[test]
fn server_client_and_bidirectional_streams_count_their_messages() {
    let demo = DemoProcess::start();
    let file = repo().join("tests/cases/run/grpc_streams.load");
    let (out, s) = run_with_summary(
        "grpc-streams",
        &file.to_string_lossy(),
        &["--param", &demo.url()],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(metric(&s, "checks", "rate"), 1.0, "{s:#}");
    assert_eq!(metric(&s, "grpc_streams", "count"), 20.0);
    assert_eq!(metric(&s, "grpc_streams_msgs_sent", "count"), 30.0);
    assert_eq!(metric(&s, "grpc_streams_msgs_received", "count"), 30.0);
    let stats = demo.stats();
    assert_eq!(stats["requests"]["POST /shop.Catalog/ListProducts"], 10);
    assert_eq!(stats["requests"]["POST /shop.Catalog/AddToCart"], 5);
    assert_eq!(stats["requests"]["POST /shop.Catalog/Chat"], 5);
}

#[test]
fn a_closed_port_answers_unavailable_and_the_iteration_goes_on() {
    let port = free_port();
    let (out, s) = run_with_summary(
        "grpc-unavailable",
        &repo()
            .join("tests/cases/run/grpc_unavailable.load")
            .to_string_lossy(),
        &["--param", &format!("base_url=http://127.0.0.1:{port}")],
        Duration::from_secs(60),
    );
    // The checks pass, but no server answered a call: the run does not pass (exit 99,
    // as a run whose HTTP requests all failed), and the errors section counts the calls
    // under the refused connection's code.
    let t = text(&out);
    assert_eq!(out.status.code(), Some(99), "{t}");
    assert!(
        t.contains("nothing answered: all 2 gRPC calls failed to reach a server"),
        "{t}"
    );
    assert_eq!(s["volley"]["verdict"], "no_responses");
    assert_eq!(metric(&s, "checks", "rate"), 1.0, "{s:#}");
    assert_eq!(root_check(&s, "unavailable"), (2, 0));
    assert!(metric(&s, "grpc_req_duration", "max") >= 0.0);
    let errors = s["volley"]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["code"], 1212);
    assert_eq!(errors[0]["count"], 2);
    assert_eq!(errors[0]["first"]["target"], "nobody");
}

#[test]
fn the_grpc_example_runs_against_the_embedded_demo() {
    let (out, s) = run_with_summary(
        "grpc-example",
        "examples/grpc.load",
        &["--demo"],
        Duration::from_secs(90),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(metric(&s, "checks", "rate"), 1.0, "{s:#}");
    assert!(metric(&s, "grpc_req_duration", "p(95)") > 0.0);
}

#[test]
fn https_targets_use_the_scenarios_tls_options() {
    let demo = DemoProcess::start();
    let dir = temp_dir("grpc-tls");
    with_example_data(&dir);
    let port = tls_front(&dir, demo.1, b"h2", false);
    let file = |name: &str, tls: &str, want: &str| {
        let src = format!(
            "param base_url: url = \"https://127.0.0.1:8443\"\n\
             target shop = base_url\n\
             data catalog = proto(\"protos/shop.proto\")\n\
             scenario s {{\n  workload = shared_iterations(vus: 1, iterations: 3)\n  {tls}\n  \
             iteration {{\n    let r = grpc.invoke(shop, \"shop.Catalog/GetProduct\", {{id: 7}})\n    \
             check \"status\": r.status == grpc.{want}\n  }}\n}}\n"
        );
        let path = dir.join(name);
        std::fs::write(&path, src).unwrap();
        path.to_string_lossy().into_owned()
    };
    let trusted = file(
        "trusted.load",
        "http = {tls: {ca: file(\"certs/ca.pem\")}}",
        "OK",
    );
    let untrusted = file("untrusted.load", "", "UNAVAILABLE");
    let url = format!("base_url=https://127.0.0.1:{port}");
    // The untrusted run's checks pass (UNAVAILABLE), but no server answered a call: exit
    // 99 with the TLS error's code (1310) in the errors section.
    for (f, code, error) in [(trusted, 0, None), (untrusted, 99, Some(1310))] {
        let (out, s) = run_grpc(&dir, Path::new(&f), &[&url], &[]);
        assert_eq!(out.status.code(), Some(code), "{f}: {}", text(&out));
        assert_eq!(root_check(&s, "status"), (3, 0), "{f}");
        let codes: Vec<u64> = s["volley"]["errors"]
            .as_array()
            .map(|rows| rows.iter().map(|e| e["code"].as_u64().unwrap()).collect())
            .unwrap_or_default();
        assert_eq!(codes, error.into_iter().collect::<Vec<_>>(), "{f}: {s:#}");
    }
    assert_eq!(
        demo.stats()["requests"]["POST /shop.Catalog/GetProduct"],
        3,
        "only the calls that trusted the CA reached the shop"
    );
}

#[test]
fn grpc_connections_follow_the_scenarios_hosts() {
    // `shop.test` exists only in the scenario's `http.hosts`: the system resolver does
    // not know it, so every call reaching the shop went through the runner's resolver.
    let demo = DemoProcess::start();
    let dir = temp_dir("grpc-hosts");
    with_example_data(&dir);
    let src = "param base_url: url = \"http://shop.test:8088\"\n\
               target shop = base_url\n\
               data catalog = proto(\"protos/shop.proto\")\n\
               scenario s {\n  workload = shared_iterations(vus: 1, iterations: 3)\n  \
               http = {hosts: {\"shop.test\": [\"127.0.0.1\"]}}\n  \
               iteration {\n    let r = grpc.invoke(shop, \"shop.Catalog/GetProduct\", {id: 7})\n    \
               check \"status\": r.status == grpc.OK\n    \
               let c = grpc.stream(shop, \"shop.Catalog/Chat\", [{text: \"a\"}])\n    \
               check \"stream\": c.status == grpc.OK\n  }\n}\n";
    let file = dir.join("hosts.load");
    std::fs::write(&file, src).unwrap();
    let url = format!("base_url=http://shop.test:{}", demo.1);
    let (out, s) = run_grpc(&dir, &file, &[&url], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(root_check(&s, "status"), (3, 0), "{s:#}");
    assert_eq!(root_check(&s, "stream"), (3, 0), "{s:#}");
    assert_eq!(demo.stats()["requests"]["POST /shop.Catalog/GetProduct"], 3);
}

/// Calls and streams go through the proxy with `CONNECT`, as `https://` requests do:
/// `HTTP_PROXY` for an `http://` (h2c) target, to a name only the proxy can reach; a
/// proxy that is not there fails every call with the proxy's code (1030), and since no
/// server answered, the run exits 99.
#[test]
fn grpc_calls_go_through_the_proxy_with_connect() {
    let demo = DemoProcess::start();
    let proxy = crate::proxy_e2e::TestProxy::start();
    let dir = temp_dir("grpc-proxy");
    with_example_data(&dir);
    let src = |http: &str| {
        format!(
            "param base_url: url = \"http://shop.test:8088\"\n\
             target shop = base_url\n\
             data catalog = proto(\"protos/shop.proto\")\n\
             scenario s {{\n  workload = shared_iterations(vus: 1, iterations: 2)\n  {http}\n  \
             iteration {{\n    let r = grpc.invoke(shop, \"shop.Catalog/GetProduct\", {{id: 7}})\n    \
             check \"status\": r.status == grpc.OK\n    \
             let c = grpc.stream(shop, \"shop.Catalog/Chat\", [{{text: \"a\"}}])\n    \
             check \"stream\": c.status == grpc.OK\n  }}\n}}\n"
        )
    };
    let file = dir.join("proxied.load");
    std::fs::write(&file, src("")).unwrap();
    let url = format!("base_url=http://shop.test:{}", demo.1);
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let (out, s) = run_grpc(
        &dir,
        &file,
        &[&url],
        &[("HTTP_PROXY", &proxy_url), ("NO_PROXY", "other.test")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(root_check(&s, "status"), (2, 0), "{s:#}");
    assert_eq!(root_check(&s, "stream"), (2, 0), "{s:#}");
    // One VU, one channel, one connection: one tunnel.
    let want = format!("CONNECT shop.test:{} HTTP/1.1", demo.1);
    assert_eq!(proxy.lines.lock().unwrap().clone(), vec![want]);

    // The scenario's own proxy, which is not there.
    let closed = free_port();
    std::fs::write(
        &file,
        src(&format!("http = {{proxy: \"http://127.0.0.1:{closed}\"}}")),
    )
    .unwrap();
    let (out, s) = run_grpc(&dir, &file, &[&url], &[]);
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    assert_eq!(s["volley"]["verdict"], "no_responses", "{s:#}");
    assert_eq!(s["volley"]["errors"][0]["code"], 1030, "{s:#}");
    assert_eq!(s["volley"]["errors"][0]["count"], 4, "{s:#}");
}

/// A server that takes the connection and never answers: each call ends at its deadline
/// (DEADLINE_EXCEEDED, which the check sees), tagged with the request timeout's code
/// (1050), and since nothing answered, the run exits 99 as a run of requests to such a
/// server does (tests/hostile.rs).
#[test]
fn a_server_that_never_answers_fails_the_run_at_the_deadline() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s); // accepted, never read nor answered
        }
    });
    let dir = temp_dir("grpc-silent");
    with_example_data(&dir);
    let file = dir.join("silent.load");
    std::fs::write(
        &file,
        "param base_url: url = \"http://127.0.0.1:9\"\n\
         target shop = base_url\n\
         data catalog = proto(\"protos/shop.proto\")\n\
         scenario s {\n  workload = shared_iterations(vus: 1, iterations: 2)\n  \
         iteration {\n    let r = grpc.invoke(shop, \"shop.Catalog/GetProduct\", {id: 7}, timeout: 500ms)\n    \
         check \"deadline\": r.status == grpc.DEADLINE_EXCEEDED\n  }\n}\n",
    )
    .unwrap();
    let url = format!("base_url=http://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    let (out, s) = run_grpc(&dir, &file, &[&url], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(99), "{t}");
    assert!(started.elapsed() < Duration::from_secs(30), "no hang: {t}");
    assert!(
        t.contains("nothing answered: all 2 gRPC calls failed to reach a server"),
        "{t}"
    );
    assert_eq!(root_check(&s, "deadline"), (2, 0), "{s:#}");
    assert_eq!(s["volley"]["errors"][0]["code"], 1050, "{s:#}");
    assert_eq!(s["volley"]["errors"][0]["count"], 2, "{s:#}");
}
