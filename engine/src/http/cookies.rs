//! [`CookieJar`]: one VU's cookies (k6's per-VU jar), stored from `Set-Cookie` and sent
//! back in `Cookie` on the requests they match, by RFC 6265 (domain, host-only, path,
//! `Secure`, `Max-Age`/`Expires`), with the `cookie_store` crate. No public-suffix list:
//! a server may set a cookie for a parent domain of its own host (the tests only talk to
//! the hosts they declare).
//!
//! Bounded against hostile servers: a cookie longer than [`MAX_COOKIE_BYTES`] (name and
//! value) is ignored, as browsers do, and a jar holding [`MAX_COOKIES`] keeps them and
//! ignores new names (an update of a stored cookie still applies). At most
//! [`MAX_SET_COOKIE`] `Set-Cookie` headers of one response are read.
//!
//! The `Cookie` header lists the cookies as RFC 6265 (5.4) and k6 (Go's jar) do: longer
//! paths first, then the earlier created (a replaced cookie keeps its creation). A server
//! given two cookies of one name takes the first, so the order is behaviour, not cosmetics;
//! `cookie_store` keeps them in hash maps, whose order changes from jar to jar.
//!
//! The client keeps no jar until a first cookie arrives or is set: a VU that never sees
//! one pays nothing per request. A jar also remembers the domains it ever stored a cookie
//! for, so that a request to a host none of them can match skips `cookie_store`'s lookup
//! (which runs IDNA on every stored domain: about 2,000 instructions a request). This
//! module must not do IO.

use std::collections::HashMap;

use cookie_store::{Cookie, CookieStore, RawCookie, StoreAction};
use http::HeaderValue;
use url::Url;

use super::Headers;

/// The longest cookie kept: its name and value together, in bytes (browsers' 4096).
pub const MAX_COOKIE_BYTES: usize = 4096;
/// The most cookies one jar holds (expired ones included until replaced).
pub const MAX_COOKIES: usize = 300;
/// The most `Set-Cookie` headers read from one response.
pub const MAX_SET_COOKIE: usize = 100;

/// One VU's cookies; see the module docs.
#[derive(Debug, Default)]
pub struct CookieJar {
    store: CookieStore,
    /// Every domain a cookie was stored under (the request host of a host-only cookie,
    /// else its `Domain`, lower-case ASCII), kept when the cookie expires or is replaced:
    /// a request whose host matches none of them can match no cookie.
    domains: Vec<Box<str>>,
    /// A domain that could not be kept in `domains` (not ASCII, or too many): every
    /// request consults the store.
    unfiltered: bool,
    /// When each stored cookie was created, as a count of insertions: by name, the
    /// (domain, path, count) of each cookie of that name, as `cookie_store` keys them (a
    /// request's lookup borrows, never allocates). The `Cookie` header's order among
    /// cookies of one path length. One entry per cookie of the store (expired ones
    /// included), so bounded as the store is.
    created: HashMap<String, Vec<(String, String, u64)>>,
    /// The next creation count.
    next: u64,
}

impl CookieJar {
    /// An empty jar.
    pub fn new() -> Self {
        CookieJar::default()
    }

    /// Whether the jar holds no cookie at all.
    pub fn is_empty(&self) -> bool {
        self.store.iter_any().next().is_none()
    }

    /// Forget every cookie.
    pub fn clear(&mut self) {
        self.store.clear();
        self.domains.clear();
        self.unfiltered = false;
        self.created.clear();
    }

    /// Store the `Set-Cookie` headers of a response to `url`; bad ones are ignored.
    pub fn store_response(&mut self, headers: &Headers, url: &Url) {
        for value in headers.get_all("set-cookie").iter().take(MAX_SET_COOKIE) {
            let Ok(text) = std::str::from_utf8(value.as_bytes()) else {
                continue;
            };
            if let Ok(c) = RawCookie::parse(text.to_owned()) {
                self.insert(&c, url);
            }
        }
    }

    /// Set cookie `name` to `value` for `url`'s host and every path (host-only, as if the
    /// server at `url` had set it with `Path=/`). False when the name or value is not
    /// valid in a cookie, too long, or the jar is full.
    pub fn set(&mut self, url: &Url, name: &str, value: &str) -> bool {
        if !valid_name(name) || !valid_value(value) {
            return false;
        }
        let c = RawCookie::build((name.to_owned(), value.to_owned()))
            .path("/")
            .build();
        self.insert(&c, url)
    }

    /// Insert within the bounds; true when stored (or an existing cookie updated).
    fn insert(&mut self, c: &RawCookie<'_>, url: &Url) -> bool {
        if c.name().len() + c.value().len() > MAX_COOKIE_BYTES {
            return false;
        }
        if self.store.iter_any().nth(MAX_COOKIES - 1).is_some() {
            let host = url.host_str().unwrap_or("");
            let domain = c.domain().unwrap_or(host).trim_start_matches('.');
            let path = c.path().unwrap_or("/");
            if !self.store.contains_any(domain, path, c.name()) {
                return false;
            }
        }
        let Ok(cookie) = Cookie::try_from_raw_cookie(c, url) else {
            return false;
        };
        let domain = String::from(&cookie.domain);
        let path = String::from(&cookie.path);
        // A cookie replacing an unexpired one keeps its creation (RFC 6265 5.3, 11.3).
        let fresh = self.store.get(&domain, &path, c.name()).is_none();
        let stored = match self.store.insert(cookie.into_owned(), url) {
            Ok(StoreAction::Inserted | StoreAction::UpdatedExisting) => {
                let known = self.creation(&domain, &path, c.name()).is_some();
                if fresh || !known {
                    self.forget_creation(&domain, &path, c.name());
                    let next = self.next;
                    self.next += 1;
                    let same_name = self.created.entry(c.name().to_owned()).or_default();
                    same_name.push((domain, path, next));
                }
                true
            }
            Ok(StoreAction::ExpiredExisting) => {
                self.forget_creation(&domain, &path, c.name());
                true
            }
            Err(_) => false,
        };
        if stored {
            self.remember_domain(c, url);
        }
        stored
    }

    /// The creation count of the cookie stored under (`domain`, `path`, `name`).
    fn creation(&self, domain: &str, path: &str, name: &str) -> Option<u64> {
        let same_name = self.created.get(name)?;
        let hit = same_name.iter().find(|(d, p, _)| d == domain && p == path);
        hit.map(|&(_, _, n)| n)
    }

    /// Drop the creation count of the cookie stored under (`domain`, `path`, `name`).
    fn forget_creation(&mut self, domain: &str, path: &str, name: &str) {
        if let Some(same_name) = self.created.get_mut(name) {
            same_name.retain(|(d, p, _)| d != domain || p != path);
            if same_name.is_empty() {
                self.created.remove(name);
            }
        }
    }

    /// Note the domain `c` was stored under, as `cookie_store` keys it: its `Domain`
    /// attribute (IDNA-mapped, which for ASCII is lower-casing) or the request's host.
    fn remember_domain(&mut self, c: &RawCookie<'_>, url: &Url) {
        let domain = match c.domain() {
            Some(d) => d.trim().trim_start_matches('.'),
            None => url.host_str().unwrap_or(""),
        };
        if !domain.is_ascii() || self.domains.len() >= MAX_COOKIES {
            self.unfiltered = true;
            return;
        }
        if !self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
            self.domains.push(domain.to_ascii_lowercase().into());
        }
    }

    /// Whether a cookie of the jar may match a request to `url`: its host is one of the
    /// stored domains or a subdomain of one (RFC 6265 domain-matching, a superset of what
    /// `cookie_store` matches, which also checks host-only, path, expiry and `Secure`).
    fn may_match(&self, url: &Url) -> bool {
        if self.unfiltered {
            return true;
        }
        let Some(host) = url.host_str() else {
            return false;
        };
        // `url` lower-cases the host of an http(s) URL, as the domains are stored.
        let host = host.as_bytes();
        self.domains.iter().any(|d| {
            host.ends_with(d.as_bytes())
                && (host.len() == d.len() || host[host.len() - d.len() - 1] == b'.')
        })
    }

    /// The `Cookie` header for a request to `url`: `overrides` (the request's own
    /// `cookies:`, in their order), then the jar's matching cookies except those named in
    /// `overrides`, longer paths first, then the older.
    /// `None` when there is none to send.
    pub fn header_for(&self, url: &Url, overrides: &[(String, String)]) -> Option<HeaderValue> {
        if !self.may_match(url) {
            return header_of(overrides);
        }
        let mut matched = self.store.matches(url);
        if matched.len() > 1 {
            // Longer paths first, then the earlier created (RFC 6265 5.4, as Go's jar).
            matched.sort_by_cached_key(|c| {
                let path: &str = &c.path;
                let domain = c.domain.as_cow().unwrap_or_default();
                let created = self.creation(&domain, path, c.name());
                (std::cmp::Reverse(path.len()), created.unwrap_or(u64::MAX))
            });
        }
        // The request's own first, as k6 sends them.
        let mut out = String::new();
        for (name, value) in overrides {
            push_pair(&mut out, name, value);
        }
        for c in matched {
            let (name, value) = c.name_value();
            if overrides.iter().any(|(n, _)| n == name) {
                continue;
            }
            push_pair(&mut out, name, value);
        }
        if out.is_empty() {
            return None;
        }
        HeaderValue::from_str(&out).ok()
    }

    /// Every unexpired cookie as (domain, path, name, value), for diagnostics and tests.
    pub fn entries(&self) -> Vec<(String, String, String, String)> {
        self.store
            .iter_unexpired()
            .map(|c| {
                let domain = c.domain().map(str::to_owned).unwrap_or_default();
                (
                    domain,
                    String::from(&c.path),
                    c.name().to_owned(),
                    c.value().to_owned(),
                )
            })
            .collect()
    }
}

/// The `Cookie` header for a request that has only its own `cookies:` and no jar.
pub fn header_of(overrides: &[(String, String)]) -> Option<HeaderValue> {
    let mut out = String::new();
    for (name, value) in overrides {
        push_pair(&mut out, name, value);
    }
    (!out.is_empty())
        .then(|| HeaderValue::from_str(&out).ok())
        .flatten()
}

fn push_pair(out: &mut String, name: &str, value: &str) {
    if !out.is_empty() {
        out.push_str("; ");
    }
    out.push_str(name);
    out.push('=');
    out.push_str(value);
}

/// A cookie name: an HTTP token (RFC 6265 `cookie-name`).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A cookie value: visible ASCII without `"`, `,`, `;`, `\` or spaces (RFC 6265
/// `cookie-octet`); empty is allowed.
pub fn valid_value(value: &str) -> bool {
    value.len() <= MAX_COOKIE_BYTES
        && value
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && !b"\",;\\".contains(&b))
}

/// The cookies a response sets, as (name, value) in order, read from its `Set-Cookie`
/// headers (what `res.cookies` shows; not the jar's content).
pub fn response_cookies(headers: &Headers) -> Vec<(String, String)> {
    headers
        .get_all("set-cookie")
        .iter()
        .take(MAX_SET_COOKIE)
        .filter_map(|v| {
            let text = std::str::from_utf8(v.as_bytes()).ok()?;
            let c = RawCookie::parse(text.to_owned()).ok()?;
            Some((c.name().to_owned(), c.value().to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod unit {
    use super::*;
    use bytes::Bytes;

    fn head(lines: &str) -> Headers {
        Headers::from_head(Bytes::from(format!("HTTP/1.1 200 OK\r\n{lines}\r\n")))
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|_| unreachable!("test URL {s}"))
    }

    #[test]
    fn matches_domain_path_secure_and_expiry() {
        let mut jar = CookieJar::new();
        let h = head(
            "Set-Cookie: sid=abc; Path=/\r\n\
             Set-Cookie: api=1; Path=/api\r\n\
             Set-Cookie: sec=2; Secure; Path=/\r\n\
             Set-Cookie: old=3; Max-Age=0\r\n\
             Set-Cookie: wide=4; Domain=shop.test; Path=/\r\n",
        );
        jar.store_response(&h, &url("http://www.shop.test/login"));
        let sent = |u: &str| {
            jar.header_for(&url(u), &[])
                .map(|v| v.to_str().unwrap_or("").to_owned())
        };
        let root = sent("http://www.shop.test/").unwrap_or_default();
        assert!(
            root.contains("sid=abc") && root.contains("wide=4"),
            "{root}"
        );
        assert!(!root.contains("api=1") && !root.contains("sec=2") && !root.contains("old"));
        let api = sent("http://www.shop.test/api/x").unwrap_or_default();
        assert!(api.contains("api=1"), "{api}");
        let tls = sent("https://www.shop.test/").unwrap_or_default();
        assert!(tls.contains("sec=2"), "{tls}");
        // Host-only `sid` stays on www; the domain cookie reaches the parent.
        assert_eq!(sent("http://shop.test/").as_deref(), Some("wide=4"));
        assert_eq!(sent("http://other.test/"), None);
    }

    #[test]
    fn a_request_to_a_host_without_cookies_skips_the_store() {
        let mut jar = CookieJar::new();
        assert!(jar.set(&url("http://other.test/"), "theme", "dark"));
        jar.store_response(
            &head("Set-Cookie: wide=1; Domain=Shop.Test; Path=/\r\n"),
            &url("http://www.shop.test/"),
        );
        assert!(!jar.may_match(&url("http://127.0.0.1:8080/")));
        assert!(!jar.may_match(&url("http://notshop.test/")));
        assert!(jar.may_match(&url("http://OTHER.test/x")));
        assert!(jar.may_match(&url("http://a.b.shop.test/")));
        assert_eq!(jar.header_for(&url("http://127.0.0.1/"), &[]), None);
        let own = jar.header_for(&url("http://127.0.0.1/"), &[("a".into(), "1".into())]);
        assert_eq!(own, Some(HeaderValue::from_static("a=1")));
        let sent = jar.header_for(&url("http://shop.test/"), &[]);
        assert_eq!(sent, Some(HeaderValue::from_static("wide=1")));
        jar.clear();
        assert!(!jar.may_match(&url("http://other.test/")));
    }

    #[test]
    fn overrides_replace_jar_cookies_of_the_same_name() {
        let mut jar = CookieJar::new();
        assert!(jar.set(&url("http://h/"), "a", "1"));
        assert!(jar.set(&url("http://h/"), "b", "2"));
        let v = jar.header_for(&url("http://h/x"), &[("a".into(), "9".into())]);
        let v = v
            .map(|v| v.to_str().unwrap_or("").to_owned())
            .unwrap_or_default();
        assert_eq!(v, "a=9; b=2");
        assert!(!jar.set(&url("http://h/"), "bad name", "1"));
        assert!(!jar.set(&url("http://h/"), "a", "x;y"));
        jar.clear();
        assert!(jar.is_empty());
        assert_eq!(jar.header_for(&url("http://h/"), &[]), None);
    }

    #[test]
    fn the_header_lists_longer_paths_first_then_the_older() {
        let mut jar = CookieJar::new();
        let at = url("http://www.shop.test/sub/page");
        // Over many jars: a hash map's order would differ from one to the next.
        for _ in 0..20 {
            jar.clear();
            jar.store_response(
                &head(
                    "Set-Cookie: h=1; Path=/\r\n\
                     Set-Cookie: d=1; Domain=shop.test; Path=/\r\n\
                     Set-Cookie: p=1; Path=/sub\r\n\
                     Set-Cookie: a=1; Path=/\r\n\
                     Set-Cookie: h=sub; Path=/sub\r\n",
                ),
                &at,
            );
            let sent = jar.header_for(&at, &[]);
            assert_eq!(
                sent,
                Some(HeaderValue::from_static("p=1; h=sub; h=1; d=1; a=1"))
            );
        }
        // A replaced cookie keeps its place; a deleted and set again one goes last.
        jar.store_response(&head("Set-Cookie: h=2; Path=/\r\n"), &at);
        jar.store_response(
            &head("Set-Cookie: d=; Domain=shop.test; Path=/; Max-Age=0\r\n"),
            &at,
        );
        assert!(jar.set(&at, "d", "3"));
        let sent = jar.header_for(&at, &[("a".into(), "9".into())]);
        assert_eq!(
            sent,
            Some(HeaderValue::from_static("a=9; p=1; h=sub; h=2; d=3"))
        );
    }

    #[test]
    fn bounded_against_hostile_servers() {
        let mut jar = CookieJar::new();
        let big = "x".repeat(MAX_COOKIE_BYTES);
        jar.store_response(
            &head(&format!("Set-Cookie: big={big}\r\n")),
            &url("http://h/"),
        );
        assert!(jar.is_empty());
        for i in 0..MAX_COOKIES + 50 {
            jar.set(&url("http://h/"), &format!("c{i}"), "v");
        }
        assert_eq!(jar.entries().len(), MAX_COOKIES);
        // An update of a stored cookie still applies when full.
        assert!(jar.set(&url("http://h/"), "c0", "new"));
        assert!(!jar.set(&url("http://h/"), "fresh", "v"));
        assert!(jar
            .entries()
            .iter()
            .any(|(_, _, n, v)| n == "c0" && v == "new"));
    }

    #[test]
    fn response_cookies_are_read_from_set_cookie() {
        let h = head("Set-Cookie: a=1; HttpOnly\r\nSet-Cookie: b=two\r\nX: y\r\n");
        assert_eq!(
            response_cookies(&h),
            [
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "two".to_owned())
            ]
        );
    }
}
