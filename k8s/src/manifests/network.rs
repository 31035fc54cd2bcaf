//! The NetworkPolicies of a run. Runners: no ingress; egress to the coordinator, DNS, the
//! targets whose hosts are IP literals and the `fleet.egress` CIDRs (on the targets'
//! ports). Coordinator: ingress on the protocol port 6565 from this run's runners only, and
//! on the status port 6566 from any address (the API server's service proxy, through which
//! `volley deploy`/`status` read `/status` and `/summary` and `volley abort` posts, comes
//! from the API server, not a pod); egress to DNS and the same targets (setup and teardown
//! run there), and to its `--out` endpoints (those rules are `outputs.rs`'s).
//!
//! A NetworkPolicy cannot name a host: a target given by hostname is reachable only
//! through a `fleet.egress` CIDR that covers its addresses, and [`target_notes`] says so.
//! Pure; it must not resolve names.

use super::names::{Names, PORT, STATUS_PORT};
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use volley_plan::Plan;

/// A target's host and port, when its URL parses.
fn host_port(url: &str) -> Option<(url::Host<String>, u16)> {
    let u = url::Url::parse(url).ok()?;
    let port = u.port_or_known_default()?;
    Some((u.host()?.to_owned(), port))
}

fn ip_of(host: &url::Host<String>) -> Option<IpAddr> {
    match host {
        url::Host::Ipv4(a) => Some(IpAddr::V4(*a)),
        url::Host::Ipv6(a) => Some(IpAddr::V6(*a)),
        url::Host::Domain(_) => None,
    }
}

/// The fixed addresses a scenario's `http.hosts` gives `name`, over every scenario (the
/// runners never look such a name up, so the policy can name its addresses).
fn fixed_addresses(plan: &Plan, name: &str) -> BTreeSet<IpAddr> {
    plan.scenarios
        .iter()
        .filter_map(|s| s.http.hosts.get(name))
        .flatten()
        .filter_map(|a| a.parse().ok())
        .collect()
}

/// The host and port of each scenario's `http.proxy` (`http://` assumed without a scheme).
fn proxies(plan: &Plan) -> BTreeSet<(String, u16)> {
    plan.scenarios
        .iter()
        .filter_map(|s| s.http.proxy.as_deref())
        .filter_map(|p| {
            let url = if p.contains("://") {
                p.to_owned()
            } else {
                format!("http://{p}")
            };
            let (host, port) = host_port(&url)?;
            Some((host.to_string(), port))
        })
        .collect()
}

/// Notes for targets a NetworkPolicy cannot express (hostnames), for the CLI to show.
pub fn target_notes(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for (host, port) in proxies(plan) {
        if host.parse::<IpAddr>().is_err() && !host.starts_with('[') {
            out.push(format!(
                "the proxy `{host}:{port}` is a hostname: a NetworkPolicy cannot name hosts; \
                 add its addresses to `fleet.egress`, or the runners cannot reach it"
            ));
        }
    }
    for t in &plan.targets {
        if let Some((url::Host::Domain(d), _)) = host_port(&t.url) {
            if !fixed_addresses(plan, &d).is_empty() {
                continue;
            }
            let hint = if plan.fleet.egress.is_empty() {
                "add its addresses to `fleet.egress`, or the runners cannot reach it"
            } else {
                "it is reachable only where `fleet.egress` covers its addresses"
            };
            out.push(format!(
                "target `{}` is the hostname `{d}`: a NetworkPolicy cannot name hosts; {hint}",
                t.name
            ));
        }
    }
    out
}

fn tcp(port: i32) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(port)),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

fn ip_block(cidr: String) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        ip_block: Some(IPBlock {
            cidr,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn pods(selector: BTreeMap<String, String>) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(LabelSelector {
            match_labels: Some(selector),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// DNS: kube-dns (CoreDNS carries the same label) in kube-system, UDP and TCP 53.
fn dns() -> NetworkPolicyEgressRule {
    let mut ns = BTreeMap::new();
    ns.insert(
        "kubernetes.io/metadata.name".to_string(),
        "kube-system".to_string(),
    );
    let mut app = BTreeMap::new();
    app.insert("k8s-app".to_string(), "kube-dns".to_string());
    NetworkPolicyEgressRule {
        to: Some(vec![NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector {
                match_labels: Some(ns),
                ..Default::default()
            }),
            pod_selector: Some(LabelSelector {
                match_labels: Some(app),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ports: Some(vec![
            NetworkPolicyPort {
                port: Some(IntOrString::Int(53)),
                protocol: Some("UDP".into()),
                ..Default::default()
            },
            tcp(53),
        ]),
    }
}

/// Egress to the targets: one rule per IP-literal target (its address and port) and per
/// address `http.hosts` fixes for a target's name, and one for the `fleet.egress` CIDRs on the targets' ports (every port when there is no target).
fn target_rules(plan: &Plan) -> Vec<NetworkPolicyEgressRule> {
    let mut by_ip: BTreeMap<(String, u16), ()> = BTreeMap::new();
    let mut ports = BTreeSet::new();
    for t in &plan.targets {
        if let Some((host, port)) = host_port(&t.url) {
            ports.insert(port);
            let ips = match &host {
                url::Host::Domain(d) => fixed_addresses(plan, d),
                ip => ip_of(ip).into_iter().collect(),
            };
            for ip in ips {
                let bits = if ip.is_ipv4() { 32 } else { 128 };
                by_ip.insert((format!("{ip}/{bits}"), port), ());
            }
        }
    }
    // A declared proxy: its address on its port (a hostname needs `fleet.egress`).
    for (host, port) in proxies(plan) {
        if let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            let bits = if ip.is_ipv4() { 32 } else { 128 };
            by_ip.insert((format!("{ip}/{bits}"), port), ());
        }
        ports.insert(port);
    }
    let mut rules: Vec<NetworkPolicyEgressRule> = by_ip
        .into_keys()
        .map(|(cidr, port)| NetworkPolicyEgressRule {
            to: Some(vec![ip_block(cidr)]),
            ports: Some(vec![tcp(i32::from(port))]),
        })
        .collect();
    if !plan.fleet.egress.is_empty() {
        rules.push(NetworkPolicyEgressRule {
            to: Some(plan.fleet.egress.iter().cloned().map(ip_block).collect()),
            ports: (!ports.is_empty()).then(|| ports.iter().map(|p| tcp(i32::from(*p))).collect()),
        });
    }
    rules
}

fn policy(
    meta: ObjectMeta,
    names: &Names,
    component: &str,
    spec: NetworkPolicySpec,
) -> NetworkPolicy {
    NetworkPolicy {
        metadata: meta,
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(names.selector(component)),
                ..Default::default()
            }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ..spec
        }),
    }
}

pub fn runners(plan: &Plan, names: &Names, meta: ObjectMeta) -> NetworkPolicy {
    let mut egress = vec![
        NetworkPolicyEgressRule {
            to: Some(vec![pods(names.selector("coordinator"))]),
            ports: Some(vec![tcp(PORT)]),
        },
        dns(),
    ];
    egress.extend(target_rules(plan));
    policy(
        meta,
        names,
        "runner",
        NetworkPolicySpec {
            egress: Some(egress),
            ingress: Some(vec![]),
            ..Default::default()
        },
    )
}

pub fn coordinator(plan: &Plan, names: &Names, meta: ObjectMeta) -> NetworkPolicy {
    let mut egress = vec![dns()];
    egress.extend(target_rules(plan));
    let ingress = vec![
        NetworkPolicyIngressRule {
            from: Some(vec![pods(names.selector("runner"))]),
            ports: Some(vec![tcp(PORT)]),
        },
        NetworkPolicyIngressRule {
            from: Some(vec![ip_block("0.0.0.0/0".into()), ip_block("::/0".into())]),
            ports: Some(vec![tcp(STATUS_PORT)]),
        },
    ];
    policy(
        meta,
        names,
        "coordinator",
        NetworkPolicySpec {
            egress: Some(egress),
            ingress: Some(ingress),
            ..Default::default()
        },
    )
}
