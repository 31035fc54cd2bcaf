//! The DNS cache through a scripted [`Lookup`] and a hand-moved [`Clock`]: TTL expiry,
//! background re-resolves that never block, the select and family policies, fixed hosts,
//! and a failed re-resolve keeping the last answer.

use std::collections::BTreeMap;
use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::{run, serve_on, url};
use crate::http::{
    codes, ClientOptions, Clock, DnsOptions, Lookup, LookupFuture, Policy, Request, Resolver,
    Select, TlsConfig, VuClient, DEFAULT_TTL, RETRY_AFTER,
};

/// Answers what the test set (`None`: fails), optionally held until released.
#[derive(Default)]
struct Scripted {
    answer: Mutex<Option<Vec<IpAddr>>>,
    hold: Mutex<Option<Arc<Notify>>>,
    calls: AtomicU64,
}

impl Scripted {
    fn new(ips: &[&str]) -> Arc<Self> {
        let s = Scripted::default();
        s.set(Some(ips));
        Arc::new(s)
    }

    fn set(&self, ips: Option<&[&str]>) {
        *self.answer.lock().expect("lock") = ips.map(|v| v.iter().map(|s| ip(s)).collect());
    }
}

impl Lookup for Scripted {
    fn lookup(&self, host: &str) -> LookupFuture {
        self.calls.fetch_add(1, Ordering::SeqCst);
        assert_eq!(host, "lb.test");
        let answer = self.answer.lock().expect("lock").clone();
        let hold = self.hold.lock().expect("lock").clone();
        Box::pin(async move {
            if let Some(n) = hold {
                n.notified().await;
            }
            answer.ok_or_else(|| io::Error::other("SERVFAIL"))
        })
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn opts(ttl: Option<Duration>, select: Select, policy: Policy) -> DnsOptions {
    DnsOptions {
        ttl,
        select,
        policy,
        hosts: None,
    }
}

/// A clock that moves only when told.
struct Hand {
    start: Instant,
    offset: Mutex<Duration>,
}

impl Clock for Hand {
    fn now(&self) -> Instant {
        self.start + *self.offset.lock().expect("lock")
    }
}

impl Hand {
    fn advance(&self, by: Duration) {
        *self.offset.lock().expect("lock") += by;
    }
}

/// A resolver over `dns` and a hand-moved clock.
fn resolver(dns: &Arc<Scripted>) -> (Arc<Resolver>, Arc<Hand>) {
    let clock = Arc::new(Hand {
        start: Instant::now(),
        offset: Mutex::default(),
    });
    let r = Resolver::with_lookup(Arc::clone(dns) as Arc<dyn Lookup>, Arc::clone(&clock) as _);
    (r, clock)
}

/// A current-thread runtime, as the engine's workers (bounded in time).
fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(20), f)
                .await
                .expect("test timed out")
        })
}

async fn one(r: &Resolver, o: &DnsOptions) -> IpAddr {
    r.resolve("lb.test", 80, o).await.expect("resolves").ip()
}

/// Let the background re-resolve run.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[test]
fn an_answer_is_used_for_its_ttl_then_re_resolved_in_the_background() {
    bounded(async {
        let dns = Scripted::new(&["10.0.0.1"]);
        let (r, clock) = resolver(&dns);
        let o = DnsOptions {
            select: Select::First,
            ..DnsOptions::default()
        };
        assert_eq!(o.ttl, Some(DEFAULT_TTL));
        assert_eq!(one(&r, &o).await, ip("10.0.0.1"));
        dns.set(Some(&["10.0.0.2"]));
        clock.advance(DEFAULT_TTL - Duration::from_secs(1));
        assert_eq!(one(&r, &o).await, ip("10.0.0.1"));
        assert_eq!(r.lookups(), 1, "not yet expired");
        clock.advance(Duration::from_secs(2));
        // The connection that finds it expired still uses the old answer...
        assert_eq!(one(&r, &o).await, ip("10.0.0.1"));
        settle().await;
        assert_eq!(r.lookups(), 2);
        // ...and the next new connection the new one, for another TTL.
        assert_eq!(one(&r, &o).await, ip("10.0.0.2"));
        assert_eq!(one(&r, &o).await, ip("10.0.0.2"));
        assert_eq!(r.lookups(), 2);
        assert_eq!(r.failures(), 0);
    });
}

#[test]
fn inf_never_re_resolves_and_zero_looks_up_every_time() {
    bounded(async {
        let dns = Scripted::new(&["10.0.0.1"]);
        let (r, clock) = resolver(&dns);
        let inf = opts(None, Select::First, Policy::Any);
        one(&r, &inf).await;
        clock.advance(Duration::from_secs(86_400));
        dns.set(Some(&["10.0.0.2"]));
        assert_eq!(one(&r, &inf).await, ip("10.0.0.1"));
        settle().await;
        assert_eq!(r.lookups(), 1);

        let zero = opts(Some(Duration::ZERO), Select::First, Policy::Any);
        assert_eq!(one(&r, &zero).await, ip("10.0.0.2"));
        dns.set(Some(&["10.0.0.3"]));
        assert_eq!(one(&r, &zero).await, ip("10.0.0.3"));
        assert_eq!(r.lookups(), 3);
        // No cache and a failing lookup: the last good answer, counted.
        dns.set(None);
        assert_eq!(one(&r, &zero).await, ip("10.0.0.3"));
        assert_eq!(r.failures(), 1);
    });
}

#[test]
fn a_slow_re_resolve_blocks_no_connection() {
    bounded(async {
        let dns = Scripted::new(&["10.0.0.1"]);
        let (r, clock) = resolver(&dns);
        let o = opts(Some(Duration::from_secs(5)), Select::First, Policy::Any);
        one(&r, &o).await;
        let gate = Arc::new(Notify::new());
        *dns.hold.lock().expect("lock") = Some(Arc::clone(&gate));
        dns.set(Some(&["10.0.0.2"]));
        clock.advance(Duration::from_secs(6));
        // The lookup hangs; new connections go on with the old answer at once.
        for _ in 0..5 {
            let quick = tokio::time::timeout(Duration::from_millis(100), one(&r, &o)).await;
            assert_eq!(quick.expect("not blocked"), ip("10.0.0.1"));
        }
        settle().await;
        assert_eq!(
            r.lookups(),
            2,
            "one re-resolve in flight, not one per connection"
        );
        gate.notify_one();
        settle().await;
        assert_eq!(one(&r, &o).await, ip("10.0.0.2"));
    });
}

#[test]
fn concurrent_first_lookups_share_one() {
    bounded(async {
        let dns = Scripted::new(&["10.0.0.1"]);
        let gate = Arc::new(Notify::new());
        *dns.hold.lock().expect("lock") = Some(Arc::clone(&gate));
        let (r, _) = resolver(&dns);
        let o = DnsOptions::default();
        let release = async {
            settle().await;
            gate.notify_one();
        };
        let (a, b, c, ()) = tokio::join!(one(&r, &o), one(&r, &o), one(&r, &o), release);
        assert_eq!([a, b, c], [ip("10.0.0.1"); 3]);
        assert_eq!(r.lookups(), 1);
    });
}

#[test]
fn a_failed_re_resolve_keeps_the_last_answer_and_retries_later() {
    bounded(async {
        let dns = Scripted::new(&["10.0.0.1"]);
        let (r, clock) = resolver(&dns);
        let o = opts(Some(Duration::from_secs(30)), Select::First, Policy::Any);
        one(&r, &o).await;
        dns.set(None);
        clock.advance(Duration::from_secs(31));
        assert_eq!(one(&r, &o).await, ip("10.0.0.1"));
        settle().await;
        assert_eq!((r.lookups(), r.failures()), (2, 1));
        // Not retried on every new connection...
        assert_eq!(one(&r, &o).await, ip("10.0.0.1"));
        settle().await;
        assert_eq!(r.lookups(), 2);
        // ...but after a pause, and a good answer replaces the old one.
        clock.advance(RETRY_AFTER);
        dns.set(Some(&["10.0.0.9"]));
        assert_eq!(one(&r, &o).await, ip("10.0.0.1"));
        settle().await;
        assert_eq!(r.lookups(), 3);
        assert_eq!(one(&r, &o).await, ip("10.0.0.9"));
    });
}

#[test]
fn a_first_lookup_that_fails_is_an_error_and_not_cached() {
    bounded(async {
        let dns = Scripted::new(&[]);
        let (r, _) = resolver(&dns);
        let o = DnsOptions::default();
        let e = r
            .resolve("lb.test", 80, &o)
            .await
            .expect_err("no addresses");
        assert_eq!(e.code, codes::DNS);
        dns.set(None);
        let e = r.resolve("lb.test", 80, &o).await.expect_err("fails");
        assert_eq!(e.code, codes::DNS);
        dns.set(Some(&["10.0.0.1"]));
        assert_eq!(one(&r, &o).await, ip("10.0.0.1"));
        assert_eq!((r.lookups(), r.failures()), (3, 2));
    });
}

/// How often each address was picked over `n` new connections.
async fn spread(r: &Resolver, o: &DnsOptions, n: usize) -> BTreeMap<IpAddr, usize> {
    let mut seen = BTreeMap::new();
    for _ in 0..n {
        *seen.entry(one(r, o).await).or_insert(0) += 1;
    }
    seen
}

#[test]
fn select_first_random_and_round_robin() {
    bounded(async {
        let all = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"];
        let (r, _) = resolver(&Scripted::new(&all));
        let first = spread(&r, &opts(None, Select::First, Policy::Any), 50).await;
        assert_eq!(first, BTreeMap::from([(ip("10.0.0.1"), 50)]));

        let o = opts(None, Select::RoundRobin, Policy::Any);
        let mut order = Vec::new();
        for _ in 0..8 {
            order.push(one(&r, &o).await);
        }
        let want: Vec<IpAddr> = all.iter().chain(all.iter()).map(|s| ip(s)).collect();
        assert_eq!(order, want, "each in turn");

        // Random: every address, none far from its share (400 picks, 100 expected each;
        // outside 40..=160 has a probability far below 1e-9).
        let random = spread(&r, &opts(None, Select::Random, Policy::Any), 400).await;
        assert_eq!(random.len(), 4, "{random:?}");
        assert!(
            random.values().all(|n| (40..=160).contains(n)),
            "{random:?}"
        );
    });
}

#[test]
fn policies_filter_by_family() {
    bounded(async {
        let mixed = ["::1:1", "10.0.0.1", "::1:2", "10.0.0.2"];
        let (r, _) = resolver(&Scripted::new(&mixed));
        let pick = |p| opts(None, Select::RoundRobin, p);
        let keys = |m: BTreeMap<IpAddr, usize>| m.into_keys().collect::<Vec<_>>();
        let v4 = vec![ip("10.0.0.1"), ip("10.0.0.2")];
        let v6 = vec![ip("::1:1"), ip("::1:2")];
        assert_eq!(keys(spread(&r, &pick(Policy::PreferIpv4), 8).await), v4);
        assert_eq!(keys(spread(&r, &pick(Policy::OnlyIpv4), 8).await), v4);
        assert_eq!(keys(spread(&r, &pick(Policy::PreferIpv6), 8).await), v6);
        assert_eq!(keys(spread(&r, &pick(Policy::OnlyIpv6), 8).await), v6);
        assert_eq!(keys(spread(&r, &pick(Policy::Any), 8).await).len(), 4);

        let (r6, _) = resolver(&Scripted::new(&["::1:1"]));
        assert_eq!(one(&r6, &pick(Policy::PreferIpv4)).await, ip("::1:1"));
        let e = r6
            .resolve("lb.test", 80, &pick(Policy::OnlyIpv4))
            .await
            .expect_err("no IPv4");
        assert_eq!(e.code, codes::DNS);
        assert!(e.message.contains("no IPv4 address"), "{}", e.message);
    });
}

#[test]
fn fixed_hosts_are_never_looked_up() {
    bounded(async {
        let dns = Scripted::new(&["10.0.0.1"]);
        let (r, _) = resolver(&dns);
        let hosts = BTreeMap::from([(
            "lb.test".to_owned(),
            Arc::from(vec![ip("127.0.0.1"), ip("127.0.0.2")]),
        )]);
        let o = DnsOptions {
            hosts: Some(Arc::new(hosts)),
            ..opts(Some(Duration::ZERO), Select::RoundRobin, Policy::Any)
        };
        let seen = spread(&r, &o, 6).await;
        assert_eq!(
            seen,
            BTreeMap::from([(ip("127.0.0.1"), 3), (ip("127.0.0.2"), 3)])
        );
        assert_eq!(r.lookups(), 0);
        assert_eq!(dns.calls.load(Ordering::SeqCst), 0);
    });
}

/// Through the client: a kept-alive connection stays on its address after the TTL; new
/// connections use the old answer until the background re-resolve is in, then the new one.
#[test]
fn keep_alive_stays_and_new_connections_follow_the_new_answer() {
    run(async {
        let (one, two) = loop {
            let a = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let port = a.local_addr().expect("addr").port();
            if let Ok(b) = tokio::net::TcpListener::bind(("127.0.0.2", port)).await {
                break (serve_on(a, None), serve_on(b, None));
            }
        };
        let dns = Scripted::new(&["127.0.0.1"]);
        let (r, clock) = resolver(&dns);
        let opts = Arc::new(ClientOptions {
            dns: opts(Some(Duration::from_secs(10)), Select::First, Policy::Any),
            ..ClientOptions::default()
        });
        let tls = TlsConfig::new().expect("tls");
        let client = || VuClient::new(Arc::clone(&opts), Arc::clone(&r), Arc::clone(&tls));
        let target = url(&format!("http://lb.test:{}/hello", one.addr.port()));
        let get = || Request::new(http::Method::GET, target.clone());
        let mut a = client();
        assert_eq!(a.send(get()).await.status, 200);
        dns.set(Some(&["127.0.0.2"]));
        clock.advance(Duration::from_secs(11));
        // The kept-alive connection stays where it is.
        assert_eq!(a.send(get()).await.status, 200);
        assert_eq!((one.accepts.get(), two.accepts.get()), (1, 0));
        // A new connection: the old answer, and a re-resolve starts.
        let mut b = client();
        assert_eq!(b.send(get()).await.status, 200);
        assert_eq!((one.accepts.get(), two.accepts.get()), (2, 0));
        settle().await;
        let mut c = client();
        assert_eq!(c.send(get()).await.status, 200);
        assert_eq!((one.accepts.get(), two.accepts.get()), (2, 1));
        assert_eq!(a.send(get()).await.status, 200);
        assert_eq!((one.accepts.get(), two.accepts.get()), (2, 1));
        assert_eq!(r.lookups(), 2);
    });
}
