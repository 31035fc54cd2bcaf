//! Fix-its: the edits a diagnostic's help spells out, as code actions. The compiler
//! words every fix as text (`did you mean `browse`?`, `write 400ms`, `add `import std/checks
//! { ok }``); the ones that name exact replacement text become edits here. Lint findings
//! can also be allowed with a `// volley: allow(CODE) reason` comment on the line above.

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
