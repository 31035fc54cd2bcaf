//! HTTP requests: `get|post|put|patch|delete|head|options(TARGET, PATH, json:, body:,
//! form:, query:, headers:, name:, timeout:, expect:)`. The target must be a declared
//! `target`; the path is a string (interpolation becomes a concatenation) whose template
//! (`/api/users/{id}`, up to `?`) is the default `name` tag; secrets may go into headers
//! and bodies but not into the path or query.

use super::{Checker, Ctx};
use crate::codes::{self, Sink};
use crate::ir::{self, Const, Expr, ExprKind, Intrinsic, Origin};
use crate::konst;
use crate::suggest::did_you_mean;
use crate::types::Type;
use volley_syntax::ast::{self, ExprKind as A, Span};

const NAMED: &[&str] = &[
    "json", "body", "form", "query", "headers", "name", "timeout", "expect",
];

impl<'a> Checker<'a> {
    pub(crate) fn request(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        method: &str,
        args: &[ast::Arg],
    ) -> Expr {
        let loc = cx.loc(e.span);
        let mut target_arg: Option<&ast::Arg> = None;
        let mut path_arg: Option<&ast::Arg> = None;
        let mut named: Vec<(&str, &ast::Arg)> = Vec::new();
        let mut ok = true;
        let mut positional = 0;
        for a in args {
            let key = match &a.name {
                None => {
                    positional += 1;
                    match positional {
                        1 => "target",
                        2 => "path",
                        _ => {
                            let d = codes::arg_count(
                                a.span,
                                method,
                                "a target and a path, then named arguments",
                                positional,
                            );
                            self.emit(cx.module, d);
                            ok = false;
                            continue;
                        }
                    }
                }
                Some(n)
                    if n.name == "target"
                        || n.name == "path"
                        || NAMED.contains(&n.name.as_str()) =>
                {
                    n.name.as_str()
                }
                Some(n) => {
                    let s = did_you_mean(&n.name, NAMED.iter().copied());
                    self.emit(
                        cx.module,
                        codes::unknown_arg(n.span, method, &n.name, &s, NAMED),
                    );
                    self.expr(cx, &a.value);
                    ok = false;
                    continue;
                }
            };
            let slot = match key {
                "target" => &mut target_arg,
                "path" => &mut path_arg,
                _ => {
                    if let Some((_, first)) = named.iter().find(|(k, _)| *k == key) {
                        let first = first.span;
                        self.emit(cx.module, codes::duplicate_field(a.span, key, first));
                        ok = false;
                    } else {
                        named.push((key, a));
                    }
                    continue;
                }
            };
            if let Some(first) = slot {
                let first = first.span;
                self.emit(cx.module, codes::duplicate_field(a.span, key, first));
                ok = false;
            } else {
                *slot = Some(a);
            }
        }
        let (Some(t), Some(p)) = (target_arg, path_arg) else {
            if ok {
                let found = args.iter().filter(|a| a.name.is_none()).count();
                self.emit(
                    cx.module,
                    codes::arg_count(e.span, method, "a target and a path", found),
                );
            }
            return self.error_expr(loc);
        };
        let target = self.target_arg(cx, &t.value);
        ok &= target.is_some();

        let path = self.expr(cx, &p.value);
        if path.ty.is_error()
            || !self.expect(
                cx,
                &path,
                &Type::Str,
                "the path is a string such as \"/api/products\"",
            )
        {
            ok = false;
        } else {
            ok &= !self.sink(cx, &path, Sink::Url);
        }
        let template = self.path_template(cx, &p.value, &path);

        let mut body = ir::Body::None;
        let mut body_span: Option<Span> = None;
        let mut query = None;
        let mut headers = None;
        let mut name = None;
        let mut timeout_ms = None;
        let mut expect = (200u16, 399u16);
        for (key, a) in named {
            let x = self.expr(cx, &a.value);
            if x.ty.is_error() {
                ok = false;
                continue;
            }
            match key {
                "json" | "body" | "form" => {
                    if let Some(first) = body_span {
                        self.emit(cx.module, codes::duplicate_field(a.span, "body", first));
                        ok = false;
                        continue;
                    }
                    body_span = Some(a.span);
                    match key {
                        "json" => {
                            if !x.ty.is_data() {
                                let d = codes::mismatch(
                                    a.value.span,
                                    "a value that can be sent as JSON",
                                    &x.ty.to_string(),
                                    "send a record, a list or a scalar".into(),
                                );
                                self.emit(cx.module, d);
                                ok = false;
                            }
                            body = ir::Body::Json(x);
                        }
                        "body" => {
                            ok &= self.expect(
                                cx,
                                &x,
                                &Type::Str,
                                "`body:` is the raw body as a string; use `json:` for JSON",
                            );
                            body = ir::Body::Raw(x);
                        }
                        _ => match self.string_record(x, "form fields") {
                            Some(x) => body = ir::Body::Form(x),
                            None => ok = false,
                        },
                    }
                }
                "query" => {
                    ok &= !self.sink(cx, &x, Sink::Url);
                    match self.string_record(x, "query parameters") {
                        Some(x) => query = Some(x),
                        None => ok = false,
                    }
                }
                "headers" => match self.string_record(x, "headers") {
                    Some(x) => headers = Some(x),
                    None => ok = false,
                },
                "name" => {
                    if self.sink(cx, &x, Sink::RequestName) {
                        ok = false;
                        continue;
                    }
                    match &x.konst {
                        Some(Const::Str(s)) => name = Some(s.clone()),
                        _ if !assignable_str(&x.ty) => {
                            ok &= self.expect(cx, &x, &Type::Str, "a request name is a string");
                        }
                        _ => {
                            self.emit(
                                cx.module,
                                codes::name_not_constant(a.value.span, "a request name"),
                            );
                            ok = false;
                        }
                    }
                }
                "timeout" => {
                    if !self.expect(
                        cx,
                        &x,
                        &Type::Duration,
                        "a timeout is a duration such as 5s",
                    ) {
                        ok = false;
                    } else if let Some(Const::Duration(ms)) = x.konst {
                        if ms <= 0.0 {
                            self.emit(
                                cx.module,
                                codes::out_of_range(
                                    a.value.span,
                                    "the timeout",
                                    "a timeout is a positive duration, e.g. 5s",
                                ),
                            );
                            ok = false;
                        } else {
                            timeout_ms = Some(ms.round() as u64);
                        }
                    } else {
                        self.require_const(
                            cx,
                            &x,
                            "a request timeout",
                            "write a duration literal such as 5s",
                        );
                        ok = false;
                    }
                }
                _ => match self.expect_range(cx, &x, a.value.span) {
                    Some(r) => expect = r,
                    None => ok = false,
                },
            }
        }
        if !ok {
            return self.error_expr(loc);
        }
        let request = ir::Request {
            method: method.to_ascii_uppercase(),
            target: target.unwrap_or(u32::MAX),
            path,
            query,
            headers,
            body,
            name: name.unwrap_or(template),
            timeout_ms,
            expect,
        };
        Expr {
            kind: ExprKind::Request(Box::new(request)),
            ty: Type::Response,
            konst: None,
            comptime: false,
            origins: vec![Origin::Response],
            loc,
        }
    }

    /// The `name` tag a request gets by default: the path as written up to `?`, each
    /// interpolation shown as `{source text}`.
    fn path_template(&self, cx: &Ctx, path: &ast::Expr, checked: &Expr) -> String {
        let mut out = String::new();
        match &path.kind {
            A::Str(parts) => {
                for part in parts {
                    match part {
                        ast::StrPart::Text(t) => {
                            if let Some(i) = t.find('?') {
                                out.push_str(&t[..i]);
                                return out;
                            }
                            out.push_str(t);
                        }
                        ast::StrPart::Interp(e) => {
                            out.push('{');
                            out.push_str(&self.source_text(cx.module, e.span));
                            out.push('}');
                        }
                    }
                }
                out
            }
            _ => match &checked.konst {
                Some(c) => {
                    let t = konst::to_text(c);
                    t.split('?').next().unwrap_or("").to_string()
                }
                None => format!("{{{}}}", self.source_text(cx.module, path.span)),
            },
        }
    }

    /// A record whose values become strings (headers, form fields, query parameters).
    fn string_record(&mut self, x: Expr, what: &str) -> Option<Expr> {
        let Type::Record(fields) = &x.ty else {
            let d = codes::mismatch(
                x.loc.span,
                "a record",
                &x.ty.to_string(),
                format!("write {what} as a record, e.g. {{\"x-token\": token}}"),
            );
            self.emit(x.loc.module, d);
            return None;
        };
        for (k, t) in fields {
            if !t.is_scalar() {
                let d = codes::mismatch(
                    x.loc.span,
                    "text values",
                    &t.to_string(),
                    format!("the {what} value `{k}` must be text, a number or a bool"),
                );
                self.emit(x.loc.module, d);
                return None;
            }
        }
        let mut x = x;
        // Values that are not strings are converted where they are written.
        if let ExprKind::Record(items) = &mut x.kind {
            for (_, v) in items.iter_mut() {
                if !matches!(v.ty, Type::Str | Type::Url) && v.konst.is_none() {
                    let inner = v.clone();
                    *v = Expr {
                        kind: ExprKind::Intrinsic(Intrinsic::ToStr, vec![inner.clone()]),
                        ty: Type::Str,
                        konst: None,
                        comptime: inner.comptime,
                        origins: inner.origins.clone(),
                        loc: inner.loc,
                    };
                } else if let Some(c) = &v.konst {
                    if !matches!(c, Const::Str(_)) {
                        v.konst = Some(Const::Str(konst::to_text(c)));
                        v.ty = Type::Str;
                    }
                }
            }
            if let Some(Const::Record(fs)) = &mut x.konst {
                for (_, c) in fs.iter_mut() {
                    if !matches!(c, Const::Str(_)) {
                        *c = Const::Str(konst::to_text(c));
                    }
                }
            }
        }
        Some(x)
    }

    /// `expect: 200..399` (or one status) as inclusive bounds.
    fn expect_range(&mut self, cx: &mut Ctx, x: &Expr, span: Span) -> Option<(u16, u16)> {
        let bounds = match &x.konst {
            Some(Const::Int(i)) => Some((*i, *i)),
            Some(Const::Range(a, b)) => match (&**a, &**b) {
                (Const::Int(a), Const::Int(b)) => Some((*a, *b)),
                _ => None,
            },
            _ => None,
        };
        let Some((lo, hi)) = bounds else {
            if x.comptime || x.konst.is_some() {
                let d = codes::mismatch(
                    span,
                    "a status range such as 200..399",
                    &x.ty.to_string(),
                    "write `expect: 200..299` or `expect: 201`".into(),
                );
                self.emit(cx.module, d);
            } else {
                self.require_const(cx, x, "`expect`", "write a status range such as 200..399");
            }
            return None;
        };
        if !(100..=599).contains(&lo) || !(100..=599).contains(&hi) || lo > hi {
            self.emit(
                cx.module,
                codes::out_of_range(
                    span,
                    "the expected status range",
                    "statuses are 100..599, low first, e.g. `expect: 200..299`",
                ),
            );
            return None;
        }
        Some((lo as u16, hi as u16))
    }
}

fn assignable_str(t: &Type) -> bool {
    matches!(t, Type::Str | Type::Url | Type::Error | Type::Any)
}
