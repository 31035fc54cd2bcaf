//! Turns a pest error into an `E0001` diagnostic in plain words: "expected an expression",
//! "expected `,` or `)`", never a grammar rule name. The span is the token found where
//! something else was expected; a help line is added where the fix is obvious.

use super::Rule;
use crate::ast::Span;
use crate::diagnostic::Diagnostic;
use crate::lex::Scan;
use pest::error::{Error, ErrorVariant, InputLocation};
use std::collections::BTreeSet;

/// What was expected, from the most to the least telling. The derived order sorts them.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Want {
    Item,
    Statement,
    Field,
    Threshold,
    Expression,
    Type,
    Name,
    StringLit,
    ModulePath,
    Token(String),
    Operator,
    End,
}

impl Want {
    fn words(&self) -> String {
        match self {
            Want::Item => "an item (`import`, `param`, `target`, `data`, `secret`, `metric`, \
                           `let`, `fn`, `flow`, `scenario`, `setup`, `teardown`, `thresholds`, \
                           `fleet`)"
                .into(),
            Want::Statement => "a statement".into(),
            Want::Field => "a field such as `workload = ...`".into(),
            Want::Threshold => "a threshold such as `http_req_duration: p(95) < 400ms`".into(),
            Want::Expression => "an expression".into(),
            Want::Type => "a type".into(),
            Want::Name => "a name".into(),
            Want::StringLit => "a string".into(),
            Want::ModulePath => "a module path such as `std/checks`".into(),
            Want::Token(t) => format!("`{t}`"),
            Want::Operator => "an operator".into(),
            Want::End => "the end of the file".into(),
        }
    }
}

const ITEM_KEYWORDS: &[&str] = &[
    "import",
    "param",
    "target",
    "data",
    "secret",
    "metric",
    "let",
    "fn",
    "flow",
    "scenario",
    "setup",
    "teardown",
    "thresholds",
    "fleet",
];

fn want_of_rule(rule: Rule) -> Option<Want> {
    use Rule::*;
    Some(match rule {
        import | param | target | data | secret | metric | fn_decl | flow_decl | scenario
        | setup | teardown | thresholds | fleet | kw_import | kw_param | kw_target | kw_data
        | kw_secret | kw_metric | kw_fn | kw_flow | kw_scenario | kw_setup | kw_teardown
        | kw_thresholds | kw_fleet => Want::Item,
        check_stmt | require_stmt | sleep_stmt | think_stmt | group_stmt | if_stmt
        | repeat_stmt | return_stmt | expr_stmt | kw_require | kw_sleep | kw_think | kw_group
        | kw_if | kw_repeat | kw_return | for_stmt | while_stmt | break_stmt | continue_stmt
        | assign_stmt | kw_for | kw_while | kw_break | kw_continue => Want::Statement,
        var_stmt | kw_var => Want::Token("var".into()),
        kw_in => Want::Token("in".into()),
        assign_op => Want::Operator,
        let_stmt | kw_let => Want::Token("let".into()),
        field => Want::Field,
        threshold_entry => Want::Threshold,
        expr | postfix_expr | number | string | list | record | paren | kw_true | kw_false
        | kw_not | neg | kw_check => Want::Expression,
        ident | word => Want::Name,
        type_expr | type_list | type_record | type_name => Want::Type,
        module_path => Want::ModulePath,
        op_stage | op_range | kw_or | kw_and | op_eq | op_ne | op_le | op_ge | op_lt | op_gt
        | op_add | op_sub | op_mul | op_div | op_rem | call | field_access => Want::Operator,
        iteration | kw_iteration => Want::Token("iteration".into()),
        kw_else => Want::Token("else".into()),
        block | import_names | type_field | record_field | param_decl | params | args => {
            return None
        }
        EOI => Want::End,
        _ => return None,
    })
}

fn want_of_token(token: &str) -> Option<Want> {
    if token == "let" {
        return Some(Want::Token("let".into()));
    }
    if ITEM_KEYWORDS.contains(&token) {
        return Some(Want::Item);
    }
    match token {
        "->" | ".." | "==" | "!=" | "<=" | ">=" | "<" | ">" | "+" | "-" | "*" | "/" | "%" | "."
        | "or" | "and" => Some(Want::Operator),
        "\"" => Some(Want::StringLit),
        "list" => None,
        "true" | "false" | "not" | "check" => Some(Want::Expression),
        "iteration" | "else" => Some(Want::Token(token.into())),
        "require" | "sleep" | "think" | "group" | "if" | "repeat" | "return" | "for" | "while"
        | "break" | "continue" => Some(Want::Statement),
        "var" | "in" => Some(Want::Token(token.into())),
        "+=" | "-=" => Some(Want::Operator),
        "(" | ")" | "[" | "]" | "{" | "}" | "," | ":" | "=" => Some(Want::Token(token.to_string())),
        _ => None,
    }
}

/// The token at `pos`: a word, a number with its unit, or one character.
fn token_at(src: &str, pos: usize) -> Span {
    let rest = &src[pos.min(src.len())..];
    let Some(first) = rest.chars().next() else {
        return Span::new(src.len(), src.len());
    };
    let len = if first.is_ascii_alphanumeric() || first == '_' {
        rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(rest.len())
    } else if let Some(two) = rest
        .get(..2)
        .filter(|t| ["==", "!=", "<=", ">=", "->", "..", "//"].contains(t))
    {
        two.len()
    } else {
        first.len_utf8()
    };
    Span::new(pos, pos + len)
}

pub(super) fn syntax_error(src: &str, err: &Error<Rule>, scan: &Scan) -> Diagnostic {
    let pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let pos = pos.min(src.len());
    if let Some(q) = scan.unterminated.filter(|q| *q < pos) {
        let end = src[q..].find('\n').map_or(src.len(), |n| q + n);
        return Diagnostic::error("E0001", "this string is never closed")
            .with_label(Span::new(q, end), "the string starts here")
            .with_help("end it with `\"` on the same line; write `\\n` for a line break");
    }
    if let ErrorVariant::CustomError { message } = &err.variant {
        // Pest's own guards ("stack limit reached", "call limit reached").
        return Diagnostic::error(
            "E0001",
            format!("this file is too complex to parse ({message})"),
        )
        .with_label(token_at(src, pos), "here")
        .with_help("split the code into smaller parts with `let`, `fn` or `flow`");
    }
    let mut wants: BTreeSet<Want> = BTreeSet::new();
    if let ErrorVariant::ParsingError { positives, .. } = &err.variant {
        wants.extend(positives.iter().filter_map(|r| want_of_rule(*r)));
    }
    if let Some(attempts) = err.parse_attempts() {
        for t in attempts.expected_tokens() {
            wants.extend(want_of_token(&t.to_string()));
        }
    }
    simplify(&mut wants);
    let span = token_at(src, pos);
    let found = &src[span.start..span.end];
    let list: Vec<String> = wants.iter().map(Want::words).collect();
    let expected = match list.len() {
        0 => "something else".to_string(),
        1 => list[0].clone(),
        n => format!("{} or {}", list[..n - 1].join(", "), list[n - 1]),
    };
    let message = if found.is_empty() {
        format!("expected {expected}, found the end of the file")
    } else if wants.contains(&Want::End) && wants.len() == 1 {
        format!("unexpected `{found}`")
    } else {
        format!("expected {expected}, found `{found}`")
    };
    let label = if found.is_empty() {
        "the file ends here".to_string()
    } else {
        format!("found `{found}`")
    };
    let mut d = Diagnostic::error("E0001", message).with_label(span, label);
    if let Some(help) = help_for(src, span, found, &wants) {
        d = d.with_help(help);
    }
    if let Some((open_pos, open)) = scan.unclosed {
        let close = match open {
            '(' => ")",
            '[' => "]",
            _ => "}",
        };
        if wants.contains(&Want::Token(close.into())) && open_pos < pos {
            d = d.with_note(
                Span::new(open_pos, open_pos + 1),
                format!("this `{open}` is never closed"),
            );
        }
    }
    d
}

/// Drops expectations implied by broader ones, so messages stay short.
fn simplify(w: &mut BTreeSet<Want>) {
    if w.contains(&Want::Statement) {
        w.remove(&Want::Expression);
        w.remove(&Want::Token("let".into()));
    }
    if w.contains(&Want::Item) {
        w.remove(&Want::Token("let".into()));
    }
    if w.contains(&Want::Statement) || w.contains(&Want::Expression) {
        w.remove(&Want::Name);
        w.remove(&Want::StringLit);
    }
    if w.contains(&Want::Expression) {
        for t in ["(", "[", "{"] {
            w.remove(&Want::Token(t.into()));
        }
    }
    if w.contains(&Want::Token(")".into())) || w.contains(&Want::Token(",".into())) {
        // `name: value` arguments make `:` possible after any word; rarely the point.
        w.remove(&Want::Token(":".into()));
    }
    if w.len() > 1 {
        // `(` after a value would start a call: rarely what was meant.
        w.remove(&Want::Token("(".into()));
    }
    if w.contains(&Want::ModulePath) {
        w.remove(&Want::Name);
    }
    // An operator can always continue an expression; say so only when nothing else fits.
    if w.len() > 1 {
        w.remove(&Want::Operator);
    }
    if w.len() > 1 && w.contains(&Want::Item) {
        w.remove(&Want::End);
    }
}

fn help_for(src: &str, span: Span, found: &str, wants: &BTreeSet<Want>) -> Option<String> {
    if wants.contains(&Want::Item) && !found.is_empty() {
        if let Some(kw) = closest(found, ITEM_KEYWORDS) {
            return Some(format!("did you mean `{kw}`?"));
        }
    }
    let gap = &src[..span.start];
    let before = gap.trim_end();
    let line_break = gap[before.len()..].contains('\n');
    for close in [")", "]", "}"] {
        if line_break && wants.contains(&Want::Token(close.into())) && found != close {
            return Some(format!(
                "add the missing `{close}` at the end of the previous line"
            ));
        }
    }
    if wants.contains(&Want::Expression) {
        if before.ends_with("->") {
            return Some("write the stage target after `->`, e.g. `2m -> 100`".into());
        }
        if before.ends_with(':') {
            return Some("write a value after `:`".into());
        }
    }
    if found == "=" && before.ends_with('=') {
        return Some("remove the second `=`".into());
    }
    if found == "=" && wants.contains(&Want::Expression) {
        return Some("to compare two values write `==`".into());
    }
    if wants.contains(&Want::Token(",".into()))
        && !found.is_empty()
        && before.ends_with(['"', ')', ']', '}'])
    {
        if let Some(first) = found.chars().next() {
            if first.is_alphanumeric() || first == '"' {
                return Some("separate the elements with `,`".into());
            }
        }
    }
    if ["}", "]", ")"].contains(&found) && wants.contains(&Want::Expression) {
        return Some(format!("add the missing value before `{found}`"));
    }
    None
}

/// The keyword closest to a misspelled word (edit distance at most 2).
pub(super) fn closest<'a>(word: &str, options: &[&'a str]) -> Option<&'a str> {
    options
        .iter()
        .map(|o| (edit_distance(word, o), *o))
        .filter(|(d, o)| *d > 0 && *d <= 2.min(o.len() / 2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, o)| o)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
