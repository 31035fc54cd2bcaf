//! The link pass: after checking, the program holds every flow instance that was
//! checked. It keeps those the plan needs (the entry file's flows and every flow called,
//! directly or not, from scenarios, setup or teardown), marks them `in_plan` and
//! renumbers every call. Input and output: the `ir::Program`; no diagnostics.

use crate::ir::{self, ExprKind, Program};

/// Keeps the flow instances the plan needs (entry-file flows and every flow called
/// from code that runs) and renumbers calls.
pub(crate) fn keep_reachable_flows(prog: &mut Program, entry_flows: &[u32]) {
    let n = prog.flows.len();
    let mut used = vec![false; n];
    let mut stack: Vec<u32> = entry_flows.to_vec();
    let mut roots: Vec<&[ir::Stmt]> = Vec::new();
    for s in &prog.scenarios {
        roots.push(&s.init);
        roots.push(&s.iteration);
    }
    if let Some(b) = &prog.setup {
        roots.push(&b.body);
    }
    if let Some(b) = &prog.teardown {
        roots.push(&b.body);
    }
    for body in roots {
        ir::walk_body_exprs(body, &mut |e| {
            if let ExprKind::CallFlow { flow, .. } = e.kind {
                stack.push(flow);
            }
        });
    }
    while let Some(f) = stack.pop() {
        let Some(slot) = used.get_mut(f as usize) else {
            continue;
        };
        if *slot {
            continue;
        }
        *slot = true;
        ir::walk_body_exprs(&prog.flows[f as usize].body, &mut |e| {
            if let ExprKind::CallFlow { flow, .. } = e.kind {
                stack.push(flow);
            }
        });
    }
    let mut map = vec![None; n];
    let mut next = 0u32;
    for (i, u) in used.iter().enumerate() {
        if *u {
            map[i] = Some(next);
            next += 1;
        }
    }
    let mut remap = |e: &mut ir::Expr| {
        if let ExprKind::CallFlow { flow, .. } = &mut e.kind {
            *flow = map
                .get(*flow as usize)
                .copied()
                .flatten()
                .unwrap_or(u32::MAX);
        }
    };
    let flows = std::mem::take(&mut prog.flows);
    let mut kept = Vec::new();
    for (i, mut f) in flows.into_iter().enumerate() {
        if used[i] {
            ir::walk_body_exprs_mut(&mut f.body, &mut remap);
            f.in_plan = true;
            kept.push(f);
        }
    }
    prog.flows = kept;
    for s in &mut prog.scenarios {
        ir::walk_body_exprs_mut(&mut s.init, &mut remap);
        ir::walk_body_exprs_mut(&mut s.iteration, &mut remap);
    }
    if let Some(b) = &mut prog.setup {
        ir::walk_body_exprs_mut(&mut b.body, &mut remap);
    }
    if let Some(b) = &mut prog.teardown {
        ir::walk_body_exprs_mut(&mut b.body, &mut remap);
    }
}
