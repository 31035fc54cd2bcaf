//! Undeclared host: a request aimed at a host that is not one of its `target`s.
//!
//! **What it finds.** Requests only go to declared targets (the compiler refuses anything
//! else), but two ways of writing one still aim elsewhere:
//! * a path that is an absolute URL (`get(api, "https://other.example.com/x")`): it is
//!   appended to the target's URL, so the request goes to `api` with a broken path;
//! * a `host` header naming another host than the target's: the request reaches the
//!   target's address but asks for a virtual host nobody declared.
//!
//! **Why it matters.** The test measures something other than what it reads as (404s
//! from the wrong virtual host, or a broken URL), and the fleet's network policy, built
//! from the targets, does not describe where the test thinks it sends traffic.
//!
//! Bad:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario s {
//!   workload = constant_vus(vus: 5, duration: 30s)
//!   iteration {
//!     get(api, "https://cdn.example.com/logo.png")
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
//! target api = "http://127.0.0.1:8088"
//! target cdn = "https://cdn.example.com"
//!
//! scenario s {
//!   workload = constant_vus(vus: 5, duration: 30s)
//!   iteration {
//!     get(cdn, "/logo.png")
//!     sleep 1s
//!   }
//! }
//!
//! thresholds {
//!   http_req_failed: rate < 1%
//! }
//! ```

use crate::lint::provenance::{Kind, Place};
use crate::lint::{LintCx, Rule};
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0107",
    name: "undeclared-host",
    severity: Severity::Error,
    summary: "a request aimed at a host that is not its target (an absolute URL as path, a `host` header)",
    source: include_str!("l0107_undeclared_host.rs"),
    check,
};

/// `scheme://host[:port]` of an absolute URL written as a path.
fn absolute_host(path: &str) -> Option<&str> {
    let (scheme, rest) = path.split_once("://")?;
    if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    Some(rest.split(['/', '?']).next().unwrap_or(rest))
}

pub(crate) fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}

fn check(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    for site in &cx.facts.sites {
        let Some(t) = cx.prog.targets.get(site.target as usize) else {
            continue;
        };
        if let Some((text, loc)) = &site.path_text {
            if let Some(host) = absolute_host(text) {
                let loc = cx.user_loc(*loc, &site.calls);
                let msg = format!(
                    "this path is an absolute URL: it is appended to target `{}` ({}), so the request goes to {} with a broken path, never to {host}",
                    t.name, t.url, t.url
                );
                let d = cx
                    .at(loc, msg, format!("`{host}` is not a target"))
                    .with_help(format!(
                        "declare the host, `target other = \"{}\"`, and request a path on it: `get(other, \"/…\")`",
                        text.split('/').take(3).collect::<Vec<_>>().join("/")
                    ));
                out.push(cx.note(d, t.loc, "the target it goes to"));
            }
        }
        let target_host = host_of(&t.url);
        for f in &site.fields {
            if f.place != Place::Header || !f.key.eq_ignore_ascii_case("host") {
                continue;
            }
            let Some(part) = f.prov.find(|k| *k == Kind::Literal) else {
                continue;
            };
            let loc = cx.user_loc(part.loc, &site.calls);
            let value = cx.text(loc).trim_matches('"').to_string();
            let host = value.split(':').next().unwrap_or("");
            if host.eq_ignore_ascii_case(&target_host) || f.prov.parts.len() > 1 {
                continue;
            }
            let msg = format!(
                "the `host` header asks target `{}` ({target_host}) for the virtual host `{value}`, which no target declares",
                t.name
            );
            let d = cx
                .at(loc, msg, "another host")
                .with_help(format!(
                    "declare `target other = \"https://{value}\"` and send the request to it (and drop the `host` header)"
                ));
            out.push(cx.note(d, t.loc, "the target it goes to"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::absolute_host;

    #[test]
    fn absolute_urls_are_told_from_paths() {
        assert_eq!(
            absolute_host("https://cdn.example.com/a"),
            Some("cdn.example.com")
        );
        assert_eq!(absolute_host("http://10.0.0.1:81?x=1"), Some("10.0.0.1:81"));
        assert_eq!(absolute_host("/api/products"), None);
        assert_eq!(absolute_host("/r?next=https://x"), None);
    }
}
