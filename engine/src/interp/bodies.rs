//! Whether the plan's code ever reads a response body, decided once when the engine
//! loads the plan: when nothing reads one, every request streams its response body and
//! discards it (counted in `data_received`, never held in memory), so an endless or huge
//! body costs no memory.
//!
//! A body is read by `res.body`, `res.size`, `res.wire_size`, `res.json(..)` and `res.html()`. The decision is for the
//! whole plan (scenarios, flows, setup and teardown): one read anywhere keeps every
//! body, each capped by its scenario's `http.max_body`. A `Response` used whole (in a
//! `json:` body or a log line) is not a read: it shows an empty body when nothing else
//! reads one. This module must not run code.

use volley_plan::program::{walk_exprs, Expr, Intrinsic, Stmt};
use volley_plan::Plan;

/// Whether any code of `plan` reads a response body.
pub fn reads_bodies(plan: &Plan) -> bool {
    let mut reads = false;
    let mut look = |body: &[Stmt]| {
        walk_exprs(body, &mut |e| {
            reads |= match e {
                Expr::Field(_, f) => f == "body" || f == "size" || f == "wire_size",
                Expr::Call { intrinsic, .. } => {
                    matches!(intrinsic, Intrinsic::Json | Intrinsic::Html)
                }
                _ => false,
            }
        })
    };
    for s in &plan.scenarios {
        look(&s.init);
        look(&s.iteration);
    }
    for f in plan.flows.iter().chain(&plan.setup).chain(&plan.teardown) {
        look(&f.body);
    }
    reads
}

#[cfg(test)]
mod tests {
    use super::*;
    use volley_plan::program::{Body, Request};

    fn get() -> Expr {
        Expr::Request(Box::new(Request {
            method: "GET".into(),
            target: 0,
            path: Expr::Const(volley_plan::value::Value::Str("/".into())),
            query: None,
            headers: None,
            body: Body::None,
            name: "/".into(),
            timeout_ms: None,
            redirects: None,
            expect: (200, 399),
            cookies: None,
            compress: None,
            tags: Default::default(),
            dynamic_tags: Vec::new(),
        }))
    }

    fn plan_with(iteration: Vec<Stmt>) -> Plan {
        let mut plan: Plan = serde_json::from_str(include_str!("../fleet/state/fleet_plan.json"))
            .expect("the test plan parses");
        plan.flows.clear();
        plan.setup = None;
        plan.teardown = None;
        for s in &mut plan.scenarios {
            s.init.clear();
            s.iteration.clear();
        }
        plan.scenarios[0].iteration = iteration;
        plan
    }

    #[test]
    fn status_only_discards_and_body_keeps() {
        let status = Expr::Field(Box::new(Expr::Local(0)), "status".into());
        let plan = plan_with(vec![
            Stmt::Let {
                slot: 0,
                value: get(),
            },
            Stmt::Check {
                name: "ok".into(),
                cond: status,
            },
        ]);
        assert!(!reads_bodies(&plan));
        let body = Expr::Field(Box::new(Expr::Local(0)), "body".into());
        let plan = plan_with(vec![
            Stmt::Let {
                slot: 0,
                value: get(),
            },
            Stmt::Log(body),
        ]);
        assert!(reads_bodies(&plan));
        let json = Expr::Call {
            intrinsic: Intrinsic::Json,
            args: vec![Expr::Local(0)],
        };
        assert!(reads_bodies(&plan_with(vec![Stmt::Expr(json)])));
    }
}
