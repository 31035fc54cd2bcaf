//! k6's cookie jar. `http.cookieJar()` is the VU's jar, `vu.cookies` here:
//! `jar.set(url, name, value)` is `vu.cookies.set(TARGET, name, value)` (the URL's target as
//! a request's; what Volley's jar cannot express, options and a path below `/`, is dropped
//! and noted), `jar.clear(url)` is `vu.cookies.clear()` (which empties the whole jar,
//! noted). `jar.delete`, `jar.cookiesForURL` and a jar of its own (`new http.CookieJar()`)
//! have no equivalent: left, with the reason. A request's `jar:` param naming the VU's jar
//! is what every request does; a jar of its own there is approximated by the VU's jar.
//! `options.noCookiesReset: true` is each scenario's `http = {cookies: per_vu}`.

use super::body::{key_name, text_value, unparen, Cx};
use super::{Bind, Module, K6};
use crate::Report;
use oxc_ast::ast::*;
use oxc_span::GetSpan;
use serde_json::{Map, Value};

/// A JavaScript value that is a cookie jar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Jar {
    /// `http.cookieJar()`: the VU's jar, `vu.cookies`.
    Vu,
    /// `new http.CookieJar()`: a jar of its own.
    Own,
}

/// Why a jar of its own is not converted.
pub(crate) const OWN_JAR: &str =
    "a cookie jar of its own (`new http.CookieJar()`): Volley has one jar per VU, `vu.cookies`";

/// Why `http.cookieJar()` at the top of the script is not converted.
pub(crate) const INIT_JAR: &str = "http.cookieJar() in the init context, which k6 refuses \
     (\"Making cookie jars in the init context is not supported\"): call it in the function";

const DELETE: &str = "jar.delete(url, name): Volley's jar has no delete of one cookie \
     (`vu.cookies.clear()` empties the whole jar; a request's `cookies: {name: ..}` \
     replaces the jar's cookie of that name for that request)";

const READ: &str = "jar.cookiesForURL(url): Volley's jar cannot be read \
     (`res.cookies` and `res.cookie(\"name\")` read the cookies a response set)";

const CLEAR: &str = "Volley's vu.cookies.clear() empties the whole jar; k6's jar.clear(url) \
     removes only the cookies stored for that URL's host and path (a parent domain's \
     cookies and other paths' stay)";

/// A cookie name: an HTTP token (as the compiler checks a constant one, E0311).
fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A cookie value: visible ASCII but `"`, `,`, `;` and `\`.
fn valid_value(s: &str) -> bool {
    s.len() <= 4096
        && s.bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && !b"\",;\\".contains(&b))
}

/// The path Go's cookie jar (k6's) gives a cookie set for a URL path without a `path`
/// option: the path up to its last `/` (`/api/x` → `/api`), `/` at the top.
fn default_path(path: &str) -> &str {
    let path = path.split(['?', '#']).next().unwrap_or("");
    if !path.starts_with('/') {
        return "/";
    }
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The text of a converted URL path (`"/api/x"`), when it is a constant with no escape.
fn constant_path(quoted: &str) -> Option<&str> {
    let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains(['{', '\\'])).then_some(inner)
}

impl<'a> K6<'a> {
    /// The jar `e` is: `http.cookieJar()`, `new http.CookieJar()` or a name bound to one.
    pub(crate) fn jar_of(&self, e: &Expression<'a>, cx: &Cx) -> Option<Jar> {
        match unparen(e) {
            Expression::Identifier(id) => match self.resolve(id.name.as_str(), cx)? {
                Bind::Jar(j) => Some(j),
                _ => None,
            },
            Expression::CallExpression(c) if self.is_http(&c.callee, "cookieJar", cx) => {
                Some(Jar::Vu)
            }
            Expression::NewExpression(n) if self.is_http(&n.callee, "CookieJar", cx) => {
                Some(Jar::Own)
            }
            _ => None,
        }
    }

    /// Whether `e` is `http.NAME` of the `k6/http` module.
    fn is_http(&self, e: &Expression<'a>, name: &str, cx: &Cx) -> bool {
        let Expression::StaticMemberExpression(m) = unparen(e) else {
            return false;
        };
        let Expression::Identifier(o) = &m.object else {
            return false;
        };
        m.property.name == name
            && matches!(
                self.resolve(o.name.as_str(), cx),
                Some(Bind::Module(Module::Http))
            )
    }

    /// `const jar = http.cookieJar()` (bound, nothing written) or `new http.CookieJar()`
    /// (bound, so its uses say why they are left, and left); `None` for other values.
    pub(crate) fn jar_decl(
        &mut self,
        name: &str,
        init: &Expression<'a>,
        cx: &mut Cx,
        line: usize,
    ) -> Option<Result<(), String>> {
        let jar = self.jar_of(init, cx)?;
        cx.bind(name, Bind::Jar(jar));
        Some(match jar {
            Jar::Vu => {
                self.report
                    .converted(line, "http.cookieJar(): the VU's jar, `vu.cookies`");
                Ok(())
            }
            Jar::Own => Err(OWN_JAR.into()),
        })
    }

    /// A top-level jar: `Some(reason)` it is left (`None` when `init` is no jar).
    pub(crate) fn jar_top(&mut self, name: &str, init: &Expression<'a>) -> Option<String> {
        match self.jar_of(init, &Cx::top())? {
            Jar::Own => {
                self.globals.insert(name.to_string(), Bind::Jar(Jar::Own));
                Some(OWN_JAR.into())
            }
            Jar::Vu => Some(INIT_JAR.into()),
        }
    }

    /// A call of a jar's method as a statement (`jar.set(..)`); `None` when `c` is none.
    pub(crate) fn jar_stmt(
        &mut self,
        c: &'a CallExpression<'a>,
        cx: &mut Cx,
        out: &mut Vec<String>,
    ) -> Option<Result<(), String>> {
        let Expression::StaticMemberExpression(m) = unparen(&c.callee) else {
            return None;
        };
        let jar = self.jar_of(&m.object, cx)?;
        let line = self.line_of(c.span);
        Some(match (jar, m.property.name.as_str()) {
            (Jar::Own, method) => Err(self.own_jar_use(&m.object, method)),
            (Jar::Vu, "set") => self.jar_set(c, cx, out, line),
            (Jar::Vu, "clear") => {
                out.push(format!("// k6: {CLEAR}"));
                out.push("vu.cookies.clear()".into());
                self.report.approximated(
                    line,
                    format!("jar.clear(url) as vu.cookies.clear(): {CLEAR}"),
                );
                Ok(())
            }
            (Jar::Vu, method) => Err(jar_method_left(method)),
        })
    }

    /// Why a jar's method call used as a value (or `jar` itself) is left; `None` when
    /// `c` is no call of a jar's method.
    pub(crate) fn jar_value(&self, c: &CallExpression<'a>, cx: &Cx) -> Option<String> {
        let Expression::StaticMemberExpression(m) = unparen(&c.callee) else {
            return None;
        };
        Some(
            match (self.jar_of(&m.object, cx)?, m.property.name.as_str()) {
                (Jar::Own, method) => self.own_jar_use(&m.object, method),
                (Jar::Vu, method @ ("set" | "clear")) => {
                    format!("the value of jar.{method}(..) (write the call as a statement)")
                }
                (Jar::Vu, method) => jar_method_left(method),
            },
        )
    }

    /// Why `own.method(..)` of a jar of its own is left.
    fn own_jar_use(&self, object: &Expression<'a>, method: &str) -> String {
        format!("{}.{method}(..) on {OWN_JAR}", self.snippet(object.span()))
    }

    /// A request's `jar:` param: the VU's jar is what every request uses; any other jar is
    /// approximated by it (noted, with a `// k6:` line before the request).
    pub(crate) fn jar_param(&mut self, value: &Expression<'a>, cx: &mut Cx, line: usize) {
        let why = match self.jar_of(value, cx) {
            Some(Jar::Vu) => {
                self.report
                    .converted(line, "request param `jar`: the VU's jar, as every request's");
                return;
            }
            Some(Jar::Own) => "a cookie jar of its own (`new http.CookieJar()`) has no \
                 equivalent: the request sends the VU jar's cookies and keeps the ones it gets there",
            None => "a jar the converter does not follow: the request uses the VU's jar",
        };
        cx.note(format!("// k6: request param `jar`: {why}"));
        self.report
            .approximated(line, format!("request param `jar`: {why}"));
    }

    /// `jar.set(url, name, value[, options])` as `vu.cookies.set(TARGET, name, value)`.
    fn jar_set(
        &mut self,
        c: &'a CallExpression<'a>,
        cx: &mut Cx,
        out: &mut Vec<String>,
        line: usize,
    ) -> Result<(), String> {
        let arg = |i: usize| c.arguments.get(i).and_then(|a| a.as_expression());
        let url = arg(0).ok_or("jar.set without a URL")?;
        let mut texts = Vec::new();
        for (i, what) in [(1, "name"), (2, "value")] {
            let x = self.expr(
                arg(i).ok_or(format!("jar.set without a cookie {what}"))?,
                cx,
            )?;
            let x = text_value(x).ok_or(format!("a cookie {what} that is not text"))?;
            if let Some(s) = x.constant_text() {
                let ok = if what == "name" {
                    valid_name(&s)
                } else {
                    valid_value(&s)
                };
                if !ok {
                    return Err(format!(
                        "the cookie {what} {s:?}: Volley's jar takes no spaces, quotes, commas, \
                         semicolons or backslashes in one"
                    ));
                }
            }
            texts.push(x.text);
        }
        let (target, path) = self.url(url, cx)?;
        let mut dropped = Vec::new();
        let mut path_option: Option<Option<String>> = None;
        match arg(3).map(unparen) {
            None | Some(Expression::NullLiteral(_)) => {}
            Some(Expression::Identifier(id)) if id.name == "undefined" => {}
            Some(Expression::ObjectExpression(o)) => {
                for p in &o.properties {
                    let ObjectPropertyKind::ObjectProperty(p) = p else {
                        return Err("a spread in jar.set's options".into());
                    };
                    let k = key_name(&p.key).ok_or("a computed key in jar.set's options")?;
                    // k6 reads the keys in any case and ignores the ones it does not know;
                    // `http_only` changes nothing k6 sends.
                    match k.to_ascii_lowercase().as_str() {
                        "domain" => dropped.push(
                            "option `domain` dropped: k6 sends the cookie to that domain and its \
                             subdomains, here to the target's host only"
                                .to_string(),
                        ),
                        "path" => {
                            path_option = Some(match unparen(&p.value) {
                                Expression::StringLiteral(s) => Some(s.value.to_string()),
                                _ => None,
                            })
                        }
                        "expires" | "max_age" => dropped.push(format!(
                            "option `{k}` dropped: the cookie stays until the jar is emptied \
                             (every iteration by default); k6 expires it (or, with a past \
                             date, does not keep it)"
                        )),
                        "secure" if !matches!(unparen(&p.value), Expression::BooleanLiteral(b) if !b.value) => {
                            dropped.push(
                                "option `secure` dropped: k6 sends the cookie over https:// \
                                 only, here over http:// too"
                                    .to_string(),
                            )
                        }
                        _ => {}
                    }
                }
            }
            Some(_) => dropped.push(
                "options that are not an object literal are not read (a `domain`, `path`, \
                 expiry or `secure` in them is dropped)"
                    .to_string(),
            ),
        }
        let every_path = "here it is sent on every path of the target";
        match path_option {
            Some(Some(p)) if p == "/" => {}
            Some(Some(p)) => dropped.push(format!(
                "option `path` dropped: k6 sends the cookie under `{p}` only, {every_path}"
            )),
            Some(None) => dropped.push(format!(
                "option `path` (computed) dropped: k6 sends the cookie under it only, {every_path}"
            )),
            None => match constant_path(&path).map(default_path) {
                Some("/") => {}
                Some(d) => dropped.push(format!(
                    "k6 sends the cookie under `{d}` only (the URL's path up to its last `/`), \
                     {every_path}"
                )),
                None => dropped.push(format!(
                    "k6 sends the cookie under the URL's path up to its last `/` only, {every_path}"
                )),
            },
        }
        if dropped.is_empty() {
            self.report
                .converted(line, "jar.set(..) as vu.cookies.set(..)");
        } else {
            out.push("// k6: jar.set(..) without what Volley's jar cannot express:".into());
            out.extend(dropped.iter().map(|d| format!("//   {d}")));
            let why = dropped.join("; ");
            self.report
                .approximated(line, format!("jar.set(..) as vu.cookies.set(..): {why}"));
        }
        out.push(format!(
            "vu.cookies.set({target}, {}, {})",
            texts[0], texts[1]
        ));
        Ok(())
    }
}

/// Whether `options.KEY = value` is a cookie option converted by [`no_cookies_reset`].
pub(crate) fn is_cookie_option(key: &str, value: &Value) -> bool {
    key == "noCookiesReset" && value.is_boolean()
}

/// `options.noCookiesReset: true` (k6 keeps each VU's cookies across iterations) is
/// `cookies: per_vu` in every scenario's `http`; `false` is the default, `per_iteration`.
pub(crate) fn no_cookies_reset(
    options: &Map<String, Value>,
    report: &mut Report,
    line: usize,
) -> Option<String> {
    match options.get("noCookiesReset") {
        Some(Value::Bool(true)) => {
            report.converted(
                line,
                "options.noCookiesReset: each scenario's `http = {cookies: per_vu}`",
            );
            Some("cookies: per_vu".into())
        }
        Some(Value::Bool(false)) => {
            report.converted(
                line,
                "options.noCookiesReset: false, the default (`cookies: per_iteration`)",
            );
            None
        }
        _ => None,
    }
}

/// Why a method of the VU's jar other than `set` and `clear` is left.
fn jar_method_left(method: &str) -> String {
    match method {
        "delete" => DELETE.into(),
        "cookiesForURL" => READ.into(),
        other => format!("jar.{other}: not a method of k6's cookie jar"),
    }
}

/// The path and token rules.
#[cfg(test)]
mod tests {
    use super::{constant_path, default_path, valid_name, valid_value};

    #[test]
    fn default_paths_are_gos() {
        assert_eq!(default_path("/"), "/");
        assert_eq!(default_path("/api"), "/");
        assert_eq!(default_path("/api/"), "/api");
        assert_eq!(default_path("/api/x?y=/z"), "/api");
        assert_eq!(default_path(""), "/");
        assert_eq!(constant_path("\"/a/b\""), Some("/a/b"));
        assert_eq!(constant_path("\"/a/{id}\""), None);
    }

    #[test]
    fn cookie_tokens() {
        assert!(valid_name("session_id") && !valid_name("my id") && !valid_name(""));
        assert!(valid_value("abc-1") && valid_value("") && !valid_value("a;b"));
    }
}
