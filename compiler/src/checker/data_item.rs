//! Data sources: `data NAME = csv|json|lines("path", pick: STRATEGY)`. The file is read
//! through the loader at compile time (relative to the declaring file), its columns
//! typed, its rows embedded in the plan.

use super::args::{DataArg, DATA_ARGS};
use super::items::{literal_string, unique_name, ItemState};
use super::Checker;
use crate::codes;
use crate::data;
use crate::ir::{self, Loc, ModuleId};
use crate::modules::Module;
use crate::suggest::did_you_mean;
use volley_plan::{DataFormat, Pick};
use volley_syntax::ast::{self, ExprKind as A, ItemKind, Span};

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
        self.emit(m.id, codes::unknown_pick(v.span, &g, &s, PICKS));
        None
    }

    pub(crate) fn ensure_data(&mut self, module: ModuleId, index: usize) -> ItemState {
        let key = (module, index);
        if let Some(s) = self.begin(key) {
            return s;
        }
        let m = self.module(module);
        let Some(ItemKind::Data { name, source }) = m.item(index).map(|i| &i.kind) else {
            return self.finish(key, ItemState::Failed);
        };
        let (state, _) = self.loud(|c| c.check_data(&m, name, source).unwrap_or(ItemState::Failed));
        self.finish(key, state)
    }

    pub(crate) fn check_data(
        &mut self,
        m: &Module,
        name: &ast::Ident,
        source: &ast::Expr,
    ) -> Option<ItemState> {
        let module = m.id;
        let A::Call { callee, args } = &source.kind else {
            self.emit(
                module,
                codes::bad_data_decl(source.span, "expected `csv(..)`, `json(..)` or `lines(..)`"),
            );
            return None;
        };
        let A::Name(fmt) = &callee.kind else {
            self.emit(
                module,
                codes::bad_data_decl(callee.span, "expected `csv`, `json` or `lines`"),
            );
            return None;
        };
        let format = match fmt.name.as_str() {
            "csv" => DataFormat::Csv,
            "json" => DataFormat::Json,
            "lines" => DataFormat::Lines,
            other => {
                let s = did_you_mean(other, FORMATS.iter().copied());
                self.emit(module, codes::unknown_format(fmt.span, other, &s));
                return None;
            }
        };
        let (path, pick, ok) = self.data_args(m, fmt, args);
        let Some((path, path_span)) = path else {
            if ok {
                self.emit(
                    module,
                    codes::missing(
                        source.span,
                        &format!("`{}(..)`", fmt.name),
                        "argument",
                        "path",
                        "\"data/file.csv\"",
                    ),
                );
            }
            return None;
        };
        let full = crate::files::data_path(&m.dir, &path);
        let loaded = self.load_data_file(module, &full, format, &path, path_span, ok)?;
        let row_ty = loaded.row_type(format == DataFormat::Lines);
        let taken: Vec<String> = self.prog.data.iter().map(|t| t.name.clone()).collect();
        let id = self.prog.data.len() as u32;
        self.prog.data.push(ir::Data {
            name: unique_name(&taken, &name.name, m),
            format,
            path: if module == 0 { path } else { full },
            pick,
            columns: loaded.columns,
            rows: loaded.rows,
            loc: Loc::new(module, name.span),
        });
        Some(ItemState::Data(id, row_ty))
    }

    /// The path and `pick:` of a data source, and whether they were free of errors.
    fn data_args(
        &mut self,
        m: &Module,
        fmt: &ast::Ident,
        args: &[ast::Arg],
    ) -> (Option<(String, Span)>, Pick, bool) {
        let module = m.id;
        let mut path: Option<(String, Span)> = None;
        let mut pick = Pick::Sequential;
        let mut ok = true;
        let mut positional = 0;
        for a in args {
            match &a.name {
                None => {
                    positional += 1;
                    if positional > 1 {
                        self.emit(
                            module,
                            codes::arg_count(a.span, &fmt.name, "a path and `pick:`", positional),
                        );
                        ok = false;
                        continue;
                    }
                    match literal_string(&a.value) {
                        Some(p) if !p.is_empty() => path = Some((p, a.value.span)),
                        _ => {
                            self.emit(
                                module,
                                codes::bad_data_decl(
                                    a.value.span,
                                    "the path must be a constant string",
                                ),
                            );
                            ok = false;
                        }
                    }
                }
                Some(n) => {
                    let unknown = |sp, name: &str, s: &Option<String>, acc: &[&str]| {
                        codes::unknown_arg(sp, &fmt.name, name, s, acc)
                    };
                    let picked = match self.arg_key(module, DATA_ARGS, &n.name, n.span, unknown) {
                        Some(DataArg::Pick) => self.data_pick(m, &a.value),
                        None => None,
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

    /// Reads and parses a data file (after reporting an unreadable one, nothing more if
    /// the declaration had errors: `ok` false).
    fn load_data_file(
        &mut self,
        module: ModuleId,
        full: &str,
        format: DataFormat,
        path: &str,
        path_span: Span,
        ok: bool,
    ) -> Option<data::Loaded> {
        let bytes = match self.loader.load_data(full) {
            Ok(b) => b,
            Err(why) => {
                self.emit(module, codes::data_unreadable(path_span, path, &why));
                return None;
            }
        };
        if !ok {
            return None;
        }
        if bytes.len() as u64 > crate::files::MAX_DATA_BYTES {
            let why = crate::LoadError::TooLarge {
                size: bytes.len() as u64,
                limit: crate::files::MAX_DATA_BYTES,
            };
            self.emit(module, codes::data_unreadable(path_span, path, &why));
            return None;
        }
        let loaded = match format {
            DataFormat::Csv => data::read_csv(&bytes),
            DataFormat::Json => data::read_json(&bytes),
            DataFormat::Lines => data::read_lines(&bytes),
        };
        match loaded {
            Ok(l) => Some(l),
            Err(e) if e.too_large => {
                self.emit(module, codes::data_too_large(path_span, path, &e.why));
                None
            }
            Err(e) => {
                self.emit(
                    module,
                    codes::data_malformed(path_span, path, &e.why, &e.help),
                );
                None
            }
        }
    }
}
