//! gRPC in the plan: a unary call (`grpc.invoke(..)`) and the status codes scripts
//! compare with (`grpc.OK`). The messages are described by the descriptor sets the
//! compiler made from the test's `.proto` files (`Plan::protos`, each an encoded
//! `google.protobuf.FileDescriptorSet`); the engine builds dynamic messages from them.

use crate::program::Expr;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One gRPC call: unary (`grpc.invoke`), or a stream (`grpc.stream`: server, client or
/// bidirectional, its messages sent in order, then every answer read to the end).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GrpcCall {
    /// `grpc.stream(..)`: `message` is a list of messages (or one), the answer a list.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
    /// Index into `Plan::targets` (an `http://` target is h2c, `https://` TLS).
    pub target: u32,
    /// Index into `Plan::protos`: the descriptor set that declares the method.
    pub proto: u32,
    /// The method as `package.Service/Method`.
    pub method: String,
    /// The request message: a record whose fields the compiler checked against the
    /// method's input type.
    pub message: Expr,
    /// Metadata (a record of strings), sent as request headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Expr>,
    /// The deadline (`grpc-timeout`), in ms; the scenario's `http.timeout` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// The call's own constant tags, over the scenario's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// How deep nested messages are typed as records; deeper ones (and maps) are json. The
/// compiler types an answer's `message` and the engine builds its value by this rule.
pub const MAX_TYPED_DEPTH: u32 = 6;

/// gRPC's status codes by name, as `grpc.NAME` gives them (the numbers of the gRPC
/// specification, which k6's `grpc.StatusOK`.. also use).
pub const STATUS_CODES: &[(&str, i64)] = &[
    ("OK", 0),
    ("CANCELLED", 1),
    ("UNKNOWN", 2),
    ("INVALID_ARGUMENT", 3),
    ("DEADLINE_EXCEEDED", 4),
    ("NOT_FOUND", 5),
    ("ALREADY_EXISTS", 6),
    ("PERMISSION_DENIED", 7),
    ("RESOURCE_EXHAUSTED", 8),
    ("FAILED_PRECONDITION", 9),
    ("ABORTED", 10),
    ("OUT_OF_RANGE", 11),
    ("UNIMPLEMENTED", 12),
    ("INTERNAL", 13),
    ("UNAVAILABLE", 14),
    ("DATA_LOSS", 15),
    ("UNAUTHENTICATED", 16),
];
