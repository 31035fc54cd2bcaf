//! Go to definition, find references and rename, across the files a workspace holds and
//! the modules they import. A name is one symbol everywhere: an item of a file is found
//! by its uses in that file and by `import "file" { name }` and `module.name` in every
//! `.load` file of the workspace; a local only in its own scope.

use crate::analysis::normalise;
use crate::index::{Def, Index, ModRef, Occurrence, Target};
use crate::line_index::LineIndex;
use crate::server::{doc_path, Server};
use lsp_types::{
    GotoDefinitionResponse, Location, PrepareRenameResponse, Range, TextDocumentPositionParams,
    TextEdit, Url, WorkspaceEdit,
};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::SystemTime;

/// A file's text and names.
pub struct FileInfo {
    pub path: PathBuf,
    pub text: String,
    pub lines: LineIndex,
    pub index: Option<Index>,
}

impl FileInfo {
    fn new(path: PathBuf, text: String) -> FileInfo {
        let (file, _) = volley_syntax::parse(&text);
        FileInfo {
            lines: LineIndex::new(&text),
            index: file.as_ref().map(Index::build),
            path,
            text,
        }
    }

    pub fn location(&self, span: volley_syntax::ast::Span) -> Option<Location> {
        let uri = Url::from_file_path(&self.path).ok()?;
        Some(Location::new(uri, self.lines.range(&self.text, span)))
    }
}

/// A module: a file or a standard one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ModKey {
    Path(PathBuf),
    Std(String),
}

/// What a name stands for, wherever it is written.
#[derive(Clone, Debug, PartialEq)]
pub enum Symbol {
    /// An item (`flow login`) of a module.
    Item(ModKey, String),
    /// A local of one file (index into its `defs`).
    Local(PathBuf, usize),
}

/// A file read from the disk and when it was modified then.
type Cached = (Option<SystemTime>, Rc<FileInfo>);

/// Files read from the disk (and the standard library), cached by modification time.
pub struct Files {
    roots: Vec<PathBuf>,
    cache: RefCell<HashMap<PathBuf, Cached>>,
    std_dir: RefCell<Option<PathBuf>>,
}

/// Folders never searched for `.load` files.
const SKIPPED: &[&str] = &["target", "node_modules"];
/// At most this many files are searched for references.
const MAX_FILES: usize = 5000;

impl Files {
    pub fn new(roots: Vec<PathBuf>) -> Files {
        Files {
            roots,
            cache: RefCell::new(HashMap::new()),
            std_dir: RefCell::new(None),
        }
    }

    pub fn forget(&self, path: &Path) {
        self.cache.borrow_mut().remove(path);
    }

    fn disk(&self, path: &Path) -> Option<Rc<FileInfo>> {
        let mtime = std::fs::metadata(path).ok()?.modified().ok();
        if let Some((t, info)) = self.cache.borrow().get(path) {
            if *t == mtime && mtime.is_some() {
                return Some(info.clone());
            }
        }
        let text = volley_compiler::files::read_source_file(path).ok()?;
        let info = Rc::new(FileInfo::new(path.to_path_buf(), text));
        self.cache
            .borrow_mut()
            .insert(path.to_path_buf(), (mtime, info.clone()));
        Some(info)
    }

    /// The standard module `name`, written once to a folder of its own so that an editor
    /// can open it.
    fn std(&self, name: &str) -> Option<Rc<FileInfo>> {
        let (_, source) = volley_compiler::editor::std_modules()
            .iter()
            .find(|(n, _)| *n == name)?;
        let dir = self.std_dir.borrow().clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("volley-std-{}", env!("CARGO_PKG_VERSION")))
        });
        let path = dir.join(format!("{name}.load"));
        if std::fs::read_to_string(&path).ok().as_deref() != Some(*source) {
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(&path, source);
        }
        *self.std_dir.borrow_mut() = Some(dir);
        Some(Rc::new(FileInfo::new(path, (*source).to_string())))
    }

    /// Every `.load` file under the workspace folders.
    fn workspace(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut stack: Vec<PathBuf> = self.roots.clone();
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                let name = e.file_name().to_string_lossy().into_owned();
                let Ok(ft) = e.file_type() else { continue };
                if ft.is_dir() && !name.starts_with('.') && !SKIPPED.contains(&name.as_str()) {
                    stack.push(p);
                } else if ft.is_file() && name.ends_with(".load") {
                    out.push(normalise(&p));
                    if out.len() >= MAX_FILES {
                        return out;
                    }
                }
            }
        }
        out
    }
}

impl Server {
    /// A file's text and names: the open document's, else the disk's.
    pub fn file(&self, path: &Path) -> Option<Rc<FileInfo>> {
        let path = normalise(path);
        if let Some(d) = self.docs.values().find(|d| normalise(&d.path) == path) {
            return Some(Rc::new(FileInfo::new(path, d.text.clone())));
        }
        self.files.disk(&path)
    }

    pub fn module(&self, key: &ModKey) -> Option<Rc<FileInfo>> {
        match key {
            ModKey::Path(p) => self.file(p),
            ModKey::Std(n) => self.files.std(n),
        }
    }
}

/// The module `m` names, imported from the file `from`.
pub fn mod_key(from: &Path, m: &ModRef) -> ModKey {
    match m {
        ModRef::Std(n) => ModKey::Std(n.clone()),
        ModRef::File(rel) => {
            let dir = from.parent().unwrap_or(Path::new("/"));
            ModKey::Path(normalise(&dir.join(rel)))
        }
    }
}

/// The symbol at `pos` of the document, with the span of the name there.
fn symbol_at(
    server: &mut Server,
    p: &TextDocumentPositionParams,
) -> Option<(Symbol, volley_syntax::ast::Span, Rc<FileInfo>)> {
    let path = normalise(&doc_path(&p.text_document.uri));
    let info = server.file(&path)?;
    let index = info.index.as_ref()?;
    let offset = info.lines.offset(&info.text, p.position);
    let of_def = |i: usize, d: &Def| {
        if d.visible.is_none() {
            Symbol::Item(ModKey::Path(path.clone()), d.name.clone())
        } else {
            Symbol::Local(path.clone(), i)
        }
    };
    let (sym, span) = match index.at(offset)? {
        Occurrence::Def(i) => (of_def(i, &index.defs[i]), index.defs[i].span),
        Occurrence::Ref(r) => {
            let r = &index.refs[r];
            let sym = match &r.target {
                Target::Def(i) => of_def(*i, &index.defs[*i]),
                Target::Item(m, name) => Symbol::Item(mod_key(&path, m), name.clone()),
                _ => return None,
            };
            (sym, r.span)
        }
    };
    Some((sym, span, info))
}

pub fn definition(
    server: &mut Server,
    p: &TextDocumentPositionParams,
) -> Option<GotoDefinitionResponse> {
    let path = normalise(&doc_path(&p.text_document.uri));
    let info = server.file(&path)?;
    let index = info.index.as_ref()?;
    let offset = info.lines.offset(&info.text, p.position);
    // An import's path goes to the file.
    if let Some(Occurrence::Ref(r)) = index.at(offset) {
        if let Target::Module(m) = &index.refs[r].target {
            let target = server.module(&mod_key(&path, m))?;
            return target
                .location(volley_syntax::ast::Span::new(0, 0))
                .map(GotoDefinitionResponse::Scalar);
        }
    }
    let (sym, _, _) = symbol_at(server, p)?;
    declaration(server, &sym).map(GotoDefinitionResponse::Scalar)
}

fn declaration(server: &Server, sym: &Symbol) -> Option<Location> {
    match sym {
        Symbol::Local(path, i) => {
            let info = server.file(path)?;
            let d = info.index.as_ref()?.defs.get(*i)?;
            info.location(d.span)
        }
        Symbol::Item(key, name) => {
            let info = server.module(key)?;
            let index = info.index.as_ref()?;
            let d = &index.defs[index.item(name)?];
            info.location(d.span)
        }
    }
}

/// Every place `sym` is written (its declaration first when asked for).
fn occurrences(server: &Server, sym: &Symbol, with_decl: bool) -> Vec<Location> {
    let mut out: Vec<Location> = Vec::new();
    if with_decl {
        out.extend(declaration(server, sym));
    }
    match sym {
        Symbol::Local(path, i) => {
            if let Some(info) = server.file(path) {
                if let Some(index) = &info.index {
                    for r in index.refs.iter().filter(|r| r.target == Target::Def(*i)) {
                        out.extend(info.location(r.span));
                    }
                }
            }
        }
        Symbol::Item(key, name) => {
            let mut files: Vec<PathBuf> = server.files_workspace();
            files.extend(server.docs.values().map(|d| normalise(&d.path)));
            if let ModKey::Path(p) = key {
                files.push(p.clone());
            }
            files.sort();
            files.dedup();
            for f in files {
                let Some(info) = server.file(&f) else {
                    continue;
                };
                let Some(index) = &info.index else { continue };
                let home = ModKey::Path(f.clone()) == *key;
                let own = if home { index.item(name) } else { None };
                for r in &index.refs {
                    let hit = match &r.target {
                        Target::Def(i) => own == Some(*i),
                        Target::Item(m, n) => n == name && mod_key(&f, m) == *key,
                        _ => false,
                    };
                    if hit {
                        out.extend(info.location(r.span));
                    }
                }
            }
        }
    }
    out
}

impl Server {
    fn files_workspace(&self) -> Vec<PathBuf> {
        self.files.workspace()
    }
}

pub fn references(
    server: &mut Server,
    p: &TextDocumentPositionParams,
    with_decl: bool,
) -> Option<Vec<Location>> {
    let (sym, _, _) = symbol_at(server, p)?;
    Some(occurrences(server, &sym, with_decl))
}

pub fn prepare_rename(
    server: &mut Server,
    p: &TextDocumentPositionParams,
) -> Option<PrepareRenameResponse> {
    let (sym, span, info) = symbol_at(server, p)?;
    if matches!(sym, Symbol::Item(ModKey::Std(_), _)) {
        return None;
    }
    let range: Range = info.lines.range(&info.text, span);
    Some(PrepareRenameResponse::Range(range))
}

/// Whether `name` can name a definition.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !crate::vocab::KEYWORDS.contains(&name)
}

pub fn rename(
    server: &mut Server,
    p: &TextDocumentPositionParams,
    new_name: &str,
) -> Result<Option<WorkspaceEdit>, String> {
    if !valid_name(new_name) {
        return Err(format!(
            "`{new_name}` is not a name: use letters, digits and `_`, not starting with a digit, and not a keyword"
        ));
    }
    let Some((sym, _, _)) = symbol_at(server, p) else {
        return Ok(None);
    };
    if matches!(sym, Symbol::Item(ModKey::Std(_), _)) {
        return Err("the standard library's names cannot be renamed".into());
    }
    let mut changes: HashMap<Url, Vec<TextEdit>> = HashMap::new();
    for loc in occurrences(server, &sym, true) {
        let edits = changes.entry(loc.uri).or_default();
        if !edits.iter().any(|e| e.range == loc.range) {
            edits.push(TextEdit::new(loc.range, new_name.to_string()));
        }
    }
    Ok(Some(WorkspaceEdit {
        changes: Some(changes),
        ..Default::default()
    }))
}
