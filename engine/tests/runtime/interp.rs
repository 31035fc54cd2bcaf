//! The VU interpreter through whole runs: require, checks, conversions, data feeders,
//! secrets, groups and custom metrics, coordinated-omission correction.

use super::support::plans::*;
use super::support::server::TestServer;
use super::support::*;
use super::LIMIT;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use volley_engine::run::{RunHooks, RunOptions};
use volley_plan::program::{BinOp, Body, Builtin, Expr, Intrinsic, Stmt};
use volley_plan::ExitCode;
use volley_plan::{DataFormat, DataSource, Pick, SecretRef, Value, Workload};

#[test]
fn require_ends_the_iteration() {
    let srv = TestServer::start();
    let w = Workload::PerVuIterations {
        vus: 2,
        iterations: 3,
        max_duration_ms: 10_000,
    };
    let body = vec![
        Stmt::Let {
            slot: 0,
            value: get("/ok"),
        },
        Stmt::Require {
            name: "never".into(),
            cond: bin(BinOp::Eq, field(local(0), "status"), int(599)),
        },
        Stmt::Expr(get("/json")),
    ];
    let out = run(plan(&srv.url(), vec![scenario("s", w, body)]), LIMIT);
    assert_eq!(srv.count("GET /ok"), 6);
    assert_eq!(srv.count("GET /json"), 0);
    assert_eq!(check(&out.agg, "never"), (0.0, 6.0));
    assert_eq!(count(&out.agg, "iterations"), 0.0);
    assert_eq!(out.exit_code, ExitCode::Ok);
}

#[test]
fn checks_and_json_conversions_are_recorded() {
    let srv = TestServer::start();
    let w = Workload::PerVuIterations {
        vus: 1,
        iterations: 2,
        max_duration_ms: 10_000,
    };
    let json = |path: &str| call(Intrinsic::Json, vec![local(0), s(path)]);
    let body = vec![
        Stmt::Let {
            slot: 0,
            value: get("/json"),
        },
        Stmt::Check {
            name: "token".into(),
            cond: bin(
                BinOp::Eq,
                call(Intrinsic::AsString, vec![json("token")]),
                s("abc"),
            ),
        },
        Stmt::Check {
            name: "second id".into(),
            cond: bin(
                BinOp::Eq,
                call(Intrinsic::AsInt, vec![json("items[1].id")]),
                int(2),
            ),
        },
        Stmt::Check {
            name: "is 404".into(),
            cond: bin(BinOp::Eq, field(local(0), "status"), int(404)),
        },
        // A missing value: the conversion fails the iteration with a named check.
        Stmt::Let {
            slot: 1,
            value: call(Intrinsic::AsString, vec![json("nope")]),
        },
        Stmt::Expr(get("/ok")),
    ];
    let out = run(plan(&srv.url(), vec![scenario("s", w, body)]), LIMIT);
    assert_eq!(check(&out.agg, "token"), (2.0, 0.0));
    assert_eq!(check(&out.agg, "second id"), (2.0, 0.0));
    assert_eq!(check(&out.agg, "is 404"), (0.0, 2.0));
    assert_eq!(check(&out.agg, "json: nope is missing"), (0.0, 2.0));
    assert_eq!(srv.count("GET /ok"), 0);
    assert_eq!(count(&out.agg, "iterations"), 0.0);
}

fn users(pick: Pick, n: usize) -> DataSource {
    DataSource {
        name: "users".into(),
        format: DataFormat::Lines,
        path: "users.txt".into(),
        pick,
        columns: vec![],
        rows: (0..n).map(|i| Value::Str(format!("u{i}"))).collect(),
        slice: None,
        pack: None,
    }
}

#[test]
fn unique_data_gives_each_vu_its_own_row() {
    let srv = TestServer::start();
    let w = Workload::PerVuIterations {
        vus: 4,
        iterations: 2,
        max_duration_ms: 10_000,
    };
    let mut sc = scenario(
        "s",
        w,
        vec![
            Stmt::Expr(get("/ok")),
            Stmt::Check {
                name: "own row".into(),
                cond: bin(
                    BinOp::Eq,
                    local(0),
                    Expr::Concat(vec![
                        s("u"),
                        bin(BinOp::Sub, builtin(Builtin::VuId), int(1)),
                    ]),
                ),
            },
        ],
    );
    sc.init = vec![Stmt::Let {
        slot: 0,
        value: Expr::DataNext(0),
    }];
    let mut p = plan(&srv.url(), vec![sc]);
    p.data = vec![users(Pick::Unique, 3)];
    let out = run(p, LIMIT);
    // VUs 1..=3 have rows; VU 4 has none: its first iteration fails and it stops.
    assert_eq!(check(&out.agg, "own row"), (6.0, 0.0));
    assert_eq!(check(&out.agg, "data users: out of rows"), (0.0, 1.0));
    assert_eq!(count(&out.agg, "iterations"), 6.0);
    assert_eq!(srv.count("GET /ok"), 6);
}

#[test]
fn secrets_reach_headers() {
    let srv = TestServer::start();
    let w = Workload::PerVuIterations {
        vus: 1,
        iterations: 2,
        max_duration_ms: 10_000,
    };
    let mut echo = request("POST", s("/echo"), "/echo");
    echo.headers = Some(Expr::Record(vec![(
        "x-token".into(),
        Expr::Concat(vec![s("k-"), Expr::Secret(0)]),
    )]));
    let body = vec![
        Stmt::Let {
            slot: 0,
            value: Expr::Request(Box::new(echo)),
        },
        Stmt::Check {
            name: "secret sent".into(),
            cond: bin(BinOp::Eq, field(local(0), "body"), s("k-s3cr3t|")),
        },
        Stmt::Log(Expr::Secret(0)),
    ];
    let mut p = plan(&srv.url(), vec![scenario("s", w, body)]);
    p.secrets = vec![SecretRef {
        name: "api_key".into(),
        env: "API_KEY".into(),
    }];
    let opts = RunOptions {
        workers: 1,
        env: BTreeMap::from([("API_KEY".to_string(), "s3cr3t".to_string())]),
        ..RunOptions::default()
    };
    let out = run_opts(p, LIMIT, opts, RunHooks::default());
    assert_eq!(check(&out.agg, "secret sent"), (2.0, 0.0));
}

#[test]
fn groups_tag_samples_and_custom_metrics_are_recorded() {
    let srv = TestServer::start();
    let w = Workload::PerVuIterations {
        vus: 2,
        iterations: 3,
        max_duration_ms: 10_000,
    };
    let body = vec![
        Stmt::Group {
            name: "browse".into(),
            body: vec![Stmt::Group {
                name: "inner".into(),
                body: get_and_check(0, "/ok", "ok", 200),
            }],
        },
        Stmt::MetricAdd {
            metric: 0,
            value: field(local(0), "duration"),
        },
        Stmt::Expr(get("/created")),
    ];
    let mut p = plan(&srv.url(), vec![scenario("shop", w, body)]);
    p.metrics = vec![volley_plan::MetricDef {
        name: "my_duration".into(),
        kind: volley_plan::MetricKind::Trend,
        is_time: true,
    }];
    let out = run(p, LIMIT);
    let agg = &out.agg;
    let filter = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let inner = agg
        .view(
            "http_req_duration",
            &filter(&[("group", "browse::inner"), ("scenario", "shop")]),
        )
        .expect("requests in the inner group");
    assert_eq!(inner.count, 6);
    let root = agg
        .view(
            "http_reqs",
            &filter(&[("name", "/created"), ("status", "201")]),
        )
        .expect("requests at the root");
    assert_eq!(root.sum, 6.0);
    for g in ["browse", "browse::inner"] {
        let v = agg
            .view("group_duration", &filter(&[("group", g)]))
            .expect(g);
        assert_eq!(v.count, 6, "{g}");
    }
    assert_eq!(
        agg.checks().first().map(|c| c.group.as_str()),
        Some("browse::inner")
    );
    assert_eq!(
        agg.view("my_duration", &BTreeMap::new()).map(|v| v.count),
        Some(6)
    );
    assert!(agg
        .view("data_received", &BTreeMap::new())
        .is_some_and(|v| v.sum > 0.0));
    assert_eq!(count(&out.agg, "iteration_duration"), 6.0);
}

#[test]
fn the_first_request_of_a_late_iteration_counts_from_its_due_instant() {
    use std::cell::RefCell;
    use std::rc::Rc;
    use volley_engine::interp::{Identity, Recorder, Role, Shared, Ticket, Vu};
    use volley_engine::metrics::{Aggregate, Shard};
    let srv = TestServer::start();
    let w = Workload::ConstantArrivalRate {
        rate: 1.0,
        duration_ms: 1000,
        pre_allocated_vus: 1,
        max_vus: 1,
    };
    let body = vec![Stmt::Expr(get("/ok")), Stmt::Expr(get("/ok"))];
    let p = Arc::new(plan(&srv.url(), vec![scenario("s", w, body)]));
    let took = bounded(LIMIT, move || {
        let shared = Arc::new(Shared::new(Arc::clone(&p), vec![], Default::default()).unwrap());
        let shard = Rc::new(RefCell::new(Shard::new(Arc::clone(&shared.registry))));
        let rec = Recorder::new(Rc::clone(&shard), "s", &BTreeMap::new());
        let mut vu = Vu::new(
            shared,
            rec,
            Role::Scenario(0),
            Identity { id: 1, local_id: 1 },
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        tokio::task::LocalSet::new().block_on(&rt, async {
            let due = Instant::now() - Duration::from_millis(500);
            let ticket = Ticket {
                test_iteration: 0,
                due: Some(due),
            };
            vu.run_iteration(ticket).await;
        });
        let mut agg = Aggregate::new(Arc::clone(shard.borrow().registry()));
        agg.merge(&shard.borrow_mut().take());
        let v = agg.view("http_req_duration", &BTreeMap::new()).unwrap();
        (v.count, v.max, v.min)
    });
    let (n, max, min) = took;
    assert_eq!(n, 2);
    assert!(max >= 500.0, "the first request waited 500 ms: {max}");
    assert!(min < 400.0, "the second did not: {min}");
}

#[test]
fn unique_per_iteration_stops_vus_out_of_data() {
    let srv = TestServer::start();
    let w = Workload::SharedIterations {
        vus: 2,
        iterations: 10,
        max_duration_ms: 10_000,
    };
    let mut echo = request("POST", s("/echo"), "/echo");
    echo.body = Body::Raw(Expr::DataNext(0));
    let body = vec![Stmt::Expr(Expr::Request(Box::new(echo)))];
    let mut p = plan(&srv.url(), vec![scenario("s", w, body)]);
    p.data = vec![users(Pick::UniquePerIteration, 5)];
    let out = run(p, LIMIT);
    assert_eq!(srv.count("POST /echo"), 5);
    assert_eq!(count(&out.agg, "iterations"), 5.0);
    assert_eq!(check(&out.agg, "data users: out of data"), (0.0, 2.0));
}

/// A request's own `redirects:` known only at run time: a value from 0 to 1000 is the
/// request's limit; any other stops the iteration before the send, as a failed check.
#[test]
fn a_runtime_redirect_limit_out_of_range_stops_the_iteration() {
    let srv = TestServer::start();
    let w = Workload::PerVuIterations {
        vus: 1,
        iterations: 2,
        max_duration_ms: 10_000,
    };
    let with = |path: &str, n: Expr| {
        let mut r = request("GET", s(path), path);
        r.redirects = Some(n);
        Expr::Request(Box::new(r))
    };
    let body = vec![
        Stmt::Expr(with("/ok", bin(BinOp::Add, int(999), int(1)))),
        Stmt::Expr(with("/json", bin(BinOp::Add, int(1000), int(1)))),
        Stmt::Expr(get("/created")),
    ];
    let out = run(plan(&srv.url(), vec![scenario("s", w, body)]), LIMIT);
    assert_eq!(srv.count("GET /ok"), 2);
    assert_eq!(srv.count("GET /json"), 0);
    assert_eq!(srv.count("GET /created"), 0);
    assert_eq!(
        check(&out.agg, "request /json: redirects out of range"),
        (0.0, 2.0)
    );
    assert_eq!(count(&out.agg, "iterations"), 0.0);
}
