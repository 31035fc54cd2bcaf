//! Pairs → AST for expressions: precedence climbing over the flat operand/operator list
//! the grammar produces, literals with their units (`E0002` for invalid ones), strings with
//! interpolation. Tree depth is bounded so that no later recursive pass (drop, formatter,
//! compiler) can overflow the stack on hostile input.

use super::build::{Builder, P};
use super::Rule;
use crate::ast::*;
use crate::diagnostic::Diagnostic;

/// Deepest expression tree accepted (operators, calls, fields and brackets together).
pub(crate) const MAX_DEPTH: u32 = 256;

/// `->` binds loosest, then `..`, `or`, `and`, `not`, comparisons, `+ -`, `* / %`.
const CMP: u8 = 6;

#[derive(Clone, Copy)]
enum Op {
    Stage,
    Range,
    Bin(BinaryOp),
}

impl Op {
    fn prec(self) -> u8 {
        match self {
            Op::Stage => 1,
            Op::Range => 2,
            Op::Bin(b) => match b {
                BinaryOp::Or => 3,
                BinaryOp::And => 4,
                BinaryOp::Add | BinaryOp::Sub => 7,
                BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => 8,
                _ => CMP,
            },
        }
    }
}

enum ArgName {
    Word(Ident),
    Str(Expr),
}

struct RawArg {
    name: Option<ArgName>,
    value: Expr,
    span: Span,
}

enum Tok {
    Prefix(UnaryOp, Span),
    Operand(Expr, u32),
    Infix(Op),
}

fn infix_op(rule: Rule) -> Option<Op> {
    Some(match rule {
        Rule::op_stage => Op::Stage,
        Rule::op_range => Op::Range,
        Rule::kw_or => Op::Bin(BinaryOp::Or),
        Rule::kw_and => Op::Bin(BinaryOp::And),
        Rule::op_eq => Op::Bin(BinaryOp::Eq),
        Rule::op_ne => Op::Bin(BinaryOp::Ne),
        Rule::op_le => Op::Bin(BinaryOp::Le),
        Rule::op_ge => Op::Bin(BinaryOp::Ge),
        Rule::op_lt => Op::Bin(BinaryOp::Lt),
        Rule::op_gt => Op::Bin(BinaryOp::Gt),
        Rule::op_add => Op::Bin(BinaryOp::Add),
        Rule::op_sub => Op::Bin(BinaryOp::Sub),
        Rule::op_mul => Op::Bin(BinaryOp::Mul),
        Rule::op_div => Op::Bin(BinaryOp::Div),
        Rule::op_rem => Op::Bin(BinaryOp::Rem),
        _ => return None,
    })
}

pub(crate) const UNITS_HELP: &str = "units are: durations `us`, `ms`, `s`, `m`, `h` (`250ms`); \
sizes `B`, `KB`, `MB`, `GB`, `Ki`, `Mi`, `Gi` (`512Mi`); rates `/s`, `/m`, `/h` (`200/s`); \
percentages `%` (`1%`)";

impl Builder<'_> {
    pub(crate) fn expr(&mut self, p: P) -> Expr {
        self.expr_d(p).0
    }

    fn expr_d(&mut self, p: P) -> (Expr, u32) {
        let span = self.span(&p);
        if p.as_rule() != Rule::expr {
            // A lone operand (e.g. a string used as a check name).
            return self.primary(p);
        }
        let mut toks = Vec::new();
        let mut run = 0usize;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::kw_not | Rule::neg => {
                    run += 1;
                    if run > MAX_DEPTH as usize / 2 {
                        return self.too_deep(self.span(&c));
                    }
                    let op = if c.as_rule() == Rule::neg {
                        UnaryOp::Neg
                    } else {
                        UnaryOp::Not
                    };
                    toks.push(Tok::Prefix(op, self.span(&c)));
                }
                Rule::postfix_expr => {
                    run = 0;
                    let (e, d) = self.postfix(c);
                    toks.push(Tok::Operand(e, d));
                }
                r => match infix_op(r) {
                    Some(op) => toks.push(Tok::Infix(op)),
                    None => self.shape_error(self.span(&c), "this operator"),
                },
            }
        }
        let mut it = toks.into_iter().peekable();
        let out = self.climb(&mut it, 0, span);
        if it.next().is_some() {
            self.shape_error(span, "this expression");
        }
        out
    }

    fn climb(
        &mut self,
        toks: &mut std::iter::Peekable<std::vec::IntoIter<Tok>>,
        min: u8,
        whole: Span,
    ) -> (Expr, u32) {
        let (mut lhs, mut depth) = self.unary(toks, whole);
        while let Some(Tok::Infix(op)) = toks.peek() {
            let op = *op;
            let prec = op.prec();
            if prec < min {
                break;
            }
            toks.next();
            let (rhs, rd) = self.climb(toks, prec + 1, whole);
            let span = lhs.span.to(rhs.span);
            let (l, r) = (Box::new(lhs), Box::new(rhs));
            let kind = match op {
                Op::Stage => ExprKind::Stage {
                    duration: l,
                    target: r,
                },
                Op::Range => ExprKind::Range { low: l, high: r },
                Op::Bin(op) => ExprKind::Binary { op, lhs: l, rhs: r },
            };
            (lhs, depth) = self.node(kind, span, depth.max(rd));
        }
        (lhs, depth)
    }

    fn unary(
        &mut self,
        toks: &mut std::iter::Peekable<std::vec::IntoIter<Tok>>,
        whole: Span,
    ) -> (Expr, u32) {
        match toks.next() {
            Some(Tok::Operand(e, d)) => (e, d),
            Some(Tok::Prefix(op, op_span)) => {
                let (operand, d) = match op {
                    UnaryOp::Neg => self.unary(toks, whole),
                    UnaryOp::Not => self.climb(toks, CMP, whole),
                };
                let span = op_span.to(operand.span);
                let kind = ExprKind::Unary {
                    op,
                    operand: Box::new(operand),
                };
                self.node(kind, span, d)
            }
            _ => (self.missing(whole), 1),
        }
    }

    /// Wraps a new node whose deepest child has depth `child`, refusing to go too deep.
    fn node(&mut self, kind: ExprKind, span: Span, child: u32) -> (Expr, u32) {
        if child + 1 > MAX_DEPTH {
            return self.too_deep(span);
        }
        (Expr { kind, span }, child + 1)
    }

    fn too_deep(&mut self, span: Span) -> (Expr, u32) {
        if !self.diags.iter().any(|d| d.message.contains("too deeply")) {
            self.diags.push(
                Diagnostic::error("E0001", "this expression is nested too deeply")
                    .with_label(span, "too deeply nested")
                    .with_help("split it into smaller parts with `let`"),
            );
        }
        (
            Expr {
                kind: ExprKind::Bool(false),
                span,
            },
            1,
        )
    }

    fn postfix(&mut self, p: P) -> (Expr, u32) {
        let mut inner = p.into_inner();
        let Some(first) = inner.next() else {
            return (self.missing(Span::default()), 1);
        };
        let (mut e, mut depth) = self.primary(first);
        for suffix in inner {
            let end = suffix.as_span().end();
            let span = Span::new(e.span.start, end);
            match suffix.as_rule() {
                Rule::field_access => {
                    let Some(w) = suffix.into_inner().next() else {
                        continue;
                    };
                    let field = self.ident(&w);
                    let kind = ExprKind::Field {
                        base: Box::new(e),
                        field,
                    };
                    (e, depth) = self.node(kind, span, depth);
                }
                Rule::index => {
                    let Some(x) = suffix.into_inner().next() else {
                        continue;
                    };
                    let (index, d) = self.expr_d(x);
                    let kind = ExprKind::Index {
                        base: Box::new(e),
                        index: Box::new(index),
                    };
                    (e, depth) = self.node(kind, span, depth.max(d));
                }
                _ => {
                    let mut raw = Vec::new();
                    let mut d = depth;
                    let list = suffix.into_inner().next();
                    for a in list.into_iter().flat_map(|l| l.into_inner()) {
                        let (arg, ad) = self.arg(a);
                        d = d.max(ad);
                        raw.push(arg);
                    }
                    let kind = self.call(e, raw);
                    (e, depth) = self.node(kind, span, d);
                }
            }
        }
        (e, depth)
    }

    fn arg(&mut self, p: P) -> (RawArg, u32) {
        let span = self.span(&p);
        let mut parts = p.into_inner();
        let (first, second) = (parts.next(), parts.next());
        let Some(first) = first else {
            return (
                RawArg {
                    name: None,
                    value: self.missing(span),
                    span,
                },
                1,
            );
        };
        let (first, fd) = self.expr_d(first);
        let Some(second) = second else {
            let arg = RawArg {
                name: None,
                value: first,
                span,
            };
            return (arg, fd);
        };
        let (value, vd) = self.expr_d(second);
        let name = match first.kind {
            ExprKind::Name(id) => ArgName::Word(id),
            ExprKind::Str(_) => ArgName::Str(first),
            _ => {
                self.diags.push(
                    Diagnostic::error("E0001", "an argument name must be a plain word")
                        .with_label(first.span, "not a name")
                        .with_help("write `name: value`, as in `json: {qty: 1}`"),
                );
                ArgName::Word(Ident {
                    name: String::new(),
                    span: first.span,
                })
            }
        };
        let arg = RawArg {
            name: Some(name),
            value,
            span,
        };
        (arg, fd.max(vd))
    }

    /// A call, or `check(cond)` / `check("name": cond)`, the check expression.
    fn call(&mut self, callee: Expr, mut raw: Vec<RawArg>) -> ExprKind {
        let is_check = matches!(&callee.kind, ExprKind::Name(id) if id.name == "check")
            && raw.len() == 1
            && !matches!(raw[0].name, Some(ArgName::Word(_)));
        if is_check {
            if let Some(arg) = raw.pop() {
                let name = match arg.name {
                    Some(ArgName::Str(n)) => Some(Box::new(n)),
                    _ => None,
                };
                return ExprKind::Check {
                    name,
                    cond: Box::new(arg.value),
                };
            }
        }
        let args = raw
            .into_iter()
            .map(|a| {
                let name = match a.name {
                    None => None,
                    Some(ArgName::Word(id)) => Some(id),
                    Some(ArgName::Str(s)) => {
                        self.diags.push(
                            Diagnostic::error("E0001", "an argument name must be a plain word")
                                .with_label(s.span, "a string cannot name an argument")
                                .with_help("remove the quotes: `name: value`"),
                        );
                        None
                    }
                };
                Arg {
                    name,
                    value: a.value,
                    span: a.span,
                }
            })
            .collect();
        ExprKind::Call {
            callee: Box::new(callee),
            args,
        }
    }

    fn primary(&mut self, p: P) -> (Expr, u32) {
        let span = self.span(&p);
        let leaf = |kind| (Expr { kind, span }, 1);
        match p.as_rule() {
            Rule::number => leaf(self.number(p.as_str(), span)),
            Rule::kw_true => leaf(ExprKind::Bool(true)),
            Rule::kw_false => leaf(ExprKind::Bool(false)),
            Rule::ident => leaf(ExprKind::Name(self.ident(&p))),
            Rule::string => {
                let mut d = 0;
                let parts = self.string_parts_d(p, &mut d);
                self.node(ExprKind::Str(parts), span, d)
            }
            Rule::paren => match p.into_inner().next() {
                Some(inner) => {
                    let (e, d) = self.expr_d(inner);
                    self.node(ExprKind::Paren(Box::new(e)), span, d)
                }
                None => (self.missing(span), 1),
            },
            Rule::list => {
                let mut d = 0;
                let mut items = Vec::new();
                for c in p.into_inner() {
                    let (e, ed) = self.expr_d(c);
                    d = d.max(ed);
                    items.push(e);
                }
                self.node(ExprKind::List(items), span, d)
            }
            Rule::record => {
                let mut d = 0;
                let fields = self.record_fields_d(p, &mut d);
                self.node(ExprKind::Record(fields), span, d)
            }
            Rule::postfix_expr => self.postfix(p),
            Rule::expr => self.expr_d(p),
            _ => (self.missing(span), 1),
        }
    }

    pub(super) fn record_fields(&mut self, p: P) -> Vec<RecordField> {
        let mut d = 0;
        self.record_fields_d(p, &mut d)
    }

    fn record_fields_d(&mut self, p: P, depth: &mut u32) -> Vec<RecordField> {
        let mut out = Vec::new();
        for f in p.into_inner() {
            let span = self.span(&f);
            let mut k = f.into_inner();
            let (Some(key), Some(value)) = (k.next(), k.next()) else {
                self.shape_error(span, "this record field");
                continue;
            };
            let key_span = self.span(&key);
            let quoted = key.as_rule() == Rule::string;
            let key_text = if quoted {
                self.plain_string(key, "a record key")
            } else {
                key.as_str().to_string()
            };
            let (value, d) = self.expr_d(value);
            *depth = (*depth).max(d);
            out.push(RecordField {
                key: key_text,
                quoted,
                key_span,
                value,
                span,
            });
        }
        out
    }

    /// A string that must not interpolate (record keys): its text.
    fn plain_string(&mut self, p: P, what: &str) -> String {
        let mut text = String::new();
        for part in self.string_parts(p) {
            match part {
                StrPart::Text(t) => text.push_str(&t),
                StrPart::Interp(e) => self.diags.push(
                    Diagnostic::error("E0001", format!("{what} cannot interpolate"))
                        .with_label(e.span, "not allowed here")
                        .with_help("escape the brace as `\\{` or write plain text"),
                ),
            }
        }
        text
    }

    pub(super) fn expr_from_string(&mut self, p: P) -> Expr {
        self.primary(p).0
    }

    pub(super) fn string_parts(&mut self, p: P) -> Vec<StrPart> {
        let mut d = 0;
        self.string_parts_d(p, &mut d)
    }

    fn string_parts_d(&mut self, p: P, depth: &mut u32) -> Vec<StrPart> {
        let mut parts: Vec<StrPart> = Vec::new();
        let push_text = |parts: &mut Vec<StrPart>, s: &str| match parts.last_mut() {
            Some(StrPart::Text(t)) => t.push_str(s),
            _ => parts.push(StrPart::Text(s.to_string())),
        };
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::str_text => push_text(&mut parts, c.as_str()),
                Rule::str_escape => {
                    let text = match c.as_str() {
                        "\\{" => "{",
                        "\\}" => "}",
                        "\\\"" => "\"",
                        "\\\\" => "\\",
                        "\\n" => "\n",
                        "\\t" => "\t",
                        "\\r" => "\r",
                        other => {
                            self.diags.push(
                                Diagnostic::error(
                                    "E0002",
                                    format!("unknown escape `{other}` in a string"),
                                )
                                .with_label(self.span(&c), "unknown escape")
                                .with_help(
                                    "the escapes are `\\{`, `\\}`, `\\\"`, `\\\\`, `\\n`, `\\t` and `\\r`",
                                ),
                            );
                            ""
                        }
                    };
                    push_text(&mut parts, text);
                }
                _ => {
                    if let Some(e) = c.into_inner().next() {
                        let (e, d) = self.expr_d(e);
                        *depth = (*depth).max(d);
                        parts.push(StrPart::Interp(e));
                    }
                }
            }
        }
        parts
    }

    fn number(&mut self, text: &str, span: Span) -> ExprKind {
        let digits_end = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (digits, suffix) = text.split_at(digits_end);
        let is_float = digits.contains('.');
        let value: f64 = digits.parse().unwrap_or(f64::INFINITY);
        if !value.is_finite() {
            return self.literal_error(span, "this number is too large", None);
        }
        if suffix.is_empty() {
            if is_float {
                return ExprKind::Float(value);
            }
            return match digits.parse::<i64>() {
                Ok(v) => ExprKind::Int(v),
                Err(_) => self.literal_error(
                    span,
                    &format!("integer literal `{digits}` is too large"),
                    Some(format!("integers go up to {}", i64::MAX)),
                ),
            };
        }
        if suffix == "%" {
            return ExprKind::Percent(value);
        }
        if let Some(per) = suffix.strip_prefix('/') {
            return match duration_unit(per) {
                Some(per) => ExprKind::Rate { value, per },
                None => self.literal_error(span, "unknown rate unit", Some(UNITS_HELP.into())),
            };
        }
        if let Some(unit) = duration_unit(suffix) {
            return ExprKind::Duration { value, unit };
        }
        if let Some(unit) = size_unit(suffix) {
            return ExprKind::Size { value, unit };
        }
        let guess = [
            "us", "ms", "s", "m", "h", "B", "KB", "MB", "GB", "Ki", "Mi", "Gi",
        ]
        .into_iter()
        .find(|u| u.eq_ignore_ascii_case(suffix));
        let help = match (guess, kubernetes_suffix(suffix)) {
            (Some(u), _) => format!("write `{digits}{u}`; {UNITS_HELP}"),
            (None, Some(u)) => format!(
                "a size is `{digits}{u}B` (decimal) or `{digits}{u}i` (binary); Kubernetes' `{text}` is written as a string, \"{text}\""
            ),
            (None, None) => UNITS_HELP.to_string(),
        };
        let msg = format!("unknown unit `{suffix}` in `{text}`");
        let label_span = Span::new(span.start + digits_end, span.end);
        self.diags.push(
            Diagnostic::error("E0002", msg)
                .with_label(label_span, "not a unit")
                .with_help(help),
        );
        ExprKind::Int(0)
    }

    fn literal_error(&mut self, span: Span, msg: &str, help: Option<String>) -> ExprKind {
        let mut d = Diagnostic::error("E0002", msg).with_label(span, "invalid literal");
        d.help = help;
        self.diags.push(d);
        ExprKind::Int(0)
    }
}

/// The letter of a Kubernetes quantity suffix (`1G`, `512M`, `64k`, `1Ti`) that is not a
/// unit of the language, for a help that names both forms.
fn kubernetes_suffix(s: &str) -> Option<&'static str> {
    Some(match s {
        "k" | "K" => "K",
        "M" => "M",
        "G" => "G",
        _ => return None,
    })
}

fn duration_unit(s: &str) -> Option<DurationUnit> {
    Some(match s {
        "us" => DurationUnit::Us,
        "ms" => DurationUnit::Ms,
        "s" => DurationUnit::S,
        "m" => DurationUnit::M,
        "h" => DurationUnit::H,
        _ => return None,
    })
}

fn size_unit(s: &str) -> Option<SizeUnit> {
    Some(match s {
        "B" => SizeUnit::B,
        "KB" => SizeUnit::KB,
        "MB" => SizeUnit::MB,
        "GB" => SizeUnit::GB,
        "Ki" => SizeUnit::Ki,
        "Mi" => SizeUnit::Mi,
        "Gi" => SizeUnit::Gi,
        _ => return None,
    })
}
