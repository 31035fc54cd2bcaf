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

/// Every exit code the code defines: `volley_plan::ExitCode`, the one list every crate uses.
fn defined_exit_codes() -> std::collections::BTreeSet<u32> {
    volley_plan::ExitCode::ALL
        .iter()
        .map(|e| u32::from(e.code()))
        .collect()
}

#[test]
fn the_faults_page_documents_every_exit_code_the_code_defines() {
    let page = std::fs::read_to_string(repo().join("docs/faults.md")).unwrap();
    let section = page
        .split("\n## ")
        .find(|s| s.starts_with("Exit codes"))
        .expect("docs/faults.md has an `## Exit codes` section");
    let codes = defined_exit_codes();
    for code in [0, 2, 99, 104, 105, 108, 110, 111] {
        assert!(codes.contains(&code), "{code} was not found in the code");
    }
    for code in codes {
        assert!(
            section.contains(&format!("\n| {code} |")),
            "docs/faults.md's exit codes lack {code}"
        );
    }
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(
        readme.contains("docs/faults.md"),
        "the README links the page"
    );
}
