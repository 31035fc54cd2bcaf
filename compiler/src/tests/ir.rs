//! The typed IR answers "where did this value come from?" for lint rules.

use super::{compile_src, show};
use crate::ir::{Builtin, Origin, Pick, StmtKind};

fn iteration_lets(src: &str) -> Vec<(String, Vec<Origin>)> {
    let c = compile_src(src);
    let ir = c.ir.clone().unwrap_or_else(|| panic!("{}", show(&c)));
    let s = &ir.scenarios[0];
    s.init
        .iter()
        .chain(s.iteration.iter())
        .filter_map(|st| match &st.kind {
            StmtKind::Let { name, value, .. } => Some((name.clone(), value.origins.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn origins_name_identities_data_params_and_responses() {
    let src = "param domain: string = \"example.com\"\ntarget api = \"http://127.0.0.1:8088\"\ndata users = csv(\"data/users.csv\", pick: unique)\nscenario s {\n  workload = constant_vus(vus: 5, duration: 10s)\n  let user = users.next()\n  iteration {\n    let local = \"user{vu.local_id}@{domain}\"\n    let global = \"user{vu.id}\"\n    let r = post(api, \"/login\", json: {email: user.email})\n    let token = r.json(\"token\").string()\n    let pod = runner.index\n  }\n}\n";
    let lets = iteration_lets(src);
    let get = |n: &str| {
        lets.iter()
            .find(|(m, _)| m == n)
            .map(|(_, o)| o.clone())
            .unwrap_or_default()
    };
    assert_eq!(
        get("user"),
        vec![Origin::Data {
            source: 0,
            pick: Pick::Unique
        }]
    );
    assert_eq!(
        get("local"),
        vec![
            Origin::Literal,
            Origin::Param("domain".into()),
            Origin::Identity(Builtin::VuLocalId)
        ]
    );
    assert!(get("global").contains(&Origin::Identity(Builtin::VuId)));
    assert_eq!(get("r"), vec![Origin::Response]);
    assert_eq!(get("token"), vec![Origin::Literal, Origin::Response]);
    assert_eq!(get("pod"), vec![Origin::Identity(Builtin::RunnerIndex)]);
}

#[test]
fn flow_results_carry_their_arguments_origins() {
    let src = "target api = \"http://127.0.0.1:8088\"\nsecret key = env(\"KEY\")\nflow tag(x: string) -> string {\n  let r = get(api, \"/\")\n  return \"{x}-{r.body}\"\n}\nscenario s {\n  workload = constant_vus(vus: 1, duration: 1s)\n  iteration {\n    let t = tag(\"u{test.iteration}\")\n    let k = tag(key)\n    get(api, \"/\", headers: {k: k})\n  }\n}\n";
    let lets = iteration_lets(src);
    let t = &lets.iter().find(|(n, _)| n == "t").unwrap().1;
    assert!(
        t.contains(&Origin::Identity(Builtin::TestIteration)) && t.contains(&Origin::Response),
        "{t:?}"
    );
    let k = &lets.iter().find(|(n, _)| n == "k").unwrap().1;
    assert!(
        k.contains(&Origin::Secret(0)),
        "a flow's result carries its argument's secret: {k:?}"
    );
    // ... which then may not go into a URL.
    let bad = src.replace("get(api, \"/\", headers: {k: k})", "get(api, \"/{k}\")");
    let c = compile_src(&bad);
    assert_eq!(
        super::errors(&bad, &c),
        vec![("E0501".to_string(), "k".to_string())],
        "{}",
        show(&c)
    );
}

#[test]
fn expressions_know_their_types_and_places() {
    let src = "target api = \"http://127.0.0.1:8088\"\nscenario s {\n  workload = constant_vus(vus: 1, duration: 1s)\n  iteration {\n    let r = get(api, \"/\")\n    let d = r.duration\n  }\n}\n";
    let c = compile_src(src);
    let ir = c.ir.clone().unwrap_or_else(|| panic!("{}", show(&c)));
    let StmtKind::Let { value, .. } = &ir.scenarios[0].iteration[1].kind else {
        panic!()
    };
    assert_eq!(value.ty, crate::types::Type::Duration);
    assert_eq!(&src[value.loc.span.start..value.loc.span.end], "r.duration");
    assert_eq!(value.loc.module, 0);
    assert_eq!(ir.targets[0].origins, vec![Origin::Literal]);
}
