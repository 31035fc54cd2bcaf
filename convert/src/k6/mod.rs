//! k6 scripts to `.load`: the script is parsed with oxc, `options` is evaluated as a
//! constant, and the functions k6 runs (default, `exec`, setup, teardown) are walked
//! statement by statement. Every statement is converted whole or kept as a comment with
//! its reason; a name whose declaration was left makes the statements that use it left
//! too, so the output always compiles.

mod body;
mod jar;
pub mod options;

use crate::names::{ident, looks_secret};
use crate::{quote, Conversion, ConvertError, Report};
use oxc_allocator::Allocator;
use oxc_ast::ast::*;
use oxc_parser::Parser;
use oxc_span::{GetSpan, SourceType, Span};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub use options::Kind;

/// What a value is, as far as the converter follows it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Ty {
    Int,
    Float,
    Bool,
    Str,
    Json,
    Response,
    Duration,
    Html,
    /// A row of a data item.
    Row,
    List(Box<Ty>),
    Record,
    /// The responses of an `http.batch`, by index: the `.load` names of each.
    Batch(Vec<String>),
    /// `JSON.stringify(x)` kept as `x` (the name binds the record's text), sent as `json:`.
    Stringified,
    Unknown,
}

impl Ty {
    pub(crate) fn load_type(&self) -> Option<&'static str> {
        Some(match self {
            Ty::Int => "int",
            Ty::Float => "float",
            Ty::Bool => "bool",
            Ty::Str => "string",
            Ty::Json => "json",
            Ty::Response => "Response",
            Ty::Duration => "duration",
            _ => return None,
        })
    }
}

/// What an imported name is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Module {
    Http,
    K6,
    Check,
    Group,
    Sleep,
    Fail,
    Trend,
    Counter,
    Rate,
    Gauge,
    SharedArray,
    Papaparse,
    Exec,
    Encoding,
    RandomIntBetween,
    RandomItem,
    RandomString,
    Uuid,
}

/// What a JavaScript name stands for in the output.
#[derive(Clone, Debug)]
pub(crate) enum Bind {
    /// A `.load` value (a `let`, `var`, loop variable or flow parameter) of that name.
    Local {
        name: String,
        ty: Ty,
    },
    Module(Module),
    /// A base URL: the target and the path it starts with.
    Target {
        name: String,
        path: String,
    },
    /// A data item.
    Data(String),
    /// A metric (the key of `metrics`).
    Metric(String),
    /// The data setup() returned.
    Setup,
    /// A function of the script (converted to a flow when first called).
    Function(String),
    /// A cookie jar: the VU's (`vu.cookies`) or one of its own.
    Jar(jar::Jar),
}

pub(crate) struct Metric {
    pub name: String,
    pub ctor: Module,
    /// `new Trend(name, true)`.
    pub is_time: bool,
    /// Whether a duration was added to it.
    pub got_duration: bool,
    pub line: usize,
}

pub(crate) struct DataItem {
    pub name: String,
    pub call: String,
    pub pick: Option<&'static str>,
    pub line: usize,
}

pub(crate) struct Target {
    pub name: String,
    pub param: String,
    pub origin: String,
}

/// The converter's state for one script.
pub(crate) struct K6<'a> {
    pub src: &'a str,
    line_starts: Vec<usize>,
    pub report: Report,
    pub globals: HashMap<String, Bind>,
    pub functions: HashMap<String, &'a Function<'a>>,
    pub arrows: HashMap<String, &'a ArrowFunctionExpression<'a>>,
    pub targets: Vec<Target>,
    pub params: Vec<String>,
    pub secrets: BTreeMap<String, String>,
    pub data: Vec<DataItem>,
    pub metrics: BTreeMap<String, Metric>,
    pub lets: Vec<String>,
    /// Top-level `let`s a function assigns: per-VU state in k6, a scenario `var` here.
    pub vu_vars: Vec<(String, String)>,
    pub flows: Vec<String>,
    pub flow_state: HashMap<String, Option<Ty>>,
    pub std: BTreeSet<&'static str>,
    pub setup_values: BTreeMap<String, Ty>,
    /// The scenario env in force while converting a scenario's function.
    pub scenario_env: Map<String, Value>,
    /// The initialisers of top-level constants, for constant evaluation.
    top_inits: HashMap<String, &'a Expression<'a>>,
    fresh: usize,
}

/// Converts a k6 script; `file` names it in messages.
pub fn convert(source: &str, file: &str) -> Result<Conversion, ConvertError> {
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, source, SourceType::mjs()).parse();
    let mut k6 = K6::new(source);
    if let Some(e) = parsed.diagnostics.errors().next() {
        let line = e.labels.first().map(|l| k6.line(l.offset())).unwrap_or(1);
        return Err(ConvertError::Syntax {
            file: file.to_string(),
            line,
            message: e.message.to_string(),
        });
    }
    let load = k6.program(&parsed.program, file);
    Ok(Conversion {
        load,
        report: k6.report,
    })
}

impl<'a> K6<'a> {
    fn new(src: &'a str) -> Self {
        let mut line_starts = vec![0];
        for (i, b) in src.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i + 1);
            }
        }
        K6 {
            src,
            line_starts,
            report: Report::default(),
            globals: HashMap::new(),
            functions: HashMap::new(),
            arrows: HashMap::new(),
            targets: Vec::new(),
            params: Vec::new(),
            secrets: BTreeMap::new(),
            data: Vec::new(),
            metrics: BTreeMap::new(),
            lets: Vec::new(),
            vu_vars: Vec::new(),
            flows: Vec::new(),
            flow_state: HashMap::new(),
            std: BTreeSet::new(),
            setup_values: BTreeMap::new(),
            scenario_env: Map::new(),
            top_inits: HashMap::new(),
            fresh: 0,
        }
    }

    /// The 1-based line of a byte offset.
    pub fn line(&self, offset: u32) -> usize {
        match self.line_starts.binary_search(&(offset as usize)) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    pub fn line_of(&self, span: Span) -> usize {
        self.line(span.start)
    }

    /// The first line of a construct's source, trimmed, for a comment.
    pub fn snippet(&self, span: Span) -> String {
        let text = self
            .src
            .get(span.start as usize..span.end as usize)
            .unwrap_or("");
        let first = text.lines().next().unwrap_or("").trim();
        let mut s: String = first.chars().take(100).collect();
        if first.chars().count() > 100 || text.lines().nth(1).is_some() {
            s.push_str(" …");
        }
        s
    }

    /// A name no other binding of the output has.
    pub fn fresh(&mut self, base: &str) -> String {
        self.fresh += 1;
        format!("{base}_{}", self.fresh)
    }

    /// The secret item reading `var`, declared on first use.
    pub fn secret(&mut self, var: &str) -> String {
        let name = ident(&var.to_ascii_lowercase());
        self.secrets.insert(name.clone(), var.to_string());
        name
    }

    /// The target serving `origin` (`http://host:port`), declared on first use with a
    /// param so the run can point it elsewhere.
    pub fn target_for(&mut self, origin: &str) -> String {
        if let Some(t) = self.targets.iter().find(|t| t.origin == origin) {
            return t.name.clone();
        }
        let host = url::Url::parse(origin)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let base = if host.parse::<std::net::IpAddr>().is_ok()
            || host == "localhost"
            || host.starts_with('[')
        {
            "local".to_string()
        } else {
            let first = host.split('.').next().unwrap_or("api");
            let first = if first == "www" {
                host.split('.').nth(1).unwrap_or("api")
            } else {
                first
            };
            ident(&first.to_ascii_lowercase())
        };
        let mut name = base.clone();
        let mut n = 1;
        while self.targets.iter().any(|t| t.name == name) {
            n += 1;
            name = format!("{base}{n}");
        }
        self.add_target(&name, origin)
    }

    fn add_target(&mut self, name: &str, origin: &str) -> String {
        let param = format!("{name}_url");
        self.params
            .push(format!("param {param}: url = {}", quote(origin)));
        self.targets.push(Target {
            name: name.to_string(),
            param,
            origin: origin.to_string(),
        });
        name.to_string()
    }

    fn program(&mut self, prog: &'a Program<'a>, file: &str) -> String {
        // First pass: imports, functions, top-level constants, metrics, data.
        let mut options: Option<(&'a Expression<'a>, usize)> = None;
        let mut exported: Vec<String> = Vec::new();
        let mut top_comments: Vec<String> = Vec::new();
        for stmt in &prog.body {
            match stmt {
                Statement::ImportDeclaration(d) => self.import(d, &mut top_comments),
                Statement::FunctionDeclaration(f) => self.function_decl(f, false, &mut exported),
                Statement::VariableDeclaration(v) => {
                    self.top_vars(v, &mut options, &mut top_comments)
                }
                Statement::ExportDeclaration(e) => match &e.declaration {
                    Declaration::FunctionDeclaration(f) => {
                        self.function_decl(f, true, &mut exported)
                    }
                    Declaration::VariableDeclaration(v) => {
                        self.top_vars(v, &mut options, &mut top_comments)
                    }
                    _ => self.left_top(stmt.span(), "an export of this kind", &mut top_comments),
                },
                Statement::ExportDefaultDeclaration(e) => match &e.declaration {
                    ExportDefaultDeclarationKind::FunctionDeclaration(f) => {
                        self.functions.insert("default".into(), f);
                        self.report
                            .converted(self.line_of(f.span), "the default function");
                    }
                    ExportDefaultDeclarationKind::ArrowFunctionExpression(a) => {
                        self.arrows.insert("default".into(), a);
                        self.report
                            .converted(self.line_of(a.span), "the default function");
                    }
                    _ => self.left_top(
                        stmt.span(),
                        "a default export that is not a function",
                        &mut top_comments,
                    ),
                },
                Statement::EmptyStatement(_) => {}
                _ => self.left_top(
                    stmt.span(),
                    "a top-level statement k6 runs once per VU at init",
                    &mut top_comments,
                ),
            }
        }
        for name in &exported {
            if name == "handleSummary" {
                self.report.left(
                    self.functions
                        .get(name)
                        .map(|f| self.line_of(f.span))
                        .unwrap_or(0),
                    "handleSummary: use `volley run --summary-json`, `--report` or `--out` instead",
                );
            }
        }
        // Per-VU state: top-level `let`s that a function assigns.
        let assigned = body::assigned_names_in_program(prog);
        let mut lets = std::mem::take(&mut self.lets);
        lets.retain(|l| {
            let name = l
                .trim_start_matches("let ")
                .split(" =")
                .next()
                .unwrap_or("")
                .to_string();
            if assigned.contains(&name) {
                let init = l
                    .split_once(" = ")
                    .map(|(_, v)| v.to_string())
                    .unwrap_or_default();
                self.vu_vars.push((name.clone(), init));
                if let Some(Bind::Local { ty, .. }) = self.globals.get(&name).cloned() {
                    self.globals.insert(name.clone(), Bind::Local { name, ty });
                }
                false
            } else {
                true
            }
        });
        self.lets = lets;

        // Options.
        let opts: Map<String, Value> = match options {
            Some((e, _)) => match self.const_value(e) {
                Some(Value::Object(m)) => m,
                _ => {
                    self.report.left(
                        options.map(|o| o.1).unwrap_or(0),
                        "options is not a constant object",
                    );
                    Map::new()
                }
            },
            None => Map::new(),
        };
        let opt_line = options.map(|o| o.1).unwrap_or(0);
        for k in opts.keys() {
            if ![
                "scenarios",
                "vus",
                "duration",
                "iterations",
                "stages",
                "thresholds",
            ]
            .contains(&k.as_str())
                && !jar::is_cookie_option(k, &opts[k])
                && !options::is_redirects_option(k, &opts[k])
            {
                self.report
                    .left(opt_line, format!("options.{k} has no equivalent here"));
            }
        }
        let mut scenarios = options::scenarios(&opts, &mut self.report, opt_line);
        // Options k6 applies to every request: one `http` record in each scenario.
        let http: Vec<String> = [
            jar::no_cookies_reset(&opts, &mut self.report, opt_line),
            options::max_redirects(&opts, &mut self.report, opt_line),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !http.is_empty() {
            for s in scenarios.iter_mut() {
                s.fields.push(format!("http = {{{}}}", http.join(", ")));
            }
        }

        // Setup first: its values are read by the scenarios.
        let setup = self.function_block("setup", body::Place::Setup);
        let mut scenario_text = Vec::new();
        let mut done: HashMap<(String, String), Vec<String>> = HashMap::new();
        for sc in &scenarios {
            let key = (
                sc.exec.clone(),
                serde_json::to_string(&sc.env).unwrap_or_default(),
            );
            let lines = match done.get(&key) {
                Some(l) => l.clone(),
                None => {
                    self.scenario_env = sc.env.clone();
                    let l = self
                        .function_block(&sc.exec, body::Place::Iteration)
                        .unwrap_or_else(|| {
                            self.report.left(
                                opt_line,
                                format!("scenario `{}`: no function `{}` to run", sc.name, sc.exec),
                            );
                            vec![format!(
                                "// k6 ran `{}`, which the converter did not find",
                                sc.exec
                            )]
                        });
                    self.scenario_env = Map::new();
                    done.insert(key, l.clone());
                    l
                }
            };
            let mut s = format!("scenario {} {{\n", sc.name);
            for f in &sc.fields {
                s.push_str(&format!("  {f}\n"));
            }
            for (name, init) in &self.vu_vars {
                s.push_str(&format!("  var {name} = {init}\n"));
            }
            s.push_str("  iteration {\n");
            for l in &lines {
                s.push_str(&indent(l, 4));
            }
            s.push_str("  }\n}\n");
            scenario_text.push(s);
        }
        let teardown = self.function_block("teardown", body::Place::Teardown);

        let metrics = &self.metrics;
        let kind_of = |m: &str| -> Option<Kind> {
            if let Some(k) = options::builtin_kind(m) {
                return Some(k);
            }
            metrics
                .values()
                .find(|x| x.name == ident(m))
                .map(|x| match x.ctor {
                    Module::Trend if x.is_time || x.got_duration => Kind::TimeTrend,
                    Module::Trend => Kind::NumberTrend,
                    Module::Counter => Kind::Counter,
                    Module::Rate => Kind::Rate,
                    _ => Kind::Gauge,
                })
        };
        let mut report = std::mem::take(&mut self.report);
        let thresholds = options::thresholds(&opts, &kind_of, &mut report, opt_line);
        self.report = report;

        // Assemble.
        let mut out = String::new();
        out.push_str(&format!(
            "// Converted from the k6 script {file} by `volley convert k6`.\n"
        ));
        out.push_str(
            "// Review the notes marked `k6:`: they are what was approximated or left.\n\n",
        );
        for m in &self.std {
            out.push_str(&format!("import std/{m}\n"));
        }
        if !self.std.is_empty() {
            out.push('\n');
        }
        for p in &self.params {
            out.push_str(p);
            out.push('\n');
        }
        for t in &self.targets {
            out.push_str(&format!("target {} = {}\n", t.name, t.param));
        }
        if self.targets.is_empty() {
            // A file with no request still declares a host (the demo shop's default).
            out.push_str("// k6: the script sends no request the converter could read\n");
        }
        for (name, var) in &self.secrets {
            out.push_str(&format!("secret {name} = env({})\n", quote(var)));
        }
        for d in &self.data {
            let pick = d.pick.unwrap_or("sequential");
            out.push_str(&format!("data {} = {}, pick: {pick})\n", d.name, d.call));
            if d.pick.is_none() {
                self.report.approximated(
                    d.line,
                    format!(
                        "data `{}`: no row access seen, `pick: sequential` chosen",
                        d.name
                    ),
                );
            }
        }
        for m in self.metrics.values() {
            let ctor = match m.ctor {
                Module::Trend if m.is_time || m.got_duration => "trend(duration)",
                Module::Trend => "trend(number)",
                Module::Counter => "counter()",
                Module::Rate => "rate()",
                _ => "gauge()",
            };
            if m.ctor == Module::Trend && !m.is_time && m.got_duration {
                self.report.approximated(
                    m.line,
                    format!("metric `{}` receives durations: declared trend(duration) (k6 shows it without the time unit)", m.name),
                );
            }
            out.push_str(&format!("metric {} = {ctor}\n", m.name));
        }
        for l in &self.lets {
            out.push_str(l);
            out.push('\n');
        }
        for c in &top_comments {
            out.push_str(c);
            out.push('\n');
        }
        out.push('\n');
        for f in &self.flows {
            out.push_str(f);
            out.push('\n');
        }
        if let Some(lines) = setup {
            out.push_str("setup {\n");
            for l in &lines {
                out.push_str(&indent(l, 2));
            }
            out.push_str("}\n\n");
        }
        for s in &scenario_text {
            out.push_str(s);
            out.push('\n');
        }
        if let Some(lines) = teardown {
            out.push_str("teardown {\n");
            for l in &lines {
                out.push_str(&indent(l, 2));
            }
            out.push_str("}\n\n");
        }
        if !thresholds.is_empty() {
            out.push_str("thresholds {\n");
            for t in &thresholds {
                out.push_str(&format!("  {t}\n"));
            }
            out.push_str("}\n");
        }
        out
    }

    fn left_top(&mut self, span: Span, why: &str, comments: &mut Vec<String>) {
        let line = self.line_of(span);
        self.report
            .left(line, format!("{why}: `{}`", self.snippet(span)));
        comments.push(format!("// k6 (line {line}): {}", self.snippet(span)));
        comments.push(format!("//   not converted: {why}"));
    }

    fn import(&mut self, d: &ImportDeclaration<'a>, comments: &mut Vec<String>) {
        let source = d.source.value.as_str();
        let line = self.line_of(d.span);
        let Some(specs) = &d.specifiers else {
            return;
        };
        for s in specs {
            let (imported, local) = match s {
                ImportDeclarationSpecifier::ImportSpecifier(s) => {
                    (s.imported.name().to_string(), s.local.name.to_string())
                }
                ImportDeclarationSpecifier::ImportDefaultSpecifier(s) => {
                    ("default".to_string(), s.local.name.to_string())
                }
                ImportDeclarationSpecifier::ImportNamespaceSpecifier(s) => {
                    ("*".to_string(), s.local.name.to_string())
                }
            };
            let module = match (source, imported.as_str()) {
                ("k6/http", "default" | "*") => Some(Module::Http),
                ("k6", "default" | "*") => Some(Module::K6),
                ("k6", "check") => Some(Module::Check),
                ("k6", "group") => Some(Module::Group),
                ("k6", "sleep") => Some(Module::Sleep),
                ("k6", "fail") => Some(Module::Fail),
                ("k6/metrics", "Trend") => Some(Module::Trend),
                ("k6/metrics", "Counter") => Some(Module::Counter),
                ("k6/metrics", "Rate") => Some(Module::Rate),
                ("k6/metrics", "Gauge") => Some(Module::Gauge),
                ("k6/data", "SharedArray") => Some(Module::SharedArray),
                ("k6/execution", "default" | "*") => Some(Module::Exec),
                ("k6/encoding", "default" | "*") => Some(Module::Encoding),
                (s, "default") if s.contains("papaparse") => Some(Module::Papaparse),
                (s, "randomIntBetween") if s.contains("k6-utils") => Some(Module::RandomIntBetween),
                (s, "randomItem") if s.contains("k6-utils") => Some(Module::RandomItem),
                (s, "randomString") if s.contains("k6-utils") => Some(Module::RandomString),
                (s, "uuidv4") if s.contains("k6-utils") => Some(Module::Uuid),
                _ => None,
            };
            match module {
                Some(m) => {
                    self.globals.insert(local, Bind::Module(m));
                    self.report
                        .converted(line, format!("import of `{imported}` from {source}"));
                }
                None => {
                    self.report.left(
                        line,
                        format!("import of `{imported}` from {source}: no equivalent; code using `{local}` is left"),
                    );
                    let what = match imported.as_str() {
                        "default" => local.clone(),
                        "*" => format!("* as {local}"),
                        named => format!("{{ {named} }}"),
                    };
                    comments.push(format!(
                        "// k6 (line {line}): import {what} from '{source}' (no equivalent)"
                    ));
                }
            }
        }
    }

    fn function_decl(&mut self, f: &'a Function<'a>, export: bool, exported: &mut Vec<String>) {
        let Some(id) = &f.id else { return };
        let name = id.name.to_string();
        if export {
            exported.push(name.clone());
        }
        self.globals
            .insert(name.clone(), Bind::Function(name.clone()));
        self.functions.insert(name, f);
    }

    fn top_vars(
        &mut self,
        v: &'a VariableDeclaration<'a>,
        options: &mut Option<(&'a Expression<'a>, usize)>,
        comments: &mut Vec<String>,
    ) {
        for d in &v.declarations {
            let line = self.line_of(d.span);
            let Some(name) = body::binding_name(&d.id) else {
                self.left_top(d.span, "a destructuring declaration", comments);
                continue;
            };
            let Some(init) = &d.init else {
                continue;
            };
            self.top_inits.insert(name.clone(), init);
            if name == "options" {
                *options = Some((init, line));
                continue;
            }
            if let Expression::ArrowFunctionExpression(a) = init {
                self.arrows.insert(name.clone(), a);
                self.globals.insert(name.clone(), Bind::Function(name));
                continue;
            }
            if let Expression::FunctionExpression(f) = init {
                self.functions.insert(name.clone(), f);
                self.globals.insert(name.clone(), Bind::Function(name));
                continue;
            }
            if let Some(why) = self.top_const(&name, init, line) {
                self.left_top(d.span, &why, comments);
            }
        }
    }

    /// A top-level constant; `Some(reason)` when it was not converted.
    fn top_const(&mut self, name: &str, init: &'a Expression<'a>, line: usize) -> Option<String> {
        // `new http.CookieJar()` (left, its uses say why), `http.cookieJar()` (k6 refuses it).
        if let Some(why) = self.jar_top(name, init) {
            return Some(why);
        }
        // new Trend('name', true) and friends.
        if let Expression::NewExpression(n) = init {
            if let Expression::Identifier(c) = &n.callee {
                match self.globals.get(c.name.as_str()) {
                    Some(Bind::Module(
                        m @ (Module::Trend | Module::Counter | Module::Rate | Module::Gauge),
                    )) => {
                        let m = *m;
                        let metric = n
                            .arguments
                            .first()
                            .and_then(|a| a.as_expression())
                            .and_then(|e| self.const_value(e))
                            .and_then(|v| v.as_str().map(str::to_string));
                        let Some(metric) = metric else {
                            return Some("a metric whose name is not a constant".into());
                        };
                        let is_time = n
                            .arguments
                            .get(1)
                            .and_then(|a| a.as_expression())
                            .and_then(|e| self.const_value(e))
                            .and_then(|v| v.as_bool())
                            .unwrap_or(false);
                        let load_name = ident(&metric);
                        self.metrics.insert(
                            name.to_string(),
                            Metric {
                                name: load_name,
                                ctor: m,
                                is_time,
                                got_duration: false,
                                line,
                            },
                        );
                        self.globals
                            .insert(name.to_string(), Bind::Metric(name.to_string()));
                        self.report.converted(line, format!("metric `{metric}`"));
                        return None;
                    }
                    Some(Bind::Module(Module::SharedArray)) => {
                        let f = n.arguments.get(1).and_then(|a| a.as_expression());
                        let ret = f.and_then(body::returned_expression);
                        return match ret.and_then(|r| self.data_source(r)) {
                            Some(call) => {
                                self.add_data(name, call, line);
                                None
                            }
                            None => Some(
                                "a SharedArray whose function is not `return papaparse.parse(open(..), {header: true}).data` or `JSON.parse(open(..))`".into(),
                            ),
                        };
                    }
                    _ => {}
                }
            }
        }
        if let Some(call) = self.data_source(init) {
            self.add_data(name, call, line);
            return None;
        }
        // A base URL (possibly from the environment).
        let env_default = body::env_with_default(init);
        let text = match (&env_default, init) {
            (Some((_, Some(d))), _) => Some(d.clone()),
            (_, Expression::StringLiteral(s)) => Some(s.value.to_string()),
            _ => None,
        };
        if let Some(t) = &text {
            if t.starts_with("http://") || t.starts_with("https://") {
                if let Ok(u) = url::Url::parse(t) {
                    let origin = u.origin().ascii_serialization();
                    let path = t[origin.len()..].trim_end_matches('/').to_string();
                    let base = name
                        .to_ascii_lowercase()
                        .trim_end_matches("_url")
                        .trim_end_matches("url")
                        .trim_end_matches('_')
                        .to_string();
                    let tname = if base.is_empty() {
                        "api".into()
                    } else {
                        ident(&base)
                    };
                    let tname = if self.targets.iter().any(|x| x.name == tname) {
                        self.target_for(&origin)
                    } else {
                        self.add_target(&tname, &origin)
                    };
                    if let Some((var, _)) = &env_default {
                        self.report.approximated(
                            line,
                            format!("`{name}` from __ENV.{var}: `--param {tname}_url=..` sets it (a URL's path stays {path:?})"),
                        );
                    } else {
                        self.report.converted(line, format!("base URL `{name}`"));
                    }
                    self.globals
                        .insert(name.to_string(), Bind::Target { name: tname, path });
                    return None;
                }
            }
        }
        // A secret from the environment.
        if let Some((var, _)) = &env_default {
            if looks_secret(var) {
                let s = self.secret(var);
                self.globals.insert(
                    name.to_string(),
                    Bind::Local {
                        name: s,
                        ty: Ty::Str,
                    },
                );
                self.report
                    .converted(line, format!("`{name}` from __ENV.{var}: a secret"));
                return None;
            }
        }
        // A plain constant.
        let mut cx = body::Cx::top();
        match self.expr(init, &mut cx) {
            Ok(e) if !e.runtime => {
                let n = ident(name);
                self.lets.push(format!("let {n} = {}", e.text));
                self.globals
                    .insert(name.to_string(), Bind::Local { name: n, ty: e.ty });
                self.report.converted(line, format!("constant `{name}`"));
                None
            }
            Ok(_) => Some("a top-level value known only at run time".into()),
            Err(why) => Some(why),
        }
    }

    fn add_data(&mut self, name: &str, call: String, line: usize) {
        let n = ident(name);
        self.data.push(DataItem {
            name: n.clone(),
            call,
            pick: None,
            line,
        });
        self.globals.insert(name.to_string(), Bind::Data(n));
        self.report.converted(line, format!("data `{name}`"));
    }

    /// `papaparse.parse(open(P), {header: true}).data`, `JSON.parse(open(P))`, `open(P).split('\n')`
    /// as the `data` call without its closing parenthesis (`csv("P"`).
    fn data_source(&self, e: &Expression<'a>) -> Option<String> {
        let e = body::unparen(e);
        match e {
            Expression::StaticMemberExpression(m) if m.property.name == "data" => {
                let Expression::CallExpression(c) = &m.object else {
                    return None;
                };
                let Expression::StaticMemberExpression(callee) = &c.callee else {
                    return None;
                };
                let Expression::Identifier(pp) = &callee.object else {
                    return None;
                };
                if !matches!(
                    self.globals.get(pp.name.as_str()),
                    Some(Bind::Module(Module::Papaparse))
                ) || callee.property.name != "parse"
                {
                    return None;
                }
                let path = open_path(c.arguments.first()?.as_expression()?)?;
                Some(format!("csv({}", quote(&path)))
            }
            Expression::CallExpression(c) => {
                if let Expression::StaticMemberExpression(callee) = &c.callee {
                    if let Expression::Identifier(j) = &callee.object {
                        if j.name == "JSON" && callee.property.name == "parse" {
                            let path = open_path(c.arguments.first()?.as_expression()?)?;
                            return Some(format!("json({}", quote(&path)));
                        }
                    }
                    if callee.property.name == "split" {
                        let path = open_path(&callee.object)?;
                        return Some(format!("lines({}", quote(&path)));
                    }
                }
                None
            }
            _ => None,
        }
    }

    /// The body of function `name` (`default`, an exec name, setup, teardown) as lines.
    fn function_block(&mut self, name: &str, place: body::Place) -> Option<Vec<String>> {
        if let Some(f) = self.functions.get(name).copied() {
            let params = &f.params.items;
            let body = f.body.as_ref()?;
            return Some(self.body_lines(params, &body.statements, place));
        }
        if let Some(a) = self.arrows.get(name).copied() {
            let stmts = body::arrow_statements(a)?;
            return Some(self.body_lines(&a.params.items, stmts, place));
        }
        None
    }

    fn body_lines(
        &mut self,
        params: &'a [FormalParameter<'a>],
        stmts: &'a [Statement<'a>],
        place: body::Place,
    ) -> Vec<String> {
        let mut cx = body::Cx::new(place);
        if let Some(p) = params.first() {
            if let Some(n) = body::binding_name(&p.pattern) {
                if matches!(place, body::Place::Iteration | body::Place::Teardown) {
                    cx.bind(&n, Bind::Setup);
                }
            }
        }
        let mut out = Vec::new();
        self.block(stmts, &mut cx, &mut out);
        if place == body::Place::Setup {
            self.setup_return(stmts, &mut cx, &mut out);
        }
        let mut lines = std::mem::take(&mut cx.prelude);
        lines.extend(out);
        lines
    }

    /// Evaluates a constant expression (options, metric names) as JSON: literals, objects,
    /// arrays, constants of the file, `__ENV.X || default` (its default, noted).
    pub fn const_value(&mut self, e: &Expression<'a>) -> Option<Value> {
        let e = body::unparen(e);
        Some(match e {
            Expression::StringLiteral(s) => Value::String(s.value.to_string()),
            Expression::NumericLiteral(n) => serde_json::json!(n.value),
            Expression::BooleanLiteral(b) => Value::Bool(b.value),
            Expression::NullLiteral(_) => Value::Null,
            Expression::TemplateLiteral(t) if t.expressions.is_empty() => Value::String(
                t.quasis
                    .iter()
                    .map(|q| {
                        q.value
                            .cooked
                            .as_ref()
                            .map(|c| c.to_string())
                            .unwrap_or_default()
                    })
                    .collect(),
            ),
            Expression::ArrayExpression(a) => Value::Array(
                a.elements
                    .iter()
                    .map(|el| el.as_expression().and_then(|x| self.const_value(x)))
                    .collect::<Option<Vec<_>>>()?,
            ),
            Expression::ObjectExpression(o) => {
                let mut m = Map::new();
                for p in &o.properties {
                    let ObjectPropertyKind::ObjectProperty(p) = p else {
                        return None;
                    };
                    let k = p.key.static_name()?.to_string();
                    let v = self.const_value(&p.value)?;
                    m.insert(k, v);
                }
                Value::Object(m)
            }
            Expression::UnaryExpression(u) if u.operator == UnaryOperator::UnaryNegation => {
                let v = self.const_value(&u.argument)?.as_f64()?;
                serde_json::json!(-v)
            }
            Expression::BinaryExpression(b) => {
                let l = self.const_value(&b.left)?;
                let r = self.const_value(&b.right)?;
                match (b.operator, l.as_f64(), r.as_f64()) {
                    (BinaryOperator::Addition, Some(x), Some(y)) => serde_json::json!(x + y),
                    (BinaryOperator::Subtraction, Some(x), Some(y)) => serde_json::json!(x - y),
                    (BinaryOperator::Multiplication, Some(x), Some(y)) => serde_json::json!(x * y),
                    (BinaryOperator::Division, Some(x), Some(y)) if y != 0.0 => {
                        serde_json::json!(x / y)
                    }
                    (BinaryOperator::Addition, _, _) => Value::String(format!(
                        "{}{}",
                        l.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| l.to_string()),
                        r.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| r.to_string())
                    )),
                    _ => return None,
                }
            }
            Expression::CallExpression(c) => {
                // parseInt(x) / parseFloat(x) / Number(x) of a constant.
                let Expression::Identifier(f) = &c.callee else {
                    return None;
                };
                if !matches!(f.name.as_str(), "parseInt" | "parseFloat" | "Number") {
                    return None;
                }
                let v = self.const_value(c.arguments.first()?.as_expression()?)?;
                let n = match &v {
                    Value::String(s) => s.trim().parse::<f64>().ok()?,
                    other => other.as_f64()?,
                };
                if f.name == "parseInt" {
                    serde_json::json!(n.trunc())
                } else {
                    serde_json::json!(n)
                }
            }
            Expression::Identifier(id) => {
                // A top-level constant of the script, evaluated again.
                let name = id.name.to_string();
                let init = self.top_init(&name)?;
                return self.const_value(init);
            }
            _ => {
                if let Some((var, default)) = body::env_with_default(e) {
                    let d = default?;
                    self.report.approximated(
                        self.line_of(e.span()),
                        format!("__ENV.{var} in options: its default {d:?} is used (options are fixed when the file compiles)"),
                    );
                    return Some(match d.parse::<f64>() {
                        Ok(n) => serde_json::json!(n),
                        Err(_) => Value::String(d),
                    });
                }
                return None;
            }
        })
    }

    fn top_init(&self, _name: &str) -> Option<&'a Expression<'a>> {
        self.top_inits.get(_name).copied()
    }
}

fn open_path(e: &Expression<'_>) -> Option<String> {
    let Expression::CallExpression(c) = body::unparen(e) else {
        return None;
    };
    let Expression::Identifier(f) = &c.callee else {
        return None;
    };
    if f.name != "open" {
        return None;
    }
    match c.arguments.first()?.as_expression()? {
        Expression::StringLiteral(s) => Some(s.value.trim_start_matches("./").to_string()),
        _ => None,
    }
}

fn indent(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    let mut out = String::new();
    for l in text.lines() {
        if l.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&pad);
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests;
