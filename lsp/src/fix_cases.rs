//! Every fix-it of the test corpus is a code action: each compile error and lint finding
//! of `tests/cases/invalid/*.load` and `tests/cases/lint/*/*.load` whose help names code
//! (a snippet in backticks, `write X`, an example in quotes) gets an edit from
//! [`crate::actions::fixes`] that changes the text; an exact fix leaves a file that
//! parsed still parsing, and a template does once its placeholders (`…`) are filled.
//! Helps that name code but only explain are listed below, each with why.

use crate::actions::{apply, fixes};
use crate::analysis::{analyse, Place};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use volley_syntax::Diagnostic;

/// Helps with code in them that explain rather than fix: (code, start of the help, why).
const EXPLAINS: &[(&str, &str, &str)] = &[
    (
        "E0002",
        "units are:",
        "the table of every unit; the right one is the user's",
    ),
    (
        "E0102",
        "rename one of them",
        "which of two declarations to rename is a choice",
    ),
    ("E0109", "`after(..)` takes", "names no scenario to write"),
    (
        "E0201",
        "`",
        "states the expected type; the value is the user's",
    ),
    (
        "E0207",
        "`",
        "a rule about the values (none, one, at least 1m)",
    ),
    (
        "E0215",
        "the syntax is",
        "the regex syntax; the pattern is the user's",
    ),
    (
        "E0217",
        "the pattern has",
        "counts the groups; which one is meant is the user's",
    ),
    (
        "E0301",
        "a required requirement has no weight",
        "moves a field to another block",
    ),
    (
        "E0319",
        "",
        "tells to use another key (of the user's choosing)",
    ),
    (
        "E0320",
        "a tag value is text",
        "which field of the value to tag is a choice",
    ),
    (
        "E0504",
        "log something",
        "what to log instead is the user's",
    ),
    (
        "E0701",
        "remove one `start",
        "which scenario to unchain is a choice",
    ),
    (
        "E0703",
        "`",
        "turns another declaration (the fn) into a flow",
    ),
    ("E0710", "move it", "moves the value into another option"),
    (
        "E0711",
        "a loop variable",
        "a `var` declared elsewhere and assigned",
    ),
    (
        "E0717",
        "a part is text",
        "the kinds of part; the value is the user's",
    ),
    ("E0719", "a ", "compare another metric: which is the user's"),
    (
        "E0802",
        "a subprotocol is a token",
        "the token syntax; the name is the user's",
    ),
    (
        "E0803",
        "close with",
        "a range of close codes to choose from",
    ),
    ("E0820", "the path is relative", "a file to fix on disk"),
    (
        "E0826",
        "metadata keys",
        "the key syntax; the key is the user's",
    ),
    (
        "L0104",
        "add rows",
        "more rows, longer pauses or another workload: a choice",
    ),
    ("L0106", "do fleet-wide", "moves work into `setup`"),
    (
        "L0113",
        "record `",
        "where to record the metric is the user's",
    ),
    (
        "L0119",
        "give the loop an end",
        "where the loop ends is the user's",
    ),
    (
        "L0120",
        "tag with a value",
        "which smaller set to tag with is a choice",
    ),
];

fn case_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/cases");
    let mut out = Vec::new();
    let mut push_dir = |dir: &Path| {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "load") {
                    out.push(p);
                }
            }
        }
    };
    push_dir(&root.join("invalid"));
    if let Ok(rd) = std::fs::read_dir(root.join("lint")) {
        for e in rd.flatten() {
            push_dir(&e.path());
        }
    }
    out.sort();
    out
}

/// Whether a help names code to write (the test's own reading, independent of the
/// rules in `actions`).
fn names_code(help: &str) -> bool {
    help.contains('`')
        || help.starts_with("write ")
        || help.contains("e.g. \"")
        || help.contains("such as \"")
}

fn explains(d: &Diagnostic, help: &str) -> Option<&'static str> {
    EXPLAINS
        .iter()
        .find(|(code, start, _)| d.code == *code && help.starts_with(start))
        .map(|(_, _, why)| *why)
}

fn parses(text: &str) -> bool {
    volley_syntax::parse(text).0.is_some()
}

#[test]
fn every_fixit_of_the_corpus_is_a_code_action() {
    let files = case_files();
    assert!(files.len() > 100, "the corpus: {} files", files.len());
    let mut failures = Vec::new();
    let (mut fixits, mut exact, mut explained) = (0, 0, 0);
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let name = path.display().to_string();
        let an = analyse(
            &Place::of(&path),
            &text,
            &HashMap::new(),
            &[],
            &Default::default(),
        );
        let parsed = parses(&text);
        for d in &an.diagnostics {
            let Some(help) = d.help.as_deref() else {
                continue;
            };
            if !names_code(help) {
                continue;
            }
            if explains(d, help).is_some() {
                explained += 1;
                continue;
            }
            fixits += 1;
            let found: Vec<_> = fixes(d, &text)
                .into_iter()
                .filter(|f| !f.title.starts_with("Allow "))
                .collect();
            let at = d.span().map(|s| (s.start, text.get(s.start..s.end)));
            if found.is_empty() {
                failures.push(format!(
                    "{name}: {} {at:?} `{help}`: no code action",
                    d.code
                ));
                continue;
            }
            for f in found {
                let after = apply(&text, &f.edits);
                let filled = after.replace('…', "0");
                eprintln!(
                    "{name}: {} {at:?} `{help}` -> {} {:?}",
                    d.code, f.title, f.edits
                );
                if after == text {
                    failures.push(format!("{name}: {} `{}` changes nothing", d.code, f.title));
                } else if parsed && f.preferred && !parses(&after) {
                    failures.push(format!(
                        "{name}: {} exact fix `{}` {:?} breaks the parse",
                        d.code, f.title, f.edits
                    ));
                } else if parsed && !parses(&filled) {
                    failures.push(format!(
                        "{name}: {} template `{}` {:?} does not parse once filled",
                        d.code, f.title, f.edits
                    ));
                }
                if f.preferred {
                    exact += 1;
                }
            }
        }
    }
    eprintln!("{fixits} fix-its ({exact} exact), {explained} explanations");
    assert!(
        failures.is_empty(),
        "{} of {fixits} fix-its fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(fixits >= 80, "only {fixits} fix-its in the corpus");
}
