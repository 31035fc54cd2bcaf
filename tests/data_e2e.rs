//! JSON navigation and HTML scraping end to end: `volley run` against the demo shop's
//! paged catalogue (`GET /api/catalog`) and its CSRF form (`/html/feedback`).

use crate::support::*;
use std::time::Duration;

fn run_file(
    dir: &std::path::Path,
    src: &str,
    demo: &DemoProcess,
) -> (std::process::Output, serde_json::Value) {
    let file = dir.join("t.load");
    std::fs::write(&file, src).unwrap();
    let sj = dir.join("summary.json");
    let out = volley_in(
        dir,
        &[
            "run",
            file.to_str().unwrap(),
            "-q",
            "--param",
            &demo.url(),
            "--summary-json",
            sj.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    let s = if sj.exists() {
        summary(&sj)
    } else {
        serde_json::Value::Null
    };
    (out, s)
}

#[test]
fn the_scrape_and_page_example_runs_against_the_demo() {
    let (out, s) = run_with_summary(
        "scrape-and-page",
        "examples/scrape_and_page.load",
        &["--demo"],
        Duration::from_secs(90),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // 2 VUs × 5 iterations × (2 catalogue pages, 1 product, the form, the post).
    assert_eq!(metric(&s, "http_reqs", "count"), 50.0);
    assert_eq!(metric(&s, "checks", "rate"), 1.0, "{s:#}");
    assert_eq!(root_check(&s, "the token is accepted"), (10, 0));
    assert_eq!(root_check(&s, "page 2 starts at 51"), (10, 0));
}

#[test]
fn missing_json_values_are_null_and_their_conversions_fail_the_iteration() {
    let demo = DemoProcess::start();
    let dir = temp_dir("json-missing");
    let src = r#"
param base_url: url = "http://127.0.0.1:8088"
target shop = base_url
scenario s {
  workload = per_vu_iterations(vus: 1, iterations: 3)
  iteration {
    let last = get(shop, "/api/catalog?page=10&per_page=100").json()
    check "last page has no next": not last.next_page.exists()
    check "past the end is null": not last.items[100].exists()
    check "a negative index is null": not last.items[-1].exists()
    check "a member of an array is null": not last.items.id.exists()
    check "deep steps stay null": not last.nope.deeper[3]["x"].exists()
    check "len of the page": last.items.len() == 100
    check "last id": last.items[99].id.int() == 1000
    check "converted": last.items[100].id.int() == 0
    get(shop, "/health", name: "never reached")
  }
}
"#;
    let (out, s) = run_file(&dir, src, &demo);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for name in [
        "last page has no next",
        "past the end is null",
        "a negative index is null",
        "a member of an array is null",
        "deep steps stay null",
        "len of the page",
        "last id",
    ] {
        assert_eq!(root_check(&s, name), (3, 0), "{name}");
    }
    // The conversion of null failed each iteration before the check and the request.
    let checks = s["root_group"]["checks"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c["name"].as_str().unwrap_or("").contains("is missing") && c["fails"] == 3),
        "{s:#}"
    );
    assert_eq!(metric(&s, "http_reqs", "count"), 3.0);
    let stats = demo.stats();
    assert_eq!(stats["requests"]["GET /health"], 0, "{stats}");
    assert_eq!(stats["requests"]["GET /api/catalog"], 3, "{stats}");
}

#[test]
fn pick_draws_from_the_array_and_list_indexes_are_checked_at_run_time() {
    let demo = DemoProcess::start();
    let dir = temp_dir("json-pick");
    let src = r#"
param base_url: url = "http://127.0.0.1:8088"
target shop = base_url
scenario s {
  workload = per_vu_iterations(vus: 2, iterations: 10)
  iteration {
    let page = get(shop, "/api/catalog?page=3&per_page=10").json()
    let one = page.items.pick()
    check "picked from page 3": one.id.int() > 20 and one.id.int() <= 30
    let sizes = [5, 7]
    let p = get(shop, "/api/catalog?per_page={sizes[vu.iteration % 2]}").json()
    check "sized": p.items.len() == 5 or p.items.len() == 7
    check "out of range": sizes[vu.iteration + 2] == 0
  }
}
"#;
    let (out, s) = run_file(&dir, src, &demo);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(root_check(&s, "picked from page 3"), (20, 0));
    assert_eq!(root_check(&s, "sized"), (20, 0));
    let checks = s["root_group"]["checks"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c["name"] == "index: outside the list" && c["fails"] == 20),
        "{s:#}"
    );
}

#[test]
fn a_wrong_csrf_token_is_refused() {
    let demo = DemoProcess::start();
    let dir = temp_dir("html-csrf");
    let src = r#"
param base_url: url = "http://127.0.0.1:8088"
target shop = base_url
scenario s {
  workload = per_vu_iterations(vus: 1, iterations: 2)
  iteration {
    let page = get(shop, "/html/feedback")
    let csrf = page.html().find("form input[type=hidden]").attr("value")
    check "no such attribute is empty": page.html().find("input[name=csrf]").attr("nope") == ""
    check "no such element": page.html().find("select").len() == 0
    // The VU's cookie jar sends the page's `sid` back.
    let good = post(shop, "/html/feedback", form: {csrf: csrf})
    check "the right token is accepted": good.status == 200
    let bad = post(shop, "/html/feedback", form: {csrf: "0{csrf}"}, expect: 403)
    check "a wrong token is refused": bad.status == 403
    let other = post(shop, "/html/feedback", form: {csrf: csrf}, cookies: {sid: "another"}, expect: 403)
    check "another session's token is refused": other.status == 403
    vu.cookies.clear()
    let none = post(shop, "/html/feedback", form: {csrf: csrf}, expect: 403)
    check "no session is refused": none.status == 403
    check "the page's text": page.html().find("h1").text() == "Feedback"
  }
}
"#;
    let (out, s) = run_file(&dir, src, &demo);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for name in [
        "no such attribute is empty",
        "no such element",
        "a wrong token is refused",
        "no session is refused",
        "another session's token is refused",
        "the right token is accepted",
        "the page's text",
    ] {
        assert_eq!(root_check(&s, name), (2, 0), "{name}");
    }
    let stats = demo.stats();
    assert_eq!(stats["requests"]["POST /html/feedback"], 8, "{stats}");
}

#[test]
fn env_reads_the_runs_environment_with_its_default() {
    let demo = DemoProcess::start();
    let dir = temp_dir("env-config");
    let src = r#"
param base_url: url = "http://127.0.0.1:8088"
target shop = base_url
scenario s {
  workload = per_vu_iterations(vus: 1, iterations: 2)
  iteration {
    let page = get(shop, "/api/catalog?per_page={env("VOLLEY_TEST_PAGE_SIZE", "20")}").json()
    check "sized by the environment": page.items.len() == 7
    check "unset is the default": env("VOLLEY_TEST_UNSET_REGION", "eu") == "eu"
  }
}
"#;
    let file = dir.join("t.load");
    std::fs::write(&file, src).unwrap();
    let sj = dir.join("summary.json");
    let out = volley_env(
        &dir,
        &[
            "run",
            file.to_str().unwrap(),
            "-q",
            "--param",
            &demo.url(),
            "--summary-json",
            sj.to_str().unwrap(),
        ],
        &[("VOLLEY_TEST_PAGE_SIZE", "7")],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = summary(&sj);
    assert_eq!(root_check(&s, "sized by the environment"), (2, 0));
    assert_eq!(root_check(&s, "unset is the default"), (2, 0));
}
