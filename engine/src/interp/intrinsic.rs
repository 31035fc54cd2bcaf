//! Intrinsics: response helpers (`header`, `json`), the checked conversions of JSON
//! values, and `std/data` (uuid, random ints, emails, strings, picks) from the VU's own
//! RNG (`random_string` from a given charset too); the string, encoding, crypto and
//! time functions are in `text`. A conversion of a missing or mistyped value fails the iteration with a check
//! named after what was converted (`json: token is not a string`).
//! This module must not do IO.

use super::{Halt, Vu, R};
use crate::value::{json_path, Value};
use rand::Rng;
use std::sync::Arc;
use volley_plan::Intrinsic;

/// Longest string `random_string` makes.
const MAX_RANDOM_STRING: i64 = 1 << 20;

impl Vu {
    pub(crate) fn intrinsic(
        &mut self,
        which: Intrinsic,
        args: &[Value],
        label: Option<&str>,
    ) -> R<Value> {
        let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
        Ok(match which {
            Intrinsic::Header => {
                let name = arg(1);
                let name = name.as_text().unwrap_or("");
                match arg(0) {
                    Value::Response(r) => Value::Str(Arc::from(r.header(name).unwrap_or(""))),
                    other => return Err(wrong("header", "a Response", &other)),
                }
            }
            Intrinsic::Json => {
                let path = arg(1);
                let path = path.as_text().unwrap_or("");
                let found = match arg(0) {
                    Value::Response(r) => r.json().and_then(|j| json_path(j, path).cloned()),
                    Value::Json(j) => json_path(&j, path).cloned(),
                    Value::Str(s) => serde_json::from_str::<serde_json::Value>(&s)
                        .ok()
                        .and_then(|j| json_path(&j, path).cloned()),
                    other => return Err(wrong("json", "a Response", &other)),
                };
                Value::Json(Arc::new(found.unwrap_or(serde_json::Value::Null)))
            }
            Intrinsic::AsString => match arg(0) {
                v @ (Value::Str(_) | Value::Secret(_)) => v,
                Value::Json(j) if j.is_string() => {
                    Value::Str(Arc::from(j.as_str().unwrap_or_default()))
                }
                other => return Err(conversion(label, "a string", &other)),
            },
            Intrinsic::AsInt => match arg(0) {
                Value::Int(i) => Value::Int(i),
                Value::Json(j) => match j.as_i64() {
                    Some(i) => Value::Int(i),
                    None => match j.as_f64() {
                        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Value::Int(f as i64),
                        _ => return Err(conversion(label, "an int", &Value::Json(j))),
                    },
                },
                other => return Err(conversion(label, "an int", &other)),
            },
            Intrinsic::AsFloat => match arg(0) {
                Value::Int(i) => Value::Float(i as f64),
                Value::Float(f) => Value::Float(f),
                Value::Json(j) if j.is_number() => Value::Float(j.as_f64().unwrap_or(f64::NAN)),
                other => return Err(conversion(label, "a float", &other)),
            },
            Intrinsic::AsBool => match arg(0) {
                Value::Bool(b) => Value::Bool(b),
                Value::Json(j) if j.is_boolean() => Value::Bool(j.as_bool() == Some(true)),
                other => return Err(conversion(label, "a bool", &other)),
            },
            Intrinsic::ToStr => {
                let v = arg(0);
                super::ops::concat(std::iter::once(&v))
            }
            Intrinsic::Len => match arg(0) {
                Value::Str(s) | Value::Secret(s) => Value::Int(s.chars().count() as i64),
                Value::List(l) => Value::Int(l.len() as i64),
                Value::Record(r) => Value::Int(r.len() as i64),
                Value::Json(j) => match &*j {
                    serde_json::Value::Array(a) => Value::Int(a.len() as i64),
                    serde_json::Value::Object(o) => Value::Int(o.len() as i64),
                    serde_json::Value::String(s) => Value::Int(s.chars().count() as i64),
                    _ => return Err(wrong("len", "a string or list", &Value::Json(j))),
                },
                other => return Err(wrong("len", "a string or list", &other)),
            },
            Intrinsic::Contains => match (arg(0), arg(1)) {
                (hay, needle) if hay.as_text().is_some() => {
                    let needle = match needle.as_text() {
                        Some(t) => t.to_string(),
                        None => needle.to_text(),
                    };
                    Value::Bool(hay.as_text().unwrap_or("").contains(needle.as_str()))
                }
                (Value::List(items), needle) => {
                    Value::Bool(items.iter().any(|i| i.loose_eq(&needle)))
                }
                (Value::Json(j), needle) if j.is_string() => {
                    let needle = needle.to_text();
                    Value::Bool(j.as_str().unwrap_or("").contains(needle.as_str()))
                }
                (other, _) => return Err(wrong("contains", "a string or list", &other)),
            },
            Intrinsic::Uuid => Value::Str(Arc::from(self.uuid_v4().as_str())),
            Intrinsic::RandomInt => {
                let (a, b) = match (arg(0), arg(1)) {
                    (Value::Int(a), Value::Int(b)) => (a, b),
                    (Value::Int(b), Value::Null) => (0, b),
                    (x, _) => return Err(wrong("random_int", "two ints", &x)),
                };
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                Value::Int(self.rng.gen_range(lo..=hi))
            }
            Intrinsic::RandomString => {
                let n = match arg(0) {
                    Value::Int(n) => n.clamp(0, MAX_RANDOM_STRING),
                    Value::Null => 16,
                    other => return Err(wrong("random_string", "an int length", &other)),
                };
                match arg(1) {
                    Value::Null => Value::Str(Arc::from(self.random_alnum(n as usize).as_str())),
                    charset => {
                        let s = self.random_from(n as usize, charset.as_text().unwrap_or(""))?;
                        Value::Str(Arc::from(s.as_str()))
                    }
                }
            }
            Intrinsic::RandomEmail => {
                let domain = match arg(0) {
                    Value::Str(d) => d,
                    _ => Arc::from("example.com"),
                };
                let local = self.random_alnum(12).to_ascii_lowercase();
                Value::Str(Arc::from(format!("{local}@{domain}").as_str()))
            }
            Intrinsic::RandomPick => {
                let items: Vec<Value> = match arg(0) {
                    Value::List(l) => l.to_vec(),
                    Value::Json(j) => match &*j {
                        serde_json::Value::Array(a) => {
                            a.iter().map(crate::value::from_json).collect()
                        }
                        _ => return Err(wrong("pick", "a list", &Value::Json(j))),
                    },
                    other => return Err(wrong("pick", "a list", &other)),
                };
                if items.is_empty() {
                    return Err(Halt::error("pick: empty list", "pick from an empty list"));
                }
                let i = self.rng.gen_range(0..items.len());
                items[i].clone()
            }
            Intrinsic::Cookie => {
                let name = arg(1);
                let name = name.as_text().unwrap_or("");
                match arg(0) {
                    Value::Response(r) => {
                        let found = crate::http::response_cookies(&r.headers)
                            .into_iter()
                            .rev()
                            .find(|(n, _)| n == name);
                        Value::Str(Arc::from(found.map_or(String::new(), |(_, v)| v)))
                    }
                    other => return Err(wrong("cookie", "a Response", &other)),
                }
            }
            Intrinsic::CookieSet => return self.cookie_set(&arg(0), &arg(1), &arg(2)),
            Intrinsic::CookieClear => {
                self.client.clear_cookies();
                Value::Null
            }
            Intrinsic::Find
            | Intrinsic::Matches
            | Intrinsic::Captures
            | Intrinsic::Replace
            | Intrinsic::Split
            | Intrinsic::Trim
            | Intrinsic::Upper
            | Intrinsic::Lower
            | Intrinsic::Base64Encode
            | Intrinsic::Base64Decode
            | Intrinsic::HexEncode
            | Intrinsic::HexDecode
            | Intrinsic::UrlEncode
            | Intrinsic::UrlDecode
            | Intrinsic::Sha256
            | Intrinsic::HmacSha256
            | Intrinsic::UnixMs
            | Intrinsic::FormatTime => {
                return super::text::call(&self.shared.program.regexes, which, args)
            }
            Intrinsic::Index => index(arg(0), &arg(1))?,
            Intrinsic::Exists => Value::Bool(match arg(0) {
                Value::Null => false,
                Value::Json(j) => !j.is_null(),
                _ => true,
            }),
            Intrinsic::Pick => match arg(0) {
                Value::List(l) if !l.is_empty() => {
                    let i = self.rng.gen_range(0..l.len());
                    l[i].clone()
                }
                Value::Json(j) => match &*j {
                    serde_json::Value::Array(a) if !a.is_empty() => {
                        let i = self.rng.gen_range(0..a.len());
                        Value::Json(Arc::new(a[i].clone()))
                    }
                    _ => return Err(empty_pick(&Value::Json(j))),
                },
                other => return Err(empty_pick(&other)),
            },
            Intrinsic::Html => match arg(0) {
                Value::Response(r) => super::html::document(&r.body),
                other => return Err(wrong("html", "a Response", &other)),
            },
            Intrinsic::HtmlFind => super::html::find(&arg(0), &arg(1))?,
            Intrinsic::HtmlFirst => super::html::first(&arg(0))?,
            Intrinsic::HtmlAttr => super::html::attr(&arg(0), &arg(1))?,
            Intrinsic::HtmlText => super::html::text(&arg(0))?,
            Intrinsic::Env => {
                let name = arg(0);
                match std::env::var(name.as_text().unwrap_or("")) {
                    Ok(v) => Value::Str(Arc::from(v.as_str())),
                    Err(_) => arg(1),
                }
            }
            // They wait: `eval` runs them with `Vu::ws`, never here.
            Intrinsic::WsConnect
            | Intrinsic::WsSend
            | Intrinsic::WsSendBinary
            | Intrinsic::WsReceive
            | Intrinsic::WsWaitFor
            | Intrinsic::WsPing
            | Intrinsic::WsClose
            | Intrinsic::WsEvents => {
                return Err(Halt::error(
                    "internal: WebSocket call in a sync expression",
                    "internal error: a WebSocket call was evaluated synchronously",
                ))
            }
        })
    }

    /// `vu.cookies.set(TARGET, name, value)`: a host-only cookie for the target's host
    /// and every path.
    fn cookie_set(&mut self, target: &Value, name: &Value, value: &Value) -> R<Value> {
        let base = match target {
            Value::Int(i) => usize::try_from(*i)
                .ok()
                .and_then(|i| self.shared.program.targets.get(i)),
            _ => None,
        };
        let url = base.and_then(|b| url::Url::parse(b).ok());
        let (name, value) = (name.as_text().unwrap_or(""), value.as_text().unwrap_or(""));
        let stored = match &url {
            Some(url) => self.client.jar_mut().set(url, name, value),
            None => false,
        };
        if !stored {
            return Err(Halt::error(
                format!("cookies.set: cookie {name} not stored"),
                format!(
                    "vu.cookies.set: cookie {name:?} was not stored: an invalid name or value (no spaces, quotes, commas, semicolons or backslashes), longer than 4096 bytes, or the jar is full"
                ),
            ));
        }
        Ok(Value::Null)
    }

    /// `n` characters drawn uniformly from `charset` (one draw per character).
    fn random_from(&mut self, n: usize, charset: &str) -> R<String> {
        let chars: Vec<char> = charset.chars().collect();
        if chars.is_empty() {
            return Err(Halt::error(
                "random_string: empty charset",
                "random_string needs at least one character to draw from",
            ));
        }
        Ok((0..n)
            .map(|_| chars[self.rng.gen_range(0..chars.len())])
            .collect())
    }

    fn random_alnum(&mut self, n: usize) -> String {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..n)
            .map(|_| char::from(CHARS[self.rng.gen_range(0..CHARS.len())]))
            .collect()
    }

    /// A random (version 4, RFC 4122 variant) UUID.
    fn uuid_v4(&mut self) -> String {
        let mut b: [u8; 16] = self.rng.gen();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }
}

/// `base[i]`: a list element (out of range fails), a json element or member (json null
/// when missing: a negative index, a key of an array, an index of an object).
fn index(base: Value, i: &Value) -> R<Value> {
    Ok(match (base, i) {
        (Value::List(l), Value::Int(n)) => match usize::try_from(*n).ok().and_then(|k| l.get(k)) {
            Some(v) => v.clone(),
            None => {
                return Err(Halt::error(
                    "index: outside the list",
                    format!("index {n} is outside a list of {}", l.len()),
                ))
            }
        },
        (Value::Json(j), key) => {
            let found = match key {
                Value::Int(n) => usize::try_from(*n).ok().and_then(|k| j.get(k)),
                other => other.as_text().and_then(|k| match &*j {
                    serde_json::Value::Object(o) => o.get(k),
                    _ => None,
                }),
            };
            Value::Json(Arc::new(found.cloned().unwrap_or(serde_json::Value::Null)))
        }
        (Value::Null, _) => Value::Json(Arc::new(serde_json::Value::Null)),
        (other, _) => return Err(wrong("index", "a list or json value", &other)),
    })
}

/// `.pick()` of an empty list, a json value that is not an array, or a missing one.
fn empty_pick(got: &Value) -> Halt {
    Halt::error(
        "pick: nothing to pick",
        format!(
            "pick needs a non-empty list or json array, got {}",
            got.kind()
        ),
    )
}

fn wrong(what: &str, expected: &str, got: &Value) -> Halt {
    Halt::error(
        format!("{what}: not {expected}"),
        format!("{what} needs {expected}, got {}", got.kind()),
    )
}

/// A failed conversion: `json: token is not a string` (or `is missing`).
fn conversion(label: Option<&str>, expected: &str, got: &Value) -> Halt {
    let label = label.unwrap_or("value");
    let missing = matches!(got, Value::Null) || matches!(got, Value::Json(j) if j.is_null());
    let check = if missing {
        format!("{label} is missing")
    } else {
        let article_free = expected.trim_start_matches("an ").trim_start_matches("a ");
        format!("{label} is not {}{article_free}", article(article_free))
    };
    Halt::error(
        check.clone(),
        format!("{check} (expected {expected}, got {})", got.kind()),
    )
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an "
    } else {
        "a "
    }
}
