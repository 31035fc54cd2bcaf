//! One-line renderings of expressions, types and simple statements, used by the printer
//! when a node fits on its line. Functions of the AST (and, for the text the compiler
//! keeps, of the source): no comments, no layout. The rendering emits the source tokens
//! in source order (parentheses are kept as `Paren` nodes), so parsing it back yields the
//! same tree.
//!
//! Text the compiler turns into names is printed exactly as written (`kept`): the
//! condition of an unnamed `check`/`require` (its name), `{…}` interpolations and the
//! path argument of a request (the request's name), and threshold conditions (their
//! `source` in the plan). Reformatting them would change the compiled plan.

use crate::ast::*;
use std::fmt::Write as _;

/// A number as written, without a trailing `.0` (`2s`, `1.5s`).
pub(crate) fn num(v: f64) -> String {
    format!("{v}")
}

/// The names of request calls, whose second positional argument is the path.
pub(crate) const REQUESTS: &[&str] = &["get", "post", "put", "patch", "delete", "head", "options"];

/// The source text of a span, which formatting must keep as written.
pub(crate) fn kept(src: &str, span: Span) -> &str {
    src.get(span.start..span.end).unwrap_or("")
}

/// Whether a call is a request (`get(t, "/p")`): its path argument is kept as written.
pub(crate) fn is_request(callee: &Expr) -> bool {
    matches!(&callee.kind, ExprKind::Name(id) if REQUESTS.contains(&id.name.as_str()))
}

/// Whether `args[i]` is a request's path: the second positional argument, or `path:`.
pub(crate) fn is_path_arg(callee: &Expr, args: &[Arg], i: usize) -> bool {
    if !is_request(callee) {
        return false;
    }
    let second = args
        .iter()
        .enumerate()
        .filter(|(_, a)| a.name.is_none())
        .nth(1)
        .map(|(k, _)| k);
    second == Some(i) || args[i].name.as_ref().is_some_and(|n| n.name == "path")
}

pub(crate) fn expr(src: &str, e: &Expr) -> String {
    let mut s = String::new();
    write_expr(src, &mut s, e);
    s
}

fn write_expr(src: &str, s: &mut String, e: &Expr) {
    match &e.kind {
        ExprKind::Int(v) => {
            let _ = write!(s, "{v}");
        }
        ExprKind::Float(v) => {
            let text = num(*v);
            s.push_str(&text);
            if !text.contains('.') {
                s.push_str(".0");
            }
        }
        ExprKind::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
        ExprKind::Str(parts) => write_str(src, s, parts),
        ExprKind::Duration { value, unit } => {
            let _ = write!(s, "{}{}", num(*value), unit.as_str());
        }
        ExprKind::Rate { value, per } => {
            let _ = write!(s, "{}/{}", num(*value), per.as_str());
        }
        ExprKind::Size { value, unit } => {
            let _ = write!(s, "{}{}", num(*value), unit.as_str());
        }
        ExprKind::Percent(v) => {
            let _ = write!(s, "{}%", num(*v));
        }
        ExprKind::Name(id) => s.push_str(&id.name),
        ExprKind::Field { base, field } => {
            write_expr(src, s, base);
            s.push('.');
            s.push_str(&field.name);
        }
        ExprKind::Index { base, index } => {
            write_expr(src, s, base);
            s.push('[');
            write_expr(src, s, index);
            s.push(']');
        }
        ExprKind::Call { callee, args } => {
            write_expr(src, s, callee);
            s.push('(');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                if is_path_arg(callee, args, i) {
                    if let Some(n) = &a.name {
                        s.push_str(&n.name);
                        s.push_str(": ");
                    }
                    s.push_str(kept(src, a.value.span));
                } else {
                    write_arg(src, s, a);
                }
            }
            s.push(')');
        }
        ExprKind::Unary { op, operand } => {
            s.push_str(match op {
                UnaryOp::Not => "not ",
                UnaryOp::Neg => "-",
            });
            write_expr(src, s, operand);
        }
        ExprKind::Binary { op, lhs, rhs } => {
            write_expr(src, s, lhs);
            s.push(' ');
            s.push_str(op.as_str());
            s.push(' ');
            write_expr(src, s, rhs);
        }
        ExprKind::Stage { duration, target } => {
            write_expr(src, s, duration);
            s.push_str(" -> ");
            write_expr(src, s, target);
        }
        ExprKind::Range { low, high } => {
            write_expr(src, s, low);
            s.push_str("..");
            write_expr(src, s, high);
        }
        ExprKind::List(items) => {
            s.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                write_expr(src, s, item);
            }
            s.push(']');
        }
        ExprKind::Record(fields) => {
            s.push('{');
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                write_field(src, s, f);
            }
            s.push('}');
        }
        ExprKind::Check { name, cond } => {
            s.push_str("check(");
            match name {
                Some(n) => {
                    write_expr(src, s, n);
                    s.push_str(": ");
                    write_expr(src, s, cond);
                }
                None => s.push_str(kept(src, cond.span)),
            }
            s.push(')');
        }
        ExprKind::Paren(inner) => {
            s.push('(');
            write_expr(src, s, inner);
            s.push(')');
        }
    }
}

fn write_arg(src: &str, s: &mut String, a: &Arg) {
    if let Some(n) = &a.name {
        s.push_str(&n.name);
        s.push_str(": ");
    }
    write_expr(src, s, &a.value);
}

pub(crate) fn record_key(f: &RecordField) -> String {
    if f.quoted {
        let mut s = String::new();
        write_str("", &mut s, &[StrPart::Text(f.key.clone())]);
        s
    } else {
        f.key.clone()
    }
}

pub(crate) fn field(src: &str, f: &RecordField) -> String {
    let mut s = String::new();
    write_field(src, &mut s, f);
    s
}

fn write_field(src: &str, s: &mut String, f: &RecordField) {
    s.push_str(&record_key(f));
    s.push_str(": ");
    write_expr(src, s, &f.value);
}

fn write_str(src: &str, s: &mut String, parts: &[StrPart]) {
    s.push('"');
    for part in parts {
        match part {
            StrPart::Text(t) => {
                for c in t.chars() {
                    match c {
                        '"' => s.push_str("\\\""),
                        '\\' => s.push_str("\\\\"),
                        '{' => s.push_str("\\{"),
                        '\n' => s.push_str("\\n"),
                        '\t' => s.push_str("\\t"),
                        '\r' => s.push_str("\\r"),
                        c => s.push(c),
                    }
                }
            }
            StrPart::Interp(e) => {
                s.push('{');
                s.push_str(kept(src, e.span));
                s.push('}');
            }
        }
    }
    s.push('"');
}

pub(crate) fn ty(t: &TypeExpr) -> String {
    match &t.kind {
        TypeKind::Named(id) => id.name.clone(),
        TypeKind::List(inner) => format!("list<{}>", ty(inner)),
        TypeKind::Record(fields) => {
            let inner: Vec<String> = fields
                .iter()
                .map(|(n, t)| format!("{}: {}", n.name, ty(t)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

pub(crate) fn param(src: &str, p: &ParamDecl) -> String {
    let mut s = format!("{}: {}", p.name.name, ty(&p.ty));
    if let Some(d) = &p.default {
        s.push_str(" = ");
        s.push_str(&expr(src, d));
    }
    s
}

/// A statement without a block, on one line; `None` for `if`, `group`, `repeat`, `for`
/// and `while`.
pub(crate) fn simple_stmt(src: &str, st: &Stmt) -> Option<String> {
    Some(match &st.kind {
        StmtKind::Let { name, value } => format!("let {} = {}", name.name, expr(src, value)),
        StmtKind::Expr(e) => expr(src, e),
        StmtKind::Check { name, cond } => named(src, "check", name.as_ref(), cond),
        StmtKind::Require { name, cond } => named(src, "require", name.as_ref(), cond),
        StmtKind::Sleep(e) => format!("sleep {}", expr(src, e)),
        StmtKind::Think(e) => format!("think {}", expr(src, e)),
        StmtKind::Return(None) => "return".into(),
        StmtKind::Return(Some(e)) => format!("return {}", expr(src, e)),
        StmtKind::Var { name, value } => format!("var {} = {}", name.name, expr(src, value)),
        StmtKind::Assign { name, op, value } => {
            format!("{} {} {}", name.name, op.as_str(), expr(src, value))
        }
        StmtKind::Break => "break".into(),
        StmtKind::Continue => "continue".into(),
        StmtKind::Group { .. }
        | StmtKind::If { .. }
        | StmtKind::Repeat { .. }
        | StmtKind::For { .. }
        | StmtKind::While { .. } => return None,
    })
}

fn named(src: &str, kw: &str, name: Option<&Expr>, cond: &Expr) -> String {
    match name {
        Some(n) => format!("{kw} {}: {}", expr(src, n), expr(src, cond)),
        None => format!("{kw} {}", kept(src, cond.span)),
    }
}
