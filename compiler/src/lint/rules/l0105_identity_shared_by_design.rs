//! Identities shared by design: logins from cycled or random data, or random ids from a
//! range small enough that concurrent VUs collide.
//!
//! **What it finds.** An identity field (user, email, account, session, token…) fed by
//! * `pick: sequential` or `pick: random` data with fewer rows than the scenario's
//!   concurrent VUs, or `pick: shared` (every VU reads every row from the first);
//! * a random draw (`data.random_int(1, 100)`, a random data row) where, among the
//!   scenario's peak VUs, a collision is more likely than not: with `k` VUs drawing from
//!   `n` values the expected number of pairs sharing one is `k(k-1)/2n`, and the chance
//!   of at least one is `1 - e^(-k(k-1)/2n)` (the birthday bound);
//! * `vu.id % n` (or another fleet-unique value folded into `n` values) with `n` below
//!   the peak VUs.
//!
//! **Why it matters.** Two VUs logged in as one user at the same moment share a session,
//! a cart and a rate limit: conflicts and cache hits the real load does not have.
//!
//! Bad:
//!
//! ```load
//! import std/data
//! target shop = "http://127.0.0.1:8088"
//!
//! scenario shoppers {
//!   workload = constant_vus(vus: 100, duration: 1m)
//!   iteration {
//!     post(shop, "/api/login", json: {user: "user{data.random_int(1, 500)}"})
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
//! import std/data
//! target shop = "http://127.0.0.1:8088"
//!
//! scenario shoppers {
//!   workload = constant_vus(vus: 100, duration: 1m)
//!   iteration {
//!     post(shop, "/api/login", json: {user: "user{data.random_int(1, 1000000)}"})
//!     sleep 1s
//!   }
//! }
//!
//! thresholds {
//!   http_req_failed: rate < 1%
//! }
//! ```

use crate::ir::Pick;
use crate::lint::context::thousands;
use crate::lint::provenance::{Class, Field, Kind, Site};
use crate::lint::{LintCx, Rule};
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0105",
    name: "identity-shared-by-design",
    severity: Severity::Warning,
    summary: "logins from cycled or random data, or random ids from a range too small for the concurrent VUs",
    source: include_str!("l0105_identity_shared_by_design.rs"),
    check,
};

/// `37%`, or `≈100%` when it rounds up to certainty.
fn percent(p: f64) -> String {
    if p > 0.995 {
        "≈100%".to_string()
    } else {
        format!("{:.0}%", p * 100.0)
    }
}

/// Expected pairs of `k` draws from `n` values that coincide, and the chance of any.
pub fn birthday(k: u64, n: u64) -> (f64, f64) {
    let (k, n) = (k as f64, n.max(1) as f64);
    let pairs = k * (k - 1.0) / (2.0 * n);
    (pairs, 1.0 - (-pairs).exp())
}

fn check(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    for site in &cx.facts.sites {
        let Some(s) = site.scenario else { continue };
        let vus = cx.peak_vus(s);
        if vus < 2 {
            continue;
        }
        for f in site.fields.iter().filter(|f| f.role.is_some()) {
            if let Some((loc, msg, help)) = judge(cx, f, vus, &cx.scenario(s).name) {
                let loc = cx.user_loc(loc, &site.calls);
                let d = cx
                    .at(loc, msg, format!("shared `{}`", f.key))
                    .with_help(help);
                out.push(note_site(cx, d, site));
            }
        }
    }
}

fn note_site(cx: &LintCx, d: Diagnostic, site: &Site) -> Diagnostic {
    cx.note(d, site.loc, "sent here")
}

fn judge(
    cx: &LintCx,
    f: &Field,
    vus: u64,
    scenario: &str,
) -> Option<(crate::ir::Loc, String, String)> {
    match f.prov.class() {
        Class::SharedData { source, pick } => {
            let d = &cx.prog.data[source as usize];
            let rows = d.rows.len() as u64;
            let part = f.prov.find(|k| matches!(k, Kind::Data { .. }))?;
            let msg = match pick {
                Pick::Shared => format!(
                    "`pick: shared` gives every VU every row from the first: the {vus} VUs of scenario `{scenario}` send the same `{}` at the same time",
                    f.key
                ),
                Pick::Sequential if rows < vus => format!(
                    "`{}` has {} rows for {vus} concurrent VUs of scenario `{scenario}`: `pick: sequential` cycles, so about {} VUs share each `{}`",
                    d.name,
                    thousands(rows),
                    vus.div_ceil(rows.max(1)),
                    f.key
                ),
                Pick::Random => {
                    let (pairs, p) = birthday(vus, rows);
                    if p < 0.5 && rows >= vus {
                        return None;
                    }
                    format!(
                        "{vus} VUs of scenario `{scenario}` each draw a random row of `{}` ({} rows): about {:.1} pairs of VUs share a `{}` at any moment (chance of a collision {})",
                        d.name,
                        thousands(rows),
                        pairs,
                        f.key,
                        percent(p)
                    )
                }
                _ => return None,
            };
            let help = format!(
                "use `pick: unique` with at least {vus} rows, so each VU has its own `{}`",
                f.key
            );
            Some((part.loc, msg, help))
        }
        Class::Random { space: Some(n) } => {
            let (pairs, p) = birthday(vus, n);
            if p < 0.5 {
                return None;
            }
            let part = f.prov.find(|k| matches!(k, Kind::Random { .. }))?;
            let msg = format!(
                "{vus} VUs of scenario `{scenario}` draw `{}` from {} values: about {:.1} pairs of VUs share one at any moment (chance of a collision {})",
                f.key,
                thousands(n),
                pairs,
                percent(p)
            );
            let safe = (vus as f64 * vus as f64 * 10.0) as u64;
            Some((part.loc, msg, format!("draw from a much larger range (≥ {} values keeps collisions under 5%), or use `vu.id`", thousands(safe))))
        }
        Class::Reduced { space } if space < vus => {
            let part = f
                .prov
                .find(|k| matches!(k, Kind::FleetUnique(_) | Kind::Data { .. }))?;
            let msg = format!(
                "`{}` takes only {} values for the {vus} VUs of scenario `{scenario}`: about {} VUs share each",
                f.key,
                thousands(space),
                vus.div_ceil(space)
            );
            Some((
                part.loc,
                msg,
                "drop the `%` so each VU keeps its own id".to_string(),
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::birthday;
    use crate::lint::tests::codes;

    #[test]
    fn birthday_bound() {
        let (pairs, p) = birthday(23, 365);
        assert!((pairs - 0.693).abs() < 0.001);
        assert!((p - 0.5).abs() < 0.01, "{p}");
        assert_eq!(birthday(1, 10).0, 0.0);
    }

    fn src(user: &str, data: &str) -> String {
        format!("import std/data\ntarget api = \"http://127.0.0.1:8088\"\n{data}\nthresholds {{ http_req_failed: rate < 1% }}\nscenario s {{\n  workload = constant_vus(vus: 20, duration: 10s)\n  iteration {{\n    post(api, \"/login\", json: {{user: {user}}})\n    sleep 1s\n  }}\n}}\n")
    }

    #[test]
    fn small_ranges_and_cycled_data_fire() {
        let fires = |u: &str, d: &str| codes(&src(u, d)).contains(&"L0105".to_string());
        assert!(fires("\"u{vu.id % 5}\"", ""));
        assert!(!fires("\"u{vu.id % 50}\"", ""));
        assert!(fires("\"u{data.random_int(1, 100)}\"", ""));
        assert!(!fires("\"u{data.random_int(1, 100000)}\"", ""));
        assert!(fires(
            "ids.next()",
            "data ids = lines(\"data/ids.lines\", pick: sequential)"
        ));
        assert!(!fires(
            "users.next().email",
            "data users = csv(\"data/users.csv\", pick: sequential)"
        ));
        assert!(fires(
            "users.next().email",
            "data users = csv(\"data/users.csv\", pick: shared)"
        ));
    }
}
