//! Shared helpers: run the built `volley` binary with a time bound, find repo files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli crate lives in the repo")
        .to_path_buf()
}

pub fn volley_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_volley"))
}

/// Runs `volley ARGS` in `dir`, killing it after `limit`; panics on a hang.
pub fn volley_in(dir: &Path, args: &[&str], limit: Duration) -> Output {
    volley_env(dir, args, &[], limit)
}

pub fn volley_env(dir: &Path, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    let mut child = Command::new(volley_bin())
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("volley binary starts");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait on volley").is_some() {
            return child.wait_with_output().expect("collect output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("collect output");
            panic!(
                "volley {args:?} did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn volley(args: &[&str]) -> Output {
    volley_in(&repo(), args, Duration::from_secs(120))
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A fresh temporary directory under the target dir (kept on failure for inspection).
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = repo()
        .join("target")
        .join("test-tmp")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// Every ```load block of a markdown file, with the line it starts on.
pub fn load_blocks(markdown: &str) -> Vec<(usize, String)> {
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

/// Copies the example data files next to a temp `.load` file so its `data` items resolve.
pub fn with_example_data(dir: &Path) {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("create data dir");
    for f in ["users.csv", "orders.json"] {
        std::fs::copy(repo().join("examples/data").join(f), data.join(f)).expect("copy data");
    }
}
