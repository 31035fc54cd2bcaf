//! Value provenance on the typed IR: for every value that reaches a request (path, query,
//! headers, body) it tells what the value is made of — a literal constant, a fleet-unique
//! identity (`vu.id`, `test.iteration`, a unique data row), a per-runner one
//! (`vu.local_id`, `runner.index`), shared data and its pick, a random draw and the size of
//! its range, something captured from a response, a secret, a setup value — and which
//! request fields carry identity (login, user, email, account, session, token, password…).
//!
//! The analysis walks every scenario (its scenario-level `let`s, then its iteration),
//! setup and teardown in order, following local slots to the expression they were bound
//! to and flow calls into the flow body with the caller's arguments, so a literal passed
//! to `login("alice@example.com")` is seen at the request inside `login`, labelled where it
//! is written. Records keep their fields apart (`{email: user.email, password: "x"}`).
//! Alongside the request sites it collects what thresholds can match: metrics added,
//! group paths, check names, request names and methods, pauses and data reads.
//!
//! It is pure and bounded (flow calls nest at most [`MAX_DEPTH`] deep); it reports nothing
//! itself: rules read [`Facts`].

use crate::ir::{self, Body, Builtin, Expr, ExprKind, Intrinsic, Loc, Origin, Pick, StmtKind};
use std::collections::{BTreeSet, HashMap};
use volley_plan::program::BinOp;

/// How deep flow calls are followed.
pub const MAX_DEPTH: usize = 8;

/// What one part of a value is made of.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// Written in the source (or computed only from literals).
    Literal,
    /// A `param` (its default, or `--param`): a constant for the whole run.
    Param(String),
    /// `vu.id` or `test.iteration`: different for every VU (or iteration) of the fleet.
    FleetUnique(Builtin),
    /// `vu.local_id` or `runner.index`: repeats on every runner.
    PerRunner(Builtin),
    /// `vu.iteration`: the same sequence 0, 1, 2… on every VU.
    PerVu(Builtin),
    /// A row of a data source; `column` when a field was read.
    Data {
        source: u32,
        pick: Pick,
        column: Option<String>,
    },
    /// A random draw; `space` distinct values when known.
    Random {
        intrinsic: Intrinsic,
        space: Option<u64>,
    },
    /// Read from the response of request site `site` (when known).
    Response(Option<usize>),
    Secret(u32),
    Setup(u32),
}

/// One part of a value and where it is written.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    pub kind: Kind,
    pub loc: Loc,
}

/// What a scalar value is made of.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Prov {
    pub parts: Vec<Part>,
    /// At most this many distinct values, when bounded (`vu.id % 10` → 10, a literal → 1).
    pub space: Option<u64>,
}

/// How a value varies across the VUs of a fleet, from the most to the least specific.
#[derive(Clone, Debug, PartialEq)]
pub enum Class {
    /// A secret, a setup value or something read from a response: shared or unique by the
    /// system under test's design, not judged.
    Dynamic,
    /// Unique across the fleet (`vu.id`, `test.iteration`, unique data, or `runner.index`
    /// combined with `vu.local_id`).
    FleetUnique,
    /// A fleet-unique value folded into `space` values (`vu.id % 10`).
    Reduced { space: u64 },
    /// A random draw from `space` values (`None`: unknown size).
    Random { space: Option<u64> },
    /// A row of shared data (sequential, random or shared pick).
    SharedData { source: u32, pick: Pick },
    /// Repeats on every runner: `vu.local_id` or `runner.index` alone.
    PerRunner(Builtin),
    /// The same on every VU at the same point of its life (`vu.iteration`).
    PerVu,
    /// One value for every VU: literals and params.
    Constant,
}

impl Prov {
    pub fn leaf(kind: Kind, loc: Loc) -> Prov {
        let space = match kind {
            Kind::Literal | Kind::Param(_) => Some(1),
            Kind::Random { space, .. } => space,
            _ => None,
        };
        Prov {
            parts: vec![Part { kind, loc }],
            space,
        }
    }

    /// Both values combined (a concatenation or an operation): spaces multiply.
    pub fn join(mut self, other: Prov) -> Prov {
        self.space = match (self.space, other.space) {
            (Some(a), Some(b)) => Some(a.saturating_mul(b)),
            _ => None,
        };
        for p in other.parts {
            if !self.parts.contains(&p) {
                self.parts.push(p);
            }
        }
        self
    }

    pub fn has(&self, f: impl Fn(&Kind) -> bool) -> bool {
        self.parts.iter().any(|p| f(&p.kind))
    }

    /// The first part matching `f`.
    pub fn find(&self, f: impl Fn(&Kind) -> bool) -> Option<&Part> {
        self.parts.iter().find(|p| f(&p.kind))
    }

    pub fn class(&self) -> Class {
        if self.has(|k| matches!(k, Kind::Secret(_) | Kind::Setup(_) | Kind::Response(_))) {
            return Class::Dynamic;
        }
        let per_runner = |b: Builtin| self.has(|k| *k == Kind::PerRunner(b));
        let unique = self.has(|k| {
            matches!(
                k,
                Kind::FleetUnique(_)
                    | Kind::Data {
                        pick: Pick::Unique | Pick::UniquePerIteration,
                        ..
                    }
            )
        }) || (per_runner(Builtin::RunnerIndex) && per_runner(Builtin::VuLocalId));
        let random = self.has(|k| matches!(k, Kind::Random { .. }));
        if unique {
            return match self.space {
                Some(space) if !random => Class::Reduced { space },
                _ => Class::FleetUnique,
            };
        }
        if random {
            return Class::Random { space: self.space };
        }
        if let Some(Part {
            kind: Kind::Data { source, pick, .. },
            ..
        }) = self.find(|k| matches!(k, Kind::Data { .. }))
        {
            return Class::SharedData {
                source: *source,
                pick: *pick,
            };
        }
        if per_runner(Builtin::VuLocalId) {
            return Class::PerRunner(Builtin::VuLocalId);
        }
        if per_runner(Builtin::RunnerIndex) {
            return Class::PerRunner(Builtin::RunnerIndex);
        }
        if self.has(|k| matches!(k, Kind::PerVu(_))) {
            return Class::PerVu;
        }
        Class::Constant
    }
}

/// A value with its record structure kept.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    Record(Vec<(String, Shape)>),
    Leaf(Prov),
}

impl Shape {
    /// Every part merged into one scalar provenance.
    pub fn flat(&self) -> Prov {
        match self {
            Shape::Leaf(p) => p.clone(),
            Shape::Record(fs) => fs
                .iter()
                .fold(Prov::default(), |acc, (_, s)| acc.join(s.flat())),
        }
    }

    fn field(&self, name: &str) -> Shape {
        match self {
            Shape::Record(fs) => fs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, s)| s.clone())
                .unwrap_or_else(|| Shape::Leaf(Prov::default())),
            Shape::Leaf(p) => {
                let mut p = p.clone();
                for part in &mut p.parts {
                    if let Kind::Data { column, .. } = &mut part.kind {
                        column.get_or_insert_with(|| name.to_string());
                    }
                }
                Shape::Leaf(p)
            }
        }
    }
}

/// Which part of a request a value goes into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Path,
    Query,
    Header,
    Body,
}

/// What an identity field identifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Who: user, login, email, account, customer, member.
    Principal,
    /// A session or bearer credential: token, authorization, session, cookie, API key.
    Session,
    /// A password.
    Credential,
}

/// One value sent by a request.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub place: Place,
    /// The record key, header name, query name or path segment it is sent under.
    pub key: String,
    pub role: Option<Role>,
    pub prov: Prov,
}

/// Where the code runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// A scenario-level `let` (once per VU).
    Init,
    Iteration,
    Setup,
    Teardown,
}

/// One request as reached from one scenario (a flow called twice gives two sites).
#[derive(Clone, Debug)]
pub struct Site {
    pub loc: Loc,
    pub method: String,
    pub target: u32,
    /// The `name` tag.
    pub name: String,
    pub expect: (u16, u16),
    /// The request's own `timeout:`, ms.
    pub timeout_ms: Option<u64>,
    pub scenario: Option<u32>,
    pub phase: Phase,
    pub fields: Vec<Field>,
    /// The conditions of the `if`s around it, innermost last.
    pub guards: Vec<(Prov, Loc)>,
    /// Flow calls leading to it, outermost first.
    pub calls: Vec<Loc>,
    /// The literal path text (for absolute URLs), when the path starts with a literal.
    pub path_text: Option<(String, Loc)>,
}

/// A response status compared with `==` (`check r.status == 404`).
#[derive(Clone, Debug)]
pub struct StatusCheck {
    pub site: usize,
    pub status: i64,
    pub loc: Loc,
}

/// A `data.next()`.
#[derive(Clone, Debug)]
pub struct DataRead {
    pub source: u32,
    pub scenario: Option<u32>,
    pub phase: Phase,
    pub loc: Loc,
}

/// Everything the rules read.
#[derive(Debug, Default)]
pub struct Facts {
    pub sites: Vec<Site>,
    pub status_checks: Vec<StatusCheck>,
    pub data_reads: Vec<DataRead>,
    pub metrics_added: BTreeSet<u32>,
    /// Group paths as tagged (`outer::inner`).
    pub groups: BTreeSet<String>,
    pub checks: BTreeSet<String>,
    /// Scenarios whose iteration pauses (`sleep` or `think`, flows included).
    pub pausing: BTreeSet<u32>,
}

/// Runs the analysis on a whole program.
pub fn analyse(prog: &ir::Program) -> Facts {
    let mut w = Walker {
        prog,
        facts: Facts::default(),
    };
    for (i, s) in prog.scenarios.iter().enumerate() {
        let mut cx = Cx::new(Some(i as u32), Phase::Init);
        let mut env = Env::default();
        w.stmts(&s.init, &mut env, &mut cx);
        cx.phase = Phase::Iteration;
        w.stmts(&s.iteration, &mut env, &mut cx);
    }
    for (block, phase) in [
        (&prog.setup, Phase::Setup),
        (&prog.teardown, Phase::Teardown),
    ] {
        if let Some(b) = block {
            let mut cx = Cx::new(None, phase);
            w.stmts(&b.body, &mut Env::default(), &mut cx);
        }
    }
    w.facts
}

/// Local slots of one frame.
#[derive(Default)]
struct Env {
    slots: HashMap<u32, Shape>,
    /// Shapes returned by the flow body being walked.
    returns: Vec<Shape>,
}

struct Cx {
    scenario: Option<u32>,
    phase: Phase,
    groups: Vec<String>,
    guards: Vec<(Prov, Loc)>,
    calls: Vec<Loc>,
    /// Inside a `check` or `require` condition (status comparisons are recorded there).
    in_check: bool,
}

impl Cx {
    fn new(scenario: Option<u32>, phase: Phase) -> Cx {
        Cx {
            scenario,
            phase,
            groups: Vec::new(),
            guards: Vec::new(),
            calls: Vec::new(),
            in_check: false,
        }
    }
}

struct Walker<'p> {
    prog: &'p ir::Program,
    facts: Facts,
}

impl Walker<'_> {
    fn stmts(&mut self, body: &[ir::Stmt], env: &mut Env, cx: &mut Cx) {
        for s in body {
            self.stmt(s, env, cx);
        }
    }

    fn stmt(&mut self, s: &ir::Stmt, env: &mut Env, cx: &mut Cx) {
        match &s.kind {
            StmtKind::Let { slot, value, .. } => {
                let sh = self.shape(value, env, cx);
                env.slots.insert(*slot, sh);
            }
            StmtKind::Expr(e) | StmtKind::Log(e) => {
                self.shape(e, env, cx);
            }
            StmtKind::Check { name, cond } | StmtKind::Require { name, cond } => {
                self.facts.checks.insert(name.clone());
                self.check_cond(cond, env, cx);
            }
            StmtKind::Sleep(e) | StmtKind::ThinkExponential { mean: e } => {
                self.pause(cx);
                self.shape(e, env, cx);
            }
            StmtKind::ThinkUniform { .. } => self.pause(cx),
            StmtKind::Group { name, body } => {
                cx.groups.push(name.clone());
                self.facts.groups.insert(cx.groups.join("::"));
                self.stmts(body, env, cx);
                cx.groups.pop();
            }
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                let p = self.shape(cond, env, cx).flat();
                cx.guards.push((p, cond.loc));
                self.stmts(then, env, cx);
                self.stmts(otherwise, env, cx);
                cx.guards.pop();
            }
            StmtKind::Repeat { count, body } => {
                self.shape(count, env, cx);
                self.stmts(body, env, cx);
            }
            StmtKind::Return(e) => {
                if let Some(e) = e {
                    let sh = self.shape(e, env, cx);
                    env.returns.push(sh);
                }
            }
            StmtKind::MetricAdd { metric, value } => {
                self.facts.metrics_added.insert(*metric);
                self.shape(value, env, cx);
            }
        }
    }

    fn pause(&mut self, cx: &Cx) {
        if let (Some(s), Phase::Iteration) = (cx.scenario, cx.phase) {
            self.facts.pausing.insert(s);
        }
    }

    /// The provenance an expression's own `origins` give (for nodes not followed further).
    fn origins_prov(&self, e: &Expr) -> Prov {
        let mut p = Prov {
            parts: Vec::new(),
            space: Some(1),
        };
        for o in &e.origins {
            let kind = match o {
                Origin::Literal => Kind::Literal,
                Origin::Param(n) => Kind::Param(n.clone()),
                Origin::Identity(b) => builtin_kind(*b),
                Origin::Data { source, pick } => Kind::Data {
                    source: *source,
                    pick: *pick,
                    column: None,
                },
                Origin::Random { intrinsic, space } => Kind::Random {
                    intrinsic: *intrinsic,
                    space: *space,
                },
                Origin::Response => Kind::Response(None),
                Origin::Secret(i) => Kind::Secret(*i),
                Origin::Setup(i) => Kind::Setup(*i),
                Origin::FlowParam(_) => continue,
            };
            p = p.join(Prov::leaf(kind, e.loc));
        }
        p
    }

    fn shape(&mut self, e: &Expr, env: &mut Env, cx: &mut Cx) -> Shape {
        let leaf = |p: Prov| Shape::Leaf(p);
        match &e.kind {
            ExprKind::Item(name) => {
                let mut p = self.origins_prov(e);
                // A top-level `let`: its literal is written at the let, not at the use.
                if let Some(l) = self.prog.lets.iter().find(|l| l.name == *name) {
                    for part in &mut p.parts {
                        if part.kind == Kind::Literal {
                            part.loc = l.value.loc;
                        }
                    }
                }
                const_shape(e, p)
            }
            ExprKind::Const | ExprKind::FnCall { .. } => const_shape(e, self.origins_prov(e)),
            ExprKind::Local(slot, _) => env
                .slots
                .get(slot)
                .cloned()
                .unwrap_or_else(|| leaf(self.origins_prov(e))),
            ExprKind::Setup(i) => leaf(Prov::leaf(Kind::Setup(*i), e.loc)),
            ExprKind::Secret(i) => leaf(Prov::leaf(Kind::Secret(*i), e.loc)),
            ExprKind::Builtin(b) => leaf(Prov::leaf(builtin_kind(*b), e.loc)),
            ExprKind::Field(base, f) => self.shape(base, env, cx).field(f),
            ExprKind::Unary(_, x) => leaf(self.shape(x, env, cx).flat()),
            ExprKind::Binary(op, a, b) => leaf(self.binary(*op, a, b, env, cx)),
            ExprKind::Concat(xs) | ExprKind::List(xs) | ExprKind::Intrinsic(_, xs) => {
                let mut p = Prov {
                    parts: Vec::new(),
                    space: Some(1),
                };
                for x in xs {
                    p = p.join(self.shape(x, env, cx).flat());
                }
                if let ExprKind::Intrinsic(i, _) = &e.kind {
                    p = intrinsic_prov(*i, e, p);
                }
                leaf(p)
            }
            ExprKind::Record(fs) => Shape::Record(
                fs.iter()
                    .map(|(k, x)| (k.clone(), self.shape(x, env, cx)))
                    .collect(),
            ),
            ExprKind::Stage(a, b) | ExprKind::Range(a, b) => {
                let p = self.shape(a, env, cx).flat();
                leaf(p.join(self.shape(b, env, cx).flat()))
            }
            ExprKind::Request(r) => {
                let site = self.request(r, e.loc, env, cx);
                leaf(Prov::leaf(Kind::Response(Some(site)), e.loc))
            }
            ExprKind::CallFlow { flow, args } => self.call(*flow, args, e, env, cx),
            ExprKind::Inlined { body, .. } => {
                let sh = self.shape(body, env, cx);
                self.relocate_std(sh, e.loc)
            }
            ExprKind::DataNext(src) => {
                let pick = self
                    .prog
                    .data
                    .get(*src as usize)
                    .map_or(Pick::Shared, |d| d.pick);
                self.facts.data_reads.push(DataRead {
                    source: *src,
                    scenario: cx.scenario,
                    phase: cx.phase,
                    loc: e.loc,
                });
                leaf(Prov::leaf(
                    Kind::Data {
                        source: *src,
                        pick,
                        column: None,
                    },
                    e.loc,
                ))
            }
            ExprKind::Check { name, cond } => {
                self.facts.checks.insert(name.clone());
                let mut p = self.check_cond(cond, env, cx).flat();
                p.space = Some(2);
                leaf(p)
            }
            ExprKind::Error => leaf(Prov::default()),
        }
    }

    /// Parts written inside a standard-library flow expanded in place are labelled at the
    /// call (`data.random_int(1, 100)`), where the user can see and change them.
    fn relocate_std(&self, sh: Shape, at: Loc) -> Shape {
        let is_std = |l: Loc| {
            self.prog
                .modules
                .get(l.module as usize)
                .is_some_and(|m| m.is_std)
        };
        match sh {
            Shape::Record(fs) => Shape::Record(
                fs.into_iter()
                    .map(|(k, s)| (k, self.relocate_std(s, at)))
                    .collect(),
            ),
            Shape::Leaf(mut p) => {
                for part in &mut p.parts {
                    if is_std(part.loc) {
                        part.loc = at;
                    }
                }
                Shape::Leaf(p)
            }
        }
    }

    fn check_cond(&mut self, cond: &Expr, env: &mut Env, cx: &mut Cx) -> Shape {
        let saved = std::mem::replace(&mut cx.in_check, true);
        let sh = self.shape(cond, env, cx);
        cx.in_check = saved;
        sh
    }

    fn binary(&mut self, op: BinOp, a: &Expr, b: &Expr, env: &mut Env, cx: &mut Cx) -> Prov {
        let pa = self.shape(a, env, cx).flat();
        let pb = self.shape(b, env, cx).flat();
        if op == BinOp::Eq && cx.in_check {
            self.status_check(&pa, b, e_loc(a, b));
            self.status_check(&pb, a, e_loc(a, b));
        }
        let mut p = pa.clone().join(pb);
        match op {
            BinOp::Rem => {
                if let Some(ir::Const::Int(k)) = &b.konst {
                    let k = (*k).unsigned_abs().max(1);
                    p.space = Some(pa.space.map_or(k, |s| s.min(k)));
                }
            }
            BinOp::Eq
            | BinOp::Ne
            | BinOp::Lt
            | BinOp::Le
            | BinOp::Gt
            | BinOp::Ge
            | BinOp::And
            | BinOp::Or => p.space = Some(2),
            _ => {}
        }
        p
    }

    /// `r.status == 404`: `status_side` is the response status, `other` the constant.
    fn status_check(&mut self, status_side: &Prov, other: &Expr, loc: Loc) {
        let Some(ir::Const::Int(n)) = &other.konst else {
            return;
        };
        let [Part {
            kind: Kind::Response(Some(site)),
            ..
        }] = status_side.parts.as_slice()
        else {
            return;
        };
        self.facts.status_checks.push(StatusCheck {
            site: *site,
            status: *n,
            loc,
        });
    }

    fn call(&mut self, flow: u32, args: &[Expr], e: &Expr, env: &mut Env, cx: &mut Cx) -> Shape {
        let arg_shapes: Vec<Shape> = args.iter().map(|a| self.shape(a, env, cx)).collect();
        let Some(f) = self.prog.flows.get(flow as usize) else {
            return Shape::Leaf(self.origins_prov(e));
        };
        if cx.calls.len() >= MAX_DEPTH {
            return Shape::Leaf(self.origins_prov(e));
        }
        let mut inner = Env::default();
        for (i, s) in arg_shapes.into_iter().enumerate() {
            inner.slots.insert(i as u32, s);
        }
        cx.calls.push(e.loc);
        self.stmts(&f.body, &mut inner, cx);
        cx.calls.pop();
        match inner.returns.len() {
            0 => Shape::Leaf(Prov::default()),
            1 => inner.returns.remove(0),
            _ => Shape::Leaf(
                inner
                    .returns
                    .iter()
                    .fold(Prov::default(), |acc, s| acc.join(s.flat())),
            ),
        }
    }

    fn request(&mut self, r: &ir::Request, loc: Loc, env: &mut Env, cx: &mut Cx) -> usize {
        let mut fields = Vec::new();
        let path_text = self.path_fields(&r.path, Place::Path, env, cx, &mut fields);
        if let Some(q) = &r.query {
            let sh = self.shape(q, env, cx);
            flatten(&sh, Place::Query, "", &mut fields);
        }
        if let Some(h) = &r.headers {
            let sh = self.shape(h, env, cx);
            flatten(&sh, Place::Header, "", &mut fields);
        }
        match &r.body {
            Body::None => {}
            Body::Json(x) | Body::Form(x) => {
                let sh = self.shape(x, env, cx);
                flatten(&sh, Place::Body, "", &mut fields);
            }
            Body::Raw(x) => {
                self.path_fields(x, Place::Body, env, cx, &mut fields);
            }
        }
        for f in &mut fields {
            if f.key.is_empty() {
                f.key = self.data_identity_column(&f.prov).unwrap_or_default();
            }
            f.role = identity_role(&f.key);
        }
        let site = Site {
            loc,
            method: r.method.clone(),
            target: r.target,
            name: r.name.clone(),
            expect: r.expect,
            timeout_ms: r.timeout_ms,
            scenario: cx.scenario,
            phase: cx.phase,
            fields,
            guards: cx.guards.clone(),
            calls: cx.calls.clone(),
            path_text,
        };
        self.facts.sites.push(site);
        self.facts.sites.len() - 1
    }

    /// A whole data row sent as a value: the first of its columns that names an identity.
    fn data_identity_column(&self, p: &Prov) -> Option<String> {
        let Some(Part {
            kind:
                Kind::Data {
                    source,
                    column: None,
                    ..
                },
            ..
        }) = p.find(|k| matches!(k, Kind::Data { .. }))
        else {
            return None;
        };
        let d = self.prog.data.get(*source as usize)?;
        d.columns
            .iter()
            .map(|(c, _)| c)
            .find(|c| identity_role(c).is_some())
            .cloned()
    }

    /// A path (or a raw form-encoded body): each interpolated value keyed by the query name
    /// or path segment written before it; literal `k=v` pairs too. Returns the literal
    /// text the path starts with.
    fn path_fields(
        &mut self,
        x: &Expr,
        place: Place,
        env: &mut Env,
        cx: &mut Cx,
        out: &mut Vec<Field>,
    ) -> Option<(String, Loc)> {
        let parts: Vec<&Expr> = match &x.kind {
            ExprKind::Concat(xs) => xs.iter().collect(),
            _ => vec![x],
        };
        let mut before = String::new();
        let mut first_text = None;
        for (i, p) in parts.iter().enumerate() {
            if let Some(ir::Const::Str(t)) = &p.konst {
                if i == 0 {
                    first_text = Some((t.clone(), p.loc));
                }
                literal_pairs(t, p.loc, place, out);
                before.push_str(t);
                continue;
            }
            let sh = self.shape(p, env, cx);
            let key = key_before(&before, place);
            out.push(Field {
                place: if before.contains('?') {
                    Place::Query
                } else {
                    place
                },
                key,
                role: None,
                prov: sh.flat(),
            });
            before.push_str("{}");
        }
        first_text
    }
}

fn e_loc(a: &Expr, b: &Expr) -> Loc {
    Loc::new(a.loc.module, a.loc.span.to(b.loc.span))
}

fn builtin_kind(b: Builtin) -> Kind {
    match b {
        Builtin::VuId | Builtin::TestIteration => Kind::FleetUnique(b),
        Builtin::VuLocalId | Builtin::RunnerIndex => Kind::PerRunner(b),
        Builtin::VuIteration => Kind::PerVu(b),
        Builtin::RunnerCount | Builtin::ScenarioName => Kind::Literal,
    }
}

/// A constant: a record keeps its fields (each a literal or param).
fn const_shape(e: &Expr, p: Prov) -> Shape {
    match &e.konst {
        Some(ir::Const::Record(fs)) => Shape::Record(
            fs.iter()
                .map(|(k, _)| (k.clone(), Shape::Leaf(p.clone())))
                .collect(),
        ),
        _ => Shape::Leaf(p),
    }
}

/// Random intrinsics add their draw; response readers mark a response.
fn intrinsic_prov(i: Intrinsic, e: &Expr, p: Prov) -> Prov {
    match i {
        Intrinsic::Uuid
        | Intrinsic::RandomInt
        | Intrinsic::RandomEmail
        | Intrinsic::RandomString
        | Intrinsic::RandomPick => {
            let space = e.origins.iter().find_map(|o| match o {
                Origin::Random { intrinsic, space } if *intrinsic == i => Some(*space),
                _ => None,
            });
            let mut out = Prov {
                parts: p
                    .parts
                    .into_iter()
                    .filter(|x| x.kind != Kind::Literal)
                    .collect(),
                space: Some(1),
            };
            out = out.join(Prov::leaf(
                Kind::Random {
                    intrinsic: i,
                    space: space.flatten(),
                },
                e.loc,
            ));
            out
        }
        Intrinsic::Len | Intrinsic::Contains => Prov { space: None, ..p },
        _ => p,
    }
}

/// Every scalar of a shape as a field, keyed by its innermost record key.
fn flatten(sh: &Shape, place: Place, key: &str, out: &mut Vec<Field>) {
    match sh {
        Shape::Record(fs) => {
            for (k, s) in fs {
                flatten(s, place, k, out);
            }
        }
        Shape::Leaf(p) => {
            if !p.parts.is_empty() {
                out.push(Field {
                    place,
                    key: key.to_string(),
                    role: None,
                    prov: p.clone(),
                });
            }
        }
    }
}

/// The name a value interpolated after `before` is sent under: `?user=` → `user`,
/// `/users/` → `users`.
fn key_before(before: &str, place: Place) -> String {
    let tail = before.rsplit(['&', '?']).next().unwrap_or("");
    if let Some(k) = tail.strip_suffix('=') {
        if !k.contains('/') {
            return k.to_string();
        }
    }
    if place == Place::Path && !before.contains('?') {
        // `/users/{id}` → `users`; `/accounts/acct-{n}` → `accounts` (or the partial
        // segment itself when it names an identity: `/login/user-{n}` → `user-`).
        let segs: Vec<&str> = before.split('/').collect();
        let partial = segs.last().copied().unwrap_or("");
        if !partial.is_empty() && identity_role(partial).is_some() {
            return partial.to_string();
        }
        if segs.len() >= 2 {
            return segs[segs.len() - 2].to_string();
        }
    }
    String::new()
}

/// Literal `k=v` pairs of a query string or form body (`?user=alice&password=x`).
fn literal_pairs(text: &str, loc: Loc, place: Place, out: &mut Vec<Field>) {
    let query = match place {
        Place::Path => match text.split_once('?') {
            Some((_, q)) => q,
            None => return,
        },
        _ => text,
    };
    for pair in query.split('&') {
        if let Some((k, v)) = pair.split_once('=') {
            if !k.is_empty() && !v.is_empty() {
                out.push(Field {
                    place: if place == Place::Path {
                        Place::Query
                    } else {
                        place
                    },
                    key: k.to_string(),
                    role: None,
                    prov: Prov::leaf(Kind::Literal, loc),
                });
            }
        }
    }
}

/// The words a key is made of: `x-api-key` → [x, api, key], `userName` → [user, name].
pub fn key_words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

const PRINCIPAL: &[&str] = &[
    "login",
    "user",
    "users",
    "username",
    "userid",
    "uid",
    "email",
    "mail",
    "account",
    "accounts",
    "customer",
    "customers",
    "member",
    "principal",
    "subject",
];
const SESSION: &[&str] = &[
    "session",
    "sessionid",
    "sid",
    "token",
    "authorization",
    "auth",
    "cookie",
    "apikey",
    "bearer",
    "jwt",
    "credential",
    "credentials",
];
const CREDENTIAL: &[&str] = &["password", "passwd", "pwd", "passphrase", "pin", "secret"];

/// Whether a field name carries identity, and which kind.
pub fn identity_role(key: &str) -> Option<Role> {
    let words = key_words(key);
    let has = |set: &[&str]| words.iter().any(|w| set.contains(&w.as_str()));
    let api_key = words.windows(2).any(|w| w[0] == "api" && w[1] == "key");
    if has(CREDENTIAL) || (words.iter().any(|w| w == "client") && has(&["secret"])) {
        return Some(Role::Credential);
    }
    if has(SESSION) || api_key {
        return Some(Role::Session);
    }
    if has(PRINCIPAL) {
        return Some(Role::Principal);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_roles_from_field_names() {
        assert_eq!(identity_role("email"), Some(Role::Principal));
        assert_eq!(identity_role("userName"), Some(Role::Principal));
        assert_eq!(identity_role("customer_id"), Some(Role::Principal));
        assert_eq!(identity_role("x-api-key"), Some(Role::Session));
        assert_eq!(identity_role("authorization"), Some(Role::Session));
        assert_eq!(identity_role("password"), Some(Role::Credential));
        assert_eq!(identity_role("client_secret"), Some(Role::Credential));
        assert_eq!(identity_role("product_id"), None);
        assert_eq!(identity_role("qty"), None);
        assert_eq!(identity_role("idempotency-key"), None);
    }

    #[test]
    fn keys_before_interpolations() {
        assert_eq!(key_before("/api/login?user=", Place::Path), "user");
        assert_eq!(key_before("/api/users/", Place::Path), "users");
        assert_eq!(key_before("/api/items?page=1&email=", Place::Path), "email");
        assert_eq!(key_before("/api/accounts/acct-", Place::Path), "accounts");
        assert_eq!(key_before("/api/x", Place::Path), "api");
        assert_eq!(key_before("", Place::Path), "");
    }

    #[test]
    fn classes_order_from_specific_to_constant() {
        let l = Loc::default();
        let lit = Prov::leaf(Kind::Literal, l);
        let local = Prov::leaf(Kind::PerRunner(Builtin::VuLocalId), l);
        let idx = Prov::leaf(Kind::PerRunner(Builtin::RunnerIndex), l);
        let vu = Prov::leaf(Kind::FleetUnique(Builtin::VuId), l);
        assert_eq!(lit.class(), Class::Constant);
        assert_eq!(
            lit.clone().join(local.clone()).class(),
            Class::PerRunner(Builtin::VuLocalId)
        );
        assert_eq!(local.join(idx).class(), Class::FleetUnique);
        assert_eq!(lit.join(vu.clone()).class(), Class::FleetUnique);
        let reduced = Prov {
            space: Some(10),
            ..vu
        };
        assert_eq!(reduced.class(), Class::Reduced { space: 10 });
        let secret = Prov::leaf(Kind::Secret(0), l);
        assert_eq!(secret.class(), Class::Dynamic);
    }
}
