//! `volley deploy` against a mocked API server (`tower_test::mock::pair`, as kube-rs's own
//! mock tests do) answering from [`crate::fake`]: create, conflict, re-apply, 403, follow
//! to completion, the summary and the exit code, image pull and start-timeout errors,
//! abort, delete. Every request body is schema-checked with `kubernetes-validate --strict`.

use super::*;
use crate::fake::{recorded, Fake};
use crate::manifests::{build, Manifests, Options};
use http::{Request, Response};
use http_body_util::BodyExt;
use kube::client::Body;
use serde_json::{json, Value};
use std::time::Duration;

fn plan() -> volley_plan::Plan {
    let mut p = crate::manifests::tests::tiny_plan();
    p.name = "deploytest".into();
    p.fleet.runners = Some(3);
    p.fleet.namespace = Some("loadtest".into());
    p
}

fn manifests() -> Manifests {
    build(&plan(), &Options::default()).expect("manifests")
}

fn client(fake: &Fake) -> kube::Client {
    let (svc, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let fake = fake.clone();
    tokio::spawn(async move {
        while let Some((req, send)) = handle.next_request().await {
            let (parts, body) = req.into_parts();
            let bytes = body
                .collect()
                .await
                .expect("request body")
                .to_bytes()
                .to_vec();
            let (code, out) = fake.handle(recorded(&parts, bytes));
            send.send_response(
                Response::builder()
                    .status(code)
                    .body(Body::from(out))
                    .expect("response"),
            );
        }
    });
    kube::Client::new(svc, "default")
}

/// Writes every request body with a JSON object to files (Secret values redacted) and
/// validates them with kubernetes-validate --strict (1.29 and 1.37).
fn validate_bodies(fake: &Fake, tag: &str) {
    let dir = crate::tooling::repo()
        .join("target/test-tmp/k8s-requests")
        .join(tag);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let mut files = Vec::new();
    for (i, r) in fake.with(|s| s.requests.clone()).into_iter().enumerate() {
        let Ok(mut v) = serde_json::from_slice::<Value>(&r.body) else {
            continue;
        };
        if v.get("kind").is_none() {
            continue;
        }
        if let Some(data) = v.get_mut("data").filter(|_| v_kind_is_secret(&r.body)) {
            for (_, val) in data.as_object_mut().expect("secret data").iter_mut() {
                *val = json!("cmVkYWN0ZWQ=");
            }
        }
        let f = dir.join(format!("{i:03}.json"));
        std::fs::write(&f, serde_json::to_vec_pretty(&v).expect("json")).expect("write");
        files.push(f);
    }
    assert!(!files.is_empty(), "no object bodies were sent");
    match crate::tooling::validate_strict(&files) {
        Err(e) if e.is_missing() => eprintln!("note: {e}"),
        r => r.expect("request bodies validate"),
    }
}

fn v_kind_is_secret(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body).is_ok_and(|v| v["kind"] == "Secret")
}

fn patches(fake: &Fake) -> Vec<crate::fake::Recorded> {
    fake.with(|s| {
        s.requests
            .iter()
            .filter(|r| r.method == "PATCH")
            .cloned()
            .collect()
    })
}

#[tokio::test]
async fn apply_creates_every_object_and_reapplying_changes_nothing() {
    let fake = Fake::new();
    let c = client(&fake);
    let m = manifests();
    let first = apply(&c, &m, false, || "t0k3n".into())
        .await
        .expect("apply");
    assert!(first.new_token);
    assert_eq!(
        first.objects.len(),
        m.objects.len() + 1,
        "{:?}",
        first.objects
    );
    for r in patches(&fake) {
        assert!(r.uri.contains("fieldManager=volley"), "{}", r.uri);
        assert!(!r.uri.contains("force=true"), "{}", r.uri);
        assert_eq!(
            r.headers.get("content-type").map(String::as_str),
            Some("application/apply-patch+yaml")
        );
    }
    let stored = fake.with(|s| s.objects.clone());
    let job_uid = stored
        .iter()
        .find(|(k, _)| k.ends_with(&format!("/jobs/{}", m.names.coordinator())))
        .map(|(_, v)| v["metadata"]["uid"].clone())
        .expect("coordinator job");
    for (k, v) in &stored {
        if k.ends_with(&format!("/jobs/{}", m.names.coordinator())) {
            assert!(v["metadata"].get("ownerReferences").is_none());
        } else {
            assert_eq!(
                v["metadata"]["ownerReferences"][0]["uid"], job_uid,
                "{k} is owned by the coordinator Job"
            );
        }
    }
    let n = fake.with(|s| s.requests.len());
    let second = apply(&c, &m, false, || panic!("the token is kept"))
        .await
        .expect("re-apply");
    assert!(!second.new_token);
    assert_eq!(
        fake.with(|s| s.objects.clone()),
        stored,
        "a re-apply changes nothing"
    );
    let again = fake.with(|s| {
        s.requests[n..]
            .iter()
            .filter(|r| r.method == "PATCH")
            .count()
    });
    assert_eq!(
        again,
        m.objects.len() + 1,
        "one apply per object, no second pass"
    );
    validate_bodies(&fake, "apply");
}

#[tokio::test]
async fn a_conflict_asks_for_force_and_force_takes_over() {
    let fake = Fake::new();
    fake.with(|s| s.conflict = Some("/configmaps/".into()));
    let c = client(&fake);
    let m = manifests();
    let e = apply(&c, &m, false, || "t".into()).await.unwrap_err();
    assert!(matches!(e, DeployError::Conflict { .. }), "{e:?}");
    assert!(e.to_string().contains("--force-conflicts"), "{e}");
    apply(&c, &m, true, || "t".into())
        .await
        .expect("forced apply");
    assert!(patches(&fake)
        .iter()
        .rev()
        .take(3)
        .all(|r| r.uri.contains("force=true")));
}

#[tokio::test]
async fn a_busy_api_server_is_retried_a_bounded_number_of_times() {
    let fake = Fake::new();
    let c = client(&fake);
    let m = manifests();
    // Two 503s: the apply retries them and every object lands.
    fake.with(|s| s.unavailable = 2);
    let applied = apply(&c, &m, false, || "t".into())
        .await
        .expect("apply after 503s");
    assert_eq!(
        applied.objects.len(),
        m.objects.len() + 1,
        "{:?}",
        applied.objects
    );
    // More 503s than the back-off allows: a clear error, not an endless wait.
    fake.with(|s| s.unavailable = 100);
    let t = std::time::Instant::now();
    let e = apply(&c, &m, false, || "t".into()).await.unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    assert!(e.to_string().contains("unable to handle"), "{e}");
    assert!(fake.with(|s| s.unavailable) >= 90, "retries are bounded");
}

#[tokio::test]
async fn rbac_denial_names_the_verb_and_resource() {
    let fake = Fake::new();
    fake.with(|s| s.forbid = Some("PATCH /apis/batch/v1/namespaces/loadtest/jobs".into()));
    let c = client(&fake);
    let e = apply(&c, &manifests(), false, || "t".into())
        .await
        .unwrap_err();
    match &e {
        DeployError::Forbidden {
            verb,
            resource,
            namespace,
            ..
        } => {
            assert_eq!(
                (verb.as_str(), resource.as_str(), namespace.as_str()),
                ("patch", "jobs", "loadtest")
            );
        }
        other => panic!("not a 403: {other:?}"),
    }
    assert!(e.to_string().contains("Role"), "{e}");
}

fn pod(
    name: &str,
    component: &str,
    run: &str,
    phase: &str,
    waiting: Option<(&str, &str)>,
) -> Value {
    let mut p = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "loadtest",
                     "labels": {"volley.dev/run": run, "app.kubernetes.io/component": component},
                     "annotations": {"batch.kubernetes.io/job-completion-index": "1"}},
        "spec": {"containers": [{"name": component, "image": "ghcr.io/acme/volley:0.1.0"}]},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": if phase == "Running" { "True" } else { "False" }}]}
    });
    if let Some((reason, message)) = waiting {
        p["status"]["containerStatuses"] = json!([{"name": component, "image": "ghcr.io/acme/volley:0.1.0",
            "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": reason, "message": message}}}]);
    }
    p
}

fn fleet_status(phase: &str, exit: Option<i32>) -> Value {
    json!({"protocol": 1, "run": "r", "plan_hash": "sha256:0", "phase": phase, "elapsed_ms": 1000,
           "total_ms": 10000, "runners": {"expected": 3, "joined": 3, "ready": 3, "done": 0, "lost": 0},
           "vus": 4, "http_reqs": 10, "rps": 5.0, "http_req_failed": 0.0, "iterations": 5,
           "exit_code": exit, "verdict": exit.map(|_| "thresholds failed")})
}

fn opts() -> FollowOptions {
    FollowOptions {
        poll: Duration::from_millis(1),
        start_timeout: Duration::from_secs(600),
    }
}

#[tokio::test]
async fn following_reads_status_then_summary_and_returns_the_exit_code() {
    let fake = Fake::new();
    let c = client(&fake);
    let m = manifests();
    apply(&c, &m, false, || "t".into()).await.expect("apply");
    let run = m.names.run.clone();
    fake.with(|s| {
        s.pods = (0..3)
            .map(|k| {
                pod(
                    &format!("{run}-runners-{k}-abcde"),
                    "runner",
                    &run,
                    "Running",
                    None,
                )
            })
            .collect();
        s.pods.push(pod(
            &format!("{run}-coordinator-xyz"),
            "coordinator",
            &run,
            "Running",
            None,
        ));
        s.status = vec![
            fleet_status("waiting", None),
            fleet_status("running", None),
            fleet_status("done", Some(99)),
        ];
        s.summary = Some(json!({"metrics": {}, "state": {"exit_code": 99}}));
    });
    let mut seen = Vec::new();
    let out = follow(&c, &m.namespace, &m.names, 4, &opts(), &mut |e| {
        seen.push(e)
    })
    .await
    .expect("follow");
    assert_eq!(out.exit_code, 99);
    assert_eq!(
        out.summary
            .as_ref()
            .map(|s| s["state"]["exit_code"].clone()),
        Some(json!(99))
    );
    let phases: Vec<String> = seen
        .iter()
        .filter_map(|e| match e {
            Event::Status(s) => Some(s.phase.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(phases, ["waiting", "running", "done"]);
    let proxied = fake.with(|s| {
        s.requests
            .iter()
            .filter(|r| {
                r.uri
                    .contains(&format!("/services/{}:6566/proxy/", m.names.coordinator()))
            })
            .count()
    });
    assert!(
        proxied >= 4,
        "status and summary go through the service proxy"
    );
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled_is_an_error_at_once() {
    let fake = Fake::new();
    let c = client(&fake);
    let m = manifests();
    let run = m.names.run.clone();
    fake.with(|s| {
        s.pods = vec![pod(
            "p-0",
            "runner",
            &run,
            "Pending",
            Some(("ImagePullBackOff", "Back-off pulling image")),
        )]
    });
    let e = follow(&c, &m.namespace, &m.names, 4, &opts(), &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(&e, DeployError::ImagePull { pod, .. } if pod == "p-0"),
        "{e:?}"
    );
    assert!(e.to_string().contains("ghcr.io/acme/volley:0.1.0"), "{e}");
}

#[tokio::test]
async fn a_start_timeout_lists_the_stuck_pods_and_why() {
    let fake = Fake::new();
    let c = client(&fake);
    let m = manifests();
    apply(&c, &m, false, || "t".into()).await.expect("apply");
    let run = m.names.run.clone();
    let mut stuck = pod("r-2", "runner", &run, "Pending", None);
    stuck["status"]["conditions"] = json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes are available: 3 Insufficient cpu."}]);
    fake.with(|s| {
        s.pods = vec![
            pod("c", "coordinator", &run, "Running", None),
            pod("r-0", "runner", &run, "Running", None),
            stuck,
        ]
    });
    let o = FollowOptions {
        poll: Duration::from_millis(1),
        start_timeout: Duration::ZERO,
    };
    let e = follow(&c, &m.namespace, &m.names, 3, &o, &mut |_| {})
        .await
        .unwrap_err();
    match &e {
        DeployError::StartTimeout { stuck, .. } => {
            assert_eq!(stuck.len(), 1, "{stuck:?}");
            assert_eq!(stuck[0].name, "r-2");
            assert!(
                stuck[0].reason.contains("Insufficient cpu"),
                "{:?}",
                stuck[0]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn quota_refusals_of_the_job_controller_are_reported() {
    let fake = Fake::new();
    let c = client(&fake);
    let m = manifests();
    let job = m.names.runners();
    fake.with(|s| s.events = vec![json!({"metadata": {"name": "e1"}, "involvedObject": {"kind": "Job", "name": job},
        "reason": "FailedCreate", "message": "pods \"x\" is forbidden: exceeded quota: compute, requested: cpu=2, used: cpu=8, limited: cpu=8"})]);
    let e = follow(&c, &m.namespace, &m.names, 4, &opts(), &mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(e, DeployError::Quota { .. }), "{e:?}");
}

#[tokio::test]
async fn abort_sends_the_run_token_from_its_secret() {
    let fake = Fake::new();
    let c = client(&fake);
    let m = manifests();
    apply(&c, &m, false, || "s3cr3t-abort-token".into())
        .await
        .expect("apply");
    fake.with(|s| s.abort_token = Some("s3cr3t-abort-token".into()));
    let answer = ops::abort(&c, &m.namespace, &m.names.run)
        .await
        .expect("abort");
    assert!(answer.contains("stopping"), "{answer}");
    let r = fake
        .with(|s| s.requests.last().cloned())
        .expect("a request");
    assert_eq!(r.method, "POST");
    assert!(
        r.uri.ends_with(&format!(
            "/services/{}:6566/proxy/v1/abort",
            m.names.coordinator()
        )),
        "{}",
        r.uri
    );
    assert!(
        !r.uri.contains("s3cr3t"),
        "the token never travels in a URL"
    );
    fake.with(|s| s.abort_token = Some("another".into()));
    assert!(
        ops::abort(&c, &m.namespace, &m.names.run).await.is_err(),
        "a wrong token is refused"
    );
}

#[tokio::test]
async fn abort_takes_a_hand_made_token_with_its_line_end_and_refuses_an_unusable_one() {
    let fake = Fake::new();
    let c = client(&fake);
    let m = manifests();
    // A token Secret made with `echo` or from a file: one trailing newline, not the token's.
    apply(&c, &m, false, || "s3cr3t-abort-token\n".into())
        .await
        .expect("apply");
    fake.with(|s| s.abort_token = Some("s3cr3t-abort-token".into()));
    let answer = ops::abort(&c, &m.namespace, &m.names.run)
        .await
        .expect("the trailing newline is not part of the token");
    assert!(answer.contains("stopping"), "{answer}");

    // A control character inside the token cannot travel in a header: a deploy error that
    // names the Secret and never shows the token.
    let m2 = build(
        &volley_plan::Plan {
            name: "deploytest-bad".into(),
            ..plan()
        },
        &Options::default(),
    )
    .expect("manifests");
    apply(&c, &m2, false, || "s3cr3t\u{1}token\r\n".into())
        .await
        .expect("apply");
    let before = fake.with(|s| s.requests.len());
    let e = ops::abort(&c, &m2.namespace, &m2.names.run)
        .await
        .expect_err("a control character is refused");
    assert!(matches!(e, DeployError::InvalidToken { .. }), "{e:?}");
    let shown = format!("{e} {e:?}");
    assert!(shown.contains(&m2.names.token()), "{shown}");
    assert!(
        !shown.contains("s3cr3t"),
        "the token is never shown: {shown}"
    );
    assert_eq!(
        fake.with(|s| s.requests.len()),
        before + 1,
        "only the Secret was read; nothing was sent to the coordinator"
    );
}

#[tokio::test]
async fn status_logs_and_delete_act_on_the_run() {
    let fake = Fake::new();
    let c = client(&fake);
    let m = manifests();
    apply(&c, &m, false, || "t".into()).await.expect("apply");
    let run = m.names.run.clone();
    fake.with(|s| {
        s.pods = vec![
            pod("c-0", "coordinator", &run, "Running", None),
            pod("r-1", "runner", &run, "Running", None),
        ];
        s.status = vec![fleet_status("running", None)];
        s.logs = "runner 1 joined\n".into();
    });
    let st = ops::status(&c, &m.namespace, &run).await.expect("status");
    assert_eq!(st.jobs.len(), 2);
    assert_eq!(st.fleet.as_ref().map(|f| f.phase.as_str()), Some("running"));
    assert_eq!(
        ops::logs(&c, &m.namespace, &run, Some(1))
            .await
            .expect("logs"),
        "runner 1 joined\n"
    );
    assert!(matches!(
        ops::logs(&c, &m.namespace, &run, Some(2)).await,
        Err(DeployError::NotFound { .. })
    ));
    let deleted = ops::delete(&c, &m.namespace, &run).await.expect("delete");
    assert_eq!(deleted.len(), m.objects.len() + 1, "{deleted:?}");
    assert!(
        fake.with(|s| s.objects.is_empty()),
        "nothing of the run is left"
    );
    assert!(matches!(
        ops::status(&c, &m.namespace, &run).await,
        Err(DeployError::NotFound { .. })
    ));
}

#[tokio::test]
async fn the_report_and_outputs_are_fetched_through_the_proxy_once_the_run_ended() {
    let fake = Fake::new();
    let c = client(&fake);
    let m = manifests();
    apply(&c, &m, false, || "t".into()).await.expect("apply");
    let (ns, run) = (m.namespace.clone(), m.names.run.clone());
    fake.with(|s| s.status = vec![fleet_status("running", None)]);
    assert_eq!(
        results::fetch(&c, &ns, &run, "report")
            .await
            .expect("fetch"),
        results::Fetch::Missing("the run has not finished".into()),
        "before the end the coordinator says why"
    );
    fake.with(|s| {
        s.status = vec![fleet_status("done", Some(0))];
        s.summary = Some(json!({"volley": {"exit_code": 0}}));
        s.files
            .insert("report".into(), "<!DOCTYPE html><p>r</p>".into());
        s.files
            .insert("out/0".into(), "{\"metric\":\"http_reqs\"}\n".into());
    });
    let got = |f| match f {
        results::Fetch::Got(b) => String::from_utf8(b).expect("utf-8"),
        other => panic!("not fetched: {other:?}"),
    };
    let report = got(results::fetch(&c, &ns, &run, "report")
        .await
        .expect("fetch"));
    assert_eq!(report, "<!DOCTYPE html><p>r</p>");
    let out = got(results::fetch(&c, &ns, &run, "out/0").await.expect("fetch"));
    assert_eq!(out, "{\"metric\":\"http_reqs\"}\n");
    let (summary, from) = results::summary(&c, &ns, &run)
        .await
        .expect("summary")
        .expect("a summary");
    assert_eq!(from, results::SummaryFrom::Coordinator);
    assert_eq!(summary["volley"]["exit_code"], 0);
    assert!(
        fake.with(|s| s.requests.iter().any(|r| r.uri.ends_with(&format!(
            "/api/v1/namespaces/{ns}/services/{}:6566/proxy/report",
            m.names.coordinator()
        ))))
    );
}

#[tokio::test]
async fn after_the_linger_the_summary_comes_from_the_coordinator_log_and_the_report_is_gone() {
    let fake = Fake::new();
    let c = client(&fake);
    let m = manifests();
    apply(&c, &m, false, || "t".into()).await.expect("apply");
    let (ns, run) = (m.namespace.clone(), m.names.run.clone());
    let line = json!({"timestamp": "2026-12-06T01:42:43Z", "level": "INFO", "target": "volley::summary",
        "fields": {"message": "the fleet summary", "summary": json!({"volley": {"exit_code": 99}}).to_string()}});
    fake.with(|s| {
        s.pods = vec![pod("c-0", "coordinator", &run, "Succeeded", None)];
        s.status = Vec::new();
        s.logs =
            format!("{{\"level\":\"INFO\",\"target\":\"x\",\"fields\":{{}}}}\n{line}\nnot json\n");
    });
    assert_eq!(
        results::fetch(&c, &ns, &run, "report")
            .await
            .expect("fetch"),
        results::Fetch::NoCoordinator
    );
    let (summary, from) = results::summary(&c, &ns, &run)
        .await
        .expect("summary")
        .expect("from the log");
    assert_eq!(from, results::SummaryFrom::Log);
    assert_eq!(summary["volley"]["exit_code"], 99);
    fake.with(|s| s.logs = "no summary here\n".into());
    let why = results::summary(&c, &ns, &run)
        .await
        .expect("summary")
        .expect_err("no summary anywhere");
    assert!(why.contains("linger"), "{why}");
    fake.with(|s| s.forbid = Some("proxy/report".into()));
    assert!(matches!(
        results::fetch(&c, &ns, &run, "report").await,
        Err(DeployError::Forbidden { .. })
    ));
}
