//! Thresholds: the metric (k6's built-in metrics or the file's own), the tag filter,
//! each condition's aggregation checked against the metric type (`p(95)` only on trends)
//! and its value normalised (durations in ms, percentages as fractions, sizes in bytes),
//! and the `abort_on_fail` / `delay_abort_eval: 10s` options. A rule pass of its own
//! (`ThresholdPass`), run by the driver after teardown.

mod baseline;

use super::args::{ThresholdFlag, THRESHOLD_FLAGS};
use super::{Checker, Ctx, Mode, Resolved};
use crate::codes::{self, Sink};
use crate::ir::{Const, ThresholdIr};
use crate::konst;
use crate::suggest::did_you_mean;
use crate::types::Type;
use std::collections::BTreeMap;
use volley_plan::{Aggregation, CmpOp, Condition, MetricKind, Threshold};
use volley_syntax::ast::{self, BinaryOp, ExprKind as A, ItemKind, ThresholdItem};

/// k6's built-in metrics: name, kind, whether values are durations.
pub(crate) const BUILTIN_METRICS: &[(&str, MetricKind, bool)] = &[
    ("http_reqs", MetricKind::Counter, false),
    ("http_req_duration", MetricKind::Trend, true),
    ("http_req_blocked", MetricKind::Trend, true),
    ("http_req_connecting", MetricKind::Trend, true),
    ("http_req_tls_handshaking", MetricKind::Trend, true),
    ("http_req_sending", MetricKind::Trend, true),
    ("http_req_waiting", MetricKind::Trend, true),
    ("http_req_receiving", MetricKind::Trend, true),
    ("http_req_failed", MetricKind::Rate, false),
    ("iterations", MetricKind::Counter, false),
    ("iteration_duration", MetricKind::Trend, true),
    ("dropped_iterations", MetricKind::Counter, false),
    ("vus", MetricKind::Gauge, false),
    ("vus_max", MetricKind::Gauge, false),
    ("checks", MetricKind::Rate, false),
    ("data_sent", MetricKind::Counter, false),
    ("data_received", MetricKind::Counter, false),
    ("group_duration", MetricKind::Trend, true),
    ("ws_connecting", MetricKind::Trend, true),
    ("ws_session_duration", MetricKind::Trend, true),
    ("ws_sessions", MetricKind::Counter, false),
    ("ws_msgs_sent", MetricKind::Counter, false),
    ("ws_msgs_received", MetricKind::Counter, false),
    ("ws_ping", MetricKind::Trend, true),
    ("grpc_req_duration", MetricKind::Trend, true),
    ("grpc_streams", MetricKind::Counter, false),
    ("grpc_streams_msgs_sent", MetricKind::Counter, false),
    ("grpc_streams_msgs_received", MetricKind::Counter, false),
    ("ws_connect_errors", MetricKind::Counter, false),
];

pub(crate) fn builtin_metric(name: &str) -> Option<(MetricKind, bool)> {
    BUILTIN_METRICS
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|(_, k, t)| (*k, *t))
}

fn aggregations(kind: MetricKind) -> &'static [&'static str] {
    match kind {
        MetricKind::Trend => &["avg", "min", "max", "med", "p(N)"],
        MetricKind::Counter => &["count", "rate"],
        MetricKind::Rate => &["rate"],
        MetricKind::Gauge => &["value", "min", "max"],
    }
}

fn kind_name(kind: MetricKind) -> &'static str {
    match kind {
        MetricKind::Trend => "trend",
        MetricKind::Counter => "counter",
        MetricKind::Rate => "rate",
        MetricKind::Gauge => "gauge",
    }
}

struct MetricInfo {
    name: String,
    kind: MetricKind,
    is_time: bool,
}

/// The flags of one threshold.
struct Flags {
    abort_on_fail: bool,
    delay_abort_eval_ms: u64,
}

/// The threshold rule pass: each `thresholds { .. }` entry checked against its metric
/// into a plan `Threshold`. Its own state is the list it builds; it borrows the checker
/// (`ev`) only to evaluate constant expressions, look metrics up and report.
pub(crate) struct ThresholdPass<'c, 'a> {
    ev: &'c mut Checker<'a>,
    out: Vec<ThresholdIr>,
}

impl<'c, 'a> ThresholdPass<'c, 'a> {
    /// The entry file's thresholds that checked, in source order.
    pub(crate) fn run(ev: &'c mut Checker<'a>) -> Vec<ThresholdIr> {
        let m = ev.module(0);
        let mut pass = ThresholdPass {
            ev,
            out: Vec::new(),
        };
        for &i in &m.thresholds {
            let Some(ItemKind::Thresholds(entries)) = m.item(i).map(|it| &it.kind) else {
                continue;
            };
            for t in entries {
                if let Some(th) = pass.threshold(t) {
                    pass.out.push(ThresholdIr {
                        threshold: th,
                        loc: crate::ir::Loc::new(0, t.span),
                    });
                }
            }
        }
        pass.out
    }

    fn threshold_metric(&mut self, id: &ast::Ident) -> Option<MetricInfo> {
        if let Some((kind, is_time)) = builtin_metric(&id.name) {
            return Some(MetricInfo {
                name: id.name.clone(),
                kind,
                is_time,
            });
        }
        if let Resolved::Item(m, i) = self.ev.resolve_global(0, &id.name) {
            if matches!(
                self.ev.module(m).item(i).map(|it| &it.kind),
                Some(ItemKind::Metric { .. })
            ) {
                return match self.ev.ensure_metric(m, i) {
                    super::ItemState::Metric(mid) => {
                        let md = &self.ev.prog.metrics[mid as usize];
                        Some(MetricInfo {
                            name: md.name.clone(),
                            kind: md.kind,
                            is_time: md.is_time,
                        })
                    }
                    _ => None,
                };
            }
        }
        let mut names: Vec<String> = BUILTIN_METRICS
            .iter()
            .map(|(n, ..)| n.to_string())
            .collect();
        let m = self.ev.module(0);
        names.extend(
            m.values
                .iter()
                .filter(|(_, i)| {
                    matches!(
                        m.item(**i).map(|it| &it.kind),
                        Some(ItemKind::Metric { .. })
                    )
                })
                .map(|(n, _)| n.clone()),
        );
        let s = did_you_mean(&id.name, names.iter().map(String::as_str));
        self.ev
            .emit(0, codes::unknown_metric(id.span, &id.name, &s));
        None
    }

    fn threshold(&mut self, t: &ast::ThresholdEntry) -> Option<Threshold> {
        let metric = self.threshold_metric(&t.metric);
        let mut ok = true;
        let mut tags = BTreeMap::new();
        for f in &t.filter {
            let mut cx = Ctx::new(0, Mode::Const);
            let x = self.ev.expr(&mut cx, &f.value);
            if x.ty.is_error() || self.ev.sink(&mut cx, &x, Sink::Tag) {
                ok = false;
                continue;
            }
            if !x.ty.is_scalar() {
                ok &= self
                    .ev
                    .expect(&cx, &x, &Type::Str, "a tag value is a string");
                continue;
            }
            if !self.ev.require_const(
                &cx,
                &x,
                "a tag filter",
                "write a literal such as \"browse\"",
            ) {
                ok = false;
                continue;
            }
            if let Some(c) = &x.konst {
                tags.insert(f.key.clone(), konst::to_text(c));
            }
        }
        let mut conditions = Vec::new();
        let mut flags = Flags {
            abort_on_fail: false,
            delay_abort_eval_ms: 0,
        };
        for item in &t.conditions {
            match item {
                ThresholdItem::Condition(e) => match &metric {
                    Some(info) => match self.condition(info, e) {
                        Some(c) => conditions.push(c),
                        None => ok = false,
                    },
                    None => ok = false,
                },
                ThresholdItem::Flag { name, value } => {
                    ok &= self.threshold_flag(&mut flags, name, value.as_ref());
                }
            }
        }
        let metric = metric?;
        ok.then_some(Threshold {
            metric: metric.name,
            tags,
            conditions,
            abort_on_fail: flags.abort_on_fail,
            delay_abort_eval_ms: flags.delay_abort_eval_ms,
        })
    }

    /// One flag after a threshold's conditions into `flags`; false when it was wrong
    /// (reported).
    fn threshold_flag(
        &mut self,
        flags: &mut Flags,
        name: &ast::Ident,
        value: Option<&ast::Expr>,
    ) -> bool {
        let unknown =
            |sp, n: &str, s: &Option<String>, _: &[&str]| codes::unknown_threshold_option(sp, n, s);
        let Some(key) = self
            .ev
            .arg_key(0, THRESHOLD_FLAGS, &name.name, name.span, unknown)
        else {
            return false;
        };
        match (key, value) {
            (ThresholdFlag::AbortOnFail, None) => flags.abort_on_fail = true,
            (ThresholdFlag::AbortOnFail, Some(v)) => match self.ev.const_of(
                0,
                v,
                &Type::Bool,
                "`abort_on_fail`",
                "write `abort_on_fail` alone",
            ) {
                Some(Const::Bool(b)) => flags.abort_on_fail = b,
                _ => return false,
            },
            (ThresholdFlag::DelayAbortEval, Some(v)) => {
                match self.ev.const_duration_ms(0, v, "delay_abort_eval") {
                    Some(ms) => flags.delay_abort_eval_ms = ms,
                    None => return false,
                }
            }
            (ThresholdFlag::DelayAbortEval, None) => {
                self.ev.emit(
                    0,
                    codes::missing(
                        name.span,
                        "`delay_abort_eval`",
                        "value",
                        "delay_abort_eval",
                        "delay_abort_eval: 10s",
                    ),
                );
                return false;
            }
        }
        true
    }

    fn condition(&mut self, info: &MetricInfo, e: &ast::Expr) -> Option<Condition> {
        let e_inner = match &e.kind {
            A::Paren(inner) => inner,
            _ => e,
        };
        let (op, lhs, rhs) = match &e_inner.kind {
            A::Binary { op, lhs, rhs } => {
                let op = match op {
                    BinaryOp::Lt => CmpOp::Lt,
                    BinaryOp::Le => CmpOp::Le,
                    BinaryOp::Gt => CmpOp::Gt,
                    BinaryOp::Ge => CmpOp::Ge,
                    BinaryOp::Eq => CmpOp::Eq,
                    BinaryOp::Ne => CmpOp::Ne,
                    _ => return self.bad_condition(e),
                };
                (op, lhs, rhs)
            }
            _ => return self.bad_condition(e),
        };
        if self.is_baseline(lhs) {
            let fix = format!(
                "put the aggregation on the left: `{}`",
                baseline::flipped(
                    &self.ev.source_text(0, rhs.span),
                    op,
                    &self.ev.source_text(0, lhs.span)
                )
            );
            self.ev.emit(
                0,
                codes::baseline_shape(lhs.span, "`baseline` is on the left", fix),
            );
            return None;
        }
        let valid = aggregations(info.kind);
        let (agg, agg_name, percentile) = match &lhs.kind {
            A::Name(n) => (self.aggregation(info, n, valid)?, n.name.clone(), None),
            A::Call { callee, args } if matches!(&callee.kind, A::Name(n) if n.name == "p") => {
                let pct = self.percentile(lhs, args)?;
                (Aggregation::P, "p(N)".to_string(), Some(pct))
            }
            _ => return self.bad_condition(e),
        };
        let allowed = allowed(info.kind, agg);
        if !allowed {
            let shown = if agg == Aggregation::P {
                self.ev.source_text(0, lhs.span)
            } else {
                agg_name
            };
            self.ev.emit(
                0,
                codes::bad_aggregation(lhs.span, &shown, &info.name, kind_name(info.kind), valid),
            );
            return None;
        }
        let (value, baseline) = if self.is_baseline(rhs) {
            (0.0, Some(self.baseline_rel(info, agg, rhs)?))
        } else {
            (self.threshold_value(info, agg, rhs)?, None)
        };
        Some(Condition {
            aggregation: agg,
            percentile,
            op,
            value,
            source: self.ev.source_text(0, e.span),
            baseline,
        })
    }

    /// A threshold's aggregation by name (`avg`, `count`, ..).
    fn aggregation(
        &mut self,
        info: &MetricInfo,
        n: &ast::Ident,
        valid: &[&str],
    ) -> Option<Aggregation> {
        match n.name.as_str() {
            "avg" => Some(Aggregation::Avg),
            "min" => Some(Aggregation::Min),
            "max" => Some(Aggregation::Max),
            "med" => Some(Aggregation::Med),
            "count" => Some(Aggregation::Count),
            "rate" => Some(Aggregation::Rate),
            "value" => Some(Aggregation::Value),
            other => {
                let s = did_you_mean(other, valid.iter().copied());
                let mut d =
                    codes::bad_aggregation(n.span, other, &info.name, kind_name(info.kind), valid);
                if let Some(s) = s {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                self.ev.emit(0, d);
                None
            }
        }
    }

    /// `p(N)`: a constant percentile above 0 and at most 100.
    fn percentile(&mut self, lhs: &ast::Expr, args: &[ast::Arg]) -> Option<f64> {
        let [a] = args else {
            self.ev.emit(
                0,
                codes::arg_count(lhs.span, "p", "1 argument (the percentile)", args.len()),
            );
            return None;
        };
        let pct = match self.ev.const_of(
            0,
            &a.value,
            &Type::Float,
            "a percentile",
            "write e.g. p(95)",
        )? {
            Const::Int(i) => i as f64,
            Const::Float(f) => f,
            _ => return None,
        };
        if !(pct > 0.0 && pct <= 100.0) {
            self.ev.emit(
                0,
                codes::out_of_range(
                    a.value.span,
                    "the percentile",
                    "a percentile is above 0 and at most 100, e.g. p(99.9)",
                ),
            );
            return None;
        }
        Some(pct)
    }

    fn bad_condition(&mut self, e: &ast::Expr) -> Option<Condition> {
        let d = codes::mismatch(
            e.span,
            "a condition such as `p(95) < 400ms`",
            "something else",
            "write AGGREGATION OP VALUE, e.g. `rate < 1%` or `p(95) < 400ms`".into(),
        );
        self.ev.emit(0, d);
        None
    }

    /// The threshold's value, normalised: ms for durations, fractions for rates.
    fn threshold_value(
        &mut self,
        info: &MetricInfo,
        agg: Aggregation,
        rhs: &ast::Expr,
    ) -> Option<f64> {
        let mut cx = Ctx::new(0, Mode::Const);
        let x = self.ev.expr(&mut cx, rhs);
        if x.ty.is_error() {
            return None;
        }
        let text = self.ev.source_text(0, rhs.span);
        let want = match (info.kind, agg) {
            (MetricKind::Trend, _) if info.is_time => Type::Duration,
            (MetricKind::Rate, _) => Type::Percent,
            (MetricKind::Counter, Aggregation::Rate) => Type::Rate,
            _ => Type::Float,
        };
        let bytes = info.name.starts_with("data_") && x.ty == Type::Size;
        let per_second_number = want == Type::Rate && x.ty.is_number();
        if !bytes && !per_second_number {
            let ok = if want == Type::Percent
                && !matches!(x.ty, Type::Percent | Type::Int | Type::Float)
            {
                let d = codes::mismatch(
                    rhs.span,
                    "a percentage",
                    &format!("a {}", x.ty.unit_name().unwrap_or("value")),
                    format!("write {}%", crate::checker::expr::strip_unit(&text)),
                );
                self.ev.emit(0, d);
                false
            } else {
                self.ev.expect(&cx, &x, &want, "")
            };
            if !ok {
                return None;
            }
        }
        if !self.ev.require_const(
            &cx,
            &x,
            "a threshold value",
            "write a literal such as 400ms, or use a param",
        ) {
            return None;
        }
        match x.konst? {
            Const::Int(i) => Some(i as f64),
            Const::Float(f)
            | Const::Duration(f)
            | Const::Size(f)
            | Const::Percent(f)
            | Const::Rate(f) => Some(f),
            _ => None,
        }
    }
}

/// Whether `agg` applies to a metric of `kind`.
fn allowed(kind: MetricKind, agg: Aggregation) -> bool {
    match kind {
        MetricKind::Trend => matches!(
            agg,
            Aggregation::Avg
                | Aggregation::Min
                | Aggregation::Max
                | Aggregation::Med
                | Aggregation::P
        ),
        MetricKind::Counter => matches!(agg, Aggregation::Count | Aggregation::Rate),
        MetricKind::Rate => agg == Aggregation::Rate,
        MetricKind::Gauge => matches!(
            agg,
            Aggregation::Value | Aggregation::Min | Aggregation::Max
        ),
    }
}
