//! `--report FILE.html`: one self-contained HTML page (no script, no external font, image
//! or stylesheet; it opens offline) with the verdict, the headline numbers, latency
//! percentiles over time (p50/p90/p95/p99 of each interval's own merged histogram),
//! throughput, VUs, errors and dropped iterations over time as inline SVG (each interval
//! a step over its true span, rates per second of that span) and every interval as a
//! table (`#intervals`, one row per point with its numbers as data attributes), thresholds with
//! their verdicts, checks, responses by status, every metric, the fleet's runners and
//! start skew (when the summary has runners), the plan in words and the `.load` source.
//!
//! [`render`] is pure (a coordinator calls it with a fleet's summary, aggregate and
//! timeline); [`ReportFile`] is the file the driver writes at the end.

pub(super) mod html;
mod sections;
mod svg;

use super::timeline::{per_sec, Timeline};
use super::{OutputConfig, OutputError};
use crate::metrics::Aggregate;
use crate::summary::{fmt_duration, fmt_num, Summary};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;
use svg::{Chart, Line};
use volley_plan::Plan;

/// Everything the report shows.
pub struct ReportInput<'a> {
    pub summary: &'a Summary,
    pub total: &'a Aggregate,
    pub timeline: &'a Timeline,
    pub plan: &'a Plan,
    pub source: Option<&'a str>,
    pub testid: &'a str,
    pub generated: SystemTime,
}

/// The report as one HTML document.
pub fn render(r: &ReportInput<'_>) -> String {
    let generated = humantime::format_rfc3339_seconds(r.generated).to_string();
    let mut body = sections::header(r.summary, r.testid, &generated);
    body.push_str(&sections::cards(r.summary));
    let over_time = charts(r.timeline) + &sections::intervals(r.timeline);
    body.push_str(&html::section("charts", "Over time", &over_time));
    body.push_str(&sections::thresholds(r.summary));
    body.push_str(&sections::checks(r.summary));
    body.push_str(&sections::errors(r.summary));
    body.push_str(&sections::statuses(r.total));
    body.push_str(&sections::runners(r.summary));
    body.push_str(&sections::metrics(r.summary));
    body.push_str(&sections::plan(r.plan, r.summary.volley.runners.len()));
    body.push_str(&sections::source(r.source));
    html::page(&format!("{} · Volley report", r.summary.volley.test), &body)
}

/// The charts: each interval drawn as a step across its true span, from its start to its
/// end (the first from 0, the last to the run's end), at its value over that span.
fn charts(t: &Timeline) -> String {
    let secs = |ms: u64| ms as f64 / 1000.0;
    let line = |label: &str, f: &dyn Fn(&super::Point) -> Option<f64>| Line {
        label: label.to_string(),
        points: t
            .points
            .iter()
            .flat_map(|p| {
                let y = f(p);
                [
                    y.map(|y| (secs(p.start_ms), y)),
                    y.map(|y| (secs(p.t_ms), y)),
                ]
            })
            .collect(),
    };
    let rate = |n: u64, p: &super::Point| per_sec(n as f64, p.secs);
    let ms = |v: f64| fmt_duration(v);
    let num = |v: f64| fmt_num(v);
    let per_s = |v: f64| format!("{}/s", fmt_num(v));
    let latency = Chart {
        id: "chart-latency".into(),
        title: "Latency percentiles per interval (http_req_duration)".into(),
        y_fmt: ms,
        lines: vec![
            line("p50", &|p| p.latency.map(|l| l.p50)),
            line("p90", &|p| p.latency.map(|l| l.p90)),
            line("p95", &|p| p.latency.map(|l| l.p95)),
            line("p99", &|p| p.latency.map(|l| l.p99)),
        ],
    };
    let throughput = Chart {
        id: "chart-throughput".into(),
        title: "Throughput".into(),
        y_fmt: per_s,
        lines: vec![
            line("requests/s", &|p| Some(p.rps())),
            line("iterations/s", &|p| Some(rate(p.iterations, p))),
        ],
    };
    let vus = Chart {
        id: "chart-vus".into(),
        title: "Virtual users".into(),
        y_fmt: num,
        lines: vec![
            line("active VUs", &|p| Some(p.vus as f64)),
            line("allocated VUs", &|p| Some(p.vus_max as f64)),
        ],
    };
    let errors = Chart {
        id: "chart-errors".into(),
        title: "Errors and dropped iterations".into(),
        y_fmt: per_s,
        lines: vec![
            line("failed requests/s", &|p| Some(rate(p.http_failed, p))),
            line("failed checks/s", &|p| Some(rate(p.checks_failed, p))),
            line("dropped iterations/s", &|p| {
                Some(rate(p.dropped_iterations, p))
            }),
        ],
    };
    [latency, throughput, vus, errors]
        .iter()
        .map(svg::render)
        .collect()
}

/// The report file of a run: created empty at the start (so a bad path fails before any
/// load), written at the end.
pub(crate) struct ReportFile {
    path: PathBuf,
    plan: Arc<Plan>,
    source: Option<String>,
    testid: String,
}

impl ReportFile {
    pub fn create(path: &Path, cfg: &OutputConfig) -> Result<ReportFile, OutputError> {
        std::fs::write(path, "").map_err(|source| OutputError::ReportCreate {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(ReportFile {
            path: path.to_path_buf(),
            plan: Arc::clone(&cfg.plan),
            source: cfg.source.clone(),
            testid: cfg.testid.clone(),
        })
    }

    /// Writes the report; returns the note for stderr.
    pub fn write(self, summary: &Summary, total: &Aggregate, timeline: &Timeline) -> String {
        let html = render(&ReportInput {
            summary,
            total,
            timeline,
            plan: &self.plan,
            source: self.source.as_deref(),
            testid: &self.testid,
            generated: SystemTime::now(),
        });
        match std::fs::write(&self.path, html) {
            Ok(()) => format!("report: {}", self.path.display()),
            Err(e) => format!(
                "warning: --report: cannot write `{}`: {e}",
                self.path.display()
            ),
        }
    }
}
