//! `--out csv=FILE`: k6's CSV output. The header, the column order, the metric names, the
//! value format (`%f`), the timestamp formats (`time_format`, k6's `timeFormat`: unix
//! seconds by default), the empty columns of unset tags, `extra_tags` (`k=v&k2=v2`) and
//! gzip for a name ending in `.gz` are k6 1.1.0's (checked against the real k6 by the
//! end-to-end test). One row per sample, as k6 writes:
//!
//! ```text
//! metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,method,name,proto,scenario,service,status,subproto,tls_version,url,extra_tags,metadata
//! http_reqs,1746093601,1.000000,,,,true,::browse,GET,/api/products,,browse,,200,,,,,
//! http_req_duration,1746093601,12.345000,,,,true,::browse,GET,/api/products,,browse,,200,,,,,
//! ```
//!
//! Volley keeps histograms, not samples: the engine never hands a single request's
//! numbers to anyone (that would cost the hot path a copy per sample). The rows are the
//! samples of each closed interval (one second) as its merged deltas hold them:
//! - a trend writes one row per sample, with the value of its histogram bucket (3
//!   significant figures: `12.345` ms is `12.345`, `1234.5` ms is `1235.0`);
//! - a rate one row per sample, `1` for each hit then `0` for each miss (`checks`,
//!   `http_req_failed`);
//! - `http_reqs`, `iterations` and `dropped_iterations` one row of `1` per sample; other
//!   counters (`data_sent`, `data_received`, custom ones) one row with the interval's sum,
//!   where k6 writes one row per addition;
//! - `vus` and `vus_max` one row each per interval, as k6 writes them every second;
//!   another gauge one row with its last value.
//!
//! So row counts and sums equal k6's for every per-request metric; what differs: every
//! row of an interval carries the interval's end as its timestamp (k6: the sample's own
//! time; a row's time is at most one interval, a second, after the sample's), the rows of
//! one request are not next to each other (they come by metric, then by tag set), and
//! trend values are rounded to the histogram's precision.
//!
//! This module must not do network IO; a write error is reported once, never panics.

use super::{Interval, Output, OutputError};
use crate::metrics::SeriesData;
use crate::summary::Summary;
use flate2::write::GzEncoder;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// k6 1.1.0's header, in its order.
pub const HEADER: &[&str] = &[
    "metric_name",
    "timestamp",
    "metric_value",
    "check",
    "error",
    "error_code",
    "expected_response",
    "group",
    "method",
    "name",
    "proto",
    "scenario",
    "service",
    "status",
    "subproto",
    "tls_version",
    "url",
    "extra_tags",
    "metadata",
];

/// The tag columns (between `metric_value` and `extra_tags`): all but the first three
/// and the last two of the header.
const TAG_COLUMNS: &[&str] = HEADER.split_at(3).1.split_at(HEADER.len() - 5).0;

/// Counters every sample of which adds exactly 1: written as one row of `1` per sample.
const UNIT_COUNTERS: &[&str] = &["http_reqs", "iterations", "dropped_iterations"];

/// k6's `timeFormat` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeFormat {
    Unix,
    UnixMilli,
    UnixMicro,
    UnixNano,
    Rfc3339,
    Rfc3339Nano,
}

impl TimeFormat {
    pub fn parse(s: &str) -> Option<TimeFormat> {
        Some(match s {
            "unix" => TimeFormat::Unix,
            "unix_milli" => TimeFormat::UnixMilli,
            "unix_micro" => TimeFormat::UnixMicro,
            "unix_nano" => TimeFormat::UnixNano,
            "rfc3339" => TimeFormat::Rfc3339,
            "rfc3339_nano" => TimeFormat::Rfc3339Nano,
            _ => return None,
        })
    }

    /// The time as k6 writes it.
    pub fn format(self, at: SystemTime) -> String {
        let d = at.duration_since(UNIX_EPOCH).unwrap_or_default();
        match self {
            TimeFormat::Unix => d.as_secs().to_string(),
            TimeFormat::UnixMilli => d.as_millis().to_string(),
            TimeFormat::UnixMicro => d.as_micros().to_string(),
            TimeFormat::UnixNano => d.as_nanos().to_string(),
            TimeFormat::Rfc3339 => humantime::format_rfc3339_seconds(at).to_string(),
            TimeFormat::Rfc3339Nano => {
                // Go's RFC3339Nano drops trailing zeros of the fraction.
                let s = humantime::format_rfc3339_nanos(at).to_string();
                let (body, _) = s.split_at(s.len() - 1);
                match body.split_once('.') {
                    Some((whole, frac)) => {
                        let frac = frac.trim_end_matches('0');
                        if frac.is_empty() {
                            format!("{whole}Z")
                        } else {
                            format!("{whole}.{frac}Z")
                        }
                    }
                    None => s,
                }
            }
        }
    }
}

pub(crate) struct CsvOutput {
    path: PathBuf,
    out: csv::Writer<Sink>,
    time_format: TimeFormat,
    save_interval: Option<Duration>,
    /// Time written since the last flush of the file.
    unsaved: Duration,
    rows: u64,
    failed: Option<String>,
}

/// The file, gzipped when its name ends in `.gz` (as k6 does).
enum Sink {
    Plain(BufWriter<File>),
    Gzip(GzEncoder<BufWriter<File>>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(buf),
            Sink::Gzip(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Gzip(w) => w.flush(),
        }
    }
}

impl Sink {
    fn finish(self) -> std::io::Result<()> {
        match self {
            Sink::Plain(mut w) => w.flush(),
            Sink::Gzip(w) => w.finish()?.flush(),
        }
    }
}

impl CsvOutput {
    /// Creates the file and writes the header (an unwritable path fails before any load).
    pub fn create(
        path: &Path,
        time_format: TimeFormat,
        save_interval: Option<Duration>,
    ) -> Result<CsvOutput, OutputError> {
        let create = |source| OutputError::Create {
            kind: "csv",
            path: path.to_path_buf(),
            source,
        };
        let file = BufWriter::with_capacity(256 * 1024, File::create(path).map_err(create)?);
        let gz = path.extension().is_some_and(|e| e == "gz");
        let sink = if gz {
            Sink::Gzip(GzEncoder::new(file, flate2::Compression::default()))
        } else {
            Sink::Plain(file)
        };
        let mut out = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(sink);
        out.write_record(HEADER)
            .and_then(|()| out.flush().map_err(csv::Error::from))
            .map_err(|e| create(std::io::Error::other(e)))?;
        Ok(CsvOutput {
            path: path.to_path_buf(),
            out,
            time_format,
            save_interval,
            unsaved: Duration::ZERO,
            rows: 0,
            failed: None,
        })
    }

    fn write_interval(&mut self, iv: &Interval<'_>) -> csv::Result<()> {
        let time = self.time_format.format(iv.at);
        let mut row: Vec<String> = vec![String::new(); HEADER.len()];
        for (metric, tags, data) in iv.delta.series() {
            if metric == "vus" || metric == "vus_max" {
                continue;
            }
            fill(&mut row, metric, &time, tags);
            let mut put = |row: &mut Vec<String>, v: f64, n: u64| -> csv::Result<()> {
                row[2] = value(v);
                for _ in 0..n {
                    self.out.write_record(row.iter())?;
                }
                self.rows += n;
                Ok(())
            };
            match data {
                SeriesData::Trend { min, max, hist, .. } => {
                    let h = &hist.0;
                    for b in h.iter_recorded() {
                        let units = h.median_equivalent(b.value_iterated_to());
                        let v = crate::metrics::hist::from_units(units).clamp(*min, *max);
                        put(&mut row, v, b.count_at_value())?;
                    }
                }
                SeriesData::Counter { sum } => {
                    let whole = sum.fract() == 0.0 && *sum >= 0.0 && *sum < 1e12;
                    if UNIT_COUNTERS.contains(&metric) && whole {
                        put(&mut row, 1.0, *sum as u64)?;
                    } else if *sum != 0.0 {
                        put(&mut row, *sum, 1)?;
                    }
                }
                SeriesData::Rate { hits, total } => {
                    put(&mut row, 1.0, *hits)?;
                    put(&mut row, 0.0, total.saturating_sub(*hits))?;
                }
                SeriesData::Gauge { value, .. } => put(&mut row, *value, 1)?,
            }
        }
        let none = BTreeMap::new();
        for (metric, v) in [("vus", iv.live.vus), ("vus_max", iv.live.vus_max)] {
            fill(&mut row, metric, &time, &none);
            row[2] = value(v as f64);
            self.out.write_record(row.iter())?;
            self.rows += 1;
        }
        self.unsaved += Duration::from_secs_f64(iv.secs.max(0.0));
        if self.save_interval.is_none_or(|s| self.unsaved >= s) {
            self.out.flush()?;
            self.unsaved = Duration::ZERO;
        }
        Ok(())
    }
}

/// Sets the name, time and tag columns of a row (the value is set per sample).
fn fill(row: &mut [String], metric: &str, time: &str, tags: &BTreeMap<String, String>) {
    row[0] = metric.to_string();
    row[1] = time.to_string();
    for (i, key) in TAG_COLUMNS.iter().enumerate() {
        let cell = &mut row[3 + i];
        cell.clear();
        if let Some(v) = tags.get(*key) {
            // k6's group path starts with `::`; Volley's tag does not.
            if *key == "group" && !v.is_empty() && !v.starts_with("::") {
                cell.push_str("::");
            }
            cell.push_str(v);
        }
    }
    let extra: Vec<String> = tags
        .iter()
        .filter(|(k, _)| !TAG_COLUMNS.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    row[3 + TAG_COLUMNS.len()] = extra.join("&");
    row[4 + TAG_COLUMNS.len()].clear();
}

/// A value as Go's `%f` writes it.
fn value(v: f64) -> String {
    format!("{v:.6}")
}

impl Output for CsvOutput {
    fn flush(&mut self, iv: &Interval<'_>) -> Result<(), OutputError> {
        if self.failed.is_some() {
            return Ok(());
        }
        self.write_interval(iv).map_err(|e| {
            let e = OutputError::Write {
                kind: "csv",
                path: self.path.clone(),
                source: std::io::Error::other(e),
            };
            self.failed = Some(e.to_string());
            e
        })
    }

    fn finish(self: Box<Self>, _summary: &Summary, _total: &crate::metrics::Aggregate) -> String {
        let CsvOutput {
            path,
            out,
            rows,
            failed,
            ..
        } = *self;
        let closed = out
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(Sink::finish);
        match (failed, closed) {
            (Some(e), _) => format!("warning: {e}"),
            (None, Err(e)) => format!(
                "warning: {}",
                OutputError::Write {
                    kind: "csv",
                    path: path.clone(),
                    source: e,
                }
            ),
            (None, Ok(())) => format!("csv: {rows} rows in {}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_formats_are_k6s() {
        let at = UNIX_EPOCH + Duration::new(1_796_586_682, 743_305_400);
        assert_eq!(TimeFormat::Unix.format(at), "1796586682");
        assert_eq!(TimeFormat::UnixMilli.format(at), "1796586682743");
        assert_eq!(TimeFormat::UnixMicro.format(at), "1796586682743305");
        assert_eq!(TimeFormat::UnixNano.format(at), "1796586682743305400");
        assert_eq!(TimeFormat::Rfc3339.format(at), "2026-12-06T19:51:22Z");
        assert_eq!(
            TimeFormat::Rfc3339Nano.format(at),
            "2026-12-06T19:51:22.7433054Z"
        );
        assert_eq!(
            TimeFormat::Rfc3339Nano.format(UNIX_EPOCH + Duration::from_secs(1)),
            "1970-01-01T00:00:01Z"
        );
        assert_eq!(TimeFormat::parse("unixMilli"), None);
    }

    #[test]
    fn tags_go_to_their_columns_and_the_rest_to_extra_tags() {
        let mut row = vec![String::new(); HEADER.len()];
        let tags: BTreeMap<String, String> = [
            ("group", "browse::list"),
            ("status", "200"),
            ("method", "GET"),
            ("env", "ci"),
            ("team", "a,b"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        fill(&mut row, "http_reqs", "17", &tags);
        assert_eq!(row[0], "http_reqs");
        assert_eq!(row[7], "::browse::list");
        assert_eq!(row[8], "GET");
        assert_eq!(row[13], "200");
        assert_eq!(row[17], "env=ci&team=a,b");
        assert_eq!(value(1.0), "1.000000");
    }
}
