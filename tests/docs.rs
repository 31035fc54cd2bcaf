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

/// Every exit code the code defines: the CLI's `exit` module, the engine's `run::exit`
/// module, the verdicts' codes and the runner's lost-coordinator code.
fn defined_exit_codes() -> std::collections::BTreeSet<u32> {
    let read = |p: &str| std::fs::read_to_string(repo().join(p)).unwrap();
    let mut codes = std::collections::BTreeSet::new();
    let mut number_after = |text: &str, marker: &str| {
        for (i, _) in text.match_indices(marker) {
            let digits: String = text[i + marker.len()..]
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse() {
                codes.insert(n);
            }
        }
    };
    let module = |text: &str, start: &str| -> String {
        let from = text
            .find(start)
            .unwrap_or_else(|| panic!("`{start}` not found"));
        let rest = &text[from..];
        rest[..rest.find("\n}").unwrap()].to_string()
    };
    let cli = read("cli/src/main.rs");
    number_after(&module(&cli, "pub mod exit {"), ": u8 =");
    let run = read("engine/src/run/mod.rs");
    number_after(&module(&run, "pub mod exit {"), ": i32 =");
    let summary = read("engine/src/summary.rs");
    number_after(&module(&summary, "pub fn exit_code(self) -> i32 {"), "=>");
    number_after(
        &read("engine/src/fleet/runner.rs"),
        "EXIT_COORDINATOR_LOST: i32 =",
    );
    codes
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
