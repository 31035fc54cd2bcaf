//! Scenarios: fields (`workload` required, `start = at(..) | after(..)`,
//! `graceful_stop`, `tags`, `http = {..}`), scenario-level `let`s (the VU's init code,
//! slots kept for its life) and the one `iteration { .. }` block (same frame, later
//! slots); then the `after(..)` graph is checked for cycles.

use super::args::{HttpField, ScenarioField, HTTP_FIELDS, SCENARIO_FIELDS};
use super::{Checker, Ctx, Mode, Resolved};
use crate::codes::{self, Sink};
use crate::ir::{self, Const, Loc, ModuleId};
use crate::konst;
use crate::suggest::did_you_mean;
use crate::types::Type;
use std::collections::BTreeMap;
use volley_plan::{HttpOptions, Start, Workload};
use volley_syntax::ast::{self, ExprKind as A, ItemKind, ScenarioMember, Span};

const WORKLOAD_EXAMPLE: &str = "workload = constant_vus(vus: 10, duration: 1m)";

/// A scenario's members: fields by key, the `iteration` block, the `let`s, and whether
/// they were free of errors.
struct Members<'m> {
    fields: BTreeMap<ScenarioField, &'m ast::Field>,
    iteration: Option<&'m ast::Block>,
    lets: Vec<&'m ast::Stmt>,
    ok: bool,
}

/// A scenario being checked and the `after(..)` it waits on (index and span).
pub(crate) struct Checked {
    pub scenario: Option<ir::Scenario>,
    pub after: Option<(u32, Span)>,
    pub name: String,
}

impl<'a> Checker<'a> {
    /// A compile-time value of type `want` (E0201/E0202/E0703 otherwise).
    pub(crate) fn const_of(
        &mut self,
        module: ModuleId,
        e: &ast::Expr,
        want: &Type,
        what: &str,
        help: &str,
    ) -> Option<Const> {
        let mut cx = Ctx::new(module, Mode::Const);
        let x = self.expr(&mut cx, e);
        if x.ty.is_error() || !self.expect(&cx, &x, want, help) {
            return None;
        }
        if !self.require_const(&cx, &x, what, help) {
            return None;
        }
        x.konst.map(|k| super::items::coerce(k, want))
    }

    pub(crate) fn const_duration_ms(
        &mut self,
        module: ModuleId,
        e: &ast::Expr,
        what: &str,
    ) -> Option<u64> {
        match self.const_of(
            module,
            e,
            &Type::Duration,
            what,
            &format!("{what} is a duration such as 30s"),
        )? {
            Const::Duration(ms) if ms >= 0.0 => Some(ms.round() as u64),
            _ => {
                self.emit(
                    module,
                    codes::out_of_range(e.span, what, "durations cannot be negative"),
                );
                None
            }
        }
    }

    /// A record of constant strings (tags, node selectors); secrets are refused first.
    pub(crate) fn const_string_map(
        &mut self,
        module: ModuleId,
        e: &ast::Expr,
        what: &str,
        sink: Sink,
    ) -> Option<BTreeMap<String, String>> {
        let mut cx = Ctx::new(module, Mode::Const);
        let x = self.expr(&mut cx, e);
        if x.ty.is_error() || self.sink(&mut cx, &x, sink) {
            return None;
        }
        let Type::Record(fields) = &x.ty else {
            let d = codes::mismatch(
                e.span,
                "a record such as {team: \"checkout\"}",
                &x.ty.to_string(),
                format!("write {what} as a record of strings"),
            );
            self.emit(module, d);
            return None;
        };
        if let Some((k, t)) = fields
            .iter()
            .find(|(_, t)| !t.is_scalar() || *t == Type::Json)
        {
            let d = codes::mismatch(
                e.span,
                "text values",
                &t.to_string(),
                format!("the value of `{k}` must be a string"),
            );
            self.emit(module, d);
            return None;
        }
        if !self.require_const(
            &cx,
            &x,
            what,
            &format!("{what} are fixed when the test compiles: use literals"),
        ) {
            return None;
        }
        match x.konst {
            Some(Const::Record(fs)) => Some(
                fs.into_iter()
                    .map(|(k, v)| (k, konst::to_text(&v)))
                    .collect(),
            ),
            _ => None,
        }
    }

    /// The fields of a record literal, with their key spans.
    pub(crate) fn record_literal<'e>(
        &mut self,
        module: ModuleId,
        e: &'e ast::Expr,
        example: &str,
    ) -> Option<&'e [ast::RecordField]> {
        match &e.kind {
            A::Record(fields) => {
                for (i, f) in fields.iter().enumerate() {
                    if let Some(first) = fields[..i].iter().find(|g| g.key == f.key) {
                        self.emit(
                            module,
                            codes::duplicate_field(f.key_span, &f.key, first.key_span),
                        );
                        return None;
                    }
                }
                Some(fields)
            }
            A::Paren(inner) => self.record_literal(module, inner, example),
            _ => {
                let mut cx = Ctx::new(module, Mode::Const);
                let x = self.expr(&mut cx, e);
                if !x.ty.is_error() {
                    let d = codes::mismatch(
                        e.span,
                        "a record",
                        &x.ty.to_string(),
                        format!("write it as a record literal, e.g. `{example}`"),
                    );
                    self.emit(module, d);
                }
                None
            }
        }
    }

    pub(crate) fn check_scenario(&mut self, item_index: usize, names: &[String]) -> Checked {
        let m = self.module(0);
        let Some(item) = m.item(item_index) else {
            return Checked {
                scenario: None,
                after: None,
                name: String::new(),
            };
        };
        let ItemKind::Scenario { name, members } = &item.kind else {
            return Checked {
                scenario: None,
                after: None,
                name: String::new(),
            };
        };
        let Members {
            fields,
            iteration,
            lets,
            mut ok,
        } = self.scenario_members(members);
        let workload = match fields.get(&ScenarioField::Workload) {
            Some(f) => self.scenario_workload(&f.value),
            None => {
                self.missing_in_scenario(name, "field", "workload", WORKLOAD_EXAMPLE);
                None
            }
        };
        let mut after = None;
        let start = match fields.get(&ScenarioField::Start) {
            Some(f) => {
                let s = self.scenario_start(&f.value, &name.name, names);
                if let Some((Start::After { scenario }, span)) = &s {
                    after = Some((*scenario, *span));
                }
                s.map(|(s, _)| s)
            }
            None => Some(Start::Immediately),
        };
        let graceful_stop_ms = match fields.get(&ScenarioField::GracefulStop) {
            Some(f) => self.const_duration_ms(0, &f.value, "graceful_stop"),
            None => Some(30_000),
        };
        let tags = match fields.get(&ScenarioField::Tags) {
            Some(f) => self.const_string_map(0, &f.value, "tags", Sink::Tag),
            None => Some(BTreeMap::new()),
        };
        let http = match fields.get(&ScenarioField::Http) {
            Some(f) => self.http_options(&f.value),
            None => Some(HttpOptions::default()),
        };

        let mut cx = Ctx::new(0, Mode::Scenario);
        let before = self.error_count();
        let init: Vec<ir::Stmt> = lets.iter().filter_map(|s| self.stmt(&mut cx, s)).collect();
        let iteration_body = match iteration {
            // The iteration runs again and again: vars it assigns are followed round it.
            Some(b) => self.fixpoint(&mut cx, &b.stmts, |c, cx| c.block(cx, &b.stmts)),
            None => {
                self.missing_in_scenario(name, "block", "iteration", "iteration { … }");
                ok = false;
                Vec::new()
            }
        };
        ok &= self.error_count() == before;
        let scenario = match (workload, start, graceful_stop_ms, tags, http, ok) {
            (
                Some((workload, workload_loc)),
                Some(start),
                Some(graceful_stop_ms),
                Some(tags),
                Some(http),
                true,
            ) => Some(ir::Scenario {
                name: name.name.clone(),
                workload,
                workload_loc,
                start,
                graceful_stop_ms,
                tags,
                http,
                frame_size: cx.max_slot,
                init,
                iteration: iteration_body,
                loc: Loc::new(0, name.span),
            }),
            _ => None,
        };
        Checked {
            scenario,
            after,
            name: name.name.clone(),
        }
    }

    /// A scenario's members sorted out: its fields by key, its one `iteration` block and
    /// its `let`s (unknown and duplicated fields reported).
    fn scenario_members<'m>(&mut self, members: &'m [ScenarioMember]) -> Members<'m> {
        let mut ok = true;
        let mut fields: BTreeMap<ScenarioField, &ast::Field> = BTreeMap::new();
        let mut iteration: Option<&ast::Block> = None;
        let mut lets: Vec<&ast::Stmt> = Vec::new();
        for member in members {
            match member {
                ScenarioMember::Field(f) => {
                    let unknown = |sp, n: &str, s: &Option<String>, acc: &[&str]| {
                        codes::unknown_field(sp, "a scenario", n, s, acc)
                    };
                    let key = self.arg_key(0, SCENARIO_FIELDS, &f.name.name, f.name.span, unknown);
                    let Some(key) = key else {
                        ok = false;
                        continue;
                    };
                    if let Some(first) = fields.get(&key) {
                        self.emit(
                            0,
                            codes::duplicate_field(f.name.span, &f.name.name, first.name.span),
                        );
                        ok = false;
                        continue;
                    }
                    fields.insert(key, f);
                }
                ScenarioMember::Let(s) => lets.push(s),
                ScenarioMember::Iteration(b) => {
                    if let Some(first) = iteration {
                        let here =
                            Span::new(b.span.start, b.span.start.saturating_add(9).min(b.span.end));
                        let there = Span::new(
                            first.span.start,
                            first.span.start.saturating_add(9).min(first.span.end),
                        );
                        self.emit(0, codes::duplicate_field(here, "iteration", there));
                        ok = false;
                        continue;
                    }
                    iteration = Some(b);
                }
            }
        }
        Members {
            fields,
            iteration,
            lets,
            ok,
        }
    }

    /// E0303 for a field or block scenario `name` lacks.
    fn missing_in_scenario(&mut self, name: &ast::Ident, what: &str, missing: &str, example: &str) {
        let owner = format!("scenario `{}`", name.name);
        self.emit(0, codes::missing(name.span, &owner, what, missing, example));
    }

    fn scenario_workload(&mut self, e: &ast::Expr) -> Option<(Workload, Loc)> {
        // An unknown callee here is most likely a misspelt workload.
        if let A::Call { callee, .. } = &e.kind {
            if let A::Name(id) = &callee.kind {
                let cx = Ctx::new(0, Mode::Const);
                let is_builtin = super::workload::WORKLOADS.iter().any(|w| w.name == id.name)
                    || super::call::REQUEST_METHODS.contains(&id.name.as_str());
                if !is_builtin && matches!(self.resolve(&cx, &id.name), Resolved::Unknown) {
                    let mut names = super::workload::workload_names()
                        .into_iter()
                        .map(String::from)
                        .collect::<Vec<_>>();
                    names.extend(self.scope_names(&cx));
                    let s = did_you_mean(&id.name, names.iter().map(String::as_str));
                    self.emit(
                        0,
                        codes::unknown_workload(
                            id.span,
                            &id.name,
                            &s,
                            &super::workload::workload_names(),
                        ),
                    );
                    return None;
                }
            }
        }
        match self.const_of(
            0,
            e,
            &Type::Workload,
            "a workload",
            "write e.g. `workload = constant_vus(vus: 10, duration: 1m)`",
        )? {
            Const::Workload(w) => Some((*w, Loc::new(0, e.span))),
            _ => None,
        }
    }

    fn scenario_start(
        &mut self,
        e: &ast::Expr,
        this: &str,
        names: &[String],
    ) -> Option<(Start, Span)> {
        let bad = |c: &mut Self| {
            let d = codes::mismatch(
                e.span,
                "`at(DURATION)` or `after(SCENARIO)`",
                "something else",
                "write `start = at(30s)` or `start = after(warmup)`".into(),
            );
            c.emit(0, d);
            None
        };
        let A::Call { callee, args } = &e.kind else {
            return bad(self);
        };
        let A::Name(f) = &callee.kind else {
            return bad(self);
        };
        let [arg] = args.as_slice() else {
            self.emit(
                0,
                codes::arg_count(e.span, &f.name, "1 argument", args.len()),
            );
            return None;
        };
        match f.name.as_str() {
            "at" => self
                .const_duration_ms(0, &arg.value, "the start offset")
                .map(|ms| (Start::At { offset_ms: ms }, arg.value.span)),
            "after" => {
                let A::Name(target) = &arg.value.kind else {
                    let d = codes::mismatch(
                        arg.value.span,
                        "a scenario name",
                        "an expression",
                        "write `after(warmup)`".into(),
                    );
                    self.emit(0, d);
                    return None;
                };
                if target.name == this {
                    self.emit(
                        0,
                        codes::after_cycle(target.span, &format!("{this} → {this}")),
                    );
                    return None;
                }
                match names.iter().position(|n| *n == target.name) {
                    Some(i) => Some((Start::After { scenario: i as u32 }, target.span)),
                    None => {
                        let s = did_you_mean(
                            &target.name,
                            names.iter().map(String::as_str).filter(|n| *n != this),
                        );
                        self.emit(0, codes::unknown_scenario(target.span, &target.name, &s));
                        None
                    }
                }
            }
            other => {
                let s = did_you_mean(other, ["at", "after"]);
                self.emit(
                    0,
                    codes::bad_choice(
                        f.span,
                        "start",
                        other,
                        &s,
                        &["at(DURATION)", "after(SCENARIO)"],
                    ),
                );
                None
            }
        }
    }

    fn http_options(&mut self, e: &ast::Expr) -> Option<HttpOptions> {
        let fields = self.record_literal(0, e, "{timeout: 30s}")?;
        let mut h = HttpOptions::default();
        let mut ok = true;
        for f in fields {
            let unknown = |sp, n: &str, s: &Option<String>, acc: &[&str]| {
                codes::unknown_field(sp, "http options", n, s, acc)
            };
            match self.arg_key(0, HTTP_FIELDS, &f.key, f.key_span, unknown) {
                Some(key) => ok &= self.http_option(&mut h, key, &f.key, &f.value),
                None => ok = false,
            }
        }
        ok.then_some(h)
    }

    /// A constant bool field (E0201/E0202/E0703 otherwise).
    fn bool_field(&mut self, v: &ast::Expr, name: &str) -> Option<bool> {
        let what = format!("`{name}`");
        match self.const_of(0, v, &Type::Bool, &what, "write true or false")? {
            Const::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// One field of `http = {..}` into `h`; false when it was wrong (reported).
    fn http_option(
        &mut self,
        h: &mut HttpOptions,
        key: HttpField,
        name: &str,
        v: &ast::Expr,
    ) -> bool {
        match key {
            HttpField::Timeout => match self.const_duration_ms(0, v, "timeout") {
                Some(ms) if ms > 0 => h.timeout_ms = ms,
                Some(_) => {
                    let help = "a timeout is a positive duration, e.g. 30s";
                    self.emit(0, codes::out_of_range(v.span, "timeout", help));
                    return false;
                }
                None => return false,
            },
            HttpField::ReuseConnections => match self.bool_field(v, name) {
                Some(b) => h.reuse_connections = b,
                None => return false,
            },
            HttpField::Http2 => match self.bool_field(v, name) {
                Some(b) => h.http2 = b,
                None => return false,
            },
            HttpField::InsecureTls => match self.bool_field(v, name) {
                Some(b) => h.insecure_tls = b,
                None => return false,
            },
            HttpField::MaxRedirects => {
                match self.const_of(0, v, &Type::Int, "`max_redirects`", "write a whole number") {
                    Some(Const::Int(n)) if (0..=1000).contains(&n) => h.max_redirects = n as u32,
                    Some(_) => {
                        let d = codes::out_of_range(v.span, "max_redirects", "between 0 and 1000");
                        self.emit(0, d);
                        return false;
                    }
                    None => return false,
                }
            }
            HttpField::MaxBody => {
                match self.const_of(0, v, &Type::Size, "`max_body`", "write a size such as 16MB") {
                    Some(Const::Size(b)) if (1.0..=1e12).contains(&b) => {
                        h.max_body = b.round() as u64
                    }
                    Some(_) => {
                        let help = "a size between 1B and 1000GB, e.g. 16MB";
                        self.emit(0, codes::out_of_range(v.span, "max_body", help));
                        return false;
                    }
                    None => return false,
                }
            }
            HttpField::Cookies => match self.choice(v, "cookies", &["per_iteration", "per_vu"]) {
                Some(0) => h.cookies = volley_plan::CookieReset::PerIteration,
                Some(_) => h.cookies = volley_plan::CookieReset::PerVu,
                None => return false,
            },
            HttpField::Compression => match self.bool_field(v, name) {
                Some(b) => h.compression = b,
                None => return false,
            },
            HttpField::Dns => return self.dns_option(h, v),
            HttpField::Hosts => return self.hosts_option(h, v),
            HttpField::Tls => return self.tls_option(h, v),
            HttpField::Proxy => return self.proxy_option(h, v),
            HttpField::NoProxy => return self.no_proxy_option(h, v),
            HttpField::UserAgent => {
                let help =
                    "write the header's text, such as \"shop-tests/1.0\" (a `param` sets it per run with --param), or \"\" to send none";
                match self.const_of(0, v, &Type::Str, "`user_agent`", help) {
                    Some(Const::Str(s))
                        if s.bytes().all(|b| (b >= 32 && b != 127) || b == b'\t') =>
                    {
                        h.user_agent = Some(s)
                    }
                    Some(Const::Str(s)) => {
                        let why = "a header value has no control characters or line breaks";
                        let d = codes::malformed(
                            v.span,
                            "User-Agent",
                            &s.escape_debug().to_string(),
                            why,
                            "\"shop-tests/1.0\"",
                        );
                        self.emit(0, d);
                        return false;
                    }
                    _ => return false,
                }
            }
        }
        true
    }
}
