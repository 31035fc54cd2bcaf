//! gRPC server reflection end to end (issue 18): `data x = proto(reflect: TARGET)` read
//! from the demo shop while the file compiles (`volley run FILE --demo` starts the shop
//! first), a typo in a reflected message caught with its fix, an unreachable server as a
//! clear E0827, and the plan of `volley compile` carrying the descriptors. Map fields
//! go out and back on the shop's Chat. Loopback only, bounded.

use crate::support::*;
use std::time::Duration;

fn reflect_case() -> String {
    repo()
        .join("tests/cases/reflect/grpc_reflect.load")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn reflected_services_run_against_the_embedded_demo() {
    let (out, s) = run_with_summary(
        "grpc-reflect",
        &reflect_case(),
        &["--demo"],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(metric(&s, "checks", "rate"), 1.0, "{s:#}");
    assert_eq!(root_check(&s, "map sent"), (3, 0), "{s:#}");
    assert_eq!(metric(&s, "grpc_streams", "count"), 3.0);
}

#[test]
fn a_typo_in_a_reflected_message_is_a_compile_error_with_a_fix() {
    let dir = temp_dir("grpc-reflect-typo");
    let file = dir.join("typo.load");
    let src = std::fs::read_to_string(reflect_case())
        .unwrap()
        .replace("{id: 7}", "{idd: 7}");
    std::fs::write(&file, src).unwrap();
    let out = volley_in(
        &dir,
        &["run", file.to_str().unwrap(), "--demo", "-q"],
        Duration::from_secs(60),
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(104), "{t}");
    assert!(t.contains("E0824"), "{t}");
    assert!(t.contains("did you mean `id`?"), "{t}");
    assert!(!t.contains("E0827"), "the shop answered reflection: {t}");
}

#[test]
fn an_unreachable_server_is_a_clear_compile_error() {
    let dir = temp_dir("grpc-reflect-down");
    let url = format!("http://127.0.0.1:{}", free_port());
    let out = volley_in(
        &dir,
        &[
            "check",
            &reflect_case(),
            "--param",
            &format!("base_url={url}"),
        ],
        Duration::from_secs(60),
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(104), "{t}");
    assert!(t.contains("E0827"), "{t}");
    assert!(t.contains(&url), "the URL is named: {t}");
    assert!(t.contains("cannot connect"), "the reason is given: {t}");
    assert!(t.contains("proto(reflect: shop)"), "the span is shown: {t}");
}

#[test]
fn a_server_that_does_not_speak_grpc_is_a_clear_compile_error() {
    // A TCP listener that closes every connection: it accepts, then gives no answer.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            drop(conn);
        }
    });
    let dir = temp_dir("grpc-reflect-none");
    let out = volley_in(
        &dir,
        &[
            "check",
            &reflect_case(),
            "--param",
            &format!("base_url=http://127.0.0.1:{port}"),
        ],
        Duration::from_secs(60),
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(104), "{t}");
    assert!(t.contains("E0827"), "{t}");
}

#[test]
fn a_compiled_plan_carries_the_reflected_descriptors() {
    let demo = DemoProcess::start();
    let dir = temp_dir("grpc-reflect-plan");
    let out_dir = dir.join("out");
    let out = volley_in(
        &dir,
        &[
            "compile",
            &reflect_case(),
            "--param",
            &demo.url(),
            "--out-dir",
            out_dir.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    let plan = out_dir.join("plan.json");
    assert!(out.status.success(), "{}", text(&out));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let protos = json["protos"].as_array().cloned().unwrap_or_default();
    assert_eq!(protos.len(), 1, "{json:#}");
    assert_eq!(
        protos[0]["path"],
        format!("reflect:{}", demo.url().trim_start_matches("base_url="))
    );
}

#[test]
fn every_copy_of_shop_proto_is_the_examples_one() {
    let main = std::fs::read_to_string(repo().join("examples/protos/shop.proto")).unwrap();
    for copy in [
        "tests/cases/invalid/protos/shop.proto",
        "tests/cases/lint/L0109/protos/shop.proto",
        "tests/cases/run/protos/shop.proto",
    ] {
        let text = std::fs::read_to_string(repo().join(copy)).unwrap();
        assert_eq!(text, main, "{copy} differs from examples/protos/shop.proto");
    }
}
