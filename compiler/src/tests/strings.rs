//! String methods and the std/encoding, std/crypto and std/time functions at compile time:
//! their types, the constant checks of patterns and formats (E0215-E0217) at the
//! argument's span, and secret taint through every one of them (a value computed from a
//! secret is a secret; an HMAC under a secret key may go in a header, never in a URL).

use super::{compile_src, errors, show};

fn with_iteration(imports: &str, body: &str) -> String {
    format!(
        "{imports}\ntarget api = \"http://127.0.0.1:8088\"\nsecret key = env(\"KEY\")\nscenario s {{\n  workload = constant_vus(vus: 1, duration: 1s)\n  iteration {{\n{body}\n  }}\n}}\n"
    )
}

const STD: &str = "import std/encoding\nimport std/crypto\nimport std/time\nimport std/data";

fn clean(body: &str) {
    let src = with_iteration(STD, body);
    let c = compile_src(&src);
    assert!(errors(&src, &c).is_empty(), "{body}\n{}", show(&c));
}

fn one(body: &str, code: &str, under: &str) {
    let src = with_iteration(STD, body);
    let c = compile_src(&src);
    assert_eq!(
        errors(&src, &c),
        vec![(code.to_string(), under.to_string())],
        "{body}\n{}",
        show(&c)
    );
}

#[test]
fn methods_and_functions_are_typed() {
    clean(
        r#"    let r = get(api, "/")
    let id = r.body.find("id=(\\d+)", 1)
    let all = r.body.captures("(a)(b)?")
    let parts = "a,b".split(",")
    check "lists": all.len() == parts.len() and parts.contains("a")
    check "bool": r.body.matches("^\\\{") or false
    let s = id.trim().upper().lower().replace("[0-9]", "_")
    check "ints": time.unix() + time.unix_ms() > 0
    let n = time.now()
    let h = crypto.hmac_sha256(key, crypto.sha256(encoding.hex(encoding.base64(n))))
    get(api, "/x/{encoding.url_encode(s)}", headers: {"x-sig": h})"#,
    );
    one(r#"    check "n": "a".trim() > 1"#, "E0201", "1");
    one(r#"    let n = "a".find(1)"#, "E0201", "1");
    one(r#"    let n = "a".split()"#, "E0304", "\"a\".split()");
}

#[test]
fn constant_patterns_and_formats_are_checked_where_written() {
    one(r#"    let x = "a".find("(a")"#, "E0215", "\"(a\"");
    one(
        r#"    let x = "a".replace("a\{2,1\}", "")"#,
        "E0215",
        "\"a\\{2,1\\}\"",
    );
    one(r#"    let x = "a".find("(a)", 2)"#, "E0217", "2");
    one(r#"    let x = "a".find("a", -1)"#, "E0217", "-1");
    clean(r#"    let x = "a".find("(a)(?P<b>b)", 2)"#);
    one(
        r#"    let x = time.format(time.unix_ms(), "%Y-%K")"#,
        "E0216",
        "\"%Y-%K\"",
    );
    one(
        r#"    let x = data.random_string(4, charset: "")"#,
        "E0217",
        "\"\"",
    );
    // A pattern known only at run time is compiled then.
    clean(
        r#"    let r = get(api, "/")
    let x = "a".find(r.body)"#,
    );
}

#[test]
fn a_secret_stays_a_secret_through_every_function() {
    // Labelled at the secret inside a method chain, at the call of a std function.
    for (expr, under) in [
        ("key.upper()", "key"),
        ("key.trim().lower()", "key"),
        ("key.replace(\"a\", \"b\")", "key"),
        ("\"x\".replace(\"a\", key)", "key"),
        ("key.find(\"a+\")", "key"),
        ("key.find(\"(a+)\", 1)", "key"),
        ("encoding.base64(key)", "encoding.base64(key)"),
        ("encoding.hex(key)", "encoding.hex(key)"),
        ("encoding.url_encode(key)", "encoding.url_encode(key)"),
        ("crypto.sha256(key)", "crypto.sha256(key)"),
        (
            "crypto.hmac_sha256(key, \"body\")",
            "crypto.hmac_sha256(key, \"body\")",
        ),
        (
            "crypto.hmac_sha256(\"k\", key)",
            "crypto.hmac_sha256(\"k\", key)",
        ),
        ("time.format(1, key)", "time.format(1, key)"),
    ] {
        one(&format!("    get(api, \"/a/{{{expr}}}\")"), "E0501", under);
        one(&format!("    log({expr})"), "E0504", under);
    }
    // Split and captures keep it in every element; len and matches too.
    one(r#"    log("{key.split(",").len()}")"#, "E0504", "key");
    one(r#"    log("{key.matches("a")}")"#, "E0504", "key");
}

#[test]
fn an_hmac_under_a_secret_key_goes_in_headers_and_bodies() {
    clean(
        r#"    let body = "\{\"a\":1\}"
    let sig = crypto.hmac_sha256(key, body)
    post(api, "/signed", body: body, headers: {"x-signature": sig, "x-digest": crypto.sha256(body)})
    post(api, "/signed", json: {sig: sig})"#,
    );
    one(
        r#"    let sig = crypto.hmac_sha256(key, "b")
    get(api, "/signed", query: {sig: sig})"#,
        "E0501",
        "sig",
    );
    one(
        r#"    let sig = crypto.hmac_sha256(key, "b")
    log("signed: {sig}")"#,
        "E0504",
        "sig",
    );
    // A digest of public data is not secret.
    clean(r#"    get(api, "/d/{crypto.sha256("body")}")"#);
}

#[test]
fn a_secret_through_a_flow_and_string_functions_is_still_tracked() {
    let src = with_iteration(
        "import std/crypto",
        r#"    let sig = sign(key.trim(), "b")
    get(api, "/x/{sig}")"#,
    )
    .replace(
        "scenario s",
        "flow sign(k: string, m: string) -> string {\n  let s = crypto.hmac_sha256(k, m)\n  return s.lower()\n}\nscenario s",
    );
    let c = compile_src(&src);
    let errs = errors(&src, &c);
    assert_eq!(errs.len(), 1, "{}", show(&c));
    assert_eq!(errs[0].0, "E0501");
}
