//! The errors section of the summary and the report: each kind of transport error in
//! words, how many requests it failed, and its first occurrence (request name and target),
//! with k6's numeric code as a column.
//!
//! Counts come from the merged `http_reqs` series by their `error_code` tag, so they are
//! exact across workers and runners. First occurrences travel beside the samples: a
//! worker's shard keeps the first error of each code it saw ([`FirstError`], sent once in
//! its snapshot's `first_errors`); the driver's or coordinator's aggregate keeps the
//! earliest per code. This module must not print.

use crate::http::codes;
use crate::metrics::Aggregate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The first request that failed with one error code (in one shard, then in the run).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FirstError {
    /// k6's error code.
    pub code: u32,
    /// The request's name (`name:` or its method and path).
    pub request: String,
    /// The target it was sent to (the file's `target NAME`).
    pub target: String,
    /// When it happened (Unix ms): the earliest wins when merging.
    pub at_unix_ms: u64,
    /// What went wrong in the client's words (`received corrupt message of type
    /// InvalidContentType`), secrets redacted and at most [`MESSAGE_CHARS`] characters;
    /// empty when there was none (and from a runner that does not send it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// The longest first-error message kept, in characters.
pub const MESSAGE_CHARS: usize = 200;

/// One row of the errors section.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ErrorSummary {
    /// k6's error code (`1212`).
    pub code: u32,
    /// The kind in words (`connection refused`).
    pub kind: String,
    /// Requests that failed with it.
    pub count: u64,
    /// Its first occurrence, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<FirstError>,
}

/// k6's error code in words.
pub fn kind(code: u32) -> &'static str {
    match code {
        codes::INVALID_URL => "invalid URL or header",
        codes::PROXY => "proxy unreachable or refused the tunnel",
        codes::REQUEST_TIMEOUT => "request timeout",
        codes::DNS => "host name not found (DNS)",
        codes::TCP => "TCP error",
        codes::BROKEN_PIPE => "broken pipe (the server closed the connection)",
        codes::DIAL => "cannot connect",
        codes::DIAL_TIMEOUT => "connect timeout",
        codes::CONNECTION_REFUSED => "connection refused",
        codes::CONNECTION_RESET => "connection reset by the server",
        codes::TLS => "TLS error",
        codes::TLS_CERTIFICATE => "TLS certificate not trusted",
        codes::TLS_HOSTNAME => "TLS certificate not valid for the host",
        codes::HTTP2 => "HTTP/2 protocol error",
        _ => "request failed",
    }
}

/// Keeps the earliest first occurrence of each code.
pub fn keep_first(into: &mut BTreeMap<u32, FirstError>, e: &FirstError) {
    match into.get(&e.code) {
        Some(old) if old.at_unix_ms <= e.at_unix_ms => {}
        _ => {
            into.insert(e.code, e.clone());
        }
    }
}

/// The metrics whose samples carry `error_code` when no server answered: requests,
/// WebSocket sessions that did not open, gRPC calls and streams whose connection failed.
pub const UNANSWERED_METRICS: [&str; 4] = [
    "http_reqs",
    "ws_connect_errors",
    "grpc_req_duration",
    "grpc_streams",
];

/// How many of `metric`'s samples (a counter's sum, a trend's count) carry each
/// `error_code`.
pub fn unanswered(agg: &Aggregate, metric: &str) -> BTreeMap<u32, f64> {
    let codes: std::collections::BTreeSet<String> = agg
        .series()
        .filter(|(m, _, _)| *m == metric)
        .filter_map(|(_, tags, _)| tags.get("error_code").cloned())
        .collect();
    codes
        .into_iter()
        .filter_map(|c| {
            let code = c.parse::<u32>().ok()?;
            let v = agg.view(metric, &BTreeMap::from([("error_code".to_string(), c)]))?;
            let n = match v.kind {
                volley_plan::plan::MetricKind::Trend => v.count as f64,
                _ => v.sum,
            };
            Some((code, n))
        })
        .collect()
}

/// The errors section: one row per error code the run's requests, sessions and calls
/// failed with, most frequent first.
pub fn summarize(agg: &Aggregate) -> Vec<ErrorSummary> {
    let mut counts: BTreeMap<u32, f64> = BTreeMap::new();
    for metric in UNANSWERED_METRICS {
        for (code, n) in unanswered(agg, metric) {
            *counts.entry(code).or_default() += n;
        }
    }
    let firsts = agg.first_errors();
    let mut rows: Vec<ErrorSummary> = counts
        .into_iter()
        .filter(|(_, n)| *n > 0.0)
        .map(|(code, n)| ErrorSummary {
            code,
            kind: kind(code).to_string(),
            count: n as u64,
            first: firsts.get(&code).cloned(),
        })
        .collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(&b.code)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_words() {
        assert_eq!(kind(1212), "connection refused");
        assert_eq!(kind(1050), "request timeout");
        assert_eq!(kind(4242), "request failed");
    }

    #[test]
    fn the_earliest_first_occurrence_wins() {
        let e = |target: &str, at| FirstError {
            code: 1212,
            request: "products".into(),
            target: target.into(),
            at_unix_ms: at,
            message: format!("connection refused at {target}"),
        };
        let mut m = BTreeMap::new();
        keep_first(&mut m, &e("b", 20));
        keep_first(&mut m, &e("a", 10));
        keep_first(&mut m, &e("c", 30));
        assert_eq!(m[&1212].target, "a");
        assert_eq!(m[&1212].message, "connection refused at a");
    }
}
