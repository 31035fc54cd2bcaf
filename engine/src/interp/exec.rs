//! Statements: the block walker of the interpreter. Nested blocks and flow bodies are
//! boxed futures (they recurse); a straight run of statements is one loop.
//! This module must not build requests or evaluate expressions itself.

use super::code::{Block, Expr, Stmt};
use super::{log, ms, Halt, Vu, R};
use crate::value::Value;
use rand::Rng;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a block ended without a halt.
pub(crate) enum Flow {
    Next,
    Return(Value),
    /// `break`: leaves the innermost loop.
    Break,
    /// `continue`: the innermost loop's next round.
    Continue,
}

/// What a loop does after one round of its body.
pub(super) enum Round {
    Again,
    Leave(R<Flow>),
}

/// The most rounds one `for` over a range may run (a range is not a list held in
/// memory; this only stops a typo such as `0..vu.id * 1000000000000` from spinning).
const MAX_RANGE_ROUNDS: i64 = 1 << 40;

/// Longest pause a script may ask for in one statement (a day): guards against
/// `sleep` of a nonsense value hanging a VU past any test's end.
const MAX_PAUSE_MS: f64 = 86_400_000.0;

impl Vu {
    /// Runs a block; boxed because blocks nest.
    pub(crate) fn exec<'a>(
        &'a mut self,
        block: &'a Block,
    ) -> Pin<Box<dyn Future<Output = R<Flow>> + 'a>> {
        Box::pin(self.exec_stmts(block))
    }

    /// Runs a block in place (the iteration's own block: its future lives in the VU's
    /// task, so an iteration allocates none for it).
    pub(crate) async fn exec_stmts(&mut self, block: &Block) -> R<Flow> {
        for stmt in block.iter() {
            match self.stmt(stmt).await? {
                Flow::Next => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Next)
    }

    /// One round of a loop's body, and what the loop does next. Every round ends at a
    /// back-edge that spends a unit of the task's cooperative budget (yielding to the
    /// runtime once it is used up), so a loop that never awaits (`while true {}`) still
    /// lets the executor end the iteration at its end or `graceful_stop`.
    pub(super) async fn round(&mut self, body: &Block) -> Round {
        let flow = match self.exec(body).await {
            Ok(Flow::Next | Flow::Continue) => None,
            Ok(Flow::Break) => Some(Ok(Flow::Next)),
            other => Some(other),
        };
        tokio::task::consume_budget().await;
        match flow {
            None => Round::Again,
            Some(f) => Round::Leave(f),
        }
    }

    async fn for_range(&mut self, slot: u32, low: &Expr, high: &Expr, body: &Block) -> R<Flow> {
        let (lo, hi) = (self.eval(low).await?, self.eval(high).await?);
        let (Value::Int(lo), Value::Int(hi)) = (&lo, &hi) else {
            return Err(Halt::error(
                "for: range is not of ints",
                format!("for needs an int range, got {}..{}", lo.kind(), hi.kind()),
            ));
        };
        let hi = (*hi).min(lo.saturating_add(MAX_RANGE_ROUNDS));
        let mut i = *lo;
        while i < hi {
            self.set_local(slot, Value::Int(i));
            if let Round::Leave(f) = self.round(body).await {
                return f;
            }
            i += 1;
        }
        Ok(Flow::Next)
    }

    async fn for_each(&mut self, slot: u32, items: &Expr, body: &Block) -> R<Flow> {
        // `for e in s.events(..)`: walked as the session's messages and ticks come.
        if let super::code::ExprKind::Call {
            intrinsic: volley_plan::Intrinsic::WsEvents,
            args,
            ..
        } = &items.kind
        {
            return self.ws_events(slot, args, body).await;
        }
        let v = self.eval(items).await?;
        let items: Vec<Value> = match &v {
            Value::List(items) => items.to_vec(),
            Value::Json(j) => match &**j {
                serde_json::Value::Array(a) => a.iter().map(crate::value::from_json).collect(),
                // A JSON `null` (a missing path) is an empty list: nothing to walk.
                serde_json::Value::Null => Vec::new(),
                _ => {
                    return Err(Halt::error(
                        "for: json is not an array",
                        format!("for over json needs an array, got {}", v.kind()),
                    ))
                }
            },
            Value::Null => Vec::new(),
            other => {
                return Err(Halt::error(
                    "for: not a list",
                    format!("for needs a list, got {}", other.kind()),
                ))
            }
        };
        for item in items {
            self.set_local(slot, item);
            if let Round::Leave(f) = self.round(body).await {
                return f;
            }
        }
        Ok(Flow::Next)
    }

    /// `repeat`, `for` and `while`.
    async fn loop_stmt(&mut self, stmt: &Stmt) -> R<Flow> {
        match stmt {
            Stmt::Repeat { count, body } => {
                let n = self.eval(count).await?;
                let n = match n {
                    Value::Int(n) => n.max(0),
                    other => {
                        return Err(Halt::error(
                            "repeat: count is not an int",
                            format!("repeat needs an int count, got {}", other.kind()),
                        ))
                    }
                };
                for _ in 0..n {
                    if let Round::Leave(f) = self.round(body).await {
                        return f;
                    }
                }
            }
            Stmt::ForRange {
                slot,
                low,
                high,
                body,
            } => return self.for_range(*slot, low, high, body).await,
            Stmt::ForEach { slot, items, body } => return self.for_each(*slot, items, body).await,
            Stmt::While { cond, body } => {
                while self.eval_bool(cond, "while").await? {
                    if let Round::Leave(f) = self.round(body).await {
                        return f;
                    }
                }
            }
            _ => {}
        }
        Ok(Flow::Next)
    }

    async fn stmt(&mut self, stmt: &Stmt) -> R<Flow> {
        match stmt {
            Stmt::Let { slot, value } => {
                let v = self.eval(value).await?;
                self.set_local(*slot, v);
            }
            Stmt::Expr(e) => {
                self.eval(e).await?;
            }
            Stmt::Check {
                name,
                cond,
                require,
            } => {
                let ok = self.eval_bool(cond, name).await?;
                self.rec.check(&self.group, name, ok);
                if *require && !ok {
                    return Err(Halt::Require(Arc::clone(name)));
                }
            }
            Stmt::Sleep(e) => {
                let v = self.eval(e).await?;
                let d = self.pause_ms(&v, "sleep")?;
                pause(d).await;
            }
            Stmt::ThinkUniform { low, high } => {
                let lo = self.eval(low).await?;
                let hi = self.eval(high).await?;
                let (lo, hi) = (self.pause_ms(&lo, "think")?, self.pause_ms(&hi, "think")?);
                let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
                let d = if hi > lo {
                    self.rng.gen_range(lo..=hi)
                } else {
                    lo
                };
                pause(d).await;
            }
            Stmt::ThinkExponential { mean } => {
                let m = self.eval(mean).await?;
                let m = self.pause_ms(&m, "think")?;
                let u: f64 = self.rng.gen::<f64>();
                let d = (-m * (1.0 - u).ln()).min(MAX_PAUSE_MS);
                pause(d).await;
            }
            Stmt::Group { name, body } => {
                let path: Arc<str> = match &self.group {
                    None => Arc::clone(name),
                    Some(outer) => Arc::from(format!("{outer}::{name}")),
                };
                let outer = self.group.replace(path);
                let started = Instant::now();
                let flow = self.exec(body).await;
                if flow.is_ok() {
                    self.rec.group_duration(&self.group, ms(started.elapsed()));
                }
                self.group = outer;
                return flow;
            }
            Stmt::If {
                cond,
                then,
                otherwise,
            } => {
                let branch = if self.eval_bool(cond, "if").await? {
                    then
                } else {
                    otherwise
                };
                if !branch.is_empty() {
                    return self.exec(branch).await;
                }
            }
            // Loops run in their own boxed future: inline, their states would make every
            // statement's future larger (and its poll no longer inlined), a cost paid by
            // every `let` and `check` of every script.
            Stmt::Repeat { .. }
            | Stmt::ForRange { .. }
            | Stmt::ForEach { .. }
            | Stmt::While { .. } => return Box::pin(self.loop_stmt(stmt)).await,
            Stmt::Assign { slot, value } => {
                let v = self.eval(value).await?;
                self.set_local(*slot, v);
            }
            Stmt::Break => return Ok(Flow::Break),
            Stmt::Continue => return Ok(Flow::Continue),
            Stmt::Return(e) => {
                let v = match e {
                    Some(e) => self.eval(e).await?,
                    None => Value::Null,
                };
                return Ok(Flow::Return(v));
            }
            Stmt::MetricAdd { metric, value } => {
                let v = self.eval(value).await?;
                self.metric_add(*metric, &v)?;
            }
            Stmt::Log(e) => {
                let v = self.eval(e).await?;
                // `Display` redacts secrets.
                let line = v.to_string();
                self.shared.log.write(log::Line::Log, self.ident.id, &line);
            }
        }
        Ok(Flow::Next)
    }

    pub(crate) fn set_local(&mut self, slot: u32, v: Value) {
        let i = self.base + slot as usize;
        if i >= self.stack.len() {
            self.stack.resize(i + 1, Value::Null);
        }
        self.stack[i] = v;
    }

    fn pause_ms(&self, v: &Value, what: &str) -> R<f64> {
        match v.as_f64() {
            Some(d) if d.is_finite() => Ok(d.clamp(0.0, MAX_PAUSE_MS)),
            _ => Err(Halt::error(
                format!("{what}: not a duration"),
                format!("{what} needs a duration, got {}", v.kind()),
            )),
        }
    }

    fn metric_add(&mut self, metric: u32, v: &Value) -> R<()> {
        let value = match v {
            Value::Bool(b) => f64::from(u8::from(*b)),
            Value::Json(j) if j.is_boolean() => f64::from(u8::from(j.as_bool() == Some(true))),
            other => match other.as_f64().or_else(|| match other {
                Value::Json(j) => j.as_f64(),
                _ => None,
            }) {
                Some(f) => f,
                None => {
                    return Err(Halt::error(
                        "metric: value is not a number",
                        format!("metric add needs a number, got {}", other.kind()),
                    ))
                }
            },
        };
        self.rec.custom(metric, &self.group, value);
        Ok(())
    }
}

async fn pause(d_ms: f64) {
    if d_ms > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(d_ms / 1000.0)).await;
    }
}
