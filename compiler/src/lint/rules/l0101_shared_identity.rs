//! Shared identity: every VU of a scenario sends the same user, email, token or password.
//!
//! **What it finds.** A request whose identity fields (user, login, email, account,
//! customer; else session, token, authorization, API key; else password) are all
//! literals or params, or follow `vu.iteration` (the same sequence on every VU), in a
//! scenario that runs more than one VU. A secret, a setup value or a token read from a
//! response is not judged: those are shared or unique by the system's own design.
//!
//! **Why it matters.** Thousands of VUs logged in as one user measure one user's cache,
//! one session's lock and one account's rate limit. The server does far less work than
//! the planned load, so the results look better than production will.
//!
//! Bad:
//!
//! ```load
//! target shop = "http://127.0.0.1:8088"
//!
//! scenario shoppers {
//!   workload = constant_vus(vus: 50, duration: 1m)
//!   iteration {
//!     post(shop, "/api/login", json: {email: "alice@example.com", password: pw()})
//!     sleep 1s
//!   }
//! }
//!
//! flow pw() -> string { return "x{vu.id}" }
//!
//! thresholds {
//!   http_req_failed: rate < 1%
//! }
//! ```
//!
//! Good:
//!
//! ```load
//! target shop = "http://127.0.0.1:8088"
//!
//! scenario shoppers {
//!   workload = constant_vus(vus: 50, duration: 1m)
//!   iteration {
//!     post(shop, "/api/login", json: {email: "user{vu.id}@example.com", password: pw()})
//!     sleep 1s
//!   }
//! }
//!
//! flow pw() -> string { return "x{vu.id}" }
//!
//! thresholds {
//!   http_req_failed: rate < 1%
//! }
//! ```

use crate::lint::provenance::{Class, Field, Kind, Role, Site};
use crate::lint::{LintCx, Rule};
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0101",
    name: "shared-identity",
    severity: Severity::Error,
    summary: "a literal user, email, token or password sent by every VU of a scenario",
    source: include_str!("l0101_shared_identity.rs"),
    check,
};

/// The identity fields a request is judged by: its principals, else its session
/// credentials, else its passwords.
pub(crate) fn judged_fields(site: &Site) -> Vec<&Field> {
    for role in [Role::Principal, Role::Session, Role::Credential] {
        let fs: Vec<&Field> = site
            .fields
            .iter()
            .filter(|f| f.role == Some(role))
            .collect();
        if !fs.is_empty() {
            return fs;
        }
    }
    Vec::new()
}

fn check(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    for site in &cx.facts.sites {
        let Some(s) = site.scenario else { continue };
        let vus = cx.peak_vus(s);
        if vus < 2 {
            continue;
        }
        let fields = judged_fields(site);
        if fields.is_empty()
            || !fields
                .iter()
                .all(|f| matches!(f.prov.class(), Class::Constant | Class::PerVu))
        {
            continue;
        }
        let f = fields[0];
        let per_vu = f.prov.class() == Class::PerVu;
        let part = if per_vu {
            f.prov.find(|k| matches!(k, Kind::PerVu(_)))
        } else {
            f.prov.find(|k| matches!(k, Kind::Literal | Kind::Param(_)))
        };
        let Some(part) = part else { continue };
        let loc = cx.user_loc(part.loc, &site.calls);
        let scenario = &cx.scenario(s).name;
        let shown = shown_value(cx, f);
        let message = if per_vu {
            format!(
                "`{}` follows `vu.iteration`, the same on every VU: the {} VUs of scenario `{scenario}` all send the same {} at the same time",
                f.key, vus, f.key
            )
        } else {
            format!(
                "every VU of scenario `{scenario}` (up to {vus} at once) sends {} {shown}",
                f.key
            )
        };
        let mut d = cx
            .at(loc, message, format!("the same `{}` for every VU", f.key))
            .with_help(format!(
                "give each VU its own identity: `\"user{{vu.id}}@example.com\"`, or a data file with `pick: unique` and `users.next().{}`",
                f.key
            ));
        d = cx.note(d, site.loc, "sent here");
        out.push(d);
    }
}

/// `as \`alice\`` or `from param \`user\``, for the message.
fn shown_value(cx: &LintCx, f: &Field) -> String {
    if let Some(p) = f.prov.find(|k| matches!(k, Kind::Param(_))) {
        if let Kind::Param(n) = &p.kind {
            return format!("from param `{n}`");
        }
    }
    match f.prov.find(|k| *k == Kind::Literal) {
        Some(p) => {
            let text = cx.text(p.loc);
            if text.len() <= 60 {
                format!("as {text}")
            } else {
                "as one literal".to_string()
            }
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::tests::codes;

    const BASE: &str =
        "target api = \"http://127.0.0.1:8088\"\nthresholds { http_req_failed: rate < 1% }\n";

    fn scenario(vus: u32, body: &str) -> String {
        format!("{BASE}scenario s {{\n  workload = constant_vus(vus: {vus}, duration: 10s)\n  iteration {{\n    {body}\n    sleep 1s\n  }}\n}}\n")
    }

    #[test]
    fn a_literal_login_fires_only_with_several_vus() {
        let body = "post(api, \"/login\", json: {email: \"a@b.c\", password: \"{vu.id}\"})";
        assert!(codes(&scenario(5, body)).contains(&"L0101".to_string()));
        assert!(!codes(&scenario(1, body)).contains(&"L0101".to_string()));
    }

    #[test]
    fn per_vu_and_dynamic_identities_are_silent() {
        for body in [
            "post(api, \"/login\", json: {email: \"u{vu.id}@b.c\", password: \"pw\"})",
            "get(api, \"/me\", headers: {authorization: \"Bearer {setup.t}\"})",
        ] {
            let src = format!("{}setup {{ let t = \"x\" }}\n", scenario(5, body));
            assert!(!codes(&src).contains(&"L0101".to_string()), "{body}");
        }
    }
}
