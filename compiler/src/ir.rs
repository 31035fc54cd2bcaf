//! The typed IR: names resolved, types and units checked, constants evaluated.
//!
//! It is what the lowering to the plan reads and what lint rules inspect. Every
//! expression records its type, its compile-time value when known, where it is in the
//! source (`Loc`: module and span) and where its value came from (`origins`: literal,
//! param, `vu.id`, a data row and its pick strategy, a random intrinsic and its range, a
//! response, a secret, ...). Statements already carry their frame slots, so lowering is a
//! direct translation. The IR holds no secret value and does no IO.

use crate::types::Type;
pub use volley_plan::{Builtin, Intrinsic, Pick};
use volley_plan::{DataFormat, Fleet, HttpOptions, MetricKind, Start, Threshold, Value, Workload};
pub use volley_syntax::ast::Span;

/// Index of a loaded module: 0 is the entry file.
pub type ModuleId = u32;

/// A place in the source: which module and which byte range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Loc {
    pub module: ModuleId,
    pub span: Span,
}

impl Loc {
    pub fn new(module: ModuleId, span: Span) -> Self {
        Loc { module, span }
    }
}

/// A compile-time value. Units are normalised: durations in ms, rates per second, sizes
/// in bytes, percentages as fractions.
#[derive(Clone, Debug, PartialEq)]
pub enum Const {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Url(String),
    Duration(f64),
    Rate(f64),
    Size(f64),
    Percent(f64),
    List(Vec<Const>),
    /// Fields in source order.
    Record(Vec<(String, Const)>),
    Stage {
        duration_ms: f64,
        target: Box<Const>,
    },
    Range(Box<Const>, Box<Const>),
    Workload(Box<Workload>),
    /// A target by index into `Program::targets`.
    Target(u32),
    Json(serde_json::Value),
}

/// Where (part of) a value came from. An expression lists every origin of its parts,
/// sorted and without duplicates, so `"user{vu.local_id}"` has `[Literal, VuLocalId]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A literal written in the source (or a constant computed only from literals).
    Literal,
    /// A `param`, by name (its value may come from `--param`).
    Param(String),
    /// `vu.id`, `vu.local_id`, `vu.iteration`, `test.iteration`, `runner.index`, ...
    Identity(Builtin),
    /// A row of a data source (index into `Program::data`) and its pick strategy.
    Data { source: u32, pick: Pick },
    /// A random intrinsic; `space` is the number of distinct values it can give when
    /// known (`random_int(1, 100)` → 100), saturating at `u64::MAX`.
    Random {
        intrinsic: Intrinsic,
        space: Option<u64>,
    },
    /// Anything read from an HTTP response.
    Response,
    /// A secret (index into `Program::secrets`).
    Secret(u32),
    /// A setup value (index into `Program::setup_values`).
    Setup(u32),
    /// Inside a flow body: the flow's parameter `n` (resolved per call site).
    FlowParam(u32),
}

impl Origin {
    /// A total order key (the plan's enums are compared by discriminant).
    fn key(&self) -> (u8, u64, &str, Option<u64>) {
        match self {
            Origin::Literal => (0, 0, "", None),
            Origin::Param(n) => (1, 0, n, None),
            Origin::Identity(b) => (2, *b as u64, "", None),
            Origin::Data { source, pick } => (3, u64::from(*source) << 8 | *pick as u64, "", None),
            Origin::Random { intrinsic, space } => (4, *intrinsic as u64, "", *space),
            Origin::Response => (5, 0, "", None),
            Origin::Secret(i) => (6, u64::from(*i), "", None),
            Origin::Setup(i) => (7, u64::from(*i), "", None),
            Origin::FlowParam(i) => (8, u64::from(*i), "", None),
        }
    }
}

impl PartialOrd for Origin {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Origin {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// Adds `more` into a sorted, deduplicated origin set.
pub fn merge_origins(into: &mut Vec<Origin>, more: &[Origin]) {
    for o in more {
        if let Err(pos) = into.binary_search(o) {
            into.insert(pos, o.clone());
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Type,
    /// Known at compile time (folded); lowering emits it as a constant.
    pub konst: Option<Const>,
    /// Compile-time even if the value is not known yet (a `fn` parameter while the `fn`
    /// body is checked generically).
    pub comptime: bool,
    pub origins: Vec<Origin>,
    pub loc: Loc,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A literal or a folded value (see `Expr::konst`).
    Const,
    /// A reference to a compile-time item (param, top-level let, fn result); see `konst`.
    Item(String),
    /// A local slot of the current frame, with the name it was bound to.
    Local(u32, String),
    Setup(u32),
    Secret(u32),
    Builtin(Builtin),
    Field(Box<Expr>, String),
    Unary(volley_plan::program::UnOp, Box<Expr>),
    Binary(volley_plan::program::BinOp, Box<Expr>, Box<Expr>),
    Concat(Vec<Expr>),
    List(Vec<Expr>),
    Record(Vec<(String, Expr)>),
    Stage(Box<Expr>, Box<Expr>),
    Range(Box<Expr>, Box<Expr>),
    Request(Box<Request>),
    /// `grpc.invoke(..)`: a unary gRPC call (`checker/grpc/`).
    Grpc(Box<GrpcCall>),
    /// A call of a flow instance (index into `Program::flows`).
    CallFlow {
        flow: u32,
        args: Vec<Expr>,
    },
    /// A call of a one-`return` flow expanded in place (`ok(res)`, `data.random_int(1, 9)`).
    Inlined {
        flow: String,
        body: Box<Expr>,
    },
    /// A call of a `fn`, evaluated at compile time (see `konst`).
    FnCall {
        callee: Box<Callee>,
        args: Vec<Expr>,
    },
    /// A workload whose arguments are constants not yet known (inside a `fn` body, where
    /// they depend on the parameters): the evaluator builds it at each call. `args` has
    /// one entry per parameter of the workload's table, `None` for its default.
    Workload {
        name: String,
        args: Vec<Option<Expr>>,
    },
    Intrinsic(Intrinsic, Vec<Expr>),
    DataNext(u32),
    Check {
        name: String,
        cond: Box<Expr>,
    },
    /// The result of an error already reported.
    Error,
}

/// The `fn` a `FnCall` calls.
#[derive(Clone, Debug, PartialEq)]
pub struct Callee {
    pub name: String,
    /// The fn item (module, index), for the evaluator.
    pub item: (ModuleId, usize),
    /// The callee as written (`lib.double`), for naming it in an evaluation error.
    pub shown: String,
}

/// A unary gRPC call; the plan's `GrpcCall` with typed expressions.
#[derive(Clone, Debug, PartialEq)]
pub struct GrpcCall {
    /// `grpc.stream(..)` rather than `grpc.invoke(..)`.
    pub stream: bool,
    pub target: u32,
    /// Index into `Program::protos`.
    pub proto: u32,
    /// `package.Service/Method`.
    pub method: String,
    pub message: Expr,
    pub metadata: Option<Expr>,
    pub timeout_ms: Option<u64>,
    /// Constant tags (`tags: {..}`).
    pub tags: std::collections::BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub method: String,
    pub target: u32,
    pub path: Expr,
    pub query: Option<Expr>,
    pub headers: Option<Expr>,
    /// `cookies: {..}`: this request's own cookies (a record of strings).
    pub cookies: Option<Expr>,
    /// `compress: "gzip"`: the request body's coding.
    pub compress: Option<String>,
    pub body: Body,
    pub name: String,
    pub timeout_ms: Option<u64>,
    /// `redirects: N`: this request's redirect limit (an int, constant or not) in place
    /// of the scenario's `http.max_redirects`.
    pub redirects: Option<Expr>,
    pub expect: (u16, u16),
    /// `tags: {..}`: the request's own tags in source order, each a string (a folded
    /// constant or a value known at run time). A constant `name` is already in `name`.
    pub tags: Vec<(String, Expr)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    None,
    Json(Expr),
    Form(Expr),
    Raw(Expr),
    /// `multipart: {..}`: the parts in source order.
    Multipart(Vec<Part>),
}

/// One part of a `multipart:` body: the field's name and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    pub name: String,
    pub value: PartValue,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PartValue {
    /// A text field (a string expression).
    Text(Expr),
    /// `file("PATH", ..)`: index into `Program::files`, and its part header's values.
    File {
        file: u32,
        filename: String,
        content_type: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub loc: Loc,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    Let {
        slot: u32,
        name: String,
        value: Expr,
    },
    Expr(Expr),
    Check {
        name: String,
        cond: Expr,
    },
    Require {
        name: String,
        cond: Expr,
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
        name: String,
        body: Vec<Stmt>,
    },
    If {
        cond: Expr,
        then: Vec<Stmt>,
        otherwise: Vec<Stmt>,
    },
    Repeat {
        count: Expr,
        body: Vec<Stmt>,
    },
    Return(Option<Expr>),
    MetricAdd {
        metric: u32,
        value: Expr,
    },
    Log(Expr),
    /// `x = e`, `x += e`, `x -= e` on a `var` (whose declaration is a `Let`): `value` is
    /// the whole new value (`x + e` for `+=`).
    Assign {
        slot: u32,
        name: String,
        value: Expr,
    },
    /// `for NAME in LOW..HIGH { .. }`: ints from `low` up to `high`, end excluded.
    ForRange {
        slot: u32,
        name: String,
        low: Expr,
        high: Expr,
        body: Vec<Stmt>,
    },
    /// `for NAME in ITEMS { .. }` over a list or a JSON array.
    ForEach {
        slot: u32,
        name: String,
        items: Expr,
        body: Vec<Stmt>,
    },
    While {
        cond: Expr,
        body: Vec<Stmt>,
    },
    Break,
    Continue,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    /// The module's name in code: the file stem or the std module's last segment.
    pub name: String,
    /// The file name diagnostics use (`checkout.load`, `std/profiles`).
    pub file: String,
    /// A standard-library module (embedded, not the user's file).
    pub is_std: bool,
    /// Every `//` comment of the file with its span (lint allow-comments read them).
    pub comments: Vec<volley_syntax::ast::Comment>,
    /// The source text (lint findings quote it and find spans inside items).
    pub source: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: String,
    pub ty: Type,
    pub value: Const,
    /// Set by `--param`.
    pub overridden: bool,
    pub loc: Loc,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Let {
    pub name: String,
    pub value: Expr,
    pub loc: Loc,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub name: String,
    pub url: String,
    /// Origins of the URL expression (a literal, a param, ...).
    pub origins: Vec<Origin>,
    pub loc: Loc,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Data {
    pub name: String,
    pub format: DataFormat,
    pub path: String,
    pub pick: Pick,
    /// Columns and their types (`int` for CSV columns of integers).
    pub columns: Vec<(String, Type)>,
    /// The rows, shared with the loader's `data::Loaded` (not copied per compilation).
    pub rows: std::sync::Arc<Vec<Value>>,
    pub loc: Loc,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Secret {
    pub name: String,
    pub env: String,
    pub loc: Loc,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    pub name: String,
    pub kind: MetricKind,
    pub is_time: bool,
    pub loc: Loc,
}

/// One flow instance: a flow with its `target` parameters fixed (each distinct set of
/// target arguments gives an instance; flows without target parameters have one).
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    /// The plan name: the flow name, qualified by module and targets when needed.
    pub name: String,
    /// Runtime parameters (slots `0..params.len()`).
    pub params: Vec<(String, Type)>,
    pub ret: Type,
    pub frame_size: u32,
    pub body: Vec<Stmt>,
    pub loc: Loc,
    /// Whether it is part of the plan (called, or declared in the entry file).
    pub in_plan: bool,
}

/// Setup or teardown.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub frame_size: u32,
    pub body: Vec<Stmt>,
    /// Setup only: the setup values (top-level `let`s) and their slots, in
    /// `Program::setup_values` order.
    pub values: Vec<(String, u32)>,
    pub loc: Loc,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub workload: Workload,
    /// The `workload = ..` expression (its origins tell a param-driven peak apart).
    pub workload_loc: Loc,
    pub start: Start,
    pub graceful_stop_ms: u64,
    pub tags: std::collections::BTreeMap<String, String>,
    pub http: HttpOptions,
    pub frame_size: u32,
    pub init: Vec<Stmt>,
    pub iteration: Vec<Stmt>,
    pub loc: Loc,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ThresholdIr {
    pub threshold: Threshold,
    pub loc: Loc,
}

/// The whole program after checking. Indices (targets, data, secrets, metrics, flows,
/// scenarios) are the plan's indices.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    pub name: String,
    pub modules: Vec<Module>,
    pub params: Vec<Param>,
    pub lets: Vec<Let>,
    pub targets: Vec<Target>,
    pub data: Vec<Data>,
    pub secrets: Vec<Secret>,
    pub metrics: Vec<Metric>,
    pub flows: Vec<Flow>,
    pub setup: Option<Block>,
    pub setup_values: Vec<String>,
    pub teardown: Option<Block>,
    pub scenarios: Vec<Scenario>,
    pub thresholds: Vec<ThresholdIr>,
    pub fleet: Fleet,
    /// The `fleet { .. }` block, when the file has one.
    pub fleet_loc: Option<Loc>,
    /// Each field written in the `fleet` block and the span of its name, in source order
    /// (lint findings point at `resources`, `egress`, `runners`).
    pub fleet_fields: Vec<(String, Loc)>,
    /// Files of the test's folder that `multipart:` bodies send, read at compile time
    /// (`PartValue::File::file` indexes them).
    pub files: Vec<volley_plan::FileData>,
    /// The `.proto` files of `data NAME = proto(..)`, compiled to encoded descriptor sets
    /// (`GrpcCall::proto` indexes them).
    pub protos: Vec<volley_plan::FileData>,
}

/// Calls `f` on `e` and every expression inside it (pre-order).
pub fn walk_expr<'a>(e: &'a Expr, f: &mut dyn FnMut(&'a Expr)) {
    f(e);
    match &e.kind {
        ExprKind::Field(b, _) | ExprKind::Unary(_, b) => walk_expr(b, f),
        ExprKind::Binary(_, a, b) | ExprKind::Stage(a, b) | ExprKind::Range(a, b) => {
            walk_expr(a, f);
            walk_expr(b, f);
        }
        ExprKind::Concat(xs) | ExprKind::List(xs) | ExprKind::Intrinsic(_, xs) => {
            xs.iter().for_each(|x| walk_expr(x, f))
        }
        ExprKind::CallFlow { args, .. } | ExprKind::FnCall { args, .. } => {
            args.iter().for_each(|x| walk_expr(x, f))
        }
        ExprKind::Workload { args, .. } => args.iter().flatten().for_each(|x| walk_expr(x, f)),
        ExprKind::Record(fs) => fs.iter().for_each(|(_, x)| walk_expr(x, f)),
        ExprKind::Inlined { body, .. } => walk_expr(body, f),
        ExprKind::Check { cond, .. } => walk_expr(cond, f),
        ExprKind::Grpc(g) => {
            walk_expr(&g.message, f);
            g.metadata.iter().for_each(|x| walk_expr(x, f));
        }
        ExprKind::Request(r) => {
            walk_expr(&r.path, f);
            r.query
                .iter()
                .chain(r.headers.iter())
                .chain(r.cookies.iter())
                .chain(r.redirects.iter())
                .chain(r.tags.iter().map(|(_, x)| x))
                .for_each(|x| walk_expr(x, f));
            match &r.body {
                Body::None => {}
                Body::Json(x) | Body::Form(x) | Body::Raw(x) => walk_expr(x, f),
                Body::Multipart(parts) => {
                    for p in parts {
                        if let PartValue::Text(x) = &p.value {
                            walk_expr(x, f);
                        }
                    }
                }
            }
        }
        ExprKind::Const
        | ExprKind::Item(_)
        | ExprKind::Local(..)
        | ExprKind::Setup(_)
        | ExprKind::Secret(_)
        | ExprKind::Builtin(_)
        | ExprKind::DataNext(_)
        | ExprKind::Error => {}
    }
}

/// Calls `f` on every statement of `body`, nested ones included (pre-order).
pub fn walk_stmts<'a>(body: &'a [Stmt], f: &mut dyn FnMut(&'a Stmt)) {
    for s in body {
        f(s);
        match &s.kind {
            StmtKind::Group { body, .. }
            | StmtKind::Repeat { body, .. }
            | StmtKind::ForRange { body, .. }
            | StmtKind::ForEach { body, .. }
            | StmtKind::While { body, .. } => walk_stmts(body, f),
            StmtKind::If {
                then, otherwise, ..
            } => {
                walk_stmts(then, f);
                walk_stmts(otherwise, f);
            }
            _ => {}
        }
    }
}

/// The expressions directly held by a statement (not those of nested statements).
pub fn stmt_exprs(s: &Stmt) -> Vec<&Expr> {
    match &s.kind {
        StmtKind::Let { value, .. } => vec![value],
        StmtKind::Expr(e) | StmtKind::Sleep(e) | StmtKind::Log(e) => vec![e],
        StmtKind::Check { cond, .. } | StmtKind::Require { cond, .. } => vec![cond],
        StmtKind::ThinkUniform { low, high } => vec![low, high],
        StmtKind::ThinkExponential { mean } => vec![mean],
        StmtKind::If { cond, .. } => vec![cond],
        StmtKind::Repeat { count, .. } => vec![count],
        StmtKind::Return(e) => e.iter().collect(),
        StmtKind::MetricAdd { value, .. } | StmtKind::Assign { value, .. } => vec![value],
        StmtKind::ForRange { low, high, .. } => vec![low, high],
        StmtKind::ForEach { items, .. } => vec![items],
        StmtKind::While { cond, .. } => vec![cond],
        StmtKind::Group { .. } | StmtKind::Break | StmtKind::Continue => vec![],
    }
}

/// Calls `f` on `e` and every expression inside it, mutably (post-order).
pub fn walk_expr_mut(e: &mut Expr, f: &mut dyn FnMut(&mut Expr)) {
    match &mut e.kind {
        ExprKind::Field(b, _) | ExprKind::Unary(_, b) => walk_expr_mut(b, f),
        ExprKind::Binary(_, a, b) | ExprKind::Stage(a, b) | ExprKind::Range(a, b) => {
            walk_expr_mut(a, f);
            walk_expr_mut(b, f);
        }
        ExprKind::Concat(xs) | ExprKind::List(xs) | ExprKind::Intrinsic(_, xs) => {
            xs.iter_mut().for_each(|x| walk_expr_mut(x, f))
        }
        ExprKind::CallFlow { args, .. } | ExprKind::FnCall { args, .. } => {
            args.iter_mut().for_each(|x| walk_expr_mut(x, f))
        }
        ExprKind::Workload { args, .. } => {
            args.iter_mut().flatten().for_each(|x| walk_expr_mut(x, f))
        }
        ExprKind::Record(fs) => fs.iter_mut().for_each(|(_, x)| walk_expr_mut(x, f)),
        ExprKind::Inlined { body, .. } => walk_expr_mut(body, f),
        ExprKind::Check { cond, .. } => walk_expr_mut(cond, f),
        ExprKind::Grpc(g) => {
            walk_expr_mut(&mut g.message, f);
            if let Some(m) = g.metadata.as_mut() {
                walk_expr_mut(m, f);
            }
        }
        ExprKind::Request(r) => {
            walk_expr_mut(&mut r.path, f);
            if let Some(q) = r.query.as_mut() {
                walk_expr_mut(q, f);
            }
            if let Some(h) = r.headers.as_mut() {
                walk_expr_mut(h, f);
            }
            if let Some(c) = r.cookies.as_mut() {
                walk_expr_mut(c, f);
            }
            if let Some(n) = r.redirects.as_mut() {
                walk_expr_mut(n, f);
            }
            for (_, x) in r.tags.iter_mut() {
                walk_expr_mut(x, f);
            }
            match &mut r.body {
                Body::None => {}
                Body::Json(x) | Body::Form(x) | Body::Raw(x) => walk_expr_mut(x, f),
                Body::Multipart(parts) => {
                    for p in parts {
                        if let PartValue::Text(x) = &mut p.value {
                            walk_expr_mut(x, f);
                        }
                    }
                }
            }
        }
        ExprKind::Const
        | ExprKind::Item(_)
        | ExprKind::Local(..)
        | ExprKind::Setup(_)
        | ExprKind::Secret(_)
        | ExprKind::Builtin(_)
        | ExprKind::DataNext(_)
        | ExprKind::Error => {}
    }
    f(e);
}

/// Calls `f` on every expression of `body` (nested statements included), mutably.
pub fn walk_body_exprs_mut(body: &mut [Stmt], f: &mut dyn FnMut(&mut Expr)) {
    for s in body {
        match &mut s.kind {
            StmtKind::Let { value: e, .. }
            | StmtKind::Expr(e)
            | StmtKind::Sleep(e)
            | StmtKind::Log(e)
            | StmtKind::Check { cond: e, .. }
            | StmtKind::Require { cond: e, .. }
            | StmtKind::ThinkExponential { mean: e }
            | StmtKind::Assign { value: e, .. }
            | StmtKind::MetricAdd { value: e, .. } => walk_expr_mut(e, f),
            StmtKind::ForRange {
                low, high, body, ..
            } => {
                walk_expr_mut(low, f);
                walk_expr_mut(high, f);
                walk_body_exprs_mut(body, f);
            }
            StmtKind::ForEach {
                items: cond, body, ..
            }
            | StmtKind::While { cond, body } => {
                walk_expr_mut(cond, f);
                walk_body_exprs_mut(body, f);
            }
            StmtKind::Break | StmtKind::Continue => {}
            StmtKind::ThinkUniform { low, high } => {
                walk_expr_mut(low, f);
                walk_expr_mut(high, f);
            }
            StmtKind::Group { body, .. } => walk_body_exprs_mut(body, f),
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                walk_expr_mut(cond, f);
                walk_body_exprs_mut(then, f);
                walk_body_exprs_mut(otherwise, f);
            }
            StmtKind::Repeat { count, body } => {
                walk_expr_mut(count, f);
                walk_body_exprs_mut(body, f);
            }
            StmtKind::Return(e) => {
                if let Some(e) = e {
                    walk_expr_mut(e, f);
                }
            }
        }
    }
}

/// Calls `f` on every expression of `body` (nested statements included).
pub fn walk_body_exprs<'a>(body: &'a [Stmt], f: &mut dyn FnMut(&'a Expr)) {
    walk_stmts(body, &mut |s| {
        for e in stmt_exprs(s) {
            walk_expr(e, f);
        }
    });
}
