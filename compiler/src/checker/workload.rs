//! Workloads: k6's executors with the same names, parameters and defaults, evaluated at
//! compile time into `volley_plan::Workload`. Stage kinds are checked (a rate stage in
//! `ramping_vus` is E0204, a VU stage in `ramping_arrival_rate` E0205) and values are
//! range-checked (E0207). The range checks are a pure function of the constant
//! arguments (`build`), shared with the evaluator, which builds the workloads written
//! inside a `fn` body (`ExprKind::Workload`) once the fn's arguments are known.

use super::{Checker, Ctx};
use crate::codes;
use crate::ir::{Const, Expr, ExprKind, Origin};
use crate::types::Type;
use volley_plan::{Stage, Workload};
use volley_syntax::ast::{self, Span};
use volley_syntax::Diagnostic;

#[derive(Clone, Copy, PartialEq, Eq)]
enum P {
    /// A VU or iteration count.
    Count,
    Dur,
    Rate,
    VuStages,
    RateStages,
}

/// Which executor a workload is; `build` has one arm per kind.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    ConstantVus,
    RampingVus,
    ConstantArrivalRate,
    RampingArrivalRate,
    SharedIterations,
    PerVuIterations,
}

/// One workload's table: its name, kind and parameters (name, type, default; no default
/// means required).
pub(crate) struct Spec {
    pub name: &'static str,
    kind: Kind,
    params: &'static [(&'static str, P, Option<Const>)],
}

const fn d(ms: f64) -> Option<Const> {
    Some(Const::Duration(ms))
}

pub(crate) const WORKLOADS: &[Spec] = &[
    Spec {
        name: "constant_vus",
        kind: Kind::ConstantVus,
        params: &[
            ("vus", P::Count, Some(Const::Int(1))),
            ("duration", P::Dur, None),
        ],
    },
    Spec {
        name: "ramping_vus",
        kind: Kind::RampingVus,
        params: &[
            ("stages", P::VuStages, None),
            ("start_vus", P::Count, Some(Const::Int(0))),
            ("graceful_ramp_down", P::Dur, d(30_000.0)),
        ],
    },
    Spec {
        name: "constant_arrival_rate",
        kind: Kind::ConstantArrivalRate,
        params: &[
            ("rate", P::Rate, None),
            ("duration", P::Dur, None),
            ("pre_allocated_vus", P::Count, None),
            ("max_vus", P::Count, Some(Const::Null)),
        ],
    },
    Spec {
        name: "ramping_arrival_rate",
        kind: Kind::RampingArrivalRate,
        params: &[
            ("start_rate", P::Rate, Some(Const::Rate(0.0))),
            ("stages", P::RateStages, None),
            ("pre_allocated_vus", P::Count, None),
            ("max_vus", P::Count, Some(Const::Null)),
        ],
    },
    Spec {
        name: "shared_iterations",
        kind: Kind::SharedIterations,
        params: &[
            ("vus", P::Count, Some(Const::Int(1))),
            ("iterations", P::Count, Some(Const::Int(1))),
            ("max_duration", P::Dur, d(600_000.0)),
        ],
    },
    Spec {
        name: "per_vu_iterations",
        kind: Kind::PerVuIterations,
        params: &[
            ("vus", P::Count, Some(Const::Int(1))),
            ("iterations", P::Count, Some(Const::Int(1))),
            ("max_duration", P::Dur, d(600_000.0)),
        ],
    },
];

/// The table of the workload called `name`.
pub(crate) fn spec(name: &str) -> Option<&'static Spec> {
    WORKLOADS.iter().find(|w| w.name == name)
}

impl Spec {
    /// The default value of parameter `i`, if it has one.
    pub(crate) fn default_of(&self, i: usize) -> Option<Const> {
        self.params.get(i).and_then(|(_, _, d)| d.clone())
    }

    /// Each parameter's name and whether it has a default (editors complete them).
    pub(crate) fn param_names(&self) -> impl Iterator<Item = (&'static str, bool)> {
        self.params.iter().map(|(n, _, d)| (*n, d.is_some()))
    }
}

pub(crate) fn workload_names() -> Vec<&'static str> {
    WORKLOADS.iter().map(|w| w.name).collect()
}

/// One checked argument: its value and where to point at it.
pub(crate) struct Arg {
    pub value: Const,
    pub span: Span,
}

impl<'a> Checker<'a> {
    pub(crate) fn workload(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        name: &str,
        args: &[ast::Arg],
    ) -> Expr {
        let loc = cx.loc(e.span);
        let Some(spec) = WORKLOADS.iter().find(|w| w.name == name) else {
            return self.error_expr(loc);
        };
        let names: Vec<&str> = spec.params.iter().map(|(n, ..)| *n).collect();
        let required: Vec<bool> = spec.params.iter().map(|(_, _, d)| d.is_none()).collect();
        let (bound, mut ok) = self.bind_args(cx, name, &names, &required, args, e.span);
        let mut values: Vec<Option<Arg>> = Vec::new();
        // The checked argument of each parameter (`None`: its default), for the evaluator.
        let mut typed: Vec<Option<Expr>> = Vec::new();
        let mut unknown = false;
        let mut origins = vec![Origin::Literal];
        for ((pname, kind, default), b) in spec.params.iter().zip(&bound) {
            let Some(ai) = b else {
                typed.push(None);
                values.push(default.clone().map(|value| Arg {
                    value,
                    span: e.span,
                }));
                continue;
            };
            let a = &args[*ai];
            let x = self.expr(cx, &a.value);
            if x.ty.is_error() || !self.workload_arg_type(cx, &x, *kind, pname) {
                ok = false;
                values.push(None);
                continue;
            }
            if !self.require_const(
                cx,
                &x,
                "a workload argument",
                "workloads are fixed when the test compiles: use literals, params or fns",
            ) {
                ok = false;
                values.push(None);
                continue;
            }
            crate::ir::merge_origins(&mut origins, &x.origins);
            match x.konst.clone() {
                Some(value) => values.push(Some(Arg {
                    value,
                    span: a.value.span,
                })),
                None => {
                    unknown = true;
                    values.push(None);
                }
            }
            typed.push(Some(x));
        }
        if !ok {
            return self.error_expr(loc);
        }
        if unknown {
            // Known only once the enclosing `fn` is called: the evaluator builds it.
            return Expr {
                kind: ExprKind::Workload {
                    name: spec.name.to_string(),
                    args: typed,
                },
                ty: Type::Workload,
                konst: None,
                comptime: true,
                origins,
                loc,
            };
        }
        let mut errs = Vec::new();
        let built = build(spec, &values, e.span, &mut errs);
        for d in errs {
            self.emit(cx.module, d);
        }
        match built {
            Some(w) => self.const_expr(Const::Workload(Box::new(w)), Type::Workload, origins, loc),
            None => self.error_expr(loc),
        }
    }

    /// Type of one workload argument, with the stage-kind diagnostics.
    fn workload_arg_type(&mut self, cx: &mut Ctx, x: &Expr, kind: P, pname: &str) -> bool {
        match kind {
            P::Count => self.expect(cx, x, &Type::Int, &format!("`{pname}` is a whole number")),
            P::Dur => self.expect(
                cx,
                x,
                &Type::Duration,
                &format!("`{pname}` is a duration such as 30s"),
            ),
            P::Rate => self.expect(
                cx,
                x,
                &Type::Rate,
                &format!("`{pname}` is a rate such as 200/s"),
            ),
            P::VuStages | P::RateStages => {
                let want_rate = kind == P::RateStages;
                let elem_ok = |t: &Type| match t {
                    Type::Stage(inner) => match &**inner {
                        Type::Int => !want_rate,
                        Type::Rate => want_rate,
                        _ => true,
                    },
                    _ => false,
                };
                let Type::List(elem) = &x.ty else {
                    let want = if want_rate {
                        "a list of stages such as [1m -> 100/s]"
                    } else {
                        "a list of stages such as [1m -> 100]"
                    };
                    let d = codes::mismatch(
                        x.loc.span,
                        want,
                        &x.ty.to_string(),
                        "write the stages as a list `[DURATION -> TARGET, ..]`".into(),
                    );
                    self.emit(x.loc.module, d);
                    return false;
                };
                if matches!(**elem, Type::Any) || elem_ok(elem) {
                    return true;
                }
                // Point at the first stage of the wrong kind.
                let stages: Vec<&Expr> = match &x.kind {
                    ExprKind::List(items) => items.iter().collect(),
                    _ => vec![x],
                };
                for s in stages {
                    let (dur_text, target) = match &s.kind {
                        ExprKind::Stage(dd, t) => (
                            self.modules[dd.loc.module as usize]
                                .text(dd.loc.span)
                                .to_string(),
                            &**t,
                        ),
                        _ => ("1m".to_string(), s),
                    };
                    let ttext = self.modules[target.loc.module as usize]
                        .text(target.loc.span)
                        .to_string();
                    let d = match (&target.ty, want_rate) {
                        (Type::Rate, false) => {
                            let n = ttext.split('/').next().unwrap_or("100").trim().to_string();
                            codes::rate_stage_in_vus(target.loc.span, &format!("{dur_text} -> {n}"))
                        }
                        (Type::Int, true) => codes::vus_stage_in_rate(
                            target.loc.span,
                            &format!("{dur_text} -> {ttext}/s"),
                        ),
                        (Type::Stage(_), _) | (Type::Int, false) | (Type::Rate, true) => continue,
                        (other, _) => codes::mismatch(
                            target.loc.span,
                            "a stage",
                            &other.to_string(),
                            "a stage is `DURATION -> TARGET`".into(),
                        ),
                    };
                    self.emit(target.loc.module, d);
                    return false;
                }
                true
            }
        }
    }
}

/// Builds a workload from its constant arguments (`None`: not given and no default),
/// range-checking each value. Every problem found is pushed to `errs`, in order; `None`
/// when there was one (or a value had the wrong shape, already reported as a type).
/// Pure: the checker reports `errs`, the evaluator (`eval.rs`) keeps the first.
pub(crate) fn build(
    spec: &Spec,
    v: &[Option<Arg>],
    call: Span,
    errs: &mut Vec<Diagnostic>,
) -> Option<Workload> {
    let w = match spec.kind {
        Kind::ConstantVus => {
            let vus = wl_count(errs, &v[0], "vus", 1);
            let duration_ms = wl_dur(errs, &v[1], "duration", true);
            Workload::ConstantVus {
                vus: vus?,
                duration_ms: duration_ms?,
            }
        }
        Kind::RampingVus => {
            let stages = wl_stages(errs, &v[0]);
            let start_vus = wl_count(errs, &v[1], "start_vus", 0);
            let grd = wl_dur(errs, &v[2], "graceful_ramp_down", false);
            Workload::RampingVus {
                start_vus: start_vus?,
                stages: stages?,
                graceful_ramp_down_ms: grd?,
            }
        }
        Kind::ConstantArrivalRate => {
            let r = wl_rate(errs, &v[0], "rate", true);
            let duration_ms = wl_dur(errs, &v[1], "duration", true);
            let pre = wl_count(errs, &v[2], "pre_allocated_vus", 1);
            let max = pre.and_then(|p| wl_max_vus(errs, &v[3], p));
            Workload::ConstantArrivalRate {
                rate: r?,
                duration_ms: duration_ms?,
                pre_allocated_vus: pre?,
                max_vus: max?,
            }
        }
        Kind::RampingArrivalRate => {
            let start = wl_rate(errs, &v[0], "start_rate", false);
            let stages = wl_stages(errs, &v[1]);
            let pre = wl_count(errs, &v[2], "pre_allocated_vus", 1);
            let max = pre.and_then(|p| wl_max_vus(errs, &v[3], p));
            Workload::RampingArrivalRate {
                start_rate: start?,
                stages: stages?,
                pre_allocated_vus: pre?,
                max_vus: max?,
            }
        }
        Kind::SharedIterations | Kind::PerVuIterations => {
            return iterations_workload(errs, spec.kind, v, call)
        }
    };
    Some(w)
}

/// `shared_iterations` and `per_vu_iterations`.
fn iterations_workload(
    errs: &mut Vec<Diagnostic>,
    kind: Kind,
    v: &[Option<Arg>],
    call: Span,
) -> Option<Workload> {
    let vus = wl_count(errs, &v[0], "vus", 1);
    let iterations = wl_count(errs, &v[1], "iterations", 1);
    let max = wl_dur(errs, &v[2], "max_duration", true);
    let (vus, iterations, max_duration_ms) = (vus?, iterations?, max?);
    if kind != Kind::SharedIterations {
        return Some(Workload::PerVuIterations {
            vus,
            iterations,
            max_duration_ms,
        });
    }
    if iterations < vus {
        let span = v[1].as_ref().map(|a| a.span).unwrap_or(call);
        let help = "`shared_iterations` needs at least as many iterations as VUs";
        errs.push(codes::out_of_range(span, "iterations", help));
        return None;
    }
    Some(Workload::SharedIterations {
        vus,
        iterations,
        max_duration_ms,
    })
}

/// A VU or iteration count of at least `min`.
fn wl_count(errs: &mut Vec<Diagnostic>, a: &Option<Arg>, what: &str, min: i64) -> Option<u64> {
    let a = a.as_ref()?;
    match a.value {
        Const::Int(i) if i >= min => Some(i as u64),
        _ => {
            let help = format!("`{what}` must be at least {min}");
            errs.push(codes::out_of_range(a.span, what, &help));
            None
        }
    }
}

/// A duration in ms, positive or at least not negative.
fn wl_dur(errs: &mut Vec<Diagnostic>, a: &Option<Arg>, what: &str, positive: bool) -> Option<u64> {
    let a = a.as_ref()?;
    match a.value {
        Const::Duration(ms) if ms > 0.0 || (!positive && ms >= 0.0) => Some(ms.round() as u64),
        _ => {
            let help = if positive {
                format!("`{what}` must be a positive duration")
            } else {
                format!("`{what}` cannot be negative")
            };
            errs.push(codes::out_of_range(a.span, what, &help));
            None
        }
    }
}

/// A finite rate, positive or at least not negative.
fn wl_rate(errs: &mut Vec<Diagnostic>, a: &Option<Arg>, what: &str, positive: bool) -> Option<f64> {
    let a = a.as_ref()?;
    match a.value {
        Const::Rate(r) if r.is_finite() && (r > 0.0 || (!positive && r >= 0.0)) => Some(r),
        _ => {
            let help = format!("`{what}` must be a positive rate such as 100/s");
            errs.push(codes::out_of_range(a.span, what, &help));
            None
        }
    }
}

/// A non-empty list of stages with no negative duration or target.
fn wl_stages(errs: &mut Vec<Diagnostic>, a: &Option<Arg>) -> Option<Vec<Stage>> {
    let a = a.as_ref()?;
    let Const::List(items) = &a.value else {
        return None;
    };
    let mut out = Vec::new();
    for s in items {
        let stage = stage_of(s)?;
        if stage.0 < 0.0 || stage.1 < 0.0 || !stage.1.is_finite() {
            let help = "stage durations and targets cannot be negative";
            errs.push(codes::out_of_range(a.span, "a stage", help));
            return None;
        }
        out.push(Stage {
            duration_ms: stage.0.round() as u64,
            target: stage.1,
        });
    }
    if out.is_empty() {
        let help = "give at least one stage, e.g. `[1m -> 10]`";
        errs.push(codes::out_of_range(a.span, "the stage list", help));
        return None;
    }
    Some(out)
}

/// `max_vus`: absent or `null` is `pre_allocated_vus`, else not below it.
fn wl_max_vus(errs: &mut Vec<Diagnostic>, a: &Option<Arg>, pre: u64) -> Option<u64> {
    let arg = match a {
        Some(Arg {
            value: Const::Null, ..
        })
        | None => return Some(pre),
        Some(arg) => arg,
    };
    let max = wl_count(errs, a, "max_vus", 0)?;
    if max < pre {
        let help = "`max_vus` cannot be below `pre_allocated_vus`";
        errs.push(codes::out_of_range(arg.span, "max_vus", help));
        return None;
    }
    Some(max)
}

/// A constant stage as (duration in ms, target).
fn stage_of(s: &Const) -> Option<(f64, f64)> {
    let Const::Stage {
        duration_ms,
        target,
    } = s
    else {
        return None;
    };
    let t = match &**target {
        Const::Int(i) => *i as f64,
        Const::Rate(r) => *r,
        _ => return None,
    };
    Some((*duration_ms, t))
}
