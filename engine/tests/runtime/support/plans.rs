//! Plans built by hand (struct literals), as the compiler would produce them.

use std::collections::BTreeMap;
use volley_plan::program::{BinOp, Body, Builtin, Expr, Function, Intrinsic, Request, Stmt};
use volley_plan::{
    Aggregation, CmpOp, Condition, Fleet, HttpOptions, Plan, Scenario, Start, Threshold, Value,
    Workload, PLAN_VERSION,
};

pub fn plan(base: &str, scenarios: Vec<Scenario>) -> Plan {
    Plan {
        version: PLAN_VERSION,
        name: "test".into(),
        params: BTreeMap::new(),
        targets: vec![volley_plan::Target {
            name: "api".into(),
            url: base.into(),
        }],
        secrets: vec![],
        data: vec![],
        metrics: vec![],
        flows: vec![],
        setup: None,
        setup_values: vec![],
        teardown: None,
        scenarios,
        thresholds: vec![],
        fleet: Fleet::default(),
        files: Vec::new(),
        protos: Vec::new(),
    }
}

pub fn scenario(name: &str, workload: Workload, iteration: Vec<Stmt>) -> Scenario {
    Scenario {
        name: name.into(),
        workload,
        start: Start::Immediately,
        graceful_stop_ms: 1000,
        tags: BTreeMap::new(),
        http: HttpOptions::default(),
        frame_size: 8,
        init: vec![],
        iteration,
    }
}

pub fn s(text: &str) -> Expr {
    Expr::Const(Value::Str(text.into()))
}

pub fn int(i: i64) -> Expr {
    Expr::Const(Value::Int(i))
}

pub fn request(method: &str, path: Expr, name: &str) -> Request {
    Request {
        method: method.into(),
        target: 0,
        path,
        query: None,
        headers: None,
        body: Body::None,
        name: name.into(),
        timeout_ms: None,
        redirects: None,
        expect: (200, 399),
        cookies: None,
        compress: None,
        tags: Default::default(),
        dynamic_tags: Vec::new(),
    }
}

pub fn get(path: &str) -> Expr {
    Expr::Request(Box::new(request("GET", s(path), path)))
}

pub fn field(e: Expr, name: &str) -> Expr {
    Expr::Field(Box::new(e), name.into())
}

pub fn bin(op: BinOp, a: Expr, b: Expr) -> Expr {
    Expr::Binary(op, Box::new(a), Box::new(b))
}

pub fn local(i: u32) -> Expr {
    Expr::Local(i)
}

pub fn builtin(b: Builtin) -> Expr {
    Expr::Builtin(b)
}

pub fn call(intrinsic: Intrinsic, args: Vec<Expr>) -> Expr {
    Expr::Call { intrinsic, args }
}

/// `let r = get(path); check name: r.status == status`
pub fn get_and_check(slot: u32, path: &str, name: &str, status: i64) -> Vec<Stmt> {
    vec![
        Stmt::Let {
            slot,
            value: get(path),
        },
        Stmt::Check {
            name: name.into(),
            cond: bin(BinOp::Eq, field(local(slot), "status"), int(status)),
        },
    ]
}

pub fn threshold(
    metric: &str,
    aggregation: Aggregation,
    op: CmpOp,
    value: f64,
    abort: bool,
) -> Threshold {
    Threshold {
        metric: metric.into(),
        tags: BTreeMap::new(),
        conditions: vec![Condition {
            aggregation,
            percentile: None,
            op,
            value,
            source: format!("{aggregation:?} {op:?} {value}"),
            baseline: None,
        }],
        abort_on_fail: abort,
        delay_abort_eval_ms: 0,
    }
}

pub fn function(name: &str, frame_size: u32, body: Vec<Stmt>) -> Function {
    Function {
        name: name.into(),
        params: 0,
        frame_size,
        body,
    }
}
