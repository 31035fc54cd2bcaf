//! Data sources: `data NAME = csv|json|lines("path", pick: STRATEGY)`. The file is read
//! through the loader at compile time (relative to the declaring file), its columns
//! typed, its rows put in the plan (which a cluster run ships apart, as data packs:
//! `volley_plan::pack`). The work is a pass of its own (`DataPass`):
//! it holds only the loader and its diagnostics, and never reaches the `Checker`, which
//! runs it when a data item is first used and stores what it returns.

use super::args::{self, DataArg, DATA_ARGS};
use super::items::{literal_string, unique_name, ItemState};
use super::Checker;
use crate::codes;
use crate::data;
use crate::ir::{self, Loc, ModuleId};
use crate::modules::Module;
use crate::suggest::did_you_mean;
use crate::types::Type;
use crate::SourceLoader;
use volley_plan::{DataFormat, Pick};
use volley_syntax::ast::{self, ExprKind as A, ItemKind, Span};
use volley_syntax::Diagnostic;

pub(crate) const PICKS: &[&str] = &[
    "unique",
    "unique_per_iteration",
    "sequential",
    "random",
    "shared",
];
pub(crate) const FORMATS: &[&str] = &["csv", "json", "lines"];

fn pick_of(name: &str) -> Option<Pick> {
    Some(match name {
        "unique" => Pick::Unique,
        "unique_per_iteration" => Pick::UniquePerIteration,
        "sequential" => Pick::Sequential,
        "random" => Pick::Random,
        "shared" => Pick::Shared,
        _ => return None,
    })
}

impl<'a> Checker<'a> {
    pub(crate) fn ensure_data(&mut self, module: ModuleId, index: usize) -> ItemState {
        let key = (module, index);
        let m = self.module(module);
        if let Some(ItemKind::Data { source, .. }) = m.item(index).map(|i| &i.kind) {
            if super::grpc::is_proto_decl(source) {
                return self.ensure_proto(module, index);
            }
        }
        if let Some(s) = self.begin(key) {
            return s;
        }
        let Some(ItemKind::Data { name, source }) = m.item(index).map(|i| &i.kind) else {
            return self.finish(key, ItemState::Failed);
        };
        let taken: Vec<String> = self.prog.data.iter().map(|t| t.name.clone()).collect();
        let mut pass = DataPass {
            loader: self.loader,
            diags: Vec::new(),
        };
        let declared = pass.check_data(&m, name, source, &taken);
        let (state, _) = self.loud(|c| {
            for d in pass.diags {
                c.emit(module, d);
            }
            let Some((data, row_ty)) = declared else {
                return ItemState::Failed;
            };
            let id = c.prog.data.len() as u32;
            c.prog.data.push(data);
            ItemState::Data(id, row_ty)
        });
        self.finish(key, state)
    }
}

/// The data-file pass of one declaration: reads the file through the loader and types
/// its columns. Its own state is the loader and the diagnostics it reports; it returns
/// the `ir::Data` and its row type, which the checker stores (under a unique name).
struct DataPass<'l> {
    loader: &'l dyn SourceLoader,
    diags: Vec<Diagnostic>,
}

impl DataPass<'_> {
    /// Reports `d` (in the declaring module).
    fn emit(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// `pick: STRATEGY` (a bare name or a string); `None` when unknown (reported).
    fn data_pick(&mut self, m: &Module, v: &ast::Expr) -> Option<Pick> {
        let given = match &v.kind {
            A::Name(p) => Some(p.name.clone()),
            _ => literal_string(v),
        };
        if let Some(p) = given.as_deref().and_then(pick_of) {
            return Some(p);
        }
        let g = given.unwrap_or_else(|| m.text(v.span).to_string());
        let s = did_you_mean(&g, PICKS.iter().copied());
        self.emit(codes::unknown_pick(v.span, &g, &s, PICKS));
        None
    }

    pub(crate) fn check_data(
        &mut self,
        m: &Module,
        name: &ast::Ident,
        source: &ast::Expr,
        taken: &[String],
    ) -> Option<(ir::Data, Type)> {
        let module = m.id;
        let A::Call { callee, args } = &source.kind else {
            self.emit(codes::bad_data_decl(
                source.span,
                "expected `csv(..)`, `json(..)` or `lines(..)`",
            ));
            return None;
        };
        let A::Name(fmt) = &callee.kind else {
            self.emit(codes::bad_data_decl(
                callee.span,
                "expected `csv`, `json` or `lines`",
            ));
            return None;
        };
        let format = match fmt.name.as_str() {
            "csv" => DataFormat::Csv,
            "json" => DataFormat::Json,
            "lines" => DataFormat::Lines,
            other => {
                let s = did_you_mean(other, FORMATS.iter().copied());
                self.emit(codes::unknown_format(fmt.span, other, &s));
                return None;
            }
        };
        let (path, pick, ok) = self.data_args(m, fmt, args);
        let Some((path, path_span)) = path else {
            if ok {
                self.emit(codes::missing(
                    source.span,
                    &format!("`{}(..)`", fmt.name),
                    "argument",
                    "path",
                    "\"data/file.csv\"",
                ));
            }
            return None;
        };
        let full = crate::files::data_path(&m.dir, &path);
        let loaded = self.load_data_file(&full, format, &path, path_span, ok)?;
        let row_ty = loaded.row_type(format == DataFormat::Lines);
        let data = ir::Data {
            name: unique_name(taken, &name.name, m),
            format,
            path: if module == 0 { path } else { full },
            pick,
            columns: loaded.columns,
            rows: loaded.rows,
            loc: Loc::new(module, name.span),
        };
        Some((data, row_ty))
    }

    /// The path and `pick:` of a data source, and whether they were free of errors.
    fn data_args(
        &mut self,
        m: &Module,
        fmt: &ast::Ident,
        args: &[ast::Arg],
    ) -> (Option<(String, Span)>, Pick, bool) {
        let mut path: Option<(String, Span)> = None;
        let mut pick = Pick::Sequential;
        let mut ok = true;
        let mut positional = 0;
        for a in args {
            match &a.name {
                None => {
                    positional += 1;
                    if positional > 1 {
                        self.emit(codes::arg_count(
                            a.span,
                            &fmt.name,
                            "a path and `pick:`",
                            positional,
                        ));
                        ok = false;
                        continue;
                    }
                    match literal_string(&a.value) {
                        Some(p) if !p.is_empty() => path = Some((p, a.value.span)),
                        _ => {
                            self.emit(codes::bad_data_decl(
                                a.value.span,
                                "the path must be a constant string",
                            ));
                            ok = false;
                        }
                    }
                }
                Some(n) => {
                    let unknown = |sp, name: &str, s: &Option<String>, acc: &[&str]| {
                        codes::unknown_arg(sp, &fmt.name, name, s, acc)
                    };
                    let picked = match args::lookup(DATA_ARGS, &n.name, n.span, unknown) {
                        Ok(DataArg::Pick) => self.data_pick(m, &a.value),
                        Err(d) => {
                            self.emit(*d);
                            None
                        }
                    };
                    match picked {
                        Some(p) => pick = p,
                        None => ok = false,
                    }
                }
            }
        }
        (path, pick, ok)
    }

    /// Reads and parses a data file through the loader (after reporting an unreadable
    /// one, nothing more if the declaration had errors: `ok` false). The rows are the
    /// loader's, shared.
    fn load_data_file(
        &mut self,
        full: &str,
        format: DataFormat,
        path: &str,
        path_span: Span,
        ok: bool,
    ) -> Option<data::Loaded> {
        let table = match self.loader.load_table(full, format) {
            Ok(t) => t,
            Err(why) => {
                self.emit(codes::data_unreadable(path_span, path, &why));
                return None;
            }
        };
        if !ok {
            return None;
        }
        match &*table {
            Ok(l) => Some(data::Loaded {
                columns: l.columns.clone(),
                rows: l.rows.clone(),
            }),
            Err(e) if e.too_large => {
                self.emit(codes::data_too_large(path_span, path, &e.why));
                None
            }
            Err(e) => {
                self.emit(codes::data_malformed(path_span, path, &e.why, &e.help));
                None
            }
        }
    }
}
