//! A fake Kubernetes API server for the deploy tests: enough of the API for `volley
//! deploy`, status, logs, abort and delete (server-side apply, get, list by label, delete,
//! events, pod logs, the service proxy to a scripted coordinator), with scripted faults
//! (403, 409) and a record of every request body. [`serve`] puts it on loopback for tests
//! of the binary; the crate's own tests drive [`Fake::handle`] through `tower_test`.
//! Test support only: it must not be used against a cluster.

use serde_json::{json, Value};
use std::collections::BTreeMap;

#[cfg(feature = "fake-api")]
pub mod cluster;
use std::sync::{Arc, Mutex};

/// One request the fake received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// Path and query.
    pub uri: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

/// What the fake answers and what it saw.
#[derive(Debug, Default)]
pub struct State {
    /// Stored objects by `collection path/name`.
    pub objects: BTreeMap<String, Value>,
    pub requests: Vec<Recorded>,
    /// Answer 403 (RBAC) to requests whose `METHOD path` contains this.
    pub forbid: Option<String>,
    /// Answer the next this many applies (PATCH) with 503, as an overloaded API server
    /// does; then answer normally.
    pub unavailable: usize,
    /// Answer 409 to an apply without `force=true` of objects whose path contains this.
    pub conflict: Option<String>,
    /// Pods listed for the run (JSON objects).
    pub pods: Vec<Value>,
    /// Events listed (JSON objects).
    pub events: Vec<Value>,
    /// Successive `/status` answers of the coordinator; the last one repeats. Empty:
    /// the service has no endpoints (503).
    pub status: Vec<Value>,
    pub summary: Option<Value>,
    /// The other files the coordinator serves once the run has ended, by endpoint
    /// (`report`, `out/0`); like `summary`, answered only while it has endpoints.
    pub files: BTreeMap<String, String>,
    pub logs: String,
    /// The token `/v1/abort` expects in the `X-Volley-Token` header.
    pub abort_token: Option<String>,
    uid: u64,
}

/// A shared handle on the fake's state.
#[derive(Clone, Debug, Default)]
pub struct Fake(pub Arc<Mutex<State>>);

fn status(code: u16, reason: &str, message: &str) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code}),
    )
}

/// `(collection, name, subresource)` of a resource path; the namespace is dropped.
fn split_path(path: &str) -> Option<(String, Option<String>, Option<String>)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let ns_at = parts.iter().position(|p| *p == "namespaces")?;
    let prefix = parts[..ns_at].join("/");
    let rest = &parts[ns_at + 2..];
    let resource = rest.first()?;
    Some((
        format!("{prefix}/{resource}"),
        rest.get(1).map(|s| s.to_string()),
        (rest.len() > 2).then(|| rest[2..].join("/")),
    ))
}

fn query(uri: &str, key: &str) -> Option<String> {
    let q = uri.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| {
            v.replace("%3D", "=")
                .replace("%2C", ",")
                .replace("%2F", "/")
        })
    })
}

fn matches_labels(o: &Value, selector: &str) -> bool {
    selector.split(',').filter(|s| !s.is_empty()).all(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        o["metadata"]["labels"][k].as_str() == Some(v)
    })
}

impl Fake {
    pub fn new() -> Fake {
        Fake::default()
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.0.lock().expect("fake state"))
    }

    /// Answers one request: `(status code, JSON or text body)`.
    pub fn handle(&self, r: Recorded) -> (u16, Vec<u8>) {
        let mut st = self.0.lock().expect("fake state");
        st.requests.push(r.clone());
        let (code, v) = st.answer(&r);
        let body = match v {
            Value::String(s) => s.into_bytes(),
            v => serde_json::to_vec(&v).expect("json"),
        };
        (code, body)
    }
}

impl State {
    fn answer(&mut self, r: &Recorded) -> (u16, Value) {
        let path = r.uri.split('?').next().unwrap_or_default().to_string();
        if r.method == "PATCH" && self.unavailable > 0 {
            self.unavailable -= 1;
            return status(
                503,
                "ServiceUnavailable",
                "the server is currently unable to handle the request",
            );
        }
        if let Some(f) = &self.forbid {
            if format!("{} {path}", r.method).contains(f.as_str()) {
                return status(403, "Forbidden", &format!(
                    "{path} is forbidden: User \"ci\" cannot {} resource \"{}\" in API group \"\" in the namespace \"loadtest\"",
                    match r.method.as_str() { "PATCH" => "patch", "DELETE" => "delete", "POST" => "create", _ => "get" },
                    split_path(&path).map(|p| p.0.rsplit('/').next().unwrap_or_default().to_string()).unwrap_or_default()
                ));
            }
        }
        if let Some((svc, endpoint)) = path.split_once(":6566/proxy/") {
            return self.proxy(r, svc, endpoint);
        }
        let Some((coll, name, sub)) = split_path(&path) else {
            return status(404, "NotFound", "unknown path");
        };
        match (r.method.as_str(), name, sub.as_deref()) {
            ("GET", Some(n), Some("log")) => {
                if self
                    .pods
                    .iter()
                    .any(|p| p["metadata"]["name"] == n.as_str())
                {
                    (200, Value::String(self.logs.clone()))
                } else {
                    status(404, "NotFound", &format!("pods \"{n}\" not found"))
                }
            }
            ("GET", Some(n), None) => match self.objects.get(&format!("{coll}/{n}")) {
                Some(o) => (200, o.clone()),
                None => status(404, "NotFound", &format!("\"{n}\" not found")),
            },
            ("GET", None, None) => self.list(r, &coll),
            ("PATCH", Some(n), None) => self.apply(r, &coll, &n),
            ("DELETE", Some(n), None) => match self.objects.remove(&format!("{coll}/{n}")) {
                Some(_) => (
                    200,
                    json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}),
                ),
                None => status(404, "NotFound", &format!("\"{n}\" not found")),
            },
            _ => status(405, "MethodNotAllowed", "not in the fake"),
        }
    }

    fn list(&self, r: &Recorded, coll: &str) -> (u16, Value) {
        let sel = query(&r.uri, "labelSelector").unwrap_or_default();
        let items: Vec<Value> = if coll.ends_with("/pods") {
            self.pods
                .iter()
                .filter(|p| matches_labels(p, &sel))
                .cloned()
                .collect()
        } else if coll.ends_with("/events") {
            let field = query(&r.uri, "fieldSelector").unwrap_or_default();
            self.events
                .iter()
                .filter(|e| {
                    field.split(',').all(|kv| match kv.split_once('=') {
                        Some(("involvedObject.name", v)) => e["involvedObject"]["name"] == v,
                        _ => true,
                    })
                })
                .cloned()
                .collect()
        } else {
            let prefix = format!("{coll}/");
            self.objects
                .iter()
                .filter(|(k, o)| {
                    k.starts_with(&prefix)
                        && !k[prefix.len()..].contains('/')
                        && matches_labels(o, &sel)
                })
                .map(|(_, o)| o.clone())
                .collect()
        };
        (
            200,
            json!({"metadata": {"resourceVersion": "1"}, "items": items}),
        )
    }

    fn apply(&mut self, r: &Recorded, coll: &str, name: &str) -> (u16, Value) {
        if query(&r.uri, "fieldManager").as_deref() != Some("volley") {
            return status(
                400,
                "BadRequest",
                "fieldManager is required for apply patch",
            );
        }
        let force = query(&r.uri, "force").as_deref() == Some("true");
        let key = format!("{coll}/{name}");
        if let Some(c) = &self.conflict {
            if key.contains(c.as_str()) && !force {
                return status(409, "Conflict", "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using v1: .data.plan.json");
            }
        }
        let Ok(mut obj) = serde_json::from_slice::<Value>(&r.body) else {
            return status(400, "BadRequest", "the body is not JSON");
        };
        let created = !self.objects.contains_key(&key);
        let uid = match self.objects.get(&key) {
            Some(old) => old["metadata"]["uid"].clone(),
            None => {
                self.uid += 1;
                json!(format!("00000000-0000-4000-8000-{:012}", self.uid))
            }
        };
        obj["metadata"]["uid"] = uid;
        self.objects.insert(key, obj.clone());
        (if created { 201 } else { 200 }, obj)
    }

    fn proxy(&mut self, r: &Recorded, svc: &str, endpoint: &str) -> (u16, Value) {
        let svc = svc.rsplit('/').next().unwrap_or_default();
        if !self
            .objects
            .keys()
            .any(|k| k.ends_with(&format!("/services/{svc}")))
        {
            return status(404, "NotFound", &format!("services \"{svc}\" not found"));
        }
        if self.status.is_empty() && r.method == "GET" {
            // No status answer scripted: the coordinator has no endpoint (not started, or
            // exited after its linger), for every file it serves.
            return status(
                503,
                "ServiceUnavailable",
                &format!("no endpoints available for service \"{svc}\""),
            );
        }
        let not_yet = || (404, json!({"error": "the run has not finished"}));
        match (r.method.as_str(), endpoint) {
            ("GET", "status") => match self.status.len() {
                1 => (200, self.status[0].clone()),
                _ => (200, self.status.remove(0)),
            },
            ("GET", "summary") => match &self.summary {
                Some(s) => (200, s.clone()),
                None => not_yet(),
            },
            ("GET", file) if self.files.contains_key(file) => {
                (200, Value::String(self.files[file].clone()))
            }
            ("GET", "report") | ("GET", "out/0") if self.summary.is_none() => not_yet(),
            ("POST", "v1/abort") => {
                let sent = r.headers.get("x-volley-token");
                if sent.is_some() && sent == self.abort_token.as_ref() {
                    (200, json!({"stopping": true}))
                } else {
                    (401, Value::String("wrong or missing token".into()))
                }
            }
            _ => (404, json!({"error": "no such endpoint"})),
        }
    }
}

#[cfg(feature = "fake-api")]
mod server {
    use super::{Fake, Recorded};
    use http_body_util::{BodyExt, Full};
    use hyper::body::Incoming;
    use hyper::{Request, Response};
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use std::future::Future;
    use std::net::SocketAddr;
    use std::sync::Arc;

    /// Serves `fake` on an ephemeral loopback port until the runtime ends.
    pub async fn serve(fake: Fake) -> std::io::Result<SocketAddr> {
        serve_with(move |r| {
            let fake = fake.clone();
            async move { fake.handle(r) }
        })
        .await
    }

    /// Serves `answer` (a request in, `(status, JSON body)` out) over HTTP/1 and HTTP/2
    /// on an ephemeral loopback port until the runtime ends: the transport of both the
    /// scripted fake and its cluster mode.
    pub async fn serve_with<F, Fut>(answer: F) -> std::io::Result<SocketAddr>
    where
        F: Fn(Recorded) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = (u16, Vec<u8>)> + Send + 'static,
    {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let answer = Arc::new(answer);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let answer = Arc::clone(&answer);
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let answer = Arc::clone(&answer);
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes().to_vec())
                                .unwrap_or_default();
                            let (code, out) = answer(super::recorded(&parts, body)).await;
                            Ok::<_, std::convert::Infallible>(
                                Response::builder()
                                    .status(code)
                                    .header("content-type", "application/json")
                                    .body(Full::new(bytes::Bytes::from(out)))
                                    .expect("a response"),
                            )
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Ok(addr)
    }
}

#[cfg(feature = "fake-api")]
pub use server::{serve, serve_with};

/// A [`Recorded`] from request parts and body.
pub fn recorded(parts: &http::request::Parts, body: Vec<u8>) -> Recorded {
    Recorded {
        method: parts.method.to_string(),
        uri: parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    v.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect(),
        body,
    }
}
