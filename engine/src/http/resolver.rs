//! DNS resolution, shared by every VU on every thread of a runner, re-resolved on a TTL
//! and spread over every address of the answer (k6's `dns` option).
//!
//! * **Cache.** A host name is looked up the first time any VU opens a connection to it;
//!   VUs that need it meanwhile wait for that one lookup (a failure is not cached: the
//!   next new connection tries again). The answer (every A and AAAA record) is then used
//!   for [`DnsOptions::ttl`] (k6's default, 5 minutes; `None` keeps it for the run).
//! * **Re-resolving never blocks the load.** The first new connection after the TTL
//!   starts one lookup in the background and still uses the old answer, as does every
//!   connection until the new answer is in; a new connection after that uses the new one.
//!   A failed re-resolve keeps the last good answer, is counted ([`Resolver::failures`])
//!   and logged (once per streak of failures), and is tried again [`RETRY_AFTER`] later
//!   at the earliest. With a TTL of
//!   0 (k6's `ttl: "0"`, no cache) every new connection looks the name up itself (its
//!   own VU waits, no other), falling back to the last good answer when that fails.
//! * **Picking an address.** [`DnsOptions::policy`] filters the answer by family (as
//!   k6: `prefer_ipv4` uses the IPv4 addresses when there is one, else the IPv6 ones;
//!   `only_ipv4` fails with code 1100 when there is none; `any` keeps both), then
//!   [`DnsOptions::select`] picks one per new connection: the first, a random one, or the
//!   next in turn (one round-robin counter per host, shared by the runner's VUs).
//!   Keep-alive connections stay where they are; only new connections pick.
//! * **Static hosts.** [`DnsOptions::hosts`] maps names to fixed addresses (k6's `hosts`
//!   option): such a name never reaches the resolver, and its addresses are picked from
//!   as an answer would be.
//!
//! IP literals never reach the resolver. The resolver is asked only when a connection is
//! opened, never per request on a kept-alive connection. Then a known host with a fresh
//! answer costs a read lock of the map and the host's own mutex, each held for a few
//! instructions (the address is picked under it, nothing is cloned); no lock is ever held
//! across a lookup.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rand::Rng;
use std::time::Instant;

use super::error::{codes, HttpError};

/// How long a failed re-resolve waits before the next try (the last answer is used meanwhile).
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

/// k6's default TTL: 5 minutes.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

/// Which address of an answer a new connection uses (k6's `dns.select`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Select {
    /// Always the first (after the policy's filter).
    First,
    /// A random one for each new connection (k6's default).
    #[default]
    Random,
    /// Each in turn, one counter per host shared by the runner's VUs.
    RoundRobin,
}

/// Which address families are used (k6's `dns.policy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    /// IPv4 when the answer has any, else IPv6 (k6's default).
    #[default]
    PreferIpv4,
    /// IPv6 when the answer has any, else IPv4.
    PreferIpv6,
    /// IPv4 only; an answer without any fails (1100).
    OnlyIpv4,
    /// IPv6 only; an answer without any fails (1100).
    OnlyIpv6,
    /// Both families.
    Any,
}

/// Fixed addresses by host name (k6's `hosts` option).
pub type Hosts = BTreeMap<String, Arc<[IpAddr]>>;

/// How names are resolved for one client (a scenario's `http.dns` and `http.hosts`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsOptions {
    /// How long an answer is used; `None` for the whole run, zero for no cache.
    pub ttl: Option<Duration>,
    pub select: Select,
    pub policy: Policy,
    /// Names with fixed addresses, never looked up.
    pub hosts: Option<Arc<Hosts>>,
}

impl Default for DnsOptions {
    fn default() -> Self {
        DnsOptions {
            ttl: Some(DEFAULT_TTL),
            select: Select::default(),
            policy: Policy::default(),
            hosts: None,
        }
    }
}

/// The answer of a lookup, in the resolver's order.
type Answer = Arc<[IpAddr]>;

/// A lookup in flight (boxed so [`Lookup`] is object-safe).
pub type LookupFuture = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;

/// Where answers come from: the system resolver, or a test's double.
pub trait Lookup: Send + Sync + 'static {
    /// Every address of `host` (A and AAAA records).
    fn lookup(&self, host: &str) -> LookupFuture;
}

/// The system resolver (`getaddrinfo` on tokio's blocking pool).
#[derive(Debug, Default)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: &str) -> LookupFuture {
        let host = host.to_owned();
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let mut ips: Vec<IpAddr> = Vec::new();
            for a in addrs {
                // getaddrinfo repeats an address once per socket type.
                if !ips.contains(&a.ip()) {
                    ips.push(a.ip());
                }
            }
            Ok(ips)
        })
    }
}

/// What time it is for the cache (TTLs and retries); tests move it by hand.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Instant;
}

/// The monotonic system clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// The runner's DNS cache; see the module docs.
pub struct Resolver {
    source: Arc<dyn Lookup>,
    clock: Arc<dyn Clock>,
    hosts: RwLock<HashMap<String, Arc<Entry>>>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("lookups", &self.lookups())
            .field("failures", &self.failures())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Counters {
    lookups: AtomicU64,
    failures: AtomicU64,
}

/// One host name's state.
#[derive(Debug, Default)]
struct Entry {
    state: Mutex<State>,
    /// Serialises first lookups (no answer yet), so the VUs waiting share one.
    first: tokio::sync::Mutex<()>,
    /// The round-robin position.
    next: AtomicUsize,
}

#[derive(Debug, Default)]
struct State {
    answer: Option<Answer>,
    /// When `answer` was looked up.
    fetched: Option<Instant>,
    /// A background re-resolve is in flight.
    refreshing: bool,
    /// No re-resolve before this (after a failure).
    retry_at: Option<Instant>,
    /// The last re-resolve failed (a streak of failures is logged once).
    failing: bool,
}

impl State {
    fn store(&mut self, answer: Answer, now: Instant) {
        self.answer = Some(answer);
        self.fetched = Some(now);
        self.retry_at = None;
        self.failing = false;
    }

    /// A re-resolve failed: log it, once per streak of failures.
    fn failed(&mut self, e: &HttpError) {
        if !self.failing {
            tracing::warn!("{}; keeping its last answer", e.message);
        }
        self.failing = true;
    }
}

/// What the state says to do for a new connection.
enum Plan {
    /// The address, picked from a fixed or cached answer.
    Picked(Result<IpAddr, HttpError>),
    /// Look up now (no cache, or no answer yet); the answer to fall back on, if any.
    LookUp(Option<Answer>),
}

impl Resolver {
    /// An empty cache over the system resolver, to be shared by every client of a runner.
    pub fn new() -> Arc<Self> {
        Resolver::with_lookup(Arc::new(SystemLookup), Arc::new(SystemClock))
    }

    /// An empty cache over `source`, timed by `clock` (tests use doubles).
    pub fn with_lookup(source: Arc<dyn Lookup>, clock: Arc<dyn Clock>) -> Arc<Self> {
        Arc::new(Resolver {
            source,
            clock,
            hosts: RwLock::default(),
            counters: Arc::default(),
        })
    }

    /// The address a new connection to `host:port` uses. `host` is a domain name or an IP
    /// literal (IPv6 with or without brackets). Errors carry code 1100.
    pub async fn resolve(
        &self,
        host: &str,
        port: u16,
        opts: &DnsOptions,
    ) -> Result<SocketAddr, HttpError> {
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, port));
        }
        // Usually the host is known and its answer fresh: picked under a read lock of the
        // map and the host's own lock, nothing cloned.
        let known = {
            let hosts = self.hosts.read().unwrap_or_else(|p| p.into_inner());
            match hosts.get(host) {
                Some(entry) => match self.plan(host, entry, opts) {
                    Plan::Picked(ip) => return ip.map(|ip| SocketAddr::new(ip, port)),
                    Plan::LookUp(stale) => Some((Arc::clone(entry), stale)),
                },
                None => None,
            }
        };
        let (entry, stale) = match known {
            Some(k) => k,
            None => {
                let entry = self.entry(host);
                match self.plan(host, &entry, opts) {
                    Plan::Picked(ip) => return ip.map(|ip| SocketAddr::new(ip, port)),
                    Plan::LookUp(stale) => (entry, stale),
                }
            }
        };
        let answer = self.look_up_now(host, &entry, stale).await?;
        pick(host, &answer, &entry.next, opts).map(|ip| SocketAddr::new(ip, port))
    }

    /// How many times the resolver was asked (for tests and diagnostics).
    pub fn lookups(&self) -> u64 {
        self.counters.lookups.load(Ordering::Relaxed)
    }

    /// How many lookups failed (first lookups and re-resolves).
    pub fn failures(&self) -> u64 {
        self.counters.failures.load(Ordering::Relaxed)
    }

    fn entry(&self, host: &str) -> Arc<Entry> {
        let mut hosts = self.hosts.write().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = hosts.get(host) {
            return Arc::clone(e);
        }
        let e = Arc::new(Entry::default());
        hosts.insert(host.to_owned(), Arc::clone(&e));
        e
    }

    /// The address from the host's fixed or cached answer (starting a background
    /// re-resolve when it has expired), or that a lookup is needed now.
    fn plan(&self, host: &str, entry: &Arc<Entry>, opts: &DnsOptions) -> Plan {
        if let Some(fixed) = opts.hosts.as_deref().and_then(|h| h.get(host)) {
            return Plan::Picked(pick(host, fixed, &entry.next, opts));
        }
        let mut st = entry.state.lock().unwrap_or_else(|p| p.into_inner());
        let (Some(answer), Some(fetched)) = (&st.answer, st.fetched) else {
            return Plan::LookUp(None);
        };
        let Some(ttl) = opts.ttl else {
            return Plan::Picked(pick(host, answer, &entry.next, opts));
        };
        if ttl.is_zero() {
            return Plan::LookUp(Some(Arc::clone(answer)));
        }
        let now = self.clock.now();
        let picked = pick(host, answer, &entry.next, opts);
        if now < fetched + ttl || st.refreshing || st.retry_at.is_some_and(|r| now < r) {
            return Plan::Picked(picked);
        }
        st.refreshing = true;
        drop(st);
        self.refresh_in_background(host, entry);
        Plan::Picked(picked)
    }

    /// Look up on this task: a first lookup (shared with VUs waiting for the same host)
    /// or, with no cache, this connection's own; `stale` is the fallback on failure.
    async fn look_up_now(
        &self,
        host: &str,
        entry: &Entry,
        stale: Option<Answer>,
    ) -> Result<Answer, HttpError> {
        let _gate = match stale {
            Some(_) => None,
            None => {
                let gate = entry.first.lock().await;
                // Another VU may have looked it up while this one waited.
                let st = entry.state.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(a) = &st.answer {
                    return Ok(Arc::clone(a));
                }
                drop(st);
                Some(gate)
            }
        };
        match lookup(&*self.source, &self.counters, host).await {
            Ok(answer) => {
                let mut st = entry.state.lock().unwrap_or_else(|p| p.into_inner());
                st.store(Arc::clone(&answer), self.clock.now());
                Ok(answer)
            }
            Err(e) => match stale {
                Some(a) => {
                    entry
                        .state
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .failed(&e);
                    Ok(a)
                }
                None => Err(e),
            },
        }
    }

    fn refresh_in_background(&self, host: &str, entry: &Arc<Entry>) {
        let source = Arc::clone(&self.source);
        let clock = Arc::clone(&self.clock);
        let counters = Arc::clone(&self.counters);
        let entry = Arc::clone(entry);
        let host = host.to_owned();
        // Clears `refreshing` however the task ends, even when its runtime shuts down.
        let guard = Refreshing(Arc::clone(&entry));
        tokio::spawn(async move {
            let _guard = guard;
            let result = lookup(&*source, &counters, &host).await;
            let now = clock.now();
            let mut st = entry.state.lock().unwrap_or_else(|p| p.into_inner());
            match result {
                Ok(answer) => st.store(answer, now),
                Err(e) => {
                    st.retry_at = Some(now + RETRY_AFTER);
                    st.failed(&e);
                }
            }
        });
    }
}

struct Refreshing(Arc<Entry>);

impl Drop for Refreshing {
    fn drop(&mut self) {
        let mut st = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        st.refreshing = false;
    }
}

/// One lookup, counted; an empty answer is a failure.
async fn lookup(source: &dyn Lookup, counters: &Counters, host: &str) -> Result<Answer, HttpError> {
    counters.lookups.fetch_add(1, Ordering::Relaxed);
    let result = match source.lookup(host).await {
        Ok(ips) if ips.is_empty() => Err(format!("lookup {host}: no addresses")),
        Ok(ips) => Ok(Answer::from(ips)),
        Err(e) => Err(format!("lookup {host}: {e}")),
    };
    result.map_err(|m| {
        counters.failures.fetch_add(1, Ordering::Relaxed);
        HttpError::new(codes::DNS, m)
    })
}

/// The address a new connection uses: `answer` filtered by the policy, then selected.
fn pick(
    host: &str,
    answer: &[IpAddr],
    next: &AtomicUsize,
    opts: &DnsOptions,
) -> Result<IpAddr, HttpError> {
    let v4 = answer.iter().filter(|ip| ip.is_ipv4()).count();
    let v6 = answer.len() - v4;
    let family: Option<bool> = match opts.policy {
        Policy::Any => None,
        Policy::PreferIpv4 => Some(v4 > 0),
        Policy::PreferIpv6 => Some(v6 == 0),
        Policy::OnlyIpv4 => Some(true),
        Policy::OnlyIpv6 => Some(false),
    };
    let n = match family {
        None => answer.len(),
        Some(true) => v4,
        Some(false) => v6,
    };
    if n == 0 {
        let which = match opts.policy {
            Policy::OnlyIpv4 => "no IPv4 address",
            Policy::OnlyIpv6 => "no IPv6 address",
            _ => "no addresses",
        };
        return Err(HttpError::new(
            codes::DNS,
            format!("lookup {host}: {which}"),
        ));
    }
    let i = match opts.select {
        Select::First => 0,
        Select::Random => rand::thread_rng().gen_range(0..n),
        Select::RoundRobin => next.fetch_add(1, Ordering::Relaxed) % n,
    };
    answer
        .iter()
        .filter(|ip| family.is_none_or(|v4| ip.is_ipv4() == v4))
        .nth(i)
        .copied()
        .ok_or_else(|| HttpError::new(codes::DNS, format!("lookup {host}: no addresses")))
}
