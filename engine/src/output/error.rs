//! The errors of the outputs, typed: a bad `--out` spec ([`SpecError`]), a trend-stats
//! list that does not parse ([`TrendStatError`]), a remote-write body that cannot be
//! encoded or decoded ([`CodecError`]), and what stops an output from opening or writing
//! ([`OutputError`]). Every message names the flag it is about (`--out json: …`); none
//! ever carries a token's value.

use std::path::PathBuf;

/// A `--out` spec that cannot be used (parsing only: nothing was opened).
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("--out `{spec}`: expected KIND=TARGET (json=FILE, csv=FILE, junit=FILE, prometheus=URL, influxdb=URL or otlp=URL)")]
    NoKind { spec: String },
    #[error(
        "--out `{kind}=…`: unknown output (expected json, csv, junit, prometheus, influxdb or otlp)"
    )]
    UnknownOutput { kind: String },
    #[error("--out {kind}=FILE: the file name is missing")]
    NoFile { kind: &'static str },
    #[error(
        "--out csv: unknown option `{key}` (expected fileName, timeFormat or saveInterval; snake_case works too)"
    )]
    CsvOption { key: String },
    #[error("--out csv: timeFormat `{value}` is not one of unix, unix_milli, unix_micro, unix_nano, rfc3339, rfc3339_nano")]
    CsvTimeFormat { value: String },
    #[error("--out csv: saveInterval `{value}` is not a duration such as 1s or 500ms")]
    CsvSaveInterval { value: String },
    #[error("--out {kind}=`{raw}`: not a URL ({source})")]
    NotUrl {
        kind: String,
        raw: String,
        #[source]
        source: url::ParseError,
    },
    #[error("--out {kind}: the URL must be http:// or https://")]
    Scheme { kind: String },
    #[error(
        "--out {kind}: a token is never taken from the command line; name where it is read with token_env=VAR or token_secret=NAME (a `secret` of the .load file)"
    )]
    TokenOnCommandLine { kind: String },
    #[error("--out {kind}: unknown option `{key}` (expected one of {allowed})")]
    UnknownOption {
        kind: String,
        key: String,
        allowed: String,
    },
    #[error("--out {kind}: `{piece}` after the URL is not a KEY=VALUE option")]
    NotAnOption { kind: String, piece: String },
    #[error("--out {kind}: give token_env or token_secret, not both")]
    BothTokens { kind: String },
    #[error("--out influxdb: a 2.x URL (/api/v2/write) needs ?org=…&bucket=…")]
    InfluxOrgBucket,
    #[error("--out influxdb: a 1.x URL (/write) needs ?db=NAME")]
    InfluxDb,
    #[error(
        "--out influxdb: name the database: http://HOST:8086/write?db=NAME, http://HOST:8086/NAME, or http://HOST:8086/api/v2/write?org=O&bucket=B"
    )]
    InfluxNoDatabase,
    #[error("--out otlp: {key}=`{value}` is not one of {expected}")]
    OtlpChoice {
        key: String,
        value: String,
        expected: String,
    },
}

/// A trend-stats list (`p(95),p(99),max`) that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TrendStatError {
    #[error(
        "unknown trend stat `{0}` (expected count, sum, min, max, avg, med or p(N) with N in 0..100)"
    )]
    Unknown(String),
    #[error("the trend stats list is empty")]
    Empty,
}

/// A remote-write body that cannot be compressed, decompressed or decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("snappy: {0}")]
    Snappy(#[from] snap::Error),
    #[error("protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
}

/// Why an output cannot open (before any load) or write an interval.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(
        "--out {kind}: token_secret={name}: the .load file declares no secret `{name}` (it declares: {known})"
    )]
    UnknownSecret {
        kind: String,
        name: String,
        /// The declared secrets' names, comma-separated (`none` when there are none).
        known: String,
    },
    #[error("--out {kind}: the token's environment variable {var} is not set")]
    TokenUnset { kind: String, var: String },
    #[error("--out {kind}: the token is not a valid header value")]
    TokenHeader {
        kind: String,
        #[source]
        source: http::header::InvalidHeaderValue,
    },
    #[error("--out prometheus: {0}")]
    TrendStats(#[source] TrendStatError),
    #[error("--out prometheus: {0}")]
    Encode(#[source] CodecError),
    #[error("--out json: cannot create `{}`: {source}", path.display())]
    JsonCreate {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--out json: cannot write `{}`: {source}", path.display())]
    JsonWrite {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--out {kind}: cannot create `{}`: {source}", path.display())]
    Create {
        kind: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--out {kind}: cannot write `{}`: {source}", path.display())]
    Write {
        kind: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--report: cannot create `{}`: {source}", path.display())]
    ReportCreate {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{name}: TLS set-up failed: {source}")]
    Tls {
        name: String,
        #[source]
        source: crate::http::HttpError,
    },
    #[error("{name}: cannot start its thread: {source}")]
    Thread {
        name: String,
        #[source]
        source: std::io::Error,
    },
}
