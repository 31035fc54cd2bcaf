//! The shop's gRPC service `shop.Catalog` (examples/protos/shop.proto), on the shop's own
//! port: a request whose `content-type` is `application/grpc…` is handed to tonic's
//! server instead of the JSON routes (HTTP/2 prior knowledge, as every h2c client
//! speaks it). The `.proto` is compiled by protox when the shop first serves gRPC and the
//! messages are dynamic (prost-reflect): no generated code and no protoc. tonic does the
//! framing, `grpc-status` trailers and deadlines; this module only answers.
//!
//! | Method | Answer |
//! |---|---|
//! | `shop.Catalog/GetProduct` `{id}` | the product (`id`, `name`, `price` as the JSON API, `list_price` `{currency: "USD", cents}`, `availability` `IN_STOCK` for odd ids else `BACKORDER`, `tags`); `NOT_FOUND` for ids outside `1..=1000` |
//! | any other method | `UNIMPLEMENTED` |

use crate::catalog;
use crate::endpoint::Endpoint;
use crate::shop::Shop;
use hyper::body::Incoming;
use hyper::header::CONTENT_TYPE;
use hyper::Request;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, Value};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::server::UnaryService;
use tonic::Status;

/// The service's definition (the same file examples/grpc.load reads).
pub(crate) const SHOP_PROTO: &str = include_str!("../../examples/protos/shop.proto");

/// The response type of a gRPC answer.
pub(crate) type Body = tonic::body::Body;

/// Whether a request is a gRPC call.
pub(crate) fn is_grpc(req: &Request<Incoming>) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

/// `shop.proto` compiled once per process.
fn pool() -> Result<&'static DescriptorPool, Status> {
    static POOL: OnceLock<Result<DescriptorPool, String>> = OnceLock::new();
    POOL.get_or_init(compile)
        .as_ref()
        .map_err(|e| Status::internal(format!("shop.proto: {e}")))
}

/// The one file of the service, for protox.
struct Source;

impl protox::file::FileResolver for Source {
    fn resolve_path(&self, path: &Path) -> Option<String> {
        (path == Path::new("shop.proto")).then(|| "shop.proto".to_string())
    }

    fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
        match name {
            "shop.proto" => protox::file::File::from_source(name, SHOP_PROTO),
            _ => Err(protox::Error::file_not_found(name)),
        }
    }
}

fn compile() -> Result<DescriptorPool, String> {
    let mut compiler = protox::Compiler::with_file_resolver(Source);
    compiler
        .open_file("shop.proto")
        .map_err(|e| e.to_string())?;
    Ok(compiler.descriptor_pool())
}

/// Serves one gRPC call.
pub(crate) async fn handle(shop: Arc<Shop>, req: Request<Incoming>) -> hyper::Response<Body> {
    let path = req.uri().path().to_string();
    let method = pool().ok().and_then(|p| {
        let (service, method) = path.trim_start_matches('/').split_once('/')?;
        let s = p.get_service_by_name(service)?;
        let found = s.methods().find(|m| m.name() == method);
        found
    });
    match (method, path.as_str()) {
        (Some(m), "/shop.Catalog/GetProduct") => {
            shop.counters.hit(Endpoint::GrpcGetProduct);
            let codec = DynamicCodec(m.input());
            let service = GetProduct {
                shop,
                output: m.output(),
            };
            tonic::server::Grpc::new(codec).unary(service, req).await
        }
        _ => Status::unimplemented(format!("no method {path}")).into_http(),
    }
}

/// `shop.Catalog/GetProduct`.
struct GetProduct {
    shop: Arc<Shop>,
    output: MessageDescriptor,
}

type Answer = Pin<Box<dyn Future<Output = Result<tonic::Response<DynamicMessage>, Status>> + Send>>;

impl UnaryService<DynamicMessage> for GetProduct {
    type Response = DynamicMessage;
    type Future = Answer;

    fn call(&mut self, request: tonic::Request<DynamicMessage>) -> Answer {
        let wait = self.shop.wait(Endpoint::GrpcGetProduct);
        let output = self.output.clone();
        Box::pin(async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            let id = request
                .get_ref()
                .get_field_by_name("id")
                .and_then(|v| v.as_i64())
                .unwrap_or(0);
            let found = u64::try_from(id).ok().and_then(catalog::product);
            let Some((name, cents)) = found else {
                return Err(Status::not_found(format!("no product {id}")));
            };
            product(&output, id, name, cents).map(tonic::Response::new)
        })
    }
}

/// The `Product` message of a catalogue entry.
fn product(
    desc: &MessageDescriptor,
    id: i64,
    name: String,
    cents: u64,
) -> Result<DynamicMessage, Status> {
    let bad = |e: &dyn std::fmt::Display| Status::internal(e.to_string());
    let cents = i64::try_from(cents).map_err(|e| bad(&e))?;
    let mut p = DynamicMessage::new(desc.clone());
    let money_desc = desc
        .get_field_by_name("list_price")
        .and_then(|f| f.kind().as_message().cloned())
        .ok_or_else(|| Status::internal("shop.proto: Product has no list_price"))?;
    let mut money = DynamicMessage::new(money_desc);
    money
        .try_set_field_by_name("currency", Value::String("USD".into()))
        .map_err(|e| bad(&e))?;
    money
        .try_set_field_by_name("cents", Value::I64(cents))
        .map_err(|e| bad(&e))?;
    let availability = if id % 2 == 1 { 1 } else { 2 };
    let tags: Vec<Value> = name
        .split(' ')
        .map(|w| Value::String(w.to_lowercase()))
        .collect();
    let fields: BTreeMap<&str, Value> = BTreeMap::from([
        ("id", Value::I64(id)),
        ("name", Value::String(name)),
        ("price", Value::F64(cents as f64 / 100.0)),
        ("list_price", Value::Message(money)),
        ("availability", Value::EnumNumber(availability)),
        ("tags", Value::List(tags)),
    ]);
    for (k, v) in fields {
        p.try_set_field_by_name(k, v).map_err(|e| bad(&e))?;
    }
    Ok(p)
}

/// Decodes requests of one input type and encodes any answer.
#[derive(Clone)]
struct DynamicCodec(MessageDescriptor);

impl Codec for DynamicCodec {
    type Encode = DynamicMessage;
    type Decode = DynamicMessage;
    type Encoder = DynamicCodec;
    type Decoder = DynamicCodec;

    fn encoder(&mut self) -> Self::Encoder {
        self.clone()
    }

    fn decoder(&mut self) -> Self::Decoder {
        self.clone()
    }
}

impl Encoder for DynamicCodec {
    type Item = DynamicMessage;
    type Error = Status;

    fn encode(&mut self, item: DynamicMessage, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        prost::Message::encode(&item, dst).map_err(|e| Status::internal(e.to_string()))
    }
}

impl Decoder for DynamicCodec {
    type Item = DynamicMessage;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<DynamicMessage>, Status> {
        DynamicMessage::decode(self.0.clone(), src)
            .map(Some)
            .map_err(|e| Status::invalid_argument(e.to_string()))
    }
}
