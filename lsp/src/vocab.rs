//! The built-in names of the language (from the compiler's tables) and what hover says
//! about each.

use volley_compiler::editor;

/// Threshold aggregations (`p(95)`, `rate`, `count`, ...).
pub const AGGREGATIONS: &[&str] = &["p", "avg", "min", "max", "med", "count", "rate", "value"];

/// The words of the language.
pub const KEYWORDS: &[&str] = &[
    "import",
    "param",
    "target",
    "data",
    "secret",
    "metric",
    "let",
    "var",
    "fn",
    "flow",
    "scenario",
    "setup",
    "teardown",
    "thresholds",
    "fleet",
    "iteration",
    "check",
    "require",
    "sleep",
    "think",
    "group",
    "if",
    "else",
    "repeat",
    "return",
    "for",
    "in",
    "while",
    "break",
    "continue",
    "and",
    "or",
    "not",
    "true",
    "false",
    "null",
    "workload",
    "start",
    "graceful_stop",
    "tags",
    "http",
    "abort_on_fail",
];

/// Whether `name` is a built-in function, workload, metric or value word.
pub fn is_builtin(name: &str) -> bool {
    editor::workloads().iter().any(|(w, _)| *w == name)
        || editor::request_methods().contains(&name)
        || name == "request"
        || editor::placed_builtins().iter().any(|(b, _)| *b == name)
        || editor::builtin_metrics().iter().any(|(m, _)| *m == name)
        || editor::picks().contains(&name)
        || editor::data_formats().contains(&name)
        || ["rate", "json"].contains(&name)
        || AGGREGATIONS.contains(&name)
}

/// A workload's signature: `constant_vus(vus = default, duration)`.
pub fn workload_signature(name: &str) -> Option<String> {
    let w = editor::workloads();
    let (_, params) = w.iter().find(|(n, _)| *n == name)?;
    let ps: Vec<String> = params
        .iter()
        .map(|(p, has_default)| {
            if *has_default {
                format!("{p}?")
            } else {
                (*p).to_string()
            }
        })
        .collect();
    Some(format!("{name}({})", ps.join(", ")))
}

/// Markdown describing a built-in name.
pub fn describe(name: &str) -> Option<String> {
    if let Some(sig) = workload_signature(name) {
        return Some(format!(
            "```volley\n{sig}\n```\nworkload (k6's executor of the same name); `?` marks a parameter with a default"
        ));
    }
    if editor::request_methods().contains(&name) || name == "request" {
        let head = if name == "request" {
            "request(\"METHOD\", target, path, ..)".to_string()
        } else {
            format!("{name}(target, path, ..)")
        };
        return Some(format!(
            "```volley\n{head}\n```\nan HTTP request returning a `Response`; named options: {}",
            editor::request_options()
                .iter()
                .map(|o| format!("`{o}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some((_, place)) = editor::placed_builtins().iter().find(|(b, _)| *b == name) {
        return Some(format!(
            "```volley\n{name}(..)\n```\nbuilt-in, used {place}"
        ));
    }
    if let Some((_, kind)) = editor::builtin_metrics().iter().find(|(m, _)| *m == name) {
        return Some(format!("```volley\n{name}\n```\nbuilt-in metric ({kind})"));
    }
    if editor::picks().contains(&name) {
        return Some(format!(
            "`{name}`: a pick strategy of a data source (`pick: {name}`)"
        ));
    }
    if AGGREGATIONS.contains(&name) {
        return Some(format!("`{name}`: a threshold aggregation"));
    }
    None
}

/// Markdown describing a namespace (`vu`: its values).
pub fn describe_namespace(ns: &str) -> String {
    if ns == "setup" {
        return "`setup`: the values of the `setup { .. }` block's top-level `let`s, computed once for the whole run".into();
    }
    let values = editor::identities()
        .into_iter()
        .find(|(n, _)| *n == ns)
        .map(|(_, v)| v)
        .unwrap_or_default();
    format!(
        "`{ns}`: identity values {}",
        values
            .iter()
            .map(|v| format!("`{ns}.{v}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}
