//! What a new user reads from the CLI is true (issue 15): the file's fleet is the default
//! of `plan` and is named by `run`; `demo-server` binds before it announces and a taken
//! port has its own exit code; a live credential fails lint and is never printed; `ok:`
//! means no finding; words and flags say what they mean (`-o` is `--out`); a finding in
//! an imported flow also points at the scenario's call.

use crate::support::*;
use std::path::Path;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

const FLEET4: &str = "target api = \"http://127.0.0.1:8088\"\n\nscenario s {\n  workload = per_vu_iterations(vus: 8, iterations: 1)\n  iteration {\n    get(api, \"/health\")\n  }\n}\n\nthresholds {\n  http_req_failed: rate < 1%\n}\n\nfleet {\n  runners = 4\n}\n";

#[test]
fn plan_defaults_to_the_files_fleet() {
    let dir = temp_dir("first-use-plan");
    write(&dir, "f.load", FLEET4);
    let out = volley_in(&dir, &["plan", "f.load"], LIMIT);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains(" on 4 runners"), "{t}");
    assert!(t.contains("runner 3 of 4") && !t.contains("of 1\n"), "{t}");
    // 8 VUs × 1 iteration over 4 runners: 2 each.
    assert!(t.contains("2 iterations"), "{t}");
    let one = volley_in(&dir, &["plan", "f.load", "--runners", "1"], LIMIT);
    let t = text(&one);
    assert!(
        t.contains(" on 1 runner\n") && t.contains("8 iterations"),
        "{t}"
    );
    let json = volley_in(&dir, &["plan", "f.load", "--json"], LIMIT);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(v["runners"], 4);
}

#[test]
fn plan_spells_the_pick_as_the_language_does() {
    let out = volley(&["plan", "examples/data_unique.load"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("(pick unique") && !t.contains("Unique"), "{t}");
}

#[test]
fn run_without_runners_names_the_files_fleet() {
    let dir = temp_dir("first-use-run");
    write(&dir, "f.load", FLEET4);
    let out = volley_in(&dir, &["run", "f.load", "--demo", "-q"], LIMIT);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("the file's fleet asks for 4 runners") && t.contains("--runners 4"),
        "{t}"
    );
}

#[test]
fn compile_o_is_an_error_and_out_dir_works() {
    let dir = temp_dir("first-use-compile");
    write(
        &dir,
        "f.load",
        &FLEET4.replace("fleet {\n  runners = 4\n}\n", ""),
    );
    let out = volley_in(&dir, &["compile", "f.load", "-o", "out"], LIMIT);
    assert_eq!(
        out.status.code(),
        Some(2),
        "-o is --out elsewhere: {}",
        text(&out)
    );
    assert!(!dir.join("out").exists());
    let out = volley_in(&dir, &["compile", "f.load", "--out-dir", "out"], LIMIT);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains(", 1 runner\n"), "{t}");
    assert!(dir.join("out/plan.json").is_file());
}

#[test]
fn demo_server_on_a_taken_port_says_so_and_exits_106() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = volley_in(&repo(), &["demo-server", "--port", &port], LIMIT);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(106), "{t}");
    assert!(!t.contains("listening"), "announced before binding: {t}");
    assert!(t.contains("already in use") && t.contains("--port"), "{t}");
    drop(taken);
}

#[test]
fn help_names_the_demo_docs_and_no_internal_document() {
    let out = volley(&["demo-server", "--help"]);
    assert!(out.status.success());
    assert!(text(&out).contains("docs/demo.md"), "{}", text(&out));
    for args in [
        &["--help"][..],
        &["lint", "--help"],
        &["run", "--help"],
        &["plan", "--help"],
    ] {
        let out = volley(args);
        let t = text(&out);
        assert!(
            !t.contains("SPEC") && !t.contains("ARCHITECTURE") && !t.contains("§"),
            "{args:?}:\n{t}"
        );
    }
    for cmd in ["check", "lint", "plan", "compile", "run", "deploy"] {
        let t = text(&volley(&[cmd, "--help"]));
        let line = t
            .lines()
            .find(|l| l.contains("--param <K=V>"))
            .unwrap_or_else(|| panic!("{cmd}: no --param:\n{t}"));
        assert!(
            line.contains("Override") || t.contains("--param <K=V>\n          Override"),
            "{cmd}: --param has no help:\n{t}"
        );
    }
}

/// A fake key in Stripe's live format: not a real credential, but the shape L0109 knows.
const FAKE_KEY: &str = "sk_live_51FakeKeyForVolleyTests0000xyz";

const LIVE_KEY: &str = "target api = \"http://127.0.0.1:8088\"\n\nscenario s {\n  workload = constant_vus(vus: 1, duration: 10s)\n  iteration {\n    get(api, \"/api/products\", headers: {\"x-api-key\": \"KEY\"})\n    sleep 1s\n  }\n}\n\nthresholds {\n  http_req_failed: rate < 1%\n}\n";

#[test]
fn a_live_key_is_a_lint_error_and_never_printed() {
    let dir = temp_dir("first-use-l0109");
    write(&dir, "key.load", &LIVE_KEY.replace("KEY", FAKE_KEY));
    for format in ["human", "json", "sarif", "github"] {
        let out = volley_in(&dir, &["lint", "--format", format, "key.load"], LIMIT);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(104), "{format}: {t}");
        assert!(t.contains("L0109"), "{format}: {t}");
        assert!(
            !t.contains(&FAKE_KEY[8..20]),
            "{format}: the key is printed:\n{t}"
        );
        if format == "human" {
            assert!(!t.contains("ok: key.load"), "{t}");
            assert!(t.contains("errors: key.load (1 error"), "{t}");
            assert!(t.contains("sk_l****"), "the masked value is shown: {t}");
        }
    }
}

#[test]
fn ok_is_printed_only_for_a_file_without_findings() {
    let dir = temp_dir("first-use-ok");
    // A random-looking key: a warning, not an error.
    write(
        &dir,
        "warn.load",
        &LIVE_KEY.replace("KEY", "ak_9fJ2mQ7xLw4Rt8Zp1Vb6Nc3Hs5Ke0Yd"),
    );
    write(
        &dir,
        "clean.load",
        &LIVE_KEY.replace(", headers: {\"x-api-key\": \"KEY\"}", ""),
    );
    let out = volley_in(&dir, &["lint", "warn.load", "clean.load"], LIMIT);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout, "warnings: warn.load (1 warning)\nok: clean.load\n",
        "{t}"
    );
    assert!(!t.contains("9fJ2mQ7xLw4Rt8"), "the value is masked: {t}");
}

const LIBRARY: &str = "// Shared sign-in of the shop's tests.\ntarget shop = \"http://127.0.0.1:8088\"\n\nflow sign_in() -> string {\n  let r = post(shop, \"/api/login\", json: {email: \"loadtest@example.com\", password: \"pw-{vu.id}\"})\n  return r.json(\"token\").string()\n}\n";

const SCENARIO: &str = "import \"auth.load\"\n\ntarget shop = \"http://127.0.0.1:8088\"\n\nscenario browse {\n  workload = constant_vus(vus: 100, duration: 1m)\n  iteration {\n    let token = auth.sign_in()\n    get(shop, \"/api/products\", headers: {authorization: \"Bearer {token}\"})\n    sleep 1s\n  }\n}\n\nthresholds {\n  http_req_failed: rate < 1%\n}\n";

#[test]
fn a_finding_in_an_imported_flow_points_at_the_scenarios_call() {
    let dir = temp_dir("first-use-related");
    write(&dir, "auth.load", LIBRARY);
    write(&dir, "browse.load", SCENARIO);
    let mut shown = String::new();
    for format in ["human", "json", "github", "sarif"] {
        let out = volley_in(&dir, &["lint", "--format", format, "browse.load"], LIMIT);
        assert_eq!(out.status.code(), Some(104), "{}", text(&out));
        let t = text(&out);
        let t = if format == "sarif" {
            // Only the results: the rules' documentation is the same for every file.
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("SARIF");
            serde_json::to_string_pretty(&v["runs"][0]["results"]).unwrap()
        } else {
            t
        };
        assert!(
            t.contains("browse.load") && t.contains("auth.load"),
            "{format}: {t}"
        );
        shown.push_str(&format!("===== --format {format}\n{t}\n"));
    }
    insta::with_settings!({snapshot_path => repo().join("tests/snapshots"), prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("first_use__lint_related_call_site", shown);
    });
}
