//! Every compile error the compiler reports: its stable code, a one-line description
//! (the `TABLE`, used for docs and tests) and the one function that words it.
//!
//! Codes are stable: tests and the invalid-file corpus refer to them. `E0001`/`E0002`
//! belong to the parser. Families: `E01xx` names, `E02xx` types and units, `E03xx`
//! fields and arguments, `E04xx` data files, `E05xx` secrets, `E06xx` params, `E07xx`
//! other semantic rules. Each diagnostic has a primary label and a help with a concrete
//! fix. The file is filled in by the checker; nothing here does IO.

use crate::files::{
    bytes_text, thousands, LoadError, MAX_DATA_BYTES, MAX_DATA_CELLS, MAX_DATA_ROWS,
    MAX_SOURCE_BYTES,
};
use crate::suggest::hint;
use volley_syntax::ast::Span;
use volley_syntax::Diagnostic;

/// One row of the code table.
pub struct CodeDoc {
    pub code: &'static str,
    pub summary: &'static str,
}

/// Every code the compiler emits, with one line of documentation.
pub const TABLE: &[CodeDoc] = &[
    CodeDoc { code: "E0101", summary: "unknown name (with a \"did you mean\" over the names in scope)" },
    CodeDoc { code: "E0102", summary: "a name (or a block such as `fleet`) is defined twice" },
    CodeDoc { code: "E0103", summary: "unknown module, or an unreadable `.load` file (missing, not a regular file, not UTF-8, over 8 MiB)" },
    CodeDoc { code: "E0104", summary: "a module has no item of that name (`import std/checks { okay }`, `profiles.strss`)" },
    CodeDoc { code: "E0105", summary: "a request goes to something that is not a declared `target`" },
    CodeDoc { code: "E0106", summary: "unknown identity value (`vu.idx`)" },
    CodeDoc { code: "E0107", summary: "unknown setup value (`setup.tokn`) or no setup block" },
    CodeDoc { code: "E0108", summary: "a threshold names a metric that is neither built in nor declared" },
    CodeDoc { code: "E0109", summary: "`after(X)` names an unknown scenario" },
    CodeDoc { code: "E0201", summary: "mismatched types" },
    CodeDoc { code: "E0202", summary: "a plain number where a duration, size, rate or percentage is expected (\"write 400ms\")" },
    CodeDoc { code: "E0203", summary: "a value with a unit where a plain number is expected (`vus: 10s`)" },
    CodeDoc { code: "E0204", summary: "a rate stage (`2m -> 500/s`) in `ramping_vus`" },
    CodeDoc { code: "E0205", summary: "a VU-count stage (`1m -> 500`) in `ramping_arrival_rate`" },
    CodeDoc { code: "E0206", summary: "unknown type name" },
    CodeDoc { code: "E0207", summary: "a value out of its allowed range (negative duration, zero VUs, `max_vus` below `pre_allocated_vus`, ...)" },
    CodeDoc { code: "E0208", summary: "a malformed URL or CIDR" },
    CodeDoc { code: "E0209", summary: "a threshold aggregation that does not apply to the metric's type (`p(95)` on a counter)" },
    CodeDoc { code: "E0210", summary: "an operator applied to types it does not support" },
    CodeDoc { code: "E0211", summary: "something that is not a value used as one (a flow, a module, a data source), or a call of a non-function" },
    CodeDoc { code: "E0301", summary: "unknown field in a block or record (scenario, fleet, http options, resources, record types)" },
    CodeDoc { code: "E0302", summary: "unknown named argument (workloads, requests, flows, fns, data sources)" },
    CodeDoc { code: "E0303", summary: "a required field or argument is missing (`workload`, `duration`, ...)" },
    CodeDoc { code: "E0304", summary: "wrong number of arguments" },
    CodeDoc { code: "E0305", summary: "unknown field or method on a value (`res.stauts`, `res.jsn(..)`)" },
    CodeDoc { code: "E0306", summary: "a field or argument given twice" },
    CodeDoc { code: "E0307", summary: "unknown workload (`constant_vu`)" },
    CodeDoc { code: "E0308", summary: "a value outside a field's choices (`placement = spred`, `dns`, `cleanup`, `runners`)" },
    CodeDoc { code: "E0309", summary: "unknown threshold option (`abort_on_fial`)" },
    CodeDoc { code: "E0401", summary: "a data file is missing or unreadable, or not a regular file (a FIFO, a device, a directory)" },
    CodeDoc { code: "E0402", summary: "a data file is malformed (bad CSV, JSON that is not an array of objects, no rows)" },
    CodeDoc { code: "E0403", summary: "unknown pick strategy (`pick: uniqe`)" },
    CodeDoc { code: "E0404", summary: "a data row has no such column (`users.next().emial`)" },
    CodeDoc { code: "E0405", summary: "unknown data format (`xml(..)`): csv, json or lines" },
    CodeDoc { code: "E0406", summary: "a malformed data declaration (path not a constant string)" },
    CodeDoc { code: "E0407", summary: "a data or imported file lies outside the test's folder tree (allow a folder with `--allow-path DIR`)" },
    CodeDoc { code: "E0408", summary: "a data file is over the limits: 16 MiB, 100,000 rows, 1,000,000 cells (rows × columns)" },
    CodeDoc { code: "E0501", summary: "a secret flows into a URL, path or query" },
    CodeDoc { code: "E0502", summary: "a secret flows into a check, require or group name" },
    CodeDoc { code: "E0503", summary: "a secret flows into a tag or request name" },
    CodeDoc { code: "E0504", summary: "a secret flows into `log`" },
    CodeDoc { code: "E0505", summary: "a secret flows into a metric value" },
    CodeDoc { code: "E0506", summary: "`fleet.secrets` names a secret the file does not declare" },
    CodeDoc { code: "E0507", summary: "a secret must come from `env(\"VAR\")`" },
    CodeDoc { code: "E0508", summary: "a secret is used where a compile-time constant is needed" },
    CodeDoc { code: "E0601", summary: "`--param` names an unknown param" },
    CodeDoc { code: "E0602", summary: "a `--param` value does not parse as the param's type" },
    CodeDoc { code: "E0603", summary: "a param's default has the wrong type" },
    CodeDoc { code: "E0604", summary: "a param type that cannot be given on the command line" },
    CodeDoc { code: "E0701", summary: "`start = after(..)` forms a cycle" },
    CodeDoc { code: "E0702", summary: "a check, require, group or request name that is not a constant string" },
    CodeDoc { code: "E0703", summary: "a value known only at run time where a compile-time constant is needed (fn arguments, top-level let, workloads)" },
    CodeDoc { code: "E0704", summary: "evaluating a `fn` at compile time fails (division by zero, overflow, an invalid workload)" },
    CodeDoc { code: "E0705", summary: "recursion in fns, flows or constants" },
    CodeDoc { code: "E0706", summary: "`return` outside a flow, or `return` of a value from a flow without `-> T`" },
    CodeDoc { code: "E0707", summary: "a flow with `-> T` can finish without returning" },
    CodeDoc { code: "E0708", summary: "something without a value used as one (`m.add(1)`, a flow without `-> T`)" },
    CodeDoc { code: "E0709", summary: "a value not available here (`vu.id` in setup, `setup.x` inside setup)" },
    CodeDoc { code: "E0710", summary: "a built-in used outside its place (`env` outside `secret`, `p(..)` outside thresholds, ...)" },
];

fn err(
    code: &str,
    message: String,
    span: Span,
    label: impl Into<String>,
    help: String,
) -> Diagnostic {
    Diagnostic::error(code, message)
        .with_label(span, label)
        .with_help(help)
}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---- E01xx names ----

/// E0101. `what` is "name", "target", "flow", ...; `scope_help` says what to declare.
pub fn unknown_name(span: Span, name: &str, what: &str, suggestion: &Option<String>) -> Diagnostic {
    let help = hint(suggestion).unwrap_or_else(|| match what {
        "target" => format!("declare it: `target {name} = \"http://…\"`"),
        "flow" | "function" => {
            format!("declare it: `flow {name}() {{ … }}`, or import the module that has it")
        }
        _ => format!("declare it first (`let {name} = …`), or import the module that defines it"),
    });
    err(
        "E0101",
        format!("unknown {what} `{name}`"),
        span,
        "not found in this scope",
        help,
    )
}

/// E0101, for a name the standard library has: says which import brings it.
pub fn unknown_name_in_std(span: Span, name: &str, what: &str, import: &str) -> Diagnostic {
    err(
        "E0101",
        format!("unknown {what} `{name}`"),
        span,
        "not found in this scope",
        format!("it is in the standard library: add `{import}`"),
    )
}

/// E0102
pub fn duplicate(span: Span, name: &str, first: Span) -> Diagnostic {
    Diagnostic::error("E0102", format!("`{name}` is defined twice"))
        .with_label(span, "defined again here")
        .with_note(first, "first defined here")
        .with_help(format!("rename one of them or remove the second `{name}`"))
}

/// E0102
pub fn builtin_metric_clash(span: Span, name: &str) -> Diagnostic {
    err(
        "E0102",
        format!("`{name}` is already a built-in metric"),
        span,
        "clashes with a built-in metric",
        format!("give your metric another name, e.g. `my_{name}`"),
    )
}

/// E0103
pub fn unknown_module(
    span: Span,
    path: &str,
    suggestion: &Option<String>,
    available: &[&str],
) -> Diagnostic {
    let help =
        hint(suggestion).unwrap_or_else(|| format!("the standard library has {}", list(available)));
    err(
        "E0103",
        format!("unknown module `{path}`"),
        span,
        "no such module",
        help,
    )
}

/// E0103, or E0407 when the imported file lies outside the test's folder.
pub fn unreadable_import(span: Span, path: &str, why: &LoadError) -> Diagnostic {
    if let LoadError::Outside { resolved, root } = why {
        return path_outside(span, path, resolved, root);
    }
    let help = match why {
        LoadError::TooLarge { .. } => format!(
            "a .load file may be at most {}; split it into modules",
            bytes_text(MAX_SOURCE_BYTES)
        ),
        LoadError::NotRegular(_) => "import a regular `.load` file".into(),
        _ => "the path is relative to the importing file's directory; check that the file exists"
            .into(),
    };
    err(
        "E0103",
        format!("cannot import `{path}`: {why}"),
        span,
        "cannot read this file",
        help,
    )
}

/// E0103: the entry file itself cannot be read (no span: there is no text to point into).
pub fn unreadable_entry(entry: &str, why: &LoadError) -> Diagnostic {
    let help = match why {
        LoadError::TooLarge { .. } => format!(
            "a .load file may be at most {}; split it into modules",
            bytes_text(MAX_SOURCE_BYTES)
        ),
        LoadError::NotUtf8 => "save the file as UTF-8".into(),
        _ => "check the path of the .load file".into(),
    };
    Diagnostic::error("E0103", format!("cannot read `{entry}`: {why}"))
        .with_label(Span::default(), "cannot read this file")
        .with_help(help)
}

/// E0104
pub fn unknown_module_item(
    span: Span,
    module: &str,
    name: &str,
    suggestion: &Option<String>,
    available: &[String],
) -> Diagnostic {
    let help = hint(suggestion).unwrap_or_else(|| {
        let names: Vec<&str> = available.iter().map(String::as_str).collect();
        format!("`{module}` provides {}", list(&names))
    });
    err(
        "E0104",
        format!("module `{module}` has no item `{name}`"),
        span,
        "not in this module",
        help,
    )
}

/// E0105. `found` describes the argument ("a string", "`x`, a flow").
pub fn not_a_target(span: Span, found: &str, url_literal: Option<&str>) -> Diagnostic {
    let help = match url_literal {
        Some(url) => format!(
            "requests only go to declared targets; declare `target NAME = \"{url}\"` and pass NAME"
        ),
        None => "requests only go to declared targets; declare `target NAME = \"http://…\"` and pass NAME".into(),
    };
    err(
        "E0105",
        "a request must go to a declared target".into(),
        span,
        format!("{found} is not a target"),
        help,
    )
}

/// E0106
pub fn unknown_identity(
    span: Span,
    ns: &str,
    field: &str,
    suggestion: &Option<String>,
    available: &[&str],
) -> Diagnostic {
    let help = hint(suggestion).unwrap_or_else(|| format!("`{ns}` has {}", list(available)));
    err(
        "E0106",
        format!("`{ns}` has no value `{field}`"),
        span,
        "unknown identity value",
        help,
    )
}

/// E0107
pub fn unknown_setup_value(
    span: Span,
    name: &str,
    suggestion: &Option<String>,
    have_setup: bool,
) -> Diagnostic {
    let help = if have_setup {
        hint(suggestion).unwrap_or_else(|| {
            "setup values are the top-level `let`s of the `setup { .. }` block".into()
        })
    } else {
        format!("add a `setup {{ let {name} = … }}` block")
    };
    let message = if have_setup {
        format!("setup has no value `{name}`")
    } else {
        format!("`setup.{name}` is used but the file has no `setup` block")
    };
    err("E0107", message, span, "unknown setup value", help)
}

/// E0108
pub fn unknown_metric(span: Span, name: &str, suggestion: &Option<String>) -> Diagnostic {
    let help = hint(suggestion).unwrap_or_else(|| {
        format!("declare it (`metric {name} = trend(duration)`) or use a built-in metric such as `http_req_duration`")
    });
    err(
        "E0108",
        format!("unknown metric `{name}`"),
        span,
        "neither built in nor declared",
        help,
    )
}

/// E0109
pub fn unknown_scenario(span: Span, name: &str, suggestion: &Option<String>) -> Diagnostic {
    let help = hint(suggestion)
        .unwrap_or_else(|| "`after(..)` takes the name of another scenario of this file".into());
    err(
        "E0109",
        format!("unknown scenario `{name}`"),
        span,
        "no scenario of this name",
        help,
    )
}

// ---- E02xx types and units ----

/// E0201
pub fn mismatch(span: Span, expected: &str, found: &str, help: String) -> Diagnostic {
    err(
        "E0201",
        format!("mismatched types: expected {expected}, found {found}"),
        span,
        format!("this is {found}"),
        help,
    )
}

/// E0202. `fix` is the literal to write, e.g. `400ms`.
pub fn missing_unit(span: Span, unit: &str, fix: &str) -> Diagnostic {
    err(
        "E0202",
        format!("this number has no unit, but a {unit} is expected"),
        span,
        format!("a {unit} is expected here"),
        format!("write {fix}"),
    )
}

/// E0203. `found` is the unit family found ("duration"); `fix` the plain number.
pub fn unexpected_unit(span: Span, found: &str, expected: &str, fix: &str) -> Diagnostic {
    err(
        "E0203",
        format!("expected {expected}, found a {found}"),
        span,
        format!("a {found}, not {expected}"),
        format!("write {fix}"),
    )
}

/// E0204
pub fn rate_stage_in_vus(span: Span, fix: &str) -> Diagnostic {
    err(
        "E0204",
        "a `ramping_vus` stage goes to a number of VUs, not a rate".into(),
        span,
        "a rate",
        format!("write `{fix}`, or use `ramping_arrival_rate(..)` to ramp an arrival rate"),
    )
}

/// E0205
pub fn vus_stage_in_rate(span: Span, fix: &str) -> Diagnostic {
    err(
        "E0205",
        "a `ramping_arrival_rate` stage goes to a rate, not a number of VUs".into(),
        span,
        "a VU count",
        format!("write `{fix}`, or use `ramping_vus(..)` to ramp VUs"),
    )
}

/// E0206
pub fn unknown_type(span: Span, name: &str, suggestion: &Option<String>) -> Diagnostic {
    let help = hint(suggestion).unwrap_or_else(|| {
        "types are int, float, bool, string, duration, rate, size, percent, url, json, Response, list<T> and records".into()
    });
    err(
        "E0206",
        format!("unknown type `{name}`"),
        span,
        "not a type",
        help,
    )
}

/// E0207
pub fn out_of_range(span: Span, what: &str, help: &str) -> Diagnostic {
    err(
        "E0207",
        format!("{what} is out of range"),
        span,
        "out of range",
        help.to_string(),
    )
}

/// E0208. `kind` is "URL" or "CIDR".
pub fn malformed(span: Span, kind: &str, value: &str, why: &str, example: &str) -> Diagnostic {
    err(
        "E0208",
        format!("`{value}` is not a valid {kind}: {why}"),
        span,
        format!("invalid {kind}"),
        format!("write e.g. {example}"),
    )
}

/// E0209
pub fn bad_aggregation(
    span: Span,
    agg: &str,
    metric: &str,
    kind: &str,
    valid: &[&str],
) -> Diagnostic {
    err(
        "E0209",
        format!("`{agg}` does not apply to `{metric}`, a {kind} metric"),
        span,
        format!("not an aggregation of a {kind}"),
        format!("a {kind} metric takes {}", list(valid)),
    )
}

/// E0210
pub fn bad_operator(span: Span, op: &str, lhs: &str, rhs: Option<&str>, help: &str) -> Diagnostic {
    let message = match rhs {
        Some(r) => format!("`{op}` cannot be applied to {lhs} and {r}"),
        None => format!("`{op}` cannot be applied to {lhs}"),
    };
    err(
        "E0210",
        message,
        span,
        "unsupported operation",
        help.to_string(),
    )
}

/// E0211. `what` describes the thing ("`browse` is a flow").
pub fn not_a_value(span: Span, what: &str, help: &str) -> Diagnostic {
    err(
        "E0211",
        format!("{what}, not a value"),
        span,
        "not a value",
        help.to_string(),
    )
}

// ---- E03xx fields and arguments ----

/// E0301. `block` is e.g. "scenario", "fleet", "http options".
pub fn unknown_field(
    span: Span,
    block: &str,
    field: &str,
    suggestion: &Option<String>,
    valid: &[&str],
) -> Diagnostic {
    let help = hint(suggestion).unwrap_or_else(|| format!("{block} fields are {}", list(valid)));
    err(
        "E0301",
        format!("unknown field `{field}` in {block}"),
        span,
        "unknown field",
        help,
    )
}

/// E0302
pub fn unknown_arg(
    span: Span,
    callee: &str,
    arg: &str,
    suggestion: &Option<String>,
    valid: &[&str],
) -> Diagnostic {
    let help = hint(suggestion).unwrap_or_else(|| {
        if valid.is_empty() {
            format!("`{callee}` takes no named arguments")
        } else {
            format!("`{callee}` takes {}", list(valid))
        }
    });
    err(
        "E0302",
        format!("`{callee}` has no argument `{arg}`"),
        span,
        "unknown argument",
        help,
    )
}

/// E0303. `what` is "field" or "argument"; `example` a line to add.
pub fn missing(span: Span, owner: &str, what: &str, name: &str, example: &str) -> Diagnostic {
    err(
        "E0303",
        format!("{owner} is missing the {what} `{name}`"),
        span,
        format!("`{name}` is required"),
        format!("add `{example}`"),
    )
}

/// E0304
pub fn arg_count(span: Span, callee: &str, expected: &str, found: usize) -> Diagnostic {
    err(
        "E0304",
        format!("`{callee}` takes {expected}, but {found} were given"),
        span,
        "wrong number of arguments",
        format!("pass {expected} to `{callee}`"),
    )
}

/// E0305
pub fn unknown_member(
    span: Span,
    ty: &str,
    member: &str,
    suggestion: &Option<String>,
    valid: &[&str],
) -> Diagnostic {
    let help = hint(suggestion).unwrap_or_else(|| {
        if valid.is_empty() {
            format!("{ty} has no fields or methods")
        } else {
            format!("{ty} has {}", list(valid))
        }
    });
    err(
        "E0305",
        format!("{ty} has no field or method `{member}`"),
        span,
        "unknown member",
        help,
    )
}

/// E0306
pub fn duplicate_field(span: Span, name: &str, first: Span) -> Diagnostic {
    Diagnostic::error("E0306", format!("`{name}` is given twice"))
        .with_label(span, "given again here")
        .with_note(first, "first given here")
        .with_help(format!("keep one `{name}`"))
}

/// E0307
pub fn unknown_workload(
    span: Span,
    name: &str,
    suggestion: &Option<String>,
    valid: &[&str],
) -> Diagnostic {
    let help = hint(suggestion).unwrap_or_else(|| format!("workloads are {}", list(valid)));
    err(
        "E0307",
        format!("unknown workload `{name}`"),
        span,
        "not a workload",
        help,
    )
}

/// E0308
pub fn bad_choice(
    span: Span,
    field: &str,
    value: &str,
    suggestion: &Option<String>,
    valid: &[&str],
) -> Diagnostic {
    let help = hint(suggestion).unwrap_or_else(|| format!("`{field}` is one of {}", list(valid)));
    err(
        "E0308",
        format!("`{value}` is not a valid `{field}`"),
        span,
        "not one of the choices",
        help,
    )
}

/// E0309
pub fn unknown_threshold_option(span: Span, name: &str, suggestion: &Option<String>) -> Diagnostic {
    let help = hint(suggestion).unwrap_or_else(|| {
        "threshold options are `abort_on_fail` and `delay_abort_eval: DURATION`".into()
    });
    err(
        "E0309",
        format!("unknown threshold option `{name}`"),
        span,
        "unknown option",
        help,
    )
}

// ---- E04xx data ----

/// E0401, E0407 (outside the test's folder) or E0408 (too large).
pub fn data_unreadable(span: Span, path: &str, why: &LoadError) -> Diagnostic {
    match why {
        LoadError::Outside { resolved, root } => return path_outside(span, path, resolved, root),
        LoadError::TooLarge { size, limit } => {
            return data_too_large(
                span,
                path,
                &format!(
                    "it is {}, over the limit of {}",
                    bytes_text(*size),
                    bytes_text(*limit)
                ),
            )
        }
        _ => {}
    }
    let help = match why {
        LoadError::NotRegular(_) => {
            "data files are read once at compile time: copy the data into a regular file".into()
        }
        _ => "data paths are relative to the .load file's directory; check that the file exists"
            .into(),
    };
    err(
        "E0401",
        format!("cannot read data file `{path}`: {why}"),
        span,
        "this file",
        help,
    )
}

/// E0407
pub fn path_outside(span: Span, path: &str, resolved: &str, root: &str) -> Diagnostic {
    let dir = std::path::Path::new(resolved)
        .parent()
        .map_or_else(|| resolved.to_string(), |d| d.display().to_string());
    err(
        "E0407",
        format!("`{path}` is outside the test's folder `{root}`"),
        span,
        "this path leaves the test's folder",
        format!(
            "keep the file in `{root}` or a folder below it, or allow its folder explicitly: \
             `volley --allow-path {dir} …`"
        ),
    )
}

/// E0408: `why` holds the arithmetic (size, rows × columns).
pub fn data_too_large(span: Span, path: &str, why: &str) -> Diagnostic {
    err(
        "E0408",
        format!("data file `{path}` is too large: {why}"),
        span,
        "this file",
        format!(
            "the limits are {} per file, {} rows and {} cells (rows × columns), because every \
             row is embedded in the plan; use a smaller sample of the data",
            bytes_text(MAX_DATA_BYTES),
            thousands(MAX_DATA_ROWS as u64),
            thousands(MAX_DATA_CELLS as u64)
        ),
    )
}

/// E0402
pub fn data_malformed(span: Span, path: &str, why: &str, help: &str) -> Diagnostic {
    err(
        "E0402",
        format!("data file `{path}` is malformed: {why}"),
        span,
        "this file",
        help.to_string(),
    )
}

/// E0403
pub fn unknown_pick(
    span: Span,
    given: &str,
    suggestion: &Option<String>,
    valid: &[&str],
) -> Diagnostic {
    let help = hint(suggestion).unwrap_or_else(|| format!("`pick` is one of {}", list(valid)));
    err(
        "E0403",
        format!("unknown pick strategy `{given}`"),
        span,
        "not a pick strategy",
        help,
    )
}

/// E0404
pub fn unknown_column(
    span: Span,
    source: &str,
    column: &str,
    suggestion: &Option<String>,
    columns: &[&str],
) -> Diagnostic {
    let help =
        hint(suggestion).unwrap_or_else(|| format!("`{source}` rows have {}", list(columns)));
    err(
        "E0404",
        format!("rows of `{source}` have no column `{column}`"),
        span,
        "no such column",
        help,
    )
}

/// E0405
pub fn unknown_format(span: Span, given: &str, suggestion: &Option<String>) -> Diagnostic {
    let help = hint(suggestion)
        .unwrap_or_else(|| "a data source is `csv(..)`, `json(..)` or `lines(..)`".into());
    err(
        "E0405",
        format!("unknown data format `{given}`"),
        span,
        "not a data format",
        help,
    )
}

/// E0406
pub fn bad_data_decl(span: Span, why: &str) -> Diagnostic {
    err(
        "E0406",
        format!("malformed data source: {why}"),
        span,
        "here",
        "write `data NAME = csv(\"path/file.csv\", pick: unique)`".into(),
    )
}

// ---- E05xx secrets ----

/// Where a secret must not go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sink {
    Url,
    CheckName,
    GroupName,
    Tag,
    RequestName,
    Log,
    MetricValue,
}

impl Sink {
    pub fn describe(self) -> &'static str {
        match self {
            Sink::Url => "a URL",
            Sink::CheckName => "a check name",
            Sink::GroupName => "a group name",
            Sink::Tag => "a tag",
            Sink::RequestName => "a request name",
            Sink::Log => "`log`",
            Sink::MetricValue => "a metric value",
        }
    }
    fn code(self) -> &'static str {
        match self {
            Sink::Url => "E0501",
            Sink::CheckName | Sink::GroupName => "E0502",
            Sink::Tag | Sink::RequestName => "E0503",
            Sink::Log => "E0504",
            Sink::MetricValue => "E0505",
        }
    }
    fn help(self, secret: &str) -> String {
        match self {
            Sink::Url => format!(
                "URLs are logged and tagged in clear; send the secret in a header instead, e.g. `headers: {{authorization: \"Bearer {{{secret}}}\"}}`"
            ),
            Sink::CheckName | Sink::GroupName => "names are reported in clear: use a constant string".into(),
            Sink::Tag | Sink::RequestName => "tags are reported in clear: use a constant string".into(),
            Sink::Log => format!("log something that does not contain `{secret}`: secrets are never logged"),
            Sink::MetricValue => "metric values are reported in clear: record something derived from the response instead".into(),
        }
    }
}

/// E0501–E0505. `via` names the path it took when it went through a flow parameter.
pub fn secret_into(span: Span, secret: &str, sink: Sink, via: Option<&str>) -> Diagnostic {
    let message = match via {
        Some(v) => format!("secret `{secret}` flows into {} ({v})", sink.describe()),
        None => format!("secret `{secret}` flows into {}", sink.describe()),
    };
    err(
        sink.code(),
        message,
        span,
        format!("carries secret `{secret}`"),
        sink.help(secret),
    )
}

/// E0506
pub fn undeclared_fleet_secret(span: Span, name: &str, suggestion: &Option<String>) -> Diagnostic {
    let help =
        hint(suggestion).unwrap_or_else(|| format!("declare it: `secret {name} = env(\"VAR\")`"));
    err(
        "E0506",
        format!("`fleet.secrets` names `{name}`, which is not a declared secret"),
        span,
        "not a secret of this file",
        help,
    )
}

/// E0507
pub fn bad_secret_source(span: Span) -> Diagnostic {
    err(
        "E0507",
        "a secret comes from the environment".into(),
        span,
        "not `env(\"VAR\")`",
        "write `secret NAME = env(\"VAR\")`; the value is read by the runner, never stored".into(),
    )
}

/// E0508
pub fn secret_at_compile_time(span: Span, secret: &str) -> Diagnostic {
    err(
        "E0508",
        format!("secret `{secret}` is only known while the test runs"),
        span,
        "needed at compile time",
        "use the secret inside a flow or scenario (headers or bodies), not in a constant".into(),
    )
}

// ---- E06xx params ----

/// E0601. The span is the start of the entry file (the param came from the command line).
pub fn unknown_param(
    span: Span,
    name: &str,
    suggestion: &Option<String>,
    params: &[&str],
) -> Diagnostic {
    let help = hint(suggestion).unwrap_or_else(|| {
        if params.is_empty() {
            "this file declares no `param`".into()
        } else {
            format!("this file's params are {}", list(params))
        }
    });
    err(
        "E0601",
        format!("`--param {name}` does not name a param of this file"),
        span,
        "params are declared here",
        help,
    )
}

/// E0602
pub fn bad_param_value(span: Span, name: &str, ty: &str, value: &str, example: &str) -> Diagnostic {
    err(
        "E0602",
        format!("`--param {name}={value}` is not a valid {ty}"),
        span,
        format!("`{name}` is declared as {ty}"),
        format!("pass a {ty}, e.g. `--param {name}={example}`"),
    )
}

/// E0603
pub fn param_default_type(
    span: Span,
    name: &str,
    ty: &str,
    found: &str,
    example: &str,
) -> Diagnostic {
    err(
        "E0603",
        format!("the default of param `{name}` is {found}, but the param is declared as {ty}"),
        span,
        format!("this is {found}"),
        format!("write {} {ty}, e.g. `{example}`", article(ty)),
    )
}

/// `a` or `an` before a type name.
fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// E0604
pub fn param_type_not_allowed(span: Span, ty: &str) -> Diagnostic {
    err(
        "E0604",
        format!("a param cannot be of type {ty}"),
        span,
        "not a param type",
        "params are int, float, bool, string, duration, rate, size, percent or url".into(),
    )
}

// ---- E07xx other ----

/// E0701
pub fn after_cycle(span: Span, chain: &str) -> Diagnostic {
    err(
        "E0701",
        format!("scenarios wait on each other in a cycle: {chain}"),
        span,
        "this wait closes the cycle",
        "remove one `start = after(..)` so the chain has a first scenario".into(),
    )
}

/// E0702
pub fn name_not_constant(span: Span, what: &str) -> Diagnostic {
    err(
        "E0702",
        format!("{what} must be a constant string"),
        span,
        "known only at run time",
        "names are metric tags: write a literal such as \"status is 200\"".into(),
    )
}

/// E0703
pub fn not_constant(span: Span, what: &str, help: &str) -> Diagnostic {
    err(
        "E0703",
        format!("{what} must be known at compile time"),
        span,
        "known only at run time",
        help.to_string(),
    )
}

/// E0704
pub fn eval_failed(span: Span, callee: &str, why: &str) -> Diagnostic {
    err(
        "E0704",
        format!("evaluating `{callee}` at compile time fails: {why}"),
        span,
        "in this call",
        format!("change the arguments of `{callee}`"),
    )
}

/// E0705. `kind` is "flow", "fn" or "constant".
pub fn recursion(span: Span, kind: &str, name: &str) -> Diagnostic {
    err(
        "E0705",
        format!("{kind} `{name}` refers to itself"),
        span,
        "recursive use",
        format!("a {kind} may not call itself, directly or through others; use `repeat N {{ .. }}` for loops"),
    )
}

/// E0706
pub fn misplaced_return(span: Span, why: &str, help: &str) -> Diagnostic {
    err(
        "E0706",
        format!("`return` {why}"),
        span,
        "misplaced return",
        help.to_string(),
    )
}

/// E0707
pub fn missing_return(span: Span, flow: &str, ty: &str) -> Diagnostic {
    err(
        "E0707",
        format!("flow `{flow}` returns {ty} but can finish without `return`"),
        span,
        "may end without returning",
        format!("end the flow with `return …`, or remove `-> {ty}`"),
    )
}

/// E0708
pub fn no_value(span: Span, what: &str, help: &str) -> Diagnostic {
    err(
        "E0708",
        format!("{what} has no value"),
        span,
        "used as a value",
        help.to_string(),
    )
}

/// E0709
pub fn not_available(span: Span, what: &str, place: &str, help: &str) -> Diagnostic {
    err(
        "E0709",
        format!("{what} is not available {place}"),
        span,
        "not available here",
        help.to_string(),
    )
}

/// E0710
pub fn misplaced_builtin(span: Span, name: &str, place: &str) -> Diagnostic {
    err(
        "E0710",
        format!("`{name}(..)` can only be used {place}"),
        span,
        "not allowed here",
        format!("move it to {place}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn table_codes_are_unique_and_well_formed() {
        let mut seen = BTreeSet::new();
        for row in TABLE {
            assert!(seen.insert(row.code), "{} twice", row.code);
            assert!(
                row.code.len() == 5 && row.code.starts_with('E'),
                "{}",
                row.code
            );
            assert!(!row.summary.is_empty());
        }
    }

    #[test]
    fn every_code_used_in_this_file_is_in_the_table() {
        let source = include_str!("codes.rs");
        let table: BTreeSet<&str> = TABLE.iter().map(|r| r.code).collect();
        for (i, _) in source.match_indices("\"E0") {
            let code = &source[i + 1..i + 6];
            if code.chars().skip(1).all(|c| c.is_ascii_digit()) {
                assert!(table.contains(code), "{code} is used but not in TABLE");
            }
        }
    }
}
