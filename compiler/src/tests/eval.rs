//! Compile-time evaluation of `fn` calls: the values (and origins) of calls, and the
//! exact words of an evaluation error, nested calls and workloads built inside a `fn`
//! included.

use super::{compile_src, show};

const HEAD: &str = "target api = \"http://127.0.0.1:8088\"\n";

/// A file whose scenario's workload is `workload`, after `items`.
fn with(items: &str, workload: &str) -> String {
    format!("{items}\n{HEAD}scenario s {{\n  workload = {workload}\n  iteration {{ get(api, \"/\") }}\n}}\n")
}

#[test]
fn fn_calls_fold_to_their_values_and_origins() {
    let items = "param limit: int = 3\n\
        fn label(n: int, r: {a: duration}) -> string { \"n={n} a={r.a} len={[n, n].len()}\" }\n\
        fn twice(n: int) -> int { n * 2 }\n\
        fn plus(n: int) -> int { twice(n) + limit }\n\
        fn back(d: duration) -> duration { -d }\n\
        fn span(n: int) { n..twice(n) }\n\
        fn joined(a: string, b: string) -> string { a + b }\n\
        fn same(n: int) -> int { n }\n\
        fn outer(n: int) -> int { same(n) }\n\
        let a = label(3, {a: 2s})\n\
        let b = plus(4)\n\
        let c = back(2s)\n\
        let d = span(5)\n\
        let e = joined(\"x\", \"y\")\n\
        let f = outer(limit)\n\
        fn load(n: int) -> Workload { ramping_vus(stages: [1m -> n / 2, 1m -> n]) }\n\
        let w = load(10)\n";
    let src = with(items, "w");
    let c = compile_src(&src);
    let ir = c.ir.as_ref().unwrap_or_else(|| panic!("{}", show(&c)));
    let got: Vec<String> = ir
        .lets
        .iter()
        .map(|l| format!("{} = {:?} {:?}", l.name, l.value.konst, l.value.origins))
        .collect();
    let want = [
        "a = Some(Str(\"n=3 a=2s len=2\")) [Literal]",
        "b = Some(Int(11)) [Literal, Param(\"limit\")]",
        "c = Some(Duration(-2000.0)) [Literal]",
        "d = Some(Range(Int(5), Int(10))) [Literal]",
        "e = Some(Str(\"xy\")) [Literal]",
        "f = Some(Int(3)) [Param(\"limit\")]",
        "w = Some(Workload(RampingVus { start_vus: 0, stages: [Stage { duration_ms: 60000, target: 5.0 }, Stage { duration_ms: 60000, target: 10.0 }], graceful_ramp_down_ms: 30000 })) [Literal]",
    ];
    assert_eq!(got, want);
}

#[test]
fn an_evaluation_error_names_each_call_down_to_the_failing_step() {
    let items = "fn half(n: int) -> int { n / 0 }\n\
        fn quarter(n: int) -> int { half(n) / 2 }\n\
        fn neg(n: int) -> int { -n }\n\
        fn few(n: int) -> Workload { shared_iterations(vus: n, iterations: 1) }\n\
        fn many(n: int) -> Workload { few(n * 4) }\n\
        fn both(n: int) -> Workload { constant_vus(vus: n, duration: n * 0s) }\n";
    let cases = [
        ("quarter(4)", "E0704 evaluating `quarter` at compile time fails: evaluating `half` at compile time fails: evaluating `this expression` at compile time fails: division by zero"),
        ("constant_vus(vus: neg(-9223372036854775807 - 1), duration: 1s)", "E0704 evaluating `neg` at compile time fails: evaluating `this expression` at compile time fails: integer overflow"),
        ("many(1)", "E0704 evaluating `many` at compile time fails: evaluating `few` at compile time fails: iterations is out of range"),
        ("few(0)", "E0704 evaluating `few` at compile time fails: vus is out of range"),
        ("both(0)", "E0704 evaluating `both` at compile time fails: vus is out of range"),
    ];
    for (workload, want) in cases {
        let src = with(items, workload);
        let c = compile_src(&src);
        let got: Vec<String> = c
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| format!("{} {}", d.code, d.message))
            .collect();
        assert_eq!(got, vec![want.to_string()], "{workload}\n{}", show(&c));
    }
}

#[test]
fn folding_an_operator_on_constants_reports_at_the_operator() {
    let cases = [
        ("let x = 1 / 0\n", "1 / 0", "division by zero"),
        (
            "let x = -(-9223372036854775807 - 1)\n",
            "-(-9223372036854775807 - 1)",
            "integer overflow",
        ),
        (
            "let x = [1, 2, 9223372036854775807 + 1]\n",
            "9223372036854775807 + 1",
            "integer overflow",
        ),
        ("let x = \"a{1 % 0}\"\n", "1 % 0", "division by zero"),
    ];
    for (items, under, why) in cases {
        let src = with(items, "constant_vus(vus: 1, duration: 1s)");
        let c = compile_src(&src);
        let want = vec![("E0704".to_string(), under.to_string())];
        assert_eq!(super::errors(&src, &c), want, "{}", show(&c));
        let msg = format!("evaluating `this expression` at compile time fails: {why}");
        assert_eq!(c.diagnostics[0].message, msg);
    }
}

#[test]
fn a_string_known_at_compile_time_is_a_constant() {
    let src = with(
        "let n = 2\nlet s = \"n={n} {[n].len()} {{a: 1s}.a} {-n}\" + \"!\"\n",
        "constant_vus(vus: 1, duration: 1s)",
    );
    let c = compile_src(&src);
    let ir = c.ir.as_ref().unwrap_or_else(|| panic!("{}", show(&c)));
    let s = ir.lets.iter().find(|l| l.name == "s").map(|l| &l.value);
    let got = s.map(|e| format!("{:?} {:?}", e.kind, e.konst));
    let want = "Concat([Expr { kind: Const, ty: Str, konst: Some(Str(\"n=2 1 1s -2\"))";
    assert!(
        got.as_deref().is_some_and(|g| g.starts_with(want)),
        "{got:?}"
    );
    assert!(got.is_some_and(|g| g.ends_with("Some(Str(\"n=2 1 1s -2!\"))")));
}
