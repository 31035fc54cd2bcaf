//! Diagnostics as users see them: the whole output of `volley check`, `compile` and `lint`
//! on invalid files, snapshot-tested with insta (`tests/snapshots/rendered__*.snap`). The
//! tests capture stderr through a pipe, so miette renders as on any non-terminal: no
//! colours, unicode frames, 100 columns (cli/src/render.rs fixes the width).

use crate::support::*;
use std::path::Path;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// The exit code, stdout and stderr of `volley ARGS` run in `dir`, as one text.
fn shown(dir: &Path, args: &[&str]) -> String {
    let out = volley_in(dir, args, LIMIT);
    format!(
        "$ volley {}\nexit: {:?}\n----- stdout\n{}----- stderr\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn snapshot(name: &str, text: &str) {
    assert!(
        !text.contains('\u{1b}'),
        "no terminal escapes when stderr is not a terminal:\n{text}"
    );
    insta::with_settings!({snapshot_path => repo().join("tests/snapshots"), prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!(format!("rendered__{name}"), text);
    });
}

/// `volley check CASE.load` on a file of the invalid corpus, run from its folder.
fn check_case(case: &str) -> String {
    let file = format!("{case}.load");
    shown(&repo().join("tests/cases/invalid"), &["check", &file])
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create folder");
    }
    std::fs::write(path, text).expect("write file");
}

#[test]
fn a_parse_error() {
    snapshot("parse_error", &check_case("syntax_unclosed_call"));
}

#[test]
fn a_type_error_with_its_fix() {
    snapshot(
        "type_error_fix_it",
        &check_case("types_status_compared_to_string"),
    );
}

#[test]
fn an_unknown_name_with_a_suggestion() {
    snapshot(
        "unknown_name_did_you_mean",
        &check_case("name_unknown_variable"),
    );
}

#[test]
fn an_error_with_two_labels() {
    snapshot("multi_label", &check_case("name_duplicate_target"));
}

#[test]
fn a_malformed_data_file() {
    let dir = temp_dir("rendered-data");
    write(
        &dir,
        "data/users.csv",
        "email,password\na@example.com,pw1\nb@example.com,pw2,extra\n",
    );
    write(
        &dir,
        "login.load",
        "target api = \"http://127.0.0.1:8088\"\ndata users = csv(\"data/users.csv\", pick: unique)\n\nscenario s {\n  workload = constant_vus(vus: 2, duration: 10s)\n  iteration {\n    let u = users.next()\n    post(api, \"/api/login\", json: {email: u.email, password: u.password})\n  }\n}\n",
    );
    snapshot("data_file_error", &shown(&dir, &["check", "login.load"]));
}

#[test]
fn an_error_inside_an_imported_file() {
    let dir = temp_dir("rendered-import");
    write(
        &dir,
        "lib/auth.load",
        "target shop = \"http://127.0.0.1:8088\"\n\nflow sign_in(user: int) -> string {\n  let r = post(shop, \"/api/login\", json: {id: user})\n  check r.status == \"200\"\n  return r.json(\"token\").string()\n}\n",
    );
    write(
        &dir,
        "browse.load",
        "import \"lib/auth.load\"\n\ntarget shop = \"http://127.0.0.1:8088\"\n\nscenario browse {\n  workload = constant_vus(vus: 2, duration: 10s)\n  iteration {\n    let token = auth.sign_in(vu.id)\n    get(shop, \"/api/products\", headers: {authorization: \"Bearer {token}\"})\n  }\n}\n",
    );
    let out_dir = dir.join("out");
    let text = shown(&dir, &["compile", "browse.load", "--out-dir", "out"]);
    assert!(
        !out_dir.join("plan.json").exists(),
        "no plan for an invalid file"
    );
    snapshot("imported_file_error", &text);
}

#[test]
fn a_lint_warning_with_the_call_site_that_reaches_it() {
    let dir = temp_dir("rendered-lint-warning");
    // The project lowers L0101 to a warning: the finding and its call site render as such.
    write(&dir, "volley.toml", "[lints]\nL0101 = \"warning\"\n");
    write(
        &dir,
        "auth.load",
        "// Shared sign-in of the shop's tests.\ntarget shop = \"http://127.0.0.1:8088\"\n\nflow sign_in() -> string {\n  let r = post(shop, \"/api/login\", json: {email: \"loadtest@example.com\", password: \"pw-{vu.id}\"})\n  return r.json(\"token\").string()\n}\n",
    );
    write(
        &dir,
        "browse.load",
        "import \"auth.load\"\n\ntarget shop = \"http://127.0.0.1:8088\"\n\nscenario browse {\n  workload = constant_vus(vus: 100, duration: 1m)\n  iteration {\n    let token = auth.sign_in()\n    get(shop, \"/api/products\", headers: {authorization: \"Bearer {token}\"})\n    sleep 1s\n  }\n}\n\nthresholds {\n  http_req_failed: rate < 1%\n}\n",
    );
    snapshot(
        "lint_warning_related_call_site",
        &shown(&dir, &["lint", "browse.load"]),
    );
}
