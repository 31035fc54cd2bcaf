//! Unreachable threshold: a threshold that can never fail, because nothing produces what
//! it measures or its condition cannot be false (or true).
//!
//! **What it finds.**
//! * a metric nothing records: a custom metric no `.add(..)` reaches, `checks` without a
//!   check, `group_duration` without a group, `http_req_*` without a request, `ws_*`
//!   without a WebSocket session;
//! * a tag filter that matches no sample: a `group`, `name`, `method`, `check` or
//!   `scenario` that no code produces (typos like `{group: "brwose"}`), a tag key nothing
//!   sets (`{grup: …}`, in a scenario's `tags = {..}` or a request's `tags: {..}`), `check`
//!   on another metric than `checks`, request tags (`name`, `method`, `status`,
//!   `expected_response`, a request's own) on a metric that is not `http_*` (`name` on a
//!   `ws_*` one is its session's), any tag on
//!   `vus`/`vus_max`, a `status` that is not one;
//! * a condition outside its metric's range: `rate > 100%` or `p(95) < 0ms` can never
//!   pass, `rate <= 100%` or `count >= 0` can never fail.
//!
//! (The compiler already refuses unknown metrics and aggregations of the wrong type,
//! such as `p(95)` on a counter.)
//!
//! **Why it matters.** A trend, rate or gauge with no sample passes its threshold at the
//! end of the run: the test reports a green verdict on something it never measured.
//!
//! Bad:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario s {
//!   workload = constant_vus(vus: 5, duration: 30s)
//!   iteration {
//!     group "browse" { get(api, "/api/products") }
//!     sleep 1s
//!   }
//! }
//!
//! thresholds {
//!   http_req_duration{group: "brwose"}: p(95) < 300ms
//! }
//! ```
//!
//! Good:
//!
//! ```load
//! target api = "http://127.0.0.1:8088"
//!
//! scenario s {
//!   workload = constant_vus(vus: 5, duration: 30s)
//!   iteration {
//!     group "browse" { get(api, "/api/products") }
//!     sleep 1s
//!   }
//! }
//!
//! thresholds {
//!   http_req_duration{group: "browse"}: p(95) < 300ms
//! }
//! ```

use crate::checker::thresholds::builtin_metric;
use crate::ir::{Loc, ThresholdIr};
use crate::lint::{LintCx, Rule};
use crate::suggest::did_you_mean;
use std::collections::BTreeSet;
use volley_plan::{Aggregation, CmpOp, Condition, MetricKind};
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0113",
    name: "unreachable-threshold",
    severity: Severity::Error,
    summary: "a threshold on a metric, tag or group nothing produces, or a condition outside its metric's range",
    source: include_str!("l0113_unreachable_threshold.rs"),
    check,
};

const REQUEST_TAGS: &[&str] = &[
    "name",
    "method",
    "status",
    "expected_response",
    "error_code",
];

fn check(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    for t in &cx.prog.thresholds {
        if let Some(d) = metric_finding(cx, t) {
            out.push(d);
            continue;
        }
        for (k, v) in &t.threshold.tags {
            if let Some(d) = tag_finding(cx, t, k, v) {
                out.push(d);
            }
        }
        // A condition against `baseline` has no value until the run: nothing to judge.
        for c in t
            .threshold
            .conditions
            .iter()
            .filter(|c| c.baseline.is_none())
        {
            if let Some(d) = condition_finding(cx, t, c) {
                out.push(d);
            }
        }
    }
}

fn metric_finding(cx: &LintCx, t: &ThresholdIr) -> Option<Diagnostic> {
    let name = t.threshold.metric.as_str();
    let f = &cx.facts;
    let why = if let Some(i) = cx.prog.metrics.iter().position(|m| m.name == name) {
        (!f.metrics_added.contains(&(i as u32)))
            .then(|| format!("no code adds to `{name}` (no `{name}.add(..)` runs)"))
    } else if name == "checks" {
        f.checks
            .is_empty()
            .then(|| "no scenario has a `check` or `require`".to_string())
    } else if name == "group_duration" {
        f.groups
            .is_empty()
            .then(|| "no code has a `group`".to_string())
    } else if name.starts_with("http_req_") {
        // A WebSocket session (`WS` site) records no `http_req_*` sample.
        f.sites
            .iter()
            .all(|s| s.method == "WS")
            .then(|| "no code sends a request".to_string())
    } else if name.starts_with("ws_") {
        f.sites
            .iter()
            .all(|s| s.method != "WS")
            .then(|| "no code opens a WebSocket session (`ws.connect(..)`)".to_string())
    } else {
        None
    }?;
    let loc = cx.find(t.loc, name);
    Some(
        cx.at(
            loc,
            format!("{why}: this threshold has no sample, so it passes whatever happens"),
            "never recorded",
        )
        .with_help(format!(
            "record `{name}` where it should be measured, or remove the threshold"
        )),
    )
}

fn tag_finding(cx: &LintCx, t: &ThresholdIr, key: &str, value: &str) -> Option<Diagnostic> {
    let metric = t.threshold.metric.as_str();
    // gRPC calls are not HTTP request sites: their tags (`name`, `method`, `status` as a
    // gRPC code, a call's own) are not tracked, so no filter on them is judged.
    if metric.starts_with("grpc_") {
        return None;
    }
    let f = &cx.facts;
    let names = |it: &mut dyn Iterator<Item = String>| it.collect::<BTreeSet<String>>();
    let known: Option<(BTreeSet<String>, &str)> = match key {
        "scenario" => Some((
            names(&mut cx.prog.scenarios.iter().map(|s| s.name.clone())),
            "scenario",
        )),
        "group" => Some((f.groups.clone(), "group")),
        "name" => Some((
            names(&mut f.sites.iter().map(|s| s.name.clone())),
            "request name",
        )),
        "method" => Some((
            names(&mut f.sites.iter().map(|s| s.method.clone())),
            "request method",
        )),
        "check" => Some((f.checks.clone(), "check")),
        _ => None,
    };
    let misplaced = match key {
        _ if metric == "vus" || metric == "vus_max" => {
            Some(format!("`{metric}` samples carry no tags"))
        }
        "check" if metric != "checks" => {
            Some("only `checks` samples carry the `check` tag".to_string())
        }
        // WebSocket samples carry their session's `name`.
        "name" if metric.starts_with("ws_") => None,
        k if REQUEST_TAGS.contains(&k) && !metric.starts_with("http_") => {
            Some(format!("only `http_*` samples carry the `{k}` tag"))
        }
        k if !metric.starts_with("http_")
            && f.sites.iter().any(|s| s.tags.iter().any(|t| t.key == k))
            && !cx.prog.scenarios.iter().any(|s| s.tags.contains_key(k)) =>
        {
            Some(format!(
                "only `http_*` samples carry the requests' own tag `{k}`"
            ))
        }
        _ => None,
    };
    let value_loc = cx.find(t.loc, &format!("\"{value}\""));
    if let Some(why) = misplaced {
        let loc = cx.find(t.loc, key);
        return Some(unmatched(
            cx,
            loc,
            format!("{why}: `{metric}{{{key}: \"{value}\"}}` matches no sample"),
            None,
        ));
    }
    // A request's own tag: any value when known only at run time.
    let by_requests: Vec<Option<&str>> = f
        .sites
        .iter()
        .flat_map(|s| s.tags.iter())
        .filter(|t| t.key == key)
        .map(|t| t.value.as_deref())
        .collect();
    if by_requests.iter().any(|v| v.is_none_or(|v| v == value)) {
        return None;
    }
    if let Some((set, what)) = known {
        if set.contains(value) {
            return None;
        }
        let s = did_you_mean(value, set.iter().map(String::as_str));
        return Some(unmatched(
            cx,
            value_loc,
            format!("no {what} is `{value}`: `{metric}{{{key}: \"{value}\"}}` matches no sample"),
            s,
        ));
    }
    match key {
        "status" => {
            let ok = value
                .parse::<u16>()
                .is_ok_and(|s| s == 0 || (100..=599).contains(&s));
            (!ok).then(|| unmatched(cx, value_loc, format!("`{value}` is not an HTTP status: `{metric}{{status: \"{value}\"}}` matches no sample"), None))
        }
        "expected_response" => (value != "true" && value != "false").then(|| {
            unmatched(
                cx,
                value_loc,
                format!("`expected_response` is `true` or `false`, not `{value}`"),
                None,
            )
        }),
        "error_code" => None,
        _ => scenario_tag_finding(cx, t, key, value, value_loc),
    }
}

/// A filter on a tag the scenarios (`tags = {..}`) or the requests (`tags: {..}`) set
/// themselves. A request tag whose value is known only at run time may match any value.
fn scenario_tag_finding(
    cx: &LintCx,
    t: &ThresholdIr,
    key: &str,
    value: &str,
    value_loc: Loc,
) -> Option<Diagnostic> {
    let metric = t.threshold.metric.as_str();
    let request_tags = || cx.facts.sites.iter().flat_map(|s| s.tags.iter());
    if request_tags().any(|t| t.key == key && t.value.is_none()) {
        return None;
    }
    let mut own: BTreeSet<&str> = cx
        .prog
        .scenarios
        .iter()
        .flat_map(|s| s.tags.iter())
        .filter(|(k, _)| k.as_str() == key)
        .map(|(_, v)| v.as_str())
        .collect();
    own.extend(
        request_tags()
            .filter(|t| t.key == key)
            .filter_map(|t| t.value.as_deref()),
    );
    if own.contains(value) {
        return None;
    }
    if own.is_empty() {
        let mut keys: BTreeSet<&str> = [
            "scenario",
            "group",
            "name",
            "method",
            "status",
            "expected_response",
            "check",
        ]
        .into();
        keys.extend(
            cx.prog
                .scenarios
                .iter()
                .flat_map(|s| s.tags.keys().map(String::as_str)),
        );
        keys.extend(request_tags().map(|t| t.key.as_str()));
        let s = did_you_mean(key, keys.iter().copied());
        let loc = cx.find(t.loc, key);
        return Some(unmatched(cx, loc, format!("no sample has a `{key}` tag (no scenario or request sets it in `tags`): `{metric}{{{key}: …}}` matches nothing"), s));
    }
    let s = did_you_mean(value, own.iter().copied());
    Some(unmatched(
        cx,
        value_loc,
        format!("no scenario or request sets tag `{key}` to `\"{value}\"`: the filter matches no sample"),
        s,
    ))
}

fn unmatched(cx: &LintCx, loc: Loc, msg: String, suggestion: Option<String>) -> Diagnostic {
    let help = match suggestion {
        Some(s) => {
            format!("did you mean `{s}`? A threshold with no sample passes, so it can never fail")
        }
        None => {
            "fix the filter: a threshold with no sample passes, so it can never fail".to_string()
        }
    };
    cx.at(loc, msg, "matches nothing").with_help(help)
}

/// The range an aggregation of a metric can take (`None`: unbounded, not judged).
fn range(metric: &str, kind: MetricKind, is_time: bool, agg: Aggregation) -> Option<(f64, f64)> {
    match (kind, agg) {
        (MetricKind::Rate, _) => Some((0.0, 1.0)),
        (MetricKind::Counter, _) => Some((0.0, f64::INFINITY)),
        (MetricKind::Trend, _) if is_time || metric.starts_with("http_") => {
            Some((0.0, f64::INFINITY))
        }
        _ => None,
    }
}

fn condition_finding(cx: &LintCx, t: &ThresholdIr, c: &Condition) -> Option<Diagnostic> {
    let metric = t.threshold.metric.as_str();
    let (kind, is_time) = match cx.prog.metrics.iter().find(|m| m.name == metric) {
        Some(m) => (m.kind, m.is_time),
        None => builtin_metric(metric)?,
    };
    let (lo, hi) = range(metric, kind, is_time, c.aggregation)?;
    let v = c.value;
    let never = match c.op {
        CmpOp::Lt => v <= lo,
        CmpOp::Le => v < lo,
        CmpOp::Gt => v >= hi,
        CmpOp::Ge => v > hi,
        CmpOp::Eq => v < lo || v > hi,
        CmpOp::Ne => false,
    };
    let always = match c.op {
        CmpOp::Lt => v > hi,
        CmpOp::Le => v >= hi,
        CmpOp::Gt => v < lo,
        CmpOp::Ge => v <= lo,
        CmpOp::Ne => v < lo || v > hi,
        CmpOp::Eq => false,
    };
    if !never && !always {
        return None;
    }
    let span = if hi.is_finite() {
        "0%..100%".to_string()
    } else {
        "0 or more".to_string()
    };
    let what = if never {
        "can never hold: the threshold always fails"
    } else {
        "always holds: the threshold can never fail"
    };
    let loc = cx.find(t.loc, &c.source);
    Some(
        cx.at(
            loc,
            format!(
                "`{}` on `{metric}` {what} (its values are {span})",
                c.source
            ),
            if never { "never true" } else { "never false" },
        )
        .with_help(
            "compare with a value inside the metric's range, e.g. `rate < 1%` or `p(95) < 400ms`",
        ),
    )
}

#[cfg(test)]
mod tests {
    use crate::lint::tests::codes;

    /// Whether L0113 fires on `filter` with a request tagged `tags`.
    fn fires(tags: &str, filter: &str) -> bool {
        let src = format!("target api = \"http://127.0.0.1:8088\"\nscenario s {{\n  workload = constant_vus(vus: 1, duration: 10s)\n  iteration {{\n    get(api, \"/x\", tags: {tags})\n    sleep 1s\n  }}\n}}\nthresholds {{\n  {filter}: p(95) < 1s\n}}\n");
        codes(&src).contains(&"L0113".to_string())
    }

    #[test]
    fn request_tags_are_samples_thresholds_can_match() {
        assert!(!fires(
            "{kind: \"search\"}",
            "http_req_duration{kind: \"search\"}"
        ));
        assert!(fires(
            "{kind: \"search\"}",
            "http_req_duration{kind: \"serach\"}"
        ));
        assert!(fires(
            "{kind: \"search\"}",
            "http_req_duration{knd: \"search\"}"
        ));
        // Known only at run time: any value may match.
        assert!(!fires(
            "{kind: [\"a\", \"b\"].pick()}",
            "http_req_duration{kind: \"c\"}"
        ));
        // A request's `group` is a group samples carry.
        assert!(!fires(
            "{group: \"custom\"}",
            "http_req_duration{group: \"custom\"}"
        ));
        // Only `http_*` samples carry a request's own tags.
        assert!(fires(
            "{kind: \"search\"}",
            "iteration_duration{kind: \"search\"}"
        ));
    }
}
