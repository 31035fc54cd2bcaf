//! Threshold verdicts: evaluates the plan's thresholds on the merged metrics (every 2 s
//! during the run and once at the end) and decides whether a failing `abort_on_fail`
//! threshold stops the run. Values compare in the plan's normalised units: milliseconds
//! for time trends, fractions for rates (`1%` is `0.01`), per second for a counter's
//! `rate`.
//!
//! Metrics with no samples (k6's behaviour, made explicit):
//! - during the run ([`Phase::Running`]) a threshold whose (sub)metric has no sample yet
//!   passes, so nothing aborts before there is data;
//! - at the end ([`Phase::End`]) a trend, rate or gauge with no sample **fails** with
//!   `no_data` set (the summary shows `(no data)`): a threshold nothing was measured for
//!   is not a pass. k6 passes it (it skips metrics without samples, grafana/k6#1346,
//!   #4283); Volley does not, so a scenario that never ran cannot turn a gate green. A
//!   counter with no sample is evaluated as 0 (so `dropped_iterations: count == 0`
//!   passes and `http_reqs: count > 100` fails);
//! - a threshold on a metric the run does not know fails at the end (the compiler
//!   rejects those; this is a guard), and so does an aggregation that does not apply to
//!   the metric's kind (`p(95)` on a counter).
//!
//! This module must not merge metrics nor print.

use crate::metrics::{Aggregate, MetricView};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;
use volley_plan::plan::{Condition, MetricKind, Threshold};

/// When an evaluation happens: it decides how metrics without samples are judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Running,
    End,
}

/// One condition's verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConditionResult {
    /// The condition as written (`p(95) < 400ms`).
    pub source: String,
    /// The value compared (ms, fraction, per second…); `None` when there was nothing to
    /// compare.
    pub observed: Option<f64>,
    pub passed: bool,
    /// The (sub)metric had no sample at the end: failed for want of data.
    pub no_data: bool,
}

/// One threshold's verdict: passed when every condition passed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ThresholdResult {
    /// Index in `Plan::thresholds`.
    pub index: usize,
    pub metric: String,
    /// The submetric's tag filter (empty: the whole metric).
    pub tags: BTreeMap<String, String>,
    pub conditions: Vec<ConditionResult>,
    pub passed: bool,
    pub abort_on_fail: bool,
    pub delay_abort_eval_ms: u64,
}

impl ThresholdResult {
    /// The (sub)metric's name as the summary shows it: `http_req_duration{group:browse}`.
    pub fn key(&self) -> String {
        submetric_key(&self.metric, &self.tags)
    }
}

/// `metric{k:v,k2:v2}` (keys sorted), or just `metric` without tags.
pub fn submetric_key(metric: &str, tags: &BTreeMap<String, String>) -> String {
    if tags.is_empty() {
        return metric.to_string();
    }
    let inner: Vec<String> = tags.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    format!("{metric}{{{}}}", inner.join(","))
}

/// Evaluates every threshold on `agg` (whose elapsed time must be current, for counter
/// rates).
pub fn evaluate(thresholds: &[Threshold], agg: &Aggregate, phase: Phase) -> Vec<ThresholdResult> {
    thresholds
        .iter()
        .enumerate()
        .map(|(index, t)| {
            let view = agg.view(&t.metric, &t.tags);
            let conditions: Vec<ConditionResult> = t
                .conditions
                .iter()
                .map(|c| judge(c, view.as_ref(), phase))
                .collect();
            ThresholdResult {
                index,
                metric: t.metric.clone(),
                tags: t.tags.clone(),
                passed: conditions.iter().all(|c| c.passed),
                conditions,
                abort_on_fail: t.abort_on_fail,
                delay_abort_eval_ms: t.delay_abort_eval_ms,
            }
        })
        .collect()
}

fn judge(c: &Condition, view: Option<&MetricView>, phase: Phase) -> ConditionResult {
    let verdict = |observed: Option<f64>, passed: bool| ConditionResult {
        source: c.source.clone(),
        observed,
        passed,
        no_data: false,
    };
    // Written against `baseline` and never filled in (`--baseline`): nothing to judge
    // against, so it cannot pass.
    if c.baseline.is_some_and(|b| b.base.is_none()) {
        return verdict(None, false);
    }
    let Some(v) = view else {
        return verdict(None, phase == Phase::Running);
    };
    let counter = v.kind == MetricKind::Counter;
    if !v.has_samples() && !counter {
        if phase == Phase::Running {
            return verdict(None, true);
        }
        return ConditionResult {
            no_data: true,
            ..verdict(None, false)
        };
    }
    if !v.has_samples() && phase == Phase::Running {
        return verdict(None, true);
    }
    match v.aggregate(c.aggregation, c.percentile) {
        Some(x) => verdict(Some(x), c.op.holds(x, c.value)),
        None => verdict(None, false),
    }
}

/// Whether all thresholds passed.
pub fn all_passed(results: &[ThresholdResult]) -> bool {
    results.iter().all(|r| r.passed)
}

/// Whether a failed `abort_on_fail` threshold, past its `delay_abort_eval`, should stop
/// the run `elapsed` into it.
pub fn should_abort(results: &[ThresholdResult], elapsed: Duration) -> bool {
    results.iter().any(|r| {
        r.abort_on_fail && !r.passed && elapsed.as_millis() >= u128::from(r.delay_abort_eval_ms)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{ids, Registry, Shard, Tags};
    use std::sync::Arc;
    use volley_plan::plan::{Aggregation, CmpOp, MetricDef};

    fn cond(aggregation: Aggregation, percentile: Option<f64>, op: CmpOp, value: f64) -> Condition {
        Condition {
            aggregation,
            percentile,
            op,
            value,
            source: format!("{aggregation:?} {op:?} {value}"),
            baseline: None,
        }
    }

    fn th(metric: &str, tags: &[(&str, &str)], conditions: Vec<Condition>) -> Threshold {
        Threshold {
            metric: metric.into(),
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
            conditions,
            abort_on_fail: false,
            delay_abort_eval_ms: 0,
        }
    }

    /// 100 requests: 90 in group `browse` at 10ms (OK), 10 in `pay` at 100..=1000ms
    /// (the last 2 failed); 1000 bytes sent each; 10 s elapsed; vus gauge 5 then 3;
    /// a custom plain trend `cart` with 1, 2, 3.
    fn agg() -> Aggregate {
        let reg = Registry::new(&[
            MetricDef {
                name: "cart".into(),
                kind: MetricKind::Trend,
                is_time: false,
            },
            MetricDef {
                name: "orders".into(),
                kind: MetricKind::Counter,
                is_time: false,
            },
        ]);
        let mut s = Shard::new(Arc::clone(&reg));
        let browse = Tags {
            group: Some(Arc::from("browse")),
            ..Tags::default()
        };
        let pay = Tags {
            group: Some(Arc::from("pay")),
            ..Tags::default()
        };
        for _ in 0..90 {
            s.trend(ids::HTTP_REQ_DURATION, &browse, 10.0);
            s.count(ids::HTTP_REQS, &browse, 1.0);
            s.rate(ids::HTTP_REQ_FAILED, &browse, false);
            s.count(ids::DATA_SENT, &browse, 1000.0);
        }
        for i in 1..=10 {
            s.trend(ids::HTTP_REQ_DURATION, &pay, 100.0 * f64::from(i));
            s.count(ids::HTTP_REQS, &pay, 1.0);
            s.rate(ids::HTTP_REQ_FAILED, &pay, i > 8);
            s.count(ids::DATA_SENT, &pay, 1000.0);
        }
        s.gauge(ids::VUS, &Tags::default(), 5.0);
        s.gauge(ids::VUS, &Tags::default(), 3.0);
        let cart = reg.id("cart").expect("cart");
        for v in [1.0, 2.0, 3.0] {
            s.trend(cart, &Tags::default(), v);
        }
        let mut a = Aggregate::new(reg);
        a.merge(&s.take());
        a.set_elapsed(Duration::from_secs(10));
        a
    }

    fn one(t: Threshold, a: &Aggregate, phase: Phase) -> ThresholdResult {
        evaluate(&[t], a, phase).remove(0)
    }

    fn observed(t: Threshold, a: &Aggregate) -> (Option<f64>, bool) {
        let r = one(t, a, Phase::End);
        (r.conditions[0].observed, r.passed)
    }

    #[test]
    fn trend_aggregations_in_ms() {
        use Aggregation as A;
        let a = agg();
        let d = "http_req_duration";
        let avg = (90.0 * 10.0 + 5500.0) / 100.0;
        assert_eq!(
            observed(th(d, &[], vec![cond(A::Avg, None, CmpOp::Lt, 65.0)]), &a),
            (Some(avg), true)
        );
        assert_eq!(
            observed(th(d, &[], vec![cond(A::Min, None, CmpOp::Eq, 10.0)]), &a),
            (Some(10.0), true)
        );
        assert_eq!(
            observed(th(d, &[], vec![cond(A::Max, None, CmpOp::Le, 999.0)]), &a),
            (Some(1000.0), false)
        );
        // Percentiles are HDR's highest equivalent value (3 significant figures).
        let (med, ok) = observed(th(d, &[], vec![cond(A::Med, None, CmpOp::Lt, 10.0)]), &a);
        assert!(
            !ok && (10.0..=10.01).contains(&med.unwrap_or(0.0)),
            "{med:?}"
        );
        assert_eq!(
            observed(th(d, &[], vec![cond(A::Count, None, CmpOp::Ge, 100.0)]), &a),
            (Some(100.0), true)
        );
        // p(95): the 95th of 100 samples is the 5th pay request, 500ms (within 0.1%).
        let (p95, ok) = observed(
            th(d, &[], vec![cond(A::P, Some(95.0), CmpOp::Lt, 400.0)]),
            &a,
        );
        assert!(!ok);
        assert!((p95.unwrap_or(0.0) - 500.0).abs() <= 0.5, "{p95:?}");
        let (p90, ok) = observed(
            th(d, &[], vec![cond(A::P, Some(90.0), CmpOp::Lt, 400.0)]),
            &a,
        );
        assert!(
            ok && (10.0..=10.01).contains(&p90.unwrap_or(0.0)),
            "{p90:?}"
        );
        // A plain trend compares raw values.
        assert_eq!(
            observed(
                th("cart", &[], vec![cond(A::Max, None, CmpOp::Gt, 2.5)]),
                &a
            ),
            (Some(3.0), true)
        );
        assert_eq!(
            observed(
                th("cart", &[], vec![cond(A::Med, None, CmpOp::Eq, 2.0)]),
                &a
            ),
            (Some(2.0), true)
        );
    }

    #[test]
    fn submetric_filters() {
        use Aggregation as A;
        let a = agg();
        let d = "http_req_duration";
        let browse = th(
            d,
            &[("group", "browse")],
            vec![cond(A::P, Some(99.0), CmpOp::Lt, 800.0)],
        );
        let (p, ok) = observed(browse, &a);
        assert!(ok && (10.0..=10.01).contains(&p.unwrap_or(0.0)), "{p:?}");
        let pay = th(
            d,
            &[("group", "pay")],
            vec![cond(A::P, Some(99.0), CmpOp::Lt, 800.0)],
        );
        let (p, ok) = observed(pay, &a);
        assert!(!ok && p.unwrap_or(0.0) >= 999.0);
        let failed_pay = th(
            "http_req_failed",
            &[("group", "pay")],
            vec![cond(A::Rate, None, CmpOp::Lt, 0.1)],
        );
        assert_eq!(observed(failed_pay, &a), (Some(0.2), false));
        let r = one(th(d, &[("group", "pay")], vec![]), &a, Phase::End);
        assert_eq!(r.key(), "http_req_duration{group:pay}");
    }

    #[test]
    fn counter_rate_and_gauge_aggregations() {
        use Aggregation as A;
        let a = agg();
        // Rates are fractions: 2 of 100 failed is 0.02 (`rate < 1%` is `< 0.01`).
        let failed = th(
            "http_req_failed",
            &[],
            vec![cond(A::Rate, None, CmpOp::Lt, 0.01)],
        );
        assert_eq!(observed(failed, &a), (Some(0.02), false));
        let failed = th(
            "http_req_failed",
            &[],
            vec![cond(A::Rate, None, CmpOp::Le, 0.02)],
        );
        assert_eq!(observed(failed, &a), (Some(0.02), true));
        // Counters: count is the total, rate per second of elapsed.
        let reqs = th(
            "http_reqs",
            &[],
            vec![
                cond(A::Count, None, CmpOp::Eq, 100.0),
                cond(A::Rate, None, CmpOp::Gt, 9.5),
            ],
        );
        let r = one(reqs, &a, Phase::End);
        assert!(r.passed);
        assert_eq!(r.conditions[1].observed, Some(10.0));
        let sent = th(
            "data_sent",
            &[],
            vec![cond(A::Count, None, CmpOp::Gt, 100_000.0)],
        );
        assert_eq!(observed(sent, &a), (Some(100_000.0), false));
        let vus = th(
            "vus",
            &[],
            vec![
                cond(A::Value, None, CmpOp::Eq, 3.0),
                cond(A::Max, None, CmpOp::Eq, 5.0),
            ],
        );
        assert!(one(vus, &a, Phase::End).passed);
    }

    #[test]
    fn wrong_aggregation_fails_and_all_conditions_must_pass() {
        use Aggregation as A;
        let a = agg();
        let p_on_counter = th(
            "http_reqs",
            &[],
            vec![cond(A::P, Some(95.0), CmpOp::Lt, 1.0)],
        );
        assert_eq!(observed(p_on_counter, &a), (None, false));
        let mixed = th(
            "http_req_duration",
            &[],
            vec![
                cond(A::Min, None, CmpOp::Gt, 0.0),
                cond(A::Max, None, CmpOp::Lt, 1.0),
            ],
        );
        let r = one(mixed, &a, Phase::End);
        assert!(r.conditions[0].passed && !r.conditions[1].passed && !r.passed);
    }

    #[test]
    fn no_samples() {
        use Aggregation as A;
        let a = agg();
        let dropped = th(
            "dropped_iterations",
            &[],
            vec![cond(A::Count, None, CmpOp::Eq, 0.0)],
        );
        assert_eq!(observed(dropped, &a), (Some(0.0), true));
        let orders = th("orders", &[], vec![cond(A::Count, None, CmpOp::Gt, 0.0)]);
        assert_eq!(
            observed(orders.clone(), &a),
            (Some(0.0), false),
            "a counter is 0 at the end"
        );
        assert!(
            one(orders, &a, Phase::Running).passed,
            "but passes while running"
        );
        let none = th(
            "http_req_duration",
            &[("group", "nope")],
            vec![cond(A::P, Some(95.0), CmpOp::Lt, 1.0)],
        );
        assert_eq!(
            observed(none.clone(), &a),
            (None, false),
            "no data is not a pass at the end"
        );
        assert!(one(none.clone(), &a, Phase::End).conditions[0].no_data);
        assert!(one(none, &a, Phase::Running).passed);
        let iters = th(
            "iteration_duration",
            &[],
            vec![cond(A::Avg, None, CmpOp::Lt, 1.0)],
        );
        let r = one(iters, &a, Phase::End);
        assert!(!r.passed && r.conditions[0].no_data);
        let dropped = one(
            th(
                "dropped_iterations",
                &[],
                vec![cond(A::Count, None, CmpOp::Eq, 0.0)],
            ),
            &a,
            Phase::End,
        );
        assert!(!dropped.conditions[0].no_data, "a counter reads 0");
        let unknown = th("nope", &[], vec![cond(A::Count, None, CmpOp::Lt, 1.0)]);
        assert!(one(unknown.clone(), &a, Phase::Running).passed);
        assert!(!one(unknown, &a, Phase::End).passed);
    }

    #[test]
    fn abort_respects_flag_and_delay() {
        use Aggregation as A;
        let a = agg();
        let mut t = th(
            "http_req_duration",
            &[],
            vec![cond(A::Max, None, CmpOp::Lt, 1.0)],
        );
        let r = evaluate(std::slice::from_ref(&t), &a, Phase::Running);
        assert!(!all_passed(&r));
        assert!(
            !should_abort(&r, Duration::from_secs(60)),
            "not abort_on_fail"
        );
        t.abort_on_fail = true;
        t.delay_abort_eval_ms = 10_000;
        let r = evaluate(std::slice::from_ref(&t), &a, Phase::Running);
        assert!(!should_abort(&r, Duration::from_secs(9)));
        assert!(should_abort(&r, Duration::from_secs(10)));
        t.conditions[0].value = 2000.0;
        let r = evaluate(&[t], &a, Phase::Running);
        assert!(all_passed(&r) && !should_abort(&r, Duration::from_secs(60)));
    }
}
