//! The container launcher: each pod of the simulation as a real container of the pods' image
//! (scripts/image.sh builds it; scripts/test.sh exports its name as `VOLLEY_IMAGE`), run by
//! podman with runc, as the kubelet would run it:
//!
//! - the host's network (`--network host`; the pods' ports are the manifests' own), each
//!   Service name added to the container's /etc/hosts, the pod's name as its hostname;
//! - the container's command and args, its env (values never on a command line or in a
//!   log: each value reaches podman through its environment, `--env NAME`);
//! - the materialised ConfigMaps and Secrets bind-mounted (read-only as asked), each
//!   `emptyDir` a tmpfs (with its size limit);
//! - the securityContext: `--user uid:gid`, `--read-only` (with no extra tmpfs of podman's
//!   own, so only the manifest's volumes are writable), `--cap-drop ALL`,
//!   `--security-opt no-new-privileges`, the runtime's default seccomp profile
//!   (`seccomp=unconfined` when the pod does not ask for it, as the kubelet does), and
//!   `runAsNonRoot` refused for a root user as the kubelet refuses it.
//!
//! The returned child is the foreground `podman run --rm`: it exits with the container's
//! code, and forwards SIGTERM (an eviction) to it. A SIGKILL of the child (`Child::kill`)
//! cannot be forwarded, so a watcher holds the read end of a pipe whose only write end is
//! the child's stdin: when the child dies, however it dies, the pipe closes and the watcher
//! removes the container (`podman rm -f`). Containers carry the label
//! `volley.sim.owner=PID` of the test process; [`remove_all`] removes what is left.

use super::pod::{Launcher, MountSource, PodRun};
use std::io;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Env names podman itself reads: their values go through a private env file instead of
/// podman's environment (the watcher removes it with the container).
const PODMAN_OWN_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "TMPDIR",
    "LD_LIBRARY_PATH",
    "LD_PRELOAD",
    "NOTIFY_SOCKET",
    "CONTAINER_HOST",
    "CONTAINER_CONNECTION",
    "CONTAINERS_CONF",
    "CONTAINERS_STORAGE_CONF",
    "CONTAINERS_REGISTRIES_CONF",
    "STORAGE_DRIVER",
    "STORAGE_OPTS",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
];

/// The label that marks this process's containers.
pub const OWNER_LABEL: &str = "volley.sim.owner";

/// Runs pods as containers of `image`, in place of the image the manifest names.
#[derive(Clone, Debug)]
pub struct Podman {
    pub image: String,
}

impl Podman {
    /// The launcher for the image scripts/test.sh built (`VOLLEY_IMAGE`), when podman and
    /// the image are there; `None` otherwise (the caller skips, or fails under
    /// `VOLLEY_REQUIRE_TOOLS=1`, with `crate::support::skip_or_fail`).
    pub fn from_env() -> Option<Podman> {
        let image = std::env::var("VOLLEY_IMAGE")
            .ok()
            .filter(|i| !i.is_empty())?;
        let exists = Command::new("podman")
            .args(["image", "exists", &image])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !exists {
            return None;
        }
        remove_orphans();
        Some(Podman { image })
    }

    /// The `podman run` arguments for `pod`, and the env entries that go through podman's
    /// environment (`--env NAME`) or the env file (names podman reads itself).
    pub fn run_args(&self, pod: &PodRun, env_file: Option<&Path>) -> io::Result<Vec<String>> {
        let mut a: Vec<String> = [
            "run",
            "--rm",
            "--runtime",
            "runc",
            "--pull",
            "never",
            "--network",
            "host",
            "--ulimit",
            "nofile=16384:16384",
            "--ulimit",
            "nproc=4096:4096",
            "--log-driver",
            "none",
            // The kubelet ignores an image's HEALTHCHECK (the manifests' probes replace it).
            "--no-healthcheck",
        ]
        .map(String::from)
        .into();
        let name = container_name(&pod.name);
        a.extend([
            "--name".into(),
            name.clone(),
            "--hostname".into(),
            pod.name.clone(),
        ]);
        a.extend([
            "--label".into(),
            format!("{OWNER_LABEL}={}", std::process::id()),
        ]);
        for (host, ip) in &pod.hosts {
            a.extend(["--add-host".into(), format!("{host}:{ip}")]);
        }
        for key in pod.env.keys() {
            if !PODMAN_OWN_ENV.contains(&key.as_str()) {
                a.extend(["--env".into(), key.clone()]);
            }
        }
        if let Some(file) = env_file {
            a.extend(["--env-file".into(), path_arg(file)?]);
        }
        for m in &pod.mounts {
            if m.path.contains([':', ',']) {
                return Err(invalid(format!("mountPath {:?} has ':' or ','", m.path)));
            }
            match &m.source {
                MountSource::Dir(dir) => {
                    let dir = path_arg(dir)?;
                    if dir.contains([':', ',']) {
                        return Err(invalid(format!("mount source {dir:?} has ':' or ','")));
                    }
                    let mode = if m.read_only { "ro" } else { "rw" };
                    a.extend(["--volume".into(), format!("{dir}:{}:{mode}", m.path)]);
                }
                MountSource::EmptyDir { size_limit_bytes } => {
                    // An emptyDir is a world-writable directory; a read-only one is of no use
                    // but is honoured.
                    let mut opts = format!("{}:mode=1777", m.path);
                    opts.push_str(if m.read_only { ",ro" } else { ",rw" });
                    if let Some(size) = size_limit_bytes {
                        opts.push_str(&format!(",size={size}"));
                    }
                    a.extend(["--tmpfs".into(), opts]);
                }
            }
        }
        let s = &pod.security;
        match (s.run_as_user, s.run_as_group) {
            (Some(u), Some(g)) => a.extend(["--user".into(), format!("{u}:{g}")]),
            (Some(u), None) => a.extend(["--user".into(), u.to_string()]),
            (None, Some(g)) => {
                let user = self.image_user()?;
                let user = user.split(':').next().unwrap_or_default();
                let user = if user.is_empty() { "0" } else { user };
                a.extend(["--user".into(), format!("{user}:{g}")]);
            }
            (None, None) => {}
        }
        if s.run_as_non_root {
            // The kubelet's check: the effective user must be numeric and not 0.
            let user = match s.run_as_user {
                Some(u) => u.to_string(),
                None => self.image_user()?,
            };
            let uid = user.split(':').next().unwrap_or_default();
            if uid.is_empty() || uid == "0" || uid.parse::<u32>().is_err() {
                return Err(invalid(format!(
                    "container has runAsNonRoot and image has non-numeric or root user ({user:?})"
                )));
            }
        }
        if s.read_only_root_filesystem {
            a.extend(["--read-only".into(), "--read-only-tmpfs=false".into()]);
        }
        if s.drop_all_capabilities {
            a.extend(["--cap-drop".into(), "ALL".into()]);
        }
        if !s.allow_privilege_escalation {
            a.extend(["--security-opt".into(), "no-new-privileges".into()]);
        }
        if !s.seccomp_runtime_default {
            a.extend(["--security-opt".into(), "seccomp=unconfined".into()]);
        }
        let mut argv = pod.argv.iter();
        if let Some(entrypoint) = argv.next() {
            a.extend(["--entrypoint".into(), entrypoint.clone()]);
        }
        a.push(self.image.clone());
        a.extend(argv.cloned());
        Ok(a)
    }

    /// The image's `USER` (`podman image inspect`), for `runAsNonRoot` without `runAsUser`.
    fn image_user(&self) -> io::Result<String> {
        let out = Command::new("podman")
            .args([
                "image",
                "inspect",
                "--format",
                "{{.Config.User}}",
                &self.image,
            ])
            .stderr(Stdio::null())
            .output()?;
        if !out.status.success() {
            return Err(invalid(format!(
                "podman image inspect {} failed",
                self.image
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

impl Launcher for Podman {
    fn spawn(&self, pod: &PodRun) -> io::Result<Child> {
        std::fs::create_dir_all(&pod.log_dir)?;
        // Values of names podman reads itself go through a file only the owner can read,
        // removed once the container is gone.
        let own: Vec<(&String, &String)> = pod
            .env
            .iter()
            .filter(|(k, _)| PODMAN_OWN_ENV.contains(&k.as_str()))
            .collect();
        let env_file = if own.is_empty() {
            None
        } else {
            let path = pod.log_dir.join(".podman-env");
            let mut text = String::new();
            for (k, v) in own {
                if v.contains('\n') {
                    return Err(invalid(format!("the value of {k} has a newline")));
                }
                text.push_str(&format!("{k}={v}\n"));
            }
            write_private(&path, &text)?;
            Some(path)
        };
        let args = self.run_args(pod, env_file.as_deref())?;
        let name = container_name(&pod.name);

        let (reader, writer) = io::pipe()?;
        // The watcher: detached (its shell exits at once, the subshell is re-parented), it
        // waits for the pipe to close, then removes the container and the env file.
        let env_file_arg = env_file
            .as_deref()
            .map(path_arg)
            .transpose()?
            .unwrap_or_default();
        let mut watcher = Command::new("sh")
            .args([
                "-c",
                r#"exec 3<&0; (cat <&3; podman rm -f -t 0 "$1"; [ -z "$2" ] || rm -f "$2") </dev/null >/dev/null 2>&1 &"#,
                "sh",
                &name,
                &env_file_arg,
            ])
            .stdin(Stdio::from(reader))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        watcher.wait()?;

        let stdout = std::fs::File::create(pod.log_dir.join("stdout"))?;
        let stderr = std::fs::File::create(pod.log_dir.join("stderr"))?;
        Command::new("podman")
            .args(&args)
            .envs(
                pod.env
                    .iter()
                    .filter(|(k, _)| !PODMAN_OWN_ENV.contains(&k.as_str())),
            )
            .stdin(Stdio::from(writer))
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
    }
}

/// The container's name for a pod (podman names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`).
pub fn container_name(pod: &str) -> String {
    let safe: String = pod
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("volley-sim-{safe}")
}

/// Removes the container of `pod` (running or not); no error if there is none.
pub fn remove(pod: &str) {
    let _ = Command::new("podman")
        .args(["rm", "-f", "-t", "0", "--ignore", &container_name(pod)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Removes every container this test process started.
pub fn remove_all() {
    let filter = format!("label={OWNER_LABEL}={}", std::process::id());
    let Ok(out) = Command::new("podman")
        .args(["ps", "-a", "-q", "--filter", &filter])
        .stderr(Stdio::null())
        .output()
    else {
        return;
    };
    let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(String::from)
        .collect();
    if !ids.is_empty() {
        let _ = Command::new("podman")
            .args(["rm", "-f", "-t", "0", "--ignore"])
            .args(&ids)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Removes the containers of test processes that are gone (killed before their cleanup ran):
/// they would hold the manifests' ports.
pub fn remove_orphans() {
    let Ok(out) = Command::new("podman")
        .args(["ps", "-a", "--filter", &format!("label={OWNER_LABEL}")])
        .args([
            "--format",
            &format!("{{{{.ID}}}} {{{{index .Labels \"{OWNER_LABEL}\"}}}}"),
        ])
        .stderr(Stdio::null())
        .output()
    else {
        return;
    };
    let orphans: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, pid)| !Path::new("/proc").join(pid.trim()).exists())
        .map(|(id, _)| id.to_string())
        .collect();
    if !orphans.is_empty() {
        let _ = Command::new("podman")
            .args(["rm", "-f", "-t", "0", "--ignore"])
            .args(&orphans)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn path_arg(p: &Path) -> io::Result<String> {
    p.to_str()
        .map(String::from)
        .ok_or_else(|| invalid(format!("{} is not UTF-8", p.display())))
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn write_private(path: &Path, text: &str) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}
