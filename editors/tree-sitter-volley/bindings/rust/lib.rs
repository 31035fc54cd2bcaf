//! The tree-sitter grammar of Volley's `.load` files (`grammar.js`, generated into
//! `src/parser.c` by `tree-sitter generate`) and its highlight query. Editors use the
//! grammar directory itself (docs/editors.md); this binding exists so that `cargo test`
//! checks the committed parser: every example parses without an error node, and the
//! highlight query compiles against the grammar.

use tree_sitter_language::LanguageFn;

extern "C" {
    fn tree_sitter_volley() -> *const ();
}

/// The language, for `tree_sitter::Parser::set_language(&LANGUAGE.into())`.
// SAFETY: `tree_sitter_volley` is the C function of the generated parser; it takes no
// argument and returns a pointer to a static `TSLanguage`.
pub const LANGUAGE: LanguageFn = unsafe { LanguageFn::from_raw(tree_sitter_volley) };

/// The highlight query with nvim-treesitter's capture names (queries/highlights.scm).
pub const HIGHLIGHTS_QUERY: &str = include_str!("../../queries/highlights.scm");

/// The highlight query with Helix's scope names (queries/helix/highlights.scm).
pub const HELIX_HIGHLIGHTS_QUERY: &str = include_str!("../../queries/helix/highlights.scm");

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn parser() -> tree_sitter::Parser {
        let mut p = tree_sitter::Parser::new();
        p.set_language(&super::LANGUAGE.into())
            .expect("the generated parser's ABI matches the runtime");
        p
    }

    /// The first error or missing node of `tree`, as `line:column kind`.
    fn first_error(tree: &tree_sitter::Tree) -> Option<String> {
        let mut cursor = tree.walk();
        let mut stack = vec![tree.root_node()];
        while let Some(n) = stack.pop() {
            if n.is_error() || n.is_missing() {
                let p = n.start_position();
                return Some(format!("{}:{} {}", p.row + 1, p.column + 1, n.kind()));
            }
            if n.has_error() {
                stack.extend(n.children(&mut cursor));
            }
        }
        None
    }

    fn load_files(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut out: Vec<_> = std::fs::read_dir(dir)
            .expect("the directory exists")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "load"))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn every_example_and_valid_or_lint_case_parses_without_an_error() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = load_files(&root.join("examples"));
        let examples = files.len();
        files.extend(load_files(&root.join("tests/cases/valid")));
        let lint = std::fs::read_dir(root.join("tests/cases/lint")).expect("the lint cases");
        for dir in lint.flatten() {
            files.extend(load_files(&dir.path()));
        }
        assert!(examples >= 20, "{examples} examples");
        let mut p = parser();
        let mut failures = Vec::new();
        for f in &files {
            let text = std::fs::read_to_string(f).expect("readable");
            let tree = p.parse(&text, None).expect("a tree");
            if let Some(e) = first_error(&tree) {
                failures.push(format!("{}:{e}", f.display()));
            }
        }
        assert!(files.len() >= 150, "{} files", files.len());
        assert!(failures.is_empty(), "error nodes:\n{}", failures.join("\n"));
    }

    #[test]
    fn a_file_the_compiler_refuses_has_an_error_node() {
        let mut p = parser();
        let tree = p.parse("scenario s { let = }\n", None).expect("a tree");
        assert!(
            first_error(&tree).is_some(),
            "{}",
            tree.root_node().to_sexp()
        );
    }

    #[test]
    fn the_tree_has_the_shape_the_queries_name() {
        let mut p = parser();
        let src = "target api = \"http://x/{id}\"\nflow f(n: int) -> int {\n  let r = get(api, \"/\", name: \"x\")\n  return r.json(\"a\").int() + 1\n}\n";
        let tree = p.parse(src, None).expect("a tree");
        let s = tree.root_node().to_sexp();
        for want in [
            "(target name: (identifier) value: (string (string_content) (interpolation (identifier))))",
            "(flow_declaration name: (identifier)",
            "(argument name: (identifier) value: (string (string_content)))",
            "(call function: (field_access value: (call function: (field_access",
        ] {
            assert!(s.contains(want), "{want} in {s}");
        }
    }

    #[test]
    fn the_highlight_queries_compile_and_capture() {
        let src = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart.load"),
        )
        .expect("readable");
        let tree = parser().parse(&src, None).expect("a tree");
        for (name, text) in [
            ("neovim", super::HIGHLIGHTS_QUERY),
            ("helix", super::HELIX_HIGHLIGHTS_QUERY),
        ] {
            let q = tree_sitter::Query::new(&super::LANGUAGE.into(), text)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut cursor = tree_sitter::QueryCursor::new();
            let mut captured = std::collections::BTreeSet::new();
            let mut matches = cursor.matches(&q, tree.root_node(), src.as_bytes());
            while let Some(m) = tree_sitter::StreamingIterator::next(&mut matches) {
                for c in m.captures {
                    captured.insert(q.capture_names()[c.index as usize].to_string());
                }
            }
            for want in ["comment", "string", "function"] {
                assert!(
                    captured.iter().any(|c| c.starts_with(want)),
                    "{name}: no {want} capture in {captured:?}"
                );
            }
            assert!(captured.len() >= 12, "{name}: {captured:?}");
        }
    }
}
