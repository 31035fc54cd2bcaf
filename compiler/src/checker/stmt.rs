//! Statements and bodies of code: `let` (frame slots), bare calls, `log`, `METRIC.add`,
//! `check`/`require`, `sleep`, `think`, `group`, `if`, `repeat`, `return` (`var`, assignments
//! and the other loops are in `vars.rs`); and the setup
//! block, whose top-level `let`s are the setup values. Flow instances are in
//! `instances.rs`.

use super::{Binding, Checker, Ctx, Mode, Resolved, SetupState};
use crate::codes::{self, Sink};
use crate::ir::{self, Const, Expr, ExprKind, Loc, Origin, StmtKind};
use crate::types::Type;
use volley_plan::MetricKind;
use volley_syntax::ast::{self, ExprKind as A, ItemKind};

use super::items::ItemState;

/// Whether a block always ends in `return` (for flows declared `-> T`).
pub(crate) fn always_returns(stmts: &[ast::Stmt]) -> bool {
    match stmts.last().map(|s| &s.kind) {
        Some(ast::StmtKind::Return(_)) => true,
        Some(ast::StmtKind::If {
            then,
            otherwise: Some(o),
            ..
        }) => always_returns(&then.stmts) && always_returns(&o.stmts),
        Some(ast::StmtKind::Group { body, .. }) => always_returns(&body.stmts),
        _ => false,
    }
}

impl<'a> Checker<'a> {
    pub(crate) fn block(&mut self, cx: &mut Ctx, stmts: &[ast::Stmt]) -> Vec<ir::Stmt> {
        cx.push_scope();
        let out = self.stmts(cx, stmts);
        cx.pop_scope();
        out
    }

    /// Statements in the current scope (scenario-level lets stay visible afterwards).
    pub(crate) fn stmts(&mut self, cx: &mut Ctx, stmts: &[ast::Stmt]) -> Vec<ir::Stmt> {
        stmts.iter().filter_map(|s| self.stmt(cx, s)).collect()
    }

    pub(crate) fn stmt(&mut self, cx: &mut Ctx, s: &ast::Stmt) -> Option<ir::Stmt> {
        let loc = cx.loc(s.span);
        let kind = match &s.kind {
            ast::StmtKind::Let { name, value } => self.let_stmt(cx, name, value)?,
            ast::StmtKind::Expr(e) => self.expr_stmt(cx, e)?,
            ast::StmtKind::Check { name, cond } => {
                let (n, c) = self.check_parts(cx, name.as_ref(), cond, Sink::CheckName);
                StmtKind::Check { name: n?, cond: c? }
            }
            ast::StmtKind::Require { name, cond } => {
                let (n, c) = self.check_parts(cx, name.as_ref(), cond, Sink::CheckName);
                StmtKind::Require { name: n?, cond: c? }
            }
            ast::StmtKind::Sleep(e) => {
                let x = self.expr(cx, e);
                if x.ty.is_error()
                    || !self.expect(
                        cx,
                        &x,
                        &Type::Duration,
                        "`sleep` takes a duration such as 1s",
                    )
                {
                    return None;
                }
                StmtKind::Sleep(x)
            }
            ast::StmtKind::Think(e) => self.think(cx, e)?,
            ast::StmtKind::Group { name, body } => {
                let n = self.const_name(cx, name, "a group name", Sink::GroupName);
                let b = self.block(cx, &body.stmts);
                StmtKind::Group { name: n?, body: b }
            }
            ast::StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                let c = self.expr(cx, cond);
                let ok = !c.ty.is_error()
                    && self.expect(
                        cx,
                        &c,
                        &Type::Bool,
                        "an `if` needs a bool, e.g. `r.status == 200`",
                    );
                let t = self.block(cx, &then.stmts);
                let o = otherwise
                    .as_ref()
                    .map(|b| self.block(cx, &b.stmts))
                    .unwrap_or_default();
                if !ok {
                    return None;
                }
                StmtKind::If {
                    cond: c,
                    then: t,
                    otherwise: o,
                }
            }
            ast::StmtKind::Repeat { count, body } => self.repeat_stmt(cx, count, body)?,
            ast::StmtKind::Return(value) => self.return_stmt(cx, s, value.as_ref())?,
            ast::StmtKind::Var { name, value } => self.var_stmt(cx, name, value)?,
            ast::StmtKind::Assign { name, op, value } => {
                self.assign_stmt(cx, s, name, *op, value)?
            }
            ast::StmtKind::For { var, over, body } => self.for_stmt(cx, var, over, body)?,
            ast::StmtKind::While { cond, body } => self.while_stmt(cx, cond, body)?,
            ast::StmtKind::Break | ast::StmtKind::Continue => self.jump_stmt(cx, s)?,
        };
        Some(ir::Stmt { kind, loc })
    }

    /// `let NAME = VALUE`: a slot, or a substituted value for targets and workloads
    /// (which then make no statement).
    fn let_stmt(&mut self, cx: &mut Ctx, name: &ast::Ident, value: &ast::Expr) -> Option<StmtKind> {
        let mut v = self.expr(cx, value);
        if v.ty == Type::Unit {
            let text = self.source_text(cx.module, value.span);
            let d = codes::no_value(
                value.span,
                &format!("`{text}`"),
                "it returns nothing; declare the flow with `-> T` and `return` a value",
            );
            self.emit(cx.module, d);
            v = self.error_expr(v.loc);
        }
        if v.ty == Type::Target || v.ty == Type::Workload {
            cx.bind(&name.name, Binding::Value(v));
            return None;
        }
        let slot = cx.alloc_slot();
        cx.bind(
            &name.name,
            Binding::Local {
                slot,
                ty: v.ty.clone(),
                origins: v.origins.clone(),
                konst: v.konst.clone(),
                kind: super::LocalKind::Let(name.span),
            },
        );
        Some(StmtKind::Let {
            slot,
            name: name.name.clone(),
            value: v,
        })
    }

    /// `repeat COUNT { .. }`: a whole number, not negative when known.
    fn repeat_stmt(
        &mut self,
        cx: &mut Ctx,
        count: &ast::Expr,
        body: &ast::Block,
    ) -> Option<StmtKind> {
        let c = self.expr(cx, count);
        let ok =
            !c.ty.is_error() && self.expect(cx, &c, &Type::Int, "`repeat` takes a whole number");
        let b = self.repeat_body(cx, body);
        if !ok {
            return None;
        }
        if let Some(Const::Int(n)) = c.konst {
            if n < 0 {
                self.emit(
                    cx.module,
                    codes::out_of_range(
                        count.span,
                        "the repeat count",
                        "repeat a number of times ≥ 0",
                    ),
                );
                return None;
            }
        }
        Some(StmtKind::Repeat { count: c, body: b })
    }

    fn return_stmt(
        &mut self,
        cx: &mut Ctx,
        s: &ast::Stmt,
        value: Option<&ast::Expr>,
    ) -> Option<StmtKind> {
        let Some(flow) = cx.flow.clone() else {
            let d = codes::misplaced_return(
                s.span,
                "outside a flow",
                "only flows return; use `require COND` to end an iteration early",
            );
            self.emit(cx.module, d);
            if let Some(v) = value {
                self.expr(cx, v);
            }
            return None;
        };
        match value {
            Some(v) => {
                let x = self.expr(cx, v);
                if x.ty.is_error() {
                    return None;
                }
                if flow.ret == Type::Unit {
                    let d = codes::misplaced_return(
                        s.span,
                        &format!(
                            "of a value from flow `{}`, which declares no result",
                            flow.name
                        ),
                        &format!(
                            "declare the result type: `flow {}(..) -> {} {{ .. }}`",
                            flow.name, x.ty
                        ),
                    );
                    self.emit(cx.module, d);
                    return None;
                }
                if !self.expect(
                    cx,
                    &x,
                    &flow.ret,
                    &format!("flow `{}` returns {}", flow.name, flow.ret),
                ) {
                    return None;
                }
                if let Some(f) = cx.flow.as_mut() {
                    crate::ir::merge_origins(&mut f.return_origins, &x.origins);
                }
                Some(StmtKind::Return(Some(x)))
            }
            None => {
                if flow.ret != Type::Unit {
                    let d = codes::misplaced_return(
                        s.span,
                        &format!(
                            "without a value in flow `{}`, which returns {}",
                            flow.name, flow.ret
                        ),
                        &format!("return a {}: `return …`", flow.ret),
                    );
                    self.emit(cx.module, d);
                    return None;
                }
                Some(StmtKind::Return(None))
            }
        }
    }

    fn think(&mut self, cx: &mut Ctx, e: &ast::Expr) -> Option<StmtKind> {
        if let A::Call { callee, args } = &e.kind {
            if let A::Name(id) = &callee.kind {
                if id.name == "exponential"
                    && matches!(self.resolve(cx, "exponential"), Resolved::Unknown)
                {
                    let (bound, ok) =
                        self.bind_args(cx, "exponential", &["mean"], &[true], args, e.span);
                    let mean = bound[0].map(|i| self.expr(cx, &args[i].value))?;
                    if !ok
                        || mean.ty.is_error()
                        || !self.expect(
                            cx,
                            &mean,
                            &Type::Duration,
                            "the mean is a duration such as 2s",
                        )
                    {
                        return None;
                    }
                    return Some(StmtKind::ThinkExponential { mean });
                }
            }
        }
        let x = self.expr(cx, e);
        match (&x.ty, &x.kind, &x.konst) {
            (Type::Error, ..) => None,
            (Type::Range(t), ExprKind::Range(lo, hi), _) if **t == Type::Duration => {
                Some(StmtKind::ThinkUniform {
                    low: (**lo).clone(),
                    high: (**hi).clone(),
                })
            }
            (Type::Range(t), _, Some(Const::Range(lo, hi))) if **t == Type::Duration => {
                let lo = self.const_expr((**lo).clone(), Type::Duration, x.origins.clone(), x.loc);
                let hi = self.const_expr((**hi).clone(), Type::Duration, x.origins.clone(), x.loc);
                Some(StmtKind::ThinkUniform { low: lo, high: hi })
            }
            (other, ..) => {
                let help = if *other == Type::Duration {
                    "for a fixed pause write `sleep 1s`; `think` takes a range such as 500ms..1500ms".to_string()
                } else {
                    "write a range such as `think 500ms..1500ms` or `think exponential(mean: 2s)`"
                        .to_string()
                };
                let d = codes::mismatch(
                    e.span,
                    "a range of durations or exponential(mean: ..)",
                    &other.to_string(),
                    help,
                );
                self.emit(cx.module, d);
                None
            }
        }
    }

    fn expr_stmt(&mut self, cx: &mut Ctx, e: &ast::Expr) -> Option<StmtKind> {
        if let A::Call { callee, args } = &e.kind {
            if let A::Name(id) = &callee.kind {
                if id.name == "log" && matches!(self.resolve(cx, "log"), Resolved::Unknown) {
                    return self.log(cx, e, args);
                }
            }
            if let A::Field { base, field } = &callee.kind {
                if let Some((m, i, _)) = self.item_path(cx, base) {
                    let is_metric = matches!(
                        self.module(m).item(i).map(|it| &it.kind),
                        Some(ItemKind::Metric { .. })
                    );
                    if is_metric && field.name == "add" {
                        return self.metric_add(cx, e, m, i, args);
                    }
                }
            }
        }
        let x = self.expr(cx, e);
        if x.ty.is_error() {
            return None;
        }
        Some(StmtKind::Expr(x))
    }

    fn log(&mut self, cx: &mut Ctx, e: &ast::Expr, args: &[ast::Arg]) -> Option<StmtKind> {
        if args.is_empty() {
            self.emit(
                cx.module,
                codes::arg_count(e.span, "log", "at least one argument", 0),
            );
            return None;
        }
        let mut xs = Vec::new();
        let mut ok = true;
        for a in args {
            if let Some(n) = &a.name {
                self.emit(
                    cx.module,
                    codes::unknown_arg(n.span, "log", &n.name, &None, &[]),
                );
                ok = false;
            }
            let x = self.expr(cx, &a.value);
            if x.ty.is_error() {
                ok = false;
                continue;
            }
            if self.sink(cx, &x, Sink::Log) {
                ok = false;
                continue;
            }
            if !x.ty.is_scalar() {
                let d = codes::mismatch(
                    a.value.span,
                    "a value that can be logged",
                    &x.ty.to_string(),
                    "log a field, e.g. `log(\"status {r.status}\")`".into(),
                );
                self.emit(cx.module, d);
                ok = false;
                continue;
            }
            xs.push(x);
        }
        if !ok {
            return None;
        }
        let value = if xs.len() == 1 {
            xs.pop()?
        } else {
            let loc = cx.loc(e.span);
            let mut parts = Vec::new();
            for (i, x) in xs.into_iter().enumerate() {
                if i > 0 {
                    parts.push(self.const_expr(
                        Const::Str(" ".into()),
                        Type::Str,
                        vec![Origin::Literal],
                        loc,
                    ));
                }
                parts.push(x);
            }
            let origins = super::expr::union_origins(&parts);
            Expr {
                kind: ExprKind::Concat(parts),
                ty: Type::Str,
                konst: None,
                comptime: false,
                origins,
                loc,
            }
        };
        Some(StmtKind::Log(value))
    }

    fn metric_add(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        m: crate::ir::ModuleId,
        i: usize,
        args: &[ast::Arg],
    ) -> Option<StmtKind> {
        let state = self.ensure_metric(m, i);
        let xs: Vec<Expr> = args.iter().map(|a| self.expr(cx, &a.value)).collect();
        let ItemState::Metric(id) = state else {
            return None;
        };
        if args.len() != 1 || args[0].name.is_some() {
            self.emit(
                cx.module,
                codes::arg_count(e.span, "add", "one value", args.len()),
            );
            return None;
        }
        let x = xs.into_iter().next()?;
        if x.ty.is_error() {
            return None;
        }
        let metric = self.prog.metrics[id as usize].clone();
        let (want, help) = match (metric.kind, metric.is_time) {
            (MetricKind::Trend, true) => (
                Type::Duration,
                format!(
                    "`{}` is a trend of durations: add e.g. `res.duration`",
                    metric.name
                ),
            ),
            (MetricKind::Rate, _) => (
                Type::Bool,
                format!(
                    "`{}` is a rate: add a bool, e.g. `res.status == 200`",
                    metric.name
                ),
            ),
            (kind, _) => (
                Type::Float,
                format!(
                    "`{}` is a {} of numbers",
                    metric.name,
                    format!("{kind:?}").to_lowercase()
                ),
            ),
        };
        if !self.expect(cx, &x, &want, &help) {
            return None;
        }
        if self.sink(cx, &x, Sink::MetricValue) {
            return None;
        }
        Some(StmtKind::MetricAdd {
            metric: id,
            value: x,
        })
    }

    // ---- setup ----

    /// Checks the entry file's setup block once; returns its values.
    pub(crate) fn ensure_setup(&mut self) -> Vec<(String, Type, Vec<Origin>)> {
        match self.setup_state {
            SetupState::Done | SetupState::InProgress => return self.setup_values.clone(),
            SetupState::NotChecked => {}
        }
        self.setup_state = SetupState::InProgress;
        let m = self.module(0);
        let block = m.setup.and_then(|i| match m.item(i).map(|it| &it.kind) {
            Some(ItemKind::Setup(b)) => Some((b.clone(), m.items()[i].span)),
            _ => None,
        });
        if let Some((b, span)) = block {
            let ((body, values, frame), had_errors) = self.loud(|c| {
                let mut cx = Ctx::new(0, Mode::Setup);
                let body = c.stmts(&mut cx, &b.stmts);
                let mut values: Vec<(String, u32, Type, Vec<Origin>)> = Vec::new();
                // Every top-level `let`, in order, is a setup value (the i-th `Let` of
                // setup's body is `setup_values[i]`); a name bound twice reads the last.
                for s in &body {
                    if let StmtKind::Let { slot, name, value } = &s.kind {
                        // A `var`'s origins include every value assigned to it.
                        let origins = cx.slot_origins(*slot).unwrap_or(&value.origins);
                        values.push((name.clone(), *slot, value.ty.clone(), origins.clone()));
                    }
                }
                (body, values, cx.max_slot)
            });
            self.setup_failed = had_errors;
            self.setup_values = values
                .iter()
                .map(|(n, _, t, o)| (n.clone(), t.clone(), o.clone()))
                .collect();
            self.prog.setup_values = values.iter().map(|(n, ..)| n.clone()).collect();
            self.prog.setup = Some(ir::Block {
                frame_size: frame,
                body,
                values: values.iter().map(|(n, s, ..)| (n.clone(), *s)).collect(),
                loc: Loc::new(0, span),
            });
        }
        self.setup_state = SetupState::Done;
        self.setup_values.clone()
    }

    pub(crate) fn check_teardown(&mut self) {
        let m = self.module(0);
        let Some(i) = m.teardown else { return };
        let Some(ItemKind::Teardown(b)) = m.item(i).map(|it| &it.kind) else {
            return;
        };
        let mut cx = Ctx::new(0, Mode::Teardown);
        let body = self.stmts(&mut cx, &b.stmts);
        self.prog.teardown = Some(ir::Block {
            frame_size: cx.max_slot,
            body,
            values: Vec::new(),
            loc: Loc::new(0, m.items()[i].span),
        });
    }
}
