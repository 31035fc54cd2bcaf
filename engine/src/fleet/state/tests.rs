//! The state machine through its inputs: joins, sequenced pushes, barriers, losses.

use super::*;
use crate::fleet::protocol::{Push, Sequenced};
use crate::metrics::{ids, Registry, Shard, Tags};
use std::sync::Arc;
use volley_plan::segment::Segment;

fn plan_with_after() -> Plan {
    let text = include_str!("fleet_plan.json");
    volley_plan::from_json(text).expect("fixture plan")
}

fn state(n: u32) -> FleetState {
    let plan = plan_with_after();
    let agg = Aggregate::new(Registry::new(&plan.metrics));
    FleetState::new(&plan, "sha256:abc".into(), n, agg)
}

fn join(k: u32, n: u32, instance: &str) -> Join {
    Join {
        protocol: PROTOCOL,
        segment: Segment::new(k, n).unwrap(),
        plan_hash: "sha256:abc".into(),
        instance: instance.into(),
    }
}

fn now() -> Now {
    Now {
        at: Instant::now(),
        unix_ms: 1_000_000,
    }
}

/// A snapshot with `reqs` http_reqs and the given vus gauge.
fn snap(reqs: f64, vus: f64) -> Snapshot {
    let reg = Registry::new(&[]);
    let mut shard = Shard::new(Arc::clone(&reg));
    shard.count(ids::HTTP_REQS, &Tags::default(), reqs);
    shard.gauge(ids::VUS, &Tags::default(), vus);
    shard.take()
}

fn push(k: u32, instance: &str, seqs: &[(u64, f64)], done: bool) -> ReceivedPush {
    Push {
        protocol: PROTOCOL,
        index: k,
        instance: instance.into(),
        snapshots: seqs
            .iter()
            .map(|&(seq, reqs)| Sequenced {
                seq,
                snapshot: SparseSnapshot::from(&snap(reqs, 1.0)),
            })
            .collect(),
        first_request_unix_us: None,
        started_unix_us: None,
        finished: vec![],
        done,
        stopped: false,
    }
}

fn started(n: u32) -> FleetState {
    let mut st = state(n);
    for k in 0..n {
        st.join(&join(k, n, &format!("r{k}")), now().at).unwrap();
        st.ready(
            &Ready {
                protocol: PROTOCOL,
                index: k,
                instance: format!("r{k}"),
            },
            now().at,
        )
        .unwrap();
    }
    assert!(st.all_ready(now().at));
    st.start(2_000_000, vec![]);
    st
}

fn total_reqs(st: &FleetState) -> f64 {
    st.agg
        .view("http_reqs", &BTreeMap::new())
        .map_or(0.0, |v| v.sum)
}

#[test]
fn a_runner_with_another_plan_is_refused_with_both_hashes() {
    let mut st = state(2);
    let mut j = join(0, 2, "r0");
    j.plan_hash = "sha256:other".into();
    let err = st.join(&j, now().at).unwrap_err();
    assert_eq!(err.status, 409);
    assert!(err.message.contains("sha256:other") && err.message.contains("sha256:abc"));
}

#[test]
fn another_fleet_size_or_protocol_is_refused() {
    let mut st = state(2);
    assert!(st
        .join(&join(0, 3, "r0"), now().at)
        .unwrap_err()
        .message
        .contains("3 runners"));
    let mut j = join(0, 2, "r0");
    j.protocol = 9;
    assert!(st
        .join(&j, now().at)
        .unwrap_err()
        .message
        .contains("protocol 9"));
}

#[test]
fn retried_pushes_count_once_and_gaps_wait_for_the_missing_snapshot() {
    let mut st = started(2);
    // seq 1 applied.
    assert_eq!(
        st.push(&push(0, "r0", &[(1, 10.0)], false), now())
            .unwrap()
            .acked,
        1
    );
    // The same push again (its answer was lost): ignored.
    assert_eq!(
        st.push(&push(0, "r0", &[(1, 10.0)], false), now())
            .unwrap()
            .acked,
        1
    );
    // seq 3 without seq 2: a gap, nothing applied.
    let ack = st.push(&push(0, "r0", &[(3, 5.0)], false), now()).unwrap();
    assert_eq!((ack.acked, ack.missing_from), (1, Some(2)));
    // The runner resends 2 and 3 (and 1 again): both applied once.
    let ack = st
        .push(
            &push(0, "r0", &[(1, 10.0), (2, 7.0), (3, 5.0)], true),
            now(),
        )
        .unwrap();
    assert_eq!((ack.acked, ack.missing_from), (3, None));
    assert_eq!(total_reqs(&st), 22.0);
    assert_eq!(st.runners[0].http_reqs, 22.0);
    assert_eq!(st.runners[0].state, RunnerState::Done);
    assert_eq!((st.duplicates, st.gaps), (2, 1));
}

#[test]
fn fleet_vus_are_the_sum_of_every_runners_latest() {
    let mut st = started(3);
    for k in 0..3 {
        st.push(&push(k, &format!("r{k}"), &[(1, 1.0)], false), now())
            .unwrap();
    }
    let vus = st.agg.view("vus", &BTreeMap::new()).unwrap();
    assert_eq!(vus.value, 3.0);
}

fn ready(k: u32, instance: &str) -> Ready {
    Ready {
        protocol: PROTOCOL,
        index: k,
        instance: instance.into(),
    }
}

/// A push of runner `k` stopped by a signal of its own: its last, `done` and `stopped`.
fn stopped_push(k: u32, instance: &str, seqs: &[(u64, f64)]) -> ReceivedPush {
    let mut p = push(k, instance, seqs, true);
    p.stopped = true;
    p
}

#[test]
fn replacement_before_start_waits_until_the_earlier_runner_is_gone_and_after_start_is_refused() {
    let mut st = state(2);
    st.join(&join(0, 2, "pod-a"), now().at).unwrap();
    // Its own join again (the answer was lost) is no replacement.
    st.join(&join(0, 2, "pod-a"), now().at).unwrap();
    // pod-a may still be alive: the newcomer is told to retry, never let in beside it.
    let err = st.join(&join(0, 2, "pod-b"), now().at).unwrap_err();
    assert_eq!(err.status, 503, "{}", err.message);
    assert_eq!(st.runners[0].instance, "pod-a");
    // While the replacement waits, the fleet does not start with pod-a (it may be dead).
    st.ready(&ready(0, "pod-a"), now().at).unwrap();
    st.join(&join(1, 2, "pod-z"), now().at).unwrap();
    st.ready(&ready(1, "pod-z"), now().at).unwrap();
    assert!(!st.all_ready(now().at));
    let gave_up = Instant::now() + HEARTBEAT_TIMEOUT + Duration::from_secs(1);
    assert!(
        st.all_ready(gave_up),
        "a replacement that stopped asking holds nothing"
    );
    // Its heartbeat lapsed: known gone, the replacement takes over.
    let later = Instant::now() + HEARTBEAT_TIMEOUT + Duration::from_secs(1);
    st.join(&join(0, 2, "pod-b"), later).unwrap();
    assert_eq!(st.runners[0].instance, "pod-b");
    // The replaced instance can no longer act.
    let err = st.ready(&ready(0, "pod-a"), later).unwrap_err();
    assert_eq!(err.status, 409);
    assert!(st.seen(0, "pod-a", later).is_err());
    let mut st = started(2);
    let err = st.join(&join(1, 2, "pod-c"), now().at).unwrap_err();
    assert_eq!(err.status, 409);
    assert!(err.message.contains("double its load"), "{}", err.message);
}

#[test]
fn a_runner_stopped_by_a_signal_before_the_start_leaves_and_a_replacement_takes_its_segment() {
    let mut st = state(2);
    for k in 0..2 {
        st.join(&join(k, 2, &format!("r{k}")), now().at).unwrap();
        st.ready(&ready(k, &format!("r{k}")), now().at).unwrap();
    }
    st.push(&push(0, "r0", &[(1, 0.0)], false), now()).unwrap();
    // Evicted before the start: its last push says it was stopped by a signal.
    let p = stopped_push(1, "r1", &[(1, 0.0)]);
    st.push(&p, now()).unwrap();
    assert_eq!(st.runners[1].state, RunnerState::Left);
    assert_eq!((st.lost(), st.lost_reasons()), (0, vec![]));
    assert_eq!(st.left().len(), 1, "{:?}", st.left());
    assert!(!st.all_ready(now().at), "the fleet waits for a replacement");
    assert_eq!(st.vus(), (1, 0), "the leaver's gauges no longer count");
    // Its retried last push is acknowledged and changes nothing.
    assert_eq!(st.push(&p, now()).unwrap().acked, 1);
    assert_eq!(st.runners[1].state, RunnerState::Left);
    // It said it is gone: the replacement is let in at once.
    st.join(&join(1, 2, "r1-b"), now().at).unwrap();
    st.ready(&ready(1, "r1-b"), now().at).unwrap();
    assert!(st.all_ready(now().at));
    st.start(2_000_000, vec![]);
    // The leaver never hears the start.
    assert_eq!(st.seen(1, "r1", now().at).unwrap_err().status, 409);
    assert_eq!(st.runners[1].state, RunnerState::Running);
    st.push(&push(1, "r1-b", &[(1, 5.0)], true), now()).unwrap();
    st.push(&push(0, "r0", &[(2, 5.0)], true), now()).unwrap();
    assert!(st.all_finished());
    assert_eq!((total_reqs(&st), st.lost()), (10.0, 0));
}

#[test]
fn a_runner_whose_process_exits_before_the_start_leaves_its_segment_free() {
    let mut st = state(2);
    st.join(&join(0, 2, "r0"), now().at).unwrap();
    assert!(st.process_exited(0, "exit status 105", now()));
    assert_eq!((st.runners[0].state, st.lost()), (RunnerState::Left, 0));
    st.join(&join(0, 2, "r0-b"), now().at).unwrap();
    assert_eq!(st.runners[0].state, RunnerState::Joined);
}

#[test]
fn a_runner_stopped_by_a_signal_after_the_start_is_lost_and_never_replaced() {
    let mut st = started(2);
    st.push(&stopped_push(1, "r1", &[(1, 3.0)]), now()).unwrap();
    assert_eq!(st.runners[1].state, RunnerState::Lost);
    assert_eq!(st.left(), vec![]);
    assert_eq!(total_reqs(&st), 3.0, "its data is kept");
    let err = st.join(&join(1, 2, "r1-b"), now().at).unwrap_err();
    assert_eq!(err.status, 409);
    assert!(err.message.contains("was lost"), "{}", err.message);
    // Silent past the heartbeat timeout changes nothing after the start.
    let later = Instant::now() + HEARTBEAT_TIMEOUT + Duration::from_secs(1);
    assert_eq!(st.join(&join(1, 2, "r1-c"), later).unwrap_err().status, 409);
    let err = st.join(&join(0, 2, "r0-b"), later).unwrap_err();
    assert!(err.message.contains("double its load"), "{}", err.message);
}

#[test]
fn a_lost_runner_keeps_its_data_and_is_never_replaced() {
    let mut st = started(2);
    st.push(&push(1, "r1", &[(1, 4.0)], false), now()).unwrap();
    assert!(st.process_exited(1, "killed by signal 9", now()));
    assert_eq!(st.lost(), 1);
    assert_eq!(total_reqs(&st), 4.0);
    let err = st.join(&join(1, 2, "again"), now().at).unwrap_err();
    assert!(err.message.contains("was lost"));
    st.push(&push(0, "r0", &[(1, 6.0)], true), now()).unwrap();
    assert!(st.all_finished());
    assert_eq!(total_reqs(&st), 10.0);
}

/// With every runner lost the fleet's VU gauges are +0, not the -0 of an f64 `sum()` of
/// nothing, which the summary printed as `vus: -0 min=-0`.
#[test]
fn a_fleet_whose_every_runner_is_lost_has_zero_vus_not_minus_zero() {
    let mut st = started(2);
    st.push(&push(0, "r0", &[(1, 4.0)], false), now()).unwrap();
    assert!(st.process_exited(0, "exit status 111", now()));
    assert!(st.process_exited(1, "exit status 111", now()));
    for name in ["vus", "vus_max"] {
        let g = st.agg.view(name, &BTreeMap::new()).unwrap();
        assert!(
            g.value == 0.0 && g.value.is_sign_positive() && g.min.is_sign_positive(),
            "{name}: value {:?} min {:?}",
            g.value,
            g.min
        );
    }
}

#[test]
fn silent_runners_are_lost_after_the_heartbeat_timeout() {
    let mut st = started(2);
    let later = Now {
        at: Instant::now() + HEARTBEAT_TIMEOUT + Duration::from_secs(1),
        unix_ms: 1_010_000,
    };
    st.seen(0, "r0", later.at).unwrap();
    assert_eq!(st.check_heartbeats(later), vec![1]);
    assert_eq!(st.runners[1].state, RunnerState::Lost);
}

#[test]
fn after_barriers_release_once_every_runner_finished_the_scenario() {
    let mut st = started(2);
    let mut p = push(0, "r0", &[], false);
    p.finished = vec![0];
    st.push(&p, now()).unwrap();
    assert!(
        st.control.released.is_empty(),
        "runner 1 has not finished warmup"
    );
    let mut p = push(1, "r1", &[], false);
    p.finished = vec![0];
    let v = st.control.version;
    st.push(&p, now()).unwrap();
    assert_eq!(
        st.control.released.get(&1),
        Some(&(now().unix_ms + RELEASE_MARGIN_MS))
    );
    assert!(st.control.version > v);
}

#[test]
fn a_lost_runner_does_not_hold_a_barrier() {
    let mut st = started(2);
    let mut p = push(0, "r0", &[], false);
    p.finished = vec![0];
    st.push(&p, now()).unwrap();
    st.process_exited(1, "exit status 1", now());
    assert!(st.control.released.contains_key(&1));
}

#[test]
fn skew_is_the_spread_of_actual_starts_not_of_first_requests() {
    let mut st = started(3);
    let agreed_ms = st.control.start.as_ref().map(|s| s.at_unix_ms).unwrap();
    let agreed = agreed_ms * 1000;
    // A ramp: runner k's first VU comes k × 250 ms after its start.
    for (k, late_us) in [(0u32, 100u64), (1, 3_600), (2, 1_100)] {
        let mut p = push(k, &format!("r{k}"), &[], false);
        p.started_unix_us = Some(agreed + late_us);
        p.first_request_unix_us = Some(agreed + late_us + u64::from(k) * 250_000);
        st.push(&p, now()).unwrap();
    }
    assert_eq!(st.start_skew_ms(), Some(3.5));
    assert_eq!(st.offsets_ms(0), (Some(0.1), Some(0.1)));
    assert_eq!(st.offsets_ms(2), (Some(1.1), Some(501.1)));
}

mod merged_percentiles {
    use super::*;
    use proptest::prelude::*;

    /// Samples recorded by each runner's own shard, through the wire (JSON), merged by the
    /// coordinator: percentiles equal those of one histogram of the union exactly, and the
    /// exact percentiles of the raw samples within HDR precision.
    fn check(per_runner: &[Vec<f64>]) -> Result<(), TestCaseError> {
        let n = per_runner.len() as u32;
        let mut st = started(n);
        let reg = Registry::new(&[]);
        let mut union_shard = Shard::new(Arc::clone(&reg));
        let mut all: Vec<f64> = Vec::new();
        for (k, samples) in per_runner.iter().enumerate() {
            let mut shard = Shard::new(Arc::clone(&reg));
            for &ms in samples {
                shard.trend(ids::HTTP_REQ_DURATION, &Tags::default(), ms);
                union_shard.trend(ids::HTTP_REQ_DURATION, &Tags::default(), ms);
                all.push(ms);
            }
            // What a runner sends, read as the coordinator reads it.
            let wire = shard.take().to_json().unwrap();
            let mut p = push(k as u32, &format!("r{k}"), &[], true);
            p.snapshots = vec![Sequenced {
                seq: 1,
                snapshot: serde_json::from_str::<SparseSnapshot>(&wire).unwrap(),
            }];
            st.push(&p, now()).unwrap();
        }
        let mut union = Aggregate::new(Arc::clone(&reg));
        union.merge(&union_shard.take());
        let none = BTreeMap::new();
        let merged = st.agg.view("http_req_duration", &none).unwrap();
        let single = union.view("http_req_duration", &none).unwrap();
        all.sort_by(f64::total_cmp);
        prop_assert_eq!(merged.count, all.len() as u64);
        for p in [50.0, 90.0, 95.0, 99.0, 99.9] {
            prop_assert_eq!(merged.percentile(p), single.percentile(p));
            let rank = ((p / 100.0) * all.len() as f64).ceil().max(1.0) as usize - 1;
            let exact = all[rank.min(all.len() - 1)];
            let got = merged.percentile(p);
            // 3 significant figures, plus the µs the histogram's unit rounds to.
            prop_assert!(
                (got - exact).abs() <= exact * 0.001 + 0.001,
                "p({}) = {} but the samples' is {}",
                p,
                got,
                exact
            );
        }
        prop_assert_eq!(merged.max, all[all.len() - 1]);
        prop_assert_eq!(merged.min, all[0]);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn merged_percentiles_equal_the_union_of_the_runners_samples(
            per_runner in proptest::collection::vec(
                proptest::collection::vec(0.05f64..5_000.0, 1..300),
                1..8,
            )
        ) {
            check(&per_runner)?;
        }
    }
}

/// A runner's first errors travel in its pushed snapshots; the fleet keeps the earliest of
/// each code, so the summary's errors section names the fleet's first occurrence.
#[test]
fn first_errors_travel_in_pushes_and_the_earliest_wins() {
    let mut st = started(2);
    for (k, at, target) in [(0u32, 20u64, "late"), (1, 10, "early")] {
        let mut p = push(k, &format!("r{k}"), &[(1, 1.0)], false);
        p.snapshots[0].snapshot.first_errors = vec![crate::errors::FirstError {
            code: 1212,
            request: "products".into(),
            target: target.into(),
            at_unix_ms: at,
            message: format!("refused at {target}"),
        }];
        // Through the wire, as the coordinator reads it.
        let text = serde_json::to_string(&p).unwrap();
        let back: ReceivedPush = serde_json::from_str(&text).unwrap();
        st.push(&back, now()).unwrap();
    }
    assert_eq!(st.agg.first_errors()[&1212].target, "early");
    assert_eq!(st.agg.first_errors()[&1212].message, "refused at early");
}

#[test]
fn deltas_for_the_supervisor_keep_when_they_were_taken_in_the_order_applied() {
    let mut st = started(2);
    st.outbox = Some(Vec::new());
    // Runner 0 pushes its first two seconds at once (a late push), runner 1 its first.
    let stamped = |seq: u64, reqs: f64, end_ms: u64| {
        let mut s = snap(reqs, 1.0);
        s.end_ms = Some(end_ms);
        Sequenced {
            seq,
            snapshot: SparseSnapshot::from(&s),
        }
    };
    let mut p0 = push(0, "r0", &[], false);
    p0.snapshots = vec![stamped(1, 100.0, 1000), stamped(2, 110.0, 2001)];
    let mut p1 = push(1, "r1", &[], false);
    p1.snapshots = vec![stamped(1, 90.0, 998)];
    st.push(&p0, now()).unwrap();
    st.push(&p1, now()).unwrap();
    let out = st.take_outbox();
    // The outputs file each under the interval it was taken in (`OutputSet::observe`).
    let by: Vec<(Option<u64>, f64)> = out
        .iter()
        .filter_map(|d| match d {
            Delta::Sparse(s) => Some((s.end_ms, s.counter("http_reqs"))),
            _ => None,
        })
        .collect();
    assert_eq!(
        by,
        vec![(Some(1000), 100.0), (Some(2001), 110.0), (Some(998), 90.0)]
    );
    // The per-runner VU gauges stay out of the deltas; the fleet's sum comes apart.
    assert!(out.iter().all(|d| match d {
        Delta::Sparse(s) => s.series.iter().all(|x| x.metric != "vus"),
        _ => true,
    }));
    assert!(out.iter().any(|d| matches!(d, Delta::Gauges(_))));
    assert!(st.take_outbox().is_empty(), "taken once");
}
