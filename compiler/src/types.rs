//! The types of the `.load` language and the one assignability rule every phase uses.
//!
//! Types are structural (records are compared field by field) and carry no spans. The
//! `Error` type stands for "already reported": it is assignable to and from everything, so
//! one mistake produces one diagnostic rather than a cascade. This module must not emit
//! diagnostics itself.

use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    /// A value whose error was already reported; suppresses follow-up errors.
    Error,
    /// No value (a flow without `-> T`, a statement-only construct).
    Unit,
    /// Only in the standard library: accepts and produces any type (`pick(list<any>)`).
    Any,
    Int,
    Float,
    Bool,
    Str,
    Url,
    /// Milliseconds at run time.
    Duration,
    /// Per second.
    Rate,
    /// Bytes.
    Size,
    /// A fraction.
    Percent,
    /// An untyped JSON value (`res.json(path)`), converted with `.string()`, `.int()`, ...
    Json,
    Response,
    /// Elements of an HTML page (`res.html()`, `.find(selector)`), read with `.attr(..)`,
    /// `.text()`, `.len()` and `.first()`.
    Html,
    List(Box<Type>),
    /// Fields in declaration order.
    Record(Vec<(String, Type)>),
    /// `DURATION -> TARGET`: the target type is `Int` (VUs) or `Rate`.
    Stage(Box<Type>),
    /// `LOW..HIGH`
    Range(Box<Type>),
    Workload,
    /// A declared target (only as a flow parameter, resolved at compile time).
    Target,
    /// An open WebSocket session (`ws.connect(..)`), used through its methods
    /// (`checker/ws.rs`).
    WsSession,
}

impl Type {
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Type::Error)
    }

    /// Whether the type is a plain number (`int` or `float`).
    pub fn is_number(&self) -> bool {
        matches!(self, Type::Int | Type::Float)
    }

    /// Whether a value of this type can be turned into text (interpolation, headers).
    pub fn is_scalar(&self) -> bool {
        matches!(
            self,
            Type::Int
                | Type::Float
                | Type::Bool
                | Type::Str
                | Type::Url
                | Type::Duration
                | Type::Rate
                | Type::Size
                | Type::Percent
                | Type::Json
                | Type::Any
                | Type::Error
        )
    }

    /// Whether a value of this type exists at run time as data (can be sent as JSON).
    pub fn is_data(&self) -> bool {
        match self {
            Type::List(t) => t.is_data(),
            Type::Record(fs) => fs.iter().all(|(_, t)| t.is_data()),
            Type::Unit | Type::Response | Type::Html | Type::Workload | Type::Target => false,
            Type::WsSession => false,
            Type::Stage(_) | Type::Range(_) => false,
            _ => true,
        }
    }

    /// The unit family of a measured type, for "write 400ms"-style fixes.
    pub fn unit_name(&self) -> Option<&'static str> {
        match self {
            Type::Duration => Some("duration"),
            Type::Rate => Some("rate"),
            Type::Size => Some("size"),
            Type::Percent => Some("percentage"),
            _ => None,
        }
    }

    pub fn record_field(&self, name: &str) -> Option<&Type> {
        match self {
            Type::Record(fs) => fs.iter().find(|(n, _)| n == name).map(|(_, t)| t),
            _ => None,
        }
    }
}

/// Whether a value of type `from` may be used where `to` is expected.
pub fn assignable(from: &Type, to: &Type) -> bool {
    use Type::*;
    match (from, to) {
        (Error, _) | (_, Error) | (Any, _) | (_, Any) => true,
        (Int, Float) | (Str, Url) | (Url, Str) => true,
        (f, Json) if f.is_data() => true,
        (List(a), List(b)) => assignable(a, b),
        (Record(have), Record(want)) => want.iter().all(|(name, t)| {
            have.iter()
                .find(|(n, _)| n == name)
                .is_some_and(|(_, h)| assignable(h, t))
        }),
        (Stage(a), Stage(b)) | (Range(a), Range(b)) => assignable(a, b),
        (a, b) => a == b,
    }
}

/// The common type of two list elements or branches, if any.
pub fn unify(a: &Type, b: &Type) -> Option<Type> {
    use Type::*;
    match (a, b) {
        (Error, _) | (_, Error) => Some(Error),
        (Int, Float) | (Float, Int) => Some(Float),
        (Str, Url) | (Url, Str) => Some(Str),
        (List(x), List(y)) => unify(x, y).map(Type::list),
        (Stage(x), Stage(y)) => unify(x, y).map(|t| Stage(Box::new(t))),
        (Range(x), Range(y)) => unify(x, y).map(|t| Range(Box::new(t))),
        (Record(x), Record(y)) => {
            // Keep the fields both have, with their common types.
            let mut out = Vec::new();
            for (n, tx) in x {
                if let Some((_, ty)) = y.iter().find(|(m, _)| m == n) {
                    out.push((n.clone(), unify(tx, ty)?));
                }
            }
            Some(Record(out))
        }
        (a, b) if a == b => Some(a.clone()),
        _ => None,
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Error => write!(f, "{{unknown}}"),
            Type::Unit => write!(f, "nothing"),
            Type::Any => write!(f, "any"),
            Type::Int => write!(f, "int"),
            Type::Float => write!(f, "float"),
            Type::Bool => write!(f, "bool"),
            Type::Str => write!(f, "string"),
            Type::Url => write!(f, "url"),
            Type::Duration => write!(f, "duration"),
            Type::Rate => write!(f, "rate"),
            Type::Size => write!(f, "size"),
            Type::Percent => write!(f, "percent"),
            Type::Json => write!(f, "json"),
            Type::Response => write!(f, "Response"),
            Type::List(t) => write!(f, "list<{t}>"),
            Type::Record(fs) => {
                write!(f, "{{")?;
                for (i, (n, t)) in fs.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{n}: {t}")?;
                }
                write!(f, "}}")
            }
            Type::Stage(t) => write!(f, "Stage<{t}>"),
            Type::Range(t) => write!(f, "range<{t}>"),
            Type::Workload => write!(f, "Workload"),
            Type::Html => write!(f, "Html"),
            Type::Target => write!(f, "target"),
            Type::WsSession => write!(f, "WsSession"),
        }
    }
}

/// The type names a user may write, for "did you mean" on an unknown type.
pub const TYPE_NAMES: &[&str] = &[
    "int",
    "float",
    "bool",
    "string",
    "duration",
    "rate",
    "size",
    "percent",
    "url",
    "json",
    "Response",
    "Workload",
    "Stage",
    "secret",
    "target",
    "list",
    "WsSession",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_width_subtyped() {
        let row = Type::Record(vec![
            ("email".into(), Type::Str),
            ("password".into(), Type::Str),
            ("id".into(), Type::Int),
        ]);
        let want = Type::Record(vec![
            ("email".into(), Type::Str),
            ("password".into(), Type::Str),
        ]);
        assert!(assignable(&row, &want));
        assert!(!assignable(&want, &row));
    }

    #[test]
    fn units_do_not_mix() {
        assert!(!assignable(&Type::Int, &Type::Duration));
        assert!(!assignable(&Type::Duration, &Type::Int));
        assert!(assignable(&Type::Int, &Type::Float));
        assert!(assignable(&Type::Error, &Type::Duration));
    }

    #[test]
    fn unify_lists_and_stages() {
        let a = Type::Stage(Box::new(Type::Int));
        let b = Type::Stage(Box::new(Type::Rate));
        assert_eq!(unify(&a, &b), None);
        assert_eq!(unify(&Type::Int, &Type::Float), Some(Type::Float));
    }
}
