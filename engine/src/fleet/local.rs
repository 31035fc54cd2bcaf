//! `volley run FILE --runners N`: a coordinator in this process and N `volley runner`
//! child processes on this machine, speaking the same protocol as pods do. The children
//! get the fleet plan as a file, the coordinator's loopback address and a fresh random
//! token (in their environment, never on a command line); the coordinator hands each its
//! data slice. A child that exits before it is done is reported to the coordinator at
//! once (it is lost: exit 110 at the end). Children still running at the end are killed.
//! This module must not merge metrics (the coordinator does).

use super::coordinator::{Coordinator, CoordinatorOptions};
use super::protocol::TOKEN_ENV;
use crate::run::{ProgressMode, RunOutcome};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use volley_plan::Plan;

pub struct LocalFleet {
    /// The `volley` binary the runners run.
    pub exe: PathBuf,
    pub plan: Plan,
    pub runners: u32,
    /// Worker threads per runner.
    pub workers: usize,
    pub progress: ProgressMode,
    /// Where the fleet plan file is written (a temporary directory).
    pub work_dir: PathBuf,
    pub env: BTreeMap<String, String>,
    /// `--out` and `--report`, fed the fleet's merged metrics by the coordinator.
    pub outputs: Option<crate::output::OutputSet>,
}

/// A random hex token from the OS's randomness.
pub fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl LocalFleet {
    /// Runs the fleet to its end; blocking.
    pub fn run(mut self) -> Result<RunOutcome, String> {
        let (fleet_plan, slices) = volley_plan::slice::split(&self.plan, self.runners);
        std::fs::create_dir_all(&self.work_dir)
            .map_err(|e| format!("cannot create {}: {e}", self.work_dir.display()))?;
        let plan_path = self.work_dir.join("plan.json");
        std::fs::write(&plan_path, volley_plan::to_json(&fleet_plan))
            .map_err(|e| format!("cannot write {}: {e}", plan_path.display()))?;
        let token = random_token();
        let coordinator = Coordinator::bind(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            CoordinatorOptions {
                plan: fleet_plan,
                slices,
                runners: self.runners,
                token: token.clone(),
                env: self.env.clone(),
                progress: self.progress,
                linger: Duration::ZERO,
                start_margin: start_margin(self.runners),
                outputs: self.outputs.take(),
                status_listen: None,
                testid: crate::output::default_testid(
                    &self.plan.name,
                    std::time::SystemTime::now(),
                ),
            },
        )
        .map_err(|e| format!("cannot listen on loopback: {e}"))?;
        let addr = coordinator
            .local_addr()
            .map_err(|e| format!("coordinator address: {e}"))?;
        let exits = coordinator.exits();
        let children: Arc<Mutex<Vec<Option<Child>>>> = Arc::default();
        for k in 0..self.runners {
            let child = self
                .spawn(k, &plan_path, addr, &token)
                .map_err(|e| format!("cannot start runner {k}: {e}"))?;
            children
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(Some(child));
        }
        let watcher = watch_children(Arc::clone(&children), exits);
        let outcome = coordinator.run();
        watcher.stop();
        kill_all(&children);
        Ok(outcome)
    }

    fn spawn(&self, k: u32, plan: &Path, addr: SocketAddr, token: &str) -> std::io::Result<Child> {
        Command::new(&self.exe)
            .arg("runner")
            .arg("--plan")
            .arg(plan)
            .arg("--coordinator")
            .arg(format!("http://{addr}"))
            .arg("--segment")
            .arg(k.to_string())
            .arg("--runners")
            .arg(self.runners.to_string())
            .arg("--workers")
            .arg(self.workers.to_string())
            .env(TOKEN_ENV, token)
            .env_remove("JOB_COMPLETION_INDEX")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
    }
}

/// A start margin long enough for every runner to hear of the start instant.
fn start_margin(runners: u32) -> Duration {
    Duration::from_millis(300 + 5 * u64::from(runners))
}

struct Watcher {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    fn stop(mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Polls the children every 50 ms and reports each exit (index, status) once.
fn watch_children(
    children: Arc<Mutex<Vec<Option<Child>>>>,
    exits: tokio::sync::mpsc::UnboundedSender<(u32, String)>,
) -> Watcher {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let thread = std::thread::spawn(move || {
        while !flag.load(std::sync::atomic::Ordering::SeqCst) {
            {
                let mut all = children.lock().unwrap_or_else(|p| p.into_inner());
                for (k, slot) in all.iter_mut().enumerate() {
                    let Some(child) = slot.as_mut() else { continue };
                    if let Ok(Some(status)) = child.try_wait() {
                        let _ = exits.send((k as u32, describe(status)));
                        *slot = None;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    Watcher {
        stop,
        thread: Some(thread),
    }
}

fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "ended".into(),
    }
}

fn kill_all(children: &Arc<Mutex<Vec<Option<Child>>>>) {
    let mut all = children.lock().unwrap_or_else(|p| p.into_inner());
    for slot in all.iter_mut() {
        if let Some(mut c) = slot.take() {
            // Give a finishing runner a moment, then make sure none outlives the run.
            for _ in 0..20 {
                if matches!(c.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
