//! `http.dns` end to end through `volley run`: a host name with two loopback addresses
//! (by `http.hosts`, so the test touches no system file), each with its own server on the
//! same port. `select: round_robin` (or `random`) spreads new connections over both,
//! `first` uses one, and keep-alive connections stay where they were opened. Bounded: 20
//! requests a run.

use crate::support::*;
use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A keep-alive HTTP/1.1 server on one loopback address answering `200 ok`; counts the
/// connections it accepted and the requests it answered. Stops accepting on drop.
struct Counted {
    accepts: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Counted {
    fn start(listener: TcpListener) -> Counted {
        listener.set_nonblocking(true).unwrap();
        let accepts = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, r, s) = (accepts.clone(), requests.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        a.fetch_add(1, Ordering::SeqCst);
                        let r = r.clone();
                        std::thread::spawn(move || answer(stream, &r));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Counted {
            accepts,
            requests,
            stop,
        }
    }

    fn counts(&self) -> (usize, usize) {
        (
            self.accepts.load(Ordering::SeqCst),
            self.requests.load(Ordering::SeqCst),
        )
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn answer(mut stream: TcpStream, requests: &AtomicUsize) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut buf = Vec::new();
    loop {
        if read_head(&mut stream, &mut buf).is_none() {
            return;
        }
        requests.fetch_add(1, Ordering::SeqCst);
        if stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .is_err()
        {
            return;
        }
    }
}

/// Servers on 127.0.0.1 and 127.0.0.2 with one port.
fn two_servers() -> (u16, Counted, Counted) {
    for _ in 0..20 {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = a.local_addr().unwrap().port();
        let ip: IpAddr = "127.0.0.2".parse().unwrap();
        if let Ok(b) = TcpListener::bind(SocketAddr::new(ip, port)) {
            return (port, Counted::start(a), Counted::start(b));
        }
    }
    panic!("no port free on both 127.0.0.1 and 127.0.0.2");
}

/// Runs 4 VUs × 5 iterations of one GET to `lb.test` with `http = {HTTP}`; returns
/// (accepts, requests) of the servers on 127.0.0.1 and 127.0.0.2.
fn run_with(name: &str, http: &str) -> [(usize, usize); 2] {
    let (port, one, two) = two_servers();
    let dir = temp_dir(name);
    let file = dir.join("lb.load");
    let src = format!(
        "param base_url: url = \"http://lb.test:8088\"\ntarget shop = base_url\n\nscenario s {{\n  workload = per_vu_iterations(vus: 4, iterations: 5)\n  http = {{{http}, hosts: {{\"lb.test\": [\"127.0.0.1\", \"127.0.0.2\"]}}}}\n  iteration {{\n    let r = get(shop, \"/\")\n    check \"ok\": r.status == 200\n  }}\n}}\n\nthresholds {{\n  checks: rate == 100%\n}}\n"
    );
    std::fs::write(&file, src).unwrap();
    let param = format!("base_url=http://lb.test:{port}");
    let out = volley_in(
        &dir,
        &["run", "lb.load", "-q", "--param", &param],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    [one.counts(), two.counts()]
}

#[test]
fn round_robin_spreads_connections_over_every_address() {
    // Keep-alive: each VU opens one connection, the next address in turn, and stays.
    let [one, two] = run_with("dns-rr", "dns: {select: round_robin}");
    assert_eq!((one, two), ((2, 10), (2, 10)));
    // A new connection per request: every one picks, in turn.
    let [one, two] = run_with(
        "dns-rr-close",
        "dns: {select: round_robin, ttl: 0}, reuse_connections: false",
    );
    assert_eq!((one, two), ((10, 10), (10, 10)));
}

#[test]
fn first_sends_everything_to_one_address() {
    let [one, two] = run_with(
        "dns-first",
        "dns: {select: first}, reuse_connections: false",
    );
    assert_eq!((one, two), ((20, 20), (0, 0)));
}

#[test]
fn random_uses_every_address() {
    // 20 new connections, each a coin toss: all on one side has a probability of 2e-6.
    let [one, two] = run_with(
        "dns-random",
        "dns: {select: random}, reuse_connections: false",
    );
    assert_eq!(one.1 + two.1, 20);
    assert!(one.0 > 0 && two.0 > 0, "{one:?} {two:?}");
}
