//! What an editor (the `volley lsp` language server) needs from the compiler beyond
//! `compile`: the type of every expression checked ([`analyze`]) and the language's
//! built-in vocabulary for completion, read from the checker's own tables so that the
//! editor never offers a name the compiler refuses. Pure, like the rest of the crate.

use crate::ir::{Const, Loc};
use crate::types::Type;
use crate::{CompileOptions, Compiled, SourceLoader};

/// The type of one checked expression (and its constant value, when folded). An
/// expression checked more than once (a flow body per call site) is listed each time.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeAt {
    pub loc: Loc,
    pub ty: Type,
    pub konst: Option<Const>,
}

/// A compilation for an editor: what `compile` returns, and the types of the
/// expressions the checker reached (also when the file has errors: only a file that
/// does not parse has none). The plan's data sources carry no rows (copying a large
/// data file's rows was a good part of a check; the IR has them, and the linter counts
/// them there): the plan is for linting, not for running.
#[derive(Debug)]
pub struct Analysis {
    pub compiled: Compiled,
    pub types: Vec<TypeAt>,
}

/// Compiles `entry` like [`crate::compile`], keeping every expression's type.
pub fn analyze(entry: &str, loader: &dyn SourceLoader, opts: &CompileOptions) -> Analysis {
    let (compiled, types) = crate::compile_with(entry, loader, opts, true);
    Analysis {
        compiled,
        types: types.unwrap_or_default(),
    }
}

/// The standard library's modules (name, source).
pub fn std_modules() -> &'static [(&'static str, &'static str)] {
    crate::modules::STD
}

/// The import line that brings `name` into scope, when the standard library has it.
pub fn std_import_for(name: &str) -> Option<String> {
    crate::modules::std_import_for(name)
}

/// The workloads, each with its parameters (name, whether it has a default).
pub fn workloads() -> Vec<(&'static str, Vec<(&'static str, bool)>)> {
    crate::checker::vocab::workloads()
}

/// `get`, `post`, ...: the request functions (`request("METHOD", ..)` besides).
pub fn request_methods() -> &'static [&'static str] {
    crate::checker::vocab::request_methods()
}

/// The arguments a request takes by name (`target`, `path`, `json`, `headers`, ...).
pub fn request_options() -> Vec<&'static str> {
    crate::checker::vocab::request_options()
}

/// The fields of a `scenario` block.
pub fn scenario_fields() -> Vec<&'static str> {
    crate::checker::vocab::scenario_fields()
}

/// The fields of a scenario's `http = {..}` record.
pub fn http_fields() -> Vec<&'static str> {
    crate::checker::vocab::http_fields()
}

/// The fields of the `fleet` block.
pub fn fleet_fields() -> Vec<&'static str> {
    crate::checker::vocab::fleet_fields()
}

/// Built-in functions that belong to one place, with that place (`csv`: "in `data NAME
/// = csv(..)`").
pub fn placed_builtins() -> &'static [(&'static str, &'static str)] {
    crate::checker::vocab::placed()
}

/// The pick strategies of a data source (`pick: unique`).
pub fn picks() -> &'static [&'static str] {
    crate::checker::vocab::picks()
}

/// The data formats (`csv`, `json`, `lines`).
pub fn data_formats() -> &'static [&'static str] {
    crate::checker::vocab::formats()
}

/// `vu`, `test`, `runner`, `scenario` and their values (`vu.id`, ...).
pub fn identities() -> Vec<(&'static str, Vec<&'static str>)> {
    crate::checker::vocab::identities()
}

/// k6's built-in metrics and their kind (`http_req_duration`, "trend").
pub fn builtin_metrics() -> Vec<(&'static str, &'static str)> {
    crate::checker::vocab::builtin_metrics()
}

/// The fields and methods of a value of type `ty`, as written in help texts
/// (`json(path)`, `status`); empty for a type without members.
pub fn members(ty: &Type) -> Vec<&'static str> {
    crate::checker::vocab::members(ty)
}

/// A constant as the language writes it, units included (`2m`, `200/s`, `1%`).
pub fn const_text(c: &Const) -> String {
    crate::konst::to_text(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemLoader;

    #[test]
    fn analyze_records_types_even_with_errors() {
        let src = "let a = 400ms\nlet b = a * 2\nlet c = nope\n";
        let loader = MemLoader::new().with("t.load", src);
        let an = analyze("t.load", &loader, &CompileOptions::default());
        assert!(an.compiled.diagnostics.iter().any(|d| d.code == "E0101"));
        let b = src.find("a * 2").unwrap_or(0);
        let at = an
            .types
            .iter()
            .find(|t| t.loc.module == 0 && t.loc.span.start == b && t.loc.span.end == b + 5);
        assert_eq!(at.map(|t| &t.ty), Some(&Type::Duration));
    }

    /// The linter finds in an editor's compilation what it finds in `compile`'s (whose
    /// plan has the data rows), for every example.
    #[test]
    fn an_editor_compilation_lints_like_compile() {
        let dir = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples"));
        let loader = crate::FsLoader {
            base_dir: dir.clone(),
            allowed: Vec::new(),
        };
        let mut linted = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if !name.ends_with(".load") {
                continue;
            }
            let opts = CompileOptions::default();
            let full = crate::compile(&name, &loader, &opts);
            let an = analyze(&name, &loader, &opts);
            assert_eq!(full.diagnostics, an.compiled.diagnostics, "{name}");
            let (Some(ir), Some(plan)) = (&full.ir, &full.plan) else {
                continue;
            };
            let (Some(ir2), Some(plan2)) = (&an.compiled.ir, &an.compiled.plan) else {
                panic!("{name}: the editor's compilation has no plan");
            };
            let config = crate::lint::Config::default();
            let want = crate::lint::lint(ir, plan, &config);
            assert_eq!(crate::lint::lint(ir2, plan2, &config), want, "{name}");
            linted += 1;
        }
        assert!(linted >= 10, "{linted}");
    }

    #[test]
    fn the_vocabulary_comes_from_the_checker() {
        let w = workloads();
        let cv = w.iter().find(|(n, _)| *n == "constant_vus");
        assert!(cv.is_some_and(|(_, ps)| ps.contains(&("duration", false))));
        assert!(request_options().contains(&"headers"));
        // What the LSP completes after `get(api, "/", `: every option, `redirects` too.
        assert!(request_options().contains(&"redirects"));
        assert!(members(&Type::Response).contains(&"status"));
        assert!(identities()
            .iter()
            .any(|(ns, v)| *ns == "vu" && v.contains(&"id")));
    }
}
