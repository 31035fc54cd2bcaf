//! The simulated cluster: a Job controller and a kubelet behind the fake API server's
//! cluster mode. Applied Jobs become pods (Indexed Jobs with `JOB_COMPLETION_INDEX` and
//! the completion-index annotation, `completions`, `parallelism`, `backoffLimit`,
//! `backoffLimitPerIndex`, `podFailurePolicy` with `Ignore`/`FailIndex`/`FailJob`/`Count`,
//! a replacement only once the old pod has terminated, `activeDeadlineSeconds` of Job and
//! pod); each pod is resolved from its template ([`PodRun`]: argv with `$(VAR)`, env from
//! values, Secrets, ConfigMaps and the downward API, volumes materialised from ConfigMaps,
//! Secrets and projections including `binaryData`, Service names to loopback) and started
//! by a [`Launcher`]. Pod phases, conditions (Ready from the readiness probe, and
//! DisruptionTarget), exit codes and logs come from the real processes.
//!
//! Every pod shares the host's network, so the manifests' fixed ports hold: one simulation
//! at a time ([`Sim::start`] takes a process-wide lock). Dropping the [`Sim`] kills every
//! pod.

use super::pod::{Launcher, Mount, MountSource, PodRun, Security};
use crate::support::*;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};
use volley_k8s::fake::cluster::Kubelet;
use volley_k8s::fake::{Fake, Recorded};

/// The annotation and label the Job controller puts on the pods of an Indexed Job.
pub const INDEX_KEY: &str = "batch.kubernetes.io/job-completion-index";
const TICK: Duration = Duration::from_millis(50);

/// What the image provides when the manifest does not say: its ENTRYPOINT and USER, read
/// from the repository's Dockerfile (the image the manifests name).
#[derive(Clone, Debug)]
pub struct Image {
    pub entrypoint: Vec<String>,
    pub user: Option<(u32, u32)>,
}

impl Image {
    pub fn from_dockerfile() -> Image {
        let text = std::fs::read_to_string(repo().join("Dockerfile")).expect("Dockerfile");
        let mut image = Image {
            entrypoint: Vec::new(),
            user: None,
        };
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("ENTRYPOINT ") {
                image.entrypoint = serde_json::from_str(rest).expect("ENTRYPOINT is a JSON array");
            } else if let Some(rest) = line.strip_prefix("USER ") {
                let (u, g) = rest
                    .trim()
                    .split_once(':')
                    .unwrap_or((rest.trim(), rest.trim()));
                image.user = Some((
                    u.parse().expect("numeric USER"),
                    g.parse().expect("numeric group"),
                ));
            }
        }
        assert!(
            !image.entrypoint.is_empty(),
            "the Dockerfile has an ENTRYPOINT"
        );
        image
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Running,
    Succeeded,
    Failed,
}

/// One pod of the simulation.
pub struct SimPod {
    pub name: String,
    pub uid: String,
    pub job: String,
    pub index: Option<u32>,
    pub labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    spec: Value,
    created: SystemTime,
    started: Option<(Instant, SystemTime)>,
    finished: Option<SystemTime>,
    child: Option<Child>,
    pub pid: Option<u32>,
    pub phase: Phase,
    pub exit_code: Option<i32>,
    /// Why it is not running yet, or why it ended (`DeadlineExceeded`).
    pub reason: Option<(String, String)>,
    pub ready: bool,
    pub disrupted: bool,
    /// When the pod was asked to stop (SIGTERM sent), and the grace period.
    terminating: Option<(Instant, Duration)>,
    /// Deleted with its Job: gone from the API once terminated.
    deleted: bool,
    /// The Job controller has accounted for its failure.
    counted: bool,
    next_probe: Instant,
    pub log_dir: PathBuf,
}

impl SimPod {
    fn active(&self) -> bool {
        matches!(self.phase, Phase::Pending | Phase::Running)
    }
}

/// One Job, as the controller tracks it.
pub struct SimJob {
    pub name: String,
    uid: String,
    spec: Value,
    started: Instant,
    started_at: SystemTime,
    failures: BTreeMap<u32, u32>,
    pub succeeded: BTreeSet<u32>,
    pub failed: BTreeSet<u32>,
    /// `(type, reason)` once finished: `Complete` or `Failed`.
    pub finished: Option<(String, String)>,
    deleted: bool,
}

#[derive(Default)]
struct World {
    jobs: Vec<SimJob>,
    pods: Vec<SimPod>,
    next: u64,
    /// `(job, index)` pods that stay Pending (unschedulable) until released.
    held: BTreeSet<(String, u32)>,
}

/// The kubelet and Job controller of the simulation.
pub struct Cluster {
    fake: Fake,
    launcher: Box<dyn Launcher + Send + Sync>,
    image: Image,
    dir: PathBuf,
    namespace: Mutex<String>,
    world: Mutex<World>,
    stop: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// RFC 3339 in UTC with microseconds, from the civil date of the days since 1970.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let (secs, micros) = (d.as_secs() as i64, d.subsec_micros());
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn str_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// A Kubernetes quantity in base units (`250m` → 0.25, `1Gi` → 2^30, `1.5` → 1.5).
pub fn quantity(q: &str) -> Option<f64> {
    let units: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1024f64.powi(2)),
        ("Gi", 1024f64.powi(3)),
        ("Ti", 1024f64.powi(4)),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
    ];
    for (u, f) in units {
        if let Some(n) = q.strip_suffix(u) {
            return n.parse::<f64>().ok().map(|n| n * f);
        }
    }
    q.parse().ok()
}

fn expand(s: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(t) = tail.strip_prefix("$$") {
            out.push('$');
            rest = t;
        } else if let Some(close) = tail.strip_prefix("$(").and_then(|t| t.find(')')) {
            let name = &tail[2..2 + close];
            match env.get(name) {
                Some(v) => out.push_str(v),
                None => out.push_str(&tail[..close + 3]),
            }
            rest = &tail[close + 3..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Why a pod cannot start: `(reason, message)` as the kubelet reports it.
type Refusal = (String, String);

fn refuse(reason: &str, message: String) -> Refusal {
    (reason.to_string(), message)
}

impl Cluster {
    fn object(&self, coll: &str, name: &str) -> Option<Value> {
        self.fake
            .with(|s| s.objects.get(&format!("{coll}/{name}")).cloned())
    }

    /// The downward API: one `fieldPath` of the pod.
    fn field(&self, pod: &SimPod, path: &str) -> Result<String, Refusal> {
        let keyed = |prefix: &str, m: &BTreeMap<String, String>| -> Option<String> {
            let key = path.strip_prefix(prefix)?.strip_suffix("']")?;
            Some(m.get(key).cloned().unwrap_or_default())
        };
        if let Some(v) = keyed("metadata.labels['", &pod.labels) {
            return Ok(v);
        }
        if let Some(v) = keyed("metadata.annotations['", &pod.annotations) {
            return Ok(v);
        }
        Ok(match path {
            "metadata.name" => pod.name.clone(),
            "metadata.namespace" => lock(&self.namespace).clone(),
            "metadata.uid" => pod.uid.clone(),
            "spec.nodeName" => "sim-node".into(),
            "spec.serviceAccountName" => pod.spec["serviceAccountName"]
                .as_str()
                .unwrap_or("default")
                .into(),
            "status.hostIP" | "status.podIP" | "status.podIPs" | "status.hostIPs" => {
                "127.0.0.1".into()
            }
            other => {
                return Err(refuse(
                    "CreateContainerConfigError",
                    format!("unsupported fieldPath `{other}` in the downward API"),
                ))
            }
        })
    }

    fn resource_field(&self, container: &Value, r: &Value) -> Result<String, Refusal> {
        let res = r["resource"].as_str().unwrap_or_default();
        let (kind, name) = res.split_once('.').unwrap_or(("", res));
        let q = container["resources"][kind][name]
            .as_str()
            .map(String::from)
            .or_else(|| {
                container["resources"][kind][name]
                    .as_f64()
                    .map(|f| f.to_string())
            })
            .and_then(|q| quantity(&q))
            .ok_or_else(|| {
                refuse(
                    "CreateContainerConfigError",
                    format!("resourceFieldRef `{res}`: the container sets no such resource"),
                )
            })?;
        let divisor = r["divisor"].as_str().and_then(quantity).unwrap_or(1.0);
        Ok(format!("{}", (q / divisor).ceil() as u64))
    }

    /// `secretKeyRef` / `configMapKeyRef`.
    fn key_ref(&self, coll: &str, what: &str, r: &Value) -> Result<Option<String>, Refusal> {
        let (name, key) = (
            r["name"].as_str().unwrap_or_default(),
            r["key"].as_str().unwrap_or_default(),
        );
        let optional = r["optional"].as_bool() == Some(true);
        let Some(obj) = self.object(coll, name) else {
            return if optional {
                Ok(None)
            } else {
                Err(refuse(
                    "CreateContainerConfigError",
                    format!("{what} \"{name}\" not found"),
                ))
            };
        };
        match object_entries(&obj).remove(key) {
            Some(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            None if optional => Ok(None),
            None => Err(refuse(
                "CreateContainerConfigError",
                format!("couldn't find key {key} in {what} {name}"),
            )),
        }
    }

    fn env(&self, pod: &SimPod, c: &Value) -> Result<BTreeMap<String, String>, Refusal> {
        let mut env = BTreeMap::new();
        for from in c["envFrom"].as_array().into_iter().flatten() {
            let prefix = from["prefix"].as_str().unwrap_or_default();
            let (coll, r) = if from["secretRef"].is_object() {
                ("api/v1/secrets", &from["secretRef"])
            } else {
                ("api/v1/configmaps", &from["configMapRef"])
            };
            let name = r["name"].as_str().unwrap_or_default();
            match self.object(coll, name) {
                Some(o) => {
                    for (k, v) in object_entries(&o) {
                        env.insert(format!("{prefix}{k}"), String::from_utf8_lossy(&v).into());
                    }
                }
                None if r["optional"].as_bool() == Some(true) => {}
                None => {
                    return Err(refuse(
                        "CreateContainerConfigError",
                        format!("envFrom: \"{name}\" not found"),
                    ))
                }
            }
        }
        for e in c["env"].as_array().into_iter().flatten() {
            let name = e["name"].as_str().unwrap_or_default().to_string();
            let value = if let Some(v) = e["value"].as_str() {
                Some(expand(v, &env))
            } else if let Some(f) = e["valueFrom"].as_object() {
                if let Some(r) = f.get("secretKeyRef") {
                    self.key_ref("api/v1/secrets", "secret", r)?
                } else if let Some(r) = f.get("configMapKeyRef") {
                    self.key_ref("api/v1/configmaps", "configmap", r)?
                } else if let Some(r) = f.get("fieldRef") {
                    Some(self.field(pod, r["fieldPath"].as_str().unwrap_or_default())?)
                } else if let Some(r) = f.get("resourceFieldRef") {
                    Some(self.resource_field(c, r)?)
                } else {
                    return Err(refuse(
                        "CreateContainerConfigError",
                        format!("env `{name}`: a valueFrom the simulation does not know"),
                    ));
                }
            } else {
                Some(String::new())
            };
            if let Some(v) = value {
                env.insert(name, v);
            }
        }
        Ok(env)
    }

    /// Writes the files of one volume into `dir`.
    fn materialise(&self, pod: &SimPod, vol: &Value, dir: &Path) -> Result<Option<u64>, Refusal> {
        let mode_of = |v: &Value| v["defaultMode"].as_u64().map(|m| m as u32).unwrap_or(0o644);
        let write = |files: Vec<(String, Vec<u8>, u32)>| -> Result<(), Refusal> {
            for (path, bytes, mode) in files {
                let f = dir.join(&path);
                std::fs::create_dir_all(f.parent().unwrap()).unwrap();
                std::fs::write(&f, bytes).unwrap();
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
            }
            Ok(())
        };
        std::fs::create_dir_all(dir).unwrap();
        let name = vol["name"].as_str().unwrap_or_default();
        if let Some(e) = vol.get("emptyDir") {
            return Ok(Some(
                e["sizeLimit"]
                    .as_str()
                    .and_then(quantity)
                    .map(|b| b as u64)
                    .unwrap_or(0),
            ));
        }
        let source = |coll: &str, what: &str, obj_name: &str, src: &Value, mode: u32| {
            let optional = src["optional"].as_bool() == Some(true);
            let Some(obj) = self.object(coll, obj_name) else {
                return if optional {
                    Ok(Vec::new())
                } else {
                    Err(refuse(
                        "FailedMount",
                        format!("MountVolume.SetUp failed for volume \"{name}\": {what} \"{obj_name}\" not found"),
                    ))
                };
            };
            let mut entries = object_entries(&obj);
            match src["items"].as_array() {
                Some(items) => items
                    .iter()
                    .map(|i| {
                        let key = i["key"].as_str().unwrap_or_default();
                        let m = i["mode"].as_u64().map(|m| m as u32).unwrap_or(mode);
                        match entries.remove(key) {
                            Some(b) => Ok(Some((i["path"].as_str().unwrap_or(key).to_string(), b, m))),
                            None if optional => Ok(None),
                            None => Err(refuse(
                                "FailedMount",
                                format!("MountVolume.SetUp failed for volume \"{name}\": configmap references non-existent config key: {key}"),
                            )),
                        }
                    })
                    .filter_map(Result::transpose)
                    .collect::<Result<Vec<_>, _>>(),
                None => Ok(entries.into_iter().map(|(k, b)| (k, b, mode)).collect()),
            }
        };
        let downward = |src: &Value, mode: u32| -> Result<Vec<(String, Vec<u8>, u32)>, Refusal> {
            src["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| {
                    let v =
                        self.field(pod, i["fieldRef"]["fieldPath"].as_str().unwrap_or_default())?;
                    Ok((
                        i["path"].as_str().unwrap_or_default().to_string(),
                        v.into_bytes(),
                        mode,
                    ))
                })
                .collect()
        };
        if let Some(cm) = vol.get("configMap") {
            let n = cm["name"].as_str().unwrap_or_default();
            write(source(
                "api/v1/configmaps",
                "configmap",
                n,
                cm,
                mode_of(cm),
            )?)?;
        } else if let Some(s) = vol.get("secret") {
            let n = s["secretName"].as_str().unwrap_or_default();
            write(source("api/v1/secrets", "secret", n, s, mode_of(s))?)?;
        } else if let Some(d) = vol.get("downwardAPI") {
            write(downward(d, mode_of(d))?)?;
        } else if let Some(p) = vol.get("projected") {
            let mode = mode_of(p);
            for src in p["sources"].as_array().into_iter().flatten() {
                if let Some(cm) = src.get("configMap") {
                    let n = cm["name"].as_str().unwrap_or_default();
                    write(source("api/v1/configmaps", "configmap", n, cm, mode)?)?;
                } else if let Some(s) = src.get("secret") {
                    let n = s["name"].as_str().unwrap_or_default();
                    write(source("api/v1/secrets", "secret", n, s, mode)?)?;
                } else if let Some(d) = src.get("downwardAPI") {
                    write(downward(d, mode)?)?;
                } else {
                    return Err(refuse(
                        "FailedMount",
                        format!("volume \"{name}\": a projected source the simulation does not know: {src}"),
                    ));
                }
            }
        } else {
            return Err(refuse(
                "FailedMount",
                format!("volume \"{name}\": a volume source the simulation does not know: {vol}"),
            ));
        }
        Ok(None)
    }

    /// The pod's container, resolved: everything the launcher needs.
    fn resolve(&self, pod: &SimPod) -> Result<PodRun, Refusal> {
        let containers = pod.spec["containers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let [c] = containers.as_slice() else {
            return Err(refuse(
                "CreateContainerConfigError",
                format!(
                    "{} containers: the simulation runs pods of one container",
                    containers.len()
                ),
            ));
        };
        let env = self.env(pod, c)?;
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    s.as_str()
                        .map(String::from)
                        .unwrap_or_else(|| s.to_string())
                })
                .collect()
        };
        let mut argv = match c.get("command") {
            Some(cmd) => strings(cmd),
            None => self.image.entrypoint.clone(),
        };
        argv.extend(strings(&c["args"]));
        let argv = argv.iter().map(|a| expand(a, &env)).collect();
        let pod_dir = pod.log_dir.clone();
        let volumes = pod.spec["volumes"].as_array().cloned().unwrap_or_default();
        let mut mounts = Vec::new();
        for m in c["volumeMounts"].as_array().into_iter().flatten() {
            let vname = m["name"].as_str().unwrap_or_default();
            if m.get("subPath").is_some() {
                return Err(refuse(
                    "CreateContainerConfigError",
                    format!("volumeMount `{vname}`: subPath is not simulated"),
                ));
            }
            let vol = volumes.iter().find(|v| v["name"] == vname).ok_or_else(|| {
                refuse(
                    "CreateContainerConfigError",
                    format!("volumeMount `{vname}` names no volume of the pod"),
                )
            })?;
            let dir = pod_dir.join("volumes").join(vname);
            let empty = self.materialise(pod, vol, &dir)?;
            mounts.push(Mount {
                path: m["mountPath"].as_str().unwrap_or_default().to_string(),
                source: match (vol.get("emptyDir"), empty) {
                    (Some(_), size) => MountSource::EmptyDir {
                        size_limit_bytes: size.filter(|b| *b > 0),
                    },
                    _ => MountSource::Dir(dir),
                },
                read_only: m["readOnly"].as_bool() == Some(true),
            });
        }
        let ps = &pod.spec["securityContext"];
        let cs = &c["securityContext"];
        let pick = |k: &str| {
            if cs[k].is_null() {
                ps[k].clone()
            } else {
                cs[k].clone()
            }
        };
        let security = Security {
            run_as_user: pick("runAsUser")
                .as_u64()
                .map(|u| u as u32)
                .or(self.image.user.map(|u| u.0)),
            run_as_group: pick("runAsGroup")
                .as_u64()
                .map(|g| g as u32)
                .or(self.image.user.map(|u| u.1)),
            run_as_non_root: pick("runAsNonRoot").as_bool() == Some(true),
            read_only_root_filesystem: cs["readOnlyRootFilesystem"].as_bool() == Some(true),
            drop_all_capabilities: cs["capabilities"]["drop"]
                .as_array()
                .is_some_and(|d| d.iter().any(|x| x == "ALL")),
            allow_privilege_escalation: cs["allowPrivilegeEscalation"].as_bool() != Some(false),
            seccomp_runtime_default: pick("seccompProfile")["type"] == "RuntimeDefault",
        };
        // Service names resolve to loopback: every pod shares the host's network.
        let ns = lock(&self.namespace).clone();
        let services: Vec<String> = self.fake.with(|s| {
            s.objects
                .keys()
                .filter_map(|k| k.strip_prefix("api/v1/services/").map(String::from))
                .collect()
        });
        let mut hosts = BTreeMap::new();
        for s in services {
            let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
            for n in [
                s.clone(),
                format!("{s}.{ns}"),
                format!("{s}.{ns}.svc"),
                format!("{s}.{ns}.svc.cluster.local"),
            ] {
                hosts.insert(n, lo);
            }
        }
        Ok(PodRun {
            name: pod.name.clone(),
            image: c["image"].as_str().unwrap_or_default().to_string(),
            argv,
            env,
            mounts,
            security,
            hosts,
            log_dir: pod_dir,
        })
    }
}

/// The entries of a ConfigMap or Secret: `data` (text for a ConfigMap, base64 for a
/// Secret), `binaryData` (base64) and a Secret's `stringData`.
fn object_entries(o: &Value) -> BTreeMap<String, Vec<u8>> {
    let b64 = |s: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .unwrap_or_else(|e| panic!("base64 in {}: {e}", o["metadata"]["name"]))
    };
    let secret = o["kind"] == "Secret";
    let mut out = BTreeMap::new();
    for (k, v) in o["data"].as_object().into_iter().flatten() {
        let s = v.as_str().unwrap_or_default();
        out.insert(
            k.clone(),
            if secret {
                b64(s)
            } else {
                s.as_bytes().to_vec()
            },
        );
    }
    for (k, v) in o["binaryData"].as_object().into_iter().flatten() {
        out.insert(k.clone(), b64(v.as_str().unwrap_or_default()));
    }
    for (k, v) in o["stringData"].as_object().into_iter().flatten() {
        out.insert(
            k.clone(),
            v.as_str().unwrap_or_default().as_bytes().to_vec(),
        );
    }
    out
}

fn signal(pid: u32, sig: &str) {
    let _ = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status();
}

fn exit_code(s: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0))
}

/// A failure-policy rule's match of a failed pod.
fn rule_matches(rule: &Value, pod: &SimPod) -> bool {
    if let Some(conds) = rule["onPodConditions"].as_array() {
        return conds.iter().any(|c| {
            c["type"] == "DisruptionTarget"
                && pod.disrupted
                && c["status"].as_str().unwrap_or("True") == "True"
        });
    }
    if let Some(req) = rule.get("onExitCodes") {
        let Some(code) = pod.exit_code else {
            return false;
        };
        let values: Vec<i64> = req["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_i64)
            .collect();
        let inside = values.contains(&i64::from(code));
        return match req["operator"].as_str() {
            Some("In") => inside,
            Some("NotIn") => !inside,
            _ => false,
        };
    }
    false
}

impl Cluster {
    fn new_pod(&self, w: &mut World, job: &SimJob, index: Option<u32>) -> SimPod {
        w.next += 1;
        let suffix = format!("{:05x}", (w.next * 0x9e37) & 0xfffff);
        let name = match index {
            Some(i) => format!("{}-{i}-{suffix}", job.name),
            None => format!("{}-{suffix}", job.name),
        };
        let template = &job.spec["template"];
        let mut labels = str_map(&template["metadata"]["labels"]);
        let mut annotations = str_map(&template["metadata"]["annotations"]);
        labels.insert("batch.kubernetes.io/job-name".into(), job.name.clone());
        labels.insert("job-name".into(), job.name.clone());
        labels.insert("batch.kubernetes.io/controller-uid".into(), job.uid.clone());
        let mut spec = template["spec"].clone();
        if let Some(i) = index {
            labels.insert(INDEX_KEY.into(), i.to_string());
            annotations.insert(INDEX_KEY.into(), i.to_string());
            // As the Job controller does: every container gets the index from the
            // annotation through the downward API.
            for c in spec["containers"].as_array_mut().into_iter().flatten() {
                let env = c["env"].as_array().cloned().unwrap_or_default();
                let mut with = vec![json!({"name": "JOB_COMPLETION_INDEX", "valueFrom":
                    {"fieldRef": {"fieldPath": format!("metadata.annotations['{INDEX_KEY}']")}}})];
                with.extend(env);
                c["env"] = Value::Array(with);
            }
        }
        let log_dir = self.dir.join("pods").join(&name);
        let held = index.is_some_and(|i| w.held.contains(&(job.name.clone(), i)));
        SimPod {
            uid: format!("00000000-0000-4000-9000-{:012}", w.next),
            name,
            job: job.name.clone(),
            index,
            labels,
            annotations,
            spec,
            created: SystemTime::now(),
            started: None,
            finished: None,
            child: None,
            pid: None,
            phase: Phase::Pending,
            exit_code: None,
            reason: held.then(|| {
                refuse(
                    "Unschedulable",
                    "0/1 nodes are available: held by the test".into(),
                )
            }),
            ready: false,
            disrupted: false,
            terminating: None,
            deleted: false,
            counted: false,
            next_probe: Instant::now(),
            log_dir,
        }
    }

    /// Starts a pending pod unless the test holds it.
    fn start(&self, held: &BTreeSet<(String, u32)>, pod: &mut SimPod) {
        if pod
            .index
            .is_some_and(|i| held.contains(&(pod.job.clone(), i)))
        {
            return;
        }
        match self.resolve(pod).and_then(|run| {
            self.launcher
                .spawn(&run)
                .map_err(|e| refuse("RunContainerError", e.to_string()))
        }) {
            Ok(child) => {
                pod.pid = Some(child.id());
                pod.child = Some(child);
                pod.phase = Phase::Running;
                pod.reason = None;
                pod.started = Some((Instant::now(), SystemTime::now()));
            }
            Err(r) => pod.reason = Some(r),
        }
    }

    /// SIGTERM now, SIGKILL after the grace period.
    fn terminate(pod: &mut SimPod, why: Option<(&str, &str)>) {
        if let Some((r, m)) = why {
            pod.reason = Some(refuse(r, m.to_string()));
        }
        if pod.terminating.is_some() {
            return;
        }
        let grace = pod.spec["terminationGracePeriodSeconds"]
            .as_u64()
            .unwrap_or(30);
        pod.terminating = Some((Instant::now(), Duration::from_secs(grace)));
        match pod.pid {
            Some(pid) if pod.phase == Phase::Running => signal(pid, "TERM"),
            _ => {
                // Never started: it ends at once.
                pod.phase = Phase::Failed;
                pod.finished = Some(SystemTime::now());
            }
        }
    }

    fn probe(pod: &mut SimPod) {
        let c = &pod.spec["containers"][0];
        let Some(get) = c["readinessProbe"]["httpGet"].as_object() else {
            pod.ready = true;
            return;
        };
        if Instant::now() < pod.next_probe {
            return;
        }
        let period = c["readinessProbe"]["periodSeconds"].as_u64().unwrap_or(10);
        pod.next_probe = Instant::now() + Duration::from_secs(period.min(2));
        let port = container_port(c, &get["port"]);
        let path = get.get("path").and_then(Value::as_str).unwrap_or("/");
        pod.ready = port.is_some_and(|p| {
            try_http(p, "GET", path).is_ok_and(|(code, _)| (200..400).contains(&code))
        });
    }

    /// One step of the kubelet and of the Job controller.
    fn tick(&self) {
        let mut guard = lock(&self.world);
        let w = &mut *guard;
        // The kubelet.
        let held = w.held.clone();
        for pod in w.pods.iter_mut() {
            match pod.phase {
                Phase::Pending if pod.terminating.is_none() => self.start(&held, pod),
                Phase::Running => {
                    if let Some(child) = pod.child.as_mut() {
                        if let Ok(Some(st)) = child.try_wait() {
                            let code = exit_code(st);
                            pod.exit_code = Some(code);
                            pod.phase = if code == 0 {
                                Phase::Succeeded
                            } else {
                                Phase::Failed
                            };
                            pod.ready = false;
                            pod.finished = Some(SystemTime::now());
                            continue;
                        }
                    }
                    Self::probe(pod);
                    let deadline = pod.spec["activeDeadlineSeconds"].as_u64();
                    if let (Some(d), Some((at, _))) = (deadline, pod.started) {
                        if at.elapsed() > Duration::from_secs(d) {
                            Self::terminate(
                                pod,
                                Some((
                                    "DeadlineExceeded",
                                    "Pod was active on the node longer than the specified deadline",
                                )),
                            );
                        }
                    }
                    if let Some((since, grace)) = pod.terminating {
                        if since.elapsed() > grace {
                            if let Some(c) = pod.child.as_mut() {
                                let _ = c.kill();
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        w.pods.retain(|p| !p.deleted || p.active());
        // The Job controller.
        let mut jobs = std::mem::take(&mut w.jobs);
        for job in jobs.iter_mut().filter(|j| !j.deleted) {
            self.control(w, job);
            self.write_status(w, job);
        }
        w.jobs = jobs;
    }

    fn control(&self, w: &mut World, job: &mut SimJob) {
        let spec = job.spec.clone();
        let indexed = spec["completionMode"] == "Indexed";
        let completions = spec["completions"].as_u64().unwrap_or(1) as u32;
        let parallelism = spec["parallelism"].as_u64().unwrap_or(1) as u32;
        if job.finished.is_some() {
            return;
        }
        // Failed pods, once each, through the pod failure policy.
        for pod in w.pods.iter_mut().filter(|p| p.job == job.name) {
            let index = pod.index.unwrap_or(0);
            if pod.phase == Phase::Succeeded && !pod.counted {
                pod.counted = true;
                job.succeeded.insert(index);
            }
            if pod.phase != Phase::Failed || pod.counted {
                continue;
            }
            pod.counted = true;
            let rule = spec["podFailurePolicy"]["rules"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|r| rule_matches(r, pod));
            match rule.and_then(|r| r["action"].as_str()) {
                Some("Ignore") => {}
                Some("FailIndex") => {
                    job.failed.insert(index);
                }
                Some("FailJob") => {
                    job.finished = Some(("Failed".into(), "PodFailurePolicy".into()));
                }
                _ => {
                    let n = job.failures.entry(index).or_default();
                    *n += 1;
                    match spec["backoffLimitPerIndex"].as_u64() {
                        Some(limit) if indexed => {
                            if u64::from(*n) > limit {
                                job.failed.insert(index);
                            }
                        }
                        _ => {
                            let total: u32 = job.failures.values().sum();
                            if u64::from(total) > spec["backoffLimit"].as_u64().unwrap_or(6) {
                                job.finished =
                                    Some(("Failed".into(), "BackoffLimitExceeded".into()));
                            }
                        }
                    }
                }
            }
        }
        if let Some(d) = spec["activeDeadlineSeconds"].as_u64() {
            if job.started.elapsed() > Duration::from_secs(d) {
                job.finished = Some(("Failed".into(), "DeadlineExceeded".into()));
            }
        }
        if job.finished.is_none() {
            let active: Vec<u32> = w
                .pods
                .iter()
                .filter(|p| p.job == job.name && p.active())
                .map(|p| p.index.unwrap_or(0))
                .collect();
            let mut running = active.len() as u32;
            let wanted: Vec<Option<u32>> = if indexed {
                (0..completions)
                    .filter(|i| {
                        !job.succeeded.contains(i) && !job.failed.contains(i) && !active.contains(i)
                    })
                    .map(Some)
                    .collect()
            } else if job.succeeded.is_empty() && active.is_empty() {
                vec![None]
            } else {
                Vec::new()
            };
            for index in wanted {
                if running >= parallelism {
                    break;
                }
                let pod = self.new_pod(w, job, index);
                w.pods.push(pod);
                running += 1;
            }
            let done = job.succeeded.len() as u32 + job.failed.len() as u32;
            if job.succeeded.len() as u32 >= completions {
                job.finished = Some(("Complete".into(), "CompletionsReached".into()));
            } else if running == 0 && done >= completions {
                job.finished = Some(("Failed".into(), "FailedIndexes".into()));
            }
        }
        if let Some((t, reason)) = &job.finished {
            if t == "Failed" {
                let why = if reason == "DeadlineExceeded" {
                    "Job was active longer than specified deadline"
                } else {
                    "the Job failed"
                };
                for pod in w
                    .pods
                    .iter_mut()
                    .filter(|p| p.job == job.name && p.active())
                {
                    Self::terminate(pod, Some((reason.as_str(), why)));
                }
            }
        }
    }

    fn write_status(&self, w: &World, job: &SimJob) {
        let pods: Vec<&SimPod> = w.pods.iter().filter(|p| p.job == job.name).collect();
        let mut st = json!({
            "startTime": rfc3339(job.started_at),
            "active": pods.iter().filter(|p| p.active()).count(),
            "ready": pods.iter().filter(|p| p.ready).count(),
            "succeeded": job.succeeded.len(),
            "failed": pods.iter().filter(|p| p.phase == Phase::Failed && !p.disrupted).count(),
        });
        if job.spec["completionMode"] == "Indexed" {
            let list =
                |s: &BTreeSet<u32>| s.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            st["completedIndexes"] = json!(list(&job.succeeded));
            st["failedIndexes"] = json!(list(&job.failed));
        }
        if let Some((t, reason)) = &job.finished {
            st["conditions"] = json!([{"type": t, "status": "True", "reason": reason,
                "lastTransitionTime": rfc3339(SystemTime::now())}]);
        }
        let key = format!("apis/batch/v1/jobs/{}", job.name);
        self.fake.with(|s| {
            if let Some(o) = s.objects.get_mut(&key) {
                o["status"] = st;
            }
        });
    }

    fn pod_json(&self, p: &SimPod) -> Value {
        let ns = lock(&self.namespace).clone();
        let c = &p.spec["containers"][0];
        let state = match (&p.phase, &p.reason) {
            (Phase::Pending, Some((reason, message))) if reason != "Unschedulable" => {
                json!({"waiting": {"reason": reason, "message": message}})
            }
            (Phase::Pending, _) => json!({"waiting": {"reason": "ContainerCreating"}}),
            (Phase::Running, _) => {
                json!({"running": {"startedAt": rfc3339(p.started.map(|s| s.1).unwrap_or(p.created))}})
            }
            (_, _) => json!({"terminated": {
                "exitCode": p.exit_code.unwrap_or(137),
                "reason": if p.exit_code == Some(0) { "Completed" } else { "Error" },
                "startedAt": rfc3339(p.started.map(|s| s.1).unwrap_or(p.created)),
                "finishedAt": rfc3339(p.finished.unwrap_or(p.created)),
            }}),
        };
        let cond =
            |t: &str, ok: bool| json!({"type": t, "status": if ok { "True" } else { "False" }});
        let scheduled =
            !matches!(&p.reason, Some((r, _)) if r == "Unschedulable") || p.phase != Phase::Pending;
        let mut conditions = vec![
            match &p.reason {
                Some((r, m)) if !scheduled => {
                    json!({"type": "PodScheduled", "status": "False", "reason": r, "message": m})
                }
                _ => cond("PodScheduled", true),
            },
            cond("ContainersReady", p.ready),
            cond("Ready", p.ready),
        ];
        if p.disrupted {
            conditions.push(json!({"type": "DisruptionTarget", "status": "True",
                "reason": "DeletionByTaintManager", "message": "the node went away"}));
        }
        let mut status = json!({
            "phase": format!("{:?}", p.phase),
            "conditions": conditions,
            "hostIP": "127.0.0.1",
            "podIP": "127.0.0.1",
            "containerStatuses": [{
                "name": c["name"], "image": c["image"], "imageID": "", "ready": p.ready,
                "restartCount": 0, "started": p.phase == Phase::Running, "state": state,
            }],
        });
        if let Some((r, m)) = &p.reason {
            if p.phase == Phase::Failed {
                status["reason"] = json!(r);
                status["message"] = json!(m);
            }
        }
        if let Some((_, at)) = p.started {
            status["startTime"] = json!(rfc3339(at));
        }
        let job_uid = lock(&self.world)
            .jobs
            .iter()
            .find(|j| j.name == p.job)
            .map(|j| j.uid.clone());
        let mut meta = json!({
            "name": p.name, "namespace": ns, "uid": p.uid,
            "labels": p.labels, "annotations": p.annotations,
            "creationTimestamp": rfc3339(p.created),
        });
        if let Some(uid) = job_uid {
            meta["ownerReferences"] = json!([{"apiVersion": "batch/v1", "kind": "Job",
                "name": p.job, "uid": uid, "controller": true}]);
        }
        if p.deleted {
            meta["deletionTimestamp"] = json!(rfc3339(SystemTime::now()));
        }
        let mut spec = p.spec.clone();
        spec["nodeName"] = json!("sim-node");
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status})
    }
}

/// The container port `port` names (a number, or a port's name).
fn container_port(c: &Value, port: &Value) -> Option<u16> {
    match port {
        Value::Number(n) => n.as_u64().map(|p| p as u16),
        Value::String(name) => c["ports"]
            .as_array()?
            .iter()
            .find(|p| p["name"] == name.as_str())?["containerPort"]
            .as_u64()
            .map(|p| p as u16),
        _ => None,
    }
}

impl Kubelet for Cluster {
    fn applied(&self, collection: &str, object: &Value) {
        if !collection.ends_with("batch/v1/jobs") {
            return;
        }
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if let Some(ns) = object["metadata"]["namespace"].as_str() {
            *lock(&self.namespace) = ns.to_string();
        }
        let mut w = lock(&self.world);
        // A Job's template is immutable: a re-apply changes no pod.
        if w.jobs.iter().any(|j| j.name == name && !j.deleted) {
            return;
        }
        w.jobs.push(SimJob {
            name,
            uid: object["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            spec: object["spec"].clone(),
            started: Instant::now(),
            started_at: SystemTime::now(),
            failures: BTreeMap::new(),
            succeeded: BTreeSet::new(),
            failed: BTreeSet::new(),
            finished: None,
            deleted: false,
        });
    }

    fn deleted(&self, collection: &str, name: &str) {
        if !collection.ends_with("batch/v1/jobs") {
            return;
        }
        let mut w = lock(&self.world);
        for j in w.jobs.iter_mut().filter(|j| j.name == name) {
            j.deleted = true;
        }
        for p in w.pods.iter_mut().filter(|p| p.job == name) {
            p.deleted = true;
            Self::terminate(p, None);
        }
    }

    fn pods(&self) -> Vec<Value> {
        let views: Vec<SimPodView> = lock(&self.world).pods.iter().map(SimPodView::of).collect();
        views.iter().map(|v| self.pod_json(&v.0)).collect()
    }

    fn log(&self, pod: &str) -> Option<String> {
        let dir = lock(&self.world)
            .pods
            .iter()
            .find(|p| p.name == pod)
            .map(|p| p.log_dir.clone())?;
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
        Some(format!("{}{}", read("stdout"), read("stderr")))
    }

    fn endpoint(&self, service: &str, port: u16) -> Option<SocketAddr> {
        let svc = self.object("api/v1/services", service)?;
        let sp = svc["spec"]["ports"]
            .as_array()?
            .iter()
            .find(|p| p["port"].as_u64() == Some(u64::from(port)))?
            .clone();
        let selector = str_map(&svc["spec"]["selector"]);
        let w = lock(&self.world);
        let pod = w.pods.iter().find(|p| {
            p.phase == Phase::Running
                && p.ready
                && !p.deleted
                && selector.iter().all(|(k, v)| p.labels.get(k) == Some(v))
        })?;
        let target = if sp["targetPort"].is_null() {
            sp["port"].clone()
        } else {
            sp["targetPort"].clone()
        };
        let cport = container_port(&pod.spec["containers"][0], &target)?;
        Some(SocketAddr::from((Ipv4Addr::LOCALHOST, cport)))
    }
}

/// A copy of a pod's API-visible fields (the child process stays behind).
struct SimPodView(SimPod);

impl SimPodView {
    fn of(p: &SimPod) -> SimPodView {
        SimPodView(SimPod {
            name: p.name.clone(),
            uid: p.uid.clone(),
            job: p.job.clone(),
            index: p.index,
            labels: p.labels.clone(),
            annotations: p.annotations.clone(),
            spec: p.spec.clone(),
            created: p.created,
            started: p.started,
            finished: p.finished,
            child: None,
            pid: p.pid,
            phase: p.phase.clone(),
            exit_code: p.exit_code,
            reason: p.reason.clone(),
            ready: p.ready,
            disrupted: p.disrupted,
            terminating: p.terminating,
            deleted: p.deleted,
            counted: p.counted,
            next_probe: p.next_probe,
            log_dir: p.log_dir.clone(),
        })
    }
}

/// The state of one pod, for the tests.
#[derive(Clone, Debug)]
pub struct PodInfo {
    pub name: String,
    pub job: String,
    pub index: Option<u32>,
    pub component: String,
    pub phase: Phase,
    pub exit_code: Option<i32>,
    pub reason: Option<(String, String)>,
    pub pid: Option<u32>,
    pub log: String,
}

/// How a Job ended.
#[derive(Clone, Debug)]
pub struct JobInfo {
    pub finished: Option<(String, String)>,
    pub succeeded: BTreeSet<u32>,
    pub failed: BTreeSet<u32>,
}

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// One simulation on the machine at a time, across processes too (another test binary
/// may run one): a lock directory holding the owner's pid, taken over when that process
/// is gone. Then the manifests' ports must be free.
struct MachineLock(PathBuf);

impl MachineLock {
    fn take() -> MachineLock {
        let dir = std::env::temp_dir().join("volley-sim.lock");
        let pid_file = dir.join("pid");
        let deadline = Instant::now() + Duration::from_secs(600);
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
                Instant::now() < deadline,
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

/// A running simulation: the fake API server in cluster mode on loopback, a kubeconfig
/// pointing at it, and the controller thread. Dropping it kills every pod.
pub struct Sim {
    pub fake: Fake,
    pub cluster: Arc<Cluster>,
    pub dir: PathBuf,
    controller: Option<std::thread::JoinHandle<()>>,
    _rt: tokio::runtime::Runtime,
    _machine: MachineLock,
    _one: MutexGuard<'static, ()>,
}

impl Sim {
    pub fn start(tag: &str, launcher: Box<dyn Launcher + Send + Sync>) -> Sim {
        let one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let machine = MachineLock::take();
        let dir = temp_dir(tag);
        let fake = Fake::new();
        let cluster = Arc::new(Cluster {
            fake: fake.clone(),
            launcher,
            image: Image::from_dockerfile(),
            dir: dir.clone(),
            namespace: Mutex::new("default".into()),
            world: Mutex::new(World::default()),
            stop: AtomicBool::new(false),
        });
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let kubelet: Arc<dyn Kubelet> = cluster.clone();
        let addr = rt
            .block_on(volley_k8s::fake::cluster::serve(fake.clone(), kubelet))
            .expect("the fake API server");
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: sim\nclusters:\n- name: sim\n  cluster:\n    server: http://{addr}\n\
             users:\n- name: ci\n  user:\n    token: fake-api-token\ncontexts:\n- name: sim\n  context:\n    cluster: sim\n    user: ci\n    namespace: loadtest\n"
        );
        std::fs::write(dir.join("kubeconfig"), kubeconfig).unwrap();
        let c = Arc::clone(&cluster);
        let controller = std::thread::spawn(move || {
            while !c.stop.load(Ordering::Relaxed) {
                c.tick();
                std::thread::sleep(TICK);
            }
        });
        Sim {
            fake,
            cluster,
            dir,
            controller: Some(controller),
            _rt: rt,
            _machine: machine,
            _one: one,
        }
    }

    /// `volley ARGS` with the simulation's kubeconfig, bounded by `limit`.
    pub fn volley(&self, args: &[&str], limit: Duration) -> std::process::Output {
        let kc = self.dir.join("kubeconfig");
        volley_env(
            &repo(),
            args,
            &[("KUBECONFIG", kc.to_str().unwrap())],
            limit,
        )
    }

    /// Starts `volley ARGS` with the simulation's kubeconfig, without waiting.
    pub fn spawn_volley(&self, args: &[&str]) -> Child {
        let kc = self.dir.join("kubeconfig");
        spawn_volley(args, &[("KUBECONFIG", kc.to_str().unwrap())])
    }

    /// Applies objects as `kubectl apply --server-side` would, through the fake API
    /// server's own routes, in `namespace`.
    pub fn apply(&self, objects: &[Value], namespace: &str) {
        for o in objects {
            let (api, kind) = (
                o["apiVersion"].as_str().unwrap_or_default(),
                o["kind"].as_str().unwrap_or_default(),
            );
            let prefix = if api.contains('/') {
                format!("/apis/{api}")
            } else {
                format!("/api/{api}")
            };
            let resource = match kind {
                "NetworkPolicy" => "networkpolicies".to_string(),
                "PodDisruptionBudget" => "poddisruptionbudgets".to_string(),
                k => format!("{}s", k.to_ascii_lowercase()),
            };
            let name = o["metadata"]["name"].as_str().unwrap_or_default();
            let uri = format!(
                "{prefix}/namespaces/{namespace}/{resource}/{name}?fieldManager=volley&force=true"
            );
            let r = Recorded {
                method: "PATCH".into(),
                uri,
                headers: BTreeMap::new(),
                body: serde_json::to_vec(o).unwrap(),
            };
            let (code, body) = self.fake.handle(r);
            assert!(
                (200..300).contains(&code),
                "apply {kind} {name}: {}",
                String::from_utf8_lossy(&body)
            );
            let stored: Value = serde_json::from_slice(&body).unwrap();
            let coll = format!("{}/{resource}", prefix.trim_start_matches('/'));
            self.cluster.applied(&coll, &stored);
        }
    }

    /// The token Secret `volley deploy` would make (the compiled manifests hold none).
    pub fn token_secret(run: &str, token: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": format!("{run}-token"), "labels": {"volley.dev/run": run}},
            "data": {"token": base64::engine::general_purpose::STANDARD.encode(token)}})
    }

    /// Pods whose Job (`INDEX`: which index) are held Pending until [`Sim::release`].
    pub fn hold(&self, job: &str, index: u32) {
        lock(&self.cluster.world)
            .held
            .insert((job.to_string(), index));
    }

    pub fn release(&self, job: &str, index: u32) {
        let mut w = lock(&self.cluster.world);
        w.held.remove(&(job.to_string(), index));
        for p in w
            .pods
            .iter_mut()
            .filter(|p| p.job == job && p.index == Some(index))
        {
            if matches!(&p.reason, Some((r, _)) if r == "Unschedulable") {
                p.reason = None;
            }
        }
    }

    /// Every pod, newest last.
    pub fn pods(&self) -> Vec<PodInfo> {
        let w = lock(&self.cluster.world);
        w.pods
            .iter()
            .map(|p| PodInfo {
                name: p.name.clone(),
                job: p.job.clone(),
                index: p.index,
                component: p
                    .labels
                    .get("app.kubernetes.io/component")
                    .cloned()
                    .unwrap_or_default(),
                phase: p.phase.clone(),
                exit_code: p.exit_code,
                reason: p.reason.clone(),
                pid: p.pid,
                log: {
                    let read =
                        |f: &str| std::fs::read_to_string(p.log_dir.join(f)).unwrap_or_default();
                    format!("{}{}", read("stdout"), read("stderr"))
                },
            })
            .collect()
    }

    pub fn job(&self, name: &str) -> Option<JobInfo> {
        lock(&self.cluster.world)
            .jobs
            .iter()
            .find(|j| j.name == name)
            .map(|j| JobInfo {
                finished: j.finished.clone(),
                succeeded: j.succeeded.clone(),
                failed: j.failed.clone(),
            })
    }

    /// Waits until Job `name` has finished (and its pods have terminated); panics with
    /// every pod's state and log past `limit`.
    pub fn wait_job(&self, name: &str, limit: Duration) -> JobInfo {
        let done = wait_until(limit, || {
            self.job(name).is_some_and(|j| j.finished.is_some())
                && self
                    .pods()
                    .iter()
                    .all(|p| p.job != name || !matches!(p.phase, Phase::Pending | Phase::Running))
        });
        assert!(
            done,
            "Job {name} did not finish within {limit:?}\n{}",
            self.describe()
        );
        self.job(name).unwrap()
    }

    /// The node of pod `name` goes away: the pod gets the DisruptionTarget condition (as
    /// the taint manager sets it) and its process dies without a signal it could answer.
    pub fn lose_node(&self, name: &str) {
        let mut w = lock(&self.cluster.world);
        let p = w.pods.iter_mut().find(|p| p.name == name).expect("the pod");
        p.disrupted = true;
        p.reason = Some(refuse(
            "DeletionByTaintManager",
            "the node went away (the test)".into(),
        ));
        if let Some(c) = p.child.as_mut() {
            let _ = c.kill();
        }
    }

    /// Every pod's state and log, for failure messages.
    pub fn describe(&self) -> String {
        self.pods()
            .iter()
            .map(|p| {
                format!(
                    "--- pod {} ({:?} exit {:?} {:?})\n{}",
                    p.name, p.phase, p.exit_code, p.reason, p.log
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Whether any pod's process is still alive.
    pub fn any_alive(&self) -> bool {
        self.pods().iter().any(|p| p.pid.is_some_and(alive))
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.cluster.stop.store(true, Ordering::Relaxed);
        if let Some(c) = self.controller.take() {
            let _ = c.join();
        }
        let mut w = lock(&self.cluster.world);
        for p in w.pods.iter_mut() {
            if let Some(c) = p.child.as_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// The objects of a `manifests.yaml`.
pub fn read_manifests(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("manifests.yaml")).expect("manifests.yaml");
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).expect("manifests.yaml is YAML");
    docs.into_iter().filter(|d| d.is_object()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_read_as_kubernetes_writes_them() {
        for (q, v) in [
            ("250m", 0.25),
            ("1.5", 1.5),
            ("2", 2.0),
            ("64Mi", 67_108_864.0),
            ("1Gi", 1_073_741_824.0),
            ("1k", 1000.0),
        ] {
            assert_eq!(quantity(q), Some(v), "{q}");
        }
        assert_eq!(quantity("lots"), None);
    }

    #[test]
    fn var_references_expand_as_the_kubelet_does() {
        let env: BTreeMap<String, String> = [("A".to_string(), "1".to_string())].into();
        assert_eq!(expand("x$(A)y", &env), "x1y");
        assert_eq!(
            expand("$(B)", &env),
            "$(B)",
            "an unknown name stays as written"
        );
        assert_eq!(expand("$$(A) $", &env), "$(A) $", "`$$` escapes");
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_micros(1_796_529_600_123_456);
        assert_eq!(rfc3339(t), "2026-12-06T04:00:00.123456Z");
        assert_eq!(
            rfc3339(SystemTime::UNIX_EPOCH),
            "1970-01-01T00:00:00.000000Z"
        );
    }

    fn cluster(dir: &Path) -> Cluster {
        Cluster {
            fake: Fake::new(),
            launcher: Box::new(super::super::process::ProcessLauncher {
                binary: volley_bin(),
                entrypoint: "/volley".into(),
            }),
            image: Image::from_dockerfile(),
            dir: dir.to_path_buf(),
            namespace: Mutex::new("loadtest".into()),
            world: Mutex::new(World::default()),
            stop: AtomicBool::new(false),
        }
    }

    fn pod(c: &Cluster, spec: Value) -> SimPod {
        let job = SimJob {
            name: "r-runners".into(),
            uid: "u".into(),
            spec: json!({"completionMode": "Indexed", "template": {"metadata": {"labels": {"a": "b"}}, "spec": spec}}),
            started: Instant::now(),
            started_at: SystemTime::now(),
            failures: BTreeMap::new(),
            succeeded: BTreeSet::new(),
            failed: BTreeSet::new(),
            finished: None,
            deleted: false,
        };
        let mut w = World::default();
        c.new_pod(&mut w, &job, Some(2))
    }

    #[test]
    fn a_pod_resolves_env_volumes_and_security_from_its_template() {
        let dir = temp_dir("sim-resolve");
        let c = cluster(&dir);
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        c.fake.with(|s| {
            s.objects.insert(
                "api/v1/configmaps/text".into(),
                json!({"kind": "ConfigMap", "data": {"a.json": "{}", "skip": "x"}}),
            );
            s.objects.insert(
                "api/v1/configmaps/bin".into(),
                json!({"kind": "ConfigMap", "binaryData": {"part-0.gz": b64(&[0x1f, 0x8b, 0, 255])}}),
            );
            s.objects.insert(
                "api/v1/secrets/tok".into(),
                json!({"kind": "Secret", "data": {"token": b64(b"s3cret")}}),
            );
            s.objects.insert("api/v1/services/r-coordinator".into(), json!({}));
        });
        let p = pod(
            &c,
            json!({
                "securityContext": {"runAsNonRoot": true, "runAsUser": 65532},
                "containers": [{
                    "name": "runner", "image": "img", "args": ["runner", "--index", "$(JOB_COMPLETION_INDEX)"],
                    "env": [
                        {"name": "VOLLEY_TOKEN", "valueFrom": {"secretKeyRef": {"name": "tok", "key": "token"}}},
                        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                    ],
                    "securityContext": {"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
                        "capabilities": {"drop": ["ALL"]}},
                    "volumeMounts": [{"name": "data", "mountPath": "/etc/volley/data", "readOnly": true},
                                     {"name": "tmp", "mountPath": "/tmp"}],
                }],
                "volumes": [
                    {"name": "data", "projected": {"sources": [
                        {"configMap": {"name": "text", "items": [{"key": "a.json", "path": "a.json"}]}},
                        {"configMap": {"name": "bin"}},
                        {"downwardAPI": {"items": [{"path": "index", "fieldRef": {"fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}]}},
                    ]}},
                    {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                ],
            }),
        );
        let run = c.resolve(&p).unwrap();
        assert_eq!(run.argv, ["/volley", "runner", "--index", "2"]);
        assert_eq!(run.env["JOB_COMPLETION_INDEX"], "2");
        assert_eq!(run.env["VOLLEY_TOKEN"], "s3cret");
        assert_eq!(run.env["POD"], p.name);
        assert_eq!(run.env["NS"], "loadtest");
        let data = match &run.mounts[0].source {
            MountSource::Dir(d) => d.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(run.mounts[0].path, "/etc/volley/data");
        assert!(run.mounts[0].read_only);
        assert_eq!(std::fs::read(data.join("a.json")).unwrap(), b"{}");
        assert!(!data.join("skip").exists(), "only the listed items");
        assert_eq!(
            std::fs::read(data.join("part-0.gz")).unwrap(),
            [0x1f, 0x8b, 0, 255]
        );
        assert_eq!(std::fs::read_to_string(data.join("index")).unwrap(), "2");
        assert!(matches!(
            run.mounts[1].source,
            MountSource::EmptyDir {
                size_limit_bytes: Some(67_108_864)
            }
        ));
        assert_eq!(run.hosts["r-coordinator"], IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(
            run.hosts["r-coordinator.loadtest.svc.cluster.local"],
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        let s = &run.security;
        assert_eq!((s.run_as_user, s.run_as_group), (Some(65532), Some(65532)));
        assert!(s.run_as_non_root && s.read_only_root_filesystem && s.drop_all_capabilities);
        assert!(!s.allow_privilege_escalation);
    }

    #[test]
    fn a_missing_secret_or_key_keeps_the_pod_from_starting_with_the_kubelets_reason() {
        let dir = temp_dir("sim-refuse");
        let c = cluster(&dir);
        let spec = |env: Value| json!({"containers": [{"name": "c", "image": "i", "env": [env]}]});
        let p = pod(
            &c,
            spec(json!({"name": "T", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k"}}})),
        );
        let (reason, message) = c.resolve(&p).unwrap_err();
        assert_eq!(reason, "CreateContainerConfigError");
        assert!(message.contains("secret \"nope\" not found"), "{message}");
        let p = pod(
            &c,
            spec(
                json!({"name": "T", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k", "optional": true}}}),
            ),
        );
        assert!(
            !c.resolve(&p).unwrap().env.contains_key("T"),
            "optional: left out"
        );
        let p = pod(
            &c,
            spec(json!({"name": "T", "valueFrom": {"fieldRef": {"fieldPath": "spec.unknown"}}})),
        );
        assert!(c.resolve(&p).unwrap_err().1.contains("spec.unknown"));
    }
}
