//! Fuzz-style test of the front end: mutated `.load` files (from examples/ and
//! tests/cases/) go through parse, check, lint and fmt, which must never panic or hang; fmt
//! must be idempotent and must not change the compiled plan (compile before and after fmt
//! and compare the plans' JSON).
//!
//! Mutations delete, swap, duplicate and insert text, and also remove or double single
//! spaces and insert whole statements at line starts, so that a share of the inputs (at
//! least 5 %, checked) still compiles and fmt's plan preservation is really exercised.
//!
//! Seeded and bounded: `VOLLEY_FUZZ_COUNT` inputs (2,000), `VOLLEY_FUZZ_SEED` (14), and at
//! most `VOLLEY_FUZZ_SECS` seconds (20; fewer inputs run on a slow machine, and the count is
//! printed). A failing input is written to target/test-tmp/fuzz-*/failing.load with the
//! seed to replay it. `bench/fuzz.sh` runs it for minutes over many seeds.

use crate::support::{repo, temp_dir};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use volley_compiler::lint::{self, Config};
use volley_compiler::{compile, CompileOptions, FsLoader, LoadError, SourceLoader};

/// A small deterministic generator (splitmix64): the test needs no crate for it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Fragments inserted by the mutator: tokens, and the shapes that once broke fmt or the
/// loader (unnamed checks with odd spacing, interpolations, thresholds, hostile paths).
const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    "=",
    "->",
    "..",
    "\"",
    "\"{",
    "}\"",
    "// c\n",
    "vu.id",
    "1s",
    "0",
    "-1",
    "99999999999",
    "400",
    "1%",
    "2/s",
    "512Mi",
    "\n",
    " ",
    "é",
    "check r.status ==200\n",
    "check (r.status==200 )\n",
    "require  1==1\n",
    "check \"n\": r.status  ==  200\n",
    "let r = get(shop, \"/api/{ vu.id }/x\")\n",
    "get(shop, \"/a/\" +  \"b\")\n",
    "get(shop, path:\"/p/{vu.id+1}\")\n",
    "if check( r.status==200 ) { sleep 1s }\n",
    "thresholds { checks: rate>99% , http_req_duration: p(95)<  300ms }\n",
    "data d = lines(\"../../../../etc/passwd\")\n",
    "data d = lines(\"/dev/zero\")\n",
    "data d = csv(\"/etc/passwd\")\n",
    "scenario s { workload = constant_vus(vus: 1, duration: 1s) iteration { check 1==1 } }\n",
    "import std/checks { ok }\n",
    "flow f() { f() }\n",
    "not ",
    " and ",
    "var ",
    "for i in 0..3 { ",
    "while ",
    " += 1\n",
    "break\n",
    "continue\n",
];

/// Statements inserted at the start of a line: most inputs then still compile, so fmt's
/// plan preservation is exercised, not only its error paths.
const LINES: &[&str] = &[
    "check vu.id>=0\n",
    "check ( vu.id  >= 0 )\n",
    "require 1==1\n",
    "check \"n\": vu.id  >= 0\n",
    "let zz = vu.id+1\n",
    "sleep 1s\n",
    "var vv = vu.id\n",
    "for ii in 0..2 { check  ii>=0 }\n",
    "while false { sleep 1s }\n",
    "// a comment\n",
    "\n",
];

fn mutate(src: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = src.chars().collect();
    for _ in 0..1 + rng.below(4) {
        let len = chars.len().max(1);
        let i = rng.below(len).min(chars.len());
        match rng.below(8) {
            // Spacing: a space removed or doubled (what fmt normalises, and what it must
            // keep where the compiler reads the text).
            5 | 6 => {
                let spaces: Vec<usize> = (0..chars.len()).filter(|&k| chars[k] == ' ').collect();
                if !spaces.is_empty() {
                    let k = spaces[rng.below(spaces.len())];
                    if rng.below(2) == 0 {
                        chars.remove(k);
                    } else {
                        chars.insert(k, ' ');
                    }
                }
            }
            7 => {
                let starts: Vec<usize> = (0..chars.len())
                    .filter(|&k| k > 0 && chars[k - 1] == '\n')
                    .map(|k| k + chars[k..].iter().take_while(|c| **c == ' ').count())
                    .collect();
                if !starts.is_empty() {
                    let at = starts[rng.below(starts.len())];
                    let line = LINES[rng.below(LINES.len())];
                    chars.splice(at..at, line.chars());
                }
            }
            0 => {
                let end = (i + rng.below(12)).min(chars.len());
                chars.drain(i..end);
            }
            1 | 2 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                chars.splice(i..i, t.chars());
            }
            3 if !chars.is_empty() => {
                let j = rng.below(chars.len());
                let i = i.min(chars.len() - 1);
                chars.swap(i, j);
            }
            _ => {
                let end = (i + rng.below(60)).min(chars.len());
                let piece: Vec<char> = chars[i..end].to_vec();
                let at = rng.below(chars.len() + 1);
                chars.splice(at..at, piece);
            }
        }
    }
    chars.into_iter().collect()
}

/// The corpus: every `.load` file under examples/ and tests/cases/.
fn corpus() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "load") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&repo().join("examples"), &mut files);
    walk(&repo().join("tests/cases"), &mut files);
    files.sort();
    files
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(&p).ok().map(|s| (p, s)))
        .collect()
}

/// The mutated entry file from memory; everything else (imports, data) from the disk
/// around the original file, through the real loader.
struct Mutated {
    entry: String,
    text: String,
    disk: FsLoader,
}

impl SourceLoader for Mutated {
    fn load_source(&self, path: &str) -> Result<String, LoadError> {
        if path == self.entry {
            return Ok(self.text.clone());
        }
        self.disk.load_source(path)
    }
    fn load_data(&self, path: &str) -> Result<Vec<u8>, LoadError> {
        self.disk.load_data(path)
    }
}

/// The plan's JSON, or the codes of the errors.
fn outcome(dir: &Path, text: &str) -> Result<String, Vec<String>> {
    let loader = Mutated {
        entry: "fuzz.load".into(),
        text: text.to_string(),
        disk: FsLoader::new(dir),
    };
    let c = compile("fuzz.load", &loader, &CompileOptions::default());
    if let (Some(ir), Some(plan)) = (&c.ir, &c.plan) {
        for d in lint::lint(ir, plan, &Config::default()) {
            let len = c.sources.get(&d.file).map_or(0, String::len);
            let s = d.span().unwrap_or_default();
            assert!(s.start <= s.end && s.end <= len, "lint span: {d:?}");
        }
    }
    match c.plan {
        Some(p) => Ok(volley_plan::to_json(&p)),
        None => Err(c
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code.clone())
            .collect()),
    }
}

/// One input through every stage; `Ok(true)` when it compiled. An `Err` says which
/// property broke.
fn one(dir: &Path, src: &str) -> Result<bool, String> {
    let _ = volley_syntax::parse(src);
    let before = outcome(dir, src);
    let compiled = before.is_ok();
    let Ok(once) = volley_syntax::format(src) else {
        return Ok(compiled);
    };
    let twice = volley_syntax::format(&once)
        .map_err(|d| format!("fmt output does not parse: {d:?}\n--- fmt\n{once}"))?;
    if twice != once {
        return Err(format!(
            "fmt is not idempotent\n--- once\n{once}\n--- twice\n{twice}"
        ));
    }
    let after = outcome(dir, &once);
    match (&before, &after) {
        (Ok(a), Ok(b)) if a == b => Ok(compiled),
        (Err(_), Err(_)) => Ok(compiled),
        _ => Err(format!(
            "fmt changed the compiled plan\n--- before fmt\n{before:?}\n--- after fmt\n{after:?}\n--- fmt\n{once}"
        )),
    }
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn mutated_files_never_panic_or_hang_and_fmt_keeps_the_plan() {
    let count = env_or("VOLLEY_FUZZ_COUNT", 2_000) as usize;
    let seed = env_or("VOLLEY_FUZZ_SEED", 14);
    let budget = Duration::from_secs(env_or("VOLLEY_FUZZ_SECS", 20));
    let corpus = corpus();
    assert!(corpus.len() >= 50, "corpus: {} files", corpus.len());
    // The worker publishes the input it is on; the test fails if one takes too long.
    let current: Arc<Mutex<(usize, String)>> = Arc::new(Mutex::new((0, String::new())));
    let (tx, rx) = mpsc::channel::<Result<bool, (String, String)>>();
    let shared = Arc::clone(&current);
    let started = Instant::now();
    let worker = std::thread::spawn(move || {
        let mut rng = Rng(seed);
        for n in 0..count {
            if started.elapsed() > budget {
                break;
            }
            let (path, text) = &corpus[rng.below(corpus.len())];
            let input = mutate(text, &mut rng);
            *shared.lock().unwrap() = (n, input.clone());
            let dir = path.parent().unwrap_or(Path::new("."));
            let result = catch_unwind(AssertUnwindSafe(|| one(dir, &input)));
            let failure = match result {
                Ok(Ok(compiled)) => {
                    if tx.send(Ok(compiled)).is_err() {
                        return;
                    }
                    None
                }
                Ok(Err(why)) => Some(why),
                Err(p) => Some(format!(
                    "panicked: {}",
                    p.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default()
                )),
            };
            if let Some(why) = failure {
                let _ = tx.send(Err((
                    input,
                    format!("input {n} (from {}): {why}", path.display()),
                )));
                return;
            }
        }
    });
    let per_input = Duration::from_secs(10);
    let (mut done, mut compiled) = (0usize, 0usize);
    let mut failures: BTreeMap<usize, String> = BTreeMap::new();
    loop {
        match rx.recv_timeout(per_input) {
            Ok(Ok(ok)) => {
                done += 1;
                compiled += usize::from(ok);
            }
            Ok(Err((input, why))) => {
                let dir = temp_dir("fuzz");
                std::fs::write(dir.join("failing.load"), &input).unwrap();
                failures.insert(
                    done,
                    format!("{why}\n(seed {seed}; input saved in {})", dir.display()),
                );
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let (n, input) = current.lock().unwrap().clone();
                let dir = temp_dir("fuzz-hang");
                std::fs::write(dir.join("failing.load"), &input).unwrap();
                panic!(
                    "input {n} hangs (over {per_input:?}; seed {seed}), saved in {}",
                    dir.display()
                );
            }
        }
    }
    let _ = worker.join();
    assert!(
        failures.is_empty(),
        "{}",
        failures.into_values().collect::<Vec<_>>().join("\n")
    );
    println!(
        "fuzz: {done} of {count} mutated inputs in {:.1} s, {compiled} of them compiled (seed {seed})",
        started.elapsed().as_secs_f64()
    );
    assert!(
        done >= count.min(200),
        "only {done} inputs ran in {budget:?}"
    );
    // Plan preservation is only exercised by inputs that compile.
    assert!(
        compiled * 20 >= done,
        "only {compiled} of {done} inputs compiled: the mutations are too destructive"
    );
}
