//! Allow comments: `// volley: allow(L0101) reason` silences the findings of the listed
//! codes whose primary span starts on the same line as the comment (a trailing comment)
//! or on the next line of code (a comment on its own line; other comment lines between
//! are skipped, so allows can stack). Several codes: `allow(L0101, L0109) reason`.
//!
//! The comment itself is checked by three rules, each in its own file: a missing reason
//! (L0001: the allow still silences, the reason is what a reviewer reads), an unknown
//! code (L0002) and an allow that silences nothing (L0003). Those findings cannot be
//! allowed. Only the user's files are read, never the standard library. Pure: the
//! comments come with the IR.

use super::{rules, Config, Rule};
use crate::ir::{self, Loc};
use volley_syntax::ast::Span;
use volley_syntax::Diagnostic;

pub use rules::l0001_allow_without_reason::RULE as L0001;
pub use rules::l0002_allow_unknown_code::RULE as L0002;
pub use rules::l0003_unused_allow::RULE as L0003;

/// One parsed allow comment.
#[derive(Clone, Debug, PartialEq)]
pub struct Allow {
    pub module: ir::ModuleId,
    /// The whole comment.
    pub span: Span,
    /// Each code and its span inside the comment.
    pub codes: Vec<(String, Span)>,
    pub reason: Option<String>,
    /// The 0-based line whose findings it silences.
    pub line: usize,
}

/// Parses `// volley: allow(CODES) reason`; `None` for any other comment. `start` is the
/// comment's offset in the file.
/// The codes of an allow comment (each with its span) and its reason.
pub type Parsed = (Vec<(String, Span)>, Option<String>);

pub fn parse(text: &str, start: usize) -> Option<Parsed> {
    let body = text.strip_prefix("//")?;
    let lead = body.len() - body.trim_start().len();
    let rest = body.trim_start().strip_prefix("volley:")?;
    let lead2 = rest.len() - rest.trim_start().len();
    let rest = rest.trim_start().strip_prefix("allow(")?;
    let close = rest.find(')')?;
    let list_start = start + 2 + lead + "volley:".len() + lead2 + "allow(".len();
    let mut codes = Vec::new();
    let mut offset = 0;
    for raw in rest[..close].split(',') {
        let trimmed = raw.trim();
        if !trimmed.is_empty() {
            let at = list_start + offset + (raw.len() - raw.trim_start().len());
            codes.push((trimmed.to_string(), Span::new(at, at + trimmed.len())));
        }
        offset += raw.len() + 1;
    }
    let reason = rest[close + 1..]
        .trim()
        .trim_start_matches([':', '-', '—'])
        .trim();
    Some((codes, (!reason.is_empty()).then(|| reason.to_string())))
}

/// Line index of each offset (0-based), from the start offsets of the lines.
fn line_of(starts: &[usize], offset: usize) -> usize {
    match starts.binary_search(&offset) {
        Ok(i) => i,
        Err(i) => i.saturating_sub(1),
    }
}

/// Every allow comment of the user's modules.
pub fn collect(prog: &ir::Program) -> Vec<Allow> {
    let mut out = Vec::new();
    for (m, module) in prog.modules.iter().enumerate() {
        if module.is_std {
            continue;
        }
        let src = &module.source;
        let starts: Vec<usize> = std::iter::once(0)
            .chain(src.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let lines: Vec<&str> = src.split('\n').collect();
        for c in &module.comments {
            let Some((codes, reason)) = parse(&c.text, c.span.start) else {
                continue;
            };
            let line = line_of(&starts, c.span.start);
            let before = &src[starts[line]..c.span.start];
            let target = if before.trim().is_empty() {
                // The next line that holds code.
                (line + 1..lines.len())
                    .find(|&l| {
                        let t = lines[l].trim();
                        !t.is_empty() && !t.starts_with("//")
                    })
                    .unwrap_or(line + 1)
            } else {
                line
            };
            out.push(Allow {
                module: m as ir::ModuleId,
                span: c.span,
                codes,
                reason,
                line: target,
            });
        }
    }
    out
}

/// Drops the findings an allow silences and adds the findings about allow comments.
pub fn apply(prog: &ir::Program, found: Vec<Diagnostic>, config: &Config) -> Vec<Diagnostic> {
    let allows = collect(prog);
    let line_starts: Vec<Vec<usize>> = prog
        .modules
        .iter()
        .map(|m| {
            std::iter::once(0)
                .chain(m.source.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        })
        .collect();
    let mut used = vec![vec![false; 0]; allows.len()];
    for (i, a) in allows.iter().enumerate() {
        used[i] = vec![false; a.codes.len()];
    }
    let mut kept = Vec::new();
    for d in found {
        let module = prog.modules.iter().position(|m| m.file == d.file);
        let silenced = module.and_then(|m| {
            let line = line_of(&line_starts[m], d.span().unwrap_or_default().start);
            allows.iter().enumerate().find_map(|(i, a)| {
                if a.module as usize != m || a.line != line {
                    return None;
                }
                a.codes
                    .iter()
                    .position(|(c, _)| *c == d.code)
                    .map(|j| (i, j))
            })
        });
        match silenced {
            Some((i, j)) => used[i][j] = true,
            None => kept.push(d),
        }
    }
    for (i, a) in allows.iter().enumerate() {
        let file = &prog.modules[a.module as usize].file;
        let loc = Loc::new(a.module, a.span);
        if a.reason.is_none() {
            push(
                &mut kept,
                config,
                &L0001,
                rules::l0001_allow_without_reason::finding(file, loc),
            );
        }
        for (j, (code, span)) in a.codes.iter().enumerate() {
            match super::rule(code) {
                None => push(
                    &mut kept,
                    config,
                    &L0002,
                    rules::l0002_allow_unknown_code::finding(file, *span, code),
                ),
                Some(r) if !used[i][j] && config.severity(r).is_some() => push(
                    &mut kept,
                    config,
                    &L0003,
                    rules::l0003_unused_allow::finding(file, *span, code),
                ),
                Some(_) => {}
            }
        }
    }
    kept
}

fn push(out: &mut Vec<Diagnostic>, config: &Config, rule: &Rule, mut d: Diagnostic) {
    if let Some(sev) = config.severity(rule) {
        d.code = rule.code.to_string();
        d.severity = sev;
        out.push(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_and_reasons() {
        let (codes, reason) = parse("// volley: allow(L0101, L0109) demo password", 10).unwrap();
        assert_eq!(codes.len(), 2);
        assert_eq!(codes[0].0, "L0101");
        let text = "// volley: allow(L0101, L0109) demo password";
        let s = codes[1].1;
        assert_eq!(&text[s.start - 10..s.end - 10], "L0109");
        assert_eq!(reason.as_deref(), Some("demo password"));
        let (_, none) = parse("//volley: allow(L0101)", 0).unwrap();
        assert_eq!(none, None);
        assert!(parse("// a plain comment", 0).is_none());
        assert!(parse("// volley: allow L0101", 0).is_none());
    }
}
