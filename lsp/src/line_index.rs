//! Byte offsets (what spans hold) to LSP positions and back. LSP counts a position's
//! `character` in UTF-16 code units: a character outside the Basic Multilingual Plane
//! (an emoji) counts two, `é` one, although it takes two bytes in UTF-8.

use lsp_types::{Position, Range};
use volley_syntax::ast::Span;

/// The start offset of every line of one text.
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// The position of byte `offset` (clamped to the text, and back to a character
    /// boundary).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let start = self.starts.get(line).copied().unwrap_or(0);
        let character: usize = text[start..offset].chars().map(char::len_utf16).sum();
        Position::new(line as u32, character as u32)
    }

    /// The byte offset of `pos`; a line past the end is the end of the text, a
    /// character past the end of its line is the end of the line, and one inside a
    /// surrogate pair is the start of that character.
    pub fn offset(&self, text: &str, pos: Position) -> usize {
        let Some(&start) = self.starts.get(pos.line as usize) else {
            return text.len();
        };
        let end = self
            .starts
            .get(pos.line as usize + 1)
            .map_or(text.len(), |&e| e.saturating_sub(1));
        let line = &text[start..end.max(start)];
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut units = 0usize;
        for (i, c) in line.char_indices() {
            if units >= pos.character as usize {
                return start + i;
            }
            units += c.len_utf16();
            if units > pos.character as usize {
                return start + i;
            }
        }
        start + line.len()
    }

    pub fn range(&self, text: &str, span: Span) -> Range {
        Range::new(
            self.position(text, span.start),
            self.position(text, span.end),
        )
    }

    pub fn span(&self, text: &str, range: Range) -> Span {
        Span::new(self.offset(text, range.start), self.offset(text, range.end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_round_trips() {
        let text = "let a = 1\nlet b = 2\n";
        let ix = LineIndex::new(text);
        assert_eq!(ix.position(text, 14), Position::new(1, 4));
        assert_eq!(ix.offset(text, Position::new(1, 4)), 14);
        assert_eq!(ix.position(text, text.len()), Position::new(2, 0));
    }

    #[test]
    fn columns_count_utf16_units() {
        // `é` is 2 bytes and 1 unit; `😀` is 4 bytes and 2 units.
        let text = "let s = \"é😀\" + x\n";
        let ix = LineIndex::new(text);
        let x = text.find('x').unwrap_or(0);
        assert_eq!(ix.position(text, x), Position::new(0, 16));
        assert_eq!(ix.offset(text, Position::new(0, 16)), x);
        let emoji = text.find('😀').unwrap_or(0);
        assert_eq!(ix.position(text, emoji), Position::new(0, 10));
        // Inside the surrogate pair: the emoji's start.
        assert_eq!(ix.offset(text, Position::new(0, 11)), emoji);
        // Inside a UTF-8 sequence: back to the character's start.
        assert_eq!(ix.position(text, emoji + 1), Position::new(0, 10));
    }

    #[test]
    fn out_of_range_positions_are_clamped() {
        let text = "ab\r\ncd";
        let ix = LineIndex::new(text);
        assert_eq!(ix.offset(text, Position::new(0, 99)), 2);
        assert_eq!(ix.offset(text, Position::new(9, 0)), text.len());
        assert_eq!(ix.position(text, 99), Position::new(1, 2));
    }
}
