//! The fake API server in cluster mode: the objects are stored and answered as by
//! [`Fake`], but pods are real. A [`Kubelet`] (the cluster simulation of the tests) is told
//! of every applied and deleted object, lists the pods it runs with their real phase,
//! conditions and exit codes, serves their logs, and names the loopback address behind a
//! Service port; the service proxy (`…/services/NAME:PORT/proxy/…`) forwards to that
//! address, so `volley deploy`, `status`, `logs`, `abort` and `delete` talk to the real
//! coordinator. Test support only: it must not be used against a cluster.

use super::{matches_labels, query, split_path, status, Fake, Recorded};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// What runs the pods behind the fake API server.
pub trait Kubelet: Send + Sync + 'static {
    /// An object was applied; `collection` is its path without the namespace
    /// (`apis/batch/v1/jobs`), `object` the stored object.
    fn applied(&self, collection: &str, object: &Value);
    /// An object was deleted.
    fn deleted(&self, collection: &str, name: &str);
    /// Every pod, as API objects.
    fn pods(&self) -> Vec<Value>;
    /// The log of pod `name`; `None` when there is no such pod.
    fn log(&self, pod: &str) -> Option<String>;
    /// Where port `port` of Service `service` answers; `None` while no ready pod backs it.
    fn endpoint(&self, service: &str, port: u16) -> Option<SocketAddr>;
}

type Answer = (u16, Vec<u8>);

fn json_answer((code, v): (u16, Value)) -> Answer {
    let body = match v {
        Value::String(s) => s.into_bytes(),
        v => serde_json::to_vec(&v).expect("json"),
    };
    (code, body)
}

/// Answers one request in cluster mode.
pub async fn handle(fake: &Fake, kubelet: &Arc<dyn Kubelet>, r: Recorded) -> Answer {
    let path = r.uri.split('?').next().unwrap_or_default().to_string();
    if let Some((svc_part, rest)) = path.split_once("/proxy/") {
        if let Some((svc_path, port)) = svc_part.rsplit_once(':') {
            if svc_path.contains("/services/") {
                fake.with(|s| s.requests.push(r.clone()));
                let svc = svc_path.rsplit('/').next().unwrap_or_default().to_string();
                let port: u16 = port.parse().unwrap_or(0);
                return proxy(fake, kubelet, &r, &svc, port, rest).await;
            }
        }
    }
    if let Some((coll, name, sub)) = split_path(&path) {
        if coll.ends_with("/pods") && r.method == "GET" && fake.with(|s| s.forbid.is_none()) {
            fake.with(|s| s.requests.push(r.clone()));
            return json_answer(pods(kubelet, &r, name.as_deref(), sub.as_deref()));
        }
        let (code, body) = fake.handle(r.clone());
        if (200..300).contains(&code) {
            match (r.method.as_str(), name) {
                ("PATCH", Some(_)) => {
                    if let Ok(obj) = serde_json::from_slice::<Value>(&body) {
                        kubelet.applied(&coll, &obj);
                    }
                }
                ("DELETE", Some(n)) => kubelet.deleted(&coll, &n),
                _ => {}
            }
        }
        return (code, body);
    }
    fake.handle(r)
}

fn pods(
    kubelet: &Arc<dyn Kubelet>,
    r: &Recorded,
    name: Option<&str>,
    sub: Option<&str>,
) -> (u16, Value) {
    let all = kubelet.pods();
    match (name, sub) {
        (None, _) => {
            let sel = query(&r.uri, "labelSelector").unwrap_or_default();
            let items: Vec<Value> = all
                .into_iter()
                .filter(|p| matches_labels(p, &sel))
                .collect();
            (
                200,
                serde_json::json!({"kind": "PodList", "apiVersion": "v1",
                    "metadata": {"resourceVersion": "1"}, "items": items}),
            )
        }
        (Some(n), Some("log")) => match kubelet.log(n) {
            Some(text) => (200, Value::String(text)),
            None => status(404, "NotFound", &format!("pods \"{n}\" not found")),
        },
        (Some(n), None) => match all.into_iter().find(|p| p["metadata"]["name"] == n) {
            Some(p) => (200, p),
            None => status(404, "NotFound", &format!("pods \"{n}\" not found")),
        },
        _ => status(405, "MethodNotAllowed", "not in the fake"),
    }
}

async fn proxy(
    fake: &Fake,
    kubelet: &Arc<dyn Kubelet>,
    r: &Recorded,
    svc: &str,
    port: u16,
    rest: &str,
) -> Answer {
    let exists = fake.with(|s| {
        s.objects
            .keys()
            .any(|k| k.ends_with(&format!("/services/{svc}")))
    });
    if !exists {
        return json_answer(status(
            404,
            "NotFound",
            &format!("services \"{svc}\" not found"),
        ));
    }
    let Some(addr) = kubelet.endpoint(svc, port) else {
        return json_answer(status(
            503,
            "ServiceUnavailable",
            &format!("no endpoints available for service \"{svc}\""),
        ));
    };
    let q = r.uri.split_once('?').map(|(_, q)| format!("?{q}"));
    let target = format!("/{rest}{}", q.unwrap_or_default());
    match tokio::time::timeout(Duration::from_secs(10), forward(addr, r, &target)).await {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => json_answer(status(
            503,
            "ServiceUnavailable",
            &format!("error trying to reach service: {e}"),
        )),
        Err(_) => json_answer(status(
            504,
            "Timeout",
            "error trying to reach service: timed out",
        )),
    }
}

/// One HTTP/1.1 request to the pod behind the Service, as the API server's proxy sends it
/// (the caller's `Authorization` is not forwarded).
async fn forward(addr: SocketAddr, r: &Recorded, target: &str) -> Result<Answer, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(r.method.as_str())
        .uri(target)
        .header("host", addr.to_string());
    for (k, v) in &r.headers {
        if !matches!(
            k.as_str(),
            "authorization" | "host" | "connection" | "content-length" | "transfer-encoding"
        ) {
            req = req.header(k.as_str(), v.as_str());
        }
    }
    let req = req
        .body(Full::new(bytes::Bytes::from(r.body.clone())))
        .map_err(|e| e.to_string())?;
    let resp = send.send_request(req).await.map_err(|e| e.to_string())?;
    let code = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes()
        .to_vec();
    Ok((code, body))
}

/// Serves `fake` in cluster mode, pods run by `kubelet`, on an ephemeral loopback port
/// until the runtime ends.
pub async fn serve(fake: Fake, kubelet: Arc<dyn Kubelet>) -> std::io::Result<SocketAddr> {
    super::serve_with(move |r| {
        let (fake, kubelet) = (fake.clone(), Arc::clone(&kubelet));
        async move { handle(&fake, &kubelet, r).await }
    })
    .await
}
