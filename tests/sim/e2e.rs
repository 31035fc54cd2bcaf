//! The compiled manifests, run: a 4-runner fleet to one merged verdict, `volley deploy`,
//! `status`, `logs`, `abort` and `delete` against the simulated cluster, a killed runner,
//! a runner replaced after a disruption before the start, the Job deadline, clean-up, and
//! a manifest whose path or env disagrees with the binary. Targets are loopback servers
//! the tests start.

use super::cluster::{read_manifests, Phase, Sim};
use super::pod::Launcher;
use super::process::{can_unshare, ProcessLauncher};
use crate::support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

const TOKEN: &str = "sim-token-0123456789abcdef";

/// The launcher of these tests: local processes in their own mount namespaces (root).
fn launcher() -> Option<Box<dyn Launcher + Send + Sync>> {
    if !can_unshare() {
        skip_or_fail("root (the cluster simulation mounts volumes in private mount namespaces)");
        return None;
    }
    Some(Box::new(ProcessLauncher {
        binary: volley_bin(),
        entrypoint: "/volley".into(),
    }))
}

/// A fleet file: `runners` runners, one VU each, `iterations` requests per VU with
/// `pause` between them.
fn fleet_file(
    dir: &Path,
    runners: u32,
    iterations: u32,
    pause: &str,
    fleet_extra: &str,
) -> PathBuf {
    let f = dir.join("sim.load");
    std::fs::write(
        &f,
        format!(
            "param base_url: url = \"http://127.0.0.1:8088\"\ntarget api = base_url\n\n\
             scenario s {{\n  workload = per_vu_iterations(vus: {runners}, iterations: {iterations}, max_duration: 1m)\n\
             \x20 iteration {{\n    check \"ok\": get(api, \"/k/{{test.iteration}}\").status == 200\n    sleep {pause}\n  }}\n}}\n\n\
             thresholds {{\n  checks: rate == 100%\n}}\n\n\
             fleet {{\n  runners = {runners}\n  grace = 2s\n  start_timeout = 20s\n{fleet_extra}}}\n"
        ),
    )
    .unwrap();
    f
}

/// `volley compile FILE --out-dir DIR --param base_url=URL`; the run id.
fn compile(file: &Path, out: &Path, url: &str) -> String {
    let o = volley(&[
        "compile",
        file.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
        "--param",
        &format!("base_url={url}"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    t.split("run ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .expect("compile names the run")
        .to_string()
}

fn status_6566(path: &str) -> Option<Value> {
    try_http(6566, "GET", path)
        .ok()
        .filter(|(c, _)| *c == 200)
        .and_then(|(_, b)| serde_json::from_str(&b).ok())
}

/// Waits for the coordinator's `/status` to say done; returns (status, summary).
fn fleet_done(sim: &Sim, limit: Duration) -> (Value, Value) {
    let mut last = None;
    let ok = wait_until(limit, || {
        last = status_6566("/status");
        last.as_ref().is_some_and(|s| s["phase"] == "done")
    });
    assert!(ok, "the fleet did not finish: {last:?}\n{}", sim.describe());
    let summary = status_6566("/summary").expect("the coordinator serves /summary");
    (last.unwrap(), summary)
}

fn runner_rows(s: &Value) -> Vec<(bool, f64)> {
    s["volley"]["runners"]
        .as_array()
        .expect("per-runner rows")
        .iter()
        .map(|r| {
            (
                r["lost"].as_bool().unwrap(),
                r["iterations"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// Compiles, applies the manifests and the token Secret as `kubectl apply` would.
fn apply_compiled(sim: &Sim, file: &Path, url: &str, edit: impl FnOnce(&mut Vec<Value>)) -> String {
    let out = sim.dir.join("out");
    let run = compile(file, &out, url);
    let mut objects = read_manifests(&out);
    edit(&mut objects);
    objects.insert(0, Sim::token_secret(&run, TOKEN));
    sim.apply(&objects, "default");
    run
}

#[test]
fn compiled_manifests_run_four_runners_to_one_merged_verdict() {
    let Some(l) = launcher() else { return };
    let sim = Sim::start("sim-four", l);
    let rec = Recorder::start();
    let file = fleet_file(&sim.dir, 4, 20, "10ms", "");
    let run = apply_compiled(&sim, &file, &rec.url(), |_| {});
    let job = sim.wait_job(&format!("{run}-runners"), Duration::from_secs(90));
    assert_eq!(
        job.finished.as_ref().map(|f| f.0.as_str()),
        Some("Complete"),
        "{}",
        sim.describe()
    );
    let (status, summary) = fleet_done(&sim, Duration::from_secs(30));
    assert_eq!(status["exit_code"], 0, "{status}");
    assert_eq!(status["runners"]["done"], 4, "{status}");
    assert_eq!(
        runner_rows(&summary),
        vec![(false, 20.0); 4],
        "one merged summary of 4 runners"
    );
    assert_eq!(metric(&summary, "http_reqs", "count"), 80.0);
    assert_eq!(rec.requests().len(), 80, "the target saw each request once");
    // Each runner pod got its own index through the downward API.
    let mut indexes: Vec<u32> = sim.pods().iter().filter_map(|p| p.index).collect();
    indexes.sort();
    assert_eq!(indexes, vec![0, 1, 2, 3]);
}
