//! The background sender of the network outputs (Prometheus remote write, InfluxDB, OTLP): one
//! thread per output with a bounded queue of ready request bodies, so pushing never
//! blocks the load. The driver enqueues; when the queue is full the oldest batch is
//! dropped and counted. The thread posts each batch with retries and exponential back-off
//! (transport errors, 429 and 5xx are retried; other answers are final) using the
//! engine's own HTTP client. At the end the queue gets a bounded time to drain; what is
//! left is counted as dropped.
//!
//! This module must not build request bodies nor know any format, and it never prints:
//! its counts come back in a [`SendReport`]. It never logs header values (tokens).

use super::OutputError;
use crate::http::{ClientOptions, HttpError, Request, Resolver, TlsConfig, VuClient};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use url::Url;

/// How a sender behaves.
#[derive(Clone, Debug)]
pub struct SendPolicy {
    /// Batches waiting at most; past it the oldest is dropped.
    pub capacity: usize,
    /// Tries per batch (the first one included).
    pub attempts: u32,
    /// The first back-off; it doubles after every failed try, up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// How long [`Sender::finish`] waits for the queue to drain.
    pub drain: Duration,
}

impl Default for SendPolicy {
    fn default() -> Self {
        SendPolicy {
            capacity: 64,
            attempts: 5,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
            timeout: Duration::from_secs(10),
            drain: Duration::from_secs(15),
        }
    }
}

/// What a sender did, for the end-of-run note.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SendReport {
    pub sent: u64,
    /// Dropped because the queue was full, or left when the drain time ran out.
    pub dropped: u64,
    /// Given up after the last try, or answered with a final error.
    pub failed: u64,
    /// Tries that were retried.
    pub retries: u64,
    /// The last error (status and the start of the answer, or the transport error).
    pub last_error: Option<String>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Bytes>,
    closed: bool,
    /// Set when the drain time ran out: the thread stops after its current try.
    abandon: bool,
    busy: bool,
    report: SendReport,
}

struct Shared {
    state: Mutex<State>,
    cv: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A POST target and its fixed headers.
#[derive(Clone)]
pub struct Target {
    pub url: Url,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// One output's sender thread and queue.
pub struct Sender {
    shared: Arc<Shared>,
    handle: Option<JoinHandle<()>>,
    policy: SendPolicy,
}

impl Sender {
    /// Starts the thread. Fails only when a thread or the TLS roots cannot be had.
    pub fn start(name: &str, target: Target, policy: SendPolicy) -> Result<Sender, OutputError> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            cv: Condvar::new(),
        });
        let tls = TlsConfig::new().map_err(|source| OutputError::Tls {
            name: name.to_string(),
            source,
        })?;
        let (s, p) = (Arc::clone(&shared), policy.clone());
        let handle = std::thread::Builder::new()
            .name(format!("volley-out-{name}"))
            .spawn(move || thread_main(s, target, p, tls))
            .map_err(|source| OutputError::Thread {
                name: name.to_string(),
                source,
            })?;
        Ok(Sender {
            shared,
            handle: Some(handle),
            policy,
        })
    }

    /// Queues a body; never blocks. A full queue drops its oldest batch.
    pub fn push(&self, body: Bytes) {
        let mut st = self.shared.lock();
        if st.closed {
            return;
        }
        if st.queue.len() >= self.policy.capacity.max(1) {
            st.queue.pop_front();
            st.report.dropped += 1;
        }
        st.queue.push_back(body);
        drop(st);
        self.shared.cv.notify_all();
    }

    /// Closes the queue, waits up to the drain time for it to empty (less when a batch fails
    /// meanwhile), and reports.
    pub fn finish(mut self) -> SendReport {
        let deadline = Instant::now() + self.policy.drain;
        let mut st = self.shared.lock();
        st.closed = true;
        let failed_at_close = st.report.failed;
        self.shared.cv.notify_all();
        while !st.queue.is_empty() || st.busy {
            let left = deadline.saturating_duration_since(Instant::now());
            // A batch that failed after the end means the endpoint is still down: stop
            // waiting for the others.
            if left.is_zero() || st.report.failed > failed_at_close {
                break;
            }
            st = match self.shared.cv.wait_timeout(st, left) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
        let left = st.queue.len() as u64;
        st.queue.clear();
        st.report.dropped += left;
        st.abandon = true;
        let done = !st.busy;
        let report = st.report.clone();
        drop(st);
        self.shared.cv.notify_all();
        if done {
            if let Some(h) = self.handle.take() {
                let _ = h.join();
            }
        }
        report
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.closed = true;
        st.abandon = true;
        drop(st);
        self.shared.cv.notify_all();
    }
}

fn thread_main(shared: Arc<Shared>, target: Target, policy: SendPolicy, tls: Arc<TlsConfig>) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        let mut st = shared.lock();
        st.report.last_error = Some("cannot start a runtime".into());
        st.closed = true;
        return;
    };
    let local = tokio::task::LocalSet::new();
    let opts = Arc::new(ClientOptions {
        timeout: policy.timeout,
        user_agent: format!("volley/{}", env!("CARGO_PKG_VERSION")),
        ..ClientOptions::default()
    });
    let mut client = VuClient::new(opts, Resolver::new(), tls);
    loop {
        let body = {
            let mut st = shared.lock();
            loop {
                if st.abandon {
                    return;
                }
                if let Some(b) = st.queue.pop_front() {
                    st.busy = true;
                    break b;
                }
                if st.closed {
                    return;
                }
                st = match shared.cv.wait(st) {
                    Ok(g) => g,
                    Err(e) => e.into_inner(),
                };
            }
        };
        let outcome = local.block_on(&rt, send(&mut client, &target, &policy, body, &shared));
        let mut st = shared.lock();
        st.busy = false;
        match outcome {
            Ok(()) => st.report.sent += 1,
            Err(e) => {
                tracing::debug!(output = %target.url.host_str().unwrap_or_default(), "a batch was not written: {e}");
                st.report.failed += 1;
                st.report.last_error = Some(e.to_string());
            }
        }
        drop(st);
        shared.cv.notify_all();
    }
}

/// Why a body was not written, after the last try.
#[derive(Debug, thiserror::Error)]
enum SendError {
    /// Not one try was made (the drain time ran out first).
    #[error("not sent")]
    NotSent,
    #[error("{0}")]
    Transport(#[source] HttpError),
    #[error("transport error")]
    NoAnswer,
    /// The status and the start of the answer.
    #[error("HTTP {status}: {text}")]
    Status { status: u16, text: String },
}

/// Posts one body, retrying with back-off; `Err` carries the last error.
async fn send(
    client: &mut VuClient,
    target: &Target,
    policy: &SendPolicy,
    body: Bytes,
    shared: &Shared,
) -> Result<(), SendError> {
    let mut backoff = policy.backoff;
    let mut last = SendError::NotSent;
    for attempt in 0..policy.attempts.max(1) {
        if attempt > 0 {
            if shared.lock().abandon {
                break;
            }
            shared.lock().report.retries += 1;
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(policy.max_backoff);
        }
        let mut req = Request::new(Method::POST, target.url.clone()).body(body.clone());
        req.headers.clone_from(&target.headers);
        let resp = client.send(req).await;
        match resp.status {
            200..=299 => return Ok(()),
            0 => last = resp.error.map_or(SendError::NoAnswer, SendError::Transport),
            status => {
                let text = String::from_utf8_lossy(&resp.body);
                let text: String = text.trim().chars().take(200).collect();
                last = SendError::Status { status, text };
                if !(status == 429 || status >= 500) {
                    return Err(last);
                }
            }
        }
    }
    Err(last)
}
