//! `volley run FILE --runners N`: a coordinator in this process and N `volley runner`
//! child processes on this machine, speaking the same protocol as pods do. The children
//! get the fleet plan as a file, the data every runner reads as data packs in a directory
//! (`--data-dir`, as on a cluster), the coordinator's loopback address and a fresh random
//! token (in their environment, never on a command line); the coordinator hands each its
//! data slice. A child that exits before it is done is reported to the coordinator at
//! once (it is lost: exit 110 at the end). Children still running at the end are killed.
//! Each child leads a process group of its own, so a terminal's Ctrl-C reaches only the
//! parent, which stops the fleet through the coordinator (the runners then end their
//! load, push their data and exit); [`Processes::kill_now`] is the hard stop.
//! This module must not merge metrics (the coordinator does).

use super::coordinator::{Coordinator, CoordinatorOptions};
use super::protocol::TOKEN_ENV;
use super::FleetError;
use crate::run::{ProgressMode, RunOutcome, StopHandle};
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
    /// Where the fleet plan file is written: a private directory that exists and is
    /// empty (the caller creates it fresh, mode 0700, and removes it).
    pub work_dir: PathBuf,
    pub env: BTreeMap<String, String>,
    /// `--out` and `--report`, fed the fleet's merged metrics by the coordinator.
    pub outputs: Option<crate::output::OutputSet>,
    /// Stops the fleet gracefully (a signal to this process): exit 105 with the summary.
    pub stop: StopHandle,
    /// The runner processes, for a hard stop from another thread.
    pub processes: Processes,
    /// Receives the run's events (see [`crate::run::RunEvent`]).
    pub events: Option<crate::run::EventSink>,
    /// `--baseline`: the coordinator compares the fleet's summary with it.
    pub baseline: Option<Arc<crate::compare::Baseline>>,
}

/// The runner processes of a local fleet; cheap to clone.
#[derive(Clone, Default)]
pub struct Processes(Arc<Mutex<Vec<Option<Child>>>>);

impl Processes {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Option<Child>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// SIGKILLs every runner process still running and reaps it (a second signal).
    pub fn kill_now(&self) {
        for c in self.lock().iter_mut().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
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
    pub fn run(mut self) -> Result<RunOutcome, FleetError> {
        let (mut fleet_plan, slices) = volley_plan::slice::split(&self.plan, self.runners);
        // Data every runner reads goes to the runners as packs (`--data-dir`), as on a
        // cluster, rather than as JSON in their plan; the coordinator keeps its rows.
        let data_dir = self.work_dir.join("data");
        let packs = volley_plan::pack::externalise(&mut fleet_plan);
        if !packs.is_empty() {
            write_packs(&data_dir, &fleet_plan, &packs)?;
        }
        let data_dir = (!packs.is_empty()).then_some(data_dir);
        let plan_path = self.work_dir.join("plan.json");
        write_new(&plan_path, volley_plan::to_json(&fleet_plan).as_bytes()).map_err(|source| {
            FleetError::WritePlan {
                path: plan_path.display().to_string(),
                source,
            }
        })?;
        let token = random_token();
        let coordinator = Coordinator::bind(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            CoordinatorOptions {
                plan: fleet_plan,
                slices: slices.iter().map(volley_plan::pack::encode_slice).collect(),
                runners: self.runners,
                token: token.clone(),
                env: self.env.clone(),
                progress: self.progress,
                linger: Duration::ZERO,
                start_margin: start_margin(self.runners),
                outputs: self.outputs.take(),
                status_listen: None,
                stop: self.stop.clone(),
                linger_end: StopHandle::default(),
                events: self.events.take(),
                served: Default::default(),
                log_summary: false,
                baseline: self.baseline.clone(),
                testid: crate::output::default_testid(
                    &self.plan.name,
                    std::time::SystemTime::now(),
                ),
            },
        )
        .map_err(FleetError::Listen)?;
        let addr = coordinator.local_addr().map_err(FleetError::Listen)?;
        let exits = coordinator.exits();
        let children = self.processes.clone();
        for k in 0..self.runners {
            let child = match self.spawn(k, &plan_path, data_dir.as_deref(), addr, &token) {
                Ok(c) => c,
                Err(e) => {
                    children.kill_now();
                    return Err(FleetError::Spawn {
                        index: k,
                        source: e,
                    });
                }
            };
            children.lock().push(Some(child));
        }
        let watcher = watch_children(children.clone(), exits);
        let outcome = coordinator.run();
        watcher.stop();
        kill_all(&children);
        Ok(outcome)
    }

    fn spawn(
        &self,
        k: u32,
        plan: &Path,
        data_dir: Option<&Path>,
        addr: SocketAddr,
        token: &str,
    ) -> std::io::Result<Child> {
        use std::os::unix::process::CommandExt;
        let data: Vec<&std::ffi::OsStr> = match data_dir {
            Some(d) => vec!["--data-dir".as_ref(), d.as_os_str()],
            None => Vec::new(),
        };
        Command::new(&self.exe)
            .arg("runner")
            .arg("--plan")
            .arg(plan)
            .args(data)
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
            .process_group(0)
            .spawn()
    }
}

/// Writes a new file (mode 0600); an existing file or symlink at `path` is an error,
/// never followed.
/// Writes every pack's parts into `dir` (`volley_plan::pack::part_name`), as the kubelet
/// mounts them on a cluster.
fn write_packs(dir: &Path, plan: &Plan, packs: &[(usize, Vec<u8>)]) -> Result<(), FleetError> {
    let failed = |path: &Path, source| FleetError::WritePlan {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir(dir).map_err(|e| failed(dir, e))?;
    for (i, bytes) in packs {
        let Some(d) = plan.data.get(*i) else { continue };
        let stem = volley_plan::pack::source_stem(&d.name);
        for (p, part) in volley_plan::pack::parts(bytes).into_iter().enumerate() {
            let path = dir.join(volley_plan::pack::part_name(&stem, p as u32));
            write_new(&path, part).map_err(|e| failed(&path, e))?;
        }
    }
    Ok(())
}

fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
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
    children: Processes,
    exits: tokio::sync::mpsc::UnboundedSender<(u32, String)>,
) -> Watcher {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let thread = std::thread::spawn(move || {
        while !flag.load(std::sync::atomic::Ordering::SeqCst) {
            {
                let mut all = children.lock();
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

/// Gives finishing runners a moment, then makes sure none outlives the run. The lock is
/// taken briefly each time, so a hard stop from another thread is never held up.
fn kill_all(children: &Processes) {
    for _ in 0..20 {
        let running = children
            .lock()
            .iter_mut()
            .flatten()
            .any(|c| !matches!(c.try_wait(), Ok(Some(_))));
        if !running {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    children.kill_now();
}
