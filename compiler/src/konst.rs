//! Compile-time values: folding operators, turning constants into text (interpolation)
//! and into plan values. Pure; every operation that can fail (overflow, division by
//! zero) returns an error message instead of panicking.

use crate::ir::Const;
use volley_plan::program::{BinOp, UnOp};
use volley_plan::Value;

/// The text of a constant inside an interpolated string. Durations print in the largest
/// unit that keeps them whole (`2m`, `1500ms`), percentages with `%`.
pub fn to_text(c: &Const) -> String {
    match c {
        Const::Null => "null".into(),
        Const::Bool(b) => b.to_string(),
        Const::Int(i) => i.to_string(),
        Const::Float(f) => fmt_float(*f),
        Const::Str(s) | Const::Url(s) => s.clone(),
        Const::Duration(ms) => fmt_duration(*ms),
        Const::Rate(r) => format!("{}/s", fmt_float(*r)),
        Const::Size(b) => format!("{}B", fmt_float(*b)),
        Const::Percent(p) => format!("{}%", fmt_float(p * 100.0)),
        Const::List(xs) => format!(
            "[{}]",
            xs.iter().map(to_text).collect::<Vec<_>>().join(", ")
        ),
        Const::Record(fs) => format!(
            "{{{}}}",
            fs.iter()
                .map(|(k, v)| format!("{k}: {}", to_text(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Const::Stage {
            duration_ms,
            target,
        } => format!("{} -> {}", fmt_duration(*duration_ms), to_text(target)),
        Const::Range(a, b) => format!("{}..{}", to_text(a), to_text(b)),
        Const::Workload(_) => "workload".into(),
        Const::Target(i) => format!("target#{i}"),
        Const::Json(v) => match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    }
}

pub fn fmt_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

pub fn fmt_duration(ms: f64) -> String {
    let whole = |unit: f64| ms != 0.0 && (ms / unit).fract() == 0.0;
    if whole(3_600_000.0) {
        format!("{}h", fmt_float(ms / 3_600_000.0))
    } else if whole(60_000.0) {
        format!("{}m", fmt_float(ms / 60_000.0))
    } else if whole(1000.0) {
        format!("{}s", fmt_float(ms / 1000.0))
    } else if ms.fract() == 0.0 {
        format!("{}ms", fmt_float(ms))
    } else {
        format!("{}us", fmt_float(ms * 1000.0))
    }
}

/// The plan form of a constant, when it has one (workloads and targets do not).
pub fn to_value(c: &Const) -> Option<Value> {
    Some(match c {
        Const::Null => Value::Null,
        Const::Bool(b) => Value::Bool(*b),
        Const::Int(i) => Value::Int(*i),
        Const::Float(f) => Value::Float(*f),
        Const::Str(s) | Const::Url(s) => Value::Str(s.clone()),
        Const::Duration(ms) => Value::Duration(*ms),
        Const::Rate(r) => Value::Float(*r),
        Const::Size(b) => Value::Size(*b),
        Const::Percent(p) => Value::Percent(*p),
        Const::List(xs) => Value::List(xs.iter().map(to_value).collect::<Option<_>>()?),
        Const::Record(fs) => Value::Record(
            fs.iter()
                .map(|(k, v)| Some((k.clone(), to_value(v)?)))
                .collect::<Option<_>>()?,
        ),
        Const::Json(v) => Value::Json(v.clone()),
        Const::Stage { .. } | Const::Range(..) | Const::Workload(_) | Const::Target(_) => {
            return None
        }
    })
}

fn num(c: &Const) -> Option<f64> {
    match c {
        Const::Int(i) => Some(*i as f64),
        Const::Float(f) => Some(*f),
        _ => None,
    }
}

/// Folds a unary operator.
pub fn unary(op: UnOp, v: &Const) -> Result<Const, String> {
    match (op, v) {
        (UnOp::Not, Const::Bool(b)) => Ok(Const::Bool(!b)),
        (UnOp::Neg, Const::Int(i)) => i
            .checked_neg()
            .map(Const::Int)
            .ok_or_else(|| "integer overflow".into()),
        (UnOp::Neg, Const::Float(f)) => Ok(Const::Float(-f)),
        (UnOp::Neg, Const::Duration(f)) => Ok(Const::Duration(-f)),
        _ => Err("unsupported operand".into()),
    }
}

/// Folds a binary operator on two constants whose types were already checked.
pub fn binary(op: BinOp, a: &Const, b: &Const) -> Result<Const, String> {
    use Const::*;
    let overflow = || "integer overflow".to_string();
    match op {
        BinOp::And | BinOp::Or => match (a, b) {
            (Bool(x), Bool(y)) => Ok(Bool(if op == BinOp::And { *x && *y } else { *x || *y })),
            _ => Err("unsupported operands".into()),
        },
        BinOp::Eq | BinOp::Ne => {
            let eq = match (num(a), num(b)) {
                (Some(x), Some(y)) => x == y,
                _ => match (a, b) {
                    (Str(x) | Url(x), Str(y) | Url(y)) => x == y,
                    _ => a == b,
                },
            };
            Ok(Bool(if op == BinOp::Eq { eq } else { !eq }))
        }
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let (x, y) = match (a, b) {
                (Duration(x), Duration(y))
                | (Size(x), Size(y))
                | (Percent(x), Percent(y))
                | (Rate(x), Rate(y)) => (*x, *y),
                (Str(x), Str(y)) => {
                    let o = x.cmp(y);
                    return Ok(Bool(match op {
                        BinOp::Lt => o.is_lt(),
                        BinOp::Le => o.is_le(),
                        BinOp::Gt => o.is_gt(),
                        _ => o.is_ge(),
                    }));
                }
                _ => match (num(a), num(b)) {
                    (Some(x), Some(y)) => (x, y),
                    _ => return Err("unsupported operands".into()),
                },
            };
            Ok(Bool(match op {
                BinOp::Lt => x < y,
                BinOp::Le => x <= y,
                BinOp::Gt => x > y,
                _ => x >= y,
            }))
        }
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => match (a, b) {
            (Int(x), Int(y)) => match op {
                BinOp::Add => x.checked_add(*y).map(Int).ok_or_else(overflow),
                BinOp::Sub => x.checked_sub(*y).map(Int).ok_or_else(overflow),
                BinOp::Mul => x.checked_mul(*y).map(Int).ok_or_else(overflow),
                BinOp::Div if *y == 0 => Err("division by zero".into()),
                BinOp::Div => x.checked_div(*y).map(Int).ok_or_else(overflow),
                _ if *y == 0 => Err("division by zero".into()),
                _ => x.checked_rem(*y).map(Int).ok_or_else(overflow),
            },
            (Str(x) | Url(x), Str(y) | Url(y)) if op == BinOp::Add => Ok(Str(format!("{x}{y}"))),
            (Duration(x), Duration(y)) => match op {
                BinOp::Add => Ok(Duration(x + y)),
                BinOp::Sub => Ok(Duration(x - y)),
                BinOp::Div if *y == 0.0 => Err("division by zero".into()),
                BinOp::Div => Ok(Float(x / y)),
                _ => Err("unsupported operands".into()),
            },
            (Size(x), Size(y)) if matches!(op, BinOp::Add | BinOp::Sub) => {
                Ok(Size(if op == BinOp::Add { x + y } else { x - y }))
            }
            (Percent(x), Percent(y)) if matches!(op, BinOp::Add | BinOp::Sub) => {
                Ok(Percent(if op == BinOp::Add { x + y } else { x - y }))
            }
            (Duration(_) | Rate(_) | Size(_), _) | (_, Duration(_) | Rate(_) | Size(_)) => {
                scale(op, a, b)
            }
            _ => {
                let (x, y) = match (num(a), num(b)) {
                    (Some(x), Some(y)) => (x, y),
                    _ => return Err("unsupported operands".into()),
                };
                match op {
                    BinOp::Add => Ok(Float(x + y)),
                    BinOp::Sub => Ok(Float(x - y)),
                    BinOp::Mul => Ok(Float(x * y)),
                    BinOp::Div if y == 0.0 => Err("division by zero".into()),
                    BinOp::Div => Ok(Float(x / y)),
                    _ if y == 0.0 => Err("division by zero".into()),
                    _ => Ok(Float(x % y)),
                }
            }
        },
    }
}

/// A measured value (duration, rate, size) scaled by a plain number.
fn scale(op: BinOp, a: &Const, b: &Const) -> Result<Const, String> {
    let rebuild = |c: &Const, v: f64| match c {
        Const::Duration(_) => Const::Duration(v),
        Const::Rate(_) => Const::Rate(v),
        _ => Const::Size(v),
    };
    let measured = |c: &Const| match c {
        Const::Duration(v) | Const::Rate(v) | Const::Size(v) => Some(*v),
        _ => None,
    };
    match (measured(a), num(b), num(a), measured(b)) {
        (Some(x), Some(y), _, _) => match op {
            BinOp::Mul => Ok(rebuild(a, x * y)),
            BinOp::Div if y == 0.0 => Err("division by zero".into()),
            BinOp::Div => Ok(rebuild(a, x / y)),
            _ => Err("unsupported operands".into()),
        },
        (_, _, Some(x), Some(y)) if op == BinOp::Mul => Ok(rebuild(b, x * y)),
        _ => Err("unsupported operands".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_in_their_natural_unit() {
        assert_eq!(fmt_duration(120_000.0), "2m");
        assert_eq!(fmt_duration(1500.0), "1500ms");
        assert_eq!(fmt_duration(3_600_000.0), "1h");
        assert_eq!(fmt_duration(0.01), "10us");
    }

    #[test]
    fn integer_arithmetic_never_panics() {
        assert!(binary(BinOp::Div, &Const::Int(1), &Const::Int(0)).is_err());
        assert!(binary(BinOp::Add, &Const::Int(i64::MAX), &Const::Int(1)).is_err());
        assert!(binary(BinOp::Div, &Const::Int(i64::MIN), &Const::Int(-1)).is_err());
        assert_eq!(
            binary(BinOp::Div, &Const::Int(7), &Const::Int(2)),
            Ok(Const::Int(3))
        );
    }

    #[test]
    fn durations_scale() {
        assert_eq!(
            binary(BinOp::Mul, &Const::Duration(1000.0), &Const::Int(3)),
            Ok(Const::Duration(3000.0))
        );
        assert_eq!(
            binary(BinOp::Mul, &Const::Int(2), &Const::Duration(500.0)),
            Ok(Const::Duration(1000.0))
        );
    }
}
