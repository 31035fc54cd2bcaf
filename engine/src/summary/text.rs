//! The k6-like text rendering of a [`Summary`]: checks by group, metrics with dotted
//! padding and human units, threshold marks, the fleet lines and the verdict. Reads only
//! the summary (never the aggregate), so a summary read back from JSON renders the same.

use super::format::TextOptions;
use super::{GroupSummary, MetricSummary, Summary, Verdict};
use crate::metrics::Contains;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use volley_plan::plan::MetricKind;
use volley_plan::ExitCode;

/// Marks and colours of the text rendering.
struct Style {
    color: bool,
}

impl Style {
    fn mark(&self, ok: bool) -> String {
        match (ok, self.color) {
            (true, true) => "\x1b[32m✓\x1b[0m".into(),
            (false, true) => "\x1b[31m✗\x1b[0m".into(),
            (true, false) => "✓".into(),
            (false, false) => "✗".into(),
        }
    }

    fn value(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[36m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// The k6-like end-of-test text: checks by group, every metric with dotted padding
/// (threshold marks beside their metrics, conditions under them), the fleet lines and
/// the verdict. `color` adds ANSI colours.
pub fn render_text(s: &Summary, color: bool) -> String {
    render_text_with(s, color, &TextOptions::default())
}

/// [`render_text`] shaped by k6's summary flags: each trend shows `opts.trend_stats` in
/// their order (those the summary holds; see [`super::format::add_trend_stats`]), time
/// values are written in `opts.time_unit`.
pub fn render_text_with(s: &Summary, color: bool, opts: &TextOptions) -> String {
    let st = Style { color };
    let mut out = String::new();
    if s.volley.verdict == Verdict::NotStarted {
        // Nothing ran: one line with the reason, no metrics, no verdicts.
        let reason = s.volley.reason.as_deref().unwrap_or("see the error above");
        let _ = writeln!(
            out,
            "\n  {} the run did not start: {reason} (exit code {})",
            st.mark(false),
            s.volley.exit_code
        );
        return out;
    }
    render_group(&mut out, &st, &s.root_group, "     ");
    if !out.is_empty() {
        out.truncate(out.trim_end().len());
        out.push_str("\n\n");
    }
    // Parents sorted by name, each followed by its submetrics.
    let roots: BTreeSet<&str> = s
        .metrics
        .keys()
        .map(|k| k.split_once('{').map_or(k.as_str(), |(base, _)| base))
        .collect();
    let mut rows: Vec<(String, &MetricSummary)> = Vec::new();
    for root in roots {
        if let Some(m) = s.metrics.get(root) {
            rows.push((root.to_string(), m));
        }
        for (k, m) in s.metrics.range(format!("{root}{{")..) {
            let Some(tags) = k.strip_prefix(root).and_then(|t| t.strip_prefix('{')) else {
                break;
            };
            let tags = tags.trim_end_matches('}');
            let label = if s.metrics.contains_key(root) {
                format!("  {{ {tags} }}")
            } else {
                k.clone()
            };
            rows.push((label, m));
        }
    }
    let width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0)
        + 3;
    let duration_s = s.state.test_run_duration_ms / 1000.0;
    for (label, m) in &rows {
        let mark = if m.thresholds.is_empty() {
            " ".to_string()
        } else {
            st.mark(m.thresholds.values().all(|t| t.ok))
        };
        let dots = width.saturating_sub(label.chars().count());
        // A metric its thresholds found without samples shows no made-up zeros.
        let text = if m.thresholds.values().any(|t| t.no_data) {
            "(no data)".to_string()
        } else {
            metric_text(m, &st, duration_s, opts)
        };
        let _ = writeln!(out, "   {mark} {label}{}: {text}", ".".repeat(dots));
        for (src, t) in &m.thresholds {
            let no_data = if t.no_data { " (no data)" } else { "" };
            let _ = writeln!(out, "       {} {src}{no_data}", st.mark(t.ok));
        }
    }
    render_errors(&mut out, &s.volley.errors);
    if !s.volley.notes.is_empty() {
        out.push('\n');
        for n in &s.volley.notes {
            let _ = writeln!(out, "     note: {n}");
        }
    }
    render_footer(&mut out, &st, s);
    out
}

/// The errors section: each kind in words, k6's code, its count and first occurrence.
fn render_errors(out: &mut String, errors: &[crate::errors::ErrorSummary]) {
    if errors.is_empty() {
        return;
    }
    out.push_str("\n     errors\n");
    let mut rows: Vec<Vec<String>> = vec![["code", "error", "requests", "first occurrence"]
        .map(str::to_string)
        .to_vec()];
    for e in errors {
        let first = e.first.as_ref().map_or("-".to_string(), |f| {
            let mut first = format!("request {} to target {}", f.request, f.target);
            if !f.message.is_empty() {
                first.push_str(": ");
                first.push_str(&f.message);
            }
            first
        });
        rows.push(vec![
            e.code.to_string(),
            e.kind.clone(),
            e.count.to_string(),
            first,
        ]);
    }
    table(out, &rows);
}

/// Rows as left-aligned columns two spaces apart, indented under a section title.
fn table(out: &mut String, rows: &[Vec<String>]) {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; cols];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::from("       ");
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = w.saturating_sub(cell.chars().count());
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

fn render_group(out: &mut String, st: &Style, g: &GroupSummary, indent: &str) {
    for c in &g.checks {
        let _ = writeln!(out, "{indent}{} {}", st.mark(c.fails == 0), c.name);
        if c.fails > 0 {
            let total = (c.passes + c.fails) as f64;
            let _ = writeln!(
                out,
                "{indent} ↳  {}% — {} {} / {} {}",
                trim(format!("{:.2}", 100.0 * c.passes as f64 / total)),
                st.mark(true),
                c.passes,
                st.mark(false),
                c.fails
            );
        }
    }
    for sub in &g.groups {
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "{indent}█ {}\n", sub.name);
        render_group(out, st, sub, &format!("{indent}  "));
    }
}

fn metric_text(m: &MetricSummary, st: &Style, duration_s: f64, opts: &TextOptions) -> String {
    let v = |k: &str| m.values.get(k).copied().unwrap_or(0.0);
    let fmt = |x: f64| match (m.contains, opts.time_unit) {
        (Contains::Time, Some(unit)) => unit.format(x),
        (Contains::Time, None) => fmt_duration(x),
        (Contains::Data, _) => fmt_bytes(x),
        (Contains::Default, _) => fmt_num(x),
    };
    match m.kind {
        MetricKind::Trend if opts.trend_stats.is_some() => {
            let stats = opts.trend_stats.as_deref().unwrap_or_default();
            let parts: Vec<String> = stats
                .iter()
                .filter_map(|stat| {
                    let k = stat.key();
                    let x = *m.values.get(&k)?;
                    let shown = if stat.is_value() { fmt(x) } else { fmt_num(x) };
                    Some(format!("{k}={}", st.value(&shown)))
                })
                .collect();
            parts.join(" ")
        }
        MetricKind::Trend => {
            let mut parts = vec![
                format!("avg={}", st.value(&fmt(v("avg")))),
                format!("min={}", st.value(&fmt(v("min")))),
                format!("med={}", st.value(&fmt(v("med")))),
                format!("max={}", st.value(&fmt(v("max")))),
            ];
            let mut ps: Vec<(f64, &String)> = m
                .values
                .keys()
                .filter_map(|k| {
                    let p = k
                        .strip_prefix("p(")?
                        .strip_suffix(')')?
                        .parse::<f64>()
                        .ok()?;
                    Some((p, k))
                })
                .collect();
            ps.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (_, k) in ps {
                parts.push(format!("{k}={}", st.value(&fmt(v(k)))));
            }
            parts.join(" ")
        }
        MetricKind::Counter => {
            let rate = m.values.get("rate").copied().unwrap_or_else(|| {
                if duration_s > 0.0 {
                    v("count") / duration_s
                } else {
                    0.0
                }
            });
            let rate = match m.contains {
                Contains::Data => format!("{}/s", fmt_bytes(rate)),
                _ => format!("{}/s", trim(format!("{rate:.2}"))),
            };
            format!(
                "{} {}",
                st.value(&format!("{:<10}", fmt(v("count")))),
                st.value(&rate)
            )
        }
        MetricKind::Rate => format!(
            "{} {} {:<8} {} {}",
            st.value(&format!("{:<8}", format!("{:.2}%", 100.0 * v("rate")))),
            st.mark(true),
            fmt_num(v("passes")),
            st.mark(false),
            fmt_num(v("fails"))
        ),
        MetricKind::Gauge => format!(
            "{} min={} max={}",
            st.value(&format!("{:<10}", fmt(v("value")))),
            st.value(&fmt(v("min"))),
            st.value(&fmt(v("max")))
        ),
    }
}

fn render_footer(out: &mut String, st: &Style, s: &Summary) {
    let vo = &s.volley;
    if vo.start_skew_ms.is_some() || !vo.runners.is_empty() || vo.runners_lost > 0 {
        out.push('\n');
        if let Some(skew) = vo.start_skew_ms {
            let _ = writeln!(
                out,
                "     fleet start skew: {} (spread of the runners' actual starts)",
                fmt_duration(skew)
            );
        }
        let _ = writeln!(
            out,
            "     {} ({} lost)",
            plural(vo.runners.len(), "runner"),
            vo.runners_lost
        );
        render_runners(out, &vo.runners);
    }
    let (ok, n) = s.threshold_counts();
    let thresholds = if n == 0 {
        "no thresholds".to_string()
    } else if n == 1 && ok == 1 {
        "the threshold passed".to_string()
    } else if ok == n {
        format!("all {n} thresholds passed")
    } else {
        format!("{} of {} failed", n - ok, plural(n, "threshold"))
    };
    // An end the verdicts have no word for (a failed setup, a fleet that never became
    // ready) is named by its exit code.
    let verdict = match vo.exit_code {
        c if c == vo.verdict.exit_code() => vo.verdict.text(),
        ExitCode::SetupFailed => "setup failed",
        ExitCode::InvalidInput => "the run could not start",
        _ => "stopped",
    };
    // A lost runner's shortfall is part of the verdict: which runner, and why.
    let lost: Vec<String> = vo
        .runners
        .iter()
        .filter(|r| r.lost)
        .map(|r| match &r.reason {
            Some(why) => format!("runner {}: {why}", r.index),
            None => format!("runner {}", r.index),
        })
        .collect();
    let verdict = if lost.is_empty() {
        verdict.to_string()
    } else {
        format!("{verdict} ({})", lost.join("; "))
    };
    let passed = vo.verdict == Verdict::Passed && vo.exit_code == ExitCode::Ok;
    if vo.verdict == Verdict::NoResponses {
        let n = s.value("http_reqs", "count").unwrap_or(0.0);
        let present = |m: &str| s.metrics.contains_key(m);
        let others: Vec<&str> = [
            ("ws_connect_errors", "WebSocket handshakes"),
            ("grpc_req_duration", "gRPC calls"),
            ("grpc_streams", "gRPC streams"),
        ]
        .iter()
        .filter(|(m, _)| present(m))
        .map(|(_, what)| *what)
        .collect();
        let _ = if others.is_empty() {
            writeln!(
                out,
                "\n     no request got a response: all {} requests failed, timed out or were \
                 cut by the end of the test (see http_reqs by error_code)",
                fmt_num(n)
            )
        } else {
            let mut kinds: Vec<&str> = Vec::new();
            if n > 0.0 {
                kinds.push("requests");
            }
            kinds.extend(others);
            let total: u64 = vo.errors.iter().map(|e| e.count).sum();
            writeln!(
                out,
                "\n     nothing answered: all {} {} failed to reach a server, timed out or \
                 were cut by the end of the test (see the errors above)",
                fmt_num(total as f64),
                kinds.join(", ")
            )
        };
    }
    let _ = writeln!(
        out,
        "\n  {} {verdict}: {thresholds} (exit code {})",
        st.mark(passed),
        vo.exit_code
    );
}

/// The per-runner rows: index, state, requests, iterations, share of the requests,
/// start offset and first-request offset against the agreed start instant.
fn render_runners(out: &mut String, runners: &[super::RunnerSummary]) {
    if runners.is_empty() {
        return;
    }
    let offset = |ms: Option<f64>| match ms {
        Some(ms) if ms >= 0.0 => format!("+{}", fmt_duration(ms)),
        Some(ms) => fmt_duration(ms),
        None => "-".to_string(),
    };
    let header = [
        "runner",
        "state",
        "requests",
        "iterations",
        "share",
        "start",
        "first request",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.map(str::to_string).to_vec()];
    for r in runners {
        let state = match (r.state, &r.reason) {
            (super::RunnerOutcome::Lost, Some(why)) => format!("lost ({why})"),
            (super::RunnerOutcome::Lost, None) => "lost".to_string(),
            (super::RunnerOutcome::Ok, _) => "ok".to_string(),
        };
        rows.push(vec![
            r.index.to_string(),
            state,
            fmt_num(r.http_reqs),
            fmt_num(r.iterations),
            format!("{}%", trim(format!("{:.1}", 100.0 * r.share))),
            offset(r.start_offset_ms),
            offset(r.first_request_offset_ms),
        ]);
    }
    table(out, &rows);
}

/// `1 runner`, `4 runners`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Trailing zeros (and a trailing dot) off a fixed-point number.
pub(crate) fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A duration in ms in human units: `850µs`, `12.34ms`, `1.5s`, `2m3.4s`, `1h2m3s`.
pub fn fmt_duration(ms: f64) -> String {
    if !ms.is_finite() {
        return "-".into();
    }
    if ms == 0.0 {
        return "0s".into();
    }
    let (sign, ms) = if ms < 0.0 { ("-", -ms) } else { ("", ms) };
    let body = if ms < 1.0 {
        format!("{}µs", trim(format!("{:.2}", ms * 1000.0)))
    } else if ms < 1000.0 {
        format!("{}ms", trim(format!("{ms:.2}")))
    } else if ms < 60_000.0 {
        format!("{}s", trim(format!("{:.2}", ms / 1000.0)))
    } else if ms < 3_600_000.0 {
        let m = (ms / 60_000.0).floor();
        format!(
            "{m}m{}s",
            trim(format!("{:.1}", (ms - m * 60_000.0) / 1000.0))
        )
    } else {
        let h = (ms / 3_600_000.0).floor();
        let m = ((ms - h * 3_600_000.0) / 60_000.0).floor();
        let sec = ((ms - h * 3_600_000.0 - m * 60_000.0) / 1000.0).floor();
        format!("{h}h{m}m{sec}s")
    };
    format!("{sign}{body}")
}

/// A byte count in decimal units: `512 B`, `1.2 kB`, `3.4 MB`, `1.1 GB`.
pub fn fmt_bytes(b: f64) -> String {
    if !b.is_finite() {
        return "-".into();
    }
    let a = b.abs();
    if a < 1000.0 {
        format!("{} B", trim(format!("{b:.0}")))
    } else if a < 1e6 {
        format!("{} kB", trim(format!("{:.1}", b / 1e3)))
    } else if a < 1e9 {
        format!("{} MB", trim(format!("{:.1}", b / 1e6)))
    } else {
        format!("{} GB", trim(format!("{:.1}", b / 1e9)))
    }
}

/// A plain number: integral values without decimals, others with up to 2.
pub fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    // -0 (a float sum of nothing) reads as 0.
    let x = x + 0.0;
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        trim(format!("{x:.2}"))
    }
}
