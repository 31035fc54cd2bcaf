//! Lowering the typed IR to the plan: a direct translation (slots, indices and names are
//! already resolved), with constants emitted as `Expr::Const`. Setup's body ends with
//! `return [v0, v1, ..]`, the setup values in `Plan::setup_values` order: the engine
//! runs setup once and takes that list. Deterministic; holds no spans and no secret.

use crate::ir::{self, ExprKind, Program, StmtKind};
use crate::konst;
use std::collections::BTreeMap;
use volley_plan::program::{self as pp, Function};
use volley_plan::{DataSource, MetricDef, Plan, SecretRef, Target, Value, PLAN_VERSION};

/// The plan of `p`, with the data sources' rows copied only when `rows` is set (an
/// editor's plan is only linted, and the linter counts rows in the IR).
pub(crate) fn lower(p: &Program, rows: bool) -> Plan {
    Plan {
        version: PLAN_VERSION,
        name: p.name.clone(),
        params: p
            .params
            .iter()
            .map(|x| {
                (
                    x.name.clone(),
                    konst::to_value(&x.value).unwrap_or(Value::Null),
                )
            })
            .collect::<BTreeMap<_, _>>(),
        targets: p
            .targets
            .iter()
            .map(|t| Target {
                name: t.name.clone(),
                url: t.url.clone(),
            })
            .collect(),
        secrets: p
            .secrets
            .iter()
            .map(|s| SecretRef {
                name: s.name.clone(),
                env: s.env.clone(),
            })
            .collect(),
        data: p
            .data
            .iter()
            .map(|d| DataSource {
                name: d.name.clone(),
                format: d.format,
                path: d.path.clone(),
                pick: d.pick,
                columns: d.columns.iter().map(|(n, _)| n.clone()).collect(),
                rows: if rows { d.rows.to_vec() } else { Vec::new() },
                slice: None,
                pack: None,
            })
            .collect(),
        metrics: p
            .metrics
            .iter()
            .map(|m| MetricDef {
                name: m.name.clone(),
                kind: m.kind,
                is_time: m.is_time,
            })
            .collect(),
        flows: p
            .flows
            .iter()
            .map(|f| Function {
                name: f.name.clone(),
                params: f.params.len() as u32,
                frame_size: f.frame_size,
                body: stmts(&f.body),
            })
            .collect(),
        setup: p.setup.as_ref().map(setup),
        setup_values: p.setup_values.clone(),
        teardown: p.teardown.as_ref().map(|b| Function {
            name: "teardown".into(),
            params: 0,
            frame_size: b.frame_size,
            body: stmts(&b.body),
        }),
        scenarios: p
            .scenarios
            .iter()
            .map(|s| volley_plan::Scenario {
                name: s.name.clone(),
                workload: s.workload.clone(),
                start: s.start.clone(),
                graceful_stop_ms: s.graceful_stop_ms,
                tags: s.tags.clone(),
                http: s.http.clone(),
                frame_size: s.frame_size,
                init: stmts(&s.init),
                iteration: stmts(&s.iteration),
            })
            .collect(),
        thresholds: p.thresholds.iter().map(|t| t.threshold.clone()).collect(),
        fleet: p.fleet.clone(),
        files: p.files.clone(),
        protos: p.protos.clone(),
    }
}

/// Setup as a function returning its values, in `Plan::setup_values` order.
fn setup(b: &ir::Block) -> Function {
    let mut body = stmts(&b.body);
    let values = b
        .values
        .iter()
        .map(|(_, slot)| pp::Expr::Local(*slot))
        .collect();
    body.push(pp::Stmt::Return(Some(pp::Expr::List(values))));
    Function {
        name: "setup".into(),
        params: 0,
        frame_size: b.frame_size,
        body,
    }
}

fn stmts(body: &[ir::Stmt]) -> Vec<pp::Stmt> {
    body.iter().map(stmt).collect()
}

fn stmt(s: &ir::Stmt) -> pp::Stmt {
    match &s.kind {
        StmtKind::Let { slot, value, .. } => pp::Stmt::Let {
            slot: *slot,
            value: expr(value),
        },
        StmtKind::Expr(e) => pp::Stmt::Expr(expr(e)),
        StmtKind::Check { name, cond } => pp::Stmt::Check {
            name: name.clone(),
            cond: expr(cond),
        },
        StmtKind::Require { name, cond } => pp::Stmt::Require {
            name: name.clone(),
            cond: expr(cond),
        },
        StmtKind::Sleep(e) => pp::Stmt::Sleep(expr(e)),
        StmtKind::ThinkUniform { low, high } => pp::Stmt::ThinkUniform {
            low: expr(low),
            high: expr(high),
        },
        StmtKind::ThinkExponential { mean } => pp::Stmt::ThinkExponential { mean: expr(mean) },
        StmtKind::Group { name, body } => pp::Stmt::Group {
            name: name.clone(),
            body: stmts(body),
        },
        StmtKind::If {
            cond,
            then,
            otherwise,
        } => pp::Stmt::If {
            cond: expr(cond),
            then: stmts(then),
            otherwise: stmts(otherwise),
        },
        StmtKind::Repeat { count, body } => pp::Stmt::Repeat {
            count: expr(count),
            body: stmts(body),
        },
        StmtKind::Return(e) => pp::Stmt::Return(e.as_ref().map(expr)),
        StmtKind::MetricAdd { metric, value } => pp::Stmt::MetricAdd {
            metric: *metric,
            value: expr(value),
        },
        StmtKind::Log(e) => pp::Stmt::Log(expr(e)),
        StmtKind::Assign { slot, value, .. } => pp::Stmt::Assign {
            slot: *slot,
            value: expr(value),
        },
        StmtKind::ForRange {
            slot,
            low,
            high,
            body,
            ..
        } => pp::Stmt::ForRange {
            slot: *slot,
            low: expr(low),
            high: expr(high),
            body: stmts(body),
        },
        StmtKind::ForEach {
            slot, items, body, ..
        } => pp::Stmt::ForEach {
            slot: *slot,
            items: expr(items),
            body: stmts(body),
        },
        StmtKind::While { cond, body } => pp::Stmt::While {
            cond: expr(cond),
            body: stmts(body),
        },
        StmtKind::Break => pp::Stmt::Break,
        StmtKind::Continue => pp::Stmt::Continue,
    }
}

fn grpc(g: &ir::GrpcCall) -> pp::Expr {
    pp::Expr::Grpc(Box::new(volley_plan::grpc::GrpcCall {
        stream: g.stream,
        target: g.target,
        proto: g.proto,
        method: g.method.clone(),
        message: expr(&g.message),
        metadata: g.metadata.as_ref().map(expr),
        timeout_ms: g.timeout_ms,
        tags: g.tags.clone(),
    }))
}

/// Whether evaluating `e` has an effect (a check records a sample, a request or call is
/// sent), so that its code stays even when its value is folded.
fn has_effect(e: &ir::Expr) -> bool {
    matches!(
        e.kind,
        ExprKind::Check { .. }
            | ExprKind::Request(_)
            | ExprKind::Grpc(_)
            | ExprKind::CallFlow { .. }
    )
}

fn expr(e: &ir::Expr) -> pp::Expr {
    // Folded values are constants, unless evaluating has an effect.
    if !has_effect(e) {
        if let Some(v) = e.konst.as_ref().and_then(konst::to_value) {
            return pp::Expr::Const(v);
        }
    }
    match &e.kind {
        ExprKind::Const
        | ExprKind::Item(_)
        | ExprKind::FnCall { .. }
        | ExprKind::Workload { .. }
        | ExprKind::Error => pp::Expr::Const(Value::Null),
        ExprKind::Local(slot, _) => pp::Expr::Local(*slot),
        ExprKind::Setup(i) => pp::Expr::Setup(*i),
        ExprKind::Secret(i) => pp::Expr::Secret(*i),
        ExprKind::Builtin(b) => pp::Expr::Builtin(*b),
        ExprKind::Field(b, name) => pp::Expr::Field(Box::new(expr(b)), name.clone()),
        ExprKind::Unary(op, x) => pp::Expr::Unary(*op, Box::new(expr(x))),
        ExprKind::Binary(op, a, b) => pp::Expr::Binary(*op, Box::new(expr(a)), Box::new(expr(b))),
        ExprKind::Concat(xs) => pp::Expr::Concat(xs.iter().map(expr).collect()),
        ExprKind::List(xs) => pp::Expr::List(xs.iter().map(expr).collect()),
        ExprKind::Record(fs) => {
            pp::Expr::Record(fs.iter().map(|(k, v)| (k.clone(), expr(v))).collect())
        }
        ExprKind::Stage(a, b) | ExprKind::Range(a, b) => pp::Expr::List(vec![expr(a), expr(b)]),
        ExprKind::Request(r) => pp::Expr::Request(Box::new(pp::Request {
            method: r.method.clone(),
            target: r.target,
            path: expr(&r.path),
            query: r.query.as_ref().map(expr),
            headers: r.headers.as_ref().map(expr),
            body: match &r.body {
                ir::Body::None => pp::Body::None,
                ir::Body::Json(x) => pp::Body::Json(expr(x)),
                ir::Body::Form(x) => pp::Body::Form(expr(x)),
                ir::Body::Raw(x) => pp::Body::Raw(expr(x)),
                ir::Body::Multipart(parts) => pp::Body::Multipart(
                    parts
                        .iter()
                        .map(|p| pp::Part {
                            name: p.name.clone(),
                            value: match &p.value {
                                ir::PartValue::Text(x) => pp::PartValue::Text(expr(x)),
                                ir::PartValue::File {
                                    file,
                                    filename,
                                    content_type,
                                } => pp::PartValue::File {
                                    file: *file,
                                    filename: filename.clone(),
                                    content_type: content_type.clone(),
                                },
                            },
                        })
                        .collect(),
                ),
            },
            name: r.name.clone(),
            timeout_ms: r.timeout_ms,
            redirects: r.redirects.as_ref().map(expr),
            expect: r.expect,
            cookies: r.cookies.as_ref().map(expr),
            compress: r.compress.clone(),
            tags: r
                .tags
                .iter()
                .filter_map(|(k, v)| match &v.konst {
                    Some(ir::Const::Str(s)) => Some((k.clone(), s.clone())),
                    _ => None,
                })
                .collect(),
            dynamic_tags: r
                .tags
                .iter()
                .filter(|(_, v)| !matches!(v.konst, Some(ir::Const::Str(_))))
                .map(|(k, v)| (k.clone(), expr(v)))
                .collect(),
        })),
        ExprKind::Grpc(g) => grpc(g),
        ExprKind::CallFlow { flow, args } => pp::Expr::CallFlow {
            flow: *flow,
            args: args.iter().map(expr).collect(),
        },
        ExprKind::Inlined { body, .. } => expr(body),
        ExprKind::Intrinsic(i, args) => pp::Expr::Call {
            intrinsic: *i,
            args: args.iter().map(expr).collect(),
        },
        ExprKind::DataNext(i) => pp::Expr::DataNext(*i),
        ExprKind::Check { name, cond } => pp::Expr::Check {
            name: name.clone(),
            cond: Box::new(expr(cond)),
        },
    }
}
