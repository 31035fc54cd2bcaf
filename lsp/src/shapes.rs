//! JSON paths where the shape of a JSON value is known: completion of the keys at a path,
//! after a dot (`o.address.`, `page.items[0].`) and inside the path string of
//! `res.json("items[0].")`, each key with its JSON type.
//!
//! A shape is known from two sources, and only these:
//! - **JSON data files.** `data orders = json("orders.json", ..)`: a row of `orders` (and
//!   a `let` bound to `orders.next()`, a loop variable over one of its arrays, a
//!   `.pick()` of one) has the union of the keys of the file's objects at that path,
//!   read from the file (the first [`SAMPLE`] elements of every array). The types are
//!   the JSON types found there (`string`, `int`, `object`, `array of object`, ...).
//! - **What this file reads from the same request.** A response's body has no declared
//!   shape; the paths the file already reads from responses of the same request (the
//!   same method, target and literal path before `?`; interpolations count as any
//!   value) are its known keys: `page.items[0].id.int()` in one place makes `items`
//!   and then `id` (an int) complete on another `get(shop, "/api/catalog?..").json()`.
//!   Their type is what the file converts them with (`.int()`, `.string()`, ...) or
//!   `json` when it never does.
//!
//! Values passed through flows or function parameters, records built in the file (those
//! complete as records already) and responses of requests whose path is not a literal
//! have no known shape here.

use crate::index::{DefKind, Index, Occurrence, Target};
use crate::tables::{FileCache, Stamp};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;
use volley_compiler::FsLoader;
use volley_syntax::ast::{
    self, Block, Expr, ExprKind, ItemKind, ScenarioMember, Span, Stmt, StmtChild, StmtKind,
    StrPart, ThresholdItem,
};

/// Elements of an array whose keys are merged (a data file may hold a million rows).
pub const SAMPLE: usize = 10_000;
/// The largest data file read for its shape (the compiler's own limit).
const MAX_FILE: u64 = 64 * 1024 * 1024;

/// The kinds of JSON value seen at one path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Object,
    Array,
    String,
    Int,
    Float,
    Bool,
    Null,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Object => "object",
            Kind::Array => "array",
            Kind::String => "string",
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::Bool => "bool",
            Kind::Null => "null",
        }
    }
}

/// The shape of a JSON value: the kinds seen, the keys of its objects (in the order first
/// seen) and the shape of its arrays' elements.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Shape {
    pub kinds: BTreeSet<Kind>,
    pub fields: Vec<(String, Shape)>,
    pub items: Option<Box<Shape>>,
}

impl Shape {
    fn field_mut(&mut self, key: &str) -> &mut Shape {
        let at = match self.fields.iter().position(|(k, _)| k == key) {
            Some(i) => i,
            None => {
                self.fields.push((key.to_string(), Shape::default()));
                self.fields.len() - 1
            }
        };
        &mut self.fields[at].1
    }

    fn items_mut(&mut self) -> &mut Shape {
        self.items.get_or_insert_with(Box::default)
    }

    /// Adds the shape of `v` to this one.
    pub fn add(&mut self, v: &serde_json::Value) {
        use serde_json::Value as J;
        let kind = match v {
            J::Object(m) => {
                for (k, x) in m {
                    self.field_mut(k).add(x);
                }
                Kind::Object
            }
            J::Array(xs) => {
                let items = self.items_mut();
                for x in xs.iter().take(SAMPLE) {
                    items.add(x);
                }
                Kind::Array
            }
            J::String(_) => Kind::String,
            J::Number(n) if n.is_i64() || n.is_u64() => Kind::Int,
            J::Number(_) => Kind::Float,
            J::Bool(_) => Kind::Bool,
            J::Null => Kind::Null,
        };
        self.kinds.insert(kind);
    }

    /// The shape at `path` below this one.
    pub fn at(&self, path: &[Seg]) -> Option<&Shape> {
        let mut cur = self;
        for s in path {
            cur = match s {
                Seg::Key(k) => &cur.fields.iter().find(|(f, _)| f == k)?.1,
                Seg::Elem => cur.items.as_deref()?,
            };
        }
        Some(cur)
    }

    /// The shape at `path`, made when missing (for recording what a file reads).
    fn at_mut(&mut self, path: &[Seg]) -> &mut Shape {
        let mut cur = self;
        for s in path {
            cur = match s {
                Seg::Key(k) => {
                    cur.kinds.insert(Kind::Object);
                    cur.field_mut(k)
                }
                Seg::Elem => {
                    cur.kinds.insert(Kind::Array);
                    cur.items_mut()
                }
            };
        }
        cur
    }

    /// Its JSON type as a completion detail: `string`, `int | null`, `array of object`,
    /// `json` when nothing is known.
    pub fn describe(&self) -> String {
        let words: Vec<String> = self
            .kinds
            .iter()
            .map(|k| match (k, &self.items) {
                (Kind::Array, Some(items)) if !items.kinds.is_empty() => {
                    format!("array of {}", items.describe())
                }
                _ => k.word().to_string(),
            })
            .collect();
        if words.is_empty() {
            "json".into()
        } else if words.len() > 1 && self.items.as_ref().is_some_and(|i| i.kinds.len() > 1) {
            format!("({})", words.join(" | "))
        } else {
            words.join(" | ")
        }
    }
}

/// One step of a JSON path: a member, or an element of an array (any index).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Elem,
}

/// `items[0].id`, `a.b`, `["a key"].c` (the engine's path syntax) as steps; `None` when
/// malformed. An empty path is the whole document.
pub fn parse_path(path: &str) -> Option<Vec<Seg>> {
    let path = path.trim();
    let path = path.strip_prefix('$').unwrap_or(path);
    let mut out = Vec::new();
    let mut i = 0;
    while i < path.len() {
        let rest = &path[i..];
        if rest.starts_with('.') {
            i += 1;
        } else if rest.starts_with('[') {
            let end = rest.find(']')?;
            let inner = rest[1..end].trim();
            if inner.parse::<usize>().is_ok() {
                out.push(Seg::Elem);
            } else {
                out.push(Seg::Key(
                    inner.trim_matches(|c| c == '"' || c == '\'').to_string(),
                ));
            }
            i += end + 1;
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let key = &rest[..end];
            // `items.0` reads an element as the engine does.
            if key.parse::<usize>().is_ok() {
                out.push(Seg::Elem);
            } else {
                out.push(Seg::Key(key.to_string()));
            }
            i += end;
        }
    }
    Some(out)
}

/// Where a JSON value comes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Root {
    /// A row of the JSON data file at this path (as written in `json("..")`).
    Data(String),
    /// The body of responses of one request (`GET shop /api/catalog`).
    Request(String),
}

/// A value traced back to its root: the path from it, and whether it is still the
/// response (before `.json(..)`).
#[derive(Clone, Debug, PartialEq)]
pub struct Origin {
    pub root: Root,
    pub path: Vec<Seg>,
    pub response: bool,
}

/// What a name is bound to.
#[derive(Clone, Copy)]
enum Binding<'a> {
    Value(&'a Expr),
    /// A loop variable: an element of this value.
    Each(&'a Expr),
}

/// The parts of a file the tracing reads: every expression, what each local is bound
/// to, and the JSON data sources.
pub struct Walk<'a> {
    pub exprs: Vec<&'a Expr>,
    bindings: HashMap<usize, Binding<'a>>,
    /// Data source name → the path of its JSON file.
    data: HashMap<String, String>,
    index: Index,
}

/// The text of a string literal without interpolations.
fn literal(e: &Expr) -> Option<String> {
    let ExprKind::Str(parts) = &e.kind else {
        return None;
    };
    let mut out = String::new();
    for p in parts {
        match p {
            StrPart::Text(t) => out.push_str(t),
            StrPart::Interp(_) => return None,
        }
    }
    Some(out)
}

impl<'a> Walk<'a> {
    pub fn new(file: &'a ast::File) -> Walk<'a> {
        let mut w = Walk {
            exprs: Vec::new(),
            bindings: HashMap::new(),
            data: HashMap::new(),
            index: Index::build(file),
        };
        for it in &file.items {
            w.item(it);
        }
        w
    }

    fn item(&mut self, item: &'a ast::Item) {
        match &item.kind {
            ItemKind::Import(_) => {}
            ItemKind::Data { name, source } => {
                if let ExprKind::Call { callee, args } = &source.kind {
                    let is_json = matches!(&callee.kind, ExprKind::Name(n) if n.name == "json");
                    if let (true, Some(path)) =
                        (is_json, args.first().and_then(|a| literal(&a.value)))
                    {
                        self.data.insert(name.name.clone(), path);
                    }
                }
                self.expr(source);
            }
            ItemKind::Let { name, value } => {
                self.bindings.insert(name.span.start, Binding::Value(value));
                self.expr(value);
            }
            ItemKind::Param { default: e, .. }
            | ItemKind::Target { url: e, .. }
            | ItemKind::Secret { source: e, .. }
            | ItemKind::Metric { kind: e, .. } => self.expr(e),
            ItemKind::Fn(f) => self.expr(&f.body),
            ItemKind::Flow(f) => self.block(&f.body),
            ItemKind::Scenario { members, .. } => {
                for m in members {
                    match m {
                        ScenarioMember::Field(f) => self.expr(&f.value),
                        ScenarioMember::Let(s) => self.stmt(s),
                        ScenarioMember::Iteration(b) => self.block(b),
                    }
                }
            }
            ItemKind::Setup(b) | ItemKind::Teardown(b) => self.block(b),
            ItemKind::Thresholds(entries) => {
                for e in entries {
                    for c in &e.conditions {
                        match c {
                            ThresholdItem::Condition(x) => self.expr(x),
                            ThresholdItem::Flag { value: Some(v), .. } => self.expr(v),
                            ThresholdItem::Flag { .. } => {}
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

    fn block(&mut self, b: &'a Block) {
        for s in &b.stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &'a Stmt) {
        match &s.kind {
            StmtKind::Let { name, value } | StmtKind::Var { name, value } => {
                self.bindings.insert(name.span.start, Binding::Value(value));
            }
            StmtKind::For { var, over, .. } => {
                self.bindings.insert(var.span.start, Binding::Each(over));
            }
            _ => {}
        }
        for c in s.children() {
            match c {
                StmtChild::Expr(e) => self.expr(e),
                StmtChild::Block(b) => self.block(b),
            }
        }
    }

    fn expr(&mut self, e: &'a Expr) {
        self.exprs.push(e);
        match &e.kind {
            // A method's callee (`x.int`) is not a member read.
            ExprKind::Call { callee, args } => {
                match &callee.kind {
                    ExprKind::Field { base, .. } => self.expr(base),
                    _ => self.expr(callee),
                }
                for a in args {
                    self.expr(&a.value);
                }
            }
            _ => {
                for c in e.children() {
                    self.expr(c);
                }
            }
        }
    }

    /// The expression with exactly this span (the outermost).
    pub fn expr_at(&self, span: Span) -> Option<&'a Expr> {
        self.exprs.iter().copied().find(|e| e.span == span)
    }

    /// The definition a name at `at` resolves to, as its kind and the name's offset.
    fn def_of(&self, at: usize) -> Option<(DefKind, usize, String)> {
        let d = match self.index.at(at)? {
            Occurrence::Def(d) => d,
            Occurrence::Ref(r) => match &self.index.refs[r].target {
                Target::Def(d) => *d,
                _ => return None,
            },
        };
        let def = &self.index.defs[d];
        Some((def.kind, def.span.start, def.name.clone()))
    }

    /// Where the value of `e` comes from, when it is JSON of a known root.
    pub fn origin(&self, e: &Expr) -> Option<Origin> {
        self.origin_in(e, 0)
    }

    fn origin_in(&self, e: &Expr, depth: usize) -> Option<Origin> {
        if depth > 32 {
            return None;
        }
        let extend = |base: &Expr, seg: Seg| {
            let mut o = self.origin_in(base, depth + 1)?;
            if o.response {
                return None;
            }
            o.path.push(seg);
            Some(o)
        };
        match &e.kind {
            ExprKind::Paren(x) => self.origin_in(x, depth + 1),
            ExprKind::Name(id) => {
                let (kind, at, _) = self.def_of(id.span.start)?;
                if kind == DefKind::Data {
                    return None;
                }
                match self.bindings.get(&at)? {
                    Binding::Value(v) => self.origin_in(v, depth + 1),
                    Binding::Each(over) => extend(over, Seg::Elem),
                }
            }
            ExprKind::Field { base, field } => extend(base, Seg::Key(field.name.clone())),
            ExprKind::Index { base, index } => {
                let seg = match literal(index) {
                    Some(k) => Seg::Key(k),
                    None => Seg::Elem,
                };
                extend(base, seg)
            }
            ExprKind::Call { callee, args } => match &callee.kind {
                ExprKind::Field { base, field } => match field.name.as_str() {
                    "next" if args.is_empty() => {
                        let ExprKind::Name(id) = &base.kind else {
                            return None;
                        };
                        let (kind, _, name) = self.def_of(id.span.start)?;
                        let file = self.data.get(&name).filter(|_| kind == DefKind::Data)?;
                        Some(Origin {
                            root: Root::Data(file.clone()),
                            path: Vec::new(),
                            response: false,
                        })
                    }
                    "json" => {
                        let mut o = self.origin_in(base, depth + 1)?;
                        if !o.response {
                            return None;
                        }
                        o.response = false;
                        if let Some(a) = args.first() {
                            o.path = parse_path(&literal(&a.value)?)?;
                        }
                        Some(o)
                    }
                    "pick" if args.is_empty() => extend(base, Seg::Elem),
                    _ => None,
                },
                ExprKind::Name(m) => {
                    let key = request_key(&m.name, args)?;
                    Some(Origin {
                        root: Root::Request(key),
                        path: Vec::new(),
                        response: true,
                    })
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// The keys this file reads from each request's JSON body; `typing` is the cursor,
    /// whose expression (a path being typed) does not count.
    pub fn usage(&self, typing: Option<usize>) -> HashMap<String, Shape> {
        let mut out: HashMap<String, Shape> = HashMap::new();
        let typed = |s: Span| typing.is_some_and(|t| s.start <= t && t <= s.end);
        for e in self.exprs.iter().filter(|e| !typed(e.span)) {
            // A conversion names the type: `page.items[0].id.int()`.
            let (value, kind) = match &e.kind {
                ExprKind::Call { callee, args } if args.is_empty() => match &callee.kind {
                    ExprKind::Field { base, field } => {
                        let kind = match field.name.as_str() {
                            "int" => Some(Kind::Int),
                            "float" => Some(Kind::Float),
                            "string" => Some(Kind::String),
                            "bool" => Some(Kind::Bool),
                            "pick" => Some(Kind::Array),
                            _ => None,
                        };
                        match kind {
                            Some(k) => (&**base, Some(k)),
                            None => (*e, None),
                        }
                    }
                    _ => (*e, None),
                },
                _ => (*e, None),
            };
            let Some(Origin {
                root: Root::Request(key),
                path,
                response: false,
            }) = self.origin(value)
            else {
                continue;
            };
            let shape = out.entry(key).or_default().at_mut(&path);
            if let Some(k) = kind {
                shape.kinds.insert(k);
            }
        }
        // `for x in page.items` walks an array.
        for b in self.bindings.values() {
            if let Binding::Each(over) = b {
                if let Some(Origin {
                    root: Root::Request(key),
                    path,
                    response: false,
                }) = self.origin(over)
                {
                    out.entry(key)
                        .or_default()
                        .at_mut(&path)
                        .kinds
                        .insert(Kind::Array);
                }
            }
        }
        out
    }
}

/// `GET shop /api/catalog`: a request's method, target and literal path before `?`
/// (interpolations as `{}`), from a call of `get(..)`, `post(..)`, ... or `request(..)`.
fn request_key(callee: &str, args: &[ast::Arg]) -> Option<String> {
    let methods = volley_compiler::editor::request_methods();
    let (method, rest) = if methods.contains(&callee) {
        (callee.to_uppercase(), args)
    } else if callee == "request" {
        (literal(&args.first()?.value)?.to_uppercase(), &args[1..])
    } else {
        return None;
    };
    let positional: Vec<&Expr> = rest
        .iter()
        .filter(|a| a.name.is_none())
        .map(|a| &a.value)
        .collect();
    let named = |n: &str| {
        rest.iter()
            .find(|a| a.name.as_ref().is_some_and(|x| x.name == n))
            .map(|a| &a.value)
    };
    let target = named("target").or(positional.first().copied())?;
    let ExprKind::Name(target) = &target.kind else {
        return None;
    };
    let path = named("path").or(positional.get(1).copied())?;
    let ExprKind::Str(parts) = &path.kind else {
        return None;
    };
    let mut p = String::new();
    for part in parts {
        match part {
            StrPart::Text(t) => p.push_str(t),
            StrPart::Interp(_) => p.push_str("{}"),
        }
    }
    let p = p.split('?').next().unwrap_or("");
    Some(format!("{method} {} {p}", target.name))
}

/// The row shapes of the JSON data files completion has read, by canonical path: kept
/// and bounded as the analyses' parsed data files are ([`FileCache`]).
fn cache() -> &'static Mutex<FileCache<PathBuf, Arc<Shape>>> {
    static CACHE: OnceLock<Mutex<FileCache<PathBuf, Arc<Shape>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(FileCache::default()))
}

/// The shape of one row of the JSON data file `path` (as written, relative to `dir`),
/// kept while the file is unchanged. `None` when it cannot be read or is not JSON.
pub fn data_shape(dir: &Path, allowed: &[PathBuf], path: &str) -> Option<Arc<Shape>> {
    let loader = FsLoader {
        base_dir: dir.to_path_buf(),
        allowed: allowed.to_vec(),
    };
    let full = loader.resolve(path).ok()?;
    let meta = std::fs::metadata(&full).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE {
        return None;
    }
    let stamp = Stamp::of(&meta);
    if let Some(shape) = cache().lock().ok()?.get(&full, &stamp) {
        return Some(shape);
    }
    let read_at = SystemTime::now();
    let bytes = std::fs::read(&full).ok()?;
    let doc: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let mut whole = Shape::default();
    whole.add(&doc);
    let row = Arc::new(whole.items.map(|b| *b).unwrap_or_default());
    if let Ok(mut c) = cache().lock() {
        c.keep(full, stamp, read_at, row.clone());
    }
    Some(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A changed JSON file gives its new shape; at most `MAX_ENTRIES` shapes are kept.
    #[test]
    fn data_shapes_follow_the_file_and_stay_bounded() {
        use crate::tables::MAX_ENTRIES;
        use std::time::Duration;
        let dir = std::env::temp_dir().join(format!("volley-lsp-shapes-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, text: &str, ago: Duration| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.set_modified(SystemTime::now() - ago).unwrap();
        };
        let keys = |name: &str| -> Vec<String> {
            let s = data_shape(&dir, &[], name).unwrap();
            s.fields.iter().map(|(k, _)| k.clone()).collect()
        };
        let hour = Duration::from_secs(3600);
        write("u.json", r#"[{"email": "a"}]"#, hour);
        assert_eq!(keys("u.json"), ["email"]);
        // Same length, a new key and modification time.
        write("u.json", r#"[{"mail_": "a"}]"#, hour / 2);
        assert_eq!(keys("u.json"), ["mail_"]);
        for i in 0..MAX_ENTRIES + 3 {
            write(&format!("{i}.json"), r#"[{"id": 1}]"#, hour);
            assert_eq!(keys(&format!("{i}.json")), ["id"]);
        }
        assert!(cache().lock().unwrap().len() <= MAX_ENTRIES);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn shapes_merge_keys_and_kinds() {
        let mut s = Shape::default();
        s.add(&json!([{"a": 1, "b": {"c": "x"}}, {"a": null, "d": [{"e": true}]}]));
        let row = s.items.as_deref().unwrap();
        let keys: Vec<&str> = row.fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "b", "d"]);
        assert_eq!(
            row.at(&[Seg::Key("a".into())]).unwrap().describe(),
            "int | null"
        );
        assert_eq!(
            row.at(&[Seg::Key("d".into())]).unwrap().describe(),
            "array of object"
        );
        let e = row.at(&parse_path("d[0].e").unwrap()).unwrap();
        assert_eq!(e.describe(), "bool");
        assert!(row.at(&parse_path("b.nope").unwrap()).is_none());
    }

    #[test]
    fn paths_parse_as_the_engine_reads_them() {
        assert_eq!(
            parse_path("items[0].id").unwrap(),
            vec![Seg::Key("items".into()), Seg::Elem, Seg::Key("id".into())]
        );
        assert_eq!(
            parse_path("$.a.0[\"b c\"]").unwrap(),
            vec![Seg::Key("a".into()), Seg::Elem, Seg::Key("b c".into())]
        );
        assert_eq!(parse_path("").unwrap(), vec![]);
        assert!(parse_path("a[0").is_none());
    }

    #[test]
    fn usage_records_the_paths_a_file_reads_per_request() {
        let src = r#"target shop = "http://127.0.0.1:8088"
scenario s {
  workload = per_vu_iterations(vus: 1, iterations: 1)
  iteration {
    let page = get(shop, "/api/catalog?page=1").json()
    check page.items[0].id.int() == 1
    let r = get(shop, "/api/catalog?page={2}")
    for it in r.json("items") { log(it.name.string()) }
    require page.next_page.exists()
    let other = get(shop, "/api/other").json()
    check other.x.int() == 1
  }
}
"#;
        let (file, _) = volley_syntax::parse(src);
        let file = file.unwrap();
        let w = Walk::new(&file);
        let usage = w.usage(None);
        let catalog = &usage["GET shop /api/catalog"];
        let keys: Vec<&str> = catalog.fields.iter().map(|(k, _)| k.as_str()).collect();
        assert!(
            keys.contains(&"items") && keys.contains(&"next_page"),
            "{keys:?}"
        );
        assert!(!keys.contains(&"x"));
        let item = catalog.at(&parse_path("items[0]").unwrap()).unwrap();
        let item_keys: Vec<&str> = item.fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(item_keys.len(), 2, "{item_keys:?}");
        assert_eq!(item.at(&[Seg::Key("id".into())]).unwrap().describe(), "int");
        assert_eq!(
            item.at(&[Seg::Key("name".into())]).unwrap().describe(),
            "string"
        );
    }
}
