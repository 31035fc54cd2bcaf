//! Starved runner: more VUs or requests per runner than its `resources` can carry.
//!
//! **What it finds.** In a file with a `fleet` block, the peak load of the scenarios that
//! can run at once (scenarios chained with `start = after(..)` never overlap) split over
//! the runners, against what one runner with `fleet.resources` carries, with the
//! constants of `volley_plan::capacity` (calibrated on `bench/`):
//! * memory: 64 MiB for the runner itself plus 48 KiB per VU (the benchmark measures at
//!   most 32 KiB per VU holding a keep-alive connection);
//! * CPU: 15,000 requests per second per core (a third of the plain-GET benchmark figure,
//!   for TLS, JSON bodies and checks). A closed model's rate is estimated as VUs divided
//!   by the shortest iteration (its pauses, plus 50 ms per request).
//!
//! `cpu` counts as Kubernetes writes it (`250m`, `"500m"`, `1.5`); with per-role
//! resources (`resources = {.., runners: {cpu: 2}}`) only the runners' count, since the
//! coordinator sends no load.
//!
//! Files without a `fleet` block are not judged: `volley run` uses the machine it runs on.
//!
//! **Why it matters.** A runner out of memory is killed mid-test; a runner out of CPU
//! becomes the bottleneck: it sends less than planned and its own queueing shows up as
//! server latency. Either way the results describe the load generator, not the system.
//!
//! Bad:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario soak {
//!   workload = constant_vus(vus: 20000, duration: 10m)
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
//!   resources = {cpu: 1, memory: 256Mi}
//! }
//! ```
//!
//! Good:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario soak {
//!   workload = constant_vus(vus: 20000, duration: 10m)
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
//!   resources = {cpu: 2, memory: 512Mi}
//! }
//! ```

use crate::lint::context::{bytes, num, thousands};
use crate::lint::{LintCx, Rule};
use volley_plan::{capacity, Start};
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0111",
    name: "starved-runner",
    severity: Severity::Error,
    summary: "estimated VUs or request rate per runner above what its `resources` carry",
    source: include_str!("l0111_starved_runner.rs"),
    check,
};

/// Millicores as Kubernetes writes them: `2` cores, `250m`.
fn cpu(millis: u64) -> String {
    if millis.is_multiple_of(1000) {
        (millis / 1000).to_string()
    } else {
        format!("{millis}m")
    }
}

/// Whether `a` runs (transitively) after `b`.
fn after(cx: &LintCx, a: usize, b: usize) -> bool {
    let mut at = a;
    for _ in 0..cx.prog.scenarios.len() {
        match cx.prog.scenarios[at].start {
            Start::After { scenario } if scenario as usize == b => return true,
            Start::After { scenario } => at = scenario as usize,
            _ => return false,
        }
    }
    false
}

/// The fleet's peak VUs and requests per second over the scenarios that can overlap.
pub(crate) fn peak(cx: &LintCx) -> (u64, f64) {
    let n = cx.prog.scenarios.len();
    let loads: Vec<_> = (0..n).map(|s| cx.load(s as u32)).collect();
    let mut best = (0u64, 0f64);
    for s in 0..n {
        let (mut vus, mut rps) = (0u64, 0f64);
        for (t, load) in loads.iter().enumerate() {
            if t == s || !(after(cx, s, t) || after(cx, t, s)) {
                vus += load.peak_vus;
                rps += load.peak_rps;
            }
        }
        best = (best.0.max(vus), best.1.max(rps));
    }
    best
}

fn check(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    let Some(fleet_loc) = cx.prog.fleet_loc else {
        return;
    };
    let runners = cx.runners();
    let res = &cx.prog.fleet.resources;
    let cap = capacity::capacity(res);
    let (vus, rps) = peak(cx);
    let runner_vus = vus.div_ceil(u64::from(runners));
    let runner_rps = rps / f64::from(runners);
    let field = |name: &str| {
        cx.prog
            .fleet_fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, l)| *l)
    };
    let loc = field("resources").or(field("runners")).unwrap_or(fleet_loc);
    let need_runners = |per: f64, total: f64| (total / per.max(1.0)).ceil() as u64;
    let each = if runners == 1 {
        "the one runner".to_string()
    } else {
        format!("each of the {runners} runners")
    };
    if runner_vus > cap.vus {
        let need = capacity::memory_for(runner_vus);
        let msg = format!(
            "{each} holds up to {} VUs, which need about {} ({} MiB for the runner plus {} KiB per VU), but `resources` gives it {}: the runner is killed when it runs out of memory",
            thousands(runner_vus),
            bytes(need),
            capacity::BASE_BYTES / (1024 * 1024),
            capacity::BYTES_PER_VU / 1024,
            bytes(res.memory_bytes)
        );
        let help = format!(
            "give each runner `memory: {}Mi` or more, or use `runners = {}` (or `auto`)",
            need.div_ceil(1024 * 1024),
            need_runners(cap.vus as f64, vus as f64)
        );
        out.push(
            cx.at(loc, msg, "not enough memory for its VUs")
                .with_help(help),
        );
    }
    if runner_rps > cap.rps {
        let msg = format!(
            "{each} sends about {} requests/s at the peak, but `cpu: {}` carries about {} (≈ {} per core): the runner, not the server, limits the load and its queueing shows up as latency",
            num(runner_rps),
            cpu(res.cpu_millis),
            num(cap.rps),
            thousands(capacity::RPS_PER_CORE as u64)
        );
        let help = format!(
            "give each runner `cpu: {}` or more, or use `runners = {}` (or `auto`)",
            cpu(((runner_rps / capacity::RPS_PER_CORE * 10.0).ceil() as u64) * 100),
            need_runners(cap.rps, rps)
        );
        out.push(
            cx.at(loc, msg, "not enough CPU for its request rate")
                .with_help(help),
        );
    }
}
