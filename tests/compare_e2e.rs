//! Regression gates end to end (issue 20): `volley compare` and `--baseline` against the
//! embedded demo shop, with `--demo-latency 20ms` standing for a slower build. One test,
//! its runs in sequence (runs in parallel would slow each other down), about 45 s:
//! a baseline, two more runs of the same build judged against it, the second as a fleet
//! of 2 whose coordinator judges (neither may be called
//! a regression, by the comparison or by the example's `med` threshold), and a run
//! 20 ms slower (both must catch it, exit 99). Then `volley compare` on the files, its
//! JSON, and the errors that must come before any load.

use crate::support::*;
use std::path::Path;
use std::time::Duration;

const FILE: &str = "examples/regression.load";
/// The example's threshold, and the one the test's copy gates with.
const GATE: &str = "med < baseline * 1.1 + 2ms";
const TEST_GATE: &str = "med < baseline * 1.1 + 8ms";
/// The tolerance the test judges with: a median slower by more than 50 % and 8 ms. The
/// effect to catch is 20 ms on endpoints of 2–6 ms; the noise to ride out is a shared
/// 2-core CI machine whose other tests start and stop during the runs. Measured there
/// (docs/compare.md), the same build's p(95) moved from 7.5 to 24.4 ms and its median from
/// 3.8 to 5.5 ms, and a CI run of the suite judging med and p(95) with 25 % and 3 ms called
/// the same build a regression once. So the test judges medians only, with margins
/// the 20 ms slowdown still clears twice over (its median was 25–29 ms).
const JUDGE: &[&str] = &[
    "--tolerance",
    "50%",
    "--min-change",
    "8ms",
    "--stats",
    "med",
];

/// The example with the test's margin: `+ 2ms` suits a quiet load generator, not a
/// CI machine running other tests beside this one.
fn test_copy(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo().join(FILE)).unwrap();
    assert!(
        text.contains(GATE),
        "the example's gate changed: update the test"
    );
    let copy = dir.join("regression.load");
    std::fs::write(&copy, text.replace(GATE, TEST_GATE)).unwrap();
    copy
}

/// `volley run FILE --demo ARGS --summary-json OUT`: exit code, output, summary.
fn run(dir: &Path, name: &str, args: &[&str]) -> (i32, String, serde_json::Value) {
    let sj = dir.join(name);
    let file = test_copy(dir);
    let mut all = vec![
        "run",
        file.to_str().unwrap(),
        "--demo",
        "-q",
        "--summary-json",
        sj.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let out = volley_in(dir, &all, Duration::from_secs(120));
    let s = if sj.exists() {
        summary(&sj)
    } else {
        serde_json::Value::Null
    };
    (out.status.code().unwrap_or(-1), text(&out), s)
}

fn regressions(s: &serde_json::Value) -> u64 {
    s["volley"]["comparison"]["regressions"].as_u64().unwrap()
}

#[test]
fn the_same_build_passes_the_gate_and_20ms_more_fails_it() {
    let dir = temp_dir("compare");
    let base = dir.join("base.json");

    // A file with `baseline` thresholds and no --baseline: refused before any load.
    let (code, out, _) = run(&dir, "none.json", &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("--baseline FILE") && !out.contains("demo shop on"),
        "{out}"
    );

    // The baseline, recorded with --no-baseline.
    let (code, out, s) = run(&dir, "base.json", &["--no-baseline"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("warning: --no-baseline"), "{out}");
    assert_eq!(s["volley"]["summary_version"], 2);
    let series = s["volley"]["detail"]["series"].as_array().unwrap();
    let products = series
        .iter()
        .find(|x| x["metric"] == "http_req_duration" && x["tags"]["name"] == "products")
        .expect("a series per request name");
    assert!(products["hist"].as_str().unwrap().starts_with("HISTF"));
    assert!(products["p95"].as_array().unwrap().len() >= 7);

    // Two more runs of the same build: no regression, the threshold passes.
    let mut baseline = vec!["--baseline", base.to_str().unwrap()];
    baseline.extend_from_slice(JUDGE);
    // The second as a fleet of 2: its coordinator fills in and judges the same way.
    for (name, fleet) in [("same1.json", false), ("same2.json", true)] {
        let mut args = baseline.clone();
        if fleet {
            args.extend_from_slice(&["--runners", "2"]);
        }
        let (code, out, s) = run(&dir, name, &args);
        assert!(
            out.contains("baseline: http_req_duration{name:products}"),
            "{out}"
        );
        assert_eq!(regressions(&s), 0, "a false alarm:\n{out}");
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("compared with the baseline"), "{out}");
    }

    // A build 20 ms slower: the comparison and the threshold both catch it.
    let mut slow = baseline.clone();
    slow.extend_from_slice(&["--demo-latency", "20ms"]);
    let (code, out, s) = run(&dir, "slow.json", &slow);
    assert_eq!(code, 99, "{out}");
    assert!(regressions(&s) >= 1, "{out}");
    assert_eq!(s["volley"]["verdict"], "thresholds_failed", "{out}");
    let key = "http_req_duration{name:products}";
    assert_eq!(s["metrics"][key]["thresholds"][TEST_GATE]["ok"], false);
    assert!(out.contains("REGRESSION"), "{out}");

    // Without the threshold the comparison alone fails the run: the verdict says so.
    // (`volley compare` on the files.)
    let cmp = |a: &str, b: &str, extra: &[&str]| {
        let mut args = vec![
            "compare".to_string(),
            dir.join(a).to_str().unwrap().to_string(),
            dir.join(b).to_str().unwrap().to_string(),
        ];
        args.extend(JUDGE.iter().map(|s| s.to_string()));
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        volley_in(&dir, &args, Duration::from_secs(30))
    };
    let same = cmp("base.json", "same1.json", &[]);
    assert_eq!(same.status.code(), Some(0), "{}", text(&same));
    assert!(text(&same).contains("no regression"), "{}", text(&same));
    let slower = cmp("base.json", "slow.json", &[]);
    assert_eq!(slower.status.code(), Some(99), "{}", text(&slower));
    let table = String::from_utf8_lossy(&slower.stdout).into_owned();
    let row = table
        .lines()
        .find(|l| {
            l.starts_with("http_req_duration ")
                && l.contains("name:products")
                && l.contains(" med ")
        })
        .unwrap_or_else(|| panic!("{table}"));
    assert!(row.contains("REGRESSION (p<"), "{table}");
    assert!(row.contains(", shift +"), "{table}");
    let json = cmp(
        "base.json",
        "slow.json",
        &["--json", "--metric", "http_req_duration"],
    );
    assert_eq!(json.status.code(), Some(99));
    let c: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let rows = c["rows"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["metric"] == "http_req_duration"));
    let med = rows
        .iter()
        .find(|r| r["tags"].is_null() && r["stat"] == "med")
        .unwrap();
    assert_eq!(med["verdict"], "regression");
    let shift = med["shift"][0].as_f64().unwrap();
    assert!(
        (12.0..40.0).contains(&shift),
        "shift {shift} ms, not about 20"
    );
    assert!(c["method"].as_str().unwrap().contains("Mann-Whitney"));
    // The other way round: an improvement, exit 0.
    let faster = cmp("slow.json", "base.json", &[]);
    assert_eq!(faster.status.code(), Some(0), "{}", text(&faster));
    assert!(text(&faster).contains("improvement"));

    // Files that are not summaries: exit 2, before anything.
    std::fs::write(dir.join("junk.json"), "{\"metrics\": 3}").unwrap();
    let bad = cmp("base.json", "junk.json", &[]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(
        text(&bad).contains("is not a Volley summary"),
        "{}",
        text(&bad)
    );
    let missing = cmp("base.json", "nowhere.json", &[]);
    assert_eq!(missing.status.code(), Some(2));

    // A baseline without the threshold's tag set: refused before any load, by name.
    let mut v = summary(&base);
    v["metrics"].as_object_mut().unwrap().remove(key);
    let series = v["volley"]["detail"]["series"].as_array_mut().unwrap();
    series.retain(|x| x["tags"]["name"] != "products");
    std::fs::write(dir.join("partial.json"), v.to_string()).unwrap();
    let partial = dir.join("partial.json");
    let (code, out, _) = run(&dir, "p.json", &["--baseline", partial.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains(&format!("has no `{key}`")), "{out}");
    assert!(
        !out.contains("demo shop on"),
        "refused before the run:\n{out}"
    );
}
