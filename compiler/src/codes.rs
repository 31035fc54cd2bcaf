//! Every compile error the compiler reports: its stable code (the `Code` enum), a
//! one-line description (`Code::summary`, and the `TABLE` of rows used for docs and
//! SARIF) and the one function that words it. Diagnostics are built from a `Code`, and
//! carry it as its string (`Code::as_str`), so JSON and SARIF show `"E0301"` as before.
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

/// The codes, their one-line summaries, the `Code` enum and the `TABLE` of rows, from
/// one list.
macro_rules! codes {
    ($($code:ident => $summary:expr,)*) => {
        /// Every code the compiler emits. A diagnostic is built from a `Code`, so a code
        /// without a summary cannot be reported.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($code,)*
        }

        impl Code {
            /// Every code, in order.
            pub const ALL: &'static [Code] = &[$(Code::$code,)*];

            /// The code as written in diagnostics, JSON and SARIF (`"E0301"`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$code => stringify!($code),)*
                }
            }

            /// One line of documentation.
            pub fn summary(self) -> &'static str {
                match self {
                    $(Code::$code => $summary,)*
                }
            }

            /// The code written as `s`, if the compiler has it.
            pub fn parse(s: &str) -> Option<Code> {
                Code::ALL.iter().copied().find(|c| c.as_str() == s)
            }
        }

        /// Every code the compiler emits, with one line of documentation.
        pub const TABLE: &[CodeDoc] = &[
            $(CodeDoc { code: stringify!($code), summary: $summary },)*
        ];
    };
}

#[rustfmt::skip]
codes! {
    E0101 => "unknown name (with a \"did you mean\" over the names in scope)",
    E0102 => "a name (or a block such as `fleet`) is defined twice",
    E0103 => "unknown module, or an unreadable `.load` file (missing, not a regular file, not UTF-8, over 8 MiB)",
    E0104 => "a module has no item of that name (`import std/checks { okay }`, `profiles.strss`)",
    E0105 => "a request goes to something that is not a declared `target`",
    E0106 => "unknown identity value (`vu.idx`)",
    E0107 => "unknown setup value (`setup.tokn`) or no setup block",
    E0108 => "a threshold names a metric that is neither built in nor declared",
    E0109 => "`after(X)` names an unknown scenario",
    E0201 => "mismatched types",
    E0202 => "a plain number where a duration, size, rate or percentage is expected (\"write 400ms\")",
    E0203 => "a value with a unit where a plain number is expected (`vus: 10s`)",
    E0204 => "a rate stage (`2m -> 500/s`) in `ramping_vus`",
    E0205 => "a VU-count stage (`1m -> 500`) in `ramping_arrival_rate`",
    E0206 => "unknown type name",
    E0207 => "a value out of its allowed range (negative duration, zero VUs, `max_vus` below `pre_allocated_vus`, ...)",
    E0208 => "a malformed URL, CIDR, or Kubernetes name, label, env variable name or quantity (`service_account = \"Load_Test\"`, `memory: \"1gi\"`)",
    E0209 => "a threshold aggregation that does not apply to the metric's type (`p(95)` on a counter)",
    E0210 => "an operator applied to types it does not support",
    E0211 => "something that is not a value used as one (a flow, a module, a data source), or a call of a non-function",
    E0212 => "`x[i]` on a value that cannot be indexed (only lists and json values can)",
    E0213 => "an index of the wrong type (a list takes an int, a json value an int or a string key)",
    E0214 => "a CSS selector that does not parse (`res.html().find(\"input[name=\")`)",
    E0215 => "a regular expression written as a constant that does not compile (`body.find(\"id=(\\\\d+\")`)",
    E0216 => "a time format pattern with an unknown or incomplete directive (`time.format(t, \"%K\")`)",
    E0217 => "a regex group the constant pattern does not have (`s.find(\"v(\\\\d+)\", 2)`), or an empty `random_string` charset",
    E0301 => "unknown field in a block or record (scenario, fleet, http options, resources, record types)",
    E0302 => "unknown named argument (workloads, requests, flows, fns, data sources)",
    E0303 => "a required field or argument is missing (`workload`, `duration`, ...)",
    E0304 => "wrong number of arguments",
    E0305 => "unknown field or method on a value (`res.stauts`, `res.jsn(..)`)",
    E0306 => "a field or argument given twice",
    E0307 => "unknown workload (`constant_vu`)",
    E0308 => "a value outside a field's choices (`placement = spred`, `dns`, `cleanup`, `runners`)",
    E0309 => "unknown threshold option (`abort_on_fial`)",
    E0310 => "a `fleet` name Volley sets itself (`env = {VOLLEY_TOKEN: ..}`, `labels = {\"volley.dev/run\": ..}`, an env variable of a declared secret)",
    E0311 => "a cookie name or value a cookie cannot carry (`cookies: {\"my id\": ..}`, a value with `;`)",
    E0312 => "an HTTP method that is not a method token (`request(\"GET /\", ..)`)",
    E0315 => "unknown TLS version or cipher suite in `http.tls` (`min_version: \"1.1\"`, `ciphers: [\"TLS_RSA_..\"]`)",
    E0316 => "TLS options that cannot work together (`cert` without `key`, no cipher suite for the minimum version)",
    E0317 => "a TLS certificate file (`cert`, `ca`) is unreadable or holds no valid PEM certificate",
    E0318 => "a malformed proxy URL or `no_proxy` entry",
    E0319 => "a request tag Volley sets itself (`tags: {method: ..}`, `status`, `url`, `check`, ...)",
    E0320 => "a request tag value that is not text (a record, a list, JSON, a response)",
    E0321 => "a `multipart:` file (`file(\"PATH\")`) is missing, unreadable or not a regular file (a directory, a FIFO)",
    E0322 => "`multipart:` together with another body (`json:`, `body:` or `form:`): a request sends one body",
    E0323 => "the files `multipart:` bodies send are over 512 KiB together (they travel in the plan)",
    E0401 => "a data file is missing or unreadable, or not a regular file (a FIFO, a device, a directory)",
    E0402 => "a data file is malformed (bad CSV, JSON that is not an array of objects, no rows)",
    E0403 => "unknown pick strategy (`pick: uniqe`)",
    E0404 => "a data row has no such column (`users.next().emial`)",
    E0405 => "unknown data format (`xml(..)`): csv, json or lines",
    E0406 => "a malformed data declaration (path not a constant string)",
    E0407 => "a data or imported file lies outside the test's folder tree (allow a folder with `--allow-path DIR`)",
    E0408 => "a data file is over the limits: 64 MiB, 1,000,000 rows, 4,000,000 cells (rows × columns)",
    E0409 => "the data cannot be delivered to a cluster: its packs need more data ConfigMaps than a run may have",
    E0501 => "a secret flows into a URL, path or query",
    E0502 => "a secret flows into a check, require or group name",
    E0503 => "a secret flows into a tag or request name",
    E0504 => "a secret flows into `log`",
    E0505 => "a secret flows into a metric value",
    E0506 => "`fleet.secrets` names a secret the file does not declare",
    E0507 => "a secret must come from `env(\"VAR\")`",
    E0508 => "a secret is used where a compile-time constant is needed",
    E0509 => "`env(\"NAME\")` of a name that looks like a credential (`API_TOKEN`, `DB_PASSWORD`): declare it with `secret`",
    E0510 => "a private key outside a secret (`key: file(..)`, a literal, a `cert` or `ca` file holding a key)",
    E0601 => "`--param` names an unknown param",
    E0602 => "a `--param` value does not parse as the param's type",
    E0603 => "a param's default has the wrong type",
    E0604 => "a param type that cannot be given on the command line",
    E0701 => "`start = after(..)` forms a cycle",
    E0702 => "a check, require, group or request name that is not a constant string",
    E0703 => "a value known only at run time where a compile-time constant is needed (fn arguments, top-level let, workloads)",
    E0704 => "evaluating a `fn` at compile time fails (division by zero, overflow, an invalid workload)",
    E0705 => "recursion in fns, flows or constants",
    E0706 => "`return` outside a flow, or `return` of a value from a flow without `-> T`",
    E0707 => "a flow with `-> T` can finish without returning",
    E0708 => "something without a value used as one (`m.add(1)`, a flow without `-> T`)",
    E0709 => "a value not available here (`vu.id` in setup, `setup.x` inside setup)",
    E0710 => "a built-in used outside its place (`p(..)` outside thresholds, `exponential` outside `think`, ...)",
    E0711 => "an assignment to a name that is not a `var` (a `let`, a loop variable, a parameter, an item)",
    E0712 => "`break` or `continue` outside a loop (`for`, `while`, `repeat`)",
    E0713 => "`for` over a value that is not a list, a JSON array or an int range `a..b`",
    E0714 => "a `var` of a kind that cannot change (a target, a workload) or without a value",
    E0715 => "a request tag key that is not a tag name (`tags: {\"my tag\": ..}`, an empty key, `__` first)",
    E0716 => "`env(..)`'s name is not a constant variable name (`env(\"BASE_URL\", \"http://..\")`)",
    E0717 => "a malformed `multipart:` part: neither text nor `file(\"PATH\")`, a path that is not a constant string, a bad `name:` or `content_type:`",
    E0718 => "`multipart:` not written as a record literal of parts (`multipart: {note: \"..\", doc: file(\"..\")}`), or without a part",
    E0719 => "`baseline` in a threshold of a metric or aggregation an earlier run cannot be compared on (a gauge, a counter's `count`)",
    E0723 => "a TLS certificate option not written `file(\"PATH\")` (`cert`, `ca`)",
    E0724 => "a `baseline` threshold with mismatched units (`baseline * 10ms`, `baseline + 5` on a time)",
    E0725 => "a `baseline` expression Volley cannot read: write `AGG OP baseline * K + D` (`p(95) < baseline * 1.1`)",
    E0730 => "a `baseline` factor that is not a positive number (`baseline * 0`, `baseline / -2`)",
    E0731 => "`baseline` outside a threshold's condition (it is the earlier run's value of that threshold's statistic)",
    E0801 => "a WebSocket call to an `http(s)://` target, or an HTTP request to a `ws(s)://` target",
    E0802 => "a WebSocket subprotocol that is not a token (`subprotocols: [\"chat v2\"]`)",
    E0803 => "a WebSocket close code a client may not send (`s.close(1006)`; 1000, 1001-1003, 1007-1014 or 3000-4999)",
    E0804 => "`s.events(..)` anywhere but as the list of a `for` (`for e in s.events(duration: 10s) { .. }`)",
    E0820 => "a `.proto` file that cannot be read or does not compile (`data shop = proto(\"shop.proto\")`)",
    E0821 => "`grpc.NAME` that is neither `invoke` nor a status code (`grpc.OK`, `grpc.NOT_FOUND`, ..)",
    E0822 => "a gRPC method not written as a constant `\"package.Service/Method\"`, or not unary",
    E0823 => "a gRPC service or method that no declared `.proto` has (with a \"did you mean\")",
    E0824 => "a gRPC message field that the message type does not have (with a \"did you mean\")",
    E0825 => "a gRPC message field of the wrong type (`id: \"3\"` for an `int64`)",
    E0826 => "gRPC metadata that is not a record of text, or a key that is not a lower-case header name",
    E0827 => "a gRPC server whose reflection service cannot give its descriptors (`data shop = proto(reflect: shop)`: unreachable, or no reflection)",
    E0828 => "a `proto(..)` declaration that is neither one constant path nor `reflect: TARGET`",
}

fn err(
    code: Code,
    message: String,
    span: Span,
    label: impl Into<String>,
    help: String,
) -> Diagnostic {
    Diagnostic::error(code.as_str(), message)
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
        "variable" => format!("declare it first: `var {name} = …`"),
        _ => format!("declare it first (`let {name} = …`), or import the module that defines it"),
    });
    err(
        Code::E0101,
        format!("unknown {what} `{name}`"),
        span,
        "not found in this scope",
        help,
    )
}

/// E0101, for a name the standard library has: says which import brings it.
pub fn unknown_name_in_std(span: Span, name: &str, what: &str, import: &str) -> Diagnostic {
    err(
        Code::E0101,
        format!("unknown {what} `{name}`"),
        span,
        "not found in this scope",
        format!("it is in the standard library: add `{import}`"),
    )
}

/// E0102
pub fn duplicate(span: Span, name: &str, first: Span) -> Diagnostic {
    Diagnostic::error(Code::E0102.as_str(), format!("`{name}` is defined twice"))
        .with_label(span, "defined again here")
        .with_note(first, "first defined here")
        .with_help(format!("rename one of them or remove the second `{name}`"))
}

/// E0102
pub fn builtin_metric_clash(span: Span, name: &str) -> Diagnostic {
    err(
        Code::E0102,
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
        Code::E0103,
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
        Code::E0103,
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
    Diagnostic::error(
        Code::E0103.as_str(),
        format!("cannot read `{entry}`: {why}"),
    )
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
        Code::E0104,
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
        Code::E0105,
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
        Code::E0106,
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
    err(Code::E0107, message, span, "unknown setup value", help)
}

/// E0108
pub fn unknown_metric(span: Span, name: &str, suggestion: &Option<String>) -> Diagnostic {
    let help = hint(suggestion).unwrap_or_else(|| {
        format!("declare it (`metric {name} = trend(duration)`) or use a built-in metric such as `http_req_duration`")
    });
    err(
        Code::E0108,
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
        Code::E0109,
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
        Code::E0201,
        format!("mismatched types: expected {expected}, found {found}"),
        span,
        format!("this is {found}"),
        help,
    )
}

/// E0212. `ty` is the base's type as shown.
pub fn not_indexable(span: Span, ty: &str, help: &str) -> Diagnostic {
    err(
        Code::E0212,
        format!("a value of type {ty} cannot be indexed"),
        span,
        format!("this is {ty}"),
        help.to_string(),
    )
}

/// E0213. `base` says what is indexed ("a list", "a json value"), `expected` the index
/// types it takes.
pub fn bad_index(span: Span, base: &str, expected: &str, found: &str, help: &str) -> Diagnostic {
    err(
        Code::E0213,
        format!("{base} is indexed by {expected}, not {found}"),
        span,
        format!("this is {found}"),
        help.to_string(),
    )
}

/// E0214. `why` is the selector parser's complaint.
pub fn bad_selector(span: Span, selector: &str, why: &str) -> Diagnostic {
    err(
        Code::E0214,
        format!("`{selector}` is not a valid CSS selector: {why}"),
        span,
        "this selector does not parse",
        "write a CSS selector such as `input[name=csrf]`, `form#login input`, `ul.tips > li`; quote attribute values with spaces: `[value=\"a b\"]`".into(),
    )
}

/// E0202. `fix` is the literal to write, e.g. `400ms`.
pub fn missing_unit(span: Span, unit: &str, fix: &str) -> Diagnostic {
    err(
        Code::E0202,
        format!("this number has no unit, but a {unit} is expected"),
        span,
        format!("a {unit} is expected here"),
        format!("write {fix}"),
    )
}

/// E0203. `found` is the unit family found ("duration"); `fix` the plain number.
pub fn unexpected_unit(span: Span, found: &str, expected: &str, fix: &str) -> Diagnostic {
    err(
        Code::E0203,
        format!("expected {expected}, found a {found}"),
        span,
        format!("a {found}, not {expected}"),
        format!("write {fix}"),
    )
}

/// E0204
pub fn rate_stage_in_vus(span: Span, fix: &str) -> Diagnostic {
    err(
        Code::E0204,
        "a `ramping_vus` stage goes to a number of VUs, not a rate".into(),
        span,
        "a rate",
        format!("write `{fix}`, or use `ramping_arrival_rate(..)` to ramp an arrival rate"),
    )
}

/// E0205
pub fn vus_stage_in_rate(span: Span, fix: &str) -> Diagnostic {
    err(
        Code::E0205,
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
        Code::E0206,
        format!("unknown type `{name}`"),
        span,
        "not a type",
        help,
    )
}

/// E0207
pub fn out_of_range(span: Span, what: &str, help: &str) -> Diagnostic {
    err(
        Code::E0207,
        format!("{what} is out of range"),
        span,
        "out of range",
        help.to_string(),
    )
}

/// E0208. `kind` is what is malformed ("URL", "CIDR", "label key", "memory quantity"…).
pub fn malformed(span: Span, kind: &str, value: &str, why: &str, example: &str) -> Diagnostic {
    err(
        Code::E0208,
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
        Code::E0209,
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
        Code::E0210,
        message,
        span,
        "unsupported operation",
        help.to_string(),
    )
}

/// E0211. `what` describes the thing ("`browse` is a flow").
pub fn not_a_value(span: Span, what: &str, help: &str) -> Diagnostic {
    err(
        Code::E0211,
        format!("{what}, not a value"),
        span,
        "not a value",
        help.to_string(),
    )
}

/// E0215. `why` is the regex parser's own message.
pub fn bad_regex(span: Span, why: &str) -> Diagnostic {
    err(
        Code::E0215,
        format!("this regular expression does not compile: {why}"),
        span,
        "invalid regular expression",
        "the syntax is Rust's `regex` crate (no look-around or back-references); in a string \
         write a backslash as `\\\\` and a literal brace as `\\{` (`\"\\\\d\\{3\\}\"` is `\\d{3}`)"
            .into(),
    )
}

/// E0216. `why` is the formatter's own message.
pub fn bad_time_format(span: Span, why: &str) -> Diagnostic {
    err(
        Code::E0216,
        format!("this time format does not format: {why}"),
        span,
        "invalid time format",
        "use strftime directives such as `%Y-%m-%d %H:%M:%S`, `%.3f` (milliseconds), `%s` \
         (Unix seconds); write a literal `%` as `%%`"
            .into(),
    )
}

/// E0217. `groups` counts the pattern's groups besides group 0 (the whole match).
pub fn no_such_group(span: Span, group: i64, groups: usize) -> Diagnostic {
    let has = match groups {
        0 => "no group".to_string(),
        1 => "one group (1)".to_string(),
        n => format!("{n} groups (1 to {n})"),
    };
    err(
        Code::E0217,
        format!("the pattern has no group {group}"),
        span,
        "no such group",
        format!("the pattern has {has}; group 0 is the whole match, a `(..)` adds a group"),
    )
}

/// E0217, for `random_string(n, charset: "")`.
pub fn empty_charset(span: Span) -> Diagnostic {
    err(
        Code::E0217,
        "`random_string` cannot draw from an empty charset".into(),
        span,
        "no character to draw",
        "give the characters to draw from, e.g. `charset: \"0123456789abcdef\"`".into(),
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
        Code::E0301,
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
        Code::E0302,
        format!("`{callee}` has no argument `{arg}`"),
        span,
        "unknown argument",
        help,
    )
}

/// E0303. `what` is "field" or "argument"; `example` a line to add.
pub fn missing(span: Span, owner: &str, what: &str, name: &str, example: &str) -> Diagnostic {
    err(
        Code::E0303,
        format!("{owner} is missing the {what} `{name}`"),
        span,
        format!("`{name}` is required"),
        format!("add `{example}`"),
    )
}

/// E0304
pub fn arg_count(span: Span, callee: &str, expected: &str, found: usize) -> Diagnostic {
    err(
        Code::E0304,
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
        Code::E0305,
        format!("{ty} has no field or method `{member}`"),
        span,
        "unknown member",
        help,
    )
}

/// E0306
pub fn duplicate_field(span: Span, name: &str, first: Span) -> Diagnostic {
    Diagnostic::error(Code::E0306.as_str(), format!("`{name}` is given twice"))
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
        Code::E0307,
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
        Code::E0308,
        format!("`{value}` is not a valid `{field}`"),
        span,
        "not one of the choices",
        help,
    )
}

/// E0310. `what` is "environment variable" or "label key"; `why` says whose it is.
pub fn reserved_name(span: Span, what: &str, name: &str, why: &str, fix: &str) -> Diagnostic {
    err(
        Code::E0310,
        format!("the {what} `{name}` is Volley's own: {why}"),
        span,
        "set by Volley",
        fix.to_string(),
    )
}

/// E0311. `what` is "name" or "value".
pub fn bad_cookie(span: Span, what: &str, text: &str) -> Diagnostic {
    err(
        Code::E0311,
        format!("`{text}` is not a valid cookie {what}"),
        span,
        format!("invalid cookie {what}"),
        match what {
            "name" => "a cookie name is letters, digits and `!#$%&'*+-.^_`|~`, e.g. `session_id`".into(),
            _ => "a cookie value has no spaces, quotes, commas, semicolons or backslashes; encode it first (e.g. base64url)".to_string(),
        },
    )
}

/// E0312
pub fn bad_method(span: Span, method: &str) -> Diagnostic {
    err(
        Code::E0312,
        format!("`{method}` is not an HTTP method"),
        span,
        "not a method token",
        "a method is one word of letters, digits and `!#$%&'*+-.^_`|~`, e.g. \"PURGE\"".to_string(),
    )
}

/// E0309
pub fn unknown_threshold_option(span: Span, name: &str, suggestion: &Option<String>) -> Diagnostic {
    let help = hint(suggestion).unwrap_or_else(|| {
        "threshold options are `abort_on_fail` and `delay_abort_eval: DURATION`".into()
    });
    err(
        Code::E0309,
        format!("unknown threshold option `{name}`"),
        span,
        "unknown option",
        help,
    )
}

/// E0315. `field` is `min_version` or `ciphers`.
pub fn unknown_tls_choice(
    span: Span,
    field: &str,
    value: &str,
    suggestion: &Option<String>,
    valid: &[&str],
) -> Diagnostic {
    let help = hint(suggestion).unwrap_or_else(|| format!("`{field}` takes {}", list(valid)));
    let what = if field == "ciphers" {
        "a cipher suite Volley offers"
    } else {
        "a TLS version Volley offers"
    };
    err(
        Code::E0315,
        format!("`{value}` is not {what}"),
        span,
        "unknown",
        help,
    )
}

/// E0316
pub fn tls_conflict(span: Span, message: String, label: &str, help: String) -> Diagnostic {
    err(Code::E0316, message, span, label, help)
}

/// E0317. `why` says what is wrong with the file (never its content).
pub fn bad_tls_file(span: Span, field: &str, path: &str, why: &str) -> Diagnostic {
    err(
        Code::E0317,
        format!("`{field}` file `{path}` is not usable: {why}"),
        span,
        "this file",
        format!(
            "`{field}` takes PEM certificates (`-----BEGIN CERTIFICATE-----`), read when the test \
             compiles; paths are relative to the .load file's directory"
        ),
    )
}

/// E0318
pub fn bad_proxy(span: Span, value: &str, why: &str, help: &str) -> Diagnostic {
    err(
        Code::E0318,
        format!("`{value}` is not a usable proxy setting: {why}"),
        span,
        "here",
        help.to_string(),
    )
}

/// E0319. `fix` says what to write instead.
pub fn system_tag(span: Span, key: &str, fix: &str) -> Diagnostic {
    err(
        Code::E0319,
        format!("`{key}` is a tag Volley sets on every request itself"),
        span,
        "set by Volley",
        fix.to_string(),
    )
}

/// E0320
pub fn tag_not_text(span: Span, key: &str, found: &str) -> Diagnostic {
    let help = if found == "json" {
        format!("convert it where it is read, e.g. `{key}: res.json(\"kind\").string()`")
    } else {
        format!("a tag value is text (a string, a number or a bool): tag `{key}` with one field of it, or with a name for it")
    };
    err(
        Code::E0320,
        format!("the value of tag `{key}` is {found}, not text"),
        span,
        format!("this is {found}"),
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
        Code::E0401,
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
        Code::E0407,
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
        Code::E0408,
        format!("data file `{path}` is too large: {why}"),
        span,
        "this file",
        format!(
            "the limits are {} per file, {} rows and {} cells (rows × columns), because every \
             row is held in memory, when compiling and by each runner that reads it (a few GiB \
             at the limits); use a smaller sample of the data",
            bytes_text(MAX_DATA_BYTES),
            thousands(MAX_DATA_ROWS as u64),
            thousands(MAX_DATA_CELLS as u64)
        ),
    )
}

/// E0409: the data packs of a run need `objects` ConfigMaps, over
/// `volley_plan::pack::MAX_DATA_OBJECTS`. `labels` are the data declarations with each one's
/// share of the arithmetic, the largest first (the primary label).
pub fn data_undeliverable(labels: &[(Span, String)], objects: u64) -> Diagnostic {
    use volley_plan::pack::{MAX_DATA_OBJECTS, PART_BYTES};
    let mut d = Diagnostic::error(
        Code::E0409.as_str(),
        format!(
            "the data cannot be delivered to a cluster: its packs take {} ConfigMaps, over the \
             limit of {} a run may have",
            thousands(objects),
            thousands(MAX_DATA_OBJECTS as u64)
        ),
    );
    for (i, (span, text)) in labels.iter().enumerate() {
        d = if i == 0 {
            d.with_label(*span, text.clone())
        } else {
            d.with_note(*span, text.clone())
        };
    }
    d.with_help(format!(
        "each data ConfigMap holds {} KiB of compressed rows (the 1 MiB object limit less base64 \
         and metadata) and a run may have {} ({} compressed); use fewer or smaller data files \
         (fewer rows or columns, shorter cells)",
        PART_BYTES / 1024,
        MAX_DATA_OBJECTS,
        bytes_text((MAX_DATA_OBJECTS * PART_BYTES) as u64)
    ))
}

/// E0402
pub fn data_malformed(span: Span, path: &str, why: &str, help: &str) -> Diagnostic {
    err(
        Code::E0402,
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
        Code::E0403,
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
        Code::E0404,
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
        Code::E0405,
        format!("unknown data format `{given}`"),
        span,
        "not a data format",
        help,
    )
}

/// E0406
pub fn bad_data_decl(span: Span, why: &str) -> Diagnostic {
    err(
        Code::E0406,
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
    fn code(self) -> Code {
        match self {
            Sink::Url => Code::E0501,
            Sink::CheckName | Sink::GroupName => Code::E0502,
            Sink::Tag | Sink::RequestName => Code::E0503,
            Sink::Log => Code::E0504,
            Sink::MetricValue => Code::E0505,
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
        Code::E0506,
        format!("`fleet.secrets` names `{name}`, which is not a declared secret"),
        span,
        "not a secret of this file",
        help,
    )
}

/// E0507
pub fn bad_secret_source(span: Span) -> Diagnostic {
    err(
        Code::E0507,
        "a secret comes from the environment".into(),
        span,
        "not `env(\"VAR\")`",
        "write `secret NAME = env(\"VAR\")`; the value is read by the runner, never stored".into(),
    )
}

/// E0510. `what` says where the key was found ("a file", "a string", "this certificate file").
pub fn private_key_not_secret(span: Span, what: &str) -> Diagnostic {
    err(
        Code::E0510,
        format!("a private key must come from a `secret`, not {what}"),
        span,
        "private key outside a secret",
        "declare `secret client_key = env(\"CLIENT_KEY\")` (its value the key's PEM text, on a \
         cluster a Kubernetes Secret through `fleet.secrets`) and write `key: client_key`; \
         keep only certificates in files"
            .into(),
    )
}

/// E0508
pub fn secret_at_compile_time(span: Span, secret: &str) -> Diagnostic {
    err(
        Code::E0508,
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
        Code::E0601,
        format!("`--param {name}` does not name a param of this file"),
        span,
        "params are declared here",
        help,
    )
}

/// E0602
pub fn bad_param_value(span: Span, name: &str, ty: &str, value: &str, example: &str) -> Diagnostic {
    err(
        Code::E0602,
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
        Code::E0603,
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
        Code::E0604,
        format!("a param cannot be of type {ty}"),
        span,
        "not a param type",
        "params are int, float, bool, string, duration, rate, size, percent or url".into(),
    )
}

// ---- E07xx other ----

/// E0719. `kind` is the metric's kind in words; `fix` the concrete alternative.
pub fn baseline_meaningless(span: Span, what: &str, fix: String) -> Diagnostic {
    err(
        Code::E0719,
        format!("`baseline` cannot compare {what} with an earlier run"),
        span,
        "compared with the baseline run here",
        fix,
    )
}

/// E0724. `got` is what was written, `want` what the position needs, `fix` the rewrite.
pub fn baseline_units(span: Span, got: &str, want: &str, fix: String) -> Diagnostic {
    err(
        Code::E0724,
        format!("mismatched units in a `baseline` threshold: {want}, found {got}"),
        span,
        format!("this is {got}"),
        fix,
    )
}

/// E0725
pub fn baseline_shape(span: Span, why: &str, fix: String) -> Diagnostic {
    err(
        Code::E0725,
        format!("this `baseline` condition cannot be read: {why}"),
        span,
        "not `AGGREGATION OP baseline * FACTOR + OFFSET`",
        fix,
    )
}

/// E0730
pub fn baseline_factor(span: Span, factor: f64) -> Diagnostic {
    err(
        Code::E0730,
        format!("the baseline's factor must be a positive number, here it is {factor}"),
        span,
        "not above 0",
        "a factor scales the earlier run's value: write e.g. `baseline * 1.1` (10 % slower allowed) or `baseline * 0.9`".into(),
    )
}

/// E0731
pub fn baseline_outside(span: Span) -> Diagnostic {
    err(
        Code::E0731,
        "`baseline` is only known in a threshold's condition".into(),
        span,
        "not in a threshold's condition",
        "use it on the right of a threshold, e.g. `thresholds { http_req_duration: p(95) < baseline * 1.1 }`, and run with `--baseline FILE`".into(),
    )
}

/// E0723
pub fn tls_file_form(span: Span, field: &str) -> Diagnostic {
    err(
        Code::E0723,
        format!("`{field}` is a certificate file"),
        span,
        "not `file(\"PATH\")`",
        format!("write `{field}: file(\"certs/name.pem\")` with a constant path"),
    )
}

/// E0701
pub fn after_cycle(span: Span, chain: &str) -> Diagnostic {
    err(
        Code::E0701,
        format!("scenarios wait on each other in a cycle: {chain}"),
        span,
        "this wait closes the cycle",
        "remove one `start = after(..)` so the chain has a first scenario".into(),
    )
}

/// E0702
pub fn name_not_constant(span: Span, what: &str) -> Diagnostic {
    err(
        Code::E0702,
        format!("{what} must be a constant string"),
        span,
        "known only at run time",
        "names are metric tags: write a literal such as \"status is 200\"".into(),
    )
}

/// E0509
pub fn env_credential(span: Span, name: &str) -> Diagnostic {
    let var = name.to_ascii_lowercase();
    err(
        Code::E0509,
        format!("`{name}` looks like a credential: `env(..)` is for plain configuration"),
        span,
        "a credential's variable",
        format!("declare it as a secret, which is kept out of logs, tags and URLs: `secret {var} = env(\"{name}\")`"),
    )
}

/// E0716
pub fn bad_env_name(span: Span) -> Diagnostic {
    err(
        Code::E0716,
        "`env(..)` needs the variable's name as a constant string".into(),
        span,
        "not a variable name",
        "write the name as written in the environment: `env(\"BASE_URL\", \"http://127.0.0.1:8088\")`".into(),
    )
}

/// E0703
pub fn not_constant(span: Span, what: &str, help: &str) -> Diagnostic {
    err(
        Code::E0703,
        format!("{what} must be known at compile time"),
        span,
        "known only at run time",
        help.to_string(),
    )
}

/// E0704
pub fn eval_failed(span: Span, callee: &str, why: &str) -> Diagnostic {
    err(
        Code::E0704,
        format!("evaluating `{callee}` at compile time fails: {why}"),
        span,
        "in this call",
        format!("change the arguments of `{callee}`"),
    )
}

/// E0705. `kind` is "flow", "fn" or "constant".
pub fn recursion(span: Span, kind: &str, name: &str) -> Diagnostic {
    err(
        Code::E0705,
        format!("{kind} `{name}` refers to itself"),
        span,
        "recursive use",
        format!("a {kind} may not call itself, directly or through others; use `repeat N {{ .. }}` for loops"),
    )
}

/// E0706
pub fn misplaced_return(span: Span, why: &str, help: &str) -> Diagnostic {
    err(
        Code::E0706,
        format!("`return` {why}"),
        span,
        "misplaced return",
        help.to_string(),
    )
}

/// E0707
pub fn missing_return(span: Span, flow: &str, ty: &str) -> Diagnostic {
    err(
        Code::E0707,
        format!("flow `{flow}` returns {ty} but can finish without `return`"),
        span,
        "may end without returning",
        format!("end the flow with `return …`, or remove `-> {ty}`"),
    )
}

/// E0708
pub fn no_value(span: Span, what: &str, help: &str) -> Diagnostic {
    err(
        Code::E0708,
        format!("{what} has no value"),
        span,
        "used as a value",
        help.to_string(),
    )
}

/// E0709
pub fn not_available(span: Span, what: &str, place: &str, help: &str) -> Diagnostic {
    err(
        Code::E0709,
        format!("{what} is not available {place}"),
        span,
        "not available here",
        help.to_string(),
    )
}

/// E0710
pub fn misplaced_builtin(span: Span, name: &str, place: &str) -> Diagnostic {
    err(
        Code::E0710,
        format!("`{name}(..)` can only be used {place}"),
        span,
        "not allowed here",
        format!("move it to {place}"),
    )
}

/// E0711. `declared` is where the name was bound with `let`, when it is a `let` of this
/// file (labelled, and the help rewrites it as a `var`).
pub fn assign_immutable(span: Span, name: &str, what: &str, declared: Option<Span>) -> Diagnostic {
    let help = match (what, declared) {
        ("a `let`", _) => format!("declare it with `var {name} = …` to change it later"),
        ("a built-in name", _) => {
            format!("`{name}` is read-only; keep a `var` of your own, e.g. `var my_{name} = 0`")
        }
        ("a loop variable", _) => {
            "a loop variable is fresh in each round; keep a `var` outside the loop and assign that"
                .to_string()
        }
        _ => format!("declare a `var` of your own: `var my_{name} = {name}`"),
    };
    let d = err(
        Code::E0711,
        format!("cannot assign to `{name}`: it is {what}, not a `var`"),
        span,
        "assigned here",
        help,
    );
    match declared {
        Some(at) => d.with_label(at, "declared with `let` here: write `var`"),
        None => d,
    }
}

/// E0712. `word` is `break` or `continue`.
pub fn outside_loop(span: Span, word: &str) -> Diagnostic {
    err(
        Code::E0712,
        format!("`{word}` outside a loop"),
        span,
        "not inside `for`, `while` or `repeat`",
        format!("`{word}` only works in a loop of the same flow or iteration; use `require COND` to end an iteration early"),
    )
}

/// E0713
pub fn not_iterable(span: Span, found: &str) -> Diagnostic {
    err(
        Code::E0713,
        format!("cannot loop over {found}"),
        span,
        format!("this is {found}"),
        "loop over a list, a JSON array (`res.json(\"items\")`) or an int range such as `0..10` (the end is excluded)".into(),
    )
}

/// E0715
pub fn bad_tag_key(span: Span, key: &str, fix: &str) -> Diagnostic {
    err(
        Code::E0715,
        format!("`{key}` is not a tag name"),
        span,
        "not a tag name",
        format!("tag names are letters, digits and `_` (`.` and `-` after the first), starting with a letter or `_` but not `__`: write `{fix}`"),
    )
}

/// E0714
pub fn var_kind(span: Span, name: &str, what: &str) -> Diagnostic {
    err(
        Code::E0714,
        format!("`var {name}` cannot hold {what}"),
        span,
        format!("this is {what}"),
        format!("use `let {name} = …` for a value that never changes"),
    )
}

// ---- multipart bodies (E0321, E0322, E0323, E0717, E0718) ----

const MULTIPART_EXAMPLE: &str = "multipart: {note: \"hello\", doc: file(\"data/report.csv\")}";

/// E0321: a `multipart:` file that cannot be read; `why` never quotes its content.
pub fn multipart_file_unreadable(span: Span, path: &str, why: &LoadError) -> Diagnostic {
    let help = match why {
        LoadError::NotRegular(_) => format!(
            "`file(..)` names one regular file, read when the test compiles; for a folder, \
             name each file: `file(\"{}/NAME\")`",
            path.trim_end_matches('/')
        ),
        _ => "paths are relative to the .load file's directory; check that the file exists"
            .to_string(),
    };
    err(
        Code::E0321,
        format!("cannot read file `{path}`: {why}"),
        span,
        "this file",
        help,
    )
}

/// E0322: a second body beside `multipart:`. `other` is the other option's name.
pub fn multipart_conflict(span: Span, other: &str, first: Span) -> Diagnostic {
    let help = match other {
        "form" => "`multipart:` also sends text fields: move the `form:` fields into it, \
                   e.g. `multipart: {note: \"hello\", doc: file(\"data/report.csv\")}`"
            .to_string(),
        _ => format!(
            "a request has one body: keep `multipart:` and drop `{other}:`, or send a text \
             part instead, e.g. `multipart: {{meta: \"..\", doc: file(\"..\")}}`"
        ),
    };
    Diagnostic::error(
        Code::E0322.as_str(),
        format!("`multipart:` and `{other}:` cannot both be the request's body"),
    )
    .with_label(span, "a second body")
    .with_note(first, "the first body")
    .with_help(help)
}

/// E0323: the files of the test are over `limit` bytes together (`total` with this one).
pub fn multipart_files_too_large(
    span: Span,
    path: &str,
    size: u64,
    total: u64,
    limit: u64,
) -> Diagnostic {
    let what = if size == total {
        format!("file `{path}` is {}", bytes_text(size))
    } else {
        format!(
            "file `{path}` ({}) brings the test's files to {}",
            bytes_text(size),
            bytes_text(total)
        )
    };
    err(
        Code::E0323,
        format!(
            "{what}, over the limit of {} for the files a test sends",
            bytes_text(limit)
        ),
        span,
        "too large",
        format!(
            "files travel inside the plan (on Kubernetes, its ConfigMap of at most 1 MiB), so \
             the files of one test take at most {} together: send a smaller file",
            bytes_text(limit)
        ),
    )
}

/// E0717: a part that is not text or `file(..)`, or a `file(..)` argument that is wrong.
pub fn bad_multipart_part(span: Span, message: String, label: &str, help: String) -> Diagnostic {
    err(Code::E0717, message, span, label, help)
}

/// E0718: `multipart:` that is not a record literal of parts, or has none.
pub fn multipart_not_record(span: Span, found: &str) -> Diagnostic {
    err(
        Code::E0718,
        format!("`multipart:` takes a record literal of parts, found {found}"),
        span,
        "not a record of parts",
        format!("write each part as a field: `{MULTIPART_EXAMPLE}`"),
    )
}

// ---- WebSocket (E0801-E0804) ----

/// E0801: `ws.connect(..)` to an `http(s)://` target (`want_ws`), or an HTTP request to a
/// `ws(s)://` target.
pub fn ws_target_scheme(span: Span, target: &str, url: &str, want_ws: bool) -> Diagnostic {
    let (message, help) = if want_ws {
        (
            format!("`ws.connect` needs a `ws://` or `wss://` target, and `{target}` is `{url}`"),
            format!(
                "declare a WebSocket target for the same host, e.g. `target {target}_ws = \"{}\"`, \
                 and connect to it",
                url.replacen("https://", "wss://", 1).replacen("http://", "ws://", 1)
            ),
        )
    } else {
        (
            format!("an HTTP request to the WebSocket target `{target}` (`{url}`)"),
            format!(
                "send HTTP requests to an `http://` or `https://` target (`target {target}_http = \"{}\"`), \
                 or open a session: `ws.connect({target}, \"/path\")`",
                url.replacen("wss://", "https://", 1).replacen("ws://", "http://", 1)
            ),
        )
    };
    err(Code::E0801, message, span, "wrong kind of target", help)
}

/// E0802: a subprotocol that is not an HTTP token.
pub fn ws_bad_subprotocol(span: Span, value: &str) -> Diagnostic {
    err(
        Code::E0802,
        format!("`{value}` is not a WebSocket subprotocol name"),
        span,
        "not a token",
        "a subprotocol is a token: letters, digits and `!#$%&'*+-.^_`|~`, no spaces or commas \
         (`subprotocols: [\"chat\", \"v2.json\"]`)"
            .into(),
    )
}

/// E0803: a close code a client may not send.
pub fn ws_bad_close_code(span: Span, code: i64) -> Diagnostic {
    err(
        Code::E0803,
        format!("{code} is not a close code a client may send"),
        span,
        "not sendable",
        "close with 1000 (normal: `s.close()`), 1001 (going away), another of 1001-1003 or \
         1007-1014, or an application code of 3000-4999 (RFC 6455, 7.4); 1005, 1006 and 1015 \
         are never sent"
            .into(),
    )
}

/// E0804: `s.events(..)` outside a `for`.
pub fn ws_events_outside_for(span: Span) -> Diagnostic {
    err(
        Code::E0804,
        "`events(..)` of a WebSocket session is only the list of a `for`".into(),
        span,
        "not in a `for`",
        "walk the session's messages and ticks with a loop: `for e in s.events(duration: 10s, \
         every: 1s) { if e.tick { s.send(\"ping\") } else { check \"priced\": e.data != \"\" } }`"
            .into(),
    )
}
mod grpc;
pub use grpc::*;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every code is written `E` and four digits, once, with a summary; the table, the
    /// enum and `parse` agree. (That every reported code is one of these is the type of
    /// `err`: it takes a `Code`.)
    #[test]
    fn codes_are_unique_well_formed_and_documented() {
        let mut seen = BTreeSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                s.len() == 5 && s.starts_with('E') && s[1..].chars().all(|c| c.is_ascii_digit()),
                "{s}"
            );
            assert!(!code.summary().is_empty(), "{s} has no summary");
            assert_eq!(Code::parse(s), Some(*code));
        }
        assert_eq!(TABLE.len(), Code::ALL.len());
        for (row, code) in TABLE.iter().zip(Code::ALL) {
            assert_eq!((row.code, row.summary), (code.as_str(), code.summary()));
        }
        assert_eq!(
            Code::parse("E0001"),
            None,
            "parser codes belong to the grammar"
        );
    }

    #[test]
    fn a_diagnostic_carries_its_code_as_written() {
        let d = unknown_field(Span::new(0, 1), "fleet", "x", &None, &["runners"]);
        assert_eq!(d.code, Code::E0301.as_str());
        assert_eq!(d.code, "E0301");
        assert_eq!(
            secret_into(Span::new(0, 1), "token", Sink::Log, None).code,
            "E0504"
        );
    }
}
