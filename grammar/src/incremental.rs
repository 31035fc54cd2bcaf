//! Reparsing a file after an edit, item by item (for `volley lsp`): the result is the
//! one [`crate::parse`] gives for the new text, but only the top-level items around the
//! changed bytes are parsed again; the others are kept, their spans moved.
//!
//! The changed bytes are found by comparing the old and the new text (common prefix and
//! suffix), so no edit ranges are needed. The part parsed again runs from the start of
//! the item before the first item the change touches to the start of the second item
//! after the last one it touches: both ends are item starts of the old parse in text the
//! edit left alone. No item can continue past an item keyword (an expression never goes
//! on with `let`, `flow`, ...: only with operators, `.`, `(` and `[`), so the items of
//! that part parsed alone are the items the whole file gives there, with their spans
//! moved by the part's start. Anything else falls back to a whole parse: a previous parse
//! that failed, a syntax error in the part (its message must be the whole file's), a
//! nesting too deep. A property test checks the result against `parse` after random edits.

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::{lex, parser};
use std::rc::Rc;

/// One text and its parse, kept to reparse the next version of the text.
#[derive(Clone, Debug)]
pub struct Parsed {
    pub text: String,
    /// The AST, when the text parsed (shared: a compilation holds it too).
    pub file: Option<Rc<File>>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    /// A whole parse of `text`.
    pub fn new(text: &str) -> Parsed {
        let (file, diagnostics) = crate::parse(text);
        Parsed {
            text: text.to_string(),
            file: file.map(Rc::new),
            diagnostics,
        }
    }

    /// The parse of `text` (what [`Parsed::new`] gives), reusing this parse's items
    /// outside the changed part (copies of them: see [`Parsed::into_reparse`]).
    pub fn reparse(&self, text: &str) -> Parsed {
        self.clone().into_reparse(text)
    }

    /// [`Parsed::reparse`], moving this parse's items instead of copying them when no
    /// one else holds its AST.
    pub fn into_reparse(self, text: &str) -> Parsed {
        if text == self.text {
            return self;
        }
        let Some(file) = self.file else {
            return Parsed::new(text);
        };
        let old = Rc::try_unwrap(file).unwrap_or_else(|shared| (*shared).clone());
        match reparse(&self.text, old, text) {
            Some((file, diagnostics)) => Parsed {
                text: text.to_string(),
                file: file.map(Rc::new),
                diagnostics,
            },
            None => Parsed::new(text),
        }
    }
}

/// The changed bytes of `old` → `new`: (start, end in old, end in new), on character
/// boundaries.
fn changed(old: &str, new: &str) -> (usize, usize, usize) {
    let (a, b) = (old.as_bytes(), new.as_bytes());
    let mut p = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    while !old.is_char_boundary(p) {
        p -= 1;
    }
    let room = a.len().min(b.len()) - p;
    let mut s = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(room)
        .take_while(|(x, y)| x == y)
        .count();
    while !old.is_char_boundary(a.len() - s) {
        s -= 1;
    }
    (p, a.len() - s, b.len() - s)
}

type Outcome = (Option<File>, Vec<Diagnostic>);

/// The parse of `new` from the parse `old_file` of `old`, or `None` for a whole parse.
fn reparse(old: &str, old_file: File, new: &str) -> Option<Outcome> {
    let scan = lex::scan(new);
    if scan.too_deep.is_some() {
        return None;
    }
    let (p, old_end, _) = changed(old, new);
    let items = &old_file.items;
    let n = items.len();
    // The first item the change touches (an edit right at its end may extend it) and
    // the item before it, which the part starts with.
    let first = items.partition_point(|it| it.span.end < p);
    let keep_before = first.saturating_sub(1);
    let start = if first == 0 {
        0
    } else {
        items[keep_before].span.start
    };
    // The first item wholly after the change, and the one after it, where the part ends.
    let after = items.partition_point(|it| it.span.start <= old_end);
    let keep_from = (after + 1).min(n);
    let end = if keep_from < n {
        items[keep_from].span.start
    } else {
        old.len()
    };
    let new_end = new.len() - (old.len() - end);
    let part = new.get(start..new_end)?;
    let (file, diags) = parser::parse_fast(part)?;
    let by = isize::try_from(start).ok()?;
    let delta = isize::try_from(new.len()).ok()? - isize::try_from(old.len()).ok()?;
    let Some(mid) = file else {
        let diags = diags
            .into_iter()
            .map(|mut d| {
                for l in &mut d.labels {
                    mv(&mut l.span, by);
                }
                d
            })
            .collect();
        return Some((None, diags));
    };
    let mut out = old_file.items;
    let after_part = out.split_off(keep_from);
    out.truncate(keep_before);
    out.extend(mid.items.into_iter().map(|mut it| {
        item(&mut it, by);
        it
    }));
    out.extend(after_part.into_iter().map(|mut it| {
        item(&mut it, delta);
        it
    }));
    let file = File {
        items: out,
        comments: scan.comments,
    };
    Some((Some(file), diags))
}

// ---------------------------------------------------------------- moving spans
// Every match is exhaustive: a new AST node fails to compile here until its spans move.

fn mv(s: &mut Span, by: isize) {
    s.start = s.start.saturating_add_signed(by);
    s.end = s.end.saturating_add_signed(by);
}

fn ident(i: &mut Ident, by: isize) {
    mv(&mut i.span, by);
}

fn item(it: &mut Item, by: isize) {
    mv(&mut it.span, by);
    match &mut it.kind {
        ItemKind::Import(Import { path, names }) => {
            match path {
                ImportPath::Module(segs) => segs.iter_mut().for_each(|s| ident(s, by)),
                ImportPath::File { path: _, span } => mv(span, by),
            }
            for n in names.iter_mut().flatten() {
                ident(n, by);
            }
        }
        ItemKind::Param { name, ty, default } => {
            ident(name, by);
            type_expr(ty, by);
            expr(default, by);
        }
        ItemKind::Target { name, url: e }
        | ItemKind::Data { name, source: e }
        | ItemKind::Secret { name, source: e }
        | ItemKind::Metric { name, kind: e }
        | ItemKind::Let { name, value: e } => {
            ident(name, by);
            expr(e, by);
        }
        ItemKind::Fn(FnDecl {
            name,
            params,
            ret,
            body,
        }) => {
            ident(name, by);
            params.iter_mut().for_each(|p| param(p, by));
            if let Some(t) = ret {
                type_expr(t, by);
            }
            expr(body, by);
        }
        ItemKind::Flow(FlowDecl {
            name,
            params,
            ret,
            body,
        }) => {
            ident(name, by);
            params.iter_mut().for_each(|p| param(p, by));
            if let Some(t) = ret {
                type_expr(t, by);
            }
            block(body, by);
        }
        ItemKind::Scenario { name, members } => {
            ident(name, by);
            for m in members {
                match m {
                    ScenarioMember::Field(f) => field(f, by),
                    ScenarioMember::Let(s) => stmt(s, by),
                    ScenarioMember::Iteration(b) => block(b, by),
                }
            }
        }
        ItemKind::Setup(b) | ItemKind::Teardown(b) => block(b, by),
        ItemKind::Thresholds(entries) => {
            for e in entries {
                let ThresholdEntry {
                    metric,
                    filter,
                    conditions,
                    span,
                } = e;
                ident(metric, by);
                filter.iter_mut().for_each(|f| record_field(f, by));
                for c in conditions {
                    match c {
                        ThresholdItem::Condition(x) => expr(x, by),
                        ThresholdItem::Flag { name, value } => {
                            ident(name, by);
                            if let Some(v) = value {
                                expr(v, by);
                            }
                        }
                    }
                }
                mv(span, by);
            }
        }
        ItemKind::Fleet(fields) => fields.iter_mut().for_each(|f| field(f, by)),
    }
}

fn param(p: &mut ParamDecl, by: isize) {
    let ParamDecl {
        name,
        ty,
        default,
        span,
    } = p;
    ident(name, by);
    type_expr(ty, by);
    if let Some(d) = default {
        expr(d, by);
    }
    mv(span, by);
}

fn type_expr(t: &mut TypeExpr, by: isize) {
    mv(&mut t.span, by);
    match &mut t.kind {
        TypeKind::Named(n) => ident(n, by),
        TypeKind::List(inner) => type_expr(inner, by),
        TypeKind::Record(fields) => {
            for (n, t) in fields {
                ident(n, by);
                type_expr(t, by);
            }
        }
    }
}

fn field(f: &mut Field, by: isize) {
    let Field { name, value, span } = f;
    ident(name, by);
    expr(value, by);
    mv(span, by);
}

fn record_field(f: &mut RecordField, by: isize) {
    let RecordField {
        key: _,
        quoted: _,
        key_span,
        value,
        span,
    } = f;
    mv(key_span, by);
    expr(value, by);
    mv(span, by);
}

fn block(b: &mut Block, by: isize) {
    mv(&mut b.span, by);
    b.stmts.iter_mut().for_each(|s| stmt(s, by));
}

fn stmt(s: &mut Stmt, by: isize) {
    mv(&mut s.span, by);
    match &mut s.kind {
        StmtKind::Let { name, value }
        | StmtKind::Var { name, value }
        | StmtKind::Assign { name, op: _, value } => {
            ident(name, by);
            expr(value, by);
        }
        StmtKind::Expr(e) | StmtKind::Sleep(e) | StmtKind::Think(e) => expr(e, by),
        StmtKind::Check { name, cond } | StmtKind::Require { name, cond } => {
            if let Some(n) = name {
                expr(n, by);
            }
            expr(cond, by);
        }
        StmtKind::Group { name, body } => {
            expr(name, by);
            block(body, by);
        }
        StmtKind::If {
            cond,
            then,
            otherwise,
        } => {
            expr(cond, by);
            block(then, by);
            if let Some(b) = otherwise {
                block(b, by);
            }
        }
        StmtKind::Repeat { count: e, body } | StmtKind::While { cond: e, body } => {
            expr(e, by);
            block(body, by);
        }
        StmtKind::Return(e) => {
            if let Some(e) = e {
                expr(e, by);
            }
        }
        StmtKind::For { var, over, body } => {
            ident(var, by);
            expr(over, by);
            block(body, by);
        }
        StmtKind::Break | StmtKind::Continue => {}
    }
}

fn expr(e: &mut Expr, by: isize) {
    mv(&mut e.span, by);
    match &mut e.kind {
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Bool(_)
        | ExprKind::Duration { .. }
        | ExprKind::Rate { .. }
        | ExprKind::Size { .. }
        | ExprKind::Percent(_) => {}
        ExprKind::Str(parts) => {
            for p in parts {
                match p {
                    StrPart::Text(_) => {}
                    StrPart::Interp(x) => expr(x, by),
                }
            }
        }
        ExprKind::Name(n) => ident(n, by),
        ExprKind::Field { base, field } => {
            expr(base, by);
            ident(field, by);
        }
        ExprKind::Index { base: a, index: b }
        | ExprKind::Binary {
            op: _,
            lhs: a,
            rhs: b,
        }
        | ExprKind::Stage {
            duration: a,
            target: b,
        }
        | ExprKind::Range { low: a, high: b } => {
            expr(a, by);
            expr(b, by);
        }
        ExprKind::Call { callee, args } => {
            expr(callee, by);
            for a in args {
                let Arg { name, value, span } = a;
                if let Some(n) = name {
                    ident(n, by);
                }
                expr(value, by);
                mv(span, by);
            }
        }
        ExprKind::Unary { op: _, operand } => expr(operand, by),
        ExprKind::List(xs) => xs.iter_mut().for_each(|x| expr(x, by)),
        ExprKind::Record(fields) => fields.iter_mut().for_each(|f| record_field(f, by)),
        ExprKind::Check { name, cond } => {
            if let Some(n) = name {
                expr(n, by);
            }
            expr(cond, by);
        }
        ExprKind::Paren(x) => expr(x, by),
    }
}

#[cfg(test)]
mod tests;
