//! gRPC calls (`grpc.invoke(..)`): the request record becomes a dynamic protobuf message
//! of the method's input type (prost-reflect, from the plan's descriptor sets), tonic
//! sends it over the VU's HTTP/2 channel to the target (plaintext h2c for `http://`; a
//! channel per target and VU, connected on first use and kept, as k6 keeps a VU's
//! client; its host resolved as the scenario's HTTP requests resolve it, `http.hosts`
//! and `http.dns` through the runner's resolver; `https://` through the scenario's TLS
//! configuration, the same rustls config as its HTTP requests with ALPN `h2`: `http.tls`
//! certificates, CA, versions and `insecure_tls`), and the answer comes back as the
//! record `{status, message, error, duration}` the compiler typed: every field of the
//! output message (absent ones at their default), nested messages as records, repeated
//! fields as lists, enums by name, bytes as base64, maps and messages nested deeper than
//! `MAX_TYPED_DEPTH` as json (a map field sent is a record keyed by the map's keys as
//! text). Each call records a
//! `grpc_req_duration` sample tagged `name` and `method` (`/package.Service/Method`) and
//! `status` (the gRPC code), as k6 does.
//!
//! This module must not hand-write any of the protocol: framing, headers, deadlines and
//! status codes are tonic's.

use super::code::Expr;
use super::tags::TagMap;
use super::{ms, Halt, Vu, R};
use crate::http::codes;
use crate::value::{from_json, Value};
use base64::Engine as _;
use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, MethodDescriptor,
    ReflectMessage, Value as PValue,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tonic::transport::{Channel, Endpoint};
use tonic::Status;
use volley_grpc_codec::DynamicCodec;
use volley_plan::grpc::MAX_TYPED_DEPTH;

/// A call's deadline when it sets none (k6's default for gRPC).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// One `grpc.invoke(..)` site, prepared.
pub struct GrpcCode {
    /// `grpc.stream(..)`: the message is a list, the answer `messages`.
    pub stream: bool,
    pub target: u32,
    pub method: MethodDescriptor,
    /// `/package.Service/Method`.
    pub path: http::uri::PathAndQuery,
    /// The `name` and `method` tags: the path.
    pub name: Arc<str>,
    pub message: Expr,
    pub metadata: Option<Expr>,
    pub timeout: Option<Duration>,
    pub tags: Option<TagMap>,
}

/// A VU's gRPC channels by target index.
#[derive(Default)]
pub struct Channels(HashMap<u32, Channel>);

impl Vu {
    pub(crate) async fn grpc(&mut self, g: &GrpcCode) -> R<Value> {
        let bad = |why: String| {
            Halt::error(
                format!("grpc {}: invalid message", g.name),
                format!("grpc {}: {why}", g.name),
            )
        };
        let value = self.eval_nested(&g.message).await?;
        if g.stream {
            let items = match &value {
                Value::List(items) => items.to_vec(),
                other => vec![other.clone()],
            };
            let messages = items
                .iter()
                .map(|v| to_message(&g.method.input(), v))
                .collect::<Result<Vec<_>, _>>()
                .map_err(bad)?;
            let mut req = tonic::Request::new(tokio_stream::iter(messages.clone()));
            self.grpc_metadata(g, req.metadata_mut()).await?;
            return self.grpc_stream(g, req, messages.len()).await;
        }
        let message = to_message(&g.method.input(), &value).map_err(bad)?;
        let mut req = tonic::Request::new(message);
        self.grpc_metadata(g, req.metadata_mut()).await?;
        let timeout = g.timeout.unwrap_or(DEFAULT_TIMEOUT);
        req.set_timeout(timeout);
        let channel = self.grpc_channel(g.target)?;
        if matches!(self.role, super::Role::Scenario(_))
            && self.shared.first_request.get().is_none()
        {
            let _ = self.shared.first_request.set(std::time::SystemTime::now());
        }
        // Open models: the wait since the iteration was due counts, as for HTTP.
        let queued = self
            .due
            .take()
            .map_or(0.0, |d| ms(Instant::now().saturating_duration_since(d)));
        let started = Instant::now();
        let mut client = tonic::client::Grpc::new(channel);
        let codec = DynamicCodec::client(g.method.output());
        let mut unanswered = None;
        let call = async {
            ready(&mut client, &mut unanswered).await?;
            client.unary(req, g.path.clone(), codec).await
        };
        let (result, timed_out) = match tokio::time::timeout(timeout, call).await {
            Ok(r) => (r, false),
            Err(_) => (Err(Status::deadline_exceeded("deadline exceeded")), true),
        };
        let (result, timed_out) = client_deadline(result, timed_out);
        let duration_ms = ms(started.elapsed()) + queued;
        let unanswered = unanswered.or(timed_out.then_some(codes::REQUEST_TIMEOUT));
        let error_code = self.grpc_unanswered(g, unanswered, result.as_ref().err());
        let (status, answer, error) = match result {
            Ok(resp) => (0, resp.into_inner(), String::new()),
            Err(s) => (
                s.code() as i32,
                DynamicMessage::new(g.method.output()),
                s.message().to_string(),
            ),
        };
        self.rec.grpc(
            &self.group,
            &g.name,
            &g.tags,
            u16::try_from(status).unwrap_or(u16::MAX),
            error_code,
            duration_ms,
        );
        Ok(Value::Record(Arc::from(vec![
            (Arc::from("status"), Value::Int(i64::from(status))),
            (Arc::from("message"), message_value(&answer, 0)),
            (Arc::from("error"), Value::str(&error)),
            (Arc::from("duration"), Value::Duration(duration_ms)),
        ])))
    }

    /// Evaluates a call's metadata into the request's.
    async fn grpc_metadata(
        &mut self,
        g: &GrpcCode,
        into: &mut tonic::metadata::MetadataMap,
    ) -> R<()> {
        let Some(m) = &g.metadata else {
            return Ok(());
        };
        if let Value::Record(fields) = self.eval_nested(m).await? {
            for (k, v) in fields.iter() {
                let text = v.as_text().map_or_else(|| v.to_text(), str::to_string);
                let key = tonic::metadata::MetadataKey::from_bytes(k.as_bytes());
                let val = tonic::metadata::MetadataValue::try_from(text.as_str());
                let (Ok(key), Ok(val)) = (key, val) else {
                    return Err(Halt::error(
                        format!("grpc {}: invalid metadata {k}", g.name),
                        format!("grpc {}: metadata {k:?} has an invalid value", g.name),
                    ));
                };
                into.insert(key, val);
            }
        }
        Ok(())
    }

    /// A stream: sends every message, half-closes, reads every answer to the end (or to
    /// an error status, or the deadline). Records `grpc_streams` +1 and the messages sent
    /// and received, tagged as a unary call's samples.
    async fn grpc_stream(
        &mut self,
        g: &GrpcCode,
        req: tonic::Request<tokio_stream::Iter<std::vec::IntoIter<DynamicMessage>>>,
        sent: usize,
    ) -> R<Value> {
        let mut req = req;
        let timeout = g.timeout.unwrap_or(DEFAULT_TIMEOUT);
        req.set_timeout(timeout);
        let channel = self.grpc_channel(g.target)?;
        let started = Instant::now();
        let mut client = tonic::client::Grpc::new(channel);
        let codec = DynamicCodec::client(g.method.output());
        let mut received = Vec::new();
        let mut unanswered = None;
        let call = async {
            ready(&mut client, &mut unanswered).await?;
            let mut answers = client
                .streaming(req, g.path.clone(), codec)
                .await?
                .into_inner();
            while let Some(m) = answers.message().await? {
                received.push(m);
            }
            Ok::<(), Status>(())
        };
        let (result, timed_out) = match tokio::time::timeout(timeout, call).await {
            Ok(r) => (r, false),
            Err(_) => (Err(Status::deadline_exceeded("deadline exceeded")), true),
        };
        let (result, timed_out) = client_deadline(result, timed_out);
        let duration_ms = ms(started.elapsed());
        // A stream that had answers before its deadline was answered.
        let silent = timed_out && received.is_empty();
        let unanswered = unanswered.or(silent.then_some(codes::REQUEST_TIMEOUT));
        let error_code = self.grpc_unanswered(g, unanswered, result.as_ref().err());
        let (status, error) = match result {
            Ok(()) => (0, String::new()),
            Err(s) => (s.code() as i32, s.message().to_string()),
        };
        self.rec.grpc_stream(
            &self.group,
            &g.name,
            &g.tags,
            u16::try_from(status).unwrap_or(u16::MAX),
            error_code,
            (sent, received.len()),
        );
        let messages: Vec<Value> = received.iter().map(|m| message_value(m, 0)).collect();
        Ok(Value::Record(Arc::from(vec![
            (Arc::from("status"), Value::Int(i64::from(status))),
            (Arc::from("messages"), Value::List(messages.into())),
            (Arc::from("error"), Value::str(&error)),
            (Arc::from("duration"), Value::Duration(duration_ms)),
        ])))
    }

    /// The error code of a call no server answered, counted as the first of its code for
    /// the summary's errors section: its connection could not be made (`ready` failed)
    /// or nothing came before its deadline (1050, as a request's timeout; both in
    /// `unanswered`), or it broke before an answer (a status whose source is a transport
    /// error; a status a server sent has none). `None` when a server answered, whatever
    /// its status (DEADLINE_EXCEEDED from the server too).
    fn grpc_unanswered(
        &mut self,
        g: &GrpcCode,
        unanswered: Option<u32>,
        failed: Option<&Status>,
    ) -> Option<u32> {
        let code = unanswered.or_else(|| {
            failed
                .and_then(std::error::Error::source)
                .map(transport_code)
        })?;
        let why = failed.map_or_else(String::new, |s| match std::error::Error::source(s) {
            Some(source) => source.to_string(),
            None => s.message().to_string(),
        });
        self.first_error_at(code, &g.name, g.target as usize, &why);
        Some(code)
    }

    /// The VU's channel to a target, made (not yet connected) on first use.
    fn grpc_channel(&mut self, target: u32) -> R<Channel> {
        if let Some(c) = self.grpc.0.get(&target) {
            return Ok(c.clone());
        }
        let base = self
            .shared
            .program
            .targets
            .get(target as usize)
            .cloned()
            .unwrap_or_default();
        let endpoint = Endpoint::from_shared(base.clone()).map_err(|e| {
            Halt::error(
                "grpc: invalid target".to_string(),
                format!("grpc: target {base}: {e}"),
            )
        })?;
        let (tls, opts) = match self.role {
            super::Role::Scenario(i) => (
                self.shared.scenario_tls.get(i),
                self.shared.client_options.get(i),
            ),
            _ => (None, None),
        };
        // Setup and teardown: every scenario's fixed hosts, as their HTTP requests.
        let opts = opts.or(self.shared.client_options.last());
        let tls = base.starts_with("https://").then(|| {
            let tls = tls
                .or(self.shared.scenario_tls.last())
                .unwrap_or(&self.shared.tls);
            let insecure = opts.is_some_and(|o| o.insecure_tls);
            Arc::clone(tls.client_config(insecure, true))
        });
        let connector = Connector {
            dns: Some((
                Arc::clone(&self.shared.resolver),
                opts.map(|o| o.dns.clone()).unwrap_or_default(),
            )),
            tls,
            proxy: opts.and_then(|o| o.proxy.clone()),
        };
        let channel = endpoint.connect_with_connector_lazy(connector);
        self.grpc.0.insert(target, channel.clone());
        Ok(channel)
    }
}

/// A byte stream tonic's channel speaks HTTP/2 over: TCP, or TLS over TCP.
pub(crate) trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> Io for T {}

/// Opens the connections of a gRPC channel: the address through the runner's resolver
/// with the scenario's `http.hosts` and `http.dns` (as its HTTP requests; IP literals
/// as they are), then TLS with ALPN `h2` for an `https://` target.
#[derive(Clone)]
pub(crate) struct Connector {
    /// The runner's resolver and the scenario's DNS options; `None`: the system's.
    pub(crate) dns: Option<(Arc<crate::http::Resolver>, crate::http::DnsOptions)>,
    /// The rustls configuration of an `https://` target.
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    /// The scenario's (or the environment's) proxies: a target one applies to is reached
    /// through a `CONNECT` tunnel, as an `https://` request is (h2c or TLS inside it).
    pub(crate) proxy: Option<Arc<crate::http::Proxies>>,
}

type Connecting = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = std::io::Result<hyper_util::rt::TokioIo<Box<dyn Io>>>>
            + Send,
    >,
>;

impl tower_service::Service<http::Uri> for Connector {
    type Response = hyper_util::rt::TokioIo<Box<dyn Io>>;
    type Error = std::io::Error;
    type Future = Connecting;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Connecting {
        let this = self.clone();
        Box::pin(async move {
            let invalid = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, why);
            let host = uri
                .host()
                .ok_or_else(|| invalid(format!("{uri} has no host")))?
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            let port = uri
                .port_u16()
                .unwrap_or(if this.tls.is_some() { 443 } else { 80 });
            let proxy = this
                .proxy
                .as_ref()
                .and_then(|p| p.for_target(this.tls.is_some(), &host, port));
            let (name, name_port) = match proxy {
                Some(p) => (p.host.as_str(), p.port),
                None => (host.as_str(), port),
            };
            // A proxy that cannot be reached is the proxy's error (1030), as for requests.
            let via_proxy = |e: crate::http::HttpError| match proxy {
                Some(p) => Transport(crate::http::HttpError::new(
                    crate::http::codes::PROXY,
                    format!("proxy {}: {}", p.shown, e.message),
                )),
                None => Transport(e),
            };
            let dialled = match &this.dns {
                Some((resolver, opts)) => {
                    let addr = resolver
                        .resolve(name, name_port, opts)
                        .await
                        .map_err(|e| std::io::Error::other(via_proxy(e)))?;
                    tokio::net::TcpStream::connect(addr).await
                }
                None => tokio::net::TcpStream::connect((name, name_port)).await,
            };
            let mut tcp = dialled.map_err(|e| match proxy {
                Some(_) => std::io::Error::other(via_proxy(crate::http::HttpError::dial(&e))),
                None => e,
            })?;
            tcp.set_nodelay(true)?;
            if let Some(p) = proxy {
                let authority = if host.contains(':') {
                    format!("[{host}]:{port}")
                } else {
                    format!("{host}:{port}")
                };
                crate::http::tunnel(&mut tcp, p, &authority)
                    .await
                    .map_err(|e| std::io::Error::other(Transport(e)))?;
            }
            let io: Box<dyn Io> = match this.tls {
                Some(config) => {
                    let name = rustls::pki_types::ServerName::try_from(host)
                        .map_err(|e| invalid(e.to_string()))?;
                    Box::new(
                        tokio_rustls::TlsConnector::from(config)
                            .connect(name, tcp)
                            .await?,
                    )
                }
                None => Box::new(tcp),
            };
            Ok(hyper_util::rt::TokioIo::new(io))
        })
    }
}

/// A record (or json object) as a message of type `desc`.
pub(crate) fn to_message(desc: &MessageDescriptor, v: &Value) -> Result<DynamicMessage, String> {
    let mut msg = DynamicMessage::new(desc.clone());
    let fields = match v {
        Value::Record(f) => f.clone(),
        Value::Json(j) if j.is_object() => return to_message(desc, &from_json(j)),
        Value::Null => return Ok(msg),
        other => {
            return Err(format!(
                "{} is a {}, not a record",
                desc.name(),
                other.kind()
            ))
        }
    };
    for (k, val) in fields.iter() {
        let fd = desc
            .get_field_by_name(k)
            .ok_or_else(|| format!("{} has no field {k}", desc.name()))?;
        let pv = if fd.is_map() {
            to_map(&fd, val).map_err(|why| format!("field {k}: {why}"))?
        } else if fd.is_list() {
            let items = match val {
                Value::List(items) => items.to_vec(),
                Value::Json(j) => match from_json(j) {
                    Value::List(items) => items.to_vec(),
                    _ => return Err(format!("field {k} is a list")),
                },
                _ => return Err(format!("field {k} is a list")),
            };
            let kind = fd.kind();
            PValue::List(
                items
                    .iter()
                    .map(|x| to_scalar(&kind, x))
                    .collect::<Result<_, _>>()
                    .map_err(|why| format!("field {k}: {why}"))?,
            )
        } else {
            to_scalar(&fd.kind(), val).map_err(|why| format!("field {k}: {why}"))?
        };
        msg.try_set_field(&fd, pv)
            .map_err(|e| format!("field {k}: {e}"))?;
    }
    Ok(msg)
}

/// A record (or json object) as a map field: its keys parsed as the map's key type, its
/// values as its value type.
fn to_map(fd: &FieldDescriptor, v: &Value) -> Result<PValue, String> {
    let Kind::Message(entry) = fd.kind() else {
        return Err("not a map".into());
    };
    let (key_kind, value_kind) = (
        entry.map_entry_key_field().kind(),
        entry.map_entry_value_field().kind(),
    );
    let fields = match v {
        Value::Record(f) => f.clone(),
        Value::Json(j) if j.is_object() => return to_map(fd, &from_json(j)),
        Value::Null => Arc::from(Vec::new()),
        other => return Err(format!("a {} is not a map (a record)", other.kind())),
    };
    let mut out = HashMap::with_capacity(fields.len());
    for (k, val) in fields.iter() {
        let bad = |_| format!("key {k:?} is not a {key_kind:?} key");
        let key = match key_kind {
            Kind::String => MapKey::String(k.to_string()),
            Kind::Bool => MapKey::Bool(k.parse().map_err(|_| format!("key {k:?} is not a bool"))?),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => MapKey::I32(k.parse().map_err(bad)?),
            Kind::Uint32 | Kind::Fixed32 => MapKey::U32(k.parse().map_err(bad)?),
            Kind::Uint64 | Kind::Fixed64 => MapKey::U64(k.parse().map_err(bad)?),
            _ => MapKey::I64(k.parse().map_err(bad)?),
        };
        out.insert(key, to_scalar(&value_kind, val)?);
    }
    Ok(PValue::Map(out))
}

fn to_int(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Float(f) if f.fract() == 0.0 => Ok(*f as i64),
        Value::Json(j) => j.as_i64().ok_or_else(|| "not an int".to_string()),
        other => Err(format!("a {} is not an int", other.kind())),
    }
}

fn to_scalar(kind: &Kind, v: &Value) -> Result<PValue, String> {
    let range = |_| "out of range".to_string();
    let float = || {
        v.as_f64()
            .or_else(|| match v {
                Value::Json(j) => j.as_f64(),
                _ => None,
            })
            .ok_or_else(|| format!("a {} is not a number", v.kind()))
    };
    let text = || match v {
        Value::Json(j) => j
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| j.to_string()),
        _ => v.as_text().map_or_else(|| v.to_text(), str::to_string),
    };
    Ok(match kind {
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            PValue::I32(i32::try_from(to_int(v)?).map_err(range)?)
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => PValue::I64(to_int(v)?),
        Kind::Uint32 | Kind::Fixed32 => PValue::U32(u32::try_from(to_int(v)?).map_err(range)?),
        Kind::Uint64 | Kind::Fixed64 => PValue::U64(u64::try_from(to_int(v)?).map_err(range)?),
        Kind::Float => PValue::F32(float()? as f32),
        Kind::Double => PValue::F64(float()?),
        Kind::Bool => PValue::Bool(
            v.as_bool()
                .ok_or_else(|| format!("a {} is not a bool", v.kind()))?,
        ),
        Kind::String => PValue::String(text()),
        Kind::Bytes => PValue::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(text())
                .map_err(|_| "bytes are written in base64".to_string())?
                .into(),
        ),
        Kind::Enum(e) => match v {
            Value::Int(n) => PValue::EnumNumber(i32::try_from(*n).map_err(range)?),
            _ => {
                let name = text();
                let value = e
                    .get_value_by_name(&name)
                    .ok_or_else(|| format!("{} has no value {name}", e.name()))?;
                PValue::EnumNumber(value.number())
            }
        },
        Kind::Message(m) => PValue::Message(to_message(m, v)?),
    })
}

/// A message as the record the compiler typed (see the module docs).
pub(crate) fn message_value(msg: &DynamicMessage, depth: u32) -> Value {
    if depth > MAX_TYPED_DEPTH {
        return Value::Json(Arc::new(message_json(msg)));
    }
    let fields: Vec<(Arc<str>, Value)> = msg
        .descriptor()
        .fields()
        .map(|f| {
            let v = msg.get_field(&f);
            (Arc::from(f.name()), field_value(&f, &v, depth))
        })
        .collect();
    Value::Record(Arc::from(fields))
}

fn field_value(f: &FieldDescriptor, v: &PValue, depth: u32) -> Value {
    if f.is_map() {
        return Value::Json(Arc::new(value_json(v)));
    }
    let kind = f.kind();
    match v {
        PValue::List(items) => Value::List(
            items
                .iter()
                .map(|x| scalar_value(&kind, x, depth))
                .collect::<Vec<_>>()
                .into(),
        ),
        other => scalar_value(&kind, other, depth),
    }
}

fn scalar_value(kind: &Kind, v: &PValue, depth: u32) -> Value {
    match v {
        PValue::Bool(b) => Value::Bool(*b),
        PValue::I32(i) => Value::Int(i64::from(*i)),
        PValue::I64(i) => Value::Int(*i),
        PValue::U32(u) => Value::Int(i64::from(*u)),
        PValue::U64(u) => Value::Int(i64::try_from(*u).unwrap_or(i64::MAX)),
        PValue::F32(f) => Value::Float(f64::from(*f)),
        PValue::F64(f) => Value::Float(*f),
        PValue::String(s) => Value::str(s),
        PValue::Bytes(b) => Value::str(&base64::engine::general_purpose::STANDARD.encode(b)),
        PValue::EnumNumber(n) => match kind {
            Kind::Enum(e) => match e.get_value(*n) {
                Some(ev) => Value::str(ev.name()),
                None => Value::str(&n.to_string()),
            },
            _ => Value::Int(i64::from(*n)),
        },
        PValue::Message(m) => message_value(m, depth + 1),
        PValue::List(_) | PValue::Map(_) => Value::Json(Arc::new(value_json(v))),
    }
}

/// A message as json (set fields only), for maps and deep nesting.
fn message_json(msg: &DynamicMessage) -> serde_json::Value {
    serde_json::Value::Object(
        msg.fields()
            .map(|(f, v)| (f.name().to_string(), value_json(v)))
            .collect(),
    )
}

fn value_json(v: &PValue) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        PValue::Bool(b) => J::Bool(*b),
        PValue::I32(i) => J::from(*i),
        PValue::I64(i) => J::from(*i),
        PValue::U32(u) => J::from(*u),
        PValue::U64(u) => J::from(*u),
        PValue::F32(f) => J::from(f64::from(*f)),
        PValue::F64(f) => J::from(*f),
        PValue::String(s) => J::String(s.clone()),
        PValue::Bytes(b) => J::String(base64::engine::general_purpose::STANDARD.encode(b)),
        PValue::EnumNumber(n) => J::from(*n),
        PValue::Message(m) => message_json(m),
        PValue::List(items) => J::Array(items.iter().map(value_json).collect()),
        PValue::Map(m) => J::Object(m.iter().map(|(k, v)| (map_key(k), value_json(v))).collect()),
    }
}

fn map_key(k: &MapKey) -> String {
    match k {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(i) => i.to_string(),
        MapKey::I64(i) => i.to_string(),
        MapKey::U32(u) => u.to_string(),
        MapKey::U64(u) => u.to_string(),
        MapKey::String(s) => s.clone(),
    }
}

/// Waits for the channel's connection; when it cannot be made, the call fails with
/// UNAVAILABLE (as tonic reports it) and `unanswered` keeps the transport error's code.
async fn ready(
    client: &mut tonic::client::Grpc<Channel>,
    unanswered: &mut Option<u32>,
) -> Result<(), Status> {
    client.ready().await.map_err(|e| {
        *unanswered = Some(transport_code(&e));
        Status::unavailable(e.to_string())
    })
}

/// The code of a transport error (k6's, as the summary's errors section counts them):
/// the TLS handshake's when an I/O error in its chain wraps rustls' (1310 for a
/// certificate not trusted), the dial's for another I/O error (1212 for a refused
/// connection), else the generic 1000.
fn transport_code(e: &(dyn std::error::Error + 'static)) -> u32 {
    use crate::http::HttpError;
    let mut cur = Some(e);
    while let Some(x) = cur {
        if let Some(io) = x.downcast_ref::<std::io::Error>() {
            if let Some(Transport(e)) = io.get_ref().and_then(|i| i.downcast_ref()) {
                return e.code;
            }
            let tls = io.get_ref().is_some_and(|i| i.is::<rustls::Error>());
            return if tls {
                HttpError::tls(io)
            } else {
                HttpError::dial(io)
            }
            .code;
        }
        cur = x.source();
    }
    crate::http::codes::GENERIC
}

/// A transport error of the connector (a name not resolved, a proxy that refused the
/// tunnel) inside the `io::Error` tonic carries, so its code survives to the summary.
#[derive(Debug)]
struct Transport(crate::http::HttpError);

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for Transport {}

/// tonic reports a call's own deadline (the timer its `grpc-timeout` sets on the client)
/// as CANCELLED "Timeout expired"; the gRPC spec and grpc-go, so k6, say
/// DEADLINE_EXCEEDED. The result as k6 gives it, and whether the deadline passed.
fn client_deadline<T>(result: Result<T, Status>, timed_out: bool) -> (Result<T, Status>, bool) {
    let expired = |s: &Status| {
        let mut cur = std::error::Error::source(s);
        while let Some(x) = cur {
            if x.is::<tonic::TimeoutExpired>() {
                return true;
            }
            cur = x.source();
        }
        false
    };
    match result {
        Err(s) if s.code() == tonic::Code::Cancelled && expired(&s) => {
            (Err(Status::deadline_exceeded("deadline exceeded")), true)
        }
        r => (r, timed_out),
    }
}
