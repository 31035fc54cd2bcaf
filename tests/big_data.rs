//! Data beyond 1 MiB: a deterministic 50 MB CSV (made here, never committed) compiled for
//! 10 runners with every pick. Every object of `manifests.yaml` stays under the 1 MiB
//! ConfigMap limit, the plan keeps only a reference, and the data ConfigMaps'
//! `binaryData` is materialised into directories as the kubelet would mount it for each
//! role; then `volley coordinator` and 10 `volley runner`s run from the compiled command
//! lines against a loopback server, and every request proves which row it read.

use crate::support::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

const RUNNERS: u32 = 10;
const VUS: u64 = 20;
const ITERATIONS: u64 = 2;
const TOKEN: &str = "big-data-token-0123456789";
/// Kubernetes refuses a ConfigMap over 1 MiB.
const LIMIT: usize = 1024 * 1024;

/// Row `i`'s token: 64 hex digits from a fixed generator (the run checks them).
fn token(i: u64) -> String {
    let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x2545_f491_4f6c_dd1d;
    (0..4)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!("{x:016x}")
        })
        .collect()
}

/// A 50 MB CSV: `id,email,token,note`, about 500 bytes a row.
fn write_csv(path: &Path) -> u64 {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "id,email,token,note").unwrap();
    let mut bytes = 20u64;
    let mut i = 0u64;
    while bytes < 50_000_000 {
        let t = token(i);
        let note: String = (0..6).map(|k| token(i * 7 + k)).collect();
        let line = format!("{i},user{i}@example.com,{t},{note}\n");
        bytes += line.len() as u64;
        f.write_all(line.as_bytes()).unwrap();
        i += 1;
    }
    f.flush().unwrap();
    i
}

fn load_file(pick: &str) -> String {
    let (vu_let, iteration_let) = if pick == "unique" {
        ("  let user = users.next()\n", "")
    } else {
        ("", "    let user = users.next()\n")
    };
    // Setup runs on the coordinator: it reads the shared rows from its own mount.
    let setup = if pick.starts_with("unique") {
        ""
    } else {
        "setup {\n  get(api, \"/setup/{users.next().id}/{users.next().token}\")\n}\n"
    };
    format!(
        "param base_url: url = \"http://127.0.0.1:8088\"\n\
         target api = base_url\n\
         data users = csv(\"users.csv\", pick: {pick})\n\
         {setup}\
         scenario s {{\n\
         \x20 workload = per_vu_iterations(vus: {VUS}, iterations: {ITERATIONS})\n\
         {vu_let}\
         \x20 iteration {{\n\
         {iteration_let}\
         \x20   get(api, \"/u/{{vu.id}}/{{user.id}}/{{user.token}}\", name: \"row\")\n\
         \x20 }}\n\
         }}\n\
         thresholds {{\n\
         \x20 http_req_failed: rate == 0%\n\
         }}\n\
         fleet {{\n\
         \x20 runners = {RUNNERS}\n\
         }}\n"
    )
}

/// The documents of `manifests.yaml` as JSON values.
fn documents(yaml: &str) -> Vec<serde_json::Value> {
    yaml.split("\n---\n")
        .skip(1)
        .map(|doc| serde_saphyr::from_str::<serde_json::Value>(doc).unwrap())
        .collect()
}

/// A role's pod as compiled: its args and the ConfigMap keys its `data` volume mounts.
struct Pod {
    args: Vec<String>,
    data_keys: Vec<(String, String)>,
}

fn pod_of(job: &serde_json::Value) -> Pod {
    let spec = &job["spec"]["template"]["spec"];
    let args = spec["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    let mut data_keys = Vec::new();
    for v in spec["volumes"].as_array().unwrap() {
        if v["name"] != "data" {
            continue;
        }
        for s in v["projected"]["sources"].as_array().unwrap() {
            let cm = s["configMap"]["name"].as_str().unwrap().to_string();
            for item in s["configMap"]["items"].as_array().unwrap() {
                assert_eq!(item["key"], item["path"]);
                data_keys.push((cm.clone(), item["key"].as_str().unwrap().to_string()));
            }
        }
    }
    Pod { args, data_keys }
}

/// What `volley compile` wrote for one pick, checked against the limits.
struct Compiled {
    plan: PathBuf,
    coordinator: Pod,
    runners: Pod,
    /// (ConfigMap name, key) → bytes, for every data ConfigMap.
    data: BTreeMap<(String, String), Vec<u8>>,
    /// What `volley compile` printed.
    said: String,
}

fn compile(dir: &Path, pick: &str, url: &str) -> Compiled {
    compile_into(dir, pick, url, &dir.join(format!("out-{pick}")))
}

fn compile_into(dir: &Path, pick: &str, url: &str, out_dir: &Path) -> Compiled {
    use base64::Engine as _;
    let file = dir.join(format!("{pick}.load"));
    std::fs::write(&file, load_file(pick)).unwrap();
    let started = Instant::now();
    let out = volley_in(
        dir,
        &[
            "compile",
            file.to_str().unwrap(),
            "--out-dir",
            out_dir.to_str().unwrap(),
            "--param",
            &format!("base_url={url}"),
        ],
        Duration::from_secs(180),
    );
    assert!(out.status.success(), "{pick}: {}", text(&out));
    eprintln!("compiled {pick} in {:?}", started.elapsed());
    let yaml = std::fs::read_to_string(out_dir.join("manifests.yaml")).unwrap();
    let plan_json = std::fs::read_to_string(out_dir.join("plan.json")).unwrap();
    assert!(
        plan_json.len() < 16 * 1024,
        "{pick}: the plan keeps a reference"
    );
    let mut data = BTreeMap::new();
    let mut plan = None;
    let mut jobs = Vec::new();
    for doc in documents(&yaml) {
        let size = serde_json::to_string(&doc).unwrap().len();
        assert!(
            size < LIMIT,
            "{pick}: {} is {size} bytes",
            doc["metadata"]["name"]
        );
        let name = doc["metadata"]["name"].as_str().unwrap().to_string();
        match doc["kind"].as_str().unwrap() {
            "ConfigMap" if doc.get("binaryData").is_some() => {
                for (key, v) in doc["binaryData"].as_object().unwrap() {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(v.as_str().unwrap())
                        .unwrap();
                    data.insert((name.clone(), key.clone()), bytes);
                }
            }
            "ConfigMap" => {
                let text = doc["data"]["plan.json"].as_str().unwrap().to_string();
                assert!(text.len() < 16 * 1024, "{pick}: the fleet plan is small");
                plan = Some(text);
            }
            "Job" => jobs.push(doc),
            _ => {}
        }
    }
    let plan_path = out_dir.join("fleet-plan.json");
    std::fs::write(&plan_path, plan.expect("a plan ConfigMap")).unwrap();
    assert_eq!(jobs.len(), 2);
    Compiled {
        plan: plan_path,
        coordinator: pod_of(&jobs[0]),
        runners: pod_of(&jobs[1]),
        data,
        said: text(&out),
    }
}

/// Writes the ConfigMap keys a pod mounts into `dir`, as the kubelet would.
fn materialise(c: &Compiled, pod: &Pod, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (cm, key) in &pod.data_keys {
        let bytes = &c.data[&(cm.clone(), key.clone())];
        std::fs::write(dir.join(key), bytes).unwrap();
    }
}

/// The pod's args with the cluster's paths and addresses made local.
fn local_args(pod: &Pod, plan: &Path, data: &Path, port: u16) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = pod.args.iter().peekable();
    while let Some(a) = it.next() {
        let next =
            |it: &mut std::iter::Peekable<std::slice::Iter<String>>| it.next().unwrap().clone();
        match a.as_str() {
            "--plan" => {
                assert_eq!(next(&mut it), "/etc/volley/plan/plan.json");
                out.extend(["--plan".into(), plan.display().to_string()]);
            }
            "--data-dir" => {
                assert_eq!(next(&mut it), "/etc/volley/data");
                out.extend(["--data-dir".into(), data.display().to_string()]);
            }
            "--listen" => {
                next(&mut it);
                out.extend(["--listen".into(), format!("127.0.0.1:{port}")]);
            }
            "--status-listen" | "--linger" => {
                next(&mut it);
            }
            // The coordinator's report goes to its results volume; here, beside the data.
            "--report" => {
                next(&mut it);
                let report = data.with_file_name("report.html");
                out.extend(["--report".into(), report.display().to_string()]);
            }
            "--coordinator" => {
                next(&mut it);
                out.extend(["--coordinator".into(), format!("http://127.0.0.1:{port}")]);
            }
            _ => out.push(a.clone()),
        }
    }
    out
}

fn spawn(args: &[String], env: &[(&str, &str)]) -> Child {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    spawn_volley(&refs, env)
}

/// Runs the compiled fleet; the coordinator's output.
fn run(c: &Compiled, dir: &Path) -> std::process::Output {
    let (cdir, rdir) = (dir.join("coordinator-data"), dir.join("runner-data"));
    materialise(c, &c.coordinator, &cdir);
    materialise(c, &c.runners, &rdir);
    let port = free_port();
    let mut cargs = local_args(&c.coordinator, &c.plan, &cdir, port);
    cargs.extend(["-q".into(), "--linger".into(), "0s".into()]);
    let coordinator = spawn(&cargs, &[("VOLLEY_TOKEN", TOKEN)]);
    let rargs = local_args(&c.runners, &c.plan, &rdir, port);
    let runners: Vec<(u32, Child)> = (0..RUNNERS)
        .map(|k| {
            let mut a = rargs.clone();
            a.extend(["--workers".into(), "1".into()]);
            let index = k.to_string();
            let env = [
                ("VOLLEY_TOKEN", TOKEN),
                ("JOB_COMPLETION_INDEX", index.as_str()),
            ];
            (k, spawn(&a, &env))
        })
        .collect();
    let out = wait_output(coordinator, Duration::from_secs(120));
    if out.status.code() != Some(0) {
        for (_, mut r) in runners {
            let _ = r.kill();
            let _ = r.wait();
        }
        panic!("the coordinator failed: {}", text(&out));
    }
    for (k, r) in runners {
        let o = wait_output(r, Duration::from_secs(60));
        assert_eq!(o.status.code(), Some(0), "runner {k}: {}", text(&o));
    }
    out
}

/// (vu, id) of every request, after checking each row's token.
fn rows_read(rec: &Recorder, rows: u64) -> Vec<(u64, u64)> {
    rec.requests()
        .iter()
        .filter(|(p, _)| p.starts_with("/u/"))
        .map(|(p, _)| {
            let parts: Vec<&str> = p.trim_start_matches("/u/").split('/').collect();
            let (vu, id): (u64, u64) = (parts[0].parse().unwrap(), parts[1].parse().unwrap());
            assert!(id < rows, "{p}");
            assert_eq!(parts[2], token(id), "row {id} arrived intact");
            (vu, id)
        })
        .collect()
}

#[test]
fn a_50_mb_csv_compiles_for_10_runners_and_runs_with_every_pick() {
    let dir = temp_dir("big-data");
    let rows = write_csv(&dir.join("users.csv"));
    let started = Instant::now();
    for pick in [
        "unique_per_iteration",
        "random",
        "unique",
        "sequential",
        "shared",
    ] {
        let rec = Recorder::start();
        let c = compile(&dir, pick, &rec.url());
        let total: usize = c.data.values().map(Vec::len).sum();
        let slices = c
            .data
            .keys()
            .filter(|(_, k)| k.starts_with("slice-"))
            .count();
        let maps: BTreeSet<&str> = c.data.keys().map(|(m, _)| m.as_str()).collect();
        eprintln!(
            "{pick}: {} data ConfigMaps, {} files ({slices} of slices), {total} bytes compressed",
            maps.len(),
            c.data.len()
        );
        assert!(total < 50_000_000, "{pick}: the data travels compressed");
        assert_eq!(
            c.said
                .contains("each runner holds the data it reads in memory"),
            !pick.starts_with("unique"),
            "{pick}: the memory note for 50 MB that every runner reads: {}",
            c.said
        );
        let runner_keys: BTreeSet<&str> = c
            .runners
            .data_keys
            .iter()
            .map(|(_, k)| k.as_str())
            .collect();
        assert_eq!(
            c.coordinator.data_keys.len(),
            c.data.len(),
            "{pick}: the coordinator mounts every data ConfigMap"
        );
        if pick.starts_with("unique") {
            assert!(
                runner_keys.is_empty(),
                "{pick}: slices go through the coordinator"
            );
            assert!(slices >= RUNNERS as usize, "{pick}: a slice per runner");
        } else {
            assert_eq!(slices, 0);
            assert_eq!(
                runner_keys.len(),
                c.data.len(),
                "{pick}: every runner mounts it"
            );
            assert!(c.data.len() > 20, "{pick}: the data needs many ConfigMaps");
        }
        if pick == "unique_per_iteration" {
            // Every row is owned by one runner: the slices together are the whole file.
            assert!(
                slices > 2 * RUNNERS as usize,
                "{pick}: slices in parts: {slices}"
            );
        }
        if pick == "unique_per_iteration" {
            deploys(&dir, pick, &rec.url(), &c);
        }
        if pick == "random" {
            let again = dir.join("out-random-again");
            compile_into(&dir, pick, &rec.url(), &again);
            for f in ["plan.json", "manifests.yaml", "kustomization.yaml"] {
                let a = std::fs::read(dir.join("out-random").join(f)).unwrap();
                assert!(
                    a == std::fs::read(again.join(f)).unwrap(),
                    "{f} is deterministic"
                );
            }
        }
        let running = Instant::now();
        let out = run(&c, &dir.join(format!("run-{pick}")));
        eprintln!("ran {pick} in {:?}", running.elapsed());
        assert_eq!(out.status.code(), Some(0), "{pick}: {}", text(&out));
        if !pick.starts_with("unique") {
            let setup = format!("/setup/0/{}", token(1));
            assert_eq!(
                rec.count(&setup),
                1,
                "{pick}: setup read rows 0 and 1 on the coordinator"
            );
        }
        let read = rows_read(&rec, rows);
        assert_eq!(read.len() as u64, VUS * ITERATIONS, "{pick}");
        let ids: BTreeSet<u64> = read.iter().map(|r| r.1).collect();
        match pick {
            "unique" => {
                assert!(read.iter().all(|(vu, id)| *id == vu - 1), "{read:?}");
                assert_eq!(ids.len() as u64, VUS);
            }
            "unique_per_iteration" => assert_eq!(ids.len() as u64, VUS * ITERATIONS),
            "sequential" => assert!(ids.iter().all(|&i| i < VUS * ITERATIONS), "{ids:?}"),
            "shared" => assert!(ids.iter().all(|&i| i < ITERATIONS), "{ids:?}"),
            _ => assert!(
                ids.iter().any(|&i| i > rows / 2),
                "random reaches far: {ids:?}"
            ),
        }
    }
    eprintln!("five picks in {:?}", started.elapsed());
    // Half a gigabyte of CSV, manifests and mounted copies: not left behind.
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_corrupted_data_file_is_a_clear_error_naming_it() {
    let dir = temp_dir("big-data-corrupt");
    let mut csv = String::from("id,email,token,note\n");
    for i in 0..3000u64 {
        csv.push_str(&format!("{i},u{i}@x,{},{}\n", token(i), token(i + 1)));
    }
    std::fs::write(dir.join("users.csv"), csv).unwrap();
    let rec = Recorder::start();
    let c = compile(&dir, "random", &rec.url());
    let data = dir.join("data");
    materialise(&c, &c.runners, &data);
    let (_, key) = c.runners.data_keys.last().unwrap().clone();
    let file = data.join(&key);
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 10]).unwrap();
    let mut args = local_args(&c.runners, &c.plan, &data, free_port());
    args.extend(["--segment".into(), "0".into()]);
    let out = wait_output(
        spawn(&args, &[("VOLLEY_TOKEN", TOKEN)]),
        Duration::from_secs(30),
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(104), "{t}");
    assert!(
        t.contains("data-users-0.pack") && t.contains("corrupted"),
        "{t}"
    );
    assert!(!t.contains("panicked"), "{t}");
    std::fs::remove_file(&file).unwrap();
    let out = wait_output(
        spawn(&args, &[("VOLLEY_TOKEN", TOKEN)]),
        Duration::from_secs(30),
    );
    let t = text(&out);
    assert!(
        t.contains(&key) && t.contains("cannot read data file"),
        "{t}"
    );
}

/// Data that cannot be delivered: 513 sources, one data ConfigMap each, over the 512 a
/// run may have. `volley compile` says E0409 on the data declarations, with the arithmetic.
#[test]
fn data_over_the_object_limit_is_e0409_on_its_declarations() {
    let dir = temp_dir("big-data-e0409");
    std::fs::write(dir.join("d.txt"), "a\nb\n").unwrap();
    let mut src = String::from("target api = \"http://127.0.0.1:9\"\n");
    for i in 0..513 {
        src.push_str(&format!("data d{i} = lines(\"d.txt\", pick: random)\n"));
    }
    src.push_str(
        "scenario s {\n  workload = per_vu_iterations(vus: 1, iterations: 1)\n  \
         iteration { get(api, \"/{d0.next()}/{d512.next()}\") }\n}\n",
    );
    std::fs::write(dir.join("many.load"), src).unwrap();
    let out = volley_in(
        &dir,
        &["compile", "many.load", "--out-dir", "out"],
        Duration::from_secs(120),
    );
    // Words only: the renderer wraps lines inside its frame.
    let t = text(&out)
        .replace(['│', '·'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(out.status.code(), Some(104), "{t}");
    assert!(t.contains("E0409"), "{t}");
    assert!(t.contains("513 ConfigMaps, over the limit of 512"), "{t}");
    assert!(
        t.contains("data d0 = lines") && t.contains("`d0`: 10 bytes (0.0 MiB) of rows"),
        "a label on the data declaration with its share: {t}"
    );
    assert!(t.contains("508 more data declarations"), "{t}");
    assert!(
        t.contains("720 KiB") && t.contains("fewer or smaller data files"),
        "{t}"
    );
    assert!(!dir.join("out/manifests.yaml").exists(), "nothing written");
}

/// `volley deploy --detach` of the same file applies every object to the fake API server
/// (which accepts each), the data ConfigMaps byte for byte as compiled.
fn deploys(dir: &Path, pick: &str, url: &str, c: &Compiled) {
    use base64::Engine as _;
    let cluster = crate::k8s::deploy::cluster("big-data-deploy");
    let file = dir.join(format!("{pick}.load"));
    let out = cluster.volley(&[
        "deploy",
        file.to_str().unwrap(),
        "--context",
        "fake",
        "--detach",
        "--param",
        &format!("base_url={url}"),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let applied = cluster.fake.with(|s| {
        let mut out = BTreeMap::new();
        for o in s.objects.values() {
            let name = o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            for (key, v) in o["binaryData"].as_object().into_iter().flatten() {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(v.as_str().unwrap())
                    .unwrap();
                out.insert((name.clone(), key.clone()), bytes);
            }
        }
        out
    });
    assert_eq!(
        applied.len(),
        c.data.len(),
        "{pick}: every data file applied"
    );
    assert!(applied == c.data, "{pick}: applied as compiled");
}

/// `volley run --runners N` hands the data every runner reads to its local runners as
/// packs too, and setup on the coordinator still reads the rows in memory.
#[test]
fn a_local_fleet_reads_shared_data_from_packs() {
    let dir = temp_dir("big-data-local");
    let mut csv = String::from("id,email,token,note\n");
    for i in 0..5000u64 {
        csv.push_str(&format!("{i},u{i}@x,{},{}\n", token(i), token(i + 1)));
    }
    std::fs::write(dir.join("users.csv"), csv).unwrap();
    for pick in ["random", "shared"] {
        let rec = Recorder::start();
        std::fs::write(dir.join("t.load"), load_file(pick)).unwrap();
        let out = volley_in(
            &dir,
            &[
                "run",
                "t.load",
                "--runners",
                "3",
                "-q",
                "--param",
                &format!("base_url={}", rec.url()),
            ],
            Duration::from_secs(120),
        );
        assert_eq!(out.status.code(), Some(0), "{pick}: {}", text(&out));
        assert_eq!(rec.count(&format!("/setup/0/{}", token(1))), 1, "{pick}");
        assert_eq!(
            rows_read(&rec, 5000).len() as u64,
            VUS * ITERATIONS,
            "{pick}"
        );
    }
}
