//! The shop's request handling: one hyper service function that routes a request, counts
//! it, reads and validates its body, waits the endpoint's simulated service time and
//! answers with JSON. It never panics on input and never blocks a thread: latency is a
//! `tokio::time::sleep`, state is atomics (no lock on the hot path). It knows nothing of
//! sockets or connections (see `server`).

use crate::catalog;
use crate::endpoint::{self, Counters, Endpoint, Miss};
use crate::feedback;
use crate::upload;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, ACCEPT_ENCODING, ALLOW, CONTENT_ENCODING, CONTENT_TYPE, COOKIE, SET_COOKIE, VARY,
};
use hyper::HeaderMap;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use std::cell::Cell;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The header `POST /api/signed` reads its signature from.
const SIGNATURE_HEADER: &str = "x-signature";

/// The largest request body the shop reads; larger ones get 413.
const MAX_BODY: usize = 64 * 1024;
/// The product list's default and largest page size.
const DEFAULT_LIMIT: u64 = 20;
const MAX_LIMIT: u64 = 100;

/// The response body type of every answer.
pub(crate) type Body = Full<Bytes>;

/// The state shared by every connection of one server.
#[derive(Default)]
pub(crate) struct Shop {
    pub(crate) latency: bool,
    /// Added to every answer (a slower build).
    pub(crate) extra_latency: Duration,
    pub(crate) counters: Counters,
    /// Orders created with `POST /api/orders` since the last reset.
    orders: AtomicU64,
    carts: AtomicU64,
    checkouts: AtomicU64,
    /// Signs session cookies (random per server): sessions are signed, not stored.
    session_key: std::hash::RandomState,
    /// The key of the feedback form's CSRF tokens (`feedback::token`).
    feedback_key: u64,
}

impl Shop {
    pub(crate) fn new(latency: bool) -> Shop {
        Shop {
            latency,
            feedback_key: next_random(),
            ..Shop::default()
        }
    }

    /// The simulated service time of one answer of `endpoint` (see the crate docs).
    pub(crate) fn wait(&self, endpoint: Endpoint) -> Duration {
        let mut wait = self.extra_latency;
        if self.latency {
            if let Some((lo, hi)) = endpoint.latency_us() {
                wait += Duration::from_micros(between(lo, hi));
            }
        }
        wait
    }
}

/// The service function: every request, any protocol version.
pub(crate) async fn handle(
    shop: Arc<Shop>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let endpoint = match endpoint::route(req.method(), req.uri().path()) {
        Ok(e) => e,
        Err(Miss::NotFound) => return Ok(error(StatusCode::NOT_FOUND, "not found")),
        Err(Miss::MethodNotAllowed(allow)) => {
            let mut res = error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
            res.headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allow));
            return Ok(res);
        }
    };
    shop.counters.hit(endpoint);
    if matches!(endpoint, Endpoint::WsEcho | Endpoint::WsTicker) {
        return Ok(crate::ws::upgrade(req, endpoint == Endpoint::WsTicker));
    }
    let (parts, body) = req.into_parts();
    let limit = match endpoint {
        Endpoint::Upload => upload::MAX_BODY,
        _ => MAX_BODY,
    };
    let body = if parts.method == Method::POST {
        match Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                return Ok(error(StatusCode::PAYLOAD_TOO_LARGE, "body too large"));
            }
            Err(_) => return Ok(error(StatusCode::BAD_REQUEST, "could not read the body")),
        }
    } else {
        Bytes::new()
    };
    let gzipped = parts
        .headers
        .get(CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let body = match gzipped {
        true => match gunzip(&body, limit) {
            Ok(b) => b,
            Err(r) => return Ok(error(r.0, &r.1)),
        },
        false => body,
    };
    let wait = shop.wait(endpoint);
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    if endpoint == Endpoint::Upload {
        return Ok(upload::answer(&parts.headers, body).await);
    }
    if endpoint == Endpoint::Signed {
        return Ok(signed(parts.headers.get(SIGNATURE_HEADER), &body)
            .unwrap_or_else(|Reject(status, msg)| error(status, &msg)));
    }
    Ok(answer(
        &shop,
        endpoint,
        parts.uri.path(),
        parts.uri.query(),
        &parts.headers,
        &body,
    ))
}

/// The cookie session: `POST /api/session` signs the email into a `session` cookie,
/// `GET /api/account` needs it, `DELETE /api/session` expires it.
fn session(shop: &Shop, endpoint: Endpoint, headers: &HeaderMap, body: &[u8]) -> Outcome {
    match endpoint {
        Endpoint::SessionCreate => {
            let v = parse(body)?;
            let email = string_field(&v, "email")?;
            let password = string_field(&v, "password")?;
            if email.is_empty() || email.len() > 256 {
                return reject(StatusCode::BAD_REQUEST, "`email` must be 1 to 256 bytes");
            }
            if password.is_empty() {
                return reject(StatusCode::UNAUTHORIZED, "invalid credentials");
            }
            let cookie = format!(
                "session={}; Path=/; HttpOnly; SameSite=Lax",
                sign(shop, email)
            );
            let mut res = ok_json(StatusCode::OK, json!({"user": email}));
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                res.headers_mut().insert(SET_COOKIE, v);
            }
            Ok(res)
        }
        Endpoint::SessionDelete => {
            let mut res = respond(StatusCode::NO_CONTENT, "application/json", Bytes::new());
            res.headers_mut().remove(CONTENT_TYPE);
            res.headers_mut().insert(
                SET_COOKIE,
                HeaderValue::from_static("session=; Path=/; Max-Age=0"),
            );
            Ok(res)
        }
        _ => match session_user(shop, headers) {
            Some(user) => Ok(ok_json(StatusCode::OK, json!({"user": user}))),
            None => reject(
                StatusCode::UNAUTHORIZED,
                "no session: POST /api/session first",
            ),
        },
    }
}

/// `<hex of the email>.<16 hex of its keyed hash>`.
fn sign(shop: &Shop, email: &str) -> String {
    use std::fmt::Write as _;
    use std::hash::BuildHasher as _;
    let mut out = String::with_capacity(email.len() * 2 + 17);
    for b in email.bytes() {
        let _ = write!(out, "{b:02x}");
    }
    let mac = shop.session_key.hash_one(email);
    let _ = write!(out, ".{mac:016x}");
    out
}

/// The email of a valid `session` cookie of the request, if any.
fn session_user(shop: &Shop, headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix("session="))?;
    let (hex, _) = value.split_once('.')?;
    if hex.len() % 2 != 0 || hex.len() > 512 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    let email = String::from_utf8(bytes?).ok()?;
    (sign(shop, &email) == value).then_some(email)
}

/// The product list in the coding the client prefers among `br` and `gzip` (by the
/// first of them its `Accept-Encoding` names, `q=0` excluded), or as is.
fn encoded(plain: Bytes, headers: &HeaderMap) -> Response<Body> {
    let accept = headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .filter(|t| !t.ends_with("q=0"))
        .map(|t| {
            t.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .find(|t| t == "br" || t == "gzip");
    let (coding, bytes) = match accept.as_deref() {
        Some("br") => (Some("br"), brotli_bytes(&plain).into()),
        Some("gzip") => (Some("gzip"), gzip_bytes(&plain).into()),
        _ => (None, plain),
    };
    let mut res = respond(StatusCode::OK, "application/json", bytes);
    let h = res.headers_mut();
    h.insert(VARY, HeaderValue::from_static("accept-encoding"));
    if let Some(coding) = coding {
        h.insert(CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    res
}

/// A request body sent with `content-encoding: gzip`, decoded (at most `limit` bytes:
/// 64 KiB, 1 MiB for an upload).
fn gunzip(body: &[u8], limit: usize) -> Result<Bytes, Reject> {
    use std::io::Read as _;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| Reject(StatusCode::BAD_REQUEST, "invalid gzip body".into()))?;
    if out.len() > limit {
        return reject(StatusCode::PAYLOAD_TOO_LARGE, "body too large");
    }
    Ok(out.into())
}

fn gzip_bytes(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

fn brotli_bytes(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 4, 22);
        let _ = w.write_all(data);
    }
    out
}

fn answer(
    shop: &Shop,
    endpoint: Endpoint,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response<Body> {
    let result = match endpoint {
        Endpoint::Login => login(body),
        Endpoint::ProductList => product_page(query).map(|page| encoded(page, headers)),
        Endpoint::Catalog => catalog_page(query),
        Endpoint::SessionCreate | Endpoint::SessionDelete | Endpoint::Account => {
            session(shop, endpoint, headers, body)
        }
        Endpoint::Product => product(path),
        Endpoint::Cart => cart(shop, body),
        Endpoint::Checkout => any_json(body).map(|()| {
            let id = shop.checkouts.fetch_add(1, Ordering::Relaxed) + 1;
            ok_json(StatusCode::OK, json!({"order_id": id, "status": "paid"}))
        }),
        Endpoint::OrderCreate => any_json(body).map(|()| {
            let id = shop.orders.fetch_add(1, Ordering::Relaxed) + 1;
            ok_json(StatusCode::CREATED, json!({"id": id}))
        }),
        Endpoint::OrderCount => Ok(ok_json(
            StatusCode::OK,
            json!({"count": shop.orders.load(Ordering::Relaxed)}),
        )),
        Endpoint::AdminReset => Ok(reset(shop)),
        Endpoint::AdminReport => Ok(ok_json(
            StatusCode::OK,
            json!({"orders": shop.orders.load(Ordering::Relaxed)}),
        )),
        Endpoint::AdminStats => {
            let stats = crate::Stats {
                requests: shop.counters.snapshot(),
            };
            match serde_json::to_vec(&stats) {
                Ok(bytes) => Ok(respond(StatusCode::OK, "application/json", bytes.into())),
                Err(_) => reject(StatusCode::INTERNAL_SERVER_ERROR, "could not render stats"),
            }
        }
        Endpoint::FeedbackForm => Ok(feedback::form(shop.feedback_key, headers, || {
            format!("{:016x}", next_random())
        })),
        Endpoint::FeedbackPost => Ok(feedback::submit(shop.feedback_key, headers, body)),
        Endpoint::Health => Ok(respond(
            StatusCode::OK,
            "text/plain",
            Bytes::from_static(b"ok"),
        )),
        // Answered by `handle`, which has the headers.
        Endpoint::Signed => signed(None, body),
        Endpoint::Upload => reject(StatusCode::INTERNAL_SERVER_ERROR, "uploads are async"),
        // Upgraded by `handle` before any body is read.
        Endpoint::WsEcho | Endpoint::WsTicker => {
            reject(StatusCode::BAD_REQUEST, "expected a WebSocket handshake")
        }
        // Never routed here: gRPC calls go to `grpc::handle` by their content type.
        Endpoint::GrpcGetProduct
        | Endpoint::GrpcListProducts
        | Endpoint::GrpcAddToCart
        | Endpoint::GrpcChat => reject(StatusCode::NOT_FOUND, "not found"),
    };
    result.unwrap_or_else(|Reject(status, msg)| error(status, &msg))
}

/// A handler's outcome: the success response, or why the request is refused.
type Outcome = Result<Response<Body>, Reject>;

/// A refusal: its status and the `{"error": …}` message (rendered by [`error`]).
#[derive(Debug)]
struct Reject(StatusCode, String);

fn reject<T>(status: StatusCode, msg: impl Into<String>) -> Result<T, Reject> {
    Err(Reject(status, msg.into()))
}

fn login(body: &[u8]) -> Outcome {
    let v = parse(body)?;
    let email = string_field(&v, "email")?;
    let password = string_field(&v, "password")?;
    if email.is_empty() {
        return reject(StatusCode::BAD_REQUEST, "`email` must not be empty");
    }
    if password.is_empty() {
        return reject(StatusCode::UNAUTHORIZED, "invalid credentials");
    }
    let token = format!("tok-{:016x}", next_random());
    Ok(ok_json(
        StatusCode::OK,
        json!({"token": token, "user": email}),
    ))
}

/// `POST /api/signed`: the body must come with `x-signature`, the hex HMAC-SHA256 of the
/// body under [`crate::SIGNING_KEY`] (compared in constant time).
fn signed(signature: Option<&HeaderValue>, body: &[u8]) -> Outcome {
    use hmac::Mac as _;
    let Some(given) = signature.and_then(|v| hex::decode(v.as_bytes()).ok()) else {
        return reject(
            StatusCode::UNAUTHORIZED,
            format!("missing or non-hex `{SIGNATURE_HEADER}` header"),
        );
    };
    let mut mac = match hmac::Hmac::<sha2::Sha256>::new_from_slice(crate::SIGNING_KEY.as_bytes()) {
        Ok(m) => m,
        Err(_) => return reject(StatusCode::INTERNAL_SERVER_ERROR, "no signing key"),
    };
    mac.update(body);
    if mac.verify_slice(&given).is_err() {
        return reject(StatusCode::UNAUTHORIZED, "bad signature");
    }
    use sha2::Digest as _;
    Ok(ok_json(
        StatusCode::OK,
        json!({"verified": true, "bytes": body.len(), "sha256": hex::encode(sha2::Sha256::digest(body))}),
    ))
}

#[cfg(test)]
fn product_list(query: Option<&str>) -> Outcome {
    let body = product_page(query)?;
    Ok(respond(StatusCode::OK, "application/json", body))
}

/// The product list's JSON for a query (`page`, `limit`).
fn product_page(query: Option<&str>) -> Result<Bytes, Reject> {
    let (page, limit) = page_query(query, "limit")?;
    Ok(catalog::page_json(page, limit.min(MAX_LIMIT)).into())
}

/// `GET /api/catalog?page=N&per_page=M`: the same products, linked by `next_page`.
fn catalog_page(query: Option<&str>) -> Outcome {
    let (page, per_page) = page_query(query, "per_page")?;
    let body = catalog::cursor_page_json(page, per_page.min(MAX_LIMIT));
    Ok(respond(StatusCode::OK, "application/json", body.into()))
}

/// `page` and the page size (named `size`) of a list's query: whole numbers ≥ 1,
/// defaults 1 and 20.
fn page_query(query: Option<&str>, size: &str) -> Result<(u64, u64), Reject> {
    let (mut page, mut limit) = (1, DEFAULT_LIMIT);
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match key {
            "page" => &mut page,
            k if k == size => &mut limit,
            _ => continue,
        };
        *slot = match number(value) {
            Some(n) if n >= 1 => n,
            _ => {
                let msg = format!("`{key}` must be a whole number of at least 1");
                return reject(StatusCode::BAD_REQUEST, msg);
            }
        };
    }
    Ok((page, limit))
}

fn product(path: &str) -> Outcome {
    let raw = path.strip_prefix("/api/products/").unwrap_or("");
    match number(raw).and_then(catalog::product_json) {
        Some(p) => Ok(respond(
            StatusCode::OK,
            "application/json",
            Bytes::from_static(p.as_bytes()),
        )),
        None => reject(StatusCode::NOT_FOUND, "product not found"),
    }
}

fn cart(shop: &Shop, body: &[u8]) -> Outcome {
    let v = parse(body)?;
    let product_id = positive_field(&v, "product_id")?;
    let qty = positive_field(&v, "qty")?;
    if catalog::product_json(product_id).is_none() {
        return reject(StatusCode::NOT_FOUND, "product not found");
    }
    let cart_id = shop.carts.fetch_add(1, Ordering::Relaxed) + 1;
    Ok(ok_json(
        StatusCode::CREATED,
        json!({"cart_id": cart_id, "items": qty}),
    ))
}

fn reset(shop: &Shop) -> Response<Body> {
    shop.orders.store(0, Ordering::Relaxed);
    let mut res = respond(StatusCode::NO_CONTENT, "application/json", Bytes::new());
    res.headers_mut().remove(CONTENT_TYPE);
    if let Ok(token) = HeaderValue::from_str(&format!("admin-{:016x}", next_random())) {
        res.headers_mut().insert("x-token", token);
    }
    res
}

/// Accepts an empty body or any JSON document.
fn any_json(body: &[u8]) -> Result<(), Reject> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    parse(body).map(|_| ())
}

fn parse(body: &[u8]) -> Result<Value, Reject> {
    serde_json::from_slice(body)
        .map_err(|e| Reject(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")))
}

fn string_field<'a>(v: &'a Value, name: &str) -> Result<&'a str, Reject> {
    match v.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => reject(
            StatusCode::BAD_REQUEST,
            format!("`{name}` must be a string"),
        ),
        None => reject(StatusCode::BAD_REQUEST, format!("missing field `{name}`")),
    }
}

fn positive_field(v: &Value, name: &str) -> Result<u64, Reject> {
    match v.get(name) {
        Some(n) => match n.as_u64() {
            Some(n) if n >= 1 => Ok(n),
            _ => {
                let msg = format!("`{name}` must be a whole number of at least 1");
                reject(StatusCode::BAD_REQUEST, msg)
            }
        },
        None => reject(StatusCode::BAD_REQUEST, format!("missing field `{name}`")),
    }
}

/// Digits only (no sign, no spaces), fitting a u64.
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

pub(crate) fn ok_json(status: StatusCode, v: Value) -> Response<Body> {
    respond(status, "application/json", v.to_string().into())
}

pub(crate) fn error(status: StatusCode, msg: &str) -> Response<Body> {
    ok_json(status, json!({"error": msg}))
}

fn respond(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Body> {
    let mut res = Response::new(Full::new(body));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

thread_local! {
    /// Per-thread xorshift state: no shared cache line, no lock.
    static RNG: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let local = 0u8;
    let addr = std::ptr::addr_of!(local) as u64;
    (nanos ^ addr.rotate_left(32)) | 1
}

/// xorshift64*: cheap and good enough for jitter and tokens (not for secrets).
fn next_random() -> u64 {
    RNG.with(|s| {
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

/// A pseudo-random value in `lo..=hi`.
fn between(lo: u64, hi: u64) -> u64 {
    lo + next_random() % (hi - lo + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_of(o: Outcome) -> StatusCode {
        match o {
            Ok(r) => r.status(),
            Err(Reject(status, _)) => status,
        }
    }

    #[test]
    fn numbers_are_digits_only() {
        assert_eq!(number("42"), Some(42));
        for bad in ["", "+4", "-1", " 4", "4x", "99999999999999999999999"] {
            assert_eq!(number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn catalog_validates_its_query() {
        assert_eq!(status_of(catalog_page(None)), StatusCode::OK);
        assert_eq!(
            status_of(catalog_page(Some("page=3&per_page=50"))),
            StatusCode::OK
        );
        for bad in ["page=0", "per_page=0", "per_page=x"] {
            assert_eq!(
                status_of(catalog_page(Some(bad))),
                StatusCode::BAD_REQUEST,
                "{bad}"
            );
        }
    }

    #[test]
    fn product_list_validates_the_query() {
        assert_eq!(status_of(product_list(None)), StatusCode::OK);
        assert_eq!(
            status_of(product_list(Some("page=2&limit=500&q=x"))),
            StatusCode::OK
        );
        for bad in ["page=0", "limit=0", "page=abc", "limit=", "page"] {
            assert_eq!(
                status_of(product_list(Some(bad))),
                StatusCode::BAD_REQUEST,
                "{bad}"
            );
        }
    }

    #[test]
    fn login_rejects_bad_bodies() {
        assert_eq!(status_of(login(b"{")), StatusCode::BAD_REQUEST);
        assert_eq!(
            status_of(login(br#"{"email":"a"}"#)),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status_of(login(br#"{"email":1,"password":"p"}"#)),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status_of(login(br#"{"email":"a","password":""}"#)),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status_of(login(br#"{"email":"a","password":"p"}"#)),
            StatusCode::OK
        );
    }

    #[test]
    fn signed_checks_the_hmac_of_the_body() {
        let body = br#"{"amount":12}"#;
        // HMAC-SHA256 of the body under the demo key, computed independently (Python's
        // `hmac.new(b"volley-demo-signing-key", body, hashlib.sha256).hexdigest()`).
        let sig = "35bb4da6a25350afab34168c2bb4fd86875e9c756fa7349d89f4731cb66a2690";
        let v = HeaderValue::from_static(sig);
        assert_eq!(status_of(signed(Some(&v), body)), StatusCode::OK);
        let upper = HeaderValue::from_str(&sig.to_uppercase()).expect("hex");
        assert_eq!(status_of(signed(Some(&upper), body)), StatusCode::OK);
        assert_eq!(
            status_of(signed(Some(&v), br#"{"amount":13}"#)),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(status_of(signed(None, body)), StatusCode::UNAUTHORIZED);
        let junk = HeaderValue::from_static("zz");
        assert_eq!(
            status_of(signed(Some(&junk), body)),
            StatusCode::UNAUTHORIZED
        );
    }

    #[test]
    fn between_stays_in_range() {
        for _ in 0..1000 {
            let v = between(3, 8);
            assert!((3..=8).contains(&v), "{v}");
        }
        assert_eq!(between(5, 5), 5);
    }
}
