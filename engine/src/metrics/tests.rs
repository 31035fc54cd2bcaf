//! Unit tests of the metrics pipe: shard → snapshot (JSON) → aggregate → views.

use super::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use volley_plan::plan::{Aggregation, MetricDef, MetricKind};

fn reg() -> Arc<Registry> {
    Registry::new(&[
        MetricDef {
            name: "checkout_duration".into(),
            kind: MetricKind::Trend,
            is_time: true,
        },
        MetricDef {
            name: "cart_size".into(),
            kind: MetricKind::Trend,
            is_time: false,
        },
        MetricDef {
            name: "queue".into(),
            kind: MetricKind::Gauge,
            is_time: false,
        },
    ])
}

fn tags(scenario: &str, group: Option<&str>, status: u16) -> Tags {
    Tags {
        scenario: Some(Arc::from(scenario)),
        group: group.map(Arc::from),
        name: Some(Arc::from("/api/products")),
        method: Some(Arc::from("GET")),
        status: Some(status),
        expected_response: Some(status < 400),
        ..Tags::default()
    }
}

fn filter(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

/// A deterministic spread of latencies in ms (0.05 .. ~2000).
fn latencies(n: usize, seed: u64) -> Vec<f64> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            0.05 + 2000.0 * u * u * u
        })
        .collect()
}

#[test]
fn registry_has_builtins_at_fixed_ids_then_custom() {
    let r = reg();
    assert_eq!(r.len(), BUILTINS.len() + 3);
    assert_eq!(r.id("http_reqs"), Some(ids::HTTP_REQS));
    assert_eq!(r.id("group_duration"), Some(ids::GROUP_DURATION));
    assert_eq!(r.id("data_received"), Some(ids::DATA_RECEIVED));
    let d = r
        .def(ids::HTTP_REQ_WAITING)
        .map(|d| (d.name.as_str(), d.kind, d.is_time()));
    assert_eq!(d, Some(("http_req_waiting", MetricKind::Trend, true)));
    assert_eq!(
        r.def(ids::DATA_SENT).map(|d| d.contains),
        Some(Contains::Data)
    );
    assert_eq!(r.custom(0), r.id("checkout_duration"));
    assert_eq!(r.custom(2), r.id("queue"));
    assert_eq!(r.custom(3), None);
    assert!(r.by_name("cart_size").is_some_and(|d| !d.is_time()));
    assert!(r.def(MetricId(999)).is_none());
}

#[test]
fn tags_get_and_map() {
    let mut extra = BTreeMap::new();
    extra.insert("team".to_string(), "shop".to_string());
    extra.insert("status".to_string(), "ignored".to_string());
    let t = Tags {
        extra: Some(Arc::new(extra)),
        check: Some(Arc::from("ok")),
        ..tags("s1", Some("a::b"), 200)
    };
    assert_eq!(t.get("status").as_deref(), Some("200"));
    assert_eq!(t.get("expected_response").as_deref(), Some("true"));
    assert_eq!(t.get("team").as_deref(), Some("shop"));
    assert_eq!(t.get("error_code"), None);
    let m = t.to_map();
    assert_eq!(m.get("group").map(String::as_str), Some("a::b"));
    assert_eq!(m.get("status").map(String::as_str), Some("200"));
    assert_eq!(m.get("team").map(String::as_str), Some("shop"));
    assert_eq!(m.get("check").map(String::as_str), Some("ok"));
    assert!(!m.contains_key("error_code"));
}

#[test]
fn merged_percentiles_equal_one_histogram_with_all_samples() {
    let r = reg();
    let all: Vec<f64> = latencies(20_000, 7);
    let (a, b) = all.split_at(7_000);
    let mut s1 = Shard::new(Arc::clone(&r));
    let mut s2 = Shard::new(Arc::clone(&r));
    let mut one = Shard::new(Arc::clone(&r));
    let t = tags("s", None, 200);
    for v in a {
        s1.trend(ids::HTTP_REQ_DURATION, &t, *v);
    }
    // Worker 2 sends two snapshots.
    let mut s2_snaps = Vec::new();
    for (i, v) in b.iter().enumerate() {
        s2.trend(ids::HTTP_REQ_DURATION, &t, *v);
        if i == 5_000 {
            s2_snaps.push(s2.take());
        }
    }
    s2_snaps.push(s2.take());
    assert_eq!(s2_snaps[0].samples("http_req_duration"), 5_001);
    for v in &all {
        one.trend(ids::HTTP_REQ_DURATION, &t, *v);
    }
    let mut merged = Aggregate::new(Arc::clone(&r));
    merged.merge(&s2_snaps[1]);
    merged.merge(&s1.take());
    merged.merge(&s2_snaps[0]);
    let mut single = Aggregate::new(Arc::clone(&r));
    single.merge(&one.take());

    let m = merged
        .view("http_req_duration", &filter(&[]))
        .expect("view");
    let s = single
        .view("http_req_duration", &filter(&[]))
        .expect("view");
    assert_eq!(m.count, 20_000);
    assert_eq!(m.count, s.count);
    assert_eq!(m.histogram(), s.histogram());
    for p in [0.0, 1.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0] {
        assert_eq!(m.percentile(p), s.percentile(p), "p({p})");
    }
    let mut sorted = all.clone();
    sorted.sort_by(f64::total_cmp);
    let exact_max = sorted[sorted.len() - 1];
    let exact_min = sorted[0];
    assert_eq!(m.max, exact_max);
    assert_eq!(m.min, exact_min);
    let exact_avg = all.iter().sum::<f64>() / all.len() as f64;
    assert!((m.avg - exact_avg).abs() < 1e-6 * exact_avg);
    // Percentiles within HDR's 3 significant figures of the exact ones.
    let exact_p95 = sorted[(0.95 * sorted.len() as f64).ceil() as usize - 1];
    assert!(
        (m.percentile(95.0) - exact_p95).abs() <= exact_p95 * 0.002,
        "{} vs {exact_p95}",
        m.percentile(95.0)
    );
    assert_eq!(m.med(), m.percentile(50.0));
    assert_eq!(m.percentile(100.0), exact_max);
}

#[test]
fn take_is_a_delta_and_keeps_series() {
    let r = reg();
    let mut s = Shard::new(Arc::clone(&r));
    let t = tags("s", None, 200);
    s.count(ids::HTTP_REQS, &t, 1.0);
    s.count(ids::HTTP_REQS, &t, 1.0);
    s.trend(ids::HTTP_REQ_DURATION, &t, 12.5);
    s.rate(ids::HTTP_REQ_FAILED, &t, false);
    s.gauge(ids::VUS, &Tags::default(), 10.0);
    let first = s.take();
    assert_eq!(first.counter("http_reqs"), 2.0);
    assert_eq!(first.samples("http_req_duration"), 1);
    assert_eq!(first.samples("http_req_failed"), 1);
    assert_eq!(first.gauge("vus"), Some(10.0));
    assert!(s.take().is_empty(), "nothing recorded since: empty delta");
    s.count(ids::HTTP_REQS, &t, 1.0);
    let third = s.take();
    assert_eq!(third.series.len(), 1);
    assert_eq!(third.counter("http_reqs"), 1.0);
}

#[test]
fn wrong_kind_and_bad_values_are_ignored() {
    let r = reg();
    let mut s = Shard::new(Arc::clone(&r));
    let t = Tags::default();
    s.count(ids::HTTP_REQ_DURATION, &t, 1.0); // a trend, not a counter
    s.trend(ids::HTTP_REQS, &t, 1.0); // a counter, not a trend
    s.trend(ids::HTTP_REQ_DURATION, &t, f64::NAN);
    s.trend(MetricId(999), &t, 1.0);
    s.gauge(ids::VUS, &t, f64::INFINITY);
    assert!(s.take().is_empty());
    // `add` dispatches on the kind.
    let q = r.id("queue").expect("queue");
    let cart = r.id("cart_size").expect("cart");
    s.add(q, &t, 3.0);
    s.add(ids::CHECKS, &t, 1.0);
    s.add(ids::CHECKS, &t, 0.0);
    s.add(cart, &t, 2.5);
    s.add(ids::ITERATIONS, &t, 1.0);
    let snap = s.take();
    assert_eq!(snap.gauge("queue"), Some(3.0));
    assert_eq!(snap.samples("checks"), 2);
    assert_eq!(snap.samples("cart_size"), 1);
    assert_eq!(snap.counter("iterations"), 1.0);
}

#[test]
fn snapshot_json_round_trip_preserves_histograms_exactly() {
    let r = reg();
    let mut s = Shard::new(Arc::clone(&r));
    let t = tags("s", Some("browse"), 200);
    for v in latencies(5_000, 3) {
        s.trend(ids::HTTP_REQ_DURATION, &t, v);
    }
    s.trend(ids::HTTP_REQ_DURATION, &t, 7_200_000.0); // 2 h: saturates at 1 h
    s.trend(r.id("cart_size").expect("cart"), &t, -4.0);
    s.count(ids::DATA_SENT, &t, 1234.0);
    s.rate(ids::CHECKS, &t, true);
    s.gauge(ids::VUS, &Tags::default(), 4.0);
    let snap = s.take();
    let json = snap.to_json().expect("json");
    assert!(json.contains("\"kind\":\"trend\""));
    let back = Snapshot::from_json(&json).expect("parse");
    assert_eq!(back, snap);
    let hist_of = |s: &Snapshot| match &s
        .series
        .iter()
        .find(|x| x.metric == "http_req_duration")
        .expect("series")
        .data
    {
        SeriesData::Trend { hist, .. } => hist.0.clone(),
        _ => panic!("not a trend"),
    };
    let (a, b) = (hist_of(&snap), hist_of(&back));
    assert_eq!(a.len(), 5_001);
    assert_eq!(b.len(), 5_001);
    for v in a.iter_recorded() {
        assert_eq!(b.count_at(v.value_iterated_to()), v.count_at_value());
    }
    assert_eq!(b.max(), a.max());
    let top = hist::from_units(b.max());
    assert!(
        (3_600_000.0 * 0.999..=3_600_000.0 * 1.001).contains(&top),
        "{top}"
    );
    let mut agg = Aggregate::new(r);
    agg.merge(&back);
    let v = agg.view("http_req_duration", &filter(&[])).expect("view");
    assert_eq!(v.max, 7_200_000.0, "exact max survives saturation");
    let cart = agg.view("cart_size", &filter(&[])).expect("view");
    assert_eq!((cart.min, cart.percentile(50.0)), (-4.0, -4.0));
}

#[test]
fn malformed_snapshots_are_errors_not_panics() {
    for bad in [
        "",
        "{",
        r#"{"series":[{"metric":"x","tags":{},"data":{"kind":"trend","sum":1,"min":1,"max":1,"hist":"%%%"}}]}"#,
        r#"{"series":[{"metric":"x","tags":{},"data":{"kind":"trend","sum":1,"min":1,"max":1,"hist":"AAAA"}}]}"#,
        r#"{"series":[{"metric":"x","tags":{},"data":{"kind":"nope"}}]}"#,
    ] {
        assert!(Snapshot::from_json(bad).is_err(), "{bad}");
    }
}

#[test]
fn views_filter_by_tags() {
    let r = reg();
    let mut s = Shard::new(Arc::clone(&r));
    let browse = tags("shoppers", Some("browse"), 200);
    let pay = tags("shoppers", Some("pay"), 500);
    let other = tags("admin", None, 200);
    for _ in 0..3 {
        s.trend(ids::HTTP_REQ_DURATION, &browse, 10.0);
        s.count(ids::HTTP_REQS, &browse, 1.0);
        s.rate(ids::HTTP_REQ_FAILED, &browse, false);
    }
    s.trend(ids::HTTP_REQ_DURATION, &pay, 100.0);
    s.count(ids::HTTP_REQS, &pay, 1.0);
    s.rate(ids::HTTP_REQ_FAILED, &pay, true);
    s.trend(ids::HTTP_REQ_DURATION, &other, 1000.0);
    s.count(ids::HTTP_REQS, &other, 1.0);
    s.rate(ids::HTTP_REQ_FAILED, &other, false);
    let mut agg = Aggregate::new(Arc::clone(&r));
    agg.merge(&s.take());
    agg.set_elapsed(Duration::from_secs(2));

    let all = agg.view("http_req_duration", &filter(&[])).expect("all");
    assert_eq!((all.count, all.min, all.max), (5, 10.0, 1000.0));
    assert!((all.avg - 1130.0 / 5.0).abs() < 1e-9);
    let b = agg
        .view("http_req_duration", &filter(&[("group", "browse")]))
        .expect("browse");
    assert_eq!((b.count, b.max), (3, 10.0));
    let sc = agg
        .view("http_req_duration", &filter(&[("scenario", "shoppers")]))
        .expect("shoppers");
    assert_eq!((sc.count, sc.max), (4, 100.0));
    let st = agg
        .view(
            "http_req_duration",
            &filter(&[("scenario", "shoppers"), ("status", "500")]),
        )
        .expect("500s");
    assert_eq!(st.count, 1);
    let none = agg
        .view("http_req_duration", &filter(&[("group", "nope")]))
        .expect("known metric");
    assert!(!none.has_samples());
    assert_eq!(none.percentile(95.0), 0.0);

    let reqs = agg.view("http_reqs", &filter(&[])).expect("reqs");
    assert_eq!((reqs.count, reqs.sum, reqs.rate), (5, 5.0, 2.5));
    assert_eq!(reqs.aggregate(Aggregation::Count, None), Some(5.0));
    let failed = agg.view("http_req_failed", &filter(&[])).expect("failed");
    assert_eq!((failed.hits, failed.count, failed.misses()), (1, 5, 4));
    assert!((failed.rate - 0.2).abs() < 1e-12);
    let failed_pay = agg
        .view("http_req_failed", &filter(&[("group", "pay")]))
        .expect("pay");
    assert_eq!(failed_pay.rate, 1.0);
    assert!(agg.view("no_such_metric", &filter(&[])).is_none());
    let q = agg.view("queue", &filter(&[])).expect("declared");
    assert!(!q.has_samples());
    assert_eq!(
        agg.groups().into_iter().collect::<Vec<_>>(),
        vec!["browse", "pay"]
    );
}

#[test]
fn gauges_keep_last_value_and_extremes() {
    let r = reg();
    let mut s = Shard::new(Arc::clone(&r));
    let mut agg = Aggregate::new(Arc::clone(&r));
    let t = Tags::default();
    for v in [1.0, 5.0, 3.0] {
        s.gauge(ids::VUS, &t, v);
    }
    agg.merge(&s.take());
    s.gauge(ids::VUS, &t, 2.0);
    agg.merge(&s.take());
    let v = agg.view("vus", &filter(&[])).expect("vus");
    assert_eq!((v.value, v.min, v.max), (2.0, 1.0, 5.0));
    assert_eq!(v.aggregate(Aggregation::Value, None), Some(2.0));
    assert_eq!(v.aggregate(Aggregation::P, Some(95.0)), None);
}

#[test]
fn checks_and_merge_aggregate() {
    let r = reg();
    let mut s = Shard::new(Arc::clone(&r));
    let ok_root = Tags {
        check: Some(Arc::from("status 200")),
        ..tags("a", None, 200)
    };
    let ok_browse = Tags {
        check: Some(Arc::from("ok")),
        group: Some(Arc::from("browse")),
        ..tags("b", None, 200)
    };
    for i in 0..10 {
        s.rate(ids::CHECKS, &ok_root, i != 3);
        s.rate(ids::CHECKS, &ok_browse, true);
    }
    let mut a1 = Aggregate::new(Arc::clone(&r));
    a1.merge(&s.take());
    let mut fleet = Aggregate::new(Arc::clone(&r));
    fleet.merge_aggregate(&a1);
    fleet.merge_aggregate(&a1);
    let checks = fleet.checks();
    assert_eq!(
        checks,
        vec![
            CheckStat {
                name: "status 200".into(),
                group: String::new(),
                passes: 18,
                fails: 2
            },
            CheckStat {
                name: "ok".into(),
                group: "browse".into(),
                passes: 20,
                fails: 0
            },
        ]
    );
    let mut round = Aggregate::new(Arc::clone(&r));
    round.merge(&a1.to_snapshot());
    assert_eq!(round.checks(), a1.checks());
}

#[test]
fn odd_but_parseable_snapshots_merge_without_panic() {
    let r = reg();
    let mut h = hist::new_hist();
    hist::record(&mut h, 5.0, true);
    let trend = |min: f64, max: f64| SeriesData::Trend {
        sum: 5.0,
        min,
        max,
        hist: Hist(h.clone()),
    };
    let snap = Snapshot {
        series: vec![
            // A trend under a counter's name: ignored.
            SeriesSnapshot {
                metric: "http_reqs".into(),
                tags: BTreeMap::new(),
                data: trend(5.0, 5.0),
            },
            // Crossed bounds.
            SeriesSnapshot {
                metric: "http_req_duration".into(),
                tags: BTreeMap::new(),
                data: trend(9.0, 1.0),
            },
            // A metric this registry does not know: kept.
            SeriesSnapshot {
                metric: "other".into(),
                tags: BTreeMap::new(),
                data: SeriesData::Counter { sum: 2.0 },
            },
        ],
        ..Default::default()
    };
    let back = Snapshot::from_json(&snap.to_json().expect("json")).expect("parse");
    let mut agg = Aggregate::new(r);
    agg.merge(&back);
    // A later counter delta under the same series name as a trend: ignored too.
    agg.merge(&Snapshot {
        series: vec![SeriesSnapshot {
            metric: "http_req_duration".into(),
            tags: BTreeMap::new(),
            data: SeriesData::Counter { sum: 1.0 },
        }],
        ..Default::default()
    });
    assert!(agg
        .view("http_reqs", &filter(&[]))
        .is_some_and(|v| !v.has_samples()));
    let d = agg.view("http_req_duration", &filter(&[])).expect("view");
    assert_eq!(d.count, 1);
    let p = d.percentile(50.0);
    assert!(p.is_finite());
    assert_eq!(agg.view("other", &filter(&[])).map(|v| v.sum), Some(2.0));
}

#[test]
fn zero_samples_land_in_the_histogram_like_any_other() {
    // Phases of kept-alive requests are 0 (or below half a microsecond): the shard counts
    // them apart and adds them at the take; the histogram must equal one fed every value.
    let r = reg();
    let mut s = Shard::new(Arc::clone(&r));
    let t = tags("s", None, 200);
    let values = [0.0, 0.0004, 1.5, 0.0, 0.0006, 250.0, 0.0];
    let mut direct = hist::new_hist();
    for v in values {
        s.trend(ids::HTTP_REQ_BLOCKED, &t, v);
        hist::record(&mut direct, v, true);
    }
    let mut agg = Aggregate::new(Arc::clone(&r));
    agg.merge(&s.take());
    let v = agg.view("http_req_blocked", &filter(&[])).expect("view");
    assert_eq!(v.count, values.len() as u64);
    assert_eq!(v.histogram(), Some(&direct));
    assert_eq!((v.min, v.max), (0.0, 250.0));
    assert_eq!(v.percentile(50.0), 0.0);

    // Only zeros: still a series, with min = max = 0 and every sample counted.
    for _ in 0..3 {
        s.trend(ids::HTTP_REQ_BLOCKED, &t, 0.0);
    }
    let snap = s.take();
    assert_eq!(snap.samples("http_req_blocked"), 3);
    let mut agg = Aggregate::new(Arc::clone(&r));
    agg.merge(&snap);
    let v = agg.view("http_req_blocked", &filter(&[])).expect("view");
    assert_eq!((v.count, v.min, v.max), (3, 0.0, 0.0));
}
