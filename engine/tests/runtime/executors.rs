//! Executors: iteration counts, VU curves, arrival rates, drops, graceful stop, start
//! order, identity values and segments.

use super::support::plans::*;
use super::support::server::TestServer;
use super::support::*;
use super::LIMIT;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use volley_engine::run::{RunHooks, RunOptions};
use volley_plan::program::{Builtin, Expr, Stmt};
use volley_plan::ExitCode;
use volley_plan::{Stage, Start, Value, Workload};

#[test]
fn per_vu_iterations_runs_exactly_vus_times_iterations() {
    let srv = TestServer::start();
    let w = Workload::PerVuIterations {
        vus: 3,
        iterations: 5,
        max_duration_ms: 10_000,
    };
    let p = plan(
        &srv.url(),
        vec![scenario("s", w, get_and_check(0, "/ok", "ok", 200))],
    );
    let out = run(p, LIMIT);
    assert_eq!(out.exit_code, ExitCode::Ok);
    assert_eq!(count(&out.agg, "iterations"), 15.0);
    assert_eq!(count(&out.agg, "http_reqs"), 15.0);
    assert_eq!(srv.count("GET /ok"), 15);
    assert_eq!(check(&out.agg, "ok"), (15.0, 0.0));
    // The summary says the same.
    assert_eq!(out.summary.value("iterations", "count"), Some(15.0));
    assert_eq!(out.summary.value("http_reqs", "count"), Some(15.0));
    assert_eq!(out.summary.check("ok"), (15, 0));
    assert_eq!(out.summary.exit_code(), ExitCode::Ok);
}

#[test]
fn shared_iterations_runs_exactly_the_total() {
    let srv = TestServer::start();
    let w = Workload::SharedIterations {
        vus: 4,
        iterations: 100,
        max_duration_ms: 10_000,
    };
    let p = plan(
        &srv.url(),
        vec![scenario("s", w, vec![Stmt::Expr(get("/ok"))])],
    );
    let out = run(p, LIMIT);
    assert_eq!(count(&out.agg, "iterations"), 100.0);
    assert_eq!(srv.count("GET /ok"), 100);
}

#[test]
fn constant_vus_keeps_its_vus_busy_for_the_duration() {
    let srv = TestServer::start();
    let w = Workload::ConstantVus {
        vus: 3,
        duration_ms: 1500,
    };
    let body = vec![
        Stmt::Expr(get("/ok")),
        Stmt::Sleep(Expr::Const(Value::Duration(100.0))),
    ];
    let gauges = Arc::new(Mutex::new(Vec::new()));
    let g = Arc::clone(&gauges);
    let hooks = RunHooks {
        on_snapshot: Some(Box::new(move |s| {
            if let Some(v) = vus_gauge(s) {
                g.lock().unwrap().push(v);
            }
        })),
        ..RunHooks::default()
    };
    let started = Instant::now();
    let opts = RunOptions {
        workers: 2,
        ..RunOptions::default()
    };
    let out = run_opts(
        plan(&srv.url(), vec![scenario("s", w, body)]),
        LIMIT,
        opts,
        hooks,
    );
    let its = count(&out.agg, "iterations");
    // 3 VUs × 1.5 s / ~100 ms each: about 45.
    assert!((15.0..=48.0).contains(&its), "iterations: {its}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let seen = gauges.lock().unwrap().clone();
    assert!(seen.contains(&3.0), "vus gauge samples: {seen:?}");
}

#[test]
fn ramping_vus_reaches_its_stage_targets() {
    let srv = TestServer::start();
    let w = Workload::RampingVus {
        start_vus: 0,
        stages: vec![
            Stage {
                duration_ms: 400,
                target: 5.0,
            },
            Stage {
                duration_ms: 1400,
                target: 5.0,
            },
            Stage {
                duration_ms: 300,
                target: 0.0,
            },
        ],
        graceful_ramp_down_ms: 200,
    };
    let body = vec![
        Stmt::Expr(get("/ok")),
        Stmt::Sleep(Expr::Const(Value::Duration(50.0))),
    ];
    let gauges = Arc::new(Mutex::new(Vec::new()));
    let g = Arc::clone(&gauges);
    let hooks = RunHooks {
        on_snapshot: Some(Box::new(move |s| {
            if let Some(v) = vus_gauge(s) {
                g.lock().unwrap().push(v);
            }
        })),
        ..RunHooks::default()
    };
    let opts = RunOptions {
        workers: 2,
        ..RunOptions::default()
    };
    let out = run_opts(
        plan(&srv.url(), vec![scenario("s", w, body)]),
        LIMIT,
        opts,
        hooks,
    );
    let seen = gauges.lock().unwrap().clone();
    // Sampled at 1 s (the plateau) and at the end (every VU gone).
    assert_eq!(seen.first(), Some(&5.0), "vus gauge samples: {seen:?}");
    assert_eq!(seen.last(), Some(&0.0), "vus gauge samples: {seen:?}");
    assert!(count(&out.agg, "iterations") > 20.0);
}

#[test]
fn constant_arrival_rate_holds_its_rate() {
    let srv = TestServer::start();
    let w = Workload::ConstantArrivalRate {
        rate: 50.0,
        duration_ms: 2000,
        pre_allocated_vus: 5,
        max_vus: 20,
    };
    let p = plan(
        &srv.url(),
        vec![scenario("s", w, vec![Stmt::Expr(get("/ok"))])],
    );
    let started = Instant::now();
    let out = run(p, LIMIT);
    assert_eq!(count(&out.agg, "iterations"), 100.0);
    assert_eq!(count(&out.agg, "dropped_iterations"), 0.0);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

#[test]
fn arrival_rate_counts_a_vu_that_just_finished_as_free() {
    // 1,000 arrivals in 0.5 s, 500 to each worker's single VU, whose iteration never
    // waits: the timer's 1 ms ticks hand the arrivals out in batches, and the VU is free
    // again as soon as it has run. Without the dispatcher's yield it would still look
    // busy and every arrival after the first of a batch would drop.
    let srv = TestServer::start();
    let w = Workload::ConstantArrivalRate {
        rate: 2000.0,
        duration_ms: 500,
        pre_allocated_vus: 2,
        max_vus: 2,
    };
    let p = plan(&srv.url(), vec![scenario("s", w, vec![])]);
    let out = run(p, LIMIT);
    assert_eq!(count(&out.agg, "dropped_iterations"), 0.0);
    assert_eq!(count(&out.agg, "iterations"), 1000.0);
}

#[test]
fn arrival_rate_drops_iterations_when_no_vu_is_free() {
    let srv = TestServer::start();
    let w = Workload::ConstantArrivalRate {
        rate: 20.0,
        duration_ms: 1000,
        pre_allocated_vus: 1,
        max_vus: 1,
    };
    let p = plan(
        &srv.url(),
        vec![scenario("s", w, vec![Stmt::Expr(get("/slow"))])],
    );
    let out = run(p, LIMIT);
    let (its, dropped) = (
        count(&out.agg, "iterations"),
        count(&out.agg, "dropped_iterations"),
    );
    // One VU, 300 ms per iteration: about 4 run, the rest of the 20 are dropped.
    assert!((1.0..=5.0).contains(&its), "iterations {its}");
    assert_eq!(its + dropped, 20.0, "iterations {its} + dropped {dropped}");
}

#[test]
fn after_waits_for_the_other_scenario_to_finish() {
    let srv = TestServer::start();
    let first = scenario(
        "first",
        Workload::PerVuIterations {
            vus: 2,
            iterations: 2,
            max_duration_ms: 10_000,
        },
        vec![Stmt::Expr(get("/slow"))],
    );
    let mut second = scenario(
        "second",
        Workload::SharedIterations {
            vus: 2,
            iterations: 4,
            max_duration_ms: 10_000,
        },
        vec![Stmt::Expr(get("/ok"))],
    );
    second.start = Start::After { scenario: 0 };
    let out = run(plan(&srv.url(), vec![first, second]), LIMIT);
    assert_eq!(count(&out.agg, "iterations"), 8.0);
    let order = srv.order();
    let last_slow = order.iter().rposition(|k| k == "GET /slow");
    let first_ok = order.iter().position(|k| k == "GET /ok");
    assert!(last_slow < first_ok, "{order:?}");
}

#[test]
fn identity_values_are_unique_across_scenarios() {
    let srv = TestServer::start();
    // Each iteration requests /ok?id=<vu.id>-<test.iteration>; the server sees the paths.
    let path = Expr::Concat(vec![
        s("/id/"),
        builtin(Builtin::VuId),
        s("/"),
        builtin(Builtin::TestIteration),
    ]);
    let body = || {
        vec![Stmt::Expr(Expr::Request(Box::new(request(
            "GET",
            path.clone(),
            "/id",
        ))))]
    };
    let a = scenario(
        "a",
        Workload::PerVuIterations {
            vus: 3,
            iterations: 2,
            max_duration_ms: 10_000,
        },
        body(),
    );
    let b = scenario(
        "b",
        Workload::SharedIterations {
            vus: 2,
            iterations: 4,
            max_duration_ms: 10_000,
        },
        body(),
    );
    let _ = run(plan(&srv.url(), vec![a, b]), LIMIT);
    let order = srv.order();
    assert_eq!(order.len(), 10, "{order:?}");
    let mut vus: Vec<u64> = order
        .iter()
        .filter_map(|k| k.split('/').nth(2)?.parse().ok())
        .collect();
    vus.sort_unstable();
    vus.dedup();
    assert_eq!(vus, [1, 2, 3, 4, 5], "scenario b's VUs follow a's 3");
    let mut its: Vec<String> = order
        .iter()
        .map(|k| {
            let id: u64 = k
                .split('/')
                .nth(2)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let scen = if id <= 3 { "a" } else { "b" };
            format!("{scen}{}", k.rsplit('/').next().unwrap_or(""))
        })
        .collect();
    its.sort();
    its.dedup();
    assert_eq!(
        its.len(),
        10,
        "test.iteration unique within a scenario: {its:?}"
    );
}

#[test]
fn graceful_stop_interrupts_long_iterations_uncounted() {
    let srv = TestServer::start();
    let w = Workload::ConstantVus {
        vus: 2,
        duration_ms: 500,
    };
    let body = vec![
        Stmt::Expr(get("/ok")),
        Stmt::Sleep(Expr::Const(Value::Duration(5000.0))),
        Stmt::Expr(get("/json")),
    ];
    let mut sc = scenario("s", w, body);
    sc.graceful_stop_ms = 200;
    let started = Instant::now();
    let out = run(plan(&srv.url(), vec![sc]), LIMIT);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(srv.count("GET /ok"), 2);
    assert_eq!(srv.count("GET /json"), 0);
    assert_eq!(count(&out.agg, "iterations"), 0.0);
    assert_eq!(out.exit_code, ExitCode::Ok);
}

/// Runs `plan` once per segment of `n` (as a fleet of `n` runners would) and returns the
/// paths the server saw.
fn run_segments(srv: &TestServer, p: &volley_plan::Plan, n: u32) -> Vec<String> {
    for k in 0..n {
        let opts = RunOptions {
            workers: 2,
            segment: volley_plan::segment::Segment::new(k, n).unwrap(),
            ..RunOptions::default()
        };
        let out = run_opts(p.clone(), LIMIT, opts, RunHooks::default());
        assert_eq!(out.exit_code, ExitCode::Ok);
    }
    srv.order()
}

/// `/id/<vu.id>/<test.iteration>/<runner.index>` for every iteration.
fn identity_request() -> Vec<Stmt> {
    let path = Expr::Concat(vec![
        s("/id/"),
        builtin(Builtin::VuId),
        s("/"),
        builtin(Builtin::TestIteration),
        s("/"),
        builtin(Builtin::RunnerIndex),
    ]);
    vec![Stmt::Expr(Expr::Request(Box::new(request(
        "GET", path, "/id",
    ))))]
}

fn parts(key: &str) -> Vec<u64> {
    key.split('/')
        .skip(2)
        .filter_map(|p| p.parse().ok())
        .collect()
}

#[test]
fn segments_add_up_to_the_whole_test() {
    let srv = TestServer::start();
    let shared = scenario(
        "shared",
        Workload::SharedIterations {
            vus: 5,
            iterations: 50,
            max_duration_ms: 10_000,
        },
        identity_request(),
    );
    let order = run_segments(&srv, &plan(&srv.url(), vec![shared]), 3);
    assert_eq!(order.len(), 50);
    let mut its: Vec<u64> = order.iter().map(|k| parts(k)[1]).collect();
    its.sort_unstable();
    assert_eq!(
        its,
        (0..50).collect::<Vec<_>>(),
        "test.iteration covers 0..50 once"
    );
    for k in &order {
        let p = parts(k);
        // Runner k of 3 owns VU ids k+1, k+4, … (2, 2 and 1 of the 5 VUs) and, as in
        // k6, iterations striped by those shares: {0, 3}, {1, 4} and {2} of every 5.
        assert_eq!((p[0] - 1) % 3, p[2], "{k}");
        assert_eq!([0, 1, 2, 0, 1][(p[1] % 5) as usize], p[2], "{k}");
    }
    let per_runner: Vec<usize> = (0..3)
        .map(|r| order.iter().filter(|k| parts(k)[2] == r).count())
        .collect();
    assert_eq!(per_runner, [20, 20, 10]);
    // Which of a runner's VUs takes a shared iteration is a race (one VU may take them
    // all), so only the ids are checked: the 5 VUs of the whole test, none other.
    assert!(order.iter().all(|k| (1..=5).contains(&parts(k)[0])));
}

#[test]
fn arrival_segments_add_up_to_the_whole_schedule() {
    let srv = TestServer::start();
    let rate = scenario(
        "rate",
        Workload::ConstantArrivalRate {
            rate: 30.0,
            duration_ms: 1000,
            pre_allocated_vus: 4,
            max_vus: 8,
        },
        identity_request(),
    );
    let order = run_segments(&srv, &plan(&srv.url(), vec![rate]), 2);
    let mut its: Vec<u64> = order.iter().map(|k| parts(k)[1]).collect();
    its.sort_unstable();
    // As in k6: a tick at 0 and then every 33,333,333 ns (the period truncated to
    // whole ns), so the 31st falls 10 ns before the end.
    assert_eq!(its, (0..31).collect::<Vec<_>>());
}
