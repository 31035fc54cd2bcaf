//! The end-of-test summary shaped without code (what k6 users do with `handleSummary`):
//! k6's `--summary-trend-stats` and `--summary-time-unit`, and `--summary-template
//! FILE[=OUT]`, a minijinja template rendered with the summary JSON as its context,
//! printed instead of the text summary (or written to OUT); k6's `--no-summary` (nothing
//! on stdout) and `--summary-export FILE` (k6's legacy flat JSON,
//! `volley_engine::summary::export`). Shared by `volley run` (one process or a local
//! fleet), `volley coordinator` (the fleet's merged summary) and `volley deploy` (the
//! summary fetched from the coordinator).
//! Everything is checked before the run: a bad stat or a template that does not render
//! against a sample summary is a usage error (exit 2) naming the template's line.

use std::path::PathBuf;
use volley_engine::output::stats::TrendStat;
use volley_engine::summary::format::{add_trend_stats, TextOptions, TimeUnit};
use volley_engine::summary::{self, Summary};
use volley_plan::ExitCode;

/// The summary flags of `run`, `coordinator` and `deploy`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SummaryArgs {
    /// The statistics of every trend in the summary, in this order (k6's flag): e.g.
    /// `avg,min,med,max,p(90),p(95),p(99.9)`; `count` and `sum` too. The JSON summary
    /// gains the ones it lacks.
    #[arg(long, value_name = "STATS")]
    pub summary_trend_stats: Option<String>,
    /// Write every time value of the summary in one unit (k6's flag).
    #[arg(long, value_name = "UNIT", value_parser = ["s", "ms", "us"])]
    pub summary_time_unit: Option<String>,
    /// Render the summary with a minijinja template (the summary JSON is its context)
    /// instead of the text on stdout; `FILE=OUT` writes the rendering to OUT and keeps
    /// the text (repeatable; see docs/outputs.md).
    #[arg(long, value_name = "FILE[=OUT]")]
    pub summary_template: Vec<String>,
    /// No end-of-test summary on stdout (k6's flag); the exit code, `--summary-json`,
    /// `--summary-export`, the outputs and templates with an OUT file still work.
    #[arg(long)]
    pub no_summary: bool,
    /// Write k6's legacy flat JSON summary to FILE (k6's flag: metrics flat, thresholds
    /// `true` when failed; see docs/outputs.md).
    #[arg(long, value_name = "FILE")]
    pub summary_export: Option<PathBuf>,
}

/// The checked flags: what [`SummaryFormat::finish`] applies at the end.
#[derive(Debug, Default)]
pub struct SummaryFormat {
    opts: TextOptions,
    templates: Vec<Template>,
    /// `--no-summary`: nothing on stdout.
    quiet: bool,
    /// `--summary-export FILE`.
    export: Option<PathBuf>,
}

#[derive(Debug)]
struct Template {
    path: PathBuf,
    source: String,
    /// Where the rendering goes; stdout (instead of the text) without one.
    out: Option<PathBuf>,
}

impl SummaryArgs {
    /// Parses the stats and the unit, reads every template and renders it once against a
    /// sample summary, and creates every OUT file (empty): any failure is reported here,
    /// before the run, as a usage error.
    pub fn prepare(&self) -> Result<SummaryFormat, ExitCode> {
        let usage = |msg: String| {
            errln!("error: {msg}");
            ExitCode::Usage
        };
        let trend_stats = match &self.summary_trend_stats {
            None => None,
            Some(list) => Some(
                TrendStat::parse_list(list)
                    .map_err(|e| usage(format!("--summary-trend-stats `{list}`: {e}")))?,
            ),
        };
        let time_unit = match &self.summary_time_unit {
            None => None,
            Some(u) => Some(TimeUnit::parse(u).ok_or_else(|| {
                usage(format!("--summary-time-unit `{u}`: expected s, ms or us"))
            })?),
        };
        let opts = TextOptions {
            trend_stats,
            time_unit,
        };
        let mut templates = Vec::new();
        for raw in &self.summary_template {
            let (file, out) = match raw.split_once('=') {
                Some((f, o)) => (f, Some(PathBuf::from(o))),
                None => (raw.as_str(), None),
            };
            if file.is_empty() || out.as_ref().is_some_and(|o| o.as_os_str().is_empty()) {
                return Err(usage(format!(
                    "--summary-template `{raw}`: expected FILE or FILE=OUT"
                )));
            }
            let path = PathBuf::from(file);
            let source = std::fs::read_to_string(&path).map_err(|e| {
                usage(format!(
                    "--summary-template: cannot read `{}`: {e}",
                    path.display()
                ))
            })?;
            let t = Template { path, source, out };
            if let Err(e) = t.render(&sample(), &opts) {
                return Err(usage(describe(&t, &e)));
            }
            if let Some(out) = &t.out {
                std::fs::write(out, "").map_err(|e| {
                    usage(format!(
                        "--summary-template: cannot create `{}`: {e}",
                        out.display()
                    ))
                })?;
            }
            templates.push(t);
        }
        if self.no_summary {
            if let Some(t) = templates.iter().find(|t| t.out.is_none()) {
                return Err(usage(format!(
                    "--summary-template `{}` renders to stdout, and --no-summary prints nothing there: write it to a file with `--summary-template {}=OUT`, or drop --no-summary",
                    t.path.display(),
                    t.path.display()
                )));
            }
        }
        if let Some(path) = &self.summary_export {
            std::fs::write(path, "").map_err(|e| {
                usage(format!(
                    "--summary-export: cannot create `{}`: {e}",
                    path.display()
                ))
            })?;
        }
        Ok(SummaryFormat {
            opts,
            templates,
            quiet: self.no_summary,
            export: self.summary_export.clone(),
        })
    }
}

impl SummaryFormat {
    /// The summary as written and rendered: with the trend stats asked for.
    pub fn apply(&self, s: &Summary) -> Summary {
        let mut s = s.clone();
        if let Some(stats) = &self.opts.trend_stats {
            add_trend_stats(&mut s, stats);
        }
        s
    }

    /// [`SummaryFormat::apply`] on a summary read as JSON (a deployed fleet's); JSON of
    /// another shape is left as it is.
    #[cfg(feature = "deploy")]
    pub fn apply_value(&self, v: serde_json::Value) -> serde_json::Value {
        if self.opts.trend_stats.is_none() {
            return v;
        }
        match serde_json::from_value::<Summary>(v.clone()) {
            Ok(s) => serde_json::to_value(self.apply(&s)).unwrap_or(v),
            Err(_) => v,
        }
    }

    /// What goes to stdout at the end: the text summary, or the rendering of the
    /// templates without OUT (a template that fails now is reported and the text printed
    /// in its place); templates with OUT are written.
    pub fn finish(&self, s: &Summary, color: bool) -> String {
        self.export(Some(s));
        let mut stdout = String::new();
        // The text is replaced by what templates render to stdout, if any does.
        let mut replaced = false;
        for t in &self.templates {
            match (t.render(s, &self.opts), &t.out) {
                (Ok(r), Some(out)) => {
                    if let Err(e) = std::fs::write(out, r) {
                        errln!(
                            "error: --summary-template: cannot write `{}`: {e}",
                            out.display()
                        );
                    } else {
                        errln!("summary template: {}", out.display());
                    }
                }
                (Ok(r), None) => {
                    stdout.push_str(&r);
                    replaced = true;
                }
                (Err(e), _) => errln!("error: {}", describe(t, &e)),
            }
        }
        if self.quiet {
            return String::new();
        }
        if !replaced {
            stdout.push_str(&summary::render_text_with(s, color, &self.opts));
        }
        stdout
    }

    /// `--no-summary`: the end-of-test summary (and the baseline's comparison) stays off
    /// stdout.
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// Writes `--summary-export` from `s` (the summary as [`SummaryFormat::apply`] shaped
    /// it), if asked; without a summary the empty file created before the run is removed
    /// and a warning says why.
    fn export(&self, s: Option<&Summary>) {
        let Some(path) = &self.export else {
            return;
        };
        let Some(s) = s else {
            errln!("warning: --summary-export: no summary to write (see above)");
            if std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0) {
                let _ = std::fs::remove_file(path);
            }
            return;
        };
        let stats = self.opts.trend_stats.as_deref();
        match summary::export::write(s, stats, path) {
            Ok(()) => errln!("summary export: {}", path.display()),
            Err(e) => errln!(
                "error: --summary-export: cannot write `{}`: {e}",
                path.display()
            ),
        }
    }

    /// Whether `--summary-export` was asked for.
    #[cfg(feature = "deploy")]
    pub fn exporting(&self) -> bool {
        self.export.is_some()
    }

    /// No summary could be had (a deploy whose coordinator's summary is lost).
    #[cfg(feature = "deploy")]
    pub fn missing(&self) {
        self.export(None);
    }
}

impl Template {
    fn render(&self, s: &Summary, opts: &TextOptions) -> Result<String, minijinja::Error> {
        let text = summary::render_text_with(s, false, opts);
        self.render_with(minijinja::Value::from_serialize(s), text, opts.time_unit)
    }

    /// Renders with `ctx` as the context, `text` as `text_summary` and time values in
    /// `unit` (human units without one).
    fn render_with(
        &self,
        ctx: minijinja::Value,
        text: String,
        unit: Option<TimeUnit>,
    ) -> Result<String, minijinja::Error> {
        use minijinja::value::Value;
        // The file's name: `*.html` templates are HTML-escaped.
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_keep_trailing_newline(true);
        let duration = move |ms: f64| match unit {
            Some(u) => u.format(ms),
            None => summary::fmt_duration(ms),
        };
        env.add_filter("duration", move |v: Value| shown(&v, duration));
        env.add_filter("bytes", |v: Value| shown(&v, summary::fmt_bytes));
        env.add_filter("number", |v: Value| shown(&v, summary::fmt_num));
        env.add_filter("percent", |v: Value| {
            shown(&v, |x| format!("{}%", summary::fmt_num(x * 100.0)))
        });
        env.add_filter(
            "human",
            move |v: Value, contains: Option<String>| match contains.as_deref() {
                Some("time") => shown(&v, duration),
                Some("data") => shown(&v, summary::fmt_bytes),
                _ => shown(&v, summary::fmt_num),
            },
        );
        env.add_global("text_summary", Value::from(text));
        let template = env.template_from_named_str(&name, &self.source)?;
        template.render(ctx)
    }
}

/// A number formatted, `-` for anything else (an absent metric in the template).
fn shown(v: &minijinja::value::Value, f: impl Fn(f64) -> String) -> String {
    if v.is_undefined() || v.is_none() {
        return "-".into();
    }
    f64::try_from(v.clone()).map_or_else(|_| v.to_string(), f)
}

/// A template error in words: the file, the line, what is wrong, the line itself and
/// how to fix it.
fn describe(t: &Template, e: &minijinja::Error) -> String {
    let mut msg = format!("--summary-template `{}`", t.path.display());
    if let Some(line) = e.line() {
        msg.push_str(&format!(", line {line}"));
    }
    msg.push_str(&format!(": {}", e.kind()));
    if let Some(detail) = e.detail() {
        msg.push_str(&format!(": {detail}"));
    }
    if let Some((n, text)) = e
        .line()
        .and_then(|l| Some((l, t.source.lines().nth(l.checked_sub(1)?)?)))
    {
        msg.push_str(&format!("\n  {n} | {text}"));
    }
    msg.push_str(
        "\n  help: fix the template (minijinja's syntax, https://docs.rs/minijinja); its context is the summary JSON (docs/outputs.md, `--summary-template`)",
    );
    msg
}

/// A summary with the usual metrics, checks, a group, thresholds and a runner, that every
/// template is rendered against once before the run.
fn sample() -> Summary {
    let trend = |contains: &str| {
        serde_json::json!({ "type": "trend", "contains": contains,
            "values": { "avg": 12.5, "min": 1.0, "med": 10.0, "max": 120.0,
                        "p(90)": 20.0, "p(95)": 25.0, "p(99)": 40.0 } })
    };
    let mut duration = trend("time");
    duration["thresholds"] = serde_json::json!({ "p(95) < 400ms": { "ok": true } });
    let value = serde_json::json!({
        "metrics": {
            "http_req_duration": duration,
            "http_req_duration{group:::browse}": trend("time"),
            "iteration_duration": trend("time"),
            "http_reqs": { "type": "counter", "contains": "default", "values": { "count": 100.0, "rate": 10.0 } },
            "data_received": { "type": "counter", "contains": "data", "values": { "count": 5000.0, "rate": 500.0 } },
            "iterations": { "type": "counter", "contains": "default", "values": { "count": 50.0, "rate": 5.0 } },
            "checks": { "type": "rate", "contains": "default", "values": { "rate": 0.99, "passes": 99.0, "fails": 1.0 },
                        "thresholds": { "rate > 0.95": { "ok": true } } },
            "http_req_failed": { "type": "rate", "contains": "default", "values": { "rate": 0.0, "passes": 0.0, "fails": 100.0 },
                                 "thresholds": { "rate < 0.01": { "ok": true } } },
            "vus": { "type": "gauge", "contains": "default", "values": { "value": 0.0, "min": 0.0, "max": 10.0 } }
        },
        "root_group": { "name": "", "path": "", "checks": [ { "name": "ok", "path": "::ok", "passes": 50, "fails": 0 } ],
            "groups": [ { "name": "browse", "path": "::browse",
                "checks": [ { "name": "status 200", "path": "::browse::status 200", "passes": 49, "fails": 1 } ], "groups": [] } ] },
        "state": { "testRunDurationMs": 10000.0, "isStdOutTTY": false },
        "volley": { "test": "sample", "exit_code": 0, "verdict": "passed",
            "runners": [ { "index": 0, "lost": false, "state": "ok", "http_reqs": 100.0, "iterations": 50.0, "share": 1.0,
                           "start_offset_ms": 0.1, "first_request_offset_ms": 1.0 } ],
            "start_skew_ms": 0.1, "runners_lost": 0,
            "notes": [ "a note" ], "summary_version": 2 }
    });
    // A constant the unit test reads: it always parses.
    serde_json::from_value(value).unwrap_or_else(|_| Summary {
        metrics: Default::default(),
        root_group: Default::default(),
        state: summary::State {
            test_run_duration_ms: 0.0,
            is_std_out_tty: false,
        },
        volley: summary::VolleyInfo {
            test: "sample".into(),
            exit_code: ExitCode::Ok,
            verdict: summary::Verdict::Passed,
            reason: None,
            runners: Vec::new(),
            start_skew_ms: None,
            runners_lost: 0,
            errors: Vec::new(),
            notes: Vec::new(),
            summary_version: summary::SUMMARY_VERSION,
            detail: None,
            comparison: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(source: &str) -> Template {
        Template {
            path: PathBuf::from("t.md"),
            source: source.to_string(),
            out: None,
        }
    }

    #[test]
    fn the_sample_summary_reads() {
        let s = sample();
        assert_eq!(s.volley.test, "sample");
        assert_eq!(s.value("http_reqs", "count"), Some(100.0));
    }

    #[test]
    fn filters_format_values_and_absent_metrics_read_as_a_dash() {
        let t = template(
            "{{ metrics.http_req_duration.values['p(95)'] | duration }} {{ metrics.data_received.values.count | bytes }} \
             {{ metrics.checks.values.rate | percent }} {{ metrics.nope.values.avg | duration }} \
             {{ metrics.iteration_duration.values.max | human(metrics.iteration_duration.contains) }}",
        );
        let r = t.render(&sample(), &TextOptions::default()).unwrap();
        assert_eq!(r, "25ms 5 kB 99% - 120ms");
        let ms = TextOptions {
            time_unit: Some(TimeUnit::Ms),
            ..TextOptions::default()
        };
        let r = template("{{ 1.5 | duration }}")
            .render(&sample(), &ms)
            .unwrap();
        assert_eq!(r, "1.50ms");
    }

    #[test]
    fn a_syntax_error_names_its_line_and_shows_it() {
        let t = template("# ok\n\n{% for x in metrics %}\n{{ x }\n");
        let e = t.render(&sample(), &TextOptions::default()).unwrap_err();
        let msg = describe(&t, &e);
        assert!(
            msg.starts_with("--summary-template `t.md`, line 4: syntax error"),
            "{msg}"
        );
        assert!(msg.contains("\n  4 | {{ x }"), "{msg}");
        assert!(msg.contains("help: "), "{msg}");
    }

    #[test]
    fn an_unknown_filter_is_an_error_not_a_panic() {
        let t = template("line 1\n{{ volley.test | nope }}\n");
        let e = t.render(&sample(), &TextOptions::default()).unwrap_err();
        let msg = describe(&t, &e);
        assert!(msg.contains("line 2"), "{msg}");
        assert!(msg.contains("nope"), "{msg}");
    }

    #[test]
    fn a_template_failing_at_the_end_gives_the_text_back() {
        let t = template("{% if volley.test != 'sample' %}{{ nope() }}{% endif %}ok");
        assert_eq!(t.render(&sample(), &TextOptions::default()).unwrap(), "ok");
        let f = SummaryFormat {
            opts: TextOptions::default(),
            templates: vec![t],
            ..SummaryFormat::default()
        };
        let mut real = sample();
        real.volley.test = "real".into();
        let out = f.finish(&real, false);
        assert!(out.contains("✓ passed: "), "{out}");
        let fine = SummaryFormat {
            opts: TextOptions::default(),
            templates: vec![template(
                "{{ volley.test }}: {{ text_summary | length > 0 }}",
            )],
            ..SummaryFormat::default()
        };
        assert_eq!(fine.finish(&real, false), "real: True");
    }

    #[test]
    fn bad_stats_and_missing_files_are_usage_errors() {
        let args = SummaryArgs {
            summary_trend_stats: Some("avg,p(abc)".into()),
            ..SummaryArgs::default()
        };
        assert_eq!(args.prepare().unwrap_err(), ExitCode::Usage);
        let args = SummaryArgs {
            summary_template: vec!["/nonexistent/volley-template.md".into()],
            ..SummaryArgs::default()
        };
        assert_eq!(args.prepare().unwrap_err(), ExitCode::Usage);
        let f = SummaryArgs::default().prepare().unwrap();
        assert!(f.templates.is_empty());
    }
}
