//! The process launcher: each pod's container is a local process of the built binary in
//! its own mount namespace (`unshare --mount --propagation private`, as root). In there the
//! materialised volumes are bind-mounted at the manifest's own mountPaths (a missing
//! parent such as `/etc/volley` is made on a private overlay of its nearest existing
//! ancestor, so the host is never written), `emptyDir`s are tmpfs, `/etc/hosts` maps the
//! Service names to loopback, the root filesystem is remounted read-only when the manifest
//! asks, and `setpriv` drops to the pod's user and group, clears the capability bounding
//! set and sets no_new_privs before it execs the binary. `seccompProfile` is left to the
//! container launcher.

use super::pod::{Launcher, MountSource, PodRun};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Runs pods as processes of `binary`; `entrypoint` (the image's `/volley`) is the path
/// the manifests' argv names it by.
pub struct ProcessLauncher {
    pub binary: PathBuf,
    pub entrypoint: String,
}

/// `'…'` quoting for sh.
fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Whether this process can make mount namespaces (root).
pub fn can_unshare() -> bool {
    Command::new("unshare")
        .args(["--mount", "--propagation", "private", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The nearest existing ancestor of `p`.
fn existing_ancestor(p: &Path) -> PathBuf {
    let mut a = p.to_path_buf();
    while !a.exists() {
        match a.parent() {
            Some(parent) => a = parent.to_path_buf(),
            None => break,
        }
    }
    a
}

impl ProcessLauncher {
    /// The shell script run inside the new mount namespace; the binary's argv follows as
    /// `"$@"`.
    fn script(&self, pod: &PodRun) -> io::Result<String> {
        // The binary is opened before anything is mounted, and run through its descriptor:
        // an `emptyDir` at `/tmp` would hide it when the checkout itself lives under /tmp.
        let mut s = String::from("set -e\nexec 9<\"$1\"\nshift\n");
        let mut overlays: Vec<PathBuf> = Vec::new();
        let mut mounts = pod.mounts.clone();
        mounts.sort_by(|a, b| a.path.cmp(&b.path));
        for m in &mounts {
            let p = Path::new(&m.path);
            if !p.is_absolute() {
                return Err(io::Error::other(format!(
                    "mountPath `{}` is not absolute",
                    m.path
                )));
            }
            if !p.exists() {
                let anc = existing_ancestor(p);
                if anc == Path::new("/") {
                    return Err(io::Error::other(format!(
                        "mountPath `{}`: the process launcher cannot make a new top-level directory",
                        m.path
                    )));
                }
                if !overlays
                    .iter()
                    .any(|o| p.starts_with(o) && anc.starts_with(o))
                {
                    let n = overlays.len();
                    let (upper, work) = (
                        pod.log_dir.join(format!("overlay-{n}/upper")),
                        pod.log_dir.join(format!("overlay-{n}/work")),
                    );
                    std::fs::create_dir_all(&upper)?;
                    std::fs::create_dir_all(&work)?;
                    let a = anc.display().to_string();
                    s += &format!(
                        "mount -t overlay overlay -o lowerdir={a},upperdir={},workdir={} {}\n",
                        upper.display(),
                        work.display(),
                        q(&a)
                    );
                    overlays.push(anc);
                }
                s += &format!("mkdir -p {}\n", q(&m.path));
            }
        }
        // Service names, then the volumes from host directories, and the `emptyDir`s last:
        // a tmpfs (at `/tmp`, say) must not hide a source that lives beneath it.
        let mut hosts = String::from("127.0.0.1\tlocalhost\n::1\tlocalhost\n");
        for (name, ip) in &pod.hosts {
            hosts += &format!("{ip}\t{name}\n");
        }
        hosts += &format!("127.0.1.1\t{}\n", pod.name);
        let hosts_file = pod.log_dir.join("hosts");
        std::fs::write(&hosts_file, hosts)?;
        s += &format!(
            "mount --bind {} /etc/hosts\n",
            q(&hosts_file.display().to_string())
        );
        mounts.sort_by_key(|m| matches!(m.source, MountSource::EmptyDir { .. }));
        for m in &mounts {
            match &m.source {
                MountSource::Dir(d) => {
                    s += &format!(
                        "mount --bind {} {}\n",
                        q(&d.display().to_string()),
                        q(&m.path)
                    );
                    if m.read_only {
                        s += &format!("mount -o remount,bind,ro {}\n", q(&m.path));
                    }
                }
                MountSource::EmptyDir { size_limit_bytes } => {
                    let size = size_limit_bytes
                        .map(|b| format!(",size={b}"))
                        .unwrap_or_default();
                    s += &format!("mount -t tmpfs -o mode=1777{size} tmpfs {}\n", q(&m.path));
                }
            }
        }
        if pod.security.read_only_root_filesystem {
            s += "mount -o remount,bind,ro /\n";
            for o in &overlays {
                s += &format!("mount -o remount,ro {}\n", q(&o.display().to_string()));
            }
        }
        let sec = &pod.security;
        let uid = sec.run_as_user.unwrap_or(0);
        let gid = sec.run_as_group.unwrap_or(uid);
        if sec.run_as_non_root && uid == 0 {
            return Err(io::Error::other(
                "container has runAsNonRoot and its user is root (uid 0)",
            ));
        }
        s += &format!("cd /\nexec setpriv --reuid={uid} --regid={gid} --clear-groups");
        if !sec.allow_privilege_escalation {
            s += " --no-new-privs";
        }
        if sec.drop_all_capabilities {
            s += " --bounding-set=-all --inh-caps=-all";
        }
        s += " -- /proc/self/fd/9 \"$@\"\n";
        Ok(s)
    }
}

impl Launcher for ProcessLauncher {
    fn spawn(&self, pod: &PodRun) -> io::Result<Child> {
        std::fs::create_dir_all(&pod.log_dir)?;
        let script = self.script(pod)?;
        std::fs::write(pod.log_dir.join("launch.sh"), &script)?;
        let mut argv = pod.argv.clone();
        match argv.first_mut() {
            Some(a0) if *a0 == self.entrypoint => *a0 = self.binary.display().to_string(),
            Some(a0) => {
                return Err(io::Error::other(format!(
                    "the container runs `{a0}`, which the image does not hold (its binary is `{}`)",
                    self.entrypoint
                )))
            }
            None => return Err(io::Error::other("the container has no command")),
        }
        let out = std::fs::File::create(pod.log_dir.join("stdout"))?;
        let err = std::fs::File::create(pod.log_dir.join("stderr"))?;
        Command::new("unshare")
            .args(["--mount", "--propagation", "private", "--", "/bin/sh", "-c"])
            .arg(&script)
            .arg("sh")
            .args(&argv)
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("HOSTNAME", &pod.name)
            .envs(&pod.env)
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
    }
}
