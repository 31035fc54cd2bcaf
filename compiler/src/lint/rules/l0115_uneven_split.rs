//! Uneven split: peak VUs or iterations that do not divide evenly across the runners.
//!
//! **What it finds.** With `runners = N > 1` written in the fleet block, a scenario
//! whose peak VUs is not a multiple of N, or whose `shared_iterations` iterations do not
//! split evenly. Runner k of N owns VU indices k, k+N, …, so the first runners carry one
//! more; as in k6, iterations follow each runner's share of the VUs.
//! Information only: the fleet as a whole runs exactly the planned load.
//!
//! **Why it matters.** Per-runner figures (the per-runner breakdown of the report, a
//! runner's CPU) differ by one VU; with few VUs per runner that is a visible skew. It
//! also hints at a VU count chosen before the runner count.
//!
//! Bad:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario s {
//!   workload = constant_vus(vus: 10, duration: 1m)
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
//!   runners = 4
//! }
//! ```
//!
//! Good:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario s {
//!   workload = constant_vus(vus: 12, duration: 1m)
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
//!   runners = 4
//! }
//! ```

use crate::lint::context::thousands;
use crate::lint::{LintCx, Rule};
use volley_plan::segment::Segment;
use volley_plan::Workload;
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0115",
    name: "uneven-split",
    severity: Severity::Info,
    summary: "peak VUs or iterations not divisible by the number of runners",
    source: include_str!("l0115_uneven_split.rs"),
    check,
};

/// `3, 3, 2, 2` (shortened past 6 runners).
fn shares(total: u64, runners: u32) -> String {
    let all: Vec<u64> = (0..runners)
        .filter_map(|k| Segment::new(k, runners).ok())
        .map(|s| s.share(total))
        .collect();
    list(&all)
}

fn list(all: &[u64]) -> String {
    let mut parts: Vec<String> = all.iter().take(6).map(|n| thousands(*n)).collect();
    if all.len() > 6 {
        parts.push("…".into());
    }
    parts.join(", ")
}

fn check(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    let Some(n) = cx.prog.fleet.runners.filter(|n| *n > 1) else {
        return;
    };
    for (i, sc) in cx.prog.scenarios.iter().enumerate() {
        let vus = cx.peak_vus(i as u32);
        let mut parts = Vec::new();
        if !vus.is_multiple_of(u64::from(n)) {
            parts.push(format!(
                "{} VUs over {n} runners: {}",
                thousands(vus),
                shares(vus, n)
            ));
        }
        if let Workload::SharedIterations {
            iterations,
            vus: sv,
            ..
        } = sc.workload
        {
            let per: Vec<u64> = (0..n)
                .filter_map(|k| Segment::new(k, n).ok())
                .map(|s| s.stripe(sv).share(iterations))
                .collect();
            if per.iter().min() != per.iter().max() {
                parts.push(format!(
                    "{} iterations: {}",
                    thousands(iterations),
                    list(&per)
                ));
            }
        }
        if parts.is_empty() {
            continue;
        }
        let msg = format!(
            "scenario `{}` splits unevenly: {}",
            sc.name,
            parts.join("; ")
        );
        out.push(
            cx.at(sc.workload_loc, msg, "not a multiple of the runners")
                .with_help(format!(
                    "use a multiple of {n} if per-runner figures should match"
                )),
        );
    }
}
