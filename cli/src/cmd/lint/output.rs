//! The machine-readable formats of `volley lint` besides SARIF: `--format json` (documented
//! in docs/lint-output.md) and `--format github` (workflow commands that annotate a pull
//! request). Pure: strings from reports.

use super::FileReport;
use serde_json::{json, Value};
use volley_compiler::lint;
use volley_syntax::ast::Span;
use volley_syntax::{Diagnostic, Severity};

/// The version of the JSON format.
pub const JSON_VERSION: u32 = 1;

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |p| p + 1);
    (line, before[start..].chars().count() + 1)
}

/// (line, column, end line, end column) of a span; the end is exclusive, as a column
/// just past the last character (SARIF's and GitHub's convention).
pub fn range(text: &str, span: Span) -> (usize, usize, usize, usize) {
    let (l, c) = line_col(text, span.start);
    let (el, ec) = line_col(text, span.end.max(span.start));
    (l, c, el, ec)
}

pub fn severity_word(s: Severity) -> &'static str {
    lint::docs::severity_word(s)
}

fn position(text: &str, span: Span) -> Value {
    let (line, column, end_line, end_column) = range(text, span);
    json!({"line": line, "column": column, "end_line": end_line, "end_column": end_column,
           "offset": span.start, "length": span.len()})
}

fn finding(r: &FileReport, d: &Diagnostic) -> Value {
    let text = r.sources.get(&d.file).map(String::as_str).unwrap_or("");
    let span = d.span().unwrap_or_default();
    let labels: Vec<Value> = d
        .labels
        .iter()
        .map(|l| json!({"text": l.text, "primary": l.primary, "position": position(text, l.span)}))
        .collect();
    let related: Vec<Value> = d
        .related
        .iter()
        .map(|rel| {
            let text = r.sources.get(&rel.file).map(String::as_str).unwrap_or("");
            json!({"file": rel.file, "text": rel.text, "position": position(text, rel.span)})
        })
        .collect();
    json!({
        "code": d.code,
        "rule": lint::rule(&d.code).map(|r| r.name),
        "severity": severity_word(d.severity),
        "message": d.message,
        "help": d.help,
        "file": d.file,
        "position": position(text, span),
        "labels": labels,
        "related": related,
    })
}

/// `--format json`: one object for the whole run.
#[allow(clippy::expect_used, reason = "a serde_json::Value always serialises")]
pub fn json(reports: &[FileReport]) -> String {
    let mut counts = json!({"error": 0, "warning": 0, "info": 0});
    let mut files = Vec::new();
    let mut all = Vec::new();
    for r in reports {
        for d in &r.findings {
            let k = severity_word(d.severity);
            counts[k] = json!(counts[k].as_u64().unwrap_or(0) + 1);
            all.push(finding(r, d));
        }
        files.push(json!({"path": r.path, "compiled": r.compiled, "findings": r.findings.len()}));
    }
    let out = json!({"version": JSON_VERSION, "files": files, "findings": all, "counts": counts});
    serde_json::to_string_pretty(&out).expect("JSON values always serialise")
}

/// Escapes a workflow command's message (`%`, CR, LF).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (also `:` and `,`).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// `--format github`: `::error file=…,line=…,col=…,endLine=…,endColumn=…,title=…::message`.
pub fn github(reports: &[FileReport]) -> String {
    let mut out = String::new();
    for r in reports {
        for d in &r.findings {
            let text = r.sources.get(&d.file).map(String::as_str).unwrap_or("");
            let (line, col, end_line, end_col) = range(text, d.span().unwrap_or_default());
            let cmd = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "notice",
            };
            let title = match lint::rule(&d.code) {
                Some(rule) => format!("{} {}", d.code, rule.name),
                None => d.code.clone(),
            };
            let mut message = match &d.help {
                Some(h) => format!("{}\nhelp: {h}", d.message),
                None => d.message.clone(),
            };
            let mut calls = Vec::new();
            for rel in &d.related {
                let rtext = r.sources.get(&rel.file).map(String::as_str).unwrap_or("");
                let at = range(rtext, rel.span);
                message.push_str(&format!("\n{}:{}:{}: {}", rel.file, at.0, at.1, rel.text));
                calls.push((rel, at));
            }
            out.push_str(&format!(
                "::{cmd} file={},line={line},col={col},endLine={end_line},endColumn={end_col},title={}::{}\n",
                escape_property(&d.file),
                escape_property(&title),
                escape_data(&message)
            ));
            // The call site gets its own annotation: it is in the file a pull request
            // changes, where the finding in the library would otherwise not show.
            for (rel, (l, c, el, ec)) in calls {
                let message = format!(
                    "{}: {}\nreported at {}:{line}:{col}",
                    rel.text, d.message, d.file
                );
                out.push_str(&format!(
                    "::{cmd} file={},line={l},col={c},endLine={el},endColumn={ec},title={}::{}\n",
                    escape_property(&rel.file),
                    escape_property(&format!("{title} (through this call)")),
                    escape_data(&message)
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn positions_count_lines_and_characters() {
        let text = "ab\ncdé\nf";
        assert_eq!(super::line_col(text, 0), (1, 1));
        assert_eq!(super::line_col(text, 4), (2, 2));
        assert_eq!(super::line_col(text, text.len()), (3, 2));
        assert_eq!(super::escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
