//! The coordinator's outputs on a cluster (`volley deploy --out`, `volley compile --out`):
//! the `--out` and `--report` arguments of the coordinator container, the scratch volume
//! they are written to, the token variables read from a Secret, and the egress rules of
//! the coordinator's NetworkPolicy towards the network outputs. Only the coordinator
//! streams: it holds the fleet's merged metrics, so each series is sent once, never once
//! per runner. Pure; it does not parse `--out` specs (the engine does, in the CLI) and
//! never holds a token's value (only the names of the variables and Secrets).

use super::names::Names;
use super::ManifestError;
use k8s_openapi::api::core::v1::{
    EmptyDirVolumeSource, EnvVar, EnvVarSource, PodSpec, SecretKeySelector, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::{
    NetworkPolicyEgressRule, NetworkPolicyPeer, NetworkPolicyPort,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Where the coordinator writes its report and `--out json` files: an `emptyDir` of its
/// own ([`RESULTS_LIMIT`]), kept apart from the 64 Mi `/tmp`.
pub const RESULTS_DIR: &str = "/var/lib/volley/results";
/// The size limit of the results volume (a kubelet evicts a pod whose `emptyDir` grows
/// past it, so it is generous: an hour of NDJSON with a hundred series is ~150 MB).
pub const RESULTS_LIMIT: &str = "1Gi";
/// The report every coordinator writes (`GET /report` serves it after the end).
pub const REPORT_FILE: &str = "/var/lib/volley/results/report.html";

/// The file of the `k`-th `--out json` output on the coordinator (`GET /out/K`).
pub fn json_file(k: usize) -> String {
    format!("{RESULTS_DIR}/out-{k}.ndjson")
}

/// One `--out` of a run on the cluster, as the CLI parsed and checked it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterOut {
    /// `json=FILE`: the coordinator writes [`json_file`]`(k)`, `k` counting the json
    /// outputs in order; the CLI fetches it into FILE at the end.
    Json,
    /// A network output (`prometheus=URL…`, `influxdb=URL…`): the spec as the
    /// coordinator gets it (its URL holds no credential: the CLI refuses one), the host
    /// and port it sends to, and the variable of its token (`token_env=VAR`), if any.
    Network {
        spec: String,
        host: url::Host<String>,
        port: u16,
        token_env: Option<String>,
    },
}

/// The coordinator's arguments for its outputs: every `--out`, then `--report`.
pub fn args(outs: &[ClusterOut]) -> Vec<String> {
    let mut args = Vec::new();
    let mut k = 0;
    for o in outs {
        args.push("--out".to_string());
        match o {
            ClusterOut::Json => {
                args.push(format!("json={}", json_file(k)));
                k += 1;
            }
            ClusterOut::Network { spec, .. } => args.push(spec.clone()),
        }
    }
    args.extend(["--report".to_string(), REPORT_FILE.to_string()]);
    args
}

/// Mounts the results volume into the coordinator's pod and adds each `token_env`
/// variable, read from the run's default Secret (`RUN-secrets`, key = the variable's
/// name), the way a file's secret without a `fleet.secrets` entry is read. A variable
/// the container already has (a plan secret of that name) is left as it is.
pub fn add_to_pod(spec: &mut PodSpec, names: &Names, outs: &[ClusterOut]) {
    spec.volumes.get_or_insert_with(Vec::new).push(Volume {
        name: "results".into(),
        empty_dir: Some(EmptyDirVolumeSource {
            size_limit: Some(Quantity(RESULTS_LIMIT.into())),
            ..Default::default()
        }),
        ..Default::default()
    });
    let Some(c) = spec.containers.first_mut() else {
        return;
    };
    c.volume_mounts
        .get_or_insert_with(Vec::new)
        .push(VolumeMount {
            name: "results".into(),
            mount_path: RESULTS_DIR.into(),
            ..Default::default()
        });
    let env = c.env.get_or_insert_with(Vec::new);
    for var in token_vars(outs) {
        if env.iter().any(|e| e.name == var) {
            continue;
        }
        env.push(EnvVar {
            name: var.clone(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: names.default_secrets(),
                    key: var,
                    optional: Some(false),
                }),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
}

/// Refuses a `token_env` variable that `fleet.env` sets as a plain value or from a
/// ConfigMap: the coordinator would send that instead of a Secret's value. From a Secret
/// (`k8s_secret`) it is the user's choice of Secret, and `add_to_pod` keeps it.
pub fn check_token_env(plan: &volley_plan::Plan, outs: &[ClusterOut]) -> Result<(), ManifestError> {
    for var in token_vars(outs) {
        let source = match plan.fleet.env.get(&var) {
            Some(volley_plan::EnvValue::Value { .. }) => "plain value",
            Some(volley_plan::EnvValue::ConfigMap { .. }) => "ConfigMap value",
            _ => continue,
        };
        return Err(ManifestError::OutputTokenNotSecret { var, given: source });
    }
    Ok(())
}

fn token_vars(outs: &[ClusterOut]) -> Vec<String> {
    let mut vars: Vec<String> = outs
        .iter()
        .filter_map(|o| match o {
            ClusterOut::Network { token_env, .. } => token_env.clone(),
            ClusterOut::Json => None,
        })
        .collect();
    vars.sort();
    vars.dedup();
    vars
}

fn tcp(port: u16) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(i32::from(port))),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// Where a hostname points inside the cluster: `NAME` (this namespace) or
/// `NAME.NS.svc[.cluster.local]`; `None` for any other name.
fn in_cluster(host: &str) -> Option<Option<&str>> {
    let host = host.trim_end_matches('.');
    let labels: Vec<&str> = host.split('.').collect();
    match labels.as_slice() {
        [_] => Some(None),
        [_, ns, "svc"] | [_, ns, "svc", "cluster", "local"] => Some(Some(ns)),
        _ => None,
    }
}

/// The coordinator's egress rules towards the network outputs: an IP literal as an
/// `ipBlock` on its port; a Service name (`prometheus.monitoring.svc`, or a bare name in
/// the run's namespace) as the pods of its namespace, on any port (a policy sees the
/// pod's port, which the Service may map from another); any other hostname through the
/// `fleet.egress` CIDRs on its port (a policy cannot name hosts; see [`notes`]).
pub fn egress(outs: &[ClusterOut], fleet_egress: &[String]) -> Vec<NetworkPolicyEgressRule> {
    let mut rules = Vec::new();
    let mut external_ports = Vec::new();
    for o in outs {
        let ClusterOut::Network { host, port, .. } = o else {
            continue;
        };
        let rule = match host {
            url::Host::Ipv4(a) => Some(ip_rule(IpAddr::V4(*a), *port)),
            url::Host::Ipv6(a) => Some(ip_rule(IpAddr::V6(*a), *port)),
            url::Host::Domain(d) => match in_cluster(d) {
                Some(ns) => Some(namespace_rule(ns)),
                None => {
                    external_ports.push(*port);
                    None
                }
            },
        };
        if let Some(r) = rule {
            if !rules.contains(&r) {
                rules.push(r);
            }
        }
    }
    external_ports.sort_unstable();
    external_ports.dedup();
    if !external_ports.is_empty() && !fleet_egress.is_empty() {
        rules.push(NetworkPolicyEgressRule {
            to: Some(fleet_egress.iter().map(|c| ip_block(c.clone())).collect()),
            ports: Some(external_ports.into_iter().map(tcp).collect()),
        });
    }
    rules
}

fn ip_block(cidr: String) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        ip_block: Some(k8s_openapi::api::networking::v1::IPBlock {
            cidr,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn ip_rule(ip: IpAddr, port: u16) -> NetworkPolicyEgressRule {
    let bits = if ip.is_ipv4() { 32 } else { 128 };
    NetworkPolicyEgressRule {
        to: Some(vec![ip_block(format!("{ip}/{bits}"))]),
        ports: Some(vec![tcp(port)]),
    }
}

/// Every pod of namespace `ns`, or of the policy's own namespace for `None`.
fn namespace_rule(ns: Option<&str>) -> NetworkPolicyEgressRule {
    let peer = match ns {
        Some(ns) => NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    "kubernetes.io/metadata.name".to_string(),
                    ns.to_string(),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        },
        None => NetworkPolicyPeer {
            pod_selector: Some(LabelSelector::default()),
            ..Default::default()
        },
    };
    NetworkPolicyEgressRule {
        to: Some(vec![peer]),
        ports: None,
    }
}

/// Notes for the CLI: outputs a policy can reach only through `fleet.egress`, and the
/// Secret each `token_env` variable is read from.
pub fn notes(outs: &[ClusterOut], fleet_egress: &[String], names: &Names) -> Vec<String> {
    let mut out = Vec::new();
    for o in outs {
        if let ClusterOut::Network {
            host: url::Host::Domain(d),
            port,
            ..
        } = o
        {
            if in_cluster(d).is_none() {
                let hint = if fleet_egress.is_empty() {
                    "add its addresses to `fleet.egress`, or the coordinator cannot send to it"
                } else {
                    "it is reachable only where `fleet.egress` covers its addresses"
                };
                out.push(format!(
                    "output host `{d}:{port}` is a hostname: a NetworkPolicy cannot name hosts; {hint}"
                ));
            }
        }
    }
    for var in token_vars(outs) {
        out.push(format!(
            "output token `token_env={var}`: the coordinator reads {var} from Secret `{}`, key `{var}` (create it before the run)",
            names.default_secrets()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(spec: &str, host: url::Host<String>, port: u16) -> ClusterOut {
        ClusterOut::Network {
            spec: spec.into(),
            host,
            port,
            token_env: None,
        }
    }

    #[test]
    fn a_token_variable_set_plainly_by_fleet_env_is_refused_and_one_from_a_secret_kept() {
        let outs = [ClusterOut::Network {
            spec: "influxdb=http://10.0.0.9:8086/db?token_env=INFLUX_TOKEN".into(),
            host: url::Host::Ipv4([10, 0, 0, 9].into()),
            port: 8086,
            token_env: Some("INFLUX_TOKEN".into()),
        }];
        let mut plan = crate::manifests::tests::tiny_plan();
        assert!(check_token_env(&plan, &outs).is_ok());
        plan.fleet.env.insert(
            "INFLUX_TOKEN".into(),
            volley_plan::EnvValue::Value { value: "x".into() },
        );
        let e = check_token_env(&plan, &outs).unwrap_err().to_string();
        assert!(e.contains("plain value") && e.contains("k8s_secret"), "{e}");
        assert!(!e.contains("\"x\""), "the value is never shown: {e}");
        plan.fleet.env.insert(
            "INFLUX_TOKEN".into(),
            volley_plan::EnvValue::Secret {
                secret: "influx".into(),
                key: "token".into(),
            },
        );
        assert!(check_token_env(&plan, &outs).is_ok());
        let m = crate::manifests::build(
            &plan,
            &crate::manifests::Options {
                outputs: outs.to_vec(),
                ..Default::default()
            },
        )
        .expect("manifests");
        let y = crate::manifests::yaml::to_yaml(&m, "t.load");
        assert!(y.contains("name: influx"), "the file's Secret is used: {y}");
        assert!(
            !y.contains("key: INFLUX_TOKEN"),
            "not the run's default Secret: {y}"
        );
    }

    #[test]
    fn json_outputs_are_numbered_and_the_report_is_always_written() {
        let outs = [
            ClusterOut::Json,
            net(
                "prometheus=http://10.0.0.9:9090/api/v1/write",
                url::Host::Ipv4([10, 0, 0, 9].into()),
                9090,
            ),
            ClusterOut::Json,
        ];
        assert_eq!(
            args(&outs),
            [
                "--out",
                "json=/var/lib/volley/results/out-0.ndjson",
                "--out",
                "prometheus=http://10.0.0.9:9090/api/v1/write",
                "--out",
                "json=/var/lib/volley/results/out-1.ndjson",
                "--report",
                REPORT_FILE
            ]
        );
        assert_eq!(args(&[]), ["--report", REPORT_FILE]);
    }

    #[test]
    fn egress_follows_the_kind_of_host() {
        let d = |s: &str| url::Host::Domain(s.to_string());
        let outs = [
            net("a", url::Host::Ipv4([10, 0, 0, 9].into()), 9090),
            net("b", d("prometheus.monitoring.svc"), 80),
            net("c", d("influx"), 8086),
            net("d", d("metrics.example.com"), 443),
        ];
        let rules = serde_json::to_value(egress(&outs, &[])).unwrap();
        assert_eq!(rules[0]["to"][0]["ipBlock"]["cidr"], "10.0.0.9/32");
        assert_eq!(rules[0]["ports"][0]["port"], 9090);
        assert_eq!(
            rules[1]["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            "monitoring"
        );
        assert!(rules[1].get("ports").is_none(), "{rules}");
        assert_eq!(rules[2]["to"][0]["podSelector"], serde_json::json!({}));
        assert_eq!(
            rules.as_array().unwrap().len(),
            3,
            "no CIDR: no rule for the hostname"
        );
        let with = serde_json::to_value(egress(&outs, &["203.0.113.0/24".into()])).unwrap();
        assert_eq!(with[3]["to"][0]["ipBlock"]["cidr"], "203.0.113.0/24");
        assert_eq!(with[3]["ports"][0]["port"], 443);
        let n = notes(&outs, &[], &Names::from_run("t-1"));
        assert_eq!(n.len(), 1, "{n:?}");
        assert!(n[0].contains("metrics.example.com:443"), "{n:?}");
    }
}
