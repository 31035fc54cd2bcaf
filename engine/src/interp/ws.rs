//! The VU's side of WebSocket: evaluates the `Ws*` intrinsics (`ws.connect(..)` and a
//! session's methods) with [`crate::ws`], and records k6's metrics of them, tagged with
//! the scenario, the group and the session's `name`:
//!
//! * `ws_connecting` (trend, time): from dialling to the end of the opening handshake;
//! * `ws_sessions` (counter): sessions opened;
//! * `ws_session_duration` (trend, time): from the handshake to the close (by `close`, or
//!   seen when the server closed it), once per session;
//! * `ws_msgs_sent`, `ws_msgs_received` (counters): data messages (text and binary);
//! * `ws_ping` (trend, time): a ping's round trip to its pong;
//! * `data_sent`, `data_received` (counters): the session's bytes on the wire (handshake,
//!   frames, TLS), reported after each call, as k6 counts them.
//!
//! A session that cannot open fails the iteration (a failed check
//! `ws.connect: <name> failed`, the reason in the log); so do a send on a closed session
//! and a ping without a pong. A receive that times out or finds the session closed is not
//! an error: the message says so (`timed_out`, `closed`); a connection that ended without
//! a close frame is also logged once (`ws session <name>: ...`).

use super::code::{Block, Expr};
use super::exec::{Flow, Round};
use super::{Halt, Vu, R};
use crate::metrics::ids;
use crate::value::Value;
use crate::ws::{Connect, Event, Next, Received, Session, Wire};
use std::sync::Arc;
use std::time::{Duration, Instant};
use volley_plan::Intrinsic;

impl Vu {
    /// Runs one WebSocket intrinsic on its evaluated arguments.
    pub(crate) async fn ws(&mut self, which: Intrinsic, args: &[Value]) -> R<Value> {
        let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
        if which == Intrinsic::WsConnect {
            return self.ws_connect(args).await;
        }
        let Value::Ws(s) = arg(0) else {
            return Err(Halt::error(
                "ws: not a session",
                "internal error: a WebSocket method on a value that is not a session",
            ));
        };
        match which {
            Intrinsic::WsSend | Intrinsic::WsSendBinary => {
                let data = arg(1);
                let text = data.as_text().unwrap_or("");
                let sent = s.send(text, which == Intrinsic::WsSendBinary).await;
                self.ws_bytes(&s);
                if let Err(e) = sent {
                    self.ws_end(&s);
                    return Err(ws_failed(&s, "send", &e.0));
                }
                self.ws_count(&s, ids::WS_MSGS_SENT, 1.0);
                Ok(Value::Null)
            }
            Intrinsic::WsReceive => {
                let next = s.receive(duration(&arg(1))).await;
                self.ws_bytes(&s);
                let seen = u64::from(matches!(next, Next::Message(_)));
                Ok(self.ws_message(&s, next, seen))
            }
            Intrinsic::WsWaitFor => {
                let pattern = arg(1);
                let pattern = pattern.as_text().unwrap_or("");
                let re = self.shared.program.regexes.get("wait_for", pattern)?;
                let (next, seen) = s.wait_for(|t| re.is_match(t), duration(&arg(2))).await;
                self.ws_bytes(&s);
                Ok(self.ws_message(&s, next, seen))
            }
            Intrinsic::WsPing => {
                let timeout = duration(&arg(1));
                let pinged = s.ping(timeout).await;
                self.ws_bytes(&s);
                let (rtt, came) = match pinged {
                    Ok(x) => x,
                    Err(e) => return Err(ws_failed(&s, "ping", &e.0)),
                };
                self.ws_count(&s, ids::WS_MSGS_RECEIVED, came as f64);
                match rtt {
                    Some(d) => {
                        let ms = super::ms(d);
                        self.ws_count(&s, ids::WS_PING, ms);
                        Ok(Value::Duration(ms))
                    }
                    None => {
                        if s.is_closed().await {
                            self.ws_broke(&s);
                            self.ws_end(&s);
                        }
                        Err(ws_failed(
                            &s,
                            "ping",
                            &format!("no pong within {} ms", timeout.as_millis()),
                        ))
                    }
                }
            }
            Intrinsic::WsClose => {
                let code = match arg(1) {
                    Value::Int(c) => u16::try_from(c).unwrap_or(1000),
                    _ => 1000,
                };
                s.close(code).await;
                self.ws_bytes(&s);
                self.ws_end(&s);
                Ok(Value::Null)
            }
            _ => Err(Halt::error(
                "ws: unknown operation",
                "internal error: not a WebSocket operation",
            )),
        }
    }

    /// `for e in s.events(duration: D, every: I) { .. }`: runs the body for every message
    /// that comes and every tick of `I`, with `e` the event (`{data, binary, tick}`), until
    /// `D` has passed (the session is then closed with 1000) or the session is closed (by
    /// the server, or by the body). `break` leaves the loop with the session open.
    pub(crate) async fn ws_events(&mut self, slot: u32, args: &[Expr], body: &Block) -> R<Flow> {
        let mut values = Vec::with_capacity(args.len());
        for a in args {
            values.push(self.eval(a).await?);
        }
        let Some(Value::Ws(s)) = values.first().cloned() else {
            return Err(Halt::error(
                "ws: not a session",
                "internal error: events of a value that is not a session",
            ));
        };
        let start = Instant::now();
        let deadline = match values.get(1) {
            Some(v @ Value::Duration(_)) => Some(start + duration(v)),
            _ => None,
        };
        let every = match values.get(2) {
            Some(v @ Value::Duration(_)) => Some(duration(v).max(Duration::from_millis(1))),
            _ => None,
        };
        let mut tick = every.map(|e| start + e);
        loop {
            let next = s.next_event(deadline, tick).await;
            self.ws_bytes(&s);
            let event = match next {
                Event::Message(m) => {
                    self.ws_count(&s, ids::WS_MSGS_RECEIVED, 1.0);
                    event_record(&m.data, m.binary, false)
                }
                Event::Tick => {
                    tick = tick.zip(every).map(|(t, e)| (t + e).max(Instant::now()));
                    event_record("", false, true)
                }
                Event::Deadline => {
                    s.close(1000).await;
                    self.ws_bytes(&s);
                    self.ws_end(&s);
                    return Ok(Flow::Next);
                }
                Event::Closed => {
                    self.ws_broke(&s);
                    self.ws_end(&s);
                    return Ok(Flow::Next);
                }
            };
            self.set_local(slot, event);
            if let Round::Leave(f) = self.round(body).await {
                return f;
            }
        }
    }

    /// `ws.connect(target, path, headers, subprotocols, timeout, name)`.
    async fn ws_connect(&mut self, args: &[Value]) -> R<Value> {
        let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
        let name: Arc<str> = Arc::from(arg(5).as_text().unwrap_or(""));
        let base = match arg(0) {
            Value::Int(i) => usize::try_from(i)
                .ok()
                .and_then(|i| self.shared.program.targets.get(i))
                .cloned(),
            _ => None,
        };
        let path = arg(1);
        let url = base
            .map(|b| super::code::join_url(&b, path.as_text().unwrap_or("")))
            .and_then(|u| url::Url::parse(&u).ok());
        let Some(url) = url else {
            return Err(Halt::error(
                format!("ws.connect: {name} failed"),
                format!("ws.connect {name}: not a valid URL"),
            ));
        };
        let headers = match arg(2) {
            Value::Record(fields) => fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_text()))
                .collect(),
            _ => Vec::new(),
        };
        let subprotocols = match arg(3) {
            Value::List(items) => items.iter().map(Value::to_text).collect(),
            _ => Vec::new(),
        };
        // The jar matches cookies by the http(s) form of the URL, as browsers do.
        let cookie = self.client.jar().and_then(|jar| {
            let mut http = url.clone();
            let scheme = if url.scheme() == "wss" {
                "https"
            } else {
                "http"
            };
            http.set_scheme(scheme).ok()?;
            jar.header_for(&http, &[])
        });
        let c = Connect {
            url,
            headers,
            cookie,
            subprotocols,
            timeout: duration(&arg(4)),
            tls: self.client.tls_config(),
            opts: Arc::clone(self.client.options()),
            resolver: Arc::clone(self.client.resolver()),
        };
        self.shared
            .first_request
            .get_or_init(std::time::SystemTime::now);
        let t0 = Instant::now();
        let wire = Arc::new(Wire::default());
        let opened = crate::ws::connect(c, Arc::clone(&name), Arc::clone(&wire)).await;
        // A session that did not open spent bytes too (a TLS handshake, a refused upgrade).
        let (sent, received) = wire.take();
        self.ws_data(&name, sent, received);
        match opened {
            Ok(s) => {
                let s = Arc::new(s);
                let connecting = super::ms(t0.elapsed());
                self.ws_count(&s, ids::WS_CONNECTING, connecting);
                self.ws_count(&s, ids::WS_SESSIONS, 1.0);
                Ok(Value::Ws(s))
            }
            Err(e) => Err({
                self.rec.ws_connect_error(&self.group, &name, e.code());
                let target = match arg(0) {
                    Value::Int(i) => usize::try_from(i).unwrap_or(usize::MAX),
                    _ => usize::MAX,
                };
                self.first_error_at(e.code(), &name, target, &e.0);
                Halt::error(
                    format!("ws.connect: {name} failed"),
                    format!("ws.connect {name}: {}", e.0),
                )
            }),
        }
    }

    /// A received message (or its absence) as the script's record, counted.
    fn ws_message(&mut self, s: &Arc<Session>, next: Next, seen: u64) -> Value {
        // Messages skipped by `wait_for` came too.
        if seen > 0 {
            self.ws_count(s, ids::WS_MSGS_RECEIVED, seen as f64);
        }
        let (m, timed_out, closed) = match next {
            Next::Message(m) => (m, false, false),
            Next::TimedOut => (Received::default(), true, false),
            Next::Closed => {
                self.ws_broke(s);
                self.ws_end(s);
                (Received::default(), false, true)
            }
        };
        Value::Record(
            vec![
                (Arc::from("data"), Value::Str(Arc::from(m.data.as_str()))),
                (Arc::from("binary"), Value::Bool(m.binary)),
                (Arc::from("timed_out"), Value::Bool(timed_out)),
                (Arc::from("closed"), Value::Bool(closed)),
            ]
            .into(),
        )
    }

    /// The session's bytes since the last call, into `data_sent` and `data_received`.
    fn ws_bytes(&mut self, s: &Arc<Session>) {
        let (sent, received) = s.wire.take();
        self.ws_data(&s.name, sent, received);
    }

    fn ws_data(&mut self, name: &Arc<str>, sent: u64, received: u64) {
        if sent > 0 {
            self.rec.ws(&self.group, name, ids::DATA_SENT, sent as f64);
        }
        if received > 0 {
            self.rec
                .ws(&self.group, name, ids::DATA_RECEIVED, received as f64);
        }
    }

    /// Logs (once) how a session's connection broke when it ended without a close frame:
    /// the script sees `closed`, the log says it was not a clean close.
    fn ws_broke(&mut self, s: &Arc<Session>) {
        if let Some(why) = s.take_broke() {
            let line = format!("ws session {}: {why}", s.name);
            self.shared
                .log
                .write(super::log::Line::IterationError, self.ident.id, &line);
        }
    }

    /// `ws_session_duration`, once per session.
    fn ws_end(&mut self, s: &Arc<Session>) {
        if let Some(d) = s.take_end() {
            self.ws_count(s, ids::WS_SESSION_DURATION, super::ms(d));
        }
    }

    /// One sample of a `ws_*` metric (a counter's increment or a trend's value).
    fn ws_count(&mut self, s: &Arc<Session>, metric: crate::metrics::MetricId, value: f64) {
        self.rec.ws(&self.group, &s.name, metric, value);
    }
}

/// A `for e in s.events(..)` variable.
fn event_record(data: &str, binary: bool, tick: bool) -> Value {
    Value::Record(
        vec![
            (Arc::from("data"), Value::Str(Arc::from(data))),
            (Arc::from("binary"), Value::Bool(binary)),
            (Arc::from("tick"), Value::Bool(tick)),
        ]
        .into(),
    )
}

/// A duration argument (ms) as a `Duration`; 0 or less waits not at all.
fn duration(v: &Value) -> Duration {
    let ms = v.as_f64().unwrap_or(0.0);
    if ms.is_finite() && ms > 0.0 {
        Duration::from_secs_f64(ms / 1000.0)
    } else {
        Duration::ZERO
    }
}

fn ws_failed(s: &Session, what: &str, why: &str) -> Halt {
    Halt::error(
        format!("ws.{what}: {} failed", s.name),
        format!("ws {what} on session {}: {why}", s.name),
    )
}
