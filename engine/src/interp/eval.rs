//! Expressions. An expression marked `sync` (no request or flow call inside) is evaluated
//! by a plain recursive function; only expressions that wait allocate futures. A request
//! that is a whole expression (`let r = get(..)`, the usual case) is awaited in place, not
//! in a boxed future; the expressions inside a request (path, query, headers, body) are
//! evaluated with [`Vu::eval_nested`], which boxes what waits, so that a request's future
//! does not contain itself.
//! This module must not record HTTP samples (`request.rs` does) or walk statements.

use super::code::{Expr, ExprKind};
use super::exec::Flow;
use super::{ops, Halt, Vu, R};
use crate::data::PickContext;
use crate::value::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use volley_plan::program::BinOp;
use volley_plan::Builtin;

impl Vu {
    /// Evaluates any expression.
    pub(crate) async fn eval(&mut self, e: &Expr) -> R<Value> {
        if e.sync {
            return self.eval_sync(e);
        }
        match &e.kind {
            ExprKind::Request(r) => self.request(r).await,
            ExprKind::Grpc(g) => self.grpc(g).await,
            _ => self.eval_boxed(e).await,
        }
    }

    /// Evaluates an expression inside a request: as [`Vu::eval`], but what waits is always
    /// boxed (see the module docs).
    pub(crate) async fn eval_nested(&mut self, e: &Expr) -> R<Value> {
        if e.sync {
            return self.eval_sync(e);
        }
        self.eval_boxed(e).await
    }

    fn eval_boxed<'a>(&'a mut self, e: &'a Expr) -> Pin<Box<dyn Future<Output = R<Value>> + 'a>> {
        Box::pin(self.eval_async(e))
    }

    /// A condition: must be a bool.
    pub(crate) async fn eval_bool(&mut self, e: &Expr, what: &str) -> R<bool> {
        if e.sync {
            return self.sync_bool(e, what);
        }
        let v = self.eval(e).await?;
        v.as_bool().ok_or_else(|| not_bool(what, &v))
    }

    /// Composite expressions with something to wait for inside.
    async fn eval_async(&mut self, e: &Expr) -> R<Value> {
        match &e.kind {
            ExprKind::Request(r) => self.request(r).await,
            ExprKind::Grpc(g) => self.grpc(g).await,
            ExprKind::CallFlow { flow, args } => {
                let mut values = Vec::with_capacity(args.len());
                for a in args.iter() {
                    values.push(self.eval(a).await?);
                }
                self.call_flow(*flow, values).await
            }
            ExprKind::Field(inner, name) => {
                let v = self.eval(inner).await?;
                self.field(&v, name)
            }
            ExprKind::Unary(op, inner) => {
                let v = self.eval(inner).await?;
                ops::unary(*op, &v)
            }
            ExprKind::Binary(BinOp::And, a, b) => Ok(Value::Bool(
                self.eval_bool(a, "and").await? && self.eval_bool(b, "and").await?,
            )),
            ExprKind::Binary(BinOp::Or, a, b) => Ok(Value::Bool(
                self.eval_bool(a, "or").await? || self.eval_bool(b, "or").await?,
            )),
            ExprKind::Binary(op, a, b) => {
                let x = self.eval(a).await?;
                let y = self.eval(b).await?;
                ops::binary(*op, &x, &y)
            }
            ExprKind::Concat(parts) => {
                let mut values = Vec::with_capacity(parts.len());
                for p in parts.iter() {
                    values.push(self.eval(p).await?);
                }
                Ok(ops::concat(values.iter()))
            }
            ExprKind::List(items) => {
                let mut values = Vec::with_capacity(items.len());
                for i in items.iter() {
                    values.push(self.eval(i).await?);
                }
                Ok(Value::List(values.into()))
            }
            ExprKind::Record(fields) => {
                let mut values = Vec::with_capacity(fields.len());
                for (k, v) in fields.iter() {
                    values.push((Arc::clone(k), self.eval(v).await?));
                }
                Ok(Value::Record(values.into()))
            }
            ExprKind::Call {
                intrinsic,
                args,
                label,
            } => {
                let mut values = Vec::with_capacity(args.len());
                for a in args.iter() {
                    values.push(self.eval(a).await?);
                }
                if intrinsic.waits() {
                    return self.ws(*intrinsic, &values).await;
                }
                self.intrinsic(*intrinsic, &values, label.as_deref())
            }
            ExprKind::Check { name, cond } => {
                let ok = self.eval_bool(cond, name).await?;
                self.rec.check(&self.group, name, ok);
                Ok(Value::Bool(ok))
            }
            // Always sync: handled by `eval_sync`.
            _ => self.eval_sync(e),
        }
    }

    /// Expressions without requests or flow calls.
    pub(crate) fn eval_sync(&mut self, e: &Expr) -> R<Value> {
        Ok(match &e.kind {
            ExprKind::Const(v) => v.clone(),
            ExprKind::Local(i) => self
                .stack
                .get(self.base + *i as usize)
                .cloned()
                .unwrap_or_default(),
            ExprKind::Setup(i) => self.shared.setup_value(*i),
            ExprKind::Secret(i) => self
                .shared
                .secrets
                .get(*i as usize)
                .cloned()
                .unwrap_or_default(),
            ExprKind::Builtin(b) => self.builtin(*b),
            // `r.status` and the like: read the local in place, no clone of it.
            ExprKind::Field(inner, name) => match &inner.kind {
                ExprKind::Local(i) => match self.stack.get(self.base + *i as usize) {
                    Some(v) => self.field(v, name)?,
                    None => self.field(&Value::Null, name)?,
                },
                _ => {
                    let v = self.eval_sync(inner)?;
                    self.field(&v, name)?
                }
            },
            ExprKind::Unary(op, inner) => ops::unary(*op, &self.eval_sync(inner)?)?,
            ExprKind::Binary(BinOp::And, a, b) => {
                Value::Bool(self.sync_bool(a, "and")? && self.sync_bool(b, "and")?)
            }
            ExprKind::Binary(BinOp::Or, a, b) => {
                Value::Bool(self.sync_bool(a, "or")? || self.sync_bool(b, "or")?)
            }
            ExprKind::Binary(op, a, b) => {
                let x = self.eval_sync(a)?;
                let y = self.eval_sync(b)?;
                ops::binary(*op, &x, &y)?
            }
            ExprKind::Concat(parts) => {
                let values = parts
                    .iter()
                    .map(|p| self.eval_sync(p))
                    .collect::<R<Vec<_>>>()?;
                ops::concat(values.iter())
            }
            ExprKind::List(items) => Value::List(
                items
                    .iter()
                    .map(|i| self.eval_sync(i))
                    .collect::<R<Vec<_>>>()?
                    .into(),
            ),
            ExprKind::Record(fields) => Value::Record(
                fields
                    .iter()
                    .map(|(k, v)| Ok((Arc::clone(k), self.eval_sync(v)?)))
                    .collect::<R<Vec<_>>>()?
                    .into(),
            ),
            ExprKind::Call {
                intrinsic,
                args,
                label,
            } => {
                let values = args
                    .iter()
                    .map(|a| self.eval_sync(a))
                    .collect::<R<Vec<_>>>()?;
                self.intrinsic(*intrinsic, &values, label.as_deref())?
            }
            ExprKind::DataNext(i) => self.data_next(*i)?,
            ExprKind::Check { name, cond } => {
                let ok = self.sync_bool(cond, name)?;
                self.rec.check(&self.group, name, ok);
                Value::Bool(ok)
            }
            ExprKind::Request(_) | ExprKind::Grpc(_) | ExprKind::CallFlow { .. } => {
                return Err(Halt::error(
                    "internal: request in a sync expression",
                    "internal error: a request was evaluated synchronously",
                ))
            }
        })
    }

    fn sync_bool(&mut self, e: &Expr, what: &str) -> R<bool> {
        let v = self.eval_sync(e)?;
        v.as_bool().ok_or_else(|| not_bool(what, &v))
    }

    fn builtin(&self, b: Builtin) -> Value {
        let seg = self.shared.segment;
        match b {
            Builtin::VuId => Value::Int(to_i64(self.ident.id)),
            Builtin::VuLocalId => Value::Int(to_i64(self.ident.local_id)),
            Builtin::VuIteration => Value::Int(to_i64(self.iteration)),
            Builtin::TestIteration => Value::Int(to_i64(self.test_iteration.unwrap_or(0))),
            Builtin::RunnerIndex => Value::Int(i64::from(seg.index)),
            Builtin::RunnerCount => Value::Int(i64::from(seg.count)),
            Builtin::ScenarioName => Value::Str(Arc::clone(&self.scenario_name)),
        }
    }

    /// `x.name`: a record field, a JSON member, or a response property.
    pub(crate) fn field(&self, v: &Value, name: &str) -> R<Value> {
        if let Value::Response(r) = v {
            return Ok(match name {
                "status" => Value::Int(i64::from(r.status)),
                "duration" => Value::Duration(r.duration_ms),
                "body" => Value::Str(Arc::from(String::from_utf8_lossy(&r.body).as_ref())),
                "size" => Value::Size(r.body.len() as f64),
                "wire_size" => Value::Size(r.wire_size as f64),
                "url" => Value::Str(Arc::from(r.url.as_ref().map_or("", |u| u.as_str()))),
                "cookies" => {
                    let map = crate::http::response_cookies(&r.headers)
                        .into_iter()
                        .map(|(n, v)| (n, serde_json::Value::String(v)))
                        .collect();
                    Value::Json(Arc::new(serde_json::Value::Object(map)))
                }
                "error" => Value::Str(Arc::from(r.error.as_deref().unwrap_or(""))),
                _ => {
                    return Err(Halt::error(
                        format!("Response has no field {name}"),
                        format!("Response has no field {name}"),
                    ))
                }
            });
        }
        v.field(name).ok_or_else(|| {
            Halt::error(
                format!("missing field {name}"),
                format!("a {} has no field {name}", v.kind()),
            )
        })
    }

    fn data_next(&mut self, i: u32) -> R<Value> {
        let shared = Arc::clone(&self.shared);
        let Some(feeder) = shared.feeders.get(i as usize) else {
            return Err(Halt::error("data: unknown source", "unknown data source"));
        };
        let ctx = PickContext {
            vu_id: self.ident.id,
            test_iteration: self.test_iteration,
        };
        let cursor = &mut self.cursors[i as usize];
        feeder.next(ctx, cursor, &mut self.rng).map_err(Halt::Data)
    }

    /// Calls a flow in a new frame above the caller's.
    async fn call_flow(&mut self, flow: u32, args: Vec<Value>) -> R<Value> {
        let shared = Arc::clone(&self.shared);
        let Some(f) = shared.program.flows.get(flow as usize) else {
            return Err(Halt::error("internal: unknown flow", "unknown flow"));
        };
        let saved_base = self.base;
        let base = self.stack.len();
        self.stack.extend(args);
        self.stack.resize(
            base + (f.frame_size as usize).max(f.params as usize),
            Value::Null,
        );
        self.base = base;
        let result = self.exec(&f.body).await;
        self.base = saved_base;
        self.stack.truncate(base);
        match result? {
            Flow::Return(v) => Ok(v),
            Flow::Next | Flow::Break | Flow::Continue => Ok(Value::Null),
        }
    }
}

fn not_bool(what: &str, v: &Value) -> Halt {
    Halt::error(
        format!("{what}: condition is not a bool"),
        format!("{what}: the condition is a {}, not a bool", v.kind()),
    )
}

fn to_i64(u: u64) -> i64 {
    i64::try_from(u).unwrap_or(i64::MAX)
}
