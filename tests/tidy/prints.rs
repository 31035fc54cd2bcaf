//! Tidy: library crates do not print. Their messages go through `tracing` (levelled,
//! filterable, JSON in pods) or are returned to the CLI, which alone writes to the
//! terminal. This scans the `src/` of every library crate for `print!`, `println!`,
//! `eprint!` and `eprintln!` outside `#[cfg(test)]` modules (inline ones and test-only
//! module files), skipping comments, strings and character literals. The CLI itself
//! writes only through the macros of `cli/src/term.rs`, which do not panic on a closed
//! pipe.

use super::{code_only, rust_files, without_test_modules};
use crate::support::repo;
use std::path::{Path, PathBuf};

/// The library crates: everything but the CLI.
const LIBRARY_CRATES: &[&str] = &[
    "grammar",
    "compiler",
    "plan",
    "engine",
    "demo",
    "k8s",
    "lsp",
    "convert",
    "grpc-codec",
];

const MACROS: &[&str] = &["eprintln", "eprint", "println", "print"];

/// `(line, macro)` of every print macro in `code`.
fn prints(code: &str) -> Vec<(usize, &'static str)> {
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        for m in MACROS {
            let call = format!("{m}!");
            let mut from = 0;
            while let Some(k) = line[from..].find(&call) {
                let at = from + k;
                let before = line[..at].chars().next_back();
                if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    found.push((n + 1, *m));
                }
                from = at + call.len();
            }
        }
    }
    found
}

/// Where the module files of `mod NAME;` declared in `file` live: `NAME.rs` and `NAME/`.
fn module_paths(file: &Path, name: &str) -> [PathBuf; 2] {
    let dir = file.parent().expect("a file has a directory");
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let base = if matches!(stem, "mod" | "lib" | "main") {
        dir.to_path_buf()
    } else {
        dir.join(stem)
    };
    [base.join(format!("{name}.rs")), base.join(name)]
}

/// `path:line: macro!` of every print macro in the `src/` of `crates`, outside test
/// modules and the files `except` (relative to the repository), with the number of
/// files scanned.
fn prints_in(crates: &[&str], except: &[&str]) -> (Vec<String>, usize) {
    let root = repo();
    let mut files = Vec::new();
    for c in crates {
        rust_files(&root.join(c).join("src"), false, &mut files);
    }
    files.sort();
    let mut test_only: Vec<PathBuf> = Vec::new();
    let mut scanned: Vec<(PathBuf, String)> = Vec::new();
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let (code, test_mods) = without_test_modules(&code_only(&src));
        for m in test_mods {
            test_only.extend(module_paths(f, &m));
        }
        scanned.push((f.clone(), code));
    }
    let mut bad = Vec::new();
    for (f, code) in &scanned {
        if test_only.iter().any(|t| f.starts_with(t)) {
            continue;
        }
        let rel = f
            .strip_prefix(&root)
            .unwrap_or(f)
            .to_string_lossy()
            .into_owned();
        if except.contains(&rel.as_str()) {
            continue;
        }
        for (line, m) in prints(code) {
            bad.push(format!("{rel}:{line}: {m}!"));
        }
    }
    (bad, scanned.len())
}

#[test]
fn library_crates_do_not_print() {
    let (bad, scanned) = prints_in(LIBRARY_CRATES, &[]);
    assert!(
        scanned > 100,
        "the scan found the library sources ({scanned} files)"
    );
    assert!(
        bad.is_empty(),
        "library code prints (log with tracing, or return the text to the CLI):\n{}",
        bad.join("\n")
    );
}

/// The CLI writes through `term`'s macros, which do not panic when the reader of a pipe
/// is gone (`volley run t.load 2>&1 | head`): `println!` and `eprintln!` do, and killed
/// a running test with exit 101 and no summary files.
#[test]
fn the_cli_prints_only_through_term() {
    let (bad, scanned) = prints_in(&["cli"], &["cli/src/term.rs"]);
    assert!(
        scanned > 20,
        "the scan found the CLI sources ({scanned} files)"
    );
    assert!(
        bad.is_empty(),
        "the CLI prints with std's macros (use out!/outln!/err!/errln! of cli/src/term.rs):\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_scan_finds_prints_only_in_code_outside_tests() {
    let src = r##"//! eprintln!("in a doc comment")
fn f() {
    let s = "println!(\"in a string\") {";
    let r = r#"print!("raw")"#;
    let c = '{';
    let q = '\'';
    eprintln!("found {s}{r}{c}{q}");
    writeln!(out, "not a print").ok();
}
#[cfg(test)]
mod tests {
    fn g() { println!("{}", '}'); }
}
#[cfg(test)]
mod more;
fn h<'a>(x: &'a str) { print!("found too {x}"); }
"##;
    let (code, mods) = without_test_modules(&code_only(src));
    assert_eq!(prints(&code), vec![(7, "eprintln"), (16, "print")]);
    assert_eq!(mods, vec!["more".to_string()]);
    let [file, dir] = module_paths(Path::new("e/src/summary.rs"), "tests");
    assert_eq!(file, Path::new("e/src/summary/tests.rs"));
    assert_eq!(dir, Path::new("e/src/summary/tests"));
    let [file, _] = module_paths(Path::new("e/src/http/mod.rs"), "tests");
    assert_eq!(file, Path::new("e/src/http/tests.rs"));
}
