//! `p(95) < baseline * 1.1`: a threshold's value relative to an earlier run (`--baseline
//! FILE`). The right-hand side must be linear in `baseline`: `baseline`, `baseline * K`,
//! `K * baseline`, `baseline / K`, each optionally `+ D` or `- D`, with K a positive plain
//! number (E0730, E0724) and D a constant in the condition's unit (E0724). It makes no
//! sense on a gauge or a counter's `count` (E0719); other shapes are E0725. The value
//! itself is filled in before the run from the baseline summary.

use super::{MetricInfo, ThresholdPass};
use crate::checker::{Ctx, Mode, Resolved};
use crate::codes;
use crate::ir::Const;
use crate::types::Type;
use volley_plan::{Aggregation, BaselineRef, MetricKind};
use volley_syntax::ast::{self, BinaryOp, ExprKind as A};

/// Whether an expression names `baseline`.
pub(super) fn mentions(e: &ast::Expr) -> bool {
    match &e.kind {
        A::Name(n) => n.name == "baseline",
        A::Paren(x) => mentions(x),
        A::Unary { operand, .. } => mentions(operand),
        A::Binary { lhs, rhs, .. } => mentions(lhs) || mentions(rhs),
        A::Call { callee, args } => mentions(callee) || args.iter().any(|a| mentions(&a.value)),
        _ => false,
    }
}

/// `baseline * 1.1 > p(95)` the right way round: `p(95) < baseline * 1.1`.
pub(super) fn flipped(aggregation: &str, op: volley_plan::CmpOp, relative: &str) -> String {
    use volley_plan::CmpOp as C;
    let op = match op {
        C::Lt => ">",
        C::Le => ">=",
        C::Gt => "<",
        C::Ge => "<=",
        C::Eq => "==",
        C::Ne => "!=",
    };
    format!("{aggregation} {op} {relative}")
}

/// What the condition's side must be written in, in words and as a type.
fn offset_unit(info: &MetricInfo) -> (Type, &'static str, &'static str) {
    match info.kind {
        MetricKind::Trend if info.is_time => (Type::Duration, "a duration", "20ms"),
        MetricKind::Rate => (Type::Percent, "a percentage", "1%"),
        MetricKind::Counter => (Type::Rate, "a rate", "10/s"),
        _ => (Type::Float, "a plain number", "5"),
    }
}

impl ThresholdPass<'_, '_> {
    /// Whether `baseline` here means the earlier run (a file's own `baseline` wins).
    pub(super) fn is_baseline(&self, e: &ast::Expr) -> bool {
        mentions(e) && matches!(self.ev.resolve_global(0, "baseline"), Resolved::Unknown)
    }

    /// The relative value of a condition's right-hand side `rhs`; reported when wrong.
    pub(super) fn baseline_rel(
        &mut self,
        info: &MetricInfo,
        agg: Aggregation,
        rhs: &ast::Expr,
    ) -> Option<BaselineRef> {
        let fix = match (info.kind, agg) {
            (MetricKind::Gauge, _) => Some(format!(
                "a gauge (`{}`) is a level the test sets, not a measure of the build: compare a trend or a rate, or write a constant",
                info.name
            )),
            (MetricKind::Counter, Aggregation::Count) => Some(format!(
                "a count grows with the run's length: compare the per-second rate, `{}: rate > baseline * 0.9`",
                info.name
            )),
            _ => None,
        };
        if let Some(fix) = fix {
            let what = match info.kind {
                MetricKind::Gauge => "a gauge",
                _ => "a counter's `count`",
            };
            self.ev
                .emit(0, codes::baseline_meaningless(rhs.span, what, fix));
            return None;
        }
        self.linear(info, rhs)
    }

    /// `rhs` as `factor × baseline + offset`.
    fn linear(&mut self, info: &MetricInfo, e: &ast::Expr) -> Option<BaselineRef> {
        let shape = |why: &str| codes::baseline_shape(e.span, why, example(info));
        match &e.kind {
            A::Name(n) if n.name == "baseline" => Some(BaselineRef {
                factor: 1.0,
                offset: 0.0,
                base: None,
            }),
            A::Paren(x) => self.linear(info, x),
            A::Binary { op, lhs, rhs } => {
                let (l, r) = (mentions(lhs), mentions(rhs));
                if l && r {
                    self.ev.emit(0, shape("`baseline` appears twice"));
                    return None;
                }
                let (inner, other) = if l { (lhs, rhs) } else { (rhs, lhs) };
                match (op, l) {
                    (BinaryOp::Mul, _) | (BinaryOp::Div, true) => {
                        let rel = self.linear(info, inner)?;
                        let k = self.factor(other)?;
                        let k = if *op == BinaryOp::Div { 1.0 / k } else { k };
                        Some(BaselineRef {
                            factor: rel.factor * k,
                            offset: rel.offset * k,
                            base: None,
                        })
                    }
                    (BinaryOp::Add, _) | (BinaryOp::Sub, true) => {
                        let rel = self.linear(info, inner)?;
                        let d = self.offset(info, other)?;
                        let d = if *op == BinaryOp::Sub { -d } else { d };
                        Some(BaselineRef {
                            factor: rel.factor,
                            offset: rel.offset + d,
                            base: None,
                        })
                    }
                    (BinaryOp::Sub | BinaryOp::Div, false) => {
                        self.ev.emit(
                            0,
                            shape("`baseline` must not be subtracted from or divided into"),
                        );
                        None
                    }
                    _ => {
                        let why = format!("`{}` with `baseline`", op.as_str());
                        self.ev.emit(0, shape(&why));
                        None
                    }
                }
            }
            _ => {
                self.ev.emit(
                    0,
                    shape("`baseline` may only be scaled and shifted by constants"),
                );
                None
            }
        }
    }

    /// A factor: a positive plain constant.
    fn factor(&mut self, e: &ast::Expr) -> Option<f64> {
        let mut cx = Ctx::new(0, Mode::Const);
        let x = self.ev.expr(&mut cx, e);
        if x.ty.is_error() {
            return None;
        }
        let text = self.ev.source_text(0, e.span);
        if let Some(unit) = x.ty.unit_name() {
            let plain = crate::checker::expr::strip_unit(&text);
            self.ev.emit(
                0,
                codes::baseline_units(
                    e.span,
                    &format!("a {unit}"),
                    "a factor is a plain number",
                    format!("write `baseline * {plain}` for a factor, or `baseline + {text}` for an allowance"),
                ),
            );
            return None;
        }
        if !self
            .ev
            .require_const(&cx, &x, "a baseline factor", "write e.g. `baseline * 1.1`")
        {
            return None;
        }
        let k = match x.konst.clone()? {
            Const::Int(i) => i as f64,
            Const::Float(f) => f,
            _ => {
                self.ev
                    .expect(&cx, &x, &Type::Float, "a factor is a number");
                return None;
            }
        };
        if !(k > 0.0 && k.is_finite()) {
            self.ev.emit(0, codes::baseline_factor(e.span, k));
            return None;
        }
        Some(k)
    }

    /// An offset: a constant in the condition's unit, normalised (ms, fraction, /s).
    fn offset(&mut self, info: &MetricInfo, e: &ast::Expr) -> Option<f64> {
        let mut cx = Ctx::new(0, Mode::Const);
        let x = self.ev.expr(&mut cx, e);
        if x.ty.is_error() {
            return None;
        }
        let (want, words, sample) = offset_unit(info);
        let ok = match want {
            Type::Rate | Type::Float => x.ty == want || x.ty.is_number(),
            _ => x.ty == want,
        };
        if !ok {
            let text = self.ev.source_text(0, e.span);
            let plain = crate::checker::expr::strip_unit(&text);
            let got =
                x.ty.unit_name()
                    .map_or("a plain number".to_string(), |u| format!("a {u}"));
            let unit = sample.trim_start_matches(|c: char| c.is_ascii_digit());
            self.ev.emit(
                0,
                codes::baseline_units(
                    e.span,
                    &got,
                    &format!("`{}`'s allowance is {words}", info.name),
                    format!("write `baseline + {plain}{unit}`"),
                ),
            );
            return None;
        }
        if !self.ev.require_const(
            &cx,
            &x,
            "a baseline allowance",
            "write e.g. `baseline + 20ms`",
        ) {
            return None;
        }
        match x.konst? {
            Const::Int(i) => Some(i as f64),
            Const::Float(f) | Const::Duration(f) | Const::Percent(f) | Const::Rate(f) => Some(f),
            _ => None,
        }
    }
}

/// The condition written right, for the metric.
fn example(info: &MetricInfo) -> String {
    let (_, _, sample) = offset_unit(info);
    let agg = match info.kind {
        MetricKind::Trend => "p(95) <",
        MetricKind::Rate if info.name == "checks" => "rate >",
        MetricKind::Rate => "rate <",
        _ => "rate >",
    };
    let factor = if agg.ends_with('>') { "0.9" } else { "1.1" };
    format!("write `{agg} baseline * {factor}` or `{agg} baseline + {sample}`")
}
