//! The wording of gRPC's diagnostics (E0820–E0828): `.proto` files, `grpc.invoke(..)`,
//! its method, message fields and metadata.

use super::{err, list, Code};
use crate::suggest::hint;
use volley_syntax::ast::Span;
use volley_syntax::Diagnostic;

/// E0820: the `.proto` file could not be read or compiled (`why` is the reason, with the
/// file and line protox names).
pub fn proto_failed(span: Span, path: &str, why: &str) -> Diagnostic {
    err(
        Code::E0820,
        format!("cannot use `{path}`: {why}"),
        span,
        "this .proto file",
        "the path is relative to the .load file (imports too); fix the .proto so that \
         `protoc` would accept it"
            .into(),
    )
}

/// E0821: `grpc.NAME` that is not a member of `grpc`.
pub fn unknown_grpc_member(span: Span, name: &str, suggestion: &Option<String>) -> Diagnostic {
    let help = hint(suggestion).unwrap_or_else(|| {
        "call `grpc.invoke(TARGET, \"package.Service/Method\", {..})` or compare a status \
         with a code such as `grpc.OK` or `grpc.NOT_FOUND`"
            .into()
    });
    err(
        Code::E0821,
        format!("`grpc` has no `{name}`"),
        span,
        "not a member of `grpc`",
        help,
    )
}

/// E0822: the method is not a constant `"package.Service/Method"`, or is a stream.
pub fn bad_grpc_method(span: Span, message: &str, help: &str) -> Diagnostic {
    err(Code::E0822, message.into(), span, "the method", help.into())
}

/// E0823: no declared `.proto` has the service or method. `what` is "service" or
/// "method"; `known` lists what there is.
pub fn unknown_grpc_method(
    span: Span,
    what: &str,
    name: &str,
    suggestion: &Option<String>,
    known: &[&str],
) -> Diagnostic {
    let help = hint(suggestion).unwrap_or_else(|| {
        if known.is_empty() {
            "declare the .proto file that defines it: `data shop = proto(\"shop.proto\")`".into()
        } else {
            format!("the declared .proto files have {}", list(known))
        }
    });
    err(
        Code::E0823,
        format!("unknown gRPC {what} `{name}`"),
        span,
        format!("no such {what}"),
        help,
    )
}

/// E0824: a message field the message type does not declare.
pub fn unknown_message_field(
    span: Span,
    message: &str,
    field: &str,
    suggestion: &Option<String>,
    fields: &[&str],
) -> Diagnostic {
    let help = hint(suggestion).unwrap_or_else(|| {
        if fields.is_empty() {
            format!("`{message}` has no fields: send `{{}}`")
        } else {
            format!("`{message}` has {}", list(fields))
        }
    });
    err(
        Code::E0824,
        format!("`{message}` has no field `{field}`"),
        span,
        "unknown field",
        help,
    )
}

/// E0825: a message field given a value of the wrong type.
pub fn message_field_type(
    span: Span,
    message: &str,
    field: &str,
    want: &str,
    found: &str,
) -> Diagnostic {
    err(
        Code::E0825,
        format!("field `{field}` of `{message}` is {want}, found {found}"),
        span,
        format!("expected {want}"),
        format!("give `{field}` {want}"),
    )
}

/// E0826: metadata that is not a record of text values, or a key that is not a
/// lower-case header name.
pub fn bad_metadata(span: Span, message: &str, help: &str) -> Diagnostic {
    err(Code::E0826, message.into(), span, "metadata", help.into())
}

/// E0827: the target's reflection service did not give the descriptors (`why`: the
/// server is unreachable, has no reflection, or answered with an error).
pub fn reflection_failed(span: Span, target: &str, url: &str, why: &str) -> Diagnostic {
    err(
        Code::E0827,
        format!("cannot read the gRPC services of `{target}` ({url}) from its reflection service: {why}"),
        span,
        "descriptors read from this target when the test compiles",
        "start the server before compiling (`volley run FILE --demo` starts the demo shop first), \
         make it serve gRPC server reflection (`grpc.reflection.v1`), or declare its .proto \
         file instead: `data shop = proto(\"shop.proto\")`"
            .into(),
    )
}

/// E0828: `proto(..)` that is neither `proto("file.proto")` nor `proto(reflect: TARGET)`.
pub fn bad_proto_decl(span: Span, why: &str) -> Diagnostic {
    err(
        Code::E0828,
        format!("malformed `proto(..)`: {why}"),
        span,
        "here",
        "write `proto(\"protos/shop.proto\")` (a file, read when the test compiles) or \
         `proto(reflect: shop)` (the services of the target `shop`, from its reflection service)"
            .into(),
    )
}
