//! `multipart: {field: value, ..}`: a `multipart/form-data` request body, one part per
//! field in source order. A value is text (any scalar, converted where it is written, and
//! known at run time or not) or a file of the test's folder, `file("PATH", name: "..",
//! content_type: "..")`. Files are read here, when the test compiles, through the loader
//! (so inside the test's folder tree), and carried in the plan (`Program::files`, one
//! entry per file however many requests send it); all of them together are bounded by
//! `volley_plan::files::MAX_FILES_BYTES`. The filename defaults to the path's last
//! component and the content type to the one its extension names (`mime_guess`),
//! `application/octet-stream` when it names none.

use super::{Checker, Ctx};
use crate::codes;
use crate::ir::{self, Const, Expr, ExprKind, Intrinsic};
use crate::konst;
use crate::suggest::did_you_mean;
use crate::types::Type;
use crate::LoadError;
use volley_plan::files::MAX_FILES_BYTES;
use volley_plan::FileData;
use volley_syntax::ast::{self, ExprKind as A, Span};

/// The named arguments of `file(..)` in a part.
const FILE_ARGS: &[&str] = &["name", "content_type"];

/// `file(ARGS)` (through parentheses): its arguments.
fn file_args(e: &ast::Expr) -> Option<&[ast::Arg]> {
    match &e.kind {
        A::Paren(inner) => file_args(inner),
        A::Call { callee, args } if matches!(&callee.kind, A::Name(n) if n.name == "file") => {
            Some(args)
        }
        _ => None,
    }
}

/// What `text` cannot hold in a part header (a name, a filename), if anything.
fn header_unsafe(text: &str) -> Option<&'static str> {
    if text.is_empty() {
        Some("it is empty")
    } else if text.chars().any(char::is_control) {
        Some("it holds a control character (a line break, a tab, ..)")
    } else {
        None
    }
}

/// A `file(..)` part's values before the file is read.
struct FileSpec {
    path: String,
    path_span: Span,
    filename: Option<String>,
    content_type: Option<String>,
}

impl<'a> Checker<'a> {
    /// The parts of `multipart: {..}`; `None` when something was wrong (reported).
    pub(crate) fn multipart_body(&mut self, cx: &mut Ctx, a: &ast::Arg) -> Option<Vec<ir::Part>> {
        let mut v = &a.value;
        while let A::Paren(inner) = &v.kind {
            v = inner;
        }
        let fields = match &v.kind {
            A::Record(fields) if !fields.is_empty() => fields,
            A::Record(_) => {
                self.emit(cx.module, codes::multipart_not_record(v.span, "no part"));
                return None;
            }
            _ => {
                let x = self.expr(cx, v);
                if !x.ty.is_error() {
                    let found = format!("{}", x.ty);
                    self.emit(cx.module, codes::multipart_not_record(v.span, &found));
                }
                return None;
            }
        };
        let mut parts = Vec::with_capacity(fields.len());
        let mut ok = true;
        for (i, f) in fields.iter().enumerate() {
            if let Some(first) = fields[..i].iter().find(|g| g.key == f.key) {
                let d = codes::duplicate_field(f.key_span, &f.key, first.key_span);
                self.emit(cx.module, d);
                ok = false;
                continue;
            }
            if let Some(why) = header_unsafe(&f.key) {
                let d = codes::bad_multipart_part(
                    f.key_span,
                    format!("a part's name cannot be sent: {why}"),
                    "this name",
                    "name the part with visible characters, e.g. `\"document\": file(..)`".into(),
                );
                self.emit(cx.module, d);
                ok = false;
                continue;
            }
            match self.multipart_part(cx, f) {
                Some(value) => parts.push(ir::Part {
                    name: f.key.clone(),
                    value,
                }),
                None => ok = false,
            }
        }
        ok.then_some(parts)
    }

    /// One part's value: a file or text.
    fn multipart_part(&mut self, cx: &mut Ctx, f: &ast::RecordField) -> Option<ir::PartValue> {
        if let Some(args) = file_args(&f.value) {
            let spec = self.file_spec(cx, f.value.span, args)?;
            return self.file_part(cx, spec);
        }
        let x = self.expr(cx, &f.value);
        if x.ty.is_error() {
            return None;
        }
        if !x.ty.is_scalar() {
            let help = match x.ty {
                Type::Json => {
                    "convert it first, e.g. `meta: res.json(\"id\").string()`".to_string()
                }
                _ => {
                    "a part is text (a string, a number or a bool) or `file(\"PATH\")`".to_string()
                }
            };
            let d = codes::bad_multipart_part(
                f.value.span,
                format!("part `{}` is {}, neither text nor a file", f.key, x.ty),
                "not text or a file",
                help,
            );
            self.emit(cx.module, d);
            return None;
        }
        Some(ir::PartValue::Text(text_of(x)))
    }

    /// The arguments of `file("PATH", name: "..", content_type: "..")`, checked.
    fn file_spec(&mut self, cx: &mut Ctx, span: Span, args: &[ast::Arg]) -> Option<FileSpec> {
        let mut positional = args.iter().filter(|a| a.name.is_none());
        let Some(path_arg) = positional.next() else {
            let d = codes::bad_multipart_part(
                span,
                "`file(..)` needs the file's path".into(),
                "no path",
                "write `file(\"data/report.csv\")`, relative to the .load file".into(),
            );
            self.emit(cx.module, d);
            return None;
        };
        let mut ok = true;
        for extra in positional {
            let d = codes::arg_count(
                extra.span,
                "file",
                "a path, then `name:` and `content_type:`",
                2,
            );
            self.emit(cx.module, d);
            ok = false;
        }
        let path = self.file_text_arg(cx, path_arg, "the file's path", "data/report.csv");
        let mut spec = FileSpec {
            path: path.clone().unwrap_or_default(),
            path_span: path_arg.value.span,
            filename: None,
            content_type: None,
        };
        ok &= path.is_some();
        for a in args.iter() {
            let Some(n) = &a.name else { continue };
            match n.name.as_str() {
                "name" => {
                    spec.filename = self.file_text_arg(cx, a, "the filename", "report.csv");
                    ok &= spec.filename.is_some() && self.filename_ok(cx, a, &spec.filename);
                }
                "content_type" => {
                    spec.content_type = self.file_text_arg(cx, a, "the content type", "text/csv");
                    ok &= spec.content_type.is_some()
                        && self.content_type_ok(cx, a, &spec.content_type);
                }
                other => {
                    let s = did_you_mean(other, FILE_ARGS.iter().copied());
                    let d = codes::unknown_arg(n.span, "file", other, &s, FILE_ARGS);
                    self.emit(cx.module, d);
                    ok = false;
                }
            }
        }
        ok.then_some(spec)
    }

    /// A constant string argument of `file(..)`; `None` (E0717) otherwise.
    fn file_text_arg(
        &mut self,
        cx: &mut Ctx,
        a: &ast::Arg,
        what: &str,
        example: &str,
    ) -> Option<String> {
        if let Some(s) = super::items::literal_string(&a.value) {
            return Some(s);
        }
        let x = self.expr(cx, &a.value);
        if let Some(Const::Str(s)) = &x.konst {
            return Some(s.clone());
        }
        if x.ty.is_error() {
            return None;
        }
        let d = codes::bad_multipart_part(
            a.value.span,
            format!("{what} of `file(..)` is not a constant string"),
            "not a constant string",
            format!(
                "files are read and their parts written when the test compiles: write \
                 \"{example}\""
            ),
        );
        self.emit(cx.module, d);
        None
    }

    fn filename_ok(&mut self, cx: &Ctx, a: &ast::Arg, name: &Option<String>) -> bool {
        let Some(why) = name.as_deref().and_then(header_unsafe) else {
            return true;
        };
        let d = codes::bad_multipart_part(
            a.value.span,
            format!("this filename cannot be sent in a part header: {why}"),
            "this filename",
            "give a plain name such as `name: \"report.csv\"`".into(),
        );
        self.emit(cx.module, d);
        false
    }

    fn content_type_ok(&mut self, cx: &Ctx, a: &ast::Arg, ct: &Option<String>) -> bool {
        let Some(ct) = ct else { return true };
        let parsed = ct.parse::<mime_guess::mime::Mime>();
        if parsed.is_ok() && !ct.chars().any(char::is_control) {
            return true;
        }
        let d = codes::bad_multipart_part(
            a.value.span,
            format!("`{ct}` is not a media type"),
            "not TYPE/SUBTYPE",
            "write a media type such as \"text/csv\", \"image/png\" or \
             \"application/json; charset=utf-8\"; leave it out to take the one the file's \
             extension names"
                .into(),
        );
        self.emit(cx.module, d);
        false
    }

    /// Reads the file of `spec` into `Program::files` (once per path and content) and
    /// gives its part.
    fn file_part(&mut self, cx: &mut Ctx, spec: FileSpec) -> Option<ir::PartValue> {
        let span = spec.path_span;
        let full = crate::files::data_path(&self.module(cx.module).dir, &spec.path);
        let bytes = match self.loader.load_data(&full) {
            Ok(b) => b,
            Err(LoadError::Outside { resolved, root }) => {
                let d = codes::path_outside(span, &spec.path, &resolved, &root);
                self.emit(cx.module, d);
                return None;
            }
            Err(LoadError::TooLarge { size, .. }) => {
                let d =
                    codes::multipart_files_too_large(span, &spec.path, size, size, MAX_FILES_BYTES);
                self.emit(cx.module, d);
                return None;
            }
            Err(why) => {
                self.emit(
                    cx.module,
                    codes::multipart_file_unreadable(span, &spec.path, &why),
                );
                return None;
            }
        };
        let file = match self
            .prog
            .files
            .iter()
            .position(|f| f.path == spec.path && f.bytes == bytes)
        {
            Some(i) => i,
            None => {
                let size = bytes.len() as u64;
                let total = size
                    + self
                        .prog
                        .files
                        .iter()
                        .map(|f| f.bytes.len() as u64)
                        .sum::<u64>();
                if total > MAX_FILES_BYTES {
                    let d = codes::multipart_files_too_large(
                        span,
                        &spec.path,
                        size,
                        total,
                        MAX_FILES_BYTES,
                    );
                    self.emit(cx.module, d);
                    return None;
                }
                self.prog.files.push(FileData {
                    path: spec.path.clone(),
                    bytes,
                });
                self.prog.files.len() - 1
            }
        };
        let filename = spec.filename.unwrap_or_else(|| {
            std::path::Path::new(&spec.path)
                .file_name()
                .map_or_else(|| spec.path.clone(), |n| n.to_string_lossy().into_owned())
        });
        let content_type = spec.content_type.unwrap_or_else(|| {
            mime_guess::from_path(&spec.path)
                .first_or_octet_stream()
                .essence_str()
                .to_string()
        });
        Some(ir::PartValue::File {
            file: file as u32,
            filename,
            content_type,
        })
    }
}

/// A scalar as a string expression: constants folded to their text, other values
/// converted where they are written (as form fields are).
fn text_of(x: Expr) -> Expr {
    match &x.konst {
        Some(Const::Str(_)) => x,
        Some(c) => {
            let text = konst::to_text(c);
            Expr {
                konst: Some(Const::Str(text)),
                ty: Type::Str,
                ..x
            }
        }
        None if matches!(x.ty, Type::Str | Type::Url) => x,
        None => Expr {
            ty: Type::Str,
            konst: None,
            comptime: x.comptime,
            origins: x.origins.clone(),
            loc: x.loc,
            kind: ExprKind::Intrinsic(Intrinsic::ToStr, vec![x]),
        },
    }
}
