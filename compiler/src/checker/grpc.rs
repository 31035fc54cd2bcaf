//! gRPC: `data NAME = proto("shop.proto")` reads a `.proto` file (and its imports,
//! relative to the declaring file) when the test compiles and compiles it with protox
//! (pure Rust, no `protoc`) into a descriptor set the plan carries; `grpc.invoke(TARGET,
//! "package.Service/Method", {..}, metadata: {..}, timeout: 2s, tags: {..})` is checked
//! against it as a data file's columns are: the service, the method (unary only), each
//! field of the request message with its type, with a "did you mean" on every unknown
//! name. The answer is a record `{status, message, error, duration}` whose `message` is
//! typed from the method's output message. `grpc.OK`, `grpc.NOT_FOUND`, .. are the status
//! codes as ints. `data NAME = proto(reflect: TARGET)` takes the descriptors from the
//! target's server reflection service instead, through `SourceLoader::reflect` (the CLI
//! asks the server; the plan carries them as it carries a compiled file).

use super::items::{literal_string, ItemState};
use super::{Checker, Ctx};
use crate::codes::{self, Sink};
use crate::ir::{self, Const, Expr, ExprKind, ModuleId, Origin};
use crate::suggest::did_you_mean;
use crate::types::{assignable, Type};
use crate::SourceLoader;
use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor};
use std::collections::BTreeMap;
use std::path::Path;
use volley_plan::grpc::{MAX_TYPED_DEPTH, STATUS_CODES};
use volley_syntax::ast::{self, ExprKind as A, ItemKind, Span};

/// The most files one `proto(..)` may pull in through imports.
const MAX_PROTO_FILES: usize = 64;

/// `grpc.invoke`'s parameters, in positional order, and which are required.
const INVOKE_PARAMS: &[&str] = &["target", "method", "message", "metadata", "timeout", "tags"];
const INVOKE_REQUIRED: &[bool] = &[true, true, true, false, false, false];

/// Whether a `data` declaration is `proto(..)`.
pub(crate) fn is_proto_decl(source: &ast::Expr) -> bool {
    matches!(&source.kind, A::Call { callee, .. }
        if matches!(&callee.kind, A::Name(n) if n.name == "proto"))
}

/// The type of a message as scripts read it: a record of its fields (nested messages as
/// records, repeated fields as lists, maps and messages nested deeper than
/// `MAX_TYPED_DEPTH` as json). The engine builds values of exactly this shape.
pub(crate) fn message_type(desc: &MessageDescriptor, depth: u32) -> Type {
    if depth > MAX_TYPED_DEPTH {
        return Type::Json;
    }
    Type::Record(
        desc.fields()
            .map(|f| (f.name().to_string(), field_type(&f, depth)))
            .collect(),
    )
}

fn field_type(f: &FieldDescriptor, depth: u32) -> Type {
    if f.is_map() {
        return Type::Json;
    }
    let t = match f.kind() {
        Kind::Double | Kind::Float => Type::Float,
        Kind::Bool => Type::Bool,
        Kind::String | Kind::Bytes | Kind::Enum(_) => Type::Str,
        Kind::Message(m) => message_type(&m, depth + 1),
        _ => Type::Int,
    };
    if f.is_list() {
        Type::list(t)
    } else {
        t
    }
}

/// What a field of kind `k` accepts, for messages.
fn kind_name(f: &FieldDescriptor) -> String {
    let one = match f.kind() {
        Kind::Double | Kind::Float => "a float".to_string(),
        Kind::Bool => "a bool".to_string(),
        Kind::String => "a string".to_string(),
        Kind::Bytes => "a string (base64)".to_string(),
        Kind::Enum(e) => format!("`{}` (a value name as a string, or its number)", e.name()),
        Kind::Message(m) => format!("a `{}` record", m.name()),
        _ => "an int".to_string(),
    };
    if let (true, Kind::Message(entry)) = (f.is_map(), f.kind()) {
        let key = match entry.map_entry_key_field().kind() {
            Kind::String => "text",
            Kind::Bool => "`true`/`false`",
            _ => "integer",
        };
        let value = kind_name(&entry.map_entry_value_field());
        let value = value.trim_start_matches("a ").trim_start_matches("an ");
        format!("a map (a record of {key} keys and {value} values)")
    } else if f.is_list() {
        format!(
            "a list of {}",
            one.trim_start_matches("a ").trim_start_matches("an ")
        )
    } else {
        one
    }
}

/// The sources of a `.proto` file and its imports, for protox.
struct Sources(BTreeMap<String, String>);

impl protox::file::FileResolver for Sources {
    fn resolve_path(&self, path: &Path) -> Option<String> {
        let name = path.to_str()?;
        self.0.contains_key(name).then(|| name.to_string())
    }

    fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
        match self.0.get(name) {
            Some(source) => protox::file::File::from_source(name, source),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// Reads `path` and every file it imports through the loader (paths relative to `dir`,
/// well-known `google/protobuf/..` types built in) and compiles them to an encoded
/// `FileDescriptorSet`; the error says why not.
pub(crate) fn compile_proto(
    loader: &dyn SourceLoader,
    dir: &str,
    path: &str,
) -> Result<Vec<u8>, String> {
    let mut sources = BTreeMap::new();
    let mut todo = vec![path.to_string()];
    while let Some(name) = todo.pop() {
        if sources.contains_key(&name) || name.starts_with("google/protobuf/") {
            continue;
        }
        if sources.len() >= MAX_PROTO_FILES {
            return Err(format!("it imports more than {MAX_PROTO_FILES} files"));
        }
        let full = crate::files::data_path(dir, &name);
        let bytes = loader.load_data(&full).map_err(|e| match name == path {
            true => e.to_string(),
            false => format!("{name} (imported): {e}"),
        })?;
        let text = String::from_utf8(bytes).map_err(|_| format!("{name} is not UTF-8"))?;
        let file = protox::file::File::from_source(&name, &text).map_err(|e| proto_error(&e))?;
        todo.extend(file.file_descriptor_proto().dependency.iter().cloned());
        sources.insert(name, text);
    }
    let mut chain = protox::file::ChainFileResolver::new();
    chain.add(Sources(sources));
    chain.add(protox::file::GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(chain);
    compiler.include_imports(true).include_source_info(false);
    compiler.open_file(path).map_err(|e| proto_error(&e))?;
    Ok(compiler.encode_file_descriptor_set())
}

/// protox's error with the file and line it names.
fn proto_error(e: &protox::Error) -> String {
    match e.file() {
        Some(file) => format!("{file}: {e}"),
        None => e.to_string(),
    }
}

impl<'a> Checker<'a> {
    /// `data NAME = proto("file.proto")`: compiles the file into `Program::protos`;
    /// `data NAME = proto(reflect: TARGET)`: asks the target's reflection service (through
    /// the loader, when the test compiles) for the descriptors of the services it lists.
    pub(crate) fn ensure_proto(&mut self, module: ModuleId, index: usize) -> ItemState {
        let key = (module, index);
        if let Some(s) = self.begin(key) {
            return s;
        }
        let m = self.module(module);
        let Some(ItemKind::Data { source, .. }) = m.item(index).map(|i| &i.kind) else {
            return self.finish(key, ItemState::Failed);
        };
        let args = match &source.kind {
            A::Call { args, .. } => args.as_slice(),
            _ => &[],
        };
        let (state, _) = self.loud(|c| {
            let compiled = match args {
                [a] if a.name.as_ref().is_some_and(|n| n.name == "reflect") => {
                    c.reflect_proto(module, &a.value)
                }
                [a] if a.name.is_none() => {
                    match literal_string(&a.value).filter(|p| !p.is_empty()) {
                        Some(path) => c.file_proto(module, &m.dir, path, a.value.span),
                        None => {
                            let why = "the path is not one constant string";
                            c.emit(module, codes::bad_proto_decl(a.value.span, why));
                            None
                        }
                    }
                }
                [a] => {
                    let name = a.name.as_ref().map_or("", |n| n.name.as_str());
                    let why = match did_you_mean(name, ["reflect"]) {
                        Some(s) => {
                            format!("`proto` has no argument `{name}` (did you mean `{s}`?)")
                        }
                        None => format!("`proto` has no argument `{name}`"),
                    };
                    c.emit(module, codes::bad_proto_decl(a.span, &why));
                    None
                }
                _ => {
                    let why = "it takes one argument";
                    c.emit(module, codes::bad_proto_decl(source.span, why));
                    None
                }
            };
            match compiled {
                Some(file) => {
                    let id = c.prog.protos.len() as u32;
                    c.prog.protos.push(file);
                    ItemState::Proto(id)
                }
                None => ItemState::Failed,
            }
        });
        self.finish(key, state)
    }

    /// `proto("file.proto")`: the file and its imports, compiled.
    fn file_proto(
        &mut self,
        module: ModuleId,
        dir: &str,
        path: String,
        span: Span,
    ) -> Option<volley_plan::FileData> {
        match compile_proto(self.loader, dir, &path) {
            Ok(bytes) => Some(volley_plan::FileData {
                path: if module == 0 {
                    path
                } else {
                    crate::files::data_path(dir, &path)
                },
                bytes,
            }),
            Err(why) => {
                self.emit(module, codes::proto_failed(span, &path, &why));
                None
            }
        }
    }

    /// `proto(reflect: TARGET)`: the target's services, from its reflection service.
    fn reflect_proto(&mut self, module: ModuleId, a: &ast::Expr) -> Option<volley_plan::FileData> {
        let mut cx = Ctx::new(module, super::Mode::Const);
        let t = self.target_arg(&mut cx, a)?;
        let Some(target) = self.prog.targets.get(t as usize) else {
            let why = "`reflect:` takes a declared target, e.g. `proto(reflect: shop)`";
            self.emit(module, codes::bad_proto_decl(a.span, why));
            return None;
        };
        let (name, url) = (target.name.clone(), target.url.clone());
        if !url.starts_with("http://") && !url.starts_with("https://") {
            let why =
                format!("`{name}` ({url}) is not a gRPC target: give an http:// or https:// one");
            self.emit(module, codes::bad_proto_decl(a.span, &why));
            return None;
        }
        let checked = self.loader.reflect(&url).and_then(|bytes| {
            let pool = DescriptorPool::decode(bytes.as_slice())
                .map_err(|e| format!("its descriptors do not decode: {e}"))?;
            let services = pool.services().len();
            match services {
                0 => Err("it lists no service besides reflection".to_string()),
                _ => Ok(bytes),
            }
        });
        match checked {
            Ok(bytes) => Some(volley_plan::FileData {
                path: format!("reflect:{url}"),
                bytes,
            }),
            Err(why) => {
                self.emit(module, codes::reflection_failed(a.span, &name, &url, &why));
                None
            }
        }
    }

    /// Every `.proto` the test declares that compiled: (index, pool); and whether one
    /// did not (its error is reported, and may be why a service is missing).
    fn protos(&mut self) -> (Vec<(u32, DescriptorPool)>, bool) {
        let mut ids = Vec::new();
        let mut failed = false;
        for mi in 0..self.modules.len() {
            let m = self.module(mi as ModuleId);
            for (i, item) in m.items().iter().enumerate() {
                if let ItemKind::Data { source, .. } = &item.kind {
                    if is_proto_decl(source) {
                        match self.ensure_proto(m.id, i) {
                            ItemState::Proto(id) => ids.push(id),
                            _ => failed = true,
                        }
                    }
                }
            }
        }
        let pools = ids
            .into_iter()
            .filter_map(|id| {
                let bytes = &self.prog.protos.get(id as usize)?.bytes;
                Some((id, DescriptorPool::decode(bytes.as_slice()).ok()?))
            })
            .collect();
        (pools, failed)
    }

    /// `grpc.NAME` as a value: a status code.
    pub(crate) fn grpc_value(&mut self, cx: &mut Ctx, field: &ast::Ident, span: Span) -> Expr {
        if let Some((_, code)) = STATUS_CODES.iter().find(|(n, _)| *n == field.name) {
            return self.const_expr(
                Const::Int(*code),
                Type::Int,
                vec![Origin::Literal],
                cx.loc(span),
            );
        }
        let d = if field.name == "invoke" || field.name == "stream" {
            codes::not_a_value(
                span,
                &format!("`grpc.{}` is a function", field.name),
                "call it: `grpc.invoke(TARGET, \"package.Service/Method\", {..})`",
            )
        } else {
            let names = STATUS_CODES
                .iter()
                .map(|(n, _)| *n)
                .chain(["invoke", "stream"]);
            let s = did_you_mean(&field.name, names);
            codes::unknown_grpc_member(field.span, &field.name, &s)
        };
        self.fail(cx, d, field.span)
    }

    /// `grpc.NAME(..)`: only `grpc.invoke(..)`.
    pub(crate) fn grpc_call(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        field: &ast::Ident,
        args: &[ast::Arg],
    ) -> Expr {
        let loc = cx.loc(e.span);
        let stream = field.name == "stream";
        if field.name != "invoke" && !stream {
            for a in args {
                self.expr(cx, &a.value);
            }
            let s = did_you_mean(&field.name, ["invoke", "stream"]);
            return self.fail(
                cx,
                codes::unknown_grpc_member(field.span, &field.name, &s),
                field.span,
            );
        }
        let callee = if stream { "grpc.stream" } else { "grpc.invoke" };
        let (bound, ok) = self.bind_args(cx, callee, INVOKE_PARAMS, INVOKE_REQUIRED, args, e.span);
        let arg = |i: usize| bound.get(i).copied().flatten().and_then(|a| args.get(a));
        let (Some(t), Some(m), Some(msg), true) = (arg(0), arg(1), arg(2), ok) else {
            for a in args {
                self.expr(cx, &a.value);
            }
            return self.error_expr(loc);
        };
        let target = self.target_arg(cx, &t.value);
        let method = self.grpc_method(&m.value, cx.module, stream);
        let message = self.expr(cx, &msg.value);
        let mut ok = target.is_some() && method.is_some() && !message.ty.is_error();
        if let Some((_, md)) = &method {
            ok &= match stream {
                true => self.check_messages(cx.module, &message, &msg.value, &md.input()),
                false => self.check_message(cx.module, &message, Some(&msg.value), &md.input(), 0),
            };
        }
        let metadata = match arg(3) {
            Some(a) => {
                let x = self.expr(cx, &a.value);
                let checked = self.grpc_metadata(cx, a, x);
                ok &= checked.is_some();
                checked
            }
            None => None,
        };
        let timeout_ms = match arg(4) {
            Some(a) => {
                let t = self.grpc_timeout(cx, a);
                ok &= t.is_some();
                t
            }
            None => None,
        };
        let tags = match arg(5) {
            Some(a) => {
                let t = self.grpc_tags(cx, a);
                ok &= t.is_some();
                t.unwrap_or_default()
            }
            None => BTreeMap::new(),
        };
        let (Some(target), Some((proto, md)), true) = (target, method, ok) else {
            return self.error_expr(loc);
        };
        let answer = message_type(&md.output(), 0);
        let ty = Type::Record(vec![
            ("status".into(), Type::Int),
            match stream {
                true => ("messages".into(), Type::list(answer)),
                false => ("message".into(), answer),
            },
            ("error".into(), Type::Str),
            ("duration".into(), Type::Duration),
        ]);
        let call = ir::GrpcCall {
            stream,
            target,
            proto,
            method: format!("{}/{}", md.parent_service().full_name(), md.name()),
            message,
            metadata,
            timeout_ms,
            tags,
        };
        Expr {
            kind: ExprKind::Grpc(Box::new(call)),
            ty,
            konst: None,
            comptime: false,
            origins: Vec::new(),
            loc,
        }
    }

    /// The method `"package.Service/Method"` in the declared `.proto` files.
    fn grpc_method(
        &mut self,
        a: &ast::Expr,
        module: ModuleId,
        stream: bool,
    ) -> Option<(u32, MethodDescriptor)> {
        let bad = |why: &str| {
            codes::bad_grpc_method(
                a.span,
                why,
                "write it as a constant \"package.Service/Method\", e.g. \"shop.Catalog/GetProduct\"",
            )
        };
        let Some(text) = literal_string(a) else {
            self.emit(module, bad("the gRPC method is not a constant string"));
            return None;
        };
        let Some((service, method)) = text.trim_start_matches('/').split_once('/') else {
            self.emit(
                module,
                bad(&format!("`{text}` is not \"package.Service/Method\"")),
            );
            return None;
        };
        let (protos, some_failed) = self.protos();
        let found = protos
            .iter()
            .find_map(|(id, p)| p.get_service_by_name(service).map(|s| (*id, s)));
        let Some((id, svc)) = found else {
            if some_failed {
                // The declaration that failed may have had it: its own error says why.
                return None;
            }
            let known: Vec<String> = protos
                .iter()
                .flat_map(|(_, p)| p.services().map(|s| s.full_name().to_string()))
                .collect();
            let s = did_you_mean(service, known.iter().map(String::as_str));
            let shown: Vec<&str> = known.iter().map(String::as_str).collect();
            self.emit(
                module,
                codes::unknown_grpc_method(a.span, "service", service, &s, &shown),
            );
            return None;
        };
        let Some(md) = svc.methods().find(|m| m.name() == method) else {
            let known: Vec<String> = svc.methods().map(|m| m.name().to_string()).collect();
            let s = did_you_mean(method, known.iter().map(String::as_str))
                .map(|m| format!("{service}/{m}"));
            let full: Vec<String> = known.iter().map(|m| format!("{service}/{m}")).collect();
            let shown: Vec<&str> = full.iter().map(String::as_str).collect();
            self.emit(
                module,
                codes::unknown_grpc_method(a.span, "method", &text, &s, &shown),
            );
            return None;
        };
        let streaming = md.is_client_streaming() || md.is_server_streaming();
        if streaming != stream {
            let d = match streaming {
                true => codes::bad_grpc_method(
                    a.span,
                    &format!("`{text}` is a streaming method"),
                    "call it with `grpc.stream(TARGET, METHOD, [messages..])`",
                ),
                false => codes::bad_grpc_method(
                    a.span,
                    &format!("`{text}` is a unary method"),
                    "call it with `grpc.invoke(TARGET, METHOD, {..})`",
                ),
            };
            self.emit(module, d);
            return None;
        }
        Some((id, md))
    }

    /// Checks a message value against its type, field by field; `written` is the record
    /// literal when there is one (for the spans of its keys and values).
    fn check_message(
        &mut self,
        module: ModuleId,
        x: &Expr,
        written: Option<&ast::Expr>,
        desc: &MessageDescriptor,
        depth: u32,
    ) -> bool {
        let fields = match &x.ty {
            Type::Error | Type::Any => return true,
            Type::Record(fields) => fields.clone(),
            other => {
                let d = codes::mismatch(
                    x.loc.span,
                    &format!("a `{}` record", desc.name()),
                    &other.to_string(),
                    format!(
                        "write the message as a record of its fields, e.g. {}",
                        example(desc)
                    ),
                );
                self.emit(module, d);
                return false;
            }
        };
        let literal = match written.map(|w| &w.kind) {
            Some(A::Record(rfs)) => Some(rfs),
            _ => None,
        };
        let mut ok = true;
        for (name, ty) in &fields {
            let rf = literal.and_then(|rfs| rfs.iter().find(|f| &f.key == name));
            let key_span = rf.map_or(x.loc.span, |f| f.key_span);
            let value_ast = rf.map(|f| &f.value);
            let sub = match &x.kind {
                ExprKind::Record(items) => items.iter().find(|(k, _)| k == name).map(|(_, v)| v),
                _ => None,
            };
            let Some(fd) = desc.get_field_by_name(name) else {
                let known: Vec<String> = desc.fields().map(|f| f.name().to_string()).collect();
                let s = did_you_mean(name, known.iter().map(String::as_str));
                let shown: Vec<&str> = known.iter().map(String::as_str).collect();
                let d = codes::unknown_message_field(key_span, desc.name(), name, &s, &shown);
                self.emit(module, d);
                ok = false;
                continue;
            };
            let value_span = value_ast.map_or(key_span, |v| v.span);
            ok &= self.check_field(module, &fd, ty, sub, value_ast, value_span, depth);
        }
        ok
    }

    /// The messages of a stream: a list of records (each checked), or one record.
    fn check_messages(
        &mut self,
        module: ModuleId,
        x: &Expr,
        written: &ast::Expr,
        desc: &MessageDescriptor,
    ) -> bool {
        let Type::List(elem) = &x.ty else {
            return self.check_message(module, x, Some(written), desc, 0);
        };
        match (&x.kind, &written.kind) {
            (ExprKind::List(items), A::List(asts)) if items.len() == asts.len() => {
                items.iter().zip(asts).fold(true, |ok, (i, w)| {
                    self.check_message(module, i, Some(w), desc, 0) && ok
                })
            }
            _ => {
                let mut probe = x.clone();
                probe.ty = (**elem).clone();
                probe.kind = ExprKind::Error;
                self.check_message(module, &probe, None, desc, 0)
            }
        }
    }

    /// One field's value against the field's kind.
    #[allow(
        clippy::too_many_arguments,
        reason = "one field's facts, passed down once"
    )]
    fn check_field(
        &mut self,
        module: ModuleId,
        fd: &FieldDescriptor,
        ty: &Type,
        sub: Option<&Expr>,
        written: Option<&ast::Expr>,
        span: Span,
        depth: u32,
    ) -> bool {
        let owner = fd.parent_message().clone();
        let wrong = |c: &mut Self| {
            let d = codes::message_field_type(
                span,
                owner.name(),
                fd.name(),
                &kind_name(fd),
                &ty.to_string(),
            );
            c.emit(module, d);
            false
        };
        if ty.is_error() {
            return true;
        }
        if fd.is_map() {
            return self.check_map(module, fd, ty, sub, written, span, depth) || wrong(self);
        }
        if fd.is_list() {
            return match ty {
                Type::List(elem) => {
                    self.check_kind(module, fd, elem, None, None, span, depth) || wrong(self)
                }
                Type::Any => true,
                _ => wrong(self),
            };
        }
        self.check_kind(module, fd, ty, sub, written, span, depth) || wrong(self)
    }

    /// A map field: a record whose keys are the map's keys written as text (`{"7": ..}`
    /// for int keys, `"true"`/`"false"` for bool ones) and whose values fit its values.
    #[allow(
        clippy::too_many_arguments,
        reason = "one field's facts, passed down once"
    )]
    fn check_map(
        &mut self,
        module: ModuleId,
        fd: &FieldDescriptor,
        ty: &Type,
        sub: Option<&Expr>,
        written: Option<&ast::Expr>,
        span: Span,
        depth: u32,
    ) -> bool {
        let Kind::Message(entry) = fd.kind() else {
            return false;
        };
        let (key, value) = (entry.map_entry_key_field(), entry.map_entry_value_field());
        let fields = match ty {
            Type::Json | Type::Any => return true,
            Type::Record(fields) => fields,
            _ => return false,
        };
        fields.iter().all(|(k, vt)| {
            let key_ok = match key.kind() {
                Kind::String => true,
                Kind::Bool => k == "true" || k == "false",
                Kind::Uint32 | Kind::Fixed32 => k.parse::<u32>().is_ok(),
                Kind::Uint64 | Kind::Fixed64 => k.parse::<u64>().is_ok(),
                Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => k.parse::<i32>().is_ok(),
                _ => k.parse::<i64>().is_ok(),
            };
            let item = match sub.map(|x| &x.kind) {
                Some(ExprKind::Record(items)) => items.iter().find(|(n, _)| n == k).map(|(_, v)| v),
                _ => None,
            };
            let item_ast = match written.map(|w| &w.kind) {
                Some(A::Record(rfs)) => rfs.iter().find(|f| &f.key == k).map(|f| &f.value),
                _ => None,
            };
            key_ok && self.check_kind(module, &value, vt, item, item_ast, span, depth)
        })
    }

    /// Whether `ty` fits one value of the field's kind (a nested message is checked field
    /// by field, reporting its own errors).
    #[allow(
        clippy::too_many_arguments,
        reason = "one field's facts, passed down once"
    )]
    fn check_kind(
        &mut self,
        module: ModuleId,
        fd: &FieldDescriptor,
        ty: &Type,
        sub: Option<&Expr>,
        written: Option<&ast::Expr>,
        span: Span,
        depth: u32,
    ) -> bool {
        match fd.kind() {
            Kind::Double | Kind::Float => assignable(ty, &Type::Float),
            Kind::Bool => assignable(ty, &Type::Bool),
            Kind::String | Kind::Bytes => assignable(ty, &Type::Str),
            Kind::Enum(e) => {
                if let Some(Const::Str(v)) = sub.and_then(|x| x.konst.as_ref()) {
                    if e.get_value_by_name(v).is_none() {
                        let names: Vec<String> = e.values().map(|v| v.name().to_string()).collect();
                        let s = did_you_mean(v, names.iter().map(String::as_str));
                        let shown: Vec<&str> = names.iter().map(String::as_str).collect();
                        let d = codes::unknown_message_field(span, e.name(), v, &s, &shown);
                        self.emit(module, d);
                        return true;
                    }
                }
                assignable(ty, &Type::Str) || assignable(ty, &Type::Int)
            }
            Kind::Message(m) => match (ty, sub) {
                (Type::Record(_), Some(x)) if depth < MAX_TYPED_DEPTH => {
                    self.check_message(module, x, written, &m, depth + 1);
                    true
                }
                (Type::Record(_) | Type::Json | Type::Any, _) => true,
                _ => false,
            },
            _ => assignable(ty, &Type::Int),
        }
    }

    /// `metadata: {..}`: a record of text values under lower-case header names.
    fn grpc_metadata(&mut self, cx: &mut Ctx, a: &ast::Arg, x: Expr) -> Option<Expr> {
        if x.ty.is_error() {
            return None;
        }
        if let Type::Record(fields) = &x.ty {
            for (k, _) in fields {
                let valid = !k.is_empty()
                    && !k.starts_with("grpc-")
                    && k.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b)
                    });
                if !valid {
                    let d = codes::bad_metadata(
                        a.value.span,
                        &format!("`{k}` is not a metadata key"),
                        "metadata keys are lower-case header names (`x-request-id`) and do not start with `grpc-`",
                    );
                    self.emit(cx.module, d);
                    return None;
                }
            }
        }
        self.string_record(x, "metadata")
    }

    /// `timeout: 2s`: the call's deadline, a positive constant duration.
    fn grpc_timeout(&mut self, cx: &mut Ctx, a: &ast::Arg) -> Option<u64> {
        let x = self.expr(cx, &a.value);
        if x.ty.is_error()
            || !self.expect(
                cx,
                &x,
                &Type::Duration,
                "a deadline is a duration such as 2s",
            )
        {
            return None;
        }
        let Some(Const::Duration(ms)) = x.konst else {
            self.require_const(
                cx,
                &x,
                "a gRPC deadline",
                "write a duration literal such as 2s",
            );
            return None;
        };
        if ms <= 0.0 {
            let d = codes::out_of_range(
                a.value.span,
                "the timeout",
                "a deadline is a positive duration, e.g. 2s",
            );
            self.emit(cx.module, d);
            return None;
        }
        Some(ms.round() as u64)
    }

    /// `tags: {..}`: constant text values, never a secret.
    fn grpc_tags(&mut self, cx: &mut Ctx, a: &ast::Arg) -> Option<BTreeMap<String, String>> {
        let x = self.expr(cx, &a.value);
        if x.ty.is_error() || self.sink(cx, &x, Sink::Tag) {
            return None;
        }
        match &x.konst {
            Some(Const::Record(fields)) => {
                let mut out = BTreeMap::new();
                for (k, v) in fields {
                    match v {
                        Const::Str(s) => {
                            out.insert(k.clone(), s.clone());
                        }
                        _ => {
                            let d = codes::mismatch(
                                a.value.span,
                                "text tag values",
                                "another value",
                                format!("write the tag `{k}` as a string"),
                            );
                            self.emit(cx.module, d);
                            return None;
                        }
                    }
                }
                Some(out)
            }
            _ => {
                self.require_const(
                    cx,
                    &x,
                    "a gRPC call's tags",
                    "write constant tags such as {flow: \"browse\"}",
                );
                if x.comptime {
                    let d = codes::mismatch(
                        a.value.span,
                        "a record",
                        &x.ty.to_string(),
                        "write the tags as a record, e.g. {flow: \"browse\"}".into(),
                    );
                    self.emit(cx.module, d);
                }
                None
            }
        }
    }
}

/// A message literal with its first fields, for help texts: `{id: 0, name: ""}`.
fn example(desc: &MessageDescriptor) -> String {
    let parts: Vec<String> = desc
        .fields()
        .take(3)
        .map(|f| {
            let v = match f.kind() {
                _ if f.is_map() => "{}",
                _ if f.is_list() => "[]",
                Kind::String | Kind::Bytes => "\"\"",
                Kind::Bool => "false",
                Kind::Double | Kind::Float => "0.0",
                Kind::Message(_) => "{}",
                Kind::Enum(_) => "\"..\"",
                _ => "0",
            };
            format!("{}: {v}", f.name())
        })
        .collect();
    format!("{{{}}}", parts.join(", "))
}
