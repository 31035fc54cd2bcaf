//! [`Headers`]: the response headers of a [`super::Response`], kept as they arrived.
//!
//! An HTTP/1.1 response keeps its head as one byte string (the status line and header
//! lines exactly as received, already validated by `httparse` when the response was read);
//! a lookup parses it again, which is cheaper than building a map for every response when
//! scripts read a header of few of them. HTTP/2 responses keep hyper's `HeaderMap`. Names
//! match case-insensitively; values come back as bytes, or as text when they are visible
//! ASCII (as `http::HeaderValue::to_str` decides). This module must not do IO.

use std::mem::MaybeUninit;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};

/// Headers of a response; see the module docs.
#[derive(Clone, Debug)]
pub struct Headers(Repr);

/// Small (40 bytes) because responses are moved between the client, the interpreter and
/// the script's value: the map of an HTTP/2 response is boxed, so that a move of a
/// response is a few inline copies rather than a `memcpy` call.
#[derive(Clone, Debug)]
enum Repr {
    /// No headers (a transport error).
    Empty,
    /// A complete HTTP/1.x response head (status line to the blank line).
    Head(Bytes),
    Map(Box<HeaderMap>),
}

impl Default for Headers {
    fn default() -> Self {
        Headers::new()
    }
}

impl From<HeaderMap> for Headers {
    fn from(map: HeaderMap) -> Self {
        Headers(Repr::Map(Box::new(map)))
    }
}

/// More header lines than a head may have (the HTTP/1.1 reader refuses more).
pub(crate) const MAX_HEADERS: usize = 128;

impl Headers {
    /// No headers.
    pub fn new() -> Headers {
        Headers(Repr::Empty)
    }

    /// The headers of a response head that `httparse` has parsed completely.
    pub(crate) fn from_head(head: Bytes) -> Headers {
        Headers(Repr::Head(head))
    }

    /// Calls `f` with each header's name and value, in order, until it returns `true`.
    fn each<'a>(&'a self, mut f: impl FnMut(&'a [u8], &'a [u8]) -> bool) {
        match &self.0 {
            Repr::Empty => {}
            Repr::Map(map) => {
                for (name, value) in map.iter() {
                    if f(name.as_str().as_bytes(), value.as_bytes()) {
                        return;
                    }
                }
            }
            Repr::Head(head) => {
                let mut slots =
                    [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
                let mut resp = httparse::Response::new(&mut []);
                let config = httparse::ParserConfig::default();
                // The head parsed once already; should it not now, there are no headers.
                if config
                    .parse_response_with_uninit_headers(&mut resp, head, &mut slots)
                    .is_ok()
                {
                    for h in resp.headers.iter() {
                        if f(h.name.as_bytes(), h.value) {
                            return;
                        }
                    }
                }
            }
        }
    }

    /// The first value of header `name` (any case), as bytes.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        let mut found = None;
        self.each(|n, v| {
            let hit = n.eq_ignore_ascii_case(name.as_bytes());
            if hit {
                found = Some(v);
            }
            hit
        });
        found
    }

    /// The first value of header `name` (any case), if it is visible ASCII text.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(as_text)
    }

    /// Every value of header `name` (any case), in order (shaped like
    /// `HeaderMap::get_all`: `headers.get_all(name).iter()`).
    pub fn get_all(&self, name: &str) -> GetAll {
        let mut out = Vec::new();
        self.each(|n, v| {
            if n.eq_ignore_ascii_case(name.as_bytes()) {
                if let Ok(v) = HeaderValue::from_bytes(v) {
                    out.push(v);
                }
            }
            false
        });
        GetAll(out)
    }

    /// How many header lines there are.
    pub fn len(&self) -> usize {
        let mut n = 0;
        self.each(|_, _| {
            n += 1;
            false
        });
        n
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The values of one header, from [`Headers::get_all`].
#[derive(Clone, Debug, Default)]
pub struct GetAll(Vec<HeaderValue>);

impl GetAll {
    /// The values in order.
    pub fn iter(&self) -> impl Iterator<Item = HeaderValue> + '_ {
        self.0.iter().cloned()
    }
}

/// `bytes` as text when every byte is visible ASCII, a space or a tab (the rule of
/// `http::HeaderValue::to_str`).
pub(crate) fn as_text(bytes: &[u8]) -> Option<&str> {
    if bytes
        .iter()
        .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
    {
        std::str::from_utf8(bytes).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn head_lookups_ignore_case_and_keep_order() {
        let head = Bytes::from_static(
            b"HTTP/1.1 200 OK\r\nX-A: one\r\nContent-Type: text/plain\r\nx-a: two\r\nX-Bin: \xff\r\n\r\n",
        );
        let h = Headers::from_head(head);
        assert_eq!(h.get_str("content-type"), Some("text/plain"));
        assert_eq!(h.get_str("X-A"), Some("one"));
        assert_eq!(h.get_all("x-a").iter().collect::<Vec<_>>(), ["one", "two"]);
        assert_eq!(h.get("x-bin"), Some(&b"\xff"[..]));
        assert_eq!(h.get_str("x-bin"), None);
        assert_eq!(h.get("missing"), None);
        assert_eq!(h.len(), 4);
    }

    #[test]
    fn maps_answer_the_same() {
        let mut map = HeaderMap::new();
        map.append("x-a", HeaderValue::from_static("one"));
        map.append("x-a", HeaderValue::from_static("two"));
        let h = Headers::from(map);
        assert_eq!(h.get_str("X-A"), Some("one"));
        assert_eq!(h.get_all("x-a").iter().collect::<Vec<_>>(), ["one", "two"]);
        assert_eq!(h.len(), 2);
        assert!(Headers::new().is_empty());
    }
}
