//! `volley compile FILE -o DIR`: writes DIR/plan.json (deterministic) and prints its hash.
//! Kubernetes manifests join it with the Kubernetes issue.

use super::compile_or_report;
use crate::exit;
use std::path::Path;

pub fn run(file: &Path, out: &Path, params: &[String]) -> u8 {
    let plan = match compile_or_report(file, params) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!("error: cannot create `{}`: {e}", out.display());
        return exit::USAGE;
    }
    let path = out.join("plan.json");
    if let Err(e) = std::fs::write(&path, volley_plan::to_json(&plan)) {
        eprintln!("error: cannot write `{}`: {e}", path.display());
        return exit::USAGE;
    }
    println!(
        "wrote {} ({})",
        path.display(),
        volley_plan::content_hash(&plan)
    );
    exit::OK
}
