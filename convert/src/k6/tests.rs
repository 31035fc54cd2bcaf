//! Every script of the corpus (`tests/convert/k6/`) converts to a file that the compiler
//! accepts and the linter finds no error in, through the compiler's library (the CLI
//! tests in `tests/convert.rs` add k6 itself as the oracle).

use super::convert;
use std::path::{Path, PathBuf};
use volley_compiler::{CompileOptions, FsLoader, LoadError, SourceLoader};

/// The converted text as the entry file; everything else (data files) from the disk.
struct WithEntry {
    entry: String,
    text: String,
    disk: FsLoader,
}

impl SourceLoader for WithEntry {
    fn load_source(&self, path: &str) -> Result<String, LoadError> {
        if path == self.entry {
            return Ok(self.text.clone());
        }
        self.disk.load_source(path)
    }
    fn load_data(&self, path: &str) -> Result<Vec<u8>, LoadError> {
        self.disk.load_data(path)
    }
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/convert/k6")
}

#[test]
fn every_corpus_script_compiles_and_lints_without_errors() {
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "js"))
        .collect();
    scripts.sort();
    assert!(scripts.len() >= 30);
    for script in scripts {
        let name = script.file_name().unwrap().to_string_lossy().into_owned();
        let src = std::fs::read_to_string(&script).unwrap();
        let c = convert(&src, &name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let loader = WithEntry {
            entry: "converted.load".into(),
            text: c.load.clone(),
            disk: FsLoader {
                base_dir: corpus_dir(),
                allowed: Vec::new(),
            },
        };
        let compiled =
            volley_compiler::compile("converted.load", &loader, &CompileOptions::default());
        let errors: Vec<_> = compiled
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}\n{}", c.load);
        let (Some(ir), Some(plan)) = (&compiled.ir, &compiled.plan) else {
            panic!("{name}: no plan");
        };
        let findings = volley_compiler::lint::lint(ir, plan, &Default::default());
        let lint_errors: Vec<_> = findings.iter().filter(|d| d.is_error()).collect();
        assert!(
            lint_errors.is_empty(),
            "{name}: {lint_errors:#?}\n{}",
            c.load
        );
    }
}

#[test]
fn a_left_statement_keeps_its_source_and_reason_in_place() {
    let src = "import http from 'k6/http';\n\
               export default function () {\n  const x = a ? 1 : 2;\n  http.get('http://127.0.0.1:8088/health');\n}\n";
    let c = convert(src, "t.js").unwrap();
    let at = c.load.find("not converted: a ?: expression").unwrap();
    let get = c.load.find("get(local, \"/health\")").unwrap();
    assert!(at < get, "{}", c.load);
    assert_eq!(c.report.left.len(), 1);
    assert_eq!(c.report.left[0].line, 3);
}

#[test]
fn syntax_errors_name_the_line() {
    let e = convert("let a = 1;\nexport default function ( {", "bad.js").unwrap_err();
    assert!(e.to_string().starts_with("bad.js:2:"), "{e}");
}

#[test]
fn the_response_url_converts() {
    let src = "import http from 'k6/http';\n\
               export default function () {\n  const res = http.get('http://127.0.0.1:8088/health');\n  console.log(res.url);\n}\n";
    let c = convert(src, "t.js").unwrap();
    assert!(c.load.contains("log(\"{res.url}\")"), "{}", c.load);
    assert!(c.report.left.is_empty(), "{:?}\n{}", c.report.left, c.load);
}

/// k6's `params.redirects` is the request's own `redirects:`: a constant, a value known
/// at run time, and a constant outside Volley's 0 to 1000 clamped with a note.
#[test]
fn the_redirects_param_converts() {
    let src = "import http from 'k6/http';\n\
               export default function () {\n  \
               http.get('http://127.0.0.1:8088/a', { redirects: 0 });\n  \
               http.get('http://127.0.0.1:8088/b', { redirects: __VU });\n  \
               http.post('http://127.0.0.1:8088/c', 'x', { redirects: -1, timeout: '2s' });\n}\n";
    let c = convert(src, "t.js").unwrap();
    assert!(
        c.load.contains("get(local, \"/a\", redirects: 0)"),
        "{}",
        c.load
    );
    assert!(
        c.load.contains("get(local, \"/b\", redirects: vu.id)"),
        "{}",
        c.load
    );
    assert!(c.load.contains("redirects: 0, timeout: 2s"), "{}", c.load);
    assert!(c.report.left.is_empty(), "{:?}\n{}", c.report.left, c.load);
    let notes: Vec<_> = c.report.approximated.iter().map(|n| n.line).collect();
    assert_eq!(notes, vec![5], "{:?}", c.report.approximated);
    let e = convert(&src.replace("redirects: 0", "redirects: 1.5"), "t.js").unwrap();
    assert!(
        e.report.left.iter().any(|n| n.line == 3),
        "{:?}",
        e.report.left
    );
}
