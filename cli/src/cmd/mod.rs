//! One module per subcommand, plus the shared step that compiles a file and reports
//! its diagnostics.

#[cfg(feature = "deploy")]
pub mod abort;
#[cfg(feature = "compiler")]
pub mod check;
#[cfg(feature = "compiler")]
pub mod cluster_out;
#[cfg_attr(not(feature = "compiler"), allow(dead_code))]
pub mod compare;
#[cfg(feature = "compiler")]
pub mod compile;
#[cfg(feature = "compiler")]
pub mod convert;
#[cfg(feature = "deploy")]
pub mod delete;
#[cfg(feature = "compiler")]
pub mod demo;
#[cfg(feature = "deploy")]
pub mod deploy;
pub mod fleet;
#[cfg(feature = "compiler")]
pub mod fmt;
#[cfg(feature = "compiler")]
pub mod lint;
#[cfg(feature = "deploy")]
pub mod logs;
#[cfg(feature = "compiler")]
pub mod lsp;
#[cfg(feature = "compiler")]
pub mod plan;
#[cfg(feature = "compiler")]
pub mod reflect;
#[cfg(feature = "compiler")]
pub mod run;
#[cfg(feature = "deploy")]
pub mod status;
pub mod summary_format;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
#[cfg(feature = "compiler")]
use volley_compiler::{CompileOptions, Compiled, FsLoader};
use volley_engine::run::{EventSink, ProgressMode, RunEvent, StopCause};
use volley_engine::summary::{self, Summary};
use volley_plan::ExitCode;

/// The directories `--allow-path` opened, outside every test's own folder.
static ALLOWED: OnceLock<Vec<PathBuf>> = OnceLock::new();

/// Records `--allow-path` (once, before any subcommand runs).
pub fn allow_paths(dirs: Vec<PathBuf>) {
    let _ = ALLOWED.set(dirs);
}

/// The directories `--allow-path` opened.
#[cfg(feature = "compiler")]
pub fn allowed() -> Vec<PathBuf> {
    ALLOWED.get().cloned().unwrap_or_default()
}
#[cfg(feature = "compiler")]
use volley_plan::Plan;

/// The runners the file's `fleet` block asks for: `runners = N`, or what `auto` chooses
/// (the count `compile` and `deploy` use).
#[cfg(feature = "compiler")]
pub fn fleet_runners(plan: &Plan) -> u32 {
    plan.fleet
        .runners
        .unwrap_or_else(|| volley_plan::capacity::auto_runners(plan, &plan.fleet.resources))
        .max(1)
}

/// Writes to stdout; a reader that stops early (`volley plan f.load | head`) is not an
/// error (see [`crate::term`]).
#[cfg(feature = "compiler")]
pub fn stdout(text: &str) {
    out!("{text}");
}

/// Splits `--param k=v` arguments; a malformed one is a usage error.
#[cfg(feature = "compiler")]
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
        errln!(
            "error: --summary-json: cannot create `{}`: {e}",
            path.display()
        );
        ExitCode::Usage
    })
}

/// Prints the summary (or its templates' rendering) and writes it as JSON when asked
/// (`run` and the coordinator), shaped by the summary flags.
pub fn finish(
    summary: &Summary,
    summary_json: Option<&Path>,
    format: &summary_format::SummaryFormat,
) {
    let color = std::io::stdout().is_terminal();
    let summary = &format.apply(summary);
    out!("{}", format.finish(summary, color));
    if let Some(path) = summary_json {
        if let Err(e) = summary::write_json(summary, path) {
            errln!("error: cannot write `{}`: {e}", path.display());
        }
    }
}

/// Renders a run's events on standard error: the progress line (rewritten in place on a
/// terminal, a plain line otherwise, prefixed with the runners of a fleet), stops and
/// lost runners as warnings, the outputs' closing notes. `what` names the run in the
/// stop messages ("the test", "the fleet").
pub fn render_events(mode: ProgressMode, what: &'static str) -> EventSink {
    Box::new(move |event| match event {
        RunEvent::Started { .. } => {}
        RunEvent::Progress { line, done } => {
            let mut text = volley_engine::progress::line(&line.progress, mode == ProgressMode::Tty);
            if let Some(r) = line.runners {
                let n = summary::plural(r.total as usize, "runner");
                text = if r.lost > 0 {
                    format!("{n} ({} lost): {text}", r.lost)
                } else {
                    format!("{n}: {text}")
                };
            }
            match mode {
                ProgressMode::Tty => {
                    err!("\r\x1b[2K{text}");
                    if done {
                        errln!();
                    }
                }
                ProgressMode::Plain => errln!("{text}"),
                ProgressMode::Quiet => {}
            }
        }
        RunEvent::Stopping(StopCause::Signal) => {
            tracing::warn!("stopping {what} gracefully (the summary follows)");
        }
        RunEvent::Stopping(StopCause::Threshold) => {
            tracing::warn!("a threshold with abort_on_fail failed: stopping {what}");
        }
        RunEvent::RunnerLost { index, reason } => {
            tracing::warn!("runner {index} lost: {reason}; the others go on");
        }
        RunEvent::Notes(notes) => {
            for note in notes {
                errln!("{note}");
            }
        }
    })
}

/// Compiles one file from disk: paths inside it resolve against its directory.
#[cfg(feature = "compiler")]
pub fn compile_file(file: &Path, params: &[String]) -> Result<Compiled, ExitCode> {
    let params = parse_params(params).map_err(|e| {
        errln!("error: {e}");
        ExitCode::Usage
    })?;
    // A FIFO or a device goes on to the loader, which refuses it without blocking (E0103).
    if file.is_dir() {
        errln!(
            "error: cannot read `{}`: it is a directory (give a .load file in it)",
            file.display()
        );
        return Err(ExitCode::Usage);
    }
    if !file.exists() {
        errln!("error: cannot read `{}`: no such file", file.display());
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
    let loader = reflect::CliLoader(FsLoader {
        base_dir,
        allowed: ALLOWED.get().cloned().unwrap_or_default(),
    });
    Ok(volley_compiler::compile(
        &entry,
        &loader,
        &CompileOptions { params },
    ))
}

/// Compiles, prints every diagnostic, and returns the plan when there was no error.
#[cfg(feature = "compiler")]
pub fn compile_or_report(file: &Path, params: &[String]) -> Result<Plan, ExitCode> {
    let compiled = compile_file(file, params)?;
    report(file, &compiled);
    match compiled.plan {
        Some(plan) if !compiled.diagnostics.iter().any(|d| d.is_error()) => Ok(plan),
        _ => Err(ExitCode::InvalidInput),
    }
}

/// Compiles `file` and reports its diagnostics, keeping the compilation (its IR locates
/// `E0409` for [`manifests_or_report`]) beside the plan.
#[cfg(feature = "compiler")]
pub fn compiled_or_report(
    file: &Path,
    params: &[String],
) -> Result<(Compiled, volley_plan::Plan), ExitCode> {
    let mut compiled = compile_file(file, params)?;
    report(file, &compiled);
    match compiled.plan.take() {
        Some(plan) if !compiled.diagnostics.iter().any(|d| d.is_error()) => Ok((compiled, plan)),
        _ => Err(ExitCode::InvalidInput),
    }
}

/// Builds the run's manifests of `plan` (compiled from `file`); data that cannot be
/// delivered to a cluster is reported as `E0409` on its data declarations.
#[cfg(feature = "compiler")]
pub fn manifests_or_report(
    file: &Path,
    compiled: &Compiled,
    plan: &volley_plan::Plan,
    opts: &volley_k8s::Options,
) -> Result<volley_k8s::Manifests, ExitCode> {
    match volley_k8s::build(plan, opts) {
        Ok(m) => Ok(m),
        Err(volley_k8s::ManifestError::DataTooLarge { shares, objects }) => {
            if let Some(ir) = &compiled.ir {
                let d = volley_compiler::undeliverable_data(ir, &shares, objects as u64);
                let only = Compiled {
                    plan: None,
                    diagnostics: vec![d],
                    sources: compiled.sources.clone(),
                    ir: None,
                };
                report(file, &only);
            }
            Err(ExitCode::InvalidInput)
        }
        Err(e) => {
            errln!("error: {e}");
            Err(ExitCode::InvalidInput)
        }
    }
}

/// Prints a compilation's diagnostics to stderr, labelled with the file as the user named it.
#[cfg(feature = "compiler")]
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
    err!("{}", crate::render::diagnostics(&diags, &sources));
}
