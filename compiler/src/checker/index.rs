//! JSON navigation and indexing: `j.items` on a json value, `xs[i]` on lists and json
//! values (`res.json().items[0].id`). A constant step on a `res.json(path)` is folded into
//! its path (`res.json("items[0].id")`), so a failed conversion names the whole path; a
//! step known only at run time is an `Index` intrinsic. A missing member or element of a
//! json value is json null; a list index outside the list fails the iteration (or the
//! compile, when list and index are constants).

use super::{Checker, Ctx};
use crate::codes;
use crate::ir::{merge_origins, Const, Expr, ExprKind, Intrinsic, Origin};
use crate::types::Type;
use volley_syntax::ast;

/// A json key that `json_path` reads back as one step (`items`, `user_id`).
fn plain_key(k: &str) -> bool {
    !k.is_empty()
        && !k.starts_with(|c: char| c.is_ascii_digit())
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl<'a> Checker<'a> {
    /// `base.name` on a json value: the member, json (null when missing).
    pub(crate) fn json_member(&mut self, cx: &Ctx, b: Expr, name: &str, span: ast::Span) -> Expr {
        let step = Const::Str(name.to_string());
        self.json_step(cx, b, step, span)
    }

    /// `base[index]` on a list or a json value.
    pub(crate) fn index(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        base: &ast::Expr,
        index: &ast::Expr,
    ) -> Expr {
        let loc = cx.loc(e.span);
        let b = self.expr(cx, base);
        let i = self.expr(cx, index);
        if b.ty.is_error() || i.ty.is_error() {
            return self.error_expr(loc);
        }
        let elem = match &b.ty {
            Type::List(t) => {
                if !matches!(i.ty, Type::Int | Type::Any) {
                    let d = codes::bad_index(
                        index.span,
                        "a list",
                        "an int",
                        &i.ty.to_string(),
                        &index_help(&i.ty),
                    );
                    return self.fail(cx, d, index.span);
                }
                (**t).clone()
            }
            Type::Json | Type::Any => {
                if !matches!(i.ty, Type::Int | Type::Str | Type::Any) {
                    let d = codes::bad_index(
                        index.span,
                        "a json value",
                        "an int (an array element) or a string (an object member)",
                        &i.ty.to_string(),
                        &index_help(&i.ty),
                    );
                    return self.fail(cx, d, index.span);
                }
                if let (Type::Json, Some(k @ (Const::Int(_) | Const::Str(_)))) = (&b.ty, &i.konst) {
                    let step = k.clone();
                    return self.json_step(cx, b, step, e.span);
                }
                b.ty.clone()
            }
            other => {
                let text = self.modules[cx.module as usize].text(base.span).to_string();
                let help = match other {
                    Type::Str | Type::Url => format!(
                        "a string is not a list of characters; test it with `{text}.contains(..)` or measure it with `{text}.len()`"
                    ),
                    Type::Record(_) => {
                        format!("read a record's field by name: `{text}.field`")
                    }
                    Type::Response => format!("index its JSON body: `{text}.json()[0]`"),
                    _ => "only lists and json values can be indexed".to_string(),
                };
                let d = codes::not_indexable(base.span, &other.to_string(), &help);
                return self.fail(cx, d, base.span);
            }
        };
        let mut origins = b.origins.clone();
        merge_origins(&mut origins, &i.origins);
        let node = Expr {
            comptime: b.comptime && i.comptime,
            kind: ExprKind::Intrinsic(Intrinsic::Index, vec![b, i]),
            ty: elem,
            konst: None,
            origins,
            loc,
        };
        self.folded(cx, node)
    }

    /// One constant step into a json value: merged into a `json(path)` read when the
    /// base is one and the key reads back as one step, else an `Index`.
    fn json_step(&mut self, cx: &Ctx, b: Expr, step: Const, span: ast::Span) -> Expr {
        let loc = cx.loc(span);
        let origins = b.origins.clone();
        let merged = match (&b.kind, &step) {
            (ExprKind::Intrinsic(Intrinsic::Json, xs), _) if xs.len() == 2 => {
                match (&xs[1].konst, &step) {
                    (Some(Const::Str(p)), Const::Int(i)) if *i >= 0 => Some(format!("{p}[{i}]")),
                    (Some(Const::Str(p)), Const::Str(k)) if plain_key(k) && p.is_empty() => {
                        Some(k.clone())
                    }
                    (Some(Const::Str(p)), Const::Str(k)) if plain_key(k) => {
                        Some(format!("{p}.{k}"))
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        let (kind, args) = match (merged, b.kind.clone()) {
            (Some(path), ExprKind::Intrinsic(_, mut xs)) => {
                let at = xs[1].loc;
                xs[1] = self.const_expr(Const::Str(path), Type::Str, vec![Origin::Literal], at);
                (Intrinsic::Json, xs)
            }
            _ => {
                let ty = match step {
                    Const::Int(_) => Type::Int,
                    _ => Type::Str,
                };
                let k = self.const_expr(step, ty, vec![Origin::Literal], loc);
                (Intrinsic::Index, vec![b, k])
            }
        };
        Expr {
            kind: ExprKind::Intrinsic(kind, args),
            ty: Type::Json,
            konst: None,
            comptime: false,
            origins,
            loc,
        }
    }
}

fn index_help(found: &Type) -> String {
    match found {
        Type::Json => "convert it: `.int()`".into(),
        Type::Float => "an index is a whole number: write an int".into(),
        _ => "write an int such as `[0]`".into(),
    }
}
