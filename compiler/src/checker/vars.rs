//! Per-VU mutable state and loops (issue 17): `var`, assignments, `for`, `while`,
//! `break` and `continue`.
//!
//! A `var` is a frame slot like a `let`, but never a constant: reads carry no folded
//! value. An assignment checks its value against the var's type (units too) and merges
//! the value's origins into the var's binding. Code that runs again and again (a loop's
//! body and condition, the `iteration` block) is checked silently until the origins of
//! the vars in scope stop growing, then once for real, so secret taint sees every value
//! a var can hold wherever it is read, including reads above the assignment that feeds
//! them in the next round.

use super::{Binding, Checker, Ctx, LocalKind, Resolved};
use crate::codes;
use crate::ir::{merge_origins, Const, Expr, ExprKind, Origin, StmtKind};
use crate::suggest::did_you_mean;
use crate::types::Type;
use volley_syntax::ast::{self, AssignOp, BinaryOp};

/// Silent rounds before the final one: origins only grow, and each round that changes
/// something adds one, so this bounds pathological files only.
const MAX_ROUNDS: usize = 8;

/// What a `for` walks.
enum Over {
    Range(Expr, Expr),
    Items(Expr),
}

/// Whether any statement in `stmts` (nested ones too) assigns a name.
fn assigns(stmts: &[ast::Stmt]) -> bool {
    stmts.iter().any(|s| match &s.kind {
        ast::StmtKind::Assign { .. } => true,
        ast::StmtKind::Group { body, .. }
        | ast::StmtKind::Repeat { body, .. }
        | ast::StmtKind::For { body, .. }
        | ast::StmtKind::While { body, .. } => assigns(&body.stmts),
        ast::StmtKind::If {
            then, otherwise, ..
        } => assigns(&then.stmts) || otherwise.as_ref().is_some_and(|o| assigns(&o.stmts)),
        _ => false,
    })
}

/// The origins of every `var` in scope, in order (what a fixpoint round may change).
fn var_origins(cx: &Ctx) -> Vec<Vec<Origin>> {
    cx.scopes
        .iter()
        .flatten()
        .filter_map(|(_, b)| match b {
            Binding::Local {
                kind: LocalKind::Var,
                origins,
                ..
            } => Some(origins.clone()),
            _ => None,
        })
        .collect()
}

impl Checker<'_> {
    /// Checks code that may run many times (`body` is what it holds, to see whether it
    /// assigns anything): silently until the vars' origins are stable, then loudly.
    pub(crate) fn fixpoint<T>(
        &mut self,
        cx: &mut Ctx,
        body: &[ast::Stmt],
        mut f: impl FnMut(&mut Self, &mut Ctx) -> T,
    ) -> T {
        if assigns(body) {
            for _ in 0..MAX_ROUNDS {
                let before = var_origins(cx);
                let slots = (cx.next_slot, cx.max_slot);
                self.silently(|c| f(c, &mut *cx));
                (cx.next_slot, cx.max_slot) = slots;
                if var_origins(cx) == before {
                    break;
                }
            }
        }
        f(self, cx)
    }

    /// A loop body: `break` and `continue` are allowed in it.
    fn loop_body(&mut self, cx: &mut Ctx, stmts: &[ast::Stmt]) -> Vec<crate::ir::Stmt> {
        cx.loops += 1;
        let b = self.block(cx, stmts);
        cx.loops -= 1;
        b
    }

    /// `repeat`'s body, a loop like the others.
    pub(crate) fn repeat_body(&mut self, cx: &mut Ctx, body: &ast::Block) -> Vec<crate::ir::Stmt> {
        self.fixpoint(cx, &body.stmts, |c, cx| c.loop_body(cx, &body.stmts))
    }

    /// `var NAME = VALUE`: a slot whose value may change (stored like a `let`).
    pub(crate) fn var_stmt(
        &mut self,
        cx: &mut Ctx,
        name: &ast::Ident,
        value: &ast::Expr,
    ) -> Option<StmtKind> {
        let mut v = self.expr(cx, value);
        let what = match v.ty {
            Type::Unit => Some("nothing: the call returns no value"),
            Type::Target => Some("a target"),
            Type::Workload => Some("a workload"),
            _ => None,
        };
        if let Some(what) = what {
            self.emit(cx.module, codes::var_kind(value.span, &name.name, what));
            v = self.error_expr(v.loc);
        }
        let slot = cx.alloc_slot();
        cx.bind(
            &name.name,
            Binding::Local {
                slot,
                ty: v.ty.clone(),
                origins: v.origins.clone(),
                konst: None,
                kind: LocalKind::Var,
            },
        );
        if v.ty.is_error() {
            return None;
        }
        Some(StmtKind::Let {
            slot,
            name: name.name.clone(),
            value: v,
        })
    }

    /// `NAME = VALUE`, `NAME += VALUE`, `NAME -= VALUE`.
    pub(crate) fn assign_stmt(
        &mut self,
        cx: &mut Ctx,
        s: &ast::Stmt,
        name: &ast::Ident,
        op: AssignOp,
        value: &ast::Expr,
    ) -> Option<StmtKind> {
        let target = self.assign_target(cx, name);
        let v = match op {
            AssignOp::Set => self.expr(cx, value),
            AssignOp::Add | AssignOp::Sub => {
                let lhs = ast::Expr {
                    kind: ast::ExprKind::Name(name.clone()),
                    span: name.span,
                };
                let bin = ast::Expr {
                    kind: ast::ExprKind::Binary {
                        op: if op == AssignOp::Add {
                            BinaryOp::Add
                        } else {
                            BinaryOp::Sub
                        },
                        lhs: Box::new(lhs),
                        rhs: Box::new(value.clone()),
                    },
                    span: s.span,
                };
                self.expr(cx, &bin)
            }
        };
        let (slot, ty) = target?;
        if v.ty.is_error() {
            return None;
        }
        let help = format!(
            "`{}` is a var of type {ty}: assign a value of that type, or declare another var",
            name.name
        );
        if !self.expect(cx, &v, &ty, &help) {
            return None;
        }
        if let Some(Binding::Local { origins, .. }) = cx.lookup_mut(&name.name) {
            merge_origins(origins, &v.origins);
        }
        Some(StmtKind::Assign {
            slot,
            name: name.name.clone(),
            value: v,
        })
    }

    /// The var an assignment writes (its slot and type), or the error (E0711) for a name
    /// that cannot change.
    fn assign_target(&mut self, cx: &mut Ctx, name: &ast::Ident) -> Option<(u32, Type)> {
        let (what, declared) = match self.resolve(cx, &name.name) {
            Resolved::Binding(Binding::Local {
                slot,
                ty,
                kind: LocalKind::Var,
                ..
            }) => return Some((slot, ty)),
            Resolved::Binding(Binding::Local { kind, .. }) => match kind {
                LocalKind::Let(at) => ("a `let`", Some(at)),
                LocalKind::Loop => ("a loop variable", None),
                LocalKind::Param | LocalKind::Var => ("a flow parameter", None),
            },
            Resolved::Binding(Binding::Value(_)) => ("a constant", None),
            Resolved::Item(..) => ("a top-level item (a constant for the whole run)", None),
            Resolved::Namespace(_) | Resolved::Module(_) => ("a built-in name", None),
            Resolved::Broken => return None,
            Resolved::Unknown => {
                let names = self.scope_names(cx);
                let s = did_you_mean(&name.name, names.iter().map(String::as_str));
                let d = codes::unknown_name(name.span, &name.name, "variable", &s);
                self.emit(cx.module, d);
                return None;
            }
        };
        let d = codes::assign_immutable(name.span, &name.name, what, declared);
        self.emit(cx.module, d);
        None
    }

    /// `for NAME in OVER { .. }`: an int range (end excluded), a list or a JSON array.
    pub(crate) fn for_stmt(
        &mut self,
        cx: &mut Ctx,
        var: &ast::Ident,
        over: &ast::Expr,
        body: &ast::Block,
    ) -> Option<StmtKind> {
        // `for e in s.events(..)`: a WebSocket session's messages and ticks (`ws.rs`).
        let x = match self.ws_events_in_for(cx, over) {
            Some(x) => x,
            None => self.expr(cx, over),
        };
        let (elem, walk) = self.for_over(cx, over, x);
        let origins = match &walk {
            Some(Over::Range(lo, hi)) => {
                let mut o = lo.origins.clone();
                merge_origins(&mut o, &hi.origins);
                o
            }
            Some(Over::Items(e)) => e.origins.clone(),
            None => Vec::new(),
        };
        let mut slot = 0;
        let b = self.fixpoint(cx, &body.stmts, |c, cx| {
            cx.push_scope();
            slot = cx.alloc_slot();
            cx.bind(
                &var.name,
                Binding::Local {
                    slot,
                    ty: elem.clone(),
                    origins: origins.clone(),
                    konst: None,
                    kind: LocalKind::Loop,
                },
            );
            let b = c.loop_body(cx, &body.stmts);
            cx.pop_scope();
            b
        });
        let name = var.name.clone();
        Some(match walk? {
            Over::Range(low, high) => StmtKind::ForRange {
                slot,
                name,
                low,
                high,
                body: b,
            },
            Over::Items(items) => StmtKind::ForEach {
                slot,
                name,
                items,
                body: b,
            },
        })
    }

    /// What a `for` walks and the type of its variable (E0713 for anything else).
    fn for_over(&mut self, cx: &mut Ctx, over: &ast::Expr, x: Expr) -> (Type, Option<Over>) {
        match (&x.ty, &x.kind, &x.konst) {
            (Type::Error, ..) => (Type::Error, None),
            (Type::Range(t), ExprKind::Range(lo, hi), _) if **t == Type::Int => {
                (Type::Int, Some(Over::Range((**lo).clone(), (**hi).clone())))
            }
            (Type::Range(t), _, Some(Const::Range(lo, hi))) if **t == Type::Int => {
                let lo = self.const_expr((**lo).clone(), Type::Int, x.origins.clone(), x.loc);
                let hi = self.const_expr((**hi).clone(), Type::Int, x.origins.clone(), x.loc);
                (Type::Int, Some(Over::Range(lo, hi)))
            }
            (Type::List(t), ..) => ((**t).clone(), Some(Over::Items(x))),
            (Type::Json, ..) => (Type::Json, Some(Over::Items(x))),
            (other, ..) => {
                let found = match other {
                    Type::Range(t) if **t != Type::Int => format!("a range of {t}"),
                    Type::Range(_) => "a range kept in a name (write `a..b` in the `for`)".into(),
                    t => format!("{t}"),
                };
                self.emit(cx.module, codes::not_iterable(over.span, &found));
                (Type::Error, None)
            }
        }
    }

    /// `while COND { .. }`: the condition is checked with the body (it reads the vars
    /// the body changes).
    pub(crate) fn while_stmt(
        &mut self,
        cx: &mut Ctx,
        cond: &ast::Expr,
        body: &ast::Block,
    ) -> Option<StmtKind> {
        let (c, b) = self.fixpoint(cx, &body.stmts, |c, cx| {
            let x = c.expr(cx, cond);
            let ok = !x.ty.is_error()
                && c.expect(
                    cx,
                    &x,
                    &Type::Bool,
                    "a `while` needs a bool, e.g. `page < pages`",
                );
            (ok.then_some(x), c.loop_body(cx, &body.stmts))
        });
        Some(StmtKind::While { cond: c?, body: b })
    }

    /// `break` or `continue`: only inside a loop of the same body (E0712).
    pub(crate) fn jump_stmt(&mut self, cx: &mut Ctx, s: &ast::Stmt) -> Option<StmtKind> {
        let brk = matches!(s.kind, ast::StmtKind::Break);
        if cx.loops == 0 {
            let word = if brk { "break" } else { "continue" };
            self.emit(cx.module, codes::outside_loop(s.span, word));
            return None;
        }
        Some(if brk {
            StmtKind::Break
        } else {
            StmtKind::Continue
        })
    }
}
