//! Kubernetes from the CLI: `volley compile --out-dir` writes manifests that every schema and
//! linter accepts (kubernetes-validate --strict for 1.29 and 1.37, `kubectl kustomize`,
//! checkov), also with coordinator outputs, that hold no secret value; and `volley
//! deploy`/status/logs/abort/delete work against a fake API server on loopback through a
//! kubeconfig: the progress line, outputs and files refused before anything is applied,
//! the report, summary and json outputs fetched from the scripted coordinator, and the
//! summary from its log once it has exited.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use volley_k8s::tooling::{run_bounded, validate_strict, venv_tool};

const CANARIES: &[(&str, &str)] = &[
    ("CARD_TOKEN", "canary-card-7f3a9c"),
    ("API_KEY", "canary-apikey-51d2e8"),
    (
        "CLIENT_KEY",
        "-----BEGIN PRIVATE KEY-----\ncanary-tls-key-93b1c4\n-----END PRIVATE KEY-----\n",
    ),
];

/// Outputs of the coordinator that the compiled manifests must carry and still pass every
/// check with: an in-cluster Prometheus with a token from a Secret, an InfluxDB by address.
const OUTPUTS: &[&str] = &[
    "--out",
    "prometheus=http://prometheus.monitoring.svc:9090/api/v1/write,token_env=PROM_TOKEN",
    "--out",
    "influxdb=http://10.20.30.40:8086/write?db=volley,token_secret=card_token",
];

/// Compiles every example into its own directory under `root`, and the checkout example
/// once more with [`OUTPUTS`] (`checkout-outputs`); returns the directories.
fn compile_examples(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "load"))
        .collect();
    files.sort();
    assert!(files.iter().any(|f| f.ends_with("checkout.load")));
    let with_outputs = repo().join("examples/checkout.load");
    let jobs = files
        .iter()
        .map(|f| {
            (
                f,
                f.file_stem().unwrap().to_string_lossy().into_owned(),
                &[][..],
            )
        })
        .chain([(&with_outputs, "checkout-outputs".to_string(), OUTPUTS)]);
    jobs.map(|(f, name, extra)| {
        let dir = root.join(name);
        let mut args = vec![
            "compile",
            f.to_str().unwrap(),
            "--out-dir",
            dir.to_str().unwrap(),
        ];
        args.extend(extra.iter().copied());
        let out = volley_env(&repo(), &args, CANARIES, Duration::from_secs(60));
        assert!(out.status.success(), "{}: {}", f.display(), text(&out));
        for name in ["plan.json", "manifests.yaml", "kustomization.yaml"] {
            assert!(dir.join(name).is_file(), "{} wrote {name}", f.display());
        }
        dir
    })
    .collect()
}

#[test]
fn compiled_outputs_stream_from_the_coordinator_only_and_name_no_token() {
    let root = temp_dir("k8s-outputs");
    let dir = compile_examples(&root)
        .into_iter()
        .find(|d| d.ends_with("checkout-outputs"))
        .unwrap();
    let m = std::fs::read_to_string(dir.join("manifests.yaml")).unwrap();
    let docs: Vec<&str> = m.split("\n---\n").collect();
    let job = |name: &str| {
        *docs
            .iter()
            .find(|d| d.contains("kind: Job") && d.contains(&format!("name: {name}\n")))
            .unwrap_or_else(|| panic!("no Job {name}"))
    };
    let run = docs
        .iter()
        .find_map(|d| {
            d.lines()
                .find_map(|l| l.trim().strip_prefix("volley.dev/run: "))
        })
        .unwrap();
    let coordinator = job(&format!("{run}-coordinator"));
    assert!(
        coordinator.contains("prometheus=http://prometheus.monitoring.svc:9090/api/v1/write")
            && coordinator.contains("--report")
            && coordinator.contains("name: PROM_TOKEN"),
        "{coordinator}"
    );
    let runners = job(&format!("{run}-runners"));
    assert!(
        !runners.contains("--out") && !runners.contains("prometheus"),
        "{runners}"
    );
    let policy = docs
        .iter()
        .find(|d| {
            d.contains("kind: NetworkPolicy") && d.contains(&format!("name: {run}-coordinator\n"))
        })
        .unwrap();
    assert!(
        policy.contains("kubernetes.io/metadata.name: monitoring")
            && policy.contains("10.20.30.40/32"),
        "{policy}"
    );
}

#[test]
fn the_checkout_example_is_spec_section_1() {
    let spec = std::fs::read_to_string(spec_md()).expect("SPEC.md is readable");
    let (_, first) = load_blocks(&spec).into_iter().next().expect("a load block");
    let dir = temp_dir("k8s-spec-checkout");
    with_example_data(&dir);
    std::fs::write(dir.join("checkout.load"), first).unwrap();
    let plan_of = |file: &Path, out: &Path| {
        let o = volley(&[
            "compile",
            file.to_str().unwrap(),
            "--out-dir",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        std::fs::read(out.join("plan.json")).unwrap()
    };
    let spec_plan = plan_of(&dir.join("checkout.load"), &dir.join("spec"));
    let ours = plan_of(&repo().join("examples/checkout.load"), &dir.join("ours"));
    assert!(
        spec_plan == ours,
        "examples/checkout.load (formatted) means exactly SPEC §1's example"
    );
}

#[test]
fn compiled_manifests_hold_no_secret_value() {
    let root = temp_dir("k8s-secrets");
    for dir in compile_examples(&root) {
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            let body = std::fs::read_to_string(&f).unwrap();
            for (var, canary) in CANARIES {
                assert!(
                    !body.contains(canary),
                    "{} holds the value of {var}",
                    f.display()
                );
            }
            assert!(
                !body.contains("kind: Secret"),
                "{}: no Secret object is compiled",
                f.display()
            );
        }
        let m = std::fs::read_to_string(dir.join("manifests.yaml")).unwrap();
        assert!(m.contains("secretKeyRef"), "the token is referenced");
        if dir.ends_with("mtls") {
            // mTLS: the client key reaches the pods as a secret, by reference only.
            assert!(m.contains("name: CLIENT_KEY"), "{m}");
            assert!(!m.contains("PRIVATE KEY"), "no key in the manifests");
            let plan = std::fs::read_to_string(dir.join("plan.json")).unwrap();
            assert!(plan.contains("\"key_secret\": 0"), "{plan}");
            assert!(
                plan.contains("BEGIN CERTIFICATE"),
                "the certificate travels in the plan"
            );
        }
    }
}

#[test]
fn every_example_validates_for_kubernetes_1_29_and_1_37() {
    let root = temp_dir("k8s-validate");
    let files: Vec<PathBuf> = compile_examples(&root)
        .iter()
        .map(|d| d.join("manifests.yaml"))
        .collect();
    match validate_strict(&files) {
        Err(e) if e.is_missing() => eprintln!("note: {e}"),
        r => r.unwrap_or_else(|e| panic!("{e}")),
    }
}

#[test]
fn kubectl_kustomize_builds_every_output_directory() {
    let kubectl = match venv_tool("kubectl") {
        Ok(p) => p,
        Err(e) => {
            eprintln!("note: {e}");
            return;
        }
    };
    let root = temp_dir("k8s-kustomize");
    for dir in compile_examples(&root) {
        let out = run_bounded(
            Command::new(&kubectl).arg("kustomize").arg(&dir),
            Duration::from_secs(120),
        );
        let built = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let manifests = std::fs::read_to_string(dir.join("manifests.yaml")).unwrap();
        let count = |s: &str| s.lines().filter(|l| l.starts_with("kind: ")).count();
        assert_eq!(
            count(&built),
            count(&manifests),
            "{}: kustomize keeps every object",
            dir.display()
        );
    }
}

#[test]
fn checkov_passes_every_manifest_and_the_dockerfile() {
    let checkov = match venv_tool("checkov") {
        Ok(p) => p,
        Err(e) => {
            eprintln!("note: {e}");
            return;
        }
    };
    let root = temp_dir("k8s-checkov");
    let mut cmd = Command::new(&checkov);
    cmd.current_dir(repo())
        .env("BC_SKIP_MAPPING", "TRUE")
        .args([
            "--config-file",
            ".checkov.yaml",
            "--framework",
            "kubernetes",
            "dockerfile",
            "-o",
            "json",
            "--skip-download",
        ])
        .args(["-f", "Dockerfile"]);
    for dir in compile_examples(&root) {
        cmd.arg("-f").arg(dir.join("manifests.yaml"));
    }
    let out = run_bounded(&mut cmd, Duration::from_secs(900));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "checkov JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let reports = match report {
        serde_json::Value::Array(a) => a,
        one => vec![one],
    };
    let mut resources = 0;
    for r in &reports {
        let s = &r["summary"];
        let failed: Vec<String> = r["results"]["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| format!("{} {} {}", c["check_id"], c["resource"], c["file_path"]))
            .collect();
        assert_eq!(
            s["failed"],
            0,
            "{} failed checks:\n{}",
            r["check_type"],
            failed.join("\n")
        );
        assert_eq!(s["parsing_errors"], 0, "{} parsing errors", r["check_type"]);
        resources += s["resource_count"].as_u64().unwrap_or(0);
    }
    assert!(resources > 0, "checkov scanned nothing: {stdout}");
}

#[test]
fn the_documented_role_validates() {
    let doc = std::fs::read_to_string(repo().join("docs/kubernetes.md")).unwrap();
    let mut blocks = Vec::new();
    let mut cur: Option<String> = None;
    for line in doc.lines() {
        match &mut cur {
            None if line.trim_start() == "```yaml" => cur = Some(String::new()),
            Some(b) if line.trim_start() == "```" => {
                if b.contains("kind: Role") {
                    blocks.push(b.clone());
                }
                cur = None;
            }
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
            None => {}
        }
    }
    assert_eq!(blocks.len(), 1, "docs/kubernetes.md has the Role");
    for verb in [
        "services/proxy",
        "pods/log",
        "poddisruptionbudgets",
        "networkpolicies",
        "jobs",
    ] {
        assert!(blocks[0].contains(verb), "the Role covers {verb}");
    }
    let dir = temp_dir("k8s-role");
    let f = dir.join("role.yaml");
    std::fs::write(&f, &blocks[0]).unwrap();
    match validate_strict(&[f]) {
        Err(e) if e.is_missing() => eprintln!("note: {e}"),
        r => r.unwrap_or_else(|e| panic!("{e}")),
    }
}

pub(crate) mod deploy {
    use super::*;
    use volley_k8s::fake::Fake;

    pub(crate) struct Cluster {
        pub(crate) fake: Fake,
        dir: PathBuf,
        _rt: tokio::runtime::Runtime,
    }

    /// A fake API server on loopback and a kubeconfig (context `fake`) pointing at it.
    pub(crate) fn cluster(tag: &str) -> Cluster {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let fake = Fake::new();
        let addr = rt
            .block_on(volley_k8s::fake::serve(fake.clone()))
            .expect("fake API server");
        let dir = temp_dir(tag);
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n  cluster:\n    server: http://{addr}\n\
             users:\n- name: ci\n  user:\n    token: fake-api-token\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: ci\n    namespace: loadtest\n"
        );
        std::fs::write(dir.join("kubeconfig"), kubeconfig).unwrap();
        Cluster { fake, dir, _rt: rt }
    }

    impl Cluster {
        pub(crate) fn volley(&self, args: &[&str]) -> std::process::Output {
            let kc = self.dir.join("kubeconfig");
            volley_env(
                &repo(),
                args,
                &[("KUBECONFIG", kc.to_str().unwrap())],
                Duration::from_secs(120),
            )
        }
    }

    fn checkout() -> String {
        repo()
            .join("examples/checkout.load")
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn deploy_follows_the_run_to_its_exit_code_and_the_run_commands_work() {
        let c = cluster("k8s-deploy");
        c.fake.with(|s| {
            s.status = vec![serde_json::json!({"protocol": 1, "phase": "done", "exit_code": 99, "verdict": "thresholds failed",
                "runners": {"expected": 10, "joined": 10, "ready": 10, "done": 10, "lost": 0}})];
            s.summary = Some(serde_json::json!({"fleet": "summary"}));
        });
        let out = c.volley(&["deploy", &checkout(), "--context", "fake"]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(99), "{t}");
        assert!(
            t.contains("applied 9 objects") && t.contains("thresholds failed"),
            "{t}"
        );
        let run = c
            .fake
            .with(|s| {
                s.objects.values().find_map(|o| {
                    o["metadata"]["labels"]["volley.dev/run"]
                        .as_str()
                        .map(String::from)
                })
            })
            .expect("a run was applied");
        // The token the fake coordinator expects is the one deploy stored.
        let token = c.fake.with(|s| {
            let secret = s
                .objects
                .iter()
                .find(|(k, _)| k.ends_with("-token"))
                .map(|(_, v)| v.clone())
                .unwrap();
            use base64::Engine;
            let b = base64::engine::general_purpose::STANDARD
                .decode(secret["data"]["token"].as_str().unwrap())
                .unwrap();
            String::from_utf8(b).unwrap()
        });
        assert_eq!(token.len(), 64, "32 random bytes, hex");
        assert!(!t.contains(&token), "the token is never printed");
        c.fake.with(|s| {
            s.abort_token = Some(token.clone());
            s.pods = vec![serde_json::json!({"metadata": {"name": "c-0", "labels": {"volley.dev/run": run, "app.kubernetes.io/component": "coordinator"}},
                "status": {"phase": "Running"}})];
            s.logs = "coordinator: all 10 runners ready\n".into();
        });
        let out = c.volley(&["status", &run, "--context", "fake"]);
        assert!(
            out.status.success() && text(&out).contains(&format!("{run}-runners")),
            "{}",
            text(&out)
        );
        let out = c.volley(&["logs", &run, "--context", "fake"]);
        assert!(
            out.status.success() && text(&out).contains("all 10 runners ready"),
            "{}",
            text(&out)
        );
        let out = c.volley(&["abort", &run, "--context", "fake"]);
        assert!(out.status.success(), "{}", text(&out));
        let out = c.volley(&["delete", &run, "--context", "fake"]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            c.fake.with(|s| s.objects.is_empty()),
            "delete removed everything"
        );
        let out = c.volley(&["status", &run, "--context", "fake"]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    }

    #[test]
    fn deploy_explains_an_rbac_denial() {
        let c = cluster("k8s-deploy-rbac");
        c.fake
            .with(|s| s.forbid = Some("PATCH /api/v1/namespaces/loadtest/configmaps".into()));
        let out = c.volley(&["deploy", &checkout(), "--context", "fake", "--detach"]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(103), "{t}");
        assert!(
            t.contains("RBAC denied") && t.contains("patch") && t.contains("configmaps"),
            "{t}"
        );
    }

    /// A file without `fleet.namespace` deploys to the context's namespace (`loadtest`
    /// here), as `kubectl apply` does and where `volley status` looks; it went to
    /// `default`. `-n` still wins.
    #[test]
    fn a_file_without_a_namespace_deploys_to_the_contexts() {
        let c = cluster("k8s-deploy-context-ns");
        let dir = temp_dir("k8s-deploy-context-ns");
        let file = dir.join("checkout.load");
        let source = std::fs::read_to_string(checkout()).unwrap();
        assert!(source.contains("  namespace = \"loadtest\"\n"));
        std::fs::write(&file, source.replace("  namespace = \"loadtest\"\n", "")).unwrap();
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::copy(
            repo().join("examples/data/users.csv"),
            dir.join("data/users.csv"),
        )
        .unwrap();
        let namespaces = |c: &Cluster| {
            c.fake.with(|s| {
                s.objects
                    .values()
                    .map(|o| {
                        o["metadata"]["namespace"]
                            .as_str()
                            .unwrap_or("")
                            .to_string()
                    })
                    .collect::<std::collections::BTreeSet<_>>()
            })
        };
        let out = c.volley(&[
            "deploy",
            file.to_str().unwrap(),
            "--context",
            "fake",
            "--detach",
        ]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            text(&out).contains("in namespace loadtest"),
            "{}",
            text(&out)
        );
        assert_eq!(namespaces(&c), ["loadtest".to_string()].into());
        let c = cluster("k8s-deploy-flag-ns");
        let out = c.volley(&[
            "deploy",
            file.to_str().unwrap(),
            "--context",
            "fake",
            "--detach",
            "-n",
            "perf",
        ]);
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(namespaces(&c), ["perf".to_string()].into());
    }

    #[test]
    fn detach_returns_after_applying_and_reapplying_changes_nothing() {
        let c = cluster("k8s-deploy-detach");
        let out = c.volley(&["deploy", &checkout(), "--context", "fake", "--detach"]);
        assert!(out.status.success(), "{}", text(&out));
        let run = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            run.starts_with("checkout-") && run.len() == "checkout-".len() + 8,
            "{run}"
        );
        let first = c.fake.with(|s| s.objects.clone());
        let out = c.volley(&["deploy", &checkout(), "--context", "fake", "--detach"]);
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(
            c.fake.with(|s| s.objects.clone()),
            first,
            "applying twice changes nothing"
        );
    }

    fn applied(c: &Cluster, kind_path: &str) -> serde_json::Value {
        c.fake.with(|s| {
            s.objects
                .iter()
                .find(|(k, _)| k.contains(kind_path) && k.ends_with("-coordinator"))
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("no {kind_path} coordinator object"))
        })
    }

    fn scripted_run(c: &Cluster) {
        let status = |phase: &str, ready: u64, elapsed: u64, reqs: u64, exit: Option<i32>| {
            serde_json::json!({"protocol": 1, "phase": phase, "elapsed_ms": elapsed, "total_ms": 60000,
                "runners": {"expected": 10, "joined": 10, "ready": ready, "done": 0, "lost": 0},
                "vus": 40, "vus_max": 50, "http_reqs": reqs, "rps": 321.0, "http_req_failed": 0.25,
                "iterations": 99, "exit_code": exit, "verdict": exit.map(|_| "thresholds failed")})
        };
        c.fake.with(|s| {
            s.status = vec![
                status("waiting", 7, 0, 0, None),
                status("running", 10, 12_300, 400, None),
                status("done", 10, 60_000, 800, Some(99)),
            ];
            s.summary = Some(serde_json::json!({"fleet": "summary", "volley": {"exit_code": 99}}));
            s.files.insert(
                "report".into(),
                "<!DOCTYPE html><title>fleet report</title>".into(),
            );
            s.files
                .insert("out/0".into(), "{\"metric\":\"http_reqs\"}\n".into());
        });
    }

    #[test]
    fn deploy_streams_from_the_coordinator_shows_progress_and_fetches_its_results() {
        let c = cluster("k8s-deploy-results");
        scripted_run(&c);
        let (report, sj, nd) = (
            c.dir.join("report.html"),
            c.dir.join("summary.json"),
            c.dir.join("out.ndjson"),
        );
        let prom = "prometheus=http://10.9.8.7:9090/api/v1/write,token_env=PROM_TOKEN";
        let json = format!("json={}", nd.display());
        let out = c.volley(&[
            "deploy",
            &checkout(),
            "--context",
            "fake",
            "--out",
            prom,
            "--out",
            &json,
            "--report",
            report.to_str().unwrap(),
            "--summary-json",
            sj.to_str().unwrap(),
        ]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(99), "{t}");
        // The same progress line as `volley run` (plain on a non-terminal), with the runners.
        assert!(t.contains("waiting: 7 of 10 runners ready"), "{t}");
        assert!(
            t.contains("10 runners: running (0m12.3s/1m00.0s), 40/50 VUs, 99 iterations, 321.0 req/s, 25.00% errors"),
            "{t}"
        );
        assert!(
            t.contains("1m00.0s/1m00.0s") && t.contains("100%"),
            "the closing line: {t}"
        );
        assert_eq!(
            std::fs::read_to_string(&report).unwrap(),
            "<!DOCTYPE html><title>fleet report</title>"
        );
        assert_eq!(
            std::fs::read_to_string(&nd).unwrap(),
            "{\"metric\":\"http_reqs\"}\n"
        );
        let written: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&sj).unwrap()).unwrap();
        assert_eq!(written["fleet"], "summary");
        // The coordinator, not the runners, streams: its arguments carry the outputs (the
        // json one on its own volume), its policy lets it reach the endpoint, its token
        // comes from a Secret.
        let job = applied(&c, "/jobs");
        let pod = &job["spec"]["template"]["spec"];
        let args: Vec<&str> = pod["containers"][0]["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let joined = args.join(" ");
        assert!(joined.contains(&format!("--out {prom}")), "{joined}");
        assert!(
            joined.contains("--out json=/var/lib/volley/results/out-0.ndjson")
                && joined.contains("--report /var/lib/volley/results/report.html"),
            "{joined}"
        );
        let env = pod["containers"][0]["env"].to_string();
        assert!(
            env.contains("PROM_TOKEN") && env.contains("secretKeyRef"),
            "{env}"
        );
        let runners = c.fake.with(|s| {
            s.objects
                .iter()
                .find(|(k, _)| k.contains("/jobs/") && k.ends_with("-runners"))
                .map(|(_, v)| v.to_string())
                .unwrap()
        });
        assert!(
            !runners.contains("--out") && !runners.contains("10.9.8.7"),
            "runners do not stream"
        );
        let policy = applied(&c, "/networkpolicies").to_string();
        assert!(
            policy.contains("10.9.8.7/32") && policy.contains("9090"),
            "{policy}"
        );
    }

    #[test]
    fn deploy_refuses_bad_outputs_and_paths_before_applying_anything() {
        let c = cluster("k8s-deploy-refused");
        let missing = c.dir.join("no-such-dir/report.html");
        for (args, says) in [
            (
                vec!["--report", missing.to_str().unwrap()],
                "--report: cannot create",
            ),
            (
                vec!["--summary-json", missing.to_str().unwrap()],
                "--summary-json: cannot create",
            ),
            (
                vec!["--out", "influxdb=http://ci:hunter2@10.0.0.1:8086/volley"],
                "user info",
            ),
            (
                vec!["--out", "prometheus=ftp://10.0.0.1/x"],
                "http:// or https://",
            ),
            (
                vec!["--out", "influxdb=http://10.0.0.1:8086/volley,token=abc"],
                "never taken from the command line",
            ),
            (
                vec!["--detach", "--out", "json=o.ndjson"],
                "--detach does not wait",
            ),
            (
                vec![
                    "--out",
                    "prometheus=http://10.0.0.1:9090/w,token_secret=nope",
                ],
                "declares no secret `nope`",
            ),
            (
                vec!["--detach", "--report", "r.html"],
                "--detach returns before the run ends",
            ),
            (
                vec!["--detach", "--summary-export", "e.json"],
                "--detach returns before the run ends",
            ),
            (
                vec!["--summary-export", missing.to_str().unwrap()],
                "--summary-export: cannot create",
            ),
            (
                vec![
                    "--no-summary",
                    "--summary-template",
                    "examples/summary/pr-comment.md.j2",
                ],
                "--no-summary prints nothing there",
            ),
        ] {
            let file = checkout();
            let mut all = vec!["deploy", &*file, "--context", "fake"];
            all.extend(args.iter().copied());
            let out = c.volley(&all);
            let t = text(&out);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {t}");
            assert!(t.contains(says), "{args:?}: {t}");
            assert!(!t.contains("hunter2"), "a password is never printed: {t}");
        }
        assert!(
            c.fake.with(|s| s.requests.is_empty()),
            "nothing reached the API server"
        );
    }

    #[test]
    fn status_fetches_the_report_and_summary_and_after_the_linger_reads_the_log() {
        let c = cluster("k8s-status-results");
        scripted_run(&c);
        let out = c.volley(&["deploy", &checkout(), "--context", "fake", "--detach"]);
        assert!(out.status.success(), "{}", text(&out));
        let run = String::from_utf8_lossy(&out.stdout).trim().to_string();
        c.fake.with(|s| s.status = vec![s.status[2].clone()]);
        let (report, sj) = (c.dir.join("r.html"), c.dir.join("s.json"));
        let (r, s) = (report.to_str().unwrap(), sj.to_str().unwrap());
        let out = c.volley(&[
            "status",
            &run,
            "--context",
            "fake",
            "--report",
            r,
            "--summary-json",
            s,
        ]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(std::fs::read_to_string(&report)
            .unwrap()
            .contains("fleet report"));
        let written: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&sj).unwrap()).unwrap();
        assert_eq!(written["fleet"], "summary");
        // The linger is over: nothing answers; the summary is the coordinator's last log
        // line, the report is gone and status says why, at once.
        let line = serde_json::json!({"level": "INFO", "target": "volley::summary",
            "fields": {"message": "the fleet summary", "summary": "{\"from\":\"log\"}"}});
        c.fake.with(|s| {
            s.status.clear();
            s.pods = vec![serde_json::json!({"metadata": {"name": "c-0", "labels": {"volley.dev/run": run, "app.kubernetes.io/component": "coordinator"}},
                "status": {"phase": "Succeeded"}})];
            s.logs = format!("{line}\n");
        });
        let started = std::time::Instant::now();
        let out = c.volley(&[
            "status",
            &run,
            "--context",
            "fake",
            "--report",
            r,
            "--summary-json",
            s,
        ]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(1), "{t}");
        assert!(started.elapsed() < Duration::from_secs(20), "no hang");
        assert!(t.contains("linger") && t.contains("--report"), "{t}");
        assert!(
            !t.contains("ERROR"),
            "an expected 503 is no error line: {t}"
        );
        assert!(
            !report.exists(),
            "no empty report is left for one that was not fetched"
        );
        let written: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&sj).unwrap()).unwrap();
        assert_eq!(written, serde_json::json!({"from": "log"}));
        let out = c.volley(&["status", &run, "--context", "fake", "--summary-json", s]);
        assert!(out.status.success(), "{}", text(&out));
    }

    #[test]
    fn deploy_reads_the_summary_from_the_log_when_the_coordinator_exited_unseen() {
        let c = cluster("k8s-deploy-exited");
        let out = c.volley(&["deploy", &checkout(), "--context", "fake", "--detach"]);
        assert!(out.status.success(), "{}", text(&out));
        let run = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let line = serde_json::json!({"level": "INFO", "target": "volley::summary",
            "fields": {"message": "the fleet summary", "summary": "{\"from\":\"the log\"}"}});
        c.fake.with(|s| {
            s.pods = vec![serde_json::json!({
                "metadata": {"name": "c-0", "labels": {"volley.dev/run": run, "app.kubernetes.io/component": "coordinator"}},
                "status": {"phase": "Failed", "containerStatuses": [{"name": "coordinator", "image": "i", "imageID": "",
                    "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 110}}}]}})];
            s.logs = format!("{line}\n");
        });
        let sj = c.dir.join("s.json");
        let out = c.volley(&[
            "deploy",
            &checkout(),
            "--context",
            "fake",
            "--summary-json",
            sj.to_str().unwrap(),
        ]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(110), "{t}");
        assert!(t.contains("the log"), "the summary is printed: {t}");
        let written: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&sj).unwrap()).unwrap();
        assert_eq!(written, serde_json::json!({"from": "the log"}));
    }

    /// The printed hint to the coordinator's dashboard: `kubectl port-forward` and the
    /// API server's service proxy, with the run's namespace, service and context.
    fn assert_dashboard_hint(t: &str, run: &str) {
        assert!(
            t.contains(&format!(
                "dashboard: `kubectl --context fake port-forward -n loadtest svc/{run}-coordinator 6566`, then http://127.0.0.1:6566/dashboard"
            )),
            "{t}"
        );
        assert!(
            t.contains(&format!(
                "or: `kubectl --context fake proxy`, then http://127.0.0.1:8001/api/v1/namespaces/loadtest/services/{run}-coordinator:6566/proxy/dashboard"
            )),
            "{t}"
        );
    }

    fn run_id(c: &Cluster) -> String {
        c.fake
            .with(|s| {
                s.objects.values().find_map(|o| {
                    o["metadata"]["labels"]["volley.dev/run"]
                        .as_str()
                        .map(String::from)
                })
            })
            .expect("a run was applied")
    }

    #[test]
    fn deploy_prints_how_to_reach_the_dashboard_also_detached() {
        let c = cluster("k8s-deploy-dashboard");
        let out = c.volley(&["deploy", &checkout(), "--context", "fake", "--detach"]);
        let t = text(&out);
        assert!(out.status.success(), "{t}");
        assert_dashboard_hint(&t, &run_id(&c));
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("dashboard"),
            "stdout is the run id only"
        );
    }

    /// A real fleet summary (the demo shop, `iterations.load`: 240 requests) served by the
    /// scripted coordinator: deploy's `--summary-trend-stats`, `--summary-time-unit`,
    /// `--summary-template FILE=OUT`, `--summary-export` and `--summary-json` shape what it
    /// prints and writes; `--no-summary` prints nothing and still writes the files.
    #[test]
    fn deploy_shapes_the_fleet_summary_with_the_summary_flags() {
        let c = cluster("k8s-deploy-summary-flags");
        let real = c.dir.join("real.json");
        let out = volley(&[
            "run",
            "examples/iterations.load",
            "--demo",
            "-q",
            "--summary-json",
            real.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let real = summary(&real);
        c.fake.with(|s| {
            s.status = vec![serde_json::json!({"protocol": 1, "phase": "done", "elapsed_ms": 3000, "total_ms": 3000,
                "exit_code": 0, "verdict": "passed",
                "runners": {"expected": 10, "joined": 10, "ready": 10, "done": 10, "lost": 0}})];
            s.summary = Some(real.clone());
        });
        let (sj, se, md) = (
            c.dir.join("summary.json"),
            c.dir.join("export.json"),
            c.dir.join("comment.md"),
        );
        let template = format!("examples/summary/pr-comment.md.j2={}", md.display());
        let out = c.volley(&[
            "deploy",
            &checkout(),
            "--context",
            "fake",
            "-q",
            "--summary-trend-stats",
            "avg,p(99.9),count",
            "--summary-time-unit",
            "us",
            "--summary-template",
            &template,
            "--summary-export",
            se.to_str().unwrap(),
            "--summary-json",
            sj.to_str().unwrap(),
        ]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(0), "{t}");
        assert_dashboard_hint(&t, &run_id(&c));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with("http_req_duration."))
            .unwrap_or_else(|| panic!("the text summary on stdout:\n{t}"));
        let stats: Vec<&str> = line
            .split_once(": ")
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        assert_eq!(stats.len(), 3, "{line}");
        assert!(
            stats[0].starts_with("avg=") && stats[0].ends_with("µs"),
            "{line}"
        );
        assert!(
            stats[1].starts_with("p(99.9)=") && stats[1].ends_with("µs"),
            "{line}"
        );
        assert_eq!(stats[2], "count=240", "{line}");
        let md_text = std::fs::read_to_string(&md).unwrap();
        assert!(
            md_text.starts_with("### ✅ Load test `iterations`: passed\n")
                && md_text.contains("240 requests in "),
            "{md_text}"
        );
        // The JSON gains the stats it lacked, as `volley run`'s does.
        let written = summary(&sj);
        assert_eq!(metric(&written, "http_req_duration", "count"), 240.0);
        assert!(metric(&written, "http_req_duration", "p(99.9)") > 0.0);
        let export = summary(&se);
        let keys: Vec<String> = export["metrics"]["http_req_duration"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, ["avg", "p(99.9)", "count"], "{export:#}");
        assert_eq!(export["metrics"]["checks"]["value"], 1.0);
        assert_eq!(
            export["metrics"]["checks"]["thresholds"]["rate == 100%"],
            false
        );
        // --no-summary: nothing on stdout, the exit code and the files as before.
        std::fs::remove_file(&se).unwrap();
        let out = c.volley(&[
            "deploy",
            &checkout(),
            "--context",
            "fake",
            "-q",
            "--no-summary",
            "--summary-export",
            se.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(
            out.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let export = summary(&se);
        assert_eq!(export["metrics"]["http_reqs"]["count"], 240.0);
        assert_eq!(
            export["metrics"]["http_req_duration"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>(),
            ["avg", "min", "med", "max", "p(90)", "p(95)"],
            "k6's default stats"
        );
    }
}
