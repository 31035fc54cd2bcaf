//! JSON navigation and indexing: `.name` and `[i]` on json values and lists, their
//! types, the folding of constant steps into a `json(path)` read, and the errors.

use super::{compile_src, errors, show};

fn scenario(lets: &str, body: &str) -> String {
    format!(
        "target api = \"http://127.0.0.1:8088\"\n{lets}\nscenario s {{\n  workload = constant_vus(vus: 2, duration: 10s)\n  iteration {{\n{body}\n  }}\n}}\n"
    )
}

fn plan_json(src: &str) -> String {
    let c = compile_src(src);
    let Some(plan) = &c.plan else {
        panic!("no plan:\n{}", show(&c));
    };
    serde_json::to_string(plan).unwrap()
}

#[test]
fn constant_steps_fold_into_the_json_path() {
    let src = scenario(
        "",
        "let r = get(api, \"/\")\ncheck r.json().items[0].id.int() == 1\ncheck r.json(\"a\").b[\"c\"].exists()",
    );
    let plan = plan_json(&src);
    assert!(plan.contains("\"items[0].id\""), "{plan}");
    assert!(plan.contains("\"a.b.c\""), "{plan}");
    assert!(!plan.contains("\"index\""), "{plan}");
}

#[test]
fn steps_on_a_let_or_run_time_indexes_are_index_calls() {
    let src = scenario(
        "",
        "let p = get(api, \"/\").json()\nlet i = p.page.int()\ncheck p.items[i].exists()\ncheck p[\"a-b\"].len() > 0\ncheck p.items.pick().id.exists()",
    );
    let plan = plan_json(&src);
    assert!(plan.contains("\"index\""), "{plan}");
    assert!(plan.contains("\"pick\""), "{plan}");
    assert!(plan.contains("\"exists\""), "{plan}");
}

#[test]
fn list_indexes_are_typed_and_constant_ones_fold() {
    let ok = scenario(
        "let sizes = [10, 20, 50]\nlet first = sizes[0] + 1",
        "get(api, \"/?n={sizes[vu.iteration % 3]}&f={first}\")",
    );
    let c = compile_src(&ok);
    assert!(errors(&ok, &c).is_empty(), "{}", show(&c));
    let picked = scenario("", "let x = [1, 2, 3].pick() + 1\nlog(\"{x}\")");
    let c = compile_src(&picked);
    assert!(errors(&picked, &c).is_empty(), "{}", show(&c));
}

#[test]
fn a_constant_index_outside_a_constant_list_is_a_compile_error() {
    let src = scenario(
        "let sizes = [10, 20]\nlet third = sizes[2]",
        "log(\"{third}\")",
    );
    let c = compile_src(&src);
    let errs = errors(&src, &c);
    assert_eq!(errs.len(), 1, "{}", show(&c));
    assert_eq!(errs[0].0, "E0704");
    assert!(show(&c).contains("outside a list of 2"), "{}", show(&c));
}

#[test]
fn indexing_what_cannot_be_indexed_is_e0212() {
    for (body, under, help) in [
        (
            "let r = get(api, \"/\")\ncheck r.status[0] == 1",
            "r.status",
            "only lists",
        ),
        (
            "let r = get(api, \"/\")\nlog(\"{r[0]}\")",
            "r",
            "r.json()[0]",
        ),
        ("let s = \"abc\"\nlog(\"{s[0]}\")", "s", "contains"),
    ] {
        let src = scenario("", body);
        let c = compile_src(&src);
        assert_eq!(
            errors(&src, &c),
            vec![("E0212".to_string(), under.to_string())],
            "{}",
            show(&c)
        );
        assert!(show(&c).contains(help), "{}", show(&c));
    }
}

#[test]
fn an_index_of_the_wrong_type_is_e0213() {
    for (lets, body, under) in [
        ("let xs = [1, 2]", "log(\"{xs[\"a\"]}\")", "\"a\""),
        (
            "",
            "let p = get(api, \"/\").json()\ncheck p.items[1.5].exists()",
            "1.5",
        ),
        (
            "",
            "let p = get(api, \"/\").json()\ncheck p.items[p.page].exists()",
            "p.page",
        ),
    ] {
        let src = scenario(lets, body);
        let c = compile_src(&src);
        assert_eq!(
            errors(&src, &c),
            vec![("E0213".to_string(), under.to_string())],
            "{}",
            show(&c)
        );
    }
}

#[test]
fn json_methods_are_typed() {
    let src = scenario(
        "",
        "let p = get(api, \"/\").json()\ncheck p.items.len() == \"3\"",
    );
    let c = compile_src(&src);
    assert_eq!(errors(&src, &c)[0].0, "E0201", "{}", show(&c));
    let src = scenario("", "let p = get(api, \"/\").json()\ncheck p.items.exist()");
    let c = compile_src(&src);
    assert_eq!(errors(&src, &c)[0].0, "E0305", "{}", show(&c));
    assert!(show(&c).contains("exists"), "{}", show(&c));
}
