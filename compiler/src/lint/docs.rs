//! The lint documentation, generated from the rules' own `//!` comments: one markdown page
//! per rule (`docs/lints/L0101.md`) and an index (`docs/lints/README.md`). The integration
//! tests compare the checked-in pages with these strings (and rewrite them under
//! `VOLLEY_BLESS_DOCS=1`); `volley lint --explain CODE` prints a page. Pure text: no IO.

use super::{Rule, RULES};
use volley_syntax::Severity;

/// The `//!` comment at the top of a Rust source file, as markdown.
pub fn module_doc(source: &str) -> String {
    let mut out = String::new();
    for line in source.lines() {
        let Some(rest) = line.strip_prefix("//!") else {
            if line.trim().is_empty() && out.is_empty() {
                continue;
            }
            break;
        };
        out.push_str(rest.strip_prefix(' ').unwrap_or(rest));
        out.push('\n');
    }
    out
}

/// The bad and good `load` examples of a rule's documentation.
#[derive(Debug, Default)]
pub struct Examples {
    pub bad: Option<String>,
    pub good: Option<String>,
}

/// The first ```load block after the line `Bad…:` and after the line `Good…:`.
pub fn examples(doc: &str) -> Examples {
    let mut ex = Examples::default();
    let mut which: Option<bool> = None;
    let mut block: Option<String> = None;
    for line in doc.lines() {
        let t = line.trim();
        match (&mut block, t) {
            (None, _) if t.starts_with("Bad") && t.ends_with(':') => which = Some(true),
            (None, _) if t.starts_with("Good") && t.ends_with(':') => which = Some(false),
            (None, "```load") if which.is_some() => block = Some(String::new()),
            (Some(b), "```") => {
                let text = std::mem::take(b);
                match which.take() {
                    Some(true) => ex.bad.get_or_insert(text),
                    _ => ex.good.get_or_insert(text),
                };
                block = None;
            }
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    ex
}

pub fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// The checked-in `docs/lints/<CODE>.md`: a maintainer's note on where it comes from, then
/// the [`page`].
pub fn file_page(rule: &Rule) -> String {
    format!(
        "<!-- Generated from compiler/src/lint/rules/{}: edit the rule's doc comment, then run VOLLEY_BLESS_DOCS=1 cargo test -p volley --test tests lint_docs -->\n\n{}",
        file_of(rule),
        page(rule)
    )
}

/// A rule's page as a user reads it (`volley lint --explain`): title, code, default
/// severity, then its documentation.
pub fn page(rule: &Rule) -> String {
    let doc = rule.doc();
    let mut lines = doc.lines();
    let title = lines.next().unwrap_or("").trim_end_matches('.');
    let rest: Vec<&str> = lines.collect();
    format!(
        "# {} `{}`: {}\n\nDefault severity: **{}**. Silence one finding with `// volley: allow({}) reason`; set the severity for a project in `volley.toml` (`[lints]` `{} = \"error\"|\"warning\"|\"info\"|\"off\"`).\n{}\n",
        rule.code,
        rule.name,
        title,
        severity_word(rule.severity),
        rule.code,
        rule.code,
        rest.join("\n").trim_end()
    )
    .replace("\n\n\n", "\n\n")
}

/// The rule's file name, from its code and name (`l0101_shared_identity.rs`).
pub fn file_of(rule: &Rule) -> String {
    format!(
        "{}_{}.rs",
        rule.code.to_ascii_lowercase(),
        rule.name.replace('-', "_")
    )
}

/// The index of every rule.
pub fn index() -> String {
    let mut out = String::from(
        "<!-- Generated from compiler/src/lint: run VOLLEY_BLESS_DOCS=1 cargo test -p volley --test tests lint_docs -->\n\n# Lint rules\n\n`volley lint FILE…` runs these checks on files that compile (SPEC §4). Each page says what\nthe rule finds, why it matters, and shows a bad and a good example (both are tested).\nOutput formats, exit codes, allow comments and `volley.toml`: [../lint-output.md](../lint-output.md);\nin CI: [../lint-in-ci.md](../lint-in-ci.md).\n\n| code | name | default | finds |\n|---|---|---|---|\n",
    );
    for r in RULES {
        out.push_str(&format!(
            "| [{}]({}.md) | `{}` | {} | {} |\n",
            r.code,
            r.code,
            r.name,
            severity_word(r.severity),
            r.summary
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn examples_are_read_after_their_headings() {
        let doc = "Title.\n\nBad:\n\n```load\nbad\n```\n\nGood:\n\n```load\ngood\n```\n";
        let ex = super::examples(doc);
        assert_eq!(ex.bad.as_deref(), Some("bad\n"));
        assert_eq!(ex.good.as_deref(), Some("good\n"));
        assert_eq!(super::module_doc("//! A\n//!\n//! B\nuse x;\n"), "A\n\nB\n");
    }
}
