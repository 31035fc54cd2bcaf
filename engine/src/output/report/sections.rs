//! The report's sections, each from the summary (so they match `--summary-json`), the
//! final aggregate (responses by status), the timeline (every interval) or the plan. Pure
//! HTML building.

use super::html::{esc, section, table};
use crate::metrics::{Aggregate, Contains, SeriesData};
use crate::output::timeline::{per_sec, Timeline};
use crate::summary::{
    fmt_bytes, fmt_duration, fmt_num, GroupSummary, MetricSummary, Summary, Verdict,
};
use std::collections::BTreeMap;
use volley_plan::plan::MetricKind;
use volley_plan::segment::Segment;
use volley_plan::Plan;

fn verdict_text(v: Verdict) -> &'static str {
    match v {
        Verdict::Passed => "passed",
        Verdict::ThresholdsFailed => "thresholds failed",
        Verdict::NoResponses => "no request got a response",
        Verdict::Aborted => "aborted",
        Verdict::AbortedByThreshold => "aborted by a threshold",
        Verdict::RunnersLost => "runners lost",
        Verdict::NotStarted => "did not start",
        Verdict::Regression => "regression against the baseline",
    }
}

/// Title, verdict, and when/how long.
pub fn header(s: &Summary, testid: &str, generated: &str) -> String {
    let ok = s.volley.verdict == Verdict::Passed;
    format!(
        "<header><h1>{} <span class=\"verdict {}\" id=\"verdict\" data-verdict=\"{}\">{}</span></h1>\
         <p class=\"meta\">test id {} · ran {} · exit code {} · report written {}</p></header>\n",
        esc(&s.volley.test),
        if ok { "ok" } else { "bad" },
        esc(&format!("{:?}", s.volley.verdict)),
        esc(verdict_text(s.volley.verdict)),
        esc(testid),
        esc(&fmt_duration(s.state.test_run_duration_ms)),
        s.volley.exit_code,
        esc(generated),
    )
}

/// The headline numbers.
pub fn cards(s: &Summary) -> String {
    let v = |m: &str, k: &str| s.value(m, k);
    let (passes, fails) = check_totals(&s.root_group);
    let mut cards: Vec<(String, &str)> = vec![
        (fmt_num(v("http_reqs", "count").unwrap_or(0.0)), "requests"),
        (
            format!("{}/s", fmt_num(v("http_reqs", "rate").unwrap_or(0.0))),
            "request rate",
        ),
        (
            pct(v("http_req_failed", "rate").unwrap_or(0.0)),
            "failed requests",
        ),
        (
            fmt_duration(v("http_req_duration", "p(95)").unwrap_or(0.0)),
            "p95 latency",
        ),
        (
            fmt_num(v("iterations", "count").unwrap_or(0.0)),
            "iterations",
        ),
        (
            fmt_num(v("dropped_iterations", "count").unwrap_or(0.0)),
            "dropped iterations",
        ),
        (fmt_num(v("vus_max", "max").unwrap_or(0.0)), "VUs (max)"),
    ];
    if passes + fails > 0 {
        cards.push((
            pct(passes as f64 / (passes + fails) as f64),
            "checks passed",
        ));
    }
    let mut out = String::from("<div class=\"cards\" id=\"cards\">");
    for (value, label) in cards {
        out.push_str(&format!(
            "<div class=\"card\"><b>{}</b><span>{}</span></div>",
            esc(&value),
            esc(label)
        ));
    }
    out.push_str("</div>\n");
    out
}

fn pct(x: f64) -> String {
    format!("{}%", fmt_num(x * 100.0))
}

fn check_totals(g: &GroupSummary) -> (u64, u64) {
    let mut acc = (0, 0);
    for c in &g.checks {
        acc.0 += c.passes;
        acc.1 += c.fails;
    }
    for sub in &g.groups {
        let (p, f) = check_totals(sub);
        acc.0 += p;
        acc.1 += f;
    }
    acc
}

/// A metric value as the summary's text shows it.
fn show(m: &MetricSummary, key: &str, x: f64) -> String {
    match (m.kind, m.contains, key) {
        (MetricKind::Rate, _, "rate") => pct(x),
        (_, Contains::Time, k) if k != "count" && k != "rate" => fmt_duration(x),
        (_, Contains::Data, "count") => fmt_bytes(x),
        (_, Contains::Data, "rate") => format!("{}/s", fmt_bytes(x)),
        (_, _, "rate") => format!("{}/s", fmt_num(x)),
        _ => fmt_num(x),
    }
}

/// Every threshold condition with its verdict, as the summary has them.
pub fn thresholds(s: &Summary) -> String {
    let mut rows = Vec::new();
    for (key, m) in &s.metrics {
        for (cond, ok) in &m.thresholds {
            let agg = cond.split_whitespace().next().unwrap_or_default();
            let observed = m
                .values
                .get(agg)
                .map(|x| show(m, agg, *x))
                .unwrap_or_default();
            let verdict = if ok.ok {
                "<span class=\"pass\">✓ pass</span>"
            } else {
                "<span class=\"fail\">✗ fail</span>"
            };
            rows.push((
                format!(
                    " data-metric=\"{}\" data-condition=\"{}\" data-ok=\"{}\"",
                    esc(key),
                    esc(cond),
                    ok.ok
                ),
                vec![esc(key), esc(cond), esc(&observed), verdict.to_string()],
            ));
        }
    }
    let body = if rows.is_empty() {
        "<p>No thresholds.</p>\n".to_string()
    } else {
        table(
            "thresholds",
            &["metric", "condition", "observed", "verdict"],
            &rows,
        )
    };
    section("thresholds-section", "Thresholds", &body)
}

/// Every check by group, as the summary has them.
pub fn checks(s: &Summary) -> String {
    let mut rows = Vec::new();
    fn walk(g: &GroupSummary, rows: &mut Vec<(String, Vec<String>)>) {
        for c in &g.checks {
            // `browse › ok`: the groups then the check's name, not k6's `::` path.
            let mut parts: Vec<&str> = g.path.split("::").filter(|p| !p.is_empty()).collect();
            parts.push(&c.name);
            let label = parts.join(" › ");
            let total = c.passes + c.fails;
            let rate = if total > 0 {
                c.passes as f64 / total as f64
            } else {
                0.0
            };
            let cls = if c.fails == 0 { "pass" } else { "fail" };
            rows.push((
                format!(
                    " data-check=\"{}\" data-fails=\"{}\"",
                    esc(&c.path),
                    c.fails
                ),
                vec![
                    esc(&label),
                    c.passes.to_string(),
                    format!("<span class=\"{cls}\">{}</span>", c.fails),
                    pct(rate),
                ],
            ));
        }
        for sub in &g.groups {
            walk(sub, rows);
        }
    }
    walk(&s.root_group, &mut rows);
    let body = if rows.is_empty() {
        "<p>No checks.</p>\n".to_string()
    } else {
        table("checks", &["check", "passes", "fails", "pass rate"], &rows)
    };
    section("checks-section", "Checks", &body)
}

/// Responses by status (and transport error code), with how many counted as failed.
pub fn statuses(total: &Aggregate) -> String {
    let mut by: BTreeMap<(u32, String), (f64, u64)> = BTreeMap::new();
    for (metric, tags, data) in total.series() {
        let status = tags
            .get("status")
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(0);
        let code = tags.get("error_code").cloned().unwrap_or_default();
        match (metric, data) {
            ("http_reqs", SeriesData::Counter { sum }) => {
                by.entry((status, code)).or_default().0 += sum
            }
            ("http_req_failed", SeriesData::Rate { hits, .. }) => {
                by.entry((status, code)).or_default().1 += hits
            }
            _ => {}
        }
    }
    let rows: Vec<(String, Vec<String>)> = by
        .into_iter()
        .map(|((status, code), (reqs, failed))| {
            let label = if status == 0 {
                "0 (no response)".to_string()
            } else {
                status.to_string()
            };
            let cls = if failed > 0 { "fail" } else { "pass" };
            let code = match code.parse::<u32>() {
                Ok(c) => format!("{c} ({})", crate::errors::kind(c)),
                Err(_) => code,
            };
            (
                format!(" data-status=\"{status}\" data-failed=\"{failed}\""),
                vec![
                    esc(&label),
                    esc(&code),
                    fmt_num(reqs),
                    format!("<span class=\"{cls}\">{failed}</span>"),
                ],
            )
        })
        .collect();
    let body = if rows.is_empty() {
        "<p>No requests.</p>\n".to_string()
    } else {
        table(
            "statuses",
            &["status", "error code", "requests", "failed"],
            &rows,
        )
    };
    section("statuses-section", "Responses by status", &body)
}

/// The errors section, as the terminal summary shows it: each kind in words, k6's code,
/// its count and first occurrence; empty when no request failed with a transport error.
pub fn errors(s: &Summary) -> String {
    if s.volley.errors.is_empty() {
        return String::new();
    }
    let rows: Vec<(String, Vec<String>)> = s
        .volley
        .errors
        .iter()
        .map(|e| {
            let first = e.first.as_ref().map_or("-".to_string(), |f| {
                let mut first = format!(
                    "request <code>{}</code> to target <code>{}</code>",
                    esc(&f.request),
                    esc(&f.target)
                );
                if !f.message.is_empty() {
                    first.push_str(": ");
                    first.push_str(&esc(&f.message));
                }
                first
            });
            (
                format!(" data-error-code=\"{}\"", e.code),
                vec![e.code.to_string(), esc(&e.kind), e.count.to_string(), first],
            )
        })
        .collect();
    section(
        "errors-section",
        "Errors",
        &table(
            "errors",
            &["code", "error", "requests", "first occurrence"],
            &rows,
        ),
    )
}

/// A rate metric's values in words: the share of its true samples, named for what they
/// count, and how many of how many (k6's `passes` and `fails` are the true and the false
/// samples: a request that did not fail is a `fails` of `http_req_failed`).
fn rate_words(key: &str, m: &MetricSummary) -> Option<String> {
    let v = |k: &str| m.values.get(k).copied();
    let (rate, trues, falses) = (v("rate")?, v("passes")?, v("fails")?);
    let (what, of) = match key.split('{').next().unwrap_or(key) {
        "http_req_failed" => ("failed", " requests"),
        "checks" => ("passed", " checks"),
        _ => ("true", ""),
    };
    Some(format!(
        "{:.2}% {what} ({} of {}{of})",
        rate * 100.0,
        fmt_num(trues),
        fmt_num(trues + falses)
    ))
}

/// Every metric of the summary with its values.
pub fn metrics(s: &Summary) -> String {
    let rows: Vec<(String, Vec<String>)> = s
        .metrics
        .iter()
        .map(|(key, m)| {
            let words = (m.kind == MetricKind::Rate)
                .then(|| rate_words(key, m))
                .flatten();
            let vals = words.unwrap_or_else(|| {
                let vals: Vec<String> = m
                    .values
                    .iter()
                    .map(|(k, x)| format!("{k}={}", show(m, k, *x)))
                    .collect();
                vals.join("  ")
            });
            (
                format!(" data-metric=\"{}\"", esc(key)),
                vec![esc(key), format!("{:?}", m.kind).to_lowercase(), esc(&vals)],
            )
        })
        .collect();
    section(
        "metrics-section",
        "Metrics",
        &table("metrics", &["metric", "type", "values"], &rows),
    )
}

/// Every interval of the timeline as a table (folded under the charts), its numbers also
/// as data attributes: start and end since the run's start, length, and the interval's
/// own counts and rates.
pub fn intervals(t: &Timeline) -> String {
    if t.is_empty() {
        return String::new();
    }
    let rows: Vec<(String, Vec<String>)> = t
        .points
        .iter()
        .map(|p| {
            let p95 = p.latency.map_or("-".to_string(), |l| fmt_duration(l.p95));
            (
                format!(
                    " data-start-ms=\"{}\" data-end-ms=\"{}\" data-http-reqs=\"{}\" data-http-failed=\"{}\" data-iterations=\"{}\"",
                    p.start_ms, p.t_ms, p.http_reqs, p.http_failed, p.iterations
                ),
                vec![
                    esc(&fmt_duration(p.start_ms as f64)),
                    esc(&fmt_duration(p.t_ms as f64)),
                    esc(&fmt_duration(p.secs * 1000.0)),
                    p.http_reqs.to_string(),
                    esc(&format!("{}/s", fmt_num(p.rps()))),
                    p.http_failed.to_string(),
                    esc(&format!("{}/s", fmt_num(per_sec(p.iterations as f64, p.secs)))),
                    esc(&p95),
                    p.vus.to_string(),
                ],
            )
        })
        .collect();
    format!(
        "<details id=\"intervals-section\"><summary>Every interval ({})</summary>\n{}</details>\n",
        t.points.len(),
        table(
            "intervals",
            &[
                "start",
                "end",
                "length",
                "requests",
                "requests/s",
                "failed requests",
                "iterations/s",
                "p95 latency",
                "VUs",
            ],
            &rows,
        )
    )
}

/// `+1.2ms` against the agreed start instant, `-` when unknown.
fn offset(ms: Option<f64>) -> String {
    match ms {
        Some(ms) if ms >= 0.0 => format!("+{}", fmt_duration(ms)),
        Some(ms) => fmt_duration(ms),
        None => "-".into(),
    }
}

/// The fleet's runners and start skew; empty for a single-machine run.
pub fn runners(s: &Summary) -> String {
    if s.volley.runners.is_empty() {
        return String::new();
    }
    let total: f64 = s.volley.runners.iter().map(|r| r.http_reqs).sum();
    let rows: Vec<(String, Vec<String>)> = s
        .volley
        .runners
        .iter()
        .map(|r| {
            let share = if total > 0.0 {
                r.http_reqs / total
            } else {
                0.0
            };
            (
                format!(" data-runner=\"{}\" data-lost=\"{}\"", r.index, r.lost),
                vec![
                    r.index.to_string(),
                    if r.lost {
                        "<span class=\"fail\">lost</span>".into()
                    } else {
                        "ok".into()
                    },
                    fmt_num(r.http_reqs),
                    pct(share),
                    fmt_num(r.iterations),
                    esc(&offset(r.start_offset_ms)),
                    esc(&offset(r.first_request_offset_ms)),
                ],
            )
        })
        .collect();
    let skew = s.volley.start_skew_ms.map_or("-".to_string(), fmt_duration);
    let body = format!(
        "<p id=\"skew\">Start skew (spread of the runners' actual starts against the agreed instant): <b>{}</b> · runners lost: <b>{}</b></p>\n{}",
        esc(&skew),
        s.volley.runners_lost,
        table(
            "runners",
            &["runner", "state", "requests", "share", "iterations", "start offset", "first request offset"],
            &rows
        )
    );
    section("runners-section", "Runners", &body)
}

/// Targets, scenarios in words, data and thresholds of the plan, on the run's `runners`
/// (the fleet's whole load: every number is the fleet's).
pub fn plan(p: &Plan, runners: usize) -> String {
    let mut body = format!(
        "<p>plan {} · content hash <code>{}</code></p>\n",
        esc(&p.name),
        esc(&volley_plan::content_hash(p))
    );
    let targets: Vec<(String, Vec<String>)> = p
        .targets
        .iter()
        .map(|t| (String::new(), vec![esc(&t.name), esc(&t.url)]))
        .collect();
    body.push_str(&table("targets", &["target", "URL"], &targets));
    let words = volley_plan::view::segment_view(p, Segment::whole()).to_words();
    // The whole plan's view starts `runner 0 of 1`; say what ran instead.
    let rest = words.split_once('\n').map_or("", |(_, rest)| rest);
    let runners = runners.max(1);
    let words = format!(
        "on {} (the whole fleet's load)\n{rest}",
        if runners == 1 {
            "1 runner".to_string()
        } else {
            format!("{runners} runners")
        }
    );
    body.push_str(&format!("<pre id=\"plan-words\">{}</pre>\n", esc(&words)));
    section("plan-section", "Plan", &body)
}

/// The `.load` source, escaped.
pub fn source(src: Option<&str>) -> String {
    match src {
        Some(text) => section(
            "source-section",
            "Source",
            &format!("<pre id=\"source\"><code>{}</code></pre>\n", esc(text)),
        ),
        None => String::new(),
    }
}
