//! Property tests: random token soup and mutated SPEC examples never make `parse` or
//! `format` panic, and whatever parses formats to a fixed point with the same meaning.

use crate::fmt::tests::check_invariants;
use crate::{format, parse};
use proptest::prelude::*;

const TOKENS: &[&str] = &[
    "import",
    "std/checks",
    "{ ok }",
    "param",
    "target",
    "data",
    "secret",
    "metric",
    "let",
    "fn",
    "flow",
    "scenario",
    "setup",
    "teardown",
    "thresholds",
    "fleet",
    "iteration",
    "check",
    "require",
    "sleep",
    "think",
    "group",
    "if",
    "else",
    "repeat",
    "return",
    "var",
    "for",
    "in",
    "while",
    "break",
    "continue",
    "+=",
    "-=",
    "x = 1",
    "for i in 0..3 {",
    "while x < 3 {",
    "not",
    "and",
    "or",
    "true",
    "false",
    "x",
    "vu.id",
    "rate",
    "p(95)",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    ";",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "->",
    "..",
    ".",
    "1",
    "2.5",
    "250ms",
    "1.5s",
    "200/s",
    "512Mi",
    "99.9%",
    "5ks",
    "99999999999999999999",
    "\"s\"",
    "\"a{x}b\"",
    "\"\\{\"",
    "\"",
    "\\",
    "// c\n",
    "\n",
    " ",
    "\t",
    "é",
    "→",
];

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(TOKENS).prop_map(str::to_string),
        1 => any::<char>().prop_map(|c| c.to_string()),
    ]
}

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(token(), 0..80).prop_map(|t| t.join(" "))
}

#[derive(Debug, Clone)]
pub(crate) enum Mutation {
    Delete(usize, usize),
    Insert(usize, String),
    Duplicate(usize, usize),
}

pub(crate) fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..12usize).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), token()).prop_map(|(a, t)| Mutation::Insert(a, t)),
        (any::<usize>(), 1..40usize).prop_map(|(a, n)| Mutation::Duplicate(a, n)),
    ]
}

pub(crate) fn apply(src: &str, muts: &[Mutation]) -> String {
    let mut chars: Vec<char> = src.chars().collect();
    for m in muts {
        let len = chars.len().max(1);
        match m {
            Mutation::Delete(at, n) => {
                let a = at % len;
                let b = (a + n).min(chars.len());
                if a < b {
                    chars.drain(a..b);
                }
            }
            Mutation::Insert(at, t) => {
                let a = (at % (chars.len() + 1)).min(chars.len());
                chars.splice(a..a, t.chars());
            }
            Mutation::Duplicate(at, n) => {
                let a = at % len;
                let b = (a + n).min(chars.len());
                if a < b {
                    let copy: Vec<char> = chars[a..b].to_vec();
                    chars.splice(b..b, copy);
                }
            }
        }
    }
    chars.into_iter().collect()
}

fn examples() -> Vec<String> {
    let mut blocks = crate::parser::tests::spec_blocks();
    if blocks.is_empty() {
        blocks.push(
            "target api = \"http://x\"\nscenario s {\n  workload = constant_vus(vus: 1, \
             duration: 1s) // c\n  iteration { check get(api, \"/\").status == 200 }\n}\n"
                .to_string(),
        );
    }
    blocks
}

fn exercise(src: &str) {
    let (file, diags) = parse(src);
    assert_eq!(file.is_some(), diags.iter().all(|d| !d.is_error()));
    for d in &diags {
        for l in &d.labels {
            assert!(
                l.span.start <= l.span.end && l.span.end <= src.len(),
                "{d:?}"
            );
        }
    }
    if format(src).is_ok() {
        check_invariants(src);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        // Bounded by default; `PROPTEST_CASES=20000` for a longer hunt.
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_token_soup_never_panics(src in soup()) {
        exercise(&src);
    }

    #[test]
    fn mutated_examples_never_panic(
        which in any::<usize>(),
        muts in prop::collection::vec(mutation(), 1..6),
    ) {
        let examples = examples();
        let src = apply(&examples[which % examples.len()], &muts);
        exercise(&src);
    }
}
