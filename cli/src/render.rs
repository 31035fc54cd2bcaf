//! Renders library diagnostics with miette: the only place that turns `Diagnostic`
//! data into text. Uses colours and unicode on a terminal, plain ASCII-safe text otherwise.

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use std::collections::BTreeMap;
use std::fmt;
use std::io::IsTerminal;
use volley_syntax::{Diagnostic, Severity};

/// One diagnostic bound to its source text, in the form miette wants. `spans` are the
/// labels' byte ranges in `source` (which may be a windowed copy of the file).
struct Report<'a> {
    diag: &'a Diagnostic,
    source: NamedSource<String>,
    spans: Vec<(usize, usize)>,
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
        Some(Box::new(self.diag.labels.iter().zip(&self.spans).map(
            |(l, &(start, end))| {
                let text = (!l.text.is_empty()).then(|| l.text.clone());
                if l.primary {
                    LabeledSpan::new_primary_with_span(text, start..end)
                } else {
                    LabeledSpan::new_with_span(text, start..end)
                }
            },
        )))
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
        let report = bind(
            d,
            sources,
            related
                .iter()
                .map(|r| bind(r, sources, Vec::new()))
                .collect(),
        );
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

/// Binds a diagnostic to its file's text, windowed around its labels when a line is long.
fn bind<'a>(
    diag: &'a Diagnostic,
    sources: &BTreeMap<String, String>,
    related: Vec<Report<'a>>,
) -> Report<'a> {
    let text = sources.get(&diag.file).map_or("", String::as_str);
    let spans: Vec<(usize, usize)> = diag
        .labels
        .iter()
        .map(|l| (l.span.start, l.span.end))
        .collect();
    let (text, spans) = windowed(text, &spans);
    Report {
        diag,
        source: NamedSource::new(diag.file.clone(), text),
        spans,
        related,
    }
}

/// Lines longer than this (in bytes) are shown as a window around the labels on them:
/// miette lays out a whole line and panics past column 65,535.
const MAX_LINE: usize = 400;
/// Bytes of context kept before the first label of a long line.
const CONTEXT: usize = 120;

/// One line of the source and the part of it that is shown.
struct Line {
    /// Where the line starts and ends (without its newline) in the source.
    start: usize,
    end: usize,
    /// Where the shown part starts and ends in the source.
    from: usize,
    to: usize,
    /// Where the shown part starts in the windowed text.
    at: usize,
}

/// The text to show and the spans mapped into it: every line over `MAX_LINE` bytes is cut
/// to a window around the first label on it (its start when it has none), with `…` where
/// text was cut. Lines keep their numbers. Spans are clamped into the text first.
fn windowed(text: &str, spans: &[(usize, usize)]) -> (String, Vec<(usize, usize)>) {
    let clamp = |&(s, e): &(usize, usize)| {
        let s = floor_boundary(text, s.min(text.len()));
        (s, floor_boundary(text, e.clamp(s, text.len())))
    };
    let spans: Vec<(usize, usize)> = spans.iter().map(clamp).collect();
    if text.lines().all(|l| l.len() <= MAX_LINE) {
        return (text.to_string(), spans);
    }
    let mut out = String::with_capacity(text.len().min(1 << 20));
    let mut lines: Vec<Line> = Vec::new();
    let mut start = 0;
    for raw in text.split_inclusive('\n') {
        let end = start + raw.trim_end_matches('\n').len();
        let (mut from, mut to) = (start, end);
        if end - start > MAX_LINE {
            let anchor = spans
                .iter()
                .flat_map(|&(s, e)| [s, e])
                .filter(|p| (start..=end).contains(p))
                .min()
                .unwrap_or(start);
            from = floor_boundary(text, anchor.saturating_sub(CONTEXT).max(start));
            to = floor_boundary(text, (from + MAX_LINE).min(end));
        }
        if from > start {
            out.push('…');
        }
        let at = out.len();
        out.push_str(&text[from..to]);
        if to < end {
            out.push('…');
        }
        out.push_str(&raw[end - start..]);
        lines.push(Line {
            start,
            end,
            from,
            to,
            at,
        });
        start += raw.len();
    }
    let map = |p: usize| -> usize {
        let i = lines.partition_point(|l| l.start <= p).saturating_sub(1);
        match lines.get(i) {
            Some(l) if p <= l.end => l.at + p.clamp(l.from, l.to) - l.from,
            Some(l) => l.at + (l.to - l.from),
            None => out.len(),
        }
    };
    let spans = spans
        .iter()
        .map(|&(s, e)| {
            let s = map(s);
            (s, map(e).max(s))
        })
        .collect();
    (out, spans)
}

/// The largest char boundary at or before `i`.
fn floor_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_windowed_around_the_label() {
        let line = format!("let x = {}bad", "a".repeat(100_000));
        let text = format!("// first\n{line}\nlast\n");
        let at = text.find("bad").unwrap();
        let (shown, spans) = windowed(&text, &[(at, at + 3)]);
        assert!(shown.len() < 1_000, "{}", shown.len());
        assert_eq!(&shown[spans[0].0..spans[0].1], "bad");
        assert_eq!(shown.lines().count(), 3);
        assert!(shown.starts_with("// first\n…"));
        let (same, spans) = windowed("short\n", &[(2, 99)]);
        assert_eq!((same.as_str(), spans), ("short\n", vec![(2, 6)]));
    }
}
