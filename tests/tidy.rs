//! Tidy: library crates do not print. Their messages go through `tracing` (levelled,
//! filterable, JSON in pods) or are returned to the CLI, which alone writes to the
//! terminal. This scans the `src/` of every library crate for `print!`, `println!`,
//! `eprint!` and `eprintln!` outside `#[cfg(test)]` modules (inline ones and test-only
//! module files), skipping comments, strings and character literals.

use crate::support::repo;
use std::path::{Path, PathBuf};

/// The library crates: everything but the CLI.
const LIBRARY_CRATES: &[&str] = &["grammar", "compiler", "plan", "engine", "demo", "k8s"];

const MACROS: &[&str] = &["eprintln", "eprint", "println", "print"];

/// The source with comments, strings and character literals blanked out (newlines and
/// delimiters kept), so that only code is searched.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let keep_lines = |s: &[u8], out: &mut String| {
        out.extend(s.iter().map(|&c| if c == b'\n' { '\n' } else { ' ' }));
    };
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            let end = src[i..].find('\n').map_or(b.len(), |n| i + n);
            keep_lines(&b[i..end], &mut out);
            i = end;
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let end = src[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
            keep_lines(&b[i..end], &mut out);
            i = end;
        } else if c == b'r'
            && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            // A raw string: r"…", r#"…"#, …
            let hashes = b[i + 1..].iter().take_while(|&&h| h == b'#').count();
            if b.get(i + 1 + hashes) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            let close = format!("\"{}", "#".repeat(hashes));
            let body = i + 2 + hashes;
            let end = src[body..]
                .find(&close)
                .map_or(b.len(), |n| body + n + close.len());
            out.push('"');
            keep_lines(&b[i + 1..end.saturating_sub(1)], &mut out);
            out.push('"');
            i = end;
        } else if c == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            out.push('"');
            keep_lines(&b[i + 1..j.min(b.len())], &mut out);
            out.push('"');
            i = j + 1;
        } else if c == b'\'' {
            // A character literal ('{', '\n', '\u{7b}') or a lifetime ('a).
            let lit = if b.get(i + 1) == Some(&b'\\') {
                src.get(i + 3..)
                    .and_then(|t| t.find('\''))
                    .map(|n| i + 3 + n + 1)
            } else if b.get(i + 2) == Some(&b'\'') {
                Some(i + 3)
            } else {
                // A multi-byte character or a lifetime.
                src[i + 1..]
                    .char_indices()
                    .nth(1)
                    .filter(|&(_, ch)| ch == '\'')
                    .map(|(n, _)| i + 1 + n + 1)
            };
            match lit {
                Some(end) => {
                    out.push_str("' '");
                    i = end;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            let ch = src[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// The code with every `#[cfg(test)]` item that has a body (`mod tests { … }`) removed,
/// and the names of `#[cfg(test)] mod NAME;` declarations (test-only module files).
fn without_test_modules(code: &str) -> (String, Vec<String>) {
    let mut kept = String::new();
    let mut test_files = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        kept.push_str(&rest[..at]);
        let after = &rest[at + "#[cfg(test)]".len()..];
        let semi = after.find(';');
        let brace = after.find('{');
        match (semi, brace) {
            (Some(s), b) if b.is_none_or(|b| s < b) => {
                // `mod NAME;` (or a `use`): a file of its own when it is a module.
                let decl = after[..s].split_whitespace().collect::<Vec<_>>();
                if let Some(i) = decl.iter().position(|w| *w == "mod") {
                    if let Some(name) = decl.get(i + 1) {
                        test_files.push(name.to_string());
                    }
                }
                kept.extend(after[..s].chars().filter(|&c| c == '\n'));
                rest = &after[s + 1..];
            }
            (_, Some(b)) => {
                let mut depth = 0usize;
                let mut end = after.len();
                for (k, ch) in after[b..].char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = b + k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                // Keep the line count, so reported lines stay right.
                kept.extend(after[..end].chars().filter(|&c| c == '\n'));
                rest = &after[end..];
            }
            _ => rest = after,
        }
    }
    kept.push_str(rest);
    (kept, test_files)
}

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

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.expect("a directory entry").path();
        if p.is_dir() {
            rust_files(&p, into);
        } else if p.extension().is_some_and(|x| x == "rs") {
            into.push(p);
        }
    }
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

#[test]
fn library_crates_do_not_print() {
    let root = repo();
    let mut files = Vec::new();
    for c in LIBRARY_CRATES {
        rust_files(&root.join(c).join("src"), &mut files);
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
        for (line, m) in prints(code) {
            bad.push(format!("{rel}:{line}: {m}!"));
        }
    }
    assert!(
        scanned.len() > 100,
        "the scan found the library sources ({} files)",
        scanned.len()
    );
    assert!(
        bad.is_empty(),
        "library code prints (log with tracing, or return the text to the CLI):\n{}",
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
