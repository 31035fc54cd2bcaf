//! Linter unit tests: the registry's invariants, every rule's documented bad example fires
//! its code and its good example does not, and `volley.toml` parsing. The rules' own
//! tests sit beside them; the data-driven cases are in `tests/cases/lint/`.

use super::{docs, lint, Config, RULES};
use crate::{compile, CompileOptions, MemLoader};
use volley_syntax::{Diagnostic, Severity};

/// The example data files the docs and unit tests read: `data/users.csv` (50 users),
/// `data/orders.json` (50 orders), `data/ids.lines` (10 lines).
fn loader(src: &str) -> MemLoader {
    let mut users = String::from("email,password\n");
    let mut orders = String::from("[");
    let mut ids = String::new();
    for i in 1..=50 {
        users.push_str(&format!("user{i}@example.com,pw-{i:04}\n"));
        if i > 1 {
            orders.push(',');
        }
        orders.push_str(&format!("{{\"sku\": \"SKU-{i}\", \"qty\": 1}}"));
        if i <= 10 {
            ids.push_str(&format!("id-{i}\n"));
        }
    }
    orders.push(']');
    MemLoader::new()
        .with("test.load", src)
        .with("data/users.csv", users)
        .with("data/orders.json", orders)
        .with("data/ids.lines", ids)
}

/// Every lint finding of `src` (which must compile).
pub(crate) fn findings(src: &str) -> Vec<Diagnostic> {
    let c = compile("test.load", &loader(src), &CompileOptions::default());
    let (Some(ir), Some(plan)) = (c.ir.as_ref(), c.plan.as_ref()) else {
        panic!("does not compile:\n{src}\n{:#?}", c.diagnostics);
    };
    lint(ir, plan, &Config::default())
}

/// The codes of every finding of `src`.
pub(crate) fn codes(src: &str) -> Vec<String> {
    findings(src).into_iter().map(|d| d.code).collect()
}

#[test]
fn codes_and_names_are_unique_and_well_formed() {
    let mut seen = std::collections::BTreeSet::new();
    for r in RULES {
        assert!(
            r.code.len() == 5
                && r.code.starts_with('L')
                && r.code[1..].chars().all(|c| c.is_ascii_digit()),
            "{}",
            r.code
        );
        assert!(seen.insert(r.code), "duplicate code {}", r.code);
        assert!(seen.insert(r.name), "duplicate name {}", r.name);
        assert!(!r.summary.is_empty());
    }
    let mut sorted: Vec<&str> = RULES.iter().map(|r| r.code).collect();
    sorted.sort();
    assert_eq!(
        sorted,
        RULES.iter().map(|r| r.code).collect::<Vec<_>>(),
        "registry in code order"
    );
}

#[test]
fn every_rule_documents_what_why_bad_and_good() {
    for r in RULES {
        let doc = r.doc();
        assert!(
            doc.contains("**What it finds.**"),
            "{}: no 'What it finds'",
            r.code
        );
        assert!(
            doc.contains("**Why it matters.**"),
            "{}: no 'Why it matters'",
            r.code
        );
        let ex = docs::examples(&doc);
        assert!(
            ex.bad.is_some() && ex.good.is_some(),
            "{}: needs a bad and a good example",
            r.code
        );
    }
}

#[test]
fn documented_bad_examples_fire_and_good_ones_do_not() {
    let mut failures = Vec::new();
    for r in RULES {
        let ex = docs::examples(&r.doc());
        let bad = codes(ex.bad.as_deref().unwrap_or(""));
        if !bad.iter().any(|c| c == r.code) {
            failures.push(format!(
                "{}: bad example does not fire (found {bad:?})",
                r.code
            ));
        }
        let good = codes(ex.good.as_deref().unwrap_or(""));
        if !good.is_empty() {
            failures.push(format!("{}: good example is not clean: {good:?}", r.code));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn volley_toml_sets_severities_and_refuses_typos() {
    let c = Config::from_toml("[lints]\nL0114 = \"off\"\nL0101 = \"warning\"\n").unwrap();
    assert_eq!(c.severities.get("L0114"), Some(&None));
    assert_eq!(c.severities.get("L0101"), Some(&Some(Severity::Warning)));
    assert!(Config::from_toml("[lints]\nL9999 = \"off\"\n").is_err());
    assert!(Config::from_toml("[lints]\nL0101 = \"loud\"\n").is_err());
    assert!(Config::from_toml("[lint]\nL0101 = \"off\"\n").is_err());
    assert_eq!(Config::from_toml("").unwrap(), Config::default());
}

#[test]
fn config_changes_severity_and_turns_rules_off() {
    let src = "target api = \"http://127.0.0.1:8088\"\nscenario s {\n  workload = constant_vus(vus: 2, duration: 1s)\n  iteration {\n    get(api, \"/\")\n    sleep 1s\n  }\n}\n";
    let c = compile("test.load", &loader(src), &CompileOptions::default());
    let (ir, plan) = (c.ir.unwrap(), c.plan.unwrap());
    let default = lint(&ir, &plan, &Config::default());
    assert_eq!(default.len(), 1);
    assert_eq!(
        (default[0].code.as_str(), default[0].severity),
        ("L0114", Severity::Warning)
    );
    let err = Config::from_toml("[lints]\nL0114 = \"error\"\n").unwrap();
    assert_eq!(lint(&ir, &plan, &err)[0].severity, Severity::Error);
    let off = Config::from_toml("[lints]\nL0114 = \"off\"\n").unwrap();
    assert!(lint(&ir, &plan, &off).is_empty());
}

#[test]
fn allow_comments_silence_one_line_and_need_a_reason() {
    let body = |allow: &str| {
        format!("target api = \"http://127.0.0.1:8088\"\nthresholds {{ http_req_failed: rate < 1% }}\nscenario s {{\n  workload = constant_vus(vus: 2, duration: 1s)\n  iteration {{\n    {allow}\n    post(api, \"/login\", json: {{user: \"alice\"}})\n    sleep 1s\n  }}\n}}\n")
    };
    assert_eq!(codes(&body("")), vec!["L0101"]);
    assert!(codes(&body("// volley: allow(L0101) one shared demo account")).is_empty());
    assert_eq!(codes(&body("// volley: allow(L0101)")), vec!["L0001"]);
    assert_eq!(
        codes(&body("// volley: allow(L0110) wrong code")),
        vec!["L0003", "L0101"]
    );
    assert_eq!(
        codes(&body("// volley: allow(L0101, L9000) typo")),
        vec!["L0002"]
    );
}
