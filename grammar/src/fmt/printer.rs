//! The core of `volley fmt`'s printer: the output buffer with indentation, line breaks,
//! blank-line preservation, and the placement of every comment. `items.rs` and `exprs.rs`
//! walk the AST with these primitives. It tracks `src_pos`, how far into the
//! source the printed text has come, to decide where each comment belongs.

use crate::ast::*;

/// Lines longer than this are broken where possible.
pub(crate) const WIDTH: usize = 100;

struct Note {
    text: String,
    start: usize,
    end: usize,
    /// For a comment that follows code on its line: where that code ends (trailing
    /// separators `,` `;` and opening brackets excluded). `None` for own-line comments.
    anchor: Option<usize>,
    /// Where the comment's line starts (non-decreasing in source order).
    line_start: usize,
}

pub(crate) struct Printer<'a> {
    pub(super) src: &'a str,
    notes: Vec<Note>,
    printed: Vec<bool>,
    /// Every note before this index is printed.
    next: usize,
    out: String,
    pub(super) indent: usize,
    pub(super) src_pos: usize,
    last_end: usize,
    /// Just after an opening brace (or at the top of the file): no blank line here.
    fresh: bool,
}

impl<'a> Printer<'a> {
    pub(crate) fn new(src: &'a str, comments: &[Comment]) -> Self {
        let mut notes: Vec<Note> = comments
            .iter()
            .map(|c| {
                let start = c.span.start.min(src.len());
                let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
                let before = &src[line_start..start];
                let anchor = if before.trim().is_empty() {
                    None
                } else {
                    let trimmed = before.trim_end_matches(|ch: char| {
                        ch.is_whitespace() || matches!(ch, ',' | ';' | '{' | '(' | '[')
                    });
                    let trimmed = if trimmed.is_empty() {
                        before.trim_end()
                    } else {
                        trimmed
                    };
                    Some(line_start + trimmed.len())
                };
                Note {
                    text: c.text.trim_end().to_string(),
                    start,
                    end: c.span.end.min(src.len()),
                    anchor,
                    line_start,
                }
            })
            .collect();
        notes.sort_by_key(|n| n.start);
        let printed = vec![false; notes.len()];
        Printer {
            src,
            notes,
            printed,
            next: 0,
            out: String::new(),
            indent: 0,
            src_pos: 0,
            last_end: 0,
            fresh: true,
        }
    }

    pub(crate) fn finish(mut self) -> String {
        self.leading(usize::MAX, true);
        let mut out = self.out.trim_end().to_string();
        if !out.is_empty() {
            out.push('\n');
        }
        out
    }

    // ------------------------------------------------------------ primitives

    pub(super) fn at_line_start(&self) -> bool {
        self.out.is_empty() || self.out.ends_with('\n')
    }

    pub(super) fn write(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if self.at_line_start() {
            for _ in 0..self.indent {
                self.out.push_str("  ");
            }
        }
        self.out.push_str(s);
    }

    pub(super) fn col(&self) -> usize {
        if self.at_line_start() {
            return self.indent * 2;
        }
        let line = self.out.rsplit('\n').next().unwrap_or("");
        line.chars().count()
    }

    pub(super) fn fits(&self, text: &str) -> bool {
        self.col() + text.chars().count() <= WIDTH
    }

    /// Ends the current line, first appending the comments that belong at its end.
    pub(super) fn newline(&mut self) {
        for i in self.next..self.notes.len() {
            if self.notes[i].line_start > self.src_pos {
                break;
            }
            if self.printed[i] {
                continue;
            }
            let n = &self.notes[i];
            let due = match n.anchor {
                Some(a) => a <= self.src_pos,
                None => n.start < self.src_pos,
            };
            if !due {
                continue;
            }
            let text = n.text.clone();
            self.last_end = self.last_end.max(n.end);
            self.mark_printed(i);
            if self.at_line_start() {
                self.write(&text);
            } else {
                self.out.push(' ');
                self.out.push_str(&text);
            }
        }
        if !self.at_line_start() {
            self.out.push('\n');
        }
    }

    fn blank_between(&self, a: usize, b: usize) -> bool {
        let (a, b) = (a.min(self.src.len()), b.min(self.src.len()));
        if a >= b {
            return false;
        }
        let gap = &self.src[a..b];
        let lines: Vec<&str> = gap.split('\n').collect();
        lines.len() > 2
            && lines[1..lines.len() - 1]
                .iter()
                .any(|l| l.trim().is_empty())
    }

    fn blank_if_source_had(&mut self, pos: usize) {
        if !self.fresh
            && !self.out.is_empty()
            && !self.out.ends_with("\n\n")
            && self.blank_between(self.last_end, pos)
        {
            if !self.at_line_start() {
                self.out.push('\n');
            }
            self.out.push('\n');
        }
    }

    /// Prints, each on its own line, the comments that start before `pos`.
    pub(super) fn leading(&mut self, pos: usize, blanks: bool) {
        for i in self.next..self.notes.len() {
            if self.notes[i].start >= pos {
                break;
            }
            if self.printed[i] {
                continue;
            }
            if !self.at_line_start() {
                self.newline();
                if self.printed[i] {
                    continue;
                }
            }
            if blanks {
                self.blank_if_source_had(self.notes[i].start);
            }
            let text = self.notes[i].text.clone();
            self.write(&text);
            self.out.push('\n');
            self.mark_printed(i);
            self.last_end = self.last_end.max(self.notes[i].end);
            self.fresh = false;
        }
    }

    pub(super) fn comment_inside(&self, span: Span) -> bool {
        let from = self.notes.partition_point(|n| n.start <= span.start);
        self.notes[from..]
            .iter()
            .zip(&self.printed[from..])
            .take_while(|(n, _)| n.start < span.end)
            .any(|(_, done)| !done)
    }

    /// Writes the source text of `span` as it is (see `flat::kept`); the comments inside
    /// it are part of that text.
    pub(super) fn kept(&mut self, span: Span) {
        let text = super::flat::kept(self.src, span);
        self.write(text);
        self.consume_comments(span);
        self.src_pos = self.src_pos.max(span.end);
    }

    /// Marks the comments inside `span` printed: they were written with its text.
    pub(super) fn consume_comments(&mut self, span: Span) {
        for i in self.next..self.notes.len() {
            let n = &self.notes[i];
            if n.start >= span.end {
                break;
            }
            if n.start >= span.start && !self.printed[i] {
                self.last_end = self.last_end.max(n.end);
                self.mark_printed(i);
            }
        }
    }

    fn mark_printed(&mut self, i: usize) {
        self.printed[i] = true;
        while self.printed.get(self.next) == Some(&true) {
            self.next += 1;
        }
    }

    pub(super) fn begin_line(&mut self, pos: usize, blanks: bool) {
        self.leading(pos, blanks);
        if !self.at_line_start() {
            self.newline();
        }
        if blanks {
            self.blank_if_source_had(pos);
        }
        self.fresh = false;
        self.src_pos = self.src_pos.max(pos);
    }

    pub(super) fn end_line(&mut self, end: usize) {
        self.src_pos = self.src_pos.max(end);
        self.last_end = self.last_end.max(end);
        self.newline();
    }

    pub(super) fn open(&mut self, brace: usize) {
        self.indent += 1;
        self.src_pos = self.src_pos.max(brace + 1);
        self.last_end = self.last_end.max(brace + 1);
        self.newline();
        self.fresh = true;
    }

    pub(super) fn close(&mut self, close: usize, closer: &str, blanks: bool) {
        self.leading(close, blanks);
        if !self.at_line_start() {
            self.newline();
        }
        self.indent = self.indent.saturating_sub(1);
        self.write(closer);
        self.src_pos = self.src_pos.max(close + 1);
        self.last_end = self.last_end.max(close + 1);
        self.fresh = false;
    }

    /// The `{` at or after `pos`, skipping whitespace and comments.
    pub(super) fn brace_after(&self, pos: usize) -> usize {
        let bytes = self.src.as_bytes();
        let mut i = pos;
        while i < bytes.len() {
            match bytes[i] {
                b'{' => return i,
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    i = self.src[i..].find('\n').map_or(bytes.len(), |n| i + n);
                }
                c if c.is_ascii_whitespace() => i += 1,
                _ => return pos,
            }
        }
        pos
    }

    /// The `{` before `pos`, skipping whitespace and comments.
    pub(super) fn brace_before(&self, pos: usize) -> usize {
        let bytes = self.src.as_bytes();
        let mut i = pos.min(bytes.len());
        while i > 0 {
            let j = i - 1;
            if let Some(n) = self.notes.iter().find(|n| n.start <= j && j < n.end) {
                i = n.start;
                continue;
            }
            match bytes[j] {
                b'{' => return j,
                c if c.is_ascii_whitespace() => i = j,
                _ => break,
            }
        }
        pos.saturating_sub(1)
    }

    /// The closing `)` after `pos`, skipping whitespace, commas and comments.
    pub(super) fn paren_after(&self, pos: usize) -> usize {
        let bytes = self.src.as_bytes();
        let mut i = pos;
        while i < bytes.len() {
            match bytes[i] {
                b')' => return i,
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    i = self.src[i..].find('\n').map_or(bytes.len(), |n| i + n);
                }
                b',' => i += 1,
                c if c.is_ascii_whitespace() => i += 1,
                _ => return pos,
            }
        }
        pos
    }

    pub(super) fn one_line_in_source(&self, a: usize, b: usize) -> bool {
        let (a, b) = (a.min(self.src.len()), b.min(self.src.len()));
        a <= b && !self.src[a..b].contains('\n')
    }
}
