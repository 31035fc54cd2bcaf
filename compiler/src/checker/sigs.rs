//! Types written in the source, and the signatures of fns and flows: parameter types
//! and constant defaults, return types. A fn's body is checked once generically (its
//! parameters compile-time but unknown) so errors in it are reported once; that typed
//! body is what the evaluator (`eval.rs`) evaluates at each call.

use super::eval::FnDef;
use super::items::{FlowSig, FnSig, ItemState, ParamSig};
use super::{Binding, Checker, Ctx, Mode};
use crate::codes;
use crate::ir::{Expr, ExprKind, Loc, ModuleId, Origin};
use crate::suggest::did_you_mean;
use crate::types::{assignable, Type, TYPE_NAMES};
use std::rc::Rc;
use volley_syntax::ast::{self, ItemKind, TypeKind};

impl<'a> Checker<'a> {
    pub(crate) fn resolve_type(&mut self, module: ModuleId, t: &ast::TypeExpr) -> Type {
        let is_std = self.modules[module as usize].is_std;
        match &t.kind {
            TypeKind::List(inner) => Type::list(self.resolve_type(module, inner)),
            TypeKind::Record(fields) => {
                let mut out: Vec<(String, Type)> = Vec::new();
                for (n, ft) in fields {
                    let ty = self.resolve_type(module, ft);
                    if let Some(first) = fields
                        .iter()
                        .find(|(m, _)| m.name == n.name)
                        .map(|(m, _)| m.span)
                    {
                        if first != n.span {
                            self.emit(module, codes::duplicate_field(n.span, &n.name, first));
                            continue;
                        }
                    }
                    out.push((n.name.clone(), ty));
                }
                Type::Record(out)
            }
            TypeKind::Named(id) => match id.name.as_str() {
                "int" => Type::Int,
                "float" => Type::Float,
                "bool" => Type::Bool,
                "string" | "secret" => Type::Str,
                "duration" => Type::Duration,
                "rate" => Type::Rate,
                "size" => Type::Size,
                "percent" => Type::Percent,
                "url" => Type::Url,
                "json" => Type::Json,
                "Response" => Type::Response,
                "Workload" => Type::Workload,
                "Stage" => Type::Stage(Box::new(Type::Any)),
                "target" => Type::Target,
                "WsSession" => Type::WsSession,
                "any" if is_std => Type::Any,
                other => {
                    let synonym = match other {
                        "integer" | "i64" | "long" => Some("int"),
                        "str" | "String" | "text" => Some("string"),
                        "boolean" => Some("bool"),
                        "number" | "double" | "f64" => Some("float"),
                        "response" => Some("Response"),
                        "workload" => Some("Workload"),
                        _ => None,
                    };
                    let suggestion = synonym
                        .map(String::from)
                        .or_else(|| did_you_mean(other, TYPE_NAMES.iter().copied()));
                    self.emit(module, codes::unknown_type(id.span, other, &suggestion));
                    Type::Error
                }
            },
        }
    }

    /// Parameter signatures with their types and constant defaults.
    pub(crate) fn param_sigs(
        &mut self,
        module: ModuleId,
        decls: &[ast::ParamDecl],
    ) -> Vec<ParamSig> {
        let mut out: Vec<ParamSig> = Vec::new();
        for p in decls {
            if let Some(first) = out.iter().find(|q| q.name == p.name.name) {
                let first = first.span;
                self.emit(module, codes::duplicate(p.name.span, &p.name.name, first));
                continue;
            }
            let ty = self.resolve_type(module, &p.ty);
            let default = p.default.as_ref().map(|d| {
                let mut cx = Ctx::new(module, Mode::Const);
                let v = self.expr(&mut cx, d);
                if !assignable(&v.ty, &ty) {
                    let d2 = codes::mismatch(
                        d.span,
                        &ty.to_string(),
                        &v.ty.to_string(),
                        format!("write a {ty} default"),
                    );
                    self.emit(module, d2);
                    self.error_expr(v.loc)
                } else if !self.require_const(
                    &cx,
                    &v,
                    "a default value",
                    "defaults are constants: write a literal",
                ) {
                    self.error_expr(v.loc)
                } else {
                    v
                }
            });
            out.push(ParamSig {
                name: p.name.name.clone(),
                ty,
                default,
                span: p.name.span,
            });
        }
        out
    }

    pub(crate) fn ensure_fn(&mut self, module: ModuleId, index: usize) -> ItemState {
        let key = (module, index);
        if let Some(s) = self.begin(key) {
            return s;
        }
        let m = self.module(module);
        let Some(ItemKind::Fn(decl)) = m.item(index).map(|i| &i.kind) else {
            return self.finish(key, ItemState::Failed);
        };
        let ((sig, body), had_errors) = self.loud(|c| {
            let params = c.param_sigs(module, &decl.params);
            let declared = decl.ret.as_ref().map(|t| c.resolve_type(module, t));
            let mut cx = Ctx::new(module, Mode::Const);
            cx.in_fn = Some(decl.name.name.clone());
            for (i, p) in params.iter().enumerate() {
                // The parameter's origins are its argument's: `FlowParam(i)` marks them.
                let placeholder = Expr {
                    kind: ExprKind::Item(p.name.clone()),
                    ty: p.ty.clone(),
                    konst: None,
                    comptime: true,
                    origins: vec![Origin::FlowParam(i as u32)],
                    loc: Loc::new(module, p.span),
                };
                cx.bind(&p.name, Binding::Value(placeholder));
            }
            let body = c.expr(&mut cx, &decl.body);
            if !body.ty.is_error() {
                c.require_const(
                    &cx,
                    &body,
                    "a fn body",
                    "a fn is evaluated at compile time; make it a `flow` to use run-time values",
                );
            }
            let ret = match declared {
                Some(t) => {
                    if !assignable(&body.ty, &t) {
                        let d = codes::mismatch(
                            decl.body.span,
                            &t.to_string(),
                            &body.ty.to_string(),
                            format!("make the body a {t}, or change `-> {t}`"),
                        );
                        c.emit(module, d);
                    }
                    t
                }
                None => body.ty.clone(),
            };
            let sig = FnSig {
                name: decl.name.name.clone(),
                module,
                index,
                params,
                ret,
                ok: true,
            };
            (sig, body)
        });
        let sig = FnSig {
            ok: !had_errors,
            ..sig
        };
        let origins = body
            .origins
            .iter()
            .filter(|o| !matches!(o, Origin::FlowParam(_)))
            .cloned()
            .collect();
        let def = FnDef {
            params: sig.params.iter().map(|p| p.name.clone()).collect(),
            ret: sig.ret.clone(),
            body,
            origins,
            ok: sig.ok,
        };
        self.eval.define(key, def);
        self.finish(key, ItemState::Fn(Rc::new(sig)))
    }

    pub(crate) fn ensure_flow_sig(&mut self, module: ModuleId, index: usize) -> ItemState {
        let key = (module, index);
        if let Some(s) = self.begin(key) {
            return s;
        }
        let m = self.module(module);
        let Some(ItemKind::Flow(decl)) = m.item(index).map(|i| &i.kind) else {
            return self.finish(key, ItemState::Failed);
        };
        let (sig, _) = self.loud(|c| {
            let params = c.param_sigs(module, &decl.params);
            let ret = decl.ret.as_ref().map(|t| c.resolve_type(module, t)).unwrap_or(Type::Unit);
            let inline = matches!(decl.body.stmts.as_slice(), [s] if matches!(s.kind, ast::StmtKind::Return(Some(_))));
            FlowSig { name: decl.name.name.clone(), module, index, params, ret, inline }
        });
        self.finish(key, ItemState::Flow(Rc::new(sig)))
    }
}
