//! The reparse equals a whole parse: tricky edits by hand, then random edits of the
//! repository's examples one after another (each compared with `parse` of the new text).

use super::*;
use crate::proptests::{apply, mutation};
use proptest::prelude::*;

/// Reparses `old` → `new` and compares with a whole parse; returns whether the items
/// were reused (no whole parse).
fn same(old: &str, new: &str) -> bool {
    same_after(&Parsed::new(old), new)
}

fn same_after(prev: &Parsed, new: &str) -> bool {
    let old = prev.text.as_str();
    let got = prev.reparse(new);
    let want = Parsed::new(new);
    assert_eq!(got.file, want.file, "{old:?} -> {new:?}");
    assert_eq!(got.diagnostics, want.diagnostics, "{old:?} -> {new:?}");
    prev.file
        .as_deref()
        .is_some_and(|f| reparse(old, f.clone(), new).is_some())
}

const TWO: &str = "let a = 1\nlet b = 2\n// end\n";

#[test]
fn edits_by_hand() {
    let base = "// head\nparam n: int = 3\n\nlet a = 1;let b = [1, 2]\nfn f(x: int) -> int { x + a }\n\
                flow g() {\n  let r = f(2)\n}\nscenario s {\n  workload = constant_vus(vus: n, duration: 1s)\n  \
                iteration { g() }\n}\nthresholds { http_req_duration: p(95) < 400ms }\n";
    assert!(Parsed::new(base).file.is_some());
    // An expression extended at the end of an item, in the middle, at the end of the file.
    assert!(same(TWO, "let a = 1 + 3\nlet b = 2\n// end\n"));
    assert!(same(TWO, "let a = 1\nlet b = 2 * 4\n// end\n"));
    assert!(same(TWO, "let a = 1\nlet b = 2\n// end\nlet c = a\n"));
    assert!(same(base, &base.replace("x + a", "x + a * 2")));
    assert!(same(
        base,
        &base.replace("let b = [1, 2]", "let b = [1, 2, 3]")
    ));
    assert!(same(base, &base.replace("// head", "// the head")));
    assert!(same(base, &base.replace("f(2)", "f(20)")));
    assert!(same(base, &base.replace("400ms", "300ms")));
    // Characters of several bytes sharing a first byte.
    assert!(same(
        "let s = \"é\"\nlet t = 1\n",
        "let s = \"è\"\nlet t = 1\n"
    ));
    // Items removed, duplicated, merged into one name.
    assert!(same(
        base,
        &base.replace("fn f(x: int) -> int { x + a }\n", "")
    ));
    let dup = base.replace("flow g()", "fn h() -> int { 1 }\nflow g()");
    assert!(same(base, &dup));
    // A literal error in the changed part: its diagnostics, moved.
    same(base, &base.replace("f(2)", "f(99999999999999999999)"));
    // Syntax errors: a whole parse (the message is the whole file's).
    assert!(!same(TWO, "let a = 1 +\nlet b = 2\n// end\n"));
    assert!(!same(base, &base.replace("x + a }", "x + a")));
    assert!(!same(TWO, "let a = 1\nxlet b = 2\n// end\n"));
    same("let a = 1\n", "let a = 1\nlet");
    same("", "let a = 1\n");
    same("let a = 1\n", "");
    same(base, base);
}

fn examples() -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    names.retain(|p| p.extension().is_some_and(|e| e == "load"));
    names.sort();
    let text: String = names
        .iter()
        .take(6)
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(Parsed::new(&text).file.is_some(), "the examples parse");
    text
}

/// Edits an editor makes line by line (a comment line inserted, a line removed, a number
/// changed, a line indented) all over the examples: each reparse equals a whole parse,
/// and most of them reuse items (a removed line often breaks a block: a whole parse).
#[test]
fn line_edits_all_over_the_examples() {
    let base = examples();
    let prev = Parsed::new(&base);
    let lines: Vec<&str> = base.split_inclusive('\n').collect();
    let (mut reused, mut total) = (0, 0);
    for i in 0..lines.len() {
        for edit in 0..4 {
            let mut ls: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            match edit {
                0 => ls.insert(i, "// a note\n".into()),
                1 => {
                    ls.remove(i);
                }
                2 => match ls[i].find(|c: char| c.is_ascii_digit()) {
                    Some(at) => ls[i].insert(at, '1'),
                    None => continue,
                },
                _ => ls[i].insert_str(0, "  "),
            }
            total += 1;
            if same_after(&prev, &ls.concat()) {
                reused += 1;
            }
        }
    }
    assert!(
        reused * 3 > total * 2,
        "{reused} of {total} edits reused items"
    );
}

/// Line edits, for the random sessions below.
#[derive(Debug, Clone)]
enum LineEdit {
    Note(usize),
    Remove(usize),
    Digit(usize),
}

fn line_edit(text: &str, e: &LineEdit) -> String {
    let mut ls: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    if ls.is_empty() {
        return text.to_string();
    }
    let n = ls.len();
    match e {
        LineEdit::Note(i) => ls.insert(i % (n + 1), "// a note\n".into()),
        LineEdit::Remove(i) => {
            ls.remove(i % n);
        }
        LineEdit::Digit(i) => {
            let l = &mut ls[i % n];
            if let Some(at) = l.find(|c: char| c.is_ascii_digit()) {
                l.insert(at, '7');
            }
        }
    }
    ls.concat()
}

fn edit() -> impl Strategy<Value = Result<LineEdit, crate::proptests::Mutation>> {
    prop_oneof![
        any::<usize>().prop_map(|i| Ok(LineEdit::Note(i))),
        any::<usize>().prop_map(|i| Ok(LineEdit::Remove(i))),
        any::<usize>().prop_map(|i| Ok(LineEdit::Digit(i))),
        mutation().prop_map(Err),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// A session of edits: each reparse (of the previous reparse) equals a whole parse.
    #[test]
    fn random_edits_reparse_like_a_whole_parse(edits in prop::collection::vec(edit(), 1..12)) {
        let base = examples();
        let mut prev = Parsed::new(&base);
        for e in &edits {
            let text = match e {
                Ok(l) => line_edit(&prev.text, l),
                Err(m) => apply(&prev.text, std::slice::from_ref(m)),
            };
            // Moving the items (no one else holds them) and copying them agree.
            let copied = prev.reparse(&text);
            let got = prev.into_reparse(&text);
            let want = Parsed::new(&text);
            prop_assert_eq!(&copied.file, &got.file);
            prop_assert_eq!(&got.file, &want.file);
            prop_assert_eq!(&got.diagnostics, &want.diagnostics);
            // Back to the start now and then: reparsing a broken file's successor.
            prev = if text.len() % 5 == 0 { Parsed::new(&base).reparse(&text) } else { got };
        }
    }
}
