//! The standard library compiles with no diagnostics, and its pieces work: profiles
//! evaluate to workloads, checks and data helpers expand in place (keeping their
//! origins), auth flows are instantiated per target.

use super::{compile_src, show};
use crate::ir::{ExprKind, Intrinsic, Origin, StmtKind};
use crate::{CompileOptions, MemLoader};
use volley_plan::Workload;

#[test]
fn every_stdlib_item_checks_clean() {
    let src: String = crate::modules::STD
        .iter()
        .map(|(name, _)| format!("import std/{name}\n"))
        .collect();
    assert_eq!(crate::modules::STD.len(), 7);
    let loader = MemLoader::new().with("all.load", src.as_str());
    let loaded = crate::modules::load("all.load", &loader).expect("loads");
    assert_eq!(loaded.modules.len(), 8);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let opts = CompileOptions::default();
    let mut c = crate::checker::Checker::new(loaded.modules, &loader, &opts, "all".into());
    c.check_all_modules();
    let diags: Vec<_> = c
        .reports
        .list
        .iter()
        .map(|(m, d)| (m, d.code.clone(), d.message.clone()))
        .collect();
    assert!(diags.is_empty(), "{diags:?}");
    for (name, _) in crate::modules::STD {
        let m = c.modules.iter().find(|m| m.name == *name).expect("loaded");
        assert!(!m.values.is_empty(), "std/{name} has items");
    }
}

fn workload_of(src: &str) -> Workload {
    let c = compile_src(src);
    let plan = c.plan.clone().unwrap_or_else(|| panic!("{}", show(&c)));
    plan.scenarios[0].workload.clone()
}

fn with_workload(w: &str) -> String {
    format!("import std/profiles\ntarget api = \"http://127.0.0.1:8088\"\nscenario s {{\n  workload = {w}\n  iteration {{ get(api, \"/\") }}\n}}\n")
}

#[test]
fn profiles_are_workloads() {
    let stress = workload_of(&with_workload(
        "profiles.stress(peak: 200, ramp: 2m, hold: 5m)",
    ));
    let Workload::RampingVus { stages, .. } = stress else {
        panic!("{stress:?}")
    };
    let targets: Vec<f64> = stages.iter().map(|s| s.target).collect();
    assert_eq!(targets, vec![100.0, 100.0, 200.0, 200.0, 0.0]);
    assert_eq!(stages[0].duration_ms, 120_000);
    assert_eq!(
        workload_of(&with_workload("profiles.smoke()")),
        Workload::ConstantVus {
            vus: 1,
            duration_ms: 60_000
        }
    );
    let Workload::RampingVus { stages, .. } =
        workload_of(&with_workload("profiles.spike(peak: 50)"))
    else {
        panic!()
    };
    assert_eq!(stages[0].target, 50.0);
    let Workload::RampingVus { stages, .. } =
        workload_of(&with_workload("profiles.soak(vus: 20, duration: 1h)"))
    else {
        panic!()
    };
    assert_eq!(stages[1].duration_ms, 3_600_000);
    let Workload::RampingArrivalRate {
        stages, max_vus, ..
    } = workload_of(&with_workload(
        "profiles.breakpoint(max_rate: 500/s, duration: 10m)",
    ))
    else {
        panic!()
    };
    assert_eq!((stages[0].target, max_vus), (500.0, 2000));
    let Workload::RampingVus { stages, .. } = workload_of(&with_workload(
        "profiles.load(peak: 10, ramp: 10s, hold: 30s)",
    )) else {
        panic!()
    };
    assert_eq!(stages.len(), 3);
}

#[test]
fn a_profile_with_bad_arguments_reports_at_the_call() {
    let src = with_workload("profiles.smoke(vus: 0)");
    let c = compile_src(&src);
    let errs = super::errors(&src, &c);
    assert_eq!(
        errs,
        vec![("E0704".to_string(), "profiles.smoke(vus: 0)".to_string())],
        "{}",
        show(&c)
    );
}

#[test]
fn checks_expand_in_place() {
    let src = "import std/checks { ok, created, json_ok, fast }\ntarget api = \"http://127.0.0.1:8088\"\nscenario s {\n  workload = constant_vus(vus: 1, duration: 1s)\n  iteration {\n    let r = get(api, \"/\")\n    check ok(r)\n    check created(r)\n    check json_ok(r)\n    check fast(r, 300ms)\n    check fast(r)\n  }\n}\n";
    let c = compile_src(src);
    let plan = c.plan.clone().unwrap_or_else(|| panic!("{}", show(&c)));
    assert!(
        plan.flows.is_empty(),
        "one-return flows are expanded, not called"
    );
    let names: Vec<String> = plan.scenarios[0]
        .iteration
        .iter()
        .filter_map(|s| match s {
            volley_plan::Stmt::Check { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        names,
        [
            "ok(r)",
            "created(r)",
            "json_ok(r)",
            "fast(r, 300ms)",
            "fast(r)"
        ]
    );
}

#[test]
fn data_helpers_keep_their_origins() {
    let src = "import std/data\ntarget api = \"http://127.0.0.1:8088\"\nscenario s {\n  workload = constant_vus(vus: 1, duration: 1s)\n  iteration {\n    let id = data.random_int(1, 100)\n    let u = data.uuid()\n    let p = data.pick([\"a\", \"b\", \"c\"])\n    let e = data.random_email()\n    let t = data.random_string(8)\n    get(api, \"/{id}/{u}/{p}/{e}/{t}\")\n  }\n}\n";
    let c = compile_src(src);
    let ir = c.ir.clone().unwrap_or_else(|| panic!("{}", show(&c)));
    let lets: Vec<(&str, &crate::ir::Expr)> = ir.scenarios[0]
        .iteration
        .iter()
        .filter_map(|s| match &s.kind {
            StmtKind::Let { name, value, .. } => Some((name.as_str(), value)),
            _ => None,
        })
        .collect();
    let origin = |n: &str| {
        lets.iter()
            .find(|(m, _)| *m == n)
            .map(|(_, e)| e.origins.clone())
            .unwrap_or_default()
    };
    assert!(
        origin("id").contains(&Origin::Random {
            intrinsic: Intrinsic::RandomInt,
            space: Some(100)
        }),
        "{:?}",
        origin("id")
    );
    assert!(origin("p").contains(&Origin::Random {
        intrinsic: Intrinsic::RandomPick,
        space: Some(3)
    }));
    assert!(origin("t").contains(&Origin::Random {
        intrinsic: Intrinsic::RandomString,
        space: Some(62u64.pow(8))
    }));
    let (_, p) = lets.iter().find(|(m, _)| *m == "p").unwrap();
    assert_eq!(
        p.ty,
        crate::types::Type::Str,
        "pick of a list of strings is a string"
    );
    assert!(matches!(p.kind, ExprKind::Inlined { .. }));
}

#[test]
fn auth_flows_are_instantiated_per_target() {
    let src = "import std/auth\ntarget shop = \"http://127.0.0.1:8088\"\ntarget idp = \"http://127.0.0.1:9000\"\nsecret client_secret = env(\"CLIENT_SECRET\")\nscenario s {\n  workload = constant_vus(vus: 1, duration: 1s)\n  let token = auth.client_credentials(idp, \"/oauth/token\", \"my-client\", client_secret)\n  let t2 = auth.bearer_login(shop, \"/api/login\", \"a@example.com\", \"pw\")\n  iteration {\n    get(shop, \"/api/me\", headers: auth.bearer(token))\n    get(shop, \"/api/me\", headers: auth.bearer(t2))\n  }\n}\n";
    let c = compile_src(src);
    let plan = c.plan.clone().unwrap_or_else(|| panic!("{}", show(&c)));
    let names: Vec<&str> = plan.flows.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["auth.client_credentials[idp]", "auth.bearer_login[shop]"]
    );
    let json = volley_plan::to_json(&plan);
    assert!(
        json.contains("\"target\": 1"),
        "the token request goes to idp"
    );
    // A secret passed as the path is refused through the flow's parameter.
    let bad = src.replace(
        "\"/oauth/token\", \"my-client\", client_secret",
        "client_secret, \"my-client\", \"x\"",
    );
    let c = compile_src(&bad);
    let errs = super::errors(&bad, &c);
    assert_eq!(
        errs,
        vec![("E0501".to_string(), "client_secret".to_string())],
        "{}",
        show(&c)
    );
}

#[test]
fn the_std_item_table_matches_the_sources() {
    for (name, source) in crate::modules::STD {
        let (ast, diags) = volley_syntax::parse(source);
        assert!(diags.is_empty(), "std/{name}: {diags:?}");
        let ast = ast.expect("parses");
        let mut items: Vec<String> = ast
            .items
            .iter()
            .filter_map(crate::modules::item_name)
            .map(|n| n.name.clone())
            .collect();
        let mut table: Vec<String> = crate::modules::STD_ITEMS
            .iter()
            .find(|(m, _)| m == name)
            .map(|(_, xs)| xs.iter().map(|x| x.to_string()).collect())
            .unwrap_or_default();
        items.sort();
        table.sort();
        assert_eq!(items, table, "std/{name}");
    }
}

#[test]
fn std_names_used_without_import_say_which_import() {
    let src = "target api = \"http://127.0.0.1:8088\"\nscenario s {\n  workload = constant_vus(vus: 1, duration: 1s)\n  iteration { check ok(get(api, \"/\")) }\n}\n";
    let c = compile_src(src);
    assert_eq!(
        super::errors(src, &c),
        vec![("E0101".to_string(), "ok".to_string())]
    );
    assert_eq!(
        c.diagnostics[0].help.as_deref(),
        Some("it is in the standard library: add `import std/checks { ok }`")
    );
    let src = "target api = \"http://127.0.0.1:8088\"\nscenario s {\n  workload = profiles.smoke()\n  iteration { get(api, \"/\") }\n}\n";
    let c = compile_src(src);
    assert_eq!(
        super::errors(src, &c),
        vec![("E0101".to_string(), "profiles".to_string())],
        "{}",
        show(&c)
    );
    assert!(c.diagnostics[0]
        .help
        .as_deref()
        .unwrap_or("")
        .contains("import std/profiles"));
}
