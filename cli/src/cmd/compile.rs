//! `volley compile FILE --out-dir DIR [--out KIND=URL]…`: writes DIR/plan.json (the full
//! plan, its data as references to the data packs), DIR/manifests.yaml (the run's
//! Kubernetes objects, the coordinator streaming to the `--out` outputs, the packs in
//! `binaryData` ConfigMaps) and DIR/kustomization.yaml, all deterministic, and prints the
//! plan hash and the run id.

use super::{compiled_or_report, manifests_or_report};
use std::path::Path;
use volley_plan::ExitCode;

fn write(path: &Path, text: &str) -> Result<(), ExitCode> {
    std::fs::write(path, text).map_err(|e| {
        errln!("error: cannot write `{}`: {e}", path.display());
        ExitCode::Usage
    })
}

pub fn run(file: &Path, out: &Path, params: &[String], outputs: &[String]) -> ExitCode {
    let (compiled, plan) = match compiled_or_report(file, params) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let outputs = match super::cluster_out::parse(outputs, &plan, false) {
        Ok(o) => o,
        Err(e) => {
            errln!("error: {e}");
            return ExitCode::Usage;
        }
    };
    let opts = volley_k8s::Options {
        outputs: outputs.outs,
        ..volley_k8s::Options::default()
    };
    let m = match manifests_or_report(file, &compiled, &plan, &opts) {
        Ok(m) => m,
        Err(code) => return code,
    };
    for n in &m.notes {
        errln!("note: {n}");
    }
    if let Err(e) = std::fs::create_dir_all(out) {
        errln!("error: cannot create `{}`: {e}", out.display());
        return ExitCode::Usage;
    }
    let source = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let files = [
        ("plan.json", m.plan_json.clone()),
        (
            "manifests.yaml",
            volley_k8s::manifests::to_yaml(&m, &source),
        ),
        (
            "kustomization.yaml",
            volley_k8s::manifests::kustomization(&m),
        ),
    ];
    for (name, text) in &files {
        if let Err(code) = write(&out.join(name), text) {
            return code;
        }
    }
    outln!(
        "wrote {} (plan.json, manifests.yaml, kustomization.yaml): {}, run {}, {} runner{}",
        out.display(),
        m.plan_hash,
        m.names.run,
        m.runners,
        if m.runners == 1 { "" } else { "s" }
    );
    ExitCode::Ok
}
