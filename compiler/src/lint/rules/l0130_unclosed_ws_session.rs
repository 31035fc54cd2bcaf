//! Unclosed WebSocket session: a `ws.connect(..)` whose session is never closed.
//!
//! **What it finds.** A session opened in a scenario's iteration, its `init` or a flow
//! that no `s.close(..)` closes in that same code: `ws.connect(..)` used without a
//! name, or bound to a `let`/`var` that no `close` reads. A session walked with
//! `for e in s.events(duration: D)` is closed by the loop after `D`; one handed to a flow,
//! or returned by one, is left to the code that receives it.
//!
//! **Why it matters.** The engine drops an unclosed session without the closing
//! handshake: the server sees the connection reset (1006, "abnormal closure") instead of
//! a close, which is a different code path from what real clients take, and
//! `ws_session_duration` has no sample of it, so thresholds on it judge the other
//! sessions only. A session in `init` stays open for the VU's whole life, and one per
//! iteration that is never closed leaves its connection open until the VU reuses its
//! slot: thousands of half-dead connections on the server under test.
//!
//! Bad:
//!
//! ```load
//! target live = "ws://127.0.0.1:8088"
//!
//! scenario chat {
//!   workload = per_vu_iterations(vus: 5, iterations: 10)
//!   iteration {
//!     let s = ws.connect(live, "/ws/echo")
//!     s.send("hello")
//!     check "echoed": s.receive(timeout: 2s).data == "hello"
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
//! target live = "ws://127.0.0.1:8088"
//!
//! scenario chat {
//!   workload = per_vu_iterations(vus: 5, iterations: 10)
//!   iteration {
//!     let s = ws.connect(live, "/ws/echo")
//!     s.send("hello")
//!     check "echoed": s.receive(timeout: 2s).data == "hello"
//!     s.close()
//!   }
//! }
//!
//! thresholds {
//!   checks: rate > 99%
//! }
//! ```

use crate::ir::{self, ExprKind, Intrinsic, StmtKind};
use crate::lint::{LintCx, Rule};
use std::collections::BTreeSet;
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0130",
    name: "unclosed-ws-session",
    severity: Severity::Warning,
    summary: "a WebSocket session that no `close` closes",
    source: include_str!("l0130_unclosed_ws_session.rs"),
    check,
};

fn check(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    for sc in &cx.prog.scenarios {
        // The scenario's `init` and iteration share one frame: a session opened in `init`
        // may be closed in the iteration.
        let bodies = [sc.init.as_slice(), sc.iteration.as_slice()];
        judge(cx, &bodies, &format!("scenario `{}`", sc.name), out);
    }
    for f in cx.prog.flows.iter().filter(|f| f.in_plan) {
        judge(cx, &[f.body.as_slice()], &format!("flow `{}`", f.name), out);
    }
}

/// Reports every session opened in `bodies` that nothing there closes or hands on.
fn judge(cx: &LintCx, bodies: &[&[ir::Stmt]], place: &str, out: &mut Vec<Diagnostic>) {
    // Slots a session is stored in, where it is opened.
    let mut opened: Vec<(Option<u32>, String, ir::Loc)> = Vec::new();
    // Slots that are closed, passed to a flow or returned.
    let mut handled: BTreeSet<u32> = BTreeSet::new();
    for body in bodies {
        ir::walk_stmts(body, &mut |s| match &s.kind {
            StmtKind::Let { slot, name, value } | StmtKind::Assign { slot, name, value }
                if is_connect(value) =>
            {
                opened.push((Some(*slot), name.clone(), value.loc));
            }
            StmtKind::Return(Some(e)) => {
                if let ExprKind::Local(slot, _) = &e.kind {
                    handled.insert(*slot);
                }
            }
            _ => {}
        });
        ir::walk_body_exprs(body, &mut |e| match &e.kind {
            ExprKind::Intrinsic(Intrinsic::WsClose, args) => {
                if let Some(ExprKind::Local(slot, _)) = args.first().map(|a| &a.kind) {
                    handled.insert(*slot);
                }
            }
            // `for e in s.events(duration: D)` closes the session after `D`.
            ExprKind::Intrinsic(Intrinsic::WsEvents, args)
                if args
                    .get(1)
                    .is_some_and(|d| d.konst != Some(ir::Const::Null)) =>
            {
                if let Some(ExprKind::Local(slot, _)) = args.first().map(|a| &a.kind) {
                    handled.insert(*slot);
                }
            }
            ExprKind::CallFlow { args, .. } => {
                for a in args {
                    if let ExprKind::Local(slot, _) = &a.kind {
                        handled.insert(*slot);
                    }
                }
            }
            // A connect used in place (`ws.connect(..).send(..)`): nothing can close it.
            ExprKind::Intrinsic(i, args) if *i != Intrinsic::WsConnect => {
                for a in args.iter().filter(|a| is_connect(a)) {
                    opened.push((None, String::new(), a.loc));
                }
            }
            _ => {}
        });
        // `ws.connect(..)` as a statement of its own.
        ir::walk_stmts(body, &mut |s| {
            if let StmtKind::Expr(e) = &s.kind {
                if is_connect(e) {
                    opened.push((None, String::new(), e.loc));
                }
            }
        });
    }
    for (slot, name, loc) in opened {
        if slot.is_some_and(|s| handled.contains(&s)) {
            continue;
        }
        let (msg, help) = match slot {
            Some(_) => (
                format!("the WebSocket session `{name}` opened in {place} is never closed"),
                format!("close it when done with it: `{name}.close()` (or `{name}.close(CODE)`)"),
            ),
            None => (
                format!("this WebSocket session opened in {place} is never closed: nothing keeps it to close"),
                "bind it, use it and close it: `let s = ws.connect(..)` … `s.close()`".to_string(),
            ),
        };
        out.push(cx.at(loc, msg, "opened here, never closed").with_help(help));
    }
}

fn is_connect(e: &ir::Expr) -> bool {
    matches!(e.kind, ExprKind::Intrinsic(Intrinsic::WsConnect, _))
}
