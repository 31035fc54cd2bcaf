//! Plaintext secret: a password, token or key written in the file instead of a `secret`.
//!
//! **What it finds.**
//! * A literal (or a param's non-empty default) sent in a password, token, authorization,
//!   cookie or API-key field of a request (`password: "hunter2"`,
//!   `authorization: "Bearer eyJ…"`), or in such a key of a gRPC call's `metadata:`;
//! * any string literal that looks like a credential wherever it is written: a GitHub,
//!   GitLab, Slack, Stripe, AWS or Google key by its prefix, a JSON Web Token, a private
//!   key, a URL with a password (`https://user:pass@host`), or a long random-looking string
//!   (24+ characters of letters, digits and `+/=_-` with upper and lower case and digits,
//!   over 4.2 bits of entropy per character).
//!
//! A literal in a known credential format (a `sk_live_`, `AKIA…`, `ghp_`, `xoxb-`/`xoxp-`
//! key, a `-----BEGIN … PRIVATE KEY-----` block…) is an **error** whatever the project's
//! severity for the rule: it is a live credential, not a test value. The other findings
//! are warnings. Every output of `volley lint` masks the value (`"sk_live_****…"`).
//!
//! Generated passwords such as `"pw-{vu.id}"` are test data, not secrets, and are not
//! reported. (The compiler already refuses a `secret` in a URL, tag, check name or log.)
//!
//! **Why it matters.** A `.load` file is committed and reviewed: a credential in it is
//! readable by everyone with the repository, ends up in the plan and in CI logs, and
//! cannot be rotated without a commit. A `secret` is read from the environment at run
//! time and is redacted everywhere.
//!
//! Bad:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario s {
//!   workload = constant_vus(vus: 1, duration: 30s)
//!   iteration {
//!     get(api, "/api/products", headers: {"x-api-key": "ak_9fJ2mQ7xLw4Rt8Zp1Vb6Nc3Hs5Ke0Yd"})
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
//! secret api_key = env("API_KEY")
//!
//! scenario s {
//!   workload = constant_vus(vus: 1, duration: 30s)
//!   iteration {
//!     get(api, "/api/products", headers: {"x-api-key": api_key})
//!     sleep 1s
//!   }
//! }
//!
//! thresholds {
//!   http_req_failed: rate < 1%
//! }
//! ```

use crate::ir::{self, Const, ExprKind, Loc};
use crate::lint::provenance::{Class, Field, Kind, Part, Role, Site};
use crate::lint::{LintCx, Rule};
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0109",
    name: "plaintext-secret",
    severity: Severity::Warning,
    summary: "a password, token or key written in the file instead of a `secret`",
    source: include_str!("l0109_plaintext_secret.rs"),
    check,
};

const PREFIXES: &[(&str, &str)] = &[
    ("ghp_", "a GitHub token"),
    ("gho_", "a GitHub token"),
    ("ghs_", "a GitHub token"),
    ("github_pat_", "a GitHub token"),
    ("glpat-", "a GitLab token"),
    ("xoxb-", "a Slack token"),
    ("xoxp-", "a Slack token"),
    ("xoxa-", "a Slack token"),
    ("xoxr-", "a Slack token"),
    ("sk_live_", "a Stripe secret key"),
    ("sk_test_", "a Stripe secret key"),
    ("rk_live_", "a Stripe key"),
    ("AKIA", "an AWS access key id"),
    ("AIza", "a Google API key"),
];

/// The known credential format a literal is in (a vendor's key prefix, a private key):
/// such a finding is an error.
pub fn known_format(s: &str) -> Option<&'static str> {
    if s.contains("-----BEGIN") && s.contains("PRIVATE KEY") {
        return Some("a private key");
    }
    // AWS key ids are exactly 20 upper-case letters and digits.
    let aws = |p: &str| {
        s.starts_with(p)
            && s.len() == 20
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    if aws("AKIA") || aws("ASIA") {
        return Some("an AWS access key id");
    }
    PREFIXES
        .iter()
        .filter(|(p, _)| !p.starts_with("AKIA"))
        .find(|(p, _)| s.starts_with(p) && s.len() >= p.len() + 16)
        .map(|(_, what)| *what)
}

/// What a literal looks like, when it looks like a credential.
pub fn looks_like_secret(s: &str) -> Option<String> {
    if let Some(what) = known_format(s) {
        return Some(what.into());
    }
    for (p, what) in PREFIXES {
        if s.starts_with(p) && s.len() >= p.len() + 16 {
            return Some((*what).into());
        }
    }
    let token = s
        .strip_prefix("Bearer ")
        .or_else(|| s.strip_prefix("Basic "))
        .unwrap_or(s);
    let jwt: Vec<&str> = token.split('.').collect();
    if token.starts_with("eyJ") && jwt.len() == 3 && jwt.iter().all(|p| p.len() >= 4) {
        return Some("a JSON Web Token".into());
    }
    if let Ok(u) = url::Url::parse(s) {
        if u.password().is_some_and(|p| !p.is_empty()) {
            return Some("a URL with a password in it".into());
        }
    }
    let bits = entropy(token);
    let ok_chars = token
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "+/=_-".contains(c));
    let classes = [
        token.chars().any(|c| c.is_ascii_uppercase()),
        token.chars().any(|c| c.is_ascii_lowercase()),
        token.chars().any(|c| c.is_ascii_digit()),
    ];
    if token.len() >= 24 && ok_chars && classes.iter().all(|c| *c) && bits > 4.2 {
        return Some(format!(
            "a random key ({} characters, {:.1} bits of entropy each)",
            token.len(),
            bits
        ));
    }
    None
}

/// Shannon entropy per character.
fn entropy(s: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for c in s.chars() {
        *counts.entry(c).or_insert(0u32) += 1;
    }
    let n = s.chars().count() as f64;
    counts
        .values()
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

fn check(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    credential_fields(cx, out);
    grpc_metadata(cx, out);
    for_each_literal(cx, &mut |loc, s| {
        if let Some(what) = known_format(s.trim_start_matches("Bearer ")) {
            // Above the rule's default: the registry keeps an error an error.
            let mut d = finding(cx, loc, format!("this string is {what}"));
            d.severity = Severity::Error;
            out.push(d);
        } else if let Some(what) = looks_like_secret(s) {
            out.push(finding(cx, loc, format!("this string looks like {what}")));
        }
    });
}

fn finding(cx: &LintCx, loc: Loc, msg: String) -> Diagnostic {
    cx.at(
        loc,
        format!("{msg}: it is readable by everyone with the repository, and ends up in the plan and CI logs"),
        "plaintext credential",
    )
    .with_help("declare `secret NAME = env(\"VAR\")` and use NAME here (rotate the value: it is already in version control)")
}

/// The literal characters of a string as written: quotes and `{..}` interpolations removed.
fn literal_text(src: &str) -> String {
    let inner = src
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(src);
    let (mut out, mut depth) = (String::new(), 0usize);
    for c in inner.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Literals and param defaults in password, token and key fields of requests.
fn credential_fields(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    for site in &cx.facts.sites {
        for f in &site.fields {
            if !matches!(f.role, Some(Role::Credential | Role::Session))
                || f.prov.class() != Class::Constant
            {
                continue;
            }
            for part in &f.prov.parts {
                let d = match &part.kind {
                    Kind::Literal => literal_credential(cx, site, f, part),
                    Kind::Param(name) => param_credential(cx, f, name),
                    _ => None,
                };
                out.extend(d);
            }
        }
    }
}

/// A credential field written as a literal (an error when it has a known format).
fn literal_credential(cx: &LintCx, site: &Site, f: &Field, part: &Part) -> Option<Diagnostic> {
    let loc = cx.user_loc(part.loc, &site.calls);
    let text = literal_text(cx.text(loc));
    let bare = text
        .trim_start_matches("Bearer ")
        .trim_start_matches("Basic ")
        .trim();
    if bare.is_empty() || cx.in_std(loc) {
        return None;
    }
    let known = known_format(bare);
    let msg = match known {
        Some(what) => format!("`{}` is sent as a literal, {what}", f.key),
        None => format!("`{}` is sent as a literal", f.key),
    };
    let mut d = finding(cx, loc, msg);
    if known.is_some() {
        d.severity = Severity::Error;
    }
    Some(d)
}

/// A credential field from a param whose default is written in the file.
fn param_credential(cx: &LintCx, f: &Field, name: &str) -> Option<Diagnostic> {
    let p = cx.prog.params.iter().find(|p| p.name == *name)?;
    let Const::Str(value) = &p.value else {
        return None;
    };
    if value.is_empty() || cx.in_std(p.loc) {
        return None;
    }
    let msg = format!(
        "param `{name}` has a default `{}` value written in the file",
        f.key
    );
    let mut d = finding(cx, p.loc, msg);
    if known_format(value.trim_start_matches("Bearer ")).is_some() {
        d.severity = Severity::Error;
    }
    Some(d)
}

/// Every string literal of the user's files (code, lets, params, targets).
/// Every body of code: flows, scenarios' `init` and iterations, setup and teardown.
fn bodies(p: &ir::Program) -> Vec<&[ir::Stmt]> {
    let mut bodies: Vec<&[ir::Stmt]> = p.flows.iter().map(|x| x.body.as_slice()).collect();
    for s in &p.scenarios {
        bodies.push(&s.init);
        bodies.push(&s.iteration);
    }
    bodies.extend(p.setup.iter().map(|b| b.body.as_slice()));
    bodies.extend(p.teardown.iter().map(|b| b.body.as_slice()));
    bodies
}

/// A gRPC call's metadata key that names a credential (`authorization`, `x-api-key`)
/// given a literal; literals that look like a credential anywhere are
/// `for_each_literal`'s.
fn grpc_metadata(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    let mut visit = |e: &ir::Expr| {
        let ExprKind::Grpc(g) = &e.kind else {
            return;
        };
        let Some(ExprKind::Record(fields)) = g.metadata.as_ref().map(|m| &m.kind) else {
            return;
        };
        for (key, v) in fields {
            let credential = matches!(
                crate::lint::provenance::identity_role(key),
                Some(Role::Credential | Role::Session)
            );
            let (ExprKind::Const, Some(Const::Str(s))) = (&v.kind, &v.konst) else {
                continue;
            };
            let bare = s.trim_start_matches("Bearer ").trim_start_matches("Basic ");
            if !credential || bare.trim().is_empty() || cx.in_std(v.loc) {
                continue;
            }
            if looks_like_secret(s).is_none() {
                let msg = format!("gRPC metadata `{key}` is sent as a literal");
                out.push(finding(cx, v.loc, msg));
            }
        }
    };
    for b in bodies(cx.prog) {
        ir::walk_body_exprs(b, &mut visit);
    }
}

fn for_each_literal(cx: &LintCx, f: &mut dyn FnMut(Loc, &str)) {
    let mut visit = |e: &ir::Expr| {
        if let (ExprKind::Const, Some(Const::Str(s))) = (&e.kind, &e.konst) {
            if !cx.in_std(e.loc) {
                f(e.loc, s);
            }
        }
    };
    let p = cx.prog;
    for b in bodies(p) {
        ir::walk_body_exprs(b, &mut visit);
    }
    for l in &p.lets {
        ir::walk_expr(&l.value, &mut visit);
    }
    for prm in p.params.iter().filter(|x| !cx.in_std(x.loc)) {
        if let Const::Str(s) | Const::Url(s) = &prm.value {
            f(prm.loc, s);
        }
    }
    for t in p.targets.iter().filter(|x| !cx.in_std(x.loc)) {
        if t.origins == [ir::Origin::Literal] {
            f(t.loc, &t.url);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_secret;

    #[test]
    fn known_formats_and_random_keys_look_like_secrets() {
        assert!(looks_like_secret("ghp_0123456789abcdefABCDEF0123456789abcd").is_some());
        assert!(looks_like_secret("AKIAIOSFODNN7EXAMPLE").is_some());
        assert!(
            looks_like_secret("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdEFGH").is_some()
        );
        assert!(looks_like_secret("https://admin:s3cret@db.example.com").is_some());
        assert!(looks_like_secret("ak_9fJ2mQ7xLw4Rt8Zp1Vb6Nc3Hs5Ke0Yd").is_some());
    }

    #[test]
    fn known_formats_are_told_apart_from_lookalikes() {
        use super::known_format;
        assert!(known_format("sk_live_4eC39HqLyjWDarjtT1zdp7dc").is_some());
        assert!(known_format("AKIAIOSFODNN7EXAMPLE").is_some());
        assert!(known_format("xoxb-1234567890-abcdefghijkl").is_some());
        assert!(known_format("-----BEGIN RSA PRIVATE KEY-----\nMIIE...").is_some());
        assert_eq!(known_format("ak_9fJ2mQ7xLw4Rt8Zp1Vb6Nc3Hs5Ke0Yd"), None);
        assert_eq!(known_format("sk_live_short"), None);
    }

    #[test]
    fn ordinary_strings_do_not() {
        for s in [
            "/api/products?page=1&limit=20",
            "user1@example.com",
            "123e4567-e89b-12d3-a456-426614174000",
            "http://127.0.0.1:8088",
            "application/json",
            "card_test",
            "SKU-12345-BLUE-XL",
            "ghp_short",
        ] {
            assert_eq!(looks_like_secret(s), None, "{s}");
        }
    }
}
