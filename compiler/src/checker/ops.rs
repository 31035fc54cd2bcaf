//! Operators and compound literals: unary and binary operators (with unit checks and
//! "write 400ms" fixes, string `+` as concatenation), stages, ranges, lists and records.
//! Their values on constants are the evaluator's (`Checker::folded`, `eval.rs`).

use super::expr::{union_origins, unit_fix};
use super::{Checker, Ctx};
use crate::codes;
use crate::ir::{Expr, ExprKind, Origin};
use crate::types::{unify, Type};
use volley_plan::program::{BinOp, UnOp};
use volley_syntax::ast::{self, BinaryOp, Span, UnaryOp};

fn is_measured(t: &Type) -> bool {
    matches!(t, Type::Duration | Type::Rate | Type::Size | Type::Percent)
}

impl<'a> Checker<'a> {
    pub(crate) fn unary(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        op: UnaryOp,
        operand: &ast::Expr,
    ) -> Expr {
        let x = self.expr(cx, operand);
        let loc = cx.loc(e.span);
        if x.ty.is_error() {
            return self.error_expr(loc);
        }
        let (uop, ty) = match op {
            UnaryOp::Not => {
                if !self.expect(
                    cx,
                    &x,
                    &Type::Bool,
                    "`not` takes a bool, e.g. `not (r.status == 200)`",
                ) {
                    return self.error_expr(loc);
                }
                (UnOp::Not, Type::Bool)
            }
            UnaryOp::Neg => {
                if !matches!(x.ty, Type::Int | Type::Float | Type::Duration | Type::Any) {
                    let d = codes::bad_operator(
                        e.span,
                        "-",
                        &x.ty.to_string(),
                        None,
                        "negate a number or a duration",
                    );
                    return self.fail(cx, d, e.span);
                }
                (UnOp::Neg, x.ty.clone())
            }
        };
        let node = Expr {
            kind: ExprKind::Unary(uop, Box::new(x.clone())),
            ty,
            konst: None,
            comptime: x.comptime,
            origins: x.origins,
            loc,
        };
        self.folded(cx, node)
    }

    pub(crate) fn binary(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        op: BinaryOp,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
    ) -> Expr {
        let a = self.expr(cx, lhs);
        let b = self.expr(cx, rhs);
        let loc = cx.loc(e.span);
        if a.ty.is_error() || b.ty.is_error() {
            return self.error_expr(loc);
        }
        let bop = match op {
            BinaryOp::Or => BinOp::Or,
            BinaryOp::And => BinOp::And,
            BinaryOp::Eq => BinOp::Eq,
            BinaryOp::Ne => BinOp::Ne,
            BinaryOp::Lt => BinOp::Lt,
            BinaryOp::Le => BinOp::Le,
            BinaryOp::Gt => BinOp::Gt,
            BinaryOp::Ge => BinOp::Ge,
            BinaryOp::Add => BinOp::Add,
            BinaryOp::Sub => BinOp::Sub,
            BinaryOp::Mul => BinOp::Mul,
            BinaryOp::Div => BinOp::Div,
            BinaryOp::Rem => BinOp::Rem,
        };
        let Some(ty) = self.binary_type(cx, e.span, op, &a, &b) else {
            return self.error_expr(loc);
        };
        let origins = union_origins([&a, &b]);
        let comptime = a.comptime && b.comptime;
        // String `+` is concatenation.
        let kind = if bop == BinOp::Add && ty == Type::Str {
            ExprKind::Concat(vec![a, b])
        } else {
            ExprKind::Binary(bop, Box::new(a), Box::new(b))
        };
        let node = Expr {
            kind,
            ty,
            konst: None,
            comptime,
            origins,
            loc,
        };
        self.folded(cx, node)
    }

    /// The result type of `a op b`, or `None` after reporting why not.
    pub(crate) fn binary_type(
        &mut self,
        cx: &mut Ctx,
        span: Span,
        op: BinaryOp,
        a: &Expr,
        b: &Expr,
    ) -> Option<Type> {
        use Type::*;
        let (ta, tb) = (&a.ty, &b.ty);
        if matches!(ta, Any) || matches!(tb, Any) {
            return Some(match op {
                BinaryOp::Or
                | BinaryOp::And
                | BinaryOp::Eq
                | BinaryOp::Ne
                | BinaryOp::Lt
                | BinaryOp::Le
                | BinaryOp::Gt
                | BinaryOp::Ge => Bool,
                _ => Any,
            });
        }
        match op {
            BinaryOp::Or | BinaryOp::And => {
                let help = format!(
                    "`{}` joins two bools; compare values first, e.g. `r.status == 200`",
                    op.as_str()
                );
                let ok_a = self.expect(cx, a, &Bool, &help);
                let ok_b = ok_a && self.expect(cx, b, &Bool, &help);
                (ok_a && ok_b).then_some(Bool)
            }
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => self.comparison_type(op, a, b),
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => {
                self.arithmetic_type(cx, span, op, a, b)
            }
        }
    }

    /// E0202 for a plain number `num` written where a value of type `other` (a unit) is.
    fn unit_error(&mut self, num: &Expr, other: &Type) {
        let text = self.modules[num.loc.module as usize]
            .text(num.loc.span)
            .to_string();
        let d = codes::missing_unit(
            num.loc.span,
            other.unit_name().unwrap_or("value"),
            &unit_fix(&text, other),
        );
        self.emit(num.loc.module, d);
    }

    /// `==`, `!=`, `<`, `<=`, `>`, `>=`: bool when the sides are comparable.
    fn comparison_type(&mut self, op: BinaryOp, a: &Expr, b: &Expr) -> Option<Type> {
        use Type::*;
        let (ta, tb) = (&a.ty, &b.ty);
        let ordered = !matches!(op, BinaryOp::Eq | BinaryOp::Ne);
        // A plain number compared with a measured value: a missing unit.
        if is_measured(ta) && tb.is_number() && b.kind == ExprKind::Const {
            self.unit_error(b, ta);
            return None;
        }
        if is_measured(tb) && ta.is_number() && a.kind == ExprKind::Const {
            self.unit_error(a, tb);
            return None;
        }
        let comparable = match unify(ta, tb) {
            Some(t) => {
                if ordered {
                    matches!(t, Int | Float | Duration | Size | Rate | Percent | Str)
                } else {
                    t.is_scalar() || matches!(t, Record(_) | List(_))
                }
            }
            None => false,
        };
        if comparable {
            return Some(Bool);
        }
        // Pick the side to blame: a literal is usually the mistake.
        let (blame, want) = if b.kind == ExprKind::Const || a.kind != ExprKind::Const {
            (b, ta)
        } else {
            (a, tb)
        };
        let text = self.modules[blame.loc.module as usize]
            .text(blame.loc.span)
            .to_string();
        let help = if want.is_number()
            && blame.ty == Str
            && text.trim_matches('"').parse::<f64>().is_ok()
        {
            format!("write {} without quotes", text.trim_matches('"'))
        } else if *ta == Json || *tb == Json {
            "convert the json value first, e.g. `res.json(\"id\").string()` or `.int()`".to_string()
        } else {
            format!("compare {want} with {want}")
        };
        let d = codes::mismatch(
            blame.loc.span,
            &want.to_string(),
            &blame.ty.to_string(),
            help,
        );
        self.emit(blame.loc.module, d);
        None
    }

    /// `+ - * / %`: numbers, and values of one unit (scaled by numbers).
    fn arithmetic_type(
        &mut self,
        cx: &mut Ctx,
        span: Span,
        op: BinaryOp,
        a: &Expr,
        b: &Expr,
    ) -> Option<Type> {
        use Type::*;
        let (ta, tb) = (&a.ty, &b.ty);
        let t = match (op, ta, tb) {
            (_, Int, Int) => Some(Int),
            (_, Int | Float, Int | Float) => Some(Float),
            (BinaryOp::Add, Str | Url, Str | Url) => Some(Str),
            (BinaryOp::Add | BinaryOp::Sub, Duration, Duration) => Some(Duration),
            (BinaryOp::Add | BinaryOp::Sub, Size, Size) => Some(Size),
            (BinaryOp::Add | BinaryOp::Sub, Percent, Percent) => Some(Percent),
            (BinaryOp::Mul | BinaryOp::Div, Duration | Rate | Size, Int | Float) => {
                Some(ta.clone())
            }
            (BinaryOp::Mul, Int | Float, Duration | Rate | Size) => Some(tb.clone()),
            (BinaryOp::Div, Duration, Duration) | (BinaryOp::Div, Size, Size) => Some(Float),
            _ => None,
        };
        if t.is_none() {
            if matches!(op, BinaryOp::Add | BinaryOp::Sub)
                && is_measured(ta)
                && tb.is_number()
                && b.kind == ExprKind::Const
            {
                self.unit_error(b, ta);
                return None;
            }
            let help = match (ta, tb) {
                (Str, _) | (_, Str) => "interpolate instead: \"text {value}\"".to_string(),
                _ => format!(
                    "`{}` works on numbers and on values of the same unit",
                    op.as_str()
                ),
            };
            let d = codes::bad_operator(
                span,
                op.as_str(),
                &ta.to_string(),
                Some(&tb.to_string()),
                &help,
            );
            self.emit(cx.module, d);
        }
        t
    }

    pub(crate) fn stage(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        duration: &ast::Expr,
        target: &ast::Expr,
    ) -> Expr {
        let d = self.expr(cx, duration);
        let t = self.expr(cx, target);
        let loc = cx.loc(e.span);
        if d.ty.is_error() || t.ty.is_error() {
            return self.error_expr(loc);
        }
        if !self.expect(
            cx,
            &d,
            &Type::Duration,
            "a stage is `DURATION -> TARGET`, e.g. `2m -> 100`",
        ) {
            return self.error_expr(loc);
        }
        let target_ty = match &t.ty {
            Type::Int | Type::Rate | Type::Any => t.ty.clone(),
            other => {
                let dg = codes::mismatch(
                    target.span,
                    "a number of VUs or a rate",
                    &other.to_string(),
                    "a stage goes to a VU count (`2m -> 100`) or a rate (`2m -> 100/s`)".into(),
                );
                return self.fail(cx, dg, target.span);
            }
        };
        let node = Expr {
            ty: Type::Stage(Box::new(target_ty)),
            konst: None,
            comptime: d.comptime && t.comptime,
            origins: union_origins([&d, &t]),
            kind: ExprKind::Stage(Box::new(d), Box::new(t)),
            loc,
        };
        self.folded(cx, node)
    }

    pub(crate) fn range(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        low: &ast::Expr,
        high: &ast::Expr,
    ) -> Expr {
        let l = self.expr(cx, low);
        let h = self.expr(cx, high);
        let loc = cx.loc(e.span);
        if l.ty.is_error() || h.ty.is_error() {
            return self.error_expr(loc);
        }
        let Some(t) = unify(&l.ty, &h.ty) else {
            let d = codes::mismatch(
                high.span,
                &l.ty.to_string(),
                &h.ty.to_string(),
                "both ends of a range have the same type, e.g. `500ms..2s`".into(),
            );
            return self.fail(cx, d, high.span);
        };
        let node = Expr {
            ty: Type::Range(Box::new(t)),
            konst: None,
            comptime: l.comptime && h.comptime,
            origins: union_origins([&l, &h]),
            kind: ExprKind::Range(Box::new(l), Box::new(h)),
            loc,
        };
        self.folded(cx, node)
    }

    pub(crate) fn list(&mut self, cx: &mut Ctx, e: &ast::Expr, items: &[ast::Expr]) -> Expr {
        let loc = cx.loc(e.span);
        let xs: Vec<Expr> = items.iter().map(|i| self.expr(cx, i)).collect();
        let mut elem = Type::Any;
        let mut first = true;
        for x in &xs {
            if x.ty.is_error() {
                return self.error_expr(loc);
            }
            if first {
                elem = x.ty.clone();
                first = false;
                continue;
            }
            match unify(&elem, &x.ty) {
                Some(t) => elem = t,
                None => {
                    let d = if matches!((&elem, &x.ty), (Type::Stage(_), Type::Stage(_))) {
                        codes::mismatch(
                            x.loc.span,
                            &elem.to_string(),
                            &x.ty.to_string(),
                            "every stage of a list goes to the same kind of target: VUs or a rate"
                                .into(),
                        )
                    } else {
                        codes::mismatch(
                            x.loc.span,
                            &elem.to_string(),
                            &x.ty.to_string(),
                            "every element of a list has the same type".into(),
                        )
                    };
                    return self.fail(cx, d, x.loc.span);
                }
            }
        }
        let node = Expr {
            ty: Type::list(elem),
            konst: None,
            comptime: xs.iter().all(|x| x.comptime),
            origins: if xs.is_empty() {
                vec![Origin::Literal]
            } else {
                union_origins(&xs)
            },
            kind: ExprKind::List(xs),
            loc,
        };
        self.folded(cx, node)
    }

    pub(crate) fn record(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        fields: &[ast::RecordField],
    ) -> Expr {
        let loc = cx.loc(e.span);
        let mut xs: Vec<(String, Expr)> = Vec::new();
        let mut failed = false;
        for (i, f) in fields.iter().enumerate() {
            let x = self.expr(cx, &f.value);
            if let Some(first) = fields[..i].iter().find(|g| g.key == f.key) {
                self.emit(
                    cx.module,
                    codes::duplicate_field(f.key_span, &f.key, first.key_span),
                );
                failed = true;
                continue;
            }
            failed |= x.ty.is_error();
            xs.push((f.key.clone(), x));
        }
        if failed {
            return self.error_expr(loc);
        }
        let ty = Type::Record(xs.iter().map(|(k, x)| (k.clone(), x.ty.clone())).collect());
        let node = Expr {
            ty,
            konst: None,
            comptime: xs.iter().all(|(_, x)| x.comptime),
            origins: if xs.is_empty() {
                vec![Origin::Literal]
            } else {
                union_origins(xs.iter().map(|(_, x)| x))
            },
            kind: ExprKind::Record(xs),
            loc,
        };
        self.folded(cx, node)
    }
}
