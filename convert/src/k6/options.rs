//! k6's `options` (already evaluated to JSON): scenarios and thresholds as `.load` text.

use crate::names::ident;
use crate::{duration_ms, number, parse_k6_duration, quote, Report};
use serde_json::{Map, Value};

/// One scenario to write: its name, fields and the function its iterations run.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub fields: Vec<String>,
    /// The exported function (`default` for the default one).
    pub exec: String,
    /// The scenario's `env`, to substitute for `__ENV.NAME` in its function.
    pub env: Map<String, Value>,
}

/// The kind of a metric, for the units of its thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    TimeTrend,
    NumberTrend,
    Counter,
    SizeCounter,
    Rate,
    Gauge,
}

/// The kind of a built-in metric of k6 (and Volley).
pub fn builtin_kind(name: &str) -> Option<Kind> {
    Some(match name {
        "http_req_duration"
        | "http_req_blocked"
        | "http_req_connecting"
        | "http_req_tls_handshaking"
        | "http_req_sending"
        | "http_req_waiting"
        | "http_req_receiving"
        | "iteration_duration"
        | "group_duration" => Kind::TimeTrend,
        "http_req_failed" | "checks" => Kind::Rate,
        "http_reqs" | "iterations" | "dropped_iterations" => Kind::Counter,
        "data_sent" | "data_received" => Kind::SizeCounter,
        "vus" | "vus_max" => Kind::Gauge,
        _ => return None,
    })
}

fn ms_of(v: &Value) -> Option<f64> {
    match v {
        Value::String(s) => parse_k6_duration(s),
        // k6 reads a bare number in a duration option as milliseconds.
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

fn dur(v: &Value) -> Option<String> {
    ms_of(v).map(duration_ms)
}

fn int(v: Option<&Value>, default: i64) -> i64 {
    v.and_then(|v| match v {
        Value::Number(n) => n.as_f64().map(|f| f as i64),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
    .unwrap_or(default)
}

/// A k6 rate over its `timeUnit` as a `.load` rate.
fn rate(r: f64, unit_ms: f64) -> String {
    let r_s = number(r);
    match unit_ms as u64 {
        1000 => format!("{r_s}/s"),
        60_000 => format!("{r_s}/m"),
        3_600_000 => format!("{r_s}/h"),
        1 => format!("{r_s}/ms"),
        _ => {
            let per_s = r * 1000.0 / unit_ms;
            format!("{}/s", number((per_s * 1e9).round() / 1e9))
        }
    }
}

fn stages(v: Option<&Value>, unit: Option<f64>) -> Result<String, String> {
    let Some(Value::Array(items)) = v else {
        return Err("`stages` is not a list".into());
    };
    let mut out = Vec::new();
    for s in items {
        let d = s
            .get("duration")
            .and_then(dur)
            .ok_or("a stage without a `duration`")?;
        let t = s
            .get("target")
            .and_then(Value::as_f64)
            .ok_or("a stage without a numeric `target`")?;
        out.push(match unit {
            Some(u) => format!("{d} -> {}", rate(t, u)),
            None => format!("{d} -> {}", number(t)),
        });
    }
    Ok(format!("[{}]", out.join(", ")))
}

/// The scenarios of `options`: `options.scenarios`, or the shortcuts (`vus`, `duration`,
/// `iterations`, `stages`) as k6 derives its `default` scenario from them.
pub fn scenarios(options: &Map<String, Value>, report: &mut Report, line: usize) -> Vec<Scenario> {
    if let Some(Value::Object(scns)) = options.get("scenarios") {
        for k in ["vus", "duration", "iterations", "stages"] {
            if options.contains_key(k) {
                report.approximated(
                    line,
                    format!("options.{k} beside options.scenarios is ignored, as k6 ignores it"),
                );
            }
        }
        let mut out = Vec::new();
        for (name, s) in scns {
            let Value::Object(s) = s else {
                report.left(line, format!("scenario `{name}` is not an object"));
                continue;
            };
            match scenario(name, s, report, line) {
                Ok(sc) => {
                    report.converted(line, format!("scenario `{name}`"));
                    out.push(sc);
                }
                Err(why) => report.left(line, format!("scenario `{name}`: {why}")),
            }
        }
        return out;
    }
    let vus = options.get("vus");
    let duration = options.get("duration").and_then(dur);
    let iterations = options.get("iterations");
    let mut fields = Vec::new();
    let n_vus = int(vus, 1);
    if options.get("stages").is_some() {
        match stages(options.get("stages"), None) {
            Ok(st) => {
                fields.push(format!(
                    "workload = ramping_vus(start_vus: {n_vus}, stages: {st})"
                ));
                report.converted(line, "options.stages (ramping_vus)");
            }
            Err(why) => {
                report.left(line, format!("options.stages: {why}"));
                return Vec::new();
            }
        }
    } else if let Some(it) = iterations {
        let mut w = format!(
            "workload = shared_iterations(vus: {n_vus}, iterations: {}",
            int(Some(it), 1)
        );
        if let Some(d) = &duration {
            w.push_str(&format!(", max_duration: {d}"));
        }
        w.push(')');
        fields.push(w);
        report.converted(line, "options.iterations (shared_iterations)");
    } else if let Some(d) = &duration {
        fields.push(format!(
            "workload = constant_vus(vus: {n_vus}, duration: {d})"
        ));
        report.converted(line, "options.vus and options.duration (constant_vus)");
    } else {
        fields.push(format!(
            "workload = shared_iterations(vus: {n_vus}, iterations: 1)"
        ));
        report.converted(line, "k6's default of one iteration (shared_iterations)");
    }
    vec![Scenario {
        name: "default".into(),
        fields,
        exec: "default".into(),
        env: Map::new(),
    }]
}

fn scenario(
    name: &str,
    s: &Map<String, Value>,
    report: &mut Report,
    line: usize,
) -> Result<Scenario, String> {
    let executor = s
        .get("executor")
        .and_then(Value::as_str)
        .ok_or("no `executor`")?;
    let unit = s.get("timeUnit").and_then(ms_of).unwrap_or(1000.0);
    let d = |k: &str| s.get(k).and_then(dur);
    let need = |k: &str| d(k).ok_or(format!("{executor} without `{k}`"));
    let w = match executor {
        "constant-vus" => format!(
            "constant_vus(vus: {}, duration: {})",
            int(s.get("vus"), 1),
            need("duration")?
        ),
        "ramping-vus" => {
            let mut w = format!(
                "ramping_vus(start_vus: {}, stages: {}",
                int(s.get("startVUs"), 1),
                stages(s.get("stages"), None)?
            );
            if let Some(g) = d("gracefulRampDown") {
                w.push_str(&format!(", graceful_ramp_down: {g}"));
            }
            w + ")"
        }
        "constant-arrival-rate" => {
            let pre = int(s.get("preAllocatedVUs"), 1);
            format!(
                "constant_arrival_rate(rate: {}, duration: {}, pre_allocated_vus: {pre}, max_vus: {})",
                rate(
                    s.get("rate").and_then(Value::as_f64).ok_or("no `rate`")?,
                    unit
                ),
                need("duration")?,
                int(s.get("maxVUs"), pre).max(pre)
            )
        }
        "ramping-arrival-rate" => {
            let pre = int(s.get("preAllocatedVUs"), 1);
            format!(
                "ramping_arrival_rate(start_rate: {}, stages: {}, pre_allocated_vus: {pre}, max_vus: {})",
                rate(
                    s.get("startRate").and_then(Value::as_f64).unwrap_or(0.0),
                    unit
                ),
                stages(s.get("stages"), Some(unit))?,
                int(s.get("maxVUs"), pre).max(pre)
            )
        }
        "shared-iterations" | "per-vu-iterations" => {
            let mut w = format!(
                "{}(vus: {}, iterations: {}",
                executor.replace('-', "_"),
                int(s.get("vus"), 1),
                int(s.get("iterations"), 1)
            );
            if let Some(m) = d("maxDuration") {
                w.push_str(&format!(", max_duration: {m}"));
            }
            w + ")"
        }
        "externally-controlled" => {
            report.approximated(
                line,
                format!(
                    "scenario `{name}`: externally-controlled has no equivalent; it runs as constant_vus with its `vus` and `duration`"
                ),
            );
            format!(
                "constant_vus(vus: {}, duration: {})",
                int(s.get("vus"), 1),
                need("duration")?
            )
        }
        other => return Err(format!("unknown executor `{other}`")),
    };
    let mut fields = vec![format!("workload = {w}")];
    if let Some(st) = d("startTime") {
        if st != "0s" {
            fields.push(format!("start = at({st})"));
        }
    }
    if let Some(g) = d("gracefulStop") {
        fields.push(format!("graceful_stop = {g}"));
    }
    if let Some(Value::Object(tags)) = s.get("tags") {
        let kv: Vec<String> = tags
            .iter()
            .map(|(k, v)| format!("{}: {}", tag_key(k), quote(&scalar_text(v))))
            .collect();
        fields.push(format!("tags = {{{}}}", kv.join(", ")));
    }
    for k in s.keys() {
        if ![
            "executor",
            "timeUnit",
            "vus",
            "duration",
            "startVUs",
            "stages",
            "gracefulRampDown",
            "rate",
            "preAllocatedVUs",
            "maxVUs",
            "startRate",
            "iterations",
            "maxDuration",
            "startTime",
            "gracefulStop",
            "tags",
            "exec",
            "env",
        ]
        .contains(&k.as_str())
        {
            report.left(
                line,
                format!("scenario `{name}`: option `{k}` has no equivalent"),
            );
        }
    }
    let env = match s.get("env") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    Ok(Scenario {
        name: ident(name),
        fields,
        exec: s
            .get("exec")
            .and_then(Value::as_str)
            .unwrap_or("default")
            .to_string(),
        env,
    })
}

/// A tag key as a record key (quoted when it is not a word).
pub fn tag_key(k: &str) -> String {
    let word = !k.is_empty()
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !k.starts_with(|c: char| c.is_ascii_digit());
    if word {
        k.to_string()
    } else {
        quote(k)
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The `thresholds { .. }` lines of `options.thresholds`; `kind_of` gives the kind of the
/// file's own metrics.
pub fn thresholds(
    options: &Map<String, Value>,
    kind_of: &dyn Fn(&str) -> Option<Kind>,
    report: &mut Report,
    line: usize,
) -> Vec<String> {
    let Some(Value::Object(ts)) = options.get("thresholds") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, conds) in ts {
        let (metric, filter) = match key.split_once('{') {
            Some((m, rest)) => (m.trim(), Some(rest.trim_end_matches('}'))),
            None => (key.trim(), None),
        };
        let Some(kind) = kind_of(metric) else {
            report.left(
                line,
                format!("threshold on `{key}`: no metric `{metric}` in the converted file"),
            );
            continue;
        };
        let mut selector = ident_metric(metric);
        if let Some(f) = filter {
            match tag_filter(f) {
                Some(t) => selector.push_str(&t),
                None => {
                    report.left(line, format!("threshold on `{key}`: unreadable tag filter"));
                    continue;
                }
            }
        }
        let list: Vec<&Value> = match conds {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        let (mut plain, mut aborting) = (Vec::new(), Vec::new());
        for c in list {
            let (expr, abort) = match c {
                Value::String(s) => (s.as_str(), false),
                Value::Object(o) => {
                    if o.contains_key("delayAbortEval") {
                        report.approximated(
                            line,
                            format!("threshold `{key}`: delayAbortEval is dropped (Volley judges every 2 s from the start)"),
                        );
                    }
                    (
                        o.get("threshold").and_then(Value::as_str).unwrap_or(""),
                        o.get("abortOnFail")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                    )
                }
                _ => ("", false),
            };
            match condition(expr, kind) {
                Ok(c) => {
                    report.converted(line, format!("threshold `{key}: {expr}`"));
                    if abort {
                        aborting.push(c);
                    } else {
                        plain.push(c);
                    }
                }
                Err(why) => report.left(line, format!("threshold `{key}: {expr}`: {why}")),
            }
        }
        if !plain.is_empty() {
            out.push(format!("{selector}: {}", plain.join(", ")));
        }
        if !aborting.is_empty() {
            out.push(format!(
                "{selector}: {}, abort_on_fail",
                aborting.join(", ")
            ));
        }
    }
    out
}

/// A metric name as the converter declares it.
pub fn ident_metric(name: &str) -> String {
    if builtin_kind(name).is_some() {
        name.to_string()
    } else {
        ident(name)
    }
}

/// `name:login,group:::api` as `{name: "login", group: "api"}`.
fn tag_filter(f: &str) -> Option<String> {
    let mut parts = Vec::new();
    for kv in f.split(',') {
        let (k, v) = kv.split_once(':')?;
        let k = k.trim();
        let mut v = v.trim().to_string();
        if k == "group" {
            v = v.trim_start_matches("::").to_string();
        }
        if k == "scenario" {
            v = ident(&v);
        }
        parts.push(format!("{}: {}", tag_key(k), quote(&v)));
    }
    Some(format!("{{{}}}", parts.join(", ")))
}

/// `p(95)<500` on a metric of `kind` as `p(95) < 500ms`.
fn condition(expr: &str, kind: Kind) -> Result<String, String> {
    let e = expr.trim();
    let ops = ["<=", ">=", "===", "!==", "==", "!=", "<", ">"];
    let (pos, op) = ops
        .iter()
        .filter_map(|o| e.find(o).map(|p| (p, *o)))
        .min_by_key(|(p, o)| (*p, std::cmp::Reverse(o.len())))
        .ok_or("no comparison")?;
    let agg = e[..pos].trim().replace(' ', "");
    let value: f64 = e[pos + op.len()..]
        .trim()
        .parse()
        .map_err(|_| "the value is not a number".to_string())?;
    let op = match op {
        "===" => "==",
        "!==" => "!=",
        o => o,
    };
    let ok_agg = match kind {
        Kind::TimeTrend | Kind::NumberTrend => {
            matches!(agg.as_str(), "avg" | "min" | "max" | "med") || agg.starts_with("p(")
        }
        Kind::Counter | Kind::SizeCounter => matches!(agg.as_str(), "count" | "rate"),
        Kind::Rate => agg == "rate",
        Kind::Gauge => matches!(agg.as_str(), "value" | "min" | "max"),
    };
    if !ok_agg {
        return Err(format!("`{agg}` is not an aggregation of this metric"));
    }
    let v = match (kind, agg.as_str()) {
        (Kind::TimeTrend, _) => duration_ms(value),
        (Kind::Rate, _) => format!("{}%", number((value * 100.0 * 1e9).round() / 1e9)),
        (Kind::Counter, "rate") => format!("{}/s", number(value)),
        (Kind::SizeCounter, "count") => format!("{}B", number(value)),
        (Kind::SizeCounter, _) => return Err("a byte rate has no `.load` spelling".into()),
        _ => number(value),
    };
    Ok(format!("{agg} {op} {v}"))
}

/// Whether `options.KEY = value` is k6's `maxRedirects` as a number ([`max_redirects`]).
pub(crate) fn is_redirects_option(key: &str, value: &Value) -> bool {
    key == "maxRedirects" && value.as_f64().is_some_and(|n| n.fract() == 0.0)
}

/// `options.maxRedirects: N` (k6's limit for every request) is `max_redirects: N` in
/// every scenario's `http`; a value outside Volley's 0 to 1000 is clamped, and noted
/// (k6 follows no redirect for a negative one).
pub(crate) fn max_redirects(
    options: &Map<String, Value>,
    report: &mut Report,
    line: usize,
) -> Option<String> {
    let n = options.get("maxRedirects")?;
    if !is_redirects_option("maxRedirects", n) {
        return None;
    }
    let v = n.as_f64().unwrap_or(10.0);
    let clamped = v.clamp(0.0, 1000.0) as i64;
    if v == clamped as f64 {
        report.converted(
            line,
            format!("options.maxRedirects: each scenario's `http = {{max_redirects: {clamped}}}`"),
        );
    } else {
        report.approximated(
            line,
            format!(
                "options.maxRedirects: {} is `max_redirects: {clamped}` (0 to 1000)",
                number(v)
            ),
        );
    }
    Some(format!("max_redirects: {clamped}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions() {
        assert_eq!(
            condition("p(95)<500", Kind::TimeTrend).unwrap(),
            "p(95) < 500ms"
        );
        assert_eq!(condition("rate < 0.01", Kind::Rate).unwrap(), "rate < 1%");
        assert_eq!(
            condition("count>=10", Kind::Counter).unwrap(),
            "count >= 10"
        );
        assert!(condition("p(95)<500", Kind::Rate).is_err());
        assert_eq!(
            tag_filter("group:::api,name:x").unwrap(),
            "{group: \"api\", name: \"x\"}"
        );
    }

    #[test]
    fn rates() {
        assert_eq!(rate(10.0, 1000.0), "10/s");
        assert_eq!(rate(30.0, 60_000.0), "30/m");
        assert_eq!(rate(10.0, 2000.0), "5/s");
    }
}
