//! One analysis of an open document: compile (with the editor's unsaved texts of every
//! open file in place of the disk's), lint when it compiled, and keep what the features
//! read: the entry file's diagnostics, the types of its expressions and (built on
//! first use) its name index.

use crate::index::Index;
use crate::line_index::LineIndex;
use crate::tables::Tables;
use std::any::Any;
use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use volley_compiler::data::Table;
use volley_compiler::editor::{self, TypeAt};
use volley_compiler::lint::{self, Config};
use volley_compiler::{CompileOptions, FsLoader, LoadError, SourceLoader};
use volley_plan::DataFormat;
use volley_syntax::ast::{self, Span};
use volley_syntax::{Diagnostic, Parsed};

/// Removes `.` and `..` without touching the disk.
pub fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// What analyses keep for the next one and leave for later, shared by the server's
/// analyses.
#[derive(Default)]
pub struct Kept {
    /// The last parse of every source file analyses read (normalised absolute path; the
    /// standard library's modules as `DIR/std/NAME`): the next parse of a file reparses
    /// only the items around what changed (`Parsed::reparse`, which gives what a whole
    /// parse gives for any two texts, so a stale entry costs time, never correctness).
    pub parses: RefCell<HashMap<PathBuf, Parsed>>,
    /// What analyses are done with (the compilation's IR and plan, replaced analyses),
    /// freed once the diagnostics are sent rather than before.
    pub spent: RefCell<Vec<Box<dyn Any>>>,
    /// The data files analyses parsed, kept while unchanged on disk.
    pub tables: RefCell<Tables>,
}

/// The disk, with the editor's open documents (normalised absolute path → text) over it.
pub struct Overlay<'a> {
    pub fs: FsLoader,
    pub open: &'a HashMap<PathBuf, String>,
    pub parses: &'a RefCell<HashMap<PathBuf, Parsed>>,
    pub tables: &'a RefCell<Tables>,
}

impl SourceLoader for Overlay<'_> {
    fn load_source(&self, path: &str) -> Result<String, LoadError> {
        let full = normalise(&self.fs.base_dir.join(path));
        match self.open.get(&full) {
            Some(text) => Ok(text.clone()),
            None => self.fs.load_source(path),
        }
    }
    fn load_data(&self, path: &str) -> Result<Vec<u8>, LoadError> {
        self.fs.load_data(path)
    }
    fn load_table(&self, path: &str, format: DataFormat) -> Result<Arc<Table>, LoadError> {
        self.tables.borrow_mut().load(&self.fs, path, format)
    }
    fn reflect(&self, url: &str) -> Result<Vec<u8>, String> {
        crate::reflect::reflect(url)
    }

    fn parse(&self, file: &str, source: &str) -> (Option<Rc<ast::File>>, Vec<Diagnostic>) {
        let key = normalise(&self.fs.base_dir.join(file));
        let mut parses = self.parses.borrow_mut();
        let next = match parses.remove(&key) {
            Some(prev) => prev.into_reparse(source),
            None => Parsed::new(source),
        };
        let out = (next.file.clone(), next.diagnostics.clone());
        parses.insert(key, next);
        out
    }
}

/// Where a document lives: its directory (paths in it resolve against it) and its name.
#[derive(Clone, Debug)]
pub struct Place {
    pub dir: PathBuf,
    pub name: String,
}

impl Place {
    pub fn of(path: &Path) -> Place {
        Place {
            dir: path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("/")),
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "untitled.load".into()),
        }
    }
}

pub struct Analysis {
    pub text: String,
    pub lines: LineIndex,
    /// Compile errors and (when it compiled) lint findings of the document itself.
    pub diagnostics: Vec<Diagnostic>,
    /// Errors in imported files, shown on the document's import.
    pub elsewhere: Vec<Diagnostic>,
    /// The type of every expression of the document the checker reached.
    pub types: Vec<TypeAt>,
    /// Every file the compilation read (normalised absolute paths), for re-analysing
    /// dependents when one changes.
    pub deps: BTreeSet<PathBuf>,
    /// The document's AST, when it parses (the compilation's own; let go when the
    /// document changes, so the next parse can take its items over).
    pub ast: Option<Rc<ast::File>>,
    index: OnceCell<Option<Index>>,
}

impl Analysis {
    /// The document's name index, or `None` when it does not parse.
    pub fn index(&self) -> Option<&Index> {
        self.index
            .get_or_init(|| self.ast.as_deref().map(Index::build))
            .as_ref()
    }

    /// The narrowest typed expression holding `offset`.
    pub fn type_at(&self, offset: usize) -> Option<&TypeAt> {
        self.types
            .iter()
            .filter(|t| t.loc.span.start <= offset && offset <= t.loc.span.end)
            .min_by_key(|t| (t.loc.span.len(), t.ty.is_error()))
    }

    /// The typed expression with exactly this span (a known type first).
    pub fn type_of(&self, span: Span) -> Option<&TypeAt> {
        let mut hits = self.types.iter().filter(|t| t.loc.span == span);
        let first = hits.next()?;
        if !first.ty.is_error() {
            return Some(first);
        }
        hits.find(|t| !t.ty.is_error()).or(Some(first))
    }
}

/// The severities of the `volley.toml` nearest above `dir` (like `volley lint`); a
/// broken file gives the defaults.
fn lint_config(dir: &Path) -> Config {
    for d in dir.ancestors() {
        let p = d.join("volley.toml");
        if p.is_file() {
            return std::fs::read_to_string(&p)
                .ok()
                .and_then(|t| Config::from_toml(&t).ok())
                .unwrap_or_default();
        }
    }
    Config::default()
}

/// Analyses `text` as the file `place`, with the open documents over the disk.
/// `allowed` are the directories `--allow-path` opened outside the file's folder.
/// `kept`: the parses of earlier analyses (updated here), and where what is done with
/// goes.
pub fn analyse(
    place: &Place,
    text: &str,
    open: &HashMap<PathBuf, String>,
    allowed: &[PathBuf],
    kept: &Kept,
) -> Analysis {
    let mut open_here = open.clone();
    let path = normalise(&place.dir.join(&place.name));
    open_here.insert(path.clone(), text.to_string());
    let loader = Overlay {
        fs: FsLoader {
            base_dir: place.dir.clone(),
            allowed: allowed.to_vec(),
        },
        open: &open_here,
        parses: &kept.parses,
        tables: &kept.tables,
    };
    let an = editor::analyze(&place.name, &loader, &CompileOptions::default());
    let compiled = an.compiled;
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    let mut elsewhere: Vec<Diagnostic> = Vec::new();
    for d in &compiled.diagnostics {
        if d.file == place.name {
            diagnostics.push(d.clone());
        } else if d.is_error() && !d.file.starts_with("std/") {
            elsewhere.push(d.clone());
        }
    }
    let ok = !compiled.diagnostics.iter().any(Diagnostic::is_error);
    if let (true, Some(ir), Some(plan)) = (ok, &compiled.ir, &compiled.plan) {
        let found = lint::lint(ir, plan, &lint_config(&place.dir));
        diagnostics.extend(found.into_iter().filter(|d| d.file == place.name));
    }
    mask_secrets(text, &mut diagnostics);
    let deps = compiled
        .sources
        .keys()
        .filter(|f| !f.starts_with("std/"))
        .map(|f| normalise(&place.dir.join(f)))
        .collect();
    kept.spent.borrow_mut().push(Box::new(compiled));
    let ast = match kept.parses.borrow().get(&path) {
        Some(p) if p.text == text => p.file.clone(),
        _ => volley_syntax::parse(text).0.map(Rc::new),
    };
    Analysis {
        text: text.to_string(),
        lines: LineIndex::new(text),
        diagnostics,
        elsewhere,
        types: an.types.into_iter().filter(|t| t.loc.module == 0).collect(),
        deps,
        ast,
        index: OnceCell::new(),
    }
}

/// A plaintext credential a finding (L0109) points at is not repeated in its text: the
/// editor shows it in the file already, a diagnostic list need not copy it.
fn mask_secrets(text: &str, diags: &mut [Diagnostic]) {
    let mut secrets: Vec<String> = Vec::new();
    for d in diags.iter().filter(|d| d.code == "L0109") {
        if let Some(v) = d.span().and_then(|s| text.get(s.start..s.end)) {
            let v = v.trim_matches('"');
            if v.chars().count() >= 4 {
                secrets.push(v.to_string());
            }
        }
    }
    if secrets.is_empty() {
        return;
    }
    let scrub = |s: &mut String| {
        for v in &secrets {
            if s.contains(v.as_str()) {
                let keep: String = v.chars().take(4.min(v.chars().count() / 4)).collect();
                *s = s.replace(v.as_str(), &format!("{keep}…"));
            }
        }
    };
    for d in diags.iter_mut() {
        scrub(&mut d.message);
        if let Some(h) = &mut d.help {
            scrub(h);
        }
        for l in &mut d.labels {
            scrub(&mut l.text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples"))
    }

    /// What a check reports, without the AST and index.
    fn seen(a: &Analysis) -> (Vec<Diagnostic>, Vec<Diagnostic>, Vec<TypeAt>) {
        (a.diagnostics.clone(), a.elsewhere.clone(), a.types.clone())
    }

    /// A session of edits analysed with the parses of the previous analyses (items
    /// reparsed around each edit) reports what a fresh analysis of the same text
    /// reports: errors, lint findings, types. Edits that keep the file valid, that
    /// break it (syntax, types, names) and that mend it again, anywhere in the file.
    #[test]
    fn an_edited_document_is_checked_as_a_fresh_one() {
        let place = Place {
            dir: examples(),
            name: "checkout.load".into(),
        };
        let Ok(base) = std::fs::read_to_string(place.dir.join(&place.name)) else {
            panic!("examples/checkout.load is readable");
        };
        let open = HashMap::new();
        let kept = Kept::default();
        let edits: Vec<(&str, &str)> = vec![
            ("param peak: int = 500", "param peak: int = 50"),
            (
                "metric failed_orders = counter()",
                "metric failed_orders = counter()\nlet extra = peak * 2",
            ),
            ("qty: 1}", "qty: extra}"),
            ("qty: extra}", "qty: \"x\" + 1}"),
            (
                "return res.json(\"token\").string()",
                "return res.json(\"token\").string(",
            ),
            (
                "return res.json(\"token\").string(",
                "return res.json(\"token\").string()",
            ),
            ("let extra = peak * 2", "let extra = peek * 2"),
            ("let extra = peek * 2", "let extra = 99999999999999999999"),
            ("let extra = 99999999999999999999", "let extra = 3"),
            ("sleep 1s", "sleep 1"),
            ("sleep 1", "sleep 1s\n    sleep 2s"),
            ("// checkout.load", "// checkout.load, edited"),
            ("import std/checks { ok }", "import std/checks { okay }"),
            ("import std/checks { okay }", "import std/checks { ok }"),
        ];
        let mut text = base.clone();
        let mut reused = 0;
        for (from, to) in edits {
            assert!(text.contains(from), "{from}");
            text = text.replacen(from, to, 1);
            let before = kept
                .parses
                .borrow()
                .get(&normalise(&place.dir.join(&place.name)))
                .cloned();
            let got = analyse(&place, &text, &open, &[], &kept);
            let want = analyse(&place, &text, &open, &[], &Default::default());
            assert_eq!(seen(&got), seen(&want), "after {to:?}");
            assert_eq!(got.ast, want.ast, "after {to:?}");
            if before.is_some_and(|b| b.file.is_some()) && got.ast.is_some() {
                reused += 1;
            }
        }
        // Several edits were analysed from the previous parse (not only whole parses).
        assert!(reused >= 6, "{reused}");
        let last = analyse(&place, &base, &open, &[], &kept);
        let findings: Vec<&str> = last.diagnostics.iter().map(|d| d.code.as_str()).collect();
        assert!(!findings.iter().any(|c| c.starts_with('E')), "{findings:?}");
    }
}
