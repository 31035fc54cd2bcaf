//! The compiled manifests, run: a 4-runner fleet to one merged verdict, `volley deploy`,
//! `status`, `logs`, `abort` and `delete` against the simulated cluster, a killed runner,
//! a runner replaced after a disruption before the start (its node gone, or evicted), the Job deadline, clean-up, and
//! a manifest whose path or env disagrees with the binary. Targets are loopback servers
//! the tests start.

use super::cluster::{read_manifests, Phase, Sim};
use super::pod::Launcher;
use super::podman::Podman;
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

/// The container launcher: pods as containers of the pods' image (scripts/image.sh builds
/// it; scripts/test.sh exports `VOLLEY_IMAGE`), with podman and runc.
fn containers() -> Option<Box<dyn Launcher + Send + Sync>> {
    Some(Box::new(Podman::from_env_or_skip()?))
}

/// A fleet file: `runners` runners, one VU each, `iterations` requests per VU with
/// `pause` between them. The start timeout is long (90 s): no test waits for it to pass,
/// and on a busy 2-core CI machine containers of a held or replaced runner took longer
/// than the 20 s it was (the eviction test's coordinator gave up before the
/// replacement came).
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
             fleet {{\n  runners = {runners}\n  grace = 2s\n  start_timeout = 90s\n{fleet_extra}}}\n"
        ),
    )
    .unwrap();
    f
}

/// `volley compile FILE --out-dir DIR [--param base_url=URL]`; the run id.
fn compile(file: &Path, out: &Path, url: Option<&str>) -> String {
    let param = url.map(|u| format!("base_url={u}"));
    let mut args = vec![
        "compile",
        file.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
    ];
    if let Some(p) = &param {
        args.extend(["--param", p]);
    }
    let o = volley(&args);
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
    let run = compile(file, &out, Some(url));
    let mut objects = read_manifests(&out);
    edit(&mut objects);
    objects.insert(0, Sim::token_secret(&run, TOKEN));
    sim.apply(&objects, "default");
    run
}

#[test]
fn compiled_manifests_run_four_runners_to_one_merged_verdict() {
    if let Some(l) = launcher() {
        four_runners_to_one_merged_verdict(l);
    }
}

#[test]
fn compiled_manifests_run_four_runners_to_one_merged_verdict_in_containers() {
    if let Some(l) = containers() {
        four_runners_to_one_merged_verdict(l);
    }
}

fn four_runners_to_one_merged_verdict(l: Box<dyn Launcher + Send + Sync>) {
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
    assert_eq!(
        job.succeeded.into_iter().collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
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

/// The pods of Job `job` with index `index`.
fn pods_of(sim: &Sim, job: &str, index: u32) -> Vec<super::cluster::PodInfo> {
    sim.pods()
        .into_iter()
        .filter(|p| p.job == job && p.index == Some(index))
        .collect()
}

/// Waits for the coordinator's `/status` to satisfy `ok`.
fn wait_status(sim: &Sim, limit: Duration, mut ok: impl FnMut(&Value) -> bool) -> Value {
    let mut last = None;
    let done = wait_until(limit, || {
        last = status_6566("/status");
        last.as_ref().is_some_and(&mut ok)
    });
    assert!(
        done,
        "coordinator status never matched: {last:?}\n{}",
        sim.describe()
    );
    last.unwrap()
}

#[test]
fn deploy_status_logs_abort_and_delete_drive_the_simulated_run() {
    let Some(l) = launcher() else { return };
    let sim = Sim::start("sim-deploy", l);
    let rec = Recorder::start();
    let file = fleet_file(&sim.dir, 4, 20, "300ms", "");
    let url = format!("base_url={}", rec.url());
    let f = file.to_str().unwrap();
    let junit = sim.dir.join("verdict.xml");
    let spec = format!("junit={}", junit.display());
    let out = sim.volley(
        &[
            "deploy",
            f,
            "--context",
            "sim",
            "--param",
            &url,
            "--out",
            &spec,
        ],
        Duration::from_secs(120),
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}\n{}", sim.describe());
    // `--out junit=FILE`: written by deploy from the fleet's merged summary.
    assert!(t.contains("junit: 3 test cases (0 failed)"), "{t}");
    let xml = std::fs::read_to_string(&junit).expect("deploy wrote the JUnit file");
    assert!(
        xml.contains(
            r#"<testcase name="checks: rate == 100%" classname="sim.thresholds" time="0"/>"#
        ) && xml.contains(r#"<testcase name="ok" classname="sim.checks" time="0"/>"#)
            && xml.contains(r#"<property name="verdict" value="passed"/>"#),
        "{xml}"
    );
    // About 6 s of load: the readiness probe (every 2 s) passes and deploy's one-second
    // polls see the run live.
    assert!(
        t.contains("4 runners: running (") && t.contains(" iterations, "),
        "the live line came from the real coordinator: {t}"
    );
    assert_eq!(rec.requests().len(), 80, "{t}");
    let run = t
        .split("deploying run ")
        .nth(1)
        .and_then(|r| r.split(':').next())
        .expect("deploy names the run")
        .to_string();
    // The token the pods got is the one deploy made, never printed.
    let token = sim.fake.with(|s| {
        s.objects[&format!("api/v1/secrets/{run}-token")]["data"]["token"]
            .as_str()
            .map(String::from)
    });
    assert!(token.is_some_and(|t| !out.stdout.is_empty() && !t.is_empty()));

    let out = sim.volley(
        &["status", &run, "--context", "sim"],
        Duration::from_secs(30),
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains(&format!("{run}-runners")) && t.contains("Complete"),
        "{t}"
    );
    let out = sim.volley(&["logs", &run, "--context", "sim"], Duration::from_secs(30));
    assert!(
        out.status.success() && text(&out).contains("coordinator"),
        "{}",
        text(&out)
    );
    let out = sim.volley(
        &["logs", &run, "--context", "sim", "--runner", "2"],
        Duration::from_secs(30),
    );
    assert!(
        out.status.success() && text(&out).contains("runner 2 of 4 joined"),
        "{}",
        text(&out)
    );
    let out = sim.volley(
        &["abort", &run, "--context", "sim"],
        Duration::from_secs(30),
    );
    assert!(
        out.status.success(),
        "abort reached the coordinator with the run token: {}",
        text(&out)
    );
    let out = sim.volley(
        &["delete", &run, "--context", "sim"],
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        sim.fake.with(|s| s.objects.is_empty()),
        "delete removed every object"
    );
    assert!(
        wait_until(Duration::from_secs(40), || !sim.any_alive()
            && sim.pods().is_empty()),
        "delete stopped every pod:\n{}",
        sim.describe()
    );
}

#[test]
fn cleanup_on_success_deletes_the_run_and_stops_its_pods() {
    let Some(l) = launcher() else { return };
    let sim = Sim::start("sim-cleanup", l);
    let rec = Recorder::start();
    let file = fleet_file(&sim.dir, 2, 5, "10ms", "  cleanup = on_success\n");
    let url = format!("base_url={}", rec.url());
    let out = sim.volley(
        &[
            "deploy",
            file.to_str().unwrap(),
            "--context",
            "sim",
            "--param",
            &url,
        ],
        Duration::from_secs(120),
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}\n{}", sim.describe());
    assert!(t.contains("cleanup = on_success: deleted"), "{t}");
    assert!(
        sim.fake.with(|s| s.objects.is_empty()),
        "every object deleted"
    );
    assert!(
        wait_until(Duration::from_secs(40), || !sim.any_alive()
            && sim.pods().is_empty()),
        "the lingering coordinator was stopped:\n{}",
        sim.describe()
    );
}

#[test]
fn a_killed_runner_pod_fails_its_index_and_the_others_keep_their_data() {
    if let Some(l) = launcher() {
        killed_runner(l);
    }
}

#[test]
fn a_killed_runner_container_fails_its_index_and_the_others_keep_their_data() {
    if let Some(l) = containers() {
        killed_runner(l);
    }
}

fn killed_runner(l: Box<dyn Launcher + Send + Sync>) {
    let sim = Sim::start("sim-killed", l);
    let rec = Recorder::start();
    // 40 iterations of 150 ms: about 6 s; runner 2 is killed after about 2 s.
    let file = fleet_file(&sim.dir, 4, 40, "150ms", "");
    let url = format!("base_url={}", rec.url());
    let deploy = sim.spawn_volley(&[
        "deploy",
        file.to_str().unwrap(),
        "--context",
        "sim",
        "--param",
        &url,
    ]);
    wait_status(&sim, Duration::from_secs(60), |s| {
        s["phase"] == "running" && s["elapsed_ms"].as_u64() > Some(2000)
    });
    let run_job = sim
        .pods()
        .iter()
        .find(|p| p.index == Some(2))
        .map(|p| p.job.clone())
        .unwrap();
    let victim = pods_of(&sim, &run_job, 2).remove(0);
    sigkill(victim.pid.unwrap());
    let out = wait_output(deploy, Duration::from_secs(90));
    let t = text(&out);
    assert_eq!(
        out.status.code(),
        Some(110),
        "a lost runner: {t}\n{}",
        sim.describe()
    );
    let job = sim.wait_job(&run_job, Duration::from_secs(30));
    assert_eq!(job.finished.map(|f| f.1), Some("FailedIndexes".into()));
    assert_eq!(job.failed.into_iter().collect::<Vec<_>>(), vec![2]);
    let pods = pods_of(&sim, &run_job, 2);
    assert_eq!(pods.len(), 1, "FailIndex: no second pod for index 2");
    assert_eq!(pods[0].exit_code, Some(137));
    let (_, summary) = fleet_done(&sim, Duration::from_secs(10));
    let rows = runner_rows(&summary);
    assert_eq!([rows[0], rows[1], rows[3]], [(false, 40.0); 3], "{rows:?}");
    assert!(rows[2].0 && rows[2].1 < 40.0, "{rows:?}");
}

#[test]
fn a_runner_whose_node_goes_away_before_the_start_is_replaced_without_double_load() {
    let Some(l) = launcher() else { return };
    let sim = Sim::start("sim-replace", l);
    let rec = Recorder::start();
    let file = fleet_file(&sim.dir, 4, 10, "10ms", "");
    let out = sim.dir.join("out");
    let run = compile(&file, &out, Some(&rec.url()));
    let runners = format!("{run}-runners");
    sim.hold(&runners, 3);
    let mut objects = read_manifests(&out);
    objects.insert(0, Sim::token_secret(&run, TOKEN));
    sim.apply(&objects, "default");
    wait_status(&sim, Duration::from_secs(30), |s| {
        s["runners"]["joined"] == 3
    });
    let first = pods_of(&sim, &runners, 1).remove(0);
    sim.lose_node(&first.name);
    assert!(
        wait_until(Duration::from_secs(30), || pods_of(&sim, &runners, 1).len()
            == 2),
        "a replacement for index 1:\n{}",
        sim.describe()
    );
    let pods = pods_of(&sim, &runners, 1);
    assert!(
        !matches!(pods[0].phase, Phase::Pending | Phase::Running),
        "the replacement came after the old pod terminated: {pods:?}"
    );
    // A lost node says no goodbye: the coordinator lets the replacement take index 1
    // once the old instance's heartbeat has lapsed (5 s; docs/protocol.md,
    // "Replacements"). Index 3 comes only after that: released as soon as the
    // replacement's pod exists, it could join in the moment before the replacement first
    // asks, and the fleet would start with the dead runner (then lose it, exit 110), the
    // race a CI run hit.
    assert!(
        wait_until(Duration::from_secs(30), || pods_of(&sim, &runners, 1)
            .iter()
            .any(|p| p.name != first.name && p.log.contains("joined run"))),
        "the replacement joined:\n{}",
        sim.describe()
    );
    sim.release(&runners, 3);
    let job = sim.wait_job(&runners, Duration::from_secs(60));
    assert_eq!(
        job.finished.as_ref().map(|f| f.0.as_str()),
        Some("Complete"),
        "{}",
        sim.describe()
    );
    let (status, summary) = fleet_done(&sim, Duration::from_secs(30));
    assert_eq!(status["exit_code"], 0, "{status}");
    assert_eq!(runner_rows(&summary), vec![(false, 10.0); 4]);
    assert_eq!(rec.requests().len(), 40, "no double load");
}

#[test]
fn a_runner_evicted_before_the_start_is_replaced_without_double_load() {
    if let Some(l) = launcher() {
        evicted_before_the_start(l);
    }
}

#[test]
fn a_runner_container_evicted_before_the_start_is_replaced_without_double_load() {
    if let Some(l) = containers() {
        evicted_before_the_start(l);
    }
}

/// An eviction (or a preemption) before the start: SIGTERM and DisruptionTarget. The runner
/// says it is gone (exit 105), the Job's `Ignore` rule makes a replacement, the coordinator
/// lets it take the free segment and starts once all four are ready.
fn evicted_before_the_start(l: Box<dyn Launcher + Send + Sync>) {
    let sim = Sim::start("sim-evict", l);
    let rec = Recorder::start();
    let file = fleet_file(&sim.dir, 4, 10, "10ms", "");
    let out = sim.dir.join("out");
    let run = compile(&file, &out, Some(&rec.url()));
    let runners = format!("{run}-runners");
    // Index 3 stays Pending: the fleet cannot start while index 1 is evicted.
    sim.hold(&runners, 3);
    let mut objects = read_manifests(&out);
    objects.insert(0, Sim::token_secret(&run, TOKEN));
    sim.apply(&objects, "default");
    wait_status(&sim, Duration::from_secs(60), |s| {
        s["runners"]["ready"] == 3
    });
    let first = pods_of(&sim, &runners, 1).remove(0);
    sim.evict(&first.name);
    assert!(
        wait_until(Duration::from_secs(60), || pods_of(&sim, &runners, 1).len()
            == 2),
        "a replacement for index 1:\n{}",
        sim.describe()
    );
    let pods = pods_of(&sim, &runners, 1);
    assert_eq!(
        (pods[0].phase.clone(), pods[0].exit_code),
        (Phase::Failed, Some(105)),
        "the evicted runner stopped on SIGTERM, before the replacement came: {pods:?}"
    );
    sim.release(&runners, 3);
    let job = sim.wait_job(&runners, Duration::from_secs(90));
    assert_eq!(
        job.finished.as_ref().map(|f| f.0.as_str()),
        Some("Complete"),
        "{}",
        sim.describe()
    );
    let (status, summary) = fleet_done(&sim, Duration::from_secs(30));
    assert_eq!(status["exit_code"], 0, "{status}\n{}", sim.describe());
    assert_eq!(runner_rows(&summary), vec![(false, 10.0); 4]);
    assert_eq!(rec.requests().len(), 40, "exactly the planned load");
    assert_eq!(pods_of(&sim, &runners, 1).len(), 2, "one replacement only");
}

#[test]
fn the_job_deadline_stops_runner_pods_that_outlive_it() {
    let Some(l) = launcher() else { return };
    let sim = Sim::start("sim-deadline", l);
    let rec = Recorder::start();
    // 100 iterations of 100 ms: about 10 s, past a runners' Job deadline of 3 s.
    let file = fleet_file(&sim.dir, 2, 100, "100ms", "");
    let mut run_job = String::new();
    let run = apply_compiled(&sim, &file, &rec.url(), |objects| {
        for o in objects.iter_mut() {
            let name = o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if o["kind"] == "Job" && name.ends_with("-runners") {
                o["spec"]["activeDeadlineSeconds"] = 3.into();
                run_job = name;
            }
        }
    });
    let started = std::time::Instant::now();
    let job = sim.wait_job(&run_job, Duration::from_secs(60));
    assert_eq!(
        job.finished.map(|f| f.1),
        Some("DeadlineExceeded".into()),
        "{}",
        sim.describe()
    );
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "stopped at the deadline, not the end"
    );
    for p in sim.pods().iter().filter(|p| p.job == run_job) {
        assert_ne!(p.exit_code, Some(0), "{p:?}");
        assert_eq!(
            p.reason.as_ref().map(|r| r.0.as_str()),
            Some("DeadlineExceeded")
        );
    }
    let (status, _) = fleet_done(&sim, Duration::from_secs(30));
    assert_ne!(status["exit_code"], 0, "{status}");
    let _ = run;
}

/// Runs compiled manifests changed by `edit`; the Job that fails and the pods' logs.
fn run_edited(tag: &str, edit: impl FnOnce(&mut Vec<Value>)) -> (Sim, String) {
    let l = launcher().expect("checked by the caller");
    let sim = Sim::start(tag, l);
    let file = fleet_file(&sim.dir, 2, 5, "10ms", "");
    let run = apply_compiled(&sim, &file, "http://127.0.0.1:9", edit);
    (sim, run)
}

fn runner_container(objects: &mut [Value]) -> &mut Value {
    objects
        .iter_mut()
        .find(|o| {
            o["kind"] == "Job"
                && o["metadata"]["name"]
                    .as_str()
                    .unwrap()
                    .ends_with("-runners")
        })
        .map(|o| &mut o["spec"]["template"]["spec"]["containers"][0])
        .expect("the runners Job")
}

#[test]
fn a_mount_path_the_binary_does_not_read_fails_the_run() {
    if !can_unshare() {
        return skip_or_fail("root (mount namespaces)");
    }
    let (sim, run) = run_edited("sim-bad-path", |objects| {
        let c = runner_container(objects);
        for m in c["volumeMounts"].as_array_mut().unwrap() {
            if m["name"] == "plan" {
                m["mountPath"] = "/etc/volley/plan-moved".into();
            }
        }
    });
    let job = sim.wait_job(&format!("{run}-runners"), Duration::from_secs(60));
    assert_eq!(
        job.finished.map(|f| f.1),
        Some("FailedIndexes".into()),
        "{}",
        sim.describe()
    );
    for p in sim.pods().iter().filter(|p| p.component == "runner") {
        assert_ne!(p.exit_code, Some(0));
        assert!(
            p.log.contains("/etc/volley/plan/plan.json"),
            "the binary says what it could not read: {}",
            p.log
        );
    }
}

#[test]
fn an_env_name_the_binary_does_not_read_fails_the_run() {
    if !can_unshare() {
        return skip_or_fail("root (mount namespaces)");
    }
    let (sim, run) = run_edited("sim-bad-env", |objects| {
        let c = runner_container(objects);
        for e in c["env"].as_array_mut().unwrap() {
            if e["name"] == "VOLLEY_TOKEN" {
                e["name"] = "VOLLEY_RUN_TOKEN".into();
            }
        }
    });
    let job = sim.wait_job(&format!("{run}-runners"), Duration::from_secs(60));
    assert_eq!(
        job.finished.map(|f| f.1),
        Some("FailedIndexes".into()),
        "{}",
        sim.describe()
    );
    for p in sim.pods().iter().filter(|p| p.component == "runner") {
        assert_ne!(p.exit_code, Some(0));
        assert!(
            p.log.contains("VOLLEY_TOKEN"),
            "the binary names the variable it needs: {}",
            p.log
        );
    }
}

#[test]
fn unique_data_slices_reach_the_coordinator_through_its_projected_volume() {
    let Some(l) = launcher() else { return };
    let sim = Sim::start("sim-data", l);
    let rec = Recorder::start();
    let cases = repo().join("tests/cases/fleet");
    std::fs::create_dir_all(sim.dir.join("data")).unwrap();
    std::fs::copy(cases.join("data/users.csv"), sim.dir.join("data/users.csv")).unwrap();
    let file = sim.dir.join("unique.load");
    let source = std::fs::read_to_string(cases.join("unique_rows.load")).unwrap();
    std::fs::write(&file, format!("{source}\nfleet {{\n  runners = 3\n}}\n")).unwrap();
    let run = apply_compiled(&sim, &file, &rec.url(), |objects| {
        // Each runner's slice is a pack of its own, as files of the slices ConfigMaps.
        let slices = objects
            .iter()
            .filter(|o| o["kind"] == "ConfigMap")
            .filter_map(|o| o["binaryData"].as_object())
            .flat_map(|b| b.keys())
            .filter(|k| k.starts_with("slice-"))
            .count();
        assert_eq!(slices, 3, "one data slice per runner");
    });
    let job = sim.wait_job(&format!("{run}-runners"), Duration::from_secs(90));
    assert_eq!(
        job.finished.as_ref().map(|f| f.0.as_str()),
        Some("Complete"),
        "{}",
        sim.describe()
    );
    let (status, _) = fleet_done(&sim, Duration::from_secs(30));
    assert_eq!(status["exit_code"], 0, "{status}\n{}", sim.describe());
    let paths: std::collections::BTreeSet<String> =
        rec.requests().into_iter().map(|(p, _)| p).collect();
    assert_eq!(rec.requests().len(), 18);
    assert_eq!(paths.len(), 18, "every row once, fleet-wide: {paths:?}");
}

/// A loopback HTTP/1.1 server that answers `200 ok` and records each request's
/// `authorization` header.
fn header_server() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let shared = std::sync::Arc::clone(&seen);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let seen = std::sync::Arc::clone(&shared);
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                let mut buf = Vec::new();
                loop {
                    let Some(head) = read_head(&mut stream, &mut buf) else {
                        return;
                    };
                    let head = head.to_ascii_lowercase();
                    let auth = head
                        .lines()
                        .find_map(|l| l.strip_prefix("authorization: "))
                        .unwrap_or_default()
                        .to_string();
                    seen.lock().unwrap().push(auth);
                    if stream
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (port, seen)
}

/// `examples/cluster.load`'s fleet (env from values, Secrets and ConfigMaps, a service
/// account, pull secrets, labels, priority class, affinity, resources per role), with a
/// short workload against a loopback server: its pods start with what the Secrets and
/// ConfigMaps hold, and the file's secret reaches the requests from its Secret.
#[test]
fn the_cluster_example_runs_with_env_from_its_secrets_and_configmaps() {
    let Some(l) = launcher() else { return };
    let sim = Sim::start("sim-cluster-example", l);
    let (port, seen) = header_server();
    let source = std::fs::read_to_string(repo().join("examples/cluster.load")).unwrap();
    let start = source.find("  workload =").expect("a workload");
    let end = start + source[start..].find("  iteration").expect("an iteration");
    let source = format!(
        "{}  workload = per_vu_iterations(vus: 4, iterations: 10, max_duration: 1m)\n{}",
        &source[..start],
        &source[end..]
    )
    .replace(
        "check r.status == 200",
        "check r.status == 200\n    sleep 200ms",
    )
    .replace("http://127.0.0.1:8088", &format!("http://127.0.0.1:{port}"));
    let file = sim.dir.join("cluster.load");
    std::fs::write(&file, source).unwrap();
    let out = sim.dir.join("out");
    let run = compile(&file, &out, None);
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    let mut objects = vec![
        Sim::token_secret(&run, TOKEN),
        serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "shop-api"},
            "data": {"key": b64("canary-api-key-3c9e")}}),
        serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tracing"},
            "data": {"token": b64("trace-token-77")}}),
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shop-flags"},
            "data": {"flags": "checkout-v2,fast-search"}}),
    ];
    objects.extend(read_manifests(&out));
    sim.apply(&objects, "loadtest");
    // While a runner runs, its process holds the resolved environment.
    let mut environ = String::new();
    let found = wait_until(Duration::from_secs(60), || {
        sim.pods()
            .iter()
            .filter(|p| p.component == "runner" && p.phase == Phase::Running)
            .filter_map(|p| std::fs::read(format!("/proc/{}/environ", p.pid?)).ok())
            .any(|e| {
                environ = String::from_utf8_lossy(&e).replace('\0', "\n");
                environ.contains("JOB_COMPLETION_INDEX=")
            })
    });
    assert!(found, "no runner ran:\n{}", sim.describe());
    for want in [
        "REGION=eu-west-1",
        "FEATURE_FLAGS=checkout-v2,fast-search",
        "TRACE_TOKEN=trace-token-77",
        "API_KEY=canary-api-key-3c9e",
        "VOLLEY_LOG_FORMAT=json",
    ] {
        assert!(
            environ.lines().any(|l| l == want),
            "{want} in the runner's environment"
        );
    }
    let job = sim.wait_job(&format!("{run}-runners"), Duration::from_secs(60));
    assert_eq!(
        job.finished.as_ref().map(|f| f.0.as_str()),
        Some("Complete"),
        "{}",
        sim.describe()
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 40);
    assert!(
        seen.iter().all(|a| a == "bearer canary-api-key-3c9e"),
        "the file's secret came from its Secret: {:?}",
        seen.first()
    );
}

/// `volley deploy --out prometheus=… --out json=… --report … --summary-json …` on the
/// simulated cluster: the coordinator pod streams the merged fleet into a real Prometheus
/// (once, not once per runner), deploy fetches the report, the summary and the NDJSON
/// through the service proxy, `volley status` fetches them again while the coordinator
/// lingers, and reads the summary from the coordinator pod's log once it has exited.
#[test]
fn deploy_streams_to_prometheus_and_fetches_the_report_and_summary() {
    let Some(l) = launcher() else { return };
    let Some(prom) = crate::services::Prometheus::start() else {
        return;
    };
    let sim = Sim::start("sim-outputs", l);
    let rec = Recorder::start();
    let file = fleet_file(&sim.dir, 4, 20, "100ms", "");
    let url = format!("base_url={}", rec.url());
    let testid = format!("sim-{}", std::process::id());
    let prom_spec = format!("prometheus={},testid={testid}", prom.write_url());
    let (report, summary_json, ndjson) = (
        sim.dir.join("report.html"),
        sim.dir.join("summary.json"),
        sim.dir.join("out.ndjson"),
    );
    let json_spec = format!("json={}", ndjson.display());
    let out = sim.volley(
        &[
            "deploy",
            file.to_str().unwrap(),
            "--context",
            "sim",
            "--param",
            &url,
            "--out",
            &prom_spec,
            "--out",
            &json_spec,
            "--report",
            report.to_str().unwrap(),
            "--summary-json",
            summary_json.to_str().unwrap(),
        ],
        Duration::from_secs(120),
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}\n{}", sim.describe());
    let s = summary(&summary_json);
    let count = metric(&s, "http_reqs", "count");
    assert_eq!(count, 80.0, "{t}");
    assert_eq!(runner_rows(&s), vec![(false, 20.0); 4]);
    let html = std::fs::read_to_string(&report).expect("the report was fetched");
    assert!(
        html.contains("<html") && html.contains("http_reqs"),
        "a report: {} bytes",
        html.len()
    );
    let lines: Vec<Value> = std::fs::read_to_string(&ndjson)
        .expect("the NDJSON was fetched")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ndjson_reqs: f64 = lines
        .iter()
        .filter(|l| l["metric"] == "http_reqs")
        .map(|l| l["values"]["count"].as_f64().unwrap())
        .sum();
    assert_eq!(ndjson_reqs, count, "the NDJSON adds up to the summary");
    let sel = format!("{{testid=\"{testid}\"}}");
    let total = prom.query(&format!("sum(k6_http_reqs_total{sel})"));
    let got: f64 = total
        .first()
        .and_then(|r| r["value"][1].as_str())
        .unwrap_or_else(|| {
            panic!(
                "no k6_http_reqs_total{sel} in Prometheus:\n{}",
                sim.describe()
            )
        })
        .parse()
        .unwrap();
    assert_eq!(
        got, count,
        "requests in Prometheus = the summary's, counted once"
    );
    let iters = prom.query(&format!("sum(k6_iterations_total{sel})"));
    let got: f64 = iters[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert_eq!(got, metric(&s, "iterations", "count"));

    let run = t
        .split("deploying run ")
        .nth(1)
        .and_then(|r| r.split(':').next())
        .expect("deploy names the run")
        .to_string();
    // While the coordinator lingers, status fetches both again.
    let (report2, summary2) = (sim.dir.join("report2.html"), sim.dir.join("summary2.json"));
    let out = sim.volley(
        &[
            "status",
            &run,
            "--context",
            "sim",
            "--report",
            report2.to_str().unwrap(),
            "--summary-json",
            summary2.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(metric(&summary(&summary2), "http_reqs", "count"), count);
    assert!(std::fs::read_to_string(&report2).unwrap().contains("<html"));
    // The linger ended (a signal, as when its pod is stopped): the summary comes from the
    // coordinator pod's log.
    let coordinator = sim
        .pods()
        .into_iter()
        .find(|p| p.component == "coordinator")
        .expect("the coordinator pod");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &coordinator.pid.unwrap().to_string()])
        .status();
    assert!(
        wait_until(Duration::from_secs(30), || sim
            .pods()
            .iter()
            .any(
                |p| p.component == "coordinator" && p.phase == Phase::Succeeded
            )),
        "{}",
        sim.describe()
    );
    let summary3 = sim.dir.join("summary3.json");
    let out = sim.volley(
        &[
            "status",
            &run,
            "--context",
            "sim",
            "--summary-json",
            summary3.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("read from the coordinator pod's log"), "{t}");
    assert_eq!(metric(&summary(&summary3), "http_reqs", "count"), count);
}

/// `volley abort` mid-run: the run token from the run's Secret, through the service proxy,
/// stops the real coordinator; `volley deploy` ends with the aborted run's code.
#[test]
fn abort_stops_a_live_run_through_the_service_proxy() {
    let Some(l) = launcher() else { return };
    let sim = Sim::start("sim-abort", l);
    let rec = Recorder::start();
    // 100 iterations of 100 ms: about 10 s, aborted after about 2 s.
    let file = fleet_file(&sim.dir, 2, 100, "100ms", "");
    let url = format!("base_url={}", rec.url());
    let deploy = sim.spawn_volley(&[
        "deploy",
        file.to_str().unwrap(),
        "--context",
        "sim",
        "--param",
        &url,
    ]);
    wait_status(&sim, Duration::from_secs(60), |s| {
        s["phase"] == "running" && s["elapsed_ms"].as_u64() > Some(2000)
    });
    let run = sim
        .pods()
        .iter()
        .find(|p| p.component == "coordinator")
        .map(|p| p.job.trim_end_matches("-coordinator").to_string())
        .unwrap();
    let out = sim.volley(
        &["abort", &run, "--context", "sim"],
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = wait_output(deploy, Duration::from_secs(60));
    let t = text(&out);
    assert_eq!(
        out.status.code(),
        Some(105),
        "an aborted run: {t}\n{}",
        sim.describe()
    );
    assert!(
        rec.requests().len() < 150,
        "stopped early: {} requests",
        rec.requests().len()
    );
}
