//! Secret taint. Every checked expression carries its origins (`ir::Origin`); where a
//! value reaches a sink (a URL, a check or group name, a tag, `log`, a metric value),
//! a secret among its origins is an error, and a flow parameter among them is recorded
//! in the flow's summary so each call site checks its argument. These functions read
//! explicit data (the expression, the program's secrets, the flow being checked) and
//! return the diagnostic; the checker reports it.

use super::{FlowCx, SinkInfo};
use crate::codes::{self, Sink};
use crate::ir::{Expr, ExprKind, ModuleId, Origin, Secret};
use volley_syntax::Diagnostic;

fn secret_name(secrets: &[Secret], s: u32) -> String {
    secrets
        .get(s as usize)
        .map(|x| x.name.clone())
        .unwrap_or_default()
}

/// The first secret of `e` reaching `sink`, worded at the smallest part carrying it.
pub(crate) fn leak(e: &Expr, sink: Sink, secrets: &[Secret]) -> Option<(ModuleId, Diagnostic)> {
    let s = e.origins.iter().find_map(|o| match o {
        Origin::Secret(s) => Some(*s),
        _ => None,
    })?;
    let name = secret_name(secrets, s);
    let at = taint_expr(e, &Origin::Secret(s));
    let via = match &at.kind {
        ExprKind::Local(_, local) if *local != name => Some(format!("through `{local}`")),
        _ => None,
    };
    let mut d = codes::secret_into(at.loc.span, &name, sink, via.as_deref());
    if let Some(decl) = secrets.get(s as usize).map(|x| x.loc) {
        if decl.module == at.loc.module {
            d = d.with_note(decl.span, "the secret is declared here");
        }
    }
    Some((at.loc.module, d))
}

/// Records, in the flow being checked, the parameters of `e` that reach `sink`.
pub(crate) fn record_param_sinks(flow: Option<&mut FlowCx>, e: &Expr, sink: Sink) {
    let Some(f) = flow else { return };
    for o in &e.origins {
        let Origin::FlowParam(i) = o else { continue };
        let via = format!(
            "through parameter `{}` of flow `{}`",
            f.param_names.get(*i as usize).cloned().unwrap_or_default(),
            f.name
        );
        if let Some(slot) = f.param_sinks.get_mut(*i as usize) {
            slot.get_or_insert(SinkInfo { sink, via });
        }
    }
}

/// An argument `x` of a flow call whose parameter reaches a sink inside the flow
/// (`info`): the diagnostic for its first secret; the caller's own parameters met
/// before it are recorded in the caller's summary.
pub(crate) fn leak_via(
    x: &Expr,
    info: SinkInfo,
    secrets: &[Secret],
    mut flow: Option<&mut FlowCx>,
) -> Option<(ModuleId, Diagnostic)> {
    for o in &x.origins {
        match o {
            Origin::Secret(s) => {
                let name = secret_name(secrets, *s);
                let d = codes::secret_into(x.loc.span, &name, info.sink, Some(&info.via));
                return Some((x.loc.module, d));
            }
            Origin::FlowParam(i) => {
                if let Some(slot) = flow
                    .as_mut()
                    .and_then(|f| f.param_sinks.get_mut(*i as usize))
                {
                    slot.get_or_insert(info.clone());
                }
            }
            _ => {}
        }
    }
    None
}

/// The smallest part of `e` that carries `origin` (to label `{token}` in a string).
pub(crate) fn taint_expr<'e>(e: &'e Expr, origin: &Origin) -> &'e Expr {
    let children: Vec<&Expr> = match &e.kind {
        ExprKind::Concat(xs) | ExprKind::List(xs) | ExprKind::Intrinsic(_, xs) => {
            xs.iter().collect()
        }
        ExprKind::Binary(_, a, b) => vec![a, b],
        ExprKind::Record(fs) => fs.iter().map(|(_, x)| x).collect(),
        ExprKind::Unary(_, b) | ExprKind::Field(b, _) => vec![b],
        _ => Vec::new(),
    };
    for c in children {
        if c.origins.contains(origin) && c.loc.module == e.loc.module {
            return taint_expr(c, origin);
        }
    }
    e
}
