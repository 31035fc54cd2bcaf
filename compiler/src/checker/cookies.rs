//! Cookies and compression in the language: `vu.cookies.set(TARGET, "name", "value")`,
//! `vu.cookies.clear()`, a request's `cookies: {name: value}` (names and constant values
//! checked as cookie tokens, E0311) and `compress: "gzip"`. The jar itself is the
//! engine's (`engine/src/http/cookies.rs`); `res.cookies` and `res.cookie(name)` are in
//! the Response's field and method tables.

use super::{Checker, Ctx};
use crate::codes;
use crate::ir::{Const, Expr, ExprKind, Intrinsic, Origin};
use crate::types::Type;
use volley_syntax::ast::{self, ExprKind as A};

/// The methods of `vu.cookies`.
const JAR_METHODS: &[&str] = &["set(target, name, value)", "clear()"];

/// Whether `base` is `vu.cookies` (the callee of `vu.cookies.set(..)`).
pub(crate) fn is_vu_cookies(base: &ast::Expr) -> bool {
    matches!(&base.kind, A::Field { base: b, field }
        if field.name == "cookies" && matches!(&b.kind, A::Name(n) if n.name == "vu"))
}

/// A cookie name: an HTTP token.
fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A cookie value: visible ASCII but `"`, `,`, `;` and `\`.
fn valid_value(s: &str) -> bool {
    s.len() <= 4096
        && s.bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && !b"\",;\\".contains(&b))
}

impl<'a> Checker<'a> {
    /// `vu.cookies.set(TARGET, name, value)` or `vu.cookies.clear()`.
    pub(crate) fn vu_cookies(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        field: &ast::Ident,
        args: &[ast::Arg],
    ) -> Expr {
        let loc = cx.loc(e.span);
        let (intrinsic, count) = match field.name.as_str() {
            "set" => (Intrinsic::CookieSet, 3),
            "clear" => (Intrinsic::CookieClear, 0),
            other => {
                let s = crate::suggest::did_you_mean(other, ["set", "clear"]);
                let d = codes::unknown_member(field.span, "vu.cookies", other, &s, JAR_METHODS);
                return self.fail(cx, d, field.span);
            }
        };
        if args.len() != count || args.iter().any(|a| a.name.is_some()) {
            let expected = match count {
                0 => "no arguments",
                _ => "a target, a cookie name and a value",
            };
            let callee = format!("vu.cookies.{}", field.name);
            let d = codes::arg_count(e.span, &callee, expected, args.len());
            return self.fail(cx, d, e.span);
        }
        let mut xs = Vec::new();
        if let [target, name, value] = args {
            let Some(t) = self.target_arg(cx, &target.value) else {
                return self.error_expr(loc);
            };
            let t = self.const_expr(
                Const::Int(i64::from(t)),
                Type::Int,
                vec![Origin::Literal],
                cx.loc(target.value.span),
            );
            let n = self.expr(cx, &name.value);
            let v = self.expr(cx, &value.value);
            if n.ty.is_error() || v.ty.is_error() {
                return self.error_expr(loc);
            }
            let ok = self.expect(cx, &n, &Type::Str, "a cookie name is a string")
                && self.expect(cx, &v, &Type::Str, "a cookie value is a string")
                && self.cookie_const(cx, &n, "name")
                && self.cookie_const(cx, &v, "value");
            if !ok {
                return self.error_expr(loc);
            }
            xs = vec![t, n, v];
        }
        Expr {
            kind: ExprKind::Intrinsic(intrinsic, xs),
            ty: Type::Unit,
            konst: None,
            comptime: false,
            origins: Vec::new(),
            loc,
        }
    }

    /// A constant cookie name or value must be one (E0311); false when reported.
    fn cookie_const(&mut self, cx: &Ctx, x: &Expr, what: &str) -> bool {
        let Some(Const::Str(s)) = &x.konst else {
            return true;
        };
        let ok = match what {
            "name" => valid_name(s),
            _ => valid_value(s),
        };
        if !ok {
            self.emit(cx.module, codes::bad_cookie(x.loc.span, what, s));
        }
        ok
    }

    /// `cookies: {name: value}`: a record of text whose names are cookie names and whose
    /// constant values are cookie values.
    pub(crate) fn request_cookies(&mut self, cx: &Ctx, a: &ast::Arg, x: Expr) -> Option<Expr> {
        let x = self.string_record(x, "cookies")?;
        let mut ok = true;
        if let A::Record(fields) = &a.value.kind {
            for f in fields {
                if !valid_name(&f.key) {
                    let d = codes::bad_cookie(f.key_span, "name", &f.key);
                    self.emit(cx.module, d);
                    ok = false;
                }
            }
        }
        if let ExprKind::Record(items) = &x.kind {
            for (_, v) in items {
                ok &= self.cookie_const(cx, v, "value");
            }
        }
        ok.then_some(x)
    }

    /// `compress: "gzip"`: the one coding a request body may be sent with.
    pub(crate) fn request_compress(
        &mut self,
        cx: &mut Ctx,
        a: &ast::Arg,
        x: &Expr,
    ) -> Option<String> {
        if !self.expect(
            cx,
            x,
            &Type::Str,
            "`compress:` is a coding such as \"gzip\"",
        ) {
            return None;
        }
        match &x.konst {
            Some(Const::Str(s)) if s == "gzip" => Some(s.clone()),
            Some(Const::Str(s)) => {
                let sug = crate::suggest::did_you_mean(s, ["gzip"]);
                let d = codes::bad_choice(a.value.span, "compress", s, &sug, &["\"gzip\""]);
                self.emit(cx.module, d);
                None
            }
            _ => {
                self.require_const(cx, x, "`compress:`", "write `compress: \"gzip\"`");
                None
            }
        }
    }
}
