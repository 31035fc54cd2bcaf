//! `volley lint FILE… [--format human|json|sarif|github] [--param k=v] [--explain CODE]`:
//! compiles each file, runs the linter on those that compile (with the severities of the
//! nearest `volley.toml` above the file), and prints every finding in the chosen format.
//! Exit 0 when no finding is an error, 104 otherwise (a file that does not compile counts
//! as an error, its compile errors shown). This module does the IO; the rules and the
//! config parsing live in `volley_compiler::lint`.

mod output;
mod sarif;

use super::compile_file;
use crate::{exit, render};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use volley_compiler::lint::{self, Config};
use volley_syntax::{Diagnostic, Severity};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Github,
}

/// One linted file: what the reader calls it and what it reported.
pub struct FileReport {
    /// The path as given on the command line.
    pub path: String,
    pub compiled: bool,
    /// File name → text, keyed like the findings' `file` (entry renamed to `path`).
    pub sources: BTreeMap<String, String>,
    pub findings: Vec<Diagnostic>,
}

pub fn run(files: &[PathBuf], format: Format, params: &[String], explain: Option<&str>) -> u8 {
    if let Some(code) = explain {
        return match lint::rule(code) {
            Some(r) => {
                print!("{}", lint::docs::page(r));
                exit::OK
            }
            None => {
                eprintln!("error: `{code}` is not a lint rule (see docs/lints/README.md)");
                exit::USAGE
            }
        };
    }
    if files.is_empty() {
        eprintln!("error: give at least one .load file (or --explain CODE)");
        return exit::USAGE;
    }
    let mut reports = Vec::new();
    let mut worst = exit::OK;
    let mut configs: BTreeMap<PathBuf, Result<Config, String>> = BTreeMap::new();
    for file in files {
        let compiled = match compile_file(file, params) {
            Ok(c) => c,
            Err(code) => {
                worst = worst.max(code);
                continue;
            }
        };
        let config = match project_config(file, &mut configs) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                worst = worst.max(exit::INVALID_INPUT);
                continue;
            }
        };
        let mut findings: Vec<Diagnostic> = compiled.diagnostics.clone();
        let ok = compiled.ir.is_some() && !findings.iter().any(Diagnostic::is_error);
        if let (true, Some(ir), Some(plan)) = (ok, &compiled.ir, &compiled.plan) {
            findings.extend(lint::lint(ir, plan, &config));
        }
        reports.push(rename_entry(file, compiled.sources, findings, ok));
    }
    let errors = reports
        .iter()
        .flat_map(|r| &r.findings)
        .any(Diagnostic::is_error);
    if errors {
        worst = worst.max(exit::INVALID_INPUT);
    }
    match format {
        Format::Human => human(&reports),
        Format::Json => println!("{}", output::json(&reports)),
        Format::Sarif => println!("{}", sarif::log(&reports)),
        Format::Github => print!("{}", output::github(&reports)),
    }
    worst
}

/// Findings and sources keyed by the path the user gave instead of the loader's name.
fn rename_entry(
    file: &Path,
    mut sources: BTreeMap<String, String>,
    mut findings: Vec<Diagnostic>,
    compiled: bool,
) -> FileReport {
    let path = file.display().to_string();
    let entry = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = file.parent().filter(|p| !p.as_os_str().is_empty());
    let shown = |name: &str| -> String {
        if name == entry {
            path.clone()
        } else if name.starts_with("std/") {
            name.to_string()
        } else {
            dir.map_or(name.to_string(), |d| d.join(name).display().to_string())
        }
    };
    sources = sources.into_iter().map(|(k, v)| (shown(&k), v)).collect();
    for d in &mut findings {
        d.file = shown(&d.file);
    }
    FileReport {
        path,
        compiled,
        sources,
        findings,
    }
}

/// The `volley.toml` nearest above `file` (walking up from its directory), parsed.
fn project_config(
    file: &Path,
    cache: &mut BTreeMap<PathBuf, Result<Config, String>>,
) -> Result<Config, String> {
    let dir = std::fs::canonicalize(file)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let found = dir
        .ancestors()
        .map(|d| d.join("volley.toml"))
        .find(|p| p.is_file());
    let Some(path) = found else {
        return Ok(Config::default());
    };
    cache
        .entry(path.clone())
        .or_insert_with(|| {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Config::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
        })
        .clone()
}

fn human(reports: &[FileReport]) {
    let mut counts = [0usize; 3];
    for r in reports {
        if !r.findings.is_empty() {
            eprint!("{}", render::diagnostics(&r.findings, &r.sources));
        }
        for d in &r.findings {
            counts[match d.severity {
                Severity::Error => 0,
                Severity::Warning => 1,
                Severity::Info => 2,
            }] += 1;
        }
        if r.compiled && !r.findings.iter().any(Diagnostic::is_error) {
            println!("ok: {}", r.path);
        }
    }
    let n = reports.len();
    eprintln!(
        "lint: {} error{}, {} warning{}, {} info in {n} file{}",
        counts[0],
        plural(counts[0]),
        counts[1],
        plural(counts[1]),
        counts[2],
        plural(n)
    );
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
