//! Hostile files (issue 14): data paths that leave the test's folder, FIFOs and devices,
//! oversized files, a diagnostic past column 65,535, and `volley fmt` on files it must not
//! change the meaning of or cannot read. One regression test per case, through the binary.

use crate::support::{text, volley_in};
use std::path::{Path, PathBuf};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// A test folder `DIR/test/` holding `test.load` with `body`; returns (folder, file).
fn case(name: &str, body: &str) -> (PathBuf, PathBuf) {
    let dir = crate::support::temp_dir(name).join("test");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("test.load");
    std::fs::write(&file, body).unwrap();
    (dir, file)
}

fn with_data(decl: &str) -> String {
    format!(
        "{decl}\ntarget shop = \"http://127.0.0.1:8088\"\n\nscenario s {{\n  workload = per_vu_iterations(vus: 1, iterations: 1)\n  iteration {{\n    get(shop, \"/x/{{d.next()}}\")\n  }}\n}}\n"
    )
}

fn check(dir: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["check", "test.load"];
    args.extend_from_slice(extra);
    let out = volley_in(dir, &args, LIMIT);
    (out.status.code(), text(&out))
}

#[test]
fn a_data_path_that_climbs_out_of_the_test_folder_is_refused_with_e0407() {
    let (dir, _) = case(
        "escape",
        &with_data("data d = lines(\"../../../../../../etc/passwd\")"),
    );
    let (code, out) = check(&dir, &[]);
    assert_eq!(code, Some(104), "{out}");
    assert!(out.contains("E0407"), "{out}");
    assert!(out.contains("outside the test's folder"), "{out}");
    assert!(out.contains("--allow-path"), "the fix is named: {out}");
    // And nothing of the file reaches a compiled plan.
    let out = volley_in(&dir, &["compile", "test.load", "--out-dir", "out"], LIMIT);
    assert_eq!(out.status.code(), Some(104), "{}", text(&out));
    assert!(!dir.join("out/plan.json").exists());
}

#[test]
fn an_absolute_path_that_exists_is_not_reported_as_missing() {
    let (dir, _) = case("absolute", &with_data("data d = lines(\"/etc/passwd\")"));
    let (code, out) = check(&dir, &[]);
    assert_eq!(code, Some(104), "{out}");
    assert!(out.contains("E0407"), "{out}");
    assert!(!out.contains("no such file"), "{out}");
}

#[test]
fn allow_path_admits_a_folder_outside_the_test() {
    let (dir, _) = case("allowed", "");
    let shared = dir.parent().unwrap().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::write(shared.join("ids.txt"), "1\n2\n").unwrap();
    let abs = shared.join("ids.txt").display().to_string();
    std::fs::write(
        dir.join("test.load"),
        with_data(&format!("data d = lines(\"{abs}\")")),
    )
    .unwrap();
    std::fs::write(
        dir.join("rel.load"),
        with_data("data d = lines(\"../shared/ids.txt\")"),
    )
    .unwrap();
    let (code, out) = check(&dir, &[]);
    assert_eq!(code, Some(104), "refused without the flag: {out}");
    let shared_arg = shared.display().to_string();
    let (code, out) = check(&dir, &["--allow-path", &shared_arg]);
    assert_eq!(code, Some(0), "{out}");
    let out = volley_in(
        &dir,
        &["--allow-path", "../shared", "check", "rel.load"],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn a_fifo_data_file_is_refused_without_blocking() {
    let (dir, _) = case("fifo", &with_data("data d = lines(\"pipe.txt\")"));
    let made = std::process::Command::new("mkfifo")
        .arg(dir.join("pipe.txt"))
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    // No writer ever opens the pipe: a blocking open would hang until `volley_in` kills it.
    let (code, out) = check(&dir, &[]);
    assert_eq!(code, Some(104), "{out}");
    assert!(out.contains("E0401") && out.contains("FIFO"), "{out}");
}

#[test]
fn dev_zero_is_refused_even_when_dev_is_allowed() {
    let (dir, _) = case("devzero", &with_data("data d = lines(\"/dev/zero\")"));
    let (code, out) = check(&dir, &["--allow-path", "/dev"]);
    assert_eq!(code, Some(104), "{out}");
    assert!(
        out.contains("E0401") && out.contains("character device"),
        "{out}"
    );
}

#[test]
fn a_data_file_over_64_mib_is_refused_with_the_arithmetic() {
    let (dir, _) = case("bigcsv", &with_data("data d = csv(\"big.csv\")"));
    let row = "12345678,abcdefgh\n";
    let rows = 65 * 1024 * 1024 / row.len() + 1;
    let mut csv = String::from("id,name\n");
    csv.push_str(&row.repeat(rows));
    std::fs::write(dir.join("big.csv"), &csv).unwrap();
    let (code, out) = check(&dir, &[]);
    assert_eq!(code, Some(104), "{out}");
    let size = volley_compiler::files::thousands(csv.len() as u64);
    assert!(out.contains("E0408"), "{out}");
    assert!(
        out.contains(&format!("{size} bytes")),
        "the file's size: {out}"
    );
    assert!(out.contains("67,108,864 bytes"), "the limit: {out}");
}

#[test]
fn a_data_file_over_the_cell_limit_is_refused_with_rows_times_columns() {
    let (dir, _) = case("cells", &with_data("data d = csv(\"wide.csv\")"));
    let mut csv = String::from("a,b,c,d,e,f,g,h,i,j,k,l\n");
    csv.push_str(&"1,2,3,4,5,6,7,8,9,0,1,2\n".repeat(340_000));
    std::fs::write(dir.join("wide.csv"), &csv).unwrap();
    let (code, out) = check(&dir, &[]);
    assert_eq!(code, Some(104), "{out}");
    assert!(out.contains("E0408"), "{out}");
    assert!(
        out.contains("340,000 rows × 12 columns = 4,080,000 cells"),
        "{out}"
    );
}

#[test]
fn a_load_file_over_8_mib_is_refused() {
    let (dir, file) = case("bigload", "");
    let line = format!("// {}\n", "x".repeat(1000));
    std::fs::write(&file, line.repeat(9 * 1024)).unwrap();
    let (code, out) = check(&dir, &[]);
    assert_eq!(code, Some(104), "{out}");
    assert!(
        out.contains("E0103") && out.contains("8,388,608 bytes"),
        "{out}"
    );
}

#[test]
fn an_error_past_column_65535_is_printed_without_a_panic() {
    let (dir, file) = case("longline", "");
    let src = format!("let s = \"{}\" + nope\n", "a".repeat(70_000));
    std::fs::write(&file, src).unwrap();
    let (code, out) = check(&dir, &[]);
    assert_eq!(code, Some(104), "{out}");
    assert!(!out.contains("panicked"), "{out}");
    assert!(out.contains("E0101") && out.contains("nope"), "{out}");
    assert!(
        out.len() < 20_000,
        "the long line is windowed: {} bytes",
        out.len()
    );
}

#[test]
fn fmt_keeps_an_unnamed_check_as_written() {
    let src = "target shop = \"http://127.0.0.1:8088\"\n\nscenario s {\n  workload = per_vu_iterations(vus: 1, iterations: 1)\n  iteration {\n    let x = get(shop, \"/api/{vu.id+1}\")\n    check x.status ==200\n  }\n}\n\nthresholds {\n  checks{check: \"x.status ==200\"}: rate>99%\n}\n";
    let (dir, file) = case("fmtcheck", src);
    let before = volley_in(&dir, &["plan", "test.load", "--json"], LIMIT);
    assert_eq!(before.status.code(), Some(0), "{}", text(&before));
    let out = volley_in(&dir, &["fmt", "test.load"], LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let formatted = std::fs::read_to_string(&file).unwrap();
    assert!(formatted.contains("check x.status ==200\n"), "{formatted}");
    assert!(formatted.contains("\"/api/{vu.id+1}\""), "{formatted}");
    assert!(formatted.contains("rate>99%"), "{formatted}");
    let after = volley_in(&dir, &["plan", "test.load", "--json"], LIMIT);
    assert_eq!(before.stdout, after.stdout, "fmt changed the plan");
}

#[test]
fn fmt_on_invalid_utf8_exits_104_like_check() {
    let (dir, file) = case("utf8", "");
    std::fs::write(&file, b"let x = \"\xff\xfe\"\n").unwrap();
    let (code, out) = check(&dir, &[]);
    assert_eq!(code, Some(104), "{out}");
    let out = volley_in(&dir, &["fmt", "test.load"], LIMIT);
    assert_eq!(out.status.code(), Some(104), "{}", text(&out));
    assert!(text(&out).contains("UTF-8"), "{}", text(&out));
}
