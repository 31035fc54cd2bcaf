//! The HTML feedback form: `GET /html/feedback` answers a page whose form carries a CSRF
//! token bound to the visitor's session (the `sid` cookie, issued when the request has
//! none), and `POST /html/feedback` (form-encoded) accepts only the token of its session.
//! Stateless: a token is a keyed hash of the session id with the shop's own key, so no
//! table of sessions is kept. Pure: no IO, no clock.

use hyper::header::{HeaderValue, CONTENT_TYPE, COOKIE, SET_COOKIE};
use hyper::{HeaderMap, Response, StatusCode};
use std::hash::{Hash, Hasher};

use crate::shop::Body;

/// The session id a request's `cookie` header carries (`sid=…`), if any.
fn session(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix("sid="))
        .find(|s| !s.is_empty() && s.len() <= 64)
        .map(str::to_string)
}

/// The CSRF token of session `sid` under the shop's `key`.
pub(crate) fn token(key: u64, sid: &str) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (key, sid).hash(&mut h);
    let a = h.finish();
    a.rotate_left(17).hash(&mut h);
    format!("{a:016x}{:016x}", h.finish())
}

/// The value of `name` in a form-encoded body (`a=1&csrf=…`); tokens are hex, so no
/// percent-decoding is needed for them.
fn form_field<'a>(body: &'a [u8], name: &str) -> Option<&'a str> {
    std::str::from_utf8(body)
        .ok()?
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn page(status: StatusCode, html: String) -> Response<Body> {
    let mut res = Response::new(Body::from(html));
    *res.status_mut() = status;
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}

/// `GET /html/feedback`: the form, with the session's token (and a new session when the
/// request has none, as `set-cookie: sid=…`).
pub(crate) fn form(
    key: u64,
    headers: &HeaderMap,
    new_sid: impl FnOnce() -> String,
) -> Response<Body> {
    let (sid, fresh) = match session(headers) {
        Some(s) => (s, false),
        None => (new_sid(), true),
    };
    let csrf = token(key, &sid);
    let html = format!(
        "<!doctype html>\n<html><head><title>Feedback</title></head>\n<body>\n\
         <h1>Feedback</h1>\n\
         <form method=\"post\" action=\"/html/feedback\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <label>Message <input type=\"text\" name=\"message\"></label>\n\
         <button type=\"submit\">Send</button>\n</form>\n\
         <ul class=\"tips\"><li>Be kind.</li><li>Be brief.</li><li>Be specific.</li></ul>\n\
         </body></html>\n"
    );
    let mut res = page(StatusCode::OK, html);
    if fresh {
        if let Ok(v) = HeaderValue::from_str(&format!("sid={sid}")) {
            res.headers_mut().insert(SET_COOKIE, v);
        }
    }
    res
}

/// `POST /html/feedback`: 200 with the session's token, 403 without a session or with
/// another token.
pub(crate) fn submit(key: u64, headers: &HeaderMap, body: &[u8]) -> Response<Body> {
    let refuse = |why: &str| {
        page(
            StatusCode::FORBIDDEN,
            format!("<!doctype html>\n<p class=\"error\">{why}</p>\n"),
        )
    };
    let Some(sid) = session(headers) else {
        return refuse("no session: load the form first");
    };
    match form_field(body, "csrf") {
        Some(t) if t == token(key, &sid) => page(
            StatusCode::OK,
            "<!doctype html>\n<p class=\"thanks\">Thank you for your feedback.</p>\n".into(),
        ),
        _ => refuse("invalid CSRF token"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookie(c: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_str(c).unwrap());
        h
    }

    #[test]
    fn the_form_carries_its_sessions_token() {
        let res = form(7, &HeaderMap::new(), || "abc".into());
        assert_eq!(res.headers()[SET_COOKIE], "sid=abc");
        let again = form(7, &with_cookie("x=1; sid=abc"), || "other".into());
        assert!(again.headers().get(SET_COOKIE).is_none());
        assert_eq!(token(7, "abc"), token(7, "abc"));
        assert_ne!(token(7, "abc"), token(7, "abd"));
        assert_ne!(token(7, "abc"), token(8, "abc"));
    }

    #[test]
    fn only_the_sessions_token_is_accepted() {
        let good = format!("message=hi&csrf={}", token(7, "abc"));
        let status = |h: &HeaderMap, b: &str| submit(7, h, b.as_bytes()).status();
        assert_eq!(status(&with_cookie("sid=abc"), &good), StatusCode::OK);
        assert_eq!(status(&HeaderMap::new(), &good), StatusCode::FORBIDDEN);
        assert_eq!(
            status(&with_cookie("sid=xyz"), &good),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            status(&with_cookie("sid=abc"), "message=hi"),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            status(&with_cookie("sid=abc"), "csrf=00"),
            StatusCode::FORBIDDEN
        );
    }
}
