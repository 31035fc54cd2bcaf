//! HTTP requests: `get|post|put|patch|delete|head|options(TARGET, PATH, json:, body:,
//! form:, multipart:, query:, headers:, name:, timeout:, redirects:, expect:, tags:)`
//! (`multipart:` is `multipart.rs`'s, tags in `tags.rs`). The target must be a declared
//! `target`; the path is a string (interpolation becomes a concatenation) whose template
//! (`/api/users/{id}`, up to `?`) is the default `name` tag; secrets may go into headers
//! and bodies but not into the path or query. The accepted arguments are the tables
//! `REQUEST_POSITIONAL` and `REQUEST_OPTIONS` (`args.rs`).

use super::args::{RequestArg, REQUEST_OPTIONS, REQUEST_POSITIONAL};
use super::{Checker, Ctx};
use crate::codes::{self, Sink};
use crate::ir::{self, Const, Expr, ExprKind, Intrinsic, Origin};
use crate::konst;
use crate::types::Type;
use volley_syntax::ast::{self, ExprKind as A, Span};

/// A request's arguments bound to their keys: the target, the path and the options in
/// source order.
struct Bound<'e> {
    target: &'e ast::Arg,
    path: &'e ast::Arg,
    options: Vec<(RequestArg, &'e ast::Arg)>,
    ok: bool,
}

/// The request options checked so far.
pub(super) struct Options {
    body: ir::Body,
    /// The option that gave the body, and where.
    body_span: Option<(RequestArg, Span)>,
    query: Option<Expr>,
    headers: Option<Expr>,
    pub(super) name: Option<String>,
    timeout_ms: Option<u64>,
    redirects: Option<Expr>,
    expect: (u16, u16),
    cookies: Option<Expr>,
    compress: Option<String>,
    /// Where `name:` was given (a `name` in `tags:` too is E0306).
    pub(super) name_span: Option<Span>,
    pub(super) tags: Vec<(String, Expr)>,
}

/// The name an argument key is written with.
fn key_name(key: RequestArg) -> &'static str {
    REQUEST_POSITIONAL
        .iter()
        .chain(REQUEST_OPTIONS)
        .find(|a| a.key == key)
        .map_or("", |a| a.name)
}

impl<'a> Checker<'a> {
    pub(crate) fn request(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        method: &str,
        args: &[ast::Arg],
    ) -> Expr {
        let loc = cx.loc(e.span);
        let Some(bound) = self.request_args(cx, e, method, args) else {
            return self.error_expr(loc);
        };
        let mut ok = bound.ok;
        let target = self.target_arg(cx, &bound.target.value);
        ok &= target.is_some() && !self.http_to_ws_target(cx, &bound.target.value, target);
        let p = bound.path;
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
        let mut o = Options {
            body: ir::Body::None,
            body_span: None,
            query: None,
            headers: None,
            name: None,
            timeout_ms: None,
            redirects: None,
            expect: (200, 399),
            cookies: None,
            compress: None,
            name_span: None,
            tags: Vec::new(),
        };
        for (key, a) in bound.options {
            if key == RequestArg::Multipart {
                // Its `file(..)` parts are not expressions: checked part by part.
                ok &= self.body_slot(cx, key, a, &mut o)
                    && match self.multipart_body(cx, a) {
                        Some(parts) => {
                            o.body = ir::Body::Multipart(parts);
                            true
                        }
                        None => false,
                    };
                continue;
            }
            let x = self.expr(cx, &a.value);
            if x.ty.is_error() {
                ok = false;
                continue;
            }
            ok &= self.request_option(cx, key, a, x, &mut o);
        }
        if !ok {
            return self.error_expr(loc);
        }
        let request = ir::Request {
            // The built-ins (`get`, ..) in capitals; `request("PURGE", ..)` as written.
            method: match super::call::REQUEST_METHODS.contains(&method) {
                true => method.to_ascii_uppercase(),
                false => method.to_string(),
            },
            target: target.unwrap_or(u32::MAX),
            path,
            query: o.query,
            headers: o.headers,
            body: o.body,
            name: o.name.unwrap_or(template),
            timeout_ms: o.timeout_ms,
            redirects: o.redirects,
            expect: o.expect,
            cookies: o.cookies,
            compress: o.compress,
            tags: o.tags,
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

    /// Binds a request's arguments to the keys of its tables. `None` (reported) when the
    /// target or the path is missing.
    fn request_args<'e>(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        method: &str,
        args: &'e [ast::Arg],
    ) -> Option<Bound<'e>> {
        let mut ok = true;
        let mut positional = 0;
        let mut seen: Vec<(RequestArg, &'e ast::Arg)> = Vec::new();
        for a in args {
            let Some(key) = self.request_arg_key(cx, a, method, &mut positional) else {
                ok = false;
                continue;
            };
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
                let d = codes::duplicate_field(a.span, key_name(key), first.span);
                self.emit(cx.module, d);
                ok = false;
                continue;
            }
            seen.push((key, a));
        }
        let find = |key| seen.iter().find(|(k, _)| *k == key).map(|(_, a)| *a);
        let (Some(target), Some(path)) = (find(RequestArg::Target), find(RequestArg::Path)) else {
            if ok {
                let found = args.iter().filter(|a| a.name.is_none()).count();
                self.emit(
                    cx.module,
                    codes::arg_count(e.span, method, "a target and a path", found),
                );
            }
            return None;
        };
        let options = seen
            .into_iter()
            .filter(|(k, _)| !matches!(k, RequestArg::Target | RequestArg::Path))
            .collect();
        Some(Bound {
            target,
            path,
            options,
            ok,
        })
    }

    /// The key of one request argument: by position (target, path) or by name from the
    /// tables. `None` (reported) for a third positional or an unknown name.
    fn request_arg_key(
        &mut self,
        cx: &mut Ctx,
        a: &ast::Arg,
        method: &str,
        positional: &mut usize,
    ) -> Option<RequestArg> {
        let Some(n) = &a.name else {
            *positional += 1;
            if let Some(spec) = REQUEST_POSITIONAL.get(*positional - 1) {
                return Some(spec.key);
            }
            let d = codes::arg_count(
                a.span,
                method,
                "a target and a path, then named arguments",
                *positional,
            );
            self.emit(cx.module, d);
            return None;
        };
        if let Some(spec) = REQUEST_POSITIONAL.iter().find(|s| s.name == n.name) {
            return Some(spec.key);
        }
        let unknown = |sp, name: &str, s: &Option<String>, acc: &[&str]| {
            codes::unknown_arg(sp, method, name, s, acc)
        };
        let key = self.arg_key(cx.module, REQUEST_OPTIONS, &n.name, n.span, unknown);
        if key.is_none() {
            self.expr(cx, &a.value);
        }
        key
    }

    /// Checks one request option into `o`; false when it was wrong (reported).
    fn request_option(
        &mut self,
        cx: &mut Ctx,
        key: RequestArg,
        a: &ast::Arg,
        x: Expr,
        o: &mut Options,
    ) -> bool {
        match key {
            RequestArg::Json => self.body_slot(cx, key, a, o) && self.json_body(cx, a, x, o),
            RequestArg::Body => self.body_slot(cx, key, a, o) && self.raw_body(cx, x, o),
            RequestArg::Form => {
                self.body_slot(cx, key, a, o)
                    && match self.string_record(x, "form fields") {
                        Some(x) => {
                            o.body = ir::Body::Form(x);
                            true
                        }
                        None => false,
                    }
            }
            RequestArg::Query => {
                let clean = !self.sink(cx, &x, Sink::Url);
                match self.string_record(x, "query parameters") {
                    Some(x) => o.query = Some(x),
                    None => return false,
                }
                clean
            }
            RequestArg::Headers => match self.string_record(x, "headers") {
                Some(x) => {
                    o.headers = Some(x);
                    true
                }
                None => false,
            },
            RequestArg::Name => {
                if let Some(first) = o.name_span {
                    self.emit(cx.module, codes::duplicate_field(a.span, "name", first));
                    return false;
                }
                o.name_span = Some(a.span);
                self.request_name(cx, a, &x, o)
            }
            RequestArg::Tags => self.request_tags(cx, a, x, o),
            RequestArg::Timeout => self.request_timeout(cx, a, &x, o),
            RequestArg::Redirects => self.request_redirects(cx, a, x, o),
            RequestArg::Expect => match self.expect_range(cx, &x, a.value.span) {
                Some(r) => {
                    o.expect = r;
                    true
                }
                None => false,
            },
            RequestArg::Cookies => match self.request_cookies(cx, a, x) {
                Some(x) => {
                    o.cookies = Some(x);
                    true
                }
                None => false,
            },
            RequestArg::Compress => match self.request_compress(cx, a, &x) {
                Some(c) => {
                    o.compress = Some(c);
                    true
                }
                None => false,
            },
            // Bound to their own places by `request_args`, never options; `multipart:`
            // is checked before its value is typed (`request`).
            RequestArg::Target | RequestArg::Path | RequestArg::Multipart => true,
        }
    }

    /// Takes the one body of a request (`json:`, `body:`, `form:` or `multipart:`); false
    /// (reported) when it was already given: E0322 when one of the two is `multipart:`.
    fn body_slot(&mut self, cx: &Ctx, key: RequestArg, a: &ast::Arg, o: &mut Options) -> bool {
        if let Some((first_key, first)) = o.body_span {
            let d = match (first_key, key) {
                (RequestArg::Multipart, other) | (other, RequestArg::Multipart) => {
                    codes::multipart_conflict(a.span, key_name(other), first)
                }
                _ => codes::duplicate_field(a.span, "body", first),
            };
            self.emit(cx.module, d);
            return false;
        }
        o.body_span = Some((key, a.span));
        true
    }

    /// `json:`: any value that serialises.
    fn json_body(&mut self, cx: &Ctx, a: &ast::Arg, x: Expr, o: &mut Options) -> bool {
        let ok = x.ty.is_data();
        if !ok {
            let d = codes::mismatch(
                a.value.span,
                "a value that can be sent as JSON",
                &x.ty.to_string(),
                "send a record, a list or a scalar".into(),
            );
            self.emit(cx.module, d);
        }
        o.body = ir::Body::Json(x);
        ok
    }

    /// `body:`: the raw body as a string.
    fn raw_body(&mut self, cx: &mut Ctx, x: Expr, o: &mut Options) -> bool {
        let ok = self.expect(
            cx,
            &x,
            &Type::Str,
            "`body:` is the raw body as a string; use `json:` for JSON",
        );
        o.body = ir::Body::Raw(x);
        ok
    }

    /// `name:`: a constant string without secrets.
    fn request_name(&mut self, cx: &mut Ctx, a: &ast::Arg, x: &Expr, o: &mut Options) -> bool {
        if self.sink(cx, x, Sink::RequestName) {
            return false;
        }
        match &x.konst {
            Some(Const::Str(s)) => {
                o.name = Some(s.clone());
                true
            }
            _ if !assignable_str(&x.ty) => {
                self.expect(cx, x, &Type::Str, "a request name is a string")
            }
            _ => {
                self.emit(
                    cx.module,
                    codes::name_not_constant(a.value.span, "a request name"),
                );
                false
            }
        }
    }

    /// `timeout:`: a positive constant duration.
    fn request_timeout(&mut self, cx: &mut Ctx, a: &ast::Arg, x: &Expr, o: &mut Options) -> bool {
        if !self.expect(cx, x, &Type::Duration, "a timeout is a duration such as 5s") {
            return false;
        }
        let Some(Const::Duration(ms)) = x.konst else {
            self.require_const(
                cx,
                x,
                "a request timeout",
                "write a duration literal such as 5s",
            );
            return false;
        };
        if ms <= 0.0 {
            self.emit(
                cx.module,
                codes::out_of_range(
                    a.value.span,
                    "the timeout",
                    "a timeout is a positive duration, e.g. 5s",
                ),
            );
            return false;
        }
        o.timeout_ms = Some(ms.round() as u64);
        true
    }

    /// `redirects:`: the most redirects this request follows, an int from 0 to 1000 (the
    /// scenario's `max_redirects` range); a constant is checked now, a value known only
    /// at run time by the engine before the send.
    fn request_redirects(&mut self, cx: &mut Ctx, a: &ast::Arg, x: Expr, o: &mut Options) -> bool {
        if !self.expect(
            cx,
            &x,
            &Type::Int,
            "`redirects:` is a whole number of hops, e.g. `redirects: 0`",
        ) {
            return false;
        }
        if let Some(Const::Int(n)) = x.konst {
            if !(0..=1000).contains(&n) {
                self.emit(
                    cx.module,
                    codes::out_of_range(
                        a.value.span,
                        "`redirects:`",
                        "a request follows 0 to 1000 redirects: write e.g. `redirects: 10`, \
                         or `redirects: 0` to get the first 3xx",
                    ),
                );
                return false;
            }
        }
        o.redirects = Some(x);
        true
    }

    /// The `name` tag a request gets by default: the path as written up to `?`, each
    /// interpolation shown as `{source text}`.
    pub(crate) fn path_template(&self, cx: &Ctx, path: &ast::Expr, checked: &Expr) -> String {
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
    pub(crate) fn string_record(&mut self, x: Expr, what: &str) -> Option<Expr> {
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
