//! WebSocket in the language: `ws.connect(TARGET, PATH, headers:, subprotocols:,
//! timeout:, name:)` opens a session (`WsSession`) to a declared `ws://` or `wss://`
//! target (an `http(s)://` one is E0801, as is an HTTP request to a `ws(s)://` target),
//! and the session's methods send, receive, wait for a matching message, ping and close:
//!
//! | method | gives |
//! |---|---|
//! | `send(text)`, `send_binary(text)` | nothing |
//! | `receive(timeout: 5s)`, `wait_for(pattern, timeout: 5s)` | `{data, binary, timed_out, closed}` |
//! | `ping(timeout: 5s)` | the round trip, a duration |
//! | `close(code = 1000)` | nothing |
//!
//! The path is a URL sink for secrets (E0503), as a request's; subprotocols are tokens
//! (E0802); a constant close code must be one a client may send (E0803); `wait_for`'s
//! constant pattern must compile (E0315's regex check, `bad_regex`). Everything lowers to
//! the `Ws*` intrinsics the engine runs (`engine/src/ws.rs`). `ws` is a name only when
//! nothing in scope is called `ws`.

use super::{Checker, Ctx, Resolved};
use crate::codes::{self, Sink};
use crate::ir::{Const, Expr, ExprKind, Intrinsic, Origin};
use crate::types::Type;
use volley_syntax::ast::{self, ExprKind as A, Span};

/// What `ws.` offers, for help texts.
const WS_MEMBERS: &[&str] = &["connect(target, path, headers:, subprotocols:, timeout:, name:)"];

/// A session's methods, for help texts.
const SESSION_METHODS: &[&str] = &[
    "send(text)",
    "send_binary(text)",
    "receive(timeout:)",
    "wait_for(pattern, timeout:)",
    "ping(timeout:)",
    "close(code)",
    "events(duration:, every:) (in a `for`)",
];

/// The parameters of `ws.connect`, in positional order.
const CONNECT_PARAMS: &[&str] = &[
    "target",
    "path",
    "headers",
    "subprotocols",
    "timeout",
    "name",
];

/// The default timeout of connecting, receiving and pinging, in ms.
const DEFAULT_TIMEOUT_MS: f64 = 5000.0;

/// The type of a `for e in s.events(..)` variable: a message, or an interval's tick.
pub(crate) fn event_type() -> Type {
    Type::Record(vec![
        ("data".into(), Type::Str),
        ("binary".into(), Type::Bool),
        ("tick".into(), Type::Bool),
    ])
}

/// The type of what `receive` and `wait_for` give.
pub(crate) fn message_type() -> Type {
    Type::Record(vec![
        ("data".into(), Type::Str),
        ("binary".into(), Type::Bool),
        ("timed_out".into(), Type::Bool),
        ("closed".into(), Type::Bool),
    ])
}

/// Whether a subprotocol is an HTTP token (RFC 6455 4.1).
fn valid_subprotocol(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether a client may send `code` in a close frame (RFC 6455 7.4.1 and the IANA
/// registry: 1004-1006 and 1015 are reserved, 1016-2999 unassigned).
pub(crate) fn sendable_close_code(code: i64) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Whether a target URL is a WebSocket one.
pub(crate) fn is_ws_url(url: &str) -> bool {
    url.starts_with("ws://") || url.starts_with("wss://")
}

impl<'a> Checker<'a> {
    /// Whether `base` is the `ws` namespace: the name `ws` with nothing of that name in
    /// scope.
    pub(crate) fn is_ws_namespace(&self, cx: &Ctx, base: &ast::Expr) -> bool {
        matches!(&base.kind, A::Name(n) if n.name == "ws")
            && matches!(self.resolve(cx, "ws"), Resolved::Unknown)
    }

    /// `ws.connect(..)`.
    pub(crate) fn ws_call(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        field: &ast::Ident,
        args: &[ast::Arg],
    ) -> Expr {
        let loc = cx.loc(e.span);
        if field.name != "connect" {
            let s = crate::suggest::did_you_mean(&field.name, ["connect"]);
            let d = codes::unknown_member(field.span, "ws", &field.name, &s, WS_MEMBERS);
            return self.fail(cx, d, field.span);
        }
        let required = [true, true, false, false, false, false];
        let (bound, mut ok) =
            self.bind_args(cx, "ws.connect", CONNECT_PARAMS, &required, args, e.span);
        if !ok {
            for a in args {
                self.expr(cx, &a.value);
            }
            return self.error_expr(loc);
        }
        let arg = |i: usize| bound[i].map(|ai| &args[ai]);
        let (Some(target), Some(path)) = (arg(0), arg(1)) else {
            return self.error_expr(loc);
        };
        let t = self.ws_target(cx, target);
        ok &= t.is_some();
        let p = self.expr(cx, &path.value);
        let mut template = String::new();
        if p.ty.is_error()
            || !self.expect(
                cx,
                &p,
                &Type::Str,
                "the path is a string such as \"/ws/echo\"",
            )
        {
            ok = false;
        } else {
            ok &= !self.sink(cx, &p, Sink::Url);
            template = self.path_template(cx, &path.value, &p);
        }
        let headers = match arg(2) {
            Some(a) => self.ws_headers(cx, a),
            None => Some(self.const_expr(Const::Null, Type::Json, vec![Origin::Literal], loc)),
        };
        let subprotocols = match arg(3) {
            Some(a) => self.ws_subprotocols(cx, a),
            None => Some(self.const_expr(
                Const::List(Vec::new()),
                Type::list(Type::Str),
                vec![Origin::Literal],
                loc,
            )),
        };
        let timeout = self.ws_timeout(cx, arg(4), e.span, &mut ok);
        let name = match arg(5) {
            Some(a) => self.ws_name(cx, a),
            None => Some(template),
        };
        let (Some(headers), Some(subprotocols), Some(name), true) =
            (headers, subprotocols, name, ok)
        else {
            return self.error_expr(loc);
        };
        let t = self.const_expr(
            Const::Int(i64::from(t.unwrap_or(u32::MAX))),
            Type::Int,
            vec![Origin::Literal],
            cx.loc(target.value.span),
        );
        let name = self.const_expr(Const::Str(name), Type::Str, vec![Origin::Literal], loc);
        Expr {
            kind: ExprKind::Intrinsic(
                Intrinsic::WsConnect,
                vec![t, p, headers, subprotocols, timeout, name],
            ),
            ty: Type::WsSession,
            konst: None,
            comptime: false,
            origins: vec![Origin::Response],
            loc,
        }
    }

    /// The target of `ws.connect`: a declared `ws(s)://` target, else E0801.
    fn ws_target(&mut self, cx: &mut Ctx, a: &ast::Arg) -> Option<u32> {
        let t = self.target_arg(cx, &a.value)?;
        let Some(target) = self.prog.targets.get(t as usize) else {
            // A flow's target parameter: checked at each call's instance.
            return Some(t);
        };
        if is_ws_url(&target.url) {
            return Some(t);
        }
        let shown = self.source_text(cx.module, a.value.span);
        let d = codes::ws_target_scheme(a.value.span, &shown, &target.url, true);
        self.emit(cx.module, d);
        None
    }

    /// An HTTP request to a `ws(s)://` target: E0801, reported; whether it was.
    pub(crate) fn http_to_ws_target(
        &mut self,
        cx: &Ctx,
        a: &ast::Expr,
        target: Option<u32>,
    ) -> bool {
        let Some(url) = target
            .and_then(|t| self.prog.targets.get(t as usize))
            .map(|t| t.url.clone())
            .filter(|u| is_ws_url(u))
        else {
            return false;
        };
        let shown = self.source_text(cx.module, a.span);
        self.emit(
            cx.module,
            codes::ws_target_scheme(a.span, &shown, &url, false),
        );
        true
    }

    /// `headers: {..}`: a record of text.
    fn ws_headers(&mut self, cx: &mut Ctx, a: &ast::Arg) -> Option<Expr> {
        let x = self.expr(cx, &a.value);
        if x.ty.is_error() {
            return None;
        }
        self.string_record(x, "headers")
    }

    /// `name: ".."`: a constant string, the sessions' `name` tag.
    fn ws_name(&mut self, cx: &mut Ctx, a: &ast::Arg) -> Option<String> {
        let x = self.expr(cx, &a.value);
        if x.ty.is_error()
            || !self.expect(cx, &x, &Type::Str, "`name:` is a string such as \"chat\"")
        {
            return None;
        }
        match &x.konst {
            Some(Const::Str(s)) => Some(s.clone()),
            _ => {
                self.require_const(
                    cx,
                    &x,
                    "a session's `name:`",
                    "write the name, e.g. name: \"chat\"",
                );
                None
            }
        }
    }

    /// `subprotocols: [..]`: a list of strings; constant ones must be tokens.
    fn ws_subprotocols(&mut self, cx: &mut Ctx, a: &ast::Arg) -> Option<Expr> {
        let x = self.expr(cx, &a.value);
        if x.ty.is_error()
            || !self.expect(
                cx,
                &x,
                &Type::list(Type::Str),
                "`subprotocols:` is a list of names, e.g. [\"chat\"]",
            )
        {
            return None;
        }
        let mut ok = true;
        if let ExprKind::List(items) = &x.kind {
            for item in items {
                if let Some(Const::Str(s)) = &item.konst {
                    if !valid_subprotocol(s) {
                        self.emit(cx.module, codes::ws_bad_subprotocol(item.loc.span, s));
                        ok = false;
                    }
                }
            }
        } else if let Some(Const::List(items)) = &x.konst {
            for item in items {
                if let Const::Str(s) = item {
                    if !valid_subprotocol(s) {
                        self.emit(cx.module, codes::ws_bad_subprotocol(x.loc.span, s));
                        ok = false;
                    }
                }
            }
        }
        ok.then_some(x)
    }

    /// A `timeout:` argument (a duration), or the default.
    fn ws_timeout(
        &mut self,
        cx: &mut Ctx,
        a: Option<&ast::Arg>,
        call: Span,
        ok: &mut bool,
    ) -> Expr {
        let loc = cx.loc(a.map_or(call, |a| a.span));
        let Some(a) = a else {
            return self.const_expr(
                Const::Duration(DEFAULT_TIMEOUT_MS),
                Type::Duration,
                vec![Origin::Literal],
                loc,
            );
        };
        let x = self.expr(cx, &a.value);
        if x.ty.is_error()
            || !self.expect(cx, &x, &Type::Duration, "`timeout:` is a duration, e.g. 2s")
        {
            *ok = false;
        }
        x
    }

    /// A method of a session: `s.send(..)`, `s.receive(..)`, ...
    pub(crate) fn ws_method(
        &mut self,
        cx: &mut Ctx,
        e: &ast::Expr,
        session: Expr,
        field: &ast::Ident,
        args: &[ast::Arg],
    ) -> Expr {
        let loc = cx.loc(e.span);
        let (intrinsic, params, required, ret): (Intrinsic, &[&str], &[bool], Type) =
            match field.name.as_str() {
                "send" => (Intrinsic::WsSend, &["data"], &[true], Type::Unit),
                "send_binary" => (Intrinsic::WsSendBinary, &["data"], &[true], Type::Unit),
                "receive" => (Intrinsic::WsReceive, &["timeout"], &[false], message_type()),
                "wait_for" => (
                    Intrinsic::WsWaitFor,
                    &["pattern", "timeout"],
                    &[true, false],
                    message_type(),
                ),
                "ping" => (Intrinsic::WsPing, &["timeout"], &[false], Type::Duration),
                "close" => (Intrinsic::WsClose, &["code"], &[false], Type::Unit),
                "events" => {
                    let d = codes::ws_events_outside_for(e.span);
                    return self.fail(cx, d, e.span);
                }
                other => {
                    let names = [
                        "send",
                        "send_binary",
                        "receive",
                        "wait_for",
                        "ping",
                        "close",
                        "events",
                    ];
                    let s = crate::suggest::did_you_mean(other, names);
                    let d = codes::unknown_member(
                        field.span,
                        "a WebSocket session",
                        other,
                        &s,
                        SESSION_METHODS,
                    );
                    return self.fail(cx, d, field.span);
                }
            };
        let callee = field.name.clone();
        let (bound, mut ok) = self.bind_args(cx, &callee, params, required, args, e.span);
        if !ok {
            for a in args {
                self.expr(cx, &a.value);
            }
            return self.error_expr(loc);
        }
        let arg = |i: usize| bound[i].map(|ai| &args[ai]);
        let mut xs = vec![session];
        for (i, p) in params.iter().enumerate() {
            let x = match *p {
                "timeout" => self.ws_timeout(cx, arg(i), e.span, &mut ok),
                "code" => self.ws_close_code(cx, arg(i), e.span, &mut ok),
                _ => match arg(i) {
                    Some(a) => self.ws_text_arg(cx, a, p, &mut ok),
                    None => return self.error_expr(loc),
                },
            };
            xs.push(x);
        }
        if !ok {
            return self.error_expr(loc);
        }
        let origins = match ret {
            Type::Unit => Vec::new(),
            _ => vec![Origin::Response],
        };
        Expr {
            kind: ExprKind::Intrinsic(intrinsic, xs),
            ty: ret,
            konst: None,
            comptime: false,
            origins,
            loc,
        }
    }

    /// `for e in s.events(duration: D, every: I)`: the session's messages and a tick every
    /// `I`, until `D` has passed (the session is then closed) or the server closes it.
    /// `None` when `over` is not a call of `events` on a session in a local name, which the
    /// caller then checks as any expression.
    pub(crate) fn ws_events_in_for(&mut self, cx: &mut Ctx, over: &ast::Expr) -> Option<Expr> {
        let A::Call { callee, args } = &over.kind else {
            return None;
        };
        let A::Field { base, field } = &callee.kind else {
            return None;
        };
        let A::Name(n) = &base.kind else {
            return None;
        };
        let is_session = field.name == "events"
            && match self.resolve(cx, &n.name) {
                Resolved::Binding(super::Binding::Local { ty, .. }) => ty == Type::WsSession,
                Resolved::Binding(super::Binding::Value(x)) => x.ty == Type::WsSession,
                _ => false,
            };
        if !is_session {
            return None;
        }
        let loc = cx.loc(over.span);
        let session = self.expr(cx, base);
        let params: &[&str] = &["duration", "every"];
        let (bound, mut ok) =
            self.bind_args(cx, "events", params, &[false, false], args, over.span);
        if !ok {
            for a in args {
                self.expr(cx, &a.value);
            }
            return Some(self.error_expr(loc));
        }
        let mut xs = vec![session];
        for b in &bound {
            let x = match b {
                Some(ai) => {
                    let a = &args[*ai];
                    let x = self.expr(cx, &a.value);
                    if x.ty.is_error()
                        || !self.expect(cx, &x, &Type::Duration, "a duration, e.g. 10s")
                    {
                        ok = false;
                    }
                    x
                }
                None => self.const_expr(Const::Null, Type::Json, vec![Origin::Literal], loc),
            };
            xs.push(x);
        }
        if !ok {
            return Some(self.error_expr(loc));
        }
        Some(Expr {
            kind: ExprKind::Intrinsic(Intrinsic::WsEvents, xs),
            ty: Type::list(event_type()),
            konst: None,
            comptime: false,
            origins: vec![Origin::Response],
            loc,
        })
    }

    /// A text argument of a session's method: a message, or `wait_for`'s pattern (a
    /// constant one must compile).
    fn ws_text_arg(&mut self, cx: &mut Ctx, a: &ast::Arg, param: &str, ok: &mut bool) -> Expr {
        let x = self.expr(cx, &a.value);
        let help = match param {
            "pattern" => "a pattern is a regular expression, e.g. \"price\"",
            _ => "a message is text (binary messages send the text's bytes)",
        };
        if x.ty.is_error() || !self.expect(cx, &x, &Type::Str, help) {
            *ok = false;
        } else if param == "pattern" {
            if let Some(Const::Str(pat)) = &x.konst {
                if let Err(why) = super::methods::regex_groups(pat) {
                    self.emit(cx.module, codes::bad_regex(a.value.span, &why));
                    *ok = false;
                }
            }
        }
        x
    }

    /// `close(code)`: an int, 1000 when left out; a constant must be sendable (E0803).
    fn ws_close_code(
        &mut self,
        cx: &mut Ctx,
        a: Option<&ast::Arg>,
        call: Span,
        ok: &mut bool,
    ) -> Expr {
        let Some(a) = a else {
            let loc = cx.loc(call);
            return self.const_expr(Const::Int(1000), Type::Int, vec![Origin::Literal], loc);
        };
        let x = self.expr(cx, &a.value);
        if x.ty.is_error()
            || !self.expect(cx, &x, &Type::Int, "a close code is an int such as 1000")
        {
            *ok = false;
        } else if let Some(Const::Int(code)) = x.konst {
            if !sendable_close_code(code) {
                self.emit(cx.module, codes::ws_bad_close_code(a.value.span, code));
                *ok = false;
            }
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_a_client_may_send() {
        for ok in [1000, 1001, 1003, 1007, 1014, 3000, 4999] {
            assert!(sendable_close_code(ok), "{ok}");
        }
        for bad in [0, 999, 1004, 1005, 1006, 1015, 2000, 2999, 5000] {
            assert!(!sendable_close_code(bad), "{bad}");
        }
    }

    #[test]
    fn subprotocols_are_tokens() {
        assert!(valid_subprotocol("chat"));
        assert!(valid_subprotocol("v2.json"));
        assert!(!valid_subprotocol(""));
        assert!(!valid_subprotocol("chat v2"));
        assert!(!valid_subprotocol("a,b"));
    }
}
