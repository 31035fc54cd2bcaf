//! The checker: from the modules' ASTs to the typed IR, collecting every error.
//!
//! Items are checked on demand and memoised (so they may appear in any order and refer
//! to each other across modules); an item found "in progress" while it is being checked
//! is a recursion. Every expression becomes an `ir::Expr` with its type, its constant
//! value when known and its origins. An error produces an `Error`-typed node that is
//! assignable everywhere, so one mistake gives one diagnostic. While a body is re-checked
//! for another purpose (a flow expanded in place, a second instance of a flow)
//! diagnostics are silenced. A `fn` is typed once; its calls are evaluated by the
//! `Evaluator` (`eval.rs`) on that typed body, never re-checked. No IO happens here
//! except through the `SourceLoader` for data files.

mod args;
mod call;
mod cookies;
mod data_item;
mod dns;
mod driver;
mod env;
mod eval;
mod expr;
mod fleet;
mod grpc;
mod index;
mod instances;
mod items;
mod methods;
mod multipart;
mod ops;
mod passes;
mod proxy;
mod report;
mod request;
mod scenario;
mod sigs;
mod stmt;
mod tags;
mod taint;
pub(crate) mod thresholds;
mod tls;
mod vars;
pub(crate) mod vocab;
mod workload;
mod ws;

use crate::codes::Sink;
use crate::ir::{self, Const, Expr, ExprKind, Loc, ModuleId, Origin};
use crate::modules::{Imported, Module};
use crate::types::Type;
use crate::{CompileOptions, SourceLoader};
use std::collections::BTreeMap;
use std::rc::Rc;
use volley_syntax::ast::{self, Span};
use volley_syntax::Diagnostic;

pub(crate) use items::ItemState;

/// Where code runs, which decides what it may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Compile time only: top-level lets, params, fn bodies, workloads, fleet, thresholds.
    Const,
    Flow,
    Scenario,
    Setup,
    Teardown,
}

/// What a name in scope stands for.
#[derive(Clone, Debug)]
pub(crate) enum Binding {
    /// A frame slot.
    Local {
        slot: u32,
        ty: Type,
        origins: Vec<Origin>,
        konst: Option<Const>,
        kind: LocalKind,
    },
    /// An expression substituted at each use: a fn parameter's placeholder (while the
    /// body is typed), a flow's `target` parameter, an argument of a flow expanded in
    /// place.
    Value(Expr),
}

/// How a local slot was bound, which decides whether it may be assigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LocalKind {
    /// `let NAME`, with the name's span (for the fix-it of an assignment).
    Let(Span),
    /// `var NAME`: the only kind an assignment may change.
    Var,
    /// The variable of a `for`.
    Loop,
    /// A flow's run-time parameter.
    Param,
}

/// The first place a flow parameter reaches a sink, for reporting secrets at call sites.
#[derive(Clone, Debug)]
pub(crate) struct SinkInfo {
    pub sink: Sink,
    pub via: String,
}

/// State of the flow whose body is being checked.
#[derive(Clone, Debug)]
pub(crate) struct FlowCx {
    pub name: String,
    pub ret: Type,
    pub param_names: Vec<String>,
    pub param_sinks: Vec<Option<SinkInfo>>,
    pub return_origins: Vec<Origin>,
}

/// The checking context of one body of code.
pub(crate) struct Ctx {
    pub module: ModuleId,
    pub mode: Mode,
    pub scopes: Vec<Vec<(String, Binding)>>,
    pub next_slot: u32,
    pub max_slot: u32,
    pub flow: Option<FlowCx>,
    /// Set while checking a `fn` body (its name).
    pub in_fn: Option<String>,
    /// How many loops (`for`, `while`, `repeat`) enclose the statement being checked.
    pub loops: u32,
}

impl Ctx {
    pub fn new(module: ModuleId, mode: Mode) -> Self {
        Ctx {
            module,
            mode,
            scopes: vec![Vec::new()],
            next_slot: 0,
            max_slot: 0,
            flow: None,
            in_fn: None,
            loops: 0,
        }
    }

    pub fn loc(&self, span: Span) -> Loc {
        Loc::new(self.module, span)
    }

    pub fn lookup(&self, name: &str) -> Option<&Binding> {
        self.scopes
            .iter()
            .rev()
            .find_map(|s| s.iter().rev().find(|(n, _)| n == name).map(|(_, b)| b))
    }

    /// The innermost binding of `name`, to update (an assigned var's origins).
    pub fn lookup_mut(&mut self, name: &str) -> Option<&mut Binding> {
        self.scopes
            .iter_mut()
            .rev()
            .find_map(|s| s.iter_mut().rev().find(|(n, _)| n == name).map(|(_, b)| b))
    }

    /// The origins a local slot's binding has gathered (a var's, after its assignments).
    pub fn slot_origins(&self, slot: u32) -> Option<&Vec<Origin>> {
        self.scopes.iter().flatten().find_map(|(_, b)| match b {
            Binding::Local {
                slot: s, origins, ..
            } if *s == slot => Some(origins),
            _ => None,
        })
    }

    pub fn bind(&mut self, name: &str, b: Binding) {
        if let Some(s) = self.scopes.last_mut() {
            s.push((name.to_string(), b));
        }
    }

    pub fn alloc_slot(&mut self) -> u32 {
        let s = self.next_slot;
        self.next_slot += 1;
        self.max_slot = self.max_slot.max(self.next_slot);
        s
    }

    pub fn push_scope(&mut self) {
        self.scopes.push(Vec::new());
    }

    pub fn pop_scope(&mut self) {
        self.scopes.pop();
    }

    pub fn names_in_scope(&self) -> Vec<String> {
        self.scopes
            .iter()
            .flat_map(|s| s.iter().map(|(n, _)| n.clone()))
            .collect()
    }
}

/// What a name resolves to outside local bindings.
#[derive(Clone, Debug)]
pub(crate) enum Resolved {
    Binding(Binding),
    Item(ModuleId, usize),
    Module(ModuleId),
    /// `vu`, `test`, `runner`, `scenario`, `setup`
    Namespace(&'static str),
    /// A failed import: already reported.
    Broken,
    Unknown,
}

pub(crate) const NAMESPACES: &[&str] = &["vu", "test", "runner", "scenario", "setup", "grpc"];

pub(crate) struct Checker<'a> {
    pub modules: Vec<Rc<Module>>,
    pub loader: &'a dyn SourceLoader,
    /// The diagnostics reported so far, and the silence of re-checks.
    pub reports: report::Reports,
    /// Compile-time evaluation of `fn` calls, over the typed `fn` bodies.
    pub eval: eval::Evaluator,
    pub items: BTreeMap<(ModuleId, usize), ItemState>,
    /// The flow instances checked so far, and which flows reported their body's errors.
    pub instances: instances::Instances,
    pub prog: ir::Program,
    /// Setup's values (name, type, origins) once setup was checked.
    pub setup_values: Vec<(String, Type, Vec<Origin>)>,
    pub setup_state: SetupState,
    /// The setup block had errors: unknown setup values are not reported again.
    pub setup_failed: bool,
    /// Overrides given with `--param`, consumed as entry params are checked.
    pub param_overrides: BTreeMap<String, String>,
    /// The type of every expression checked, when an editor asked (`crate::analyze`).
    pub type_log: Option<Vec<crate::editor::TypeAt>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SetupState {
    NotChecked,
    InProgress,
    Done,
}

impl<'a> Checker<'a> {
    pub fn new(
        modules: Vec<Rc<Module>>,
        loader: &'a dyn SourceLoader,
        opts: &'a CompileOptions,
        name: String,
    ) -> Self {
        let prog = ir::Program {
            name,
            modules: modules
                .iter()
                .map(|m| ir::Module {
                    name: m.name.clone(),
                    file: m.file.clone(),
                    is_std: m.is_std,
                    comments: m
                        .ast
                        .as_ref()
                        .map(|a| a.comments.clone())
                        .unwrap_or_default(),
                    source: m.source.clone(),
                })
                .collect(),
            params: Vec::new(),
            lets: Vec::new(),
            targets: Vec::new(),
            data: Vec::new(),
            secrets: Vec::new(),
            metrics: Vec::new(),
            flows: Vec::new(),
            setup: None,
            setup_values: Vec::new(),
            teardown: None,
            scenarios: Vec::new(),
            thresholds: Vec::new(),
            fleet: volley_plan::Fleet::default(),
            fleet_loc: None,
            fleet_fields: Vec::new(),
            files: Vec::new(),
            protos: Vec::new(),
        };
        Checker {
            modules,
            loader,
            reports: report::Reports::default(),
            eval: eval::Evaluator::default(),
            items: BTreeMap::new(),
            instances: instances::Instances::default(),
            prog,
            setup_values: Vec::new(),
            setup_state: SetupState::NotChecked,
            setup_failed: false,
            param_overrides: opts.params.iter().cloned().collect(),
            type_log: None,
        }
    }

    pub fn module(&self, id: ModuleId) -> Rc<Module> {
        self.modules[id as usize].clone()
    }

    pub fn emit(&mut self, module: ModuleId, d: Diagnostic) {
        self.reports.emit(module, d);
    }

    pub fn error_count(&self) -> usize {
        self.reports.error_count()
    }

    /// Runs `f` with diagnostics silenced; returns its result and the first silenced one.
    pub fn silently<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> (T, Option<Diagnostic>) {
        let outer = self.reports.silence();
        let out = f(self);
        let first = self.reports.end_silence(outer);
        (out, first)
    }

    /// The source text of a span of a module, whitespace collapsed (check names).
    pub fn source_text(&self, module: ModuleId, span: Span) -> String {
        self.modules[module as usize]
            .text(span)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Resolves a name: local bindings, the module's items, its imports, namespaces.
    pub fn resolve(&self, cx: &Ctx, name: &str) -> Resolved {
        if let Some(b) = cx.lookup(name) {
            return Resolved::Binding(b.clone());
        }
        self.resolve_global(cx.module, name)
    }

    pub fn resolve_global(&self, module: ModuleId, name: &str) -> Resolved {
        let m = &self.modules[module as usize];
        if let Some(i) = m.values.get(name) {
            return Resolved::Item(module, *i);
        }
        if let Some((imp, _)) = m.imports.get(name) {
            return match imp {
                Imported::Module(id) => Resolved::Module(*id),
                Imported::Item(id, item) => match self.modules[*id as usize].values.get(item) {
                    Some(i) => Resolved::Item(*id, *i),
                    None => Resolved::Broken,
                },
                Imported::Broken => Resolved::Broken,
            };
        }
        if let Some(ns) = NAMESPACES.iter().find(|n| **n == name) {
            return Resolved::Namespace(ns);
        }
        Resolved::Unknown
    }

    /// The item an expression names directly: `users` or `lib.users` (with its text).
    pub fn item_path(&self, cx: &Ctx, e: &ast::Expr) -> Option<(ModuleId, usize, String)> {
        match &e.kind {
            ast::ExprKind::Name(id) => match self.resolve(cx, &id.name) {
                Resolved::Item(m, i) => Some((m, i, id.name.clone())),
                _ => None,
            },
            ast::ExprKind::Field { base, field } => match &base.kind {
                ast::ExprKind::Name(b) => match self.resolve(cx, &b.name) {
                    Resolved::Module(m) => self.modules[m as usize]
                        .values
                        .get(&field.name)
                        .map(|i| (m, *i, format!("{}.{}", b.name, field.name))),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        }
    }

    /// Every name visible from `cx`, for suggestions.
    pub fn scope_names(&self, cx: &Ctx) -> Vec<String> {
        let m = &self.modules[cx.module as usize];
        let mut names = cx.names_in_scope();
        names.extend(m.values.keys().cloned());
        names.extend(m.imports.keys().cloned());
        names.extend(NAMESPACES.iter().map(|s| s.to_string()));
        names.sort();
        names.dedup();
        names
    }

    // ---- expression constructors ----

    pub fn error_expr(&self, loc: Loc) -> Expr {
        Expr {
            kind: ExprKind::Error,
            ty: Type::Error,
            konst: None,
            comptime: true,
            origins: Vec::new(),
            loc,
        }
    }

    pub fn const_expr(&self, c: Const, ty: Type, origins: Vec<Origin>, loc: Loc) -> Expr {
        Expr {
            kind: ExprKind::Const,
            ty,
            konst: Some(c),
            comptime: true,
            origins,
            loc,
        }
    }

    /// `e` with its value folded from its children's (`Evaluator::fold`: the folding
    /// rules live in the evaluator). A folding error (E0704) is reported at `e`.
    pub fn folded(&mut self, cx: &Ctx, mut e: Expr) -> Expr {
        match self.eval.fold(&e) {
            Ok(k) => {
                e.konst = k;
                e
            }
            Err(d) => {
                self.emit(cx.module, *d);
                self.error_expr(e.loc)
            }
        }
    }

    /// Reports an error at `span` of the context's module and returns an error node.
    pub fn fail(&mut self, cx: &Ctx, d: Diagnostic, span: Span) -> Expr {
        self.emit(cx.module, d);
        self.error_expr(cx.loc(span))
    }

    // ---- taint ----

    /// Reports a secret reaching `sink`, and records flow parameters reaching it.
    pub fn sink(&mut self, cx: &mut Ctx, e: &Expr, sink: Sink) -> bool {
        let leak = taint::leak(e, sink, &self.prog.secrets);
        taint::record_param_sinks(cx.flow.as_mut(), e, sink);
        let reported = leak.is_some();
        if let Some((module, d)) = leak {
            self.emit(module, d);
        }
        reported
    }

    /// In a compile-time position: reports the first run-time part of `e` (E0703, or
    /// E0508 for a secret). Returns whether `e` is usable as a constant.
    pub fn require_const(&mut self, cx: &Ctx, e: &Expr, what: &str, help: &str) -> bool {
        if e.comptime {
            return true;
        }
        let culprit = runtime_culprit(e);
        let d = match &culprit.kind {
            ExprKind::Secret(s) => {
                let name = self
                    .prog
                    .secrets
                    .get(*s as usize)
                    .map(|x| x.name.clone())
                    .unwrap_or_default();
                crate::codes::secret_at_compile_time(culprit.loc.span, &name)
            }
            _ => crate::codes::not_constant(culprit.loc.span, what, help),
        };
        let module = if culprit.loc.module == cx.module {
            cx.module
        } else {
            culprit.loc.module
        };
        self.emit(module, d);
        false
    }
}

/// The deepest sub-expression that makes `e` a run-time value.
pub(crate) fn runtime_culprit(e: &Expr) -> &Expr {
    let mut found = e;
    let mut children: Vec<&Expr> = Vec::new();
    match &e.kind {
        ExprKind::Field(b, _) | ExprKind::Unary(_, b) => children.push(b),
        ExprKind::Binary(_, a, b) | ExprKind::Stage(a, b) | ExprKind::Range(a, b) => {
            children.push(a);
            children.push(b);
        }
        ExprKind::Concat(xs) | ExprKind::List(xs) | ExprKind::Intrinsic(_, xs) => {
            children.extend(xs.iter())
        }
        ExprKind::FnCall { args, .. } => children.extend(args.iter()),
        ExprKind::Record(fs) => children.extend(fs.iter().map(|(_, x)| x)),
        _ => {}
    }
    if let Some(c) = children.into_iter().find(|c| !c.comptime) {
        found = runtime_culprit(c);
    }
    found
}
