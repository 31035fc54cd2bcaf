//! Every `load` example in SPEC.md, docs/ and examples/ passes `volley check`.

use crate::support::*;
use std::time::Duration;

fn check_blocks(markdown_path: &std::path::Path, tag: &str) {
    let Ok(text) = std::fs::read_to_string(markdown_path) else {
        panic!("cannot read {}", markdown_path.display());
    };
    let blocks = load_blocks(&text);
    assert!(
        !blocks.is_empty(),
        "no load examples in {}",
        markdown_path.display()
    );
    let dir = temp_dir(tag);
    with_example_data(&dir);
    for (line, body) in blocks {
        let file = dir.join(format!("example_line{line}.load"));
        std::fs::write(&file, &body).unwrap();
        let out = volley_in(
            &dir,
            &["check", file.to_str().unwrap()],
            Duration::from_secs(30),
        );
        assert!(
            out.status.success(),
            "{} example at line {line} does not check:\n{}",
            markdown_path.display(),
            text_of(&out)
        );
    }
}

fn text_of(out: &std::process::Output) -> String {
    text(out)
}

#[test]
fn spec_examples_check() {
    check_blocks(&spec_md(), "spec");
}

#[test]
fn language_reference_examples_check() {
    check_blocks(&repo().join("docs/language.md"), "langref");
}

#[test]
fn kubernetes_guide_examples_check() {
    check_blocks(&repo().join("docs/kubernetes.md"), "k8sguide");
}

#[test]
fn readme_examples_check() {
    check_blocks(&repo().join("README.md"), "readme");
}

#[test]
fn every_example_file_checks() {
    let mut n = 0;
    for entry in std::fs::read_dir(repo().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "load") {
            let out = volley(&["check", path.to_str().unwrap()]);
            assert!(
                out.status.success(),
                "{} does not check:\n{}",
                path.display(),
                text(&out)
            );
            n += 1;
        }
    }
    assert!(
        n >= 8,
        "expected the examples directory to hold at least 8 files, found {n}"
    );
}
