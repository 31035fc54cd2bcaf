//! Tidy: house rules of the source tree that no compiler checks, each its own module
//! over one shared walk of the sources and one scanner that blanks comments, strings and
//! character literals: library crates do not print (`prints`), every module opens with
//! its `//!` (`docs`), and no compiler function is too long or too deep (`shape`).

use std::path::{Path, PathBuf};

mod docs;
mod prints;
mod shape;

/// The source with comments, strings and character literals blanked out (newlines and
/// delimiters kept), so that only code is searched.
pub fn code_only(src: &str) -> String {
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

/// Every `.rs` file under `dir` (none when it does not exist), sorted; `tests/` folders
/// are left out when `skip_tests` is set.
pub fn rust_files(dir: &Path, skip_tests: bool, into: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            if !(skip_tests && p.file_name().is_some_and(|n| n == "tests")) {
                rust_files(&p, skip_tests, into);
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            into.push(p);
        }
    }
}

/// The code with every `#[cfg(test)]` item that has a body (`mod tests { … }`) removed,
/// and the names of `#[cfg(test)] mod NAME;` declarations (test-only module files).
pub fn without_test_modules(code: &str) -> (String, Vec<String>) {
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
