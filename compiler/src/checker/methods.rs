//! Methods and intrinsics: `users.next()`, methods on values (`res.header(..)`,
//! `res.json(..)`, `.string()`, `.len()`, `.contains(..)`), and the std-only
//! intrinsics (`__uuid()`, `__random_int(a, b)`, ...) with the origin they give.

use super::items::{FlowSig, ItemState};
use super::{Checker, Ctx};
use crate::codes;
use crate::ir::{Const, Expr, ExprKind, Intrinsic, ModuleId, Origin};
use crate::suggest::did_you_mean;
use crate::types::Type;
use volley_syntax::ast;

/// Methods of a type: their names for help texts, and (name, intrinsic, parameter
/// types, result type).
type Methods<'t> = (&'t [&'t str], &'t [(&'t str, Intrinsic, &'t [Type], Type)]);

impl<'a> Checker<'a> {
    /// `users.next()`
    pub(crate) fn data_method(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        m: ModuleId,
        i: usize,
        field: &ast::Ident,
        args: &[ast::Arg],
    ) -> Expr {
        let loc = cx.loc(e.span);
        if field.name != "next" {
            let s = did_you_mean(&field.name, ["next"]);
            return self.fail(
                cx,
                codes::unknown_member(field.span, "a data source", &field.name, &s, &["next()"]),
                field.span,
            );
        }
        if !args.is_empty() {
            return self.fail(
                cx,
                codes::arg_count(e.span, "next", "no arguments", args.len()),
                e.span,
            );
        }
        match self.ensure_data(m, i) {
            ItemState::Data(id, ty) => {
                let pick = self.prog.data[id as usize].pick;
                Expr {
                    kind: ExprKind::DataNext(id),
                    ty,
                    konst: None,
                    comptime: false,
                    origins: vec![Origin::Data { source: id, pick }],
                    loc,
                }
            }
            ItemState::Proto(_) => {
                let d = codes::not_a_value(
                    e.span,
                    "a .proto file has no rows",
                    "call its methods with `grpc.invoke(TARGET, \"package.Service/Method\", {..})`",
                );
                self.fail(cx, d, e.span)
            }
            _ => self.error_expr(loc),
        }
    }

    /// Methods on values: responses, json values, strings and lists.
    pub(crate) fn method(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        b: Expr,
        field: &ast::Ident,
        args: &[ast::Arg],
    ) -> Expr {
        let loc = cx.loc(e.span);
        if b.ty.is_error() {
            for a in args {
                self.expr(cx, &a.value);
            }
            return self.error_expr(loc);
        }
        if b.ty == Type::WsSession {
            return self.ws_method(cx, e, b, field, args);
        }
        let (valid, table) = methods_of(&b.ty);
        let Some((_, intrinsic, params, ret)) = table.iter().find(|(n, ..)| *n == field.name)
        else {
            let names: Vec<&str> = table.iter().map(|(n, ..)| *n).collect();
            let s = did_you_mean(&field.name, names.iter().copied());
            let d = codes::unknown_member(
                field.span,
                &format!("a value of type {}", b.ty),
                &field.name,
                &s,
                valid,
            );
            return self.fail(cx, d, field.span);
        };
        // `res.json()` reads the whole body; `s.find(p)` gives the whole match.
        let min = params.len() - optional_params(*intrinsic);
        if args.len() < min || args.len() > params.len() || args.iter().any(|a| a.name.is_some()) {
            let expected = match (min, params.len()) {
                (_, 0) => "no arguments".to_string(),
                (1, 1) => "1 positional argument".to_string(),
                (n, m) if n == m => format!("{n} positional arguments"),
                (n, m) => format!("{n} to {m} positional arguments"),
            };
            return self.fail(
                cx,
                codes::arg_count(e.span, &field.name, &expected, args.len()),
                e.span,
            );
        }
        let mut xs = vec![b.clone()];
        for (a, t) in args.iter().zip(params.iter()) {
            let x = self.expr(cx, &a.value);
            if x.ty.is_error() || !self.expect(cx, &x, t, "") {
                return self.error_expr(loc);
            }
            if *intrinsic == Intrinsic::HtmlFind {
                if let Some(Const::Str(sel)) = &x.konst {
                    if let Err(why) = crate::html::check_selector(sel) {
                        let d = codes::bad_selector(a.value.span, sel, &why);
                        return self.fail(cx, d, a.value.span);
                    }
                }
            }
            xs.push(x);
        }
        if is_regex(*intrinsic) && !self.check_pattern(cx, args, &xs) {
            return self.error_expr(loc);
        }
        if *intrinsic == Intrinsic::Json && xs.len() == 1 {
            xs.push(self.const_expr(
                Const::Str(String::new()),
                Type::Str,
                vec![Origin::Literal],
                loc,
            ));
        }
        let mut origins = super::expr::union_origins(&xs);
        let comptime = xs.iter().all(|x| x.comptime)
            && matches!(intrinsic, Intrinsic::Len | Intrinsic::Contains);
        let ret = method_result(*intrinsic, &b, ret, &mut origins);
        let node = self.folded(
            cx,
            Expr {
                kind: ExprKind::Intrinsic(*intrinsic, xs),
                ty: ret,
                konst: None,
                comptime,
                origins,
                loc,
            },
        );
        Expr {
            comptime: node.comptime || node.konst.is_some(),
            ..node
        }
    }

    /// A regex method's constant pattern must compile (E0215), and a constant group of
    /// `find` must be one of its groups (E0217). `xs` are the receiver and the arguments.
    fn check_pattern(&mut self, cx: &Ctx, args: &[ast::Arg], xs: &[Expr]) -> bool {
        let (
            Some(a),
            Some(Expr {
                konst: Some(Const::Str(p)),
                ..
            }),
        ) = (args.first(), xs.get(1))
        else {
            return true;
        };
        let groups = match regex_groups(p) {
            Ok(n) => n,
            Err(why) => {
                self.emit(cx.module, codes::bad_regex(a.value.span, &why));
                return false;
            }
        };
        if let (
            Some(g),
            Some(Expr {
                konst: Some(Const::Int(i)),
                ..
            }),
        ) = (args.get(1), xs.get(2))
        {
            if *i < 0 || *i as u64 > groups as u64 {
                self.emit(cx.module, codes::no_such_group(g.value.span, *i, groups));
                return false;
            }
        }
        true
    }

    /// The constant arguments of std flows that would fail at run time, reported at the
    /// caller's argument: `time.format(t, "%K")` (E0216), `data.random_string(8,
    /// charset: "")` (E0217).
    pub(crate) fn std_flow_args(&mut self, cx: &Ctx, sig: &FlowSig, xs: &[Expr]) -> bool {
        if !self.module(sig.module).is_std {
            return true;
        }
        let module = self.module(sig.module).name.clone();
        let mut ok = true;
        for (p, x) in sig.params.iter().zip(xs) {
            let (Some(Const::Str(s)), true) = (&x.konst, x.loc.module == cx.module) else {
                continue;
            };
            let d = match (module.as_str(), sig.name.as_str(), p.name.as_str()) {
                ("time", "format", "pattern") => {
                    let probe = crate::checker::methods::format_time_probe(s);
                    probe
                        .err()
                        .map(|why| codes::bad_time_format(x.loc.span, &why))
                }
                ("data", "random_string", "charset") if s.is_empty() => {
                    Some(codes::empty_charset(x.loc.span))
                }
                _ => None,
            };
            if let Some(d) = d {
                self.emit(cx.module, d);
                ok = false;
            }
        }
        ok
    }

    pub(crate) fn intrinsic(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        intrinsic: Intrinsic,
        args: &[ast::Arg],
    ) -> Expr {
        let loc = cx.loc(e.span);
        let xs: Vec<Expr> = args.iter().map(|a| self.expr(cx, &a.value)).collect();
        if xs.iter().any(|x| x.ty.is_error()) {
            return self.error_expr(loc);
        }
        if let Some((arity, ty)) = pure_std(intrinsic) {
            if xs.len() != arity {
                let d =
                    codes::arg_count(e.span, "intrinsic", &format!("{arity} arguments"), xs.len());
                return self.fail(cx, d, e.span);
            }
            // A function of its arguments: a secret in stays a secret out.
            let origins = super::expr::union_origins(&xs);
            return Expr {
                kind: ExprKind::Intrinsic(intrinsic, xs),
                ty,
                konst: None,
                comptime: false,
                origins,
                loc,
            };
        }
        let (arity, ty) = match intrinsic {
            Intrinsic::Uuid | Intrinsic::RandomEmail => (0, Type::Str),
            Intrinsic::UnixMs => (0, Type::Int),
            Intrinsic::RandomInt => (2, Type::Int),
            Intrinsic::RandomString => (2, Type::Str),
            _ => (
                1,
                match xs.first().map(|x| &x.ty) {
                    Some(Type::List(t)) => (**t).clone(),
                    _ => Type::Any,
                },
            ),
        };
        if xs.len() != arity {
            return self.fail(
                cx,
                codes::arg_count(e.span, "intrinsic", &format!("{arity} arguments"), xs.len()),
                e.span,
            );
        }
        let int = |x: &Expr| match x.konst {
            Some(Const::Int(i)) => Some(i),
            _ => None,
        };
        let space = match intrinsic {
            Intrinsic::RandomInt => match (int(&xs[0]), int(&xs[1])) {
                (Some(a), Some(b)) => {
                    Some((i128::from(b) - i128::from(a) + 1).clamp(0, i128::from(u64::MAX)) as u64)
                }
                _ => None,
            },
            Intrinsic::RandomString => match (int(&xs[0]), &xs[1].konst) {
                (Some(n), Some(Const::Str(charset))) => {
                    let n = u32::try_from(n.max(0)).unwrap_or(u32::MAX);
                    let k = charset.chars().count() as u64;
                    Some(k.checked_pow(n).unwrap_or(u64::MAX))
                }
                _ => None,
            },
            Intrinsic::RandomPick => match (&xs[0].konst, &xs[0].kind) {
                (Some(Const::List(l)), _) => Some(l.len() as u64),
                (_, ExprKind::List(l)) => Some(l.len() as u64),
                _ => None,
            },
            _ => Some(u64::MAX),
        };
        let mut origins = vec![Origin::Random { intrinsic, space }];
        if intrinsic == Intrinsic::RandomPick {
            crate::ir::merge_origins(&mut origins, &xs[0].origins);
        }
        Expr {
            kind: ExprKind::Intrinsic(intrinsic, xs),
            ty,
            konst: None,
            comptime: false,
            origins,
            loc,
        }
    }
}

/// `.pick()`: the element type of a list (json stays json) and how many elements it can
/// give when the list is a constant or a literal.
/// A method's result type: a table holds no boxed type, so the list results are written
/// here, and `.pick()` gives its receiver's element type and adds its draw to `origins`.
fn method_result(intrinsic: Intrinsic, b: &Expr, ret: &Type, origins: &mut Vec<Origin>) -> Type {
    match intrinsic {
        Intrinsic::Captures | Intrinsic::Split => Type::list(Type::Str),
        Intrinsic::Pick => {
            let (ty, space) = pick_of(b);
            let random = Origin::Random {
                intrinsic: Intrinsic::Pick,
                space,
            };
            crate::ir::merge_origins(origins, &[random]);
            ty.unwrap_or_else(|| ret.clone())
        }
        _ => ret.clone(),
    }
}

fn pick_of(b: &Expr) -> (Option<Type>, Option<u64>) {
    let ty = match &b.ty {
        Type::List(t) => Some((**t).clone()),
        _ => None,
    };
    let space = match (&b.konst, &b.kind) {
        (Some(Const::List(l)), _) => Some(l.len() as u64),
        (_, ExprKind::List(l)) => Some(l.len() as u64),
        _ => None,
    };
    (ty, space)
}

/// The methods of a value of type `ty`: their names as shown in help, and the table.
pub(crate) fn methods_of(ty: &Type) -> Methods<'static> {
    match ty {
        Type::Response => (
            &[
                "header(name)",
                "json(path)",
                "html()",
                "status",
                "duration",
                "body",
                "size",
                "cookie(name)",
                "cookies",
                "wire_size",
                "url",
            ],
            &[
                ("header", Intrinsic::Header, &[Type::Str], Type::Str),
                ("cookie", Intrinsic::Cookie, &[Type::Str], Type::Str),
                ("json", Intrinsic::Json, &[Type::Str], Type::Json),
                ("html", Intrinsic::Html, &[], Type::Html),
            ],
        ),
        Type::Html => (
            &["find(selector)", "attr(name)", "text()", "len()", "first()"],
            &[
                ("find", Intrinsic::HtmlFind, &[Type::Str], Type::Html),
                ("attr", Intrinsic::HtmlAttr, &[Type::Str], Type::Str),
                ("text", Intrinsic::HtmlText, &[], Type::Str),
                ("len", Intrinsic::Len, &[], Type::Int),
                ("first", Intrinsic::HtmlFirst, &[], Type::Html),
            ],
        ),
        Type::Json | Type::Any => (
            &[
                "string()", "int()", "float()", "bool()", "len()", "exists()", "pick()", ".field",
                "[index]",
            ],
            &[
                ("string", Intrinsic::AsString, &[], Type::Str),
                ("int", Intrinsic::AsInt, &[], Type::Int),
                ("float", Intrinsic::AsFloat, &[], Type::Float),
                ("bool", Intrinsic::AsBool, &[], Type::Bool),
                ("len", Intrinsic::Len, &[], Type::Int),
                ("exists", Intrinsic::Exists, &[], Type::Bool),
                ("pick", Intrinsic::Pick, &[], Type::Json),
            ],
        ),
        Type::Str | Type::Url => (
            &[
                "len()",
                "contains(text)",
                "find(pattern)",
                "find(pattern, group)",
                "matches(pattern)",
                "captures(pattern)",
                "replace(pattern, with)",
                "split(separator)",
                "trim()",
                "upper()",
                "lower()",
            ],
            &[
                ("len", Intrinsic::Len, &[], Type::Int),
                ("contains", Intrinsic::Contains, &[Type::Str], Type::Bool),
                ("find", Intrinsic::Find, &[Type::Str, Type::Int], Type::Str),
                ("matches", Intrinsic::Matches, &[Type::Str], Type::Bool),
                ("captures", Intrinsic::Captures, &[Type::Str], Type::Any),
                (
                    "replace",
                    Intrinsic::Replace,
                    &[Type::Str, Type::Str],
                    Type::Str,
                ),
                ("split", Intrinsic::Split, &[Type::Str], Type::Any),
                ("trim", Intrinsic::Trim, &[], Type::Str),
                ("upper", Intrinsic::Upper, &[], Type::Str),
                ("lower", Intrinsic::Lower, &[], Type::Str),
            ],
        ),
        Type::List(_) => (
            &["len()", "contains(value)", "pick()", "[index]"],
            &[
                ("len", Intrinsic::Len, &[], Type::Int),
                ("contains", Intrinsic::Contains, &[Type::Any], Type::Bool),
                // The element type replaces `Any` in `method`.
                ("pick", Intrinsic::Pick, &[], Type::Any),
            ],
        ),
        _ => (&[], &[]),
    }
}

/// How many trailing parameters of a method may be left out.
fn optional_params(i: Intrinsic) -> usize {
    match i {
        Intrinsic::Json | Intrinsic::Find => 1,
        _ => 0,
    }
}

fn is_regex(i: Intrinsic) -> bool {
    matches!(
        i,
        Intrinsic::Find | Intrinsic::Matches | Intrinsic::Captures | Intrinsic::Replace
    )
}

/// The number of groups of `pattern` (besides group 0), or why it does not compile: the
/// last line of the `regex` crate's message (`unclosed group`).
pub(crate) fn regex_groups(pattern: &str) -> Result<usize, String> {
    match regex::Regex::new(pattern) {
        Ok(r) => Ok(r.captures_len().saturating_sub(1)),
        Err(regex::Error::Syntax(s)) => Err(s
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("error: "))
            .unwrap_or("invalid syntax")
            .to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// The std intrinsics that are functions of their arguments (encodings, digests, time
/// formatting): their arity and result type.
fn pure_std(i: Intrinsic) -> Option<(usize, Type)> {
    Some(match i {
        Intrinsic::Base64Encode
        | Intrinsic::Base64Decode
        | Intrinsic::HexEncode
        | Intrinsic::HexDecode
        | Intrinsic::UrlEncode
        | Intrinsic::UrlDecode
        | Intrinsic::Sha256 => (1, Type::Str),
        Intrinsic::HmacSha256 | Intrinsic::FormatTime => (2, Type::Str),
        _ => return None,
    })
}

/// Whether `pattern` formats a time: formats the Unix epoch with it (jiff's strftime, as
/// the engine does), or says why not.
pub(crate) fn format_time_probe(pattern: &str) -> Result<String, String> {
    jiff::fmt::strtime::format(pattern, jiff::Timestamp::UNIX_EPOCH).map_err(|e| e.to_string())
}
