//! Statements: the block walker of the interpreter. Nested blocks and flow bodies are
//! boxed futures (they recurse); a straight run of statements is one loop.
//! This module must not build requests or evaluate expressions itself.

use super::code::{Block, Stmt};
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
}

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
            if let Flow::Return(v) = self.stmt(stmt).await? {
                return Ok(Flow::Return(v));
            }
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
                    return Err(Halt::Require);
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
                    if let Flow::Return(v) = self.exec(body).await? {
                        return Ok(Flow::Return(v));
                    }
                }
            }
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
