//! The lint corpus: `tests/cases/lint/<CODE>/fire_*.load` are realistic unsafe files and
//! `silent_*.load` their safe look-alikes. Each file carries its expected findings inline as
//! `// ^^^ L0101` lines under the span (the annotation format of `cases.rs`): every finding
//! of the file must be annotated at exactly its span, whatever its code, so a fire case
//! also shows that no other rule misfires, and a silent case has no annotation at all.
//! Every registered rule has at least three of each, and a docs page.
//!
//! `VOLLEY_BLESS_CASES=1` rewrites the annotations from what the linter reports now (for
//! authoring; review the diff).

use crate::cases::{annotations, line_col, write_annotations, Expect};
use crate::support::repo;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use volley_compiler::lint::{self, Config};
use volley_compiler::{compile, CompileOptions, FsLoader};
use volley_syntax::Diagnostic;

fn lint_file(path: &Path) -> Result<Vec<Diagnostic>, String> {
    let loader = FsLoader::new(path.parent().unwrap());
    let entry = path.file_name().unwrap().to_string_lossy().into_owned();
    let c = compile(&entry, &loader, &CompileOptions::default());
    match (&c.ir, &c.plan) {
        (Some(ir), Some(plan)) => Ok(lint::lint(ir, plan, &Config::default())),
        _ => Err(format!("does not compile: {:#?}", c.diagnostics)),
    }
}

fn case_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/cases/lint"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(prefix) && name.ends_with(".load")
        })
        .collect();
    out.sort();
    out
}

fn actual(path: &Path, source: &str, found: &[Diagnostic]) -> Result<BTreeSet<Expect>, String> {
    let entry = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut out = BTreeSet::new();
    for d in found {
        if d.file != entry {
            return Err(format!("a finding outside the case file: {d:?}"));
        }
        let span = d.span().unwrap_or_default();
        let (line, col) = line_col(source, span.start);
        out.insert((line, col, col + span.len().max(1), d.code.clone()));
    }
    Ok(out)
}

fn bless(path: &Path, source: &str) {
    let clean: String = source
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with("//") && t[2..].trim_start().starts_with('^'))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(path, &clean).unwrap();
    let found = lint_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spans: Vec<_> = found
        .iter()
        .map(|d| (d.span().unwrap_or_default(), d.code.clone()))
        .collect();
    write_annotations(path, &clean, &spans);
}

fn render(found: &[Diagnostic], source: &str) -> String {
    found
        .iter()
        .map(|d| {
            let (l, c) = line_col(source, d.span().unwrap_or_default().start);
            format!("  {}:{l}:{c} {}\n", d.code, d.message)
        })
        .collect()
}

#[test]
fn lint_cases_fire_at_their_spans_and_look_alikes_stay_silent() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for dir in case_dirs() {
        let code = dir.file_name().unwrap().to_string_lossy().into_owned();
        for (prefix, fires) in [("fire_", true), ("silent_", false)] {
            for path in files(&dir, prefix) {
                let name = format!("{code}/{}", path.file_name().unwrap().to_string_lossy());
                let source = std::fs::read_to_string(&path).unwrap();
                if std::env::var_os("VOLLEY_BLESS_CASES").is_some() {
                    bless(&path, &source);
                    continue;
                }
                checked += 1;
                let expected = annotations(&source);
                let found = match lint_file(&path) {
                    Ok(f) => f,
                    Err(e) => {
                        failures.push(format!("{name}: {e}"));
                        continue;
                    }
                };
                let got = match actual(&path, &source, &found) {
                    Ok(g) => g,
                    Err(e) => {
                        failures.push(format!("{name}: {e}"));
                        continue;
                    }
                };
                let has_code = expected.iter().any(|e| e.3 == code);
                if fires && !has_code {
                    failures.push(format!(
                        "{name}: a fire case must annotate a {code} finding"
                    ));
                }
                if !fires && !expected.is_empty() {
                    failures.push(format!("{name}: a silent case has no annotation"));
                }
                if expected != got {
                    failures.push(format!(
                        "{name}:\n  expected {expected:?}\n  actual   {got:?}\n{}",
                        render(&found, &source)
                    ));
                }
            }
        }
    }
    assert!(checked > 0 || std::env::var_os("VOLLEY_BLESS_CASES").is_some());
    assert!(
        failures.is_empty(),
        "{} lint case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_rule_has_a_code_docs_and_three_cases_each_way() {
    let mut missing = Vec::new();
    for r in lint::RULES {
        let dir = repo().join("tests/cases/lint").join(r.code);
        let (fire, silent) = if dir.is_dir() {
            (files(&dir, "fire_").len(), files(&dir, "silent_").len())
        } else {
            (0, 0)
        };
        if fire < 3 || silent < 3 {
            missing.push(format!(
                "{}: {fire} fire and {silent} silent cases (want ≥ 3 each)",
                r.code
            ));
        }
        if !repo()
            .join("docs/lints")
            .join(format!("{}.md", r.code))
            .is_file()
        {
            missing.push(format!("{}: no docs/lints/{}.md", r.code, r.code));
        }
        if r.doc().trim().is_empty() {
            missing.push(format!("{}: no doc comment", r.code));
        }
    }
    for dir in case_dirs() {
        let code = dir.file_name().unwrap().to_string_lossy().into_owned();
        if lint::rule(&code).is_none() {
            missing.push(format!("tests/cases/lint/{code}: no rule has this code"));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
