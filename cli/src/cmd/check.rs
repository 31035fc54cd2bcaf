//! `volley check FILE…`: parse and type-check, report every diagnostic, exit 104 on error.

use super::{compile_file, report};
use crate::render;
use std::path::PathBuf;
use volley_plan::ExitCode;

pub fn run(files: &[PathBuf], params: &[String]) -> ExitCode {
    let mut worst = ExitCode::Ok;
    let (mut errors, mut warnings) = (0, 0);
    for file in files {
        let compiled = match compile_file(file, params) {
            Ok(c) => c,
            Err(code) => {
                worst = worst.max(code);
                continue;
            }
        };
        report(file, &compiled);
        let (e, w) = render::counts(&compiled.diagnostics);
        errors += e;
        warnings += w;
        if e > 0 {
            worst = ExitCode::InvalidInput;
        } else {
            outln!("ok: {}", file.display());
        }
    }
    if errors + warnings > 0 {
        errln!(
            "{errors} error{}, {warnings} warning{} in {} file{}",
            plural(errors),
            plural(warnings),
            files.len(),
            plural(files.len())
        );
    }
    worst
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
