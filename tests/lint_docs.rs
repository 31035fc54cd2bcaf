//! The lint documentation is generated from the rules' doc comments and checked in:
//! `docs/lints/<CODE>.md` for every rule and the index `docs/lints/README.md` must equal what
//! `volley_compiler::lint::docs` generates now. `VOLLEY_BLESS_DOCS=1` rewrites them.

use crate::support::repo;
use volley_compiler::lint::{self, docs};

#[test]
fn lint_docs_pages_are_up_to_date() {
    let dir = repo().join("docs/lints");
    let bless = std::env::var_os("VOLLEY_BLESS_DOCS").is_some();
    let mut pages: Vec<(String, String)> = lint::RULES
        .iter()
        .map(|r| (format!("{}.md", r.code), docs::file_page(r)))
        .collect();
    pages.push(("README.md".to_string(), docs::index()));
    let mut stale = Vec::new();
    for (name, want) in &pages {
        let path = dir.join(name);
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, want).unwrap();
            continue;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if &have != want {
            stale.push(name.clone());
        }
    }
    // No page for a rule that no longer exists.
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".md") && !pages.iter().any(|(n, _)| *n == name) {
            stale.push(format!("{name} (no such rule)"));
        }
    }
    assert!(
        stale.is_empty(),
        "docs/lints is out of date: {stale:?}\nrun VOLLEY_BLESS_DOCS=1 cargo test -p volley --test tests lint_docs"
    );
}

#[test]
fn explain_prints_the_page_of_a_rule() {
    let out = crate::support::volley(&["lint", "--explain", "L0101"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text, docs::page(lint::rule("L0101").unwrap()));
    assert!(
        text.starts_with("# L0101 `shared-identity`"),
        "the page starts with its title, not a maintainer's comment:\n{text}"
    );
    let bad = crate::support::volley(&["lint", "--explain", "L9999"]);
    assert_eq!(bad.status.code(), Some(2));
}
