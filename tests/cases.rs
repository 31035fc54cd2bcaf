//! The invalid-file corpus: `tests/cases/invalid/*.load`, each carrying its expected
//! diagnostics inline as `// ^^^ E0203` lines whose carets sit under the span they mean
//! (on the nearest line above that is not itself an annotation). Every annotated error must
//! be reported at exactly that span, and every reported error must be annotated. The
//! rendered diagnostics are snapshot-tested with insta. `tests/cases/valid/*.load` must
//! compile with no error.

use crate::support::repo;
use std::collections::BTreeSet;
use std::path::Path;
use volley_compiler::{compile, CompileOptions, FsLoader};

/// (line, first column, last column exclusive, code), 1-based line and column.
pub(crate) type Expect = (usize, usize, usize, String);

pub(crate) fn annotations(source: &str) -> BTreeSet<Expect> {
    let mut out = BTreeSet::new();
    let mut last_code_line = 0;
    for (i, line) in source.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("//") {
            let rest_trim = rest.trim_start();
            if rest_trim.starts_with('^') {
                let caret_col = line.find('^').unwrap();
                let carets = rest_trim.chars().take_while(|c| *c == '^').count();
                let code = rest_trim[carets..]
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_string();
                out.insert((last_code_line, caret_col + 1, caret_col + 1 + carets, code));
                continue;
            }
        }
        last_code_line = i + 1;
    }
    out
}

pub(crate) fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map(|p| p + 1).unwrap_or(0) + 1;
    (line, col)
}

fn compile_case(path: &Path) -> volley_compiler::Compiled {
    let loader = FsLoader::new(path.parent().unwrap());
    let entry = path.file_name().unwrap().to_string_lossy().into_owned();
    compile(&entry, &loader, &CompileOptions { params: vec![] })
}

fn case_files(dir: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(repo().join("tests/cases").join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "load"))
        .collect();
    files.sort();
    files
}

#[test]
fn invalid_cases_report_their_codes_at_their_spans() {
    let files = case_files("invalid");
    assert!(
        files.len() >= 40,
        "the corpus holds {} invalid cases, want ≥ 40",
        files.len()
    );
    let mut failures = Vec::new();
    for path in files {
        let source = std::fs::read_to_string(&path).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let compiled = compile_case(&path);
        if std::env::var_os("VOLLEY_BLESS_CASES").is_some() {
            bless(&path, &source, &compiled);
            continue;
        }
        let expected = annotations(&source);
        assert!(!expected.is_empty(), "{name}: no `// ^^^ CODE` annotation");
        let entry = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut actual = BTreeSet::new();
        let mut rendered = String::new();
        for d in compiled.diagnostics.iter().filter(|d| d.is_error()) {
            let span = d.span().unwrap_or_default();
            let text = compiled
                .sources
                .get(&d.file)
                .map(String::as_str)
                .unwrap_or("");
            let (line, col) = line_col(text, span.start);
            if d.file == entry {
                actual.insert((line, col, col + span.len().max(1), d.code.clone()));
            }
            rendered.push_str(&format!(
                "{}[{}] {}:{}: {}\n{}",
                "error",
                d.code,
                line,
                col,
                d.message,
                d.help
                    .as_ref()
                    .map(|h| format!("  help: {h}\n"))
                    .unwrap_or_default()
            ));
        }
        if expected != actual {
            failures.push(format!(
                "{name}:\n  expected {expected:?}\n  actual   {actual:?}\n{rendered}"
            ));
            continue;
        }
        insta::with_settings!({snapshot_path => repo().join("tests/snapshots"), prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(format!("invalid__{name}"), rendered);
        });
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `VOLLEY_BLESS_CASES=1 cargo test cases`: rewrites each invalid case's annotations from
/// what the compiler reports now. For authoring new cases only; review the diff.
fn bless(path: &Path, source: &str, compiled: &volley_compiler::Compiled) {
    let entry = path.file_name().unwrap().to_string_lossy().into_owned();
    let found: Vec<_> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.is_error() && d.file == entry)
        .map(|d| (d.span().unwrap_or_default(), d.code.clone()))
        .collect();
    write_annotations(path, source, &found);
}

/// Rewrites a case file with one `// ^^^ CODE` line under each (span, code), after
/// removing the old annotation lines (spans are offsets into the file without them).
pub(crate) fn write_annotations(
    path: &Path,
    source: &str,
    found: &[(volley_syntax::ast::Span, String)],
) {
    let lines: Vec<&str> = source
        .lines()
        .filter(|l| {
            !l.trim_start().starts_with("//") || !l.trim_start()[2..].trim_start().starts_with('^')
        })
        .collect();
    let clean = lines.join("\n") + "\n";
    let mut notes: Vec<(usize, String)> = Vec::new();
    for (span, code) in found {
        let (line, col) = line_col(&clean, span.start);
        let pad = col.saturating_sub(3);
        let note = format!(
            "//{}{} {}",
            " ".repeat(pad),
            "^".repeat(span.len().max(1)),
            code
        );
        notes.push((line, note));
    }
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        out.push_str(l);
        out.push('\n');
        for (_, n) in notes.iter().filter(|(line, _)| *line == i + 1) {
            out.push_str(n);
            out.push('\n');
        }
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn valid_cases_compile_clean() {
    for path in case_files("valid") {
        let compiled = compile_case(&path);
        let errors: Vec<_> = compiled
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        assert!(compiled.plan.is_some(), "{}: no plan", path.display());
    }
}

#[test]
fn annotation_parser_reads_carets() {
    let src = "let x = foo\n//      ^^^ E0101 unknown\n";
    let set = annotations(src);
    assert_eq!(set, BTreeSet::from([(1, 9, 12, "E0101".to_string())]));
}
