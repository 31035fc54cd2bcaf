//! volley-compiler: from a `.load` file (and its imports and the embedded standard
//! library) to a typed IR and the runner plan.
//!
//! The pipeline: `modules` loads and parses every file through a `SourceLoader` (no other
//! IO), `checker` resolves names, checks types and units, evaluates constants and `fn`s,
//! reads data files and tracks secrets, producing the typed IR (`ir`) and every error it
//! finds; `lower` turns the IR into a `volley_plan::Plan`. Diagnostics are data (codes in
//! `codes`); this crate never renders them and never runs anything.

pub mod codes;
pub mod data;
pub mod editor;
pub mod files;
mod html;
pub mod ir;
pub(crate) mod konst;
pub mod kube;
pub mod lint;
pub(crate) mod params;
pub mod suggest;
pub mod types;

mod checker;
mod lower;
mod modules;

#[cfg(test)]
mod tests;

pub use files::{FsLoader, LoadError};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use volley_plan::DataFormat;
use volley_syntax::{ast, Diagnostic};

/// Reads source and data files; paths are relative to the entry file's directory
/// (absolute when written so). `files::FsLoader` reads the disk, `MemLoader` a map.
pub trait SourceLoader {
    fn load_source(&self, path: &str) -> Result<String, LoadError>;
    fn load_data(&self, path: &str) -> Result<Vec<u8>, LoadError>;
    /// The encoded `FileDescriptorSet` of every service the gRPC server at `url` lists
    /// through its reflection service (`data shop = proto(reflect: shop)`), or why not.
    /// A loader that does not reach servers (tests, the editor) refuses.
    fn reflect(&self, url: &str) -> Result<Vec<u8>, String> {
        let _ = url;
        Err("this tool does not reach servers when it compiles; run `volley check`".into())
    }

    /// The data file `path` (a loader path, as for `load_data`) read and parsed as
    /// `format` (`data::read`); a file over `files::MAX_DATA_BYTES` is `TooLarge`. A
    /// loader that keeps parsed files (the language server's) may return the one it
    /// kept while the file is unchanged, with the same result.
    fn load_table(&self, path: &str, format: DataFormat) -> Result<Arc<data::Table>, LoadError> {
        let bytes = self.load_data(path)?;
        if bytes.len() as u64 > files::MAX_DATA_BYTES {
            return Err(LoadError::TooLarge {
                size: bytes.len() as u64,
                limit: files::MAX_DATA_BYTES,
            });
        }
        Ok(Arc::new(data::read(&bytes, format)))
    }

    /// Parses the text of the source file `file` (`std/NAME` for the standard library)
    /// as `volley_syntax::parse` does; a loader that keeps earlier parses (the language
    /// server's) may reparse only what changed, with the same result.
    fn parse(&self, file: &str, source: &str) -> (Option<Rc<ast::File>>, Vec<Diagnostic>) {
        let _ = file;
        let (ast, diags) = volley_syntax::parse(source);
        (ast.map(Rc::new), diags)
    }
}

/// Files in memory, keyed by path (for tests).
#[derive(Default)]
pub struct MemLoader {
    pub files: BTreeMap<String, Vec<u8>>,
}

impl MemLoader {
    pub fn new() -> Self {
        MemLoader::default()
    }
    /// Adds a file (builder style).
    pub fn with(mut self, path: &str, contents: impl Into<Vec<u8>>) -> Self {
        self.files.insert(path.to_string(), contents.into());
        self
    }
}

impl SourceLoader for MemLoader {
    fn load_source(&self, path: &str) -> Result<String, LoadError> {
        let bytes = self.load_data(path)?;
        String::from_utf8(bytes).map_err(|_| LoadError::NotUtf8)
    }
    fn load_data(&self, path: &str) -> Result<Vec<u8>, LoadError> {
        self.files.get(path).cloned().ok_or(LoadError::NotFound)
    }
    /// A server's descriptors are the file `reflect:URL`.
    fn reflect(&self, url: &str) -> Result<Vec<u8>, String> {
        self.files
            .get(&format!("reflect:{url}"))
            .cloned()
            .ok_or_else(|| "connection refused".to_string())
    }
}

#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    /// Raw `--param k=v` pairs.
    pub params: Vec<(String, String)>,
}

/// The outcome of a compilation.
#[derive(Debug)]
pub struct Compiled {
    /// The plan, when there was no error.
    pub plan: Option<volley_plan::Plan>,
    /// Every diagnostic, sorted by file (entry first) and position.
    pub diagnostics: Vec<Diagnostic>,
    /// File name → text of every file loaded (standard library modules included, as
    /// `std/NAME`), for rendering diagnostics.
    pub sources: BTreeMap<String, String>,
    /// The typed IR, when there was no error (lint rules read it).
    pub ir: Option<ir::Program>,
}

/// Compiles `entry` (a file name the loader understands, e.g. `checkout.load`); the
/// plan's name is its stem.
pub fn compile(entry: &str, loader: &dyn SourceLoader, opts: &CompileOptions) -> Compiled {
    compile_with(entry, loader, opts, false).0
}

/// `compile`, and for an editor (`editor::analyze`, when `types` is set) the type of
/// every expression checked, with a plan whose data sources carry no rows.
pub(crate) fn compile_with(
    entry: &str,
    loader: &dyn SourceLoader,
    opts: &CompileOptions,
    types: bool,
) -> (Compiled, Option<Vec<editor::TypeAt>>) {
    let loaded = match modules::load(entry, loader) {
        Ok(l) => l,
        Err(why) => {
            let d = codes::unreadable_entry(entry, &why).in_file(entry);
            let compiled = Compiled {
                plan: None,
                diagnostics: vec![d],
                sources: BTreeMap::new(),
                ir: None,
            };
            return (compiled, None);
        }
    };
    let sources: BTreeMap<String, String> = loaded
        .modules
        .iter()
        .map(|m| (m.file.clone(), m.source.clone()))
        .collect();
    let files: Vec<String> = loaded.modules.iter().map(|m| m.file.clone()).collect();
    let mut checker =
        checker::Checker::new(loaded.modules.clone(), loader, opts, modules::stem(entry));
    checker.reports.list = loaded.diagnostics;
    if types {
        checker.type_log = Some(Vec::new());
    }
    let parsed = loaded.modules.first().is_some_and(|m| m.ast.is_some());
    if parsed {
        checker.run();
    }
    let mut diags: Vec<(ir::ModuleId, Diagnostic)> = std::mem::take(&mut checker.reports.list);
    diags.sort_by_key(|(m, d)| (*m, d.span().map(|s| s.start).unwrap_or(0)));
    let diagnostics: Vec<Diagnostic> = diags
        .into_iter()
        .map(|(m, mut d)| {
            if d.file.is_empty() {
                d.file = files.get(m as usize).cloned().unwrap_or_default();
            }
            d
        })
        .collect();
    let ok = parsed && !diagnostics.iter().any(Diagnostic::is_error);
    let type_log = checker.type_log.take();
    let program = checker.prog;
    let plan = ok.then(|| lower::lower(&program, !types));
    let compiled = Compiled {
        plan,
        diagnostics,
        sources,
        ir: ok.then_some(program),
    };
    (compiled, type_log)
}

/// E0409 for a plan whose data packs need `objects` ConfigMaps, more than a run may have
/// (`volley_plan::pack::MAX_DATA_OBJECTS`; the manifests count them), located on the data
/// declarations of `program`: each labelled with its share of the arithmetic, the largest
/// share first. Declarations in other files than the largest's are related places.
pub fn undeliverable_data(
    program: &ir::Program,
    shares: &[volley_plan::pack::Share],
    objects: u64,
) -> Diagnostic {
    let mut shares: Vec<&volley_plan::pack::Share> = shares.iter().collect();
    shares.sort_by_key(|s| std::cmp::Reverse(s.packed_bytes));
    let mut places = Vec::new();
    for s in shares {
        for name in &s.sources {
            let Some(d) = program.data.iter().find(|d| &d.name == name) else {
                continue;
            };
            let text = format!(
                "`{name}`{}: {} of rows, {} compressed, {} ConfigMap{}",
                if s.sliced {
                    " (with the runners' slices)"
                } else {
                    ""
                },
                files::bytes_text(s.raw_bytes),
                files::bytes_text(s.packed_bytes),
                files::thousands(s.objects),
                if s.objects == 1 { "" } else { "s" }
            );
            places.push((d.loc, text));
        }
    }
    let file_of = |m: ir::ModuleId| {
        program
            .modules
            .get(m as usize)
            .map(|m| m.file.clone())
            .unwrap_or_default()
    };
    // The five largest are labelled; the rest are counted.
    let more = places.len().saturating_sub(5);
    places.truncate(5);
    let home = places.first().map(|(l, _)| l.module);
    let labels: Vec<(volley_syntax::ast::Span, String)> = places
        .iter()
        .filter(|(l, _)| Some(l.module) == home)
        .map(|(l, t)| (l.span, t.clone()))
        .collect();
    let mut d =
        codes::data_undeliverable(&labels, objects).in_file(home.map(file_of).unwrap_or_default());
    for (l, t) in places.iter().filter(|(l, _)| Some(l.module) != home) {
        d = d.with_related(file_of(l.module), l.span, t.clone());
    }
    if more > 0 {
        d.message.push_str(&format!(
            " ({more} more data declaration{} not shown)",
            if more == 1 { "" } else { "s" }
        ));
    }
    d
}

/// Parses and type-checks; the same as `compile` (the plan may be ignored).
pub fn check(entry: &str, loader: &dyn SourceLoader, opts: &CompileOptions) -> Compiled {
    compile(entry, loader, opts)
}
