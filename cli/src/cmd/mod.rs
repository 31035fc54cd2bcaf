//! One module per subcommand, plus the shared step that compiles a file and reports
//! its diagnostics.

pub mod abort;
pub mod check;
pub mod compile;
pub mod delete;
pub mod demo;
pub mod deploy;
pub mod fleet;
pub mod fmt;
pub mod lint;
pub mod logs;
pub mod plan;
pub mod run;
pub mod status;

use crate::render;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use volley_compiler::{CompileOptions, Compiled, FsLoader};
use volley_plan::ExitCode;

/// The directories `--allow-path` opened, outside every test's own folder.
static ALLOWED: OnceLock<Vec<PathBuf>> = OnceLock::new();

/// Records `--allow-path` (once, before any subcommand runs).
pub fn allow_paths(dirs: Vec<PathBuf>) {
    let _ = ALLOWED.set(dirs);
}
use volley_plan::Plan;

/// The runners the file's `fleet` block asks for: `runners = N`, or what `auto` chooses
/// (the count `compile` and `deploy` use).
pub fn fleet_runners(plan: &Plan) -> u32 {
    plan.fleet
        .runners
        .unwrap_or_else(|| volley_plan::capacity::auto_runners(plan, &plan.fleet.resources))
        .max(1)
}

/// Writes to stdout; a reader that stops early (`volley plan f.load | head`) is not an
/// error (`println!` would panic on the broken pipe).
pub fn stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Splits `--param k=v` arguments; a malformed one is a usage error.
pub fn parse_params(raw: &[String]) -> Result<Vec<(String, String)>, String> {
    raw.iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => Err(format!("--param expects KEY=VALUE, got `{p}`")),
        })
        .collect()
}

/// Refuses an unwritable `--summary-json` before any load (as `--report` and `--out`
/// are): the file is created empty now and written at the end.
pub fn check_summary_json(path: Option<&Path>) -> Result<(), ExitCode> {
    let Some(path) = path else {
        return Ok(());
    };
    std::fs::write(path, "").map_err(|e| {
        eprintln!(
            "error: --summary-json: cannot create `{}`: {e}",
            path.display()
        );
        ExitCode::Usage
    })
}

/// Compiles one file from disk: paths inside it resolve against its directory.
pub fn compile_file(file: &Path, params: &[String]) -> Result<Compiled, ExitCode> {
    let params = parse_params(params).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::Usage
    })?;
    // A FIFO or a device goes on to the loader, which refuses it without blocking (E0103).
    if !file.exists() || file.is_dir() {
        eprintln!("error: cannot read `{}`: no such file", file.display());
        return Err(ExitCode::Usage);
    }
    let base_dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let entry = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let loader = FsLoader {
        base_dir,
        allowed: ALLOWED.get().cloned().unwrap_or_default(),
    };
    Ok(volley_compiler::compile(
        &entry,
        &loader,
        &CompileOptions { params },
    ))
}

/// Compiles, prints every diagnostic, and returns the plan when there was no error.
pub fn compile_or_report(file: &Path, params: &[String]) -> Result<Plan, ExitCode> {
    let compiled = compile_file(file, params)?;
    report(file, &compiled);
    match compiled.plan {
        Some(plan) if !compiled.diagnostics.iter().any(|d| d.is_error()) => Ok(plan),
        _ => Err(ExitCode::InvalidInput),
    }
}

/// Prints a compilation's diagnostics to stderr, labelled with the file as the user named it.
pub fn report(file: &Path, compiled: &Compiled) {
    if compiled.diagnostics.is_empty() {
        return;
    }
    let shown = file.display().to_string();
    let entry = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Show the path as the user typed it rather than the loader's entry name.
    let mut sources = compiled.sources.clone();
    if let Some(text) = sources.remove(&entry) {
        sources.insert(shown.clone(), text);
    }
    let diags: Vec<_> = compiled
        .diagnostics
        .iter()
        .cloned()
        .map(|mut d| {
            if d.file == entry {
                d.file = shown.clone();
            }
            d
        })
        .collect();
    eprint!("{}", render::diagnostics(&diags, &sources));
}
