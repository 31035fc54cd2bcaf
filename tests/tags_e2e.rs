//! Per-request `tags: {..}` end to end against the embedded demo shop
//! (tests/cases/run/request_tags.load): constant tags over the scenario's, dynamic values
//! as series of their own, `group` replaced as k6 replaces it, thresholds filtered on
//! them that pass, one that fails with exit 99, and the cap of distinct values per
//! request (1,000, then `__overflow__`, with a note in the summary and a warning).
//! Then the same file on a local fleet of two runners (`--runners 2`): the series merge
//! across runners to the same counts, and the cap counts per runner.

use crate::support::*;
use std::time::Duration;

const FILE: &str = "tests/cases/run/request_tags.load";

/// The verdict of the threshold `cond` on the submetric `key`.
fn ok(s: &serde_json::Value, key: &str, cond: &str) -> bool {
    s["metrics"][key]["thresholds"][cond]["ok"]
        .as_bool()
        .unwrap_or_else(|| panic!("no threshold `{key}: {cond}` in {s:#}"))
}

/// The thresholds every run of the file passes, and the series they prove.
fn assert_series(s: &serde_json::Value) {
    for (key, cond) in [
        ("http_reqs{kind:list}", "count == 10"),
        ("http_reqs{kind:browse,name:product}", "count == 10"),
        ("http_reqs{kind:list,team:checkout}", "count == 10"),
        ("http_reqs{parity:p0}", "count == 6"),
        ("http_reqs{parity:p1}", "count == 4"),
        ("http_reqs{group:custom}", "count == 10"),
        ("http_reqs{n:7}", "count == 1"),
        ("http_reqs{n:__overflow__}", "count == 100"),
        ("http_req_duration{kind:list}", "max < 60s"),
    ] {
        assert!(
            ok(s, key, cond),
            "`{key}: {cond}` failed: {:#}",
            s["metrics"][key]
        );
    }
    assert_eq!(metric(s, "http_reqs{kind:list}", "count"), 10.0);
    assert_eq!(metric(s, "http_reqs{n:__overflow__}", "count"), 100.0);
    // 10 × (list, product, regrouped, 110 × health).
    assert_eq!(metric(s, "http_reqs", "count"), 1130.0);
    let notes = s["volley"]["notes"].to_string();
    assert!(
        notes.contains("request health")
            && notes.contains("__overflow__")
            && notes.contains("1000"),
        "no overflow note: {notes}"
    );
    assert!(!notes.contains("request list"), "{notes}");
}

#[test]
fn request_tags_make_series_thresholds_select_them_and_dynamic_values_are_capped() {
    let dir = temp_dir("tags-e2e");
    let ndjson = dir.join("out.ndjson");
    let (out, s) = run_with_summary(
        "tags",
        FILE,
        &["--demo", "-o", &format!("json={}", ndjson.display())],
        Duration::from_secs(120),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_series(&s);
    assert!(ok(
        &s,
        "http_reqs{kind:list,team:checkout}",
        "count < list_max"
    ));
    // Said once while the run goes, too.
    let all = text(&out);
    assert_eq!(
        all.matches("distinct values on this runner").count(),
        1,
        "{all}"
    );

    // The NDJSON output has one series per value, and the tags it should.
    let mut health = std::collections::BTreeSet::new();
    let mut overflow = 0.0;
    for line in std::fs::read_to_string(&ndjson).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["metric"] != "http_reqs" {
            continue;
        }
        let tags = &v["tags"];
        assert_eq!(tags["team"], "checkout", "{v}");
        assert_ne!(
            tags["group"], "cart",
            "the request's group replaces the VU's: {v}"
        );
        match tags["name"].as_str().unwrap() {
            "list" => assert_eq!(tags["kind"], "list", "{v}"),
            "product" => {
                assert_eq!(tags["kind"], "browse", "{v}");
                assert!(tags["parity"] == "p0" || tags["parity"] == "p1", "{v}");
            }
            "regrouped" => assert_eq!(tags["group"], "custom", "{v}"),
            "health" => {
                let n = tags["n"].as_str().unwrap().to_string();
                if n == "__overflow__" {
                    overflow += v["values"]["count"].as_f64().unwrap();
                } else {
                    assert!(n.parse::<u32>().unwrap() < 1100, "{v}");
                    health.insert(n);
                }
            }
            other => panic!("unexpected request {other}: {v}"),
        }
    }
    assert_eq!(health.len(), 1000, "one series per admitted value");
    assert_eq!(overflow, 100.0);
}

#[test]
fn a_failing_tag_filtered_threshold_exits_99() {
    let (out, s) = run_with_summary(
        "tags-fail",
        FILE,
        &["--demo", "--param", "list_max=10"],
        Duration::from_secs(120),
    );
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    assert!(!ok(
        &s,
        "http_reqs{kind:list,team:checkout}",
        "count < list_max"
    ));
    assert_series(&s);
}

#[test]
fn a_local_fleet_merges_the_tagged_series_of_its_runners() {
    let (out, s) = run_with_summary(
        "tags-fleet",
        FILE,
        &["--demo", "--runners", "2"],
        Duration::from_secs(180),
    );
    // Each runner's VU sends 550 distinct values, under the cap of 1,000 per runner: no
    // overflow, so the threshold on `__overflow__` counts 0 and fails (exit 99); every
    // other series merges to the one-machine counts.
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    assert!(!ok(&s, "http_reqs{n:__overflow__}", "count == 100"));
    assert_eq!(metric(&s, "http_reqs{n:__overflow__}", "count"), 0.0);
    for (key, cond) in [
        ("http_reqs{kind:list}", "count == 10"),
        ("http_reqs{kind:browse,name:product}", "count == 10"),
        ("http_reqs{parity:p0}", "count == 6"),
        ("http_reqs{parity:p1}", "count == 4"),
        ("http_reqs{group:custom}", "count == 10"),
        ("http_reqs{n:7}", "count == 1"),
        ("http_reqs{kind:list,team:checkout}", "count < list_max"),
    ] {
        assert!(ok(&s, key, cond), "`{key}: {cond}` failed: {s:#}");
    }
    assert_eq!(metric(&s, "http_reqs", "count"), 1130.0);
    assert_eq!(s["volley"]["runners"].as_array().map(Vec::len), Some(2));
    assert!(
        !s["volley"]["notes"].to_string().contains("__overflow__"),
        "{s:#}"
    );
}
