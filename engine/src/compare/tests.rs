//! The comparison on synthetic runs: a shift beyond the tolerance is a regression, the
//! same build is not (also over 400 simulated pairs), short and old summaries are not
//! judged, and `baseline` thresholds take their values from the baseline summary.

use super::detail::{Detail, SeriesDetail};
use super::*;
use crate::metrics::{Aggregate, Registry};
use crate::summary;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;
use volley_plan::plan::{BaselineRef, CmpOp, Condition, Threshold};

pub(crate) fn tiny_plan() -> Plan {
    let mut plan = crate::summary::tests::plan(Vec::new());
    plan.name = "shop".into();
    plan
}

/// A summary whose `http_req_duration` has `n` intervals of p95 `level + noise`, the
/// noise uniform in ±`noise` ms, and `checks` at `checks` per interval.
fn run(seed: u64, n: usize, level: f64, noise: f64, checks: f64) -> Summary {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut vals = |lvl: f64| -> Vec<Option<f64>> {
        (0..n)
            .map(|_| Some(lvl + rng.gen_range(-noise..=noise)))
            .collect()
    };
    let p95 = vals(level);
    let med = vals(level / 2.0);
    let trend = SeriesDetail {
        metric: "http_req_duration".into(),
        tags: BTreeMap::new(),
        kind: MetricKind::Trend,
        contains: Contains::Time,
        hist: None,
        count: vec![Some(500.0); n],
        avg: Vec::new(),
        med,
        p90: Vec::new(),
        p95,
        p99: Vec::new(),
        rate: Vec::new(),
    };
    let rate = SeriesDetail {
        metric: "checks".into(),
        tags: BTreeMap::new(),
        kind: MetricKind::Rate,
        contains: Contains::Default,
        hist: None,
        count: vec![Some(500.0); n],
        avg: Vec::new(),
        med: Vec::new(),
        p90: Vec::new(),
        p95: Vec::new(),
        p99: Vec::new(),
        rate: vec![Some(checks); n],
    };
    let agg = Aggregate::new(Registry::new(&[]));
    let mut s = summary::build(&agg, &tiny_plan(), &[], Duration::from_secs(n as u64));
    // The whole run's values, as the summary lists them.
    s.metrics.insert(
        "http_req_duration".into(),
        summary::MetricSummary {
            kind: MetricKind::Trend,
            contains: Contains::Time,
            values: BTreeMap::from([
                ("med".to_string(), level / 2.0),
                ("p(95)".to_string(), level),
            ]),
            thresholds: BTreeMap::new(),
        },
    );
    s.volley.detail = Some(Detail {
        interval_ms: 1000,
        intervals: n,
        series: vec![trend, rate],
    });
    s
}

fn verdict(c: &Comparison, metric: &str, stat: &str) -> RowVerdict {
    c.rows
        .iter()
        .find(|r| r.metric == metric && r.stat == stat)
        .map(|r| r.verdict)
        .unwrap()
}

#[test]
fn twenty_ms_more_is_a_regression_and_the_same_build_is_not() {
    let opts = Options::default();
    let base = run(1, 10, 8.0, 1.5, 1.0);
    let same = run(2, 10, 8.0, 1.5, 1.0);
    let slow = run(3, 10, 28.0, 1.5, 1.0);
    let c = compare(&base, &same, &opts);
    assert_eq!(c.regressions, 0, "{}", render_table(&c));
    assert_eq!(
        verdict(&c, "http_req_duration", "p(95)"),
        RowVerdict::Unchanged
    );
    let c = compare(&base, &slow, &opts);
    assert_eq!(
        verdict(&c, "http_req_duration", "p(95)"),
        RowVerdict::Regression
    );
    assert_eq!(
        verdict(&c, "http_req_duration", "med"),
        RowVerdict::Regression
    );
    let row = c.rows.iter().find(|r| r.stat == "p(95)").unwrap();
    let shift = row.shift.unwrap();
    assert!(
        (shift[0] - 20.0).abs() < 2.0 && shift[1] <= 20.0 + 2.0,
        "{shift:?}"
    );
    assert!(row.p_value.unwrap() < 0.001);
    // The other way round it is an improvement.
    let c = compare(&slow, &base, &opts);
    assert_eq!(
        verdict(&c, "http_req_duration", "p(95)"),
        RowVerdict::Improvement
    );
    assert_eq!(c.regressions, 0);
    let table = render_table(&compare(&base, &slow, &opts));
    assert!(table.contains("REGRESSION (p<0.001, shift +"), "{table}");
}

#[test]
fn a_real_but_small_shift_is_within_the_tolerance() {
    // 5 % slower in every interval: significant, but under the 10 % tolerance.
    let opts = Options::default();
    let base = run(1, 30, 20.0, 0.2, 1.0);
    let slower = run(1, 30, 21.0, 0.2, 1.0);
    let c = compare(&base, &slower, &opts);
    assert_eq!(
        verdict(&c, "http_req_duration", "p(95)"),
        RowVerdict::Unchanged
    );
    // With a 2 % tolerance and no floor it is a regression.
    let strict = Options {
        tolerance: 0.02,
        min_change_ms: 0.0,
        ..Options::default()
    };
    let c = compare(&base, &slower, &strict);
    assert_eq!(
        verdict(&c, "http_req_duration", "p(95)"),
        RowVerdict::Regression
    );
}

#[test]
fn fewer_checks_passing_is_a_regression_of_checks() {
    let base = run(1, 10, 8.0, 1.0, 1.0);
    let worse = run(1, 10, 8.0, 1.0, 0.8);
    let c = compare(&base, &worse, &Options::default());
    assert_eq!(verdict(&c, "checks", "rate"), RowVerdict::Regression);
}

#[test]
fn short_runs_and_old_summaries_are_not_judged() {
    let base = run(1, 3, 8.0, 1.0, 1.0);
    let slow = run(1, 3, 80.0, 1.0, 1.0);
    let c = compare(&base, &slow, &Options::default());
    assert_eq!(
        verdict(&c, "http_req_duration", "p(95)"),
        RowVerdict::TooShort
    );
    assert_eq!(c.regressions, 0);
    let mut old = run(1, 10, 8.0, 1.0, 1.0);
    old.volley.detail = None;
    old.volley.summary_version = 1;
    let c = compare(&old, &run(2, 10, 80.0, 1.0, 1.0), &Options::default());
    assert_eq!(
        verdict(&c, "http_req_duration", "p(95)"),
        RowVerdict::Missing
    );
    assert!(c.notes.iter().any(|n| n.contains("no per-interval detail")));
}

#[test]
fn the_false_alarm_rate_on_noisy_runs_of_one_build_stays_under_alpha() {
    // 400 pairs of runs of the same build with heavy per-interval noise.
    let opts = Options {
        tolerance: 0.0,
        min_change_ms: 0.0,
        ..Options::default()
    };
    let alarms = (0..400u64)
        .filter(|i| {
            let c = compare(
                &run(2 * i, 10, 8.0, 3.0, 1.0),
                &run(2 * i + 1, 10, 8.0, 3.0, 1.0),
                &opts,
            );
            verdict(&c, "http_req_duration", "p(95)") == RowVerdict::Regression
        })
        .count();
    // alpha = 1 %: about 4 expected; well under 12 unless the test is wrong.
    assert!(alarms <= 12, "{alarms} false alarms in 400");
}

#[test]
fn a_summary_round_trips_with_its_detail() {
    let s = run(1, 10, 8.0, 1.0, 1.0);
    let back: Summary = serde_json::from_str(&s.to_json()).unwrap();
    assert_eq!(back, s);
    assert_eq!(back.volley.summary_version, summary::SUMMARY_VERSION);
    // A summary written before `detail` existed reads as format 1.
    let mut v: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
    let volley = v["volley"].as_object_mut().unwrap();
    volley.remove("detail");
    volley.remove("summary_version");
    let old: Summary = serde_json::from_value(v).unwrap();
    assert_eq!((old.volley.summary_version, old.volley.detail), (1, None));
}

fn baseline_plan(agg: Aggregation, p: Option<f64>, factor: f64, offset: f64) -> Plan {
    let mut plan = tiny_plan();
    plan.thresholds.push(Threshold {
        metric: "http_req_duration".into(),
        tags: BTreeMap::new(),
        conditions: vec![Condition {
            aggregation: agg,
            percentile: p,
            op: CmpOp::Lt,
            value: 0.0,
            source: "p(95) < baseline * 1.1".into(),
            baseline: Some(BaselineRef {
                factor,
                offset,
                base: None,
            }),
        }],
        abort_on_fail: false,
        delay_abort_eval_ms: 0,
    });
    plan
}

#[test]
fn baseline_thresholds_take_the_baseline_value() {
    let mut base = run(1, 10, 8.0, 1.0, 1.0);
    let mut m = summary::MetricSummary {
        kind: MetricKind::Trend,
        contains: Contains::Time,
        values: BTreeMap::from([("p(95)".to_string(), 10.0)]),
        thresholds: BTreeMap::new(),
    };
    base.metrics.insert("http_req_duration".into(), m.clone());
    let mut plan = baseline_plan(Aggregation::P, Some(95.0), 1.1, 2.0);
    assert!(needs_baseline(&plan));
    assert_eq!(
        unresolved(&plan),
        ["http_req_duration: p(95) < baseline * 1.1"]
    );
    // Not filled in, it fails whatever the data (the engine's guard).
    let agg = Aggregate::new(Registry::new(&[]));
    let r = crate::thresholds::evaluate(&plan.thresholds, &agg, crate::thresholds::Phase::End);
    assert!(!r[0].passed);
    let lines = resolve_baseline(&mut plan, &base).unwrap();
    assert!(unresolved(&plan).is_empty());
    assert!((plan.thresholds[0].conditions[0].value - 13.0).abs() < 1e-9);
    assert_eq!(lines.len(), 1);
    // p(97) is not in the values and there is no histogram: a clear error.
    let mut plan = baseline_plan(Aggregation::P, Some(97.0), 1.1, 0.0);
    let e = resolve_baseline(&mut plan, &base).unwrap_err();
    assert!(e[0].contains("no `p(97)` of `http_req_duration`"), "{e:?}");
    // With a histogram it is computed from it.
    let mut h = crate::metrics::hist::new_hist();
    for i in 1..=100u64 {
        crate::metrics::hist::record_units(&mut h, i * 1000);
    }
    if let Some(d) = base.volley.detail.as_mut() {
        d.series[0].hist = detail::encode_hist(&h);
    }
    resolve_baseline(&mut plan, &base).unwrap();
    let v = plan.thresholds[0].conditions[0].value;
    assert!((v - 97.0 * 1.1).abs() < 0.2, "{v}");
    // A tag set the baseline never measured.
    let mut plan = baseline_plan(Aggregation::P, Some(95.0), 1.1, 0.0);
    plan.thresholds[0].tags = BTreeMap::from([("name".to_string(), "cart".to_string())]);
    let e = resolve_baseline(&mut plan, &base).unwrap_err();
    assert!(
        e[0].contains("has no `http_req_duration{name:cart}`"),
        "{e:?}"
    );
    // A baseline whose metric had no sample.
    m.thresholds.insert(
        "p(95) < 1s".into(),
        summary::ThresholdOk {
            ok: false,
            no_data: true,
        },
    );
    base.metrics.insert("http_req_duration".into(), m);
    let mut plan = baseline_plan(Aggregation::P, Some(95.0), 1.1, 0.0);
    let e = resolve_baseline(&mut plan, &base).unwrap_err();
    assert!(e[0].contains("had no sample"), "{e:?}");
}
