//! Operators on runtime values, unit-aware: durations, sizes and percentages keep their
//! unit through `+ - * /` with plain numbers; `int op int` stays an int (division
//! truncates toward zero; overflow and division by zero are runtime errors); a string
//! built from a secret stays a secret. Pure functions; no IO.

use super::{Halt, R};
use crate::value::Value;
use std::cmp::Ordering;
use std::sync::Arc;
use volley_plan::program::{BinOp, UnOp};

pub(crate) fn unary(op: UnOp, v: &Value) -> R<Value> {
    match (op, v) {
        (UnOp::Not, v) => match v.as_bool() {
            Some(b) => Ok(Value::Bool(!b)),
            None => Err(type_error("not", v, None)),
        },
        (UnOp::Neg, Value::Int(i)) => i.checked_neg().map(Value::Int).ok_or_else(|| overflow("-")),
        (UnOp::Neg, v) => match unit_of(v) {
            Some((unit, x)) => Ok(unit.make(-x)),
            None => Err(type_error("-", v, None)),
        },
    }
}

/// Binary operators other than the short-circuiting `and`/`or` (handled by the caller).
pub(crate) fn binary(op: BinOp, a: &Value, b: &Value) -> R<Value> {
    match op {
        BinOp::Eq => Ok(Value::Bool(a.loose_eq(b))),
        BinOp::Ne => Ok(Value::Bool(!a.loose_eq(b))),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let ord = a
                .loose_cmp(b)
                .ok_or_else(|| type_error(symbol(op), a, Some(b)))?;
            Ok(Value::Bool(match op {
                BinOp::Lt => ord == Ordering::Less,
                BinOp::Le => ord != Ordering::Greater,
                BinOp::Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            }))
        }
        BinOp::And | BinOp::Or => {
            let (x, y) = (a.as_bool(), b.as_bool());
            match (x, y) {
                (Some(x), Some(y)) => {
                    Ok(Value::Bool(if op == BinOp::And { x && y } else { x || y }))
                }
                _ => Err(type_error(symbol(op), a, Some(b))),
            }
        }
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => arith(op, a, b),
    }
}

fn arith(op: BinOp, a: &Value, b: &Value) -> R<Value> {
    if let (Value::Int(x), Value::Int(y)) = (a, b) {
        let r = match op {
            BinOp::Add => x.checked_add(*y),
            BinOp::Sub => x.checked_sub(*y),
            BinOp::Mul => x.checked_mul(*y),
            BinOp::Div | BinOp::Rem if *y == 0 => {
                return Err(Halt::error(
                    "division by zero",
                    format!("{x} {} 0: division by zero", symbol(op)),
                ))
            }
            BinOp::Div => x.checked_div(*y),
            _ => x.checked_rem(*y),
        };
        return r.map(Value::Int).ok_or_else(|| overflow(symbol(op)));
    }
    if op == BinOp::Add {
        if a.as_text().is_some() && b.as_text().is_some() {
            return Ok(concat([a, b].into_iter()));
        }
        if let (Value::List(x), Value::List(y)) = (a, b) {
            return Ok(Value::List(x.iter().chain(y.iter()).cloned().collect()));
        }
    }
    let (Some((ua, x)), Some((ub, y))) = (unit_of(a), unit_of(b)) else {
        return Err(type_error(symbol(op), a, Some(b)));
    };
    let unit = match op {
        // A unit survives with a plain number or the same unit.
        BinOp::Add | BinOp::Sub => {
            if ua == ub || ub.is_plain() {
                ua
            } else if ua.is_plain() {
                ub
            } else {
                return Err(type_error(symbol(op), a, Some(b)));
            }
        }
        BinOp::Mul => match (ua.is_plain(), ub.is_plain()) {
            (true, true) => Unit::Float,
            (false, true) => ua,
            (true, false) => ub,
            (false, false) => Unit::Float,
        },
        BinOp::Div | BinOp::Rem => {
            if ub.is_plain() {
                if ua == Unit::Int {
                    Unit::Float
                } else {
                    ua
                }
            } else if ua == ub {
                if op == BinOp::Div {
                    Unit::Float
                } else {
                    ua
                }
            } else {
                return Err(type_error(symbol(op), a, Some(b)));
            }
        }
        _ => return Err(type_error(symbol(op), a, Some(b))),
    };
    let r = match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div | BinOp::Rem if y == 0.0 => {
            return Err(Halt::error(
                "division by zero",
                format!("{} {} 0: division by zero", a, symbol(op)),
            ))
        }
        BinOp::Div => x / y,
        _ => x % y,
    };
    Ok(unit.make(r))
}

/// String interpolation: every part's text joined; secret if any part is.
pub(crate) fn concat<'a>(parts: impl Iterator<Item = &'a Value>) -> Value {
    let mut out = String::new();
    let mut secret = false;
    for p in parts {
        secret |= p.is_secret();
        p.write_text(&mut out, false);
    }
    if secret {
        Value::Secret(Arc::from(out))
    } else {
        Value::Str(Arc::from(out))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Int,
    Float,
    Duration,
    Size,
    Percent,
}

impl Unit {
    fn is_plain(self) -> bool {
        matches!(self, Unit::Int | Unit::Float)
    }

    fn make(self, x: f64) -> Value {
        match self {
            Unit::Int | Unit::Float => Value::Float(x),
            Unit::Duration => Value::Duration(x),
            Unit::Size => Value::Size(x),
            Unit::Percent => Value::Percent(x),
        }
    }
}

fn unit_of(v: &Value) -> Option<(Unit, f64)> {
    Some(match v {
        Value::Int(i) => (Unit::Int, *i as f64),
        Value::Float(f) => (Unit::Float, *f),
        Value::Duration(d) => (Unit::Duration, *d),
        Value::Size(s) => (Unit::Size, *s),
        Value::Percent(p) => (Unit::Percent, *p),
        Value::Json(j) => (Unit::Float, j.as_f64()?),
        _ => return None,
    })
}

fn symbol(op: BinOp) -> &'static str {
    match op {
        BinOp::Or => "or",
        BinOp::And => "and",
        BinOp::Eq => "==",
        BinOp::Ne => "!=",
        BinOp::Lt => "<",
        BinOp::Le => "<=",
        BinOp::Gt => ">",
        BinOp::Ge => ">=",
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Rem => "%",
    }
}

fn type_error(op: &str, a: &Value, b: Option<&Value>) -> Halt {
    let what = match b {
        Some(b) => format!("{} {op} {}", a.kind(), b.kind()),
        None => format!("{op} {}", a.kind()),
    };
    Halt::error(
        format!("type error: {what}"),
        format!("cannot compute {what}"),
    )
}

fn overflow(op: &str) -> Halt {
    Halt::error("integer overflow", format!("integer overflow in {op}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(op: BinOp, a: Value, b: Value) -> String {
        match binary(op, &a, &b) {
            Ok(v) => format!("{v} ({})", v.kind()),
            Err(e) => format!("error {e:?}"),
        }
    }

    #[test]
    fn ints_stay_ints_and_units_survive() {
        assert_eq!(ok(BinOp::Rem, Value::Int(7), Value::Int(5)), "2 (int)");
        assert_eq!(ok(BinOp::Add, Value::Int(7), Value::Int(5)), "12 (int)");
        assert_eq!(ok(BinOp::Div, Value::Int(7), Value::Int(2)), "3 (int)");
        assert_eq!(
            ok(BinOp::Mul, Value::Duration(100.0), Value::Int(3)),
            "300ms (duration)"
        );
        assert_eq!(
            ok(BinOp::Div, Value::Duration(300.0), Value::Duration(100.0)),
            "3 (float)"
        );
        assert!(ok(BinOp::Div, Value::Int(1), Value::Int(0)).contains("division by zero"));
        assert!(ok(BinOp::Add, Value::Int(i64::MAX), Value::Int(1)).contains("overflow"));
        assert!(ok(BinOp::Add, Value::Duration(1.0), Value::Size(1.0)).starts_with("error"));
    }

    #[test]
    fn strings_concat_and_keep_taint() {
        let s = Value::Secret(Arc::from("k"));
        let v = binary(BinOp::Add, &Value::str("Bearer "), &s).unwrap();
        assert!(matches!(&v, Value::Secret(t) if &**t == "Bearer k"));
        assert_eq!(v.to_string(), "***");
        let c = concat([Value::str("a"), Value::Int(1)].iter());
        assert_eq!(c.to_string(), "a1");
    }

    #[test]
    fn comparisons() {
        assert_eq!(
            ok(BinOp::Lt, Value::Int(1), Value::Float(1.5)),
            "true (bool)"
        );
        assert_eq!(
            ok(BinOp::Eq, Value::Int(200), Value::Int(200)),
            "true (bool)"
        );
        assert!(ok(BinOp::Lt, Value::Bool(true), Value::Int(1)).starts_with("error"));
        assert!(unary(UnOp::Not, &Value::Bool(false)).is_ok_and(|v| v.as_bool() == Some(true)));
    }
}
