//! `var`, assignments and loops (issue 17): what the checker carries through them (types,
//! origins, secret taint) and how they lower to the plan.

use super::{compile_src, errors, show};
use crate::ir::{Builtin, Origin, StmtKind};

const HEAD: &str = "secret token = env(\"API_TOKEN\")\ntarget api = \"http://127.0.0.1:8088\"\n";

fn scenario(init: &str, body: &str) -> String {
    format!("{HEAD}scenario s {{\n  workload = constant_vus(vus: 2, duration: 10s)\n{init}\n  iteration {{\n{body}\n  }}\n}}\n")
}

#[test]
fn a_var_built_from_local_id_stays_per_pod_after_an_increment() {
    let src = scenario(
        "  var id = vu.local_id",
        "    let shown = \"user{id}\"\n    id = id + 1\n    get(api, \"/u/{shown}\")",
    );
    let c = compile_src(&src);
    let ir = c.ir.clone().unwrap_or_else(|| panic!("{}", show(&c)));
    let s = &ir.scenarios[0];
    let StmtKind::Let { value, .. } = &s.iteration[0].kind else {
        panic!("{:?}", s.iteration[0].kind)
    };
    assert!(
        value
            .origins
            .contains(&Origin::Identity(Builtin::VuLocalId)),
        "{:?}",
        value.origins
    );
    let StmtKind::Assign { value, .. } = &s.iteration[1].kind else {
        panic!("{:?}", s.iteration[1].kind)
    };
    assert!(value
        .origins
        .contains(&Origin::Identity(Builtin::VuLocalId)));
}

#[test]
fn a_secret_assigned_in_a_loop_taints_reads_above_the_assignment() {
    // The `log` runs before the assignment in the first round only.
    let src = scenario(
        "",
        "    var msg = \"hi\"\n    for i in 0..3 {\n      log(msg)\n      msg = \"Bearer {token}\"\n    }",
    );
    let c = compile_src(&src);
    assert_eq!(
        errors(&src, &c),
        vec![("E0504".to_string(), "msg".to_string())],
        "{}",
        show(&c)
    );
    // Across the iteration's rounds too: a scenario-level var assigned at the end.
    let src = scenario("  var last = \"none\"", "    log(last)\n    last = token");
    let c = compile_src(&src);
    assert_eq!(
        errors(&src, &c),
        vec![("E0504".to_string(), "last".to_string())],
        "{}",
        show(&c)
    );
    // No assignment of the secret: no error, and no second round is needed.
    let src = scenario("  var last = \"none\"", "    log(last)\n    last = \"x\"");
    let c = compile_src(&src);
    assert!(errors(&src, &c).is_empty(), "{}", show(&c));
}

#[test]
fn assigning_a_let_points_at_it_and_says_var() {
    let src = scenario("  let fixed = 1", "    fixed = 2");
    let c = compile_src(&src);
    assert_eq!(
        errors(&src, &c),
        vec![("E0711".to_string(), "fixed".to_string())],
        "{}",
        show(&c)
    );
    let d = c.diagnostics.iter().find(|d| d.code == "E0711").unwrap();
    assert!(
        d.help.as_deref().unwrap_or("").contains("var fixed ="),
        "{d:?}"
    );
    let second = d.labels.get(1).expect("a label at the `let`");
    assert_eq!(&src[second.span.start..second.span.end], "fixed");
    assert!(second.span.start < d.span().unwrap().start);
}

#[test]
fn assignments_keep_the_var_type_and_units() {
    let src = scenario(
        "  var wait = 1s\n  var n = 0",
        "    wait = 5\n    wait += 250ms\n    n -= 1\n    n = \"x\"",
    );
    let c = compile_src(&src);
    let codes: Vec<String> = errors(&src, &c).into_iter().map(|(c, _)| c).collect();
    assert_eq!(codes, ["E0202", "E0201"], "{}", show(&c));
}

#[test]
fn loops_lower_to_the_plan() {
    let src = scenario(
        "  var total = 0",
        "    for i in 1..4 { total += i }\n    for x in [1, 2] { if x == 2 { break } }\n    \
         let r = get(api, \"/api/products\")\n    for item in r.json(\"items\") { continue }\n    \
         while total < 100 { total = total * 2 }",
    );
    let c = compile_src(&src);
    let plan = c.plan.clone().unwrap_or_else(|| panic!("{}", show(&c)));
    let json = serde_json::to_string(&plan.scenarios[0]).unwrap();
    for part in [
        "\"for_range\"",
        "\"for_each\"",
        "\"while\"",
        "\"assign\"",
        "\"break\"",
        "\"continue\"",
    ] {
        assert!(json.contains(part), "{part} in {json}");
    }
}
