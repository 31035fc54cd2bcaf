//! The cluster simulation: it takes the objects `volley compile` writes and runs them, each
//! pod's container as a local process of the built binary or as a real container (podman),
//! behind the fake API server, so that `volley deploy`, `status`, `logs`, `abort` and
//! `delete` drive the same objects. `pod` is the contract between the harness, which
//! resolves a pod from its manifest, and the launchers, which start it; `cluster` is the
//! harness (Job controller and kubelet), `process` the launcher of local processes, `podman`
//! the launcher of containers, `e2e` the runs end to end.

pub mod cluster;
mod e2e;
pub mod pod;
pub mod podman;
pub mod process;
