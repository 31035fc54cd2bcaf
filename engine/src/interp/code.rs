//! The plan's instruction form, prepared once per run for fast interpretation.
//!
//! Mirrors `volley_plan::program` node for node, with what would otherwise be redone on
//! every evaluation done once: constants converted to runtime values, names and check
//! names shared (`Arc<str>`), methods parsed, URLs of constant paths parsed, and every
//! expression marked `sync` when it contains no request or flow call (so the interpreter
//! evaluates it without allocating futures). Every index (flow, target, data source,
//! metric, secret, setup value) is checked here, so the interpreter never meets a
//! dangling one. This module must not execute anything.

use super::ProgramError;
use crate::value::Value;
use http::Method;
use std::sync::Arc;
use std::time::Duration;
use url::Url;
use volley_plan::program::{self as p, BinOp, UnOp};
use volley_plan::{Builtin, Intrinsic, Plan};

pub type Block = Box<[Stmt]>;

pub enum Stmt {
    Let {
        slot: u32,
        value: Expr,
    },
    Expr(Expr),
    /// `check` (`require == false`) or `require`.
    Check {
        name: Arc<str>,
        cond: Expr,
        require: bool,
    },
    Sleep(Expr),
    ThinkUniform {
        low: Expr,
        high: Expr,
    },
    ThinkExponential {
        mean: Expr,
    },
    Group {
        name: Arc<str>,
        body: Block,
    },
    If {
        cond: Expr,
        then: Block,
        otherwise: Block,
    },
    Repeat {
        count: Expr,
        body: Block,
    },
    Return(Option<Expr>),
    MetricAdd {
        metric: u32,
        value: Expr,
    },
    Log(Expr),
    /// A `var`'s new value (`Let` stores the first).
    Assign {
        slot: u32,
        value: Expr,
    },
    ForRange {
        slot: u32,
        low: Expr,
        high: Expr,
        body: Block,
    },
    ForEach {
        slot: u32,
        items: Expr,
        body: Block,
    },
    While {
        cond: Expr,
        body: Block,
    },
    Break,
    Continue,
}

pub struct Expr {
    pub kind: ExprKind,
    /// No request or flow call anywhere inside: evaluated synchronously.
    pub sync: bool,
}

pub enum ExprKind {
    Const(Value),
    Local(u32),
    Setup(u32),
    Secret(u32),
    Builtin(Builtin),
    Field(Box<Expr>, Arc<str>),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Concat(Box<[Expr]>),
    List(Box<[Expr]>),
    Record(Box<[(Arc<str>, Expr)]>),
    Request(Box<Request>),
    /// `grpc.invoke(..)`.
    Grpc(Box<super::grpc::GrpcCode>),
    CallFlow {
        flow: u32,
        args: Box<[Expr]>,
    },
    Call {
        intrinsic: Intrinsic,
        args: Box<[Expr]>,
        /// What a conversion converts, for its error (`json: token`), when known.
        label: Option<Arc<str>>,
    },
    DataNext(u32),
    Check {
        name: Arc<str>,
        cond: Box<Expr>,
    },
}

pub struct Request {
    pub method: Method,
    /// The `method` tag.
    pub method_tag: Arc<str>,
    pub target: u32,
    pub path: Expr,
    pub query: Option<Expr>,
    pub headers: Option<Expr>,
    pub body: Body,
    /// The `name` tag.
    pub name: Arc<str>,
    pub timeout: Option<Duration>,
    /// `redirects: N`: this request's redirect limit, over the scenario's.
    pub redirects: Option<Expr>,
    pub expect: (u16, u16),
    /// The whole URL when the path is a constant and there is no query record.
    pub static_url: Option<Arc<Url>>,
    /// `cookies: {..}`: the request's own cookies.
    pub cookies: Option<Expr>,
    /// `compress: "gzip"`: gzip the body.
    pub gzip: bool,
    /// The request's constant tags (`None` without any, or when it has dynamic ones:
    /// then they are in `dynamic_tags`' maps).
    pub tags: Option<super::tags::TagMap>,
    /// The request's tags known only at run time.
    pub dynamic_tags: Option<Box<super::tags::DynamicTags>>,
}

pub enum Body {
    None,
    Json(Expr),
    Form(Expr),
    Raw(Expr),
    /// `multipart: {..}`: the parts, their headers built once here.
    Multipart(Vec<Part>),
}

/// One part of a multipart body: its headers (up to the empty line) and its content.
pub struct Part {
    pub head: bytes::Bytes,
    pub content: PartContent,
}

pub enum PartContent {
    /// A text field, evaluated per request.
    Text(Expr),
    /// A file of the plan: one buffer shared by every request that sends it.
    File(bytes::Bytes),
}

pub struct Function {
    pub name: Arc<str>,
    pub params: u32,
    pub frame_size: u32,
    pub body: Block,
}

pub struct ScenarioCode {
    pub frame_size: u32,
    pub init: Block,
    pub iteration: Block,
}

/// The whole plan's code, ready to run; shared read-only by every worker.
pub struct Program {
    pub flows: Vec<Function>,
    pub setup: Option<Function>,
    pub teardown: Option<Function>,
    pub scenarios: Vec<ScenarioCode>,
    /// Target base URLs without a trailing `/`.
    pub targets: Vec<String>,
    /// For each setup value (`Expr::Setup(i)`), the setup frame slot holding it.
    pub setup_slots: Vec<Option<u32>>,
    /// The regex methods' constant patterns, compiled once.
    pub regexes: super::text::Regexes,
}

struct Lower<'a> {
    plan: &'a Plan,
    targets: &'a [String],
    /// `Plan::files`, each in one shared buffer.
    files: Vec<bytes::Bytes>,
    /// `Plan::protos`, decoded.
    protos: Vec<prost_reflect::DescriptorPool>,
}

impl Program {
    /// The setup values from what setup left: the list it returned when it has one value
    /// per `Plan::setup_values` (the compiler ends setup with `return [v0, v1, ..]`), else
    /// the slots of setup's top-level `let`s, in order.
    pub fn setup_values(&self, frame: &[Value], returned: Option<Value>) -> Vec<Value> {
        if let Some(Value::List(items)) = returned {
            if items.len() == self.setup_slots.len() {
                return items.to_vec();
            }
        }
        self.setup_slots
            .iter()
            .map(|slot| {
                slot.and_then(|s| frame.get(s as usize).cloned())
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Prepares the plan's code; an error names what is wrong with the plan.
    pub fn new(plan: &Plan) -> Result<Program, ProgramError> {
        let mut targets = Vec::with_capacity(plan.targets.len());
        for t in &plan.targets {
            let url = Url::parse(&t.url).map_err(|source| ProgramError::TargetUrl {
                name: t.name.clone(),
                url: t.url.clone(),
                source,
            })?;
            if !matches!(url.scheme(), "http" | "https" | "ws" | "wss") {
                return Err(ProgramError::TargetScheme {
                    name: t.name.clone(),
                });
            }
            targets.push(t.url.trim_end_matches('/').to_string());
        }
        check_starts(plan)?;
        let l = Lower {
            plan,
            targets: &targets,
            files: plan
                .files
                .iter()
                .map(|f| bytes::Bytes::from(f.bytes.clone()))
                .collect(),
            protos: plan
                .protos
                .iter()
                .map(|p| {
                    prost_reflect::DescriptorPool::decode(p.bytes.as_slice()).map_err(|e| {
                        ProgramError::Proto {
                            path: p.path.clone(),
                            why: e.to_string(),
                        }
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let function = |f: &p::Function| -> Result<Function, ProgramError> {
            Ok(Function {
                name: Arc::from(f.name.as_str()),
                params: f.params,
                frame_size: f.frame_size.max(f.params),
                body: l.block(&f.body)?,
            })
        };
        let flows = plan.flows.iter().map(function).collect::<Result<_, _>>()?;
        let setup = plan.setup.as_ref().map(function).transpose()?;
        let teardown = plan.teardown.as_ref().map(function).transpose()?;
        let scenarios = plan
            .scenarios
            .iter()
            .map(|s| {
                Ok(ScenarioCode {
                    frame_size: s.frame_size,
                    init: l.block(&s.init)?,
                    iteration: l.block(&s.iteration)?,
                })
            })
            .collect::<Result<_, ProgramError>>()?;
        // Setup values are setup's top-level `let`s, in order.
        let lets: Vec<u32> = plan
            .setup
            .iter()
            .flat_map(|f| f.body.iter())
            .filter_map(|s| match s {
                p::Stmt::Let { slot, .. } => Some(*slot),
                _ => None,
            })
            .collect();
        let setup_slots = (0..plan.setup_values.len())
            .map(|i| lets.get(i).copied())
            .collect();
        Ok(Program {
            flows,
            setup,
            teardown,
            scenarios,
            setup_slots,
            targets,
            regexes: super::text::Regexes::of_plan(plan),
        })
    }
}

impl Lower<'_> {
    fn block(&self, stmts: &[p::Stmt]) -> Result<Block, ProgramError> {
        stmts.iter().map(|s| self.stmt(s)).collect()
    }

    fn stmt(&self, s: &p::Stmt) -> Result<Stmt, ProgramError> {
        Ok(match s {
            p::Stmt::Let { slot, value } => Stmt::Let {
                slot: *slot,
                value: self.expr(value)?,
            },
            p::Stmt::Expr(e) => Stmt::Expr(self.expr(e)?),
            p::Stmt::Check { name, cond } => Stmt::Check {
                name: Arc::from(name.as_str()),
                cond: self.expr(cond)?,
                require: false,
            },
            p::Stmt::Require { name, cond } => Stmt::Check {
                name: Arc::from(name.as_str()),
                cond: self.expr(cond)?,
                require: true,
            },
            p::Stmt::Sleep(e) => Stmt::Sleep(self.expr(e)?),
            p::Stmt::ThinkUniform { low, high } => Stmt::ThinkUniform {
                low: self.expr(low)?,
                high: self.expr(high)?,
            },
            p::Stmt::ThinkExponential { mean } => Stmt::ThinkExponential {
                mean: self.expr(mean)?,
            },
            p::Stmt::Group { name, body } => Stmt::Group {
                name: Arc::from(name.as_str()),
                body: self.block(body)?,
            },
            p::Stmt::If {
                cond,
                then,
                otherwise,
            } => Stmt::If {
                cond: self.expr(cond)?,
                then: self.block(then)?,
                otherwise: self.block(otherwise)?,
            },
            p::Stmt::Repeat { count, body } => Stmt::Repeat {
                count: self.expr(count)?,
                body: self.block(body)?,
            },
            p::Stmt::Return(e) => Stmt::Return(e.as_ref().map(|e| self.expr(e)).transpose()?),
            p::Stmt::MetricAdd { metric, value } => {
                check_index("metric", *metric, self.plan.metrics.len())?;
                Stmt::MetricAdd {
                    metric: *metric,
                    value: self.expr(value)?,
                }
            }
            p::Stmt::Log(e) => Stmt::Log(self.expr(e)?),
            p::Stmt::Assign { slot, value } => Stmt::Assign {
                slot: *slot,
                value: self.expr(value)?,
            },
            p::Stmt::ForRange {
                slot,
                low,
                high,
                body,
            } => Stmt::ForRange {
                slot: *slot,
                low: self.expr(low)?,
                high: self.expr(high)?,
                body: self.block(body)?,
            },
            p::Stmt::ForEach { slot, items, body } => Stmt::ForEach {
                slot: *slot,
                items: self.expr(items)?,
                body: self.block(body)?,
            },
            p::Stmt::While { cond, body } => Stmt::While {
                cond: self.expr(cond)?,
                body: self.block(body)?,
            },
            p::Stmt::Break => Stmt::Break,
            p::Stmt::Continue => Stmt::Continue,
        })
    }

    fn exprs(&self, es: &[p::Expr]) -> Result<Box<[Expr]>, ProgramError> {
        es.iter().map(|e| self.expr(e)).collect()
    }

    fn expr(&self, e: &p::Expr) -> Result<Expr, ProgramError> {
        let kind = match e {
            p::Expr::Const(v) => ExprKind::Const(Value::from(v)),
            p::Expr::Local(i) => ExprKind::Local(*i),
            p::Expr::Setup(i) => {
                check_index("setup value", *i, self.plan.setup_values.len())?;
                ExprKind::Setup(*i)
            }
            p::Expr::Secret(i) => {
                check_index("secret", *i, self.plan.secrets.len())?;
                ExprKind::Secret(*i)
            }
            p::Expr::Builtin(b) => ExprKind::Builtin(*b),
            p::Expr::Field(inner, name) => {
                ExprKind::Field(Box::new(self.expr(inner)?), Arc::from(name.as_str()))
            }
            p::Expr::Unary(op, inner) => ExprKind::Unary(*op, Box::new(self.expr(inner)?)),
            p::Expr::Binary(op, a, b) => {
                ExprKind::Binary(*op, Box::new(self.expr(a)?), Box::new(self.expr(b)?))
            }
            p::Expr::Concat(parts) => ExprKind::Concat(self.exprs(parts)?),
            p::Expr::List(items) => ExprKind::List(self.exprs(items)?),
            p::Expr::Record(fields) => ExprKind::Record(
                fields
                    .iter()
                    .map(|(k, v)| Ok((Arc::from(k.as_str()), self.expr(v)?)))
                    .collect::<Result<_, ProgramError>>()?,
            ),
            p::Expr::Request(r) => ExprKind::Request(Box::new(self.request(r)?)),
            p::Expr::Grpc(g) => ExprKind::Grpc(Box::new(self.grpc(g)?)),
            p::Expr::CallFlow { flow, args } => {
                check_index("flow", *flow, self.plan.flows.len())?;
                ExprKind::CallFlow {
                    flow: *flow,
                    args: self.exprs(args)?,
                }
            }
            p::Expr::Call { intrinsic, args } => ExprKind::Call {
                intrinsic: *intrinsic,
                args: self.exprs(args)?,
                label: conversion_label(*intrinsic, args),
            },
            p::Expr::DataNext(i) => {
                check_index("data source", *i, self.plan.data.len())?;
                ExprKind::DataNext(*i)
            }
            p::Expr::Check { name, cond } => ExprKind::Check {
                name: Arc::from(name.as_str()),
                cond: Box::new(self.expr(cond)?),
            },
        };
        let sync = match &kind {
            ExprKind::Request(_) | ExprKind::Grpc(_) | ExprKind::CallFlow { .. } => false,
            ExprKind::Const(_)
            | ExprKind::Local(_)
            | ExprKind::Setup(_)
            | ExprKind::Secret(_)
            | ExprKind::Builtin(_)
            | ExprKind::DataNext(_) => true,
            ExprKind::Field(e, _) | ExprKind::Unary(_, e) | ExprKind::Check { cond: e, .. } => {
                e.sync
            }
            ExprKind::Binary(_, a, b) => a.sync && b.sync,
            ExprKind::Call {
                intrinsic, args, ..
            } => !intrinsic.waits() && args.iter().all(|e| e.sync),
            ExprKind::Concat(es) | ExprKind::List(es) => es.iter().all(|e| e.sync),
            ExprKind::Record(fields) => fields.iter().all(|(_, e)| e.sync),
        };
        Ok(Expr { kind, sync })
    }

    fn grpc(&self, g: &volley_plan::grpc::GrpcCall) -> Result<super::grpc::GrpcCode, ProgramError> {
        check_index("target", g.target, self.targets.len())?;
        check_index("proto", g.proto, self.protos.len())?;
        let missing = |why: String| ProgramError::Proto {
            path: self
                .plan
                .protos
                .get(g.proto as usize)
                .map_or_else(String::new, |p| p.path.clone()),
            why,
        };
        let (service, method) = g
            .method
            .split_once('/')
            .ok_or_else(|| missing(format!("{:?} is not Service/Method", g.method)))?;
        let method = self
            .protos
            .get(g.proto as usize)
            .and_then(|p| p.get_service_by_name(service))
            .and_then(|s| s.methods().find(|m| m.name() == method))
            .ok_or_else(|| missing(format!("no method {}", g.method)))?;
        let name = format!("/{}", g.method);
        let path = http::uri::PathAndQuery::try_from(name.as_str())
            .map_err(|e| missing(format!("{name}: {e}")))?;
        Ok(super::grpc::GrpcCode {
            stream: g.stream,
            target: g.target,
            method,
            path,
            name: Arc::from(name.as_str()),
            message: self.expr(&g.message)?,
            metadata: g.metadata.as_ref().map(|m| self.expr(m)).transpose()?,
            timeout: g.timeout_ms.map(Duration::from_millis),
            tags: (!g.tags.is_empty()).then(|| Arc::new(g.tags.clone())),
        })
    }

    fn request(&self, r: &p::Request) -> Result<Request, ProgramError> {
        check_index("target", r.target, self.targets.len())?;
        // The standard methods in capitals whatever their case; others as written.
        let upper = r.method.to_ascii_uppercase();
        let standard = matches!(
            upper.as_str(),
            "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS"
        );
        let method = Method::from_bytes(if standard { &upper } else { &r.method }.as_bytes())
            .map_err(|_| ProgramError::Method(r.method.clone()))?;
        let path = self.expr(&r.path)?;
        let static_url = match (&path.kind, &r.query) {
            (ExprKind::Const(Value::Str(s)), None) => {
                Url::parse(&join_url(&self.targets[r.target as usize], s))
                    .ok()
                    .map(Arc::new)
            }
            _ => None,
        };
        Ok(Request {
            method_tag: Arc::from(method.as_str()),
            method,
            target: r.target,
            path,
            query: r.query.as_ref().map(|q| self.expr(q)).transpose()?,
            headers: r.headers.as_ref().map(|h| self.expr(h)).transpose()?,
            body: match &r.body {
                p::Body::None => Body::None,
                p::Body::Json(e) => Body::Json(self.expr(e)?),
                p::Body::Form(e) => Body::Form(self.expr(e)?),
                p::Body::Raw(e) => Body::Raw(self.expr(e)?),
                p::Body::Multipart(parts) => Body::Multipart(self.parts(parts)?),
            },
            name: Arc::from(r.name.as_str()),
            timeout: r.timeout_ms.map(Duration::from_millis),
            redirects: r.redirects.as_ref().map(|n| self.expr(n)).transpose()?,
            expect: r.expect,
            cookies: r.cookies.as_ref().map(|c| self.expr(c)).transpose()?,
            gzip: r.compress.as_deref() == Some("gzip"),
            static_url,
            tags: (!r.tags.is_empty() && r.dynamic_tags.is_empty())
                .then(|| Arc::new(r.tags.clone())),
            dynamic_tags: match r.dynamic_tags.is_empty() {
                true => None,
                false => Some(Box::new(super::tags::DynamicTags::new(
                    r.dynamic_tags
                        .iter()
                        .map(|(k, _)| Arc::from(k.as_str()))
                        .collect(),
                    r.dynamic_tags
                        .iter()
                        .map(|(_, e)| self.expr(e))
                        .collect::<Result<_, _>>()?,
                    r.tags.clone(),
                    Arc::from(r.name.as_str()),
                ))),
            },
        })
    }
}

impl Lower<'_> {
    /// A multipart body's parts: headers built once, files shared.
    fn parts(&self, parts: &[p::Part]) -> Result<Vec<Part>, ProgramError> {
        use crate::http::multipart::{file_head, text_head};
        parts
            .iter()
            .map(|part| {
                Ok(match &part.value {
                    p::PartValue::Text(e) => Part {
                        head: text_head(&part.name),
                        content: PartContent::Text(self.expr(e)?),
                    },
                    p::PartValue::File {
                        file,
                        filename,
                        content_type,
                    } => {
                        check_index("file", *file, self.files.len())?;
                        Part {
                            head: file_head(&part.name, filename, content_type),
                            content: PartContent::File(self.files[*file as usize].clone()),
                        }
                    }
                })
            })
            .collect()
    }
}

/// `base` (no trailing `/`) joined with a path: exactly one `/` between them.
pub fn join_url(base: &str, path: &str) -> String {
    if path.is_empty() {
        return base.to_string();
    }
    if path.starts_with('/') || path.starts_with('?') {
        format!("{base}{path}")
    } else {
        format!("{base}/{path}")
    }
}

/// `start = after(X)` must name another scenario and never loop back (a loop would wait
/// forever).
fn check_starts(plan: &Plan) -> Result<(), ProgramError> {
    let n = plan.scenarios.len();
    for (i, s) in plan.scenarios.iter().enumerate() {
        let mut at = i;
        for _ in 0..=n {
            match plan.scenarios.get(at).map(|s| &s.start) {
                Some(volley_plan::Start::After { scenario }) => {
                    let next = *scenario as usize;
                    if next >= n {
                        return Err(ProgramError::StartsAfterMissing {
                            scenario: s.name.clone(),
                            after: next,
                        });
                    }
                    if next == i {
                        return Err(ProgramError::WaitsForItself {
                            scenario: s.name.clone(),
                        });
                    }
                    at = next;
                }
                _ => break,
            }
        }
    }
    Ok(())
}

fn check_index(what: &'static str, i: u32, len: usize) -> Result<(), ProgramError> {
    if (i as usize) < len {
        Ok(())
    } else {
        Err(ProgramError::NoSuch {
            what,
            index: i,
            len,
        })
    }
}

/// For `x.json("a.b").string()`: `json: a.b`, so a failed conversion names the path.
fn conversion_label(intrinsic: Intrinsic, args: &[p::Expr]) -> Option<Arc<str>> {
    if !matches!(
        intrinsic,
        Intrinsic::AsString | Intrinsic::AsInt | Intrinsic::AsFloat | Intrinsic::AsBool
    ) {
        return None;
    }
    match args.first() {
        Some(p::Expr::Call {
            intrinsic: Intrinsic::Json,
            args,
        }) => match args.get(1) {
            Some(p::Expr::Const(volley_plan::Value::Str(path))) if !path.is_empty() => {
                Some(Arc::from(format!("json: {path}").as_str()))
            }
            _ => Some(Arc::from("json")),
        },
        Some(p::Expr::Field(_, name)) => Some(Arc::from(name.as_str())),
        Some(p::Expr::Call {
            intrinsic: Intrinsic::Index,
            args,
        }) => match args.get(1) {
            Some(p::Expr::Const(volley_plan::Value::Str(key))) => {
                Some(Arc::from(format!("json: {key}").as_str()))
            }
            Some(p::Expr::Const(volley_plan::Value::Int(i))) => {
                Some(Arc::from(format!("json: [{i}]").as_str()))
            }
            _ => Some(Arc::from("json")),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_join_with_one_slash() {
        assert_eq!(join_url("http://h", "/a"), "http://h/a");
        assert_eq!(join_url("http://h/base", "a?x=1"), "http://h/base/a?x=1");
        assert_eq!(join_url("http://h", ""), "http://h");
    }
}
