//! The `--out` specs, parsed: `json=FILE`, `prometheus=URL[,key=value…]` and
//! `influxdb=URL[,key=value…]`. After the URL come options; a piece without `=` continues
//! the previous option's value, so `trend_stats=p(95),p(99),max` reads as one list.
//! Pure: it reads nothing (secrets are resolved by the caller) and never holds a token.

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
pub fn parse(spec: &str) -> Result<OutSpec, String> {
    let (kind, rest) = spec.split_once('=').ok_or_else(|| {
        format!("--out `{spec}`: expected KIND=TARGET (json=FILE, prometheus=URL or influxdb=URL)")
    })?;
    let rest = rest.trim();
    match kind.trim() {
        "json" => {
            if rest.is_empty() {
                return Err("--out json=FILE: the file name is missing".into());
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
        other => Err(format!(
            "--out `{other}=…`: unknown output (expected json, prometheus or influxdb)"
        )),
    }
}

fn url_and_opts(
    kind: &str,
    rest: &str,
    allowed: &[&str],
) -> Result<(Url, BTreeMap<String, String>), String> {
    let mut pieces = rest.split(',');
    let raw = pieces.next().unwrap_or_default().trim();
    let url = Url::parse(raw).map_err(|e| format!("--out {kind}=`{raw}`: not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("--out {kind}: the URL must be http:// or https://"));
    }
    let mut opts: BTreeMap<String, String> = BTreeMap::new();
    let mut last: Option<String> = None;
    for piece in pieces {
        match piece.split_once('=') {
            Some((k, v)) if is_key(k) => {
                let k = k.trim().to_string();
                if k == "token" || k == "password" {
                    return Err(format!(
                        "--out {kind}: a token is never taken from the command line; name where it is read with token_env=VAR or token_secret=NAME (a `secret` of the .load file)"
                    ));
                }
                if !allowed.contains(&k.as_str()) {
                    return Err(format!(
                        "--out {kind}: unknown option `{k}` (expected one of {})",
                        allowed.join(", ")
                    ));
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
                    return Err(format!(
                        "--out {kind}: `{piece}` after the URL is not a KEY=VALUE option"
                    ))
                }
            },
        }
    }
    if opts.contains_key("token_env") && opts.contains_key("token_secret") {
        return Err(format!(
            "--out {kind}: give token_env or token_secret, not both"
        ));
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
