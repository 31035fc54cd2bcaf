//! A lexical pre-scan of a `.load` source, run before pest: it collects every `//` comment
//! (outside strings) for the formatter, measures bracket nesting so deeply nested input is
//! rejected with a diagnostic instead of exhausting the stack, and remembers the first
//! bracket left unclosed (a note for "expected `)`" errors). It must not build any tree.

use crate::ast::{Comment, Span};

/// Deepest nesting of `(`, `[`, `{` and string interpolations the parser accepts.
pub(crate) const MAX_NESTING: usize = 200;

pub(crate) struct Scan {
    pub comments: Vec<Comment>,
    /// The opening bracket that went past [`MAX_NESTING`], if any.
    pub too_deep: Option<Span>,
    /// The first opening bracket with no matching closer: `(pos, char)`.
    pub unclosed: Option<(usize, char)>,
    /// The opening quote of the first string not closed on its line.
    pub unterminated: Option<usize>,
}

#[derive(Clone, Copy)]
enum Frame {
    Bracket(usize, u8),
    Str,
    Interp,
}

fn closer(open: u8) -> u8 {
    match open {
        b'(' => b')',
        b'[' => b']',
        _ => b'}',
    }
}

pub(crate) fn scan(src: &str) -> Scan {
    let bytes = src.as_bytes();
    let mut out = Scan {
        comments: Vec::new(),
        too_deep: None,
        unclosed: None,
        unterminated: None,
    };
    let mut stack: Vec<Frame> = Vec::new();
    let mut quote = 0usize;
    // `else if` seen in each open block (index = stack depth), and `list<` types seen:
    // both nest without brackets in the grammar, so they are bounded here too.
    let mut else_ifs: Vec<usize> = vec![0];
    let mut list_types = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if matches!(stack.last(), Some(Frame::Str)) {
            match b {
                b'\\' if bytes.get(i + 1).is_some_and(|c| *c != b'\n') => {
                    // Skip the escaped character (whole UTF-8 sequence is fine: only ASCII matters).
                    i += 2;
                    continue;
                }
                b'"' => {
                    stack.pop();
                }
                b'\n' => {
                    stack.pop();
                    out.unterminated.get_or_insert(quote);
                }
                b'{' => {
                    stack.push(Frame::Interp);
                    if stack.len() > MAX_NESTING {
                        out.too_deep = Some(Span::new(i, i + 1));
                        return out;
                    }
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        if (b.is_ascii_alphabetic() || b == b'_')
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'))
        {
            let len = src[i..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(src.len() - i);
            let rest = src[i + len..].trim_start();
            let word = &src[i..i + len];
            let too_many = if word == "else"
                && rest.starts_with("if")
                && !rest[2..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            {
                let depth = stack.len().min(else_ifs.len() - 1);
                else_ifs[depth] += 1;
                else_ifs[depth] > MAX_NESTING
            } else if word == "list" && rest.starts_with('<') {
                list_types += 1;
                list_types > MAX_NESTING
            } else {
                false
            };
            if too_many {
                out.too_deep = Some(Span::new(i, i + len));
                return out;
            }
            i += len;
            continue;
        }
        match b {
            b'"' => {
                quote = i;
                stack.push(Frame::Str);
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = src[i..].find('\n').map_or(src.len(), |n| i + n);
                let text = src[i..end].trim_end();
                out.comments.push(Comment {
                    text: text.to_string(),
                    span: Span::new(i, i + text.len()),
                });
                i = end;
                continue;
            }
            b'(' | b'[' | b'{' => {
                stack.push(Frame::Bracket(i, b));
                else_ifs.resize(stack.len() + 1, 0);
                else_ifs[stack.len()] = 0;
                if stack.len() > MAX_NESTING {
                    out.too_deep = Some(Span::new(i, i + 1));
                    return out;
                }
            }
            b')' | b']' | b'}' => close(&mut stack, &mut out, b),
            _ => {}
        }
        i += 1;
    }
    if matches!(stack.last(), Some(Frame::Str)) {
        out.unterminated.get_or_insert(quote);
    }
    if out.unclosed.is_none() {
        if let Some(Frame::Bracket(pos, open)) =
            stack.iter().rev().find(|f| matches!(f, Frame::Bracket(..)))
        {
            out.unclosed = Some((*pos, *open as char));
        }
    }
    out
}

/// Pops the frame a closing bracket ends, noting an opener it skips over as unclosed.
fn close(stack: &mut Vec<Frame>, out: &mut Scan, b: u8) {
    while let Some(top) = stack.last().copied() {
        match top {
            Frame::Interp if b == b'}' => {
                stack.pop();
                return;
            }
            Frame::Bracket(_, open) if closer(open) == b => {
                stack.pop();
                return;
            }
            Frame::Bracket(pos, open) => {
                // A mismatch: the opener is never closed. Only skip it when something
                // further down matches, otherwise the closer is the stray one.
                let matches_below = stack.iter().rev().skip(1).any(|f| match f {
                    Frame::Bracket(_, o) => closer(*o) == b,
                    Frame::Interp => b == b'}',
                    Frame::Str => false,
                });
                if !matches_below {
                    return;
                }
                if out.unclosed.is_none() {
                    out.unclosed = Some((pos, open as char));
                }
                stack.pop();
            }
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_outside_strings_only() {
        let s = scan("let a = \"http://x\" // one\n// two\r\nlet b = \"{c // not\"}\"");
        let texts: Vec<_> = s.comments.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["// one", "// two", "// not\"}\""]);
        assert_eq!(s.comments[0].span, Span::new(19, 25));
    }

    #[test]
    fn nesting_limit() {
        let deep = "(".repeat(MAX_NESTING + 1);
        assert_eq!(
            scan(&deep).too_deep,
            Some(Span::new(MAX_NESTING, MAX_NESTING + 1))
        );
        assert!(scan(&"(".repeat(MAX_NESTING)).too_deep.is_none());
        let interp = "\"{".repeat(MAX_NESTING);
        assert!(scan(&interp).too_deep.is_some());
    }

    #[test]
    fn unclosed_bracket_is_found() {
        let s = scan("scenario s {\n  iteration {\n    get(a, \"/\"\n  }\n}\n");
        assert_eq!(s.unclosed, Some((34, '(')));
        assert_eq!(scan("f(a)").unclosed, None);
    }
}
