//! One pod of the simulation, resolved from its manifest: everything a launcher needs to
//! start its container, and nothing it must look up. The harness resolves env
//! (`secretKeyRef` from the fake Secrets, the downward API, `JOB_COMPLETION_INDEX`),
//! materialises ConfigMaps into host directories and picks the loopback address of every
//! Service name; a [`Launcher`] turns the result into a running process (a local process
//! in its own mount namespace, or a podman container).
//!
//! Every pod uses the host's network: the ports are the manifests' own (6565, 6566), so
//! simulated runs do not overlap in time.

#![allow(
    dead_code,
    reason = "the contract of the launchers; not every field is read by both"
)]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

/// One container of one pod, ready to start.
#[derive(Clone, Debug)]
pub struct PodRun {
    /// The pod's name, unique per launch (`RUN-runners-2-a1b2c`).
    pub name: String,
    /// The image the manifest names; a container launcher may run a locally built image
    /// in its place.
    pub image: String,
    /// The container's `command` then `args`, `$(VAR)` references expanded; `argv[0]` is
    /// the path inside the image (`/volley`).
    pub argv: Vec<String>,
    /// Every env entry with its value resolved.
    pub env: BTreeMap<String, String>,
    pub mounts: Vec<Mount>,
    pub security: Security,
    /// Service name → the address it resolves to inside the pod.
    pub hosts: BTreeMap<String, IpAddr>,
    /// Where the launcher writes the container's stdout (`stdout`) and stderr (`stderr`).
    pub log_dir: PathBuf,
}

/// A volume mounted into the container.
#[derive(Clone, Debug)]
pub struct Mount {
    /// The manifest's `mountPath`.
    pub path: String,
    pub source: MountSource,
    pub read_only: bool,
}

#[derive(Clone, Debug)]
pub enum MountSource {
    /// A host directory holding the materialised ConfigMap, Secret or projected files.
    Dir(PathBuf),
    /// An `emptyDir` (with its `sizeLimit`, if any).
    EmptyDir { size_limit_bytes: Option<u64> },
}

/// The pod's and the container's `securityContext`, merged as the kubelet does.
#[derive(Clone, Debug, Default)]
pub struct Security {
    pub run_as_user: Option<u32>,
    pub run_as_group: Option<u32>,
    pub run_as_non_root: bool,
    pub read_only_root_filesystem: bool,
    /// `capabilities.drop` contains `ALL`.
    pub drop_all_capabilities: bool,
    pub allow_privilege_escalation: bool,
    /// `seccompProfile.type: RuntimeDefault`.
    pub seccomp_runtime_default: bool,
}

/// Starts a resolved pod. The child's stdout and stderr go to files in `pod.log_dir`;
/// killing the child kills the pod.
pub trait Launcher {
    fn spawn(&self, pod: &PodRun) -> std::io::Result<std::process::Child>;
}
