//! The order of checking: the entry file's items (params first, so plan indices follow
//! source order), imported files' items (to report their errors), `--param` names,
//! setup, scenarios and their `after(..)` graph, teardown, thresholds, fleet; then the
//! flows that are reachable become the plan's flows and calls are renumbered.

use super::items::ItemState;
use super::Checker;
use crate::codes;
use crate::ir::{self, ExprKind, ModuleId};
use crate::suggest::did_you_mean;
use crate::types::Type;
use volley_syntax::ast::{ItemKind, Span};

impl<'a> Checker<'a> {
    pub(crate) fn run(&mut self) {
        self.check_module_items(0);
        self.report_unknown_params();
        for i in 1..self.modules.len() {
            if !self.modules[i].is_std {
                self.check_module_items(i as ModuleId);
            }
        }
        self.ensure_setup();
        let m = self.module(0);
        let order: Vec<usize> = m
            .items()
            .iter()
            .enumerate()
            .filter(|(i, it)| matches!(&it.kind, ItemKind::Scenario { name, .. } if m.scenarios.get(&name.name) == Some(i)))
            .map(|(i, _)| i)
            .collect();
        let names: Vec<String> = order
            .iter()
            .filter_map(|i| match m.item(*i).map(|it| &it.kind) {
                Some(ItemKind::Scenario { name, .. }) => Some(name.name.clone()),
                _ => None,
            })
            .collect();
        let checked: Vec<_> = order
            .iter()
            .map(|i| self.check_scenario(*i, &names))
            .collect();
        self.check_after_cycles(&checked);
        self.prog.scenarios = checked.into_iter().filter_map(|c| c.scenario).collect();
        self.check_teardown();
        self.check_thresholds();
        self.check_fleet();
        self.finish_flows();
    }

    fn check_module_items(&mut self, module: ModuleId) {
        let m = self.module(module);
        let items = m.items();
        let kind_order = |k: &ItemKind| match k {
            ItemKind::Param { .. } => 0,
            ItemKind::Target { .. }
            | ItemKind::Secret { .. }
            | ItemKind::Data { .. }
            | ItemKind::Metric { .. } => 1,
            ItemKind::Let { .. } | ItemKind::Fn(_) => 2,
            ItemKind::Flow(_) => 3,
            _ => 4,
        };
        for pass in 0..4 {
            for (i, item) in items.iter().enumerate() {
                if kind_order(&item.kind) != pass {
                    continue;
                }
                // Only the first of duplicated names is an item.
                let is_item = crate::modules::item_name(item)
                    .is_some_and(|n| m.values.get(&n.name) == Some(&i));
                if !is_item {
                    continue;
                }
                let state = self.ensure_item(module, i);
                if let ItemState::Flow(sig) = state {
                    let targets: Vec<Option<u32>> = sig
                        .params
                        .iter()
                        .filter(|p| p.ty == Type::Target)
                        .map(|_| None)
                        .collect();
                    if let Some((index, _)) = self.flow_instance(&sig, targets.clone()) {
                        if module == 0 && targets.is_empty() {
                            self.entry_flows.push(index);
                        }
                    }
                }
            }
        }
    }

    fn report_unknown_params(&mut self) {
        let left: Vec<(String, String)> = std::mem::take(&mut self.param_overrides)
            .into_iter()
            .collect();
        if left.is_empty() {
            return;
        }
        let m = self.module(0);
        let declared: Vec<String> = m
            .values
            .iter()
            .filter(|(_, i)| matches!(m.item(**i).map(|it| &it.kind), Some(ItemKind::Param { .. })))
            .map(|(n, _)| n.clone())
            .collect();
        let refs: Vec<&str> = declared.iter().map(String::as_str).collect();
        for (k, _) in left {
            let s = did_you_mean(&k, refs.iter().copied());
            self.emit(0, codes::unknown_param(Span::new(0, 0), &k, &s, &refs));
        }
    }

    /// Keeps the flow instances the plan needs (entry-file flows and every flow called
    /// from code that runs) and renumbers calls.
    fn finish_flows(&mut self) {
        let n = self.prog.flows.len();
        let mut used = vec![false; n];
        let mut stack: Vec<u32> = self.entry_flows.clone();
        let mut roots: Vec<&[ir::Stmt]> = Vec::new();
        for s in &self.prog.scenarios {
            roots.push(&s.init);
            roots.push(&s.iteration);
        }
        if let Some(b) = &self.prog.setup {
            roots.push(&b.body);
        }
        if let Some(b) = &self.prog.teardown {
            roots.push(&b.body);
        }
        for body in roots {
            ir::walk_body_exprs(body, &mut |e| {
                if let ExprKind::CallFlow { flow, .. } = e.kind {
                    stack.push(flow);
                }
            });
        }
        while let Some(f) = stack.pop() {
            let Some(slot) = used.get_mut(f as usize) else {
                continue;
            };
            if *slot {
                continue;
            }
            *slot = true;
            ir::walk_body_exprs(&self.prog.flows[f as usize].body, &mut |e| {
                if let ExprKind::CallFlow { flow, .. } = e.kind {
                    stack.push(flow);
                }
            });
        }
        let mut map = vec![None; n];
        let mut next = 0u32;
        for (i, u) in used.iter().enumerate() {
            if *u {
                map[i] = Some(next);
                next += 1;
            }
        }
        let mut remap = |e: &mut ir::Expr| {
            if let ExprKind::CallFlow { flow, .. } = &mut e.kind {
                *flow = map
                    .get(*flow as usize)
                    .copied()
                    .flatten()
                    .unwrap_or(u32::MAX);
            }
        };
        let flows = std::mem::take(&mut self.prog.flows);
        let mut kept = Vec::new();
        for (i, mut f) in flows.into_iter().enumerate() {
            if used[i] {
                ir::walk_body_exprs_mut(&mut f.body, &mut remap);
                f.in_plan = true;
                kept.push(f);
            }
        }
        self.prog.flows = kept;
        for s in &mut self.prog.scenarios {
            ir::walk_body_exprs_mut(&mut s.init, &mut remap);
            ir::walk_body_exprs_mut(&mut s.iteration, &mut remap);
        }
        if let Some(b) = &mut self.prog.setup {
            ir::walk_body_exprs_mut(&mut b.body, &mut remap);
        }
        if let Some(b) = &mut self.prog.teardown {
            ir::walk_body_exprs_mut(&mut b.body, &mut remap);
        }
    }
}

#[cfg(test)]
impl<'a> Checker<'a> {
    /// Checks every item of every module, the standard library included (tests).
    pub(crate) fn check_all_modules(&mut self) {
        for i in 0..self.modules.len() {
            self.check_module_items(i as ModuleId);
        }
    }
}
