//! `--out otlp=URL`: OTLP/HTTP with protobuf bodies (the official `opentelemetry-proto`
//! messages, encoded with prost), one `ExportMetricsServiceRequest` per interval POSTed
//! with `Content-Type: application/x-protobuf` by the output's own sender thread (bounded
//! queue, retries). The URL is the collector's base (`http://host:4318`: `/v1/metrics` is
//! appended) or the full path when it already ends in `/v1/metrics`.
//!
//! Mapping (names are k6's metric names as Volley keeps them, no prefix):
//!
//! | metric kind | OTLP | unit |
//! |---|---|---|
//! | trend | exponential histogram (`histogram=explicit`: explicit buckets) | `ms` for time trends |
//! | counter | monotonic Sum | `By` for data counters |
//! | rate | Gauge `NAME` (the ratio) and monotonic Sums `NAME.hits`, `NAME.total` | `1` |
//! | gauge | Gauge (`vus`, `vus_max` from the live VU counts) | |
//!
//! Temporality is cumulative by default (start time = the run's start; what Prometheus-
//! style backends need); `temporality=delta` sends each interval's own values (start time
//! = the interval's start). Exponential histograms keep at most [`MAX_BUCKETS`] buckets
//! (the OpenTelemetry SDK's default), at the finest scale that fits. Data-point attributes
//! are the series' tags (no `url`); resource attributes `service.name=volley`,
//! `service.version`, `volley.test` (the test's name) and `volley.run_id` (the run id).
//! This module must not block the driver on the network.

use super::prometheus::remote::note;
use super::sender::{SendPolicy, Sender, Target};
use super::stats::finite;
use super::{auth_header, Interval, Output, OutputConfig, OutputError, SpecError};
use crate::metrics::hist::from_units;
use crate::metrics::{Aggregate, Contains, Registry, SeriesData};
use crate::summary::Summary;
use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
    AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use std::collections::BTreeMap;
use url::Url;

/// The generated OTLP types (for receivers and tests).
pub use opentelemetry_proto::tonic as proto;
pub use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest as Request;

/// The most buckets of an exponential histogram (the OpenTelemetry SDK's default).
pub const MAX_BUCKETS: i64 = 160;
/// The finest scale tried (the SDK's default).
pub const MAX_SCALE: i32 = 20;
/// The explicit bounds (ms for time trends) of `histogram=explicit`: the SDK's defaults.
pub const EXPLICIT_BOUNDS: &[f64] = &[
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

/// Cumulative (since the run's start) or delta (per interval) data points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Temporality {
    Cumulative,
    Delta,
}

/// Exponential or explicit-bucket histograms for trends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistogramKind {
    Exponential,
    Explicit,
}

/// How the batches are shaped.
#[derive(Clone, Debug, PartialEq)]
pub struct OtlpOptions {
    pub temporality: Temporality,
    pub histogram: HistogramKind,
    /// The test's name (`volley.test`) and the run id (`volley.run_id`).
    pub test: String,
    pub run_id: String,
}

impl OtlpOptions {
    /// Reads `temporality=` and `histogram=` of a spec.
    pub fn from_spec(
        spec: &BTreeMap<String, String>,
        test: &str,
        run_id: &str,
    ) -> Result<OtlpOptions, SpecError> {
        let bad = |key: &str, value: &str, expected: &str| SpecError::OtlpChoice {
            key: key.to_string(),
            value: value.to_string(),
            expected: expected.to_string(),
        };
        let temporality = match spec.get("temporality").map(String::as_str) {
            None | Some("cumulative") => Temporality::Cumulative,
            Some("delta") => Temporality::Delta,
            Some(v) => return Err(bad("temporality", v, "cumulative or delta")),
        };
        let histogram = match spec.get("histogram").map(String::as_str) {
            None | Some("exponential") => HistogramKind::Exponential,
            Some("explicit") => HistogramKind::Explicit,
            Some(v) => return Err(bad("histogram", v, "exponential or explicit")),
        };
        Ok(OtlpOptions {
            temporality,
            histogram,
            test: test.to_string(),
            run_id: spec
                .get("testid")
                .map_or(run_id, String::as_str)
                .to_string(),
        })
    }
}

/// The export URL of a spec URL: the URL itself when its path ends in `/v1/metrics`,
/// else the path with `/v1/metrics` appended.
pub fn export_url(url: &Url) -> Url {
    let mut u = url.clone();
    let path = url.path().trim_end_matches('/');
    if !path.ends_with("/v1/metrics") {
        u.set_path(&format!("{path}/v1/metrics"));
    }
    u
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_string())),
        }),
        ..KeyValue::default()
    }
}

fn attributes(tags: &BTreeMap<String, String>) -> Vec<KeyValue> {
    tags.iter()
        .filter(|(k, v)| k.as_str() != "url" && !v.is_empty())
        .map(|(k, v)| kv(k, v))
        .collect()
}

/// Nanoseconds since the epoch of a Unix ms time.
fn nanos(ms: u64) -> u64 {
    ms.saturating_mul(1_000_000)
}

/// The request of one interval.
pub fn request(iv: &Interval<'_>, opts: &OtlpOptions) -> ExportMetricsServiceRequest {
    let end_ms = iv.unix_ms();
    let (agg, start_ms) = match opts.temporality {
        Temporality::Cumulative => (
            iv.total,
            end_ms.saturating_sub(u64::try_from(iv.live.elapsed.as_millis()).unwrap_or(0)),
        ),
        Temporality::Delta => (iv.delta, end_ms.saturating_sub((iv.secs * 1000.0) as u64)),
    };
    let temporality = match opts.temporality {
        Temporality::Cumulative => AggregationTemporality::Cumulative,
        Temporality::Delta => AggregationTemporality::Delta,
    } as i32;
    let (start, time) = (nanos(start_ms), nanos(end_ms));
    let number = |attrs: Vec<KeyValue>, v: f64| NumberDataPoint {
        attributes: attrs,
        start_time_unix_nano: start,
        time_unix_nano: time,
        value: Some(number_data_point::Value::AsDouble(finite(v))),
        ..NumberDataPoint::default()
    };
    let reg = agg.registry();
    // Metrics by name, so each name is one `Metric` holding all its series.
    let mut metrics: BTreeMap<String, Metric> = BTreeMap::new();
    let mut put = |name: &str, unit: &str, data: Data| {
        let m = metrics.entry(name.to_string()).or_insert_with(|| Metric {
            name: name.to_string(),
            unit: unit.to_string(),
            ..Metric::default()
        });
        match (&mut m.data, data) {
            (Some(Data::Gauge(a)), Data::Gauge(b)) => a.data_points.extend(b.data_points),
            (Some(Data::Sum(a)), Data::Sum(b)) => a.data_points.extend(b.data_points),
            (Some(Data::Histogram(a)), Data::Histogram(b)) => a.data_points.extend(b.data_points),
            (Some(Data::ExponentialHistogram(a)), Data::ExponentialHistogram(b)) => {
                a.data_points.extend(b.data_points)
            }
            (slot, d) => *slot = Some(d),
        }
    };
    let sum = |p: NumberDataPoint| {
        Data::Sum(Sum {
            data_points: vec![p],
            aggregation_temporality: temporality,
            is_monotonic: true,
        })
    };
    let gauge = |p: NumberDataPoint| {
        Data::Gauge(Gauge {
            data_points: vec![p],
        })
    };
    for (metric, tags, data) in agg.series() {
        if metric == "vus" || metric == "vus_max" {
            continue;
        }
        let attrs = attributes(tags);
        let contains = contains(reg, metric);
        match data {
            SeriesData::Counter { sum: v } => {
                let unit = if contains == Contains::Data { "By" } else { "" };
                put(metric, unit, sum(number(attrs, *v)));
            }
            SeriesData::Rate { hits, total } => {
                if *total > 0 {
                    let ratio = *hits as f64 / *total as f64;
                    put(metric, "1", gauge(number(attrs.clone(), ratio)));
                }
                put(
                    &format!("{metric}.hits"),
                    "",
                    sum(number(attrs.clone(), *hits as f64)),
                );
                put(
                    &format!("{metric}.total"),
                    "",
                    sum(number(attrs, *total as f64)),
                );
            }
            SeriesData::Gauge { value, .. } => put(metric, "", gauge(number(attrs, *value))),
            SeriesData::Trend {
                sum: s,
                min,
                max,
                hist,
            } => {
                let h = &hist.0;
                if h.is_empty() {
                    continue;
                }
                let unit = if contains == Contains::Time { "ms" } else { "" };
                let d = match opts.histogram {
                    HistogramKind::Exponential => {
                        let (scale, zero_count, offset, counts) = exponential(h);
                        Data::ExponentialHistogram(ExponentialHistogram {
                            data_points: vec![ExponentialHistogramDataPoint {
                                attributes: attrs,
                                start_time_unix_nano: start,
                                time_unix_nano: time,
                                count: h.len(),
                                sum: Some(finite(*s)),
                                scale,
                                zero_count,
                                positive: Some(Buckets {
                                    offset,
                                    bucket_counts: counts,
                                }),
                                min: Some(finite(*min)),
                                max: Some(finite(*max)),
                                ..ExponentialHistogramDataPoint::default()
                            }],
                            aggregation_temporality: temporality,
                        })
                    }
                    HistogramKind::Explicit => Data::Histogram(Histogram {
                        data_points: vec![HistogramDataPoint {
                            attributes: attrs,
                            start_time_unix_nano: start,
                            time_unix_nano: time,
                            count: h.len(),
                            sum: Some(finite(*s)),
                            bucket_counts: explicit(h, EXPLICIT_BOUNDS),
                            explicit_bounds: EXPLICIT_BOUNDS.to_vec(),
                            min: Some(finite(*min)),
                            max: Some(finite(*max)),
                            ..HistogramDataPoint::default()
                        }],
                        aggregation_temporality: temporality,
                    }),
                };
                put(metric, unit, d);
            }
        }
    }
    for (metric, v) in [("vus", iv.live.vus), ("vus_max", iv.live.vus_max)] {
        put(metric, "", gauge(number(Vec::new(), v as f64)));
    }
    let resource = Resource {
        attributes: vec![
            kv("service.name", "volley"),
            kv("service.version", env!("CARGO_PKG_VERSION")),
            kv("volley.test", &opts.test),
            kv("volley.run_id", &opts.run_id),
        ],
        ..Resource::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(resource),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "volley".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..InstrumentationScope::default()
                }),
                metrics: metrics.into_values().collect(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn contains(reg: &Registry, metric: &str) -> Contains {
    reg.by_name(metric)
        .map_or(Contains::Default, |d| d.contains)
}

/// The HDR buckets of a trend as (value in value units, count), each bucket's value its
/// lowest equivalent (the start of the range HDR recorded it in, within 0.1% of every value
/// in it), so a value recorded exactly on a bound stays in the bucket the bound closes.
fn values(h: &hdrhistogram::Histogram<u64>) -> Vec<(f64, u64)> {
    h.iter_recorded()
        .map(|v| {
            let u = v.value_iterated_to();
            (from_units(h.lowest_equivalent(u)), v.count_at_value())
        })
        .collect()
}

/// The index of `v` (> 0) at scale 20: bucket `i` holds `(base^i, base^(i+1)]`,
/// `base = 2^(2^-20)`.
fn index_at_max_scale(v: f64) -> i64 {
    ((v.log2() * f64::from(1u32 << MAX_SCALE)).ceil() as i64) - 1
}

/// An exponential histogram of a trend: (scale, zero count, offset, bucket counts), at
/// the finest scale (at most [`MAX_SCALE`]) that fits in [`MAX_BUCKETS`] buckets.
pub fn exponential(h: &hdrhistogram::Histogram<u64>) -> (i32, u64, i32, Vec<u64>) {
    let mut zero = 0;
    let mut pos: Vec<(i64, u64)> = Vec::new();
    for (v, n) in values(h) {
        if v <= 0.0 {
            zero += n;
        } else {
            pos.push((index_at_max_scale(v), n));
        }
    }
    let (Some(lo), Some(hi)) = (pos.iter().map(|p| p.0).min(), pos.iter().map(|p| p.0).max())
    else {
        return (0, zero, 0, Vec::new());
    };
    let mut shift = 0;
    while (hi >> shift) - (lo >> shift) + 1 > MAX_BUCKETS {
        shift += 1;
    }
    let offset = lo >> shift;
    let mut counts = vec![0u64; ((hi >> shift) - offset + 1) as usize];
    for (i, n) in pos {
        counts[((i >> shift) - offset) as usize] += n;
    }
    (MAX_SCALE - shift, zero, offset as i32, counts)
}

/// Explicit-bucket counts: bucket `i` holds `(bounds[i-1], bounds[i]]`, the last one
/// everything above the last bound.
pub fn explicit(h: &hdrhistogram::Histogram<u64>, bounds: &[f64]) -> Vec<u64> {
    let mut counts = vec![0u64; bounds.len() + 1];
    for (v, n) in values(h) {
        let i = bounds.partition_point(|b| *b < v);
        counts[i] += n;
    }
    counts
}

/// The OTLP output.
pub struct Otlp {
    url: Url,
    opts: OtlpOptions,
    sender: Sender,
    batches: u64,
    series: usize,
}

impl Otlp {
    pub(crate) fn start(
        url: Url,
        spec: &BTreeMap<String, String>,
        cfg: &OutputConfig,
        policy: SendPolicy,
    ) -> Result<Otlp, OutputError> {
        let opts = OtlpOptions::from_spec(spec, &cfg.plan.name, &cfg.testid)?;
        let url = export_url(&url);
        let mut headers = vec![(
            HeaderName::from_static("content-type"),
            HeaderValue::from_static("application/x-protobuf"),
        )];
        headers.extend(auth_header("otlp", "Bearer", spec, cfg)?);
        let target = Target {
            url: url.clone(),
            headers,
        };
        let sender = Sender::start("otlp", target, policy)?;
        Ok(Otlp {
            url,
            opts,
            sender,
            batches: 0,
            series: 0,
        })
    }
}

/// Data points in a request.
pub fn points(req: &ExportMetricsServiceRequest) -> usize {
    req.resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| match &m.data {
            Some(Data::Gauge(g)) => g.data_points.len(),
            Some(Data::Sum(s)) => s.data_points.len(),
            Some(Data::Histogram(h)) => h.data_points.len(),
            Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
            Some(Data::Summary(s)) => s.data_points.len(),
            None => 0,
        })
        .sum()
}

impl Output for Otlp {
    fn flush(&mut self, iv: &Interval<'_>) -> Result<(), OutputError> {
        let req = request(iv, &self.opts);
        self.series = points(&req);
        self.sender.push(Bytes::from(req.encode_to_vec()));
        self.batches += 1;
        Ok(())
    }

    fn finish(self: Box<Self>, _summary: &Summary, _total: &Aggregate) -> String {
        let r = self.sender.finish();
        note("otlp", &self.url, self.batches, self.series, &r)
    }
}

/// Parses a request body (for tests and receivers).
pub fn decode(body: &[u8]) -> Result<ExportMetricsServiceRequest, prost::DecodeError> {
    ExportMetricsServiceRequest::decode(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::hist::{new_hist, record};

    fn hist(values: &[f64]) -> hdrhistogram::Histogram<u64> {
        let mut h = new_hist();
        for v in values {
            record(&mut h, *v, true);
        }
        h
    }

    #[test]
    fn exponential_buckets_hold_each_value_and_fit_the_size() {
        let vals = [0.0, 0.5, 1.0, 2.0, 3.7, 12.0, 250.0, 999.0, 60_000.0];
        let h = hist(&vals);
        let (scale, zero, offset, counts) = exponential(&h);
        assert_eq!(zero, 1);
        assert!(counts.len() as i64 <= MAX_BUCKETS && scale < MAX_SCALE);
        assert_eq!(counts.iter().sum::<u64>() + zero, vals.len() as u64);
        let base = 2f64.powf(2f64.powi(-scale));
        for v in &vals[1..] {
            // Each value lies in a bucket with a count (HDR's 0.1% may cross a bound).
            let i = (v.log2() * 2f64.powi(scale)).ceil() as i64 - 1 - i64::from(offset);
            let near = (i - 1..=i + 1).any(|j| counts.get(j as usize).is_some_and(|c| *c > 0));
            assert!(near, "{v} not near bucket {i}: {counts:?}");
            let lo = base.powi(i as i32 + offset);
            assert!(
                lo < *v * 1.001 && *v <= lo * base * 1.001,
                "{v} in ({lo}, {}]",
                lo * base
            );
        }
        // A narrow range keeps the finest scale.
        let (scale, _, _, counts) = exponential(&hist(&[10.0, 10.5]));
        assert_eq!(counts.iter().sum::<u64>(), 2);
        assert!(scale >= 10, "{scale}");
    }

    #[test]
    fn explicit_buckets_are_upper_inclusive() {
        let h = hist(&[0.0, 5.0, 7.0, 10_000.0, 20_000.0]);
        let c = explicit(&h, EXPLICIT_BOUNDS);
        assert_eq!(c.len(), EXPLICIT_BOUNDS.len() + 1);
        assert_eq!((c[0], c[1], c[2]), (1, 1, 1));
        assert_eq!(c[EXPLICIT_BOUNDS.len() - 1], 1, "10 s in (7.5 s, 10 s]");
        assert_eq!(c[EXPLICIT_BOUNDS.len()], 1, "above the last bound");
    }

    #[test]
    fn the_export_url_appends_v1_metrics_unless_given() {
        let u = |s: &str| export_url(&Url::parse(s).unwrap()).to_string();
        assert_eq!(u("http://c:4318"), "http://c:4318/v1/metrics");
        assert_eq!(u("http://c:4318/otlp/"), "http://c:4318/otlp/v1/metrics");
        assert_eq!(u("http://c:4318/v1/metrics"), "http://c:4318/v1/metrics");
    }
}
