//! One test per diagnostic (or close variants): the code, and the exact source text under
//! its primary span. Each source has exactly one mistake, so each must give exactly one
//! error (no cascades).

use super::{compile_src, compile_with, errors, show};

const HEAD: &str = "target api = \"http://127.0.0.1:8088\"\n";

/// A scenario around `body` (statements of the iteration).
fn scenario(body: &str) -> String {
    format!("{HEAD}scenario s {{\n  workload = constant_vus(vus: 2, duration: 10s)\n  iteration {{\n{body}\n  }}\n}}\n")
}

#[track_caller]
fn assert_one(src: &str, code: &str, under: &str) {
    let c = compile_src(src);
    let errs = errors(src, &c);
    assert_eq!(
        errs,
        vec![(code.to_string(), under.to_string())],
        "\n{src}\n{}",
        show(&c)
    );
    let d = c
        .diagnostics
        .iter()
        .find(|d| d.is_error())
        .map(|d| d.help.clone());
    assert!(
        d.flatten().is_some_and(|h| !h.is_empty()),
        "every error has a help"
    );
}

#[track_caller]
fn assert_help(src: &str, needle: &str) {
    let c = compile_src(src);
    let helps: Vec<String> = c
        .diagnostics
        .iter()
        .filter_map(|d| d.help.clone())
        .collect();
    assert!(
        helps.iter().any(|h| h.contains(needle)),
        "no help with `{needle}`:\n{}",
        show(&c)
    );
}

// ---- E01 names ----

#[test]
fn unknown_variable_suggests_the_close_name() {
    let src = scenario("    let r = get(api, \"/\")\n    check rr.status == 200");
    assert_one(&src, "E0101", "rr");
    assert_help(&src, "did you mean `r`?");
}

#[test]
fn every_error_of_a_file_is_reported() {
    let src = scenario("    get(apii, \"/\")\n    get(ap, \"/\")\n    sleep 5");
    let c = compile_src(&src);
    let codes: Vec<String> = errors(&src, &c)
        .into_iter()
        .map(|(c, t)| format!("{c} {t}"))
        .collect();
    assert_eq!(
        codes,
        vec!["E0101 apii", "E0101 ap", "E0202 5"],
        "{}",
        show(&c)
    );
}

#[test]
fn duplicate_definitions() {
    let src = format!(
        "{HEAD}target api = \"http://127.0.0.1:9090\"\n{}",
        &scenario("    get(api, \"/\")")[HEAD.len()..]
    );
    assert_one(&src, "E0102", "api");
    let dup_flow = format!(
        "flow a() {{ get(api, \"/\") }}\nflow a() {{ get(api, \"/\") }}\n{}",
        scenario("    a()")
    );
    assert_one(&dup_flow, "E0102", "a");
}

#[test]
fn unknown_module_and_imported_name() {
    assert_one(
        &format!("import std/profile\n{}", scenario("    get(api, \"/\")")),
        "E0103",
        "std/profile",
    );
    assert_one(
        &format!(
            "import std/checks {{ okay }}\n{}",
            scenario("    get(api, \"/\")")
        ),
        "E0104",
        "okay",
    );
    assert_one(
        &format!(
            "import \"missing.load\"\n{}",
            scenario("    get(api, \"/\")")
        ),
        "E0103",
        "\"missing.load\"",
    );
    let member = format!("import std/profiles\n{HEAD}scenario s {{\n  workload = profiles.strss(peak: 10)\n  iteration {{ get(api, \"/\") }}\n}}\n");
    assert_one(&member, "E0104", "strss");
}

#[test]
fn requests_only_go_to_declared_targets() {
    let src = "scenario s {\n  workload = constant_vus(vus: 2, duration: 10s)\n  iteration {\n    get(\"http://evil.example.com\", \"/\")\n  }\n}\n";
    assert_one(src, "E0105", "\"http://evil.example.com\"");
    assert_help(src, "declare `target NAME = \"http://evil.example.com\"`");
    let not_target = scenario("    let u = \"x\"\n    get(u, \"/\")");
    assert_one(&not_target, "E0105", "u");
    assert_one(&scenario("    get(apii, \"/\")"), "E0101", "apii");
}

#[test]
fn unknown_identity_and_setup_values() {
    assert_one(&scenario("    get(api, \"/u/{vu.idx}\")"), "E0106", "idx");
    let src = format!(
        "{HEAD}setup {{\n  let token = \"x\"\n}}\n{}",
        &scenario("    get(api, \"/\", headers: {\"x-token\": setup.tokn})")[HEAD.len()..]
    );
    assert_one(&src, "E0107", "tokn");
    assert_one(
        &scenario("    get(api, \"/\", headers: {t: setup.token})"),
        "E0107",
        "token",
    );
}

#[test]
fn unknown_metric_in_threshold() {
    let src = format!(
        "{}thresholds {{\n  http_req_duraton: p(95) < 400ms\n}}\n",
        scenario("    get(api, \"/\")")
    );
    assert_one(&src, "E0108", "http_req_duraton");
    assert_help(&src, "http_req_duration");
}

#[test]
fn after_unknown_scenario_and_cycles() {
    let src = format!("{HEAD}scenario main {{\n  start = after(warmpu)\n  workload = constant_vus(vus: 1, duration: 1s)\n  iteration {{ get(api, \"/\") }}\n}}\nscenario warmup {{\n  workload = constant_vus(vus: 1, duration: 1s)\n  iteration {{ get(api, \"/\") }}\n}}\n");
    assert_one(&src, "E0109", "warmpu");
    let cycle = format!("{HEAD}scenario a {{\n  start = after(b)\n  workload = constant_vus(vus: 1, duration: 1s)\n  iteration {{ get(api, \"/\") }}\n}}\nscenario b {{\n  start = after(a)\n  workload = constant_vus(vus: 1, duration: 1s)\n  iteration {{ get(api, \"/\") }}\n}}\n");
    assert_one(&cycle, "E0701", "b");
}

// ---- E02 types and units ----

#[test]
fn mismatched_types() {
    assert_one(
        &scenario("    let r = get(api, \"/\")\n    check r.status == \"200\""),
        "E0201",
        "\"200\"",
    );
    assert_help(
        &scenario("    let r = get(api, \"/\")\n    check r.status == \"200\""),
        "write 200 without quotes",
    );
    assert_one(
        &scenario("    let r = get(api, \"/\")\n    check r.status"),
        "E0201",
        "r.status",
    );
    assert_one(
        &scenario("    let r = get(api, \"/\")\n    if r.status { get(api, \"/x\") }"),
        "E0201",
        "r.status",
    );
}

#[test]
fn duration_thresholds_need_units() {
    let src = format!(
        "{}thresholds {{\n  http_req_duration: p(95) < 400\n}}\n",
        scenario("    get(api, \"/\")")
    );
    assert_one(&src, "E0202", "400");
    assert_help(&src, "write 400ms");
    let rate = format!(
        "{}thresholds {{\n  http_req_failed: rate < 0.01\n}}\n",
        scenario("    get(api, \"/\")")
    );
    assert_one(&rate, "E0202", "0.01");
    assert_help(&rate, "write 1%");
}

#[test]
fn sleep_needs_a_duration_and_vus_a_number() {
    assert_one(&scenario("    sleep 5"), "E0202", "5");
    assert_help(&scenario("    sleep 5"), "write 5s");
    let src = format!("{HEAD}scenario s {{\n  workload = constant_vus(vus: 10s, duration: 10s)\n  iteration {{ get(api, \"/\") }}\n}}\n");
    assert_one(&src, "E0203", "10s");
    assert_help(&src, "write 10");
}

#[test]
fn stage_kinds_match_the_workload() {
    let src = format!("{HEAD}scenario s {{\n  workload = ramping_vus(stages: [2m -> 500/s])\n  iteration {{ get(api, \"/\") }}\n}}\n");
    assert_one(&src, "E0204", "500/s");
    assert_help(&src, "2m -> 500");
    let src = format!("{HEAD}scenario s {{\n  workload = ramping_arrival_rate(start_rate: 1/s, stages: [1m -> 500], pre_allocated_vus: 10, max_vus: 100)\n  iteration {{ get(api, \"/\") }}\n}}\n");
    assert_one(&src, "E0205", "500");
    assert_help(&src, "1m -> 500/s");
}

#[test]
fn unknown_types_and_ranges() {
    let src = format!(
        "flow f(x: strng) {{ get(api, \"/{{x}}\") }}\n{}",
        scenario("    f(\"a\")")
    );
    assert_one(&src, "E0206", "strng");
    let src = format!(
        "param peak: integer = 5\n{}",
        scenario("    get(api, \"/\")")
    );
    assert_one(&src, "E0206", "integer");
    assert_help(&src, "`int`");
    let src = format!("{HEAD}scenario s {{\n  workload = constant_arrival_rate(rate: 10/s, duration: 1m, pre_allocated_vus: 20, max_vus: 10)\n  iteration {{ get(api, \"/\") }}\n}}\n");
    assert_one(&src, "E0207", "10");
}

#[test]
fn malformed_urls_and_cidrs() {
    let src = "target api = \"ftp://x\"\nscenario s {\n  workload = constant_vus(vus: 1, duration: 1s)\n  iteration { get(api, \"/\") }\n}\n";
    assert_one(src, "E0208", "\"ftp://x\"");
    let src = format!(
        "{}fleet {{\n  egress = [\"10.0.0.0/8\", \"nope\"]\n}}\n",
        scenario("    get(api, \"/\")")
    );
    assert_one(&src, "E0208", "\"nope\"");
}

#[test]
fn aggregation_must_fit_the_metric() {
    let src = format!(
        "metric orders = counter()\n{}thresholds {{\n  orders: p(95) < 10\n}}\n",
        scenario("    orders.add(1)")
    );
    assert_one(&src, "E0209", "p(95)");
}

#[test]
fn operators_and_non_values() {
    assert_one(
        &scenario("    let x = \"a\" * 2\n    log(\"{x}\")"),
        "E0210",
        "\"a\" * 2",
    );
    let src = format!(
        "flow b() {{ get(api, \"/\") }}\n{}",
        scenario("    let x = b\n    log(\"x\")")
    );
    assert_one(&src, "E0211", "b");
}

// ---- E03 fields and arguments ----

#[test]
fn unknown_fields_everywhere() {
    let src = format!("{HEAD}scenario s {{\n  workload = constant_vus(vus: 1, duration: 1s)\n  graceful_stopp = 10s\n  iteration {{ get(api, \"/\") }}\n}}\n");
    assert_one(&src, "E0301", "graceful_stopp");
    let src = format!("{HEAD}scenario s {{\n  workload = constant_vus(vus: 1, duration: 1s)\n  http = {{timeout: 5s, reuse_conections: true}}\n  iteration {{ get(api, \"/\") }}\n}}\n");
    assert_one(&src, "E0301", "reuse_conections");
    let src = format!(
        "{}fleet {{\n  runners = 2\n  namspace = \"loadtest\"\n}}\n",
        scenario("    get(api, \"/\")")
    );
    assert_one(&src, "E0301", "namspace");
    let src = format!(
        "{}fleet {{\n  resources = {{cpu: 2, memroy: 1Gi}}\n}}\n",
        scenario("    get(api, \"/\")")
    );
    assert_one(&src, "E0301", "memroy");
}

/// Every built-in whose arguments or fields are a table (`checker/args.rs`, the
/// workloads' `WORKLOADS`, fn and flow signatures): a misspelt name is one error at the
/// name, with a "did you mean" for the name it was meant to be.
#[test]
fn an_unknown_argument_of_every_builtin_is_an_error_with_a_suggestion() {
    let get = scenario("    get(api, \"/\")");
    let with_workload = |w: &str| {
        format!("{HEAD}scenario s {{\n  workload = {w}\n  iteration {{ get(api, \"/\") }}\n}}\n")
    };
    let cases: Vec<(String, &str, &str, &str)> = vec![
        (
            scenario("    get(api, \"/\", timout: 5s)"),
            "E0302",
            "timout",
            "timeout",
        ),
        (
            scenario("    get(api, \"/\", expct: 200)"),
            "E0302",
            "expct",
            "expect",
        ),
        (
            format!("data users = csv(\"data/users.csv\", pik: unique)\n{get}"),
            "E0302",
            "pik",
            "pick",
        ),
        (
            with_workload("constant_vus(vus: 1, duraton: 1s)"),
            "E0302",
            "duraton",
            "duration",
        ),
        (
            with_workload("ramping_vus(stages: [1s -> 1], start_vu: 1)"),
            "E0302",
            "start_vu",
            "start_vus",
        ),
        (
            with_workload(
                "constant_arrival_rate(rate: 1/s, duration: 1s, pre_allocated_vus: 1, max_vu: 2)",
            ),
            "E0302",
            "max_vu",
            "max_vus",
        ),
        (
            with_workload(
                "ramping_arrival_rate(stages: [1s -> 1/s], pre_allocated_vus: 1, start_rat: 1/s)",
            ),
            "E0302",
            "start_rat",
            "start_rate",
        ),
        (
            with_workload("shared_iterations(vus: 1, iteratons: 1)"),
            "E0302",
            "iteratons",
            "iterations",
        ),
        (
            with_workload("per_vu_iterations(vus: 1, max_duraton: 1s)"),
            "E0302",
            "max_duraton",
            "max_duration",
        ),
        (
            format!(
                "import std/profiles\n{}",
                with_workload("profiles.smoke(vu: 1)")
            ),
            "E0302",
            "vu",
            "vus",
        ),
        (
            scenario("    think exponential(maen: 1s)"),
            "E0302",
            "maen",
            "mean",
        ),
        (
            with_workload("constant_vus(vus: 1, duration: 1s)\n  tag = {}"),
            "E0301",
            "tag",
            "tags",
        ),
        (
            with_workload("constant_vus(vus: 1, duration: 1s)\n  http = {http_2: true}"),
            "E0301",
            "http_2",
            "http2",
        ),
        (
            format!("{get}fleet {{\n  zone_sprad = true\n}}\n"),
            "E0301",
            "zone_sprad",
            "zone_spread",
        ),
        (
            format!("{get}fleet {{\n  resources = {{cpus: 2}}\n}}\n"),
            "E0301",
            "cpus",
            "cpu",
        ),
        (
            format!("{get}fleet {{\n  service_acount = \"x\"\n}}\n"),
            "E0301",
            "service_acount",
            "service_account",
        ),
        (
            format!("{get}fleet {{\n  image_pull_secret = [\"x\"]\n}}\n"),
            "E0301",
            "image_pull_secret",
            "image_pull_secrets",
        ),
        (
            format!("{get}fleet {{\n  resources = {{coordinater: {{cpu: 1}}}}\n}}\n"),
            "E0301",
            "coordinater",
            "coordinator",
        ),
        (
            format!("{get}fleet {{\n  affinity = {{pod_antiaffinity: []}}\n}}\n"),
            "E0301",
            "pod_antiaffinity",
            "pod_anti_affinity",
        ),
        (
            format!("{get}fleet {{\n  affinity = {{node_required: [{{key: \"a\", operator: notin, values: [\"b\"]}}]}}\n}}\n"),
            "E0308",
            "notin",
            "NotIn",
        ),
        (
            format!("{get}thresholds {{\n  http_req_failed: rate < 1%, delay_abort_evl: 10s\n}}\n"),
            "E0309",
            "delay_abort_evl",
            "delay_abort_eval",
        ),
    ];
    for (src, code, under, meant) in cases {
        assert_one(&src, code, under);
        assert_help(&src, &format!("did you mean `{meant}`?"));
    }
}

#[test]
fn unknown_arguments() {
    assert_one(
        &scenario("    post(api, \"/api/cart\", jsn: {qty: 1})"),
        "E0302",
        "jsn",
    );
    let src = format!("{HEAD}scenario s {{\n  workload = constant_vus(vu: 1, duration: 1s)\n  iteration {{ get(api, \"/\") }}\n}}\n");
    assert_one(&src, "E0302", "vu");
}

#[test]
fn missing_fields_and_arguments() {
    let src = format!("{HEAD}scenario s {{\n  iteration {{ get(api, \"/\") }}\n}}\n");
    assert_one(&src, "E0303", "s");
    let src = format!("flow login(email: string, password: string) {{ post(api, \"/l\", json: {{email: email, password: password}}) }}\n{}", scenario("    login(\"a@b.c\")"));
    assert_one(&src, "E0303", "login(\"a@b.c\")");
    let src = format!("{HEAD}scenario s {{\n  workload = constant_vus(vus: 1)\n  iteration {{ get(api, \"/\") }}\n}}\n");
    assert_one(&src, "E0303", "constant_vus(vus: 1)");
}

#[test]
fn argument_counts_and_duplicates() {
    assert_one(
        &scenario("    get(api, \"/\", \"extra\")"),
        "E0304",
        "\"extra\"",
    );
    assert_one(
        &scenario("    get(api, \"/\", name: \"a\", name: \"b\")"),
        "E0306",
        "name: \"b\"",
    );
}

#[test]
fn unknown_members_and_workloads() {
    assert_one(
        &scenario("    let r = get(api, \"/\")\n    check r.stauts == 200"),
        "E0305",
        "stauts",
    );
    let src = format!("{HEAD}scenario s {{\n  workload = constant_vu(vus: 1, duration: 1s)\n  iteration {{ get(api, \"/\") }}\n}}\n");
    assert_one(&src, "E0307", "constant_vu");
}

#[test]
fn choices_and_threshold_options() {
    let src = format!(
        "{}fleet {{\n  placement = spred\n}}\n",
        scenario("    get(api, \"/\")")
    );
    assert_one(&src, "E0308", "spred");
    assert_help(&src, "spread");
    let src = format!(
        "{}thresholds {{\n  http_req_duration: p(95) < 1s, abort_on_fial\n}}\n",
        scenario("    get(api, \"/\")")
    );
    assert_one(&src, "E0309", "abort_on_fial");
}

// ---- E04 data ----

fn data_scenario(decl: &str, body: &str) -> String {
    format!("{HEAD}{decl}\nscenario s {{\n  workload = constant_vus(vus: 2, duration: 10s)\n  iteration {{\n{body}\n  }}\n}}\n")
}

#[test]
fn data_files_are_read_at_compile_time() {
    let src = data_scenario(
        "data users = csv(\"data/nope.csv\", pick: unique)",
        "    let u = users.next()\n    get(api, \"/\")",
    );
    assert_one(&src, "E0401", "\"data/nope.csv\"");
    let src = data_scenario(
        "data users = csv(\"data/users.csv\", pick: unique)",
        "    let u = users.next()\n    post(api, \"/l\", json: {email: u.emial})",
    );
    assert_one(&src, "E0404", "emial");
    assert_help(&src, "did you mean `email`?");
    let src = data_scenario(
        "data users = csv(\"data/users.csv\", pick: uniqe)",
        "    get(api, \"/\")",
    );
    assert_one(&src, "E0403", "uniqe");
    let src = data_scenario(
        "data users = xml(\"data/users.csv\", pick: unique)",
        "    get(api, \"/\")",
    );
    assert_one(&src, "E0405", "xml");
    let src = data_scenario(
        "data orders = json(\"data/users.csv\", pick: unique)",
        "    get(api, \"/\")",
    );
    assert_one(&src, "E0402", "\"data/users.csv\"");
}

#[test]
fn data_columns_are_typed() {
    // `id` holds only integers: an int column.
    let src = data_scenario(
        "data users = csv(\"data/users.csv\", pick: unique)",
        "    let u = users.next()\n    sleep u.id",
    );
    assert_one(&src, "E0202", "u.id");
    let ok = data_scenario(
        "data users = csv(\"data/users.csv\", pick: unique)",
        "    let u = users.next()\n    repeat u.id { get(api, \"/{u.email}\") }",
    );
    let c = compile_src(&ok);
    assert!(c.plan.is_some(), "{}", show(&c));
}

// ---- E05 secrets ----

fn secret_scenario(body: &str) -> String {
    format!("{HEAD}secret token = env(\"TOKEN\")\nscenario s {{\n  workload = constant_vus(vus: 2, duration: 10s)\n  iteration {{\n{body}\n  }}\n}}\n")
}

#[test]
fn secrets_never_reach_urls_names_logs_or_metrics() {
    assert_one(
        &secret_scenario("    get(api, \"/api/products?key={token}\")"),
        "E0501",
        "token",
    );
    assert_one(
        &secret_scenario("    let t = \"k-{token}\"\n    get(api, \"/x/{t}\")"),
        "E0501",
        "t",
    );
    assert_one(
        &secret_scenario("    get(api, \"/x\", query: {key: token})"),
        "E0501",
        "token",
    );
    assert_one(
        &secret_scenario(
            "    let r = get(api, \"/\")\n    check \"token {token}\": r.status == 200",
        ),
        "E0502",
        "token",
    );
    assert_one(
        &secret_scenario("    group \"g {token}\" { get(api, \"/\") }"),
        "E0502",
        "token",
    );
    assert_one(
        &secret_scenario("    log(\"using {token}\")"),
        "E0504",
        "token",
    );
    let src = format!("{HEAD}secret token = env(\"TOKEN\")\nscenario s {{\n  workload = constant_vus(vus: 1, duration: 1s)\n  tags = {{key: token}}\n  iteration {{ get(api, \"/\") }}\n}}\n");
    assert_one(&src, "E0503", "token");
    let src = format!("{HEAD}secret token = env(\"TOKEN\")\nmetric m = gauge()\nscenario s {{\n  workload = constant_vus(vus: 1, duration: 1s)\n  iteration {{ m.add(token.len()) }}\n}}\n");
    assert_one(&src, "E0505", "token");
}

#[test]
fn secrets_may_go_into_headers_and_bodies() {
    let src = secret_scenario("    get(api, \"/\", headers: {authorization: \"Bearer {token}\"})\n    post(api, \"/p\", json: {card: token}, form: {})");
    let c = compile_src(&src);
    // `json` and `form` together are one body too many, nothing about secrets.
    assert_eq!(
        errors(&src, &c)
            .iter()
            .map(|(c, _)| c.as_str())
            .collect::<Vec<_>>(),
        vec!["E0306"],
        "{}",
        show(&c)
    );
    let ok = secret_scenario("    get(api, \"/\", headers: {authorization: \"Bearer {token}\"})\n    post(api, \"/p\", json: {card: token})");
    let c = compile_src(&ok);
    let plan = c.plan.clone().unwrap_or_else(|| panic!("{}", show(&c)));
    assert_eq!(plan.secrets[0].env, "TOKEN");
}

#[test]
fn secrets_are_tracked_through_flow_parameters() {
    let src = format!(
        "{HEAD}secret token = env(\"TOKEN\")\nflow fetch(p: string) {{ get(api, \"/x/{{p}}\") }}\nscenario s {{\n  workload = constant_vus(vus: 1, duration: 1s)\n  iteration {{ fetch(token) }}\n}}\n"
    );
    assert_one(&src, "E0501", "token");
    assert_help(&src, "header");
    let c = compile_src(&src);
    assert!(
        c.diagnostics[0]
            .message
            .contains("parameter `p` of flow `fetch`"),
        "{}",
        show(&c)
    );
}

#[test]
fn fleet_secrets_must_be_declared_and_secrets_come_from_env() {
    let src = format!(
        "{}fleet {{\n  secrets = {{tokn: k8s_secret(\"api\", \"token\")}}\n}}\n",
        secret_scenario("    get(api, \"/\")")
    );
    assert_one(&src, "E0506", "tokn");
    let src = format!(
        "{HEAD}secret token = \"hunter2\"\n{}",
        &scenario("    get(api, \"/\")")[HEAD.len()..]
    );
    assert_one(&src, "E0507", "\"hunter2\"");
    let src = format!(
        "{HEAD}secret token = env(\"TOKEN\")\nlet t = token\n{}",
        &scenario("    get(api, \"/\")")[HEAD.len()..]
    );
    assert_one(&src, "E0508", "token");
}

// ---- E06 params ----

#[test]
fn params_are_typed_and_overridable() {
    let src = format!("param peak: int = 5\n{HEAD}scenario s {{\n  workload = constant_vus(vus: peak, duration: 1s)\n  iteration {{ get(api, \"/\") }}\n}}\n");
    let c = compile_with(&src, &[("peak", "7")]);
    let plan = c.plan.clone().unwrap_or_else(|| panic!("{}", show(&c)));
    assert_eq!(
        plan.scenarios[0].workload,
        volley_plan::Workload::ConstantVus {
            vus: 7,
            duration_ms: 1000
        }
    );
    assert_eq!(plan.params["peak"], volley_plan::Value::Int(7));

    let c = compile_with(&src, &[("peek", "7")]);
    let errs = errors(&src, &c);
    assert_eq!(errs.len(), 1, "{}", show(&c));
    assert_eq!(errs[0].0, "E0601");
    assert!(c.diagnostics[0]
        .help
        .as_deref()
        .unwrap_or("")
        .contains("`peak`"));

    let c = compile_with(&src, &[("peak", "abc")]);
    assert_eq!(
        errors(&src, &c),
        vec![("E0602".to_string(), "peak".to_string())],
        "{}",
        show(&c)
    );
}

#[test]
fn param_defaults_and_types() {
    assert_one(
        &format!(
            "param peak: int = \"lots\"\n{}",
            scenario("    get(api, \"/\")")
        ),
        "E0603",
        "\"lots\"",
    );
    assert_one(
        &format!("param r: Response = 1\n{}", scenario("    get(api, \"/\")")),
        "E0604",
        "Response",
    );
    let src = format!("param wait: duration = 2s\n{}", scenario("    sleep wait"));
    let c = compile_with(&src, &[("wait", "250ms")]);
    let plan = c.plan.clone().unwrap_or_else(|| panic!("{}", show(&c)));
    assert_eq!(plan.params["wait"], volley_plan::Value::Duration(250.0));
}

// ---- E07 other ----

#[test]
fn names_must_be_constant_strings() {
    assert_one(
        &scenario("    let r = get(api, \"/\")\n    check \"s {r.status}\": r.status == 200"),
        "E0702",
        "\"s {r.status}\"",
    );
    assert_one(
        &scenario("    let r = get(api, \"/\")\n    group r.body { get(api, \"/\") }"),
        "E0702",
        "r.body",
    );
}

#[test]
fn fns_are_compile_time() {
    let src = format!(
        "fn pick_path(r: Response) -> string {{ r.body }}\n{}",
        scenario("    get(api, pick_path(get(api, \"/\")))")
    );
    assert_one(&src, "E0703", "get(api, \"/\")");
    assert_one(
        &format!("let me = vu.id\n{}", scenario("    get(api, \"/{me}\")")),
        "E0703",
        "vu.id",
    );
    let src = format!("fn half(n: int) -> int {{ n / 0 }}\n{HEAD}scenario s {{\n  workload = constant_vus(vus: half(4), duration: 1s)\n  iteration {{ get(api, \"/\") }}\n}}\n");
    assert_one(&src, "E0704", "half(4)");
}

#[test]
fn recursion_is_refused() {
    let src = format!(
        "flow again() {{ get(api, \"/\")\n  again() }}\n{}",
        scenario("    again()")
    );
    assert_one(&src, "E0705", "again()");
    let src = format!(
        "fn f(n: int) -> int {{ f(n) }}\n{}",
        scenario("    get(api, \"/\")")
    );
    assert_one(&src, "E0705", "f(n)");
    let src = format!("let a = b\nlet b = a\n{}", scenario("    get(api, \"/\")"));
    assert_eq!(
        errors(&src, &compile_src(&src))
            .first()
            .map(|e| e.0.clone()),
        Some("E0705".to_string())
    );
}

#[test]
fn return_rules() {
    assert_one(&scenario("    return 1"), "E0706", "return 1");
    let src = format!("flow f() {{ return 1 }}\n{}", scenario("    f()"));
    assert_one(&src, "E0706", "return 1");
    let src = format!(
        "flow f() -> int {{ get(api, \"/\") }}\n{}",
        scenario("    f()")
    );
    assert_one(&src, "E0707", "f");
}

#[test]
fn values_that_are_not_there() {
    let src = format!(
        "flow f() {{ get(api, \"/\") }}\n{}",
        scenario("    let x = f()")
    );
    assert_one(&src, "E0708", "f()");
    let src = format!(
        "{HEAD}setup {{\n  let id = vu.id\n}}\n{}",
        &scenario("    get(api, \"/\")")[HEAD.len()..]
    );
    assert_one(&src, "E0709", "vu.id");
    assert_one(
        &scenario("    let e = exponential(mean: 1s)"),
        "E0710",
        "exponential",
    );
    assert_one(
        &scenario("    let e = env(\"API_TOKEN\")"),
        "E0509",
        "\"API_TOKEN\"",
    );
    assert_one(
        &scenario("    let e = env(\"a-b\", \"x\")"),
        "E0716",
        "\"a-b\"",
    );
    assert_one(
        &format!(
            "{HEAD}let e = env(\"REGION\", \"eu\")\n{}",
            &scenario("    get(api, \"/\")")[HEAD.len()..]
        ),
        "E0703",
        "env(\"REGION\", \"eu\")",
    );
}

#[test]
fn parse_errors_come_from_the_parser() {
    let src = "target api = = \"http://127.0.0.1:8088\"\n";
    let c = compile_src(src);
    assert!(
        c.diagnostics
            .iter()
            .any(|d| d.code == "E0001" && d.file == "test.load"),
        "{}",
        show(&c)
    );
    assert!(c.plan.is_none() && c.ir.is_none());
}
