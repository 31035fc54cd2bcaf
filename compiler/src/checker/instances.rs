//! Flow instancing: a flow is checked once per set of constant `target` arguments (one
//! instance, one entry of `Program::flows`), on first use, with its taint summary (the
//! sinks its parameters reach, the origins of its result). `Instances` is the table of
//! instances and the rule of reporting: a flow's body errors are reported by its first
//! instance only, later instances are checked silently. The body itself is typed by the
//! checker (`check_flow_body`), since instancing a flow types its body, which types the
//! calls in it, which instance other flows.

use super::items::FlowSig;
use super::stmt::always_returns;
use super::{Binding, Checker, Ctx, FlowCx, Mode, SinkInfo};
use crate::codes;
use crate::ir::{self, Const, Expr, ExprKind, Loc, ModuleId, Origin};
use crate::types::Type;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use volley_syntax::ast::ItemKind;

/// Flow instance key: module, item index, the constant targets of `target` parameters
/// (`None` for a generic check of an uncalled flow).
pub(crate) type InstKey = (ModuleId, usize, Vec<Option<u32>>);

#[derive(Clone, Debug)]
pub(crate) struct Summary {
    /// Per declared parameter: the first sink it reaches inside the flow.
    pub param_sinks: Vec<Option<SinkInfo>>,
    /// Origins of the returned value, `FlowParam(i)` standing for argument `i`.
    pub return_origins: Vec<Origin>,
}

#[derive(Clone, Debug)]
pub(crate) enum InstState {
    InProgress,
    Done { index: u32, summary: Rc<Summary> },
}

/// What `Instances::begin` found for an instance key.
pub(crate) enum Begin {
    /// The instance is being checked: a call of it from inside is a recursion.
    Recursion,
    Done(u32, Rc<Summary>),
    /// Not checked yet, now in progress; `first` when no instance of this flow was
    /// checked before (its body's errors are reported).
    New {
        first: bool,
    },
}

/// The flow instances checked so far.
#[derive(Default)]
pub(crate) struct Instances {
    table: BTreeMap<InstKey, InstState>,
    /// Flow items whose body diagnostics were already reported once.
    reported: BTreeSet<(ModuleId, usize)>,
    /// Instances of the entry file's flows (always in the plan).
    pub entry: Vec<u32>,
}

impl Instances {
    /// Looks an instance up; a new one is marked in progress.
    pub fn begin(&mut self, key: &InstKey) -> Begin {
        match self.table.get(key) {
            Some(InstState::InProgress) => return Begin::Recursion,
            Some(InstState::Done { index, summary }) => {
                return Begin::Done(*index, summary.clone())
            }
            None => {}
        }
        self.table.insert(key.clone(), InstState::InProgress);
        Begin::New {
            first: self.reported.insert((key.0, key.1)),
        }
    }

    /// Records a checked instance: its index in `Program::flows` and its summary.
    pub fn finish(&mut self, key: InstKey, index: u32, summary: Rc<Summary>) {
        self.table.insert(key, InstState::Done { index, summary });
    }
}

impl<'a> Checker<'a> {
    /// The instance of a flow for these constant targets, checked on first use.
    /// `None` when the flow is being checked already (recursion).
    pub(crate) fn flow_instance(
        &mut self,
        sig: &FlowSig,
        targets: Vec<Option<u32>>,
    ) -> Option<(u32, Rc<Summary>)> {
        let key = (sig.module, sig.index, targets.clone());
        let first = match self.instances.begin(&key) {
            Begin::Recursion => return None,
            Begin::Done(index, summary) => return Some((index, summary)),
            Begin::New { first } => first,
        };
        let (flow, summary) = if first {
            self.loud(|c| c.check_flow_body(sig, &targets)).0
        } else {
            self.silently(|c| c.check_flow_body(sig, &targets)).0
        };
        let index = self.prog.flows.len() as u32;
        self.prog.flows.push(flow);
        let summary = Rc::new(summary);
        self.instances.finish(key, index, summary.clone());
        Some((index, summary))
    }

    fn check_flow_body(&mut self, sig: &FlowSig, targets: &[Option<u32>]) -> (ir::Flow, Summary) {
        let m = self.module(sig.module);
        let decl = match m.item(sig.index).map(|it| &it.kind) {
            Some(ItemKind::Flow(d)) => Some(d),
            _ => None,
        };
        let mut cx = Ctx::new(sig.module, Mode::Flow);
        cx.flow = Some(FlowCx {
            name: sig.name.clone(),
            ret: sig.ret.clone(),
            param_names: sig.params.iter().map(|p| p.name.clone()).collect(),
            param_sinks: vec![None; sig.params.len()],
            return_origins: Vec::new(),
        });
        let mut runtime_params = Vec::new();
        let mut target_names = Vec::new();
        let mut ti = 0;
        for (i, p) in sig.params.iter().enumerate() {
            if p.ty == Type::Target {
                let t = targets.get(ti).copied().flatten();
                ti += 1;
                let loc = Loc::new(sig.module, p.span);
                let value = match t {
                    Some(t) => {
                        target_names.push(
                            self.prog
                                .targets
                                .get(t as usize)
                                .map(|x| x.name.clone())
                                .unwrap_or_default(),
                        );
                        self.const_expr(Const::Target(t), Type::Target, vec![Origin::Literal], loc)
                    }
                    None => Expr {
                        kind: ExprKind::Item(p.name.clone()),
                        ty: Type::Target,
                        konst: None,
                        comptime: true,
                        origins: Vec::new(),
                        loc,
                    },
                };
                cx.bind(&p.name, Binding::Value(value));
            } else {
                let slot = cx.alloc_slot();
                cx.bind(
                    &p.name,
                    Binding::Local {
                        slot,
                        ty: p.ty.clone(),
                        origins: vec![Origin::FlowParam(i as u32)],
                        konst: None,
                        kind: super::LocalKind::Param,
                    },
                );
                runtime_params.push((p.name.clone(), p.ty.clone()));
            }
        }
        let body = match decl {
            Some(d) => {
                let b = self.block(&mut cx, &d.body.stmts);
                if sig.ret != Type::Unit && !sig.ret.is_error() && !always_returns(&d.body.stmts) {
                    self.emit(
                        sig.module,
                        codes::missing_return(d.name.span, &sig.name, &sig.ret.to_string()),
                    );
                }
                b
            }
            None => Vec::new(),
        };
        let mut name = if sig.module == 0 {
            sig.name.clone()
        } else {
            format!("{}.{}", m.name, sig.name)
        };
        if !target_names.is_empty() {
            name = format!("{name}[{}]", target_names.join(", "));
        }
        let fcx = cx.flow.take();
        let summary = Summary {
            param_sinks: fcx
                .as_ref()
                .map(|f| f.param_sinks.clone())
                .unwrap_or_default(),
            return_origins: fcx.map(|f| f.return_origins).unwrap_or_default(),
        };
        let loc = Loc::new(sig.module, decl.map(|d| d.name.span).unwrap_or_default());
        let flow = ir::Flow {
            name,
            params: runtime_params,
            ret: sig.ret.clone(),
            frame_size: cx.max_slot,
            body,
            loc,
            in_plan: false,
        };
        (flow, summary)
    }
}
