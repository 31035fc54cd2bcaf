//! Diagnostics as data: every phase (parser, compiler, linter) returns these, and only
//! the `volley` binary renders them (with miette). No rendering and no IO here.

use crate::ast::Span;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// A span with its explanation. The first primary label is where the problem is.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Label {
    pub span: Span,
    pub text: String,
    pub primary: bool,
}

/// A place in another file that explains a finding, e.g. the scenario's call of the
/// imported flow in which a lint finding sits.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Related {
    pub file: String,
    pub span: Span,
    pub text: String,
}

/// One finding: `E0203` compile errors, `L0101` lint findings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostic {
    /// Stable code, e.g. `E0001`.
    pub code: String,
    pub severity: Severity,
    pub message: String,
    /// The file the labels point into (as given to the loader: a path or `std/profiles`).
    pub file: String,
    pub labels: Vec<Label>,
    /// How to fix it, e.g. `write 400ms`.
    pub help: Option<String>,
    /// Places in other files that lead to it (labels stay in `file`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
}

impl Diagnostic {
    pub fn error(code: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            code: code.to_string(),
            severity: Severity::Error,
            message: message.into(),
            file: String::new(),
            labels: Vec::new(),
            help: None,
            related: Vec::new(),
        }
    }
    pub fn warning(code: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = file.into();
        self
    }
    /// Adds the primary label.
    pub fn with_label(mut self, span: Span, text: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            text: text.into(),
            primary: true,
        });
        self
    }
    /// Adds a secondary label (context, e.g. "declared here").
    pub fn with_note(mut self, span: Span, text: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            text: text.into(),
            primary: false,
        });
        self
    }
    /// Adds a related place in another file.
    pub fn with_related(
        mut self,
        file: impl Into<String>,
        span: Span,
        text: impl Into<String>,
    ) -> Self {
        self.related.push(Related {
            file: file.into(),
            span,
            text: text.into(),
        });
        self
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    /// The primary span, if any.
    pub fn span(&self) -> Option<Span> {
        self.labels
            .iter()
            .find(|l| l.primary)
            .or(self.labels.first())
            .map(|l| l.span)
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}
