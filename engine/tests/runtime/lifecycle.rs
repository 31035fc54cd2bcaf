//! The run's life: setup and teardown, secrets, timeouts, thresholds and exit codes.

use super::support::plans::*;
use super::support::server::{BlackHole, TestServer};
use super::support::*;
use super::LIMIT;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use volley_engine::run::{RunHooks, RunOptions};
use volley_engine::summary::Verdict;
use volley_plan::program::{BinOp, Body, Expr, Intrinsic, Stmt};
use volley_plan::ExitCode;
use volley_plan::{Aggregation, CmpOp, SecretRef, Value, Workload};

#[test]
fn setup_runs_once_and_its_values_reach_every_vu() {
    setup_values_reach_every_vu(false);
}

/// The compiler ends setup with `return [v0, v1, ..]` in `setup_values` order; the
/// engine takes that list (here in the reverse order of the slots, so reading slots
/// instead would fail).
#[test]
fn setup_values_come_from_the_returned_list() {
    setup_values_reach_every_vu(true);
}

fn setup_values_reach_every_vu(returned: bool) {
    let srv = TestServer::start();
    let w = Workload::SharedIterations {
        vus: 3,
        iterations: 12,
        max_duration_ms: 10_000,
    };
    let mut p = plan(&srv.url(), vec![]);
    p.setup = Some(function(
        "setup",
        2,
        vec![
            Stmt::Let {
                slot: 0,
                value: get("/json"),
            },
            Stmt::Let {
                slot: 1,
                value: call(
                    Intrinsic::AsString,
                    vec![call(Intrinsic::Json, vec![local(0), s("token")])],
                ),
            },
        ],
    ));
    let token = if returned {
        p.setup_values = vec!["token".into(), "r".into()];
        if let Some(f) = p.setup.as_mut() {
            f.body
                .push(Stmt::Return(Some(Expr::List(vec![local(1), local(0)]))));
        }
        0
    } else {
        p.setup_values = vec!["r".into(), "token".into()];
        1
    };
    p.teardown = Some(function("teardown", 0, vec![Stmt::Expr(get("/created"))]));
    let mut echo = request("POST", s("/echo"), "/echo");
    echo.headers = Some(Expr::Record(vec![("x-token".into(), Expr::Setup(token))]));
    echo.body = Body::Raw(s("hi"));
    p.scenarios.push(scenario(
        "s",
        w,
        vec![
            Stmt::Let {
                slot: 0,
                value: Expr::Request(Box::new(echo)),
            },
            Stmt::Check {
                name: "token reached the VU".into(),
                cond: bin(BinOp::Eq, field(local(0), "body"), s("abc|hi")),
            },
        ],
    ));
    let out = run(p, LIMIT);
    assert_eq!(srv.count("GET /json"), 1);
    assert_eq!(srv.count("GET /created"), 1, "teardown once");
    assert_eq!(srv.count("POST /echo"), 12);
    assert_eq!(check(&out.agg, "token reached the VU"), (12.0, 0.0));
}

#[test]
fn a_target_that_never_answers_times_out_and_the_run_completes() {
    let hole = BlackHole::start();
    let w = Workload::PerVuIterations {
        vus: 2,
        iterations: 2,
        max_duration_ms: 10_000,
    };
    let mut sc = scenario("s", w, vec![Stmt::Expr(get("/"))]);
    sc.http.timeout_ms = 200;
    let started = Instant::now();
    let out = run(plan(&format!("http://{}", hole.addr), vec![sc]), LIMIT);
    assert_eq!(count(&out.agg, "http_reqs"), 4.0);
    assert_eq!(failed_requests(&out.agg), 4.0);
    assert_eq!(count(&out.agg, "iterations"), 4.0);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn missing_secret_stops_before_any_request() {
    let srv = TestServer::start();
    let w = Workload::PerVuIterations {
        vus: 1,
        iterations: 1,
        max_duration_ms: 10_000,
    };
    let mut p = plan(
        &srv.url(),
        vec![scenario("s", w, vec![Stmt::Expr(get("/ok"))])],
    );
    p.secrets = vec![SecretRef {
        name: "api_key".into(),
        env: "VOLLEY_TEST_SURELY_UNSET".into(),
    }];
    let opts = RunOptions {
        workers: 1,
        env: BTreeMap::new(),
        ..RunOptions::default()
    };
    let out = run_opts(p, LIMIT, opts, RunHooks::default());
    assert_eq!(out.exit_code, ExitCode::InvalidInput);
    assert_eq!(srv.count("GET /ok"), 0);
}

#[test]
fn thresholds_fail_with_99() {
    let srv = TestServer::start();
    let w = Workload::PerVuIterations {
        vus: 2,
        iterations: 3,
        max_duration_ms: 10_000,
    };
    let mut p = plan(
        &srv.url(),
        vec![scenario("s", w, get_and_check(0, "/ok", "impossible", 599))],
    );
    p.thresholds = vec![threshold(
        "checks",
        Aggregation::Rate,
        CmpOp::Gt,
        0.99,
        false,
    )];
    let out = run(p, LIMIT);
    assert_eq!(out.exit_code, ExitCode::ThresholdsFailed);
    assert_eq!(out.summary.volley.verdict, Verdict::ThresholdsFailed);
}

#[test]
fn abort_on_fail_stops_the_run_early_with_108() {
    let srv = TestServer::start();
    let w = Workload::ConstantVus {
        vus: 2,
        duration_ms: 30_000,
    };
    let mut body = get_and_check(0, "/ok", "impossible", 599);
    body.push(Stmt::Sleep(Expr::Const(Value::Duration(50.0))));
    let mut p = plan(&srv.url(), vec![scenario("s", w, body)]);
    p.thresholds = vec![threshold(
        "checks",
        Aggregation::Rate,
        CmpOp::Gt,
        0.99,
        true,
    )];
    let started = Instant::now();
    let out = run(p, LIMIT);
    assert_eq!(out.exit_code, ExitCode::AbortedByThreshold);
    assert_eq!(out.summary.volley.verdict, Verdict::AbortedByThreshold);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_stop_handle_stops_the_run_with_105() {
    let srv = TestServer::start();
    let w = Workload::ConstantVus {
        vus: 2,
        duration_ms: 30_000,
    };
    let body = vec![
        Stmt::Expr(get("/ok")),
        Stmt::Sleep(Expr::Const(Value::Duration(50.0))),
    ];
    let handle = volley_engine::run::StopHandle::default();
    let h = handle.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(700));
        h.stop();
    });
    let hooks = RunHooks {
        stop: Some(handle),
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
    assert_eq!(out.exit_code, ExitCode::AbortedBySignal);
    assert_eq!(out.summary.volley.verdict, Verdict::Aborted);
    assert!(out
        .summary
        .value("iterations", "count")
        .is_some_and(|n| n > 5.0));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        count(&out.agg, "iterations") > 5.0,
        "the summary still has the data"
    );
}

#[test]
fn a_failed_setup_stops_the_run_with_107() {
    let srv = TestServer::start();
    let w = Workload::PerVuIterations {
        vus: 1,
        iterations: 1,
        max_duration_ms: 10_000,
    };
    let mut p = plan(
        &srv.url(),
        vec![scenario("s", w, vec![Stmt::Expr(get("/ok"))])],
    );
    p.setup = Some(function(
        "setup",
        1,
        vec![Stmt::Require {
            name: "never".into(),
            cond: Expr::Const(Value::Bool(false)),
        }],
    ));
    let out = run(p, LIMIT);
    assert_eq!(out.exit_code, ExitCode::SetupFailed);
    assert_eq!(srv.count("GET /ok"), 0);
}

#[test]
fn an_after_cycle_is_refused_before_the_run() {
    let srv = TestServer::start();
    let w = || Workload::PerVuIterations {
        vus: 1,
        iterations: 1,
        max_duration_ms: 10_000,
    };
    let mut a = scenario("a", w(), vec![Stmt::Expr(get("/ok"))]);
    let mut b = scenario("b", w(), vec![Stmt::Expr(get("/ok"))]);
    a.start = volley_plan::Start::After { scenario: 1 };
    b.start = volley_plan::Start::After { scenario: 0 };
    let out = run(plan(&srv.url(), vec![a, b]), LIMIT);
    assert_eq!(out.exit_code, ExitCode::InvalidInput);
    assert_eq!(out.summary.exit_code(), ExitCode::InvalidInput);
    assert_eq!(srv.count("GET /ok"), 0);
}
