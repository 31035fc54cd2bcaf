//! Constant values in the plan (literals, evaluated `fn`s and params, setup values).
//! Durations are milliseconds; sizes bytes; percentages fractions.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// Milliseconds.
    Duration(f64),
    /// Bytes.
    Size(f64),
    /// A fraction (`1%` is 0.01).
    Percent(f64),
    List(Vec<Value>),
    Record(BTreeMap<String, Value>),
    /// Arbitrary JSON (data rows, parsed bodies).
    Json(serde_json::Value),
}

impl Value {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) | Value::Duration(f) | Value::Size(f) | Value::Percent(f) => Some(*f),
            _ => None,
        }
    }
}
