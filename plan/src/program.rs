//! The compact instruction form of flows, setup, teardown and scenario code: a small
//! tree of statements and expressions over numbered local slots, with every name already
//! resolved (targets, flows, data sources, secrets and setup values by index). The
//! engine interprets it directly; nothing here refers to source text.

use crate::value::Value;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A flow (or setup/teardown body): parameters occupy slots `0..params`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Function {
    pub name: String,
    pub params: u32,
    pub frame_size: u32,
    pub body: Vec<Stmt>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stmt {
    Let {
        slot: u32,
        value: Expr,
    },
    Expr(Expr),
    /// Records a `checks` sample tagged `check: name`; never ends the iteration.
    Check {
        name: String,
        cond: Expr,
    },
    /// Like `Check`, and a false condition ends the iteration (counted as failed).
    Require {
        name: String,
        cond: Expr,
    },
    /// Pause for a duration in ms.
    Sleep(Expr),
    /// Uniform random pause between two durations (ms).
    ThinkUniform {
        low: Expr,
        high: Expr,
    },
    /// Exponentially distributed pause with the given mean (ms).
    ThinkExponential {
        mean: Expr,
    },
    Group {
        name: String,
        body: Vec<Stmt>,
    },
    If {
        cond: Expr,
        then: Vec<Stmt>,
        otherwise: Vec<Stmt>,
    },
    Repeat {
        count: Expr,
        body: Vec<Stmt>,
    },
    Return(Option<Expr>),
    /// `metric.add(v)`: by index into `Plan::metrics`.
    MetricAdd {
        metric: u32,
        value: Expr,
    },
    /// `log(..)`: rate-limited, secrets redacted by the engine.
    Log(Expr),
    /// Stores a new value in a `var`'s slot (its declaration is a `Let`).
    Assign {
        slot: u32,
        value: Expr,
    },
    /// `for` over ints from `low` up to `high` (excluded).
    ForRange {
        slot: u32,
        low: Expr,
        high: Expr,
        body: Vec<Stmt>,
    },
    /// `for` over a list's items or a JSON array's elements.
    ForEach {
        slot: u32,
        items: Expr,
        body: Vec<Stmt>,
    },
    /// Runs `body` while `cond` holds; the engine ends it with the iteration (its end,
    /// `graceful_stop`), never letting it spin past a stop.
    While {
        cond: Expr,
        body: Vec<Stmt>,
    },
    /// Leaves the innermost loop (`for`, `while`, `repeat`).
    Break,
    /// Starts the innermost loop's next round.
    Continue,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Builtin {
    /// Unique across the fleet, 1-based.
    VuId,
    /// Restarts at 1 on every runner.
    VuLocalId,
    /// This VU's iteration count in the scenario, 0-based.
    VuIteration,
    /// Unique across the fleet within a scenario, 0-based.
    TestIteration,
    RunnerIndex,
    RunnerCount,
    ScenarioName,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnOp {
    Not,
    Neg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// Operations the engine implements natively (response helpers, conversions, std/data).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intrinsic {
    /// `res.header(name)` → string ("" when absent).
    Header,
    /// `res.json(path)` → json value (missing → json null; conversions then fail).
    Json,
    /// `.string() .int() .float() .bool()` on a json value: fail the iteration when
    /// the value is missing or of another type.
    AsString,
    AsInt,
    AsFloat,
    AsBool,
    /// Any value to its string form (interpolation).
    ToStr,
    /// Length of a string or list.
    Len,
    /// `text.contains(part)` → bool (substring test).
    Contains,
    /// `std/data` (`RandomInt(low, high)` includes both ends; `RandomString(n)` gives n
    /// letters and digits; `RandomPick(list)` one element).
    Uuid,
    RandomInt,
    RandomEmail,
    RandomString,
    RandomPick,
    /// `res.cookie(name)` → the value a response's `Set-Cookie` gave `name` ("" if none).
    Cookie,
    /// `vu.cookies.set(TARGET, name, value)`: (target index, name, value) into the jar.
    CookieSet,
    /// `vu.cookies.clear()`: empty the VU's jar.
    CookieClear,
    /// String methods. `Find(text, pattern)` → the first match of the regex (or of its
    /// group `Find(text, pattern, group)`), "" when none; `Matches(text, pattern)` →
    /// bool; `Captures(text, pattern)` → list of the first match's groups (group 0 the
    /// whole match; an unmatched group ""), empty when none; `Replace(text, pattern,
    /// with)` replaces every match (`$1`, `${name}` expand groups). `Split(text, sep)`
    /// → list of strings (literal separator); `Trim`, `Upper`, `Lower` → string. A
    /// secret in gives a secret out.
    Find,
    Matches,
    Captures,
    Replace,
    Split,
    Trim,
    Upper,
    Lower,
    /// `std/encoding`: base64 (standard alphabet, padded), lower-case hex, and URL
    /// component encoding (every byte but `A-Z a-z 0-9 - _ . ~` as `%XX`). The decoders
    /// fail the iteration on malformed input or bytes that are not UTF-8.
    Base64Encode,
    Base64Decode,
    HexEncode,
    HexDecode,
    UrlEncode,
    UrlDecode,
    /// `std/crypto`: `Sha256(text)` and `HmacSha256(key, message)` → lower-case hex.
    Sha256,
    HmacSha256,
    /// `std/time`: `UnixMs()` → milliseconds since the Unix epoch (the wall clock);
    /// `FormatTime(unix_ms, pattern)` → the instant in UTC by a strftime pattern.
    UnixMs,
    FormatTime,
    /// `base[i]`: an element of a list (out of range fails the iteration), of a JSON
    /// array (int) or a member of a JSON object (string); missing in JSON → json null.
    Index,
    /// `.exists()` on a json value: present and not null.
    Exists,
    /// `.pick()`: a random element of a list or JSON array (a JSON element stays json).
    Pick,
    /// `res.html()`: the response body as an HTML document.
    Html,
    /// `html.find(selector)`: the elements matching a CSS selector, in document order.
    HtmlFind,
    /// `html.first()`: the first element (none when there is none).
    HtmlFirst,
    /// `html.attr(name)`: the attribute of the first element ("" when absent).
    HtmlAttr,
    /// `html.text()`: the text of every element, joined.
    HtmlText,
    /// `env("NAME", "default")`: the variable of the process running the code, else the
    /// default.
    Env,
    /// WebSocket (`ws.connect(..)` and a session's methods, run by `engine/src/ws.rs`).
    /// They wait on the network, so the engine evaluates them asynchronously (see
    /// [`Intrinsic::waits`]). `WsConnect(target index, path, headers record or null,
    /// subprotocols list, timeout ms, name)` → a session; `WsSend(session, text)` and
    /// `WsSendBinary(session, text)` send a text or binary message; `WsReceive(session,
    /// timeout ms)` and `WsWaitFor(session, pattern, timeout ms)` → a message record
    /// `{data, binary, timed_out, closed}`; `WsPing(session, timeout ms)` → the round trip
    /// (a duration); `WsClose(session, code)`. `WsEvents(session, duration ms or null,
    /// every ms or null)` is only the items of a `ForEach`: the engine walks the session's
    /// messages and interval ticks as they come, and closes it after the duration.
    WsConnect,
    WsSend,
    WsSendBinary,
    WsReceive,
    WsWaitFor,
    WsPing,
    WsClose,
    WsEvents,
}

impl Intrinsic {
    /// Whether the intrinsic waits on the network (the WebSocket ones): the engine then
    /// evaluates the call asynchronously, as a request.
    pub fn waits(self) -> bool {
        matches!(
            self,
            Intrinsic::WsConnect
                | Intrinsic::WsSend
                | Intrinsic::WsSendBinary
                | Intrinsic::WsReceive
                | Intrinsic::WsWaitFor
                | Intrinsic::WsPing
                | Intrinsic::WsClose
                | Intrinsic::WsEvents
        )
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expr {
    Const(Value),
    Local(u32),
    /// `setup.NAME` by index into `Plan::setup_values`.
    Setup(u32),
    /// A secret by index into `Plan::secrets` (its value is tainted at run time too).
    Secret(u32),
    Builtin(Builtin),
    /// Record field or response property (`status`, `duration`, `body`, `size`).
    Field(Box<Expr>, String),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// String interpolation: each part turned into a string and joined.
    Concat(Vec<Expr>),
    List(Vec<Expr>),
    Record(Vec<(String, Expr)>),
    Request(Box<Request>),
    /// A unary gRPC call (`grpc.invoke(..)`).
    Grpc(Box<crate::grpc::GrpcCall>),
    CallFlow {
        flow: u32,
        args: Vec<Expr>,
    },
    Call {
        intrinsic: Intrinsic,
        args: Vec<Expr>,
    },
    /// `data.next()` by index into `Plan::data`: the row the pick strategy gives.
    DataNext(u32),
    /// `check("name": cond)` as a boolean expression.
    Check {
        name: String,
        cond: Box<Expr>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Index into `Plan::targets`.
    pub target: u32,
    /// The path (and optional query string) after the target's base URL: a string expr.
    pub path: Expr,
    /// Extra query parameters (a record), appended URL-encoded.
    pub query: Option<Expr>,
    /// Headers (a record of strings).
    pub headers: Option<Expr>,
    pub body: Body,
    /// The `name` tag: the path template (`/api/users/{id}`) unless given.
    pub name: String,
    pub timeout_ms: Option<u64>,
    /// `redirects: N`: the most redirects this request follows (an int expr, 0..=1000),
    /// in place of the scenario's `http.max_redirects`; absent, the scenario's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirects: Option<Expr>,
    /// Statuses counted as expected (`expected_response`), inclusive; default 200..=399.
    pub expect: (u16, u16),
    /// This request's own cookies (a record of strings), over the jar's of the same name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookies: Option<Expr>,
    /// Compress the body with this coding (`"gzip"`) and say so in `Content-Encoding`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compress: Option<String>,
    /// The request's own tags (`tags: {..}`) whose values are constants, folded when the
    /// test compiles: on every `http_*` sample of the request, over the scenario's tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The request's tags whose values are known only at run time: (key, string expr),
    /// evaluated before each send. The engine bounds the distinct value sets per request
    /// (`DYNAMIC_TAG_SERIES_CAP`); later ones are recorded as `OVERFLOW_TAG_VALUE`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dynamic_tags: Vec<(String, Expr)>,
}

/// The most distinct value sets of one request's dynamic tags a runner records as their
/// own series; past it, every dynamic tag of that request takes [`OVERFLOW_TAG_VALUE`].
pub const DYNAMIC_TAG_SERIES_CAP: usize = 1000;

/// The value of every dynamic tag of a request past [`DYNAMIC_TAG_SERIES_CAP`].
pub const OVERFLOW_TAG_VALUE: &str = "__overflow__";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    None,
    Json(Expr),
    Form(Expr),
    Raw(Expr),
    /// `multipart: {..}`: a `multipart/form-data` body, its parts in source order.
    Multipart(Vec<Part>),
}

/// One part of a `multipart/form-data` body: the form field's name and its value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Part {
    pub name: String,
    pub value: PartValue,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartValue {
    /// A text field: a string expression, sent without a `Content-Type`.
    Text(Expr),
    /// A file of the test's folder: index into `Plan::files`, with the `filename` and
    /// `Content-Type` its part header carries.
    File {
        file: u32,
        filename: String,
        content_type: String,
    },
}

/// Calls `f` on every expression of `body`, outermost first, descending into nested
/// blocks and sub-expressions (not into called flows: walk `Plan::flows` for those).
pub fn walk_exprs(body: &[Stmt], f: &mut dyn FnMut(&Expr)) {
    for s in body {
        match s {
            Stmt::Let { value: e, .. }
            | Stmt::Expr(e)
            | Stmt::Check { cond: e, .. }
            | Stmt::Require { cond: e, .. }
            | Stmt::Sleep(e)
            | Stmt::ThinkExponential { mean: e }
            | Stmt::MetricAdd { value: e, .. }
            | Stmt::Log(e)
            | Stmt::Assign { value: e, .. }
            | Stmt::Return(Some(e)) => walk_expr(e, f),
            Stmt::ForRange {
                low, high, body, ..
            } => {
                walk_expr(low, f);
                walk_expr(high, f);
                walk_exprs(body, f);
            }
            Stmt::ForEach {
                items: cond, body, ..
            }
            | Stmt::While { cond, body } => {
                walk_expr(cond, f);
                walk_exprs(body, f);
            }
            Stmt::Break | Stmt::Continue => {}
            Stmt::ThinkUniform { low, high } => {
                walk_expr(low, f);
                walk_expr(high, f);
            }
            Stmt::Group { body, .. } => walk_exprs(body, f),
            Stmt::If {
                cond,
                then,
                otherwise,
            } => {
                walk_expr(cond, f);
                walk_exprs(then, f);
                walk_exprs(otherwise, f);
            }
            Stmt::Repeat { count, body } => {
                walk_expr(count, f);
                walk_exprs(body, f);
            }
            Stmt::Return(None) => {}
        }
    }
}

/// Calls `f` on `e` and every sub-expression of it.
pub fn walk_expr(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    match e {
        Expr::Field(x, _) | Expr::Unary(_, x) => walk_expr(x, f),
        Expr::Check { cond, .. } => walk_expr(cond, f),
        Expr::Binary(_, a, b) => {
            walk_expr(a, f);
            walk_expr(b, f);
        }
        Expr::Concat(xs) | Expr::List(xs) => xs.iter().for_each(|x| walk_expr(x, f)),
        Expr::Call { args, .. } | Expr::CallFlow { args, .. } => {
            args.iter().for_each(|x| walk_expr(x, f))
        }
        Expr::Record(fields) => fields.iter().for_each(|(_, x)| walk_expr(x, f)),
        Expr::Grpc(g) => {
            walk_expr(&g.message, f);
            if let Some(m) = &g.metadata {
                walk_expr(m, f);
            }
        }
        Expr::Request(r) => {
            walk_expr(&r.path, f);
            for x in [&r.query, &r.headers, &r.cookies, &r.redirects]
                .into_iter()
                .flatten()
            {
                walk_expr(x, f);
            }
            for (_, x) in &r.dynamic_tags {
                walk_expr(x, f);
            }
            match &r.body {
                Body::None => {}
                Body::Json(x) | Body::Form(x) | Body::Raw(x) => walk_expr(x, f),
                Body::Multipart(parts) => {
                    for p in parts {
                        if let PartValue::Text(x) = &p.value {
                            walk_expr(x, f);
                        }
                    }
                }
            }
        }
        Expr::Const(_)
        | Expr::Local(_)
        | Expr::Setup(_)
        | Expr::Secret(_)
        | Expr::Builtin(_)
        | Expr::DataNext(_) => {}
    }
}
