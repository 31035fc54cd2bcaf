//! `--format sarif`: a SARIF 2.1.0 log (for code-scanning UIs such as GitHub's), built with
//! the typed structures of the `serde-sarif` crate: one rule entry per lint code (name,
//! descriptions, help from the rule's documentation, default level) plus the compile-error
//! codes that occur, and one result per finding with its region and related locations.

use super::output::range;
use super::FileReport;
use serde_sarif::sarif::{
    ArtifactLocation, Location, Message, MultiformatMessageString, PhysicalLocation, Region,
    ReportingConfiguration, ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif,
    Tool, ToolComponent,
};
use volley_compiler::{codes, lint};
use volley_syntax::ast::Span;
use volley_syntax::{Diagnostic, Severity};

fn level_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn level(s: Severity) -> ResultLevel {
    match s {
        Severity::Error => ResultLevel::Error,
        Severity::Warning => ResultLevel::Warning,
        Severity::Info => ResultLevel::Note,
    }
}

fn text(s: &str) -> MultiformatMessageString {
    MultiformatMessageString::builder()
        .text(s.to_string())
        .build()
}

/// Every lint rule, then the compile-error codes that occur in the results.
fn rules(reports: &[FileReport]) -> Vec<ReportingDescriptor> {
    let mut out: Vec<ReportingDescriptor> = lint::RULES
        .iter()
        .map(|r| {
            let doc = r.doc();
            let why = doc.split("**Why it matters.**").nth(1).unwrap_or("");
            let why = why
                .split("\n\n")
                .next()
                .unwrap_or("")
                .trim()
                .replace('\n', " ");
            ReportingDescriptor::builder()
                .id(r.code.to_string())
                .name(r.name.to_string())
                .short_description(text(r.summary))
                .full_description(text(&why))
                .help(
                    MultiformatMessageString::builder()
                        .text(format!(
                            "{} Run `volley lint --explain {}` for examples.",
                            r.summary, r.code
                        ))
                        .markdown(doc)
                        .build(),
                )
                .default_configuration(
                    ReportingConfiguration::builder()
                        .level(serde_json::json!(level_word(r.severity)))
                        .build(),
                )
                .build()
        })
        .collect();
    let mut compile_codes: Vec<&str> = reports
        .iter()
        .flat_map(|r| &r.findings)
        .map(|d| d.code.as_str())
        .filter(|c| c.starts_with('E'))
        .collect();
    compile_codes.sort();
    compile_codes.dedup();
    for c in compile_codes {
        let summary = codes::TABLE
            .iter()
            .find(|d| d.code == c)
            .map_or("a compile error", |d| d.summary);
        out.push(
            ReportingDescriptor::builder()
                .id(c.to_string())
                .short_description(text(summary))
                .help(text(&format!("Compile error {c}: {summary}. The file does not compile, so it was not linted.")))
                .default_configuration(
                    ReportingConfiguration::builder()
                        .level(serde_json::json!("error"))
                        .build(),
                )
                .build(),
        );
    }
    out
}

fn location(file: &str, source: &str, span: Span, message: Option<&str>) -> Location {
    let (l, c, el, ec) = range(source, span);
    let region = Region::builder()
        .start_line(l as i64)
        .start_column(c as i64)
        .end_line(el as i64)
        .end_column(ec as i64)
        .build();
    let physical = PhysicalLocation::builder()
        .artifact_location(
            ArtifactLocation::builder()
                .uri(file.replace('\\', "/"))
                .build(),
        )
        .region(region)
        .build();
    match message {
        Some(m) if !m.is_empty() => Location::builder()
            .physical_location(physical)
            .message(Message::builder().text(m.to_string()).build())
            .build(),
        _ => Location::builder().physical_location(physical).build(),
    }
}

fn result(r: &FileReport, d: &Diagnostic, rules: &[ReportingDescriptor]) -> SarifResult {
    let source = r.sources.get(&d.file).map(String::as_str).unwrap_or("");
    let message = match &d.help {
        Some(h) => format!("{} (help: {h})", d.message),
        None => d.message.clone(),
    };
    let primary = location(&d.file, source, d.span().unwrap_or_default(), None);
    let mut related: Vec<Location> = d
        .labels
        .iter()
        .filter(|l| !l.primary)
        .map(|l| location(&d.file, source, l.span, Some(&l.text)))
        .collect();
    related.extend(d.related.iter().map(|rel| {
        let text = r.sources.get(&rel.file).map(String::as_str).unwrap_or("");
        location(&rel.file, text, rel.span, Some(&rel.text))
    }));
    let index = rules.iter().position(|x| x.id == d.code).unwrap_or(0) as i64;
    let b = SarifResult::builder()
        .rule_id(d.code.clone())
        .rule_index(index)
        .level(level(d.severity))
        .message(Message::builder().text(message).build())
        .locations(vec![primary]);
    if related.is_empty() {
        b.build()
    } else {
        b.related_locations(related).build()
    }
}

/// The whole SARIF log of a run, as pretty JSON.
#[allow(
    clippy::expect_used,
    reason = "serde-sarif's typed log has string keys only: serialising it cannot fail"
)]
pub fn log(reports: &[FileReport]) -> String {
    let rules = rules(reports);
    let results: Vec<SarifResult> = reports
        .iter()
        .flat_map(|r| r.findings.iter().map(move |d| (r, d)))
        .map(|(r, d)| result(r, d, &rules))
        .collect();
    let driver = ToolComponent::builder()
        .name("volley".to_string())
        .version(env!("CARGO_PKG_VERSION").to_string())
        .information_uri("https://github.com/volley-load/volley".to_string())
        .rules(rules)
        .build();
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .column_kind(serde_json::json!("unicodeCodePoints"))
        .build();
    let sarif = Sarif::builder()
        .schema(serde_sarif::sarif::SCHEMA_URL.to_string())
        .version(serde_json::json!("2.1.0"))
        .runs(vec![run])
        .build();
    serde_json::to_string_pretty(&sarif).expect("a SARIF log always serialises")
}
