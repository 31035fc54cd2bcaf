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
//! | `shop.Catalog/ListProducts` `{limit}` (server stream) | products `1..=limit`, one message each; `INVALID_ARGUMENT` outside `1..=100` |
//! | `shop.Catalog/AddToCart` (client stream of `{product_id, qty}`) | `{lines, total_qty, total_cents}` once the client is done; `NOT_FOUND` for an unknown product, `INVALID_ARGUMENT` for `qty < 1` |
//! | `shop.Catalog/Chat` (bidirectional stream of `{text, meta}`) | each message back as it comes, its text upper-cased, its `meta` map as sent |
//! | `grpc.reflection.v1.ServerReflection/ServerReflectionInfo` (and `v1alpha`) | server reflection (tonic-reflection): lists `shop.Catalog` and gives `shop.proto`'s descriptors |
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
use tokio_stream::Stream;
use tonic::server::UnaryService;
use tonic::Status;
use volley_grpc_codec::DynamicCodec;

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
    POOL.get_or_init(|| {
        let bytes = encoded().map_err(|e| e.message().to_string())?;
        DescriptorPool::decode(bytes).map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| Status::internal(format!("shop.proto: {e}")))
}

/// `shop.proto` compiled once per process, as an encoded `FileDescriptorSet` (what the
/// reflection service serves).
fn encoded() -> Result<&'static [u8], Status> {
    static SET: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();
    SET.get_or_init(compile)
        .as_ref()
        .map(Vec::as_slice)
        .map_err(|e| Status::internal(format!("shop.proto: {e}")))
}

/// Serves gRPC server reflection (tonic-reflection, `v1` and `v1alpha`) of `shop.proto`.
async fn reflection(path: &str, req: Request<Incoming>) -> hyper::Response<Body> {
    use tonic::codegen::Service as _;
    let set = match encoded() {
        Ok(set) => set,
        Err(s) => return s.into_http(),
    };
    let builder =
        tonic_reflection::server::Builder::configure().register_encoded_file_descriptor_set(set);
    let answer = if path.starts_with("/grpc.reflection.v1alpha.") {
        match builder.build_v1alpha() {
            Ok(mut service) => service.call(req).await,
            Err(e) => return Status::internal(e.to_string()).into_http(),
        }
    } else {
        match builder.build_v1() {
            Ok(mut service) => service.call(req).await,
            Err(e) => return Status::internal(e.to_string()).into_http(),
        }
    };
    match answer {
        Ok(response) => response,
        Err(never) => match never {},
    }
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

fn compile() -> Result<Vec<u8>, String> {
    let mut compiler = protox::Compiler::with_file_resolver(Source);
    compiler.include_imports(true).include_source_info(false);
    compiler
        .open_file("shop.proto")
        .map_err(|e| e.to_string())?;
    Ok(compiler.encode_file_descriptor_set())
}

/// Serves one gRPC call.
pub(crate) async fn handle(shop: Arc<Shop>, req: Request<Incoming>) -> hyper::Response<Body> {
    let path = req.uri().path().to_string();
    if path.starts_with("/grpc.reflection.v1.") || path.starts_with("/grpc.reflection.v1alpha.") {
        return reflection(&path, req).await;
    }
    let method = pool().ok().and_then(|p| {
        let (service, method) = path.trim_start_matches('/').split_once('/')?;
        let s = p.get_service_by_name(service)?;
        let found = s.methods().find(|m| m.name() == method);
        found
    });
    match (method, path.as_str()) {
        (Some(m), "/shop.Catalog/GetProduct") => {
            shop.counters.hit(Endpoint::GrpcGetProduct);
            let codec = DynamicCodec::server(m.input());
            let service = GetProduct {
                shop,
                output: m.output(),
            };
            tonic::server::Grpc::new(codec).unary(service, req).await
        }
        (Some(m), "/shop.Catalog/ListProducts") => {
            shop.counters.hit(Endpoint::GrpcListProducts);
            let codec = DynamicCodec::server(m.input());
            let service = ListProducts(m.output());
            tonic::server::Grpc::new(codec)
                .server_streaming(service, req)
                .await
        }
        (Some(m), "/shop.Catalog/AddToCart") => {
            shop.counters.hit(Endpoint::GrpcAddToCart);
            let codec = DynamicCodec::server(m.input());
            let service = AddToCart(m.output());
            tonic::server::Grpc::new(codec)
                .client_streaming(service, req)
                .await
        }
        (Some(m), "/shop.Catalog/Chat") => {
            shop.counters.hit(Endpoint::GrpcChat);
            let codec = DynamicCodec::server(m.input());
            let service = Chat(m.output());
            tonic::server::Grpc::new(codec)
                .streaming(service, req)
                .await
        }
        _ => Status::unimplemented(format!("no method {path}")).into_http(),
    }
}

type Messages = Pin<Box<dyn Stream<Item = Result<DynamicMessage, Status>> + Send>>;
type Streamed = Pin<Box<dyn Future<Output = Result<tonic::Response<Messages>, Status>> + Send>>;

fn int_field(m: &DynamicMessage, name: &str) -> i64 {
    m.get_field_by_name(name)
        .and_then(|v| v.as_i64().or_else(|| v.as_i32().map(i64::from)))
        .unwrap_or(0)
}

/// `shop.Catalog/ListProducts`: a server stream.
struct ListProducts(MessageDescriptor);

impl tonic::server::ServerStreamingService<DynamicMessage> for ListProducts {
    type Response = DynamicMessage;
    type ResponseStream = Messages;
    type Future = Streamed;

    fn call(&mut self, request: tonic::Request<DynamicMessage>) -> Streamed {
        let output = self.0.clone();
        Box::pin(async move {
            let limit = int_field(request.get_ref(), "limit");
            if !(1..=100).contains(&limit) {
                return Err(Status::invalid_argument(format!(
                    "limit {limit} is not within 1..=100"
                )));
            }
            let items: Vec<Result<DynamicMessage, Status>> = (1..=limit)
                .map(|id| {
                    let (name, cents) =
                        catalog::product(id as u64).ok_or_else(|| Status::internal("catalogue"))?;
                    product(&output, id, name, cents)
                })
                .collect();
            let stream: Messages = Box::pin(tokio_stream::iter(items));
            Ok(tonic::Response::new(stream))
        })
    }
}

/// `shop.Catalog/AddToCart`: a client stream.
struct AddToCart(MessageDescriptor);

impl tonic::server::ClientStreamingService<DynamicMessage> for AddToCart {
    type Response = DynamicMessage;
    type Future = Answer;

    fn call(&mut self, request: tonic::Request<tonic::Streaming<DynamicMessage>>) -> Answer {
        let output = self.0.clone();
        Box::pin(async move {
            let mut items = request.into_inner();
            let (mut lines, mut qty, mut cents) = (0i32, 0i64, 0i64);
            while let Some(item) = items.message().await? {
                let id = int_field(&item, "product_id");
                let q = int_field(&item, "qty");
                let Some((_, price)) = u64::try_from(id).ok().and_then(catalog::product) else {
                    return Err(Status::not_found(format!("no product {id}")));
                };
                if q < 1 {
                    return Err(Status::invalid_argument(format!("qty {q} is below 1")));
                }
                lines += 1;
                qty += q;
                cents += q * i64::try_from(price).unwrap_or(0);
            }
            let mut cart = DynamicMessage::new(output);
            let bad = |e: prost_reflect::SetFieldError| Status::internal(e.to_string());
            cart.try_set_field_by_name("lines", Value::I32(lines))
                .map_err(bad)?;
            cart.try_set_field_by_name("total_qty", Value::I64(qty))
                .map_err(bad)?;
            cart.try_set_field_by_name("total_cents", Value::I64(cents))
                .map_err(bad)?;
            Ok(tonic::Response::new(cart))
        })
    }
}

/// `shop.Catalog/Chat`: a bidirectional stream.
struct Chat(MessageDescriptor);

impl tonic::server::StreamingService<DynamicMessage> for Chat {
    type Response = DynamicMessage;
    type ResponseStream = Messages;
    type Future = Streamed;

    fn call(&mut self, request: tonic::Request<tonic::Streaming<DynamicMessage>>) -> Streamed {
        let output = self.0.clone();
        Box::pin(async move {
            let incoming = request.into_inner();
            let echoed = tokio_stream::StreamExt::map(incoming, move |m| {
                let m = m?;
                let text = m
                    .get_field_by_name("text")
                    .and_then(|v| v.as_str().map(str::to_uppercase))
                    .unwrap_or_default();
                let mut out = DynamicMessage::new(output.clone());
                out.try_set_field_by_name("text", Value::String(text))
                    .map_err(|e| Status::internal(e.to_string()))?;
                if let Some(meta) = m.get_field_by_name("meta") {
                    out.try_set_field_by_name("meta", meta.into_owned())
                        .map_err(|e| Status::internal(e.to_string()))?;
                }
                Ok(out)
            });
            let stream: Messages = Box::pin(echoed);
            Ok(tonic::Response::new(stream))
        })
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
