//! Names: JavaScript identifiers and k6 metric or scenario names as `.load` identifiers.

/// Words a `.load` name cannot be (keywords), and names the language already gives a
/// meaning in every file (built-in values and calls).
const TAKEN: &[&str] = &[
    "import",
    "param",
    "target",
    "secret",
    "let",
    "var",
    "fn",
    "flow",
    "scenario",
    "teardown",
    "thresholds",
    "fleet",
    "iteration",
    "require",
    "sleep",
    "think",
    "group",
    "if",
    "else",
    "repeat",
    "for",
    "while",
    "break",
    "continue",
    "return",
    "true",
    "false",
    "and",
    "or",
    "not",
    "in",
    "data",
    "metric",
    "setup",
    "check",
    "vu",
    "test",
    "runner",
    "env",
    "log",
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "head",
    "options",
    "request",
    "file",
    "json",
    "csv",
    "lines",
    "trend",
    "counter",
    "rate",
    "gauge",
    "at",
    "after",
    "duration",
    "int",
    "float",
    "string",
    "bool",
    "url",
    "size",
    "percent",
    "list",
    "encoding",
    "crypto",
    "time",
    "profiles",
    "checks",
    "auth",
    "http",
    "constant_vus",
    "ramping_vus",
    "constant_arrival_rate",
    "ramping_arrival_rate",
    "shared_iterations",
    "per_vu_iterations",
];

/// `raw` as a `.load` identifier: letters, digits and `_`, not starting with a digit, never
/// a keyword or built-in name (those get a `_v` suffix).
pub fn ident(raw: &str) -> String {
    let mut out: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if out.starts_with("__") {
        out = out.trim_start_matches('_').to_string();
        if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
            out.insert_str(0, "v_");
        }
    }
    if TAKEN.contains(&out.as_str()) {
        out.push_str("_v");
    }
    out
}

/// Whether an environment variable's name looks like a credential, as the compiler's
/// E0509 decides: `TOKEN`, `PASSWORD`, `SECRET`, `KEY`, `AUTH`, `COOKIE`, `SESSION` (and a
/// few more) as a word between underscores, or a word ending in `TOKEN` or `PASSWORD`.
pub fn looks_secret(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "TOKEN",
        "PASSWORD",
        "SECRET",
        "KEY",
        "AUTH",
        "COOKIE",
        "SESSION",
        "PASS",
        "PWD",
        "APIKEY",
        "CREDENTIALS",
        "CREDENTIAL",
        "BEARER",
        "JWT",
    ];
    let upper = name.to_ascii_uppercase();
    upper.split(['_', '-']).any(|w| {
        WORDS.contains(&w) || w.ends_with("TOKEN") || w.ends_with("PASSWORD") || w.ends_with("KEY")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert_eq!(ident("my-scenario"), "my_scenario");
        assert_eq!(ident("data"), "data_v");
        assert_eq!(ident("9lives"), "_9lives");
        assert_eq!(ident("baseUrl"), "baseUrl");
    }

    #[test]
    fn credentials() {
        assert!(looks_secret("API_TOKEN"));
        assert!(looks_secret("password"));
        assert!(looks_secret("ADMIN_KEY"));
        assert!(!looks_secret("BASE_URL"));
        assert!(!looks_secret("PAGE_SIZE"));
    }
}
