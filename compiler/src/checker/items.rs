//! Top-level items, checked on demand and memoised: params (with `--param` overrides),
//! constants, targets, secrets and metrics (data sources are in `data_item.rs`, fn and
//! flow signatures in `sigs.rs`). A use of an item that is still being checked is a
//! recursion (E0705).

use super::{Checker, Ctx, Mode};
use crate::codes;
use crate::ir::{self, Const, Expr, ExprKind, Loc, ModuleId, Origin};
use crate::modules::Module;
use crate::params;
use crate::suggest::did_you_mean;
use crate::types::{assignable, Type};
use std::rc::Rc;
use volley_plan::MetricKind;
use volley_syntax::ast::{self, ExprKind as A, ItemKind, Span, TypeKind};

#[derive(Clone, Debug)]
pub(crate) struct ParamSig {
    pub name: String,
    pub ty: Type,
    pub default: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub(crate) struct FnSig {
    pub name: String,
    pub module: ModuleId,
    pub index: usize,
    pub params: Vec<ParamSig>,
    pub ret: Type,
    /// The generic check found no error: it can be evaluated.
    pub ok: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct FlowSig {
    pub name: String,
    pub module: ModuleId,
    pub index: usize,
    pub params: Vec<ParamSig>,
    pub ret: Type,
    /// The body is a single `return EXPR`: calls may expand it in place.
    pub inline: bool,
}

#[derive(Clone, Debug)]
pub(crate) enum ItemState {
    InProgress,
    Failed,
    Param(Const, Type),
    Let(Expr),
    Target(u32),
    Data(u32, Type),
    /// `data NAME = proto(..)`: index into `Program::protos`.
    Proto(u32),
    Secret(u32),
    Metric(u32),
    Fn(Rc<FnSig>),
    Flow(Rc<FlowSig>),
}

const METRIC_KINDS: &[&str] = &["trend", "counter", "rate", "gauge"];

/// A plan name not yet taken: the item's name, or `module.name` when it clashes.
pub(crate) fn unique_name(taken: &[String], name: &str, module: &Module) -> String {
    if taken.iter().any(|t| t == name) {
        format!("{}.{name}", module.name)
    } else {
        name.to_string()
    }
}

impl<'a> Checker<'a> {
    /// Runs `f` with diagnostics reported even inside a silenced re-check; returns
    /// whether it reported an error.
    pub(crate) fn loud<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> (T, bool) {
        let saved = self.reports.unsilence();
        let before = self.error_count();
        let out = f(self);
        let had = self.error_count() > before;
        self.reports.restore(saved);
        (out, had)
    }

    /// Starts checking an item; `Some(state)` when it is done or in progress.
    pub(crate) fn begin(&mut self, key: (ModuleId, usize)) -> Option<ItemState> {
        match self.items.get(&key) {
            Some(s) => Some(s.clone()),
            None => {
                self.items.insert(key, ItemState::InProgress);
                None
            }
        }
    }

    pub(crate) fn finish(&mut self, key: (ModuleId, usize), state: ItemState) -> ItemState {
        self.items.insert(key, state.clone());
        state
    }

    /// Checks any item (used to report errors of items nothing refers to).
    pub(crate) fn ensure_item(&mut self, module: ModuleId, index: usize) -> ItemState {
        let m = self.module(module);
        let Some(item) = m.item(index) else {
            return ItemState::Failed;
        };
        match &item.kind {
            ItemKind::Param { .. } => self.ensure_param(module, index),
            ItemKind::Let { .. } => self.ensure_let(module, index),
            ItemKind::Target { .. } => self.ensure_target(module, index),
            ItemKind::Data { .. } => self.ensure_data(module, index),
            ItemKind::Secret { .. } => self.ensure_secret(module, index),
            ItemKind::Metric { .. } => self.ensure_metric(module, index),
            ItemKind::Fn(_) => self.ensure_fn(module, index),
            ItemKind::Flow(_) => self.ensure_flow_sig(module, index),
            _ => ItemState::Failed,
        }
    }

    /// The value of a name that resolved to an item, at a use in `cx`.
    pub(crate) fn item_value(
        &mut self,
        cx: &Ctx,
        module: ModuleId,
        index: usize,
        span: Span,
    ) -> Expr {
        let loc = cx.loc(span);
        let m = self.module(module);
        let Some(item) = m.item(index) else {
            return self.error_expr(loc);
        };
        let name = crate::modules::item_name(item)
            .map(|n| n.name.clone())
            .unwrap_or_default();
        let state = self.ensure_item(module, index);
        match state {
            ItemState::InProgress => {
                let kind = if matches!(item.kind, ItemKind::Fn(_)) {
                    "fn"
                } else {
                    "constant"
                };
                self.fail(cx, codes::recursion(span, kind, &name), span)
            }
            ItemState::Failed => self.error_expr(loc),
            ItemState::Param(c, ty) => Expr {
                kind: ExprKind::Item(name.clone()),
                ty,
                konst: Some(c),
                comptime: true,
                origins: vec![Origin::Param(name)],
                loc,
            },
            ItemState::Let(v) => Expr {
                kind: ExprKind::Item(name),
                ty: v.ty,
                konst: v.konst,
                comptime: true,
                origins: v.origins,
                loc,
            },
            ItemState::Target(t) => {
                self.const_expr(Const::Target(t), Type::Target, vec![Origin::Literal], loc)
            }
            ItemState::Secret(s) => Expr {
                kind: ExprKind::Secret(s),
                ty: Type::Str,
                konst: None,
                comptime: false,
                origins: vec![Origin::Secret(s)],
                loc,
            },
            ItemState::Data(..) => self.fail(
                cx,
                codes::not_a_value(
                    span,
                    &format!("`{name}` is a data source"),
                    &format!("take a row with `{name}.next()`"),
                ),
                span,
            ),
            ItemState::Proto(_) => self.fail(
                cx,
                codes::not_a_value(
                    span,
                    &format!("`{name}` is a .proto file"),
                    "call its methods with `grpc.invoke(TARGET, \"package.Service/Method\", {..})`",
                ),
                span,
            ),
            ItemState::Metric(_) => self.fail(
                cx,
                codes::not_a_value(
                    span,
                    &format!("`{name}` is a metric"),
                    &format!("record a value with `{name}.add(v)`"),
                ),
                span,
            ),
            ItemState::Fn(_) | ItemState::Flow(_) => {
                let kind = if matches!(item.kind, ItemKind::Fn(_)) {
                    "fn"
                } else {
                    "flow"
                };
                self.fail(
                    cx,
                    codes::not_a_value(
                        span,
                        &format!("`{name}` is a {kind}"),
                        &format!("call it: `{name}(..)`"),
                    ),
                    span,
                )
            }
        }
    }

    // ---- types ----

    // ---- params ----

    pub(crate) fn ensure_param(&mut self, module: ModuleId, index: usize) -> ItemState {
        let key = (module, index);
        if let Some(s) = self.begin(key) {
            return s;
        }
        let m = self.module(module);
        let Some(ItemKind::Param { name, ty, default }) = m.item(index).map(|i| &i.kind) else {
            return self.finish(key, ItemState::Failed);
        };
        let (state, _) = self.loud(|c| c.check_param(&m, name, ty, default));
        self.finish(key, state)
    }

    fn check_param(
        &mut self,
        m: &Module,
        name: &ast::Ident,
        ty: &ast::TypeExpr,
        default: &ast::Expr,
    ) -> ItemState {
        let declared = match &ty.kind {
            TypeKind::Named(id) => match params::param_type(&id.name) {
                Some(t) => t,
                None => {
                    let t = self.resolve_type(m.id, ty);
                    if !t.is_error() {
                        self.emit(m.id, codes::param_type_not_allowed(ty.span, &t.to_string()));
                    }
                    return ItemState::Failed;
                }
            },
            _ => {
                let t = self.resolve_type(m.id, ty);
                if !t.is_error() {
                    self.emit(m.id, codes::param_type_not_allowed(ty.span, &t.to_string()));
                }
                return ItemState::Failed;
            }
        };
        let mut cx = Ctx::new(m.id, Mode::Const);
        let value = self.expr(&mut cx, default);
        let mut konst = None;
        if !value.ty.is_error() {
            if !assignable(&value.ty, &declared) {
                let d = codes::param_default_type(
                    default.span,
                    &name.name,
                    &declared.to_string(),
                    &value.ty.to_string(),
                    params::example(&declared),
                );
                self.emit(m.id, d);
            } else if self.require_const(&cx, &value, "a param default", "write a literal value") {
                konst = value.konst.clone().map(|c| coerce(c, &declared));
                if declared == Type::Url {
                    if let Some(Const::Url(u) | Const::Str(u)) = &konst {
                        if let Err(why) = params::check_url(u) {
                            self.emit(
                                m.id,
                                codes::malformed(
                                    default.span,
                                    "URL",
                                    u,
                                    &why,
                                    "\"http://127.0.0.1:8088\"",
                                ),
                            );
                            konst = None;
                        }
                    }
                }
            }
        }
        let mut overridden = false;
        if m.id == 0 {
            if let Some(raw) = self.param_overrides.remove(&name.name) {
                match params::parse_value(&declared, &raw) {
                    Some(v) => {
                        konst = Some(v);
                        overridden = true;
                    }
                    None => {
                        let d = codes::bad_param_value(
                            name.span,
                            &name.name,
                            &declared.to_string(),
                            &raw,
                            params::example(&declared),
                        );
                        self.emit(m.id, d);
                        return ItemState::Failed;
                    }
                }
            }
        }
        let Some(value) = konst else {
            return ItemState::Failed;
        };
        if m.id == 0 {
            self.prog.params.push(ir::Param {
                name: name.name.clone(),
                ty: declared.clone(),
                value: value.clone(),
                overridden,
                loc: Loc::new(m.id, name.span),
            });
        }
        ItemState::Param(value, declared)
    }

    // ---- constants ----

    pub(crate) fn ensure_let(&mut self, module: ModuleId, index: usize) -> ItemState {
        let key = (module, index);
        if let Some(s) = self.begin(key) {
            return s;
        }
        let m = self.module(module);
        let Some(ItemKind::Let { name, value }) = m.item(index).map(|i| &i.kind) else {
            return self.finish(key, ItemState::Failed);
        };
        let (state, _) = self.loud(|c| {
            let mut cx = Ctx::new(module, Mode::Const);
            let v = c.expr(&mut cx, value);
            if v.ty.is_error() {
                return ItemState::Failed;
            }
            if !c.require_const(
                &cx,
                &v,
                "a top-level `let`",
                "top-level lets are constants; compute run-time values inside a flow or scenario",
            ) {
                return ItemState::Failed;
            }
            if v.konst.is_none() {
                return ItemState::Failed;
            }
            if module == 0 {
                c.prog.lets.push(ir::Let {
                    name: name.name.clone(),
                    value: v.clone(),
                    loc: Loc::new(module, name.span),
                });
            }
            ItemState::Let(v)
        });
        self.finish(key, state)
    }

    // ---- targets ----

    pub(crate) fn ensure_target(&mut self, module: ModuleId, index: usize) -> ItemState {
        let key = (module, index);
        if let Some(s) = self.begin(key) {
            return s;
        }
        let m = self.module(module);
        let Some(ItemKind::Target { name, url }) = m.item(index).map(|i| &i.kind) else {
            return self.finish(key, ItemState::Failed);
        };
        let (state, _) = self.loud(|c| {
            let mut cx = Ctx::new(module, Mode::Const);
            let v = c.expr(&mut cx, url);
            if v.ty.is_error() {
                return ItemState::Failed;
            }
            if !assignable(&v.ty, &Type::Url) {
                let d = codes::mismatch(
                    url.span,
                    "a URL",
                    &v.ty.to_string(),
                    "write the base URL: `target api = \"http://127.0.0.1:8088\"`".into(),
                );
                c.emit(module, d);
                return ItemState::Failed;
            }
            if !c.require_const(
                &cx,
                &v,
                "a target URL",
                "a target's URL is fixed when the test compiles: use a literal or a `param`",
            ) {
                return ItemState::Failed;
            }
            let Some(Const::Str(u) | Const::Url(u)) = v.konst.clone() else {
                return ItemState::Failed;
            };
            if let Err(why) = params::check_url(&u) {
                c.emit(
                    module,
                    codes::malformed(url.span, "URL", &u, &why, "\"http://127.0.0.1:8088\""),
                );
                return ItemState::Failed;
            }
            let taken: Vec<String> = c.prog.targets.iter().map(|t| t.name.clone()).collect();
            let plan_name = unique_name(&taken, &name.name, &m);
            let id = c.prog.targets.len() as u32;
            c.prog.targets.push(ir::Target {
                name: plan_name,
                url: u.trim_end_matches('/').to_string(),
                origins: v.origins.clone(),
                loc: Loc::new(module, name.span),
            });
            ItemState::Target(id)
        });
        self.finish(key, state)
    }

    // ---- secrets ----

    pub(crate) fn ensure_secret(&mut self, module: ModuleId, index: usize) -> ItemState {
        let key = (module, index);
        if let Some(s) = self.begin(key) {
            return s;
        }
        let m = self.module(module);
        let Some(ItemKind::Secret { name, source }) = m.item(index).map(|i| &i.kind) else {
            return self.finish(key, ItemState::Failed);
        };
        let (state, _) = self.loud(|c| {
            let env = match &source.kind {
                A::Call { callee, args } if matches!(&callee.kind, A::Name(n) if n.name == "env") => match args.as_slice() {
                    [arg] if arg.name.is_none() => literal_string(&arg.value),
                    _ => None,
                },
                _ => None,
            };
            let Some(env) = env.filter(|e| !e.is_empty()) else {
                c.emit(module, codes::bad_secret_source(source.span));
                return ItemState::Failed;
            };
            let taken: Vec<String> = c.prog.secrets.iter().map(|t| t.name.clone()).collect();
            let id = c.prog.secrets.len() as u32;
            c.prog.secrets.push(ir::Secret { name: unique_name(&taken, &name.name, &m), env, loc: Loc::new(module, name.span) });
            ItemState::Secret(id)
        });
        self.finish(key, state)
    }

    // ---- metrics ----

    pub(crate) fn ensure_metric(&mut self, module: ModuleId, index: usize) -> ItemState {
        let key = (module, index);
        if let Some(s) = self.begin(key) {
            return s;
        }
        let m = self.module(module);
        let Some(ItemKind::Metric { name, kind }) = m.item(index).map(|i| &i.kind) else {
            return self.finish(key, ItemState::Failed);
        };
        let (state, _) = self.loud(|c| {
            if crate::checker::thresholds::builtin_metric(&name.name).is_some() {
                c.emit(module, codes::builtin_metric_clash(name.span, &name.name));
                return ItemState::Failed;
            }
            let Some((mk, is_time)) = c.metric_kind(module, kind) else {
                return ItemState::Failed;
            };
            let taken: Vec<String> = c.prog.metrics.iter().map(|t| t.name.clone()).collect();
            let id = c.prog.metrics.len() as u32;
            c.prog.metrics.push(ir::Metric {
                name: unique_name(&taken, &name.name, &m),
                kind: mk,
                is_time,
                loc: Loc::new(module, name.span),
            });
            ItemState::Metric(id)
        });
        self.finish(key, state)
    }

    fn metric_kind(&mut self, module: ModuleId, kind: &ast::Expr) -> Option<(MetricKind, bool)> {
        let (callee, args) = match &kind.kind {
            A::Call { callee, args } => match &callee.kind {
                A::Name(n) => (n, args.as_slice()),
                _ => {
                    self.emit(
                        module,
                        codes::bad_choice(kind.span, "metric", "this", &None, METRIC_KINDS),
                    );
                    return None;
                }
            },
            A::Name(n) => (n, &[][..]),
            _ => {
                self.emit(
                    module,
                    codes::bad_choice(kind.span, "metric", "this", &None, METRIC_KINDS),
                );
                return None;
            }
        };
        let mk = match callee.name.as_str() {
            "trend" => MetricKind::Trend,
            "counter" => MetricKind::Counter,
            "rate" => MetricKind::Rate,
            "gauge" => MetricKind::Gauge,
            other => {
                let s = did_you_mean(other, METRIC_KINDS.iter().copied());
                self.emit(
                    module,
                    codes::bad_choice(callee.span, "metric", other, &s, METRIC_KINDS),
                );
                return None;
            }
        };
        if mk == MetricKind::Trend {
            return match args {
                [] => Some((mk, false)),
                [a] if a.name.is_none() => match &a.value.kind {
                    A::Name(n) if n.name == "duration" => Some((mk, true)),
                    A::Name(n) if n.name == "number" => Some((mk, false)),
                    _ => {
                        let text = self.modules[module as usize].text(a.value.span).to_string();
                        let s = did_you_mean(&text, ["duration", "number"]);
                        self.emit(
                            module,
                            codes::bad_choice(
                                a.value.span,
                                "trend",
                                &text,
                                &s,
                                &["duration", "number"],
                            ),
                        );
                        None
                    }
                },
                _ => {
                    self.emit(
                        module,
                        codes::arg_count(
                            kind.span,
                            "trend",
                            "one argument (duration or number)",
                            args.len(),
                        ),
                    );
                    None
                }
            };
        }
        if !args.is_empty() {
            self.emit(
                module,
                codes::arg_count(kind.span, &callee.name, "no arguments", args.len()),
            );
            return None;
        }
        Some((mk, false))
    }

    // ---- data ----

    // ---- fns and flows ----
}

/// A string literal without interpolation.
pub(crate) fn literal_string(e: &ast::Expr) -> Option<String> {
    match &e.kind {
        A::Str(parts) => {
            let mut s = String::new();
            for p in parts {
                match p {
                    ast::StrPart::Text(t) => s.push_str(t),
                    ast::StrPart::Interp(_) => return None,
                }
            }
            Some(s)
        }
        A::Paren(inner) => literal_string(inner),
        _ => None,
    }
}

/// Adjusts a constant to a declared type (an int default for a float param, a string for
/// a url).
pub(crate) fn coerce(c: Const, ty: &Type) -> Const {
    match (c, ty) {
        (Const::Int(i), Type::Float) => Const::Float(i as f64),
        (Const::Str(s), Type::Url) => Const::Url(s),
        (c, _) => c,
    }
}
