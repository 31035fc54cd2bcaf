//! Fix-its: the edits a diagnostic's help spells out, as code actions. The compiler
//! words every fix as text (`did you mean `browse`?`, `write 400ms`, `add `import std/checks
//! { ok }``). The ones that name exact replacement text become exact edits (preferred);
//! the others (templates and examples: `declare `target NAME = ".."` and pass NAME`, `add
//! `password: …``, `a check needs a condition, e.g. `r.status == 200``) become edits that
//! put the template where it belongs (a declaration before the item that needs it, a
//! field or argument inside its record or call, a statement on the line after, an
//! example in place of the span), its placeholders (`NAME`, `…`) left for the user to
//! fill. A help that only explains (`a weight is 1 to 100`) names no code and has no
//! edit. Lint findings can also be allowed with a `// volley: allow(CODE) reason`
//! comment on the line above.

use volley_syntax::ast::Span;
use volley_syntax::Diagnostic;

/// One fix: its title and its edits (byte span → new text) in the diagnostic's file.
#[derive(Clone, Debug, PartialEq)]
pub struct Fix {
    pub title: String,
    pub edits: Vec<(Span, String)>,
    pub preferred: bool,
}

/// The text between the first pair of backticks of `s`.
fn first_code(s: &str) -> Option<&str> {
    let a = s.find('`')?;
    let rest = &s[a + 1..];
    let b = rest.find('`')?;
    Some(&rest[..b])
}

/// Whether `s` reads as code to paste rather than a template to fill in.
fn concrete(s: &str) -> bool {
    !s.is_empty()
        && !s.contains('…')
        && !s.contains("..")
        && !s.contains("NAME")
        && !s.contains("VAR")
        && !s.contains('\n')
}

/// Where an import line goes: after the last line starting with `import`, or at the top
/// (after leading comment lines).
fn import_offset(text: &str) -> usize {
    let mut at = 0;
    let mut offset = 0;
    let mut seen_import = false;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with("import ") {
            seen_import = true;
            at = offset + line.len();
        } else if !seen_import && t.starts_with("//") {
            at = offset + line.len();
        }
        offset += line.len();
    }
    at
}

/// The start of the line holding `offset`, and its indentation.
fn line_start(text: &str, offset: usize) -> (usize, String) {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let indent: String = text[start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    (start, indent)
}

/// Every text between backticks of `s`.
fn snippets(s: &str) -> Vec<&str> {
    s.split('`').skip(1).step_by(2).collect()
}

/// The declaration keyword a snippet starts with (`target api = ..` → `target`).
fn decl_keyword(s: &str) -> Option<&'static str> {
    const WORDS: &[&str] = &[
        "target",
        "secret",
        "param",
        "let",
        "var",
        "data",
        "metric",
        "import",
        "thresholds",
    ];
    let first = s.split([' ', '{']).next()?;
    let more = s[first.len()..].trim();
    WORDS
        .iter()
        .copied()
        .find(|w| *w == first && !more.is_empty())
}

/// `name: value` → (`name`, `value`).
fn named(s: &str) -> Option<(&str, &str)> {
    let (k, v) = s.split_once(':')?;
    let k = k.trim();
    (!k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then(|| (k, v.trim()))
}

/// `name = value` (a field of a block) → `name`.
fn assigned(s: &str) -> Option<&str> {
    let (k, v) = s.split_once(" = ")?;
    (!k.is_empty() && !v.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(k)
}

/// The start of the top-level line at or before `offset` (an item's first line: not
/// indented, not blank, not a closing brace or a comment).
fn item_line(text: &str, offset: usize) -> usize {
    let mut at = 0;
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        if start > offset {
            break;
        }
        let top = line
            .chars()
            .next()
            .is_some_and(|c| !c.is_whitespace() && c != '}' && c != '/');
        if top {
            at = start;
        }
        start += line.len();
    }
    at
}

/// The end of the line holding `offset` (after its newline), and the indentation its
/// next statement takes (one level deeper after a line that opens a block).
fn next_line(text: &str, offset: usize) -> (usize, String) {
    let (start, indent) = line_start(text, offset);
    let end = text[start..]
        .find('\n')
        .map_or(text.len(), |i| start + i + 1);
    let opens = text[start..end].trim_end().ends_with('{');
    (end, if opens { format!("{indent}  ") } else { indent })
}

/// The offset of the bracket that closes the innermost `(..)` or `{..}` holding `span`
/// (the span's own, when it ends with one), and whether that group is empty.
fn closing_bracket(text: &str, span: Span) -> Option<(usize, bool)> {
    let b = text.as_bytes();
    let old = &text[span.start..span.end];
    if old.ends_with(')') || old.ends_with('}') {
        let at = span.end - 1;
        let open = old.find(['(', '{'])?;
        let inner = &old[open + 1..old.len() - 1];
        return Some((at, inner.trim().is_empty()));
    }
    let mut depth = 0i32;
    for (i, &c) in b.iter().enumerate().skip(span.end) {
        match c {
            b'(' | b'{' | b'[' => depth += 1,
            b']' => depth -= 1,
            b')' | b'}' => {
                if depth == 0 {
                    let before = text[..i].trim_end();
                    let empty = before.ends_with('(') || before.ends_with('{');
                    return Some((i, empty));
                }
                depth -= 1;
            }
            _ => {}
        }
        if depth < 0 {
            return None;
        }
    }
    None
}

/// The end of the argument or field that starts at `start`: the next `,` or closing
/// bracket outside brackets and strings.
fn arg_end(text: &str, start: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut in_str = false;
    let mut escaped = false;
    for (i, c) in text[start..].char_indices() {
        if in_str {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => in_str = false,
                _ => escaped = false,
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => return Some(start + i),
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => return Some(start + i),
            _ => {}
        }
    }
    None
}

/// The snippets of a list of alternatives that starts at the first backtick of `s`:
/// `` `a`, `b` or `c` `` → a, b, c (a call's `(..)` left out).
fn alternatives(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let Some(mut rest) = s.find('`').map(|i| &s[i..]) else {
        return out;
    };
    while let Some(body) = rest.strip_prefix('`') {
        let Some(end) = body.find('`') else { break };
        let code = &body[..end];
        out.push(code.strip_suffix("(..)").unwrap_or(code));
        rest = &body[end + 1..];
        match ["`", ", `", " or `", ", or `", "/`"]
            .iter()
            .find(|sep| rest.starts_with(**sep))
        {
            Some(sep) => rest = &rest[sep.len() - 1..],
            None => break,
        }
    }
    out
}

/// The `)` closing the call that opens with the `(` at `open`, outside strings.
fn close_of(text: &str, open: usize) -> Option<usize> {
    let mut at = open + 1;
    loop {
        let end = arg_end(text, at)?;
        if text[end..].starts_with(',') {
            at = end + 1;
        } else {
            return text[end..].starts_with(')').then_some(end);
        }
    }
}

/// The span of the innermost call holding `span` (from the parsed file).
fn enclosing_call(text: &str, span: Span) -> Option<Span> {
    let (file, _) = volley_syntax::parse(text);
    let file = file?;
    let walk = crate::shapes::Walk::new(&file);
    walk.exprs
        .iter()
        .filter(|e| matches!(e.kind, volley_syntax::ast::ExprKind::Call { .. }))
        .map(|e| e.span)
        .filter(|s| s.start <= span.start && span.end <= s.end && *s != span)
        .min_by_key(|s| s.len())
}

/// The request `NAME` was bound to (`let NAME = get(..)`), for a span reading
/// `NAME.status`: the span of that call.
fn bound_request(text: &str, span: Span) -> Option<Span> {
    let old = &text[span.start..span.end];
    let name = old.split(".status").next().filter(|n| {
        !n.is_empty()
            && n.len() < old.len()
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })?;
    let bind = text[..span.start].rfind(&format!("let {name} = "))?;
    let call = bind + format!("let {name} = ").len();
    let open = call + text[call..].find('(')?;
    if text[call..open].contains('\n') {
        return None;
    }
    let close = close_of(text, open)?;
    Some(Span::new(call, close + 1))
}

/// A field or argument `name: value` put into the record or call at `span`.
fn add_named(text: &str, span: Span, code: &str) -> Option<Fix> {
    let (close, empty) = closing_bracket(text, span)?;
    let before = text[..close].trim_end();
    let sep = if empty {
        ""
    } else if before.ends_with(',') {
        " "
    } else {
        ", "
    };
    let at = if empty { close } else { before.len() };
    Some(Fix {
        title: format!("Add `{code}`"),
        edits: vec![(Span::new(at, at), format!("{sep}{code}"))],
        preferred: false,
    })
}

/// The fix of a help that gives a template or an example rather than exact text.
fn template(d: &Diagnostic, text: &str, span: Span, help: &str) -> Option<Fix> {
    let old = text.get(span.start..span.end)?;
    let snips = snippets(help);
    let quoted = old.starts_with('"') && old.ends_with('"') && old.len() >= 2;
    // `(..)` and `{ .. }` in a template are placeholders: `…` marks them to fill.
    let fill = |code: &str| code.replace("(..)", "(…)").replace("{ .. }", "{ … }");
    // A statement to write (`use `repeat N { .. }` for loops`): on the line after the
    // span's.
    if let Some(stmt) = snips.iter().find(|c| {
        let first = c.split_whitespace().next().unwrap_or("");
        ["for", "if", "repeat", "while"].contains(&first) && c.ends_with('}')
    }) {
        let first = stmt.split_whitespace().next().unwrap_or("");
        let (line, indent) = line_start(text, span.start);
        // A statement of its own (the flow's call of itself) gives way to it.
        if line + indent.len() == span.start {
            return Some(Fix {
                title: format!("Write `{first} ..` instead"),
                edits: vec![(span, fill(stmt))],
                preferred: false,
            });
        }
        let (at, indent) = next_line(text, span.start);
        return Some(Fix {
            title: format!("Add `{first} ..`"),
            edits: vec![(Span::new(at, at), format!("{indent}{}\n", fill(stmt)))],
            preferred: false,
        });
    }
    // One of a list of alternatives in place of the span (`cookies` is one of
    // `per_iteration`, `per_vu`; use `vu.id` or `test.iteration`).
    for cue in ["is one of `", "takes `", "is `", "use `"] {
        let Some(i) = help.find(cue) else { continue };
        if cue == "is `" && !help.starts_with("a data source is `") {
            continue;
        }
        // `write X, or use Y` and `add X, or use Y`: the first comes first.
        if help.starts_with("write ") || help.find("add `").is_some_and(|a| a < i) {
            continue;
        }
        let alts = alternatives(&help[i + cue.len() - 1..]);
        let single = !old.contains(char::is_whitespace) || cue == "use `";
        let usable: Vec<&str> = alts
            .into_iter()
            .filter(|a| *a != old && named(a).is_none() && !a.contains(" = "))
            // A call gives way to a value (`vu.id`), not to a bare name (a workload).
            .filter(|a| cue != "use `" || !old.contains('(') || a.contains('.'))
            .collect();
        if single && !usable.is_empty() {
            let a = usable[0];
            return Some(Fix {
                title: format!("Write `{a}`"),
                edits: vec![(span, a.to_string())],
                preferred: false,
            });
        }
    }
    let fix = |title: String, edits: Vec<(Span, String)>, preferred: bool| {
        Some(Fix {
            title,
            edits,
            preferred,
        })
    };
    // Exact removals and insertions the help spells out.
    if help.starts_with("remove the second `") && snips.first() == Some(&old) {
        return fix(
            format!("Remove the second `{old}`"),
            vec![(span, String::new())],
            true,
        );
    }
    if help.starts_with("write a value after `:`") {
        let at = text[..span.start].trim_end().len();
        return fix(
            "Write a value after `:`".into(),
            vec![(Span::new(at, at), " …".into())],
            false,
        );
    }
    if help.starts_with("drop the `%`") {
        let rest = &text[span.end..];
        let tail = rest.trim_start().strip_prefix('%')?;
        let n = tail.len() - tail.trim_start().len();
        let digits = tail
            .trim_start()
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .count();
        let end = span.end + (rest.len() - tail.len()) + n + digits;
        return fix(
            "Drop the `%`".into(),
            vec![(Span::new(span.end, end), String::new())],
            true,
        );
    }
    if help.starts_with("give `") && help.ends_with("an int") {
        let inner = old.trim_matches('"');
        let new = if inner.parse::<i64>().is_ok() {
            inner
        } else {
            "0"
        };
        return fix(
            format!("Write `{new}`"),
            vec![(span, new.to_string())],
            false,
        );
    }
    // `runners = N` in the fleet block: its value changes, or the field is added.
    if let Some(runners) = snips.iter().find(|c| c.starts_with("runners = ")) {
        let value = runners.trim_start_matches("runners = ");
        if let Some(i) = text.find("runners = ") {
            let at = i + "runners = ".len();
            let end = at
                + text[at..]
                    .find(|c: char| c.is_whitespace())
                    .unwrap_or(text.len() - at);
            return fix(
                format!("Write `{runners}`"),
                vec![(Span::new(at, end), value.to_string())],
                false,
            );
        }
        let brace = text.find("fleet {")? + "fleet ".len();
        let (at, indent) = next_line(text, brace);
        return fix(
            format!("Add `{runners}`"),
            vec![(Span::new(at, at), format!("{indent}{runners}\n"))],
            false,
        );
    }
    // TLS: `insecure_tls: true` goes, and a plain `http://` target becomes `https://`.
    if help.starts_with("turn `insecure_tls` off") {
        let i = text.find("insecure_tls: true")? + "insecure_tls: ".len();
        return fix(
            "Turn `insecure_tls` off".into(),
            vec![(Span::new(i, i + 4), "false".into())],
            false,
        );
    }
    if help.starts_with("use an `https://` URL for the target") {
        let plain: Vec<usize> = text
            .match_indices("= \"http://")
            .map(|(i, _)| i + 3)
            .collect();
        if let [i] = plain[..] {
            return fix(
                "Use `https://`".into(),
                vec![(Span::new(i, i + 4), "https".into())],
                false,
            );
        }
        return None;
    }
    // `use `pick: unique` ..`: the data source of the row read at the span.
    if let Some(pick) = snips
        .first()
        .filter(|c| c.starts_with("pick: ") && help.starts_with("use `pick: "))
    {
        let source = old.split('.').next()?;
        let decl = text.find(&format!("data {source} = "))?;
        let line_end = decl + text[decl..].find('\n').unwrap_or(text.len() - decl);
        let line = &text[decl..line_end];
        if let Some(p) = line.find("pick: ") {
            let at = decl + p;
            let end = at
                + "pick: ".len()
                + line[p + "pick: ".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .count();
            return fix(
                format!("Write `{pick}`"),
                vec![(Span::new(at, end), pick.to_string())],
                false,
            );
        }
        let close = decl + line.rfind(')')?;
        return fix(
            format!("Add `{pick}`"),
            vec![(Span::new(close, close), format!(", {pick}"))],
            false,
        );
    }
    if help.starts_with("write the stage target after `->`") {
        let example = snips.get(1)?;
        let target = example.split("->").nth(1)?.trim();
        let at = text[..span.start].trim_end().len();
        return fix(
            format!("Write the target `{target}`"),
            vec![(Span::new(at, at), format!(" {target}"))],
            false,
        );
    }
    if d.code == "L0001" && old.starts_with("// volley: allow(") {
        let keep = &old[..old.find(')')? + 1];
        return fix(
            "Say why".into(),
            vec![(span, format!("{keep} reason: …"))],
            false,
        );
    }
    // `close it when done with it: `s.close()``: at the end of the block.
    if help.starts_with("close it when done with it: `") {
        let code = snips.first()?;
        let mut at = span.end;
        let close = loop {
            let end = arg_end(text, at)?;
            if text[end..].starts_with(',') {
                at = end + 1;
            } else {
                break end;
            }
        };
        let (line, indent) = line_start(text, span.start);
        let (close_line, _) = line_start(text, close);
        let own_line = text[close_line..close].trim().is_empty() && close_line > line;
        let (at, new) = if own_line {
            (close_line, format!("{indent}{code}\n"))
        } else {
            (close, format!("; {code} "))
        };
        return fix(
            format!("Add `{code}` at the end of the block"),
            vec![(Span::new(at, at), new)],
            false,
        );
    }
    // The network of `fleet.egress`: the example joins the list.
    if help.contains("`fleet.egress`") {
        let example = help.split("e.g. ").nth(1)?.trim_end_matches(')');
        let list = text.find("egress = [")? + "egress = [".len();
        let close = list + text[list..].find(']')?;
        let sep = if text[list..close].trim().is_empty() {
            ""
        } else {
            ", "
        };
        let at = list + text[list..close].trim_end().len();
        return Some(Fix {
            title: format!("Add {example} to `fleet.egress`"),
            edits: vec![(Span::new(at, at), format!("{sep}{example}"))],
            preferred: false,
        });
    }
    // A declaration: before the item that needs it (a `var` or a local `let` on the line
    // before the statement), with `NAME` passed in place of the literal when the help
    // says so.
    if let Some(decl) = snips.iter().copied().find(|s| decl_keyword(s).is_some()) {
        let kw = decl_keyword(decl)?;
        let (line, indent) = line_start(text, span.start);
        // The declaration of the span's own line with another keyword (`var x` → `let
        // x`, `let token` → `secret token`): that keyword changes.
        let stmt = &text[line + indent.len()..];
        let name = decl[kw.len()..].split_whitespace().next().unwrap_or("");
        for old_kw in ["var", "let", "param"] {
            let own = stmt.strip_prefix(old_kw).and_then(|r| r.strip_prefix(' '));
            let word = |r: &str| {
                r.trim_start()
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .next()
                    == Some(name)
            };
            if old_kw != kw && own.is_some_and(word) {
                let at = line + indent.len();
                return Some(Fix {
                    title: format!("Declare it with `{kw}`"),
                    edits: vec![(Span::new(at, at + old_kw.len()), kw.to_string())],
                    preferred: false,
                });
            }
        }
        let decl = &fill(decl);
        let (at, new) = match kw {
            "import" => (import_offset(text), format!("{decl}\n")),
            "thresholds" => {
                let sep = if text.ends_with('\n') { "\n" } else { "\n\n" };
                (text.len(), format!("{sep}{decl}\n"))
            }
            "var" | "let" if !indent.is_empty() => (line, format!("{indent}{decl}\n")),
            _ => (item_line(text, span.start), format!("{decl}\n")),
        };
        let mut edits = vec![(Span::new(at, at), new)];
        let passes = help.contains("pass NAME") || help.contains("use NAME");
        if passes && quoted && decl.contains("NAME") {
            edits.push((span, "NAME".into()));
        }
        return Some(Fix {
            title: format!("Declare `{decl}`"),
            edits,
            preferred: false,
        });
    }
    // `add `X``: a field or argument into its record or call, a block's field after
    // its `{`, or a statement on the next line.
    let add = help
        .strip_prefix("add `")
        .or_else(|| help.split_once(", or add `").map(|(_, r)| r))
        .or_else(|| help.split_once(" or add `").map(|(_, r)| r));
    if let Some(rest) = add {
        let code = &fill(rest.split('`').next()?);
        {
            if named(code).is_some() {
                if code.starts_with("expect:") {
                    if let Some(call) = bound_request(text, span) {
                        return add_named(text, call, code);
                    }
                }
                return add_named(text, span, code);
            }
            if assigned(code).is_some() {
                let brace = text[span.start..].find('{').map(|i| span.start + i)?;
                let (at, indent) = next_line(text, brace);
                return Some(Fix {
                    title: format!("Add `{code}`"),
                    edits: vec![(Span::new(at, at), format!("{indent}{code}\n"))],
                    preferred: false,
                });
            }
            // A statement: into the iteration when the help says so, else after the
            // span's line.
            let iteration = help
                .contains("the iteration")
                .then(|| text[span.start..].find("iteration {"))
                .flatten()
                .map(|i| span.start + i);
            let (at, indent) = next_line(text, iteration.unwrap_or(span.start));
            return Some(Fix {
                title: format!("Add `{code}`"),
                edits: vec![(Span::new(at, at), format!("{indent}{code}\n"))],
                preferred: false,
            });
        }
    }
    // `add the missing `)` at the end of the previous line`.
    if help.starts_with("add the missing `") && help.ends_with("end of the previous line") {
        let code = snips.first()?;
        let (line, _) = line_start(text, span.start);
        let prev = text[..line.saturating_sub(1)].trim_end().len();
        return Some(Fix {
            title: format!("Add `{code}` at the end of the previous line"),
            edits: vec![(Span::new(prev, prev), code.to_string())],
            preferred: true,
        });
    }
    // `keep one `name``: the repeated argument goes, with its comma.
    if help.starts_with("keep one `") && d.code == "E0306" {
        let end = arg_end(text, span.start)?;
        let before = text[..span.start].trim_end();
        let (start, end) = if before.ends_with(',') {
            (before.len() - 1, end)
        } else {
            let after = text[end..].strip_prefix(',').map_or(end, |_| end + 1);
            let after = after + (text[after..].len() - text[after..].trim_start().len());
            (span.start, after)
        };
        return Some(Fix {
            title: "Remove the repeated argument".into(),
            edits: vec![(Span::new(start, end), String::new())],
            preferred: true,
        });
    }
    // An example: `write `X``, `write X`, `.. e.g. `X``, `.. such as `X``, `..: `X``.
    let example = fill(&example_of(help, &snips, quoted)?);
    // `close with 1000 (normal: `s.close()`)` at the code of `s.close(1006)`: the
    // example is the call the span is in, not a replacement.
    if let Some(callee) = example.strip_suffix("()") {
        if text[..span.start]
            .trim_end()
            .ends_with(&format!("{callee}("))
        {
            return None;
        }
    }
    // `write an int such as `[0]`` at the index of `x["first"]`: the index alone.
    if let Some(inner) = example.strip_prefix('[').and_then(|e| e.strip_suffix(']')) {
        if text[..span.start].ends_with('[') {
            return fix(
                format!("Write `{inner}`"),
                vec![(span, inner.to_string())],
                false,
            );
        }
    }
    // `"user{vu.id}@example.com"` for `vu.iteration` in `"user{vu.iteration}@.."`: the
    // example's interpolation.
    if let (true, Some(inner)) = (
        text[..span.start].ends_with('{') && example.starts_with('"'),
        example
            .split_once('{')
            .and_then(|(_, r)| r.split_once('}'))
            .map(|(i, _)| i),
    ) {
        return fix(
            format!("Write `{inner}`"),
            vec![(span, inner.to_string())],
            false,
        );
    }
    if example.starts_with('"') && !quoted {
        // A string example for a span that holds string literals (`k8s_secret("api",
        // "a key")`): the literal closest to it changes.
        let mut literals = Vec::new();
        let mut from = 0;
        while let Some(a) = old[from..].find('"') {
            let a = from + a;
            let b = a + 1 + old[a + 1..].find('"')?;
            literals.push(Span::new(span.start + a, span.start + b + 1));
            from = b + 1;
        }
        let name = old
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        let closest = match literals.into_iter().min_by_key(|l| {
            volley_compiler::suggest::distance(&text[l.start..l.end].to_lowercase(), &example)
        }) {
            Some(l) => l,
            // A name in place of a literal (`username: user`): the value.
            None if name => span,
            None => return None,
        };
        return fix(
            format!("Write `{example}`"),
            vec![(closest, example.clone())],
            false,
        );
    }
    if example.starts_with('.') {
        // `convert it: `.int()``: a method after the value.
        return Some(Fix {
            title: format!("Add `{example}`"),
            edits: vec![(Span::new(span.end, span.end), example)],
            preferred: false,
        });
    }
    let new = if let Some((key, value)) = named(&example) {
        let before = text[..span.start].trim_end();
        if old.starts_with(&format!("{key}:")) {
            example.clone()
        } else if before.ends_with(&format!("{key}:")) {
            value.to_string()
        } else if old.ends_with(')') || old.ends_with('}') {
            return add_named(text, span, &example);
        } else {
            // An argument of the call the span is in.
            let call = enclosing_call(text, span)?;
            return add_named(text, call, &example);
        }
    } else if quoted
        && !example.starts_with('"')
        && !example.contains(['(', '"'])
        && !example.contains("..")
        && example.parse::<f64>().is_err()
        && !help.contains("without quotes")
    {
        format!("\"{example}\"")
    } else {
        example.clone()
    };
    (new != old).then(|| Fix {
        title: format!("Write `{new}`"),
        edits: vec![(span, new)],
        preferred: false,
    })
}

/// The example a help gives: `write X` (a word, `e.g. X` or `` `X` ``), or the snippet
/// after `e.g.`, `such as` or a colon.
fn example_of(help: &str, snips: &[&str], quoted: bool) -> Option<String> {
    if let Some(rest) = help.strip_prefix("write ") {
        let rest = rest.strip_prefix("e.g. ").unwrap_or(rest);
        if rest.starts_with('`') {
            return snips.first().map(|s| s.to_string());
        }
        if let Some(x) = rest.strip_suffix(" without quotes") {
            return Some(x.to_string());
        }
        if !rest.contains(' ') && !rest.contains('`') {
            return Some(rest.to_string());
        }
    }
    for cue in ["e.g. `", "such as `", ": `", "write `"] {
        if let Some(i) = help.find(cue) {
            let rest = &help[i + cue.len()..];
            let code = &rest[..rest.find('`')?];
            if concrete_or_template(code) {
                return Some(code.to_string());
            }
        }
    }
    for cue in ["e.g. \"", "such as \""].iter().filter(|_| quoted) {
        if let Some(i) = help.find(cue) {
            let rest = &help[i + cue.len() - 1..];
            let end = rest[1..].find('"')? + 2;
            return Some(rest[..end].to_string());
        }
    }
    None
}

/// A snippet that can stand in the text (one line).
fn concrete_or_template(s: &str) -> bool {
    !s.is_empty() && !s.contains('\n')
}

/// Every fix of `d` (whose spans point into `text`).
pub fn fixes(d: &Diagnostic, text: &str) -> Vec<Fix> {
    let mut out = Vec::new();
    let span = d.span();
    let help = d.help.as_deref().unwrap_or("");
    if let Some(span) = span.filter(|s| s.end <= text.len()) {
        let replace = |new: &str, title: String| Fix {
            title,
            edits: vec![(span, new.to_string())],
            preferred: true,
        };
        let old = text.get(span.start..span.end).unwrap_or("");
        if let Some(rest) = help.strip_prefix("did you mean ") {
            if let Some(new) = first_code(rest).filter(|n| concrete(n) && *n != old) {
                out.push(replace(new, format!("Replace `{old}` with `{new}`")));
            }
        } else if let Some(rest) = help.strip_prefix("write ") {
            // Units (E0202 `write 400ms`, E0203 `write 10`): the number with its unit
            // fixed; other "write" helps show a template, not a replacement.
            let new = rest.trim();
            let unit_fix = d.code == "E0202" || d.code == "E0203";
            if unit_fix && !new.contains(' ') && concrete(new) && new != old {
                out.push(replace(new, format!("Write `{new}`")));
            }
        } else if help.starts_with("add `expect:") && old.ends_with(')') {
            if let Some(code) = first_code(help).filter(|c| concrete(c)) {
                let at = span.end - 1;
                out.push(Fix {
                    title: format!("Add `{code}` to the request"),
                    edits: vec![(Span::new(at, at), format!(", {code}"))],
                    preferred: true,
                });
            }
        } else if d.code == "L0003" && old.starts_with("//") {
            out.push(replace("", "Remove the unused allow comment".into()));
        }
    }
    if let Some(import) = help
        .strip_prefix("it is in the standard library: add ")
        .and_then(first_code)
        .filter(|c| c.starts_with("import "))
    {
        let at = import_offset(text);
        out.push(Fix {
            title: format!("Add `{import}`"),
            edits: vec![(Span::new(at, at), format!("{import}\n"))],
            preferred: true,
        });
    }
    if out.is_empty() {
        if let Some(span) = span.filter(|s| s.start <= s.end && s.end <= text.len()) {
            out.extend(template(d, text, span, help));
        }
    }
    let allowable = d.code.starts_with('L') && !d.code.starts_with("L00");
    if let (true, Some(span)) = (allowable, span) {
        let (start, indent) = line_start(text, span.start);
        out.push(Fix {
            title: format!("Allow {} here (with a reason)", d.code),
            edits: vec![(
                Span::new(start, start),
                format!(
                    "{indent}// volley: allow({}) reason: why this is fine\n",
                    d.code
                ),
            )],
            preferred: false,
        });
    }
    out
}

/// `text` with `edits` applied (edits must not overlap).
#[cfg(test)]
pub fn apply(text: &str, edits: &[(Span, String)]) -> String {
    let mut edits: Vec<&(Span, String)> = edits.iter().collect();
    edits.sort_by_key(|(s, _)| std::cmp::Reverse(s.start));
    let mut out = text.to_string();
    for (s, new) in edits {
        if s.start <= s.end && s.end <= out.len() {
            out.replace_range(s.start..s.end, new);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(code: &str, text: &str, at: &str, help: &str) -> Diagnostic {
        let start = text.find(at).unwrap_or(0);
        Diagnostic::error(code, "m")
            .with_label(Span::new(start, start + at.len()), "here")
            .with_help(help)
    }

    #[test]
    fn did_you_mean_replaces_the_name() {
        let text = "flow a() { brwose() }";
        let d = diag("E0101", text, "brwose", "did you mean `browse`?");
        let f = fixes(&d, text);
        assert_eq!(apply(text, &f[0].edits), "flow a() { browse() }");
    }

    #[test]
    fn write_replaces_a_number_with_its_unit() {
        let text = "let t = 400\n";
        let d = diag("E0202", text, "400", "write 400ms");
        let f = fixes(&d, text);
        assert_eq!(apply(text, &f[0].edits), "let t = 400ms\n");
        let d = diag("E0202", text, "400", "write a duration such as 400ms");
        assert!(fixes(&d, text).is_empty());
    }

    #[test]
    fn a_std_name_gets_its_import() {
        let text = "// head\nimport std/profiles\nlet x = ok\n";
        let d = diag(
            "E0101",
            text,
            "ok",
            "it is in the standard library: add `import std/checks { ok }`",
        );
        let f = fixes(&d, text);
        assert_eq!(
            apply(text, &f[0].edits),
            "// head\nimport std/profiles\nimport std/checks { ok }\nlet x = ok\n"
        );
    }

    #[test]
    fn a_lint_finding_can_be_allowed() {
        let text = "scenario s {\n  let u = 1\n}\n";
        let d = diag("L0101", text, "let u", "share less");
        let f = fixes(&d, text);
        assert_eq!(f.len(), 1);
        assert!(apply(text, &f[0].edits).contains("\n  // volley: allow(L0101) reason"));
    }
}
