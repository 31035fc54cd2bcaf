//! The `--out` specs, parsed: `json=FILE`, `prometheus=URL[,key=value…]` and
//! `influxdb=URL[,key=value…]`. After the URL come options; a piece without `=` continues
//! the previous option's value, so `trend_stats=p(95),p(99),max` reads as one list.
//! Pure: it reads nothing (secrets are resolved by the caller) and never holds a token.

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
    Prometheus {
        url: Url,
        opts: BTreeMap<String, String>,
    },
    Influx {
        url: Url,
        opts: BTreeMap<String, String>,
    },
}

/// The options each kind accepts.
const PROMETHEUS_OPTS: &[&str] = &["trend_stats", "testid", "token_env", "token_secret"];
const INFLUX_OPTS: &[&str] = &["testid", "token_env", "token_secret"];

/// Parses one spec. Errors name the spec and what is wrong.
pub fn parse(spec: &str) -> Result<OutSpec, SpecError> {
    let (kind, rest) = spec.split_once('=').ok_or_else(|| SpecError::NoKind {
        spec: spec.to_string(),
    })?;
    let rest = rest.trim();
    match kind.trim() {
        "json" => {
            if rest.is_empty() {
                return Err(SpecError::NoFile);
            }
            Ok(OutSpec::Json {
                path: PathBuf::from(rest),
            })
        }
        "prometheus" => {
            let (url, opts) = url_and_opts(kind, rest, PROMETHEUS_OPTS)?;
            Ok(OutSpec::Prometheus { url, opts })
        }
        "influxdb" => {
            let (url, opts) = url_and_opts(kind, rest, INFLUX_OPTS)?;
            Ok(OutSpec::Influx { url, opts })
        }
        other => Err(SpecError::UnknownOutput {
            kind: other.to_string(),
        }),
    }
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
