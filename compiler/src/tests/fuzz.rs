//! Mutated SPEC examples never make the compiler (or the linter) panic, and whatever compiles cleanly
//! has a plan; compiling twice gives byte-identical plans.

use super::compile_src;
use proptest::prelude::*;

const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    "=",
    "->",
    "..",
    "\"",
    "\"{",
    "}\"",
    "vu.id",
    "setup.x",
    "1s",
    "0",
    "-1",
    "99999999999",
    "400",
    "1%",
    "2/s",
    "512Mi",
    "secret s = env(\"S\")\n",
    "flow f() { f() }\n",
    "fn g(x: int) -> int { x / 0 }\n",
    "let a = a\n",
    "import std/profiles\n",
    "import \"x.load\"\n",
    "after(shoppers)",
    "not ",
    " and ",
    "check ",
    "return ",
    "sleep ",
    "users.next().",
    "res.json(\"a\").",
    "profiles.stress(peak: 0)",
    "\n",
    " ",
    "@",
    "…",
    "é",
];

fn mutate(src: &str, ops: &[(u8, usize, usize)]) -> String {
    let mut chars: Vec<char> = src.chars().collect();
    for (op, a, b) in ops {
        if chars.is_empty() {
            break;
        }
        let i = a % chars.len();
        match op % 4 {
            0 => {
                let end = (i + b % 12).min(chars.len());
                chars.drain(i..end);
            }
            1 => {
                let t = TOKENS[b % TOKENS.len()];
                for (k, c) in t.chars().enumerate() {
                    chars.insert(i + k, c);
                }
            }
            2 => {
                let j = b % chars.len();
                chars.swap(i, j);
            }
            _ => {
                // Duplicate a short stretch (e.g. a line) somewhere else.
                let end = (i + b % 40).min(chars.len());
                let piece: Vec<char> = chars[i..end].to_vec();
                let at = b.wrapping_mul(7) % chars.len();
                for (k, c) in piece.into_iter().enumerate() {
                    chars.insert(at + k, c);
                }
            }
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("VOLLEY_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_spec_examples_never_panic(which in 0usize..3, ops in prop::collection::vec((any::<u8>(), any::<usize>(), any::<usize>()), 1..6)) {
        let examples = super::spec::spec_examples();
        if examples.is_empty() {
            return Ok(());
        }
        let (_, src) = &examples[which % examples.len()];
        let mutated = mutate(src, &ops);
        let c = compile_src(&mutated);
        let has_error = c.diagnostics.iter().any(|d| d.is_error());
        prop_assert_eq!(c.plan.is_some(), !has_error);
        for d in &c.diagnostics {
            prop_assert!(!d.code.is_empty() && !d.message.is_empty());
            prop_assert!(d.span().is_some(), "every diagnostic has a label: {:?}", d);
            if let Some(text) = c.sources.get(&d.file) {
                let s = d.span().unwrap_or_default();
                prop_assert!(s.start <= s.end && s.end <= text.len(), "span inside its file: {:?}", d);
            }
        }
        // Whatever compiles also lints without panicking, every finding labelled in its file.
        if let (Some(ir), Some(plan)) = (&c.ir, &c.plan) {
            for d in crate::lint::lint(ir, plan, &crate::lint::Config::default()) {
                let s = d.span().unwrap_or_default();
                let len = c.sources.get(&d.file).map_or(0, String::len);
                prop_assert!(d.code.starts_with('L') && s.start <= s.end && s.end <= len, "{:?}", d);
            }
        }
    }
}

#[test]
fn plans_are_deterministic() {
    for (line, src) in super::spec::spec_examples() {
        let a = compile_src(&src).plan.map(|p| volley_plan::to_json(&p));
        let b = compile_src(&src).plan.map(|p| volley_plan::to_json(&p));
        assert!(a.is_some(), "example at line {line} compiles");
        assert_eq!(a, b, "example at line {line}");
    }
}
