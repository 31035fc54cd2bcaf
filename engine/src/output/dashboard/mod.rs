//! The live dashboard: `volley run --dashboard[=ADDR]` serves it on its own port
//! ([`DashboardServer`]), and a fleet's coordinator serves the same page on its ports
//! (`GET /dashboard`, read-only, no token). One self-contained page (inline CSS and
//! script, nothing fetched from anywhere else) polls `dashboard/data` once a second and
//! draws latency percentiles, throughput, VUs, errors, the threshold verdicts and (in a
//! fleet) every runner's state. Once the run has ended the same URL serves the HTML
//! report (`report::render`), and the open page reloads into it.
//!
//! The [`Dashboard`] is a cheap handle on the run's live view. The [`OutputSet`] feeds
//! it (every closed interval's [`Point`], the cumulative figures and running threshold
//! verdicts at each flush, the report at the end); the servers read it. See
//! docs/dashboard.md for the endpoints and the JSON.
//!
//! This module must not merge snapshots into the run's aggregate, decide anything about
//! the run, or offer a control: the coordinator's `POST /v1/abort` (token required) is
//! the only control the page calls.
//!
//! [`OutputSet`]: super::OutputSet

mod page;
mod server;

pub use server::DashboardServer;

use super::report::{render, ReportInput};
use super::timeline::{Point, Timeline};
use super::Live;
use crate::fleet::http::Reply;
use crate::metrics::{Aggregate, Contains};
use crate::summary::{fmt_bytes, fmt_duration, fmt_num, Summary, Verdict};
use crate::thresholds::{self, Phase, ThresholdResult};
use bytes::Bytes;
use hyper::Method;
use serde::Serialize;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;
use volley_plan::plan::{Aggregation, MetricKind};
use volley_plan::{ExitCode, Plan};

/// The default address of `--dashboard` (k6's web dashboard's port).
pub const DEFAULT_ADDR: &str = "127.0.0.1:5665";

/// The most interval points one `dashboard/data` answer carries (the page asks again
/// for the rest with `?since=`).
const MAX_POINTS_PER_ANSWER: usize = 600;

/// A handle on the run's live view; cheap to clone, shared by the outputs and the
/// servers.
#[derive(Clone)]
pub struct Dashboard(Arc<Mutex<State>>);

impl std::fmt::Debug for Dashboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dashboard")
    }
}

/// Where the runners' rows come from (a fleet's coordinator).
type RunnerRows = Arc<dyn Fn() -> Vec<RunnerRow> + Send + Sync>;

struct State {
    plan: Arc<Plan>,
    /// The fleet's runners, for a server that does not know them itself
    /// (`volley run --runners N --dashboard`).
    runners: Option<RunnerRows>,
    source: Option<String>,
    testid: String,
    /// Served by a coordinator: the page offers the token-guarded abort.
    control: bool,
    /// Whether the first flush came (the load has started).
    started: bool,
    elapsed_ms: u64,
    vus: u64,
    vus_max: u64,
    /// One point per closed interval.
    points: Vec<Point>,
    /// The whole run so far, as one point (its percentiles are the run's).
    totals: Option<Point>,
    thresholds: Vec<ThresholdRow>,
    verdict: Option<Verdict>,
    exit_code: Option<ExitCode>,
    /// The HTML report, once the run has ended.
    report: Option<Bytes>,
}

/// One threshold as the page shows it.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ThresholdRow {
    /// `http_req_duration{group:browse}`.
    pub name: String,
    pub passed: bool,
    pub conditions: Vec<ConditionRow>,
}

/// One condition of a threshold.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ConditionRow {
    /// As written: `p(95) < 400ms`.
    pub source: String,
    /// The value compared, in the plan's units (ms for time, a fraction for rates).
    pub observed: Option<f64>,
    /// `observed` in the metric's units, as the summary writes it (`6.79ms`, `0.5%`,
    /// `12.0 kB`, `33.2/s`); what the page shows.
    pub observed_text: Option<String>,
    pub passed: bool,
}

/// One runner of a fleet, as the page shows it (a coordinator fills these in).
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct RunnerRow {
    pub index: u32,
    /// `waiting`, `joined`, `ready`, `running`, `done`, `lost` or `left`.
    pub state: &'static str,
    pub http_reqs: f64,
    pub iterations: f64,
    /// Why it was lost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The answer of `GET dashboard/data?since=K`.
#[derive(Serialize)]
struct Data<'a> {
    test: &'a str,
    testid: &'a str,
    /// `starting` (before the load), `running`, or `done` (the page is now the report).
    phase: &'static str,
    control: bool,
    elapsed_ms: u64,
    total_ms: u64,
    vus: u64,
    vus_max: u64,
    totals: Option<&'a Point>,
    /// The index of the first point in `points` (the page's `since`).
    since: usize,
    /// Every interval from `since` (at most [`MAX_POINTS_PER_ANSWER`]).
    points: &'a [Point],
    /// How many points there are in all.
    point_count: usize,
    thresholds: &'a [ThresholdRow],
    runners: &'a [RunnerRow],
    verdict: Option<Verdict>,
    exit_code: Option<ExitCode>,
}

fn rows(plan: &Plan, total: &Aggregate, results: &[ThresholdResult]) -> Vec<ThresholdRow> {
    results
        .iter()
        .map(|r| {
            let t = plan.thresholds.get(r.index);
            let view = t.and_then(|t| total.view(&t.metric, &t.tags));
            ThresholdRow {
                name: r.key(),
                passed: r.passed,
                conditions: r
                    .conditions
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let agg = t.and_then(|t| t.conditions.get(i)).map(|c| c.aggregation);
                        let unit = view.as_ref().map(|v| (v.kind, v.contains));
                        ConditionRow {
                            source: c.source.clone(),
                            observed: c.observed,
                            observed_text: c.observed.map(|x| observed_text(x, unit, agg)),
                            passed: c.passed,
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

/// A threshold's observed value in its metric's units, as the summary writes them; a
/// bare number when the metric is unknown.
fn observed_text(x: f64, unit: Option<(MetricKind, Contains)>, agg: Option<Aggregation>) -> String {
    let count_or_rate = matches!(agg, Some(Aggregation::Count | Aggregation::Rate));
    match (unit, agg) {
        (Some((MetricKind::Rate, _)), _) => format!("{}%", fmt_num(x * 100.0)),
        (Some((_, Contains::Time)), _) if !count_or_rate => fmt_duration(x),
        (Some((_, Contains::Data)), Some(Aggregation::Rate)) => format!("{}/s", fmt_bytes(x)),
        (Some((_, Contains::Data)), _) => fmt_bytes(x),
        (_, Some(Aggregation::Rate)) => format!("{}/s", fmt_num(x)),
        _ => fmt_num(x),
    }
}

impl Dashboard {
    /// The live view of a run of `plan`; `source` is the `.load` text the report shows.
    pub fn new(plan: Arc<Plan>, testid: impl Into<String>, source: Option<String>) -> Dashboard {
        Dashboard(Arc::new(Mutex::new(State {
            plan,
            runners: None,
            source,
            testid: testid.into(),
            control: false,
            started: false,
            elapsed_ms: 0,
            vus: 0,
            vus_max: 0,
            points: Vec::new(),
            totals: None,
            thresholds: Vec::new(),
            verdict: None,
            exit_code: None,
            report: None,
        })))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Served by a fleet's coordinator: the page shows the abort form (the token is asked
    /// for in the page and sent with `POST v1/abort`; nothing else needs it).
    pub fn set_control(&self, control: bool) {
        self.lock().control = control;
    }

    /// Where the rows of a fleet's runners come from: a coordinator sets it, so the page
    /// shows them on any server of this dashboard.
    pub fn set_runner_rows(&self, rows: impl Fn() -> Vec<RunnerRow> + Send + Sync + 'static) {
        self.lock().runners = Some(Arc::new(rows));
    }

    /// A closed interval.
    pub(crate) fn interval(&self, p: &Point) {
        self.lock().points.push(p.clone());
    }

    /// The cumulative figures and the running threshold verdicts, at a flush.
    pub(crate) fn update(&self, total: &Aggregate, live: &Live) {
        let mut st = self.lock();
        let results = thresholds::evaluate(&st.plan.thresholds, total, Phase::Running);
        st.thresholds = rows(&st.plan, total, &results);
        st.started = true;
        st.elapsed_ms = u64::try_from(live.elapsed.as_millis()).unwrap_or(u64::MAX);
        st.vus = live.vus;
        st.vus_max = live.vus_max;
        st.totals = Some(Point::from_delta(
            total,
            live,
            super::unix_ms(SystemTime::now()),
            0,
        ));
    }

    /// The end: the final verdicts and the report the page turns into.
    pub(crate) fn finish(
        &self,
        summary: &Summary,
        total: &Aggregate,
        timeline: &Timeline,
        live: &Live,
    ) {
        let (plan, source, testid) = {
            let st = self.lock();
            (Arc::clone(&st.plan), st.source.clone(), st.testid.clone())
        };
        let html = render(&ReportInput {
            summary,
            total,
            timeline,
            plan: &plan,
            source: source.as_deref(),
            testid: &testid,
            generated: SystemTime::now(),
        });
        let results = thresholds::evaluate(&plan.thresholds, total, Phase::End);
        let mut st = self.lock();
        st.thresholds = rows(&plan, total, &results);
        st.elapsed_ms = u64::try_from(live.elapsed.as_millis()).unwrap_or(u64::MAX);
        st.vus = live.vus;
        st.vus_max = live.vus_max;
        st.totals = Some(Point::from_delta(
            total,
            live,
            super::unix_ms(SystemTime::now()),
            0,
        ));
        st.verdict = Some(summary.volley.verdict);
        st.exit_code = Some(summary.exit_code());
        st.report = Some(Bytes::from(html));
    }

    /// Whether the run has ended (the page is the report).
    pub fn is_done(&self) -> bool {
        self.lock().report.is_some()
    }

    /// The page: the live dashboard, or the report once the run has ended.
    pub fn page(&self) -> Bytes {
        let st = self.lock();
        match &st.report {
            Some(r) => r.clone(),
            None => Bytes::from(page::live(&st.plan.name)),
        }
    }

    /// The JSON of `dashboard/data` from point `since` on, with a fleet's `runners`.
    pub fn data(&self, since: usize, runners: &[RunnerRow]) -> Vec<u8> {
        let st = self.lock();
        let since = since.min(st.points.len());
        let end = since
            .saturating_add(MAX_POINTS_PER_ANSWER)
            .min(st.points.len());
        let phase = if st.report.is_some() {
            "done"
        } else if st.started {
            "running"
        } else {
            "starting"
        };
        let data = Data {
            test: &st.plan.name,
            testid: &st.testid,
            phase,
            control: st.control,
            elapsed_ms: st.elapsed_ms,
            total_ms: st.plan.planned_duration_ms(),
            vus: st.vus,
            vus_max: st.vus_max,
            totals: st.totals.as_ref(),
            since,
            points: &st.points[since..end],
            point_count: st.points.len(),
            thresholds: &st.thresholds,
            runners,
            verdict: st.verdict,
            exit_code: st.exit_code,
        };
        serde_json::to_vec(&data).unwrap_or_default()
    }

    /// The dashboard's answer to a request, or `None` when the path is not one of its
    /// own: `GET /dashboard` (and `/` when `root`), `GET /dashboard/data?since=K`.
    /// `runners` is asked only for the data. Every other method on its paths is 405:
    /// the dashboard is read-only.
    pub fn route(
        &self,
        method: &Method,
        path: &str,
        query: &str,
        root: bool,
        runners: impl FnOnce() -> Vec<RunnerRow>,
    ) -> Option<Reply> {
        let page = path == "/dashboard" || (root && path == "/");
        let data = path == "/dashboard/data";
        if !page && !data {
            return None;
        }
        if *method != Method::GET && *method != Method::HEAD {
            return Some(Reply {
                status: 405,
                body: Bytes::from_static(b"{\"error\":\"the dashboard is read-only\"}"),
            });
        }
        if page {
            return Some(Reply {
                status: 200,
                body: self.page(),
            });
        }
        let since = crate::fleet::http::query_param(query, "since")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut rows = runners();
        if rows.is_empty() {
            // Called without the lock held: the source may take a lock of its own.
            let source = self.lock().runners.clone();
            rows = source.map(|f| f()).unwrap_or_default();
        }
        Some(Reply {
            status: 200,
            body: Bytes::from(self.data(since, &rows)),
        })
    }
}

#[cfg(test)]
mod tests;
