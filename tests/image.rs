//! The pods' image (scripts/image.sh; scripts/test.sh exports `VOLLEY_IMAGE`) run as the
//! manifests ask, proven by running rather than by schema: the containers of a compiled
//! run's coordinator and runner Jobs, with their args, env, mounts and securityContext,
//! started by the podman launcher of the cluster simulation. Every process runs as 65532
//! with no capability, no privilege escalation, the runtime's seccomp filter and a
//! read-only root (the kernel's own view, /proc/PID/status and /proc/PID/mounts of the
//! container's process); writing outside the `/tmp` emptyDir fails with EROFS; and one
//! coordinator and two runner containers against a loopback demo server reach one merged
//! verdict, exit 0.
//!
//! The pods are read from `manifests.yaml` with only what this run's objects hold (plain
//! and Secret env, ConfigMap and emptyDir volumes, Service names); the cluster simulation
//! resolves every form.

use crate::sim::pod::{Launcher, Mount, MountSource, PodRun, Security};
use crate::sim::podman::{self, Podman};
use crate::support::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

/// Two runners, one VU each, 20 iterations each, about 2 s of load.
const LOAD: &str = r#"param base_url: url = "http://127.0.0.1:8088"
target api = base_url

scenario s {
  workload = per_vu_iterations(vus: 2, iterations: 20, max_duration: 1m)
  iteration {
    get(api, "/api/products")
    sleep 100ms
  }
}

thresholds {
  http_req_failed: rate == 0%
}

fleet {
  runners = 2
  grace = 3s
}
"#;

const TOKEN: &str = "image-test-token-0123456789";

fn launcher() -> Option<Podman> {
    let p = Podman::from_env();
    if p.is_none() {
        skip_or_fail("podman and the pods' image (VOLLEY_IMAGE, built by scripts/image.sh)");
    }
    p
}

/// A compiled run: its objects, and where the test keeps the pods' files.
struct Compiled {
    dir: PathBuf,
    objects: Vec<Value>,
}

fn compile(name: &str, base_url: &str) -> Compiled {
    let dir = temp_dir(name);
    std::fs::write(dir.join("fleet.load"), LOAD).unwrap();
    let out = volley_in(
        &dir,
        &[
            "compile",
            "fleet.load",
            "--param",
            base_url,
            "--out-dir",
            "out",
        ],
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "compile: {}", text(&out));
    let yaml = std::fs::read_to_string(dir.join("out/manifests.yaml")).unwrap();
    let objects = serde_saphyr::from_multiple::<Value>(&yaml).expect("manifests.yaml parses");
    Compiled { dir, objects }
}

impl Compiled {
    fn object(&self, kind: &str, name_suffix: &str) -> &Value {
        self.objects
            .iter()
            .find(|o| {
                o["kind"] == kind
                    && o["metadata"]["name"]
                        .as_str()
                        .is_some_and(|n| n.ends_with(name_suffix))
            })
            .unwrap_or_else(|| panic!("no {kind} *{name_suffix} in manifests.yaml"))
    }

    /// The pod of `job` (`-coordinator` or `-runners`) with completion index `index`.
    fn pod(&self, job: &str, index: u32) -> PodRun {
        let job = self.object("Job", job);
        let spec = &job["spec"]["template"]["spec"];
        let c = &spec["containers"][0];
        let name = format!("{}-{index}", job["metadata"]["name"].as_str().unwrap());
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
                .unwrap_or_default()
        };
        // No `command`: the image's entrypoint.
        let mut argv = strings(&c["command"]);
        if argv.is_empty() {
            argv.push("/volley".into());
        }
        argv.extend(strings(&c["args"]));

        let mut env = BTreeMap::new();
        if job["spec"]["completionMode"] == "Indexed" {
            env.insert("JOB_COMPLETION_INDEX".to_string(), index.to_string());
        }
        for e in c["env"].as_array().into_iter().flatten() {
            let key = e["name"].as_str().unwrap().to_string();
            let value = if let Some(v) = e["value"].as_str() {
                v.to_string()
            } else if e["valueFrom"]["secretKeyRef"]["key"] == "token" {
                TOKEN.to_string()
            } else {
                panic!("this test resolves plain values and the token only: {e}")
            };
            env.insert(key, value);
        }

        let volumes = spec["volumes"].as_array().unwrap();
        let mut mounts = Vec::new();
        for m in c["volumeMounts"].as_array().into_iter().flatten() {
            let v = volumes
                .iter()
                .find(|v| v["name"] == m["name"])
                .expect("every mount has its volume");
            let source = if let Some(cm) = v.get("configMap") {
                MountSource::Dir(self.config_map(cm))
            } else if let Some(e) = v.get("emptyDir") {
                MountSource::EmptyDir {
                    size_limit_bytes: e["sizeLimit"].as_str().map(size_limit_bytes_of),
                }
            } else {
                panic!("this test mounts ConfigMaps and emptyDirs only: {v}")
            };
            mounts.push(Mount {
                path: m["mountPath"].as_str().unwrap().to_string(),
                source,
                read_only: m["readOnly"].as_bool().unwrap_or(false),
            });
        }

        let (p, s) = (&spec["securityContext"], &c["securityContext"]);
        let either = |k: &str| if s[k].is_null() { &p[k] } else { &s[k] };
        let uid = |k: &str| either(k).as_u64().map(|u| u32::try_from(u).unwrap());
        let security = Security {
            run_as_user: uid("runAsUser"),
            run_as_group: uid("runAsGroup"),
            run_as_non_root: either("runAsNonRoot") == true,
            read_only_root_filesystem: s["readOnlyRootFilesystem"] == true,
            drop_all_capabilities: s["capabilities"]["drop"]
                .as_array()
                .is_some_and(|d| d.iter().any(|c| c == "ALL")),
            allow_privilege_escalation: s["allowPrivilegeEscalation"] != false,
            seccomp_runtime_default: either("seccompProfile")["type"] == "RuntimeDefault",
        };

        // Every Service name resolves to loopback (the pods share the host's network).
        let hosts = self
            .objects
            .iter()
            .filter(|o| o["kind"] == "Service")
            .map(|o| {
                let name = o["metadata"]["name"].as_str().unwrap().to_string();
                (name, IpAddr::V4(Ipv4Addr::LOCALHOST))
            })
            .collect();
        PodRun {
            image: c["image"].as_str().unwrap().to_string(),
            log_dir: self.dir.join("logs").join(&name),
            name,
            argv,
            env,
            mounts,
            security,
            hosts,
        }
    }

    /// The ConfigMap of a `configMap` volume, materialised (its `items`, or every key).
    fn config_map(&self, vol: &Value) -> PathBuf {
        let name = vol["name"].as_str().unwrap();
        let cm = self.object("ConfigMap", name);
        let dir = self.dir.join("volumes").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let data = cm["data"].as_object().expect("the ConfigMap has data");
        let items: Vec<(String, String)> = match vol["items"].as_array() {
            Some(items) => items
                .iter()
                .map(|i| {
                    (
                        i["key"].as_str().unwrap().into(),
                        i["path"].as_str().unwrap().into(),
                    )
                })
                .collect(),
            None => data.keys().map(|k| (k.clone(), k.clone())).collect(),
        };
        for (key, path) in items {
            std::fs::write(dir.join(path), data[&key].as_str().unwrap()).unwrap();
        }
        dir
    }
}

/// An `emptyDir` `sizeLimit` (`64Mi`, `1Gi`) in bytes.
fn size_limit_bytes_of(q: &str) -> u64 {
    let (n, shift) = match q.strip_suffix("Gi") {
        Some(n) => (n, 30),
        None => (q.trim_end_matches("Mi"), 20),
    };
    let n: u64 = n.parse().expect("sizeLimit in Mi or Gi");
    n << shift
}

/// The kernel's view of a running container's process: `/proc/PID/status` and the options
/// of its root mount.
struct ProcView {
    status: String,
    root_options: String,
}

fn proc_view(pod: &PodRun) -> ProcView {
    let name = podman::container_name(&pod.name);
    let mut pid = 0;
    let found = wait_until(Duration::from_secs(30), || {
        let out = Command::new("podman")
            .args(["inspect", "--format", "{{.State.Pid}}", &name])
            .output()
            .unwrap();
        pid = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        pid > 0
    });
    assert!(found, "container {name} runs: {}", logs(pod));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let mounts = std::fs::read_to_string(format!("/proc/{pid}/mounts")).unwrap();
    let root_options = mounts
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f.get(1) == Some(&"/")).then(|| f[3].to_string())
        })
        .expect("the container has a root mount");
    ProcView {
        status,
        root_options,
    }
}

/// The restricted profile as the kernel applies it to the pod's process.
fn assert_restricted(pod: &PodRun) {
    let v = proc_view(pod);
    let field = |k: &str| {
        v.status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}:")))
            .unwrap_or_else(|| panic!("/proc status has {k}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let who = &pod.name;
    assert_eq!(field("Uid"), "65532 65532 65532 65532", "{who}: user 65532");
    assert_eq!(
        field("Gid"),
        "65532 65532 65532 65532",
        "{who}: group 65532"
    );
    for caps in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(
            field(caps),
            "0000000000000000",
            "{who}: no capability ({caps})"
        );
    }
    assert_eq!(field("NoNewPrivs"), "1", "{who}: no privilege escalation");
    assert_eq!(field("Seccomp"), "2", "{who}: a seccomp filter");
    assert!(
        v.root_options.split(',').any(|o| o == "ro"),
        "{who}: a read-only root ({})",
        v.root_options
    );
}

fn logs(pod: &PodRun) -> String {
    let read = |f: &str| std::fs::read_to_string(pod.log_dir.join(f)).unwrap_or_default();
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        pod.name,
        read("stdout"),
        read("stderr")
    )
}

/// Waits for a pod's container, up to `limit`; kills it and panics on a hang.
fn wait_pod(mut child: Child, pod: &PodRun, limit: Duration) -> i32 {
    let mut status = None;
    let done = wait_until(limit, || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    if !done {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{} did not end within {limit:?}: {}", pod.name, logs(pod));
    }
    status.unwrap().code().unwrap_or(-1)
}

/// Starts `pod`, first removing a container left by an earlier, interrupted run of this
/// test (the pods' names come from the run's hash, the same every time).
fn spawn(podman: &Podman, pod: &PodRun) -> Child {
    podman::remove(&pod.name);
    podman
        .spawn(pod)
        .unwrap_or_else(|e| panic!("{}: {e}", pod.name))
}

/// The pods use the host's network and the manifests' own ports (6565, 6566): one run at a
/// time on the machine, across test processes too. The same lock directory as the cluster
/// simulation's (`volley-sim.lock` in the temporary directory, holding the owner's pid,
/// taken over when that process is gone), so the two never overlap; then the ports must be
/// free.
struct MachineLock(PathBuf);

impl MachineLock {
    fn take() -> MachineLock {
        let dir = std::env::temp_dir().join("volley-sim.lock");
        let pid_file = dir.join("pid");
        let deadline = std::time::Instant::now() + Duration::from_secs(600);
        loop {
            if std::fs::create_dir(&dir).is_ok() {
                std::fs::write(&pid_file, std::process::id().to_string()).unwrap();
                break;
            }
            let owner = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|p| p.trim().parse::<u32>().ok());
            if owner.is_some_and(|p| !alive(p)) {
                let _ = std::fs::remove_dir_all(&dir);
                continue;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{} has been held by pid {owner:?} for 10 minutes",
                dir.display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        for port in [6565, 6566] {
            let free = wait_until(Duration::from_secs(120), || {
                std::net::TcpListener::bind(("0.0.0.0", port)).is_ok()
            });
            assert!(
                free,
                "port {port}, which the manifests use, is held by another process"
            );
        }
        MachineLock(dir)
    }
}

impl Drop for MachineLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Removes this process's containers when the test ends, passed or not.
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        podman::remove_all();
    }
}

#[test]
fn the_image_runs_the_pods_restricted_and_a_fleet_reaches_one_verdict() {
    let Some(podman) = launcher() else { return };
    let _machine = MachineLock::take();
    let _cleanup = Cleanup;
    let demo = DemoProcess::start();
    let run = compile("image-fleet", &demo.url());

    // Writing outside the emptyDir fails: the root is read-only, not merely root's.
    let mut erofs = run.pod("-coordinator", 0);
    erofs.name.push_str("-erofs");
    erofs.log_dir = run.dir.join("logs").join(&erofs.name);
    erofs
        .argv
        .extend(["--summary-json".into(), "/summary.json".into()]);
    let child = spawn(&podman, &erofs);
    let code = wait_pod(child, &erofs, Duration::from_secs(60));
    let log = logs(&erofs);
    assert_eq!(code, 2, "{log}");
    assert!(log.contains("Read-only file system (os error 30)"), "{log}");

    // The fleet: the coordinator (its summary written in the /tmp emptyDir, which must be
    // writable), then the two runners of the Indexed Job.
    let mut coordinator = run.pod("-coordinator", 0);
    coordinator
        .argv
        .extend(["--summary-json".into(), "/tmp/summary.json".into()]);
    let coordinator_child = spawn(&podman, &coordinator);
    assert_restricted(&coordinator);
    let runners: Vec<PodRun> = (0..2).map(|k| run.pod("-runners", k)).collect();
    let children: Vec<Child> = runners.iter().map(|r| spawn(&podman, r)).collect();
    for r in &runners {
        assert_restricted(r);
    }
    for (child, r) in children.into_iter().zip(&runners) {
        let code = wait_pod(child, r, Duration::from_secs(90));
        assert_eq!(code, 0, "{}", logs(r));
    }

    // The merged verdict, from the coordinator's status port (the manifest's 6566).
    let mut status = Value::Null;
    let done = wait_until(Duration::from_secs(30), || {
        status = try_http(6566, "GET", "/status")
            .ok()
            .and_then(|(_, body)| serde_json::from_str(&body).ok())
            .unwrap_or(Value::Null);
        status["phase"] == "done"
    });
    assert!(
        done,
        "the coordinator is done: {status}\n{}",
        logs(&coordinator)
    );
    assert_eq!(status["exit_code"], 0, "{status}");
    assert_eq!(status["runners"]["done"], 2, "{status}");
    assert_eq!(status["runners"]["lost"], 0, "{status}");
    let (code, body) = http(6566, "GET", "/summary", "");
    assert_eq!(code, 200, "{body}");
    let summary: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(summary["volley"]["verdict"], "passed", "{body}");
    let rows = summary["volley"]["runners"]
        .as_array()
        .expect("per-runner rows");
    assert_eq!(rows.len(), 2, "{body}");
    assert!(rows.iter().all(|r| r["lost"] == false), "{body}");
    assert_eq!(metric(&summary, "iterations", "count"), 40.0, "{body}");
    assert_eq!(
        demo.stats()["requests"]["GET /api/products"],
        40,
        "every iteration reached the demo server once"
    );

    // SIGTERM (what the kubelet sends) reaches the container through `podman run` and ends
    // the coordinator's linger; it exits with the verdict.
    let pid = coordinator_child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let code = wait_pod(coordinator_child, &coordinator, Duration::from_secs(30));
    assert_eq!(code, 0, "{}", logs(&coordinator));
}

#[test]
fn killing_the_launched_child_removes_its_container() {
    let Some(podman) = launcher() else { return };
    let _machine = MachineLock::take();
    let _cleanup = Cleanup;
    let run = compile("image-kill", "base_url=http://127.0.0.1:9");
    // A coordinator waits for its runners: it stays up until it is stopped.
    let coordinator = run.pod("-coordinator", 0);
    let mut child = spawn(&podman, &coordinator);
    assert_restricted(&coordinator);
    // SIGKILL of `podman run` cannot be forwarded; the launcher's watcher removes the
    // container once the child is gone.
    child.kill().unwrap();
    child.wait().unwrap();
    let name = podman::container_name(&coordinator.name);
    let gone = wait_until(Duration::from_secs(30), || {
        let out = Command::new("podman")
            .args(["container", "exists", &name])
            .status()
            .unwrap();
        out.code() == Some(1)
    });
    assert!(
        gone,
        "container {name} is removed after its child was killed"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", 6565)).is_err(),
        "nothing listens on the coordinator's port any more"
    );
}

#[test]
fn the_launcher_refuses_run_as_non_root_for_root_and_keeps_env_values_off_the_command_line() {
    // Pure: the arguments only, no podman needed.
    let podman = Podman {
        image: "localhost/volley:test".into(),
    };
    let mut pod = PodRun {
        name: "r-runners-0-abcde".into(),
        image: "ghcr.io/volley-load/volley:0.1.0".into(),
        argv: vec!["/volley".into(), "runner".into()],
        env: BTreeMap::from([
            ("VOLLEY_TOKEN".to_string(), "s3cr3t-value".to_string()),
            ("PATH".to_string(), "/p4th-value".to_string()),
        ]),
        mounts: vec![Mount {
            path: "/tmp".into(),
            source: MountSource::EmptyDir {
                size_limit_bytes: Some(64 << 20),
            },
            read_only: false,
        }],
        security: Security {
            run_as_user: Some(65532),
            run_as_group: Some(65532),
            run_as_non_root: true,
            read_only_root_filesystem: true,
            drop_all_capabilities: true,
            allow_privilege_escalation: false,
            seccomp_runtime_default: true,
        },
        hosts: BTreeMap::from([("r-coordinator".to_string(), IpAddr::V4(Ipv4Addr::LOCALHOST))]),
        log_dir: PathBuf::from("/nonexistent"),
    };
    let args = podman
        .run_args(&pod, Some(Path::new("/x/.podman-env")))
        .unwrap();
    let line = args.join(" ");
    assert!(
        !line.contains("s3cr3t-value") && !line.contains("p4th-value"),
        "{line}"
    );
    for want in [
        "--env VOLLEY_TOKEN",
        "--env-file /x/.podman-env",
        "--user 65532:65532",
        "--read-only --read-only-tmpfs=false",
        "--cap-drop ALL",
        "--security-opt no-new-privileges",
        "--tmpfs /tmp:mode=1777,rw,size=67108864",
        "--add-host r-coordinator:127.0.0.1",
        "--network host",
        "--runtime runc",
        "--ulimit nofile=16384:16384 --ulimit nproc=4096:4096",
        "--entrypoint /volley localhost/volley:test runner",
    ] {
        assert!(line.contains(want), "{want:?} in {line}");
    }
    assert!(!line.contains("--env PATH"), "{line}");
    assert!(!line.contains("seccomp=unconfined"), "{line}");

    pod.security.run_as_user = Some(0);
    let e = podman.run_args(&pod, None).unwrap_err();
    assert!(e.to_string().contains("runAsNonRoot"), "{e}");
}
