//! A request's own tags: `get(api, "/search", tags: {kind: "search", tier: user.tier})`.
//! Keys are tag names (E0715); the tags Volley sets from the request and its response are
//! refused (E0319). As in k6, a request may set `name` (it is `name:` written as k6
//! writes it: constant, E0702; with `name:` too, E0306), and `group` and `scenario`,
//! which replace the group's and the scenario's on its samples. Values are text, numbers or bools, converted to strings where they are written
//! (anything else is E0320), and never a secret (E0503, through vars, loops and string
//! functions like every taint). A constant value is folded into the request's series when
//! the test compiles; any other is evaluated before each send and is bounded by the
//! engine (see `volley_plan::program::DYNAMIC_TAG_SERIES_CAP`); `volley lint` judges its
//! cardinality (L0120).

use super::request::Options;
use super::{Checker, Ctx};
use crate::codes::{self, Sink};
use crate::ir::{Const, Expr, ExprKind, Intrinsic};
use crate::konst;
use crate::types::Type;
use volley_syntax::ast::{self, ExprKind as A, Span};

/// The tags Volley sets on a request's samples from the request and its response, which
/// a request's `tags:` cannot set, each with its fix. k6 1.1 silently overwrites `method`,
/// `status`, `expected_response`, `url` and `proto` with its own values; it keeps a
/// request's `check` and `error_code`, but here those would pass for a check or a
/// transport error in the summary. k6 lets a request set `name`, `group` and `scenario`,
/// and so does Volley.
const SYSTEM_TAGS: &[(&str, &str)] = &[
    ("method", "the method is the call: `post(..)`, or `request(\"PURGE\", ..)` for any other; use another key for your own tag"),
    ("status", "the status comes from the response: use another key, and `expect:` to choose which statuses count as expected"),
    ("expected_response", "it comes from the response and `expect:`: write `expect: 200..499` to change which statuses are expected"),
    ("error_code", "it is set on a transport error, and the summary counts errors by it: use another key"),
    ("check", "only `checks` samples carry `check`, named by the check: use another key"),
    ("url", "Volley never tags the expanded URL (a series per id): group requests with `name: \"/api/items/{id}\"` instead"),
    ("proto", "k6 sets it from the connection and Volley does not record it: use another key"),
    ("tls_version", "k6 sets it from the connection and Volley does not record it: use another key"),
    ("ip", "k6 sets it from the connection and Volley does not record it: use another key"),
    ("error", "transport errors are tagged `error_code`: use another key"),
];

/// A tag name: letters, digits, `_` (and `.` `-` after the first), not `__` first (the
/// engine's own values start so, and Prometheus reserves such names).
fn valid_key(k: &str) -> bool {
    let mut chars = k.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && !k.starts_with("__")
}

/// The closest tag name to `k` (for E0715's fix).
fn key_fix(k: &str) -> String {
    let mut out: String = k
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-') {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    while out.starts_with("__") {
        out.remove(0);
    }
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert_str(0, "tag_");
    }
    out
}

/// A value made text where it is written: a constant folded to a string, anything else
/// converted at run time (`ToStr`), a string as it is.
fn as_text(v: Expr) -> Expr {
    if let Some(c) = &v.konst {
        if matches!(c, Const::Str(_)) {
            return v;
        }
        let mut v = v.clone();
        v.konst = Some(Const::Str(konst::to_text(c)));
        v.ty = Type::Str;
        return v;
    }
    if matches!(v.ty, Type::Str | Type::Url) {
        return v;
    }
    Expr {
        kind: ExprKind::Intrinsic(Intrinsic::ToStr, vec![v.clone()]),
        ty: Type::Str,
        konst: None,
        comptime: v.comptime,
        origins: v.origins.clone(),
        loc: v.loc,
    }
}

impl Checker<'_> {
    /// `tags: {k: v, ..}` into `o.tags` (and a `name` into `o.name`); false when wrong
    /// (reported).
    pub(super) fn request_tags(
        &mut self,
        cx: &mut Ctx,
        a: &ast::Arg,
        x: Expr,
        o: &mut Options,
    ) -> bool {
        let Type::Record(fields) = &x.ty else {
            let d = codes::mismatch(
                a.value.span,
                "a record such as {kind: \"search\"}",
                &x.ty.to_string(),
                "write the request's tags as a record: `tags: {kind: \"search\"}`".into(),
            );
            self.emit(cx.module, d);
            return false;
        };
        let fields = fields.clone();
        // Where each key is written: the literal's key, else the whole value.
        let key_span = |k: &str| match &a.value.kind {
            A::Record(fs) => fs
                .iter()
                .find(|f| f.key == k)
                .map_or(a.value.span, |f| f.key_span),
            _ => a.value.span,
        };
        let mut ok = !self.sink(cx, &x, Sink::Tag);
        for (k, t) in &fields {
            ok &= self.tag_key(cx, k, key_span(k));
            if !t.is_error() && (!t.is_scalar() || *t == Type::Json) {
                let span = value_of(&a.value, k).map_or(a.value.span, |v| v.span);
                let d = codes::tag_not_text(span, k, &t.to_string());
                self.emit(cx.module, d);
                ok = false;
            }
        }
        if !ok {
            return false;
        }
        for (k, v) in tag_values(x, &fields) {
            let v = as_text(v);
            if k == "name" {
                ok &= self.tag_name(cx, key_span(&k), &v, o);
            } else {
                o.tags.push((k, v));
            }
        }
        ok
    }

    /// A key of `tags:`: a tag name Volley does not set itself.
    fn tag_key(&mut self, cx: &Ctx, k: &str, span: Span) -> bool {
        if let Some((_, fix)) = SYSTEM_TAGS.iter().find(|(s, _)| *s == k) {
            self.emit(cx.module, codes::system_tag(span, k, fix));
            return false;
        }
        if !valid_key(k) {
            self.emit(cx.module, codes::bad_tag_key(span, k, &key_fix(k)));
            return false;
        }
        true
    }

    /// `tags: {name: ..}`: the request's name, as `name:` (a constant, given once).
    fn tag_name(&mut self, cx: &Ctx, span: Span, v: &Expr, o: &mut Options) -> bool {
        if let Some(first) = o.name_span {
            self.emit(cx.module, codes::duplicate_field(span, "name", first));
            return false;
        }
        o.name_span = Some(span);
        match &v.konst {
            Some(Const::Str(s)) => {
                o.name = Some(s.clone());
                true
            }
            _ => {
                self.emit(
                    cx.module,
                    codes::name_not_constant(v.loc.span, "a request name"),
                );
                false
            }
        }
    }
}

/// The value written for key `k` in a record literal.
fn value_of<'e>(e: &'e ast::Expr, k: &str) -> Option<&'e ast::Expr> {
    match &e.kind {
        A::Record(fs) => fs.iter().find(|f| f.key == k).map(|f| &f.value),
        _ => None,
    }
}

/// Each tag's value: a record literal's items, or each field of a record value.
fn tag_values(x: Expr, fields: &[(String, Type)]) -> Vec<(String, Expr)> {
    let x = match x.kind {
        ExprKind::Record(items) => return items,
        kind => Expr { kind, ..x },
    };
    fields
        .iter()
        .map(|(k, t)| {
            let konst = match &x.konst {
                Some(Const::Record(fs)) => fs.iter().find(|(n, _)| n == k).map(|(_, c)| c.clone()),
                _ => None,
            };
            let v = Expr {
                kind: ExprKind::Field(Box::new(x.clone()), k.clone()),
                ty: t.clone(),
                konst,
                comptime: x.comptime,
                origins: x.origins.clone(),
                loc: x.loc,
            };
            (k.clone(), v)
        })
        .collect()
}
