//! The order of checking: the entry file's items (params first, so plan indices follow
//! source order), imported files' items (to report their errors), `--param` names,
//! setup, scenarios and their `after(..)` graph, teardown, thresholds, fleet; then the
//! flows that are reachable become the plan's flows and calls are renumbered.

use super::items::ItemState;
use super::{fleet, passes, thresholds, Checker};
use crate::ir::ModuleId;
use crate::types::Type;
use volley_syntax::ast::ItemKind;

impl<'a> Checker<'a> {
    pub(crate) fn run(&mut self) {
        self.check_module_items(0);
        let left: Vec<String> = std::mem::take(&mut self.param_overrides)
            .into_keys()
            .collect();
        let entry = self.module(0);
        for d in passes::params::unknown(&entry, &left) {
            self.emit(0, d);
        }
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
        let graph: Vec<passes::after_graph::Node> = checked
            .iter()
            .map(|c| passes::after_graph::Node {
                name: c.name.clone(),
                after: c.after,
            })
            .collect();
        for d in passes::after_graph::cycles(&graph) {
            self.emit(0, d);
        }
        self.prog.scenarios = checked.into_iter().filter_map(|c| c.scenario).collect();
        self.check_teardown();
        self.prog.thresholds = thresholds::ThresholdPass::run(self);
        if let Some(out) = fleet::FleetPass::run(self) {
            self.prog.fleet = out.fleet;
            self.prog.fleet_fields = out.fields;
            self.prog.fleet_loc = Some(out.loc);
        }
        passes::link::keep_reachable_flows(&mut self.prog, &self.instances.entry);
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
                            self.instances.entry.push(index);
                        }
                    }
                }
            }
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
