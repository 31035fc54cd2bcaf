//! volley-convert: brings tests written elsewhere over to `.load` files.
//!
//! * [`k6`] converts a k6 script: it is parsed with oxc (a JavaScript parser, never
//!   patterns over the text), its `options` become scenarios and thresholds, and its
//!   functions become iterations, setup, teardown and flows. What has no equivalent is kept
//!   as a comment at its place, with the reason.
//! * [`har`] turns a browser recording (HAR 1.2) into a flow of requests.
//!
//! Both return the `.load` text and a [`Report`] of what was converted, approximated and
//! left; neither touches the disk (the CLI reads and writes files and compiles the result).

pub mod har;
pub mod k6;
mod names;

use std::fmt;

/// One construct of the source and what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// 1-based line in the source (0 when the note is about the whole file).
    pub line: usize,
    pub what: String,
}

/// What a conversion did with each construct it met.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Converted with the same meaning.
    pub converted: Vec<Note>,
    /// Converted with a different but close meaning (the note says how it differs).
    pub approximated: Vec<Note>,
    /// Not converted: kept as a comment in the output, with the reason.
    pub left: Vec<Note>,
}

impl Report {
    fn converted(&mut self, line: usize, what: impl Into<String>) {
        self.converted.push(Note {
            line,
            what: what.into(),
        });
    }
    fn approximated(&mut self, line: usize, what: impl Into<String>) {
        self.approximated.push(Note {
            line,
            what: what.into(),
        });
    }
    fn left(&mut self, line: usize, what: impl Into<String>) {
        self.left.push(Note {
            line,
            what: what.into(),
        });
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (title, notes) in [
            ("converted", &self.converted),
            ("approximated", &self.approximated),
            ("left as comments", &self.left),
        ] {
            writeln!(f, "{title}: {}", notes.len())?;
            if title == "converted" {
                continue;
            }
            for n in notes {
                if n.line > 0 {
                    writeln!(f, "  line {}: {}", n.line, n.what)?;
                } else {
                    writeln!(f, "  {}", n.what)?;
                }
            }
        }
        Ok(())
    }
}

/// The result of a conversion: the `.load` text and its report.
#[derive(Clone, Debug)]
pub struct Conversion {
    pub load: String,
    pub report: Report,
}

/// Why a source could not be converted at all.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// The k6 script is not JavaScript oxc can parse.
    #[error("{file}:{line}: the script does not parse as JavaScript: {message}")]
    Syntax {
        file: String,
        line: usize,
        message: String,
    },
    /// The HAR file is not a HAR recording.
    #[error("not a HAR recording: {0}")]
    Har(String),
}

/// A `.load` string literal of `text` (escaped: quotes, backslashes, braces, newlines).
pub(crate) fn quote(text: &str) -> String {
    format!("\"{}\"", escape(text))
}

/// `text` escaped for the inside of a `.load` string.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '{' => out.push_str("\\{"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// A duration in milliseconds as a `.load` literal (`1s`, `250ms`, `1.5s`, `2m`).
pub(crate) fn duration_ms(ms: f64) -> String {
    let ms = if ms.is_finite() && ms > 0.0 { ms } else { 0.0 };
    if ms == 0.0 {
        return "0s".into();
    }
    if ms >= 60_000.0 && (ms % 60_000.0) == 0.0 && ms < 3_600_000.0 {
        return format!("{}m", (ms / 60_000.0) as u64);
    }
    if ms >= 3_600_000.0 && (ms % 3_600_000.0) == 0.0 {
        return format!("{}h", (ms / 3_600_000.0) as u64);
    }
    if (ms % 1000.0) == 0.0 {
        return format!("{}s", (ms / 1000.0) as u64);
    }
    if ms.fract() == 0.0 {
        return format!("{}ms", ms as u64);
    }
    let us = (ms * 1000.0).round();
    if us.fract() == 0.0 && (us % 1.0) == 0.0 && us < 1e15 {
        return format!("{}us", us as u64);
    }
    format!("{ms}ms")
}

/// A k6 duration string (`"1m30s"`, `"500ms"`, `"2h"`, `"10"` seconds) in milliseconds.
pub(crate) fn parse_k6_duration(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(secs) = t.parse::<f64>() {
        return Some(secs * 1000.0);
    }
    let mut total = 0.0;
    let mut rest = t;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_end == 0 {
            return None;
        }
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = &rest[unit_end..];
        let factor = match unit {
            "h" => 3_600_000.0,
            "m" => 60_000.0,
            "s" => 1000.0,
            "ms" => 1.0,
            "us" | "µs" => 0.001,
            "ns" => 0.000_001,
            _ => return None,
        };
        total += n * factor;
    }
    Some(total)
}

/// A number as `.load` writes it (no trailing `.0` for whole values).
pub(crate) fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_and_write() {
        assert_eq!(parse_k6_duration("1m30s"), Some(90_000.0));
        assert_eq!(parse_k6_duration("500ms"), Some(500.0));
        assert_eq!(parse_k6_duration("10"), Some(10_000.0));
        assert_eq!(parse_k6_duration("x"), None);
        assert_eq!(duration_ms(90_000.0), "90s");
        assert_eq!(duration_ms(120_000.0), "2m");
        assert_eq!(duration_ms(250.0), "250ms");
        assert_eq!(duration_ms(1500.0), "1500ms");
        assert_eq!(duration_ms(0.5), "500us");
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(quote("a\"{b}\\"), "\"a\\\"\\{b}\\\\\"");
    }
}
