//! Renders library diagnostics with miette: the only place that turns `Diagnostic`
//! data into text. Uses colours and unicode on a terminal, plain ASCII-safe text otherwise.

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use std::collections::BTreeMap;
use std::fmt;
use std::io::IsTerminal;
use volley_syntax::{Diagnostic, Severity};

/// One diagnostic bound to its source text, in the form miette wants.
struct Report<'a> {
    diag: &'a Diagnostic,
    source: NamedSource<String>,
    /// The diagnostic's related places in other files, each with its own source.
    related: Vec<Report<'a>>,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}
impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}
impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        (!self.diag.code.is_empty()).then(|| Box::new(&self.diag.code) as Box<dyn fmt::Display>)
    }
    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn miette::Diagnostic> + 'b>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diag
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let len = self.source.inner().len();
        Some(Box::new(self.diag.labels.iter().map(move |l| {
            let start = l.span.start.min(len);
            let end = l.span.end.clamp(start, len);
            let text = (!l.text.is_empty()).then(|| l.text.clone());
            if l.primary {
                LabeledSpan::new_primary_with_span(text, start..end)
            } else {
                LabeledSpan::new_with_span(text, start..end)
            }
        })))
    }
}

/// Renders every diagnostic against the sources (file name → text) it points into.
pub fn diagnostics(diags: &[Diagnostic], sources: &BTreeMap<String, String>) -> String {
    let theme = if std::io::stderr().is_terminal() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    let source =
        |file: &str| NamedSource::new(file, sources.get(file).cloned().unwrap_or_default());
    for d in diags {
        // A related place renders as an advice pointing into its own file.
        let related: Vec<Diagnostic> = d
            .related
            .iter()
            .map(|r| Diagnostic {
                severity: Severity::Info,
                ..Diagnostic::warning("", r.text.clone())
                    .in_file(r.file.clone())
                    .with_label(r.span, "through this call")
            })
            .collect();
        let report = Report {
            diag: d,
            source: source(&d.file),
            related: related
                .iter()
                .map(|r| Report {
                    diag: r,
                    source: source(&r.file),
                    related: Vec::new(),
                })
                .collect(),
        };
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str(&format!(
                "{}[{}]: {}\n",
                severity_word(d),
                d.code,
                d.message
            ));
        }
    }
    out
}

fn severity_word(d: &Diagnostic) -> &'static str {
    match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// `N errors, M warnings` for the closing line of `check`.
pub fn counts(diags: &[Diagnostic]) -> (usize, usize) {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    (errors, diags.len() - errors)
}
