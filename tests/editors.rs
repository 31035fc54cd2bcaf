//! editors/vscode: the extension's manifest and TextMate grammar are valid and agree
//! with each other, every grammar pattern compiles, and (when npm is installed) `npm`
//! builds the `.vsix`.

use crate::support::{repo, skip_or_fail, temp_dir};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every `match`, `begin` and `end` regex in the grammar, with where it is.
fn patterns(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                let here = format!("{at}/{k}");
                match (k.as_str(), x) {
                    ("match" | "begin" | "end", Value::String(re)) => out.push((here, re.clone())),
                    _ => patterns(x, &here, out),
                }
            }
        }
        Value::Array(xs) => {
            for (i, x) in xs.iter().enumerate() {
                patterns(x, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn regex(re: &str) -> fancy_regex::Regex {
    fancy_regex::Regex::new(re).unwrap_or_else(|e| panic!("`{re}` does not compile: {e}"))
}

#[test]
fn the_extension_manifest_and_grammar_are_valid() {
    let dir = repo().join("editors/vscode");
    let pkg = read_json(&dir.join("package.json"));
    for field in ["name", "publisher", "version", "main", "engines"] {
        assert!(!pkg[field].is_null(), "package.json has `{field}`");
    }
    assert!(dir.join(pkg["main"].as_str().unwrap()).is_file());
    assert!(pkg["dependencies"]["vscode-languageclient"].is_string());
    assert!(pkg["scripts"]["package"]
        .as_str()
        .unwrap()
        .contains("vsce package"));
    let lang = &pkg["contributes"]["languages"][0];
    assert_eq!(lang["id"], "volley");
    assert_eq!(lang["extensions"], serde_json::json!([".load"]));
    read_json(&dir.join(lang["configuration"].as_str().unwrap()));
    let g = &pkg["contributes"]["grammars"][0];
    assert_eq!(g["language"], "volley");
    let grammar = read_json(&dir.join(g["path"].as_str().unwrap()));
    assert_eq!(grammar["scopeName"], g["scopeName"]);
    // Every include names a repository entry.
    let text = grammar.to_string();
    for inc in text.split("\"include\":\"#").skip(1) {
        let name = &inc[..inc.find('"').unwrap()];
        assert!(
            !grammar["repository"][name].is_null(),
            "#{name} is in the repository"
        );
    }
    let mut all = Vec::new();
    patterns(&grammar, "", &mut all);
    assert!(all.len() > 10);
    for (_, re) in &all {
        regex(re);
    }
    // The extension starts the server.
    let js = std::fs::read_to_string(dir.join("extension.js")).unwrap();
    assert!(js.contains("'lsp'") && js.contains("vscode-languageclient"));
    // A few scopes land where they should.
    let find = |name: &str| -> Vec<fancy_regex::Regex> {
        all.iter()
            .filter(|(at, _)| at.contains(name))
            .map(|(_, re)| regex(re))
            .collect()
    };
    let hits =
        |res: &[fancy_regex::Regex], s: &str| res.iter().any(|r| r.is_match(s).unwrap_or(false));
    let numbers = find("/number/");
    for lit in ["400ms", "2m", "200/s", "512Mi", "99.9%", "10"] {
        assert!(hits(&numbers, lit), "{lit} is a number");
    }
    let keywords = find("/keyword/");
    for k in [
        "flow",
        "scenario",
        "iteration",
        "check",
        "think",
        "thresholds",
    ] {
        assert!(hits(&keywords, k), "{k} is a keyword");
    }
    assert!(hits(&find("/comment/"), "// a comment"));
    assert!(hits(&find("/builtin/"), "constant_vus"));
}

/// `npm install` then `npm run package` in a copy of editors/vscode, bounded in time.
/// Without npm the test is skipped (it fails with VOLLEY_REQUIRE_TOOLS=1); a failing npm
/// (no registry) also only skips unless VOLLEY_REQUIRE_TOOLS=1.
#[test]
fn npm_builds_the_vsix() {
    let npm_works = Command::new("npm")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !npm_works {
        skip_or_fail("npm");
        return;
    }
    let work = temp_dir("vsix");
    let src = repo().join("editors/vscode");
    copy_dir(&src, &work);
    let run = |args: &[&str], limit: Duration| -> bool {
        let mut child = Command::new("npm")
            .args(args)
            .current_dir(&work)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("npm starts");
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let out = child.wait_with_output().unwrap();
                if !status.success() {
                    eprintln!(
                        "npm {args:?} failed:\n{}{}",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                return status.success();
            }
            if start.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                eprintln!("npm {args:?} did not finish within {limit:?}");
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let install = ["install", "--no-audit", "--no-fund", "--loglevel=error"];
    if !run(&install, Duration::from_secs(300)) {
        skip_or_fail("npm install (the npm registry)");
        return;
    }
    assert!(
        run(&["run", "package"], Duration::from_secs(300)),
        "npm run package"
    );
    let vsix = std::fs::read(work.join("volley.vsix")).expect("volley.vsix was built");
    assert!(vsix.starts_with(b"PK"), "a .vsix is a zip archive");
    let names = String::from_utf8_lossy(&vsix);
    for f in [
        "extension/package.json",
        "extension/extension.js",
        "extension/syntaxes/volley.tmLanguage.json",
        "extension/node_modules/vscode-languageclient",
    ] {
        assert!(names.contains(f), "the .vsix holds {f}");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let name = e.file_name();
        if name == "node_modules" || name.to_string_lossy().ends_with(".vsix") {
            continue;
        }
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(&name));
        } else {
            std::fs::copy(&p, to.join(&name)).unwrap();
        }
    }
}
