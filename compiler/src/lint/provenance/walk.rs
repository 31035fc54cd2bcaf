//! The walk of the provenance analysis: statements in order with their frame's local
//! slots, expressions to [`Shape`]s, flow calls followed into their bodies, and the
//! request sites, status checks and data reads recorded on the way. Pure.

use super::*;
use crate::ir::{Body, Expr, ExprKind, Origin, StmtKind};
use std::collections::HashMap;
use volley_plan::program::BinOp;

/// Local slots of one frame.
#[derive(Default)]
pub(super) struct Env {
    slots: HashMap<u32, Shape>,
    /// Shapes returned by the flow body being walked.
    returns: Vec<Shape>,
}

pub(super) struct Cx {
    scenario: Option<u32>,
    pub(super) phase: Phase,
    groups: Vec<String>,
    guards: Vec<(Prov, Loc)>,
    calls: Vec<Loc>,
    /// Inside a `check` or `require` condition (status comparisons are recorded there).
    in_check: bool,
}

impl Cx {
    pub(super) fn new(scenario: Option<u32>, phase: Phase) -> Cx {
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

pub(super) struct Walker<'p> {
    pub(super) prog: &'p ir::Program,
    pub(super) facts: Facts,
}

impl Walker<'_> {
    pub(super) fn stmts(&mut self, body: &[ir::Stmt], env: &mut Env, cx: &mut Cx) {
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
                self.repeated(body, env, cx, &mut |w, env, cx| w.stmts(body, env, cx));
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
            StmtKind::Assign { slot, value, .. } => {
                let sh = self.shape(value, env, cx);
                let merged = match env.slots.remove(slot) {
                    // A constant adds one value at most (`kind = "b"` under an `if`).
                    Some(old) if value.konst.is_some() => union_const(old, sh),
                    Some(old) => union(old, sh),
                    None => sh,
                };
                env.slots.insert(*slot, merged);
            }
            StmtKind::ForRange {
                slot,
                low,
                high,
                body,
                ..
            } => {
                let mut p = self.shape(low, env, cx).flat();
                p = p.join(self.shape(high, env, cx).flat());
                p.space = match (&low.konst, &high.konst) {
                    (Some(ir::Const::Int(a)), Some(ir::Const::Int(b))) => {
                        Some(b.saturating_sub(*a).max(1).unsigned_abs())
                    }
                    _ => None,
                };
                env.slots.insert(*slot, Shape::Leaf(p));
                self.repeated(body, env, cx, &mut |w, env, cx| w.stmts(body, env, cx));
            }
            StmtKind::ForEach {
                slot, items, body, ..
            } => {
                let p = self.shape(items, env, cx).flat();
                env.slots.insert(*slot, Shape::Leaf(p));
                self.repeated(body, env, cx, &mut |w, env, cx| w.stmts(body, env, cx));
            }
            StmtKind::While { cond, body } => {
                self.repeated(body, env, cx, &mut |w, env, cx| {
                    let p = w.shape(cond, env, cx).flat();
                    cx.guards.push((p, cond.loc));
                    w.stmts(body, env, cx);
                    cx.guards.pop();
                });
            }
            StmtKind::Break | StmtKind::Continue => {}
        }
    }

    /// Code that runs again and again (a loop, the iteration block): when it assigns a
    /// var, walked without keeping what it records until the slots stop changing (a
    /// value assigned late in one round reaches the reads above it in the next), then
    /// once for real.
    pub(super) fn repeated(
        &mut self,
        body: &[ir::Stmt],
        env: &mut Env,
        cx: &mut Cx,
        walk: &mut dyn FnMut(&mut Self, &mut Env, &mut Cx),
    ) {
        let mut assigns = false;
        ir::walk_stmts(body, &mut |s| {
            assigns |= matches!(s.kind, StmtKind::Assign { .. });
        });
        if assigns {
            for _ in 0..MAX_ROUNDS {
                let before = env.slots.clone();
                let marks = (
                    self.facts.sites.len(),
                    self.facts.status_checks.len(),
                    self.facts.data_reads.len(),
                    env.returns.len(),
                );
                walk(self, env, cx);
                self.facts.sites.truncate(marks.0);
                self.facts.status_checks.truncate(marks.1);
                self.facts.data_reads.truncate(marks.2);
                env.returns.truncate(marks.3);
                if env.slots == before {
                    break;
                }
            }
        }
        walk(self, env, cx);
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
            ExprKind::Const | ExprKind::FnCall { .. } | ExprKind::Workload { .. } => {
                const_shape(e, self.origins_prov(e))
            }
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
            ExprKind::Intrinsic(ir::Intrinsic::WsConnect, xs) => {
                let site = self.ws_site(xs, e.loc, env, cx);
                leaf(Prov::leaf(Kind::Response(Some(site)), e.loc))
            }
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
            ExprKind::Grpc(g) => leaf(self.grpc(g, e.loc, env, cx)),
            ExprKind::CallFlow { flow, args } => self.call(*flow, args, e, env, cx),
            ExprKind::Inlined { body, .. } => {
                let sh = self.shape(body, env, cx);
                self.relocate_std(sh, e.loc)
            }
            ExprKind::DataNext(src) => leaf(self.data_next(*src, e.loc, cx)),
            ExprKind::Check { name, cond } => {
                self.facts.checks.insert(name.clone());
                let mut p = self.check_cond(cond, env, cx).flat();
                p.space = Some(2);
                leaf(p)
            }
            ExprKind::Error => leaf(Prov::default()),
        }
    }

    /// A gRPC call: what its message and metadata read is recorded; the answer is a
    /// response of no HTTP request site.
    fn grpc(&mut self, g: &ir::GrpcCall, loc: Loc, env: &mut Env, cx: &mut Cx) -> Prov {
        for x in std::iter::once(&g.message).chain(g.metadata.iter()) {
            self.shape(x, env, cx);
        }
        Prov::leaf(Kind::Response(None), loc)
    }

    /// `DATA.next()`: a read of the source, recorded for the data rules.
    fn data_next(&mut self, src: u32, loc: Loc, cx: &mut Cx) -> Prov {
        let pick = self
            .prog
            .data
            .get(src as usize)
            .map_or(Pick::Shared, |d| d.pick);
        self.facts.data_reads.push(DataRead {
            source: src,
            scenario: cx.scenario,
            phase: cx.phase,
            loc,
        });
        Prov::leaf(
            Kind::Data {
                source: src,
                pick,
                column: None,
            },
            loc,
        )
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
        if let Some(c) = &r.cookies {
            let sh = self.shape(c, env, cx);
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
            Body::Multipart(parts) => {
                for p in parts {
                    if let ir::PartValue::Text(x) = &p.value {
                        let sh = self.shape(x, env, cx);
                        flatten(&sh, Place::Body, &p.name, &mut fields);
                    }
                }
            }
        }
        let tags = r
            .tags
            .iter()
            .map(|(k, v)| SiteTag {
                key: k.clone(),
                value: match &v.konst {
                    Some(ir::Const::Str(s)) => Some(s.clone()),
                    _ => None,
                },
                prov: self.shape(v, env, cx).flat(),
                loc: v.loc,
            })
            .collect();
        for f in &mut fields {
            if f.key.is_empty() {
                f.key = self.data_identity_column(&f.prov).unwrap_or_default();
            }
            // A path segment names the resource (`/api/users/{id}`), not the caller.
            f.role = match f.place {
                Place::Path => None,
                _ => identity_role(&f.key),
            };
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
            tags,
        };
        self.facts.sites.push(site);
        self.facts.sites.len() - 1
    }

    /// `ws.connect(target, path, headers, subprotocols, timeout, name)`: a site as a
    /// request's (method `WS`), so that the rules on targets, hosts, identities and
    /// secrets judge sessions too.
    fn ws_site(&mut self, xs: &[Expr], loc: Loc, env: &mut Env, cx: &mut Cx) -> usize {
        let mut fields = Vec::new();
        let path_text = match xs.get(1) {
            Some(p) => self.path_fields(p, Place::Path, env, cx, &mut fields),
            None => None,
        };
        if let Some(h) = xs.get(2) {
            let sh = self.shape(h, env, cx);
            flatten(&sh, Place::Header, "", &mut fields);
        }
        for f in &mut fields {
            f.role = match f.place {
                Place::Path => None,
                _ => identity_role(&f.key),
            };
        }
        let target = match xs.first().and_then(|t| t.konst.as_ref()) {
            Some(ir::Const::Int(t)) => u32::try_from(*t).unwrap_or(u32::MAX),
            _ => u32::MAX,
        };
        let name = match xs.get(5).and_then(|n| n.konst.as_ref()) {
            Some(ir::Const::Str(n)) => n.clone(),
            _ => String::new(),
        };
        self.facts.sites.push(Site {
            loc,
            method: "WS".into(),
            target,
            name,
            expect: (101, 101),
            timeout_ms: None,
            scenario: cx.scenario,
            phase: cx.phase,
            fields,
            guards: cx.guards.clone(),
            calls: cx.calls.clone(),
            path_text,
            tags: Vec::new(),
        });
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
        | Intrinsic::RandomPick
        | Intrinsic::UnixMs
        | Intrinsic::Pick => {
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
        Intrinsic::Len | Intrinsic::Contains | Intrinsic::Matches | Intrinsic::Exists => {
            Prov { space: None, ..p }
        }
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

/// What a slot holds after an assignment: what it held or the new value. Records with
/// the same fields stay records; anything else becomes one scalar of every part, its
/// number of distinct values unknown (a counter, a value that changes with responses).
fn union(old: Shape, new: Shape) -> Shape {
    if old == new {
        return old;
    }
    match (old, new) {
        (Shape::Record(a), Shape::Record(b))
            if a.len() == b.len() && a.iter().zip(&b).all(|((x, _), (y, _))| x == y) =>
        {
            Shape::Record(
                a.into_iter()
                    .zip(b)
                    .map(|((k, x), (_, y))| (k, union(x, y)))
                    .collect(),
            )
        }
        (old, new) => {
            let mut p = old.flat().join(new.flat());
            p.space = None;
            Shape::Leaf(p)
        }
    }
}

/// What a slot holds after a constant is assigned to it: what it held, or that and the
/// constant's value: one more distinct value, unless it is one the slot already had
/// (the same literal, assigned again in the next round of a loop).
fn union_const(old: Shape, new: Shape) -> Shape {
    match (old, new) {
        (Shape::Leaf(o), Shape::Leaf(n)) => {
            if n.parts.iter().all(|p| o.parts.contains(p)) {
                return Shape::Leaf(o);
            }
            let space = match (o.space, n.space) {
                (Some(a), Some(b)) => Some(a.saturating_add(b)),
                _ => None,
            };
            let mut p = o.join(n);
            p.space = space;
            Shape::Leaf(p)
        }
        (old, new) => union(old, new),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_before_interpolations() {
        assert_eq!(key_before("/api/login?user=", Place::Path), "user");
        assert_eq!(key_before("/api/users/", Place::Path), "users");
        assert_eq!(key_before("/api/items?page=1&email=", Place::Path), "email");
        assert_eq!(key_before("/api/accounts/acct-", Place::Path), "accounts");
        assert_eq!(key_before("/api/x", Place::Path), "api");
        assert_eq!(key_before("", Place::Path), "");
    }
}
