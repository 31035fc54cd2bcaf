//! Calls: argument binding (positional, named, defaults), `fn` calls (their value asked
//! of the evaluator, `eval.rs`, when the arguments are known constants), flow calls
//! (per-target instances, taint through parameters, one-`return` flows expanded in
//! place), target arguments, and the dispatch to requests, workloads and methods
//! (`methods.rs`).

use super::items::{FlowSig, FnSig, ItemState};
use super::{taint, Binding, Checker, Ctx, Mode, Resolved};
use crate::codes;
use crate::ir::{Callee, Const, Expr, ExprKind, Intrinsic, ModuleId, Origin};
use crate::suggest::did_you_mean;
use crate::types::Type;
use std::rc::Rc;
use volley_syntax::ast::{self, ExprKind as A, ItemKind, Span};

pub(crate) const REQUEST_METHODS: &[&str] =
    &["get", "post", "put", "patch", "delete", "head", "options"];

/// Built-ins that belong to one place only, and that place.
pub(crate) const PLACED: &[(&str, &str)] = &[
    ("exponential", "in `think exponential(mean: ..)`"),
    ("env", "in `secret NAME = env(\"VAR\")`"),
    ("csv", "in `data NAME = csv(..)`"),
    ("lines", "in `data NAME = lines(..)`"),
    ("proto", "in `data NAME = proto(\"file.proto\")`"),
    ("trend", "in `metric NAME = trend(..)`"),
    ("counter", "in `metric NAME = counter()`"),
    ("gauge", "in `metric NAME = gauge()`"),
    ("at", "in `start = at(..)`"),
    ("after", "in `start = after(..)` or `cleanup = after(..)`"),
    (
        "k8s_secret",
        "in `fleet { secrets = {..} }` or `fleet { env = {..} }`",
    ),
    ("k8s_configmap", "in `fleet { env = {..} }`"),
    ("p", "in a threshold, e.g. `p(95) < 400ms`"),
    ("log", "as a statement: `log(\"..\")`"),
    (
        "file",
        "in a `multipart:` part (`multipart: {doc: file(\"data/report.csv\")}`) or a TLS \
         option (`http = {tls: {ca: file(\"certs/ca.pem\")}}`)",
    ),
];

const INTRINSICS: &[(&str, Intrinsic)] = &[
    ("__uuid", Intrinsic::Uuid),
    ("__random_email", Intrinsic::RandomEmail),
    ("__random_int", Intrinsic::RandomInt),
    ("__random_string", Intrinsic::RandomString),
    ("__random_pick", Intrinsic::RandomPick),
    ("__base64_encode", Intrinsic::Base64Encode),
    ("__base64_decode", Intrinsic::Base64Decode),
    ("__hex_encode", Intrinsic::HexEncode),
    ("__hex_decode", Intrinsic::HexDecode),
    ("__url_encode", Intrinsic::UrlEncode),
    ("__url_decode", Intrinsic::UrlDecode),
    ("__sha256", Intrinsic::Sha256),
    ("__hmac_sha256", Intrinsic::HmacSha256),
    ("__unix_ms", Intrinsic::UnixMs),
    ("__format_time", Intrinsic::FormatTime),
];

/// Whether evaluating `e` twice is the same as once (no request, random value, data row).
pub(crate) fn duplicable(e: &Expr) -> bool {
    let mut ok = true;
    crate::ir::walk_expr(e, &mut |x| {
        if matches!(
            x.kind,
            ExprKind::Request(_)
                | ExprKind::Grpc(_)
                | ExprKind::CallFlow { .. }
                | ExprKind::DataNext(_)
                | ExprKind::Intrinsic(..)
                | ExprKind::Check { .. }
        ) {
            ok = false;
        }
    });
    ok
}

impl<'a> Checker<'a> {
    /// Matches call arguments to parameter names. Returns, per parameter, the index of
    /// its argument, and whether the binding was clean.
    pub(crate) fn bind_args(
        &mut self,
        cx: &Ctx,
        callee: &str,
        params: &[&str],
        required: &[bool],
        args: &[ast::Arg],
        call_span: Span,
    ) -> (Vec<Option<usize>>, bool) {
        let mut bound: Vec<Option<usize>> = vec![None; params.len()];
        let mut ok = true;
        let mut next_pos = 0;
        for (ai, a) in args.iter().enumerate() {
            let slot = match &a.name {
                None => {
                    while next_pos < params.len() && bound[next_pos].is_some() {
                        next_pos += 1;
                    }
                    if next_pos >= params.len() {
                        let expected = match params.len() {
                            0 => "no arguments".to_string(),
                            1 => "1 argument".to_string(),
                            n => format!("{n} arguments"),
                        };
                        self.emit(
                            cx.module,
                            codes::arg_count(a.span, callee, &expected, args.len()),
                        );
                        ok = false;
                        continue;
                    }
                    next_pos
                }
                Some(n) => match params.iter().position(|p| *p == n.name) {
                    Some(p) => p,
                    None => {
                        let s = did_you_mean(&n.name, params.iter().copied());
                        self.emit(
                            cx.module,
                            codes::unknown_arg(n.span, callee, &n.name, &s, params),
                        );
                        ok = false;
                        continue;
                    }
                },
            };
            if let Some(prev) = bound[slot] {
                let first = args[prev].span;
                self.emit(
                    cx.module,
                    codes::duplicate_field(a.span, params[slot], first),
                );
                ok = false;
                continue;
            }
            bound[slot] = Some(ai);
        }
        if ok {
            for (i, p) in params.iter().enumerate() {
                if bound[i].is_none() && required.get(i).copied().unwrap_or(false) {
                    self.emit(
                        cx.module,
                        codes::missing(
                            call_span,
                            &format!("`{callee}(..)`"),
                            "argument",
                            p,
                            &format!("{p}: …"),
                        ),
                    );
                    ok = false;
                }
            }
        }
        (bound, ok)
    }

    pub(crate) fn call(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        callee: &ast::Expr,
        args: &[ast::Arg],
    ) -> Expr {
        let loc = cx.loc(e.span);
        match &callee.kind {
            A::Name(id) => match self.resolve(cx, &id.name) {
                Resolved::Item(m, i) => self.call_item(cx, e, m, i, id, args),
                Resolved::Broken => self.error_expr(loc),
                Resolved::Unknown => self.call_builtin(cx, e, id, args),
                Resolved::Binding(_) | Resolved::Module(_) | Resolved::Namespace(_) => {
                    let d = codes::not_a_value(
                        id.span,
                        &format!("`{}` is not a function", id.name),
                        "only fns, flows and built-ins can be called",
                    );
                    self.fail(cx, d, id.span)
                }
            },
            A::Field { base, field } => self.call_member(cx, e, base, field, args),
            _ => {
                let c = self.expr(cx, callee);
                if c.ty.is_error() {
                    return c;
                }
                let d = codes::not_a_value(
                    callee.span,
                    "this expression is not a function",
                    "only fns, flows and built-ins can be called",
                );
                self.fail(cx, d, callee.span)
            }
        }
    }

    /// `base.field(..)`: a data source's or metric's method, an item of a module, or a
    /// method of a value.
    fn call_member(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        base: &ast::Expr,
        field: &ast::Ident,
        args: &[ast::Arg],
    ) -> Expr {
        if let Some((m, i, shown)) = self.item_path(cx, base) {
            let kind = self.module(m).item(i).map(|it| it.kind.clone());
            if matches!(kind, Some(ItemKind::Data { .. })) {
                return self.data_method(cx, e, m, i, field, args);
            }
            if matches!(kind, Some(ItemKind::Metric { .. })) {
                let d = if field.name == "add" {
                    let help = "record the value as a statement on its own line";
                    codes::no_value(e.span, &format!("`{shown}.add(..)`"), help)
                } else {
                    let s = did_you_mean(&field.name, ["add"]);
                    codes::unknown_member(field.span, "a metric", &field.name, &s, &["add(value)"])
                };
                return self.fail(cx, d, e.span);
            }
        }
        if super::cookies::is_vu_cookies(base) {
            return self.vu_cookies(cx, e, field, args);
        }
        if self.is_ws_namespace(cx, base) {
            return self.ws_call(cx, e, field, args);
        }
        if let A::Name(bid) = &base.kind {
            match self.resolve(cx, &bid.name) {
                Resolved::Module(m) => return self.call_in_module(cx, e, m, field, args),
                Resolved::Namespace("grpc") => return self.grpc_call(cx, e, field, args),
                Resolved::Broken => return self.error_expr(cx.loc(e.span)),
                _ => {}
            }
        }
        let b = self.expr(cx, base);
        self.method(cx, e, b, field, args)
    }

    /// `module.name(..)`: an item of an imported module.
    fn call_in_module(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        m: ModuleId,
        field: &ast::Ident,
        args: &[ast::Arg],
    ) -> Expr {
        let module = self.module(m);
        if let Some(i) = module.values.get(&field.name) {
            return self.call_item(cx, e, m, *i, field, args);
        }
        if module.ast.is_none() {
            return self.error_expr(cx.loc(e.span));
        }
        let available: Vec<String> = module.values.keys().cloned().collect();
        let s = did_you_mean(&field.name, available.iter().map(String::as_str));
        let name = crate::modules::display_name(&module);
        let d = codes::unknown_module_item(field.span, &name, &field.name, &s, &available);
        self.fail(cx, d, field.span)
    }

    fn call_item(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        m: ModuleId,
        i: usize,
        id: &ast::Ident,
        args: &[ast::Arg],
    ) -> Expr {
        let loc = cx.loc(e.span);
        match self.ensure_item(m, i) {
            ItemState::Fn(sig) => self.call_fn(cx, e, sig, args),
            ItemState::Flow(sig) => self.call_flow(cx, e, sig, args),
            ItemState::InProgress => {
                self.fail(cx, codes::recursion(e.span, "fn", &id.name), e.span)
            }
            ItemState::Failed => self.error_expr(loc),
            _ => {
                let d = codes::not_a_value(
                    id.span,
                    &format!("`{}` is not a function", id.name),
                    "only fns, flows and built-ins can be called",
                );
                self.fail(cx, d, id.span)
            }
        }
    }

    /// Checks the arguments bound to a signature: each checked against its type, or the
    /// default. `None` when something was wrong (already reported).
    fn sig_args(
        &mut self,
        cx: &mut Ctx,
        callee: &str,
        params: &[super::items::ParamSig],
        args: &[ast::Arg],
        span: Span,
    ) -> Option<Vec<Expr>> {
        let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
        let required: Vec<bool> = params.iter().map(|p| p.default.is_none()).collect();
        let (bound, mut ok) = self.bind_args(cx, callee, &names, &required, args, span);
        let mut out = Vec::new();
        for (p, b) in params.iter().zip(&bound) {
            let x = match b {
                Some(ai) => {
                    let a = &args[*ai];
                    if p.ty == Type::Target {
                        match self.target_arg(cx, &a.value) {
                            Some(t) => self.const_expr(
                                Const::Target(t),
                                Type::Target,
                                vec![Origin::Literal],
                                cx.loc(a.value.span),
                            ),
                            None => {
                                ok = false;
                                self.error_expr(cx.loc(a.value.span))
                            }
                        }
                    } else {
                        let x = self.expr(cx, &a.value);
                        let help = format!("`{}` of `{callee}` is {}", p.name, p.ty);
                        if x.ty.is_error() || !self.expect(cx, &x, &p.ty, &help) {
                            ok = false;
                        }
                        x
                    }
                }
                None => match &p.default {
                    Some(d) => d.clone(),
                    None => {
                        ok = false;
                        self.error_expr(cx.loc(span))
                    }
                },
            };
            out.push(x);
        }
        // Arguments that bound nowhere are still checked for their own errors.
        for (ai, a) in args.iter().enumerate() {
            if !bound.contains(&Some(ai)) {
                self.expr(cx, &a.value);
            }
        }
        ok.then_some(out)
    }

    fn call_fn(&mut self, cx: &mut Ctx, e: &ast::Expr, sig: Rc<FnSig>, args: &[ast::Arg]) -> Expr {
        let loc = cx.loc(e.span);
        let Some(xs) = self.sig_args(cx, &sig.name, &sig.params, args, e.span) else {
            return self.error_expr(loc);
        };
        for x in &xs {
            if !x.comptime {
                let help = format!("`{}` is a fn, evaluated at compile time: make it a `flow` to call it with run-time values", sig.name);
                self.require_const(cx, x, &format!("an argument of fn `{}`", sig.name), &help);
                return self.error_expr(loc);
            }
        }
        if !sig.ok {
            return self.error_expr(loc);
        }
        let item = (sig.module, sig.index);
        let shown = self.source_text(cx.module, callee_span(e));
        let mut origins = super::expr::union_origins(&xs);
        let args: Option<Vec<Const>> = xs.iter().map(|x| x.konst.clone()).collect();
        let mut konst = None;
        if let Some(args) = &args {
            konst = match self.eval.call(item, args) {
                Ok(k) => k,
                Err(d) => {
                    return self.fail(cx, codes::eval_failed(e.span, &shown, &d.message), e.span)
                }
            };
        }
        // A body typed with placeholders (`cx.in_fn`) takes its callee's origins too, as
        // its evaluation will.
        if args.is_some() || cx.in_fn.is_some() {
            crate::ir::merge_origins(&mut origins, self.eval.origins(item));
        }
        if origins.is_empty() {
            origins.push(Origin::Literal);
        }
        Expr {
            kind: ExprKind::FnCall {
                callee: Box::new(Callee {
                    name: sig.name.clone(),
                    item,
                    shown,
                }),
                args: xs,
            },
            ty: sig.ret.clone(),
            konst,
            comptime: true,
            origins,
            loc,
        }
    }

    fn call_flow(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        sig: Rc<FlowSig>,
        args: &[ast::Arg],
    ) -> Expr {
        let loc = cx.loc(e.span);
        let Some(xs) = self.sig_args(cx, &sig.name, &sig.params, args, e.span) else {
            return self.error_expr(loc);
        };
        let targets: Vec<Option<u32>> = sig
            .params
            .iter()
            .zip(&xs)
            .filter(|(p, _)| p.ty == Type::Target)
            .map(|(_, x)| match x.konst {
                Some(Const::Target(t)) => Some(t),
                _ => None,
            })
            .collect();
        let Some((index, summary)) = self.flow_instance(&sig, targets) else {
            return self.fail(cx, codes::recursion(e.span, "flow", &sig.name), e.span);
        };
        // Secrets reaching a sink inside the flow through a parameter.
        for (i, x) in xs.iter().enumerate() {
            if let Some(Some(info)) = summary.param_sinks.get(i) {
                self.sink_via(cx, x, info.clone());
            }
        }
        if !self.std_flow_args(cx, &sig, &xs) {
            return self.error_expr(loc);
        }
        let runtime: Vec<(usize, Expr)> = sig
            .params
            .iter()
            .zip(xs.iter())
            .enumerate()
            .filter(|(_, (p, _))| p.ty != Type::Target)
            .map(|(i, (_, x))| (i, x.clone()))
            .collect();
        if sig.inline && runtime.iter().all(|(_, x)| duplicable(x)) {
            if let Some(body) = self.inline_flow(cx, &sig, &xs) {
                return Expr {
                    ty: body.ty.clone(),
                    konst: body.konst.clone(),
                    comptime: false,
                    origins: body.origins.clone(),
                    kind: ExprKind::Inlined {
                        flow: sig.name.clone(),
                        body: Box::new(body),
                    },
                    loc,
                };
            }
        }
        let mut origins = Vec::new();
        for o in &summary.return_origins {
            match o {
                Origin::FlowParam(i) => {
                    if let Some(x) = xs.get(*i as usize) {
                        crate::ir::merge_origins(&mut origins, &x.origins);
                    }
                }
                other => crate::ir::merge_origins(&mut origins, std::slice::from_ref(other)),
            }
        }
        Expr {
            kind: ExprKind::CallFlow {
                flow: index,
                args: runtime.into_iter().map(|(_, x)| x).collect(),
            },
            ty: sig.ret.clone(),
            konst: None,
            comptime: false,
            origins,
            loc,
        }
    }

    /// Re-checks a one-`return` flow's expression with its parameters bound to the
    /// arguments. `None` if that fails (the call is then a normal flow call).
    fn inline_flow(&mut self, cx: &Ctx, sig: &FlowSig, xs: &[Expr]) -> Option<Expr> {
        let m = self.module(sig.module);
        let Some(ItemKind::Flow(decl)) = m.item(sig.index).map(|it| &it.kind) else {
            return None;
        };
        let [stmt] = decl.body.stmts.as_slice() else {
            return None;
        };
        let ast::StmtKind::Return(Some(ret)) = &stmt.kind else {
            return None;
        };
        let mode = if cx.mode == Mode::Const {
            Mode::Flow
        } else {
            cx.mode
        };
        let mut icx = Ctx::new(sig.module, mode);
        for (p, x) in sig.params.iter().zip(xs) {
            icx.bind(&p.name, Binding::Value(x.clone()));
        }
        let (body, first) = self.silently(|c| c.expr(&mut icx, ret));
        (first.is_none() && !body.ty.is_error()).then_some(body)
    }

    /// Reports a secret in `x` reaching a sink inside a called flow; propagates flow
    /// parameters of the caller.
    fn sink_via(&mut self, cx: &mut Ctx, x: &Expr, info: super::SinkInfo) {
        if let Some((module, d)) = taint::leak_via(x, info, &self.prog.secrets, cx.flow.as_mut()) {
            self.emit(module, d);
        }
    }

    fn call_builtin(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        id: &ast::Ident,
        args: &[ast::Arg],
    ) -> Expr {
        let name = id.name.as_str();
        if REQUEST_METHODS.contains(&name) {
            return self.request(cx, e, name, args);
        }
        if name == "request" {
            return self.any_method_request(cx, e, args);
        }
        if super::workload::WORKLOADS.iter().any(|w| w.name == name) {
            return self.workload(cx, e, name, args);
        }
        if name == "env" {
            return self.env_call(cx, e, args);
        }
        if let Some((_, place)) = PLACED.iter().find(|(n, _)| *n == name) {
            return self.fail(cx, codes::misplaced_builtin(id.span, name, place), id.span);
        }
        if self.modules[cx.module as usize].is_std {
            if let Some((_, intrinsic)) = INTRINSICS.iter().find(|(n, _)| *n == name) {
                return self.intrinsic(cx, e, *intrinsic, args);
            }
        }
        let mut names = self.scope_names(cx);
        names.extend(REQUEST_METHODS.iter().map(|s| s.to_string()));
        names.push("request".into());
        names.extend(
            super::workload::WORKLOADS
                .iter()
                .map(|w| w.name.to_string()),
        );
        let s = did_you_mean(name, names.iter().map(String::as_str));
        for a in args {
            self.expr(cx, &a.value);
        }
        if let (None, Some(import)) = (&s, crate::modules::std_import_for(name)) {
            let d = codes::unknown_name_in_std(id.span, name, "function", &import);
            return self.fail(cx, d, id.span);
        }
        self.fail(
            cx,
            codes::unknown_name(id.span, name, "function", &s),
            id.span,
        )
    }

    /// A request's or flow's target argument: a declared target, else E0105/E0101.
    pub(crate) fn target_arg(&mut self, cx: &mut Ctx, a: &ast::Expr) -> Option<u32> {
        let literal = super::items::literal_string(a);
        if let Some(url) = &literal {
            self.emit(
                cx.module,
                codes::not_a_target(a.span, "a string", Some(url)),
            );
            return None;
        }
        if let A::Name(id) = &a.kind {
            if let Resolved::Unknown = self.resolve(cx, &id.name) {
                let targets = self.targets_in_scope(cx);
                let s = did_you_mean(&id.name, targets.iter().map(String::as_str)).or_else(|| {
                    let names = self.scope_names(cx);
                    did_you_mean(&id.name, names.iter().map(String::as_str))
                });
                self.emit(
                    cx.module,
                    codes::unknown_name(id.span, &id.name, "target", &s),
                );
                return None;
            }
        }
        let x = self.expr(cx, a);
        match (&x.ty, &x.konst) {
            (Type::Error, _) => None,
            (Type::Target, Some(Const::Target(t))) => Some(*t),
            (Type::Target, _) => Some(u32::MAX),
            (ty, _) => {
                let text = self.source_text(cx.module, a.span);
                self.emit(
                    cx.module,
                    codes::not_a_target(a.span, &format!("`{text}` ({ty})"), None),
                );
                None
            }
        }
    }

    fn targets_in_scope(&mut self, cx: &Ctx) -> Vec<String> {
        let m = self.module(cx.module);
        m.values
            .iter()
            .filter(|(_, i)| {
                matches!(
                    m.item(**i).map(|it| &it.kind),
                    Some(ItemKind::Target { .. })
                )
            })
            .map(|(n, _)| n.clone())
            .collect()
    }
}

/// The span of a call's callee (for naming it in messages).
fn callee_span(e: &ast::Expr) -> Span {
    match &e.kind {
        A::Call { callee, .. } => callee.span,
        _ => e.span,
    }
}
