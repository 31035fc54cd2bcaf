//! Formatter tests: canonical layout, every comment kept in place, the same tree after
//! formatting, and idempotence on the SPEC examples.

use super::format;
use crate::parser::parse;

fn fmt(s: &str) -> String {
    match format(s) {
        Ok(out) => out,
        Err(d) => panic!("does not parse: {d:#?}\n{s}"),
    }
}

/// The AST's debug form without spans: what the file means.
pub(crate) fn meaning(src: &str) -> String {
    let (file, _) = parse(src);
    let Some(file) = file else {
        return "<error>".into();
    };
    let text = format!("{:?}", file.items);
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("Span { start: ") {
        out.push_str(&rest[..i]);
        out.push_str("Span");
        rest = rest[i..].find('}').map_or("", |j| &rest[i + j + 1..]);
    }
    out.push_str(rest);
    out
}

fn comment_texts(src: &str) -> Vec<String> {
    parse(src)
        .0
        .map(|f| f.comments.into_iter().map(|c| c.text).collect())
        .unwrap_or_default()
}

/// Formatting keeps the meaning and every comment, and is a fixed point.
pub(crate) fn check_invariants(src: &str) {
    let Ok(once) = format(src) else {
        return;
    };
    let twice = fmt(&once);
    assert_eq!(
        once, twice,
        "not idempotent:\n--- input\n{src}\n--- once\n{once}"
    );
    assert_eq!(
        meaning(src),
        meaning(&once),
        "meaning changed:\n{src}\n---\n{once}"
    );
    let (mut before, mut after) = (comment_texts(src), comment_texts(&once));
    before.sort();
    after.sort();
    // A comment the layout had to move may be joined onto another line's comment.
    if before != after {
        let joined_before = before.concat().replace(' ', "");
        let joined_after = after.concat().replace(' ', "");
        let mut b: Vec<char> = joined_before.chars().collect();
        let mut a: Vec<char> = joined_after.chars().collect();
        b.sort_unstable();
        a.sort_unstable();
        assert_eq!(b, a, "comments lost:\n{src}\n---\n{once}");
    }
}

#[test]
fn spec_examples_are_stable() {
    let mut blocks = crate::parser::tests::spec_blocks();
    blocks.extend(crate::parser::tests::load_blocks("../docs/language.md"));
    for b in &blocks {
        check_invariants(b);
        assert_eq!(
            comment_texts(b),
            comment_texts(&fmt(b)),
            "comment order:\n{b}"
        );
    }
}

#[test]
fn canonical_spacing() {
    let src = "target   api=\"http://x\"\nscenario s{workload=constant_vus(vus:1,duration:1s)\n\
               iteration{let r=get(api,\"/\",headers:{\"x-a\":\"b\",c:[1,2,3,]})\n\
               check \"ok\":r.status==200 and not (r.size>1Mi)\nsleep 1.50s;think 1s..2s}}";
    assert_eq!(
        fmt(src),
        "target api = \"http://x\"\n\
         scenario s {\n  workload = constant_vus(vus: 1, duration: 1s)\n  iteration {\n    \
         let r = get(api, \"/\", headers: {\"x-a\": \"b\", c: [1, 2, 3]})\n    \
         check \"ok\": r.status == 200 and not (r.size > 1Mi)\n    sleep 1.5s\n    \
         think 1s..2s\n  }\n}\n"
    );
}

#[test]
fn literals_print_as_written() {
    let src = "let a = [1.5s, 250ms, 10us, 2m, 1h, 200/s, 5/m, 512Mi, 64KB, 1%, 99.9%, 2.0, 3, -1]";
    assert_eq!(
        fmt(src),
        "let a = [1.5s, 250ms, 10us, 2m, 1h, 200/s, 5/m, 512Mi, 64KB, 1%, 99.9%, 2.0, 3, -1]\n"
    );
    assert_eq!(
        fmt(r#"let s = "a\{b} \"c\" \\ {x + 1}\n\t""#),
        "let s = \"a\\{b} \\\"c\\\" \\\\ {x + 1}\\n\\t\"\n"
    );
    assert_eq!(fmt("let d = 200 / s"), "let d = 200 / s\n");
}

#[test]
fn blank_lines_collapse_to_one() {
    let src = "\n\n// head\n\n\n\nlet a = 1\nlet b = 2\n\n\n\nlet c = 3\n\n\n";
    assert_eq!(fmt(src), "// head\n\nlet a = 1\nlet b = 2\n\nlet c = 3\n");
    let src = "flow f() {\n\n  a()\n\n\n  b()\n\n}";
    assert_eq!(fmt(src), "flow f() {\n  a()\n\n  b()\n}\n");
}

#[test]
fn long_calls_and_lists_break() {
    let src = "let r = post(shop, \"/api/checkout\", json: {payment_method: \"card_test\", card: card_token}, name: \"checkout\")";
    assert_eq!(
        fmt(src),
        "let r = post(\n  shop,\n  \"/api/checkout\",\n  \
         json: {payment_method: \"card_test\", card: card_token},\n  name: \"checkout\",\n)\n"
    );
    let items: Vec<String> = (0..30).map(|i| format!("\"item{i}\"")).collect();
    let src = format!("let l = [{}]", items.join(", "));
    let out = fmt(&src);
    assert!(
        out.starts_with("let l = [\n  \"item0\",\n  \"item1\",\n"),
        "{out}"
    );
    assert!(out.ends_with("  \"item29\",\n]\n"));
    // Short again: back on one line.
    assert_eq!(fmt("let r = f(\n  a,\n  b,\n)"), "let r = f(a, b)\n");
}

#[test]
fn blocks_if_chains_and_fns() {
    assert_eq!(
        fmt("flow f() { if a { x() } else if b { y() } else { z() } }"),
        "flow f() {\n  if a { x() } else if b { y() } else { z() }\n}\n"
    );
    assert_eq!(
        fmt("flow f() {\n  if a {\n x() } else { y() }\n}"),
        "flow f() {\n  if a {\n    x()\n  } else {\n    y()\n  }\n}\n"
    );
    assert_eq!(
        fmt("fn f(n: int) -> int { n * 2 }"),
        "fn f(n: int) -> int { n * 2 }\n"
    );
    assert_eq!(
        fmt("fn f(n: int) -> int {\n n * 2 }"),
        "fn f(n: int) -> int {\n  n * 2\n}\n"
    );
    assert_eq!(
        fmt("scenario s { iteration { } }\nsetup {}"),
        "scenario s {\n  iteration {}\n}\nsetup {}\n"
    );
    assert_eq!(
        fmt("import std/checks {ok,created}\nimport \"a.load\""),
        "import std/checks { ok, created }\nimport \"a.load\"\n"
    );
}

#[test]
fn vars_assignments_and_loops() {
    let src = "scenario s {\n var  n=0\n iteration {\n n+=1; n -=  2\n n=n*2\n \
               for i in 0..3 { if i==1 {continue} }\n while n<10 {\n n = n + 1\n break }\n }\n}\n";
    let out = fmt(src);
    assert_eq!(
        out,
        "scenario s {\n  var n = 0\n  iteration {\n    n += 1\n    n -= 2\n    n = n * 2\n    \
         for i in 0..3 {\n      if i == 1 { continue }\n    }\n    while n < 10 {\n      n = n + 1\n      \
         break\n    }\n  }\n}\n"
    );
    check_invariants(src);
    check_invariants(&out);
}

#[test]
fn thresholds_and_fleet() {
    let src = "thresholds{http_req_duration{group:\"b\"}:p(99)<800ms,abort_on_fail,delay_abort_eval:10s\nchecks:rate>99%}\nfleet{runners=4;cleanup=after(24h)}";
    assert_eq!(
        fmt(src),
        // Threshold conditions are kept as written: the plan holds their source text.
        "thresholds {\n  http_req_duration{group: \"b\"}: p(99)<800ms, abort_on_fail, \
         delay_abort_eval: 10s\n  checks: rate>99%\n}\nfleet {\n  runners = 4\n  \
         cleanup = after(24h)\n}\n"
    );
}

#[test]
fn comments_stay_where_they_were() {
    let src = "\
// file header

import std/checks { ok } // trailing on import

scenario s { // on the header
  // above workload
  workload = constant_vus(vus: 1, duration: 1s)   // after workload
  iteration {
    let r = get(api, \"/x\",   // after the first args
      headers: {a: \"b\"})     // after the call
    // last in block
  }
  // last in scenario
}
// end of file
";
    let want = "\
// file header

import std/checks { ok } // trailing on import

scenario s { // on the header
  // above workload
  workload = constant_vus(vus: 1, duration: 1s) // after workload
  iteration {
    let r = get(
      api,
      \"/x\", // after the first args
      headers: {a: \"b\"},
    ) // after the call
    // last in block
  }
  // last in scenario
}
// end of file
";
    assert_eq!(fmt(src), want);
    check_invariants(src);
}

#[test]
fn comments_inside_expressions_are_not_lost() {
    for src in [
        "let x = a + // mid\n  b",
        "let x = [1, // one\n 2]",
        "let x = {a: 1, // one\n // own\n b: 2}",
        "flow f() {\n  g(\n    // only a comment\n  )\n}",
        "flow f() { // c\n}",
        "fn f() -> int { // c\n 1 }",
        "thresholds { // c\n  a: rate < 1% // d\n}",
        "let s = \"{a // in interp\n}\"",
        "flow f() {\n  if a { // x\n  b() } else { // y\n  c() }\n}",
        "let x = f( // open\n  1)",
        "let a = 1 // one\n// two\nlet b = 2",
    ] {
        check_invariants(src);
        let out = fmt(src);
        for c in comment_texts(src) {
            let words = c.trim_start_matches('/').trim().to_string();
            assert!(out.contains(&words), "lost {c:?}:\n{src}\n---\n{out}");
        }
    }
}

#[test]
fn invalid_input_is_an_error() {
    assert!(format("scenario {").is_err());
    assert_eq!(format("").ok().as_deref(), Some(""));
    assert_eq!(format("// only\n").ok().as_deref(), Some("// only\n"));
}

#[test]
fn snapshot_of_a_messy_file() {
    let src = "\
// messy.load
import std/profiles
param peak:int=500
target shop=base_url // the host
flow login(user:{email:string,password:string})->string{
let res=post(shop,\"/api/login\",json:{email:user.email,password:user.password})
require \"login ok\":res.status==200
return res.json(\"token\").string()}
scenario shoppers{workload=ramping_vus(stages:[2m->peak,5m->peak,1m->0]);graceful_stop=30s
let token=login(users.next())
iteration{group \"browse\"{let list=get(shop,\"/api/products?page={vu.iteration%5+1}&limit=20\",headers:{authorization:\"Bearer {token}\"})
check ok(list)}
if not check(\"paid\":list.status==200){failed.add(1)}}}
thresholds{http_req_failed:rate<1%
checkout_duration:p(99)<1s,abort_on_fail}";
    let out = fmt(src);
    check_invariants(src);
    insta::assert_snapshot!(out);
}
