//! Every ```load block of SPEC.md (and of docs/language.md) compiles with no error, and
//! the plans say what the examples mean.

use super::{compile_src, show};
use volley_plan::{Start, Workload};

/// Every ```load block of a markdown file, with the line it starts on.
pub(crate) fn load_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        match &mut current {
            None if line.trim_start().starts_with("```load") => {
                current = Some((i + 1, String::new()))
            }
            Some(_) if line.trim_start().starts_with("```") => out.extend(current.take()),
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    out
}

/// The text of a document, `rel` to this crate; a missing one fails the test loudly.
fn read_doc(rel: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; SPEC.md comes from ../shared beside the repository clone \
             (CI always has it), the other documents from the repository",
            path.display()
        )
    })
}

/// The ```load blocks of SPEC.md (`../shared/SPEC.md` beside the clone).
pub(crate) fn spec_examples() -> Vec<(usize, String)> {
    load_blocks(&read_doc("../../shared/SPEC.md"))
}

#[test]
fn every_spec_example_compiles() {
    let blocks = spec_examples();
    assert!(blocks.len() >= 3, "expected the SPEC's examples");
    for (line, src) in blocks {
        let c = compile_src(&src);
        assert!(
            c.diagnostics.iter().all(|d| !d.is_error()),
            "SPEC example at line {line}:\n{}",
            show(&c)
        );
        assert!(c.plan.is_some(), "SPEC example at line {line}: no plan");
    }
}

#[test]
fn every_language_reference_and_readme_example_compiles() {
    for doc in ["../docs/language.md", "../README.md"] {
        for (line, src) in load_blocks(&read_doc(doc)) {
            let c = compile_src(&src);
            assert!(
                c.diagnostics.iter().all(|d| !d.is_error()),
                "{doc} example at line {line}:\n{}",
                show(&c)
            );
        }
    }
}

#[test]
fn the_checkout_example_means_what_it_says() {
    let blocks = spec_examples();
    let Some((_, src)) = blocks.first() else {
        return;
    };
    let c = compile_src(src);
    let plan = c.plan.clone().unwrap_or_else(|| panic!("{}", show(&c)));
    assert_eq!(plan.name, "test");
    assert_eq!(plan.targets.len(), 1);
    assert_eq!(plan.targets[0].url, "http://127.0.0.1:8088");
    assert_eq!(plan.secrets[0].env, "CARD_TOKEN");
    let s = &plan.scenarios[0];
    assert_eq!(
        s.workload,
        Workload::RampingVus {
            start_vus: 0,
            stages: vec![
                volley_plan::Stage {
                    duration_ms: 120_000,
                    target: 500.0
                },
                volley_plan::Stage {
                    duration_ms: 300_000,
                    target: 500.0
                },
                volley_plan::Stage {
                    duration_ms: 60_000,
                    target: 0.0
                },
            ],
            graceful_ramp_down_ms: 30_000,
        }
    );
    assert_eq!(s.init.len(), 2, "user and token are per-VU lets");
    assert_eq!(plan.thresholds.len(), 4);
    assert_eq!(plan.thresholds[0].conditions[0].value, 0.01);
    assert_eq!(plan.thresholds[1].conditions[0].value, 400.0);
    assert_eq!(
        plan.thresholds[2].tags.get("group").map(String::as_str),
        Some("browse")
    );
    assert!(plan.thresholds[3].abort_on_fail);
    assert_eq!(plan.fleet.runners, Some(10));
    assert_eq!(plan.fleet.resources.cpu_millis, 2000);
    assert_eq!(plan.fleet.resources.memory_bytes, 512 * 1024 * 1024);
    assert_eq!(plan.fleet.secrets["card_token"].key, "card-token");
    let json = volley_plan::to_json(&plan);
    assert!(
        json.contains("\"/api/products\""),
        "the browse request is named by its path template"
    );
    assert!(json.contains("\"checkout\""));
}

#[test]
fn the_warmup_example_waits_for_warmup() {
    let blocks = spec_examples();
    let Some((_, src)) = blocks.get(1) else {
        return;
    };
    let c = compile_src(src);
    let plan = c.plan.clone().unwrap_or_else(|| panic!("{}", show(&c)));
    assert_eq!(plan.scenarios[1].start, Start::After { scenario: 0 });
    assert!(matches!(
        plan.scenarios[1].workload,
        Workload::RampingVus { .. }
    ));
    assert_eq!(plan.flows.len(), 1);
    assert_eq!(plan.fleet.runners, Some(4));
}

#[test]
fn the_open_model_example_has_setup_values_and_data() {
    let blocks = spec_examples();
    let Some((_, src)) = blocks.get(2) else {
        return;
    };
    let c = compile_src(src);
    let plan = c.plan.clone().unwrap_or_else(|| panic!("{}", show(&c)));
    assert_eq!(
        plan.setup_values,
        vec!["r".to_string(), "admin_token".to_string()]
    );
    assert!(plan.setup.is_some() && plan.teardown.is_some());
    assert_eq!(plan.data[0].pick, volley_plan::Pick::UniquePerIteration);
    assert_eq!(
        plan.data[0].columns,
        vec!["sku".to_string(), "qty".to_string()]
    );
    assert!(
        matches!(plan.scenarios[0].workload, Workload::ConstantArrivalRate { rate, .. } if rate == 2000.0)
    );
}
