//! The `fleet` fields for real clusters, end to end through the compiler: Kubernetes
//! quantities in every form, per-role resources, env from values, Secrets and ConfigMaps,
//! pod metadata, names and affinity, as the plan holds them; and the errors at their spans.

use super::{compile_src, errors, show};
use std::collections::BTreeMap;
use volley_plan::{EnvValue, Fleet, MatchExpression, PodTerm, Resources};

const HEAD: &str = "target api = \"http://127.0.0.1:8088\"\nsecret token = env(\"API_TOKEN\")\nscenario s {\n  workload = constant_vus(vus: 4, duration: 1m)\n  iteration { get(api, \"/\", headers: {authorization: \"Bearer {token}\"}) }\n}\n";

fn fleet_of(body: &str) -> Fleet {
    let c = compile_src(&format!("{HEAD}fleet {{\n{body}\n}}\n"));
    match c.plan {
        Some(p) => p.fleet,
        None => panic!("{body}: {}", show(&c)),
    }
}

fn errors_of(body: &str) -> Vec<(String, String)> {
    let src = format!("{HEAD}fleet {{\n{body}\n}}\n");
    errors(&src, &compile_src(&src))
}

fn resources(cpu: &str, memory: &str) -> Resources {
    fleet_of(&format!("  resources = {{cpu: {cpu}, memory: {memory}}}")).resources
}

#[test]
fn cpu_reads_as_kubernetes_writes_it() {
    for (written, millis) in [
        ("250m", 250),
        ("\"500m\"", 500),
        ("1.5", 1500),
        ("\"1.5\"", 1500),
        ("2", 2000),
        ("\"2\"", 2000),
        ("0.1", 100),
    ] {
        assert_eq!(
            resources(written, "1Gi").cpu_millis,
            millis,
            "cpu: {written}"
        );
    }
}

#[test]
fn memory_reads_every_suffix() {
    for (written, bytes) in [
        ("1Gi", 1u64 << 30),
        ("\"1Gi\"", 1 << 30),
        ("512Mi", 512 << 20),
        ("\"1G\"", 1_000_000_000),
        ("1GB", 1_000_000_000),
        ("\"512M\"", 512_000_000),
        ("\"1.5Gi\"", 3 << 29),
    ] {
        assert_eq!(
            resources("1", written).memory_bytes,
            bytes,
            "memory: {written}"
        );
    }
}

#[test]
fn wrong_quantities_say_how_to_write_them() {
    assert_eq!(
        errors_of("  resources = {cpu: 250ms}"),
        [("E0203".to_string(), "250ms".to_string())]
    );
    assert_eq!(
        errors_of("  resources = {memory: 512m}"),
        [("E0203".to_string(), "512m".to_string())]
    );
    assert_eq!(
        errors_of("  resources = {cpu: \"lots\", memory: \"1gi\"}")
            .iter()
            .map(|(c, _)| c.as_str())
            .collect::<Vec<_>>(),
        ["E0208", "E0208"],
        "not quantities at all"
    );
    assert_eq!(
        errors_of("  resources = {cpu: \"0.0001\", memory: \"0Mi\"}")
            .iter()
            .map(|(c, _)| c.as_str())
            .collect::<Vec<_>>(),
        ["E0207", "E0207"],
        "quantities Kubernetes does not accept here"
    );
    assert_eq!(
        resources("2 * 0.25", "2 * 1Gi").cpu_millis,
        500,
        "constant expressions"
    );
    for body in [
        "  resources = {cpu: 250m * 2}",
        "  resources = {memory: 1m * 2}",
    ] {
        let c = compile_src(&format!("{HEAD}fleet {{\n{body}\n}}\n"));
        let d = &c.diagnostics[0];
        let help = d.help.clone().unwrap_or_default();
        assert_eq!(d.code, "E0203", "{body}");
        assert!(
            !help.contains("write 500") && !help.contains("write 2"),
            "{body}: never \"drop the unit\": {help}"
        );
    }
    let c = compile_src(&format!(
        "{HEAD}fleet {{\n  resources = {{cpu: 250ms}}\n}}\n"
    ));
    let help = c.diagnostics[0].help.clone().unwrap_or_default();
    assert!(help.contains("`250m`"), "{help}");
}

#[test]
fn flat_resources_mean_both_roles_and_roles_override_them() {
    let f = fleet_of("  resources = {cpu: 2, memory: 1Gi}");
    assert_eq!(
        f.coordinator_resources, None,
        "one size for both, as before"
    );
    assert_eq!(f.coordinator_resources(), &f.resources);
    let f = fleet_of(
        "  resources = {cpu: 2, memory: 1Gi, coordinator: {cpu: 500m}, runners: {memory: 2Gi}}",
    );
    assert_eq!(
        (f.resources.cpu_millis, f.resources.memory_bytes),
        (2000, 2 << 30),
        "the runners keep the flat cpu and take their own memory"
    );
    assert_eq!(
        f.coordinator_resources
            .map(|r| (r.cpu_millis, r.memory_bytes)),
        Some((500, 1 << 30))
    );
    let f = fleet_of("  resources = {cpu: 250m, memory: 256Mi, runners: {cpu: 2}}");
    assert_eq!(f.resources.cpu_millis, 2000);
    assert_eq!(
        f.coordinator_resources().cpu_millis,
        250,
        "the coordinator keeps the flat keys when only the runners have their own"
    );
    assert_eq!(
        errors_of("  resources = {coordinator: {cpu: 1, runners: {cpu: 1}}}"),
        [("E0301".to_string(), "runners".to_string())]
    );
}

#[test]
fn pod_fields_reach_the_plan() {
    let f = fleet_of(
        r#"  env = {REGION: "eu", API_KEY: k8s_secret("api", "key"), MODE: k8s_configmap("cfg", "mode")}
  service_account = "loadtest"
  image_pull_secrets = ["regcred"]
  labels = {team: "payments", "acme.com/cost-center": "42"}
  annotations = {"acme.com/owner": "payments team"}
  priority_class = "loadtest-low"
  affinity = {
    node_required: [{key: "pool", operator: In, values: ["load"]}, {key: "spot", operator: DoesNotExist}],
    node_preferred: [{key: "topology.kubernetes.io/zone", operator: "In", values: ["eu-west-1a"], weight: 50}],
    pod_anti_affinity: [{labels: {app: "payments"}, topology_key: "kubernetes.io/hostname"}],
    pod_affinity: [{labels: {app: "cache"}, topology_key: "topology.kubernetes.io/zone", weight: 20, namespaces: ["cache"]}],
  }"#,
    );
    assert_eq!(
        f.env,
        BTreeMap::from([
            (
                "API_KEY".to_string(),
                EnvValue::Secret {
                    secret: "api".into(),
                    key: "key".into()
                }
            ),
            (
                "MODE".to_string(),
                EnvValue::ConfigMap {
                    config_map: "cfg".into(),
                    key: "mode".into()
                }
            ),
            ("REGION".to_string(), EnvValue::Value { value: "eu".into() }),
        ])
    );
    assert_eq!(f.service_account.as_deref(), Some("loadtest"));
    assert_eq!(f.image_pull_secrets, ["regcred"]);
    assert_eq!(f.labels["acme.com/cost-center"], "42");
    assert_eq!(f.annotations["acme.com/owner"], "payments team");
    assert_eq!(f.priority_class.as_deref(), Some("loadtest-low"));
    assert_eq!(
        f.affinity.node_required[1],
        MatchExpression {
            key: "spot".into(),
            operator: "DoesNotExist".into(),
            values: vec![]
        }
    );
    assert_eq!(f.affinity.node_preferred[0].weight, 50);
    assert_eq!(
        f.affinity.pod_anti_affinity[0].weight, None,
        "no weight: required"
    );
    assert_eq!(
        f.affinity.pod_affinity[0],
        PodTerm {
            labels: BTreeMap::from([("app".to_string(), "cache".to_string())]),
            topology_key: "topology.kubernetes.io/zone".into(),
            weight: Some(20),
            namespaces: vec!["cache".into()],
        }
    );
}

#[test]
fn a_plan_without_the_new_fields_serialises_as_before() {
    let json = serde_json::to_value(fleet_of("  runners = 2")).unwrap();
    for key in [
        "coordinator_resources",
        "env",
        "service_account",
        "image_pull_secrets",
        "labels",
        "annotations",
        "priority_class",
        "affinity",
    ] {
        assert!(json.get(key).is_none(), "{key} is left out when unset");
    }
}

#[test]
fn names_volley_sets_are_refused_at_their_spans() {
    assert_eq!(
        errors_of(
            "  env = {VOLLEY_LOG_FORMAT: \"text\", API_TOKEN: \"x\", JOB_COMPLETION_INDEX: \"1\", OK: \"1\"}"
        ),
        [
            ("E0310".to_string(), "VOLLEY_LOG_FORMAT".to_string()),
            ("E0310".to_string(), "API_TOKEN".to_string()),
            ("E0310".to_string(), "JOB_COMPLETION_INDEX".to_string()),
        ]
    );
    assert_eq!(
        errors_of(
            "  labels = {\"app.kubernetes.io/instance\": \"x\", \"app.kubernetes.io/team\": \"y\"}"
        ),
        [(
            "E0310".to_string(),
            "\"app.kubernetes.io/instance\"".to_string()
        )]
    );
    assert_eq!(
        errors_of(
            "  annotations = {\"volley.dev/x\": \"y\", \"app.kubernetes.io/instance\": \"ok\"}"
        ),
        [("E0310".to_string(), "\"volley.dev/x\"".to_string())],
        "an annotation may use app.kubernetes.io keys: Volley sets none"
    );
}

#[test]
fn kubernetes_syntax_is_checked_with_a_fix() {
    let c = compile_src(&format!(
        "{HEAD}fleet {{\n  service_account = \"Load_Test\"\n  labels = {{team: \"-x\"}}\n}}\n"
    ));
    let helps: Vec<String> = c
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.help.clone().unwrap_or_default())
        .collect();
    assert_eq!(helps, ["write e.g. \"load-test\"", "write e.g. \"x\""]);
    assert_eq!(
        errors_of("  labels = {team: \"ok\"}\n  priority_clas = \"x\""),
        [("E0301".to_string(), "priority_clas".to_string())]
    );
    assert_eq!(
        errors_of("  env = {X: k8s_secret(\"api\")}"),
        [("E0201".to_string(), "k8s_secret(\"api\")".to_string())]
    );
}

#[test]
fn a_secret_never_becomes_a_plain_env_value_or_label() {
    for body in [
        "  env = {X: token}",
        "  env = {X: \"a{token}\"}",
        "  labels = {team: token}",
        "  annotations = {\"acme.com/x\": \"{token}\"}",
    ] {
        let codes: Vec<String> = errors_of(body).into_iter().map(|(c, _)| c).collect();
        assert_eq!(codes, ["E0508"], "{body}");
    }
}
