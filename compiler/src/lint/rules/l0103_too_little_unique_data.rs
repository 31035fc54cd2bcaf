//! Too little unique data: fewer rows than the VUs or iterations that need one each.
//!
//! **What it finds.** `pick: unique` gives each VU the row `vu.id - 1` for its whole life;
//! it fires when a scenario's VU ids go past the last row (VU ids of later scenarios start
//! after the peak VUs of the earlier ones, so the count includes them).
//! `pick: unique_per_iteration` gives each iteration the row `test.iteration`; it fires
//! when the workload starts more iterations than there are rows: `shared_iterations`,
//! `per_vu_iterations` and the arrival-rate workloads start an exact number (closed
//! workloads that run for a duration are estimated by L0104). It also fires when two
//! scenarios take their iterations' rows from the same source: `test.iteration` starts
//! at 0 in each scenario, so both read the same rows.
//!
//! **Why it matters.** A VU without a row fails every iteration, and an iteration
//! without a row stops its VU: the test applies a fraction of its load, or quietly
//! reuses what it promised was unique.
//!
//! Bad (with `data/users.csv` of 50 users):
//!
//! ```load
//! target shop = "http://127.0.0.1:8088"
//! data users = csv("data/users.csv", pick: unique)
//!
//! scenario logins {
//!   workload = constant_vus(vus: 80, duration: 1m)
//!   let user = users.next()
//!   iteration {
//!     post(shop, "/api/login", json: {email: user.email, password: user.password})
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
//! target shop = "http://127.0.0.1:8088"
//! data users = csv("data/users.csv", pick: unique)
//!
//! scenario logins {
//!   workload = constant_vus(vus: 50, duration: 1m)
//!   let user = users.next()
//!   iteration {
//!     post(shop, "/api/login", json: {email: user.email, password: user.password})
//!     sleep 1s
//!   }
//! }
//!
//! thresholds {
//!   http_req_failed: rate < 1%
//! }
//! ```

use crate::ir::{Loc, Pick};
use crate::lint::context::thousands;
use crate::lint::provenance::{DataRead, Phase};
use crate::lint::{LintCx, Rule};
use volley_plan::{schedule, slice, Workload};
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0103",
    name: "too-little-unique-data",
    severity: Severity::Error,
    summary: "unique data with fewer rows than the VUs or iterations that each need one",
    source: include_str!("l0103_too_little_unique_data.rs"),
    check,
};

/// Reads of unique source `d` (by VU id, or by iteration), first per scenario.
pub(crate) fn reads<'c>(cx: &'c LintCx, d: u32, by_iteration: bool) -> Vec<&'c DataRead> {
    let pick = cx.prog.data[d as usize].pick;
    let mut seen = std::collections::BTreeSet::new();
    cx.facts
        .data_reads
        .iter()
        .filter(|r| r.source == d && r.scenario.is_some())
        .filter(|r| {
            let iter = pick == Pick::UniquePerIteration && r.phase == Phase::Iteration;
            iter == by_iteration
        })
        .filter(|r| seen.insert(r.scenario))
        .collect()
}

/// The exact number of iterations a workload starts (`None` for duration-based closed ones).
pub(crate) fn exact_iterations(w: &Workload) -> Option<(u64, String)> {
    match w {
        Workload::SharedIterations { iterations, .. } => Some((
            *iterations,
            format!("{} shared iterations", thousands(*iterations)),
        )),
        Workload::PerVuIterations {
            vus, iterations, ..
        } => Some((
            vus.saturating_mul(*iterations),
            format!("{vus} VUs × {iterations} iterations"),
        )),
        Workload::ConstantArrivalRate { .. } | Workload::RampingArrivalRate { .. } => {
            let n = schedule::total_arrivals(w);
            Some((n, "its arrival rate over its duration".to_string()))
        }
        _ => None,
    }
}

fn check(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    let offsets = slice::vu_id_offsets(cx.plan);
    for (di, d) in cx.prog.data.iter().enumerate() {
        if !slice::is_sliced(d.pick) {
            continue;
        }
        let rows = d.rows.len() as u64;
        let decl = format!("`{}` ({}) has {} rows", d.name, d.path, thousands(rows));
        for r in reads(cx, di as u32, false) {
            let s = r.scenario.unwrap_or(0);
            let vus = cx.peak_vus(s);
            let offset = offsets.get(s as usize).copied().unwrap_or(0);
            if offset + vus <= rows {
                continue;
            }
            let ids = if offset > 0 {
                format!(
                    "VU ids {}..{} (after the {} VUs of earlier scenarios)",
                    offset + 1,
                    offset + vus,
                    thousands(offset)
                )
            } else {
                format!("VU ids 1..{vus}")
            };
            let short = (offset + vus - rows).min(vus);
            let msg = format!(
                "each VU needs its own row: scenario `{}` runs {ids}, but {decl}: {} VUs get no row and fail every iteration",
                cx.scenario(s).name,
                thousands(short)
            );
            out.push(finding(
                cx,
                r.loc,
                d.loc,
                msg,
                "one row per VU for its whole life",
                format!(
                    "add rows (at least {}), or lower the scenario's VUs",
                    thousands(offset + vus)
                ),
            ));
        }
        let by_iter = reads(cx, di as u32, true);
        for r in &by_iter {
            let s = r.scenario.unwrap_or(0);
            let Some((n, how)) = exact_iterations(&cx.scenario(s).workload) else {
                continue;
            };
            if n <= rows {
                continue;
            }
            let msg = format!(
                "each iteration needs a fresh row: scenario `{}` starts {} iterations ({how}), but {decl}: the VUs stop after {} iterations",
                cx.scenario(s).name,
                thousands(n),
                thousands(rows)
            );
            out.push(finding(
                cx,
                r.loc,
                d.loc,
                msg,
                "one row per iteration",
                format!(
                    "add rows (at least {}), or start fewer iterations",
                    thousands(n)
                ),
            ));
        }
        if let [first, second, ..] = by_iter.as_slice() {
            let (a, b) = (first.scenario.unwrap_or(0), second.scenario.unwrap_or(0));
            let msg = format!(
                "scenarios `{}` and `{}` both take their iterations' rows from `{}`: `test.iteration` starts at 0 in each scenario, so they read the same rows",
                cx.scenario(a).name,
                cx.scenario(b).name,
                d.name
            );
            let mut f = finding(
                cx,
                second.loc,
                d.loc,
                msg,
                "the same rows as another scenario",
                "give each scenario its own data source (split the file)".into(),
            );
            f = cx.note(f, first.loc, "also read here");
            out.push(f);
        }
    }
}

fn finding(cx: &LintCx, at: Loc, decl: Loc, msg: String, label: &str, help: String) -> Diagnostic {
    let d = cx.at(at, msg, label).with_help(help);
    cx.note(d, decl, "declared here")
}

#[cfg(test)]
mod tests {
    use crate::lint::tests::codes;

    fn src(data: &str, workloads: &[&str]) -> String {
        let mut s = format!("target api = \"http://127.0.0.1:8088\"\n{data}\nthresholds {{ http_req_failed: rate < 1% }}\n");
        for (i, w) in workloads.iter().enumerate() {
            s.push_str(&format!("scenario s{i} {{\n  workload = {w}\n  iteration {{\n    let o = orders.next()\n    post(api, \"/o\", json: {{sku: o.sku}})\n    sleep 1s\n  }}\n}}\n"));
        }
        s
    }

    #[test]
    fn counts_vus_after_earlier_scenarios() {
        let data = "data orders = json(\"data/orders.json\", pick: unique)";
        let w = "constant_vus(vus: 30, duration: 10s)";
        assert!(!codes(&src(data, &[w])).contains(&"L0103".into()));
        assert!(
            codes(&src(data, &[w, w])).contains(&"L0103".into()),
            "30 + 30 VUs need 60 of 50 rows"
        );
    }

    #[test]
    fn counts_exact_iterations() {
        let data = "data orders = json(\"data/orders.json\", pick: unique_per_iteration)";
        let fits = "shared_iterations(vus: 5, iterations: 50)";
        let over = "per_vu_iterations(vus: 6, iterations: 10)";
        assert!(!codes(&src(data, &[fits])).contains(&"L0103".into()));
        assert!(codes(&src(data, &[over])).contains(&"L0103".into()));
        assert!(
            codes(&src(
                data,
                &[
                    "shared_iterations(vus: 1, iterations: 20)",
                    "shared_iterations(vus: 1, iterations: 20)"
                ]
            ))
            .contains(&"L0103".into()),
            "two scenarios read the same rows"
        );
    }
}
