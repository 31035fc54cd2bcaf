//! Compile-time evaluation: the values of `fn` calls, computed from typed `fn` bodies,
//! and the folding rule of each kind of node (`fold`), kept here only.
//!
//! As it types a node whose children are typed, the checker asks `fold` for the node's
//! value from its children's values (`konst`), one step, and reports a folding error
//! (E0704, e.g. a division by zero) at the node.
//!
//! The checker types each `fn` body once, its parameters standing as placeholders
//! (`ExprKind::Item(name)` with no value), and hands the typed body to the `Evaluator`
//! (`define`). At a call whose arguments are all known constants, the checker asks the
//! evaluator for the value (`call`). The evaluator has its own state (the typed bodies;
//! the parameters' values while a body is evaluated), holds no reference to the checker
//! and types nothing: it folds the typed IR with `konst`'s operators and builds
//! workloads with `workload::build`. Sub-expressions that did not depend on a parameter
//! were folded when the body was typed, and are taken as they are. An evaluation error
//! is the first problem met, in the order the body was typed.

use super::items::coerce;
use super::workload;
use crate::codes;
use crate::ir::{Const, Expr, ExprKind, Intrinsic, ModuleId, Origin};
use crate::konst;
use crate::types::Type;
use std::collections::BTreeMap;
use volley_syntax::Diagnostic;

/// A `fn` as the evaluator sees it: typed once, by the checker.
pub(crate) struct FnDef {
    /// The parameters' names, in order.
    pub params: Vec<String>,
    pub ret: Type,
    /// The typed body, parameters as placeholders.
    pub body: Expr,
    /// The body's origins other than the parameters' (merged at each call with the
    /// arguments' own).
    pub origins: Vec<Origin>,
    /// The body was typed without error: it can be evaluated.
    pub ok: bool,
}

/// The values of parameters while a body is evaluated.
type Env = [(String, Const)];

/// The outcome of evaluating an expression: its value (`None` when it has none known at
/// compile time, e.g. a part that was already an error), or the first error.
type Eval = Result<Option<Const>, Box<Diagnostic>>;

#[derive(Default)]
pub(crate) struct Evaluator {
    fns: BTreeMap<(ModuleId, usize), FnDef>,
}

impl Evaluator {
    /// Records a typed `fn` (module, item index).
    pub fn define(&mut self, item: (ModuleId, usize), def: FnDef) {
        self.fns.insert(item, def);
    }

    /// The origins a call of `item` adds to its arguments' own.
    pub fn origins(&self, item: (ModuleId, usize)) -> &[Origin] {
        self.fns.get(&item).map_or(&[], |f| f.origins.as_slice())
    }

    /// The value of `item` called with `args`, coerced to its return type.
    pub fn call(&self, item: (ModuleId, usize), args: &[Const]) -> Eval {
        let Some(f) = self.fns.get(&item).filter(|f| f.ok) else {
            return Ok(None);
        };
        let env: Vec<(String, Const)> =
            f.params.iter().cloned().zip(args.iter().cloned()).collect();
        Ok(self.eval(&f.body, &env)?.map(|k| coerce(k, &f.ret)))
    }

    /// The value of a node whose children are already typed, from the children's own
    /// values (`konst`): the folding rule of its kind, one step. The checker calls it on
    /// each node it types, so the rules of folding live here only.
    pub fn fold(&self, e: &Expr) -> Eval {
        self.node(e, &mut |x| Ok(x.konst.clone()))
    }

    /// The value of a typed expression, parameters read from `env`.
    fn eval(&self, e: &Expr, env: &Env) -> Eval {
        if let Some(k) = &e.konst {
            return Ok(Some(k.clone()));
        }
        match &e.kind {
            ExprKind::Item(name) => Ok(env.iter().find(|(n, _)| n == name).map(|(_, c)| c.clone())),
            _ => self.node(e, &mut |x| self.eval(x, env)),
        }
    }

    /// The value of `e` by the rule of its kind, its children's values given by `val`
    /// (asked in the order the children were typed, so the first error is the first met).
    fn node(&self, e: &Expr, val: &mut dyn FnMut(&Expr) -> Eval) -> Eval {
        let failed =
            |why: String| Box::new(codes::eval_failed(e.loc.span, "this expression", &why));
        Ok(match &e.kind {
            ExprKind::Field(b, name) => match val(b)? {
                Some(Const::Record(fs)) => fs.into_iter().find(|(n, _)| n == name).map(|(_, v)| v),
                _ => None,
            },
            ExprKind::Unary(op, x) => match val(x)? {
                Some(c) => Some(konst::unary(*op, &c).map_err(failed)?),
                None => None,
            },
            ExprKind::Binary(op, a, b) => match (val(a)?, val(b)?) {
                (Some(x), Some(y)) => Some(konst::binary(*op, &x, &y).map_err(failed)?),
                _ => None,
            },
            ExprKind::Concat(xs) => {
                all(xs, val)?.map(|cs| Const::Str(cs.iter().map(konst::to_text).collect()))
            }
            ExprKind::List(xs) => all(xs, val)?.map(Const::List),
            ExprKind::Record(fs) => {
                let mut out = Vec::new();
                for (k, x) in fs {
                    out.push(val(x)?.map(|c| (k.clone(), c)));
                }
                out.into_iter().collect::<Option<_>>().map(Const::Record)
            }
            ExprKind::Stage(d, t) => match (val(d)?, val(t)?) {
                (Some(Const::Duration(ms)), Some(c)) => Some(Const::Stage {
                    duration_ms: ms,
                    target: Box::new(c),
                }),
                _ => None,
            },
            ExprKind::Range(l, h) => match (val(l)?, val(h)?) {
                (Some(a), Some(b)) => Some(Const::Range(Box::new(a), Box::new(b))),
                _ => None,
            },
            ExprKind::Intrinsic(i, xs) => {
                let mut vals = Vec::new();
                for x in xs {
                    vals.push(val(x)?);
                }
                match (i, vals.first()) {
                    (Intrinsic::Len, Some(Some(Const::Str(s)))) => {
                        Some(Const::Int(s.chars().count() as i64))
                    }
                    (Intrinsic::Len, Some(Some(Const::List(l)))) => {
                        Some(Const::Int(l.len() as i64))
                    }
                    (Intrinsic::Index, Some(Some(Const::List(l)))) => match vals.get(1) {
                        Some(Some(Const::Int(i))) => {
                            let at = usize::try_from(*i).ok().and_then(|i| l.get(i));
                            let why = || format!("index {i} is outside a list of {}", l.len());
                            Some(at.cloned().ok_or_else(|| failed(why()))?)
                        }
                        _ => None,
                    },
                    _ => None,
                }
            }
            ExprKind::FnCall { callee, args } => match all(args, val)? {
                Some(vals) => self.call(callee.item, &vals).map_err(|d| {
                    Box::new(codes::eval_failed(e.loc.span, &callee.shown, &d.message))
                })?,
                None => None,
            },
            ExprKind::Workload { name, args } => self.workload(e, name, args, val)?,
            _ => None,
        })
    }

    /// A workload built from its evaluated arguments and its table's defaults.
    fn workload(
        &self,
        e: &Expr,
        name: &str,
        args: &[Option<Expr>],
        val: &mut dyn FnMut(&Expr) -> Eval,
    ) -> Eval {
        let Some(spec) = workload::spec(name) else {
            return Ok(None);
        };
        let mut values = Vec::new();
        let mut unknown = false;
        for (i, a) in args.iter().enumerate() {
            let Some(x) = a else {
                values.push(spec.default_of(i).map(|value| workload::Arg {
                    value,
                    span: e.loc.span,
                }));
                continue;
            };
            let value = val(x)?;
            unknown |= value.is_none();
            values.push(value.map(|value| workload::Arg {
                value,
                span: x.loc.span,
            }));
        }
        if unknown {
            return Ok(None);
        }
        let mut errs = Vec::new();
        match workload::build(spec, &values, e.loc.span, &mut errs) {
            Some(w) => Ok(Some(Const::Workload(Box::new(w)))),
            None => errs
                .into_iter()
                .next()
                .map_or(Ok(None), |d| Err(Box::new(d))),
        }
    }
}

/// The values of `xs`, in order; `None` if one is unknown.
fn all(
    xs: &[Expr],
    val: &mut dyn FnMut(&Expr) -> Eval,
) -> Result<Option<Vec<Const>>, Box<Diagnostic>> {
    let mut out = Vec::new();
    for x in xs {
        out.push(val(x)?);
    }
    Ok(out.into_iter().collect())
}
