//! Target outside `fleet.egress`: a target whose address lies outside the networks the
//! fleet declares it may reach.
//!
//! **What it finds.** When `fleet.egress` lists CIDRs, a target whose host is an IP
//! address inside none of them. Loopback targets (`127.0.0.0/8`, `::1`: local runs and
//! local fleets) and host names (which only resolve at run time) are not judged.
//!
//! **Why it matters.** `egress` is the reviewed statement of where this test may send
//! load; a target outside it is either a typo that will load the wrong system, or a
//! network the runners' policy does not expect, so the requests time out and the test
//! measures the firewall.
//!
//! Bad:
//!
//! ```load
//! target api = "http://10.30.0.7:8080"
//!
//! scenario s {
//!   workload = constant_vus(vus: 20, duration: 1m)
//!   iteration {
//!     get(api, "/health")
//!     sleep 1s
//!   }
//! }
//!
//! thresholds {
//!   http_req_failed: rate < 1%
//! }
//!
//! fleet {
//!   runners = 2
//!   egress = ["10.20.0.0/16"]
//! }
//! ```
//!
//! Good:
//!
//! ```load
//! target api = "http://10.20.0.7:8080"
//!
//! scenario s {
//!   workload = constant_vus(vus: 20, duration: 1m)
//!   iteration {
//!     get(api, "/health")
//!     sleep 1s
//!   }
//! }
//!
//! thresholds {
//!   http_req_failed: rate < 1%
//! }
//!
//! fleet {
//!   runners = 2
//!   egress = ["10.20.0.0/16"]
//! }
//! ```

use crate::lint::{LintCx, Rule};
use std::net::IpAddr;
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0108",
    name: "target-outside-egress",
    severity: Severity::Warning,
    summary: "a target whose address is outside every `fleet.egress` network",
    source: include_str!("l0108_target_outside_egress.rs"),
    check,
};

/// Whether `ip` is inside `cidr` (`10.20.0.0/16`, `fd00::/8`, or a bare address).
pub fn contains(cidr: &str, ip: IpAddr) -> bool {
    let (net, bits) = match cidr.split_once('/') {
        Some((n, b)) => (n, b.parse::<u32>().ok()),
        None => (cidr, None),
    };
    let Ok(net) = net.parse::<IpAddr>() else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

fn check(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    let egress = &cx.prog.fleet.egress;
    if egress.is_empty() {
        return;
    }
    for t in &cx.prog.targets {
        let host = super::l0107_undeclared_host::host_of(&t.url);
        let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() else {
            continue;
        };
        if ip.is_loopback() || egress.iter().any(|c| contains(c, ip)) {
            continue;
        }
        let msg = format!(
            "target `{}` ({ip}) is outside every network of `fleet.egress` ({}): the fleet is not meant to reach it",
            t.name,
            egress.join(", ")
        );
        let mut d = cx
            .at(t.loc, msg, format!("{ip} is not in fleet.egress"))
            .with_help(format!(
                "fix the target's address, or add its network to `fleet.egress` (e.g. \"{ip}/32\")"
            ));
        if let Some((_, loc)) = cx.prog.fleet_fields.iter().find(|(n, _)| n == "egress") {
            d = cx.note(d, *loc, "the networks the fleet may reach");
        }
        out.push(d);
    }
}

#[cfg(test)]
mod tests {
    use super::contains;

    #[test]
    fn cidr_membership() {
        let ip = |s: &str| s.parse().unwrap();
        assert!(contains("10.20.0.0/16", ip("10.20.3.4")));
        assert!(!contains("10.20.0.0/16", ip("10.21.0.1")));
        assert!(contains("0.0.0.0/0", ip("192.0.2.1")));
        assert!(contains("192.0.2.1", ip("192.0.2.1")));
        assert!(contains("fd00::/8", ip("fd12::1")));
        assert!(!contains("fd00::/8", ip("10.0.0.1")));
    }
}
