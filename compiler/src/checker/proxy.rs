//! A scenario's `http = {proxy: "http://..", no_proxy: [..]}`: the proxy URL (only
//! `http://`; user info allowed, then it must come from a secret-free constant) and the
//! hosts that bypass it, checked when the test compiles (E0318). The environment's
//! `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` are read by the engine at run time.

use super::{Checker, Ctx, Mode};
use crate::codes;
use crate::ir::Const;
use crate::types::Type;
use volley_plan::HttpOptions;
use volley_syntax::ast::{self, ExprKind as A};

const PROXY_HELP: &str = "write the proxy's URL, e.g. `proxy: \"http://proxy.corp:3128\"`";
const NO_PROXY_HELP: &str =
    "list hosts that go direct: names (`\"corp.example\"`, `\".internal\"`), IPs, CIDRs (`\"10.0.0.0/8\"`), `\"*\"`";

impl<'a> Checker<'a> {
    /// `proxy`: a constant `http://` URL with a host (a string, or a `url` param so
    /// `--param` can set it).
    pub(crate) fn proxy_option(&mut self, h: &mut HttpOptions, v: &ast::Expr) -> bool {
        let mut cx = Ctx::new(0, Mode::Const);
        let typed = self.expr(&mut cx, v);
        if typed.ty.is_error() {
            return false;
        }
        let want = if typed.ty == Type::Url {
            Type::Url
        } else {
            Type::Str
        };
        let text = match self.const_of(0, v, &want, "`proxy`", PROXY_HELP) {
            Some(Const::Str(s) | Const::Url(s)) => s,
            _ => return false,
        };
        let with_scheme = if text.contains("://") {
            text.clone()
        } else {
            format!("http://{text}")
        };
        let why = match url::Url::parse(&with_scheme) {
            Err(e) => Some(format!("not a URL ({e})")),
            Ok(u) if u.scheme() != "http" => Some(format!(
                "`{}://` proxies are not supported: Volley speaks to its proxy in plain HTTP \
                 (HTTPS requests go through it in a CONNECT tunnel)",
                u.scheme()
            )),
            Ok(u) if u.host_str().is_none_or(str::is_empty) => Some("it has no host".into()),
            Ok(u) if u.path() != "/" || u.query().is_some() => {
                Some("a proxy URL has no path or query".into())
            }
            Ok(_) => None,
        };
        if let Some(why) = why {
            self.emit(0, codes::bad_proxy(v.span, &shown(&text), &why, PROXY_HELP));
            return false;
        }
        h.proxy = Some(text);
        true
    }

    /// `no_proxy`: a list of constant host patterns.
    pub(crate) fn no_proxy_option(&mut self, h: &mut HttpOptions, v: &ast::Expr) -> bool {
        let want = Type::List(Box::new(Type::Str));
        let Some(Const::List(items)) = self.const_of(0, v, &want, "`no_proxy`", NO_PROXY_HELP)
        else {
            return false;
        };
        let spans: Vec<ast::Span> = match &v.kind {
            A::List(es) => es.iter().map(|e| e.span).collect(),
            _ => Vec::new(),
        };
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let Const::Str(entry) = item else { continue };
            let span = spans.get(i).copied().unwrap_or(v.span);
            if let Some(why) = bad_entry(entry) {
                self.emit(0, codes::bad_proxy(span, entry, &why, NO_PROXY_HELP));
                ok = false;
            } else {
                h.no_proxy.push(entry.trim().to_owned());
            }
        }
        ok
    }
}

/// A proxy URL as it may be shown: without its password.
fn shown(text: &str) -> String {
    match (text.find("://"), text.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &text[..s], &text[at + 1..]),
        (None, Some(at)) => format!("…@{}", &text[at + 1..]),
        _ => text.to_owned(),
    }
}

/// Why a `no_proxy` entry cannot match anything, if it cannot.
fn bad_entry(entry: &str) -> Option<String> {
    let e = entry.trim();
    if e.is_empty() {
        return Some("an empty entry".into());
    }
    if e.contains("://")
        || e.contains('/')
            && e.split_once('/').is_some_and(|(ip, bits)| {
                ip.parse::<std::net::IpAddr>().is_err() || bits.parse::<u8>().is_err()
            })
    {
        return Some(
            "an entry is a host, an IP, a CIDR such as 10.0.0.0/8 or `*`, not a URL".into(),
        );
    }
    if e.contains(char::is_whitespace) || e.contains(',') {
        return Some("one host per entry".into());
    }
    None
}
