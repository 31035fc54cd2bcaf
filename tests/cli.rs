//! The compiler's CLI contract: exit codes, deterministic plans, idempotent formatting.

use crate::support::*;
use std::time::Duration;

#[test]
fn check_reports_every_error_and_exits_104() {
    let dir = temp_dir("check-errors");
    let file = dir.join("bad.load");
    std::fs::write(
        &file,
        "target api = \"http://127.0.0.1:1\"\n\
         scenario s {\n  workload = constant_vus(vus: 1, duration: 1s)\n  iteration {\n    get(apii, \"/\")\n    get(ap, \"/\")\n  }\n}\n",
    )
    .unwrap();
    let out = volley_in(&dir, &["check", "bad.load"], Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(104), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("apii") && t.contains("`ap`"),
        "both errors reported:\n{t}"
    );
    assert!(t.contains("did you mean"), "a suggestion is offered:\n{t}");
}

#[test]
fn missing_file_is_a_usage_error() {
    let out = volley(&["check", "no/such/file.load"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no such file"));
    let out = volley(&["check", "examples"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("it is a directory"), "{}", text(&out));
}

#[test]
fn compile_is_deterministic() {
    let dir = temp_dir("determinism");
    let a = dir.join("a");
    let b = dir.join("b");
    for ex in [
        "quickstart.load",
        "data_unique.load",
        "setup_teardown.load",
        "warmup.load",
        "checkout.load",
    ] {
        let src = repo().join("examples").join(ex);
        for out_dir in [&a, &b] {
            let out = volley(&[
                "compile",
                src.to_str().unwrap(),
                "--out-dir",
                out_dir.to_str().unwrap(),
            ]);
            assert!(out.status.success(), "{}", text(&out));
        }
        for name in ["manifests.yaml", "kustomization.yaml"] {
            let ma = std::fs::read(a.join(name)).unwrap();
            let mb = std::fs::read(b.join(name)).unwrap();
            assert!(!ma.is_empty(), "{ex}: {name} is written");
            assert_eq!(ma, mb, "{ex}: two compiles give different {name}");
        }
        let pa = std::fs::read(a.join("plan.json")).unwrap();
        let pb = std::fs::read(b.join("plan.json")).unwrap();
        assert_eq!(pa, pb, "{ex}: two compiles differ");
        let plan: serde_json::Value = serde_json::from_slice(&pa).unwrap();
        assert_eq!(plan["version"], 1);
    }
}

#[test]
fn plan_json_holds_no_secret_value() {
    let dir = temp_dir("secret-plan");
    let src = repo().join("examples/secrets.load");
    let out = volley_env(
        &dir,
        &[
            "compile",
            src.to_str().unwrap(),
            "--out-dir",
            dir.to_str().unwrap(),
        ],
        &[("API_KEY", "sk-live-very-secret-value")],
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", text(&out));
    let plan = std::fs::read_to_string(dir.join("plan.json")).unwrap();
    assert!(!plan.contains("very-secret"));
    assert!(
        plan.contains("API_KEY"),
        "the secret is referenced by its variable name"
    );
}

#[test]
fn param_override_is_type_checked() {
    let src = repo().join("examples/quickstart.load");
    let ok = volley(&[
        "check",
        src.to_str().unwrap(),
        "--param",
        "base_url=http://127.0.0.1:9999",
    ]);
    assert!(ok.status.success(), "{}", text(&ok));
    let bad = volley(&[
        "check",
        src.to_str().unwrap(),
        "--param",
        "base_urll=http://x",
    ]);
    assert_eq!(bad.status.code(), Some(104), "{}", text(&bad));
    assert!(
        text(&bad).contains("base_url"),
        "suggests the real name:\n{}",
        text(&bad)
    );
}

#[test]
fn fmt_is_idempotent_and_keeps_comments() {
    let dir = temp_dir("fmt");
    for entry in std::fs::read_dir(repo().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "load") {
            continue;
        }
        let original = std::fs::read_to_string(&path).unwrap();
        let copy = dir.join(path.file_name().unwrap());
        std::fs::write(&copy, &original).unwrap();
        let out = volley_in(
            &dir,
            &["fmt", copy.to_str().unwrap()],
            Duration::from_secs(30),
        );
        assert!(out.status.success(), "{}", text(&out));
        let once = std::fs::read_to_string(&copy).unwrap();
        for comment in original
            .lines()
            .filter_map(|l| l.find("//").map(|i| l[i..].trim_end()))
        {
            assert!(
                once.contains(comment),
                "{}: lost comment {comment:?}",
                path.display()
            );
        }
        let out = volley_in(
            &dir,
            &["fmt", "--check", copy.to_str().unwrap()],
            Duration::from_secs(30),
        );
        assert!(
            out.status.success(),
            "{}: not idempotent:\n{}",
            path.display(),
            text(&out)
        );
        let check = volley(&["check", copy.to_str().unwrap()]);
        // Data and certificate paths are relative to the file: only files without them are
        // re-checked here.
        if !original.contains("data ") && !original.contains("file(") {
            assert!(
                check.status.success(),
                "formatted {} no longer checks:\n{}",
                path.display(),
                text(&check)
            );
        }
    }
}

#[test]
fn examples_are_formatted() {
    let mut args = vec!["fmt", "--check"];
    let files: Vec<String> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "load"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    args.extend(files.iter().map(String::as_str));
    let out = volley(&args);
    assert!(
        out.status.success(),
        "run `volley fmt examples/*.load`:\n{}",
        text(&out)
    );
}

#[test]
fn plan_describes_segments() {
    let src = repo().join("examples/iterations.load");
    let out = volley(&["plan", src.to_str().unwrap(), "--runners", "3"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    for k in 0..3 {
        assert!(
            t.contains(&format!("runner {k}")),
            "describes runner {k}:\n{t}"
        );
    }
    // shared_iterations(vus: 8, iterations: 200) on 3 runners: VUs 3 + 3 + 2, and as in
    // k6 the iterations follow the VUs: 75 + 75 + 50.
    assert!(
        t.contains("75 iterations") && t.contains("50 iterations"),
        "{t}"
    );
    let json = volley(&[
        "plan",
        src.to_str().unwrap(),
        "--runners",
        "3",
        "--segment",
        "2",
        "--json",
    ]);
    assert!(json.status.success(), "{}", text(&json));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("valid JSON");
    assert_eq!(v["segment"]["index"], 2);
}

#[test]
fn plan_names_idle_runners_and_why() {
    let dir = temp_dir("plan-idle");
    let src = dir.join("idle.load");
    std::fs::write(
        &src,
        "target api = \"http://127.0.0.1:8088\"\n\n\
         scenario batch {\n  workload = shared_iterations(vus: 2, iterations: 10)\n  iteration { get(api, \"/health\") }\n}\n\n\
         scenario busy {\n  workload = constant_vus(vus: 8, duration: 10s)\n  iteration { get(api, \"/health\")\n sleep 1s }\n}\n",
    )
    .unwrap();
    let out = volley(&["plan", src.to_str().unwrap(), "--runners", "4"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("idle: runners 2, 3 in scenario batch (2 VUs for 4 runners: a runner without a VU gets no iterations)"),
        "{t}"
    );
    assert!(
        !t.contains("in scenario busy"),
        "busy has no idle runner:\n{t}"
    );
    // Every iteration goes to the runners with a VU: 5 + 5.
    assert_eq!(t.matches("    5 iterations").count(), 2, "{t}");
    assert_eq!(t.matches("    0 iterations").count(), 2, "{t}");
    let json = volley(&["plan", src.to_str().unwrap(), "--runners", "4", "--json"]);
    assert!(json.status.success(), "{}", text(&json));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("valid JSON");
    assert_eq!(v["idle"][0]["scenario"], "batch");
    assert_eq!(v["idle"][0]["runners"], serde_json::json!([2, 3]));
    assert_eq!(v["idle"][0]["vus"], 2);
    // Without idle runners the field is an empty list.
    let two = volley(&["plan", src.to_str().unwrap(), "--runners", "2", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&two.stdout).expect("valid JSON");
    assert_eq!(v["idle"], serde_json::json!([]));
}
