//! Methods and intrinsics: `users.next()`, methods on values (`res.header(..)`,
//! `res.json(..)`, `.string()`, `.len()`, `.contains(..)`), and the std-only
//! intrinsics (`__uuid()`, `__random_int(a, b)`, ...) with the origin they give.

use super::items::ItemState;
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
        // `res.json()` reads the whole body.
        let min = if *intrinsic == Intrinsic::Json {
            0
        } else {
            params.len()
        };
        if args.len() < min || args.len() > params.len() || args.iter().any(|a| a.name.is_some()) {
            let expected = match params.len() {
                0 => "no arguments".to_string(),
                _ => format!("{} positional argument", params.len()),
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
        let mut ret = ret.clone();
        if *intrinsic == Intrinsic::Pick {
            let (ty, space) = pick_of(&b);
            ret = ty.unwrap_or(ret);
            let random = Origin::Random {
                intrinsic: Intrinsic::Pick,
                space,
            };
            crate::ir::merge_origins(&mut origins, &[random]);
        }
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
        let (arity, ty) = match intrinsic {
            Intrinsic::Uuid | Intrinsic::RandomEmail => (0, Type::Str),
            Intrinsic::RandomInt => (2, Type::Int),
            Intrinsic::RandomString => (1, Type::Str),
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
            Intrinsic::RandomString => int(&xs[0]).map(|n| {
                let n = u32::try_from(n.max(0)).unwrap_or(u32::MAX);
                62u64.checked_pow(n).unwrap_or(u64::MAX)
            }),
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
fn methods_of(ty: &Type) -> Methods<'static> {
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
            &["len()", "contains(text)"],
            &[
                ("len", Intrinsic::Len, &[], Type::Int),
                ("contains", Intrinsic::Contains, &[Type::Str], Type::Bool),
            ],
        ),
        Type::List(_) => (
            &["len()", "pick()", "[index]"],
            &[
                ("len", Intrinsic::Len, &[], Type::Int),
                // The element type replaces `Any` in `method`.
                ("pick", Intrinsic::Pick, &[], Type::Any),
            ],
        ),
        _ => (&[], &[]),
    }
}
