//! Kubernetes from the CLI: `volley compile --out-dir` writes manifests that every schema and
//! linter accepts (kubernetes-validate --strict for 1.29 and 1.37, `kubectl kustomize`,
//! checkov), that hold no secret value; and `volley deploy`/status/logs/abort/delete work
//! against a fake API server on loopback through a kubeconfig.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use volley_k8s::tooling::{run_bounded, validate_strict, venv_tool};

const CANARIES: &[(&str, &str)] = &[
    ("CARD_TOKEN", "canary-card-7f3a9c"),
    ("API_KEY", "canary-apikey-51d2e8"),
];

/// Compiles every example into its own directory under `root`; returns the directories.
fn compile_examples(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "load"))
        .collect();
    files.sort();
    assert!(files.iter().any(|f| f.ends_with("checkout.load")));
    files
        .iter()
        .map(|f| {
            let dir = root.join(f.file_stem().unwrap());
            let out = volley_env(
                &repo(),
                &[
                    "compile",
                    f.to_str().unwrap(),
                    "--out-dir",
                    dir.to_str().unwrap(),
                ],
                CANARIES,
                Duration::from_secs(60),
            );
            assert!(out.status.success(), "{}: {}", f.display(), text(&out));
            for name in ["plan.json", "manifests.yaml", "kustomization.yaml"] {
                assert!(dir.join(name).is_file(), "{} wrote {name}", f.display());
            }
            dir
        })
        .collect()
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
}
