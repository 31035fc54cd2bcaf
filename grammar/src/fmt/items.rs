//! Layout of items, scenario members, thresholds, blocks and statements.

use super::exprs::Elem;
use super::flat;
use super::printer::Printer;
use crate::ast::*;

impl Printer<'_> {
    // ------------------------------------------------------------ items

    pub(crate) fn file(&mut self, f: &File) {
        for item in &f.items {
            self.begin_line(item.span.start, true);
            self.item(item);
            self.end_line(item.span.end);
        }
    }

    fn item(&mut self, item: &Item) {
        let close = item.span.end.saturating_sub(1);
        match &item.kind {
            ItemKind::Import(imp) => {
                self.write("import ");
                match &imp.path {
                    ImportPath::Module(segs) => {
                        let path: Vec<&str> = segs.iter().map(|s| s.name.as_str()).collect();
                        self.write(&path.join("/"));
                    }
                    ImportPath::File { path, .. } => {
                        let e = Expr {
                            kind: ExprKind::Str(vec![StrPart::Text(path.clone())]),
                            span: Span::default(),
                        };
                        self.write(&flat::expr("", &e));
                    }
                }
                if let Some(names) = &imp.names {
                    let names: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
                    if names.is_empty() {
                        self.write(" {}");
                    } else {
                        self.write(&format!(" {{ {} }}", names.join(", ")));
                    }
                }
            }
            ItemKind::Param { name, ty, default } => {
                self.write(&format!("param {}: {} = ", name.name, flat::ty(ty)));
                self.expr(default);
            }
            ItemKind::Target { name, url } => self.decl("target", name, url),
            ItemKind::Data { name, source } => self.decl("data", name, source),
            ItemKind::Secret { name, source } => self.decl("secret", name, source),
            ItemKind::Metric { name, kind } => self.decl("metric", name, kind),
            ItemKind::Let { name, value } => self.decl("let", name, value),
            ItemKind::Fn(f) => {
                self.write(&format!("fn {}", f.name.name));
                self.params(&f.params, f.name.span.end);
                if let Some(t) = &f.ret {
                    self.write(&format!(" -> {}", flat::ty(t)));
                }
                let brace = self.brace_before(f.body.span.start);
                let body = flat::expr(self.src, &f.body);
                let inline = self.one_line_in_source(brace, close)
                    && !self.comment_inside(Span::new(brace, close))
                    && self.fits(&format!(" {{ {body} }}"));
                if inline {
                    self.write(&format!(" {{ {body} }}"));
                } else {
                    self.write(" {");
                    self.open(brace);
                    self.begin_line(f.body.span.start, false);
                    self.expr(&f.body);
                    self.end_line(f.body.span.end);
                    self.close(close, "}", true);
                }
            }
            ItemKind::Flow(f) => {
                self.write(&format!("flow {}", f.name.name));
                self.params(&f.params, f.name.span.end);
                if let Some(t) = &f.ret {
                    self.write(&format!(" -> {}", flat::ty(t)));
                }
                self.write(" ");
                self.block(&f.body);
            }
            ItemKind::Scenario { name, members } => {
                self.write(&format!("scenario {} {{", name.name));
                let brace = self.brace_after(name.span.end);
                self.open(brace);
                for m in members {
                    let span = match m {
                        ScenarioMember::Field(f) => f.span,
                        ScenarioMember::Let(s) => s.span,
                        ScenarioMember::Iteration(b) => b.span,
                    };
                    self.begin_line(span.start, true);
                    match m {
                        ScenarioMember::Field(f) => self.field(f),
                        ScenarioMember::Let(s) => self.stmt(s),
                        ScenarioMember::Iteration(b) => {
                            self.write("iteration ");
                            self.block(b);
                        }
                    }
                    self.end_line(span.end);
                }
                self.close(close, "}", true);
            }
            ItemKind::Setup(b) => {
                self.write("setup ");
                self.block(b);
            }
            ItemKind::Teardown(b) => {
                self.write("teardown ");
                self.block(b);
            }
            ItemKind::Thresholds(entries) => {
                self.write("thresholds {");
                let brace = self.brace_after(item.span.start + "thresholds".len());
                self.open(brace);
                for e in entries {
                    self.begin_line(e.span.start, true);
                    self.threshold(e);
                    self.end_line(e.span.end);
                }
                self.close(close, "}", true);
            }
            ItemKind::Fleet(fields) => {
                self.write("fleet {");
                let brace = self.brace_after(item.span.start + "fleet".len());
                self.open(brace);
                for f in fields {
                    self.begin_line(f.span.start, true);
                    self.field(f);
                    self.end_line(f.span.end);
                }
                self.close(close, "}", true);
            }
        }
    }

    fn decl(&mut self, kw: &str, name: &Ident, value: &Expr) {
        self.write(&format!("{kw} {} = ", name.name));
        self.expr(value);
    }

    fn field(&mut self, f: &Field) {
        self.write(&format!("{} = ", f.name.name));
        self.expr(&f.value);
    }

    pub(super) fn params(&mut self, params: &[ParamDecl], after: usize) {
        let inner: Vec<String> = params.iter().map(|p| flat::param(self.src, p)).collect();
        let text = format!("({})", inner.join(", "));
        let end = params.last().map_or(after, |p| p.span.end);
        let close = self.paren_after(end);
        let inside = Span::new(after, close);
        if params.is_empty() || (self.fits(&text) && !self.comment_inside(inside)) {
            self.write(&text);
            self.src_pos = self.src_pos.max(close + 1);
            return;
        }
        self.write("(");
        let elems = params.iter().map(Elem::Param).collect();
        self.broken(elems, close, ")");
    }

    fn threshold(&mut self, e: &ThresholdEntry) {
        self.write(&e.metric.name);
        if !e.filter.is_empty() {
            let fields: Vec<String> = e.filter.iter().map(|f| flat::field(self.src, f)).collect();
            self.write(&format!("{{{}}}", fields.join(", ")));
        }
        self.write(": ");
        for (i, c) in e.conditions.iter().enumerate() {
            if i > 0 {
                self.write(", ");
            }
            match c {
                // Kept as written: the plan holds a condition's source text.
                ThresholdItem::Condition(x) => self.kept(x.span),
                ThresholdItem::Flag { name, value } => {
                    self.write(&name.name);
                    self.src_pos = self.src_pos.max(name.span.end);
                    if let Some(v) = value {
                        self.write(": ");
                        self.expr(v);
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------ statements

    /// `{ stmt }` when the block was on one line in the source, holds one simple
    /// statement and no comment; `{}` when empty.
    fn inline_block(&self, b: &Block) -> Option<String> {
        if self.comment_inside(b.span) {
            return None;
        }
        match b.stmts.as_slice() {
            [] => Some("{}".into()),
            [only] if self.one_line_in_source(b.span.start, b.span.end) => {
                flat::simple_stmt(self.src, only).map(|t| format!("{{ {t} }}"))
            }
            _ => None,
        }
    }

    pub(super) fn block(&mut self, b: &Block) {
        if let Some(text) = self.inline_block(b) {
            if self.fits(&text) {
                self.write(&text);
                self.src_pos = self.src_pos.max(b.span.end);
                return;
            }
        }
        self.broken_block(b);
    }

    pub(super) fn broken_block(&mut self, b: &Block) {
        let close = b.span.end.saturating_sub(1);
        self.write("{");
        self.open(b.span.start);
        for st in &b.stmts {
            self.begin_line(st.span.start, true);
            self.stmt(st);
            self.end_line(st.span.end);
        }
        self.close(close, "}", true);
    }

    fn stmt(&mut self, st: &Stmt) {
        match &st.kind {
            StmtKind::Let { name, value } => {
                self.write(&format!("let {} = ", name.name));
                self.expr(value);
            }
            StmtKind::Expr(e) => self.expr(e),
            StmtKind::Check { name, cond } => self.named("check", name.as_ref(), cond),
            StmtKind::Require { name, cond } => self.named("require", name.as_ref(), cond),
            StmtKind::Sleep(e) => {
                self.write("sleep ");
                self.expr(e);
            }
            StmtKind::Think(e) => {
                self.write("think ");
                self.expr(e);
            }
            StmtKind::Group { name, body } => {
                self.write("group ");
                self.expr(name);
                self.write(" ");
                self.block(body);
            }
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => self.if_stmt(cond, then, otherwise.as_ref()),
            StmtKind::Repeat { count, body } => {
                self.write("repeat ");
                self.expr(count);
                self.write(" ");
                self.block(body);
            }
            StmtKind::Return(value) => {
                self.write("return");
                if let Some(v) = value {
                    self.write(" ");
                    self.expr(v);
                }
            }
            StmtKind::Var { name, value } => {
                self.write(&format!("var {} = ", name.name));
                self.expr(value);
            }
            StmtKind::Assign { name, op, value } => {
                self.write(&format!("{} {} ", name.name, op.as_str()));
                self.expr(value);
            }
            StmtKind::For { var, over, body } => {
                self.write(&format!("for {} in ", var.name));
                self.expr(over);
                self.write(" ");
                self.block(body);
            }
            StmtKind::While { cond, body } => {
                self.write("while ");
                self.expr(cond);
                self.write(" ");
                self.block(body);
            }
            StmtKind::Break => self.write("break"),
            StmtKind::Continue => self.write("continue"),
        }
    }

    /// `check`/`require`; an unnamed one keeps its condition as written (its name).
    fn named(&mut self, kw: &str, name: Option<&Expr>, cond: &Expr) {
        self.write(kw);
        self.write(" ");
        match name {
            Some(n) => {
                self.expr(n);
                self.write(": ");
                self.expr(cond);
            }
            None => self.kept(cond.span),
        }
    }
}

/// The `if` of an `else if` block, if that is what the block is.
fn else_if(b: &Block) -> Option<(&Expr, &Block, Option<&Block>)> {
    match b.stmts.as_slice() {
        [only] if only.span == b.span => match &only.kind {
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => Some((cond, then, otherwise.as_ref())),
            _ => None,
        },
        _ => None,
    }
}

impl Printer<'_> {
    /// A whole `if / else if / else` chain on one line, when every block allows it.
    fn inline_if(&self, cond: &Expr, then: &Block, otherwise: Option<&Block>) -> Option<String> {
        let mut s = format!(
            "if {} {}",
            flat::expr(self.src, cond),
            self.inline_block(then)?
        );
        if let Some(other) = otherwise {
            s.push_str(" else ");
            match else_if(other) {
                Some((c, t, o)) => s.push_str(&self.inline_if(c, t, o)?),
                None => s.push_str(&self.inline_block(other)?),
            }
        }
        Some(s)
    }

    fn if_stmt(&mut self, cond: &Expr, then: &Block, otherwise: Option<&Block>) {
        if let Some(text) = self.inline_if(cond, then, otherwise) {
            if self.fits(&text) && !self.comment_inside(cond.span) {
                self.write(&text);
                let end = otherwise.map_or(then.span.end, |o| o.span.end);
                self.src_pos = self.src_pos.max(end);
                return;
            }
        }
        self.broken_if(cond, then, otherwise);
    }

    fn broken_if(&mut self, cond: &Expr, then: &Block, otherwise: Option<&Block>) {
        self.write("if ");
        self.expr(cond);
        self.write(" ");
        self.broken_block(then);
        let Some(other) = otherwise else {
            return;
        };
        self.write(" else ");
        match else_if(other) {
            Some((c, t, o)) => self.broken_if(c, t, o),
            None => self.broken_block(other),
        }
    }
}
