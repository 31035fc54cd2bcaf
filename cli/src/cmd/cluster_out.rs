//! `--out`, `--report` and `--summary-json` of the cluster commands (`deploy`, `compile`,
//! `status`): the specs are parsed and checked as `volley run` checks them, up front (exit
//! 2 before anything is applied), then turned into the coordinator's outputs
//! (`volley_k8s::manifests::outputs`). The coordinator streams; the CLI only fetches files
//! at the end. A spec that would put a credential into the manifests (user info or a
//! password in the URL) is refused: tokens travel as `token_secret=NAME` (a `secret` of
//! the file, from its Kubernetes Secret) or `token_env=VAR` (read by the coordinator
//! from the run's Secret, key VAR).

use std::path::{Path, PathBuf};
use volley_engine::output::{influx, otlp, spec, stats::TrendStat, OutSpec};
use volley_k8s::manifests::outputs::ClusterOut;
use volley_plan::Plan;

/// The outputs of a run on the cluster, and the local files the CLI writes at the end.
#[derive(Debug, Default)]
pub struct ClusterOutputs {
    pub outs: Vec<ClusterOut>,
    /// The local file of each `--out json=FILE`, in order: the coordinator's `GET /out/K`.
    pub json_files: Vec<PathBuf>,
    /// The local file of each `--out junit=FILE`: written by the CLI at the end, from the
    /// fleet's summary (the coordinator's merged verdict).
    pub junit_files: Vec<PathBuf>,
}

/// Query keys that carry a credential (InfluxDB 1.x takes `u=…&p=…`).
const CREDENTIAL_KEYS: &[&str] = &[
    "p",
    "password",
    "token",
    "access_token",
    "api_key",
    "apikey",
];

/// Parses and checks the specs; `local_json` says whether `json=FILE` is allowed (deploy
/// fetches it into FILE, which is created now; compile writes no local file).
pub fn parse(specs: &[String], plan: &Plan, local_json: bool) -> Result<ClusterOutputs, String> {
    let mut out = ClusterOutputs::default();
    for raw in specs {
        match spec::parse(raw).map_err(|e| e.to_string())? {
            OutSpec::Json { path } => {
                if !local_json {
                    return Err("--out json=…: `volley compile` writes no results; the coordinator of a \
                                compiled run streams only to network outputs (prometheus, influxdb, otlp). \
                                `volley deploy --out json=FILE` fetches the NDJSON into FILE at the end"
                        .into());
                }
                create(&path, "--out json")?;
                out.outs.push(ClusterOut::Json);
                out.json_files.push(path);
            }
            OutSpec::Junit { path } => {
                if !local_json {
                    return Err("--out junit=…: `volley compile` writes no results; \
                                `volley deploy --out junit=FILE` writes the JUnit XML from the \
                                fleet's summary at the end"
                        .into());
                }
                create(&path, "--out junit")?;
                out.junit_files.push(path);
            }
            OutSpec::Csv { .. } => {
                return Err(
                    "--out csv=…: a cluster run streams its merged intervals to network \
                            outputs (prometheus, influxdb, otlp) and can fetch --out json=FILE; CSV rows \
                            are written by `volley run` (also with --runners N)"
                        .into(),
                );
            }
            OutSpec::Prometheus { url, opts } => {
                if let Some(stats) = opts.get("trend_stats") {
                    TrendStat::parse_list(stats).map_err(|e| format!("--out prometheus: {e}"))?;
                }
                out.outs
                    .push(network("prometheus", raw, &url, &opts, plan)?);
            }
            OutSpec::Influx { url, opts } => {
                influx::write_url(&url).map_err(|e| e.to_string())?;
                out.outs.push(network("influxdb", raw, &url, &opts, plan)?);
            }
            OutSpec::Otlp { url, opts } => {
                otlp::OtlpOptions::from_spec(&opts, &plan.name, "").map_err(|e| e.to_string())?;
                out.outs.push(network("otlp", raw, &url, &opts, plan)?);
            }
        }
    }
    Ok(out)
}

fn network(
    kind: &str,
    raw: &str,
    url: &url::Url,
    opts: &std::collections::BTreeMap<String, String>,
    plan: &Plan,
) -> Result<ClusterOut, String> {
    let shown = spec::redacted(url);
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "--out {kind}={shown}: the URL carries user info, which would be written into the \
             coordinator's manifest; send a token with token_secret=NAME or token_env=VAR instead"
        ));
    }
    if let Some((k, _)) = url
        .query_pairs()
        .find(|(k, _)| CREDENTIAL_KEYS.contains(&k.to_ascii_lowercase().as_str()))
    {
        return Err(format!(
            "--out {kind}={shown}: the query parameter `{k}` carries a credential, which would be \
             written into the coordinator's manifest; send a token with token_secret=NAME or \
             token_env=VAR instead"
        ));
    }
    if let Some(name) = opts.get("token_secret") {
        if !plan.secrets.iter().any(|s| &s.name == name) {
            let known: Vec<&str> = plan.secrets.iter().map(|s| s.name.as_str()).collect();
            return Err(format!(
                "--out {kind}: token_secret={name}: the .load file declares no secret `{name}` (it declares: {})",
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            ));
        }
    }
    let token_env = opts.get("token_env").cloned();
    if let Some(var) = &token_env {
        let ok = var
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(format!(
                "--out {kind}: token_env={var}: not an environment variable name (letters, digits, `_`)"
            ));
        }
        if var.starts_with("VOLLEY_") {
            return Err(format!(
                "--out {kind}: token_env={var}: the pods' own variables (VOLLEY_…, the run token among them) are never sent to an output; name another variable"
            ));
        }
    }
    let (Some(host), Some(port)) = (url.host(), url.port_or_known_default()) else {
        return Err(format!("--out {kind}={shown}: the URL has no host"));
    };
    Ok(ClusterOut::Network {
        spec: raw.trim().to_string(),
        host: host.to_owned(),
        port,
        token_env,
    })
}

/// Creates `path` empty, so an unwritable one is refused before anything runs.
pub fn create(path: &Path, flag: &str) -> Result<(), String> {
    std::fs::write(path, "").map_err(|e| format!("{flag}: cannot create `{}`: {e}", path.display()))
}

/// Checks `--report` and `--summary-json` (created empty now, written at the end).
pub fn check_files(report: Option<&Path>, summary_json: Option<&Path>) -> Result<(), String> {
    if let Some(p) = report {
        create(p, "--report")?;
    }
    if let Some(p) = summary_json {
        create(p, "--summary-json")?;
    }
    Ok(())
}

/// Writes the summary as `volley run --summary-json` does (pretty, one trailing newline);
/// another shape is written as it came.
pub fn write_summary(v: &serde_json::Value, path: &Path) -> std::io::Result<()> {
    match serde_json::from_value::<volley_engine::summary::Summary>(v.clone()) {
        Ok(s) => volley_engine::summary::write_json(&s, path),
        Err(_) => {
            let mut text = serde_json::to_string_pretty(v).map_err(std::io::Error::other)?;
            text.push('\n');
            std::fs::write(path, text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        let loader = volley_compiler::MemLoader::new()
            .with("t.load", include_str!("../../../examples/secrets.load"));
        let compiled = volley_compiler::compile("t.load", &loader, &Default::default());
        compiled.plan.expect("examples/secrets.load compiles")
    }

    #[test]
    fn credentials_in_the_url_are_refused_and_tokens_name_variables() {
        let p = plan();
        let e = parse(
            &["influxdb=http://u:pw@10.0.0.1:8086/volley".into()],
            &p,
            false,
        )
        .unwrap_err();
        assert!(e.contains("user info") && !e.contains("pw"), "{e}");
        let e = parse(
            &["influxdb=http://10.0.0.1:8086/write?db=v&p=pw".into()],
            &p,
            false,
        )
        .unwrap_err();
        assert!(e.contains("`p`") && !e.contains("pw"), "{e}");
        let e = parse(
            &["prometheus=http://x:9090/w,token_secret=nope".into()],
            &p,
            false,
        )
        .unwrap_err();
        assert!(
            e.contains("declares no secret `nope` (it declares: api_key)"),
            "{e}"
        );
        assert!(parse(
            &["prometheus=http://x:9090/w,token_secret=api_key".into()],
            &p,
            false
        )
        .is_ok());
        let e = parse(
            &["prometheus=http://x:9090/w,token_env=VOLLEY_TOKEN".into()],
            &p,
            false,
        )
        .unwrap_err();
        assert!(e.contains("never sent to an output"), "{e}");
        let e = parse(&["json=out.ndjson".into()], &p, false).unwrap_err();
        assert!(e.contains("volley deploy --out json"), "{e}");
        let e = parse(&["junit=out.xml".into()], &p, false).unwrap_err();
        assert!(e.contains("volley deploy --out junit=FILE"), "{e}");
        let e = parse(&["csv=out.csv".into()], &p, true).unwrap_err();
        assert!(e.contains("--out csv=…: a cluster run"), "{e}");
        let dir = tempfile::tempdir().expect("a temporary folder");
        let xml = dir.path().join("verdict.xml");
        let ok = parse(&[format!("junit={}", xml.display())], &p, true).expect("valid");
        assert_eq!(ok.junit_files, std::slice::from_ref(&xml));
        assert!(ok.outs.is_empty(), "the coordinator gets no junit output");
        assert!(xml.is_file(), "created up front");
        let e = parse(&["junit=/nonexistent-volley-dir/v.xml".into()], &p, true).unwrap_err();
        assert!(e.contains("--out junit: cannot create"), "{e}");
        let ok = parse(
            &[
                "prometheus=http://prom.monitoring.svc:9090/api/v1/write,token_env=PROM_TOKEN"
                    .into(),
            ],
            &p,
            false,
        )
        .expect("valid");
        assert_eq!(
            ok.outs,
            [ClusterOut::Network {
                spec:
                    "prometheus=http://prom.monitoring.svc:9090/api/v1/write,token_env=PROM_TOKEN"
                        .into(),
                host: url::Host::Domain("prom.monitoring.svc".into()),
                port: 9090,
                token_env: Some("PROM_TOKEN".into()),
            }]
        );
    }
}
