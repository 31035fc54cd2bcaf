//! Expressions: literals (units normalised), names, fields, identity values, setup
//! values, string interpolation, `check(..)` as a value and constant names; the
//! `expect` rule that words type and unit mismatches ("write 400ms"). Operators and
//! compound literals are in `ops.rs`, calls in `call.rs`.

use super::{Binding, Checker, Ctx, Mode, Resolved};
use crate::codes::{self, Sink};
use crate::ir::{merge_origins, Builtin, Const, Expr, ExprKind, Origin};
use crate::konst;
use crate::suggest::did_you_mean;
use crate::types::{assignable, Type};
use volley_syntax::ast::{self, ExprKind as A, Span};

/// Identity values per namespace.
pub(crate) const IDENTITIES: &[(&str, &[(&str, Builtin)])] = &[
    (
        "vu",
        &[
            ("id", Builtin::VuId),
            ("local_id", Builtin::VuLocalId),
            ("iteration", Builtin::VuIteration),
        ],
    ),
    ("test", &[("iteration", Builtin::TestIteration)]),
    (
        "runner",
        &[
            ("index", Builtin::RunnerIndex),
            ("count", Builtin::RunnerCount),
        ],
    ),
    ("scenario", &[("name", Builtin::ScenarioName)]),
];

pub(crate) fn union_origins<'e>(xs: impl IntoIterator<Item = &'e Expr>) -> Vec<Origin> {
    let mut out = Vec::new();
    for x in xs {
        merge_origins(&mut out, &x.origins);
    }
    out
}

/// A literal with a unit as a plain number fix, from its source text (`10s` → `10`).
pub(crate) fn strip_unit(text: &str) -> String {
    let t = text.trim();
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(t.len());
    if end == 0 {
        "a plain number".into()
    } else {
        t[..end].to_string()
    }
}

/// The literal to write for a number where a unit is expected (`400` → `400ms`).
pub(crate) fn unit_fix(text: &str, want: &Type) -> String {
    let t = text.trim();
    let n: Option<f64> = t.parse().ok();
    match want {
        Type::Duration => match n {
            Some(v) if v < 60.0 => format!("{t}s"),
            Some(_) => format!("{t}ms"),
            None => "a duration such as 400ms".into(),
        },
        Type::Rate => match n {
            Some(_) => format!("{t}/s"),
            None => "a rate such as 200/s".into(),
        },
        Type::Size => match n {
            Some(_) => format!("{t}Mi"),
            None => "a size such as 512Mi".into(),
        },
        Type::Percent => match n {
            Some(v) if v > 0.0 && v < 1.0 => format!("{}%", konst::fmt_float(v * 100.0)),
            Some(_) => format!("{t}%"),
            None => "a percentage such as 1%".into(),
        },
        _ => t.to_string(),
    }
}

/// `a string`, `an int`, ...
fn article_type(t: &Type) -> String {
    let name = t.to_string();
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}

fn is_measured(t: &Type) -> bool {
    matches!(t, Type::Duration | Type::Rate | Type::Size | Type::Percent)
}

impl<'a> Checker<'a> {
    pub(crate) fn expr(&mut self, cx: &mut Ctx, e: &ast::Expr) -> Expr {
        let loc = cx.loc(e.span);
        let lit = vec![Origin::Literal];
        let out = match &e.kind {
            A::Int(i) => self.const_expr(Const::Int(*i), Type::Int, lit, loc),
            A::Float(f) => self.const_expr(Const::Float(*f), Type::Float, lit, loc),
            A::Bool(b) => self.const_expr(Const::Bool(*b), Type::Bool, lit, loc),
            A::Duration { value, unit } => self.const_expr(
                Const::Duration(value * unit.millis()),
                Type::Duration,
                lit,
                loc,
            ),
            A::Rate { value, per } => self.const_expr(
                Const::Rate(value * 1000.0 / per.millis()),
                Type::Rate,
                lit,
                loc,
            ),
            A::Size { value, unit } => {
                self.const_expr(Const::Size(value * unit.bytes()), Type::Size, lit, loc)
            }
            A::Percent(p) => self.const_expr(Const::Percent(p / 100.0), Type::Percent, lit, loc),
            A::Str(parts) => self.string(cx, parts, e.span),
            A::Name(id) => self.name(cx, id),
            A::Field { base, field } => self.field(cx, e, base, field),
            A::Call { callee, args } => self.call(cx, e, callee, args),
            A::Unary { op, operand } => self.unary(cx, e, *op, operand),
            A::Binary { op, lhs, rhs } => self.binary(cx, e, *op, lhs, rhs),
            A::Stage { duration, target } => self.stage(cx, e, duration, target),
            A::Range { low, high } => self.range(cx, e, low, high),
            A::List(items) => self.list(cx, e, items),
            A::Record(fields) => self.record(cx, e, fields),
            A::Check { name, cond } => self.check_value(cx, e, name.as_deref(), cond),
            A::Paren(inner) => self.expr(cx, inner),
            A::Index { base, index } => self.index(cx, e, base, index),
        };
        if let Some(log) = &mut self.type_log {
            log.push(crate::editor::TypeAt {
                loc: out.loc,
                ty: out.ty.clone(),
                konst: out.konst.clone(),
            });
        }
        out
    }

    /// Checks that `x` fits `want`, reporting the best diagnostic (unit fixes, "no
    /// value", mismatches). `text` is the source of the expression, for fixes.
    pub(crate) fn expect(&mut self, cx: &Ctx, x: &Expr, want: &Type, help: &str) -> bool {
        if assignable(&x.ty, want) {
            return true;
        }
        let span = x.loc.span;
        let module = x.loc.module;
        let text = self.modules[module as usize].text(span).to_string();
        let d = match (&x.ty, want) {
            (Type::Unit, _) => codes::no_value(
                span,
                &format!("`{text}`"),
                "it returns nothing; declare the flow with `-> T` and `return` a value",
            ),
            (Type::Int | Type::Float, w) if is_measured(w) => {
                codes::missing_unit(span, w.unit_name().unwrap_or("value"), &unit_fix(&text, w))
            }
            (found, Type::Int | Type::Float) if is_measured(found) => codes::unexpected_unit(
                span,
                found.unit_name().unwrap_or("value"),
                &format!("a plain {want}"),
                &strip_unit(&text),
            ),
            (found, w) if is_measured(found) && is_measured(w) => codes::mismatch(
                span,
                &format!("a {}", w.unit_name().unwrap_or("value")),
                &format!("a {}", found.unit_name().unwrap_or("value")),
                help.to_string(),
            ),
            (Type::Str, Type::Int | Type::Float)
                if text.trim_matches('"').parse::<f64>().is_ok() =>
            {
                codes::mismatch(
                    span,
                    &want.to_string(),
                    "string",
                    format!("write {} without quotes", text.trim_matches('"')),
                )
            }
            (Type::Json, w)
                if matches!(
                    w,
                    Type::Str | Type::Int | Type::Float | Type::Bool | Type::Url
                ) =>
            {
                let conv = match w {
                    Type::Int => "int",
                    Type::Float => "float",
                    Type::Bool => "bool",
                    _ => "string",
                };
                codes::mismatch(
                    span,
                    &want.to_string(),
                    "json",
                    format!("convert it: `{text}.{conv}()`"),
                )
            }
            (found, _) => {
                let help = if help.is_empty() {
                    format!("use {} here", article_type(want))
                } else {
                    help.to_string()
                };
                codes::mismatch(span, &want.to_string(), &found.to_string(), help)
            }
        };
        let _ = cx;
        self.emit(module, d);
        false
    }

    // ---- names ----

    fn name(&mut self, cx: &mut Ctx, id: &ast::Ident) -> Expr {
        let loc = cx.loc(id.span);
        match self.resolve(cx, &id.name) {
            Resolved::Binding(Binding::Local {
                slot,
                ty,
                origins,
                konst,
                ..
            }) => Expr {
                kind: ExprKind::Local(slot, id.name.clone()),
                ty,
                konst,
                comptime: false,
                origins,
                loc,
            },
            Resolved::Binding(Binding::Value(mut v)) => {
                if matches!(v.kind, ExprKind::Item(_) | ExprKind::Const)
                    && v.loc.module == cx.module
                {
                    v.loc = loc;
                }
                v
            }
            Resolved::Item(m, i) => self.item_value(cx, m, i, id.span),
            Resolved::Module(_) => self.fail(
                cx,
                codes::not_a_value(
                    id.span,
                    &format!("`{}` is a module", id.name),
                    &format!("use one of its items: `{}.NAME`", id.name),
                ),
                id.span,
            ),
            Resolved::Namespace(ns) => {
                let example = IDENTITIES
                    .iter()
                    .find(|(n, _)| *n == ns)
                    .and_then(|(_, fs)| fs.first())
                    .map(|(f, _)| format!("`{ns}.{f}`"))
                    .unwrap_or_else(|| format!("`{ns}.NAME`"));
                self.fail(
                    cx,
                    codes::not_a_value(
                        id.span,
                        &format!("`{ns}` is a namespace"),
                        &format!("use one of its values, e.g. {example}"),
                    ),
                    id.span,
                )
            }
            Resolved::Broken => self.error_expr(loc),
            Resolved::Unknown => {
                let names = self.scope_names(cx);
                let s = did_you_mean(&id.name, names.iter().map(String::as_str));
                let d = match (&s, crate::modules::std_import_for(&id.name)) {
                    (None, Some(import)) => {
                        codes::unknown_name_in_std(id.span, &id.name, "name", &import)
                    }
                    _ if id.name == "baseline" => codes::baseline_outside(id.span),
                    _ => codes::unknown_name(id.span, &id.name, "name", &s),
                };
                self.fail(cx, d, id.span)
            }
        }
    }

    fn field(&mut self, cx: &mut Ctx, e: &ast::Expr, base: &ast::Expr, field: &ast::Ident) -> Expr {
        if let A::Name(id) = &base.kind {
            match self.resolve(cx, &id.name) {
                Resolved::Namespace(ns) => return self.namespace_value(cx, ns, field, e.span),
                Resolved::Module(m) => return self.module_member_value(cx, m, field, e.span),
                Resolved::Broken => return self.error_expr(cx.loc(e.span)),
                _ => {}
            }
        }
        let b = self.expr(cx, base);
        self.member(cx, b, field, e.span)
    }

    fn module_member_value(
        &mut self,
        cx: &mut Ctx,
        m: crate::ir::ModuleId,
        field: &ast::Ident,
        span: Span,
    ) -> Expr {
        let module = self.module(m);
        match module.values.get(&field.name) {
            Some(i) => self.item_value(cx, m, *i, span),
            None => {
                if module.ast.is_none() {
                    return self.error_expr(cx.loc(span));
                }
                let available: Vec<String> = module.values.keys().cloned().collect();
                let s = did_you_mean(&field.name, available.iter().map(String::as_str));
                let name = crate::modules::display_name(&module);
                self.fail(
                    cx,
                    codes::unknown_module_item(field.span, &name, &field.name, &s, &available),
                    field.span,
                )
            }
        }
    }

    fn namespace_value(
        &mut self,
        cx: &mut Ctx,
        ns: &'static str,
        field: &ast::Ident,
        span: Span,
    ) -> Expr {
        let loc = cx.loc(span);
        if ns == "setup" {
            return self.setup_value(cx, field, span);
        }
        if ns == "grpc" {
            return self.grpc_value(cx, field, span);
        }
        let fields = IDENTITIES
            .iter()
            .find(|(n, _)| *n == ns)
            .map(|(_, f)| *f)
            .unwrap_or(&[]);
        let Some((_, builtin)) = fields.iter().find(|(f, _)| *f == field.name) else {
            let names: Vec<&str> = fields.iter().map(|(f, _)| *f).collect();
            let s = did_you_mean(&field.name, names.iter().copied());
            return self.fail(
                cx,
                codes::unknown_identity(field.span, ns, &field.name, &s, &names),
                field.span,
            );
        };
        if matches!(cx.mode, Mode::Setup | Mode::Teardown) {
            let place = if cx.mode == Mode::Setup {
                "in setup"
            } else {
                "in teardown"
            };
            let d = codes::not_available(
                span,
                &format!("`{ns}.{}`", field.name),
                place,
                "setup and teardown run once for the whole fleet, outside any VU or runner",
            );
            return self.fail(cx, d, span);
        }
        let ty = if *builtin == Builtin::ScenarioName {
            Type::Str
        } else {
            Type::Int
        };
        Expr {
            kind: ExprKind::Builtin(*builtin),
            ty,
            konst: None,
            comptime: false,
            origins: vec![Origin::Identity(*builtin)],
            loc,
        }
    }

    fn setup_value(&mut self, cx: &mut Ctx, field: &ast::Ident, span: Span) -> Expr {
        if cx.mode == Mode::Setup {
            let d = codes::not_available(
                span,
                &format!("`setup.{}`", field.name),
                "inside setup",
                &format!("use the local `{}` directly", field.name),
            );
            return self.fail(cx, d, span);
        }
        let values = self.ensure_setup();
        let have_setup = self.modules[0].setup.is_some();
        match values.iter().rposition(|(n, _, _)| *n == field.name) {
            Some(i) => {
                let (_, ty, origins) = values[i].clone();
                let mut o = vec![Origin::Setup(i as u32)];
                merge_origins(&mut o, &origins);
                Expr {
                    kind: ExprKind::Setup(i as u32),
                    ty,
                    konst: None,
                    comptime: false,
                    origins: o,
                    loc: cx.loc(span),
                }
            }
            None => {
                if have_setup && self.setup_failed {
                    return self.error_expr(cx.loc(span));
                }
                let s = did_you_mean(&field.name, values.iter().map(|(n, _, _)| n.as_str()));
                self.fail(
                    cx,
                    codes::unknown_setup_value(field.span, &field.name, &s, have_setup),
                    field.span,
                )
            }
        }
    }

    /// `base.field` on a value.
    pub(crate) fn member(&mut self, cx: &mut Ctx, b: Expr, field: &ast::Ident, span: Span) -> Expr {
        let loc = cx.loc(span);
        let ty = match &b.ty {
            Type::Error => return self.error_expr(loc),
            Type::Any => Type::Any,
            Type::Json => return self.json_member(cx, b, &field.name, span),
            Type::Record(fields) => match fields.iter().find(|(n, _)| *n == field.name) {
                Some((_, t)) => t.clone(),
                None => {
                    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
                    let s = did_you_mean(&field.name, names.iter().copied());
                    let data = b.origins.iter().find_map(|o| match o {
                        Origin::Data { source, .. } => Some(*source),
                        _ => None,
                    });
                    let d = match data {
                        Some(src) => {
                            let src_name = self
                                .prog
                                .data
                                .get(src as usize)
                                .map(|d| d.name.clone())
                                .unwrap_or_default();
                            codes::unknown_column(field.span, &src_name, &field.name, &s, &names)
                        }
                        None => codes::unknown_member(
                            field.span,
                            &format!("the record {}", b.ty),
                            &field.name,
                            &s,
                            &names,
                        ),
                    };
                    return self.fail(cx, d, field.span);
                }
            },
            Type::Response => match field.name.as_str() {
                "status" => Type::Int,
                "duration" => Type::Duration,
                "body" => Type::Str,
                "size" => Type::Size,
                "wire_size" => Type::Size,
                "url" => Type::Str,
                "cookies" => Type::Json,
                other => {
                    let valid = [
                        "status",
                        "duration",
                        "body",
                        "size",
                        "wire_size",
                        "url",
                        "cookies",
                        "header",
                        "cookie",
                        "json",
                    ];
                    let s = did_you_mean(other, valid);
                    return self.fail(
                        cx,
                        codes::unknown_member(field.span, "Response", other, &s, &valid),
                        field.span,
                    );
                }
            },
            other => {
                let valid: &[&str] = match other {
                    Type::Html => &["find(selector)", "attr(name)", "text()", "len()", "first()"],
                    _ => &[],
                };
                let d = codes::unknown_member(
                    field.span,
                    &format!("a value of type {other}"),
                    &field.name,
                    &None,
                    valid,
                );
                return self.fail(cx, d, field.span);
            }
        };
        let node = Expr {
            kind: ExprKind::Field(Box::new(b.clone()), field.name.clone()),
            ty,
            konst: None,
            comptime: b.comptime,
            origins: b.origins.clone(),
            loc,
        };
        self.folded(cx, node)
    }

    // ---- strings ----

    fn string(&mut self, cx: &mut Ctx, parts: &[ast::StrPart], span: Span) -> Expr {
        let loc = cx.loc(span);
        let mut items: Vec<Expr> = Vec::new();
        let mut failed = false;
        for p in parts {
            match p {
                ast::StrPart::Text(t) => items.push(self.const_expr(
                    Const::Str(t.clone()),
                    Type::Str,
                    vec![Origin::Literal],
                    loc,
                )),
                ast::StrPart::Interp(e) => {
                    let x = self.expr(cx, e);
                    if x.ty.is_error() {
                        failed = true;
                    } else if !x.ty.is_scalar() {
                        let d = codes::mismatch(
                            e.span,
                            "a value that can be written in a string",
                            &x.ty.to_string(),
                            "interpolate a field instead, e.g. `{res.status}`".into(),
                        );
                        self.emit(cx.module, d);
                        failed = true;
                    }
                    items.push(x);
                }
            }
        }
        if failed {
            return self.error_expr(loc);
        }
        let origins = if items.is_empty() {
            vec![Origin::Literal]
        } else {
            union_origins(&items)
        };
        let comptime = items.iter().all(|x| x.comptime);
        let node = self.folded(
            cx,
            Expr {
                kind: ExprKind::Concat(items),
                ty: Type::Str,
                konst: None,
                comptime,
                origins,
                loc,
            },
        );
        // A string known at compile time is a constant, its parts dropped.
        match node.konst {
            Some(_) => Expr {
                kind: ExprKind::Const,
                ..node
            },
            None => node,
        }
    }

    // ---- operators ----

    // ---- stages, ranges, lists, records ----

    // ---- checks and names ----

    fn check_value(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        name: Option<&ast::Expr>,
        cond: &ast::Expr,
    ) -> Expr {
        let loc = cx.loc(e.span);
        let (name, c) = self.check_parts(cx, name, cond, Sink::CheckName);
        let (Some(name), Some(c)) = (name, c) else {
            return self.error_expr(loc);
        };
        Expr {
            ty: Type::Bool,
            konst: None,
            comptime: false,
            origins: c.origins.clone(),
            kind: ExprKind::Check {
                name,
                cond: Box::new(c),
            },
            loc,
        }
    }

    /// The name (explicit, or the condition's source text) and the bool condition of a
    /// check or require.
    pub(crate) fn check_parts(
        &mut self,
        cx: &mut Ctx,
        name: Option<&ast::Expr>,
        cond: &ast::Expr,
        sink: Sink,
    ) -> (Option<String>, Option<Expr>) {
        let name = match name {
            Some(n) => self.const_name(cx, n, "a check name", sink),
            None => Some(self.source_text(cx.module, cond.span)),
        };
        let c = self.expr(cx, cond);
        if c.ty.is_error() {
            return (name, None);
        }
        if !self.expect(
            cx,
            &c,
            &Type::Bool,
            "a check needs a condition, e.g. `r.status == 200`",
        ) {
            return (name, None);
        }
        (name, Some(c))
    }

    /// A constant string naming a check, group or request: secrets are refused first.
    pub(crate) fn const_name(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        what: &str,
        sink: Sink,
    ) -> Option<String> {
        let x = self.expr(cx, e);
        if x.ty.is_error() {
            return None;
        }
        if self.sink(cx, &x, sink) {
            return None;
        }
        if !x.ty.is_scalar() {
            self.expect(cx, &x, &Type::Str, "a name is a string");
            return None;
        }
        match &x.konst {
            Some(Const::Str(s)) => Some(s.clone()),
            Some(other) => Some(konst::to_text(other)),
            None => {
                self.emit(cx.module, codes::name_not_constant(e.span, what));
                None
            }
        }
    }
}
