//! Requests: builds the HTTP request of a `get(..)`/`post(..)`/… call (URL from the
//! target's base, the path and the query record, percent-encoded; headers; JSON, form or
//! raw bodies), sends it with the VU's client and records k6's `http_req_*` samples.
//!
//! Open models: the first request of an iteration takes the iteration's due instant, and
//! its `http_req_duration` (and the `duration` the script sees) grows by the time between
//! that instant and the moment the request was sent (coordinated-omission correction).
//! This module must not retry, follow redirects or pool connections (the client does).

use super::code::{join_url, Body, Request};
use super::record::HttpSample;
use super::{ms, Halt, Vu, R};
use crate::http;
use crate::http::codes;
use crate::value::{ResponseData, Value};
use bytes::Bytes;
use std::sync::Arc;
use std::time::Instant;
use url::Url;

/// The most redirects a request may follow (`redirects:`, as `http.max_redirects`).
const MAX_REDIRECTS: i64 = 1000;

impl Vu {
    pub(crate) async fn request(&mut self, r: &Request) -> R<Value> {
        let url = match &r.static_url {
            Some(u) => Arc::clone(u),
            None => Arc::new(self.build_url(r).await?),
        };
        let mut req = http::Request::new(r.method.clone(), url);
        req.timeout = r.timeout;
        if let Some(n) = &r.redirects {
            req.max_redirects = Some(self.request_redirects(r, n).await?);
        }
        req.discard_body = !self.shared.keep_bodies;
        let mut has_content_type = false;
        if let Some(h) = &r.headers {
            let headers = self.eval_nested(h).await?;
            match &headers {
                Value::Record(fields) => {
                    for (k, v) in fields.iter() {
                        let text = match v.as_text() {
                            Some(t) => t.to_string(),
                            None => v.to_text(),
                        };
                        has_content_type |= k.eq_ignore_ascii_case("content-type");
                        if req.try_header(k, &text).is_err() {
                            // It never leaves, but it was made: counted failed, as a URL
                            // the client cannot use is (1020), so the run cannot pass.
                            let why = format!("header {k:?} has an invalid name or value");
                            self.record_unsent(r, codes::INVALID_URL, &why);
                            return Err(Halt::error(
                                format!("request {}: invalid header {k}", r.name),
                                format!(
                                    "request {}: header {k:?} has an invalid name or value",
                                    r.name
                                ),
                            ));
                        }
                    }
                }
                Value::Null => {}
                other => {
                    return Err(Halt::error(
                        format!("request {}: headers are not a record", r.name),
                        format!(
                            "request {}: headers must be a record, got {}",
                            r.name,
                            other.kind()
                        ),
                    ))
                }
            }
        }
        let static_type = ::http::HeaderValue::from_static;
        let (body, content_type) = match &r.body {
            Body::None => (http::Body::default(), None),
            Body::Json(e) => {
                let v = self.eval_nested(e).await?;
                let bytes = serde_json::to_vec(&v.to_json()).unwrap_or_default();
                (bytes.into(), Some(static_type("application/json")))
            }
            Body::Form(e) => {
                let v = self.eval_nested(e).await?;
                (
                    form_encode(&v, &r.name)?.into(),
                    Some(static_type("application/x-www-form-urlencoded")),
                )
            }
            Body::Raw(e) => {
                let v = self.eval_nested(e).await?;
                (text_of(&v).into(), None)
            }
            Body::Multipart(parts) => {
                let (body, content_type) = self.multipart(parts).await?;
                (body, Some(content_type))
            }
        };
        if let Some(c) = &r.cookies {
            req.cookies = self.request_cookies(r, c).await?;
        }
        let body = if r.gzip && !body.is_empty() {
            req = req.header(
                ::http::header::CONTENT_ENCODING,
                ::http::HeaderValue::from_static("gzip"),
            );
            http::gzip(&body.to_bytes()).into()
        } else {
            body
        };
        if let (Some(ct), false) = (content_type, has_content_type) {
            req = req.header(::http::header::CONTENT_TYPE, ct);
        }
        req.body = body;
        // Dynamic tags are read before the send, as every other part of the request.
        let dynamic;
        let tags = match &r.dynamic_tags {
            None => &r.tags,
            Some(d) => {
                let mut values = Vec::with_capacity(d.exprs.len());
                for e in d.exprs.iter() {
                    values.push(text_of(&self.eval_nested(e).await?));
                }
                dynamic = Some(d.resolve(values));
                &dynamic
            }
        };

        if matches!(self.role, super::Role::Scenario(_))
            && self.shared.first_request.get().is_none()
        {
            let _ = self.shared.first_request.set(std::time::SystemTime::now());
        }
        // Open models: the wait since the iteration was due counts (a clock read only then).
        let queued = self
            .due
            .take()
            .map_or(0.0, |d| ms(Instant::now().saturating_duration_since(d)));
        // A request the end of the test cuts (its future dropped) still counts: failed.
        let mut cut = Cut {
            rec: &mut self.rec,
            group: &self.group,
            name: &r.name,
            method: &r.method_tag,
            tags,
            since: Instant::now(),
            armed: true,
        };
        let resp = self.client.send(req).await;
        cut.armed = false;
        drop(cut);
        // Each redirect followed is a request of its own (k6 counts every hop), tagged
        // with the method it was sent with: GET once a 301/302/303 turned a POST into one.
        let get_tag = resp.as_get.then(|| Arc::<str>::from("GET"));
        let method_of = |as_get: bool| match (&get_tag, as_get) {
            (Some(get), true) => get,
            _ => &r.method_tag,
        };
        let (mut sent, mut received) = (resp.bytes_sent, resp.bytes_received);
        for hop in &resp.redirects {
            let t = &hop.timings;
            sent = sent.saturating_sub(hop.bytes_sent);
            received = received.saturating_sub(hop.bytes_received);
            self.rec.http(&HttpSample {
                group: &self.group,
                name: &r.name,
                method: method_of(hop.as_get),
                tags,
                status: hop.status,
                expected: (r.expect.0..=r.expect.1).contains(&hop.status),
                duration_ms: ms(t.duration),
                blocked_ms: ms(t.blocked),
                connecting_ms: ms(t.connecting),
                tls_handshaking_ms: ms(t.tls_handshaking),
                sending_ms: ms(t.sending),
                waiting_ms: ms(t.waiting),
                receiving_ms: ms(t.receiving),
                bytes_sent: hop.bytes_sent,
                bytes_received: hop.bytes_received,
                error_code: None,
            });
        }
        let t = &resp.timings;
        let duration_ms = ms(t.duration) + queued;
        let expected = resp.status != 0 && (r.expect.0..=r.expect.1).contains(&resp.status);
        self.rec.http(&HttpSample {
            group: &self.group,
            name: &r.name,
            method: method_of(resp.as_get),
            tags,
            status: resp.status,
            expected,
            duration_ms,
            blocked_ms: ms(t.blocked),
            connecting_ms: ms(t.connecting),
            tls_handshaking_ms: ms(t.tls_handshaking),
            sending_ms: ms(t.sending),
            waiting_ms: ms(t.waiting),
            receiving_ms: ms(t.receiving),
            bytes_sent: sent,
            bytes_received: received,
            error_code: resp.error.as_ref().map(|e| e.code),
        });
        if let Some(e) = &resp.error {
            self.first_error_at(e.code, &r.name, r.target as usize, &e.message);
        }
        Ok(Value::Response(Arc::new(
            ResponseData::new(
                resp.status,
                duration_ms,
                resp.headers,
                resp.body,
                resp.error.map(|e| e.message),
            )
            .with_wire_size(resp.wire_body)
            .with_url(resp.url),
        )))
    }

    /// A `multipart:` body with a boundary of its own, and its `Content-Type`: text parts
    /// evaluated now, file parts their shared buffers.
    async fn multipart(
        &mut self,
        parts: &[super::code::Part],
    ) -> R<(http::Body, ::http::HeaderValue)> {
        use super::code::PartContent;
        use http::multipart;
        let mut out = Vec::with_capacity(parts.len());
        for p in parts {
            let content = match &p.content {
                PartContent::File(bytes) => bytes.clone(),
                PartContent::Text(e) => {
                    let v = self.eval_nested(e).await?;
                    Bytes::from(text_of(&v))
                }
            };
            out.push(multipart::Part {
                head: p.head.clone(),
                content,
            });
        }
        let boundary = multipart::boundary();
        let content_type = ::http::HeaderValue::from_str(&multipart::content_type(&boundary))
            .unwrap_or_else(|_| ::http::HeaderValue::from_static("multipart/form-data"));
        Ok((multipart::encode(&boundary, &out), content_type))
    }

    /// The request's own `cookies: {..}` as (name, value) pairs; a name or value a
    /// cookie cannot carry stops the iteration.
    async fn request_cookies(
        &mut self,
        r: &Request,
        c: &super::code::Expr,
    ) -> R<Vec<(String, String)>> {
        let v = self.eval_nested(c).await?;
        let Value::Record(fields) = &v else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(fields.len());
        for (k, v) in fields.iter() {
            let value = text_of(v);
            if !http::valid_cookie_name(k) || !http::valid_cookie_value(&value) {
                return Err(Halt::error(
                    format!("request {}: invalid cookie {k}", r.name),
                    format!(
                        "request {}: cookie {k:?} has a name or value a cookie cannot carry (no spaces, quotes, commas, semicolons or backslashes)",
                        r.name
                    ),
                ));
            }
            out.push((k.to_string(), value));
        }
        Ok(out)
    }

    /// The request's own `redirects: N`, 0 to 1000 (a constant was checked when the test
    /// compiled); any other value stops the iteration before the send.
    async fn request_redirects(&mut self, r: &Request, n: &super::code::Expr) -> R<u32> {
        let v = self.eval_nested(n).await?;
        let got = match v {
            Value::Int(i) if (0..=MAX_REDIRECTS).contains(&i) => return Ok(i as u32),
            Value::Int(i) => i.to_string(),
            other => format!("a {}", other.kind()),
        };
        Err(Halt::error(
            format!("request {}: redirects out of range", r.name),
            format!(
                "request {}: redirects must be a whole number from 0 to {MAX_REDIRECTS}, got {got}",
                r.name
            ),
        ))
    }

    /// Records a request that could not be built (an invalid header): a failed
    /// `http_reqs` sample with status 0, no timings, and `code` as its first error.
    fn record_unsent(&mut self, r: &Request, code: u32, why: &str) {
        self.rec.http(&HttpSample {
            group: &self.group,
            name: &r.name,
            method: &r.method_tag,
            // Built before its dynamic tags were read: the site's constant ones.
            tags: &r.tags,
            status: 0,
            expected: false,
            duration_ms: 0.0,
            blocked_ms: 0.0,
            connecting_ms: 0.0,
            tls_handshaking_ms: 0.0,
            sending_ms: 0.0,
            waiting_ms: 0.0,
            receiving_ms: 0.0,
            bytes_sent: 0,
            bytes_received: 0,
            error_code: Some(code),
        });
        self.first_error_at(code, &r.name, r.target as usize, why);
    }

    async fn build_url(&mut self, r: &Request) -> R<Url> {
        let path = self.eval_nested(&r.path).await?;
        let path = match path.as_text() {
            Some(p) => p.to_string(),
            None => path.to_text(),
        };
        let base = self
            .shared
            .program
            .targets
            .get(r.target as usize)
            .map_or("", String::as_str);
        let mut url = Url::parse(&join_url(base, &path)).map_err(|e| {
            Halt::error(
                format!("request {}: invalid url", r.name),
                format!("request {}: the url is invalid: {e}", r.name),
            )
        })?;
        if let Some(q) = &r.query {
            let q = self.eval_nested(q).await?;
            match &q {
                Value::Record(fields) => {
                    if !fields.is_empty() {
                        let mut pairs = url.query_pairs_mut();
                        for (k, v) in fields.iter() {
                            for item in list_items(v) {
                                pairs.append_pair(k, &item);
                            }
                        }
                    }
                }
                Value::Null => {}
                other => {
                    return Err(Halt::error(
                        format!("request {}: query is not a record", r.name),
                        format!(
                            "request {}: query must be a record, got {}",
                            r.name,
                            other.kind()
                        ),
                    ))
                }
            }
        }
        Ok(url)
    }
}

/// Records a request cut by the end of the test (code 1051) when dropped armed: the
/// executor drops an iteration's future at the end of `graceful_stop`, and a request
/// still waiting then (a server that never answers, a timeout longer than the test)
/// must not vanish from `http_reqs` and `http_req_failed`.
struct Cut<'a> {
    rec: &'a mut super::Recorder,
    group: &'a Option<Arc<str>>,
    name: &'a Arc<str>,
    method: &'a Arc<str>,
    tags: &'a Option<super::tags::TagMap>,
    since: Instant,
    armed: bool,
}

impl Drop for Cut<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let waited = ms(self.since.elapsed());
        self.rec.http(&HttpSample {
            group: self.group,
            name: self.name,
            method: self.method,
            tags: self.tags,
            status: 0,
            expected: false,
            duration_ms: waited,
            blocked_ms: 0.0,
            connecting_ms: 0.0,
            tls_handshaking_ms: 0.0,
            sending_ms: 0.0,
            waiting_ms: waited,
            receiving_ms: 0.0,
            bytes_sent: 0,
            bytes_received: 0,
            error_code: Some(http::codes::CUT_BY_END),
        });
    }
}

/// A query or form value: each item of a list (repeated key), else the value's text.
fn list_items(v: &Value) -> Vec<String> {
    match v {
        Value::List(items) => items.iter().map(text_of).collect(),
        other => vec![text_of(other)],
    }
}

fn text_of(v: &Value) -> String {
    match v.as_text() {
        Some(t) => t.to_string(),
        None => v.to_text(),
    }
}

fn form_encode(v: &Value, name: &str) -> R<Vec<u8>> {
    let Value::Record(fields) = v else {
        return Err(Halt::error(
            format!("request {name}: form is not a record"),
            format!(
                "request {name}: a form body must be a record, got {}",
                v.kind()
            ),
        ));
    };
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields.iter() {
        for item in list_items(v) {
            ser.append_pair(k, &item);
        }
    }
    Ok(ser.finish().into_bytes())
}
