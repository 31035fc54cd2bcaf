//! Shape of the compiler's own code: no function longer than `MAX_FN_LINES` or nested
//! deeper than `MAX_DEPTH` in `compiler/src` (test modules and the `tests/` folder
//! excepted). Bodies are found by
//! brace matching on the source with strings, characters and comments blanked out.

use super::{code_only, rust_files, without_test_modules};
use crate::support::repo;

/// The longest a function may be, from its `fn` line to its closing brace.
const MAX_FN_LINES: usize = 100;

/// The deepest a function's blocks may nest (braces inside its body: blocks, match
/// arms and struct literals alike).
const MAX_DEPTH: usize = 6;

/// The index of the brace closing the one at `open`.
fn closing(code: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, c) in code.iter().enumerate().skip(open) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    code.len()
}

/// Whether the word at `i` is a whole identifier.
fn word_at(code: &[u8], i: usize, word: &[u8]) -> bool {
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    code[i..].starts_with(word)
        && (i == 0 || !ident(code[i - 1]))
        && code.get(i + word.len()).is_some_and(|c| !ident(*c))
}

/// How deep braces nest inside the body opening at `open` (its own braces not counted).
fn depth(code: &[u8], open: usize, close: usize) -> usize {
    let (mut d, mut max) = (0usize, 0usize);
    for c in &code[open + 1..close] {
        match c {
            b'{' => {
                d += 1;
                max = max.max(d);
            }
            b'}' => d = d.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Every function with a body: (name, first line, lines, nesting depth).
fn fns(src: &str) -> Vec<(String, usize, usize, usize)> {
    // Test modules are not held to it (removed, line count kept).
    let code = without_test_modules(&code_only(src)).0.into_bytes();
    let line_of = |i: usize| code[..i].iter().filter(|c| **c == b'\n').count() + 1;
    let mut out = Vec::new();
    let mut i = 0;
    while i < code.len() {
        if !word_at(&code, i, b"fn") {
            i += 1;
            continue;
        }
        let name_start = i + 3;
        let name: String = code[name_start..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .map(|c| *c as char)
            .collect();
        if name.is_empty() {
            // `fn(..)`, a function pointer type.
            i += 2;
            continue;
        }
        // The body opens at the first `{` before any `;` (a declaration has none).
        let Some(open) = code[i..]
            .iter()
            .position(|c| *c == b'{' || *c == b';')
            .map(|p| i + p)
            .filter(|p| code[*p] == b'{')
        else {
            i += 2;
            continue;
        };
        let close = closing(&code, open);
        let lines = line_of(close) - line_of(i) + 1;
        out.push((name, line_of(i), lines, depth(&code, open, close)));
        // Nested fns are inside the outer one's count already.
        i = open + 1;
    }
    out
}

#[test]
fn the_scanner_measures_bodies_and_skips_strings_and_tests() {
    let body = "    let x = 1;\n".repeat(MAX_FN_LINES);
    let src = format!(
        "fn short() {{ let s = \"{{\"; let c = '{{'; }}\nfn long<'a>(x: &'a str) {{\n{body}}}\n#[cfg(test)]\nmod tests {{\nfn long_test() {{\n{body}}}\n}}\n#[cfg(test)]\nmod more;\nfn after() {{\n{body}}}\n"
    );
    let found: Vec<(String, usize, usize, usize)> = fns(&src);
    assert_eq!(
        found,
        vec![
            ("short".to_string(), 1, 1, 0),
            ("long".to_string(), 2, MAX_FN_LINES + 2, 0),
            // After a `#[cfg(test)] mod NAME;` declaration, the next item is held to it.
            (
                "after".to_string(),
                2 * MAX_FN_LINES + 11,
                MAX_FN_LINES + 2,
                0
            )
        ]
    );
    let nested = "fn deep() {\n if a { if b { match c { _ => { S { x: 1 } } } } }\n}\n";
    assert_eq!(fns(nested)[0].3, 5);
}

#[test]
fn no_function_in_the_compiler_is_too_long_or_too_deep() {
    let root = repo().join("compiler/src");
    let mut files = Vec::new();
    rust_files(&root, true, &mut files);
    assert!(
        files.len() > 20,
        "found the sources under {}",
        root.display()
    );
    let mut long = Vec::new();
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let shown = f.strip_prefix(&root).unwrap_or(&f).display().to_string();
        for (name, line, lines, depth) in fns(&src) {
            if lines > MAX_FN_LINES {
                long.push(format!("{shown}:{line} `{name}` is {lines} lines"));
            }
            if depth > MAX_DEPTH {
                long.push(format!("{shown}:{line} `{name}` nests {depth} deep"));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines or nested over {MAX_DEPTH} deep; split them \
         (helpers, early returns):\n{}",
        long.join("\n")
    );
}
