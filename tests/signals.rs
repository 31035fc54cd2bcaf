//! Faults and signals (docs/faults.md): real signals sent to real `volley run`,
//! `volley runner` and `volley coordinator` processes loading a loopback server the test
//! starts. Every signal CI or Kubernetes sends ends a run with exit 105, a complete summary
//! and complete outputs, and no runner process outlives it; a second signal exits at once.
//! A closed output pipe stops a run the same way (k6 dies of SIGPIPE there).
//! Also: a closed-model iteration that never awaits still ends on time, a runner evicted
//! mid-run is reported lost with its reason, a replaced runner exits 104, the local
//! fleet's work folder is private, and an unwritable `--summary-json` is refused up front.

use crate::support::*;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const TOKEN: &str = "test-token-signals-0123456789";

/// A minute of closed-model load against `url` (stopped by the tests' signals).
fn long_load(dir: &Path, url: &str) -> PathBuf {
    let file = dir.join("long.load");
    std::fs::write(
        &file,
        format!(
            "target api = \"{url}\"\n\
             scenario s {{\n  workload = constant_vus(vus: 2, duration: 1m)\n  \
             iteration {{\n    get(api, \"/z\")\n    sleep 50ms\n  }}\n}}\n\
             fleet {{\n  runners = 2\n  grace = 3s\n  start_timeout = 30s\n}}\n"
        ),
    )
    .unwrap();
    file
}

/// Starts `volley ARGS` in a process group of its own (as a shell starts a job), with
/// `TMPDIR` set to `tmp`.
fn spawn_job(args: &[&str], tmp: &Path) -> Child {
    Command::new(volley_bin())
        .args(args)
        .current_dir(repo())
        .env("TMPDIR", tmp)
        .env("VOLLEY_TOKEN", TOKEN)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("volley starts")
}

/// `kill -SIG target` (a pid, or `-PGID` for a whole process group).
fn signal(sig: &str, target: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), "--", target])
        .status()
        .expect("kill runs")
        .success();
    assert!(ok, "kill -{sig} {target}");
}

fn wait_for(limit: Duration, what: &str, pred: impl FnMut() -> bool) {
    assert!(wait_until(limit, pred), "timed out waiting for {what}");
}

/// The runner processes `volley run --runners` started.
fn runner_pids(parent: u32) -> Vec<u32> {
    children_of(parent)
        .into_iter()
        .filter(|(_, cmd)| cmd.contains(" runner "))
        .map(|(pid, _)| pid)
        .collect()
}

/// The pid of local runner `segment` under the fleet parent.
fn runner_pid(parent: u32, segment: u32) -> u32 {
    let flag = format!("--segment {segment} ");
    children_of(parent)
        .into_iter()
        .find(|(_, cmd)| cmd.contains(" runner ") && cmd.contains(&flag))
        .map(|(pid, _)| pid)
        .unwrap_or_else(|| panic!("runner {segment} of {parent}"))
}

/// `volley run FILE --runners 2 -q --summary-json SJ` in `dir`, in the background.
fn spawn_fleet_of_two(file: &Path, sj: &Path, dir: &Path) -> Child {
    spawn_job(
        &[
            "run",
            file.to_str().unwrap(),
            "--runners",
            "2",
            "-q",
            "--summary-json",
            sj.to_str().unwrap(),
        ],
        dir,
    )
}

/// No request reaches `rec` any more: the count holds still for a second.
fn assert_no_more_load(rec: &Recorder) {
    let before = rec.requests().len();
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(rec.requests().len(), before, "load went on after the exit");
}

/// The summary file is complete JSON with the verdict of a signal.
fn assert_aborted_summary(sj: &Path) -> serde_json::Value {
    let s = summary(sj);
    assert_eq!(s["volley"]["exit_code"], 105, "{s}");
    assert_eq!(s["volley"]["verdict"], "aborted", "{s}");
    assert!(metric(&s, "http_reqs", "count") > 0.0, "{s}");
    s
}

#[test]
fn every_signal_ends_a_run_with_105_a_summary_and_complete_outputs() {
    let rec = Recorder::start();
    for sig in ["INT", "TERM", "HUP", "QUIT"] {
        let dir = temp_dir(&format!("signal-{sig}"));
        let file = long_load(&dir, &rec.url());
        let (sj, report, ndjson) = (
            dir.join("summary.json"),
            dir.join("report.html"),
            dir.join("out.ndjson"),
        );
        let before = rec.requests().len();
        let child = spawn_job(
            &[
                "run",
                file.to_str().unwrap(),
                "-q",
                "--summary-json",
                sj.to_str().unwrap(),
                "--report",
                report.to_str().unwrap(),
                "--out",
                &format!("json={}", ndjson.display()),
            ],
            &dir,
        );
        let pid = child.id();
        wait_for(Duration::from_secs(30), "the load to start", || {
            rec.requests().len() >= before + 5
        });
        signal(sig, &pid.to_string());
        let out = wait_output(child, Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(105), "SIG{sig}: {}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("exit code 105"), "SIG{sig}: {stdout}");
        assert_aborted_summary(&sj);
        let html = std::fs::read_to_string(&report).unwrap();
        assert!(html.trim_end().ends_with("</html>"), "SIG{sig}: report");
        let lines = std::fs::read_to_string(&ndjson).unwrap();
        assert!(lines.lines().count() > 0, "SIG{sig}: ndjson");
        for l in lines.lines() {
            serde_json::from_str::<serde_json::Value>(l).expect("complete NDJSON lines");
        }
        assert_no_more_load(&rec);
    }
}

#[test]
fn a_closed_iteration_that_never_awaits_ends_on_time_and_stops_on_a_signal() {
    let dir = temp_dir("closed-no-await");
    let file = dir.join("spin.load");
    let write = |duration: &str| {
        std::fs::write(
            &file,
            format!(
                "scenario s {{\n  workload = constant_vus(vus: 1, duration: {duration})\n  \
                 iteration {{\n    check \"always\": 1 == 1\n  }}\n}}\n"
            ),
        )
        .unwrap();
    };
    // Ends on time by itself (a sanity bound only: it used to spin forever).
    write("2s");
    let sj = dir.join("s.json");
    let out = volley_in(
        &dir,
        &[
            "run",
            file.to_str().unwrap(),
            "-q",
            "--workers",
            "1",
            "--summary-json",
            sj.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(metric(&summary(&sj), "iterations", "count") > 0.0);
    // And a signal stops it.
    write("10m");
    let child = spawn_job(
        &[
            "run",
            file.to_str().unwrap(),
            "-q",
            "--workers",
            "1",
            "--summary-json",
            sj.to_str().unwrap(),
        ],
        &dir,
    );
    std::thread::sleep(Duration::from_millis(1500));
    signal("INT", &child.id().to_string());
    let out = wait_output(child, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(105), "{}", text(&out));
    assert_eq!(summary(&sj)["volley"]["verdict"], "aborted");
}

#[test]
fn a_request_that_fails_before_any_io_does_not_hang_the_closed_loop() {
    let rec = Recorder::start();
    let dir = temp_dir("closed-bad-header");
    let file = dir.join("bad.load");
    std::fs::write(
        &file,
        format!(
            "target api = \"{}\"\nsecret token = env(\"SIGNALS_TOKEN\")\n\
             scenario s {{\n  workload = constant_vus(vus: 1, duration: 2s)\n  \
             iteration {{\n    get(api, \"/h\", headers: {{authorization: \"Bearer {{token}}\"}})\n  }}\n}}\n",
            rec.url()
        ),
    )
    .unwrap();
    let sj = dir.join("s.json");
    let out = volley_env(
        &dir,
        &[
            "run",
            file.to_str().unwrap(),
            "-q",
            "--workers",
            "1",
            "--summary-json",
            sj.to_str().unwrap(),
        ],
        &[("SIGNALS_TOKEN", "line\nbreak")],
        Duration::from_secs(60),
    );
    // Every request failed before it left: counted (1020), and the run does not pass.
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    let s = summary(&sj);
    assert!(
        metric(&s, "checks", "fails") > 0.0,
        "the failed requests: {s}"
    );
    assert_eq!(s["volley"]["verdict"], "no_responses", "{s}");
    assert_eq!(s["volley"]["errors"][0]["code"], 1020, "{s}");
    assert_eq!(rec.count("/h"), 0, "the request never left");
}

#[test]
fn a_terminal_ctrl_c_reaches_only_the_fleet_parent_which_stops_every_runner() {
    let rec = Recorder::start();
    let dir = temp_dir("signal-fleet-int");
    let file = long_load(&dir, &rec.url());
    let sj = dir.join("summary.json");
    let child = spawn_fleet_of_two(&file, &sj, &dir);
    let parent = child.id();
    wait_for(Duration::from_secs(30), "the load to start", || {
        rec.count("/z") >= 10
    });
    let runners = runner_pids(parent);
    assert_eq!(runners.len(), 2, "two runner processes");
    // A terminal sends SIGINT to its foreground process group: the job's.
    signal("INT", &format!("-{parent}"));
    let out = wait_output(child, Duration::from_secs(40));
    assert_eq!(out.status.code(), Some(105), "{}", text(&out));
    let s = assert_aborted_summary(&sj);
    let rows = s["volley"]["runners"].as_array().expect("runner rows");
    assert_eq!(rows.len(), 2, "{s}");
    for r in rows {
        assert_eq!(r["lost"], false, "stopped by the parent, not lost: {s}");
    }
    assert!(
        runners.iter().all(|&p| !alive(p)),
        "a runner outlived the run"
    );
    assert_no_more_load(&rec);
}

#[test]
fn sigterm_on_the_fleet_parent_stops_the_runners_and_a_second_signal_exits_at_once() {
    let rec = Recorder::start();
    for twice in [false, true] {
        let dir = temp_dir("signal-fleet-term");
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let file = long_load(&dir, &rec.url());
        let sj = dir.join("summary.json");
        let child = spawn_fleet_of_two(&file, &sj, &tmp);
        let parent = child.id();
        let before = rec.count("/z");
        wait_for(Duration::from_secs(30), "the load to start", || {
            rec.count("/z") >= before + 10
        });
        let runners = runner_pids(parent);
        assert_eq!(runners.len(), 2, "two runner processes");
        signal("TERM", &parent.to_string());
        if twice {
            // Sent while the graceful stop is under way: the stop reaches the runners at
            // once, and they end their 50 ms iterations, which takes longer than this.
            std::thread::sleep(Duration::from_millis(20));
            let _ = Command::new("kill")
                .args(["-TERM", &parent.to_string()])
                .status();
        }
        let out = wait_output(child, Duration::from_secs(40));
        assert_eq!(out.status.code(), Some(105), "{}", text(&out));
        if twice {
            assert!(text(&out).contains("exiting at once"), "{}", text(&out));
        } else {
            assert_aborted_summary(&sj);
        }
        assert!(
            runners.iter().all(|&p| !alive(p)),
            "a runner outlived the run"
        );
        let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().flatten().collect();
        assert!(left.is_empty(), "the work folder is removed: {left:?}");
        assert_no_more_load(&rec);
    }
}

#[test]
fn a_runner_evicted_mid_run_hands_over_its_data_and_is_counted_lost_with_the_reason() {
    let rec = Recorder::start();
    let dir = temp_dir("signal-runner-term");
    let file = long_load(&dir, &rec.url());
    let sj = dir.join("summary.json");
    let child = spawn_fleet_of_two(&file, &sj, &dir);
    let parent = child.id();
    wait_for(Duration::from_secs(30), "the load to start", || {
        rec.count("/z") >= 10
    });
    let victim = runner_pid(parent, 1);
    signal("TERM", &victim.to_string());
    // The other runner goes on: stop the run once runner 1 is gone.
    wait_for(Duration::from_secs(30), "runner 1 to exit", || {
        !alive(victim)
    });
    std::thread::sleep(Duration::from_millis(500));
    signal("INT", &parent.to_string());
    let out = wait_output(child, Duration::from_secs(40));
    let t = text(&out);
    assert!(t.contains("runner 1 lost: stopped by a signal"), "{t}");
    let s = summary(&sj);
    let r1 = &s["volley"]["runners"][1];
    assert_eq!(r1["lost"], true, "{s}");
    assert!(
        r1["reason"].as_str().unwrap_or("").contains("signal"),
        "{s}"
    );
    assert!(
        r1["iterations"].as_f64().unwrap() > 0.0,
        "its data is kept: {s}"
    );
    assert_eq!(s["volley"]["runners_lost"], 1, "{s}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("runner 1: stopped by a signal"), "{stdout}");
}

#[test]
fn an_evicted_runner_makes_the_fleet_exit_110_with_the_shortfall_in_the_verdict() {
    let rec = Recorder::start();
    let dir = temp_dir("signal-runner-110");
    let file = dir.join("short.load");
    std::fs::write(
        &file,
        format!(
            "target api = \"{}\"\n\
             scenario s {{\n  workload = per_vu_iterations(vus: 2, iterations: 60, max_duration: 1m)\n  \
             iteration {{\n    get(api, \"/k\")\n    sleep 50ms\n  }}\n}}\n\
             fleet {{\n  runners = 2\n  grace = 3s\n}}\n",
            rec.url()
        ),
    )
    .unwrap();
    let sj = dir.join("summary.json");
    let child = spawn_fleet_of_two(&file, &sj, &dir);
    let parent = child.id();
    wait_for(Duration::from_secs(30), "the load to start", || {
        rec.count("/k") >= 10
    });
    let victim = runner_pid(parent, 1);
    signal("TERM", &victim.to_string());
    let out = wait_output(child, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(110), "{}", text(&out));
    let s = summary(&sj);
    assert_eq!(s["volley"]["verdict"], "runners_lost", "{s}");
    let r1 = &s["volley"]["runners"][1];
    assert!(r1["iterations"].as_f64().unwrap() < 60.0, "{s}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("the fleet lost a runner (runner 1: stopped by a signal"),
        "{stdout}"
    );
}

/// `volley compile FILE -o DIR`; the plan's path.
fn compile(file: &Path, dir: &Path) -> PathBuf {
    let out = volley(&[
        "compile",
        file.to_str().unwrap(),
        "--out-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    dir.join("plan.json")
}

fn runner(plan: &Path, port: u16, k: u32, n: u32, tmp: &Path) -> Child {
    spawn_job(
        &[
            "runner",
            "--plan",
            plan.to_str().unwrap(),
            "--coordinator",
            &format!("http://127.0.0.1:{port}"),
            "--segment",
            &k.to_string(),
            "--runners",
            &n.to_string(),
            "--workers",
            "1",
        ],
        tmp,
    )
}

/// A second runner for a segment whose runner is alive waits (503) and displaces
/// nothing; once the first has gone silent past the heartbeat lapse (frozen here by
/// SIGSTOP, as a partitioned pod would be), the second takes the segment, and the first,
/// when it wakes, is refused: it exits 104 instead of polling forever, having sent nothing.
#[test]
fn a_runner_replaced_before_the_start_exits_104_instead_of_polling_forever() {
    let rec = Recorder::start();
    let dir = temp_dir("runner-replaced");
    let file = long_load(&dir, &rec.url());
    // A long grace: the woken runner must learn it was replaced, not time out first.
    let text_of = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text_of.replace("grace = 3s", "grace = 60s")).unwrap();
    let plan = compile(&file, &dir.join("plan"));
    let port = free_port();
    let mut coord = spawn_job(
        &[
            "coordinator",
            "--plan",
            plan.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--runners",
            "2",
            "-q",
        ],
        &dir,
    );
    wait_for(Duration::from_secs(20), "the coordinator to listen", || {
        try_http(port, "GET", "/healthz").is_ok()
    });
    let first = runner(&plan, port, 0, 2, &dir);
    wait_for(Duration::from_secs(20), "runner 0 to be ready", || {
        try_http(port, "GET", "/status").is_ok_and(|(_, b)| b.contains("\"ready\":1"))
    });
    // While the first is alive, a second for its segment is held off.
    let mut second = runner(&plan, port, 0, 2, &dir);
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        try_http(port, "GET", "/status").is_ok_and(|(_, b)| b.contains("\"joined\":1")),
        "the live runner keeps its segment"
    );
    let pid = first.id().to_string();
    signal("STOP", &pid);
    // The heartbeat lapses after 5 s; the second, retrying, is then let in.
    std::thread::sleep(Duration::from_secs(12));
    signal("CONT", &pid);
    let out = wait_output(first, Duration::from_secs(30));
    let _ = second.kill();
    let _ = second.wait();
    let _ = coord.kill();
    let _ = coord.wait();
    assert_eq!(out.status.code(), Some(104), "{}", text(&out));
    assert!(text(&out).contains("replaced"), "{}", text(&out));
    assert_eq!(rec.count("/z"), 0, "a refused runner sends no load");
}

/// A coordinator that holds its connections open and never answers (frozen by SIGSTOP, as
/// a coordinator whose node is partitioned would be) is gone for the runners after
/// `fleet.grace` (3 s here): their load stops then, and their processes exit, not when a
/// push that waits on it times out (10 s). Woken, the coordinator finds both runners lost
/// and exits 110.
#[test]
fn a_frozen_coordinator_stops_the_runners_load_after_the_grace() {
    let rec = Recorder::start();
    let dir = temp_dir("coordinator-frozen");
    let file = long_load(&dir, &rec.url());
    let sj = dir.join("summary.json");
    let child = spawn_fleet_of_two(&file, &sj, &dir);
    let pid = child.id();
    wait_for(Duration::from_secs(30), "the load to start", || {
        rec.requests().len() >= 10
    });
    signal("STOP", &pid.to_string());
    let frozen = std::time::Instant::now();
    // The load stops when the count stands still for 1.5 s.
    let (mut last, mut changed) = (rec.requests().len(), std::time::Instant::now());
    while changed.elapsed() < Duration::from_millis(1500)
        && frozen.elapsed() < Duration::from_secs(9)
    {
        std::thread::sleep(Duration::from_millis(100));
        let n = rec.requests().len();
        if n != last {
            (last, changed) = (n, std::time::Instant::now());
        }
    }
    let stopped_after = changed.duration_since(frozen);
    // And the runner processes exit (they wait for no push to the silent coordinator).
    let runners_left = !wait_until(Duration::from_secs(4), || runner_pids(pid).is_empty());
    signal("CONT", &pid.to_string());
    let out = wait_output(child, Duration::from_secs(40));
    assert!(
        stopped_after < Duration::from_secs(7),
        "the runners loaded a frozen coordinator's target for {stopped_after:?} (grace 3 s)\n{}",
        text(&out)
    );
    assert!(
        !runners_left,
        "the runners outlived the grace by 4 s\n{}",
        text(&out)
    );
    assert_eq!(out.status.code(), Some(110), "{}", text(&out));
    let s = summary(&sj);
    assert_eq!(s["volley"]["runners_lost"], 2, "{s}");
    assert_no_more_load(&rec);
}

#[test]
fn a_signal_ends_the_coordinators_linger() {
    let rec = Recorder::start();
    let dir = temp_dir("coordinator-linger");
    let file = dir.join("quick.load");
    std::fs::write(
        &file,
        format!(
            "target api = \"{}\"\n\
             scenario s {{\n  workload = per_vu_iterations(vus: 1, iterations: 3, max_duration: 30s)\n  \
             iteration {{ get(api, \"/q\") }}\n}}\nfleet {{\n  runners = 1\n}}\n",
            rec.url()
        ),
    )
    .unwrap();
    let plan = compile(&file, &dir.join("plan"));
    let port = free_port();
    let coord = spawn_job(
        &[
            "coordinator",
            "--plan",
            plan.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--runners",
            "1",
            "--linger",
            "10m",
            "-q",
        ],
        &dir,
    );
    wait_for(Duration::from_secs(20), "the coordinator to listen", || {
        try_http(port, "GET", "/healthz").is_ok()
    });
    let r = runner(&plan, port, 0, 1, &dir);
    let ro = wait_output(r, Duration::from_secs(60));
    assert_eq!(ro.status.code(), Some(0), "{}", text(&ro));
    wait_for(Duration::from_secs(20), "the run to end", || {
        try_http(port, "GET", "/summary").is_ok_and(|(s, _)| s == 200)
    });
    signal("TERM", &coord.id().to_string());
    let out = wait_output(coord, Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn the_work_folder_and_plan_file_are_owner_only() {
    let rec = Recorder::start();
    let dir = temp_dir("fleet-work-mode");
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let file = long_load(&dir, &rec.url());
    let child = spawn_job(
        &["run", file.to_str().unwrap(), "--runners", "2", "-q"],
        &tmp,
    );
    wait_for(Duration::from_secs(30), "the load to start", || {
        rec.count("/z") >= 5
    });
    let modes: Vec<(String, u32, u32)> = std::fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| {
            let dir_mode = e.metadata().unwrap().permissions().mode() & 0o777;
            let plan_mode = std::fs::metadata(e.path().join("plan.json"))
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0);
            (
                e.file_name().to_string_lossy().into_owned(),
                dir_mode,
                plan_mode,
            )
        })
        .collect();
    signal("TERM", &child.id().to_string());
    let out = wait_output(child, Duration::from_secs(40));
    assert_eq!(out.status.code(), Some(105), "{}", text(&out));
    assert_eq!(modes.len(), 1, "{modes:?}");
    let (name, dir_mode, plan_mode) = &modes[0];
    assert!(name.starts_with("volley-fleet-"), "{name}");
    assert_eq!(*dir_mode, 0o700, "{name}: {dir_mode:o}");
    assert_eq!(*plan_mode, 0o600, "{name}/plan.json: {plan_mode:o}");
}

#[test]
fn an_unwritable_summary_json_is_refused_before_any_load() {
    let rec = Recorder::start();
    let dir = temp_dir("summary-json-unwritable");
    let file = long_load(&dir, &rec.url());
    let bad = dir.join("no-such-dir").join("s.json");
    let out = volley_in(
        &dir,
        &[
            "run",
            file.to_str().unwrap(),
            "-q",
            "--summary-json",
            bad.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--summary-json"), "{}", text(&out));
    assert_eq!(rec.count("/z"), 0, "no load");
    let plan = compile(&file, &dir.join("plan"));
    let out = volley_env(
        &dir,
        &[
            "coordinator",
            "--plan",
            plan.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--runners",
            "2",
            "-q",
            "--summary-json",
            bad.to_str().unwrap(),
        ],
        &[("VOLLEY_TOKEN", TOKEN)],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--summary-json"), "{}", text(&out));
}

/// `volley run t.load 2>&1 | head -1`: once the pipe's reader is gone, the next progress
/// line finds it closed, and the run stops as on a first signal (exit 105, a complete
/// summary file, no more load). `eprintln!` used to panic there (exit 101, no file),
/// and a run that ignored it would go on loading the target for nobody.
#[test]
fn a_reader_gone_from_the_pipe_stops_the_run_gracefully() {
    use std::io::BufRead;
    let rec = Recorder::start();
    let dir = temp_dir("reader-gone");
    let file = long_load(&dir, &rec.url());
    let sj = dir.join("summary.json");
    let mut child = spawn_job(
        &[
            "run",
            file.to_str().unwrap(),
            "--summary-json",
            sj.to_str().unwrap(),
        ],
        &dir,
    );
    let started = std::time::Instant::now();
    // Read one line of stderr (the first progress line or note), then close both pipes.
    let mut first = String::new();
    let stderr = child.stderr.take().expect("stderr is piped");
    std::io::BufReader::new(stderr)
        .read_line(&mut first)
        .expect("a first line");
    assert!(!first.is_empty(), "volley wrote to stderr");
    drop(child.stdout.take());
    wait_for(Duration::from_secs(30), "the load to start", || {
        rec.requests().len() >= 5
    });
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if started.elapsed() > Duration::from_secs(50) {
            let _ = child.kill();
            panic!("volley went on with its reader gone (the test lasts a minute)");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(105), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(50),
        "stopped by the closed pipe, not the end of the minute"
    );
    assert_aborted_summary(&sj);
    assert_no_more_load(&rec);

    // k6 1.1.0, the same way: SIGPIPE kills it at its next write, with no summary file.
    let Some(k6) = k6_bin() else {
        return skip_or_fail("k6");
    };
    let script = dir.join("long.js");
    std::fs::write(
        &script,
        format!(
            "import http from 'k6/http';\n\
             export const options = {{ vus: 2, duration: '1m' }};\n\
             export default function () {{ http.get('{}/z'); }}\n",
            rec.url()
        ),
    )
    .unwrap();
    let export = dir.join("k6-summary.json");
    let mut k6 = Command::new(k6)
        .args(["run", "--no-usage-report", "--summary-export"])
        .arg(&export)
        .arg(&script)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("k6 starts");
    let mut first = String::new();
    std::io::BufReader::new(k6.stdout.take().expect("stdout is piped"))
        .read_line(&mut first)
        .expect("a first line");
    drop(k6.stderr.take());
    let out = wait_output(k6, Duration::from_secs(50));
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(13), "k6: {:?}", out.status);
    assert!(!export.exists(), "k6 wrote no summary");
}

/// A generator starved of CPU (stopped 100 ms of every 200, as a pod's CPU limit
/// throttles it) records latencies that include its own wait: the run says so at the end.
#[test]
fn a_generator_starved_of_cpu_says_so() {
    let rec = Recorder::start();
    let dir = temp_dir("starved");
    let file = dir.join("light.load");
    std::fs::write(
        &file,
        format!(
            "target api = \"{}\"\n\
             scenario s {{\n  workload = constant_vus(vus: 2, duration: 4s)\n  \
             iteration {{\n    get(api, \"/z\")\n    sleep 50ms\n  }}\n}}\n",
            rec.url()
        ),
    )
    .unwrap();
    let child = spawn_job(&["run", file.to_str().unwrap(), "-q"], &dir);
    let pid = child.id().to_string();
    wait_for(Duration::from_secs(30), "the load to start", || {
        !rec.requests().is_empty()
    });
    for _ in 0..15 {
        signal("STOP", &pid);
        std::thread::sleep(Duration::from_millis(100));
        signal("CONT", &pid);
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = wait_output(child, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: the load generator was short of CPU:"),
        "{}",
        text(&out)
    );
}
