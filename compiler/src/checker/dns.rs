//! A scenario's `http = {dns: {..}, hosts: {..}}`: k6's `dns` option (`ttl`, `select`,
//! `policy`) and its `hosts` (names with fixed addresses), written in the language's
//! style (`round_robin`, `prefer_ipv4`). Choices are names or strings, fixed when the
//! test compiles; a wrong one is E0308 with the closest choice.

use super::args::{DnsField, DNS_FIELDS};
use super::Checker;
use crate::codes;
use crate::ir::Const;
use crate::suggest::did_you_mean;
use crate::types::Type;
use std::collections::BTreeMap;
use std::net::IpAddr;
use volley_plan::{DnsOptions, DnsPolicy, DnsSelect, HttpOptions};
use volley_syntax::ast::{self, ExprKind as A};

/// `dns: cached`: the answer kept for the run, the first address used (before TTLs).
const DNS_SHORTHANDS: &[&str] = &["cached"];
const SELECTS: &[&str] = &["first", "random", "round_robin"];
const POLICIES: &[&str] = &[
    "prefer_ipv4",
    "prefer_ipv6",
    "only_ipv4",
    "only_ipv6",
    "any",
];
const DNS_EXAMPLE: &str = "{ttl: 5m, select: round_robin, policy: prefer_ipv4}";

/// A name or a literal string (how choices are written).
fn word(v: &ast::Expr) -> Option<String> {
    match &v.kind {
        A::Name(n) => Some(n.name.clone()),
        A::Paren(inner) => word(inner),
        _ => super::items::literal_string(v),
    }
}

impl<'a> Checker<'a> {
    /// `http.dns`: a record of `ttl`, `select` and `policy`, or `cached`.
    pub(crate) fn dns_option(&mut self, h: &mut HttpOptions, v: &ast::Expr) -> bool {
        if !matches!(v.kind, A::Record(_)) {
            let given = word(v).unwrap_or_else(|| self.source_text(0, v.span));
            if given == "cached" {
                h.dns = DnsOptions {
                    ttl_ms: None,
                    select: DnsSelect::First,
                    policy: DnsPolicy::PreferIpv4,
                };
                return true;
            }
            let mut choices = DNS_SHORTHANDS.to_vec();
            choices.push(DNS_EXAMPLE);
            let s = did_you_mean(&given, DNS_SHORTHANDS.iter().copied());
            self.emit(0, codes::bad_choice(v.span, "dns", &given, &s, &choices));
            return false;
        }
        let Some(fields) = self.record_literal(0, v, DNS_EXAMPLE) else {
            return false;
        };
        let mut ok = true;
        for f in fields {
            let unknown = |sp, n: &str, s: &Option<String>, acc: &[&str]| {
                codes::unknown_field(sp, "dns options", n, s, acc)
            };
            match self.arg_key(0, DNS_FIELDS, &f.key, f.key_span, unknown) {
                Some(DnsField::Ttl) => ok &= self.dns_ttl(&mut h.dns, &f.value),
                Some(DnsField::Select) => match self.choice(&f.value, "select", SELECTS) {
                    Some(i) => {
                        h.dns.select =
                            [DnsSelect::First, DnsSelect::Random, DnsSelect::RoundRobin][i]
                    }
                    None => ok = false,
                },
                Some(DnsField::Policy) => match self.choice(&f.value, "policy", POLICIES) {
                    Some(i) => {
                        h.dns.policy = [
                            DnsPolicy::PreferIpv4,
                            DnsPolicy::PreferIpv6,
                            DnsPolicy::OnlyIpv4,
                            DnsPolicy::OnlyIpv6,
                            DnsPolicy::Any,
                        ][i]
                    }
                    None => ok = false,
                },
                None => ok = false,
            }
        }
        ok
    }

    /// `ttl`: a duration, `0` (no cache) or `inf` (kept for the run).
    fn dns_ttl(&mut self, dns: &mut DnsOptions, v: &ast::Expr) -> bool {
        match &v.kind {
            A::Int(0) => {
                dns.ttl_ms = Some(0);
                return true;
            }
            A::Name(n) if n.name == "inf" => {
                dns.ttl_ms = None;
                return true;
            }
            _ => {}
        }
        if word(v).as_deref() == Some("inf") {
            dns.ttl_ms = None;
            return true;
        }
        let what = "`ttl`";
        let help = "write a duration such as 5m, 0 (no cache) or inf (kept for the run)";
        match self.const_of(0, v, &Type::Duration, what, help) {
            Some(Const::Duration(ms)) if ms >= 0.0 => {
                dns.ttl_ms = Some(ms.round() as u64);
                true
            }
            Some(_) => {
                self.emit(0, codes::out_of_range(v.span, "ttl", help));
                false
            }
            None => false,
        }
    }

    /// The index of `v` in `choices`, or E0308 with the closest choice.
    pub(crate) fn choice(&mut self, v: &ast::Expr, field: &str, choices: &[&str]) -> Option<usize> {
        let given = word(v).unwrap_or_else(|| self.source_text(0, v.span));
        if let Some(i) = choices.iter().position(|c| *c == given) {
            return Some(i);
        }
        // k6 spells them `roundRobin`, `preferIPv4`: offer ours.
        let snake = to_snake(&given);
        let s = choices
            .iter()
            .find(|c| **c == snake)
            .map(|c| (*c).to_owned())
            .or_else(|| did_you_mean(&given, choices.iter().copied()));
        self.emit(0, codes::bad_choice(v.span, field, &given, &s, choices));
        None
    }

    /// `http.hosts`: `{"name": "ADDRESS"}` or `{"name": ["ADDRESS", ..]}`, IP literals.
    pub(crate) fn hosts_option(&mut self, h: &mut HttpOptions, v: &ast::Expr) -> bool {
        let example = "{\"shop.test\": [\"10.0.0.1\", \"10.0.0.2\"]}";
        let Some(fields) = self.record_literal(0, v, example) else {
            return false;
        };
        let mut hosts = BTreeMap::new();
        let mut ok = true;
        for f in fields {
            let items: Vec<&ast::Expr> = match &f.value.kind {
                A::List(items) if !items.is_empty() => items.iter().collect(),
                A::List(_) => {
                    let help = "give at least one address";
                    self.emit(0, codes::out_of_range(f.value.span, "hosts", help));
                    ok = false;
                    continue;
                }
                _ => vec![&f.value],
            };
            let mut addrs = Vec::new();
            for item in items {
                let Some(text) = super::items::literal_string(item) else {
                    let found = self.source_text(0, item.span);
                    let help = format!("write the address as a string, e.g. {example}");
                    self.emit(0, codes::mismatch(item.span, "an IP address", &found, help));
                    ok = false;
                    continue;
                };
                match text.parse::<IpAddr>() {
                    Ok(ip) => addrs.push(ip.to_string()),
                    Err(_) => {
                        let why = "hosts map names to IP addresses";
                        let d = codes::malformed(item.span, "IP address", &text, why, "10.0.0.1");
                        self.emit(0, d);
                        ok = false;
                    }
                }
            }
            hosts.insert(f.key.clone(), addrs);
        }
        h.hosts = hosts;
        ok
    }
}

/// `roundRobin` → `round_robin`, `preferIPv4` → `prefer_ipv4`.
fn to_snake(s: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = c.is_ascii_lowercase();
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn k6_spellings_become_ours() {
        assert_eq!(super::to_snake("roundRobin"), "round_robin");
        assert_eq!(super::to_snake("preferIPv4"), "prefer_ipv4");
        assert_eq!(super::to_snake("onlyIPv6"), "only_ipv6");
        assert_eq!(super::to_snake("any"), "any");
    }
}
