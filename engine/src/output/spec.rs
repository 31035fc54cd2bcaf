//! The `--out` specs, parsed: `json=FILE`, `csv=FILE[,key=value…]`, `junit=FILE`,
//! `prometheus=URL[,key=value…]`, `influxdb=URL[,key=value…]` and `otlp=URL[,key=value…]`. After the URL come options; a piece without `=` continues
//! the previous option's value, so `trend_stats=p(95),p(99),max` reads as one list.
//! Pure: it reads nothing (secrets are resolved by the caller) and never holds a token.

pub use super::csv::TimeFormat;
pub use super::error::SpecError;
use std::collections::BTreeMap;
use std::path::PathBuf;
use url::Url;

/// One `--out` spec.
#[derive(Clone, Debug, PartialEq)]
pub enum OutSpec {
    Json {
        path: PathBuf,
    },
    /// k6's CSV: one row per sample (see `csv`).
    Csv {
        path: PathBuf,
        time_format: TimeFormat,
        /// How often the file is flushed (k6's `save_interval`; every interval by default).
        save_interval: Option<std::time::Duration>,
    },
    /// The verdict as JUnit XML, written at the end.
    Junit {
        path: PathBuf,
    },
    Prometheus {
        url: Url,
        opts: BTreeMap<String, String>,
    },
    Influx {
        url: Url,
        opts: BTreeMap<String, String>,
    },
    /// OTLP/HTTP protobuf metrics (see `otlp`).
    Otlp {
        url: Url,
        opts: BTreeMap<String, String>,
    },
}

/// The options each kind accepts.
const PROMETHEUS_OPTS: &[&str] = &["trend_stats", "testid", "token_env", "token_secret"];
const INFLUX_OPTS: &[&str] = &["testid", "token_env", "token_secret"];
const OTLP_OPTS: &[&str] = &[
    "testid",
    "temporality",
    "histogram",
    "token_env",
    "token_secret",
];

/// Parses one spec. Errors name the spec and what is wrong.
pub fn parse(spec: &str) -> Result<OutSpec, SpecError> {
    let (kind, rest) = spec.split_once('=').ok_or_else(|| SpecError::NoKind {
        spec: spec.to_string(),
    })?;
    let rest = rest.trim();
    match kind.trim() {
        "json" => Ok(OutSpec::Json {
            path: file("json", rest)?,
        }),
        "junit" => Ok(OutSpec::Junit {
            path: file("junit", rest)?,
        }),
        "csv" => csv(rest),
        "prometheus" => {
            let (url, opts) = url_and_opts(kind, rest, PROMETHEUS_OPTS)?;
            Ok(OutSpec::Prometheus { url, opts })
        }
        "influxdb" => {
            let (url, opts) = url_and_opts(kind, rest, INFLUX_OPTS)?;
            Ok(OutSpec::Influx { url, opts })
        }
        "otlp" => {
            let (url, opts) = url_and_opts(kind, rest, OTLP_OPTS)?;
            Ok(OutSpec::Otlp { url, opts })
        }
        other => Err(SpecError::UnknownOutput {
            kind: other.to_string(),
        }),
    }
}

fn file(kind: &'static str, rest: &str) -> Result<PathBuf, SpecError> {
    if rest.is_empty() {
        return Err(SpecError::NoFile { kind });
    }
    Ok(PathBuf::from(rest))
}

/// `csv=FILE[,time_format=F][,save_interval=D]`, or k6's own form
/// `csv=file_name=FILE,time_format=F,save_interval=D` (k6's camelCase keys too).
fn csv(rest: &str) -> Result<OutSpec, SpecError> {
    let mut path: Option<PathBuf> = None;
    let mut time_format = TimeFormat::Unix;
    let mut save_interval = None;
    if rest.is_empty() {
        return Err(SpecError::NoFile { kind: "csv" });
    }
    for (i, piece) in rest.split(',').enumerate() {
        let piece = piece.trim();
        let Some((k, v)) = piece.split_once('=').filter(|(k, _)| is_option_key(k)) else {
            if i == 0 && !piece.is_empty() {
                path = Some(PathBuf::from(piece));
                continue;
            }
            return Err(SpecError::CsvOption {
                key: piece.to_string(),
            });
        };
        let v = v.trim();
        match k.trim() {
            "file_name" | "fileName" => path = Some(file("csv", v)?),
            "time_format" | "timeFormat" => {
                time_format = TimeFormat::parse(v).ok_or_else(|| SpecError::CsvTimeFormat {
                    value: v.to_string(),
                })?
            }
            "save_interval" | "saveInterval" => {
                let d = humantime::parse_duration(v)
                    .ok()
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| SpecError::CsvSaveInterval {
                        value: v.to_string(),
                    })?;
                save_interval = Some(d);
            }
            other => {
                return Err(SpecError::CsvOption {
                    key: other.to_string(),
                })
            }
        }
    }
    Ok(OutSpec::Csv {
        path: path.ok_or(SpecError::NoFile { kind: "csv" })?,
        time_format,
        save_interval,
    })
}

/// An option key of a file output: letters and `_` (a file name has a dot or a slash).
fn is_option_key(k: &str) -> bool {
    let k = k.trim();
    !k.is_empty() && k.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
}

fn url_and_opts(
    kind: &str,
    rest: &str,
    allowed: &[&str],
) -> Result<(Url, BTreeMap<String, String>), SpecError> {
    let mut pieces = rest.split(',');
    let raw = pieces.next().unwrap_or_default().trim();
    let url = Url::parse(raw).map_err(|source| SpecError::NotUrl {
        kind: kind.to_string(),
        raw: raw.to_string(),
        source,
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SpecError::Scheme {
            kind: kind.to_string(),
        });
    }
    let mut opts: BTreeMap<String, String> = BTreeMap::new();
    let mut last: Option<String> = None;
    for piece in pieces {
        match piece.split_once('=') {
            Some((k, v)) if is_key(k) => {
                let k = k.trim().to_string();
                if k == "token" || k == "password" {
                    return Err(SpecError::TokenOnCommandLine {
                        kind: kind.to_string(),
                    });
                }
                if !allowed.contains(&k.as_str()) {
                    return Err(SpecError::UnknownOption {
                        kind: kind.to_string(),
                        key: k,
                        allowed: allowed.join(", "),
                    });
                }
                opts.insert(k.clone(), v.trim().to_string());
                last = Some(k);
            }
            _ => match last.as_ref().and_then(|k| opts.get_mut(k)) {
                Some(v) => {
                    v.push(',');
                    v.push_str(piece.trim());
                }
                None => {
                    return Err(SpecError::NotAnOption {
                        kind: kind.to_string(),
                        piece: piece.to_string(),
                    })
                }
            },
        }
    }
    if opts.contains_key("token_env") && opts.contains_key("token_secret") {
        return Err(SpecError::BothTokens {
            kind: kind.to_string(),
        });
    }
    Ok((url, opts))
}

fn is_key(k: &str) -> bool {
    let k = k.trim();
    !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
}

/// A URL for messages: scheme, host, port and path, never user info or a query.
pub fn redacted(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{}://{host}:{p}{}", url.scheme(), url.path()),
        None => format!("{}://{host}{}", url.scheme(), url.path()),
    }
}
