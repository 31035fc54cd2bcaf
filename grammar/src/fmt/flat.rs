//! One-line renderings of expressions, types and simple statements, used by the printer
//! when a node fits on its line. Pure functions of the AST: no comments, no layout.
//! The rendering emits the source tokens in source order (parentheses are kept as
//! `Paren` nodes), so parsing it back yields the same tree.

use crate::ast::*;
use std::fmt::Write as _;

/// A number as written, without a trailing `.0` (`2s`, `1.5s`).
pub(crate) fn num(v: f64) -> String {
    format!("{v}")
}

pub(crate) fn expr(e: &Expr) -> String {
    let mut s = String::new();
    write_expr(&mut s, e);
    s
}

fn write_expr(s: &mut String, e: &Expr) {
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
        ExprKind::Str(parts) => write_str(s, parts),
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
            write_expr(s, base);
            s.push('.');
            s.push_str(&field.name);
        }
        ExprKind::Call { callee, args } => {
            write_expr(s, callee);
            s.push('(');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                write_arg(s, a);
            }
            s.push(')');
        }
        ExprKind::Unary { op, operand } => {
            s.push_str(match op {
                UnaryOp::Not => "not ",
                UnaryOp::Neg => "-",
            });
            write_expr(s, operand);
        }
        ExprKind::Binary { op, lhs, rhs } => {
            write_expr(s, lhs);
            s.push(' ');
            s.push_str(op.as_str());
            s.push(' ');
            write_expr(s, rhs);
        }
        ExprKind::Stage { duration, target } => {
            write_expr(s, duration);
            s.push_str(" -> ");
            write_expr(s, target);
        }
        ExprKind::Range { low, high } => {
            write_expr(s, low);
            s.push_str("..");
            write_expr(s, high);
        }
        ExprKind::List(items) => {
            s.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                write_expr(s, item);
            }
            s.push(']');
        }
        ExprKind::Record(fields) => {
            s.push('{');
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                write_field(s, f);
            }
            s.push('}');
        }
        ExprKind::Check { name, cond } => {
            s.push_str("check(");
            if let Some(n) = name {
                write_expr(s, n);
                s.push_str(": ");
            }
            write_expr(s, cond);
            s.push(')');
        }
        ExprKind::Paren(inner) => {
            s.push('(');
            write_expr(s, inner);
            s.push(')');
        }
    }
}

fn write_arg(s: &mut String, a: &Arg) {
    if let Some(n) = &a.name {
        s.push_str(&n.name);
        s.push_str(": ");
    }
    write_expr(s, &a.value);
}

pub(crate) fn record_key(f: &RecordField) -> String {
    if f.quoted {
        let mut s = String::new();
        write_str(&mut s, &[StrPart::Text(f.key.clone())]);
        s
    } else {
        f.key.clone()
    }
}

pub(crate) fn field(f: &RecordField) -> String {
    let mut s = String::new();
    write_field(&mut s, f);
    s
}

fn write_field(s: &mut String, f: &RecordField) {
    s.push_str(&record_key(f));
    s.push_str(": ");
    write_expr(s, &f.value);
}

fn write_str(s: &mut String, parts: &[StrPart]) {
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
                write_expr(s, e);
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

pub(crate) fn param(p: &ParamDecl) -> String {
    let mut s = format!("{}: {}", p.name.name, ty(&p.ty));
    if let Some(d) = &p.default {
        s.push_str(" = ");
        s.push_str(&expr(d));
    }
    s
}

/// A statement without a block, on one line; `None` for `if`, `group` and `repeat`.
pub(crate) fn simple_stmt(st: &Stmt) -> Option<String> {
    Some(match &st.kind {
        StmtKind::Let { name, value } => format!("let {} = {}", name.name, expr(value)),
        StmtKind::Expr(e) => expr(e),
        StmtKind::Check { name, cond } => named("check", name.as_ref(), cond),
        StmtKind::Require { name, cond } => named("require", name.as_ref(), cond),
        StmtKind::Sleep(e) => format!("sleep {}", expr(e)),
        StmtKind::Think(e) => format!("think {}", expr(e)),
        StmtKind::Return(None) => "return".into(),
        StmtKind::Return(Some(e)) => format!("return {}", expr(e)),
        StmtKind::Group { .. } | StmtKind::If { .. } | StmtKind::Repeat { .. } => return None,
    })
}

fn named(kw: &str, name: Option<&Expr>, cond: &Expr) -> String {
    match name {
        Some(n) => format!("{kw} {}: {}", expr(n), expr(cond)),
        None => format!("{kw} {}", expr(cond)),
    }
}
