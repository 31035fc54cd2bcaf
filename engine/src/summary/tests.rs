//! Tests of the summary: JSON shape, verdicts, text rendering, units, file output.

use super::*;
use crate::metrics::{ids, Registry, Shard, Tags};
use crate::thresholds::{evaluate, Phase};
use std::sync::Arc;
use volley_plan::plan::{CmpOp, Condition, Fleet, Threshold};

fn cond(
    aggregation: Aggregation,
    percentile: Option<f64>,
    op: CmpOp,
    value: f64,
    source: &str,
) -> Condition {
    Condition {
        aggregation,
        percentile,
        op,
        value,
        source: source.into(),
        baseline: None,
    }
}

/// A plan with no scenario and these thresholds (also the compare tests' plan).
pub(crate) fn plan(thresholds: Vec<Threshold>) -> Plan {
    Plan {
        version: volley_plan::PLAN_VERSION,
        name: "checkout".into(),
        params: BTreeMap::new(),
        targets: Vec::new(),
        secrets: Vec::new(),
        data: Vec::new(),
        metrics: Vec::new(),
        flows: Vec::new(),
        setup: None,
        setup_values: Vec::new(),
        teardown: None,
        scenarios: Vec::new(),
        thresholds,
        fleet: Fleet::default(),
        files: Vec::new(),
        protos: Vec::new(),
    }
}

fn thresholds() -> Vec<Threshold> {
    let browse: BTreeMap<String, String> = [("group".to_string(), "browse".to_string())].into();
    vec![
        Threshold {
            metric: "http_req_duration".into(),
            tags: BTreeMap::new(),
            conditions: vec![cond(
                Aggregation::P,
                Some(95.0),
                CmpOp::Lt,
                400.0,
                "p(95) < 400ms",
            )],
            abort_on_fail: false,
            delay_abort_eval_ms: 0,
        },
        Threshold {
            metric: "http_req_duration".into(),
            tags: browse,
            conditions: vec![cond(
                Aggregation::P,
                Some(99.9),
                CmpOp::Lt,
                5.0,
                "p(99.9) < 5ms",
            )],
            abort_on_fail: false,
            delay_abort_eval_ms: 0,
        },
        Threshold {
            metric: "http_req_failed".into(),
            tags: BTreeMap::new(),
            conditions: vec![cond(Aggregation::Rate, None, CmpOp::Lt, 0.01, "rate < 1%")],
            abort_on_fail: false,
            delay_abort_eval_ms: 0,
        },
    ]
}

/// 10 requests in `browse` (20ms, checked ok), 10 at the root (200ms, `cart 201` 9/10),
/// 1 failed; 50 kB sent each; vus 7; 10 s.
fn summary() -> Summary {
    let reg = Registry::new(&[]);
    let mut s = Shard::new(Arc::clone(&reg));
    let browse = Tags {
        group: Some(Arc::from("browse")),
        ..Tags::default()
    };
    let root = Tags::default();
    for i in 0..10 {
        for (t, ms) in [(&browse, 20.0), (&root, 200.0)] {
            s.trend(ids::HTTP_REQ_DURATION, t, ms);
            s.count(ids::HTTP_REQS, t, 1.0);
            s.count(ids::DATA_SENT, t, 50_000.0);
            s.rate(ids::HTTP_REQ_FAILED, t, std::ptr::eq(t, &root) && i == 0);
        }
        let ok = Tags {
            check: Some(Arc::from("ok")),
            ..browse.clone()
        };
        s.rate(ids::CHECKS, &ok, true);
        let cart = Tags {
            check: Some(Arc::from("cart 201")),
            ..root.clone()
        };
        s.rate(ids::CHECKS, &cart, i != 0);
    }
    s.gauge(ids::VUS, &root, 7.0);
    let mut agg = Aggregate::new(reg);
    agg.merge(&s.take());
    agg.set_elapsed(Duration::from_secs(10));
    let p = plan(thresholds());
    let results = evaluate(&p.thresholds, &agg, Phase::End);
    build(&agg, &p, &results, Duration::from_secs(10))
}

#[test]
fn json_shape() {
    let s = summary();
    let j = serde_json::to_value(&s).expect("json");
    let keys = |v: &serde_json::Value| -> Vec<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(keys(&j), ["metrics", "root_group", "state", "volley"]);
    let d = &j["metrics"]["http_req_duration"];
    assert_eq!(d["type"], "trend");
    assert_eq!(d["contains"], "time");
    let mut want = vec!["avg", "max", "med", "min", "p(90)", "p(95)", "p(99)"];
    assert_eq!(keys(&d["values"]), want);
    assert_eq!(d["values"]["min"], 20.0);
    assert_eq!(d["values"]["max"], 200.0);
    assert_eq!(d["values"]["avg"], 110.0);
    assert_eq!(d["thresholds"]["p(95) < 400ms"]["ok"], true);
    let sub = &j["metrics"]["http_req_duration{group:browse}"];
    want.push("p(99.9)");
    assert_eq!(keys(&sub["values"]), want);
    assert_eq!(sub["values"]["max"], 20.0);
    assert_eq!(sub["thresholds"]["p(99.9) < 5ms"]["ok"], false);
    let reqs = &j["metrics"]["http_reqs"];
    assert_eq!(
        (reqs["type"].clone(), keys(&reqs["values"])),
        ("counter".into(), vec!["count".to_string(), "rate".into()])
    );
    assert_eq!(
        (
            reqs["values"]["count"].clone(),
            reqs["values"]["rate"].clone()
        ),
        (20.0.into(), 2.0.into())
    );
    assert!(reqs.get("thresholds").is_none());
    let checks = &j["metrics"]["checks"];
    assert_eq!(keys(&checks["values"]), ["fails", "passes", "rate"]);
    assert_eq!(checks["values"]["fails"], 1.0);
    assert_eq!(j["metrics"]["data_sent"]["contains"], "data");
    assert_eq!(
        keys(&j["metrics"]["vus"]["values"]),
        ["max", "min", "value"]
    );
    assert_eq!(
        j["metrics"]["http_req_failed"]["thresholds"]["rate < 1%"]["ok"],
        false
    );
    assert!(
        j["metrics"].get("iteration_duration").is_none(),
        "no samples, no threshold"
    );

    let rg = &j["root_group"];
    assert_eq!(keys(rg), ["name", "path", "checks", "groups"]);
    assert_eq!(rg["path"], "");
    assert_eq!(rg["checks"][0]["name"], "cart 201");
    assert_eq!(rg["checks"][0]["path"], "::cart 201");
    assert_eq!(
        (
            rg["checks"][0]["passes"].clone(),
            rg["checks"][0]["fails"].clone()
        ),
        (9.into(), 1.into())
    );
    assert_eq!(rg["groups"][0]["name"], "browse");
    assert_eq!(rg["groups"][0]["path"], "::browse");
    assert_eq!(rg["groups"][0]["checks"][0]["path"], "::browse::ok");
    assert_eq!(keys(&j["state"]), ["testRunDurationMs", "isStdOutTTY"]);
    assert_eq!(j["state"]["testRunDurationMs"], 10_000.0);
    assert_eq!(
        keys(&j["volley"]),
        [
            "test",
            "exit_code",
            "verdict",
            "runners",
            "start_skew_ms",
            "runners_lost",
            "summary_version"
        ]
    );
    assert_eq!(j["volley"]["verdict"], "thresholds_failed");
    assert_eq!(j["volley"]["exit_code"], 99);
    assert!(j["volley"]["start_skew_ms"].is_null());

    // Helpers and round trip.
    assert_eq!(s.value("http_reqs", "count"), Some(20.0));
    assert_eq!(s.check("cart 201"), (9, 1));
    assert_eq!(s.threshold_counts(), (1, 3));
    let back: Summary = serde_json::from_str(&s.to_json()).expect("parse");
    assert_eq!(back, s);
}

#[test]
fn verdicts_and_exit_codes() {
    let mut s = summary();
    for (v, code, text) in [
        (Verdict::Passed, 0, "passed"),
        (Verdict::ThresholdsFailed, 99, "thresholds_failed"),
        (Verdict::Aborted, 105, "aborted"),
        (Verdict::AbortedByThreshold, 108, "aborted_by_threshold"),
        (Verdict::RunnersLost, 110, "runners_lost"),
    ] {
        s.set_verdict(v);
        assert_eq!(s.exit_code().code(), code);
        assert_eq!(serde_json::to_value(v).expect("json"), text);
    }
    // No threshold failing: passed.
    let reg = Registry::new(&[]);
    let agg = Aggregate::new(reg);
    let p = plan(Vec::new());
    let ok = build(&agg, &p, &[], Duration::from_secs(1));
    assert_eq!(
        (ok.volley.verdict, ok.exit_code().code()),
        (Verdict::Passed, 0)
    );
    assert!(ok.metrics.is_empty());
    assert!(render_text(&ok, false).contains("passed: no thresholds (exit code 0)"));
    // An exit code no verdict has (setup failed) is not shown as passed.
    let mut failed = ok.clone();
    failed.volley.exit_code = volley_plan::ExitCode::SetupFailed;
    let t = render_text(&failed, false);
    assert!(
        t.contains("✗ setup failed: no thresholds (exit code 107)"),
        "{t}"
    );
}

#[test]
fn text_rendering() {
    let s = summary();
    let t = render_text(&s, false);
    assert!(t.contains("✓ ok"), "{t}");
    assert!(t.contains("✗ cart 201"), "{t}");
    assert!(t.contains("↳  90% — ✓ 9 / ✗ 1"), "{t}");
    assert!(t.contains("█ browse"), "{t}");
    let line = |name: &str| {
        t.lines()
            .find(|l| l.contains(&format!("{name}.")))
            .unwrap_or_else(|| panic!("no {name} line in\n{t}"))
            .to_string()
    };
    let d = line("http_req_duration");
    assert!(d.trim_start().starts_with("✓ http_req_duration..."), "{d}");
    assert!(
        d.contains("avg=110ms min=20ms") && d.contains("max=200ms") && d.contains("p(95)="),
        "{d}"
    );
    let sub = line("{ group:browse }");
    assert!(sub.trim_start().starts_with("✗"), "{sub}");
    assert!(sub.contains("p(99.9)=20"), "{sub}");
    let checks = line("checks");
    assert!(
        checks.contains("95.00%") && checks.contains("✓ 19") && checks.contains("✗ 1"),
        "{checks}"
    );
    assert!(line("http_req_failed").contains("5.00%"));
    let reqs = line("http_reqs");
    assert!(reqs.contains("20") && reqs.contains("2/s"), "{reqs}");
    let sent = line("data_sent");
    assert!(sent.contains("1 MB") && sent.contains("100 kB/s"), "{sent}");
    assert!(line("vus").contains("7"));
    assert!(
        t.contains("✓ p(95) < 400ms") && t.contains("✗ rate < 1%"),
        "{t}"
    );
    // Columns line up: every metric's ':' at the same place.
    let cols: BTreeSet<usize> = t
        .lines()
        .filter(|l| l.contains("...:"))
        .filter_map(|l| l.find("...:").map(|i| l[..i].chars().count()))
        .collect();
    assert_eq!(cols.len(), 1, "{t}");
    assert!(
        t.contains("✗ thresholds failed: 2 of 3 thresholds failed (exit code 99)"),
        "{t}"
    );
    assert!(!t.contains("start skew"));
    println!("{t}");
    let c = render_text(&s, true);
    assert!(c.contains("\x1b[32m✓\x1b[0m") && c.contains("\x1b[31m✗\x1b[0m"));
    let mut fleet = s.clone();
    fleet.volley.start_skew_ms = Some(12.5);
    fleet.volley.runners_lost = 1;
    fleet.volley.runners = vec![
        RunnerSummary {
            index: 0,
            http_reqs: 30.0,
            iterations: 10.0,
            share: 0.75,
            start_offset_ms: Some(0.04),
            first_request_offset_ms: Some(0.5),
            ..Default::default()
        },
        RunnerSummary {
            index: 1,
            lost: true,
            state: RunnerOutcome::Lost,
            http_reqs: 10.0,
            iterations: 3.0,
            share: 0.25,
            start_offset_ms: Some(12.5),
            first_request_offset_ms: Some(262.5),
            reason: Some("heartbeat".into()),
        },
    ];
    let f = render_text(&fleet, false);
    assert!(
        f.contains("fleet start skew: 12.5ms") && f.contains("2 runners (1 lost)"),
        "{f}"
    );
    let rows: Vec<&str> = f.lines().filter(|l| l.starts_with("       ")).collect();
    assert!(
        rows.iter()
            .any(|l| l.trim_start().starts_with("runner  state")),
        "{f}"
    );
    assert!(
        rows.iter().any(|l| l.split_whitespace().collect::<Vec<_>>()
            == [
                "1",
                "lost",
                "(heartbeat)",
                "10",
                "3",
                "25%",
                "+12.5ms",
                "+262.5ms"
            ]),
        "{f}"
    );
    let mut one = fleet.clone();
    one.volley.runners.truncate(1);
    one.volley.runners_lost = 0;
    assert!(render_text(&one, false).contains("1 runner (0 lost)"));
}

#[test]
fn human_units() {
    assert_eq!(fmt_duration(0.0), "0s");
    assert_eq!(fmt_duration(0.25), "250µs");
    assert_eq!(fmt_duration(12.345), "12.35ms");
    assert_eq!(fmt_duration(10.0), "10ms");
    assert_eq!(fmt_duration(1500.0), "1.5s");
    assert_eq!(fmt_duration(123_400.0), "2m3.4s");
    assert_eq!(fmt_duration(3_723_000.0), "1h2m3s");
    assert_eq!(fmt_bytes(512.0), "512 B");
    assert_eq!(fmt_bytes(1234.0), "1.2 kB");
    assert_eq!(fmt_bytes(3_400_000.0), "3.4 MB");
    assert_eq!(fmt_num(3.0), "3");
    assert_eq!(fmt_num(-0.0), "0");
    assert_eq!(fmt_num(2.345), "2.35");
    assert_eq!(percentile_key(95.0), "p(95)");
    assert_eq!(percentile_key(99.9), "p(99.9)");
}

#[test]
fn writes_json_file() {
    let s = summary();
    let path = std::env::temp_dir().join(format!("volley-summary-{}.json", std::process::id()));
    write_json(&s, &path).expect("write");
    let text = std::fs::read_to_string(&path).expect("read");
    let _ = std::fs::remove_file(&path);
    let back: Summary = serde_json::from_str(&text).expect("parse");
    assert_eq!(back, s);
    assert!(write_json(&s, Path::new("/nonexistent-dir/x/summary.json")).is_err());
}

#[test]
fn a_run_that_never_started_is_one_line_without_verdicts() {
    let mut p = plan(thresholds());
    p.name = "shop".into();
    let s = not_started(
        &p,
        "secret token: environment variable SHOP_TOKEN is not set",
    );
    assert_eq!(
        (s.volley.verdict, s.exit_code().code()),
        (Verdict::NotStarted, 104)
    );
    let j = serde_json::to_value(&s).expect("json");
    assert_eq!(j["volley"]["verdict"], "not_started");
    assert!(j["metrics"].as_object().is_some_and(|m| m.is_empty()));
    let t = render_text(&s, false);
    assert_eq!(
        t.trim(),
        "✗ the run did not start: secret token: environment variable SHOP_TOKEN is not set (exit code 104)"
    );
}

#[test]
fn a_threshold_without_data_fails_as_no_data_and_grammar_counts() {
    let reg = Registry::new(&[]);
    let mut agg = Aggregate::new(reg);
    agg.set_elapsed(Duration::from_secs(1));
    // The first of the shared thresholds: `http_req_duration: p(95) < 400ms`.
    let p = plan(thresholds().into_iter().take(1).collect());
    let results = evaluate(&p.thresholds, &agg, Phase::End);
    let s = build(&agg, &p, &results, Duration::from_secs(1));
    assert_eq!(s.exit_code().code(), 99);
    let t = &s.metrics["http_req_duration"].thresholds["p(95) < 400ms"];
    assert!(!t.ok && t.no_data);
    let text = render_text(&s, false);
    assert!(text.contains("✗ p(95) < 400ms (no data)"), "{text}");
    assert!(text.contains(": (no data)"), "{text}");
    assert!(!text.contains("avg="), "no made-up zeros: {text}");
    assert!(text.contains("1 of 1 threshold failed"), "{text}");
    // One threshold that passed reads in the singular too.
    let mut ok = s.clone();
    if let Some(m) = ok.metrics.get_mut("http_req_duration") {
        for t in m.thresholds.values_mut() {
            *t = ThresholdOk {
                ok: true,
                no_data: false,
            };
        }
    }
    ok.set_verdict(Verdict::Passed);
    let text = render_text(&ok, false);
    assert!(
        text.contains("passed: the threshold passed (exit code 0)"),
        "{text}"
    );
}

#[test]
fn an_open_model_explains_its_latency_in_the_legend() {
    let reg = Registry::new(&[]);
    let agg = Aggregate::new(reg);
    let mut p = plan(Vec::new());
    assert!(build(&agg, &p, &[], Duration::from_secs(1))
        .volley
        .notes
        .is_empty());
    p.scenarios.push(volley_plan::Scenario {
        name: "open".into(),
        workload: volley_plan::Workload::ConstantArrivalRate {
            rate: 10.0,
            duration_ms: 1000,
            pre_allocated_vus: 1,
            max_vus: 2,
        },
        start: volley_plan::Start::Immediately,
        graceful_stop_ms: 0,
        tags: BTreeMap::new(),
        http: Default::default(),
        frame_size: 0,
        init: vec![],
        iteration: vec![],
    });
    let s = build(&agg, &p, &[], Duration::from_secs(1));
    let t = render_text(&s, false);
    assert!(
        t.contains("note: open model: an iteration's first http_req_duration counts from when the iteration was due"),
        "{t}"
    );
}
