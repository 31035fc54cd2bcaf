//! Runtime values of the VU interpreter: cheap to clone (every heap part sits behind an
//! `Arc`), `Send + Sync` (setup values are shared by every worker thread), and carrying a
//! secret taint so that nothing derived from a secret is ever printed.
//!
//! Units follow the plan: durations in milliseconds, sizes in bytes, percentages as
//! fractions. A secret is a string whose `Display` is `***`; a string built from a secret
//! (interpolation, concatenation) stays secret. This module must not do IO or know about
//! metrics; it only holds values, their conversions and comparisons.

use crate::http::Headers;
use bytes::Bytes;
use std::cmp::Ordering;
use std::fmt;
use std::sync::{Arc, OnceLock};
use volley_plan::Value as PlanValue;

/// A record's fields in order; looked up by a linear scan (records are small).
pub type Fields = Arc<[(Arc<str>, Value)]>;

/// A value at run time.
#[derive(Clone, Debug, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<str>),
    /// A string that must never be printed (a secret, or built from one).
    Secret(Arc<str>),
    /// Milliseconds.
    Duration(f64),
    /// Bytes.
    Size(f64),
    /// A fraction.
    Percent(f64),
    List(Arc<[Value]>),
    Record(Fields),
    Json(Arc<serde_json::Value>),
    Response(Arc<ResponseData>),
    /// An open WebSocket session (`ws.connect(..)`), owned by the VU that opened it.
    Ws(Arc<crate::ws::Session>),
}

/// What a request returned, as scripts see it.
#[derive(Debug)]
pub struct ResponseData {
    /// 0 on a transport error.
    pub status: u16,
    /// `http_req_duration` of the request, in ms.
    pub duration_ms: f64,
    pub headers: Headers,
    pub body: Bytes,
    /// The transport error's message, if any.
    pub error: Option<String>,
    /// The kept body's length as it came, before its `Content-Encoding` was decoded
    /// (`res.wire_size`).
    pub wire_size: u64,
    /// The final URL, after redirects (`res.url`); `None` for a response made without one.
    pub url: Option<Arc<url::Url>>,
    /// The body parsed as JSON, on first use (`None` when it is not JSON).
    json: OnceLock<Option<Arc<serde_json::Value>>>,
}

impl ResponseData {
    pub fn new(
        status: u16,
        duration_ms: f64,
        headers: Headers,
        body: Bytes,
        error: Option<String>,
    ) -> Self {
        ResponseData {
            status,
            duration_ms,
            headers,
            wire_size: body.len() as u64,
            body,
            error,
            url: None,
            json: OnceLock::new(),
        }
    }

    /// With the body's length as it came over the wire (a compressed body).
    pub fn with_wire_size(mut self, wire_size: u64) -> Self {
        self.wire_size = wire_size;
        self
    }

    /// With the final URL the request reached (`res.url`).
    pub fn with_url(mut self, url: Arc<url::Url>) -> Self {
        self.url = Some(url);
        self
    }

    /// The body parsed as JSON, parsed once per response; `None` when it is not JSON.
    pub fn json(&self) -> Option<&Arc<serde_json::Value>> {
        self.json
            .get_or_init(|| serde_json::from_slice(&self.body).ok().map(Arc::new))
            .as_ref()
    }

    /// The first value of a header as text, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get_str(name)
    }
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::Str(Arc::from(s))
    }

    /// Whether this value is, or contains, a secret.
    pub fn is_secret(&self) -> bool {
        match self {
            Value::Secret(_) => true,
            Value::List(items) => items.iter().any(Value::is_secret),
            Value::Record(fields) => fields.iter().any(|(_, v)| v.is_secret()),
            _ => false,
        }
    }

    /// The text of a string or secret (secrets included: for request bodies and headers).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Secret(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) | Value::Duration(f) | Value::Size(f) | Value::Percent(f) => Some(*f),
            _ => None,
        }
    }

    /// Truthiness for conditions: only `Bool` is a condition; anything else is an error
    /// the caller reports.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Json(j) => j.as_bool(),
            _ => None,
        }
    }

    /// A record field by name.
    pub fn field(&self, name: &str) -> Option<Value> {
        match self {
            Value::Record(fields) => fields
                .iter()
                .find(|(k, _)| &**k == name)
                .map(|(_, v)| v.clone()),
            Value::Json(j) => j.get(name).map(from_json),
            _ => None,
        }
    }

    /// The text used when interpolating into a string; secrets are included verbatim
    /// (the result is marked secret by the caller). Use `Display` for printing.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out, false);
        out
    }

    /// Appends the string form; `redact` prints `***` for secrets.
    pub fn write_text(&self, out: &mut String, redact: bool) {
        use std::fmt::Write;
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => write_float(out, *f),
            Value::Str(s) => out.push_str(s),
            Value::Secret(s) => out.push_str(if redact { "***" } else { s }),
            Value::Duration(ms) => {
                write_float(out, *ms);
                out.push_str("ms");
            }
            Value::Size(b) => {
                write_float(out, *b);
                out.push('B');
            }
            Value::Percent(p) => {
                write_float(out, *p * 100.0);
                out.push('%');
            }
            Value::List(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write_quoted(out, redact);
                }
                out.push(']');
            }
            Value::Record(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(k);
                    out.push_str(": ");
                    v.write_quoted(out, redact);
                }
                out.push('}');
            }
            Value::Json(j) => match &**j {
                serde_json::Value::String(s) => out.push_str(s),
                other => out.push_str(&other.to_string()),
            },
            Value::Response(r) => {
                let _ = write!(out, "Response(status {}, {} bytes)", r.status, r.body.len());
            }
            Value::Ws(s) => {
                let _ = write!(out, "WsSession({})", s.name);
            }
        }
    }

    fn write_quoted(&self, out: &mut String, redact: bool) {
        match self {
            Value::Str(s) => {
                out.push('"');
                out.push_str(s);
                out.push('"');
            }
            other => other.write_text(out, redact),
        }
    }

    /// The JSON form, for request bodies (secrets included verbatim).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) | Value::Duration(f) | Value::Size(f) | Value::Percent(f) => {
                serde_json::Number::from_f64(*f).map_or(J::Null, J::Number)
            }
            Value::Str(s) | Value::Secret(s) => J::String(s.to_string()),
            Value::List(items) => J::Array(items.iter().map(Value::to_json).collect()),
            Value::Record(fields) => J::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_json()))
                    .collect(),
            ),
            Value::Json(j) => (**j).clone(),
            Value::Response(r) => r.json().map_or(J::Null, |j| (**j).clone()),
            Value::Ws(_) => J::Null,
        }
    }

    /// Equality as scripts see it: numbers compare by value across int and float,
    /// strings by text (secret or not), a JSON scalar like the plain value it holds.
    pub fn loose_eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (a, b) if a.is_text() && b.is_text() => a.text_like() == b.text_like(),
            (Value::List(a), Value::List(b)) => {
                a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.loose_eq(y))
            }
            (Value::Record(a), Value::Record(b)) => {
                a.len() == b.len()
                    && a.iter().all(|(k, v)| {
                        b.iter()
                            .find(|(k2, _)| k2 == k)
                            .is_some_and(|(_, v2)| v.loose_eq(v2))
                    })
            }
            (Value::Json(a), Value::Json(b)) => a == b,
            (Value::Json(j), other) | (other, Value::Json(j)) => match &**j {
                serde_json::Value::Object(_) | serde_json::Value::Array(_) => false,
                scalar => from_json(scalar).loose_eq(other),
            },
            (a, b) => match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x == y,
                _ => false,
            },
        }
    }

    /// Ordering for `<`, `<=`, `>`, `>=`: numbers (and units) by value, strings by text.
    pub fn loose_cmp(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
            (a, b) if a.is_text() && b.is_text() => Some(a.text_like()?.cmp(b.text_like()?)),
            (Value::Json(j), other) if !j.is_object() && !j.is_array() => {
                from_json(j).loose_cmp(other)
            }
            (other, Value::Json(j)) if !j.is_object() && !j.is_array() => {
                other.loose_cmp(&from_json(j))
            }
            (a, b) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        }
    }

    /// The text of a string, secret or JSON string.
    fn text_like(&self) -> Option<&str> {
        match self {
            Value::Json(j) => j.as_str(),
            other => other.as_text(),
        }
    }

    fn is_text(&self) -> bool {
        matches!(self, Value::Str(_) | Value::Secret(_))
            || matches!(self, Value::Json(j) if j.is_string())
    }

    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) | Value::Secret(_) => "string",
            Value::Duration(_) => "duration",
            Value::Size(_) => "size",
            Value::Percent(_) => "percent",
            Value::List(_) => "list",
            Value::Record(_) => "record",
            Value::Json(j) => match &**j {
                serde_json::Value::Null => "json null",
                serde_json::Value::Bool(_) => "json bool",
                serde_json::Value::Number(_) => "json number",
                serde_json::Value::String(_) => "json string",
                serde_json::Value::Array(_) => "json array",
                serde_json::Value::Object(_) => "json object",
            },
            Value::Response(_) => "Response",
            Value::Ws(_) => "WsSession",
        }
    }
}

/// Prints the value with every secret replaced by `***`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write_text(&mut s, true);
        f.write_str(&s)
    }
}

fn write_float(out: &mut String, f: f64) {
    use std::fmt::Write;
    if f.fract() == 0.0 && f.abs() < 1e15 {
        let _ = write!(out, "{}", f as i64);
    } else {
        let _ = write!(out, "{f}");
    }
}

/// A JSON value as a script value: scalars become plain values (strings `Str`, integers
/// `Int`, other numbers `Float`), arrays and objects stay JSON.
pub fn from_json(j: &serde_json::Value) -> Value {
    match j {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::Str(Arc::from(s.as_str())),
        other => Value::Json(Arc::new(other.clone())),
    }
}

impl From<&PlanValue> for Value {
    fn from(v: &PlanValue) -> Self {
        match v {
            PlanValue::Null => Value::Null,
            PlanValue::Bool(b) => Value::Bool(*b),
            PlanValue::Int(i) => Value::Int(*i),
            PlanValue::Float(f) => Value::Float(*f),
            PlanValue::Str(s) => Value::Str(Arc::from(s.as_str())),
            PlanValue::Duration(d) => Value::Duration(*d),
            PlanValue::Size(s) => Value::Size(*s),
            PlanValue::Percent(p) => Value::Percent(*p),
            PlanValue::List(items) => Value::List(items.iter().map(Value::from).collect()),
            PlanValue::Record(fields) => Value::Record(
                fields
                    .iter()
                    .map(|(k, v)| (Arc::from(k.as_str()), Value::from(v)))
                    .collect(),
            ),
            PlanValue::Json(j) => match j {
                serde_json::Value::Object(_) | serde_json::Value::Array(_) => {
                    Value::Json(Arc::new(j.clone()))
                }
                scalar => from_json(scalar),
            },
        }
    }
}

/// Looks up `a.b[0].c` in a JSON document. An empty path (or `.`) is the whole document.
/// Returns `None` when any step is missing or the path is malformed.
pub fn json_path<'a>(root: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    let mut cur = root;
    let path = path.trim();
    let path = path.strip_prefix("$").unwrap_or(path);
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'.' => i += 1,
            b'[' => {
                let end = path[i..].find(']')? + i;
                let inner = path[i + 1..end].trim();
                cur = if let Ok(idx) = inner.parse::<usize>() {
                    cur.get(idx)?
                } else {
                    let key = inner.trim_matches(|c| c == '"' || c == '\'');
                    cur.get(key)?
                };
                i = end + 1;
            }
            _ => {
                let end = path[i..].find(['.', '[']).map_or(path.len(), |e| e + i);
                let key = &path[i..end];
                cur = match cur {
                    serde_json::Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
                    other => other.get(key)?,
                };
                i = end;
            }
        }
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_never_display() {
        let s = Value::Secret(Arc::from("hunter2"));
        assert_eq!(s.to_string(), "***");
        let rec = Value::Record(Arc::from(vec![(Arc::from("k"), s.clone())]));
        assert_eq!(rec.to_string(), "{k: ***}");
        assert!(rec.is_secret());
        assert_eq!(s.to_text(), "hunter2");
        assert_eq!(s.to_json(), json!("hunter2"));
    }

    #[test]
    fn loose_equality_and_order() {
        assert!(Value::Int(2).loose_eq(&Value::Float(2.0)));
        assert!(Value::str("a").loose_eq(&Value::Secret(Arc::from("a"))));
        assert!(Value::Json(Arc::new(json!("x"))).loose_eq(&Value::str("x")));
        assert!(!Value::Int(1).loose_eq(&Value::str("1")));
        assert_eq!(
            Value::Duration(5.0).loose_cmp(&Value::Duration(7.0)),
            Some(Ordering::Less)
        );
        assert_eq!(Value::Bool(true).loose_cmp(&Value::Int(1)), None);
    }

    #[test]
    fn json_paths() {
        let doc = json!({"a": {"b": [{"c": 1}, {"c": "two"}]}, "token": "t", "list": [5, 6]});
        assert_eq!(json_path(&doc, "token"), Some(&json!("t")));
        assert_eq!(json_path(&doc, "a.b[1].c"), Some(&json!("two")));
        assert_eq!(json_path(&doc, "a.b.0.c"), Some(&json!(1)));
        assert_eq!(json_path(&doc, "list[1]"), Some(&json!(6)));
        assert_eq!(json_path(&doc, "$.a[\"b\"][0].c"), Some(&json!(1)));
        assert_eq!(json_path(&doc, ""), Some(&doc));
        assert_eq!(json_path(&doc, "a.missing"), None);
        assert_eq!(json_path(&doc, "list[9]"), None);
        assert_eq!(json_path(&doc, "a.b[1"), None);
    }

    #[test]
    fn plan_values_convert() {
        let mut m = std::collections::BTreeMap::new();
        m.insert("email".to_string(), PlanValue::Str("a@b".into()));
        let v = Value::from(&PlanValue::Record(m));
        assert_eq!(
            v.field("email")
                .and_then(|e| e.as_text().map(str::to_owned)),
            Some("a@b".into())
        );
        let j = Value::from(&PlanValue::Json(json!({"n": 3})));
        assert!(j.field("n").is_some_and(|n| n.loose_eq(&Value::Int(3))));
        assert_eq!(Value::Percent(0.25).to_string(), "25%");
        assert_eq!(Value::Float(1.5).to_string(), "1.5");
    }
}
