//! `http = {dns: {..}, hosts: {..}}`: what reaches the plan, and the diagnostics (with the
//! closest choice, k6's spellings included).

use super::{compile_src, errors, show};
use std::collections::BTreeMap;
use volley_plan::{DnsOptions, DnsPolicy, DnsSelect, HttpOptions};

/// A file whose scenario has `http = {FIELDS}`.
fn with_http(fields: &str) -> String {
    format!(
        "target api = \"http://shop.test:8088\"\nscenario s {{\n  workload = constant_vus(vus: 1, duration: 1s)\n  http = {{{fields}}}\n  iteration {{ get(api, \"/\") }}\n}}\n"
    )
}

#[track_caller]
fn http_of(fields: &str) -> HttpOptions {
    let c = compile_src(&with_http(fields));
    match &c.plan {
        Some(plan) => plan.scenarios[0].http.clone(),
        None => panic!("{fields}:\n{}", show(&c)),
    }
}

/// The one error: its code, the text under it and its help.
#[track_caller]
fn error_of(fields: &str) -> (String, String, String) {
    let src = with_http(fields);
    let c = compile_src(&src);
    let errs = errors(&src, &c);
    assert_eq!(errs.len(), 1, "{fields}:\n{}", show(&c));
    let help = c
        .diagnostics
        .iter()
        .find(|d| d.is_error())
        .and_then(|d| d.help.clone())
        .unwrap_or_default();
    let (code, under) = errs.into_iter().next().unwrap_or_default();
    (code, under, help)
}

#[test]
fn the_default_is_k6s_and_stays_out_of_the_plan() {
    let h = http_of("timeout: 5s");
    assert_eq!(
        h.dns,
        DnsOptions {
            ttl_ms: Some(300_000),
            select: DnsSelect::Random,
            policy: DnsPolicy::PreferIpv4,
        }
    );
    assert!(h.hosts.is_empty());
    let json = serde_json::to_string(&h).expect("json");
    assert!(!json.contains("dns") && !json.contains("hosts"), "{json}");
}

#[test]
fn every_field_reaches_the_plan() {
    let h = http_of(
        "dns: {ttl: 1m, select: round_robin, policy: any}, hosts: {\"shop.test\": [\"127.0.0.1\", \"::1\"], other: \"10.0.0.1\"}",
    );
    assert_eq!(
        h.dns,
        DnsOptions {
            ttl_ms: Some(60_000),
            select: DnsSelect::RoundRobin,
            policy: DnsPolicy::Any,
        }
    );
    assert_eq!(
        h.hosts,
        BTreeMap::from([
            (
                "shop.test".to_owned(),
                vec!["127.0.0.1".to_owned(), "::1".to_owned()]
            ),
            ("other".to_owned(), vec!["10.0.0.1".to_owned()]),
        ])
    );
    let json = serde_json::to_string(&h).expect("json");
    let back: HttpOptions = serde_json::from_str(&json).expect("back");
    assert_eq!(back, h);

    assert_eq!(http_of("dns: {ttl: 0}").dns.ttl_ms, Some(0));
    assert_eq!(http_of("dns: {ttl: inf}").dns.ttl_ms, None);
    assert_eq!(http_of("dns: {ttl: \"inf\"}").dns.ttl_ms, None);
    let first = http_of("dns: {select: \"first\", policy: only_ipv6}").dns;
    assert_eq!(
        (first.select, first.policy),
        (DnsSelect::First, DnsPolicy::OnlyIpv6)
    );
    assert_eq!(
        first.ttl_ms,
        Some(300_000),
        "unset fields keep their default"
    );
    // `cached`, the old spelling: one answer for the run, its first address.
    let cached = http_of("dns: cached").dns;
    assert_eq!((cached.ttl_ms, cached.select), (None, DnsSelect::First));
}

#[test]
fn wrong_choices_offer_the_closest() {
    let (code, under, help) = error_of("dns: {select: round_robn}");
    assert_eq!((code.as_str(), under.as_str()), ("E0308", "round_robn"));
    assert!(help.contains("did you mean `round_robin`"), "{help}");
    // k6's spellings.
    let (code, _, help) = error_of("dns: {select: \"roundRobin\"}");
    assert_eq!(code, "E0308");
    assert!(help.contains("`round_robin`"), "{help}");
    let (_, under, help) = error_of("dns: {policy: preferIPv4}");
    assert_eq!(under, "preferIPv4");
    assert!(help.contains("`prefer_ipv4`"), "{help}");
    let (code, under, help) = error_of("dns: {tll: 1m}");
    assert_eq!((code.as_str(), under.as_str()), ("E0301", "tll"));
    assert!(help.contains("`ttl`"), "{help}");
    let (code, under, help) = error_of("dns: cachd");
    assert_eq!((code.as_str(), under.as_str()), ("E0308", "cachd"));
    assert!(help.contains("`cached`"), "{help}");
    let (code, _, help) = error_of("hots: {}");
    assert_eq!(code, "E0301");
    assert!(help.contains("`hosts`"), "{help}");
}

#[test]
fn wrong_ttls_and_addresses_are_errors() {
    let (code, under, _) = error_of("dns: {ttl: 5}");
    assert_eq!((code.as_str(), under.as_str()), ("E0202", "5"));
    let (code, under, _) = error_of("dns: {ttl: \"5m\"}");
    assert_eq!((code.as_str(), under.as_str()), ("E0201", "\"5m\""));
    let (code, under, _) = error_of("hosts: {\"shop.test\": \"shop.internal\"}");
    assert_eq!(
        (code.as_str(), under.as_str()),
        ("E0208", "\"shop.internal\"")
    );
    let (code, under, _) = error_of("hosts: {\"shop.test\": [\"10.0.0.1\", 42]}");
    assert_eq!((code.as_str(), under.as_str()), ("E0201", "42"));
    let (code, _, _) = error_of("hosts: {\"shop.test\": []}");
    assert_eq!(code, "E0207");
}
