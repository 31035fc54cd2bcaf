//! Every script of the corpus (`tests/convert/k6/`) converts to a file that the compiler
//! accepts and the linter finds no error in, through the compiler's library (the CLI
//! tests in `tests/convert.rs` add k6 itself as the oracle).

use super::convert;
use std::path::{Path, PathBuf};
use volley_compiler::{CompileOptions, FsLoader, LoadError, SourceLoader};

/// The converted text as the entry file; everything else (data files) from the disk.
struct WithEntry {
    entry: String,
    text: String,
    disk: FsLoader,
}

impl SourceLoader for WithEntry {
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

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/convert/k6")
}

#[test]
fn every_corpus_script_compiles_and_lints_without_errors() {
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "js"))
        .collect();
    scripts.sort();
    assert!(scripts.len() >= 30);
    for script in scripts {
        let name = script.file_name().unwrap().to_string_lossy().into_owned();
        let src = std::fs::read_to_string(&script).unwrap();
        let c = convert(&src, &name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_compiles_and_lints(&name, &c.load);
    }
}

/// The converted text compiles (data files from the corpus) and lints without errors.
fn assert_compiles_and_lints(name: &str, load: &str) {
    let loader = WithEntry {
        entry: "converted.load".into(),
        text: load.to_string(),
        disk: FsLoader {
            base_dir: corpus_dir(),
            allowed: Vec::new(),
        },
    };
    let compiled = volley_compiler::compile("converted.load", &loader, &CompileOptions::default());
    let errors: Vec<_> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}\n{load}");
    let (Some(ir), Some(plan)) = (&compiled.ir, &compiled.plan) else {
        panic!("{name}: no plan");
    };
    let findings = volley_compiler::lint::lint(ir, plan, &Default::default());
    let lint_errors: Vec<_> = findings.iter().filter(|d| d.is_error()).collect();
    assert!(lint_errors.is_empty(), "{name}: {lint_errors:#?}\n{load}");
}

#[test]
fn a_left_statement_keeps_its_source_and_reason_in_place() {
    let src = "import http from 'k6/http';\n\
               export default function () {\n  const x = a ? 1 : 2;\n  http.get('http://127.0.0.1:8088/health');\n}\n";
    let c = convert(src, "t.js").unwrap();
    let at = c.load.find("not converted: a ?: expression").unwrap();
    let get = c.load.find("get(local, \"/health\")").unwrap();
    assert!(at < get, "{}", c.load);
    assert_eq!(c.report.left.len(), 1);
    assert_eq!(c.report.left[0].line, 3);
}

#[test]
fn syntax_errors_name_the_line() {
    let e = convert("let a = 1;\nexport default function ( {", "bad.js").unwrap_err();
    assert!(e.to_string().starts_with("bad.js:2:"), "{e}");
}

#[test]
fn the_response_url_converts() {
    let src = "import http from 'k6/http';\n\
               export default function () {\n  const res = http.get('http://127.0.0.1:8088/health');\n  console.log(res.url);\n}\n";
    let c = convert(src, "t.js").unwrap();
    assert!(c.load.contains("log(\"{res.url}\")"), "{}", c.load);
    assert!(c.report.left.is_empty(), "{:?}\n{}", c.report.left, c.load);
}

/// k6's `params.redirects` is the request's own `redirects:`: a constant, a value known
/// at run time, and a constant outside Volley's 0 to 1000 clamped with a note.
#[test]
fn the_redirects_param_converts() {
    let src = "import http from 'k6/http';\n\
               export default function () {\n  \
               http.get('http://127.0.0.1:8088/a', { redirects: 0 });\n  \
               http.get('http://127.0.0.1:8088/b', { redirects: __VU });\n  \
               http.post('http://127.0.0.1:8088/c', 'x', { redirects: -1, timeout: '2s' });\n}\n";
    let c = convert(src, "t.js").unwrap();
    assert!(
        c.load.contains("get(local, \"/a\", redirects: 0)"),
        "{}",
        c.load
    );
    assert!(
        c.load.contains("get(local, \"/b\", redirects: vu.id)"),
        "{}",
        c.load
    );
    assert!(c.load.contains("redirects: 0, timeout: 2s"), "{}", c.load);
    assert!(c.report.left.is_empty(), "{:?}\n{}", c.report.left, c.load);
    let notes: Vec<_> = c.report.approximated.iter().map(|n| n.line).collect();
    assert_eq!(notes, vec![5], "{:?}", c.report.approximated);
    let e = convert(&src.replace("redirects: 0", "redirects: 1.5"), "t.js").unwrap();
    assert!(
        e.report.left.iter().any(|n| n.line == 3),
        "{:?}",
        e.report.left
    );
}

/// The notes of a report part that contain `needle`.
fn notes_with<'r>(notes: &'r [crate::Note], needle: &str) -> Vec<&'r crate::Note> {
    notes.iter().filter(|n| n.what.contains(needle)).collect()
}

#[test]
fn the_vus_cookie_jar_is_vu_cookies() {
    let src = "import http from 'k6/http';\n\
               const BASE = 'http://127.0.0.1:8088';\n\
               export function setup() {\n  http.cookieJar().set(BASE, 'setup', 'yes');\n}\n\
               export default function () {\n  \
                 const jar = http.cookieJar();\n  \
                 jar.set(`${BASE}/`, 'sid', 'abc');\n  \
                 http.cookieJar().set('http://127.0.0.1:8088', 'n', 1);\n  \
                 jar.set(BASE + '/a/b', 'root', `v${__VU}`, {path: '/', http_only: true, secure: false});\n  \
                 http.get(`${BASE}/api/products`, {jar: jar});\n  \
                 jar.clear(`${BASE}/`);\n  \
                 http.get(`${BASE}/api/products`, {jar: http.cookieJar()});\n}\n";
    let c = convert(src, "t.js").unwrap();
    assert_compiles_and_lints("t.js", &c.load);
    for line in [
        "  vu.cookies.set(base, \"setup\", \"yes\")",
        "    vu.cookies.set(base, \"sid\", \"abc\")",
        "    vu.cookies.set(base, \"n\", \"{1}\")",
        "    vu.cookies.set(base, \"root\", \"v{vu.id}\")",
        "    // k6: Volley's vu.cookies.clear() empties the whole jar; k6's jar.clear(url) removes only the cookies stored for that URL's host and path (a parent domain's cookies and other paths' stay)\n    vu.cookies.clear()",
    ] {
        assert!(c.load.contains(line), "no `{line}` in:\n{}", c.load);
    }
    assert_eq!(c.load.matches("get(base, \"/api/products\")").count(), 2);
    assert!(c.report.left.is_empty(), "{:?}", c.report.left);
    // The one approximation: clear empties the whole jar.
    let approx: Vec<_> = c
        .report
        .approximated
        .iter()
        .map(|n| (n.line, n.what.as_str()))
        .collect();
    assert_eq!(approx.len(), 1, "{approx:?}");
    assert_eq!(approx[0].0, 12);
    assert!(
        approx[0]
            .1
            .starts_with("jar.clear(url) as vu.cookies.clear(): "),
        "{approx:?}"
    );
}

#[test]
fn what_volleys_jar_cannot_express_is_dropped_with_a_note() {
    let src = "import http from 'k6/http';\n\
               export default function () {\n  \
                 const jar = http.cookieJar();\n  \
                 jar.set('https://shop.test/app/cart', 'a', '1');\n  \
                 jar.set('https://shop.test/', 'b', '2', {domain: 'shop.test', path: '/app', expires: 'Mon, 01 Jan 2035 00:00:00 GMT', secure: true});\n  \
                 jar.set('https://shop.test/', 'c', '3', {max_age: 60});\n  \
                 jar.set('https://shop.test/', 'd', '4', opts);\n}\n";
    let c = convert(src, "t.js").unwrap();
    assert_compiles_and_lints("t.js", &c.load);
    assert_eq!(
        c.load.matches("vu.cookies.set(shop, ").count(),
        4,
        "{}",
        c.load
    );
    let a = &c.report.approximated;
    let at = |line: usize| -> String {
        let n: Vec<_> = a.iter().filter(|n| n.line == line).collect();
        assert_eq!(n.len(), 1, "line {line}: {a:?}");
        n[0].what.clone()
    };
    assert!(at(4).contains("k6 sends the cookie under `/app` only (the URL's path up to its last `/`), here it is sent on every path of the target"), "{}", at(4));
    let five = at(5);
    for part in [
        "option `domain` dropped: k6 sends the cookie to that domain and its subdomains, here to the target's host only",
        "option `path` dropped: k6 sends the cookie under `/app` only",
        "option `expires` dropped",
        "option `secure` dropped: k6 sends the cookie over https:// only, here over http:// too",
    ] {
        assert!(five.contains(part), "no `{part}` in {five}");
    }
    assert!(
        at(6).contains("option `max_age` dropped: the cookie stays until the jar is emptied"),
        "{}",
        at(6)
    );
    assert!(
        at(7).contains("options that are not an object literal are not read"),
        "{}",
        at(7)
    );
    // Each is said in the file too, above its call.
    assert_eq!(
        c.load
            .matches("// k6: jar.set(..) without what Volley's jar cannot express:")
            .count(),
        4,
        "{}",
        c.load
    );
    assert!(
        c.load.contains("    //   option `secure` dropped"),
        "{}",
        c.load
    );
}

#[test]
fn jar_calls_without_an_equivalent_are_left_with_the_reason() {
    let src = "import http from 'k6/http';\n\
               const early = http.cookieJar();\n\
               const own = new http.CookieJar();\n\
               export default function () {\n  \
                 const jar = http.cookieJar();\n  \
                 jar.delete('http://127.0.0.1:8088/', 'sid');\n  \
                 const seen = jar.cookiesForURL('http://127.0.0.1:8088/');\n  \
                 const ok = jar.set('http://127.0.0.1:8088/', 'a', 'b');\n  \
                 jar.set('http://127.0.0.1:8088/', 'a', 'has space');\n  \
                 const mine = new http.CookieJar();\n  \
                 own.set('http://127.0.0.1:8088/', 'a', 'b');\n  \
                 http.get('http://127.0.0.1:8088/api/products', {jar: own});\n  \
                 http.get('http://127.0.0.1:8088/api/products', {jar: mine});\n  \
                 jar.purge();\n  \
                 helper(jar);\n}\n\
               function helper(j) {\n  j.clear('http://127.0.0.1:8088/');\n}\n";
    let c = convert(src, "t.js").unwrap();
    assert_compiles_and_lints("t.js", &c.load);
    let left = &c.report.left;
    let reason = |line: usize| -> String {
        let n: Vec<_> = left.iter().filter(|n| n.line == line).collect();
        assert_eq!(n.len(), 1, "line {line}: {left:?}");
        n[0].what.clone()
    };
    assert!(
        reason(2).contains("http.cookieJar() in the init context, which k6 refuses"),
        "{}",
        reason(2)
    );
    assert!(
        reason(3).contains(
            "a cookie jar of its own (`new http.CookieJar()`): Volley has one jar per VU"
        ),
        "{}",
        reason(3)
    );
    assert!(
        reason(6).contains("jar.delete(url, name): Volley's jar has no delete of one cookie"),
        "{}",
        reason(6)
    );
    assert!(reason(7).contains("jar.cookiesForURL(url): Volley's jar cannot be read (`res.cookies` and `res.cookie(\"name\")`"), "{}", reason(7));
    assert!(
        reason(8).contains("the value of jar.set(..) (write the call as a statement)"),
        "{}",
        reason(8)
    );
    assert!(
        reason(9).contains("the cookie value \"has space\": Volley's jar takes no spaces"),
        "{}",
        reason(9)
    );
    assert!(
        reason(10).contains("a cookie jar of its own"),
        "{}",
        reason(10)
    );
    assert!(
        reason(11).contains("own.set(..) on a cookie jar of its own"),
        "{}",
        reason(11)
    );
    assert!(
        reason(14).contains("jar.purge: not a method of k6's cookie jar"),
        "{}",
        reason(14)
    );
    assert!(
        reason(15).contains("the cookie jar as a value (call `http.cookieJar()` where it is used"),
        "{}",
        reason(15)
    );
    assert_eq!(left.len(), 10, "{left:?}");
    // Both requests with a jar of their own are kept, on the VU's jar, with a note.
    let own = notes_with(
        &c.report.approximated,
        "request param `jar`: a cookie jar of its own",
    );
    assert_eq!(own.iter().map(|n| n.line).collect::<Vec<_>>(), [12, 13]);
    assert_eq!(
        c.load.matches("get(local, \"/api/products\")").count(),
        2,
        "{}",
        c.load
    );
    assert_eq!(
        c.load.matches("// k6: request param `jar`").count(),
        2,
        "{}",
        c.load
    );
    // No jar call was written.
    assert!(
        !c.load
            .lines()
            .any(|l| l.contains("vu.cookies") && !l.trim_start().starts_with("//")),
        "{}",
        c.load
    );
}

/// `options.maxRedirects` is every scenario's `http.max_redirects`, in one `http` record
/// with `noCookiesReset`'s cookies; out of Volley's range it is clamped with a note.
#[test]
fn max_redirects_is_each_scenarios_http_max_redirects() {
    let script = |n: &str| {
        format!(
            "import http from 'k6/http';\n\
             export const options = {{ vus: 1, iterations: 2, maxRedirects: {n}, noCookiesReset: true }};\n\
             export default function () {{ http.get('http://127.0.0.1:8088/'); }}\n"
        )
    };
    let c = convert(&script("3"), "t.js").unwrap();
    assert_compiles_and_lints("t.js", &c.load);
    assert!(
        c.load
            .contains("\n  http = {cookies: per_vu, max_redirects: 3}\n"),
        "{}",
        c.load
    );
    assert!(c.report.left.is_empty(), "{:?}", c.report.left);
    assert!(
        c.report.approximated.is_empty(),
        "{:?}",
        c.report.approximated
    );
    let c = convert(&script("5000"), "t.js").unwrap();
    assert_compiles_and_lints("t.js", &c.load);
    assert!(c.load.contains("max_redirects: 1000}"), "{}", c.load);
    assert_eq!(
        c.report.approximated.len(),
        1,
        "{:?}",
        c.report.approximated
    );
    let c = convert(&script("'x'"), "t.js").unwrap();
    assert!(!c.load.contains("max_redirects"), "{}", c.load);
    assert!(c.report.left[0]
        .what
        .contains("options.maxRedirects has no equivalent"));
}

#[test]
fn no_cookies_reset_is_each_scenarios_per_vu_cookies() {
    let script = |keep: &str| {
        format!(
            "import http from 'k6/http';\n\
             export const options = {{\n  \
               scenarios: {{\n    \
                 a: {{ executor: 'per-vu-iterations', vus: 1, iterations: 2 }},\n    \
                 b: {{ executor: 'shared-iterations', vus: 1, iterations: 2, exec: 'b' }},\n  \
               }},\n  \
               noCookiesReset: {keep},\n}};\n\
             export default function () {{ http.get('http://127.0.0.1:8088/'); }}\n\
             export function b() {{ http.get('http://127.0.0.1:8088/health'); }}\n"
        )
    };
    let c = convert(&script("true"), "t.js").unwrap();
    assert_compiles_and_lints("t.js", &c.load);
    assert_eq!(
        c.load.matches("\n  http = {cookies: per_vu}\n").count(),
        2,
        "{}",
        c.load
    );
    assert!(c.report.left.is_empty(), "{:?}", c.report.left);
    // `false` is the default: nothing written, nothing left.
    let c = convert(&script("false"), "t.js").unwrap();
    assert!(!c.load.contains("cookies"), "{}", c.load);
    assert!(c.report.left.is_empty(), "{:?}", c.report.left);
    // Anything else is left, as before.
    let c = convert(&script("'yes'"), "t.js").unwrap();
    assert_eq!(c.report.left.len(), 1, "{:?}", c.report.left);
    assert!(c.report.left[0]
        .what
        .contains("options.noCookiesReset has no equivalent"));
}
