//! How much load a runner can carry, and how much a plan asks of it: the one place that
//! holds the sizing constants, shared by `runners = auto` (Kubernetes manifests) and the
//! starved-runner lint.
//!
//! The load of a scenario is estimated from its plan: the peak VUs of its workload, the
//! requests one iteration sends (flows inlined, `repeat` multiplied, `if` taking the larger
//! branch) and the shortest time an iteration takes (its sleeps and think times at their
//! lower bound or mean, plus [`ASSUMED_LATENCY_MS`] per request). Closed models run at most
//! `VUs / iteration time`; open models at their peak rate. Pure: no IO.

use crate::program::{Expr, Function, Stmt};
use crate::schedule;
use crate::segment::Segment;
use crate::{Plan, Resources, Scenario, Value, Workload};

/// Requests per second one core of a runner sustains with realistic requests (TLS, a
/// JSON body, a few checks): about a fifth of the plain-GET figure of `bench/` part 1
/// (69,000 requests per CPU-second, bench/README.md), so ordinary scripts keep headroom.
pub const RPS_PER_CORE: f64 = 15_000.0;
/// Memory one VU needs with an open keep-alive connection (bench part 2 measures
/// 9.2–9.3 KiB at 5,000 and 50,000 VUs with a small response; buffers of larger responses
/// and data come on top).
pub const BYTES_PER_VU: u64 = 48 * 1024;
/// The runner's own memory before any VU: the binary, plan, runtime and metrics.
pub const BASE_BYTES: u64 = 64 * 1024 * 1024;
/// The latency assumed per request when estimating a closed model's rate.
pub const ASSUMED_LATENCY_MS: f64 = 50.0;
/// Never plan more VUs than this per runner, whatever its memory.
pub const MAX_VUS_PER_RUNNER: u64 = 50_000;

/// What one runner with `resources` can carry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Capacity {
    pub vus: u64,
    pub rps: f64,
}

/// The capacity of a runner with these resources.
pub fn capacity(resources: &Resources) -> Capacity {
    let cores = resources.cpu_millis as f64 / 1000.0;
    let vus = resources.memory_bytes.saturating_sub(BASE_BYTES) / BYTES_PER_VU;
    Capacity {
        vus: vus.min(MAX_VUS_PER_RUNNER),
        rps: cores * RPS_PER_CORE,
    }
}

/// The memory `vus` VUs need on one runner.
pub fn memory_for(vus: u64) -> u64 {
    BASE_BYTES.saturating_add(vus.saturating_mul(BYTES_PER_VU))
}

/// The estimated load of one scenario on the whole fleet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Load {
    pub peak_vus: u64,
    /// Requests one iteration sends (at most).
    pub requests_per_iteration: f64,
    /// The shortest an iteration can take, ms.
    pub min_iteration_ms: f64,
    /// Iterations per second at the peak.
    pub peak_iteration_rate: f64,
    /// Requests per second at the peak.
    pub peak_rps: f64,
}

fn const_ms(e: &Expr) -> f64 {
    match e {
        Expr::Const(v) => v.as_f64().unwrap_or(0.0).max(0.0),
        _ => 0.0,
    }
}

fn const_count(e: &Expr) -> f64 {
    match e {
        Expr::Const(Value::Int(n)) => (*n).max(0) as f64,
        _ => 1.0,
    }
}

/// (requests, minimum ms) of a block; flows are inlined up to a small depth.
fn cost(plan: &Plan, body: &[Stmt], depth: u32) -> (f64, f64) {
    let mut total = (0.0, 0.0);
    for s in body {
        let (r, ms) = stmt_cost(plan, s, depth);
        total.0 += r;
        total.1 += ms;
    }
    total
}

fn stmt_cost(plan: &Plan, s: &Stmt, depth: u32) -> (f64, f64) {
    match s {
        Stmt::Let { value: e, .. }
        | Stmt::Expr(e)
        | Stmt::Check { cond: e, .. }
        | Stmt::Require { cond: e, .. }
        | Stmt::MetricAdd { value: e, .. }
        | Stmt::Log(e)
        | Stmt::Assign { value: e, .. }
        | Stmt::Return(Some(e)) => expr_cost(plan, e, depth),
        Stmt::Return(None) | Stmt::Break | Stmt::Continue => (0.0, 0.0),
        Stmt::ForRange {
            low, high, body, ..
        } => {
            let n = match (low, high) {
                (Expr::Const(Value::Int(a)), Expr::Const(Value::Int(b))) => {
                    b.saturating_sub(*a).max(0) as f64
                }
                _ => 1.0,
            };
            let (r, ms) = cost(plan, body, depth);
            (r * n, ms * n)
        }
        // A loop's rounds are unknown before it runs: counted once (as an `if` would be).
        Stmt::ForEach { body, .. } | Stmt::While { body, .. } => cost(plan, body, depth),
        Stmt::Sleep(d) => (0.0, const_ms(d)),
        Stmt::ThinkUniform { low, .. } => (0.0, const_ms(low)),
        Stmt::ThinkExponential { mean } => (0.0, const_ms(mean)),
        Stmt::Group { body, .. } => cost(plan, body, depth),
        Stmt::If {
            cond,
            then,
            otherwise,
        } => {
            let c = expr_cost(plan, cond, depth);
            let a = cost(plan, then, depth);
            let b = cost(plan, otherwise, depth);
            // The branch with more requests, and the faster of the two.
            (c.0 + a.0.max(b.0), c.1 + a.1.min(b.1))
        }
        Stmt::Repeat { count, body } => {
            let n = const_count(count);
            let (r, ms) = cost(plan, body, depth);
            (r * n, ms * n)
        }
    }
}

fn expr_cost(plan: &Plan, e: &Expr, depth: u32) -> (f64, f64) {
    let sum = |es: &mut dyn Iterator<Item = &Expr>| {
        es.map(|e| expr_cost(plan, e, depth))
            .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1))
    };
    match e {
        Expr::Request(r) => {
            let inner = sum(&mut [
                Some(&r.path),
                r.query.as_ref(),
                r.headers.as_ref(),
                r.cookies.as_ref(),
                r.redirects.as_ref(),
            ]
            .into_iter()
            .flatten());
            (inner.0 + 1.0, inner.1 + ASSUMED_LATENCY_MS)
        }
        Expr::Grpc(g) => {
            let inner = sum(&mut [Some(&g.message), g.metadata.as_ref()]
                .into_iter()
                .flatten());
            (inner.0 + 1.0, inner.1 + ASSUMED_LATENCY_MS)
        }
        Expr::CallFlow { flow, args } => {
            let a = sum(&mut args.iter());
            let f: Option<&Function> = plan.flows.get(*flow as usize);
            let body = match f {
                Some(f) if depth < 8 => cost(plan, &f.body, depth + 1),
                _ => (0.0, 0.0),
            };
            (a.0 + body.0, a.1 + body.1)
        }
        Expr::Field(x, _) | Expr::Unary(_, x) => expr_cost(plan, x, depth),
        Expr::Check { cond, .. } => expr_cost(plan, cond, depth),
        Expr::Binary(_, a, b) => sum(&mut [a.as_ref(), b.as_ref()].into_iter()),
        Expr::Concat(xs) | Expr::List(xs) => sum(&mut xs.iter()),
        Expr::Call { args, .. } => sum(&mut args.iter()),
        Expr::Record(fields) => sum(&mut fields.iter().map(|(_, e)| e)),
        Expr::Const(_)
        | Expr::Local(_)
        | Expr::Setup(_)
        | Expr::Secret(_)
        | Expr::Builtin(_)
        | Expr::DataNext(_) => (0.0, 0.0),
    }
}

/// The peak iteration rate an open model asks for (iterations per second).
fn peak_rate(w: &Workload) -> Option<f64> {
    match w {
        Workload::ConstantArrivalRate { rate, .. } => Some(*rate),
        Workload::RampingArrivalRate {
            start_rate, stages, ..
        } => Some(stages.iter().map(|s| s.target).fold(*start_rate, f64::max)),
        _ => None,
    }
}

/// The estimated peak load of `s` on the whole fleet.
pub fn scenario_load(plan: &Plan, s: &Scenario) -> Load {
    let peak_vus = schedule::max_vus(&s.workload, Segment::whole());
    let (requests, ms) = cost(plan, &s.iteration, 0);
    let min_ms = ms.max(1.0);
    let rate = match peak_rate(&s.workload) {
        Some(r) => r.max(0.0),
        None => peak_vus as f64 * 1000.0 / min_ms,
    };
    Load {
        peak_vus,
        requests_per_iteration: requests,
        min_iteration_ms: min_ms,
        peak_iteration_rate: rate,
        peak_rps: rate * requests,
    }
}

/// The fleet's peak VUs and requests per second, taking every scenario as running at
/// once (an upper bound: `after` chains never overlap in fact).
pub fn plan_load(plan: &Plan) -> (u64, f64) {
    plan.scenarios
        .iter()
        .map(|s| scenario_load(plan, s))
        .fold((0, 0.0), |(v, r), l| (v + l.peak_vus, r + l.peak_rps))
}

/// `runners = auto`: the fewest runners with `resources` that carry the plan's peak VUs
/// and request rate, at least 1.
pub fn auto_runners(plan: &Plan, resources: &Resources) -> u32 {
    let (vus, rps) = plan_load(plan);
    let cap = capacity(resources);
    let by_vus = if cap.vus == 0 {
        1
    } else {
        vus.div_ceil(cap.vus)
    };
    let by_rps = if cap.rps <= 0.0 {
        1
    } else {
        (rps / cap.rps).ceil() as u64
    };
    by_vus.max(by_rps).clamp(1, u64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_follows_resources() {
        let c = capacity(&Resources {
            cpu_millis: 2000,
            memory_bytes: 512 * 1024 * 1024,
        });
        assert_eq!(c.rps, 30_000.0);
        assert_eq!(c.vus, (512 - 64) * 1024 / 48);
        assert_eq!(memory_for(0), BASE_BYTES);
    }

    #[test]
    fn millicores_count_as_fractions_of_a_core() {
        let rps = |cpu_millis| {
            capacity(&Resources {
                cpu_millis,
                memory_bytes: 1 << 30,
            })
            .rps
        };
        assert_eq!(rps(250), 3_750.0, "`cpu: 250m` is a quarter core");
        assert_eq!(rps(1500), 22_500.0, "`cpu: 1.5`");
        assert_eq!(rps(1), 15.0, "`cpu: 1m`");
    }

    #[test]
    fn tiny_resources_never_divide_by_zero() {
        let c = capacity(&Resources {
            cpu_millis: 0,
            memory_bytes: 0,
        });
        assert_eq!(c.vus, 0);
        assert_eq!(c.rps, 0.0);
    }
}
