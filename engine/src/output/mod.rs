//! Results where teams already look: `--out json=FILE` (NDJSON), `--out csv=FILE` (k6's
//! CSV), `--out junit=FILE` (the verdict as JUnit XML), `--out prometheus=URL` (remote
//! write), `--out influxdb=URL` (line protocol), `--out otlp=URL` (OTLP/HTTP protobuf) and `--report FILE.html`, plus the
//! Prometheus text format of an aggregate for a `/metrics` endpoint
//! ([`prometheus::text`]), and the live view `--dashboard` and a coordinator serve
//! ([`dashboard`]). See docs/outputs.md for flags, names and shapes.
//!
//! The interface, the same for the local driver and the fleet coordinator:
//!
//! ```text
//! let mut outs = OutputSet::new(OutputConfig { specs, report, testid, plan, source, env })?;
//! outs.observe(&snapshot);                      // every delta merged into the aggregate
//! outs.flush(SystemTime::now(), &agg, &live);   // once a second, after that second's deltas
//! let notes = outs.finish(&summary, &agg, &live);      // once, at the end (lines for stderr)
//! ```
//!
//! The run is cut into fixed intervals from its start instant (see [`timeline`]).
//! `observe` files a delta under the interval it was taken in (`Snapshot::end_ms`; see
//! `intervals`); `flush` closes every interval that ended at least [`SETTLE`] (or what
//! [`OutputSet::set_settle`] says) before `live.elapsed`, the time since the start, and
//! hands each, with its true start, end and length, the cumulative aggregate and the live
//! VU counts, to every output: the JSON file is written and flushed, the network outputs
//! encode a batch and queue it for their own thread (see `sender`: bounded, drop-oldest,
//! retried with back-off, never blocking the load), and the report's [`Timeline`] gets a
//! point. `finish` closes the intervals left (the last one ends with the run), writes the
//! report, drains the network queues for a bounded time and returns one note per output
//! (what was written, what was dropped).
//!
//! This module must not evaluate thresholds, merge into the run's own aggregate, or print;
//! it never writes a token anywhere (tokens only travel in request headers).

pub mod csv;
pub mod dashboard;
mod error;
pub mod influx;
pub(crate) mod intervals;
pub mod json;
pub mod junit;
pub mod otlp;
pub mod prometheus;
pub mod report;
mod sender;
pub mod spec;
pub mod stats;
#[cfg(test)]
mod tests;
pub mod timeline;

pub use error::{CodecError, OutputError, SpecError, TrendStatError};
pub use sender::{SendPolicy, SendReport};
pub use spec::OutSpec;
pub use timeline::{Point, Timeline};

use crate::metrics::{Aggregate, Registry, Snapshot};
use crate::summary::Summary;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use volley_plan::Plan;

/// What the outputs of one run need to know.
#[derive(Clone, Debug)]
pub struct OutputConfig {
    /// `--out` specs as typed: `json=FILE`, `csv=FILE[,k=v…]`, `junit=FILE`,
    /// `prometheus=URL[,k=v…]`, `influxdb=URL[,k=v…]`.
    pub specs: Vec<String>,
    /// `--report FILE.html`.
    pub report: Option<PathBuf>,
    /// The run's id: the `testid` label, tag and field of every output (a spec's own
    /// `testid=` option overrides it for that output).
    pub testid: String,
    /// The plan: metric definitions, secret names, the report's plan summary.
    pub plan: Arc<Plan>,
    /// The `.load` source the report shows, when the caller has it.
    pub source: Option<String>,
    /// Where `token_env`, `token_secret` and `VOLLEY_PROMETHEUS_TREND_STATS` are read
    /// (the process environment, normally).
    pub env: BTreeMap<String, String>,
}

/// The live numbers the driver knows better than the snapshots (a fleet's VUs are the
/// sum over runners).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Live {
    /// Time since the scenarios started.
    pub elapsed: Duration,
    /// Active VUs now.
    pub vus: u64,
    /// VUs allocated so far.
    pub vus_max: u64,
}

/// One closed interval, as the outputs see it.
pub struct Interval<'a> {
    /// End of the interval.
    pub at: SystemTime,
    /// Its length in seconds.
    pub secs: f64,
    /// The interval's merged deltas.
    pub delta: &'a Aggregate,
    /// Everything so far.
    pub total: &'a Aggregate,
    /// The VU counts, and in `elapsed` the end of the interval since the start.
    pub live: &'a Live,
}

/// How long after an interval's end [`OutputSet::flush`] waits for its deltas before it
/// closes it, by default: the local driver flushes this long after the workers' snapshots.
pub const SETTLE: Duration = Duration::from_millis(200);

impl Interval<'_> {
    /// End of the interval in Unix ms.
    pub fn unix_ms(&self) -> u64 {
        unix_ms(self.at)
    }
}

/// A duration in whole ms.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Unix time in ms (0 before the epoch).
pub fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What every output does.
trait Output: Send {
    /// Writes or queues one interval.
    fn flush(&mut self, iv: &Interval<'_>) -> Result<(), OutputError>;
    /// The end: the last interval was flushed; returns the note for stderr.
    fn finish(self: Box<Self>, summary: &Summary, total: &Aggregate) -> String;
}

/// Every output of a run.
pub struct OutputSet {
    outputs: Vec<Box<dyn Output>>,
    report: Option<report::ReportFile>,
    /// `--dashboard` or a coordinator's page: the live view it serves.
    dashboard: Option<dashboard::Dashboard>,
    intervals: intervals::Intervals,
    timeline: Timeline,
    /// How long after its end an interval is closed (see [`OutputSet::set_settle`]).
    settle: Duration,
    /// Errors of `flush` already noted, by output (each is noted once).
    errors: Vec<String>,
}

impl OutputSet {
    /// Parses the specs, resolves tokens, opens files and starts the network threads.
    /// Errors (a bad spec, a missing token variable, a file that cannot be created) come
    /// before any load.
    pub fn new(cfg: OutputConfig) -> Result<OutputSet, OutputError> {
        let registry = Registry::new(&cfg.plan.metrics);
        let mut outputs: Vec<Box<dyn Output>> = Vec::new();
        for raw in &cfg.specs {
            match spec::parse(raw)? {
                OutSpec::Json { path } => {
                    outputs.push(Box::new(json::JsonOutput::create(&path, &cfg.testid)?))
                }
                OutSpec::Csv {
                    path,
                    time_format,
                    save_interval,
                } => outputs.push(Box::new(csv::CsvOutput::create(
                    &path,
                    time_format,
                    save_interval,
                )?)),
                OutSpec::Junit { path } => outputs.push(Box::new(junit::JunitOutput::create(
                    &path,
                    Arc::clone(&cfg.plan),
                    &cfg.testid,
                )?)),
                OutSpec::Prometheus { url, opts } => outputs.push(Box::new(
                    prometheus::RemoteWrite::start(url, &opts, &cfg, SendPolicy::default())?,
                )),
                OutSpec::Otlp { url, opts } => outputs.push(Box::new(otlp::Otlp::start(
                    url,
                    &opts,
                    &cfg,
                    SendPolicy::default(),
                )?)),
                OutSpec::Influx { url, opts } => outputs.push(Box::new(influx::Influx::start(
                    url,
                    &opts,
                    &cfg,
                    SendPolicy::default(),
                )?)),
            }
        }
        let report = match &cfg.report {
            Some(path) => Some(report::ReportFile::create(path, &cfg)?),
            None => None,
        };
        Ok(OutputSet {
            outputs,
            report,
            dashboard: None,
            intervals: intervals::Intervals::new(registry),
            timeline: Timeline::default(),
            settle: SETTLE,
            errors: Vec::new(),
        })
    }

    /// Whether there is nothing to write (no spec, no report, no dashboard).
    pub fn is_empty(&self) -> bool {
        self.outputs.is_empty() && self.report.is_none() && self.dashboard.is_none()
    }

    /// Feeds `d` too: every closed interval, the cumulative figures and running
    /// threshold verdicts at each flush, the report at the end.
    pub fn attach_dashboard(&mut self, d: dashboard::Dashboard) {
        self.dashboard = Some(d);
    }

    /// The dashboard this set feeds, if any.
    pub fn dashboard(&self) -> Option<&dashboard::Dashboard> {
        self.dashboard.as_ref()
    }

    /// How long after its end an interval waits for late deltas before [`flush`] closes
    /// it: [`SETTLE`] by default; a fleet's coordinator, whose runners' deltas arrive up
    /// to a push period late, waits longer.
    ///
    /// [`flush`]: OutputSet::flush
    pub fn set_settle(&mut self, settle: Duration) {
        self.settle = settle;
    }

    /// Files one delta snapshot under the interval it was taken in.
    pub fn observe(&mut self, s: &Snapshot) {
        if !s.is_empty() {
            self.intervals.observe(s);
        }
    }

    /// Closes every interval that ended at least the settle time before `live.elapsed`
    /// (the time since the start, read at `at`) and hands each to every output. `total`
    /// is the run's cumulative aggregate.
    pub fn flush(&mut self, at: SystemTime, total: &Aggregate, live: &Live) {
        let now_ms = millis(live.elapsed);
        let until = now_ms.saturating_sub(millis(self.settle));
        for c in self.intervals.close_until(until) {
            self.emit(c, at, now_ms, total, live);
        }
        if let Some(d) = &self.dashboard {
            d.update(total, live);
        }
    }

    /// Hands one closed interval to every output; `at` is the wall clock when `now_ms`
    /// had passed since the start.
    fn emit(
        &mut self,
        c: intervals::Closed,
        at: SystemTime,
        now_ms: u64,
        total: &Aggregate,
        live: &Live,
    ) {
        let end = Duration::from_millis(c.end_ms);
        let live = Live {
            elapsed: end,
            ..*live
        };
        let at = at
            .checked_sub(Duration::from_millis(now_ms.saturating_sub(c.end_ms)))
            .unwrap_or(at);
        let delta = c.delta;
        let iv = Interval {
            at,
            secs: c.end_ms.saturating_sub(c.start_ms) as f64 / 1000.0,
            delta: &delta,
            total,
            live: &live,
        };
        for out in &mut self.outputs {
            if let Err(e) = out.flush(&iv) {
                let e = e.to_string();
                if !self.errors.contains(&e) {
                    self.errors.push(e);
                }
            }
        }
        if self.report.is_some() || self.dashboard.is_some() {
            let point = Point::from_delta(&delta, &live, iv.unix_ms(), c.start_ms);
            if let Some(d) = &self.dashboard {
                d.interval(&point);
            }
            self.timeline.push(point);
        }
    }

    /// The report's timeline so far.
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// Closes the intervals left, the last one ending at `live.elapsed` (the run's end),
    /// writes the report, drains the network queues (bounded) and returns one note per
    /// output, warnings first (`warning: …`).
    pub fn finish(mut self, summary: &Summary, total: &Aggregate, live: &Live) -> Vec<String> {
        let (at, now_ms) = (SystemTime::now(), millis(live.elapsed));
        for c in self.intervals.close_all(now_ms) {
            self.emit(c, at, now_ms, total, live);
        }
        let mut notes: Vec<String> = self
            .errors
            .iter()
            .map(|e| format!("warning: {e}"))
            .collect();
        if let Some(r) = self.report.take() {
            notes.push(r.write(summary, total, &self.timeline));
        }
        if let Some(d) = self.dashboard.take() {
            d.finish(summary, total, &self.timeline, live);
        }
        for out in self.outputs.drain(..) {
            // An output that failed says so in its own note too: once is enough.
            let note = out.finish(summary, total);
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
        notes.sort_by_key(|n| !n.starts_with("warning"));
        notes
    }
}

/// The default run id: `NAME-YYYYMMDDTHHMMSSZ` (the plan's name and the start, UTC).
pub fn default_testid(plan_name: &str, at: SystemTime) -> String {
    let stamp: String = humantime::format_rfc3339_seconds(at)
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let name: String = plan_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{name}-{stamp}")
}

/// Resolves `token_env=VAR` or `token_secret=NAME` of a spec to the token; `None` when the
/// spec names neither. The value is never part of an error message.
pub(crate) fn resolve_token(
    kind: &str,
    opts: &BTreeMap<String, String>,
    cfg: &OutputConfig,
) -> Result<Option<Secret>, OutputError> {
    let var = if let Some(var) = opts.get("token_env") {
        var.clone()
    } else if let Some(name) = opts.get("token_secret") {
        match cfg.plan.secrets.iter().find(|s| &s.name == name) {
            Some(s) => s.env.clone(),
            None => {
                let known: Vec<&str> = cfg.plan.secrets.iter().map(|s| s.name.as_str()).collect();
                return Err(OutputError::UnknownSecret {
                    kind: kind.to_string(),
                    name: name.clone(),
                    known: if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    },
                });
            }
        }
    } else {
        return Ok(None);
    };
    match cfg.env.get(&var) {
        Some(v) if !v.is_empty() => Ok(Some(Secret(v.clone()))),
        _ => Err(OutputError::TokenUnset {
            kind: kind.to_string(),
            var,
        }),
    }
}

/// The `Authorization: SCHEME TOKEN` header of a spec's `token_env=`/`token_secret=`
/// (`Bearer` for Prometheus and OTLP, `Token` for InfluxDB), marked sensitive; `None`
/// when the spec names no token. The value is never part of an error message.
pub(crate) fn auth_header(
    kind: &str,
    scheme: &str,
    opts: &BTreeMap<String, String>,
    cfg: &OutputConfig,
) -> Result<Option<(http::HeaderName, http::HeaderValue)>, OutputError> {
    let Some(token) = resolve_token(kind, opts, cfg)? else {
        return Ok(None);
    };
    let mut v =
        http::HeaderValue::from_str(&format!("{scheme} {}", token.0)).map_err(|source| {
            OutputError::TokenHeader {
                kind: kind.into(),
                source,
            }
        })?;
    v.set_sensitive(true);
    Ok(Some((http::header::AUTHORIZATION, v)))
}

/// A token: its `Debug` never shows the value.
#[derive(Clone)]
pub(crate) struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}
