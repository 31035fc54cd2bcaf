//! The docs keep up with the code: the README's two commands, `.ci/run` calling the
//! README's test command, and the exit codes table.

use crate::support::*;

#[test]
fn ci_runs_exactly_the_readme_test_command() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let ci = std::fs::read_to_string(repo().join(".ci/run")).unwrap();
    assert!(
        readme.contains("bash scripts/test.sh"),
        "README names the test command"
    );
    assert!(
        ci.contains("bash scripts/test.sh"),
        ".ci/run calls the README's test command"
    );
    let head: String = readme.lines().take(40).collect::<Vec<_>>().join("\n");
    assert!(
        head.contains("cargo run --release -p volley -- run examples/quickstart.load --demo"),
        "the README begins with the main command"
    );
}

#[test]
fn readme_documents_every_exit_code() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for code in ["| 0 ", "| 99 ", "| 104 ", "| 105 ", "| 108 "] {
        assert!(
            readme.contains(code),
            "README exit-code table lacks `{code}`"
        );
    }
}
