//! House rules of the source tree that no compiler checks: every module file opens with
//! its `//!` doc comment, which says what the module is for and what it must not do.

use super::rust_files;
use crate::support::repo;

/// The crates whose `src/`, `examples/`, `benches/` and `tests/` hold modules (the
/// integration tests of the repository's own `tests/` are walked as well).
const CRATES: &[&str] = &[
    "grammar",
    "compiler",
    "plan",
    "engine",
    "demo",
    "k8s",
    "cli",
    "lsp",
    "convert",
    "grpc-codec",
];

/// Whether a module's text opens with its inner doc comment.
fn opens_with_module_doc(text: &str) -> bool {
    text.trim_start_matches('\u{feff}').starts_with("//!")
}

#[test]
fn the_module_doc_check_tells_documented_from_undocumented_text() {
    assert!(opens_with_module_doc("//! What this is.\n\nuse x;\n"));
    assert!(!opens_with_module_doc("use x;\n//! late\n"));
    assert!(!opens_with_module_doc("/// an item's doc\nfn f() {}\n"));
    assert!(!opens_with_module_doc("// a plain comment\n"));
    assert!(!opens_with_module_doc(""));
}

#[test]
fn every_module_opens_with_its_doc_comment() {
    let root = repo();
    let mut files = Vec::new();
    for krate in CRATES {
        for sub in ["src", "examples", "benches", "tests"] {
            rust_files(&root.join(krate).join(sub), false, &mut files);
        }
    }
    rust_files(&root.join("tests"), false, &mut files);
    files.sort();
    for must in [
        "cli/src/main.rs",
        "compiler/src/lib.rs",
        "tests/tidy/mod.rs",
    ] {
        assert!(
            files.contains(&root.join(must)),
            "the walk missed {must}: it must see every module"
        );
    }
    let missing: Vec<String> = files
        .iter()
        .filter(|f| !opens_with_module_doc(&std::fs::read_to_string(f).expect("a source file")))
        .map(|f| f.strip_prefix(&root).unwrap_or(f).display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "{} module file(s) do not open with a `//!` doc comment saying what the module is \
         for:\n  {}",
        missing.len(),
        missing.join("\n  ")
    );
}
