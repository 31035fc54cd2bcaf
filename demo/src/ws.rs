//! The shop's WebSocket endpoints: `GET /ws/echo` sends every message back as it came, and
//! `GET /ws/ticker?interval_ms=N` pushes a price every N ms (default 100, clamped to
//! 10..=10000) and echoes what it is sent. The HTTP/1.1 upgrade is hyper's; the handshake's
//! accept key, the frames, pings (answered with pongs) and the close are tokio-tungstenite's.
//! The first subprotocol a client offers is accepted. A session lives in a task of its
//! own until the client closes it or goes away; nothing here blocks a thread.

use crate::shop::{error, Body};
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::time::Duration;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// The ticker's default period and its bounds, in ms.
const DEFAULT_INTERVAL_MS: u64 = 100;
const MIN_INTERVAL_MS: u64 = 10;
const MAX_INTERVAL_MS: u64 = 10_000;

/// Answers a WebSocket handshake with 101 and serves the session once the connection is
/// upgraded; anything else that is not a handshake gets 400.
pub(crate) fn upgrade(mut req: Request<Incoming>, ticker: bool) -> Response<Body> {
    let h = req.headers();
    let has = |name, want: &str| {
        h.get_all(name).iter().any(|v| {
            v.to_str().is_ok_and(|s| {
                s.split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(want))
            })
        })
    };
    let Some(key) = h.get(SEC_WEBSOCKET_KEY) else {
        return error(StatusCode::BAD_REQUEST, "expected a WebSocket handshake");
    };
    if !has(CONNECTION, "upgrade")
        || !has(UPGRADE, "websocket")
        || !has(SEC_WEBSOCKET_VERSION, "13")
    {
        return error(StatusCode::BAD_REQUEST, "expected a WebSocket handshake");
    }
    let accept = derive_accept_key(key.as_bytes());
    let protocol = h
        .get(SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.split(',').map(str::trim).find(|p| !p.is_empty()))
        .and_then(|p| HeaderValue::from_str(p).ok());
    let interval = Duration::from_millis(interval_ms(req.uri().query()));
    let on = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        if let Ok(upgraded) = on.await {
            let ws =
                WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
            if ticker {
                tick(ws, interval).await;
            } else {
                echo(ws).await;
            }
        }
    });
    let mut res = Response::new(Full::new(bytes::Bytes::new()));
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = res.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, v);
    }
    if let Some(p) = protocol {
        headers.insert(SEC_WEBSOCKET_PROTOCOL, p);
    }
    res
}

/// `interval_ms=N` of the query, clamped; the default when absent or not a number.
fn interval_ms(query: Option<&str>) -> u64 {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|kv| kv.strip_prefix("interval_ms="))
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(DEFAULT_INTERVAL_MS, |n| {
            n.clamp(MIN_INTERVAL_MS, MAX_INTERVAL_MS)
        })
}

type Ws = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Sends every data message back until the client closes or goes away.
async fn echo(mut ws: Ws) {
    while let Some(Ok(m)) = ws.next().await {
        if (m.is_text() || m.is_binary()) && ws.send(m).await.is_err() {
            return;
        }
    }
}

/// A price every `interval`, and every data message echoed, until the client leaves.
async fn tick(mut ws: Ws, interval: Duration) {
    let mut timer = tokio::time::interval(interval);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seq: u64 = 0;
    loop {
        tokio::select! {
            _ = timer.tick() => {
                seq += 1;
                if ws.send(Message::Text(price(seq).into())).await.is_err() {
                    return;
                }
            }
            m = ws.next() => match m {
                Some(Ok(m)) if m.is_text() || m.is_binary() => {
                    if ws.send(m).await.is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                None | Some(Err(_)) => return,
            },
        }
    }
}

/// The `seq`-th price of the ticker: a deterministic walk around 100.
fn price(seq: u64) -> String {
    let wobble = (seq.wrapping_mul(2_654_435_761) % 2001) as f64 / 100.0 - 10.0;
    let cents = ((100.0 + wobble) * 100.0).round() / 100.0;
    format!("{{\"symbol\":\"VLY\",\"price\":{cents:.2},\"seq\":{seq}}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_is_read_and_clamped() {
        assert_eq!(interval_ms(None), DEFAULT_INTERVAL_MS);
        assert_eq!(interval_ms(Some("interval_ms=250")), 250);
        assert_eq!(interval_ms(Some("a=1&interval_ms=1")), MIN_INTERVAL_MS);
        assert_eq!(interval_ms(Some("interval_ms=99999999")), MAX_INTERVAL_MS);
        assert_eq!(interval_ms(Some("interval_ms=x")), DEFAULT_INTERVAL_MS);
    }

    #[test]
    fn prices_are_json_around_100() {
        for seq in 1..50 {
            let v: serde_json::Value = serde_json::from_str(&price(seq)).unwrap();
            let p = v["price"].as_f64().unwrap();
            assert!((90.0..=110.0).contains(&p), "{p}");
            assert_eq!(v["seq"], seq);
        }
    }
}
