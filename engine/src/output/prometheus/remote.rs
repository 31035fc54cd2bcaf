//! `--out prometheus=URL`: Prometheus remote write 1.0 (a protobuf `WriteRequest`,
//! snappy block-compressed, POSTed with `Content-Encoding: snappy` and
//! `X-Prometheus-Remote-Write-Version: 0.1.0`). Once per interval the cumulative
//! [`families`] become one batch, stamped with the interval's end (strictly increasing,
//! since a receiver refuses a whole batch with an out-of-order sample), and queued for
//! the output's own sender thread. The protobuf messages are declared here by hand (the
//! four of `prompb/types.proto` and `remote.proto` it needs), so no `protoc` is needed.
//! This module must not block the driver on the network.

use super::{families, PromOptions, DEFAULT_TREND_STATS, TREND_STATS_ENV};
use crate::metrics::Aggregate;
use crate::output::sender::{SendPolicy, SendReport, Sender, Target};
use crate::output::spec::redacted;
use crate::output::stats::TrendStat;
use crate::output::{auth_header, CodecError, Interval, Output, OutputConfig, OutputError};
use crate::summary::Summary;
use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use prost::Message;
use std::collections::BTreeMap;
use url::Url;

/// `prometheus.WriteRequest` (field 3, metadata, is not sent).
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// `prometheus.TimeSeries`: labels sorted by name, samples in time order.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Unix ms.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// The families as one snappy-compressed `WriteRequest`, every sample at `ts_ms`.
pub fn encode_write_request(fams: &[super::Family], ts_ms: i64) -> Result<Bytes, CodecError> {
    let mut req = WriteRequest::default();
    for f in fams {
        for (labels, v) in &f.samples {
            let mut ls = Vec::with_capacity(labels.len() + 1);
            ls.push(Label {
                name: "__name__".into(),
                value: f.name.clone(),
            });
            ls.extend(labels.iter().map(|(k, v)| Label {
                name: k.clone(),
                value: v.clone(),
            }));
            ls.sort_by(|a, b| a.name.cmp(&b.name));
            req.timeseries.push(TimeSeries {
                labels: ls,
                samples: vec![Sample {
                    value: *v,
                    timestamp: ts_ms,
                }],
            });
        }
    }
    let raw = req.encode_to_vec();
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .map(Bytes::from)
        .map_err(CodecError::from)
}

/// Parses [`encode_write_request`]'s output (for tests and receivers).
pub fn decode_write_request(body: &[u8]) -> Result<WriteRequest, CodecError> {
    let raw = snap::raw::Decoder::new().decompress_vec(body)?;
    Ok(WriteRequest::decode(raw.as_slice())?)
}

/// The remote-write output.
pub struct RemoteWrite {
    url: Url,
    opts: PromOptions,
    sender: Sender,
    last_ts: i64,
    batches: u64,
    series: usize,
}

impl RemoteWrite {
    /// Reads the options (`trend_stats`, `testid`, `token_env`/`token_secret`) and starts
    /// the sender thread.
    pub(crate) fn start(
        url: Url,
        spec: &BTreeMap<String, String>,
        cfg: &OutputConfig,
        policy: SendPolicy,
    ) -> Result<RemoteWrite, OutputError> {
        let mut opts = PromOptions::new(spec.get("testid").unwrap_or(&cfg.testid));
        let stats = spec
            .get("trend_stats")
            .cloned()
            .or_else(|| {
                TREND_STATS_ENV
                    .iter()
                    .find_map(|v| cfg.env.get(*v).cloned())
            })
            .unwrap_or_else(|| DEFAULT_TREND_STATS.to_string());
        opts.trend_stats = TrendStat::parse_list(&stats).map_err(OutputError::TrendStats)?;
        let mut headers = vec![
            header("content-type", "application/x-protobuf"),
            header("content-encoding", "snappy"),
            header("x-prometheus-remote-write-version", "0.1.0"),
        ];
        headers.extend(auth_header("prometheus", "Bearer", spec, cfg)?);
        let target = Target {
            url: url.clone(),
            headers,
        };
        let sender = Sender::start("prometheus", target, policy)?;
        Ok(RemoteWrite {
            url,
            opts,
            sender,
            last_ts: 0,
            batches: 0,
            series: 0,
        })
    }

    /// The naming options in use.
    pub fn options(&self) -> &PromOptions {
        &self.opts
    }
}

fn header(name: &'static str, value: &'static str) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static(name),
        HeaderValue::from_static(value),
    )
}

impl Output for RemoteWrite {
    fn flush(&mut self, iv: &Interval<'_>) -> Result<(), OutputError> {
        let fams = families(iv.total, &self.opts, Some(iv.live));
        self.series = fams.iter().map(|f| f.samples.len()).sum();
        let ts = i64::try_from(iv.unix_ms())
            .unwrap_or(i64::MAX)
            .max(self.last_ts + 1);
        self.last_ts = ts;
        let body = encode_write_request(&fams, ts).map_err(OutputError::Encode)?;
        self.sender.push(body);
        self.batches += 1;
        Ok(())
    }

    fn finish(self: Box<Self>, _summary: &Summary, _total: &Aggregate) -> String {
        let r = self.sender.finish();
        note("prometheus", &self.url, self.batches, self.series, &r)
    }
}

/// The end-of-run note of a network output; a warning when anything was lost.
pub(crate) fn note(kind: &str, url: &Url, batches: u64, series: usize, r: &SendReport) -> String {
    let lost = r.dropped + r.failed;
    let mut s = format!(
        "{kind}: {} of {batches} batches written to {} ({series} series)",
        r.sent,
        redacted(url)
    );
    if r.retries > 0 {
        s.push_str(&format!(", {} retries", r.retries));
    }
    if lost > 0 {
        s = format!(
            "warning: {s}; {} dropped (queue full or not sent by the end), {} failed",
            r.dropped, r.failed
        );
        if let Some(e) = &r.last_error {
            s.push_str(&format!("; last error: {e}"));
        }
    }
    s
}
