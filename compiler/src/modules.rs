//! Loading the entry file, its imports and the embedded standard library into modules,
//! each with its parsed AST and its namespaces (value items, scenarios, imports).
//!
//! Files are read only through the `SourceLoader`; the standard library is compiled in
//! with `include_str!`. Duplicate names, unknown modules and unknown imported names are
//! reported here; nothing is type-checked.

use crate::codes;
use crate::ir::ModuleId;
use crate::suggest::did_you_mean;
use crate::SourceLoader;
use std::collections::BTreeMap;
use std::rc::Rc;
use volley_syntax::ast::{self, ImportPath, ItemKind, Span};
use volley_syntax::Diagnostic;

/// The standard library, embedded: (module name, source).
pub const STD: &[(&str, &str)] = &[
    ("profiles", include_str!("../../stdlib/std/profiles.load")),
    ("checks", include_str!("../../stdlib/std/checks.load")),
    ("data", include_str!("../../stdlib/std/data.load")),
    ("auth", include_str!("../../stdlib/std/auth.load")),
    ("encoding", include_str!("../../stdlib/std/encoding.load")),
    ("crypto", include_str!("../../stdlib/std/crypto.load")),
    ("time", include_str!("../../stdlib/std/time.load")),
];

/// The items of each standard module, for "add `import std/checks { ok }`" hints (a
/// test checks this list against the sources).
pub const STD_ITEMS: &[(&str, &[&str])] = &[
    (
        "profiles",
        &["smoke", "load", "stress", "spike", "soak", "breakpoint"],
    ),
    ("checks", &["ok", "created", "json_ok", "fast"]),
    (
        "data",
        &[
            "uuid",
            "random_email",
            "random_int",
            "random_string",
            "pick",
        ],
    ),
    ("auth", &["bearer", "bearer_login", "client_credentials"]),
    (
        "encoding",
        &[
            "base64",
            "base64_decode",
            "hex",
            "hex_decode",
            "url_encode",
            "url_decode",
        ],
    ),
    ("crypto", &["sha256", "hmac_sha256"]),
    ("time", &["unix_ms", "unix", "now", "format"]),
];

/// The import that brings `name` into scope, if it is a std module or a std item.
pub fn std_import_for(name: &str) -> Option<String> {
    if STD.iter().any(|(m, _)| *m == name) {
        return Some(format!("import std/{name}"));
    }
    STD_ITEMS
        .iter()
        .find(|(_, items)| items.contains(&name))
        .map(|(m, _)| format!("import std/{m} {{ {name} }}"))
}

/// What an imported name stands for.
#[derive(Clone, Debug)]
pub enum Imported {
    Module(ModuleId),
    /// `import m { name }`: the item `name` of module `m`.
    Item(ModuleId, String),
    /// The import failed (already reported): uses are not reported again.
    Broken,
}

#[derive(Debug)]
pub struct Module {
    pub id: ModuleId,
    /// The name code uses for it: the file stem or the std module name.
    pub name: String,
    /// The file name diagnostics use (`checkout.load`, `lib/auth.load`, `std/profiles`).
    pub file: String,
    /// The directory relative paths in this file start from (`""` or `lib/`).
    pub dir: String,
    pub source: String,
    /// Shared with the loader, which may keep parses (`SourceLoader::parse`).
    pub ast: Option<Rc<ast::File>>,
    pub is_std: bool,
    /// Value-namespace items: name → index into `ast.items`.
    pub values: BTreeMap<String, usize>,
    /// Scenarios: name → index into `ast.items`.
    pub scenarios: BTreeMap<String, usize>,
    pub imports: BTreeMap<String, (Imported, Span)>,
    pub setup: Option<usize>,
    pub teardown: Option<usize>,
    pub thresholds: Vec<usize>,
    pub fleet: Option<usize>,
}

impl Module {
    pub fn items(&self) -> &[ast::Item] {
        self.ast.as_ref().map(|f| f.items.as_slice()).unwrap_or(&[])
    }

    pub fn item(&self, index: usize) -> Option<&ast::Item> {
        self.items().get(index)
    }

    /// The source text of a span (empty when out of range).
    pub fn text(&self, span: Span) -> &str {
        self.source.get(span.start..span.end).unwrap_or("")
    }
}

/// The name an item declares in the value namespace, with its span.
pub fn item_name(item: &ast::Item) -> Option<&ast::Ident> {
    match &item.kind {
        ItemKind::Param { name, .. }
        | ItemKind::Target { name, .. }
        | ItemKind::Data { name, .. }
        | ItemKind::Secret { name, .. }
        | ItemKind::Metric { name, .. }
        | ItemKind::Let { name, .. } => Some(name),
        ItemKind::Fn(f) => Some(&f.name),
        ItemKind::Flow(f) => Some(&f.name),
        _ => None,
    }
}

/// The span of a keyword-introduced block's keyword (`fleet`, `setup`, ...).
fn keyword_span(item: &ast::Item, keyword: &str) -> Span {
    Span::new(item.span.start, item.span.start + keyword.len())
}

/// Joins a relative path onto a directory and removes `.` and `..` segments.
pub fn join_path(dir: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in dir.split('/').chain(rel.split('/')) {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

fn dir_of(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => path[..=i].to_string(),
        None => String::new(),
    }
}

pub fn stem(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.strip_suffix(".load").unwrap_or(file).to_string()
}

/// The result of loading: every module (0 is the entry) and the diagnostics found.
pub struct Loaded {
    pub modules: Vec<Rc<Module>>,
    pub diagnostics: Vec<(ModuleId, Diagnostic)>,
}

/// Loads the entry file and everything it imports, breadth first in import order.
pub fn load(entry: &str, loader: &dyn SourceLoader) -> Result<Loaded, crate::LoadError> {
    let source = loader.load_source(entry)?;
    let mut st = State {
        modules: Vec::new(),
        by_key: BTreeMap::new(),
        diagnostics: Vec::new(),
    };
    st.add(
        loader,
        entry.to_string(),
        stem(entry),
        dir_of(entry),
        source,
        false,
    );
    let mut next = 0;
    while next < st.modules.len() {
        st.resolve_imports(next, loader);
        next += 1;
    }
    // Validate `import m { name }` now that every module is loaded.
    for i in 0..st.modules.len() {
        st.check_imported_names(i);
    }
    Ok(Loaded {
        modules: st.modules.into_iter().map(Rc::new).collect(),
        diagnostics: st.diagnostics,
    })
}

struct State {
    modules: Vec<Module>,
    by_key: BTreeMap<String, ModuleId>,
    diagnostics: Vec<(ModuleId, Diagnostic)>,
}

impl State {
    fn add(
        &mut self,
        loader: &dyn SourceLoader,
        file: String,
        name: String,
        dir: String,
        source: String,
        is_std: bool,
    ) -> ModuleId {
        let id = self.modules.len() as ModuleId;
        let (ast, parse_diags) = loader.parse(&file, &source);
        for d in parse_diags {
            self.diagnostics.push((id, d));
        }
        let mut m = Module {
            id,
            name,
            file: file.clone(),
            dir,
            source,
            ast,
            is_std,
            values: BTreeMap::new(),
            scenarios: BTreeMap::new(),
            imports: BTreeMap::new(),
            setup: None,
            teardown: None,
            thresholds: Vec::new(),
            fleet: None,
        };
        self.collect_names(&mut m);
        self.by_key.insert(file, id);
        self.modules.push(m);
        id
    }

    fn collect_names(&mut self, m: &mut Module) {
        let Some(file) = m.ast.clone() else {
            return;
        };
        let items = &file.items;
        let mut spans: BTreeMap<String, Span> = BTreeMap::new();
        let mut scenario_spans: BTreeMap<String, Span> = BTreeMap::new();
        for (i, item) in items.iter().enumerate() {
            if let Some(name) = item_name(item) {
                if let Some(first) = spans.get(&name.name) {
                    self.diagnostics
                        .push((m.id, codes::duplicate(name.span, &name.name, *first)));
                } else {
                    spans.insert(name.name.clone(), name.span);
                    m.values.insert(name.name.clone(), i);
                }
                continue;
            }
            let single =
                |slot: &mut Option<usize>, kw: &str, diags: &mut Vec<(ModuleId, Diagnostic)>| {
                    match slot {
                        Some(first) => {
                            let first_span = keyword_span(&items[*first], kw);
                            diags.push((
                                m.id,
                                codes::duplicate(keyword_span(item, kw), kw, first_span),
                            ));
                        }
                        None => *slot = Some(i),
                    }
                };
            match &item.kind {
                ItemKind::Scenario { name, .. } => {
                    if let Some(first) = scenario_spans.get(&name.name) {
                        self.diagnostics
                            .push((m.id, codes::duplicate(name.span, &name.name, *first)));
                    } else {
                        scenario_spans.insert(name.name.clone(), name.span);
                        m.scenarios.insert(name.name.clone(), i);
                    }
                }
                ItemKind::Setup(_) => single(&mut m.setup, "setup", &mut self.diagnostics),
                ItemKind::Teardown(_) => single(&mut m.teardown, "teardown", &mut self.diagnostics),
                ItemKind::Fleet(_) => single(&mut m.fleet, "fleet", &mut self.diagnostics),
                ItemKind::Thresholds(_) => m.thresholds.push(i),
                _ => {}
            }
        }
    }

    fn resolve_imports(&mut self, index: usize, loader: &dyn SourceLoader) {
        let (items, dir, id) = {
            let m = &self.modules[index];
            (m.ast.clone(), m.dir.clone(), m.id)
        };
        for item in items.iter().flat_map(|f| f.items.iter()) {
            let ItemKind::Import(imp) = &item.kind else {
                continue;
            };
            let target = match &imp.path {
                ImportPath::Module(segs) => self.import_module(id, segs, loader),
                ImportPath::File { path, span } => self.import_file(id, &dir, path, *span, loader),
            };
            let path_span = match &imp.path {
                ImportPath::Module(segs) => match (segs.first(), segs.last()) {
                    (Some(a), Some(b)) => a.span.to(b.span),
                    _ => item.span,
                },
                ImportPath::File { span, .. } => *span,
            };
            match &imp.names {
                None => {
                    let name = match (&imp.path, target) {
                        (_, Some(t)) => self.modules[t as usize].name.clone(),
                        (ImportPath::Module(segs), None) => {
                            segs.last().map(|s| s.name.clone()).unwrap_or_default()
                        }
                        (ImportPath::File { path, .. }, None) => stem(path),
                    };
                    let what = target.map(Imported::Module).unwrap_or(Imported::Broken);
                    self.bind_import(index, name, what, path_span);
                }
                Some(names) => {
                    for n in names {
                        let what = match target {
                            Some(t) => Imported::Item(t, n.name.clone()),
                            None => Imported::Broken,
                        };
                        self.bind_import(index, n.name.clone(), what, n.span);
                    }
                }
            }
        }
    }

    fn bind_import(&mut self, index: usize, name: String, what: Imported, span: Span) {
        let m = &mut self.modules[index];
        let clash = m
            .values
            .get(&name)
            .and_then(|i| m.item(*i))
            .and_then(item_name)
            .map(|n| n.span);
        if let Some(item_span) = clash {
            self.diagnostics
                .push((m.id, codes::duplicate(item_span, &name, span)));
            return;
        }
        if let Some((_, first)) = m.imports.get(&name) {
            let first = *first;
            self.diagnostics
                .push((m.id, codes::duplicate(span, &name, first)));
            return;
        }
        m.imports.insert(name, (what, span));
    }

    fn import_module(
        &mut self,
        from: ModuleId,
        segs: &[ast::Ident],
        loader: &dyn SourceLoader,
    ) -> Option<ModuleId> {
        let path: Vec<&str> = segs.iter().map(|s| s.name.as_str()).collect();
        let span = match (segs.first(), segs.last()) {
            (Some(a), Some(b)) => a.span.to(b.span),
            _ => Span::default(),
        };
        let std_names: Vec<String> = STD.iter().map(|(n, _)| format!("std/{n}")).collect();
        let std_refs: Vec<&str> = std_names.iter().map(String::as_str).collect();
        let joined = path.join("/");
        let found = match path.as_slice() {
            ["std", name] => STD.iter().find(|(n, _)| n == name),
            _ => None,
        };
        let Some((name, source)) = found else {
            let suggestion = did_you_mean(&joined, std_refs.iter().copied());
            self.diagnostics.push((
                from,
                codes::unknown_module(span, &joined, &suggestion, &std_refs),
            ));
            return None;
        };
        let key = format!("std/{name}");
        if let Some(id) = self.by_key.get(&key) {
            return Some(*id);
        }
        Some(self.add(
            loader,
            key,
            name.to_string(),
            String::new(),
            source.to_string(),
            true,
        ))
    }

    fn import_file(
        &mut self,
        from: ModuleId,
        dir: &str,
        path: &str,
        span: Span,
        loader: &dyn SourceLoader,
    ) -> Option<ModuleId> {
        let key = crate::files::data_path(dir, path);
        if let Some(id) = self.by_key.get(&key) {
            return Some(*id);
        }
        match loader.load_source(&key) {
            Ok(source) => {
                Some(self.add(loader, key.clone(), stem(&key), dir_of(&key), source, false))
            }
            Err(why) => {
                self.diagnostics
                    .push((from, codes::unreadable_import(span, path, &why)));
                None
            }
        }
    }

    fn check_imported_names(&mut self, index: usize) {
        let imports: Vec<(String, Imported, Span)> = self.modules[index]
            .imports
            .iter()
            .map(|(k, (i, s))| (k.clone(), i.clone(), *s))
            .collect();
        for (name, what, span) in imports {
            let Imported::Item(target, item) = what else {
                continue;
            };
            let t = &self.modules[target as usize];
            if t.values.contains_key(&item) || t.ast.is_none() {
                continue;
            }
            let available: Vec<String> = t.values.keys().cloned().collect();
            let suggestion = did_you_mean(&item, available.iter().map(String::as_str));
            let d =
                codes::unknown_module_item(span, &display_name(t), &item, &suggestion, &available);
            self.diagnostics.push((index as ModuleId, d));
            self.modules[index]
                .imports
                .insert(name, (Imported::Broken, span));
        }
    }
}

/// How a module is named in messages: `std/checks` or the file stem.
pub fn display_name(m: &Module) -> String {
    if m.is_std {
        format!("std/{}", m.name)
    } else {
        m.name.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_and_normalise() {
        assert_eq!(join_path("", "data/users.csv"), "data/users.csv");
        assert_eq!(join_path("lib/", "../data/x.csv"), "data/x.csv");
        assert_eq!(join_path("", "../x.load"), "../x.load");
        assert_eq!(join_path("a/b/", "./c.load"), "a/b/c.load");
        assert_eq!(stem("lib/auth.load"), "auth");
    }
}
