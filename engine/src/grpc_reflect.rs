//! gRPC server reflection, client side (`data shop = proto(reflect: shop)`): asks a
//! server's reflection service for the services it lists and the `.proto` files that
//! declare them (with their imports), and gives them back as one encoded
//! `google.protobuf.FileDescriptorSet`, what the compiler makes of a `.proto` file. The
//! CLI calls it while the test compiles; the plan then carries the descriptors, so
//! runners never ask. The messages and the client are tonic-reflection's (`v1`, then
//! `v1alpha` for servers that only have the older one); nothing of the protocol is
//! hand-written here.

use prost::Message as _;
use prost_reflect::prost_types::{FileDescriptorProto, FileDescriptorSet};
use std::collections::BTreeMap;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

/// The most files one server's services may pull in through imports.
const MAX_FILES: usize = 256;

/// The descriptors of every service the server at `url` (`http://` h2c, `https://` TLS
/// with the webpki roots) lists, bar reflection itself; the error says why not, in words
/// fit for a diagnostic. Blocks for at most about `timeout` (on a thread of its own, so
/// it may be called inside or outside a tokio runtime).
pub fn fetch_descriptors(url: &str, timeout: Duration) -> Result<Vec<u8>, String> {
    let url = url.to_string();
    let work = std::thread::Builder::new()
        .name("volley-reflect".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a runtime: {e}"))?;
            runtime.block_on(async {
                match tokio::time::timeout(timeout, fetch(&url, timeout)).await {
                    Ok(result) => result,
                    Err(_) => Err(format!("no answer within {}s", timeout.as_secs())),
                }
            })
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    work.join()
        .unwrap_or_else(|_| Err("the reflection client failed".into()))
}

async fn fetch(url: &str, timeout: Duration) -> Result<Vec<u8>, String> {
    let endpoint = Endpoint::from_shared(url.to_string())
        .map_err(|e| format!("{url} is not a gRPC address: {e}"))?
        .connect_timeout(timeout);
    let tls = match url.starts_with("https://") {
        true => {
            let tls = crate::http::TlsConfig::new().map_err(|e| e.to_string())?;
            Some(std::sync::Arc::clone(tls.client_config(false, true)))
        }
        false => None,
    };
    let connector = crate::interp::grpc::Connector {
        dns: None,
        tls,
        proxy: None,
    };
    let channel = endpoint
        .connect_with_connector(connector)
        .await
        .map_err(|e| format!("cannot connect: {}", chain(&e)))?;
    let files = match v1::files(channel.clone()).await {
        Err(s) if s.code() == Code::Unimplemented => v1alpha::files(channel).await,
        other => other,
    }
    .map_err(|s| match s.code() {
        Code::Unimplemented => {
            "it does not serve gRPC server reflection (grpc.reflection.v1 or v1alpha)".into()
        }
        Code::Unavailable | Code::Unknown if s.message().is_empty() => {
            format!("cannot connect: {}", chain(&s))
        }
        _ => format!("{:?}: {}", s.code(), s.message()),
    })?;
    let set = FileDescriptorSet {
        file: in_import_order(files),
    };
    Ok(set.encode_to_vec())
}

/// An error and its sources, `: `-separated (tonic's own text is only "transport error").
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = s.source();
    }
    out
}

/// The files with every import before the files that import it.
fn in_import_order(mut files: BTreeMap<String, FileDescriptorProto>) -> Vec<FileDescriptorProto> {
    fn visit(
        name: &str,
        files: &mut BTreeMap<String, FileDescriptorProto>,
        out: &mut Vec<FileDescriptorProto>,
    ) {
        let Some(file) = files.remove(name) else {
            return;
        };
        for dep in &file.dependency {
            visit(dep, files, out);
        }
        out.push(file);
    }
    let mut out = Vec::with_capacity(files.len());
    let names: Vec<String> = files.keys().cloned().collect();
    for name in names {
        visit(&name, &mut files, &mut out);
    }
    out
}

/// The same client over one version of the reflection protocol (the two share their
/// message shapes, not their Rust types).
macro_rules! reflection_client {
    ($version:ident) => {
        mod $version {
            use super::{Channel, FileDescriptorProto, Status, MAX_FILES};
            use prost::Message as _;
            use std::collections::BTreeMap;
            use tonic_reflection::pb::$version::server_reflection_client::ServerReflectionClient;
            use tonic_reflection::pb::$version::server_reflection_request::MessageRequest;
            use tonic_reflection::pb::$version::server_reflection_response::MessageResponse;
            use tonic_reflection::pb::$version::ServerReflectionRequest;

            /// One request, one answer (each on a stream of its own).
            async fn ask(
                client: &mut ServerReflectionClient<Channel>,
                request: MessageRequest,
            ) -> Result<MessageResponse, Status> {
                let req = ServerReflectionRequest {
                    host: String::new(),
                    message_request: Some(request),
                };
                let mut answers = client
                    .server_reflection_info(tokio_stream::iter(vec![req]))
                    .await?
                    .into_inner();
                match answers.message().await?.and_then(|a| a.message_response) {
                    Some(MessageResponse::ErrorResponse(e)) => Err(Status::new(
                        tonic::Code::from_i32(e.error_code),
                        e.error_message,
                    )),
                    Some(answer) => Ok(answer),
                    None => Err(Status::internal("the reflection service gave no answer")),
                }
            }

            /// Every listed service's file and the files it imports, by name.
            pub(super) async fn files(
                channel: Channel,
            ) -> Result<BTreeMap<String, FileDescriptorProto>, Status> {
                let mut client = ServerReflectionClient::new(channel);
                let services = match ask(&mut client, MessageRequest::ListServices(String::new()))
                    .await?
                {
                    MessageResponse::ListServicesResponse(list) => list.service,
                    _ => return Err(Status::internal("the service list is not a list")),
                };
                let mut files = BTreeMap::new();
                let mut todo: Vec<MessageRequest> = services
                    .into_iter()
                    .filter(|s| !s.name.starts_with("grpc.reflection."))
                    .map(|s| MessageRequest::FileContainingSymbol(s.name))
                    .collect();
                if todo.is_empty() {
                    return Err(Status::not_found(
                        "it lists no service besides reflection",
                    ));
                }
                while let Some(request) = todo.pop() {
                    let MessageResponse::FileDescriptorResponse(found) =
                        ask(&mut client, request).await?
                    else {
                        return Err(Status::internal("a file request gave no file"));
                    };
                    for bytes in found.file_descriptor_proto {
                        let file = FileDescriptorProto::decode(bytes.as_slice())
                            .map_err(|e| Status::internal(format!("a file does not decode: {e}")))?;
                        let name = file.name.clone().unwrap_or_default();
                        for dep in &file.dependency {
                            if !files.contains_key(dep) && dep != &name {
                                todo.push(MessageRequest::FileByFilename(dep.clone()));
                            }
                        }
                        files.insert(name, file);
                        if files.len() > MAX_FILES {
                            return Err(Status::resource_exhausted(format!(
                                "its services import more than {MAX_FILES} files"
                            )));
                        }
                    }
                    todo.retain(|r| {
                        !matches!(r, MessageRequest::FileByFilename(f) if files.contains_key(f))
                    });
                }
                Ok(files)
            }
        }
    };
}

reflection_client!(v1);
reflection_client!(v1alpha);

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, deps: &[&str]) -> FileDescriptorProto {
        FileDescriptorProto {
            name: Some(name.into()),
            dependency: deps.iter().map(|d| d.to_string()).collect(),
            ..FileDescriptorProto::default()
        }
    }

    #[test]
    fn imports_come_before_their_importers() {
        let files = BTreeMap::from([
            ("a.proto".to_string(), file("a.proto", &["z.proto"])),
            ("m.proto".to_string(), file("m.proto", &["a.proto"])),
            ("z.proto".to_string(), file("z.proto", &[])),
        ]);
        let names: Vec<String> = in_import_order(files)
            .into_iter()
            .filter_map(|f| f.name)
            .collect();
        assert_eq!(names, ["z.proto", "a.proto", "m.proto"]);
    }

    #[test]
    fn a_closed_port_is_a_clear_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let err = fetch_descriptors(&format!("http://127.0.0.1:{port}"), Duration::from_secs(5))
            .unwrap_err();
        assert!(err.starts_with("cannot connect"), "{err}");
    }
}
