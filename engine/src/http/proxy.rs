//! HTTP proxies: which requests go through one, and the `CONNECT` tunnel for `https://`.
//!
//! [`Proxies`] is built once per scenario from its `http.proxy` and `http.no_proxy`, or,
//! without `proxy`, from the environment as Go and k6 read it: `HTTPS_PROXY` for
//! `https://` URLs and `HTTP_PROXY` for `http://` ones (each also in lower case, the upper
//! case first), minus the hosts `NO_PROXY` (and the scenario's `no_proxy`) lists. As in
//! Go, the environment's proxies are never used for `localhost` or a loopback address;
//! a scenario's own `proxy` is used for every host not in its `no_proxy`.
//!
//! `NO_PROXY` entries (comma-separated, as Go): `*` (every host), a domain (`example.com`
//! matches it and its subdomains; `.example.com` only its subdomains), an IP address, a
//! CIDR range (`10.0.0.0/8`), each optionally with `:PORT` (then only that port).
//!
//! Plain `http://` requests are sent to the proxy in absolute form (`GET http://host/path`)
//! over HTTP/1.1; `https://` ones open a tunnel with `CONNECT host:port` and do TLS with
//! the target inside it (HTTP/2 by ALPN works through it). A proxy URL's user info is sent
//! as `Proxy-Authorization: Basic`. Only `http://` proxies are supported. Failures to reach
//! the proxy or a refused `CONNECT` get their own code, [`codes::PROXY`].

use std::net::IpAddr;

use base64::Engine as _;
use http::HeaderValue;

use super::error::{codes, HttpError};

/// One proxy: where it listens and its credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxy {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) authorization: Option<HeaderValue>,
    /// `host:port`, for messages.
    pub(crate) shown: String,
}

impl Proxy {
    /// Parses a proxy URL (`http://[user:pass@]host[:port]`; without a scheme, `http://`
    /// is assumed, as Go does). The error says why, never the password.
    pub fn parse(text: &str) -> Result<Proxy, String> {
        let with_scheme = if text.contains("://") {
            text.to_owned()
        } else {
            format!("http://{text}")
        };
        let url = url::Url::parse(&with_scheme).map_err(|e| format!("not a URL ({e})"))?;
        if url.scheme() != "http" {
            return Err(format!(
                "`{}://` proxies are not supported, only `http://` (HTTPS goes through it with CONNECT)",
                url.scheme()
            ));
        }
        let host = url.host_str().ok_or("no host")?.to_owned();
        let port = url.port_or_known_default().unwrap_or(80);
        let authorization = if url.username().is_empty() && url.password().is_none() {
            None
        } else {
            let user = percent_decode(url.username());
            let pass = percent_decode(url.password().unwrap_or(""));
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            let mut v = HeaderValue::from_str(&format!("Basic {token}"))
                .map_err(|_| "bad credentials".to_owned())?;
            v.set_sensitive(true);
            Some(v)
        };
        let shown = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => format!("{host}:{port}"),
        };
        Ok(Proxy {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
            authorization,
            shown,
        })
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// One `NO_PROXY` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Bypass {
    All,
    /// A domain; `subdomains_only` for a leading dot.
    Domain {
        name: String,
        subdomains_only: bool,
        port: Option<u16>,
    },
    Ip(IpAddr, Option<u16>),
    Cidr(IpAddr, u8),
}

impl Bypass {
    fn parse(entry: &str) -> Option<Bypass> {
        let e = entry.trim().to_ascii_lowercase();
        if e.is_empty() {
            return None;
        }
        if e == "*" {
            return Some(Bypass::All);
        }
        if let Some((ip, bits)) = e.split_once('/') {
            let ip: IpAddr = ip.parse().ok()?;
            let bits: u8 = bits.parse().ok()?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            return (bits <= max).then_some(Bypass::Cidr(ip, bits));
        }
        if let Ok(ip) = e.trim_start_matches('[').trim_end_matches(']').parse() {
            return Some(Bypass::Ip(ip, None));
        }
        let (host, port) = match e.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') || h.ends_with(']') => (h, p.parse().ok()),
            _ => (e.as_str(), None),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse() {
            return Some(Bypass::Ip(ip, port));
        }
        let subdomains_only = host.starts_with('.');
        Some(Bypass::Domain {
            name: host
                .trim_start_matches('.')
                .trim_start_matches("*.")
                .to_owned(),
            subdomains_only,
            port,
        })
    }

    fn matches(&self, host: &str, ip: Option<IpAddr>, port: u16) -> bool {
        match self {
            Bypass::All => true,
            Bypass::Ip(a, p) => ip == Some(*a) && p.is_none_or(|p| p == port),
            Bypass::Cidr(net, bits) => ip.is_some_and(|ip| in_cidr(ip, *net, *bits)),
            Bypass::Domain {
                name,
                subdomains_only,
                port: p,
            } => {
                let sub = host.len() > name.len()
                    && host.ends_with(name.as_str())
                    && host.as_bytes()[host.len() - name.len() - 1] == b'.';
                let hit = sub || (!subdomains_only && host == name);
                hit && p.is_none_or(|p| p == port)
            }
        }
    }
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// Which proxy, if any, each request uses; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxies {
    http: Option<Proxy>,
    https: Option<Proxy>,
    bypass: Vec<Bypass>,
    /// From the environment: loopback and `localhost` go direct.
    from_env: bool,
}

impl Proxies {
    /// The scenario's own `proxy` (for both schemes) and `no_proxy`.
    pub fn explicit(proxy: &str, no_proxy: &[String]) -> Result<Proxies, HttpError> {
        let p = Proxy::parse(proxy).map_err(|why| proxy_setup("http.proxy", &why))?;
        Ok(Proxies {
            http: Some(p.clone()),
            https: Some(p),
            bypass: no_proxy.iter().filter_map(|e| Bypass::parse(e)).collect(),
            from_env: false,
        })
    }

    /// From the environment (`var` reads a variable), with the scenario's `no_proxy`
    /// added; `None` when no proxy variable is set.
    pub fn from_env(
        var: impl Fn(&str) -> Option<String>,
        no_proxy: &[String],
    ) -> Result<Option<Proxies>, HttpError> {
        let get = |upper: &str| {
            var(upper)
                .or_else(|| var(&upper.to_ascii_lowercase()))
                .filter(|v| !v.trim().is_empty())
        };
        let parse = |name: &str| -> Result<Option<Proxy>, HttpError> {
            get(name)
                .map(|v| Proxy::parse(v.trim()).map_err(|why| proxy_setup(name, &why)))
                .transpose()
        };
        let (http, https) = (parse("HTTP_PROXY")?, parse("HTTPS_PROXY")?);
        if http.is_none() && https.is_none() {
            return Ok(None);
        }
        let mut bypass: Vec<Bypass> = get("NO_PROXY")
            .unwrap_or_default()
            .split(',')
            .filter_map(Bypass::parse)
            .collect();
        bypass.extend(no_proxy.iter().filter_map(|e| Bypass::parse(e)));
        Ok(Some(Proxies {
            http,
            https,
            bypass,
            from_env: true,
        }))
    }

    /// The proxy for a request to `host:port`, or `None` to go direct.
    pub fn for_target(&self, https: bool, host: &str, port: u16) -> Option<&Proxy> {
        let proxy = if https { &self.https } else { &self.http }.as_ref()?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let ip: Option<IpAddr> = host.parse().ok();
        if self.from_env && (host == "localhost" || ip.is_some_and(|ip| ip.is_loopback())) {
            return None;
        }
        if self.bypass.iter().any(|b| b.matches(&host, ip, port)) {
            return None;
        }
        Some(proxy)
    }
}

fn proxy_setup(name: &str, why: &str) -> HttpError {
    HttpError::new(codes::PROXY, format!("{name}: {why}"))
}

/// `CONNECT authority` request head.
pub(crate) fn connect_head(authority: &str, proxy: &Proxy) -> Vec<u8> {
    let mut w = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n").into_bytes();
    if let Some(auth) = &proxy.authorization {
        w.extend_from_slice(b"Proxy-Authorization: ");
        w.extend_from_slice(auth.as_bytes());
        w.extend_from_slice(b"\r\n");
    }
    w.extend_from_slice(b"\r\n");
    w
}

/// The status of a complete `CONNECT` response head, `None` while incomplete; an error for
/// one that does not parse.
pub(crate) fn connect_status(head: &[u8]) -> Result<Option<(u16, String)>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(head) {
        Ok(httparse::Status::Complete(_)) => Ok(Some((
            resp.code.unwrap_or(0),
            resp.reason.unwrap_or("").to_owned(),
        ))),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(_) => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn proxy_urls_parse_with_credentials_and_defaults() {
        let p = Proxy::parse("http://user:p%40ss@proxy.corp:3128").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("proxy.corp", 3128));
        let auth = p.authorization.unwrap();
        assert!(auth.is_sensitive());
        assert_eq!(auth.to_str().unwrap(), "Basic dXNlcjpwQHNz"); // user:p@ss
        let p = Proxy::parse("proxy.corp").unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.authorization),
            ("proxy.corp", 80, None)
        );
        let e = Proxy::parse("socks5://proxy:1080").unwrap_err();
        assert!(e.contains("only `http://`"), "{e}");
        let e = Proxy::parse("http://user:hunter2@").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn the_environment_picks_by_scheme_upper_case_first() {
        let vars = [
            ("HTTP_PROXY", "http://plain:1"),
            ("http_proxy", "http://lower:1"),
            ("https_proxy", "http://tunnel:2"),
        ];
        let p = Proxies::from_env(env(&vars), &[]).unwrap().unwrap();
        assert_eq!(p.for_target(false, "shop.test", 80).unwrap().host, "plain");
        assert_eq!(p.for_target(true, "shop.test", 443).unwrap().host, "tunnel");
        // As Go: the environment's proxies never serve loopback.
        assert!(p.for_target(false, "localhost", 80).is_none());
        assert!(p.for_target(false, "127.0.0.1", 80).is_none());
        assert!(p.for_target(true, "[::1]", 443).is_none());
        assert_eq!(
            Proxies::from_env(env(&[("NO_PROXY", "*")]), &[]).unwrap(),
            None
        );
        let only_http = Proxies::from_env(env(&[("HTTP_PROXY", "p:1")]), &[])
            .unwrap()
            .unwrap();
        assert!(only_http.for_target(true, "shop.test", 443).is_none());
        let e = Proxies::from_env(env(&[("HTTPS_PROXY", "https://p:1")]), &[]).unwrap_err();
        assert_eq!(e.code, codes::PROXY);
        assert!(e.message.starts_with("HTTPS_PROXY:"), "{e:?}");
    }

    #[test]
    fn no_proxy_entries_match_as_go_does() {
        let vars = [
            ("HTTP_PROXY", "p:1"),
            (
                "NO_PROXY",
                "corp.example, .internal,10.0.0.0/8, 192.168.1.5, api.test:8080 ,",
            ),
        ];
        let p = Proxies::from_env(env(&vars), &["extra.test".into()])
            .unwrap()
            .unwrap();
        let direct = |h: &str, port| p.for_target(false, h, port).is_none();
        assert!(direct("corp.example", 80));
        assert!(direct("a.corp.example", 80));
        assert!(!direct("notcorp.example", 80));
        assert!(direct("svc.internal", 80));
        assert!(!direct("internal", 80), "a leading dot: subdomains only");
        assert!(direct("10.1.2.3", 80));
        assert!(!direct("11.1.2.3", 80));
        assert!(direct("192.168.1.5", 80));
        assert!(direct("api.test", 8080));
        assert!(!direct("api.test", 80), "a port limits the entry");
        assert!(
            direct("extra.test", 80),
            "the scenario's no_proxy adds to NO_PROXY"
        );
        assert!(direct("CORP.EXAMPLE.", 80));
    }

    #[test]
    fn an_explicit_proxy_serves_loopback_too() {
        let p = Proxies::explicit("http://127.0.0.1:3128", &["skip.test".into()]).unwrap();
        assert_eq!(p.for_target(false, "127.0.0.1", 80).unwrap().port, 3128);
        assert!(p.for_target(true, "localhost", 443).is_some());
        assert!(p.for_target(true, "skip.test", 443).is_none());
    }

    #[test]
    fn connect_heads_and_answers() {
        let p = Proxy::parse("http://u:p@proxy:3128").unwrap();
        let head = String::from_utf8(connect_head("shop.test:443", &p)).unwrap();
        assert_eq!(
            head,
            "CONNECT shop.test:443 HTTP/1.1\r\nHost: shop.test:443\r\nProxy-Authorization: Basic dTpw\r\n\r\n"
        );
        assert_eq!(
            connect_status(b"HTTP/1.1 200 Connection established\r\n\r\n"),
            Ok(Some((200, "Connection established".into())))
        );
        assert_eq!(connect_status(b"HTTP/1.1 407 Proxy Auth"), Ok(None));
        assert_eq!(connect_status(b"\x16\x03\x01garbage\r\n\r\n"), Err(()));
    }
}
