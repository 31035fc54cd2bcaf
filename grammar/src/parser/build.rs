//! Pairs → AST for items, types and statements. Expressions and literals are in
//! `expr.rs`. Only shapes the grammar guarantees are assumed; anything else becomes an
//! `E0001` diagnostic rather than a panic.

use super::Rule;
use crate::ast::*;
use crate::diagnostic::Diagnostic;
use pest::iterators::Pair;
use std::collections::BTreeMap;

pub(super) type P<'i> = Pair<'i, Rule>;

pub(crate) struct Builder<'s> {
    src: &'s str,
    /// Comment end → comment start, to trim trailing comments off spans.
    comment_at_end: BTreeMap<usize, usize>,
    pub(super) diags: Vec<Diagnostic>,
}

/// Is this pair a keyword token (kept by the grammar only for error messages)?
pub(super) fn is_keyword(rule: Rule) -> bool {
    use Rule::*;
    matches!(
        rule,
        kw_import
            | kw_param
            | kw_target
            | kw_data
            | kw_secret
            | kw_metric
            | kw_let
            | kw_fn
            | kw_flow
            | kw_scenario
            | kw_setup
            | kw_teardown
            | kw_thresholds
            | kw_fleet
            | kw_iteration
            | kw_check
            | kw_require
            | kw_sleep
            | kw_think
            | kw_group
            | kw_if
            | kw_else
            | kw_repeat
            | kw_return
            | kw_var
            | kw_for
            | kw_in
            | kw_while
            | kw_break
            | kw_continue
    )
}

/// The children of a pair, keywords removed.
pub(super) fn kids<'i>(p: P<'i>) -> Vec<P<'i>> {
    p.into_inner()
        .filter(|c| !is_keyword(c.as_rule()))
        .collect()
}

impl<'s> Builder<'s> {
    pub(crate) fn new(src: &'s str, comments: &[Comment]) -> Self {
        Builder {
            src,
            comment_at_end: comments
                .iter()
                .map(|c| (c.span.end, c.span.start))
                .collect(),
            diags: Vec::new(),
        }
    }

    /// The span of a pair without the whitespace and comments pest leaves at its end.
    pub(super) fn span(&self, p: &P) -> Span {
        let s = p.as_span();
        let (start, mut end) = (s.start(), s.end());
        let bytes = self.src.as_bytes();
        loop {
            while end > start && bytes.get(end - 1).is_some_and(u8::is_ascii_whitespace) {
                end -= 1;
            }
            match self.comment_at_end.get(&end) {
                Some(&c) if c >= start && c < end => end = c,
                _ => break,
            }
        }
        Span::new(start, end)
    }

    pub(crate) fn finish(self) -> Vec<Diagnostic> {
        self.diags
    }

    /// Records an internal shape mismatch (a grammar/builder disagreement) as a diagnostic.
    pub(super) fn shape_error(&mut self, span: Span, what: &str) {
        self.diags.push(
            Diagnostic::error("E0001", format!("could not read {what}"))
                .with_label(span, "unexpected syntax here"),
        );
    }

    pub(super) fn ident(&self, p: &P) -> Ident {
        Ident {
            name: p.as_str().to_string(),
            span: self.span(p),
        }
    }

    pub(crate) fn file(&mut self, file: P) -> Vec<Item> {
        let mut items = Vec::new();
        for p in file.into_inner() {
            if p.as_rule() == Rule::EOI {
                continue;
            }
            if let Some(item) = self.item(p) {
                items.push(item);
            }
        }
        items
    }

    fn item(&mut self, p: P) -> Option<Item> {
        let span = self.span(&p);
        let rule = p.as_rule();
        let mut k = kids(p).into_iter();
        let kind = match rule {
            Rule::import => ItemKind::Import(self.import(k)?),
            Rule::param => {
                let name = self.ident(&k.next()?);
                let ty = self.type_expr(k.next()?);
                let default = self.expr(k.next()?);
                ItemKind::Param { name, ty, default }
            }
            Rule::target | Rule::data | Rule::secret | Rule::metric | Rule::let_stmt => {
                let name = self.ident(&k.next()?);
                let value = self.expr(k.next()?);
                match rule {
                    Rule::target => ItemKind::Target { name, url: value },
                    Rule::data => ItemKind::Data {
                        name,
                        source: value,
                    },
                    Rule::secret => ItemKind::Secret {
                        name,
                        source: value,
                    },
                    Rule::metric => ItemKind::Metric { name, kind: value },
                    _ => ItemKind::Let { name, value },
                }
            }
            Rule::fn_decl => {
                let name = self.ident(&k.next()?);
                let params = self.params(k.next()?);
                let mut rest: Vec<P> = k.collect();
                let body = self.expr(rest.pop()?);
                let ret = rest.pop().map(|t| self.type_expr(t));
                ItemKind::Fn(FnDecl {
                    name,
                    params,
                    ret,
                    body,
                })
            }
            Rule::flow_decl => {
                let name = self.ident(&k.next()?);
                let params = self.params(k.next()?);
                let mut rest: Vec<P> = k.collect();
                let body = self.block(rest.pop()?);
                let ret = rest.pop().map(|t| self.type_expr(t));
                ItemKind::Flow(FlowDecl {
                    name,
                    params,
                    ret,
                    body,
                })
            }
            Rule::scenario => {
                let name = self.ident(&k.next()?);
                let members = k.map(|m| self.scenario_member(m)).collect();
                ItemKind::Scenario { name, members }
            }
            Rule::setup => ItemKind::Setup(self.block(k.next()?)),
            Rule::teardown => ItemKind::Teardown(self.block(k.next()?)),
            Rule::thresholds => ItemKind::Thresholds(k.map(|e| self.threshold_entry(e)).collect()),
            Rule::fleet => ItemKind::Fleet(k.map(|f| self.field(f)).collect()),
            _ => {
                self.shape_error(span, "this item");
                return None;
            }
        };
        Some(Item { kind, span })
    }

    fn import<'i>(&mut self, mut k: impl Iterator<Item = P<'i>>) -> Option<Import> {
        let path_pair = k.next()?;
        let path = match path_pair.as_rule() {
            Rule::string => {
                let span = self.span(&path_pair);
                let parts = self.string_parts(path_pair);
                let mut text = String::new();
                for part in parts {
                    match part {
                        StrPart::Text(t) => text.push_str(&t),
                        StrPart::Interp(e) => self.diags.push(
                            Diagnostic::error("E0001", "an import path cannot interpolate")
                                .with_label(e.span, "not allowed in an import path")
                                .with_help("write the file path as plain text"),
                        ),
                    }
                }
                ImportPath::File { path: text, span }
            }
            _ => ImportPath::Module(path_pair.into_inner().map(|w| self.ident(&w)).collect()),
        };
        let names = k
            .next()
            .map(|list| list.into_inner().map(|n| self.ident(&n)).collect());
        Some(Import { path, names })
    }

    fn params(&mut self, p: P) -> Vec<ParamDecl> {
        p.into_inner()
            .filter_map(|d| {
                let span = self.span(&d);
                let mut k = d.into_inner();
                let name = self.ident(&k.next()?);
                let ty = self.type_expr(k.next()?);
                let default = k.next().map(|e| self.expr(e));
                Some(ParamDecl {
                    name,
                    ty,
                    default,
                    span,
                })
            })
            .collect()
    }

    pub(super) fn type_expr(&mut self, p: P) -> TypeExpr {
        let span = self.span(&p);
        let inner = p.into_inner().next();
        let kind = match inner {
            Some(t) if t.as_rule() == Rule::type_list => match t.into_inner().next() {
                Some(elem) => TypeKind::List(Box::new(self.type_expr(elem))),
                None => self.bad_type(span),
            },
            Some(t) if t.as_rule() == Rule::type_record => {
                let mut fields = Vec::new();
                for f in t.into_inner() {
                    let mut fk = f.into_inner();
                    if let (Some(n), Some(ty)) = (fk.next(), fk.next()) {
                        let name = self.ident(&n);
                        fields.push((name, self.type_expr(ty)));
                    }
                }
                TypeKind::Record(fields)
            }
            Some(t) => TypeKind::Named(self.ident(&t)),
            None => self.bad_type(span),
        };
        TypeExpr { kind, span }
    }

    fn bad_type(&mut self, span: Span) -> TypeKind {
        self.shape_error(span, "this type");
        TypeKind::Named(Ident {
            name: String::new(),
            span,
        })
    }

    fn scenario_member(&mut self, p: P) -> ScenarioMember {
        match p.as_rule() {
            Rule::let_stmt | Rule::var_stmt => ScenarioMember::Let(self.stmt(p)),
            Rule::iteration => {
                let span = self.span(&p);
                match kids(p).into_iter().next() {
                    Some(b) => ScenarioMember::Iteration(self.block(b)),
                    None => ScenarioMember::Iteration(Block {
                        stmts: Vec::new(),
                        span,
                    }),
                }
            }
            _ => ScenarioMember::Field(self.field(p)),
        }
    }

    fn field(&mut self, p: P) -> Field {
        let span = self.span(&p);
        let mut k = p.into_inner();
        let name = match k.next() {
            Some(n) => self.ident(&n),
            None => Ident {
                name: String::new(),
                span,
            },
        };
        let value = match k.next() {
            Some(v) => self.expr(v),
            None => self.missing(span),
        };
        Field { name, value, span }
    }

    fn threshold_entry(&mut self, p: P) -> ThresholdEntry {
        let span = self.span(&p);
        let mut metric = Ident {
            name: String::new(),
            span,
        };
        let mut filter = Vec::new();
        let mut conditions = Vec::new();
        for (i, c) in p.into_inner().enumerate() {
            match c.as_rule() {
                Rule::word if i == 0 => metric = self.ident(&c),
                Rule::record => filter = self.record_fields(c),
                Rule::threshold_option => {
                    let mut k = c.into_inner();
                    if let (Some(n), Some(v)) = (k.next(), k.next()) {
                        let name = self.ident(&n);
                        let value = Some(self.expr(v));
                        conditions.push(ThresholdItem::Flag { name, value });
                    }
                }
                _ => {
                    let e = self.expr(c);
                    conditions.push(match e.kind {
                        ExprKind::Name(name) => ThresholdItem::Flag { name, value: None },
                        _ => ThresholdItem::Condition(e),
                    });
                }
            }
        }
        ThresholdEntry {
            metric,
            filter,
            conditions,
            span,
        }
    }

    pub(super) fn block(&mut self, p: P) -> Block {
        let span = self.span(&p);
        let stmts = p.into_inner().map(|s| self.stmt(s)).collect();
        Block { stmts, span }
    }

    pub(super) fn stmt(&mut self, p: P) -> Stmt {
        let span = self.span(&p);
        let rule = p.as_rule();
        let k = kids(p);
        let kind = match (rule, k.len()) {
            (Rule::let_stmt, 2) => {
                let mut k = k.into_iter();
                match (k.next(), k.next()) {
                    (Some(n), Some(v)) => StmtKind::Let {
                        name: self.ident(&n),
                        value: self.expr(v),
                    },
                    _ => return self.bad_stmt(span),
                }
            }
            (Rule::check_stmt | Rule::require_stmt, 1 | 2) => {
                let mut k = k.into_iter();
                let first = k.next();
                let (name, cond) = match (first, k.next()) {
                    (Some(n), Some(c)) => (Some(self.expr_from_string(n)), self.expr(c)),
                    (Some(c), None) => (None, self.expr(c)),
                    _ => return self.bad_stmt(span),
                };
                if rule == Rule::check_stmt {
                    StmtKind::Check { name, cond }
                } else {
                    StmtKind::Require { name, cond }
                }
            }
            (Rule::sleep_stmt | Rule::think_stmt | Rule::expr_stmt, 1) => {
                let e = k.into_iter().next().map(|e| self.expr(e));
                let e = e.unwrap_or_else(|| self.missing(span));
                match rule {
                    Rule::sleep_stmt => StmtKind::Sleep(e),
                    Rule::think_stmt => StmtKind::Think(e),
                    _ => StmtKind::Expr(e),
                }
            }
            (Rule::group_stmt | Rule::repeat_stmt, 2) => {
                let mut k = k.into_iter();
                match (k.next(), k.next()) {
                    (Some(e), Some(b)) => {
                        let e = self.expr(e);
                        let body = self.block(b);
                        if rule == Rule::group_stmt {
                            StmtKind::Group { name: e, body }
                        } else {
                            StmtKind::Repeat { count: e, body }
                        }
                    }
                    _ => return self.bad_stmt(span),
                }
            }
            (Rule::if_stmt, 2 | 3) => {
                let mut k = k.into_iter();
                let (Some(c), Some(t)) = (k.next(), k.next()) else {
                    return self.bad_stmt(span);
                };
                let cond = self.expr(c);
                let then = self.block(t);
                let otherwise = k.next().map(|o| {
                    if o.as_rule() == Rule::if_stmt {
                        let s = self.stmt(o);
                        Block {
                            span: s.span,
                            stmts: vec![s],
                        }
                    } else {
                        self.block(o)
                    }
                });
                StmtKind::If {
                    cond,
                    then,
                    otherwise,
                }
            }
            (Rule::return_stmt, 0 | 1) => {
                StmtKind::Return(k.into_iter().next().map(|e| self.expr(e)))
            }
            (Rule::var_stmt | Rule::assign_stmt | Rule::for_stmt | Rule::while_stmt, _)
            | (Rule::break_stmt | Rule::continue_stmt, 0) => match self.loop_stmt(rule, k) {
                Some(kind) => kind,
                None => return self.bad_stmt(span),
            },
            _ => return self.bad_stmt(span),
        };
        Stmt { kind, span }
    }

    /// `var`, assignments, `for`, `while`, `break` and `continue` (issue 17).
    fn loop_stmt(&mut self, rule: Rule, k: Vec<P>) -> Option<StmtKind> {
        let mut k = k.into_iter();
        Some(match rule {
            Rule::var_stmt => {
                let (n, v) = (k.next()?, k.next()?);
                StmtKind::Var {
                    name: self.ident(&n),
                    value: self.expr(v),
                }
            }
            Rule::assign_stmt => {
                let (n, op, v) = (k.next()?, k.next()?, k.next()?);
                let op = match op.as_str() {
                    "+=" => AssignOp::Add,
                    "-=" => AssignOp::Sub,
                    _ => AssignOp::Set,
                };
                StmtKind::Assign {
                    name: self.ident(&n),
                    op,
                    value: self.expr(v),
                }
            }
            Rule::for_stmt => {
                let (n, over, b) = (k.next()?, k.next()?, k.next()?);
                StmtKind::For {
                    var: self.ident(&n),
                    over: self.expr(over),
                    body: self.block(b),
                }
            }
            Rule::while_stmt => {
                let (c, b) = (k.next()?, k.next()?);
                StmtKind::While {
                    cond: self.expr(c),
                    body: self.block(b),
                }
            }
            Rule::break_stmt => StmtKind::Break,
            Rule::continue_stmt => StmtKind::Continue,
            _ => return None,
        })
    }

    fn bad_stmt(&mut self, span: Span) -> Stmt {
        self.shape_error(span, "this statement");
        Stmt {
            kind: StmtKind::Return(None),
            span,
        }
    }

    /// A placeholder for a missing part (only after an error was reported).
    pub(super) fn missing(&mut self, span: Span) -> Expr {
        self.shape_error(span, "this expression");
        Expr {
            kind: ExprKind::Bool(false),
            span,
        }
    }
}
