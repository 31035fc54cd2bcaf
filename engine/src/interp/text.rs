//! Intrinsics on text: the string methods (`find`, `matches`, `captures`, `replace`,
//! `split`, `trim`, `upper`, `lower`), `std/encoding` (base64, hex, URL component
//! encoding), `std/crypto` (SHA-256, HMAC-SHA256) and `std/time` (the wall clock,
//! strftime-style formatting in UTC).
//!
//! Regular expressions are compiled once: the patterns written as constants when the
//! plan is loaded ([`Regexes::of_plan`], shared by every VU), any other pattern the first
//! time a worker thread meets it (a bounded per-thread cache). A result computed from a
//! secret is a secret (its text is never printed), whatever the function: a digest or an
//! encoding of a credential is as good as the credential to whoever reads it. Errors
//! name the function, never the text. This module must not do IO.

use super::{Halt, R};
use crate::value::Value;
use base64::Engine as _;
use hmac::Mac as _;
use regex::Regex;
use sha2::Digest as _;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use volley_plan::program::{walk_exprs, Expr, Intrinsic};
use volley_plan::Plan;

/// Patterns a worker thread keeps compiled beyond the plan's constants.
const THREAD_CACHE: usize = 256;

thread_local! {
    static COMPILED: RefCell<HashMap<Box<str>, Arc<Regex>>> = RefCell::new(HashMap::new());
}

/// The plan's constant patterns, compiled once when the plan is loaded.
#[derive(Default)]
pub struct Regexes(HashMap<Box<str>, Arc<Regex>>);

impl Regexes {
    /// Every constant pattern of a regex method anywhere in `plan` (a pattern that does
    /// not compile is left out: it fails where it is used, as a dynamic one would).
    pub fn of_plan(plan: &Plan) -> Regexes {
        let mut out = HashMap::new();
        let mut look = |e: &Expr| {
            if let Expr::Call { intrinsic, args } = e {
                if is_regex(*intrinsic) {
                    if let Some(Expr::Const(volley_plan::Value::Str(p))) = args.get(1) {
                        if !out.contains_key(p.as_str()) {
                            if let Ok(r) = Regex::new(p) {
                                out.insert(Box::from(p.as_str()), Arc::new(r));
                            }
                        }
                    }
                }
            }
        };
        for s in &plan.scenarios {
            walk_exprs(&s.init, &mut look);
            walk_exprs(&s.iteration, &mut look);
        }
        for f in plan.flows.iter().chain(&plan.setup).chain(&plan.teardown) {
            walk_exprs(&f.body, &mut look);
        }
        Regexes(out)
    }

    /// The compiled `pattern`: the plan's, else this thread's cache, else compiled now.
    pub(crate) fn get(&self, what: &str, pattern: &str) -> R<Arc<Regex>> {
        if let Some(r) = self.0.get(pattern) {
            return Ok(Arc::clone(r));
        }
        COMPILED.with(|c| {
            let mut c = c.borrow_mut();
            if let Some(r) = c.get(pattern) {
                return Ok(Arc::clone(r));
            }
            let r = Arc::new(Regex::new(pattern).map_err(|_| {
                Halt::error(
                    format!("{what}: invalid regular expression"),
                    format!("{what}: the pattern is not a valid regular expression"),
                )
            })?);
            if c.len() >= THREAD_CACHE {
                c.clear();
            }
            c.insert(Box::from(pattern), Arc::clone(&r));
            Ok(r)
        })
    }
}

fn is_regex(i: Intrinsic) -> bool {
    matches!(
        i,
        Intrinsic::Find | Intrinsic::Matches | Intrinsic::Captures | Intrinsic::Replace
    )
}

/// The intrinsics of this module, by their plan name (for errors).
fn name(i: Intrinsic) -> &'static str {
    match i {
        Intrinsic::Find => "find",
        Intrinsic::Matches => "matches",
        Intrinsic::Captures => "captures",
        Intrinsic::Replace => "replace",
        Intrinsic::Split => "split",
        Intrinsic::Trim => "trim",
        Intrinsic::Upper => "upper",
        Intrinsic::Lower => "lower",
        Intrinsic::Base64Encode => "base64",
        Intrinsic::Base64Decode => "base64_decode",
        Intrinsic::HexEncode => "hex",
        Intrinsic::HexDecode => "hex_decode",
        Intrinsic::UrlEncode => "url_encode",
        Intrinsic::UrlDecode => "url_decode",
        Intrinsic::Sha256 => "sha256",
        Intrinsic::HmacSha256 => "hmac_sha256",
        Intrinsic::UnixMs => "unix_ms",
        Intrinsic::FormatTime => "format",
        _ => "intrinsic",
    }
}

/// Every byte but the unreserved characters of RFC 3986 (`A-Z a-z 0-9 - _ . ~`).
const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The standard base64 alphabet; decoding accepts input with or without padding.
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// Runs a text intrinsic on its evaluated arguments.
pub(crate) fn call(regexes: &Regexes, which: Intrinsic, args: &[Value]) -> R<Value> {
    let what = name(which);
    let secret = args.iter().any(Value::is_secret);
    let text = |i: usize| -> R<&str> {
        args.get(i)
            .and_then(Value::as_text)
            .ok_or_else(|| not_text(what, args.get(i)))
    };
    let out = |s: String| taint(Value::Str(Arc::from(s)), secret);
    Ok(match which {
        Intrinsic::Find => {
            let re = regexes.get(what, text(1)?)?;
            let group = match args.get(2) {
                Some(Value::Int(g)) => usize::try_from(*g).ok(),
                _ => Some(0),
            };
            let found = match (re.captures(text(0)?), group) {
                (Some(c), Some(g)) => c.get(g).map_or("", |m| m.as_str()),
                _ => "",
            };
            out(found.to_string())
        }
        Intrinsic::Matches => Value::Bool(regexes.get(what, text(1)?)?.is_match(text(0)?)),
        Intrinsic::Captures => {
            let re = regexes.get(what, text(1)?)?;
            let groups: Vec<Value> = match re.captures(text(0)?) {
                Some(c) => c
                    .iter()
                    .map(|m| out(m.map_or("", |m| m.as_str()).to_string()))
                    .collect(),
                None => Vec::new(),
            };
            Value::List(groups.into())
        }
        Intrinsic::Replace => {
            let re = regexes.get(what, text(1)?)?;
            out(re.replace_all(text(0)?, text(2)?).into_owned())
        }
        Intrinsic::Split => {
            let (s, sep) = (text(0)?, text(1)?);
            let parts: Vec<Value> = if sep.is_empty() {
                s.chars().map(|c| out(c.to_string())).collect()
            } else {
                s.split(sep).map(|p| out(p.to_string())).collect()
            };
            Value::List(parts.into())
        }
        Intrinsic::Trim => out(text(0)?.trim().to_string()),
        Intrinsic::Upper => out(text(0)?.to_uppercase()),
        Intrinsic::Lower => out(text(0)?.to_lowercase()),
        Intrinsic::Base64Encode => out(BASE64.encode(text(0)?)),
        Intrinsic::Base64Decode => {
            let bytes = BASE64
                .decode(text(0)?.trim())
                .map_err(|_| malformed(what, "base64"))?;
            out(utf8(what, bytes)?)
        }
        Intrinsic::HexEncode => out(hex::encode(text(0)?)),
        Intrinsic::HexDecode => {
            let bytes = hex::decode(text(0)?.trim()).map_err(|_| malformed(what, "hex"))?;
            out(utf8(what, bytes)?)
        }
        Intrinsic::UrlEncode => {
            out(percent_encoding::utf8_percent_encode(text(0)?, COMPONENT).to_string())
        }
        Intrinsic::UrlDecode => {
            let bytes: Vec<u8> = percent_encoding::percent_decode_str(text(0)?).collect();
            out(utf8(what, bytes)?)
        }
        Intrinsic::Sha256 => out(hex::encode(sha2::Sha256::digest(text(0)?.as_bytes()))),
        Intrinsic::HmacSha256 => {
            // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(text(0)?.as_bytes())
                .map_err(|_| malformed(what, "key"))?;
            mac.update(text(1)?.as_bytes());
            out(hex::encode(mac.finalize().into_bytes()))
        }
        Intrinsic::UnixMs => Value::Int(jiff::Timestamp::now().as_millisecond()),
        Intrinsic::FormatTime => {
            let ms = match args.first() {
                Some(Value::Int(ms)) => *ms,
                other => return Err(not_text(what, other)),
            };
            out(format_time(ms, text(1)?).map_err(|detail| {
                Halt::error(format!("{what}: invalid time"), format!("{what}: {detail}"))
            })?)
        }
        _ => {
            return Err(Halt::error(
                "intrinsic: not a text function",
                format!("{what} is not a text function"),
            ))
        }
    })
}

/// `unix_ms` as a UTC instant formatted by a strftime-style `pattern`.
pub fn format_time(unix_ms: i64, pattern: &str) -> Result<String, String> {
    let ts = jiff::Timestamp::from_millisecond(unix_ms).map_err(|e| e.to_string())?;
    jiff::fmt::strtime::format(pattern, ts).map_err(|e| e.to_string())
}

fn taint(v: Value, secret: bool) -> Value {
    match v {
        Value::Str(s) if secret => Value::Secret(s),
        v => v,
    }
}

fn utf8(what: &str, bytes: Vec<u8>) -> R<String> {
    String::from_utf8(bytes).map_err(|_| malformed(what, "UTF-8 text"))
}

fn malformed(what: &str, expected: &str) -> Halt {
    Halt::error(
        format!("{what}: not valid {expected}"),
        format!("{what}: the input is not valid {expected}"),
    )
}

fn not_text(what: &str, got: Option<&Value>) -> Halt {
    let kind = got.map_or("nothing", Value::kind);
    Halt::error(
        format!("{what}: not a string"),
        format!("{what} needs a string, got {kind}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::str(x)
    }

    fn run(i: Intrinsic, args: &[Value]) -> Value {
        match call(&Regexes::default(), i, args) {
            Ok(v) => v,
            Err(Halt::Error { detail, .. }) => panic!("{detail}"),
            Err(_) => panic!("halted"),
        }
    }

    fn text(v: Value) -> String {
        v.as_text()
            .map(str::to_string)
            .unwrap_or_else(|| panic!("{v:?}"))
    }

    #[test]
    fn regex_methods() {
        let body = s(r#"<input name="csrf" value="k9Zq-7"> id=42 id=43"#);
        assert_eq!(
            text(run(Intrinsic::Find, &[body.clone(), s(r"id=\d+")])),
            "id=42"
        );
        let csrf = run(
            Intrinsic::Find,
            &[
                body.clone(),
                s(r#"name="csrf" value="([^"]+)""#),
                Value::Int(1),
            ],
        );
        assert_eq!(text(csrf), "k9Zq-7");
        assert_eq!(text(run(Intrinsic::Find, &[body.clone(), s("nope")])), "");
        assert_eq!(
            text(run(
                Intrinsic::Find,
                &[body.clone(), s(r"id=(\d+)"), Value::Int(5)]
            )),
            ""
        );
        assert!(matches!(
            run(Intrinsic::Matches, &[body.clone(), s(r"^<input")]),
            Value::Bool(true)
        ));
        let Value::List(caps) = run(Intrinsic::Captures, &[s("v2.17"), s(r"v(\d+)\.(\d+)")]) else {
            panic!()
        };
        let caps: Vec<String> = caps.iter().cloned().map(text).collect();
        assert_eq!(caps, ["v2.17", "2", "17"]);
        let Value::List(none) = run(Intrinsic::Captures, &[s("x"), s(r"\d")]) else {
            panic!()
        };
        assert!(none.is_empty());
        let r = run(Intrinsic::Replace, &[body, s(r"id=(\d+)"), s("n$1")]);
        assert!(text(r).ends_with("n42 n43"));
    }

    #[test]
    fn a_dynamic_pattern_that_does_not_compile_fails_without_its_text() {
        let Err(Halt::Error { check, detail }) = call(
            &Regexes::default(),
            Intrinsic::Find,
            &[s("a"), s("(hunter2")],
        ) else {
            panic!()
        };
        assert_eq!(check, "find: invalid regular expression");
        assert!(!detail.contains("hunter2"), "{detail}");
    }

    #[test]
    fn plain_string_methods() {
        let Value::List(parts) = run(Intrinsic::Split, &[s("a,b,,c"), s(",")]) else {
            panic!()
        };
        let parts: Vec<String> = parts.iter().cloned().map(text).collect();
        assert_eq!(parts, ["a", "b", "", "c"]);
        assert_eq!(text(run(Intrinsic::Trim, &[s("  x y \n")])), "x y");
        assert_eq!(text(run(Intrinsic::Upper, &[s("straße")])), "STRASSE");
        assert_eq!(text(run(Intrinsic::Lower, &[s("ÀB")])), "àb");
    }

    #[test]
    fn encodings_round_trip() {
        assert_eq!(text(run(Intrinsic::Base64Encode, &[s("hi?")])), "aGk/");
        assert_eq!(text(run(Intrinsic::Base64Decode, &[s("aGk/")])), "hi?");
        assert_eq!(text(run(Intrinsic::Base64Decode, &[s("aGk")])), "hi");
        assert_eq!(text(run(Intrinsic::HexEncode, &[s("hi")])), "6869");
        assert_eq!(text(run(Intrinsic::HexDecode, &[s("6869")])), "hi");
        assert_eq!(
            text(run(Intrinsic::UrlEncode, &[s("a b&c=d/é~")])),
            "a%20b%26c%3Dd%2F%C3%A9~"
        );
        assert_eq!(
            text(run(Intrinsic::UrlDecode, &[s("a%20b%2Bc+")])),
            "a b+c+"
        );
        for (i, bad) in [
            (Intrinsic::Base64Decode, "!!"),
            (Intrinsic::HexDecode, "6g"),
            (Intrinsic::HexDecode, "ff"),
        ] {
            assert!(call(&Regexes::default(), i, &[s(bad)]).is_err(), "{bad}");
        }
    }

    #[test]
    fn digests_match_published_vectors() {
        assert_eq!(
            text(run(Intrinsic::Sha256, &[s("abc")])),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // RFC 4231, test case 2.
        assert_eq!(
            text(run(
                Intrinsic::HmacSha256,
                &[s("Jefe"), s("what do ya want for nothing?")]
            )),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_secret_in_gives_a_secret_out() {
        let key = Value::Secret(Arc::from("k"));
        for (i, args) in [
            (Intrinsic::HmacSha256, vec![key.clone(), s("body")]),
            (Intrinsic::Upper, vec![key.clone()]),
            (Intrinsic::Base64Encode, vec![key.clone()]),
            (Intrinsic::Split, vec![key.clone(), s("")]),
            (Intrinsic::Find, vec![s("abc"), key.clone()]),
        ] {
            assert!(run(i, &args).is_secret(), "{i:?}");
        }
        assert!(!run(Intrinsic::Sha256, &[s("k")]).is_secret());
    }

    #[test]
    fn time_formats_in_utc() {
        assert_eq!(
            format_time(1_700_000_000_123, "%Y-%m-%dT%H:%M:%S%.3fZ").as_deref(),
            Ok("2023-11-14T22:13:20.123Z")
        );
        assert!(format_time(0, "%K").is_err());
        let Value::Int(now) = run(Intrinsic::UnixMs, &[]) else {
            panic!()
        };
        assert!(now > 1_700_000_000_000);
    }
}
