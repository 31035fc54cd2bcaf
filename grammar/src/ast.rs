//! The abstract syntax tree of a `.load` file, every node with its byte span.
//!
//! The AST is what the parser produces and what the formatter prints; it keeps the
//! source shape (named arguments, literal units as written) so `volley fmt` can
//! reproduce it. It resolves nothing: names are plain identifiers here, and the
//! compiler turns them into a typed IR. It must not depend on pest.

use serde::Serialize;

/// A half-open byte range `start..end` into one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
    pub fn len(self) -> usize {
        self.end.saturating_sub(self.start)
    }
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

/// A name as written, with its span.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A whole file: its items in source order and every `//` comment (for the formatter).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct File {
    pub items: Vec<Item>,
    pub comments: Vec<Comment>,
}

/// A `// ...` comment; `text` includes the leading `//`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comment {
    pub text: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Item {
    pub kind: ItemKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ItemKind {
    /// `import std/profiles` or `import std/checks { ok, created }` or `import "lib/auth.load"`.
    Import(Import),
    /// `param NAME: TYPE = DEFAULT`
    Param {
        name: Ident,
        ty: TypeExpr,
        default: Expr,
    },
    /// `target NAME = EXPR`
    Target {
        name: Ident,
        url: Expr,
    },
    /// `data NAME = csv("path", pick: unique)`: `source` is the call expression.
    Data {
        name: Ident,
        source: Expr,
    },
    /// `secret NAME = env("VAR")`
    Secret {
        name: Ident,
        source: Expr,
    },
    /// `metric NAME = trend(duration)`
    Metric {
        name: Ident,
        kind: Expr,
    },
    /// `let NAME = EXPR` at top level: an immutable constant.
    Let {
        name: Ident,
        value: Expr,
    },
    /// `fn NAME(params) -> T { EXPR }`
    Fn(FnDecl),
    /// `flow NAME(params) -> T { statements }`
    Flow(FlowDecl),
    /// `scenario NAME { members }`
    Scenario {
        name: Ident,
        members: Vec<ScenarioMember>,
    },
    Setup(Block),
    Teardown(Block),
    /// `thresholds { entries }`
    Thresholds(Vec<ThresholdEntry>),
    /// `fleet { fields }`
    Fleet(Vec<Field>),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Import {
    /// Either a module path `std/checks` (segments) or a quoted relative file path.
    pub path: ImportPath,
    /// `{ ok, created }`: names brought into scope unqualified; `None` imports the module
    /// under its last segment (`profiles.stress(..)`).
    pub names: Option<Vec<Ident>>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ImportPath {
    Module(Vec<Ident>),
    File { path: String, span: Span },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FnDecl {
    pub name: Ident,
    pub params: Vec<ParamDecl>,
    pub ret: Option<TypeExpr>,
    pub body: Expr,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowDecl {
    pub name: Ident,
    pub params: Vec<ParamDecl>,
    pub ret: Option<TypeExpr>,
    pub body: Block,
}

/// `name: TYPE` or `name: TYPE = DEFAULT` in a fn or flow signature.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParamDecl {
    pub name: Ident,
    pub ty: TypeExpr,
    pub default: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TypeExpr {
    pub kind: TypeKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum TypeKind {
    /// `int`, `duration`, `Response`, `Workload`, ...
    Named(Ident),
    /// `list<T>`
    List(Box<TypeExpr>),
    /// `{email: string, password: string}`
    Record(Vec<(Ident, TypeExpr)>),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ScenarioMember {
    /// `workload = ...`, `start = ...`, `graceful_stop = ...`, `tags = ...`, `http = ...`
    Field(Field),
    /// Scenario-level `let`: evaluated once per VU.
    Let(Stmt),
    /// The `iteration { .. }` block.
    Iteration(Block),
}

/// `name = value` inside `scenario` or `fleet`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Field {
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

/// `metric{tag: "v"}: cond, cond, abort_on_fail`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ThresholdEntry {
    pub metric: Ident,
    /// The `{group: "browse"}` tag filter, if any (record fields).
    pub filter: Vec<RecordField>,
    pub conditions: Vec<ThresholdItem>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ThresholdItem {
    /// `p(95) < 400ms`, `rate < 1%`, `count == 0`: a comparison expression.
    Condition(Expr),
    /// A bare flag such as `abort_on_fail`, or `delay_abort_eval: 10s` style option.
    Flag { name: Ident, value: Option<Expr> },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

/// What a statement directly holds: an expression or a block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StmtChild<'a> {
    Expr(&'a Expr),
    Block(&'a Block),
}

impl Stmt {
    /// The expressions and blocks directly inside this statement, in source order: a
    /// `let`'s, `var`'s or assignment's value, a check's name and condition, a group's
    /// name and body, an `if`'s condition and branches, a loop's count, condition or
    /// list and body, a returned value. Names bound or assigned are not children. For
    /// walkers that handle a few kinds themselves and recurse into the rest, as with
    /// [`Expr::children`].
    pub fn children(&self) -> Vec<StmtChild<'_>> {
        use StmtChild::{Block as B, Expr as E};
        match &self.kind {
            StmtKind::Let { value, .. }
            | StmtKind::Var { value, .. }
            | StmtKind::Assign { value, .. }
            | StmtKind::Expr(value)
            | StmtKind::Sleep(value)
            | StmtKind::Think(value)
            | StmtKind::Return(Some(value)) => vec![E(value)],
            StmtKind::Check { name, cond } | StmtKind::Require { name, cond } => {
                name.iter().map(E).chain([E(cond)]).collect()
            }
            StmtKind::Group { name: e, body }
            | StmtKind::Repeat { count: e, body }
            | StmtKind::While { cond: e, body }
            | StmtKind::For { over: e, body, .. } => vec![E(e), B(body)],
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => [E(cond), B(then)]
                .into_iter()
                .chain(otherwise.iter().map(B))
                .collect(),
            StmtKind::Return(None) | StmtKind::Break | StmtKind::Continue => Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum StmtKind {
    Let {
        name: Ident,
        value: Expr,
    },
    /// A bare expression, usually a call: `browse()`, `post(api, "/x")`, `m.add(1)`, `log("..")`.
    Expr(Expr),
    /// `check [NAME:] COND`
    Check {
        name: Option<Expr>,
        cond: Expr,
    },
    /// `require [NAME:] COND`
    Require {
        name: Option<Expr>,
        cond: Expr,
    },
    /// `sleep DURATION`
    Sleep(Expr),
    /// `think RANGE` or `think exponential(mean: 2s)`
    Think(Expr),
    /// `group NAME { .. }`
    Group {
        name: Expr,
        body: Block,
    },
    If {
        cond: Expr,
        then: Block,
        /// `else { .. }` or `else if ..` (an `If` statement alone in a block).
        otherwise: Option<Block>,
    },
    /// `repeat N { .. }`
    Repeat {
        count: Expr,
        body: Block,
    },
    Return(Option<Expr>),
    /// `var NAME = EXPR`: a mutable slot (at scenario level it keeps its value across the
    /// VU's iterations).
    Var {
        name: Ident,
        value: Expr,
    },
    /// `NAME = EXPR`, `NAME += EXPR`, `NAME -= EXPR` (a statement, never an expression).
    Assign {
        name: Ident,
        op: AssignOp,
        value: Expr,
    },
    /// `for NAME in EXPR { .. }` over a list, a JSON array or an int range `a..b`.
    For {
        var: Ident,
        over: Expr,
        body: Block,
    },
    /// `while COND { .. }`
    While {
        cond: Expr,
        body: Block,
    },
    Break,
    Continue,
}

/// The operator of an assignment statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum AssignOp {
    /// `=`
    Set,
    /// `+=`
    Add,
    /// `-=`
    Sub,
}

impl AssignOp {
    pub fn as_str(self) -> &'static str {
        match self {
            AssignOp::Set => "=",
            AssignOp::Add => "+=",
            AssignOp::Sub => "-=",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

impl Expr {
    /// The expressions directly inside this one, in source order: a string's
    /// interpolations, a field's base, a call's callee and arguments, both sides of a
    /// binary, a stage or a range, list items, record values, a check's name and
    /// condition. For walkers that handle a few kinds themselves and recurse into the rest.
    pub fn children(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Bool(_)
            | ExprKind::Duration { .. }
            | ExprKind::Rate { .. }
            | ExprKind::Size { .. }
            | ExprKind::Percent(_)
            | ExprKind::Name(_) => Vec::new(),
            ExprKind::Str(parts) => parts
                .iter()
                .filter_map(|p| match p {
                    StrPart::Interp(x) => Some(x),
                    StrPart::Text(_) => None,
                })
                .collect(),
            ExprKind::Field { base, .. } => vec![base],
            ExprKind::Index { base, index } => vec![base, index],
            ExprKind::Call { callee, args } => std::iter::once(&**callee)
                .chain(args.iter().map(|a| &a.value))
                .collect(),
            ExprKind::Unary { operand, .. } => vec![operand],
            ExprKind::Binary { lhs: a, rhs: b, .. }
            | ExprKind::Stage {
                duration: a,
                target: b,
            }
            | ExprKind::Range { low: a, high: b } => vec![a, b],
            ExprKind::List(xs) => xs.iter().collect(),
            ExprKind::Record(fields) => fields.iter().map(|f| &f.value).collect(),
            ExprKind::Check { name, cond } => name.iter().map(|n| &**n).chain([&**cond]).collect(),
            ExprKind::Paren(x) => vec![x],
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A string literal, split into text and `{expr}` interpolations (escapes resolved).
    Str(Vec<StrPart>),
    /// `250ms`, `1.5s`, `2m`, `1h` as written.
    Duration {
        value: f64,
        unit: DurationUnit,
    },
    /// `200/s`, `5/m`: count per one unit of time.
    Rate {
        value: f64,
        per: DurationUnit,
    },
    /// `512Mi`, `1Gi`, `64KB`
    Size {
        value: f64,
        unit: SizeUnit,
    },
    /// `1%`, `99.9%` (the number as written, not divided by 100)
    Percent(f64),
    /// A bare name: a variable, item, module or builtin (`vu`, `setup`, `spread`).
    Name(Ident),
    /// `expr.field`
    Field {
        base: Box<Expr>,
        field: Ident,
    },
    /// `base[index]`: an element of a list or JSON array, a member of a JSON object.
    Index {
        base: Box<Expr>,
        index: Box<Expr>,
    },
    /// `callee(args)`: functions, flows, builtins and methods (`res.json("x")`).
    Call {
        callee: Box<Expr>,
        args: Vec<Arg>,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `DURATION -> TARGET`
    Stage {
        duration: Box<Expr>,
        target: Box<Expr>,
    },
    /// `LOW..HIGH`
    Range {
        low: Box<Expr>,
        high: Box<Expr>,
    },
    List(Vec<Expr>),
    Record(Vec<RecordField>),
    /// `check("name": cond)` or `check(cond)` used as a boolean expression.
    Check {
        name: Option<Box<Expr>>,
        cond: Box<Expr>,
    },
    /// `( expr )`, kept so the formatter can print it back.
    Paren(Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum DurationUnit {
    Us,
    Ms,
    S,
    M,
    H,
}

impl DurationUnit {
    /// Milliseconds in one unit.
    pub fn millis(self) -> f64 {
        match self {
            DurationUnit::Us => 0.001,
            DurationUnit::Ms => 1.0,
            DurationUnit::S => 1_000.0,
            DurationUnit::M => 60_000.0,
            DurationUnit::H => 3_600_000.0,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            DurationUnit::Us => "us",
            DurationUnit::Ms => "ms",
            DurationUnit::S => "s",
            DurationUnit::M => "m",
            DurationUnit::H => "h",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum SizeUnit {
    B,
    KB,
    MB,
    GB,
    Ki,
    Mi,
    Gi,
}

impl SizeUnit {
    /// Bytes in one unit.
    pub fn bytes(self) -> f64 {
        match self {
            SizeUnit::B => 1.0,
            SizeUnit::KB => 1e3,
            SizeUnit::MB => 1e6,
            SizeUnit::GB => 1e9,
            SizeUnit::Ki => 1024.0,
            SizeUnit::Mi => 1024.0 * 1024.0,
            SizeUnit::Gi => 1024.0 * 1024.0 * 1024.0,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            SizeUnit::B => "B",
            SizeUnit::KB => "KB",
            SizeUnit::MB => "MB",
            SizeUnit::GB => "GB",
            SizeUnit::Ki => "Ki",
            SizeUnit::Mi => "Mi",
            SizeUnit::Gi => "Gi",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum StrPart {
    Text(String),
    Interp(Expr),
}

/// A call argument, positional or named (`json: {..}`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
    pub span: Span,
}

/// `key: value` in a record literal; keys are identifiers or strings (`"x-token": ..`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordField {
    pub key: String,
    /// Whether the key was written quoted (the formatter keeps the choice).
    pub quoted: bool,
    pub key_span: Span,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinaryOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }
    /// Binding strength: higher binds tighter.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => 3,
            BinaryOp::Add | BinaryOp::Sub => 4,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => 5,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The source text of each child of each statement of the flow's body, in order.
    fn children_of(src: &str) -> Vec<Vec<String>> {
        let (file, diags) = crate::parse(src);
        assert!(diags.is_empty(), "{diags:?}");
        let Some(file) = file else {
            panic!("parses");
        };
        let Some(ItemKind::Flow(f)) = file.items.first().map(|i| &i.kind) else {
            panic!("a flow");
        };
        f.body
            .stmts
            .iter()
            .map(|s| {
                s.children()
                    .into_iter()
                    .map(|c| {
                        let span = match c {
                            StmtChild::Expr(e) => e.span,
                            StmtChild::Block(b) => b.span,
                        };
                        src[span.start..span.end].to_string()
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn statement_children_are_in_source_order() {
        let src = r#"flow f() {
  let a = 1
  var b = a
  b += 2
  check "c": a == 1
  require a > 0
  sleep 1s
  group "g" { log("x") }
  if a == 1 { log("y") } else { log("z") }
  if a == 2 { log("w") }
  repeat 3 { log("r") }
  while b < 5 { b += 1 }
  for x in [1, 2] { log("{x}") }
  log("e")
  return
}
"#;
        let got = children_of(src);
        let want: Vec<Vec<&str>> = vec![
            vec!["1"],
            vec!["a"],
            vec!["2"],
            vec!["\"c\"", "a == 1"],
            vec!["a > 0"],
            vec!["1s"],
            vec!["\"g\"", "{ log(\"x\") }"],
            vec!["a == 1", "{ log(\"y\") }", "{ log(\"z\") }"],
            vec!["a == 2", "{ log(\"w\") }"],
            vec!["3", "{ log(\"r\") }"],
            vec!["b < 5", "{ b += 1 }"],
            vec!["[1, 2]", "{ log(\"{x}\") }"],
            vec!["log(\"e\")"],
            vec![],
        ];
        assert_eq!(got, want);
    }
}
