//! `--out influxdb=URL`: InfluxDB line protocol, one point per metric series per
//! interval (the interval's own values, ms precision), POSTed by the output's own sender
//! thread. Which API is chosen by the URL's shape:
//!
//! | URL | API |
//! |---|---|
//! | `http://host:8086/write?db=volley` | 1.x `/write` (`db` required) |
//! | `http://host:8086/volley` | 1.x, the database as the path (k6's form) |
//! | `http://host:8086/api/v2/write?org=o&bucket=b` | 2.x (`org` and `bucket` required) |
//!
//! The token (`token_env=VAR`, or `token_secret=NAME` for a `secret` of the .load file)
//! travels only as `Authorization: Token …`. Fields per kind: counter `value` (added in
//! the interval); rate `value` (ratio), `hits`, `total`; gauge `value`, `min`, `max`;
//! trend `value` (= avg), `count`, `sum`, `avg`, `min`, `med`, `max`, `p90`, `p95`,
//! `p99` (ms for time trends). Tags: the series' tags (no `url`) and `testid`.
//! This module must not block the driver on the network.

use super::prometheus::remote::note;
use super::sender::{SendPolicy, Sender, Target};
use super::stats::{finite, TrendNumbers, TrendStat};
use super::{auth_header, Interval, Output, OutputConfig, OutputError, SpecError};
use crate::metrics::{Aggregate, SeriesData};
use crate::summary::Summary;
use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use url::Url;

/// The API version a URL selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    V1,
    V2,
}

/// The write URL for a spec URL (with `precision=ms` added), and its API.
pub fn write_url(url: &Url) -> Result<(Url, Api), SpecError> {
    let mut u = url.clone();
    let has = |k: &str| url.query_pairs().any(|(q, v)| q == k && !v.is_empty());
    let path = url.path().trim_end_matches('/').to_string();
    let api = if path.ends_with("/api/v2/write") {
        if !has("org") || !has("bucket") {
            return Err(SpecError::InfluxOrgBucket);
        }
        Api::V2
    } else if path.ends_with("/write") {
        if !has("db") {
            return Err(SpecError::InfluxDb);
        }
        Api::V1
    } else {
        let db = path.trim_start_matches('/');
        if db.is_empty() || db.contains('/') {
            return Err(SpecError::InfluxNoDatabase);
        }
        let db = db.to_string();
        u.set_path("/write");
        u.query_pairs_mut().append_pair("db", &db);
        Api::V1
    };
    if !has("precision") {
        u.query_pairs_mut().append_pair("precision", "ms");
    }
    Ok((u, api))
}

/// The trend fields every point carries (besides `value`).
const TREND: &[(&str, TrendStat)] = &[
    ("count", TrendStat::Count),
    ("sum", TrendStat::Sum),
    ("avg", TrendStat::Avg),
    ("min", TrendStat::Min),
    ("med", TrendStat::Med),
    ("max", TrendStat::Max),
    ("p90", TrendStat::P(90.0)),
    ("p95", TrendStat::P(95.0)),
    ("p99", TrendStat::P(99.0)),
];

/// The line-protocol body of one interval.
pub fn lines(iv: &Interval<'_>, testid: &str) -> String {
    let ts = iv.unix_ms();
    let mut out = String::new();
    let extra = BTreeMap::from([("testid".to_string(), testid.to_string())]);
    for (metric, tags, data) in iv.delta.series() {
        if metric == "vus" || metric == "vus_max" {
            continue;
        }
        let Some(fields) = fields(data) else { continue };
        point(&mut out, metric, tags, &extra, &fields, ts);
    }
    let none = BTreeMap::new();
    for (metric, v) in [("vus", iv.live.vus), ("vus_max", iv.live.vus_max)] {
        let v = v as f64;
        let fields = vec![("value", num(v)), ("min", num(v)), ("max", num(v))];
        point(&mut out, metric, &none, &extra, &fields, ts);
    }
    out
}

fn point(
    out: &mut String,
    metric: &str,
    tags: &BTreeMap<String, String>,
    extra: &BTreeMap<String, String>,
    fields: &[(&str, String)],
    ts: u64,
) {
    out.push_str(&escape(metric, &[',', ' ']));
    let mut all: BTreeMap<&str, &str> = BTreeMap::new();
    for (k, v) in tags.iter().chain(extra) {
        if k != "url" && !v.is_empty() {
            all.insert(k, v);
        }
    }
    for (k, v) in all {
        let _ = write!(
            out,
            ",{}={}",
            escape(k, &[',', '=', ' ']),
            escape(v, &[',', '=', ' '])
        );
    }
    for (i, (k, v)) in fields.iter().enumerate() {
        out.push(if i == 0 { ' ' } else { ',' });
        let _ = write!(out, "{k}={v}");
    }
    let _ = writeln!(out, " {ts}");
}

fn fields(data: &SeriesData) -> Option<Vec<(&'static str, String)>> {
    Some(match data {
        SeriesData::Trend { .. } => {
            let n = TrendNumbers::of(data)?;
            let mut f = vec![("value", num(n.get(TrendStat::Avg)))];
            for (k, s) in TREND {
                f.push(match s {
                    TrendStat::Count => (*k, format!("{}i", n.count)),
                    _ => (*k, num(n.get(*s))),
                });
            }
            f
        }
        SeriesData::Counter { sum } => vec![("value", num(*sum))],
        SeriesData::Rate { hits, total } => {
            let rate = if *total > 0 {
                *hits as f64 / *total as f64
            } else {
                0.0
            };
            vec![
                ("value", num(rate)),
                ("hits", format!("{hits}i")),
                ("total", format!("{total}i")),
            ]
        }
        SeriesData::Gauge { value, min, max } => {
            vec![
                ("value", num(*value)),
                ("min", num(*min)),
                ("max", num(*max)),
            ]
        }
    })
}

/// A float field (never NaN or infinite).
fn num(x: f64) -> String {
    format!("{}", finite(x))
}

/// Backslash-escapes `chars` (and turns newlines, which no part may hold, into spaces).
fn escape(s: &str, chars: &[char]) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if c == '\n' || c == '\r' { ' ' } else { c };
        if chars.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The InfluxDB output.
pub struct Influx {
    url: Url,
    testid: String,
    sender: Sender,
    batches: u64,
    points: usize,
}

impl Influx {
    pub(crate) fn start(
        url: Url,
        spec: &BTreeMap<String, String>,
        cfg: &OutputConfig,
        policy: SendPolicy,
    ) -> Result<Influx, OutputError> {
        let (write, _api) = write_url(&url)?;
        let mut headers = vec![(
            HeaderName::from_static("content-type"),
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )];
        headers.extend(auth_header("influxdb", "Token", spec, cfg)?);
        let sender = Sender::start(
            "influxdb",
            Target {
                url: write.clone(),
                headers,
            },
            policy,
        )?;
        Ok(Influx {
            url: write,
            testid: spec.get("testid").unwrap_or(&cfg.testid).clone(),
            sender,
            batches: 0,
            points: 0,
        })
    }
}

impl Output for Influx {
    fn flush(&mut self, iv: &Interval<'_>) -> Result<(), OutputError> {
        let body = lines(iv, &self.testid);
        self.points = body.lines().count();
        self.sender.push(Bytes::from(body));
        self.batches += 1;
        Ok(())
    }

    fn finish(self: Box<Self>, _summary: &Summary, _total: &Aggregate) -> String {
        let r = self.sender.finish();
        note("influxdb", &self.url, self.batches, self.points, &r)
    }
}
