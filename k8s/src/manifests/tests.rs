//! Unit tests of the manifests over small hand-made plans.

use super::*;
use volley_plan::{Fleet, HttpOptions, Scenario, Start, Workload};

pub(crate) fn tiny_plan() -> Plan {
    Plan {
        version: volley_plan::PLAN_VERSION,
        name: "tiny".into(),
        params: BTreeMap::new(),
        targets: vec![],
        secrets: vec![],
        data: vec![],
        metrics: vec![],
        flows: vec![],
        setup: None,
        setup_values: vec![],
        teardown: None,
        scenarios: vec![Scenario {
            name: "s".into(),
            workload: Workload::ConstantVus {
                vus: 4,
                duration_ms: 10_000,
            },
            start: Start::Immediately,
            graceful_stop_ms: 0,
            tags: BTreeMap::new(),
            http: HttpOptions::default(),
            frame_size: 0,
            init: vec![],
            iteration: vec![],
        }],
        thresholds: vec![],
        fleet: Fleet::default(),
        files: Vec::new(),
        protos: Vec::new(),
    }
}

use k8s_openapi::api::core::v1::PodTemplateSpec;
use volley_compiler::{CompileOptions, FsLoader};

/// Every example file compiled (the SPEC §1 checkout example is `examples/checkout.load`).
fn example_plans() -> Vec<(String, Plan)> {
    let dir = crate::tooling::repo().join("examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "load"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "examples found: {files:?}");
    let loader = FsLoader::new(dir);
    files
        .iter()
        .map(|f| {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let c = volley_compiler::compile(&name, &loader, &CompileOptions::default());
            (
                name.clone(),
                c.plan
                    .unwrap_or_else(|| panic!("{name} compiles: {:?}", c.diagnostics)),
            )
        })
        .collect()
}

/// Every example's manifests, and the checkout example's once more with coordinator
/// outputs (a json file and a Prometheus with a token variable), so every rule below also
/// holds for the results volume, the outputs' arguments and their egress.
fn all_manifests() -> Vec<(String, Manifests)> {
    let mut out: Vec<(String, Manifests)> = Vec::new();
    for (n, p) in example_plans() {
        let m = build(&p, &Options::default()).unwrap_or_else(|e| panic!("{n}: {e}"));
        if n == "checkout.load" {
            let opts = Options {
                outputs: vec![
                    super::outputs::ClusterOut::Json,
                    super::outputs::ClusterOut::Network {
                        spec: "prometheus=http://10.0.0.9:9090/api/v1/write,token_env=PROM".into(),
                        host: url::Host::Ipv4([10, 0, 0, 9].into()),
                        port: 9090,
                        token_env: Some("PROM".into()),
                    },
                ],
                ..Options::default()
            };
            let with = build(&p, &opts).unwrap_or_else(|e| panic!("{n} with outputs: {e}"));
            out.push((format!("{n} with outputs"), with));
        }
        out.push((n, m));
    }
    out
}

fn jobs(m: &Manifests) -> Vec<&Job> {
    m.objects
        .iter()
        .filter_map(|o| match o {
            Object::Job(j) => Some(j),
            _ => None,
        })
        .collect()
}

fn template(j: &Job) -> &PodTemplateSpec {
    &j.spec.as_ref().expect("job spec").template
}

/// Pod Security Standards, "restricted" profile, plus the project's own rules.
/// `fleet_env` is the file's `fleet.env`: its plain values are the only other values.
fn assert_restricted(
    what: &str,
    t: &PodTemplateSpec,
    fleet_env: &BTreeMap<String, volley_plan::EnvValue>,
) {
    let spec = t.spec.as_ref().expect("pod spec");
    let psc = spec
        .security_context
        .as_ref()
        .expect("pod security context");
    assert_eq!(psc.run_as_non_root, Some(true), "{what}: runAsNonRoot");
    assert_ne!(psc.run_as_user, Some(0), "{what}: runAsUser 0");
    assert_eq!(
        psc.seccomp_profile.as_ref().map(|s| s.type_.as_str()),
        Some("RuntimeDefault"),
        "{what}: seccomp"
    );
    assert_eq!(
        spec.automount_service_account_token,
        Some(false),
        "{what}: service-account token"
    );
    assert!(
        spec.host_network.is_none() && spec.host_pid.is_none() && spec.host_ipc.is_none(),
        "{what}: host namespaces"
    );
    assert!(
        spec.active_deadline_seconds.is_some_and(|d| d > 0),
        "{what}: activeDeadlineSeconds"
    );
    assert_eq!(
        spec.restart_policy.as_deref(),
        Some("Never"),
        "{what}: restartPolicy"
    );
    for v in spec.volumes.iter().flatten() {
        assert!(v.host_path.is_none(), "{what}: hostPath volume {}", v.name);
        assert!(
            v.config_map.is_some() || v.empty_dir.is_some() || v.projected.is_some(),
            "{what}: volume {} is of a restricted-allowed type",
            v.name
        );
    }
    let volumes: Vec<&str> = spec
        .volumes
        .iter()
        .flatten()
        .map(|v| v.name.as_str())
        .collect();
    for m in spec
        .containers
        .iter()
        .flat_map(|c| c.volume_mounts.iter().flatten())
    {
        assert!(
            volumes.contains(&m.name.as_str()),
            "{what}: mount {} has no volume",
            m.name
        );
    }
    let containers = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten());
    for c in containers {
        let sc = c
            .security_context
            .as_ref()
            .unwrap_or_else(|| panic!("{what}/{}: security context", c.name));
        assert_eq!(
            sc.allow_privilege_escalation,
            Some(false),
            "{what}/{}: allowPrivilegeEscalation",
            c.name
        );
        assert_ne!(sc.privileged, Some(true), "{what}/{}: privileged", c.name);
        let caps = sc.capabilities.as_ref().expect("capabilities");
        assert!(
            caps.drop.iter().flatten().any(|d| d == "ALL"),
            "{what}/{}: drop ALL",
            c.name
        );
        assert!(
            caps.add.iter().flatten().all(|a| a == "NET_BIND_SERVICE"),
            "{what}/{}: added capabilities",
            c.name
        );
        assert_eq!(
            sc.read_only_root_filesystem,
            Some(true),
            "{what}/{}: read-only root",
            c.name
        );
        assert_ne!(
            sc.run_as_non_root,
            Some(false),
            "{what}/{}: runAsNonRoot",
            c.name
        );
        assert_ne!(sc.run_as_user, Some(0), "{what}/{}: runAsUser", c.name);
        assert!(
            sc.seccomp_profile
                .as_ref()
                .is_none_or(|s| s.type_ == "RuntimeDefault" || s.type_ == "Localhost"),
            "{what}/{}: seccomp",
            c.name
        );
        for p in c.ports.iter().flatten() {
            assert!(p.host_port.is_none(), "{what}/{}: hostPort", c.name);
        }
        let r = c.resources.as_ref().expect("resources");
        assert!(
            r.requests.is_some() && r.requests == r.limits,
            "{what}/{}: requests = limits",
            c.name
        );
        let env = c.env.as_deref().unwrap_or_default();
        for (name, value) in crate::manifests::pod::PLAIN_ENV {
            assert!(
                env.iter()
                    .any(|e| e.name == *name && e.value.as_deref() == Some(*value)),
                "{what}/{}: env {name}={value}",
                c.name
            );
        }
        let secret_env = env.iter().filter(|e| {
            !crate::manifests::pod::PLAIN_ENV
                .iter()
                .any(|(n, _)| e.name == *n)
        });
        for e in secret_env {
            let from = e.value_from.as_ref();
            match fleet_env.get(&e.name) {
                Some(volley_plan::EnvValue::Value { value }) => {
                    assert_eq!(
                        e.value.as_ref(),
                        Some(value),
                        "{what}: fleet.env {}",
                        e.name
                    );
                    continue;
                }
                Some(volley_plan::EnvValue::ConfigMap { .. }) => {
                    assert!(
                        e.value.is_none()
                            && from.and_then(|v| v.config_map_key_ref.as_ref()).is_some(),
                        "{what}/{}: env {} is a configMapKeyRef",
                        c.name,
                        e.name
                    );
                    continue;
                }
                _ => {}
            }
            assert!(
                e.value.is_none(),
                "{what}/{}: env {} holds a value instead of a reference",
                c.name,
                e.name
            );
            assert!(
                from.and_then(|v| v.secret_key_ref.as_ref()).is_some(),
                "{what}/{}: env {} is a secretKeyRef",
                c.name,
                e.name
            );
        }
    }
}

fn labels_match(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn valid_label_value(v: &str) -> bool {
    v.len() <= 63
        && (v.is_empty()
            || (v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                && v.starts_with(|c: char| c.is_ascii_alphanumeric())
                && v.ends_with(|c: char| c.is_ascii_alphanumeric())))
}

#[test]
fn every_pod_template_meets_the_restricted_profile() {
    let mut checked = 0;
    let plans: BTreeMap<String, Plan> = example_plans().into_iter().collect();
    for (name, m) in all_manifests() {
        for j in jobs(&m) {
            assert_restricted(
                &format!("{name}: {}", j.metadata.name.as_deref().unwrap_or_default()),
                template(j),
                &plans[name.trim_end_matches(" with outputs")].fleet.env,
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "checked {checked} pod templates");
}

#[test]
fn jobs_follow_the_rules_the_api_server_enforces() {
    for (name, m) in all_manifests() {
        let js = jobs(&m);
        assert_eq!(js.len(), 2, "{name}");
        for j in js {
            let s = j.spec.as_ref().unwrap();
            let what = format!("{name}: {}", j.metadata.name.as_deref().unwrap_or_default());
            assert!(
                s.selector.is_none() && s.manual_selector.is_none(),
                "{what}: the API server makes the selector"
            );
            for n in [
                s.completions,
                s.parallelism,
                s.backoff_limit,
                s.backoff_limit_per_index,
                s.ttl_seconds_after_finished,
            ]
            .into_iter()
            .flatten()
            {
                assert!(n >= 0, "{what}: negative count {n}");
            }
            assert!(s.active_deadline_seconds.is_some_and(|d| d > 0), "{what}");
            let restart = template(j).spec.as_ref().unwrap().restart_policy.as_deref();
            assert!(
                matches!(restart, Some("Never") | Some("OnFailure")),
                "{what}: Jobs need Never or OnFailure"
            );
            if s.pod_failure_policy.is_some() || s.backoff_limit_per_index.is_some() {
                assert_eq!(
                    restart,
                    Some("Never"),
                    "{what}: podFailurePolicy and backoffLimitPerIndex need Never"
                );
            }
            if s.backoff_limit_per_index.is_some() {
                assert_eq!(s.completion_mode.as_deref(), Some("Indexed"), "{what}");
            }
            for r in s.pod_failure_policy.iter().flat_map(|p| p.rules.iter()) {
                if r.action == "FailIndex" {
                    assert!(
                        s.backoff_limit_per_index.is_some(),
                        "{what}: FailIndex needs backoffLimitPerIndex"
                    );
                }
                assert!(
                    r.on_exit_codes.is_some() != r.on_pod_conditions.is_some(),
                    "{what}: one requirement per rule"
                );
                if let Some(e) = &r.on_exit_codes {
                    assert!(e.container_name.is_none() && !e.values.is_empty(), "{what}");
                    if e.operator == "In" {
                        assert!(!e.values.contains(&0), "{what}: In may not hold 0");
                    }
                }
            }
            if s.completion_mode.as_deref() == Some("Indexed") {
                assert_eq!(
                    s.completions,
                    Some(m.runners as i32),
                    "{what}: completions = runners"
                );
                assert_eq!(
                    s.parallelism, s.completions,
                    "{what}: completions = parallelism"
                );
                assert_eq!(
                    s.backoff_limit_per_index,
                    Some(0),
                    "{what}: no second pod for a failed index"
                );
                let args = template(j).spec.as_ref().unwrap().containers[0]
                    .args
                    .clone()
                    .unwrap();
                let at = args
                    .iter()
                    .position(|a| a == "--runners")
                    .expect("--runners");
                assert_eq!(args[at + 1], m.runners.to_string(), "{what}");
            } else {
                assert_eq!(
                    s.backoff_limit,
                    Some(0),
                    "{what}: the coordinator is never retried"
                );
            }
        }
    }
}

#[test]
fn names_labels_and_selectors_are_consistent() {
    for (name, m) in all_manifests() {
        let pods: Vec<(String, BTreeMap<String, String>)> = jobs(&m)
            .iter()
            .map(|j| {
                (
                    j.metadata.name.clone().unwrap(),
                    template(j)
                        .metadata
                        .as_ref()
                        .unwrap()
                        .labels
                        .clone()
                        .unwrap(),
                )
            })
            .collect();
        let coordinator = &pods
            .iter()
            .find(|(n, _)| *n == m.names.coordinator())
            .expect("coordinator")
            .1;
        let runner = &pods
            .iter()
            .find(|(n, _)| *n == m.names.runners())
            .expect("runners")
            .1;
        for o in &m.objects {
            let meta = o.metadata();
            let n = o.name();
            assert!(
                names::is_dns_label(n),
                "{name}: `{n}` is a DNS-1123 label of at most 63"
            );
            assert_eq!(
                meta.namespace.as_deref(),
                Some(m.namespace.as_str()),
                "{name}: {n}"
            );
            for (k, v) in meta.labels.iter().flatten() {
                assert!(valid_label_value(v), "{name}: {n}: label {k}={v}");
            }
            assert_eq!(
                meta.labels.as_ref().unwrap().get(names::RUN_LABEL),
                Some(&m.names.run),
                "{name}: {n}"
            );
            match o {
                Object::Service(s) => {
                    let sel = s.spec.as_ref().unwrap().selector.clone().unwrap();
                    assert!(
                        labels_match(&sel, coordinator) && !labels_match(&sel, runner),
                        "{name}: the Service selects the coordinator only"
                    );
                }
                Object::NetworkPolicy(p) => {
                    let sel = p
                        .spec
                        .as_ref()
                        .unwrap()
                        .pod_selector
                        .as_ref()
                        .unwrap()
                        .match_labels
                        .clone()
                        .unwrap();
                    let target = if n == m.names.coordinator() {
                        coordinator
                    } else {
                        runner
                    };
                    let other = if n == m.names.coordinator() {
                        runner
                    } else {
                        coordinator
                    };
                    assert!(
                        labels_match(&sel, target) && !labels_match(&sel, other),
                        "{name}: {n} selects its role"
                    );
                }
                Object::PodDisruptionBudget(p) => {
                    let sel = p
                        .spec
                        .as_ref()
                        .unwrap()
                        .selector
                        .as_ref()
                        .unwrap()
                        .match_labels
                        .clone()
                        .unwrap();
                    assert!(
                        labels_match(&sel, coordinator) && labels_match(&sel, runner),
                        "{name}: the PDB covers every pod"
                    );
                }
                _ => {}
            }
        }
    }
}

#[test]
fn the_checkout_example_makes_the_reference_objects() {
    let (_, m) = all_manifests()
        .into_iter()
        .find(|(n, _)| n == "checkout.load")
        .expect("checkout.load");
    assert_eq!(m.runners, 10);
    assert_eq!(m.namespace, "loadtest");
    let kinds: Vec<(&str, &str)> = m.objects.iter().map(|o| (o.kind(), o.name())).collect();
    let maps = kinds
        .iter()
        .filter(|(k, n)| *k == "ConfigMap" && n.contains("-slices-"))
        .count();
    let slices: Vec<String> = data_maps(&m)
        .into_keys()
        .filter(|k| k.starts_with("slice-"))
        .collect();
    assert_eq!(
        (maps, slices.len()),
        (1, 10),
        "one data slice per runner (users is pick: unique), small ones in one ConfigMap: {kinds:?} {slices:?}"
    );
    let runner = jobs(&m)
        .into_iter()
        .find(|j| j.metadata.name.as_deref() == Some(&m.names.runners()))
        .unwrap();
    let spec = template(runner).spec.as_ref().unwrap();
    assert_eq!(
        spec.node_selector
            .as_ref()
            .unwrap()
            .get("role")
            .map(String::as_str),
        Some("loadgen")
    );
    let t = &spec.tolerations.as_ref().unwrap()[0];
    assert_eq!(
        (t.key.as_deref(), t.value.as_deref(), t.effect.as_deref()),
        (Some("role"), Some("loadgen"), Some("NoSchedule"))
    );
    let anti = spec
        .affinity
        .as_ref()
        .unwrap()
        .pod_anti_affinity
        .as_ref()
        .unwrap();
    assert!(
        anti.preferred_during_scheduling_ignored_during_execution
            .is_some(),
        "spread is preferred anti-affinity"
    );
    let c = &spec.containers[0];
    assert_eq!(c.image.as_deref(), Some("ghcr.io/acme/volley:0.1.0"));
    let limits = c.resources.as_ref().unwrap().limits.as_ref().unwrap();
    assert_eq!(
        (limits["cpu"].0.as_str(), limits["memory"].0.as_str()),
        ("2", "512Mi")
    );
    let card = c
        .env
        .as_ref()
        .unwrap()
        .iter()
        .find(|e| e.name == "CARD_TOKEN")
        .expect("CARD_TOKEN env");
    let r = card
        .value_from
        .as_ref()
        .unwrap()
        .secret_key_ref
        .as_ref()
        .unwrap();
    assert_eq!(
        (r.name.as_str(), r.key.as_str()),
        ("payments", "card-token")
    );
    assert_eq!(
        runner.spec.as_ref().unwrap().ttl_seconds_after_finished,
        Some(24 * 3600)
    );
    let runners_np = m
        .objects
        .iter()
        .find_map(|o| match o {
            Object::NetworkPolicy(p) if o.name() == m.names.runners() => Some(p),
            _ => None,
        })
        .unwrap();
    let egress = serde_json::to_string(&runners_np.spec.as_ref().unwrap().egress).unwrap();
    assert!(
        egress.contains("10.20.0.0/16")
            && egress.contains("127.0.0.1/32")
            && egress.contains("kube-dns"),
        "{egress}"
    );
}

#[test]
fn addresses_fixed_by_http_hosts_open_the_runners_egress_and_need_no_note() {
    let mut p = tiny_plan();
    p.targets = vec![volley_plan::Target {
        name: "lb".into(),
        url: "http://lb.test:8080".into(),
    }];
    let runners_egress = |p: &volley_plan::Plan| {
        let m = build(p, &Options::default()).unwrap();
        let np = m
            .objects
            .iter()
            .find_map(|o| match o {
                Object::NetworkPolicy(np) if o.name() == m.names.runners() => Some(np.clone()),
                _ => None,
            })
            .unwrap();
        serde_json::to_string(&np.spec.unwrap().egress).unwrap()
    };
    assert!(!runners_egress(&p).contains("ipBlock"));
    assert_eq!(network::target_notes(&p).len(), 1);
    p.scenarios[0]
        .http
        .hosts
        .insert("lb.test".into(), vec!["10.1.2.3".into(), "fd00::7".into()]);
    let e = runners_egress(&p);
    assert!(
        e.contains("10.1.2.3/32") && e.contains("fd00::7/128") && e.contains("8080"),
        "{e}"
    );
    assert!(network::target_notes(&p).is_empty());
}

#[test]
fn runners_auto_uses_the_capacity_sizing() {
    let mut p = tiny_plan();
    p.fleet.runners = None;
    p.scenarios[0].workload = Workload::ConstantVus {
        vus: 30_000,
        duration_ms: 1000,
    };
    let m = build(&p, &Options::default()).unwrap();
    let want = volley_plan::capacity::auto_runners(&p, &p.fleet.resources);
    assert!(want > 1, "the sizing splits 30000 VUs");
    assert_eq!(m.runners, want);
}

#[test]
fn placement_and_zone_spread_shape_the_runner_pods() {
    for (placement, check) in [
        (
            volley_plan::Placement::Separate,
            "requiredDuringSchedulingIgnoredDuringExecution",
        ),
        (volley_plan::Placement::Pack, "podAffinity"),
    ] {
        let mut p = tiny_plan();
        p.fleet.placement = placement;
        p.fleet.zone_spread = true;
        let y = to_yaml(&build(&p, &Options::default()).unwrap(), "t.load");
        assert!(y.contains(check), "{placement:?}: {y}");
        assert!(y.contains("topology.kubernetes.io/zone"), "{y}");
    }
}

fn big_source(pick: volley_plan::Pick) -> volley_plan::DataSource {
    volley_plan::DataSource {
        name: "users".into(),
        format: volley_plan::DataFormat::Lines,
        path: "u.txt".into(),
        pick,
        columns: vec![],
        // About 3 MB that compress to about 1.8 MB: several parts per pack.
        rows: (0..6000u64)
            .map(|i| {
                let cell: String = (0..32u64)
                    .map(|j| format!("{:x}", (i * 32 + j).wrapping_mul(0x9e37_79b9_7f4a_7c15)))
                    .collect();
                volley_plan::Value::Str(cell)
            })
            .collect(),
        slice: None,
        pack: None,
    }
}

fn volume_keys(job: &Job) -> Vec<String> {
    template(job)
        .spec
        .as_ref()
        .unwrap()
        .volumes
        .iter()
        .flatten()
        .filter(|v| v.name == "data")
        .flat_map(|v| v.projected.as_ref().unwrap().sources.iter().flatten())
        .flat_map(|s| s.config_map.as_ref().unwrap().items.iter().flatten())
        .map(|k| k.path.clone())
        .collect()
}

fn data_maps(m: &Manifests) -> BTreeMap<String, Vec<u8>> {
    m.objects
        .iter()
        .filter_map(|o| match o {
            Object::ConfigMap(c) => c.binary_data.as_ref(),
            _ => None,
        })
        .flat_map(|b| b.iter().map(|(k, v)| (k.clone(), v.0.clone())))
        .collect()
}

fn pack_of(files: &BTreeMap<String, Vec<u8>>, stem: &str) -> Vec<u8> {
    (0..)
        .map_while(|p| files.get(&volley_plan::pack::part_name(stem, p)))
        .flatten()
        .copied()
        .collect()
}

#[test]
fn big_data_travels_in_parts_each_object_under_the_limit() {
    for pick in [
        volley_plan::Pick::Random,
        volley_plan::Pick::UniquePerIteration,
    ] {
        let mut p = tiny_plan();
        p.data.push(big_source(pick));
        p.fleet.runners = Some(2);
        let m = build(&p, &Options::default()).unwrap();
        for o in &m.objects {
            let size = serde_json::to_string(&o.to_value()).unwrap().len();
            assert!(size < CONFIGMAP_LIMIT, "{}: {size} bytes", o.name());
        }
        let plan_json = m.objects.iter().find_map(|o| match o {
            Object::ConfigMap(c) => c.data.as_ref()?.get("plan.json").cloned(),
            _ => None,
        });
        let plan_json = plan_json.unwrap();
        assert!(
            plan_json.len() < 64 * 1024,
            "the plan keeps only a reference"
        );
        let fleet = volley_plan::from_json(&plan_json).unwrap();
        let files = data_maps(&m);
        let js = jobs(&m);
        let (coordinator, runners) = (volume_keys(js[0]), volume_keys(js[1]));
        let mut keys: Vec<String> = files.keys().cloned().collect();
        keys.sort();
        let mut mounted = coordinator.clone();
        mounted.sort();
        assert_eq!(
            mounted, keys,
            "{pick:?}: the coordinator mounts every data part"
        );
        if pick == volley_plan::Pick::Random {
            let r = fleet.data[0].pack.clone().unwrap();
            assert!(r.parts >= 3, "{r:?}");
            assert_eq!(
                runners.len() as u32,
                r.parts,
                "every runner mounts the shared parts"
            );
            let rows = volley_plan::pack::decode_rows(&pack_of(&files, "data-users"), &r).unwrap();
            assert_eq!(rows, p.data[0].rows);
        } else {
            assert!(
                runners.is_empty(),
                "slices reach runners only through the coordinator"
            );
            assert!(fleet.data[0].pack.is_none() && fleet.data[0].slice.is_some());
            let mut total = 0;
            for k in 0..2 {
                let s = volley_plan::pack::decode_slice(&pack_of(&files, &format!("slice-{k}")))
                    .unwrap();
                assert_eq!(s.plan_hash, volley_plan::content_hash(&fleet));
                total += s.sources["users"].rows.len();
            }
            assert_eq!(total, 6000);
            assert!(files.keys().filter(|k| k.starts_with("slice-0-")).count() >= 2);
        }
        let args = |j: &Job| {
            template(j).spec.as_ref().unwrap().containers[0]
                .args
                .clone()
                .unwrap()
        };
        assert!(args(js[0])
            .join(" ")
            .contains("--data-dir /etc/volley/data"));
        assert_eq!(
            args(js[1]).join(" ").contains("--data-dir"),
            pick == volley_plan::Pick::Random
        );
        let again = build(&p, &Options::default()).unwrap();
        assert_eq!(
            to_yaml(&m, "t.load"),
            to_yaml(&again, "t.load"),
            "deterministic"
        );
    }
}

#[test]
fn output_is_deterministic_and_the_namespace_can_be_overridden() {
    let p = tiny_plan();
    let a = to_yaml(&build(&p, &Options::default()).unwrap(), "t.load");
    let b = to_yaml(&build(&p, &Options::default()).unwrap(), "t.load");
    assert_eq!(a, b);
    let o = Options {
        namespace: Some("perf".into()),
        ..Options::default()
    };
    let m = build(&p, &o).unwrap();
    assert!(m
        .objects
        .iter()
        .all(|o| o.metadata().namespace.as_deref() == Some("perf")));
}

#[test]
fn cleanup_sets_the_ttl() {
    for (cleanup, ttl) in [
        (volley_plan::Cleanup::After { ms: 1500 }, Some(2)),
        (volley_plan::Cleanup::OnSuccess, None),
        (volley_plan::Cleanup::Never, None),
    ] {
        let mut p = tiny_plan();
        p.fleet.cleanup = cleanup;
        let m = build(&p, &Options::default()).unwrap();
        for j in jobs(&m) {
            assert_eq!(j.spec.as_ref().unwrap().ttl_seconds_after_finished, ttl);
        }
    }
}

#[test]
fn the_header_counts_runners_in_words() {
    let mut p = tiny_plan();
    for (n, words) in [
        (1, "# 1 runner in namespace"),
        (3, "# 3 runners in namespace"),
    ] {
        p.fleet.runners = Some(n);
        let y = to_yaml(&build(&p, &Options::default()).unwrap(), "t.load");
        assert!(y.contains(words), "{n}: {}", &y[..y.len().min(400)]);
    }
}

/// The coordinator's and the runners' Jobs of a build.
fn roles(m: &Manifests) -> (&Job, &Job) {
    let js = jobs(m);
    let by = |suffix: &str| {
        *js.iter()
            .find(|j| j.metadata.name.as_deref().unwrap_or("").ends_with(suffix))
            .unwrap_or_else(|| panic!("a job named *{suffix}"))
    };
    (by("-coordinator"), by("-runners"))
}

fn pod_spec_of(j: &Job) -> &k8s_openapi::api::core::v1::PodSpec {
    template(j).spec.as_ref().expect("pod spec")
}

fn quantities(j: &Job) -> (String, String) {
    let r = pod_spec_of(j).containers[0].resources.clone().unwrap();
    let limits = r.limits.unwrap();
    assert_eq!(Some(&limits), r.requests.as_ref(), "requests = limits");
    (limits["cpu"].0.clone(), limits["memory"].0.clone())
}

#[test]
fn the_cluster_example_writes_every_pod_field() {
    let m = all_manifests()
        .into_iter()
        .find(|(n, _)| n == "cluster.load")
        .expect("examples/cluster.load")
        .1;
    let (coord, run) = roles(&m);
    assert_eq!(quantities(coord), ("250m".to_string(), "256Mi".to_string()));
    assert_eq!(quantities(run), ("1500m".to_string(), "1Gi".to_string()));
    for j in [coord, run] {
        let what = j.metadata.name.clone().unwrap_or_default();
        let spec = pod_spec_of(j);
        assert_eq!(
            spec.service_account_name.as_deref(),
            Some("loadtest"),
            "{what}"
        );
        assert_eq!(spec.automount_service_account_token, Some(false), "{what}");
        assert_eq!(spec.priority_class_name.as_deref(), Some("loadtest-low"));
        assert_eq!(
            spec.image_pull_secrets
                .as_ref()
                .map(|v| v.iter().map(|r| r.name.as_str()).collect::<Vec<_>>()),
            Some(vec!["regcred"])
        );
        let env = spec.containers[0].env.clone().unwrap();
        let get = |n: &str| env.iter().find(|e| e.name == n).cloned();
        assert_eq!(
            get("REGION").and_then(|e| e.value).as_deref(),
            Some("eu-west-1")
        );
        let flags = get("FEATURE_FLAGS").and_then(|e| e.value_from).unwrap();
        let cm = flags.config_map_key_ref.unwrap();
        assert_eq!((cm.name.as_str(), cm.key.as_str()), ("shop-flags", "flags"));
        let trace = get("TRACE_TOKEN").and_then(|e| e.value_from).unwrap();
        assert_eq!(trace.secret_key_ref.unwrap().name, "tracing");
        assert!(get("VOLLEY_TOKEN").is_some(), "Volley's own env stays");
        let meta = template(j).metadata.clone().unwrap();
        let labels = meta.labels.unwrap();
        assert_eq!(labels["team"], "payments");
        assert_eq!(labels["acme.com/cost-center"], "4711");
        assert!(
            labels.contains_key(names::RUN_LABEL),
            "Volley's labels stay"
        );
        let ann = meta.annotations.unwrap();
        assert_eq!(ann["acme.com/owner"], "payments team");
        assert!(ann.contains_key(names::PLAN_HASH_ANNOTATION));
        let node = spec
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.clone())
            .expect("node affinity on both roles");
        assert!(node
            .required_during_scheduling_ignored_during_execution
            .is_some());
        assert_eq!(
            node.preferred_during_scheduling_ignored_during_execution
                .unwrap()[0]
                .weight,
            50
        );
    }
    let anti = |j: &Job| {
        pod_spec_of(j)
            .affinity
            .clone()
            .unwrap()
            .pod_anti_affinity
            .unwrap()
    };
    let c = anti(coord);
    assert!(
        c.preferred_during_scheduling_ignored_during_execution
            .is_none(),
        "the placement preset is the runners' only"
    );
    assert_eq!(
        c.required_during_scheduling_ignored_during_execution
            .unwrap()
            .len(),
        1
    );
    let r = anti(run);
    assert_eq!(
        r.preferred_during_scheduling_ignored_during_execution
            .unwrap()[0]
            .weight,
        100,
        "`placement = spread` stays"
    );
    let req = r
        .required_during_scheduling_ignored_during_execution
        .unwrap();
    assert_eq!(
        req[0]
            .label_selector
            .as_ref()
            .unwrap()
            .match_labels
            .as_ref()
            .unwrap()["app"],
        "payments-db",
        "and the file's term joins it"
    );
}

#[test]
fn without_the_new_fields_the_pods_are_as_before() {
    let p = tiny_plan();
    let m = build(&p, &Options::default()).unwrap();
    let (coord, run) = roles(&m);
    assert_eq!(
        quantities(coord),
        quantities(run),
        "one size for both roles"
    );
    for j in [coord, run] {
        let spec = pod_spec_of(j);
        assert!(spec.service_account_name.is_none() && spec.priority_class_name.is_none());
        assert!(spec.image_pull_secrets.is_none());
        assert_eq!(
            template(j).metadata.as_ref().unwrap().labels.as_ref(),
            Some(&Names::new(&p).labels(if j == coord { "coordinator" } else { "runner" }))
        );
    }
    assert!(
        pod_spec_of(coord).affinity.is_none(),
        "no affinity to write"
    );
    let y = to_yaml(&m, "t.load");
    for field in [
        "serviceAccountName",
        "priorityClassName",
        "imagePullSecrets",
        "nodeAffinity",
    ] {
        assert!(!y.contains(field), "{field} only when the file sets it");
    }
}

#[test]
fn the_coordinator_gets_its_own_resources_and_the_output_stays_deterministic() {
    let mut p = tiny_plan();
    p.fleet.coordinator_resources = Some(volley_plan::Resources {
        cpu_millis: 500,
        memory_bytes: 256 << 20,
    });
    p.fleet.env.insert(
        "B".into(),
        volley_plan::EnvValue::Value { value: "2".into() },
    );
    p.fleet.env.insert(
        "A".into(),
        volley_plan::EnvValue::Value { value: "1".into() },
    );
    p.fleet.labels.insert("z".into(), "1".into());
    p.fleet.labels.insert("a".into(), "1".into());
    let m = build(&p, &Options::default()).unwrap();
    let (coord, run) = roles(&m);
    assert_eq!(quantities(coord), ("500m".to_string(), "256Mi".to_string()));
    assert_eq!(quantities(run), ("1".to_string(), "512Mi".to_string()));
    let env = pod_spec_of(run).containers[0].env.clone().unwrap();
    let tail: Vec<&str> = env.iter().rev().take(2).map(|e| e.name.as_str()).collect();
    assert_eq!(tail, ["B", "A"], "fleet.env in name order, after Volley's");
    let a = to_yaml(&m, "t.load");
    let b = to_yaml(&build(&p, &Options::default()).unwrap(), "t.load");
    assert_eq!(a, b);
}

#[test]
fn a_declared_proxy_opens_the_runners_egress() {
    let mut p = tiny_plan();
    let runners_egress = |p: &volley_plan::Plan| {
        let m = build(p, &Options::default()).unwrap();
        let np = m
            .objects
            .iter()
            .find_map(|o| match o {
                Object::NetworkPolicy(np) if o.name() == m.names.runners() => Some(np.clone()),
                _ => None,
            })
            .unwrap();
        serde_json::to_string(&np.spec.unwrap().egress).unwrap()
    };
    assert!(!runners_egress(&p).contains("10.9.8.7/32"));
    p.scenarios[0].http.proxy = Some("http://10.9.8.7:3128".into());
    let e = runners_egress(&p);
    assert!(e.contains("10.9.8.7/32") && e.contains("3128"), "{e}");
    assert!(network::target_notes(&p)
        .iter()
        .all(|n| !n.contains("proxy")));
    p.scenarios[0].http.proxy = Some("proxy.corp:3128".into());
    let notes = network::target_notes(&p);
    assert!(
        notes.iter().any(|n| n.contains("proxy `proxy.corp:3128`")),
        "{notes:?}"
    );
}
