//! Test support: the Python tools of the repo's `.venv` (kubernetes-validate, kubectl,
//! checkov), found by path, run with a deadline. A missing tool is a skip with a note
//! ([`ToolError::Missing`], which the calling test prints), except under
//! `VOLLEY_REQUIRE_TOOLS=1` (scripts/test.sh), where it is a failure.
//! Test support only; it must not be used by the binary, and it does not print.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The Kubernetes versions every manifest is validated against: the oldest supported and
/// the newest whose schemas kubernetes-validate ships.
pub const KUBERNETES_VERSIONS: &[&str] = &["1.29.0", "1.37.0"];

/// The repository root (this crate lives in `k8s/`).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("k8s/ lives in the repo")
        .to_path_buf()
}

/// Why a tool gave no verdict, or what it found wrong.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The tool is not installed: the check is skipped (the test prints this note).
    #[error("skipping the {name} check: {} is missing (run scripts/test.sh to install it)", path.display())]
    Missing { name: String, path: PathBuf },
    #[error("kubernetes-validate --strict -k {version} failed:\n{output}")]
    Failed { version: String, output: String },
    #[error("kubernetes-validate -k {version} validated nothing:\n{output}")]
    NothingValidated { version: String, output: String },
}

impl ToolError {
    /// Whether the check was skipped (the tool is missing) rather than failed.
    pub fn is_missing(&self) -> bool {
        matches!(self, ToolError::Missing { .. })
    }
}

/// `.venv/bin/NAME`, or [`ToolError::Missing`] (a skip); panics when tools are required.
pub fn venv_tool(name: &str) -> Result<PathBuf, ToolError> {
    let p = repo().join(".venv/bin").join(name);
    if p.is_file() {
        return Ok(p);
    }
    if std::env::var("VOLLEY_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!(
            "{} is missing and VOLLEY_REQUIRE_TOOLS=1 (scripts/test.sh installs it)",
            p.display()
        );
    }
    Err(ToolError::Missing {
        name: name.to_string(),
        path: p,
    })
}

/// Runs `cmd`, killing it after `limit`; panics on a hang. Output is drained while it
/// runs (a tool that writes more than a pipe holds would otherwise block).
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Output {
    use std::io::Read;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tool starts");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let e = err.join().unwrap_or_default();
            panic!(
                "{cmd:?} did not finish within {limit:?}:\n{}",
                String::from_utf8_lossy(&e)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// `kubernetes-validate --strict` of `files` for every version of
/// [`KUBERNETES_VERSIONS`]; any WARN or ERROR line, or a non-zero exit, is a failure.
/// [`ToolError::Missing`] when the tool is missing (and not required).
pub fn validate_strict(files: &[PathBuf]) -> Result<(), ToolError> {
    let tool = venv_tool("kubernetes-validate")?;
    for v in KUBERNETES_VERSIONS {
        let out = run_bounded(
            Command::new(&tool).args(["--strict", "-k", v]).args(files),
            Duration::from_secs(300),
        );
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let bad: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("WARN") || l.starts_with("ERROR") || l.contains("Traceback"))
            .collect();
        if !out.status.success() || !bad.is_empty() {
            return Err(ToolError::Failed {
                version: v.to_string(),
                output: text,
            });
        }
        let passed = text
            .lines()
            .filter(|l| l.starts_with("INFO") && l.contains("passed"))
            .count();
        if passed == 0 {
            return Err(ToolError::NothingValidated {
                version: v.to_string(),
                output: text,
            });
        }
    }
    Ok(())
}
