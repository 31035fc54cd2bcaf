//! HAR recordings (a browser's "Save all as HAR") to a `.load` flow.
//!
//! Each kept entry becomes a request, in order, with a check of the status it had; the
//! origins become targets (each with a param to point it elsewhere); static assets are
//! left out unless asked; a gap of 500 ms or more between two requests becomes a `sleep`;
//! cookies are left to the VU's jar; and a value of a response (a JSON field or a header)
//! that reappears in a later request is read from that response instead, with a note.

use crate::names::ident;
use crate::{duration_ms, escape, quote, Conversion, ConvertError, Report};
use serde_json::Value;

/// Options of a HAR conversion.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Keep requests for images, styles, scripts and fonts.
    pub keep_static: bool,
}

const STATIC_EXT: &[&str] = &[
    ".css", ".js", ".mjs", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".woff", ".woff2",
    ".ttf", ".otf", ".eot", ".map", ".webp", ".avif", ".mp4", ".webm",
];

/// Request headers a browser adds by itself, or that the engine sets (cookies come from
/// the jar).
const DROPPED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "cookie",
    "accept-encoding",
    "accept-language",
    "user-agent",
    "referer",
    "origin",
    "cache-control",
    "pragma",
    "upgrade-insecure-requests",
    "priority",
    "dnt",
    "te",
    "if-none-match",
    "if-modified-since",
    "keep-alive",
];

struct Entry {
    method: String,
    origin: String,
    /// Path and query.
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    status: u16,
    start_ms: f64,
    time_ms: f64,
    response_json: Option<Value>,
    response_headers: Vec<(String, String)>,
}

/// A value seen in a response, and how to read it there.
struct Source {
    value: String,
    entry: usize,
    read: String,
    what: String,
}

/// Converts a HAR file's text; `file` names it in the output's header.
pub fn convert(text: &str, file: &str, opts: &Options) -> Result<Conversion, ConvertError> {
    let har: Value =
        serde_json::from_str(text).map_err(|e| ConvertError::Har(format!("not JSON: {e}")))?;
    let entries = har
        .pointer("/log/entries")
        .and_then(Value::as_array)
        .ok_or_else(|| ConvertError::Har("no `log.entries` list".into()))?;
    let mut report = Report::default();
    let mut kept: Vec<Entry> = Vec::new();
    let mut skipped_static = 0;
    for (i, e) in entries.iter().enumerate() {
        let req = &e["request"];
        let (Some(method), Some(url)) = (req["method"].as_str(), req["url"].as_str()) else {
            report.left(0, format!("entry {}: no request method or URL", i + 1));
            continue;
        };
        let Ok(u) = url::Url::parse(url) else {
            report.left(0, format!("entry {}: unreadable URL", i + 1));
            continue;
        };
        if !matches!(u.scheme(), "http" | "https") {
            report.left(0, format!("entry {}: a {} URL", i + 1, u.scheme()));
            continue;
        }
        let mime = e["response"]["content"]["mimeType"].as_str().unwrap_or("");
        let is_static = STATIC_EXT
            .iter()
            .any(|x| u.path().to_ascii_lowercase().ends_with(x))
            || mime.starts_with("image/")
            || mime.starts_with("font/")
            || mime.starts_with("text/css")
            || mime.contains("javascript");
        if is_static && !opts.keep_static {
            skipped_static += 1;
            continue;
        }
        let mut path = u.path().to_string();
        if let Some(q) = u.query() {
            path.push('?');
            path.push_str(q);
        }
        let headers = req["headers"]
            .as_array()
            .map(|hs| {
                hs.iter()
                    .filter_map(|h| {
                        Some((
                            h["name"].as_str()?.to_string(),
                            h["value"].as_str()?.to_string(),
                        ))
                    })
                    .filter(|(n, _)| {
                        let l = n.to_ascii_lowercase();
                        !l.starts_with(':')
                            && !l.starts_with("sec-")
                            && !DROPPED_HEADERS.contains(&l.as_str())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let body = req["postData"]["text"]
            .as_str()
            .filter(|b| !b.is_empty())
            .map(str::to_string);
        let resp_text = e["response"]["content"]["text"].as_str().unwrap_or("");
        let response_json = if mime.contains("json") {
            serde_json::from_str(resp_text).ok()
        } else {
            None
        };
        let response_headers = e["response"]["headers"]
            .as_array()
            .map(|hs| {
                hs.iter()
                    .filter_map(|h| {
                        Some((
                            h["name"].as_str()?.to_ascii_lowercase(),
                            h["value"].as_str()?.to_string(),
                        ))
                    })
                    .filter(|(n, _)| n != "set-cookie" && n != "date" && n != "content-length")
                    .collect()
            })
            .unwrap_or_default();
        let start_ms = e["startedDateTime"]
            .as_str()
            .and_then(|t| t.parse::<jiff_like::Timestamp>().ok())
            .map(|t| t.0)
            .unwrap_or(0.0);
        kept.push(Entry {
            method: method.to_ascii_uppercase(),
            origin: u.origin().ascii_serialization(),
            path,
            headers,
            body,
            status: e["response"]["status"].as_u64().unwrap_or(0) as u16,
            start_ms,
            time_ms: e["time"].as_f64().unwrap_or(0.0),
            response_json,
            response_headers,
        });
        report.converted(0, format!("{} {}", method, url));
    }
    if skipped_static > 0 {
        report.approximated(
            0,
            format!(
                "{skipped_static} static asset request(s) left out (`--keep-static` keeps them)"
            ),
        );
    }

    // Targets from the origins, in order of first use.
    let mut targets: Vec<(String, String)> = Vec::new();
    for e in &kept {
        if targets.iter().any(|(_, o)| *o == e.origin) {
            continue;
        }
        let host = url::Url::parse(&e.origin)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let base = if host.parse::<std::net::IpAddr>().is_ok() || host == "localhost" {
            "local".to_string()
        } else {
            let labels: Vec<&str> = host.split('.').filter(|l| *l != "www").collect();
            ident(labels.first().copied().unwrap_or("site"))
        };
        let mut name = base.clone();
        let mut n = 1;
        while targets.iter().any(|(t, _)| *t == name) {
            n += 1;
            name = format!("{base}{n}");
        }
        targets.push((name, e.origin.clone()));
    }

    // Values of responses, for correlation.
    let mut sources: Vec<Source> = Vec::new();
    for (i, e) in kept.iter().enumerate() {
        if let Some(j) = &e.response_json {
            json_leaves(j, "", &mut |path, v| {
                if worth_correlating(&v) {
                    sources.push(Source {
                        value: v,
                        entry: i,
                        read: format!("r{}.json({})", i + 1, quote(path)),
                        what: format!("`{path}` of response {}", i + 1),
                    });
                }
            });
        }
        for (h, v) in &e.response_headers {
            if (h.starts_with("x-") || h == "location" || h == "etag") && worth_correlating(v) {
                sources.push(Source {
                    value: v.clone(),
                    entry: i,
                    read: format!("r{}.header({})", i + 1, quote(h)),
                    what: format!("header `{h}` of response {}", i + 1),
                });
            }
        }
    }
    // Longer values first, so a token is not replaced piecewise by a shorter one.
    sources.sort_by(|a, b| {
        b.value
            .len()
            .cmp(&a.value.len())
            .then(a.entry.cmp(&b.entry))
    });

    let mut lines: Vec<String> = Vec::new();
    let mut prev_end: Option<f64> = None;
    for (i, e) in kept.iter().enumerate() {
        if let Some(end) = prev_end {
            let gap = e.start_ms - end;
            if gap >= 500.0 {
                let ms = (gap / 100.0).round() * 100.0;
                lines.push(format!(
                    "sleep {}                  // think time of the recording",
                    duration_ms(ms)
                ));
                report.converted(
                    0,
                    format!("think time of {} before request {}", duration_ms(ms), i + 1),
                );
            }
        }
        prev_end = Some(if e.start_ms > 0.0 {
            e.start_ms + e.time_ms
        } else {
            0.0
        });
        let mut notes = Vec::new();
        let mut corr = |text: &str| -> String {
            // Escape literal text, and put the earlier responses' values back as reads.
            let mut pieces: Vec<(bool, String)> = vec![(false, text.to_string())];
            for s in sources.iter().filter(|s| s.entry < i) {
                let mut next = Vec::new();
                for (is_expr, p) in pieces {
                    if is_expr || !p.contains(&s.value) {
                        next.push((is_expr, p));
                        continue;
                    }
                    let mut rest = p.as_str();
                    while let Some(pos) = rest.find(&s.value) {
                        next.push((false, rest[..pos].to_string()));
                        next.push((true, s.read.clone()));
                        rest = &rest[pos + s.value.len()..];
                    }
                    next.push((false, rest.to_string()));
                    let note = format!("{} is {}", shorten(&s.value), s.what);
                    if !notes.contains(&note) {
                        notes.push(note);
                    }
                }
                pieces = next;
            }
            let mut out = String::from("\"");
            for (is_expr, p) in pieces {
                if is_expr {
                    out.push('{');
                    out.push_str(&p);
                    out.push('}');
                } else {
                    out.push_str(&escape(&p));
                }
            }
            out.push('"');
            out
        };
        let target = targets
            .iter()
            .find(|(_, o)| *o == e.origin)
            .map(|(t, _)| t.clone())
            .unwrap_or_default();
        let mut args = vec![target, corr(&e.path)];
        if let Some(b) = &e.body {
            args.push(format!("body: {}", corr(b)));
        }
        if !e.headers.is_empty() {
            let hs: Vec<String> = e
                .headers
                .iter()
                .map(|(k, v)| format!("{}: {}", quote(&k.to_ascii_lowercase()), corr(v)))
                .collect();
            args.push(format!("headers: {{{}}}", hs.join(", ")));
        }
        let call = match e.method.as_str() {
            "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS" => {
                format!("{}({})", e.method.to_ascii_lowercase(), args.join(", "))
            }
            m => format!("request({}, {})", quote(m), args.join(", ")),
        };
        for n in &notes {
            lines.push(format!("// correlated: {n}"));
            report.approximated(0, format!("request {}: correlated {n}", i + 1));
        }
        lines.push(format!("let r{} = {call}", i + 1));
        if e.status > 0 {
            lines.push(format!(
                "check {}: r{}.status == {}",
                quote(&format!(
                    "{} {} is {}",
                    e.method,
                    first_part(&e.path),
                    e.status
                )),
                i + 1,
                e.status
            ));
        }
    }

    let mut out = String::new();
    out.push_str(&format!(
        "// Converted from the HAR recording {file} by `volley convert har`.\n"
    ));
    out.push_str("// Cookies are left to each VU's cookie jar; `// correlated:` notes name the values read from\n// earlier responses. Review the workload and thresholds: they are a starting point.\n\n");
    for (t, o) in &targets {
        out.push_str(&format!("param {t}_url: url = {}\n", quote(o)));
    }
    for (t, _) in &targets {
        out.push_str(&format!("target {t} = {t}_url\n"));
    }
    out.push_str("\nscenario recording {\n  workload = per_vu_iterations(vus: 1, iterations: 1)\n  iteration {\n");
    for l in &lines {
        out.push_str(&format!("    {l}\n"));
    }
    out.push_str("  }\n}\n\nthresholds {\n  http_req_failed: rate < 1%\n}\n");
    if kept.is_empty() {
        report.left(0, "no request to convert");
    }
    Ok(Conversion { load: out, report })
}

fn first_part(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}

fn shorten(v: &str) -> String {
    if v.chars().count() > 24 {
        format!("`{}…`", v.chars().take(20).collect::<String>())
    } else {
        format!("`{v}`")
    }
}

/// Whether a response value is distinctive enough that finding it later is no accident.
fn worth_correlating(v: &str) -> bool {
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let letters = v.chars().filter(char::is_ascii_alphabetic).count();
    (v.len() >= 8 && (digits > 0 || letters >= 12) && !v.contains(' '))
        || (v.len() >= 4 && digits == v.len())
}

/// Every string or integer leaf of a JSON value, with its path (`items[0].id`).
fn json_leaves(v: &Value, path: &str, f: &mut dyn FnMut(&str, String)) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                json_leaves(x, &p, f);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate().take(50) {
                json_leaves(x, &format!("{path}[{i}]"), f);
            }
        }
        Value::String(s) => f(path, s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => f(path, n.to_string()),
        _ => {}
    }
}

/// RFC 3339 timestamps (HAR's `startedDateTime`) as milliseconds since the epoch.
mod jiff_like {
    pub struct Timestamp(pub f64);

    impl std::str::FromStr for Timestamp {
        type Err = ();
        fn from_str(s: &str) -> Result<Self, ()> {
            // YYYY-MM-DDTHH:MM:SS(.fff)(Z|±HH:MM)
            let b = s.as_bytes();
            if b.len() < 19 {
                return Err(());
            }
            let n =
                |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<i64>().ok()).ok_or(());
            let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
            let (h, mi, sec) = (n(11..13)?, n(14..16)?, n(17..19)?);
            let mut rest = &s[19..];
            let mut frac = 0.0;
            if let Some(r) = rest.strip_prefix('.') {
                let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
                frac = format!("0.{}", &r[..end]).parse::<f64>().map_err(|_| ())?;
                rest = &r[end..];
            }
            let offset_min = match rest {
                "" | "Z" | "z" => 0,
                o if o.len() == 6 => {
                    let sign = if o.starts_with('-') { -1 } else { 1 };
                    sign * (o[1..3].parse::<i64>().map_err(|_| ())? * 60
                        + o[4..6].parse::<i64>().map_err(|_| ())?)
                }
                _ => return Err(()),
            };
            // Days from the civil date (Howard Hinnant's algorithm).
            let y2 = if mo <= 2 { y - 1 } else { y };
            let era = y2.div_euclid(400);
            let yoe = y2 - era * 400;
            let mp = (mo + 9) % 12;
            let doy = (153 * mp + 2) / 5 + d - 1;
            let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
            let days = era * 146_097 + doe - 719_468;
            let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60;
            Ok(Timestamp(secs as f64 * 1000.0 + frac * 1000.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        let a: jiff_like::Timestamp = "2024-01-01T00:00:00.000Z".parse().unwrap();
        let b: jiff_like::Timestamp = "2024-01-01T00:00:01.500+00:00".parse().unwrap();
        assert_eq!(b.0 - a.0, 1500.0);
        assert_eq!(a.0, 1_704_067_200_000.0);
    }

    #[test]
    fn distinctive_values() {
        assert!(worth_correlating("tok-0123456789abcdef"));
        assert!(worth_correlating("4711"));
        assert!(!worth_correlating("ok"));
        assert!(!worth_correlating("application"));
    }
}
