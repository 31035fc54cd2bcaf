//! Busy iteration: a closed-model iteration that sends no request and never pauses.
//!
//! **What it finds.** A `constant_vus` or `ramping_vus` scenario whose iteration has no
//! request and no `sleep` or `think` anywhere (flows included): only checks, logs,
//! metrics or computation. Iteration-count workloads (`shared_iterations`,
//! `per_vu_iterations`) end after a fixed amount of work, and arrival-rate workloads pace
//! themselves; neither is judged.
//!
//! Also, in any scenario, a `while true { .. }` in the iteration whose body sends no
//! request, never pauses and has no way out (no `break`, `return` or `require`, no flow
//! call): it spins until the engine ends the iteration at the test's end and its
//! `graceful_stop`, and the iteration never completes. A bounded loop (`while n < 10`)
//! is not judged.
//!
//! **Why it matters.** Nothing in such an iteration waits, so each VU runs it back to
//! back for the whole duration: millions of iterations that measure nothing, a core
//! pinned per worker, and a load generator too busy to report, or to be stopped, on time.
//! It is usually a test under construction whose request was commented out, or a check
//! that was meant to follow a request.
//!
//! Bad:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario smoke {
//!   workload = constant_vus(vus: 1, duration: 30s)
//!   iteration {
//!     check "always": 1 == 1
//!   }
//! }
//!
//! thresholds {
//!   checks: rate > 99%
//! }
//! ```
//!
//! Good:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario smoke {
//!   workload = constant_vus(vus: 1, duration: 30s)
//!   iteration {
//!     let r = get(api, "/api/health")
//!     check "up": r.status == 200
//!     think 1s..2s
//!   }
//! }
//!
//! thresholds {
//!   checks: rate > 99%
//! }
//! ```

use crate::ir::{self, Const, ExprKind, StmtKind};
use crate::lint::{LintCx, Rule};
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0119",
    name: "busy-iteration",
    severity: Severity::Warning,
    summary: "a duration-based closed workload whose iteration sends no request and never pauses",
    source: include_str!("l0119_busy_iteration.rs"),
    check,
};

fn check(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    busy_iterations(cx, out);
    for sc in &cx.prog.scenarios {
        ir::walk_stmts(&sc.iteration, &mut |s| {
            let StmtKind::While { cond, body } = &s.kind else {
                return;
            };
            if cond.konst != Some(Const::Bool(true)) || !spins(body) {
                return;
            }
            let msg = format!(
                "this `while true` in scenario `{}` sends no request, never pauses and never leaves: it spins until the test ends it",
                sc.name
            );
            // `while true`, not the whole loop.
            let head = ir::Span::new(s.loc.span.start, cond.loc.span.end.max(s.loc.span.start));
            out.push(
                cx.at(ir::Loc::new(s.loc.module, head), msg, "no request, pause or way out in this loop")
                    .with_help("give the loop an end (`while n < 10`, `break`) or put the request it repeats inside it"),
            );
        });
    }
}

/// A loop body with no request, no pause and no way out (flows may do either: not judged).
fn spins(body: &[ir::Stmt]) -> bool {
    let mut exits = false;
    ir::walk_stmts(body, &mut |s| {
        exits |= matches!(
            s.kind,
            StmtKind::Break
                | StmtKind::Return(_)
                | StmtKind::Require { .. }
                | StmtKind::Sleep(_)
                | StmtKind::ThinkUniform { .. }
                | StmtKind::ThinkExponential { .. }
        );
    });
    ir::walk_body_exprs(body, &mut |e| {
        exits |= matches!(
            e.kind,
            ExprKind::Request(_) | ExprKind::Grpc(_) | ExprKind::CallFlow { .. }
        );
    });
    !exits
}

fn busy_iterations(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    for (s, sc, sends) in cx.unpaused_closed_loops() {
        if sends {
            continue;
        }
        let msg = format!(
            "the iteration of scenario `{}` sends no request and never pauses: each of its {} VUs runs it back to back for the whole test, busy and measuring nothing",
            sc.name,
            cx.peak_vus(s)
        );
        out.push(
            cx.at(sc.loc, msg, "no request, sleep or think in the iteration")
                .with_help("send the request the iteration is meant to measure, or add `think 1s..2s` (or `sleep 1s`)"),
        );
    }
}
