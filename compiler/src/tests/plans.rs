//! Plans of the repository's examples and test cases: they compile, deterministically,
//! and mean what they say.

use super::show;
use crate::{compile, CompileOptions, FsLoader};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn compile_file(path: &Path) -> crate::Compiled {
    let loader = FsLoader::new(path.parent().unwrap_or(Path::new(".")));
    let entry = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    compile(&entry, &loader, &CompileOptions::default())
}

fn load_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "load"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn every_example_and_valid_case_compiles() {
    let mut files = load_files(&repo().join("examples"));
    files.extend(load_files(&repo().join("tests/cases/valid")));
    files.extend(load_files(&repo().join("tests/cases/run")));
    for f in files {
        let c = compile_file(&f);
        assert!(c.plan.is_some(), "{}:\n{}", f.display(), show(&c));
    }
}

/// A large file: many flows, each called from a scenario.
pub(crate) fn big_source(flows: usize) -> String {
    let mut s = String::from("import std/checks { ok }\nimport std/data\nparam peak: int = 10\ntarget api = \"http://127.0.0.1:8088\"\nsecret key = env(\"KEY\")\nmetric m = trend(duration)\n");
    for i in 0..flows {
        s.push_str(&format!(
            "flow f{i}(id: int, name: string) -> string {{\n  let r = post(api, \"/api/items/{{id}}\", json: {{name: name, n: {i}}}, headers: {{authorization: \"Bearer {{key}}\"}})\n  check ok(r)\n  check \"status {i}\": r.status == 200\n  m.add(r.duration)\n  if r.status >= 500 {{\n    log(\"failed {{id}}\")\n  }} else {{\n    sleep 10ms\n  }}\n  let n = data.random_int(1, 100)\n  group \"g{i}\" {{\n    get(api, \"/api/x?n={{n}}\")\n  }}\n  return r.json(\"id\").string()\n}}\n"
        ));
    }
    s.push_str(
        "scenario s {\n  workload = ramping_vus(stages: [1m -> peak, 1m -> 0])\n  iteration {\n",
    );
    for i in 0..flows {
        s.push_str(&format!(
            "    let x{i} = f{i}(vu.id, \"n{{vu.iteration}}\")\n"
        ));
    }
    s.push_str("  }\n}\nthresholds {\n  http_req_duration: p(95) < 400ms\n}\n");
    s
}

#[test]
fn a_large_file_compiles_in_bounded_time() {
    let src = big_source(200);
    let start = std::time::Instant::now();
    let c = super::compile_src(&src);
    assert!(c.plan.is_some(), "{}", show(&c));
    assert_eq!(c.plan.as_ref().map(|p| p.flows.len()), Some(200));
    // Generous: a debug build on a busy machine.
    assert!(start.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn imported_files_bring_their_items() {
    let lib = "target api = \"http://127.0.0.1:9000\"\nlet greeting = \"hi\"\nflow login(email: string) -> string {\n  let r = post(api, \"/login\", json: {email: email})\n  return r.json(\"token\").string()\n}\nscenario ignored {\n  workload = constant_vus(vus: 1, duration: 1s)\n  iteration { login(\"x\") }\n}\n";
    let main = "import \"lib/auth.load\"\nimport \"lib/auth.load\" { greeting }\ntarget api = \"http://127.0.0.1:8088\"\nscenario s {\n  workload = constant_vus(vus: 1, duration: 1s)\n  let token = auth.login(\"u{vu.id}\")\n  iteration { get(api, \"/{greeting}\", headers: {t: token}) }\n}\n";
    let loader = crate::MemLoader::new()
        .with("main.load", main)
        .with("lib/auth.load", lib);
    let c = compile("main.load", &loader, &CompileOptions::default());
    let plan = c.plan.clone().unwrap_or_else(|| panic!("{}", show(&c)));
    let targets: Vec<(&str, &str)> = plan
        .targets
        .iter()
        .map(|t| (t.name.as_str(), t.url.as_str()))
        .collect();
    assert_eq!(
        targets,
        [
            ("api", "http://127.0.0.1:8088"),
            ("auth.api", "http://127.0.0.1:9000")
        ]
    );
    assert_eq!(
        plan.scenarios.len(),
        1,
        "an imported file's scenarios do not run"
    );
    assert_eq!(
        plan.flows
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>(),
        ["auth.login"]
    );
    assert!(c.sources.contains_key("lib/auth.load"));

    // Errors inside the imported file are reported in that file.
    let broken = lib.replace("r.json(\"token\").string()", "r.jsn(\"token\")");
    let loader = crate::MemLoader::new()
        .with("main.load", main)
        .with("lib/auth.load", broken);
    let c = compile("main.load", &loader, &CompileOptions::default());
    let files: Vec<(&str, &str)> = c
        .diagnostics
        .iter()
        .map(|d| (d.code.as_str(), d.file.as_str()))
        .collect();
    assert_eq!(files, [("E0305", "lib/auth.load")], "{}", show(&c));
}

#[test]
fn setup_values_are_setups_top_level_lets_in_order() {
    let src = "target api = \"http://127.0.0.1:8088\"\nsetup {\n  let r = post(api, \"/reset\")\n  require r.status == 204\n  let token = r.header(\"x-token\")\n  group \"g\" { let inner = 1 }\n}\nscenario s {\n  workload = per_vu_iterations(vus: 1, iterations: 1)\n  iteration { get(api, \"/\", headers: {t: setup.token}) }\n}\n";
    let c = super::compile_src(src);
    let plan = c.plan.clone().unwrap_or_else(|| panic!("{}", show(&c)));
    assert_eq!(plan.setup_values, ["r", "token"]);
    let setup = plan.setup.clone().expect("setup");
    let lets: Vec<u32> = setup
        .body
        .iter()
        .filter_map(|s| match s {
            volley_plan::Stmt::Let { slot, .. } => Some(*slot),
            _ => None,
        })
        .collect();
    assert_eq!(lets.len(), 2);
    let returned = match setup.body.last() {
        Some(volley_plan::Stmt::Return(Some(volley_plan::Expr::List(xs)))) => xs.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        returned,
        lets.iter()
            .map(|s| volley_plan::Expr::Local(*s))
            .collect::<Vec<_>>()
    );
    let json = volley_plan::to_json(&plan);
    assert!(json.contains("\"setup\": 1"), "setup.token is value 1");
}

/// `redirects:` reaches the plan per request: a constant folded, a value known at run
/// time as its expression, nothing without it (the scenario's `max_redirects` then).
#[test]
fn a_request_redirect_limit_is_in_the_plan() {
    use volley_plan::program::{walk_exprs, Expr};
    use volley_plan::Value;
    let src = "target api = \"http://127.0.0.1:8088\"\n\
               scenario s {\n  workload = per_vu_iterations(vus: 1, iterations: 1)\n  \
               http = {max_redirects: 3}\n  iteration {\n    \
               get(api, \"/a\", redirects: 0)\n    \
               request(\"PURGE\", api, \"/b\", redirects: 1000)\n    \
               post(api, \"/c\", redirects: vu.id % 3)\n    \
               get(api, \"/d\")\n  }\n}\n";
    let c = super::compile_src(src);
    let plan = c.plan.as_ref().unwrap_or_else(|| panic!("{}", show(&c)));
    assert_eq!(plan.scenarios[0].http.max_redirects, 3);
    let mut seen = Vec::new();
    walk_exprs(&plan.scenarios[0].iteration, &mut |e| {
        if let Expr::Request(r) = e {
            seen.push((r.name.clone(), r.redirects.clone()));
        }
    });
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(seen[0], ("/a".into(), Some(Expr::Const(Value::Int(0)))));
    assert_eq!(seen[1], ("/b".into(), Some(Expr::Const(Value::Int(1000)))));
    assert!(
        matches!(&seen[2].1, Some(e) if !matches!(e, Expr::Const(_))),
        "{seen:?}"
    );
    assert_eq!(seen[3], ("/d".into(), None));
    // Absent, it is not written at all: plans without it are unchanged.
    let json = serde_json::to_string(plan).unwrap_or_default();
    assert_eq!(json.matches("\"redirects\"").count(), 3, "{json}");
}
