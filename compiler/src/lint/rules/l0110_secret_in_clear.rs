//! Secret in the clear: a `secret` sent where the network can read or redirect it.
//!
//! **What it finds.** A request that sends a `secret` (in a header or the body) to a
//! target over plain `http://` on a host other than loopback (a WebSocket session's
//! handshake headers to a `ws://` one too), or from a scenario with
//! `http = {insecure_tls: true}` (certificates unchecked, so anyone in the middle can
//! pose as the server). The compiler already refuses secrets in URLs, tags, check and
//! group names, metrics and logs; this is the way out it cannot see from types alone.
//!
//! **Why it matters.** Every VU sends the secret with every request: thousands of copies
//! per second cross the network unencrypted, readable by anything on the path.
//!
//! Bad:
//!
//! ```load
//! target payments = "http://payments.staging.example.com"
//! secret card_token = env("CARD_TOKEN")
//!
//! scenario pay {
//!   workload = constant_vus(vus: 10, duration: 1m)
//!   iteration {
//!     post(payments, "/api/charge", json: {card: card_token, amount: 100})
//!     sleep 1s
//!   }
//! }
//!
//! thresholds {
//!   http_req_failed: rate < 1%
//! }
//! ```
//!
//! Good:
//!
//! ```load
//! target payments = "https://payments.staging.example.com"
//! secret card_token = env("CARD_TOKEN")
//!
//! scenario pay {
//!   workload = constant_vus(vus: 10, duration: 1m)
//!   iteration {
//!     post(payments, "/api/charge", json: {card: card_token, amount: 100})
//!     sleep 1s
//!   }
//! }
//!
//! thresholds {
//!   http_req_failed: rate < 1%
//! }
//! ```

use crate::lint::provenance::Kind;
use crate::lint::{LintCx, Rule};
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0110",
    name: "secret-in-clear",
    severity: Severity::Warning,
    summary: "a secret sent over plain HTTP to another host, or with TLS verification off",
    source: include_str!("l0110_secret_in_clear.rs"),
    check,
};

/// Whether a URL's host is loopback (`localhost`, `127.x`, `::1`).
pub fn is_loopback(url: &str) -> bool {
    let host = super::l0107_undeclared_host::host_of(url);
    let host = host.trim_matches(['[', ']']);
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn check(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    for site in &cx.facts.sites {
        let Some(t) = cx.prog.targets.get(site.target as usize) else {
            continue;
        };
        let plain =
            (t.url.starts_with("http://") || t.url.starts_with("ws://")) && !is_loopback(&t.url);
        let insecure = site
            .scenario
            .is_some_and(|s| cx.scenario(s).http.insecure_tls)
            && (t.url.starts_with("https://") || t.url.starts_with("wss://"));
        if !plain && !insecure {
            continue;
        }
        for f in &site.fields {
            let Some(part) = f.prov.find(|k| matches!(k, Kind::Secret(_))) else {
                continue;
            };
            let Kind::Secret(i) = part.kind else { continue };
            let name = cx
                .prog
                .secrets
                .get(i as usize)
                .map_or("", |s| s.name.as_str());
            let loc = cx.user_loc(part.loc, &site.calls);
            let (msg, help) = if plain {
                (
                    format!("secret `{name}` is sent to target `{}` over plain HTTP ({}): anyone on the network path can read it, once per request", t.name, t.url),
                    "use an `https://` URL for the target (`wss://` for a WebSocket one)".to_string(),
                )
            } else {
                (
                    format!("secret `{name}` is sent to target `{}` with `insecure_tls: true`: the server's certificate is not checked, so anything in the middle can receive it", t.name),
                    "turn `insecure_tls` off (trust the test environment's CA instead)".to_string(),
                )
            };
            let d = cx.at(loc, msg, "sent in the clear").with_help(help);
            out.push(cx.note(d, t.loc, "the target"));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_hosts() {
        assert!(super::is_loopback("http://127.0.0.1:8088"));
        assert!(super::is_loopback("http://localhost/x"));
        assert!(super::is_loopback("http://[::1]:80"));
        assert!(!super::is_loopback("http://10.0.0.1"));
        assert!(!super::is_loopback("http://shop.internal"));
    }
}
