//! Layout of expressions: one line when they fit, otherwise calls, lists and records
//! broken one element per line with a trailing comma.

use super::flat;
use super::printer::Printer;
use crate::ast::*;

pub(super) enum Elem<'a> {
    Arg(&'a Arg),
    /// A request's path argument: written as in the source.
    KeptArg(&'a Arg),
    Expr(&'a Expr),
    Field(&'a RecordField),
    Param(&'a ParamDecl),
}

impl Elem<'_> {
    fn span(&self) -> Span {
        match self {
            Elem::Arg(a) | Elem::KeptArg(a) => a.span,
            Elem::Expr(e) => e.span,
            Elem::Field(f) => f.span,
            Elem::Param(p) => p.span,
        }
    }
}

impl Printer<'_> {
    pub(super) fn expr(&mut self, e: &Expr) {
        let text = flat::expr(self.src, e);
        if self.fits(&text) && !self.comment_inside(e.span) {
            self.write(&text);
            self.src_pos = self.src_pos.max(e.span.end);
            return;
        }
        let close = e.span.end.saturating_sub(1);
        match &e.kind {
            ExprKind::Call { callee, args } if !args.is_empty() => {
                self.expr(callee);
                self.write("(");
                let elems = (0..args.len())
                    .map(|i| match flat::is_path_arg(callee, args, i) {
                        true => Elem::KeptArg(&args[i]),
                        false => Elem::Arg(&args[i]),
                    })
                    .collect();
                self.broken(elems, close, ")");
            }
            ExprKind::List(items) if !items.is_empty() => {
                self.write("[");
                self.src_pos = self.src_pos.max(e.span.start + 1);
                self.broken(items.iter().map(Elem::Expr).collect(), close, "]");
            }
            ExprKind::Record(fields) if !fields.is_empty() => {
                self.write("{");
                self.src_pos = self.src_pos.max(e.span.start + 1);
                self.broken(fields.iter().map(Elem::Field).collect(), close, "}");
            }
            ExprKind::Field { base, field } => {
                self.expr(base);
                self.write(&format!(".{}", field.name));
            }
            ExprKind::Index { base, index } => {
                self.expr(base);
                self.write("[");
                self.expr(index);
                self.write("]");
            }
            ExprKind::Unary { op, operand } => {
                self.write(match op {
                    UnaryOp::Not => "not ",
                    UnaryOp::Neg => "-",
                });
                self.expr(operand);
            }
            ExprKind::Binary { op, lhs, rhs } => {
                self.infix(lhs, &format!(" {} ", op.as_str()), rhs)
            }
            ExprKind::Stage { duration, target } => self.infix(duration, " -> ", target),
            ExprKind::Range { low, high } => self.infix(low, "..", high),
            ExprKind::Check { name, cond } => {
                self.write("check(");
                match name {
                    Some(n) => {
                        self.expr(n);
                        self.write(": ");
                        self.expr(cond);
                    }
                    None => self.kept(cond.span),
                }
                self.write(")");
            }
            ExprKind::Paren(inner) => {
                self.write("(");
                self.expr(inner);
                self.write(")");
            }
            ExprKind::Str(parts) => {
                // Comments inside an interpolated expression are part of its kept text.
                self.write(&text);
                for part in parts {
                    if let StrPart::Interp(x) = part {
                        self.consume_comments(x.span);
                    }
                }
            }
            _ => self.write(&text),
        }
        self.src_pos = self.src_pos.max(e.span.end);
    }

    fn infix(&mut self, lhs: &Expr, op: &str, rhs: &Expr) {
        self.expr(lhs);
        self.write(op);
        self.expr(rhs);
    }

    /// Elements one per line with a trailing comma, then the closer at `close`.
    pub(super) fn broken(&mut self, elems: Vec<Elem>, close: usize, closer: &str) {
        self.indent += 1;
        self.newline();
        for el in &elems {
            let span = el.span();
            self.begin_line(span.start, false);
            match el {
                Elem::Arg(a) => {
                    if let Some(n) = &a.name {
                        self.write(&format!("{}: ", n.name));
                    }
                    self.expr(&a.value);
                }
                Elem::KeptArg(a) => {
                    if let Some(n) = &a.name {
                        self.write(&format!("{}: ", n.name));
                    }
                    self.kept(a.value.span);
                }
                Elem::Expr(x) => self.expr(x),
                Elem::Field(f) => {
                    self.write(&format!("{}: ", flat::record_key(f)));
                    self.expr(&f.value);
                }
                Elem::Param(p) => {
                    let text = flat::param(self.src, p);
                    self.write(&text);
                }
            }
            self.write(",");
            self.end_line(span.end);
        }
        self.close(close, closer, false);
    }
}
