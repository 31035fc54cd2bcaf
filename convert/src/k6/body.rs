//! Statements and expressions of k6 functions as `.load` statements and expressions.

use super::{Bind, Module, Ty, K6};
use crate::names::{ident, looks_secret};
use crate::{duration_ms, escape, number, parse_k6_duration, quote};
use oxc_ast::ast::*;
use oxc_span::{GetSpan, Span};
use std::collections::{HashMap, HashSet};

/// Where converted statements go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    Iteration,
    Setup,
    Teardown,
    Flow,
    /// A top-level constant (no statements, no run-time values).
    Top,
}

/// The context of one function being converted.
pub(crate) struct Cx {
    pub place: Place,
    scopes: Vec<HashMap<String, Bind>>,
    /// Lines put at the start of the body (a data row drawn once per iteration).
    pub prelude: Vec<String>,
    data_rows: HashMap<String, String>,
    /// Names the function assigns (a `let` of them is a `var`).
    assigned: HashSet<String>,
    /// The type of the values the function returns (flows).
    pub returns: Option<Ty>,
    /// Statements to emit before the current one (a hoisted check subject).
    pre: Vec<String>,
}

impl Cx {
    pub fn new(place: Place) -> Self {
        Cx {
            place,
            scopes: vec![HashMap::new()],
            prelude: Vec::new(),
            data_rows: HashMap::new(),
            assigned: HashSet::new(),
            returns: None,
            pre: Vec::new(),
        }
    }
    pub fn top() -> Self {
        Cx::new(Place::Top)
    }
    pub fn bind(&mut self, name: &str, b: Bind) {
        if let Some(s) = self.scopes.last_mut() {
            s.insert(name.to_string(), b);
        }
    }
    fn lookup(&self, name: &str) -> Option<&Bind> {
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }
    /// A line to write before the statement being converted (a `// k6:` note).
    pub fn note(&mut self, line: String) {
        self.pre.push(line);
    }
    fn taken(&self, name: &str) -> bool {
        self.scopes.iter().any(|s| {
            s.values()
                .any(|b| matches!(b, Bind::Local { name: n, .. } if n == name))
        })
    }
}

/// A converted expression.
#[derive(Clone, Debug)]
pub(crate) struct Ex {
    pub text: String,
    pub ty: Ty,
    /// Binding strength: 10 atoms and calls, 9 unary, 8 `* / %`, 7 `+ -`, 5 comparisons,
    /// 3 `not`, 2 `and`, 1 `or`.
    prec: u8,
    /// Known only at run time (a request, `vu.id`, `env(..)`).
    pub runtime: bool,
    /// The pieces of a string, to merge into an enclosing interpolation.
    parts: Option<Vec<Part>>,
}

#[derive(Clone, Debug)]
enum Part {
    Text(String),
    Expr(String),
}

impl Ex {
    fn atom(text: impl Into<String>, ty: Ty, runtime: bool) -> Ex {
        Ex {
            text: text.into(),
            ty,
            prec: 10,
            runtime,
            parts: None,
        }
    }
    fn string(parts: Vec<Part>, runtime: bool) -> Ex {
        let mut text = String::from("\"");
        for p in &parts {
            match p {
                Part::Text(t) => text.push_str(&escape(t)),
                Part::Expr(e) => {
                    text.push('{');
                    text.push_str(e);
                    text.push('}');
                }
            }
        }
        text.push('"');
        Ex {
            text,
            ty: Ty::Str,
            prec: 10,
            runtime,
            parts: Some(parts),
        }
    }
    fn string_parts(&self) -> Vec<Part> {
        match &self.parts {
            Some(p) => p.clone(),
            None => vec![Part::Expr(self.text.clone())],
        }
    }
    fn wrapped(&self, min: u8) -> String {
        if self.prec < min {
            format!("({})", self.text)
        } else {
            self.text.clone()
        }
    }
    /// The text of a string known when the file compiles (no interpolation).
    pub(super) fn constant_text(&self) -> Option<String> {
        if self.runtime || self.ty != Ty::Str {
            return None;
        }
        let mut out = String::new();
        for p in self.parts.as_ref()? {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Expr(_) => return None,
            }
        }
        Some(out)
    }
    /// This value read with `suffix` (`.len()`, `.find("a")`).
    fn then(&self, suffix: &str, ty: Ty, runtime: bool) -> Ex {
        Ex::atom(format!("{}{suffix}", self.wrapped(10)), ty, runtime)
    }
    /// As a `bool` condition, following JavaScript's truthiness where it is clear.
    fn truthy(self) -> Result<Ex, String> {
        let t = match self.ty {
            Ty::Bool => return Ok(self),
            Ty::Json => format!("{}.exists()", self.wrapped(10)),
            Ty::Str => format!("{} != \"\"", self.wrapped(6)),
            Ty::Int => format!("{} != 0", self.wrapped(6)),
            Ty::Row | Ty::Response | Ty::Record => return Ok(Ex::atom("true", Ty::Bool, false)),
            _ => return Err("a condition whose truth value is unclear".into()),
        };
        Ok(Ex {
            text: t,
            ty: Ty::Bool,
            prec: 5,
            runtime: self.runtime,
            parts: None,
        })
    }
}

/// When the value of a read is known.
#[derive(Clone, Copy, Debug)]
enum Known {
    /// Only at run time (a response's or a page's content).
    RunTime,
    /// When the value it is read from is.
    Receiver,
    /// When the value it is read from and the argument are.
    Operands,
}

impl Known {
    fn runtime(self, of: &Ex, arg: Option<&Ex>) -> bool {
        match self {
            Known::RunTime => true,
            Known::Receiver => of.runtime,
            Known::Operands => of.runtime || arg.is_some_and(|a| a.runtime),
        }
    }
}

/// Members that are renames: (type of the value, k6's member, `.load`'s read, type of the
/// result, when it is known). `res.status` is `res.status`, `s.length` is `s.len()`.
const FIELD_READS: &[(Ty, &str, &str, Ty, Known)] = &[
    (Ty::Response, "status", ".status", Ty::Int, Known::RunTime),
    (Ty::Response, "body", ".body", Ty::Str, Known::RunTime),
    (Ty::Response, "url", ".url", Ty::Str, Known::RunTime),
    (Ty::Json, "length", ".len()", Ty::Int, Known::RunTime),
    (Ty::Str, "length", ".len()", Ty::Int, Known::Receiver),
];

/// A method that is a rename: (type of the value, k6's method, `.load`'s, with one argument
/// the reason given when it is missing, type of the result, when it is known).
type MethodRename = (
    Ty,
    &'static str,
    &'static str,
    Option<&'static str>,
    Ty,
    Known,
);

/// The methods that are renames. Arguments past the ones named are not read.
#[rustfmt::skip]
const METHODS: &[MethodRename] = &[
    (Ty::Response, "html", "html", None, Ty::Html, Known::RunTime),
    (Ty::Html, "find", "find", Some("find without a selector"), Ty::Html, Known::RunTime),
    (Ty::Html, "attr", "attr", Some("attr without a name"), Ty::Str, Known::RunTime),
    (Ty::Html, "text", "text", None, Ty::Str, Known::RunTime),
    (Ty::Html, "first", "first", None, Ty::Html, Known::RunTime),
    (Ty::Str, "includes", "contains", Some("includes without a value"), Ty::Bool, Known::Operands),
    (Ty::Str, "toLowerCase", "lower", None, Ty::Str, Known::Receiver),
    (Ty::Str, "toUpperCase", "upper", None, Ty::Str, Known::Receiver),
    (Ty::Str, "trim", "trim", None, Ty::Str, Known::Receiver),
];

/// `k6/execution` reads: (`exec.A.B`'s A and B, the `.load` integer).
const EXEC_READS: &[(&str, &str, &str)] = &[
    ("vu", "idInTest", "vu.id"),
    ("vu", "idInInstance", "vu.local_id"),
    ("vu", "iterationInScenario", "vu.iteration"),
    ("vu", "iterationInInstance", "vu.iteration"),
    ("scenario", "iterationInTest", "test.iteration"),
];

/// A value as text, as JavaScript turns it into a string where one is wanted (a string as
/// it is, a number or a JSON value interpolated); `None` for other values.
pub(super) fn text_value(x: Ex) -> Option<Ex> {
    match x.ty {
        Ty::Str => Some(x),
        Ty::Int | Ty::Float | Ty::Bool | Ty::Json => Some(Ex::string(x.string_parts(), x.runtime)),
        _ => None,
    }
}

pub(crate) fn unparen<'b, 'a>(e: &'b Expression<'a>) -> &'b Expression<'a> {
    match e {
        Expression::ParenthesizedExpression(p) => unparen(&p.expression),
        other => other,
    }
}

pub(crate) fn binding_name(p: &BindingPattern<'_>) -> Option<String> {
    p.get_identifier_name().map(|n| n.to_string())
}

/// `__ENV.NAME` (with no default) or `__ENV.NAME || "default"`: the name and default.
pub(crate) fn env_with_default(e: &Expression<'_>) -> Option<(String, Option<String>)> {
    let e = unparen(e);
    if let Expression::LogicalExpression(l) = e {
        if matches!(l.operator, LogicalOperator::Or | LogicalOperator::Coalesce) {
            let (name, _) = env_with_default(&l.left)?;
            let d = match unparen(&l.right) {
                Expression::StringLiteral(s) => s.value.to_string(),
                Expression::NumericLiteral(n) => number(n.value),
                Expression::BooleanLiteral(b) => b.value.to_string(),
                _ => return None,
            };
            return Some((name, Some(d)));
        }
    }
    if let Expression::StaticMemberExpression(m) = e {
        if let Expression::Identifier(o) = &m.object {
            if o.name == "__ENV" {
                return Some((m.property.name.to_string(), None));
            }
        }
    }
    None
}

/// The statements of an arrow function with a block body.
pub(crate) fn arrow_statements<'b, 'a>(
    a: &'b ArrowFunctionExpression<'a>,
) -> Option<&'b [Statement<'a>]> {
    match &a.body {
        ArrowFunctionBody::FunctionBody(b) => Some(&b.statements),
        _ => None,
    }
}

/// The expression a function (or arrow) returns when its body is that one `return`.
pub(crate) fn returned_expression<'b, 'a>(f: &'b Expression<'a>) -> Option<&'b Expression<'a>> {
    let stmts = match unparen(f) {
        Expression::FunctionExpression(f) => &f.body.as_ref()?.statements,
        Expression::ArrowFunctionExpression(a) => match &a.body {
            ArrowFunctionBody::FunctionBody(b) => &b.statements,
            other => return other.as_expression(),
        },
        _ => return None,
    };
    match stmts.as_slice() {
        [Statement::ReturnStatement(r)] => r.argument.as_ref(),
        [Statement::ExpressionStatement(e)] => Some(&e.expression),
        _ => None,
    }
}

/// Every name assigned (`=`, `+=`, `++`) anywhere inside the program's functions.
pub(crate) fn assigned_names_in_program(p: &Program<'_>) -> HashSet<String> {
    let mut out = HashSet::new();
    let text_of = |s: &Span| s.start..s.end;
    let _ = text_of;
    for s in &p.body {
        collect_assigned_stmt(s, &mut out);
    }
    out
}

fn collect_assigned_stmt(s: &Statement<'_>, out: &mut HashSet<String>) {
    match s {
        Statement::ExpressionStatement(e) => collect_assigned_expr(&e.expression, out),
        Statement::BlockStatement(b) => b.body.iter().for_each(|s| collect_assigned_stmt(s, out)),
        Statement::IfStatement(i) => {
            collect_assigned_expr(&i.test, out);
            collect_assigned_stmt(&i.consequent, out);
            if let Some(a) = &i.alternate {
                collect_assigned_stmt(a, out);
            }
        }
        Statement::ForStatement(f) => {
            if let Some(u) = &f.update {
                collect_assigned_expr(u, out);
            }
            collect_assigned_stmt(&f.body, out);
        }
        Statement::ForOfStatement(f) => collect_assigned_stmt(&f.body, out),
        Statement::ForInStatement(f) => collect_assigned_stmt(&f.body, out),
        Statement::WhileStatement(w) => collect_assigned_stmt(&w.body, out),
        Statement::DoWhileStatement(w) => collect_assigned_stmt(&w.body, out),
        Statement::FunctionDeclaration(f) => {
            if let Some(b) = &f.body {
                b.statements
                    .iter()
                    .for_each(|s| collect_assigned_stmt(s, out));
            }
        }
        Statement::ExportDeclaration(e) => {
            if let Declaration::FunctionDeclaration(f) = &e.declaration {
                if let Some(b) = &f.body {
                    b.statements
                        .iter()
                        .for_each(|s| collect_assigned_stmt(s, out));
                }
            }
        }
        Statement::ExportDefaultDeclaration(e) => {
            if let ExportDefaultDeclarationKind::FunctionDeclaration(f) = &e.declaration {
                if let Some(b) = &f.body {
                    b.statements
                        .iter()
                        .for_each(|s| collect_assigned_stmt(s, out));
                }
            }
        }
        Statement::VariableDeclaration(v) => {
            for d in &v.declarations {
                if let Some(i) = &d.init {
                    collect_assigned_expr(i, out);
                }
            }
        }
        Statement::TryStatement(t) => t
            .block
            .body
            .iter()
            .for_each(|s| collect_assigned_stmt(s, out)),
        _ => {}
    }
}

fn collect_assigned_expr(e: &Expression<'_>, out: &mut HashSet<String>) {
    match e {
        Expression::AssignmentExpression(a) => {
            if let AssignmentTarget::AssignmentTargetIdentifier(id) = &a.left {
                out.insert(id.name.to_string());
            }
        }
        Expression::UpdateExpression(u) => {
            if let SimpleAssignmentTarget::AssignmentTargetIdentifier(id) = &u.argument {
                out.insert(id.name.to_string());
            }
        }
        Expression::CallExpression(c) => {
            for a in &c.arguments {
                match a.as_expression() {
                    Some(Expression::FunctionExpression(f)) => {
                        if let Some(b) = &f.body {
                            b.statements
                                .iter()
                                .for_each(|s| collect_assigned_stmt(s, out));
                        }
                    }
                    Some(Expression::ArrowFunctionExpression(f)) => {
                        if let Some(b) = arrow_statements(f) {
                            b.iter().for_each(|s| collect_assigned_stmt(s, out));
                        }
                    }
                    _ => {}
                }
            }
        }
        Expression::SequenceExpression(s) => s
            .expressions
            .iter()
            .for_each(|e| collect_assigned_expr(e, out)),
        _ => {}
    }
}

/// The statements of a function passed as an argument (`group('x', function () {..})`).
fn fn_statements<'b, 'a>(e: &'b Expression<'a>) -> Option<&'b [Statement<'a>]> {
    match unparen(e) {
        Expression::FunctionExpression(f) => Some(&f.body.as_ref()?.statements),
        Expression::ArrowFunctionExpression(a) => arrow_statements(a),
        _ => None,
    }
}

fn fn_params<'b, 'a>(e: &'b Expression<'a>) -> Option<&'b [FormalParameter<'a>]> {
    match unparen(e) {
        Expression::FunctionExpression(f) => Some(&f.params.items),
        Expression::ArrowFunctionExpression(a) => Some(&a.params.items),
        _ => None,
    }
}

pub(super) fn key_name(k: &PropertyKey<'_>) -> Option<String> {
    k.static_name().map(|s| s.to_string())
}

impl<'a> K6<'a> {
    /// Converts statements into `out`; each one converted whole or left as a comment.
    pub(crate) fn block(&mut self, stmts: &'a [Statement<'a>], cx: &mut Cx, out: &mut Vec<String>) {
        for s in stmts {
            collect_assigned_stmt(s, &mut cx.assigned);
        }
        for s in stmts {
            let mut lines = Vec::new();
            cx.pre.clear();
            match self.stmt(s, cx, &mut lines) {
                Ok(()) => {
                    out.append(&mut cx.pre);
                    out.extend(lines);
                }
                Err(why) => {
                    cx.pre.clear();
                    let line = self.line_of(s.span());
                    self.report
                        .left(line, format!("`{}`: {why}", self.snippet(s.span())));
                    let src = self
                        .src
                        .get(s.span().start as usize..s.span().end as usize)
                        .unwrap_or("");
                    out.push(format!("// k6 (line {line}), not converted: {why}"));
                    for l in src.lines().take(8) {
                        out.push(format!("//   {}", l.trim_end()));
                    }
                    if src.lines().count() > 8 {
                        out.push("//   …".into());
                    }
                }
            }
        }
    }

    fn nested(&mut self, s: &'a Statement<'a>, cx: &mut Cx) -> Vec<String> {
        let stmts: &'a [Statement<'a>] = match s {
            Statement::BlockStatement(b) => &b.body,
            other => std::slice::from_ref(other),
        };
        cx.scopes.push(HashMap::new());
        let mut out = Vec::new();
        let saved = std::mem::take(&mut cx.pre);
        self.block(stmts, cx, &mut out);
        cx.pre = saved;
        cx.scopes.pop();
        out.into_iter().map(|l| format!("  {l}")).collect()
    }

    fn stmt(
        &mut self,
        s: &'a Statement<'a>,
        cx: &mut Cx,
        out: &mut Vec<String>,
    ) -> Result<(), String> {
        let line = self.line_of(s.span());
        match s {
            Statement::EmptyStatement(_) => Ok(()),
            Statement::VariableDeclaration(v) => {
                for d in &v.declarations {
                    let name = binding_name(&d.id).ok_or("a destructuring declaration")?;
                    let Some(init) = &d.init else {
                        return Err("a declaration without a value".into());
                    };
                    // `const jar = http.cookieJar()`
                    if let Some(r) = self.jar_decl(&name, init, cx, line) {
                        r?;
                        continue;
                    }
                    // `const res = http.batch([...])`
                    if let Some(batch) = self.batch(init, &name, cx, out)? {
                        cx.bind(
                            &name,
                            Bind::Local {
                                name: String::new(),
                                ty: Ty::Batch(batch),
                            },
                        );
                        continue;
                    }
                    // `const body = JSON.stringify(x)`: sent later as `json: x`.
                    if let Expression::CallExpression(c) = unparen(init) {
                        if is_json_stringify(&c.callee) {
                            let v = c
                                .arguments
                                .first()
                                .and_then(|a| a.as_expression())
                                .ok_or("JSON.stringify of nothing")?;
                            let x = self.expr(v, cx)?;
                            cx.bind(
                                &name,
                                Bind::Local {
                                    name: x.text,
                                    ty: Ty::Stringified,
                                },
                            );
                            continue;
                        }
                    }
                    let e = self.expr(init, cx)?;
                    let mut n = ident(&name);
                    if cx.taken(&n)
                        || self.globals.contains_key(&n)
                            && !matches!(self.globals.get(&n), Some(Bind::Local { .. }))
                    {
                        n = self.fresh(&n);
                    }
                    let kw = if cx.assigned.contains(&name) {
                        "var"
                    } else {
                        "let"
                    };
                    out.push(format!("{kw} {n} = {}", e.text));
                    cx.bind(&name, Bind::Local { name: n, ty: e.ty });
                }
                self.report.converted(line, "a variable");
                Ok(())
            }
            Statement::ExpressionStatement(e) => self.expr_stmt(&e.expression, cx, out),
            Statement::IfStatement(i) => {
                let c = self.expr(&i.test, cx)?.truthy()?;
                out.push(format!("if {} {{", c.text));
                out.extend(self.nested(&i.consequent, cx));
                let mut alt = i.alternate.as_ref();
                while let Some(a) = alt {
                    if let Statement::IfStatement(ei) = a {
                        let c = self.expr(&ei.test, cx)?.truthy()?;
                        out.push(format!("}} else if {} {{", c.text));
                        out.extend(self.nested(&ei.consequent, cx));
                        alt = ei.alternate.as_ref();
                    } else {
                        out.push("} else {".into());
                        out.extend(self.nested(a, cx));
                        alt = None;
                    }
                }
                out.push("}".into());
                self.report.converted(line, "an if");
                Ok(())
            }
            Statement::BlockStatement(b) => {
                cx.scopes.push(HashMap::new());
                let mut inner = Vec::new();
                self.block(&b.body, cx, &mut inner);
                cx.scopes.pop();
                out.extend(inner);
                Ok(())
            }
            Statement::ForStatement(f) => self.for_range(f, cx, out),
            Statement::ForOfStatement(f) => {
                let ForStatementLeft::VariableDeclaration(v) = &f.left else {
                    return Err("a for-of without a declaration".into());
                };
                let name = v
                    .declarations
                    .first()
                    .and_then(|d| binding_name(&d.id))
                    .ok_or("a destructuring for-of")?;
                let over = self.expr(&f.right, cx)?;
                let ty = match &over.ty {
                    Ty::Json => Ty::Json,
                    Ty::List(t) => (**t).clone(),
                    _ => {
                        return Err(
                            "a for-of over something that is not a list or JSON array".into()
                        )
                    }
                };
                let n = ident(&name);
                out.push(format!("for {n} in {} {{", over.text));
                cx.scopes.push(HashMap::new());
                cx.bind(&name, Bind::Local { name: n, ty });
                let body = self.nested(&f.body, cx);
                cx.scopes.pop();
                out.extend(body);
                out.push("}".into());
                self.report.converted(line, "a for-of loop");
                Ok(())
            }
            Statement::WhileStatement(w) => {
                let c = self.expr(&w.test, cx)?.truthy()?;
                out.push(format!("while {} {{", c.text));
                out.extend(self.nested(&w.body, cx));
                out.push("}".into());
                self.report.converted(line, "a while loop");
                Ok(())
            }
            Statement::BreakStatement(b) if b.label.is_none() => {
                out.push("break".into());
                Ok(())
            }
            Statement::ContinueStatement(c) if c.label.is_none() => {
                out.push("continue".into());
                Ok(())
            }
            Statement::ReturnStatement(r) => match cx.place {
                Place::Flow => {
                    match &r.argument {
                        Some(a) => {
                            let e = self.expr(a, cx)?;
                            if e.ty.load_type().is_none() {
                                return Err("a flow returning a value of no `.load` type".into());
                            }
                            cx.returns = Some(e.ty.clone());
                            out.push(format!("return {}", e.text));
                        }
                        None => out.push("return".into()),
                    }
                    Ok(())
                }
                Place::Setup => Ok(()),
                _ => {
                    if r.argument.is_some() {
                        return Err("k6 ignores what this function returns".into());
                    }
                    out.push("return".into());
                    Ok(())
                }
            },
            Statement::FunctionDeclaration(_) => Err("a nested function".into()),
            Statement::TryStatement(_) => {
                Err("try/catch: a failed request does not throw here; check its status".into())
            }
            Statement::ThrowStatement(_) => Err("throw: use `require` to end an iteration".into()),
            _ => Err("a statement of a kind the converter does not know".into()),
        }
    }

    fn for_range(
        &mut self,
        f: &'a ForStatement<'a>,
        cx: &mut Cx,
        out: &mut Vec<String>,
    ) -> Result<(), String> {
        let line = self.line_of(f.span);
        let Some(ForStatementInit::VariableDeclaration(v)) = &f.init else {
            return Err("a for loop without `let i = ..`".into());
        };
        let d = v.declarations.first().ok_or("an empty for")?;
        let name = binding_name(&d.id).ok_or("a destructuring for")?;
        let from = self.expr(d.init.as_ref().ok_or("a for without a start")?, cx)?;
        let Some(Expression::BinaryExpression(t)) = f.test.as_ref().map(unparen) else {
            return Err("a for loop whose test is not `i < N`".into());
        };
        let Expression::Identifier(ti) = unparen(&t.left) else {
            return Err("a for loop whose test is not `i < N`".into());
        };
        if ti.name != name.as_str() {
            return Err("a for loop whose test is not on its variable".into());
        }
        let to = self.expr(&t.right, cx)?;
        let end = match t.operator {
            BinaryOperator::LessThan => to.wrapped(8),
            BinaryOperator::LessEqualThan => format!("({} + 1)", to.wrapped(8)),
            _ => return Err("a for loop whose test is not `<` or `<=`".into()),
        };
        let step_ok = match f.update.as_ref().map(unparen) {
            Some(Expression::UpdateExpression(u)) => u.operator == UpdateOperator::Increment,
            Some(Expression::AssignmentExpression(a)) => {
                a.operator == AssignmentOperator::Addition
                    && matches!(unparen(&a.right), Expression::NumericLiteral(n) if n.value == 1.0)
            }
            _ => false,
        };
        if !step_ok {
            return Err("a for loop that does not count up by one".into());
        }
        if from.ty != Ty::Int || to.ty != Ty::Int {
            return Err("a for loop over values that are not integers".into());
        }
        let n = ident(&name);
        out.push(format!("for {n} in {}..{end} {{", from.wrapped(8)));
        cx.scopes.push(HashMap::new());
        cx.bind(
            &name,
            Bind::Local {
                name: n,
                ty: Ty::Int,
            },
        );
        let body = self.nested(&f.body, cx);
        cx.scopes.pop();
        out.extend(body);
        out.push("}".into());
        self.report.converted(line, "a counting for loop");
        Ok(())
    }

    fn expr_stmt(
        &mut self,
        e: &'a Expression<'a>,
        cx: &mut Cx,
        out: &mut Vec<String>,
    ) -> Result<(), String> {
        let line = self.line_of(e.span());
        let e = unparen(e);
        match e {
            Expression::CallExpression(c) => {
                if let Some(r) = self.jar_stmt(c, cx, out) {
                    return r;
                }
                if let Some(m) = self.callee_module(&c.callee, cx) {
                    match m {
                        Module::Check => return self.check(c, cx, out, None).map(|_| ()),
                        Module::Group => return self.group(c, cx, out),
                        Module::Sleep => return self.sleep(c, cx, out),
                        _ => {}
                    }
                }
                // console.log(..)
                if let Expression::StaticMemberExpression(m) = &c.callee {
                    if let Expression::Identifier(o) = &m.object {
                        if o.name == "console" {
                            let mut parts = Vec::new();
                            for (i, a) in c.arguments.iter().enumerate() {
                                let a = a.as_expression().ok_or("a spread argument")?;
                                let x = self.expr(a, cx)?;
                                if i > 0 {
                                    parts.push(Part::Text(" ".into()));
                                }
                                if x.ty == Ty::Response || x.ty == Ty::Row || x.ty == Ty::Record {
                                    return Err("a log of a whole object".into());
                                }
                                parts.extend(x.string_parts());
                            }
                            out.push(format!("log({})", Ex::string(parts, true).text));
                            self.report.converted(line, "console output as log(..)");
                            return Ok(());
                        }
                    }
                    // metric.add(v)
                    if m.property.name == "add" {
                        if let Expression::Identifier(o) = &m.object {
                            if let Some(Bind::Metric(key)) = self.resolve(o.name.as_str(), cx) {
                                return self.metric_add(&key, c, cx, out);
                            }
                        }
                    }
                }
                let x = self.expr(e, cx)?;
                out.push(x.text);
                Ok(())
            }
            Expression::AssignmentExpression(a) => {
                let AssignmentTarget::AssignmentTargetIdentifier(id) = &a.left else {
                    return Err("an assignment to something other than a variable".into());
                };
                let Some(Bind::Local { name, ty }) = self.resolve(id.name.as_str(), cx) else {
                    return Err(format!(
                        "an assignment to `{}`, which was not converted",
                        id.name
                    ));
                };
                let r = self.expr(&a.right, cx)?;
                let op = match a.operator {
                    AssignmentOperator::Assign => "=",
                    AssignmentOperator::Addition => "+=",
                    AssignmentOperator::Subtraction => "-=",
                    _ => return Err("an assignment operator other than =, += or -=".into()),
                };
                if ty == Ty::Str && op == "+=" {
                    let mut parts = vec![Part::Expr(name.clone())];
                    parts.extend(r.string_parts());
                    out.push(format!("{name} = {}", Ex::string(parts, true).text));
                } else {
                    out.push(format!("{name} {op} {}", r.text));
                }
                Ok(())
            }
            Expression::UpdateExpression(u) => {
                let SimpleAssignmentTarget::AssignmentTargetIdentifier(id) = &u.argument else {
                    return Err("++ or -- of something other than a variable".into());
                };
                let Some(Bind::Local { name, .. }) = self.resolve(id.name.as_str(), cx) else {
                    return Err(format!("`{}` was not converted", id.name));
                };
                let op = if u.operator == UpdateOperator::Increment {
                    "+="
                } else {
                    "-="
                };
                out.push(format!("{name} {op} 1"));
                Ok(())
            }
            Expression::LogicalExpression(l) if l.operator == LogicalOperator::Or => {
                // check(..) || fail(..)
                if let (Expression::CallExpression(c), Expression::CallExpression(f)) =
                    (unparen(&l.left), unparen(&l.right))
                {
                    if self.callee_module(&c.callee, cx) == Some(Module::Check)
                        && self.callee_module(&f.callee, cx) == Some(Module::Fail)
                    {
                        let cond = self.check(c, cx, out, Some(()))?;
                        out.push(format!("require {}", cond.unwrap_or_default()));
                        self.report.approximated(
                            line,
                            "check(..) || fail(..): a require of the checks (the iteration ends, counted, as k6's fail does)",
                        );
                        return Ok(());
                    }
                }
                Err("an expression statement with no effect the converter knows".into())
            }
            _ => Err("an expression statement with no effect the converter knows".into()),
        }
    }

    pub(crate) fn resolve(&self, name: &str, cx: &Cx) -> Option<Bind> {
        cx.lookup(name)
            .cloned()
            .or_else(|| self.globals.get(name).cloned())
    }

    fn callee_module(&self, callee: &Expression<'a>, cx: &Cx) -> Option<Module> {
        match unparen(callee) {
            Expression::Identifier(id) => match self.resolve(id.name.as_str(), cx) {
                Some(Bind::Module(m)) => Some(m),
                _ => None,
            },
            Expression::StaticMemberExpression(m) => {
                let Expression::Identifier(o) = &m.object else {
                    return None;
                };
                match (self.resolve(o.name.as_str(), cx), m.property.name.as_str()) {
                    (Some(Bind::Module(Module::K6)), "check") => Some(Module::Check),
                    (Some(Bind::Module(Module::K6)), "group") => Some(Module::Group),
                    (Some(Bind::Module(Module::K6)), "sleep") => Some(Module::Sleep),
                    (Some(Bind::Module(Module::K6)), "fail") => Some(Module::Fail),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// `check(v, {name: r => cond, ..})`: one `check` per property, or with `want`, the
    /// conjunction of `check(..)` calls as a condition (returned).
    fn check(
        &mut self,
        c: &'a CallExpression<'a>,
        cx: &mut Cx,
        out: &mut Vec<String>,
        want: Option<()>,
    ) -> Result<Option<String>, String> {
        let line = self.line_of(c.span);
        let subject = c
            .arguments
            .first()
            .and_then(|a| a.as_expression())
            .ok_or("check without a value")?;
        let Some(Expression::ObjectExpression(o)) = c
            .arguments
            .get(1)
            .and_then(|a| a.as_expression())
            .map(unparen)
        else {
            return Err("check without an object of conditions".into());
        };
        if c.arguments.len() > 2 {
            self.report.approximated(line, "check tags are dropped");
        }
        let subj = self.expr(subject, cx)?;
        // A subject that is not a name is computed once, before the checks.
        let subj_name = if subj.prec == 10 && !subj.text.contains('(') {
            subj.text.clone()
        } else {
            let n = self.fresh("checked");
            cx.pre.push(format!("let {n} = {}", subj.text));
            n
        };
        let mut conds = Vec::new();
        for p in &o.properties {
            let ObjectPropertyKind::ObjectProperty(p) = p else {
                return Err("a spread in check's conditions".into());
            };
            let name = key_name(&p.key).ok_or("a computed check name")?;
            let f = unparen(&p.value);
            let cond_expr =
                returned_expression(f).ok_or("a check condition that is not one expression")?;
            cx.scopes.push(HashMap::new());
            if let Some(param) = fn_params(f)
                .and_then(|ps| ps.first())
                .and_then(|p| binding_name(&p.pattern))
            {
                cx.bind(
                    &param,
                    Bind::Local {
                        name: subj_name.clone(),
                        ty: subj.ty.clone(),
                    },
                );
            }
            let cond = self.expr(cond_expr, cx);
            cx.scopes.pop();
            let cond = cond?.truthy()?;
            conds.push((name, cond));
        }
        if want.is_some() {
            let joined: Vec<String> = conds
                .iter()
                .map(|(n, c)| format!("check({}: {})", quote(n), c.text))
                .collect();
            self.report.converted(line, "check");
            return Ok(Some(joined.join(" and ")));
        }
        for (n, cnd) in conds {
            out.push(format!("check {}: {}", quote(&n), cnd.text));
        }
        self.report.converted(line, "check");
        Ok(None)
    }

    fn group(
        &mut self,
        c: &'a CallExpression<'a>,
        cx: &mut Cx,
        out: &mut Vec<String>,
    ) -> Result<(), String> {
        let line = self.line_of(c.span);
        let name = c
            .arguments
            .first()
            .and_then(|a| a.as_expression())
            .ok_or("group without a name")?;
        let name = self.expr(name, cx)?;
        if name.ty != Ty::Str {
            return Err("a group name that is not a string".into());
        }
        let f = c
            .arguments
            .get(1)
            .and_then(|a| a.as_expression())
            .ok_or("group without a function")?;
        let stmts = fn_statements(f).ok_or("group with something other than a function")?;
        out.push(format!("group {} {{", name.text));
        cx.scopes.push(HashMap::new());
        let mut inner = Vec::new();
        let saved = std::mem::take(&mut cx.pre);
        self.block(stmts, cx, &mut inner);
        cx.pre = saved;
        cx.scopes.pop();
        out.extend(inner.into_iter().map(|l| format!("  {l}")));
        out.push("}".into());
        self.report.converted(line, "group");
        Ok(())
    }

    fn sleep(
        &mut self,
        c: &'a CallExpression<'a>,
        _cx: &mut Cx,
        out: &mut Vec<String>,
    ) -> Result<(), String> {
        let line = self.line_of(c.span);
        let a = unparen(
            c.arguments
                .first()
                .and_then(|a| a.as_expression())
                .ok_or("sleep without a time")?,
        );
        // sleep(N)
        if let Some(secs) = self.const_value(a).and_then(|v| v.as_f64()) {
            out.push(format!("sleep {}", duration_ms(secs * 1000.0)));
            self.report.converted(line, "sleep");
            return Ok(());
        }
        // sleep(Math.random() * N), sleep(A + Math.random() * B), sleep(randomIntBetween(a, b))
        let (lo, hi) = self
            .random_range(a)
            .ok_or("a sleep time the converter cannot read")?;
        out.push(format!(
            "think {}..{}",
            duration_ms(lo * 1000.0),
            duration_ms(hi * 1000.0)
        ));
        self.report.converted(line, "a random sleep as think");
        Ok(())
    }

    /// A uniform random number between two constants: `Math.random() * N`,
    /// `A + Math.random() * B`, `randomIntBetween(a, b)` (approximated as continuous).
    fn random_range(&mut self, e: &'a Expression<'a>) -> Option<(f64, f64)> {
        let e = unparen(e);
        match e {
            Expression::BinaryExpression(b) if b.operator == BinaryOperator::Multiplication => {
                let (r, k) = if is_math_random(&b.left) {
                    (&b.left, &b.right)
                } else if is_math_random(&b.right) {
                    (&b.right, &b.left)
                } else {
                    return None;
                };
                let _ = r;
                let k = self.const_value(k)?.as_f64()?;
                Some((0.0, k))
            }
            Expression::BinaryExpression(b) if b.operator == BinaryOperator::Addition => {
                if let Some(a) = self.const_value(&b.left).and_then(|v| v.as_f64()) {
                    let (lo, hi) = self.random_range(&b.right)?;
                    return Some((a + lo, a + hi));
                }
                let a = self.const_value(&b.right)?.as_f64()?;
                let (lo, hi) = self.random_range(&b.left)?;
                Some((a + lo, a + hi))
            }
            Expression::CallExpression(c) => {
                let Expression::Identifier(f) = &c.callee else {
                    return None;
                };
                if !matches!(
                    self.globals.get(f.name.as_str()),
                    Some(Bind::Module(Module::RandomIntBetween))
                ) {
                    return None;
                }
                let lo = self
                    .const_value(c.arguments.first()?.as_expression()?)?
                    .as_f64()?;
                let hi = self
                    .const_value(c.arguments.get(1)?.as_expression()?)?
                    .as_f64()?;
                self.report.approximated(
                    self.line_of(c.span),
                    "randomIntBetween as a pause: drawn from the continuous range",
                );
                Some((lo, hi))
            }
            _ => None,
        }
    }

    fn metric_add(
        &mut self,
        key: &str,
        c: &'a CallExpression<'a>,
        cx: &mut Cx,
        out: &mut Vec<String>,
    ) -> Result<(), String> {
        let line = self.line_of(c.span);
        let v = c
            .arguments
            .first()
            .and_then(|a| a.as_expression())
            .ok_or("add without a value")?;
        let x = self.expr(v, cx)?;
        if c.arguments.len() > 1 {
            self.report
                .approximated(line, "tags of a metric sample are dropped");
        }
        let m = self.metrics.get_mut(key).ok_or("an unknown metric")?;
        let text = match (m.ctor, &x.ty) {
            (Module::Trend, Ty::Duration) => {
                m.got_duration = true;
                x.text
            }
            (Module::Trend, Ty::Int | Ty::Float) if m.is_time => {
                format!("{} * 1ms", x.wrapped(8))
            }
            (Module::Trend | Module::Gauge | Module::Counter, Ty::Int | Ty::Float) => x.text,
            (Module::Trend | Module::Gauge | Module::Counter, Ty::Json) => {
                format!("{}.float()", x.wrapped(10))
            }
            (Module::Rate, Ty::Bool) => x.text,
            (Module::Rate, _) => x.truthy()?.text,
            (Module::Counter, Ty::Bool) => format!("if {} {{ 1 }} else {{ 0 }}", x.text),
            _ => return Err("a metric value of a type the metric does not take".into()),
        };
        if text.starts_with("if ") {
            return Err("a counter of a bool".into());
        }
        let name = m.name.clone();
        out.push(format!("{name}.add({text})"));
        self.report.converted(line, format!("{name}.add"));
        Ok(())
    }

    /// `http.batch([...])` as one request per element: `Some(names)` when `init` is one.
    fn batch(
        &mut self,
        init: &'a Expression<'a>,
        var: &str,
        cx: &mut Cx,
        out: &mut Vec<String>,
    ) -> Result<Option<Vec<String>>, String> {
        let Expression::CallExpression(c) = unparen(init) else {
            return Ok(None);
        };
        let Expression::StaticMemberExpression(m) = &c.callee else {
            return Ok(None);
        };
        let Expression::Identifier(o) = &m.object else {
            return Ok(None);
        };
        if !matches!(
            self.resolve(o.name.as_str(), cx),
            Some(Bind::Module(Module::Http))
        ) || m.property.name != "batch"
        {
            return Ok(None);
        }
        let line = self.line_of(c.span);
        let Some(Expression::ArrayExpression(arr)) = c
            .arguments
            .first()
            .and_then(|a| a.as_expression())
            .map(unparen)
        else {
            return Err("http.batch of something other than a list".into());
        };
        let mut names = Vec::new();
        let mut lines = Vec::new();
        for (i, el) in arr.elements.iter().enumerate() {
            let el = el.as_expression().ok_or("a spread in http.batch")?;
            let call = match unparen(el) {
                Expression::ArrayExpression(req) => {
                    let get = |i: usize| req.elements.get(i).and_then(|e| e.as_expression());
                    let method = get(0)
                        .and_then(|m| self.const_value(m))
                        .and_then(|v| v.as_str().map(str::to_string))
                        .ok_or("a batch request without a constant method")?;
                    self.request(
                        &method,
                        get(1).ok_or("a batch request without a URL")?,
                        get(2),
                        get(3),
                        cx,
                    )?
                }
                Expression::ObjectExpression(o) => {
                    let mut f: HashMap<String, &'a Expression<'a>> = HashMap::new();
                    for p in &o.properties {
                        if let ObjectPropertyKind::ObjectProperty(p) = p {
                            if let Some(k) = key_name(&p.key) {
                                f.insert(k, &p.value);
                            }
                        }
                    }
                    let method = f
                        .get("method")
                        .and_then(|m| self.const_value(m))
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_else(|| "GET".into());
                    self.request(
                        &method,
                        f.get("url")
                            .copied()
                            .ok_or("a batch request without a URL")?,
                        f.get("body").copied(),
                        f.get("params").copied(),
                        cx,
                    )?
                }
                other => self.request("GET", other, None, None, cx)?,
            };
            let n = format!("{}_{i}", ident(var));
            lines.push(format!("let {n} = {call}"));
            names.push(n);
        }
        out.extend(lines);
        self.report.approximated(
            line,
            "http.batch: its requests are sent one after the other (k6 sends them in parallel)",
        );
        Ok(Some(names))
    }

    /// k6's `redirects: N` as Volley's: a whole number; a constant outside Volley's 0 to
    /// 1000 is clamped (k6 follows none for a negative one) and noted.
    fn redirects(&mut self, n: Ex, line: usize) -> Result<String, String> {
        if n.ty != Ty::Int {
            return Err("a `redirects` param that is not a whole number".into());
        }
        if n.runtime {
            return Ok(n.text);
        }
        let Ok(v) = n.text.trim().parse::<i64>() else {
            return Ok(n.text);
        };
        let clamped = v.clamp(0, 1000);
        if clamped != v {
            self.report.approximated(
                line,
                format!("request param `redirects: {v}` is `redirects: {clamped}` (0 to 1000)"),
            );
        }
        Ok(clamped.to_string())
    }

    /// A request call's text: `get(target, "/path", ..)`.
    pub(crate) fn request(
        &mut self,
        method: &str,
        url: &'a Expression<'a>,
        body: Option<&'a Expression<'a>>,
        params: Option<&'a Expression<'a>>,
        cx: &mut Cx,
    ) -> Result<String, String> {
        let line = self.line_of(url.span());
        let (target, path) = self.url(url, cx)?;
        let m = method.to_ascii_uppercase();
        let mut args = vec![target, path];
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut json_body = false;
        let mut named = false;
        if let Some(p) = params.map(unparen) {
            match p {
                Expression::ObjectExpression(o) => {
                    for prop in &o.properties {
                        let ObjectPropertyKind::ObjectProperty(prop) = prop else {
                            return Err("a spread in request params".into());
                        };
                        let k = key_name(&prop.key).ok_or("a computed param name")?;
                        match k.as_str() {
                            "headers" => {
                                let Expression::ObjectExpression(h) = unparen(&prop.value) else {
                                    return Err("headers that are not an object literal".into());
                                };
                                for hp in &h.properties {
                                    let ObjectPropertyKind::ObjectProperty(hp) = hp else {
                                        return Err("a spread in headers".into());
                                    };
                                    let hk = key_name(&hp.key).ok_or("a computed header name")?;
                                    let hv = self.expr(&hp.value, cx)?;
                                    if !matches!(hv.ty, Ty::Str | Ty::Int | Ty::Json) {
                                        return Err(format!("header `{hk}` is not a string"));
                                    }
                                    if hk.eq_ignore_ascii_case("content-type")
                                        && hv.text.contains("application/json")
                                    {
                                        json_body = true;
                                    }
                                    headers.push((hk, hv.text));
                                }
                            }
                            "tags" => {
                                let Expression::ObjectExpression(t) = unparen(&prop.value) else {
                                    return Err("tags that are not an object literal".into());
                                };
                                let mut tags = Vec::new();
                                for tp in &t.properties {
                                    let ObjectPropertyKind::ObjectProperty(tp) = tp else {
                                        return Err("a spread in tags".into());
                                    };
                                    let tk = key_name(&tp.key).ok_or("a computed tag name")?;
                                    let tv = self.expr(&tp.value, cx)?;
                                    if tk == "name" {
                                        if tv.runtime || tv.ty != Ty::Str {
                                            return Err(
                                                "a name tag that is not a constant string".into()
                                            );
                                        }
                                        args.push(format!("name: {}", tv.text));
                                        named = true;
                                    } else {
                                        tags.push(format!(
                                            "{}: {}",
                                            super::options::tag_key(&tk),
                                            tv.text
                                        ));
                                    }
                                }
                                if !tags.is_empty() {
                                    args.push(format!("tags: {{{}}}", tags.join(", ")));
                                }
                            }
                            "timeout" => {
                                let v = self
                                    .const_value(&prop.value)
                                    .ok_or("a timeout that is not a constant")?;
                                let ms = match &v {
                                    serde_json::Value::String(s) => parse_k6_duration(s),
                                    other => other.as_f64(),
                                }
                                .ok_or("an unreadable timeout")?;
                                args.push(format!("timeout: {}", duration_ms(ms)));
                            }
                            "responseType" => {
                                self.report.approximated(line, format!("request param `{k}` is dropped (bodies are kept when the file reads them)"));
                            }
                            "jar" => self.jar_param(&prop.value, cx, line),
                            "redirects" => {
                                let n = self.expr(&prop.value, cx)?;
                                args.push(format!("redirects: {}", self.redirects(n, line)?));
                            }
                            "compression" => {
                                let v = self
                                    .const_value(&prop.value)
                                    .and_then(|v| v.as_str().map(str::to_string))
                                    .ok_or("a compression that is not a constant")?;
                                args.push(format!("compress: {}", quote(&v)));
                            }
                            "cookies" => {
                                let Expression::ObjectExpression(co) = unparen(&prop.value) else {
                                    return Err("cookies that are not an object literal".into());
                                };
                                let mut kv = Vec::new();
                                for cp in &co.properties {
                                    let ObjectPropertyKind::ObjectProperty(cp) = cp else {
                                        return Err("a spread in cookies".into());
                                    };
                                    let ck = key_name(&cp.key).ok_or("a computed cookie name")?;
                                    let cv = self.expr(&cp.value, cx)?;
                                    if cv.ty != Ty::Str {
                                        return Err("a cookie whose value is not a string".into());
                                    }
                                    kv.push(format!(
                                        "{}: {}",
                                        super::options::tag_key(&ck),
                                        cv.text
                                    ));
                                }
                                args.push(format!("cookies: {{{}}}", kv.join(", ")));
                            }
                            other => {
                                return Err(format!("request param `{other}` has no equivalent"))
                            }
                        }
                    }
                }
                Expression::NullLiteral(_) => {}
                Expression::Identifier(id) if id.name == "undefined" => {}
                _ => return Err("request params that are not an object literal".into()),
            }
        }
        if let Some(b) = body.map(unparen) {
            match b {
                Expression::NullLiteral(_) => {}
                Expression::Identifier(id) if id.name == "undefined" => {}
                Expression::CallExpression(c) if is_json_stringify(&c.callee) => {
                    let v = c
                        .arguments
                        .first()
                        .and_then(|a| a.as_expression())
                        .ok_or("JSON.stringify of nothing")?;
                    let x = self.expr(v, cx)?;
                    args.push(format!("json: {}", x.text));
                    headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
                }
                Expression::ObjectExpression(_) => {
                    let x = self.expr(b, cx)?;
                    args.push(format!("form: {}", x.text));
                }
                _ => {
                    let x = self.expr(b, cx)?;
                    match x.ty {
                        Ty::Stringified => {
                            args.push(format!("json: {}", x.text));
                            headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
                        }
                        Ty::Str if json_body => {
                            args.push(format!("body: {}", x.text));
                        }
                        Ty::Str => args.push(format!("body: {}", x.text)),
                        Ty::Record => args.push(format!("form: {}", x.text)),
                        _ => {
                            return Err("a request body of a type the converter cannot send".into())
                        }
                    }
                }
            }
        }
        if !headers.is_empty() {
            let h: Vec<String> = headers
                .iter()
                .map(|(k, v)| format!("{}: {v}", quote(k)))
                .collect();
            args.push(format!("headers: {{{}}}", h.join(", ")));
        }
        let _ = named;
        self.report.converted(line, format!("http {m} request"));
        Ok(match m.as_str() {
            "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS" => {
                format!("{}({})", m.to_ascii_lowercase(), args.join(", "))
            }
            other => format!("request({}, {})", quote(other), args.join(", ")),
        })
    }

    /// A URL expression as (target, path string).
    pub(super) fn url(
        &mut self,
        e: &'a Expression<'a>,
        cx: &mut Cx,
    ) -> Result<(String, String), String> {
        let mut pieces: Vec<&'a Expression<'a>> = Vec::new();
        flatten_concat(e, &mut pieces);
        let mut parts: Vec<Part> = Vec::new();
        let mut runtime = false;
        let mut target: Option<String> = None;
        for (i, p) in pieces.iter().enumerate() {
            match unparen(p) {
                Expression::StringLiteral(s) => parts.push(Part::Text(s.value.to_string())),
                Expression::TemplateLiteral(t) => {
                    for (j, q) in t.quasis.iter().enumerate() {
                        let text = q
                            .value
                            .cooked
                            .as_ref()
                            .map(|c| c.to_string())
                            .unwrap_or_default();
                        if !text.is_empty() {
                            parts.push(Part::Text(text));
                        }
                        if let Some(x) = t.expressions.get(j) {
                            if i == 0 && j == 0 && parts.is_empty() {
                                if let Some((tn, path)) = self.base_of(x, cx) {
                                    target = Some(tn);
                                    parts.push(Part::Text(path));
                                    continue;
                                }
                            }
                            let ex = self.expr(x, cx)?;
                            runtime |= ex.runtime;
                            parts.extend(ex.string_parts());
                        }
                    }
                }
                other => {
                    if i == 0 {
                        if let Some((tn, path)) = self.base_of(other, cx) {
                            target = Some(tn);
                            parts.push(Part::Text(path));
                            continue;
                        }
                    }
                    let ex = self.expr(other, cx)?;
                    runtime |= ex.runtime;
                    parts.extend(ex.string_parts());
                }
            }
        }
        // Merge adjacent text.
        let mut merged: Vec<Part> = Vec::new();
        for p in parts {
            match (merged.last_mut(), p) {
                (Some(Part::Text(a)), Part::Text(b)) => a.push_str(&b),
                (_, p) => merged.push(p),
            }
        }
        let target = match target {
            Some(t) => t,
            None => {
                let parts_after = merged.len();
                let Some(Part::Text(first)) = merged.first_mut() else {
                    return Err(
                        "a URL that does not start with a constant origin or base URL".into(),
                    );
                };
                let scheme_end = first.find("://").ok_or("a URL without a scheme and host")?;
                let host_end = first[scheme_end + 3..]
                    .find(['/', '?'])
                    .map(|p| p + scheme_end + 3)
                    .unwrap_or(first.len());
                if host_end == first.len() && parts_after > 1 {
                    return Err("a URL whose host is computed".into());
                }
                let origin = first[..host_end].to_string();
                url::Url::parse(&origin).map_err(|_| format!("an unreadable origin `{origin}`"))?;
                *first = first[host_end..].to_string();
                self.target_for(&origin)
            }
        };
        match merged.first_mut() {
            Some(Part::Text(t)) => {
                if t.is_empty() {
                    merged.remove(0);
                } else if !t.starts_with('/') {
                    t.insert(0, '/');
                }
            }
            // A path read at run time (`${BASE}${path}`) brings its own `/`.
            Some(Part::Expr(_)) => {}
            None => merged.push(Part::Text("/".into())),
        }
        if merged.is_empty() {
            merged.push(Part::Text("/".into()));
        }
        Ok((target, Ex::string(merged, runtime).text))
    }

    /// A base-URL constant: its target and path.
    fn base_of(&self, e: &Expression<'a>, cx: &Cx) -> Option<(String, String)> {
        let Expression::Identifier(id) = unparen(e) else {
            return None;
        };
        match self.resolve(id.name.as_str(), cx)? {
            Bind::Target { name, path } => Some((name, path)),
            _ => None,
        }
    }

    /// Converts an expression.
    pub(crate) fn expr(&mut self, e: &'a Expression<'a>, cx: &mut Cx) -> Result<Ex, String> {
        let e = unparen(e);
        match e {
            Expression::StringLiteral(s) => {
                Ok(Ex::string(vec![Part::Text(s.value.to_string())], false))
            }
            Expression::NumericLiteral(n) => {
                Ok(if n.value.fract() == 0.0 && n.value.abs() < 1e15 {
                    Ex::atom(number(n.value), Ty::Int, false)
                } else {
                    Ex::atom(format!("{}", n.value), Ty::Float, false)
                })
            }
            Expression::BooleanLiteral(b) => Ok(Ex::atom(b.value.to_string(), Ty::Bool, false)),
            Expression::TemplateLiteral(t) => {
                let mut parts = Vec::new();
                let mut runtime = false;
                for (j, q) in t.quasis.iter().enumerate() {
                    let text = q
                        .value
                        .cooked
                        .as_ref()
                        .map(|c| c.to_string())
                        .unwrap_or_default();
                    if !text.is_empty() {
                        parts.push(Part::Text(text));
                    }
                    if let Some(x) = t.expressions.get(j) {
                        let ex = self.expr(x, cx)?;
                        if !ex_scalar(&ex.ty) {
                            return Err("a template with a value that is not text".into());
                        }
                        runtime |= ex.runtime;
                        parts.extend(ex.string_parts());
                    }
                }
                Ok(Ex::string(parts, runtime))
            }
            Expression::Identifier(id) => self.ident_expr(id.name.as_str(), cx),
            Expression::ArrayExpression(a) => {
                let mut items = Vec::new();
                let mut ty = Ty::Unknown;
                let mut runtime = false;
                for el in &a.elements {
                    let x =
                        self.expr(el.as_expression().ok_or("a spread or hole in a list")?, cx)?;
                    runtime |= x.runtime;
                    ty = x.ty.clone();
                    items.push(x.text);
                }
                Ok(Ex::atom(
                    format!("[{}]", items.join(", ")),
                    Ty::List(Box::new(ty)),
                    runtime,
                ))
            }
            Expression::ObjectExpression(o) => {
                let mut fields = Vec::new();
                let mut runtime = false;
                for p in &o.properties {
                    let ObjectPropertyKind::ObjectProperty(p) = p else {
                        return Err("a spread in an object".into());
                    };
                    let k = key_name(&p.key).ok_or("a computed key")?;
                    let v = self.expr(&p.value, cx)?;
                    runtime |= v.runtime;
                    fields.push(format!("{}: {}", super::options::tag_key(&k), v.text));
                }
                Ok(Ex::atom(
                    format!("{{{}}}", fields.join(", ")),
                    Ty::Record,
                    runtime,
                ))
            }
            Expression::UnaryExpression(u) => {
                let x = self.expr(&u.argument, cx)?;
                match u.operator {
                    UnaryOperator::LogicalNot => {
                        let b = x.truthy()?;
                        Ok(Ex {
                            text: format!("not {}", b.wrapped(4)),
                            ty: Ty::Bool,
                            prec: 3,
                            runtime: b.runtime,
                            parts: None,
                        })
                    }
                    UnaryOperator::UnaryNegation => Ok(Ex {
                        text: format!("-{}", x.wrapped(9)),
                        ty: x.ty,
                        prec: 9,
                        runtime: x.runtime,
                        parts: None,
                    }),
                    UnaryOperator::UnaryPlus => Ok(x),
                    _ => Err(format!("the operator `{}`", u.operator.as_str())),
                }
            }
            Expression::LogicalExpression(l) => {
                if let Some((var, d)) = env_with_default(e) {
                    return self.env(&var, d.as_deref(), e.span());
                }
                let (op, prec) = match l.operator {
                    LogicalOperator::And => ("and", 2),
                    LogicalOperator::Or => ("or", 1),
                    LogicalOperator::Coalesce => return Err("the `??` operator".into()),
                };
                let a = self.expr(&l.left, cx)?.truthy()?;
                let b = self.expr(&l.right, cx)?.truthy()?;
                Ok(Ex {
                    text: format!("{} {op} {}", a.wrapped(prec), b.wrapped(prec + 1)),
                    ty: Ty::Bool,
                    prec,
                    runtime: a.runtime || b.runtime,
                    parts: None,
                })
            }
            Expression::BinaryExpression(b) => self.binary(b, cx),
            Expression::ConditionalExpression(_) => {
                Err("a ?: expression (write an if statement)".into())
            }
            Expression::StaticMemberExpression(m) => {
                self.member(&m.object, Some(m.property.name.as_str()), None, cx)
            }
            Expression::ComputedMemberExpression(m) => {
                self.member(&m.object, None, Some(&m.expression), cx)
            }
            Expression::CallExpression(c) => self.call(c, cx),
            Expression::ChainExpression(_) => Err("optional chaining (`?.`)".into()),
            Expression::NewExpression(_) if self.jar_of(e, cx).is_some() => {
                Err(super::jar::OWN_JAR.into())
            }
            Expression::AwaitExpression(_) => {
                Err("await: k6's async APIs have no equivalent".into())
            }
            _ => Err("an expression of a kind the converter does not know".into()),
        }
    }

    fn env(&mut self, var: &str, default: Option<&str>, span: Span) -> Result<Ex, String> {
        let line = self.line_of(span);
        if let Some(v) = self.scenario_env.get(var) {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            self.report
                .converted(line, format!("__ENV.{var} from the scenario's env"));
            return Ok(Ex::string(vec![Part::Text(text)], false));
        }
        if looks_secret(var) {
            let s = self.secret(var);
            self.report
                .converted(line, format!("__ENV.{var} as a secret"));
            return Ok(Ex::atom(s, Ty::Str, true));
        }
        self.report
            .converted(line, format!("__ENV.{var} as env(..)"));
        Ok(Ex::atom(
            match default {
                Some(d) => format!("env({}, {})", quote(var), quote(d)),
                None => format!("env({})", quote(var)),
            },
            Ty::Str,
            true,
        ))
    }

    fn ident_expr(&mut self, name: &str, cx: &mut Cx) -> Result<Ex, String> {
        match name {
            "__VU" => return Ok(Ex::atom("vu.id", Ty::Int, true)),
            "__ITER" => return Ok(Ex::atom("vu.iteration", Ty::Int, true)),
            "undefined" => return Err("undefined".into()),
            _ => {}
        }
        match self.resolve(name, cx) {
            Some(Bind::Local { name, ty }) => {
                if name.is_empty() {
                    return Err("a batch's responses as a whole".into());
                }
                let runtime = cx.place != Place::Top;
                Ok(Ex::atom(name, ty, runtime))
            }
            Some(Bind::Target { .. }) => Err("a base URL outside a request".into()),
            Some(Bind::Data(_)) => Err("a whole data item (read one row with an index)".into()),
            Some(Bind::Setup) => Err("setup's data as a whole (read its fields)".into()),
            Some(Bind::Jar(super::jar::Jar::Own)) => Err(super::jar::OWN_JAR.into()),
            Some(Bind::Jar(_)) => Err(
                "the cookie jar as a value (call `http.cookieJar()` where it is used: \
                     its `set` and `clear` calls are converted)"
                    .into(),
            ),
            Some(Bind::Metric(_)) | Some(Bind::Module(_)) | Some(Bind::Function(_)) => {
                Err(format!("`{name}` as a value"))
            }
            None => Err(format!(
                "`{name}` is not known here (its declaration was not converted)"
            )),
        }
    }

    fn binary(&mut self, b: &'a BinaryExpression<'a>, cx: &mut Cx) -> Result<Ex, String> {
        use BinaryOperator as B;
        let l = self.expr(&b.left, cx)?;
        let r = self.expr(&b.right, cx)?;
        let runtime = l.runtime || r.runtime;
        if b.operator == B::Addition && (l.ty == Ty::Str || r.ty == Ty::Str) {
            if !ex_scalar(&l.ty) || !ex_scalar(&r.ty) {
                return Err("a string joined with a value that is not text".into());
            }
            let mut parts = l.string_parts();
            parts.extend(r.string_parts());
            return Ok(Ex::string(parts, runtime));
        }
        let (op, prec) = match b.operator {
            B::Equality | B::StrictEquality => ("==", 5),
            B::Inequality | B::StrictInequality => ("!=", 5),
            B::LessThan => ("<", 5),
            B::LessEqualThan => ("<=", 5),
            B::GreaterThan => (">", 5),
            B::GreaterEqualThan => (">=", 5),
            B::Addition => ("+", 7),
            B::Subtraction => ("-", 7),
            B::Multiplication => ("*", 8),
            B::Division => ("/", 8),
            B::Remainder => ("%", 8),
            other => return Err(format!("the operator `{}`", other.as_str())),
        };
        // A JSON value compared with or added to a plain value is converted to its type.
        let ordered = matches!(
            b.operator,
            B::LessThan | B::LessEqualThan | B::GreaterThan | B::GreaterEqualThan
        );
        let (lt, rt) = (coerce(&l, &r.ty, ordered), coerce(&r, &l.ty, ordered));
        let ty = if prec == 5 {
            Ty::Bool
        } else {
            match (&lt.ty, &rt.ty) {
                (Ty::Int, Ty::Int) if op == "/" => {
                    return Err("an integer division (JavaScript divides as floats)".into())
                }
                (Ty::Int, Ty::Int) => Ty::Int,
                (Ty::Float | Ty::Int, Ty::Float | Ty::Int) => Ty::Float,
                (Ty::Duration, _) | (_, Ty::Duration) => Ty::Duration,
                _ => return Err("arithmetic on values that are not numbers".into()),
            }
        };
        Ok(Ex {
            text: format!("{} {op} {}", lt.wrapped(prec), rt.wrapped(prec + 1)),
            ty,
            prec,
            runtime,
            parts: None,
        })
    }

    fn member(
        &mut self,
        object: &'a Expression<'a>,
        prop: Option<&str>,
        index: Option<&'a Expression<'a>>,
        cx: &mut Cx,
    ) -> Result<Ex, String> {
        let obj = unparen(object);
        // Names with meaning: __ENV.X, exec.*, data rows, setup data, batch responses.
        if let (Expression::Identifier(o), Some(p)) = (obj, prop) {
            if o.name == "__ENV" {
                return self.env(p, None, obj.span());
            }
            match self.resolve(o.name.as_str(), cx) {
                Some(Bind::Setup) => {
                    let ty = self
                        .setup_values
                        .get(p)
                        .cloned()
                        .ok_or(format!("setup returns no `{p}`"))?;
                    return Ok(Ex::atom(format!("setup.{}", ident(p)), ty, true));
                }
                Some(Bind::Data(_)) if p == "length" => {
                    return Err("the length of a data item".into())
                }
                _ => {}
            }
            if o.name == "Math" {
                return Err(format!("Math.{p}"));
            }
        }
        if let Expression::StaticMemberExpression(inner) = obj {
            if let Expression::Identifier(o) = &inner.object {
                if matches!(
                    self.resolve(o.name.as_str(), cx),
                    Some(Bind::Module(Module::Exec))
                ) {
                    let p = prop.unwrap_or("");
                    let a = inner.property.name.as_str();
                    return match EXEC_READS.iter().find(|(x, y, _)| *x == a && *y == p) {
                        Some((_, _, load)) => Ok(Ex::atom(*load, Ty::Int, true)),
                        None => Err(format!("exec.{a}.{p} has no equivalent")),
                    };
                }
            }
        }
        if let (Expression::Identifier(o), Some(ix)) = (obj, index) {
            match self.resolve(o.name.as_str(), cx) {
                Some(Bind::Data(item)) => return self.data_row(&item, ix, cx),
                Some(Bind::Local {
                    ty: Ty::Batch(names),
                    ..
                }) => {
                    let i = self
                        .const_value(ix)
                        .and_then(|v| v.as_u64())
                        .ok_or("a batch response by a computed index")?;
                    let n = names
                        .get(i as usize)
                        .ok_or("a batch response past the end")?;
                    return Ok(Ex::atom(n.clone(), Ty::Response, true));
                }
                _ => {}
            }
        }
        // Response fields.
        if let Expression::StaticMemberExpression(inner) = obj {
            if inner.property.name == "timings" {
                let r = self.expr(&inner.object, cx)?;
                if r.ty == Ty::Response {
                    let p = prop.unwrap_or("");
                    if p != "duration" {
                        self.report.approximated(
                            self.line_of(obj.span()),
                            format!("timings.{p} as the request's whole duration"),
                        );
                    }
                    return Ok(Ex::atom(
                        format!("{}.duration", r.wrapped(10)),
                        Ty::Duration,
                        true,
                    ));
                }
            }
            if inner.property.name == "headers" {
                let r = self.expr(&inner.object, cx)?;
                if r.ty == Ty::Response {
                    let h = prop
                        .map(str::to_string)
                        .or_else(|| {
                            index
                                .and_then(|i| self.const_value(i))
                                .and_then(|v| v.as_str().map(str::to_string))
                        })
                        .ok_or("a computed header name")?;
                    return Ok(Ex::atom(
                        format!("{}.header({})", r.wrapped(10), quote(&h)),
                        Ty::Str,
                        true,
                    ));
                }
            }
        }
        let o = self.expr(obj, cx)?;
        if let Some((_, _, load, ty, known)) = FIELD_READS
            .iter()
            .find(|(on, name, ..)| *on == o.ty && Some(*name) == prop)
        {
            return Ok(o.then(load, ty.clone(), known.runtime(&o, None)));
        }
        match (&o.ty, prop, index) {
            (Ty::Response, Some(p), _) => Err(format!("the response's `{p}`")),
            (Ty::List(_), Some("length"), _) => Ok(o.then(".len()", Ty::Int, o.runtime)),
            (Ty::Json, Some(p), _) => {
                let access = if is_word(p) {
                    format!(".{p}")
                } else {
                    format!("[{}]", quote(p))
                };
                Ok(Ex::atom(
                    format!("{}{access}", o.wrapped(10)),
                    Ty::Json,
                    true,
                ))
            }
            (Ty::Json, None, Some(ix)) => {
                let i = self.expr(ix, cx)?;
                if !matches!(i.ty, Ty::Int | Ty::Str) {
                    return Err("an index that is not a number or a string".into());
                }
                Ok(Ex::atom(
                    format!("{}[{}]", o.wrapped(10), i.text),
                    Ty::Json,
                    true,
                ))
            }
            (Ty::List(t), None, Some(ix)) => {
                let i = self.expr(ix, cx)?;
                if i.ty != Ty::Int {
                    return Err("a list index that is not an integer".into());
                }
                Ok(Ex::atom(
                    format!("{}[{}]", o.wrapped(10), i.text),
                    (**t).clone(),
                    o.runtime || i.runtime,
                ))
            }
            (Ty::Row, Some(p), _) => {
                Ok(Ex::atom(format!("{}.{}", o.wrapped(10), p), Ty::Str, true))
            }
            (Ty::Record, Some(p), _) => Ok(Ex::atom(
                format!("{}.{}", o.wrapped(10), p),
                Ty::Unknown,
                o.runtime,
            )),
            _ => Err("a member of a value the converter does not follow".into()),
        }
    }

    /// `users[i]`: the row drawn for this iteration (`users.next()`, once per iteration),
    /// with the `pick` the index suggests.
    fn data_row(&mut self, item: &str, ix: &'a Expression<'a>, cx: &mut Cx) -> Result<Ex, String> {
        let line = self.line_of(ix.span());
        let text = self
            .src
            .get(ix.span().start as usize..ix.span().end as usize)
            .unwrap_or("");
        let (pick, why) = if text.contains("Math.random") || text.contains("randomIntBetween") {
            ("random", "a random index: `pick: random`")
        } else if text.contains("iterationInTest") {
            (
                "unique_per_iteration",
                "an index by the test's iteration: `pick: unique_per_iteration`",
            )
        } else if (text.contains("__VU") || text.contains("idInTest"))
            && !text.contains("__ITER")
            && !text.contains("iteration")
        {
            (
                "unique",
                "an index by VU: `pick: unique` (each VU its own row)",
            )
        } else {
            ("sequential", "an index by iteration: `pick: sequential` (rows cycle over the whole test, not per VU)")
        };
        if cx.place != Place::Iteration {
            return Err("a data row outside an iteration".into());
        }
        if let Some(d) = self.data.iter_mut().find(|d| d.name == item) {
            match d.pick {
                None => {
                    d.pick = Some(pick);
                    if pick == "sequential" {
                        self.report
                            .approximated(line, format!("data `{item}`: {why}"));
                    } else {
                        self.report.converted(line, format!("data `{item}`: {why}"));
                    }
                }
                Some(p) if p != pick => {
                    self.report.approximated(
                        line,
                        format!("data `{item}`: read with another index too; `pick: {p}` kept"),
                    );
                }
                _ => {}
            }
        }
        let local = match cx.data_rows.get(item) {
            Some(l) => l.clone(),
            None => {
                let l = format!("{item}_row");
                cx.prelude.push(format!("let {l} = {item}.next()"));
                cx.data_rows.insert(item.to_string(), l.clone());
                l
            }
        };
        Ok(Ex::atom(local, Ty::Row, true))
    }

    fn call(&mut self, c: &'a CallExpression<'a>, cx: &mut Cx) -> Result<Ex, String> {
        let arg = |i: usize| c.arguments.get(i).and_then(|a| a.as_expression());
        if let Some(why) = self.jar_value(c, cx) {
            return Err(why);
        }
        match unparen(&c.callee) {
            Expression::StaticMemberExpression(m) => {
                let method = m.property.name.as_str();
                if let Expression::Identifier(o) = &m.object {
                    match (self.resolve(o.name.as_str(), cx), o.name.as_str()) {
                        (Some(Bind::Module(Module::Http)), _) => {
                            let (verb, body_at, params_at) = match method {
                                "get" => ("GET", None, 1),
                                "head" => ("HEAD", None, 1),
                                "options" => ("OPTIONS", Some(1), 2),
                                "post" => ("POST", Some(1), 2),
                                "put" => ("PUT", Some(1), 2),
                                "patch" => ("PATCH", Some(1), 2),
                                "del" => ("DELETE", Some(1), 2),
                                "request" => {
                                    let verb = arg(0)
                                        .and_then(|m| self.const_value(m))
                                        .and_then(|v| v.as_str().map(str::to_string))
                                        .ok_or("http.request with a computed method")?;
                                    let call = self.request(
                                        &verb,
                                        arg(1).ok_or("a request without a URL")?,
                                        arg(2),
                                        arg(3),
                                        cx,
                                    )?;
                                    return Ok(Ex::atom(call, Ty::Response, true));
                                }
                                "cookieJar" if cx.place == Place::Top => {
                                    return Err(super::jar::INIT_JAR.into())
                                }
                                "cookieJar" => {
                                    return Err("the VU's cookie jar as a value (bind it: \
                                         `const jar = http.cookieJar()`)"
                                        .into())
                                }
                                other => return Err(format!("http.{other}")),
                            };
                            let call = self.request(
                                verb,
                                arg(0).ok_or("a request without a URL")?,
                                body_at.and_then(arg),
                                arg(params_at),
                                cx,
                            )?;
                            return Ok(Ex::atom(call, Ty::Response, true));
                        }
                        (_, "JSON") if method == "parse" => {
                            // JSON.parse(res.body)
                            if let Some(Expression::StaticMemberExpression(b)) = arg(0).map(unparen)
                            {
                                if b.property.name == "body" {
                                    let r = self.expr(&b.object, cx)?;
                                    if r.ty == Ty::Response {
                                        return Ok(Ex::atom(
                                            format!("{}.json()", r.wrapped(10)),
                                            Ty::Json,
                                            true,
                                        ));
                                    }
                                }
                            }
                            return Err("JSON.parse of something other than a response body".into());
                        }
                        (_, "Math") if method == "floor" => {
                            // Math.floor(Math.random() * N) → data.random_int(0, N - 1)
                            if let Some(Expression::BinaryExpression(b)) = arg(0).map(unparen) {
                                if b.operator == BinaryOperator::Multiplication {
                                    let k = if is_math_random(&b.left) {
                                        Some(&b.right)
                                    } else if is_math_random(&b.right) {
                                        Some(&b.left)
                                    } else {
                                        None
                                    };
                                    if let Some(k) = k {
                                        let n = self.expr(k, cx)?;
                                        if n.ty == Ty::Int {
                                            self.std.insert("data");
                                            return Ok(Ex::atom(
                                                format!("data.random_int(0, {} - 1)", n.wrapped(8)),
                                                Ty::Int,
                                                true,
                                            ));
                                        }
                                    }
                                }
                            }
                            return Err(
                                "Math.floor of something other than Math.random() * N".into()
                            );
                        }
                        (Some(Bind::Module(Module::Encoding)), _) => {
                            let x = self.expr(arg(0).ok_or("encoding without a value")?, cx)?;
                            let f = match method {
                                "b64encode" => "base64",
                                "b64decode" => "base64_decode",
                                other => return Err(format!("encoding.{other}")),
                            };
                            if c.arguments.len() > 1 {
                                return Err("a base64 variant other than the standard one".into());
                            }
                            self.std.insert("encoding");
                            return Ok(Ex::atom(
                                format!("encoding.{f}({})", x.text),
                                Ty::Str,
                                true,
                            ));
                        }
                        _ => {}
                    }
                }
                // Methods of values.
                let o = self.expr(&m.object, cx)?;
                if let Some((_, _, load, needs, ty, known)) = METHODS
                    .iter()
                    .find(|(on, name, ..)| *on == o.ty && *name == method)
                {
                    let a = match needs {
                        Some(missing) => Some(self.expr(arg(0).ok_or(*missing)?, cx)?),
                        None => None,
                    };
                    let call = match &a {
                        Some(a) => format!(".{load}({})", a.text),
                        None => format!(".{load}()"),
                    };
                    return Ok(o.then(&call, ty.clone(), known.runtime(&o, a.as_ref())));
                }
                match (&o.ty, method) {
                    (Ty::Response, "json") => {
                        let path = match arg(0) {
                            None => None,
                            Some(p) => Some(
                                self.const_value(p)
                                    .and_then(|v| v.as_str().map(str::to_string))
                                    .ok_or("res.json with a computed path")?,
                            ),
                        };
                        let text = match path {
                            None => format!("{}.json()", o.wrapped(10)),
                            Some(p) => {
                                format!("{}.json({})", o.wrapped(10), quote(&gjson_path(&p)?))
                            }
                        };
                        Ok(Ex::atom(text, Ty::Json, true))
                    }
                    // Not in METHODS: its type (a list) is not a constant.
                    (Ty::Str, "split") => {
                        let s = self.expr(arg(0).ok_or("split without a separator")?, cx)?;
                        let list = Ty::List(Box::new(Ty::Str));
                        Ok(o.then(&format!(".split({})", s.text), list, o.runtime))
                    }
                    (Ty::Json | Ty::Int | Ty::Float | Ty::Bool, "toString") => {
                        Ok(Ex::string(o.string_parts(), o.runtime))
                    }
                    _ => Err(format!("the method `{method}`")),
                }
            }
            Expression::Identifier(f) => {
                let name = f.name.as_str();
                match self.resolve(name, cx) {
                    Some(Bind::Module(Module::Check)) => {
                        let mut out = Vec::new();
                        let cond = self.check(c, cx, &mut out, Some(()))?.unwrap_or_default();
                        Ok(Ex {
                            text: cond,
                            ty: Ty::Bool,
                            prec: 2,
                            runtime: true,
                            parts: None,
                        })
                    }
                    Some(Bind::Module(Module::RandomIntBetween)) => {
                        let a = self.expr(arg(0).ok_or("randomIntBetween without bounds")?, cx)?;
                        let b = self.expr(arg(1).ok_or("randomIntBetween without bounds")?, cx)?;
                        self.std.insert("data");
                        Ok(Ex::atom(
                            format!("data.random_int({}, {})", a.text, b.text),
                            Ty::Int,
                            true,
                        ))
                    }
                    Some(Bind::Module(Module::RandomItem)) => {
                        let x = arg(0).ok_or("randomItem of nothing")?;
                        if let Expression::Identifier(d) = unparen(x) {
                            if let Some(Bind::Data(item)) = self.resolve(d.name.as_str(), cx) {
                                return self.data_row(&item, x, cx);
                            }
                        }
                        let l = self.expr(x, cx)?;
                        let ty = match &l.ty {
                            Ty::List(t) => (**t).clone(),
                            Ty::Json => Ty::Json,
                            _ => return Err("randomItem of something that is not a list".into()),
                        };
                        Ok(Ex::atom(format!("{}.pick()", l.wrapped(10)), ty, true))
                    }
                    Some(Bind::Module(Module::RandomString)) => {
                        let n = self.expr(arg(0).ok_or("randomString without a length")?, cx)?;
                        self.std.insert("data");
                        let charset = match arg(1) {
                            Some(cs) => format!(", charset: {}", self.expr(cs, cx)?.text),
                            None => String::new(),
                        };
                        Ok(Ex::atom(
                            format!("data.random_string({}{charset})", n.text),
                            Ty::Str,
                            true,
                        ))
                    }
                    Some(Bind::Module(Module::Uuid)) => {
                        self.std.insert("data");
                        Ok(Ex::atom("data.uuid()", Ty::Str, true))
                    }
                    Some(Bind::Function(fname)) => self.flow_call(&fname, c, cx),
                    _ => Err(format!("a call of `{name}`")),
                }
            }
            _ => Err("a call of a computed function".into()),
        }
    }

    /// A call of a script function: converted once into a flow, with parameter types
    /// taken from this first call.
    fn flow_call(
        &mut self,
        fname: &str,
        c: &'a CallExpression<'a>,
        cx: &mut Cx,
    ) -> Result<Ex, String> {
        let mut args = Vec::new();
        let mut tys = Vec::new();
        for a in &c.arguments {
            let x = self.expr(a.as_expression().ok_or("a spread argument")?, cx)?;
            tys.push(x.ty.clone());
            args.push(x.text);
        }
        let flow = ident(fname);
        if !self.flow_state.contains_key(fname) {
            self.flow_state.insert(fname.to_string(), None);
            let (params, stmts): (&'a [FormalParameter<'a>], &'a [Statement<'a>]) =
                if let Some(f) = self.functions.get(fname).copied() {
                    (
                        &f.params.items,
                        &f.body
                            .as_ref()
                            .ok_or("a function without a body")?
                            .statements,
                    )
                } else if let Some(a) = self.arrows.get(fname).copied() {
                    (
                        &a.params.items,
                        arrow_statements(a).ok_or("an arrow function without a block")?,
                    )
                } else {
                    return Err(format!("no function `{fname}`"));
                };
            let mut fcx = Cx::new(Place::Flow);
            let mut sig = Vec::new();
            for (i, p) in params.iter().enumerate() {
                let n = binding_name(&p.pattern).ok_or("a destructured parameter")?;
                let ty = tys.get(i).cloned().unwrap_or(Ty::Unknown);
                let t = ty
                    .load_type()
                    .ok_or(format!("parameter `{n}` of a type with no `.load` name"))?;
                sig.push(format!("{}: {t}", ident(&n)));
                fcx.bind(
                    &n,
                    Bind::Local {
                        name: ident(&n),
                        ty,
                    },
                );
            }
            let mut body = Vec::new();
            self.block(stmts, &mut fcx, &mut body);
            let ret = fcx.returns.clone();
            let mut text = format!("flow {flow}({})", sig.join(", "));
            if let Some(t) = ret.as_ref().and_then(Ty::load_type) {
                text.push_str(&format!(" -> {t}"));
            }
            text.push_str(" {\n");
            for l in fcx.prelude.iter().chain(body.iter()) {
                text.push_str(&format!("  {l}\n"));
            }
            text.push_str("}\n");
            self.flows.push(text);
            self.flow_state
                .insert(fname.to_string(), ret.or(Some(Ty::Unknown)));
            self.report.converted(
                self.line_of(c.span),
                format!("function `{fname}` as a flow"),
            );
        }
        let ret = self
            .flow_state
            .get(fname)
            .cloned()
            .flatten()
            .unwrap_or(Ty::Unknown);
        Ok(Ex::atom(format!("{flow}({})", args.join(", ")), ret, true))
    }

    /// setup's `return {k: v, ..}`: each field a top-level `let` of the setup block.
    pub(crate) fn setup_return(
        &mut self,
        stmts: &'a [Statement<'a>],
        cx: &mut Cx,
        out: &mut Vec<String>,
    ) {
        let Some(Statement::ReturnStatement(r)) = stmts.last() else {
            return;
        };
        let Some(arg) = &r.argument else { return };
        let line = self.line_of(r.span);
        let Expression::ObjectExpression(o) = unparen(arg) else {
            self.report.left(
                line,
                "setup returns something other than an object: its value is not passed on",
            );
            out.push(
                "// k6: setup returned a value that is not an object; it is not passed on".into(),
            );
            return;
        };
        for p in &o.properties {
            let ObjectPropertyKind::ObjectProperty(p) = p else {
                continue;
            };
            let Some(k) = key_name(&p.key) else { continue };
            match self.expr(&p.value, cx) {
                Ok(x) => {
                    let n = ident(&k);
                    if x.text != n {
                        out.push(format!("let {n} = {}", x.text));
                    }
                    self.setup_values.insert(k, x.ty);
                }
                Err(why) => {
                    self.report.left(line, format!("setup value `{k}`: {why}"));
                    out.push(format!("// k6: setup value `{k}` not converted: {why}"));
                }
            }
        }
        self.report
            .converted(line, "setup's returned data as setup values");
    }
}

fn ex_scalar(t: &Ty) -> bool {
    matches!(
        t,
        Ty::Int | Ty::Float | Ty::Bool | Ty::Str | Ty::Json | Ty::Duration
    )
}

/// A JSON value beside a plain value: converted to the plain value's type.
fn coerce(x: &Ex, other: &Ty, ordered: bool) -> Ex {
    if x.ty != Ty::Json {
        return x.clone();
    }
    let (m, ty) = match other {
        // An ordering reads any JSON number (k6 compares floats); equality an integer.
        Ty::Int if ordered => ("float", Ty::Float),
        Ty::Int => ("int", Ty::Int),
        Ty::Float => ("float", Ty::Float),
        Ty::Str => ("string", Ty::Str),
        Ty::Bool => ("bool", Ty::Bool),
        _ => return x.clone(),
    };
    Ex::atom(format!("{}.{m}()", x.wrapped(10)), ty, x.runtime)
}

fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

fn is_math_random(e: &Expression<'_>) -> bool {
    let Expression::CallExpression(c) = unparen(e) else {
        return false;
    };
    let Expression::StaticMemberExpression(m) = &c.callee else {
        return false;
    };
    matches!(&m.object, Expression::Identifier(o) if o.name == "Math")
        && m.property.name == "random"
}

fn is_json_stringify(e: &Expression<'_>) -> bool {
    let Expression::StaticMemberExpression(m) = unparen(e) else {
        return false;
    };
    matches!(&m.object, Expression::Identifier(o) if o.name == "JSON")
        && m.property.name == "stringify"
}

/// `a + b + c` as its pieces, left to right.
fn flatten_concat<'a>(e: &'a Expression<'a>, out: &mut Vec<&'a Expression<'a>>) {
    match unparen(e) {
        Expression::BinaryExpression(b) if b.operator == BinaryOperator::Addition => {
            flatten_concat(&b.left, out);
            flatten_concat(&b.right, out);
        }
        other => out.push(other),
    }
}

/// A k6 (gjson) path as a `.load` JSON path: `items.0.id` → `items[0].id`.
fn gjson_path(p: &str) -> Result<String, String> {
    if p.contains(['#', '*', '?', '|', '@']) {
        return Err(format!(
            "the JSON path `{p}` uses gjson syntax with no equivalent"
        ));
    }
    let mut out = String::new();
    for seg in p.split('.') {
        if seg.chars().all(|c| c.is_ascii_digit()) && !seg.is_empty() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    Ok(out)
}
