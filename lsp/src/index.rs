//! The names of one file, from its AST: every definition (items, flow and fn
//! parameters, `let`, `var` and loop variables) with where it is visible, and every use
//! of a name resolved to a definition of the file, an item of an imported module, an
//! imported module, a namespace (`vu`, `setup`) or a built-in. It follows the
//! compiler's scoping (items are visible in the whole file, a local from its statement
//! to the end of its block) and needs no type: it works on any file that parses.

use volley_syntax::ast::{
    self, Block, Expr, ExprKind, ImportPath, ItemKind, ScenarioMember, Span, Stmt, StmtChild,
    StmtKind, ThresholdItem,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefKind {
    Param,
    Target,
    Data,
    Secret,
    Metric,
    Let,
    Fn,
    Flow,
    Scenario,
    Parameter,
    Local,
    Var,
    LoopVar,
}

impl DefKind {
    pub fn word(self) -> &'static str {
        match self {
            DefKind::Param => "param",
            DefKind::Target => "target",
            DefKind::Data => "data",
            DefKind::Secret => "secret",
            DefKind::Metric => "metric",
            DefKind::Let | DefKind::Local => "let",
            DefKind::Fn => "fn",
            DefKind::Flow => "flow",
            DefKind::Scenario => "scenario",
            DefKind::Parameter => "parameter",
            DefKind::Var => "var",
            DefKind::LoopVar => "loop variable",
        }
    }
}

/// A module an import names: a standard one (`std/checks`) or a file, as written
/// (relative to the importing file's directory).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ModRef {
    Std(String),
    File(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// A definition of this file (index into `Index::defs`).
    Def(usize),
    /// An item of an imported module.
    Item(ModRef, String),
    Module(ModRef),
    /// `vu`, `test`, `runner`, `scenario`, `setup`.
    Namespace(String),
    /// A built-in function, workload or metric.
    Builtin(String),
}

#[derive(Clone, Debug)]
pub struct Def {
    pub name: String,
    pub kind: DefKind,
    /// The name.
    pub span: Span,
    /// The whole declaration.
    pub full: Span,
    /// Where it can be used; `None` for an item (the whole file).
    pub visible: Option<Span>,
    /// The enclosing item's definition (for document symbols).
    pub parent: Option<usize>,
    /// The value it is bound to (its type is the definition's).
    pub value: Option<Span>,
    /// The type written in the declaration (`int`, `{email: string}`).
    pub declared: Option<Span>,
}

#[derive(Clone, Debug)]
pub struct Ref {
    pub span: Span,
    pub target: Target,
}

/// A block-like item without a name (`setup`, `thresholds`, `fleet`), for symbols.
#[derive(Clone, Debug)]
pub struct Section {
    pub word: &'static str,
    pub full: Span,
}

#[derive(Clone, Debug, Default)]
pub struct Index {
    pub defs: Vec<Def>,
    pub refs: Vec<Ref>,
    pub sections: Vec<Section>,
    /// The names imports bring into scope and what each stands for.
    pub imported: Vec<(String, Target)>,
    /// The top-level `let`s of `setup` (read as `setup.NAME`).
    pub setup_values: Vec<usize>,
}

/// What is at an offset: a definition's name or a use.
#[derive(Clone, Debug)]
pub enum Occurrence {
    Def(usize),
    Ref(usize),
}

const NAMESPACES: &[&str] = &["vu", "test", "runner", "scenario", "setup"];

impl Index {
    pub fn build(file: &ast::File) -> Index {
        let mut b = Builder::default();
        b.items(file);
        let mut idx = b.idx;
        idx.imported = b.imported;
        idx.setup_values = b.setup_values.iter().map(|(_, i)| *i).collect();
        idx.refs.sort_by_key(|r| (r.span.start, r.span.end));
        idx
    }

    /// The definition or use whose name covers `offset` (its end included, for a
    /// cursor just after a name).
    pub fn at(&self, offset: usize) -> Option<Occurrence> {
        let hit = |s: Span| s.start <= offset && offset <= s.end;
        if let Some(i) = self.refs.iter().position(|r| hit(r.span)) {
            return Some(Occurrence::Ref(i));
        }
        self.defs
            .iter()
            .position(|d| hit(d.span))
            .map(Occurrence::Def)
    }

    /// The top-level definition called `name`.
    pub fn item(&self, name: &str) -> Option<usize> {
        self.defs
            .iter()
            .position(|d| d.visible.is_none() && d.parent.is_none() && d.name == name)
    }

    /// The definitions visible at `offset`: items, and locals whose scope holds it.
    pub fn visible_at(&self, offset: usize) -> Vec<usize> {
        (0..self.defs.len())
            .filter(|&i| match self.defs[i].visible {
                None => self.defs[i].kind != DefKind::Scenario,
                Some(v) => v.start <= offset && offset <= v.end,
            })
            .collect()
    }
}

#[derive(Default)]
struct Builder {
    idx: Index,
    scopes: Vec<Vec<(String, usize)>>,
    /// Value items of the file.
    globals: Vec<(String, usize)>,
    scenarios: Vec<(String, usize)>,
    /// Names imported: `import m { a }` and `import m`.
    imported: Vec<(String, Target)>,
    /// The top-level `let`s of `setup`, read as `setup.NAME`.
    setup_values: Vec<(String, usize)>,
    /// The item being walked.
    parent: Option<usize>,
    /// Collecting setup's top-level lets.
    in_setup: bool,
}

fn last_segment(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.strip_suffix(".load").unwrap_or(file).to_string()
}

impl Builder {
    fn def(&mut self, d: Def) -> usize {
        self.idx.defs.push(d);
        self.idx.defs.len() - 1
    }

    fn item_def(&mut self, name: &ast::Ident, kind: DefKind, full: Span) -> usize {
        self.def(Def {
            name: name.name.clone(),
            kind,
            span: name.span,
            full,
            visible: None,
            parent: None,
            value: None,
            declared: None,
        })
    }

    fn items(&mut self, file: &ast::File) {
        // Pass 1: what the file declares and imports (order does not matter in a file).
        for item in &file.items {
            let full = item.span;
            let (name, kind, value, declared) = match &item.kind {
                ItemKind::Import(imp) => {
                    self.import(imp);
                    continue;
                }
                ItemKind::Param { name, ty, default } => {
                    (name, DefKind::Param, Some(default.span), Some(ty.span))
                }
                ItemKind::Target { name, url } => (name, DefKind::Target, Some(url.span), None),
                ItemKind::Data { name, source } => (name, DefKind::Data, Some(source.span), None),
                ItemKind::Secret { name, source } => {
                    (name, DefKind::Secret, Some(source.span), None)
                }
                ItemKind::Metric { name, kind } => (name, DefKind::Metric, Some(kind.span), None),
                ItemKind::Let { name, value } => (name, DefKind::Let, Some(value.span), None),
                ItemKind::Fn(f) => (
                    &f.name,
                    DefKind::Fn,
                    Some(f.body.span),
                    f.ret.as_ref().map(|t| t.span),
                ),
                ItemKind::Flow(f) => (&f.name, DefKind::Flow, None, f.ret.as_ref().map(|t| t.span)),
                ItemKind::Scenario { name, .. } => (name, DefKind::Scenario, None, None),
                ItemKind::Setup(_) => {
                    self.idx.sections.push(Section {
                        word: "setup",
                        full,
                    });
                    continue;
                }
                ItemKind::Teardown(_) => {
                    self.idx.sections.push(Section {
                        word: "teardown",
                        full,
                    });
                    continue;
                }
                ItemKind::Thresholds(_) => {
                    self.idx.sections.push(Section {
                        word: "thresholds",
                        full,
                    });
                    continue;
                }
                ItemKind::Fleet(_) => {
                    self.idx.sections.push(Section {
                        word: "fleet",
                        full,
                    });
                    continue;
                }
            };
            let i = self.item_def(name, kind, full);
            self.idx.defs[i].value = value;
            self.idx.defs[i].declared = declared;
            if kind == DefKind::Scenario {
                self.scenarios.push((name.name.clone(), i));
            } else {
                self.globals.push((name.name.clone(), i));
            }
        }
        // Setup first: `setup.NAME` elsewhere reads its top-level lets.
        for item in &file.items {
            if let ItemKind::Setup(block) = &item.kind {
                self.parent = None;
                self.in_setup = true;
                self.block(block);
                self.in_setup = false;
            }
        }
        for item in &file.items {
            self.parent = self.idx.defs.iter().position(|d| d.full == item.span);
            self.item(item);
        }
        self.parent = None;
    }

    fn import(&mut self, imp: &ast::Import) {
        let (module, span) = match &imp.path {
            ImportPath::Module(segs) => {
                let path: Vec<&str> = segs.iter().map(|s| s.name.as_str()).collect();
                let span = match (segs.first(), segs.last()) {
                    (Some(a), Some(b)) => a.span.to(b.span),
                    _ => Span::default(),
                };
                match path.as_slice() {
                    ["std", name] => (ModRef::Std((*name).to_string()), span),
                    _ => (ModRef::File(format!("{}.load", path.join("/"))), span),
                }
            }
            ImportPath::File { path, span } => (ModRef::File(path.clone()), *span),
        };
        self.idx.refs.push(Ref {
            span,
            target: Target::Module(module.clone()),
        });
        match &imp.names {
            Some(names) => {
                for n in names {
                    let t = Target::Item(module.clone(), n.name.clone());
                    self.idx.refs.push(Ref {
                        span: n.span,
                        target: t.clone(),
                    });
                    self.imported.push((n.name.clone(), t));
                }
            }
            None => {
                let local = match &module {
                    ModRef::Std(n) => n.clone(),
                    ModRef::File(p) => last_segment(p),
                };
                self.imported.push((local, Target::Module(module)));
            }
        }
    }

    fn resolve(&self, name: &str) -> Option<Target> {
        for scope in self.scopes.iter().rev() {
            if let Some((_, i)) = scope.iter().rev().find(|(n, _)| n == name) {
                return Some(Target::Def(*i));
            }
        }
        if let Some((_, i)) = self.globals.iter().find(|(n, _)| n == name) {
            return Some(Target::Def(*i));
        }
        if let Some((_, t)) = self.imported.iter().find(|(n, _)| n == name) {
            return Some(t.clone());
        }
        if let Some((_, i)) = self.scenarios.iter().find(|(n, _)| n == name) {
            return Some(Target::Def(*i));
        }
        if NAMESPACES.contains(&name) {
            return Some(Target::Namespace(name.to_string()));
        }
        if crate::vocab::is_builtin(name) {
            return Some(Target::Builtin(name.to_string()));
        }
        None
    }

    fn use_name(&mut self, id: &ast::Ident) {
        if let Some(target) = self.resolve(&id.name) {
            self.idx.refs.push(Ref {
                span: id.span,
                target,
            });
        }
    }

    fn bind(&mut self, name: &ast::Ident, kind: DefKind, full: Span, visible: Span) -> usize {
        let i = self.def(Def {
            name: name.name.clone(),
            kind,
            span: name.span,
            full,
            visible: Some(visible),
            parent: self.parent,
            value: None,
            declared: None,
        });
        if let Some(s) = self.scopes.last_mut() {
            s.push((name.name.clone(), i));
        }
        i
    }

    fn params(&mut self, params: &[ast::ParamDecl], visible: Span) {
        for p in params {
            if let Some(d) = &p.default {
                self.expr(d);
            }
            let i = self.bind(&p.name, DefKind::Parameter, p.span, visible);
            self.idx.defs[i].declared = Some(p.ty.span);
        }
    }

    fn item(&mut self, item: &ast::Item) {
        match &item.kind {
            ItemKind::Import(_) | ItemKind::Setup(_) => {}
            ItemKind::Param { default: e, .. }
            | ItemKind::Target { url: e, .. }
            | ItemKind::Data { source: e, .. }
            | ItemKind::Secret { source: e, .. }
            | ItemKind::Metric { kind: e, .. }
            | ItemKind::Let { value: e, .. } => self.expr(e),
            ItemKind::Fn(f) => {
                self.scopes.push(Vec::new());
                self.params(&f.params, item.span);
                self.expr(&f.body);
                self.scopes.pop();
            }
            ItemKind::Flow(f) => {
                self.scopes.push(Vec::new());
                self.params(&f.params, item.span);
                self.block(&f.body);
                self.scopes.pop();
            }
            ItemKind::Scenario { members, .. } => {
                self.scopes.push(Vec::new());
                for m in members {
                    match m {
                        ScenarioMember::Field(f) => self.expr(&f.value),
                        ScenarioMember::Let(s) => self.stmt(s, item.span.end),
                        ScenarioMember::Iteration(b) => self.block(b),
                    }
                }
                self.scopes.pop();
            }
            ItemKind::Teardown(b) => self.block(b),
            ItemKind::Thresholds(entries) => {
                for e in entries {
                    self.use_name(&e.metric);
                    for f in &e.filter {
                        self.expr(&f.value);
                    }
                    for c in &e.conditions {
                        match c {
                            ThresholdItem::Condition(x) => self.expr(x),
                            ThresholdItem::Flag { value, .. } => {
                                if let Some(v) = value {
                                    self.expr(v);
                                }
                            }
                        }
                    }
                }
            }
            ItemKind::Fleet(fields) => {
                for f in fields {
                    self.expr(&f.value);
                }
            }
        }
    }

    fn block(&mut self, b: &Block) {
        let top = self.in_setup && self.scopes.is_empty();
        self.scopes.push(Vec::new());
        for s in &b.stmts {
            let before = self.idx.defs.len();
            self.stmt(s, b.span.end);
            if top {
                if let StmtKind::Let { name, .. } = &s.kind {
                    if let Some(i) = (before..self.idx.defs.len())
                        .rev()
                        .find(|&i| self.idx.defs[i].span == name.span)
                    {
                        self.setup_values.push((name.name.clone(), i));
                    }
                }
            }
        }
        self.scopes.pop();
    }

    fn stmt(&mut self, s: &Stmt, end: usize) {
        let after = Span::new(s.span.end, end);
        match &s.kind {
            StmtKind::Let { name, value } | StmtKind::Var { name, value } => {
                self.expr(value);
                let kind = if matches!(s.kind, StmtKind::Var { .. }) {
                    DefKind::Var
                } else {
                    DefKind::Local
                };
                let i = self.bind(name, kind, s.span, after);
                self.idx.defs[i].value = Some(value.span);
            }
            StmtKind::Assign { name, value, .. } => {
                self.use_name(name);
                self.expr(value);
            }
            StmtKind::For { var, over, body } => {
                self.expr(over);
                self.scopes.push(Vec::new());
                self.bind(var, DefKind::LoopVar, var.span, body.span);
                self.block(body);
                self.scopes.pop();
            }
            _ => {
                for c in s.children() {
                    match c {
                        StmtChild::Expr(e) => self.expr(e),
                        StmtChild::Block(b) => self.block(b),
                    }
                }
            }
        }
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Name(id) => self.use_name(id),
            ExprKind::Field { base, field } => {
                self.expr(base);
                if let ExprKind::Name(id) = &base.kind {
                    match self.resolve(&id.name) {
                        Some(Target::Module(m)) => self.idx.refs.push(Ref {
                            span: field.span,
                            target: Target::Item(m, field.name.clone()),
                        }),
                        Some(Target::Namespace(ns)) if ns == "setup" => {
                            if let Some((_, i)) =
                                self.setup_values.iter().find(|(n, _)| *n == field.name)
                            {
                                self.idx.refs.push(Ref {
                                    span: field.span,
                                    target: Target::Def(*i),
                                });
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {
                for c in e.children() {
                    self.expr(c);
                }
            }
        }
    }
}
