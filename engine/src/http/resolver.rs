//! DNS resolution, cached for the whole run and shared by every VU on every thread.
//!
//! A host name is looked up once (the first time any VU opens a connection to it) and the
//! answer is kept until the run ends, like k6 with `dns: cached`. IPv4 addresses are
//! preferred (k6's default `preferIPv4` policy). Failures are not cached: the next new
//! connection tries again. IP literals never reach the system resolver. The resolver is hit
//! only when a connection is opened, so a mutex around the map costs nothing that matters.
//! It must not be called per request.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::error::{codes, HttpError};

/// The run's DNS cache; see the module docs.
#[derive(Debug, Default)]
pub struct Resolver {
    hosts: Mutex<HashMap<String, Arc<OnceCell<IpAddr>>>>,
    lookups: AtomicU64,
}

impl Resolver {
    /// An empty cache, to be shared by every client of the run.
    pub fn new() -> Arc<Self> {
        Arc::new(Resolver::default())
    }

    /// The address of `host:port`. `host` is a domain name or an IP literal (IPv6 with or
    /// without brackets). Errors carry code 1100.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<SocketAddr, HttpError> {
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, port));
        }
        let cell = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
            match hosts.get(host) {
                Some(cell) => Arc::clone(cell),
                None => {
                    let cell = Arc::new(OnceCell::new());
                    hosts.insert(host.to_owned(), Arc::clone(&cell));
                    cell
                }
            }
        };
        let ip = cell.get_or_try_init(|| self.lookup(host)).await?;
        Ok(SocketAddr::new(*ip, port))
    }

    /// How many times the system resolver was asked (for tests and diagnostics).
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    async fn lookup(&self, host: &str) -> Result<IpAddr, HttpError> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
            .await
            .map_err(|e| HttpError::new(codes::DNS, format!("lookup {host}: {e}")))?
            .collect();
        addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or_else(|| addrs.first())
            .map(|a| a.ip())
            .ok_or_else(|| HttpError::new(codes::DNS, format!("lookup {host}: no addresses")))
    }
}
