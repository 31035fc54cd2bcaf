//! Parser unit tests: the SPEC examples, precedence, literals, strings, statements,
//! thresholds, errors with their spans, and hostile input.

use super::parse;
use crate::ast::*;
use crate::diagnostic::Diagnostic;

/// Every ```load block of a markdown file (`rel` to this crate). A missing file fails the
/// test that asked for it: an example that cannot be read is not an example that passed.
pub(crate) fn load_blocks(rel: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; SPEC.md comes from ../shared beside the repository clone \
             (CI always has it), the other documents from the repository",
            path.display()
        )
    });
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        match &mut cur {
            None if line.trim_start().starts_with("```load") => cur = Some(String::new()),
            Some(_) if line.trim_start().starts_with("```") => out.extend(cur.take()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    out
}

/// The ```load blocks of SPEC.md (`../shared/SPEC.md` beside the clone).
pub(crate) fn spec_blocks() -> Vec<String> {
    let blocks = load_blocks("../../shared/SPEC.md");
    assert!(blocks.len() >= 3, "SPEC.md has lost its load examples");
    blocks
}

fn ok(src: &str) -> File {
    match parse(src) {
        (Some(f), d) if d.is_empty() => f,
        (_, d) => panic!("expected no diagnostics for:\n{src}\n{d:#?}"),
    }
}

fn err(src: &str) -> Diagnostic {
    let (file, diags) = parse(src);
    assert!(file.is_none(), "expected an error for:\n{src}");
    assert_eq!(diags.len(), 1, "{diags:#?}");
    diags
        .into_iter()
        .next()
        .unwrap_or_else(|| Diagnostic::error("", ""))
}

/// The text under the primary label.
fn at<'a>(src: &'a str, d: &Diagnostic) -> &'a str {
    let s = d.span().unwrap_or_default();
    &src[s.start..s.end]
}

/// The expression of `let x = EXPR`.
fn expr(src: &str) -> Expr {
    let f = ok(&format!("let x = {src}"));
    match f.items.into_iter().next().map(|i| i.kind) {
        Some(ItemKind::Let { value, .. }) => value,
        other => panic!("not a let: {other:?}"),
    }
}

/// A compact prefix rendering of an expression, for precedence tests.
fn sx(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Int(v) => v.to_string(),
        ExprKind::Float(v) => format!("{v:?}"),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Str(parts) => {
            let inner: Vec<String> = parts
                .iter()
                .map(|p| match p {
                    StrPart::Text(t) => format!("{t:?}"),
                    StrPart::Interp(e) => format!("{{{}}}", sx(e)),
                })
                .collect();
            format!("str[{}]", inner.join(" "))
        }
        ExprKind::Duration { value, unit } => format!("{value}{}", unit.as_str()),
        ExprKind::Rate { value, per } => format!("{value}/{}", per.as_str()),
        ExprKind::Size { value, unit } => format!("{value}{}", unit.as_str()),
        ExprKind::Percent(v) => format!("{v}%"),
        ExprKind::Name(id) => id.name.clone(),
        ExprKind::Field { base, field } => format!("{}.{}", sx(base), field.name),
        ExprKind::Index { base, index } => format!("{}[{}]", sx(base), sx(index)),
        ExprKind::Call { callee, args } => {
            let a: Vec<String> = args
                .iter()
                .map(|a| match &a.name {
                    Some(n) => format!("{}={}", n.name, sx(&a.value)),
                    None => sx(&a.value),
                })
                .collect();
            format!("{}({})", sx(callee), a.join(" "))
        }
        ExprKind::Unary { op, operand } => format!("({op:?} {})", sx(operand)),
        ExprKind::Binary { op, lhs, rhs } => {
            format!("({} {} {})", op.as_str(), sx(lhs), sx(rhs))
        }
        ExprKind::Stage { duration, target } => format!("(-> {} {})", sx(duration), sx(target)),
        ExprKind::Range { low, high } => format!("(.. {} {})", sx(low), sx(high)),
        ExprKind::List(items) => {
            let i: Vec<String> = items.iter().map(sx).collect();
            format!("[{}]", i.join(" "))
        }
        ExprKind::Record(fields) => {
            let f: Vec<String> = fields
                .iter()
                .map(|f| format!("{}:{}", f.key, sx(&f.value)))
                .collect();
            format!("{{{}}}", f.join(" "))
        }
        ExprKind::Check { name, cond } => match name {
            Some(n) => format!("check({} {})", sx(n), sx(cond)),
            None => format!("check({})", sx(cond)),
        },
        ExprKind::Paren(inner) => format!("({})", sx(inner)),
    }
}

#[test]
fn spec_examples_parse() {
    for b in spec_blocks() {
        let (file, diags) = parse(&b);
        assert!(diags.is_empty(), "{diags:#?}\n{b}");
        assert!(file.is_some_and(|f| !f.items.is_empty()));
    }
}

#[test]
fn repo_examples_parse() {
    for rel in ["../docs/language.md", "../README.md"] {
        for b in load_blocks(rel) {
            ok(&b);
        }
    }
}

#[test]
fn precedence() {
    let cases = [
        ("1 + 2 * 3", "(+ 1 (* 2 3))"),
        ("1 * 2 + 3 % 4", "(+ (* 1 2) (% 3 4))"),
        ("1 - 2 - 3", "(- (- 1 2) 3)"),
        ("a or b and c", "(or a (and b c))"),
        ("not a == b", "(Not (== a b))"),
        ("not a and b", "(and (Not a) b)"),
        ("a and not b or c", "(or (and a (Not b)) c)"),
        ("-a.b(1) * 2", "(* (Neg a.b(1)) 2)"),
        ("- -a", "(Neg (Neg a))"),
        ("2m -> peak", "(-> 2m peak)"),
        ("2m -> peak * 2", "(-> 2m (* peak 2))"),
        ("500ms..2s", "(.. 500ms 2s)"),
        ("a + 1..b", "(.. (+ a 1) b)"),
        ("1m -> 0..5", "(-> 1m (.. 0 5))"),
        ("a < b == c", "(== (< a b) c)"),
        ("(1 + 2) * 3", "(* ((+ 1 2)) 3)"),
        ("x.y.z", "x.y.z"),
        ("f(a)(b)", "f(a)(b)"),
        (
            "res.json(\"token\").string()",
            "res.json(str[\"token\"]).string()",
        ),
        ("setup.admin_token", "setup.admin_token"),
        ("vu.iteration % 5 + 1", "(+ (% vu.iteration 5) 1)"),
        ("200 / s", "(/ 200 s)"),
        ("200/sec", "(/ 200 sec)"),
        ("10%3", "(% 10 3)"),
        ("rate < 1%", "(< rate 1%)"),
        ("count == 0", "(== count 0)"),
        ("data.random_int(1, 100)", "data.random_int(1 100)"),
        ("test.iteration", "test.iteration"),
        ("runner.index", "runner.index"),
        ("metric", "metric"),
        ("check", "check"),
        ("r.json().items[0].id", "r.json().items[0].id"),
        ("xs[i + 1].len()", "xs[(+ i 1)].len()"),
        ("-a[0] * 2", "(* (Neg a[0]) 2)"),
        ("m[\"k-1\"][2]", "m[str[\"k-1\"]][2]"),
    ];
    for (src, want) in cases {
        assert_eq!(sx(&expr(src)), want, "{src}");
    }
}

#[test]
fn literals() {
    let cases = [
        ("42", "42"),
        ("1.5", "1.5"),
        ("true", "true"),
        ("false", "false"),
        ("250ms", "250ms"),
        ("1.5s", "1.5s"),
        ("10us", "10us"),
        ("1h", "1h"),
        ("2m", "2m"),
        ("200/s", "200/s"),
        ("5/m", "5/m"),
        ("2.5/h", "2.5/h"),
        ("512Mi", "512Mi"),
        ("1Gi", "1Gi"),
        ("64KB", "64KB"),
        ("10MB", "10MB"),
        ("100B", "100B"),
        ("1%", "1%"),
        ("99.9%", "99.9%"),
        ("200..399", "(.. 200 399)"),
        ("[1, 2,]", "[1 2]"),
        ("[]", "[]"),
        ("{}", "{}"),
        ("{k: 1, \"x-token\": t,}", "{k:1 x-token:t}"),
        ("[2m -> 500, 1m -> 0]", "[(-> 2m 500) (-> 1m 0)]"),
        (
            "post(a, \"/x\", json: {a: 1}, name: \"n\")",
            "post(a str[\"/x\"] json={a:1} name=str[\"n\"])",
        ),
        (
            "check(\"paid\": s == 200)",
            "check(str[\"paid\"] (== s 200))",
        ),
        ("check(ok)", "check(ok)"),
    ];
    for (src, want) in cases {
        assert_eq!(sx(&expr(src)), want, "{src}");
    }
    let e = expr("{\"x-token\": 1}");
    let ExprKind::Record(fields) = e.kind else {
        panic!("not a record")
    };
    assert!(fields[0].quoted);
    assert_eq!(fields[0].key_span, Span::new(9, 18));
}

#[test]
fn strings() {
    let cases = [
        (r#""plain""#, r#"str["plain"]"#),
        (r#""""#, "str[]"),
        (r#""a{b}c""#, r#"str["a" {b} "c"]"#),
        (
            r#""{vu.iteration % 5 + 1}""#,
            "str[{(+ (% vu.iteration 5) 1)}]",
        ),
        (r#""\{x\} \"q\" \\ \n \t""#, r#"str["{x} \"q\" \\ \n \t"]"#),
        (r#""{ "in{n}" }""#, r#"str[{str["in" {n}]}]"#),
        (r#""http://x//y""#, r#"str["http://x//y"]"#),
    ];
    for (src, want) in cases {
        assert_eq!(sx(&expr(src)), want, "{src}");
    }
    let d = err("let x = \"a\\qb\"");
    assert_eq!(
        (d.code.as_str(), at("let x = \"a\\qb\"", &d)),
        ("E0002", "\\q")
    );
}

#[test]
fn spans() {
    let src = "let x = a + f(1, k: 2)  // c\n";
    let f = ok(src);
    assert_eq!(f.items[0].span, Span::new(0, 22));
    let ItemKind::Let { value, name } = &f.items[0].kind else {
        panic!()
    };
    assert_eq!(name.span, Span::new(4, 5));
    assert_eq!(&src[value.span.start..value.span.end], "a + f(1, k: 2)");
    let ExprKind::Binary { rhs, .. } = &value.kind else {
        panic!()
    };
    let ExprKind::Call { args, .. } = &rhs.kind else {
        panic!()
    };
    assert_eq!(&src[args[1].span.start..args[1].span.end], "k: 2");
    assert_eq!(f.comments.len(), 1);
    assert_eq!(f.comments[0].text, "// c");
    assert_eq!(f.comments[0].span, Span::new(24, 28));
}

fn stmts(body: &str) -> Vec<Stmt> {
    let f = ok(&format!("flow f() {{\n{body}\n}}"));
    match f.items.into_iter().next().map(|i| i.kind) {
        Some(ItemKind::Flow(flow)) => flow.body.stmts,
        other => panic!("{other:?}"),
    }
}

#[test]
fn statements() {
    let s = stmts(
        "let a = 1; check a == 1\ncheck \"named\": a\nrequire \"r\": b\nrequire c\n\
         sleep 1s\nthink 1s..2s\nthink exponential(mean: 2s)\ngroup \"g\" { log(\"x\") }\n\
         repeat 3 { a() }\nreturn\n",
    );
    let kinds: Vec<&str> = s
        .iter()
        .map(|s| match &s.kind {
            StmtKind::Let { .. } => "let",
            StmtKind::Expr(_) => "expr",
            StmtKind::Check { name: None, .. } => "check",
            StmtKind::Check { name: Some(_), .. } => "check:",
            StmtKind::Require { name: None, .. } => "require",
            StmtKind::Require { name: Some(_), .. } => "require:",
            StmtKind::Sleep(_) => "sleep",
            StmtKind::Think(_) => "think",
            StmtKind::Group { .. } => "group",
            StmtKind::If { .. } => "if",
            StmtKind::Repeat { .. } => "repeat",
            StmtKind::Return(_) => "return",
            StmtKind::Var { .. } => "var",
            StmtKind::Assign { .. } => "assign",
            StmtKind::For { .. } => "for",
            StmtKind::While { .. } => "while",
            StmtKind::Break => "break",
            StmtKind::Continue => "continue",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "let", "check", "check:", "require:", "require", "sleep", "think", "think", "group",
            "repeat", "return"
        ]
    );
    // `check(..)` as a statement is still a check; `check("n": c)` is the expression form.
    let s = stmts("check(x)\ncheck(\"n\": x)\nreturn a.b");
    assert!(matches!(s[0].kind, StmtKind::Check { name: None, .. }));
    assert!(matches!(&s[1].kind, StmtKind::Expr(e) if matches!(e.kind, ExprKind::Check { .. })));
    assert!(matches!(&s[2].kind, StmtKind::Return(Some(_))));
}

#[test]
fn vars_assignments_and_loops() {
    let s = stmts(
        "var n = 0\nn = n + 1\nn += 2; n -= 1\nfor i in 0..3 { break }\n\
         while n < 10 { continue }\na == b\n",
    );
    let ops: Vec<String> = s
        .iter()
        .map(|s| match &s.kind {
            StmtKind::Var { name, .. } => format!("var {}", name.name),
            StmtKind::Assign { name, op, .. } => format!("{} {}", name.name, op.as_str()),
            StmtKind::For { var, body, .. } => format!("for {} {:?}", var.name, body.stmts[0].kind),
            StmtKind::While { body, .. } => format!("while {:?}", body.stmts[0].kind),
            StmtKind::Expr(_) => "expr".into(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        ops,
        [
            "var n",
            "n =",
            "n +=",
            "n -=",
            "for i Break",
            "while Continue",
            "expr"
        ]
    );
    // The new words are reserved (except `in`, a keyword only after `for NAME`).
    for bad in ["let var = 1", "let while = 1", "let break = 1", "for = 2"] {
        let (file, diags) = parse(&format!("flow f() {{ {bad} }}"));
        assert!(file.is_none() && !diags.is_empty(), "{bad}");
    }
    assert!(stmts("let in = 1").len() == 1);
}

#[test]
fn if_else_chains() {
    let s = stmts("if a { x() } else if b { y() } else { z() }\nif not check(\"p\": c) { w() }");
    let StmtKind::If {
        otherwise: Some(other),
        ..
    } = &s[0].kind
    else {
        panic!()
    };
    assert_eq!(other.stmts.len(), 1);
    assert_eq!(
        other.span, other.stmts[0].span,
        "else-if block spans its if"
    );
    let StmtKind::If {
        otherwise: Some(last),
        ..
    } = &other.stmts[0].kind
    else {
        panic!()
    };
    assert_ne!(
        last.span, last.stmts[0].span,
        "a braced else block keeps its braces"
    );
    let StmtKind::If { cond, .. } = &s[1].kind else {
        panic!()
    };
    assert_eq!(sx(cond), "(Not check(str[\"p\"] c))");
}

#[test]
fn call_paren_must_be_on_the_callee_line() {
    let s = stmts("let a = b\n(c)");
    assert_eq!(s.len(), 2);
    let s = stmts("let a = f(\n  1,\n  k: 2,\n)");
    assert_eq!(s.len(), 1);
}

#[test]
fn items() {
    let f = ok(
        "import std/profiles\nimport std/checks { ok, created }\nimport \"lib/a.load\"\n\
         param p: list<int> = [1]\nparam q: {a: string, b: list<{c: int}>} = {a: \"\"}\n\
         secret s = env(\"S\")\ndata d = csv(\"d.csv\", pick: unique)\nmetric m = counter()\n\
         fn double(n: int, m: int = 2) -> int { n * m }\nflow g(x: int) { return }\n\
         setup { let t = 1 }\nteardown { }\nfleet { runners = 4; cleanup = after(24h) }\n",
    );
    let kinds: Vec<String> = f
        .items
        .iter()
        .map(|i| match &i.kind {
            ItemKind::Import(imp) => match (&imp.path, &imp.names) {
                (ImportPath::Module(p), n) => format!(
                    "import {} {:?}",
                    p.iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join("/"),
                    n.as_ref().map(|n| n.len())
                ),
                (ImportPath::File { path, .. }, _) => format!("import {path}"),
            },
            ItemKind::Param { ty, .. } => format!("param {:?}", ty.kind).chars().take(16).collect(),
            ItemKind::Fn(f) => format!("fn {} {}", f.params.len(), sx(&f.body)),
            ItemKind::Flow(f) => format!("flow {}", f.ret.is_some()),
            ItemKind::Fleet(fields) => format!("fleet {}", fields.len()),
            other => format!("{other:?}").chars().take(6).collect(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "import std/profiles None",
            "import std/checks Some(2)",
            "import lib/a.load",
            "param List(TypeE",
            "param Record([(I",
            "Secret",
            "Data {",
            "Metric",
            "fn 2 (* n m)",
            "flow false",
            "Setup(",
            "Teardo",
            "fleet 2",
        ]
    );
}

#[test]
fn thresholds() {
    let f = ok("thresholds {\n  http_req_failed: rate < 1%\n  \
         http_req_duration{group: \"browse\", name: \"x\"}: p(99) < 800ms, p(95) < 1s\n  \
         checkout: p(99) < 1s, abort_on_fail, delay_abort_eval: 10s\n  dropped_iterations: count == 0\n}");
    let ItemKind::Thresholds(entries) = &f.items[0].kind else {
        panic!()
    };
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[1].metric.name, "http_req_duration");
    assert_eq!(entries[1].filter.len(), 2);
    assert_eq!(entries[1].conditions.len(), 2);
    let c = &entries[2].conditions;
    assert!(matches!(&c[0], ThresholdItem::Condition(e) if sx(e) == "(< p(99) 1s)"));
    assert!(
        matches!(&c[1], ThresholdItem::Flag { name, value: None } if name.name == "abort_on_fail")
    );
    assert!(matches!(&c[2], ThresholdItem::Flag { name, value: Some(v) }
        if name.name == "delay_abort_eval" && sx(v) == "10s"));
}

#[test]
fn scenario_members() {
    let f = ok(
        "scenario s {\n  workload = constant_vus(vus: 1, duration: 1s)\n  \
         start = after(w)\n  let u = users.next()\n  iteration { browse() }\n}",
    );
    let ItemKind::Scenario { name, members } = &f.items[0].kind else {
        panic!()
    };
    assert_eq!(name.name, "s");
    assert!(matches!(&members[0], ScenarioMember::Field(f) if f.name.name == "workload"));
    assert!(matches!(&members[2], ScenarioMember::Let(_)));
    assert!(matches!(&members[3], ScenarioMember::Iteration(b) if b.stmts.len() == 1));
}

#[test]
fn syntax_errors_point_at_the_token() {
    let cases = [
        (
            "target api = = \"x\"",
            "=",
            "expected an expression, found `=`",
        ),
        ("scenari s {}", "scenari", "expected an item"),
        ("let x = [2m -> ]", "]", "expected an expression, found `]`"),
        ("let x = f(a, b\nlet y = 1", "let", "expected `)` or `,`"),
        ("let x = {email: }", "}", "expected an expression"),
        ("flow f() { check \"s\":\n}", "}", "expected an expression"),
        ("let = 1", "=", "expected a name"),
        ("let x = 1 2", "2", "expected an item"),
        ("let x = \"abc", "\"abc", "this string is never closed"),
        (
            "let x = f(a,",
            "",
            "expected an expression or `)`, found the end of the file",
        ),
        ("scenario s { iteration }", "}", "expected `{`"),
    ];
    for (src, token, msg) in cases {
        let d = err(src);
        assert_eq!(d.code, "E0001", "{src}");
        assert_eq!(at(src, &d), token, "{src}: {d:#?}");
        assert!(d.message.starts_with(msg), "{src}: {}", d.message);
        assert!(!d.message.contains('_'), "rule name leaked: {}", d.message);
    }
    let d = err("scenari s {}");
    assert_eq!(d.help.as_deref(), Some("did you mean `scenario`?"));
    let src = "flow f() {\n  let r = get(api, \"/\"\n  check r.status == 200\n}";
    let d = err(src);
    assert_eq!(d.labels.len(), 2);
    assert_eq!(&src[d.labels[1].span.start..d.labels[1].span.end], "(");
}

#[test]
fn literal_errors() {
    let src = "flow f() {\n  sleep 5ks\n  repeat 99999999999999999999 {}\n  sleep 5MS\n}";
    let (file, diags) = parse(src);
    assert!(file.is_none());
    let got: Vec<(&str, &str)> = diags
        .iter()
        .map(|d| (d.code.as_str(), at(src, d)))
        .collect();
    assert_eq!(
        got,
        [
            ("E0002", "ks"),
            ("E0002", "99999999999999999999"),
            ("E0002", "MS")
        ]
    );
    assert!(diags[0].help.as_deref().is_some_and(|h| h.contains("`ms`")));
    assert!(diags[2]
        .help
        .as_deref()
        .is_some_and(|h| h.starts_with("write `5ms`")));
    let g = err("let x = 1G");
    assert_eq!(g.code, "E0002");
    let help = g.help.unwrap_or_default();
    assert!(
        help.contains("`1GB`") && help.contains("`1Gi`") && help.contains("\"1G\""),
        "a Kubernetes quantity gets both size forms and the string form: {help}"
    );
    let huge = format!("let x = {}.5s", "9".repeat(400));
    assert_eq!(err(&huge).code, "E0002");
    assert_eq!(err("let x = f(\"n\": 1)").code, "E0001");
    assert_eq!(err("let x = f(1 + 1: 2)").code, "E0001");
}

#[test]
fn deep_nesting_is_refused_without_overflow() {
    let n = 100_000;
    let inputs = [
        format!("let x = {}1{}", "(".repeat(n), ")".repeat(n)),
        format!("let x = {}", "[".repeat(n)),
        format!("let x = {}1", "-".repeat(n)),
        format!("let x = {}a", "not ".repeat(n)),
        format!("let x = 1{}", " + 1".repeat(n)),
        format!("let x = a{}", ".b".repeat(n)),
        format!("let x = f{}", "()".repeat(n)),
        format!("let x = \"{}", "{\"".repeat(n)),
        format!("flow f() {{ if a {{}}{} }}", " else if a {}".repeat(n)),
        format!("param p: {}int = 1", "list<".repeat(n)),
        format!("flow f() {{ {} }}", "if a { ".repeat(n)),
    ];
    for src in inputs {
        // Run on a small stack, as test threads and tokio workers have.
        let handle = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let (file, diags) = parse(&src);
                (file.is_none(), diags)
            });
        let (failed, diags) = handle
            .map(|h| h.join().unwrap_or_else(|_| panic!("parser panicked")))
            .unwrap_or_else(|e| panic!("spawn: {e}"));
        assert!(failed);
        assert!(diags.iter().any(|d| d.code == "E0001"), "{diags:#?}");
    }
    // Moderate nesting is fine.
    ok(&format!("let x = {}1{}", "(".repeat(150), ")".repeat(150)));
    ok(&format!("let x = 1{}", " + 1".repeat(200)));
}

#[test]
fn backtracking_stays_linear() {
    let n = 90;
    let inputs = [
        format!(
            "flow f() {{ check {}x{} : }}",
            "\"{".repeat(n),
            "}\"".repeat(n)
        ),
        format!("let x = {}1{} +", "f(a: ".repeat(n), ")".repeat(n)),
        format!("let x = {}1{} +", "{a: ".repeat(n), "}".repeat(n)),
        format!(
            "flow f() {{ {}{} else }}",
            "if a { ".repeat(n),
            "}".repeat(n)
        ),
        format!("let x = {}1{} ..", "[(".repeat(n), ")]".repeat(n)),
    ];
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for src in inputs {
            let _ = parse(&src);
        }
        let _ = tx.send(());
    });
    // Exponential backtracking would take far longer than this generous bound.
    assert!(rx.recv_timeout(std::time::Duration::from_secs(60)).is_ok());
}

#[test]
fn the_deepest_accepted_nesting_fits_a_small_stack() {
    let half = crate::lex::MAX_NESTING / 2;
    let inputs = [
        format!("let x = {}1{}", "[(".repeat(half), ")]".repeat(half)),
        format!(
            "flow f() {{{}{}}}",
            " if a {".repeat(half * 2 - 1),
            "}".repeat(half * 2 - 1)
        ),
        format!("let x = {}x{}", "\"{".repeat(half), "}\"".repeat(half)),
        format!("let x = {}1{}", "f(".repeat(half * 2), ")".repeat(half * 2)),
    ];
    for src in inputs {
        let handle = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let (file, diags) = parse(&src);
                let formatted = crate::format(&src);
                (file.is_some(), diags, formatted.is_ok())
            });
        let (parsed, diags, formatted) = handle
            .map(|h| h.join().unwrap_or_else(|_| panic!("parser panicked")))
            .unwrap_or_else(|e| panic!("spawn: {e}"));
        assert!(parsed && formatted, "{diags:#?}");
    }
}

#[test]
fn an_index_must_touch_its_base() {
    // A list on the next line is a statement of its own, never an index.
    let f = ok("flow f() {\n  let a = [1, 2]\n  [3]\n}\n");
    let ItemKind::Flow(flow) = &f.items[0].kind else {
        panic!("not a flow");
    };
    assert_eq!(flow.body.stmts.len(), 2);
}

#[test]
fn scenario_name_is_an_expression_though_scenario_is_reserved() {
    // The identity value `scenario.name` (docs/language.md) reads as a field of the name
    // `scenario`, bare and inside a string; the word alone is still no expression.
    assert_eq!(sx(&expr("scenario.name")), "scenario.name");
    assert_eq!(
        sx(&expr("\"in {scenario.name}\"")),
        "str[\"in \" {scenario.name}]"
    );
    let src = "let x = scenario";
    let d = err(src);
    assert_eq!(d.code, "E0001", "{d:?}");
}
