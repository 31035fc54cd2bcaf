//! `volley lint FILE… [--format human|json|sarif|github] [--param k=v] [--explain CODE]`:
//! compiles each file, runs the linter on those that compile (with the severities of the
//! nearest `volley.toml` above the file), and prints every finding in the chosen format.
//! Exit 0 when no finding is an error, 104 otherwise (a file that does not compile counts
//! as an error, its compile errors shown). This module does the IO; the rules and the
//! config parsing live in `volley_compiler::lint`.

mod output;
mod sarif;

use super::compile_file;
use crate::render;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use volley_compiler::lint::{self, Config};
use volley_plan::ExitCode;
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

pub fn run(
    files: &[PathBuf],
    format: Format,
    params: &[String],
    explain: Option<&str>,
) -> ExitCode {
    if let Some(code) = explain {
        return match lint::rule(code) {
            Some(r) => {
                super::stdout(&lint::docs::page(r));
                ExitCode::Ok
            }
            None => {
                errln!("error: `{code}` is not a lint rule (see docs/lints/README.md)");
                ExitCode::Usage
            }
        };
    }
    if files.is_empty() {
        errln!("error: give at least one .load file (or --explain CODE)");
        return ExitCode::Usage;
    }
    let mut reports = Vec::new();
    let mut worst = ExitCode::Ok;
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
                errln!("error: {e}");
                worst = worst.max(ExitCode::InvalidInput);
                continue;
            }
        };
        let mut findings: Vec<Diagnostic> = compiled.diagnostics.clone();
        let ok = compiled.ir.is_some() && !findings.iter().any(Diagnostic::is_error);
        if let (true, Some(ir), Some(plan)) = (ok, &compiled.ir, &compiled.plan) {
            findings.extend(lint::lint(ir, plan, &config));
        }
        let mut report = rename_entry(file, compiled.sources, findings, ok);
        mask_secrets(&mut report);
        reports.push(report);
    }
    let errors = reports
        .iter()
        .flat_map(|r| &r.findings)
        .any(Diagnostic::is_error);
    if errors {
        worst = worst.max(ExitCode::InvalidInput);
    }
    match format {
        Format::Human => human(&reports),
        Format::Json => super::stdout(&format!("{}\n", output::json(&reports))),
        Format::Sarif => super::stdout(&format!("{}\n", sarif::log(&reports))),
        Format::Github => super::stdout(&output::github(&reports)),
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
        for r in &mut d.related {
            r.file = shown(&r.file);
        }
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
            err!("{}", render::diagnostics(&r.findings, &r.sources));
        }
        for d in &r.findings {
            counts[match d.severity {
                Severity::Error => 0,
                Severity::Warning => 1,
                Severity::Info => 2,
            }] += 1;
        }
        super::stdout(&format!("{}\n", file_line(r)));
    }
    let n = reports.len();
    errln!(
        "lint: {} error{}, {} warning{}, {} info in {n} file{}",
        counts[0],
        plural(counts[0]),
        counts[1],
        plural(counts[1]),
        counts[2],
        plural(n)
    );
}

/// The closing line of one file: `ok: FILE` only when it has no finding at all, else
/// `errors: FILE (1 error, 2 warnings)` or `warnings: FILE (2 warnings)`.
fn file_line(r: &FileReport) -> String {
    let count = |s: Severity| r.findings.iter().filter(|d| d.severity == s).count();
    let (e, w, i) = (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
    );
    if e + w + i == 0 {
        return format!("ok: {}", r.path);
    }
    let mut parts = Vec::new();
    if e > 0 {
        parts.push(format!("{e} error{}", plural(e)));
    }
    if w > 0 {
        parts.push(format!("{w} warning{}", plural(w)));
    }
    if i > 0 {
        parts.push(format!("{i} info"));
    }
    let head = if e > 0 {
        "errors"
    } else if w > 0 {
        "warnings"
    } else {
        "info"
    };
    format!("{head}: {} ({})", r.path, parts.join(", "))
}

/// Masks the values L0109 (plaintext secret) points at, in the sources every format reads
/// from and in every finding's text, so that no output repeats the credential. The mask
/// keeps byte offsets and line breaks, so every position stays right.
fn mask_secrets(r: &mut FileReport) {
    let mut secrets: Vec<(String, String)> = Vec::new();
    for d in r.findings.iter().filter(|d| d.code == "L0109") {
        let (Some(span), Some(text)) = (d.span(), r.sources.get_mut(&d.file)) else {
            continue;
        };
        let Some(range) = literal_at(text, span.start, span.end) else {
            continue;
        };
        let value = text[range.clone()].to_string();
        let masked = mask(&value);
        let inner = |v: &str| v.trim_matches('"').to_string();
        secrets.push((inner(&value), inner(&masked)));
        secrets.push((value, masked.clone()));
        text.replace_range(range, &masked);
    }
    secrets.retain(|(v, _)| v.chars().count() >= 4);
    if secrets.is_empty() {
        return;
    }
    let scrub = |s: &mut String| {
        for (v, m) in &secrets {
            if s.contains(v.as_str()) {
                *s = s.replace(v.as_str(), m);
            }
        }
    };
    for d in &mut r.findings {
        scrub(&mut d.message);
        if let Some(h) = &mut d.help {
            scrub(h);
        }
        for l in &mut d.labels {
            scrub(&mut l.text);
        }
    }
}

/// The string literal a finding points at: the span itself when it is one, else (a
/// `param` or `target` named by the finding) the first literal after it on its line.
fn literal_at(text: &str, start: usize, end: usize) -> Option<std::ops::Range<usize>> {
    let at = text.get(start..end)?;
    if at.starts_with('"') {
        return Some(start..end);
    }
    let line = &text[end..];
    let line = &line[..line.find('\n').unwrap_or(line.len())];
    let open = line.find('"')?;
    let mut escaped = false;
    for (i, c) in line[open + 1..].char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(end + open..end + open + 1 + i + 1),
            _ => escaped = false,
        }
    }
    None
}

/// `"sk_live_4eC3…"` → `"sk_l*********…"`: the surrounding quotes and a few leading
/// characters (at most 4, a quarter of the value) stay; every other character becomes
/// as many `*` as it has bytes, line breaks kept.
fn mask(value: &str) -> String {
    let quoted = value.len() >= 2 && value.starts_with('"') && value.ends_with('"');
    let inner = if quoted {
        &value[1..value.len() - 1]
    } else {
        value
    };
    let keep = (inner.chars().count() / 4).min(4);
    let mut out = String::with_capacity(value.len());
    if quoted {
        out.push('"');
    }
    for (i, c) in inner.chars().enumerate() {
        if i < keep || c == '\n' || c == '\r' {
            out.push(c);
        } else {
            out.push_str(&"*".repeat(c.len_utf8()));
        }
    }
    if quoted {
        out.push('"');
    }
    out
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
