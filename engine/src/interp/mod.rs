//! The VU interpreter: runs a scenario's `init` and `iteration` code, flows, setup and
//! teardown for one virtual user, recording every sample into its worker's metrics shard.
//!
//! A [`Vu`] lives on one worker thread (it owns a `!Send` HTTP client) and runs one
//! iteration at a time. Locals live on one flat stack: a scenario's frame (whose `init`
//! slots keep their values for the VU's life) at the bottom, a frame per flow call above
//! it. The executor may drop an iteration's future at any await point (graceful stop,
//! ramp-down, abort): the next iteration resets the stack and the group path, so an
//! interrupted iteration leaves nothing behind.
//!
//! How iterations end (see [`Outcome`]):
//! * normally: `iterations` +1 and `iteration_duration` recorded;
//! * a false `require`: its `checks` sample is recorded (false) and the rest of the
//!   iteration is skipped; a failed iteration is not counted in `iterations` and records
//!   no `iteration_duration` (its failed check is what shows it; k6's `fail()` stops the
//!   iteration the same way);
//! * a runtime error (a `.string()` on a missing JSON value, a division by zero, a unique
//!   data source out of rows): the same, plus a failed `checks` sample whose `check` tag
//!   names the error without any data in it (`json: token is not a string`), and the
//!   detail on stderr (rate-limited, secrets redacted);
//! * `unique_per_iteration` data out of rows, or `unique` data with no row for this VU:
//!   as a runtime error, and the VU stops (later iterations could not get a row either).
//!
//! A scenario's `init` runs once per VU just before its first iteration, inside that
//! iteration's slot (its time is not part of `iteration_duration`), with no
//! `test.iteration` (see [`crate::data`]). If `init` fails, that iteration fails (its
//! body does not run) and `init` runs again before the VU's next iteration.
//!
//! This module must not decide when iterations happen (the executor's job) or know how
//! samples are aggregated (the metrics module's).

mod bodies;
pub mod code;
mod error;
mod eval;
mod exec;
pub(crate) mod grpc;
mod html;
mod intrinsic;
mod log;
mod ops;
pub mod record;
mod request;
mod tags;
mod text;
mod tls;
mod ws;

pub use code::Program;
pub use error::{HookError, ProgramError};
pub use log::LogLimiter;
pub use record::Recorder;

use crate::data::{DataError, Feeder};
use crate::http::{
    ClientOptions, DnsOptions, Hosts, Policy, Proxies, Resolver, Select, TlsConfig, VuClient,
};
use crate::metrics::Registry;
use crate::value::Value;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};
use volley_plan::segment::Segment;
use volley_plan::Plan;

/// Everything VUs share read-only for a run, on every worker thread.
pub struct Shared {
    pub plan: Arc<Plan>,
    pub program: Program,
    /// Secret values by index (each a `Value::Secret`).
    pub secrets: Vec<Value>,
    /// Setup's values (`Expr::Setup(i)`), set once setup has run (empty without setup).
    pub setup_values: OnceLock<Arc<[Value]>>,
    pub feeders: Arc<[Feeder]>,
    pub log: LogLimiter,
    pub resolver: Arc<Resolver>,
    pub tls: Arc<TlsConfig>,
    /// TLS per scenario (its `http.tls`, else `tls`), then one for setup and teardown.
    pub scenario_tls: Vec<Arc<TlsConfig>>,
    pub segment: Segment,
    /// HTTP options per scenario, then one for setup and teardown.
    pub client_options: Vec<Arc<ClientOptions>>,
    /// Whether any code reads a response body (else every body is streamed and
    /// discarded; see `bodies`).
    pub keep_bodies: bool,
    /// The run's metrics (built-ins and the plan's own).
    pub registry: Arc<Registry>,
    /// When this process sent its first scenario request (a fleet's start skew is
    /// measured from it).
    pub first_request: Arc<OnceLock<SystemTime>>,
    /// When this process's workers started the scenarios, woken at the start instant (a
    /// fleet's start skew and start offsets are measured from it).
    pub started: Arc<OnceLock<SystemTime>>,
    /// In a fleet: the instant each `start = after(..)` scenario is released fleet-wide
    /// (by scenario index), set by the coordinator. `None` runs barriers locally.
    pub barrier: Option<tokio::sync::watch::Receiver<BTreeMap<u32, Instant>>>,
}

impl Shared {
    /// Prepares the plan's code and shared state. `secrets` are the secret values in
    /// `plan.secrets` order (read from the environment by the caller).
    pub fn new(
        plan: Arc<Plan>,
        secrets: Vec<String>,
        segment: Segment,
    ) -> Result<Shared, ProgramError> {
        let program = Program::new(&plan)?;
        let tls = TlsConfig::new().map_err(ProgramError::Tls)?;
        let scenario_tls = tls::configs(&plan, &secrets, &tls)?;
        let proxies = proxies(&plan, |k| std::env::var(k).ok())?;
        let origins = redirect_origins(&plan);
        let mut client_options: Vec<Arc<ClientOptions>> = plan
            .scenarios
            .iter()
            .zip(&proxies)
            .map(|(s, proxy)| {
                Arc::new(ClientOptions {
                    timeout: Duration::from_millis(s.http.timeout_ms.max(1)),
                    reuse_connections: s.http.reuse_connections,
                    http2: s.http.http2,
                    insecure_tls: s.http.insecure_tls,
                    max_redirects: s.http.max_redirects,
                    max_body: s.http.max_body,
                    redirect_origins: Some(Arc::clone(&origins)),
                    dns: dns_options(&s.http.dns, &s.http.hosts),
                    proxy: proxy.clone(),
                    compression: s.http.compression,
                    user_agent: match &s.http.user_agent {
                        Some(agent) => agent.clone(),
                        None => ClientOptions::default().user_agent,
                    },
                })
            })
            .collect();
        // Setup and teardown see every scenario's fixed hosts (the first one's wins).
        let mut hosts = BTreeMap::new();
        for s in &plan.scenarios {
            for (name, addrs) in &s.http.hosts {
                hosts.entry(name.clone()).or_insert_with(|| addrs.clone());
            }
        }
        client_options.push(Arc::new(ClientOptions {
            redirect_origins: Some(origins),
            proxy: proxies.last().cloned().flatten(),
            dns: dns_options(&volley_plan::DnsOptions::default(), &hosts),
            ..ClientOptions::default()
        }));
        Ok(Shared {
            feeders: crate::data::feeders(&plan.data),
            program,
            secrets: secrets
                .into_iter()
                .map(|s| Value::Secret(Arc::from(s)))
                .collect(),
            setup_values: OnceLock::new(),
            log: LogLimiter::new(),
            resolver: Resolver::new(),
            tls,
            scenario_tls,
            segment,
            client_options,
            keep_bodies: bodies::reads_bodies(&plan),
            registry: Registry::new(&plan.metrics),
            first_request: Arc::default(),
            started: Arc::default(),
            barrier: None,
            plan,
        })
    }

    fn setup_value(&self, i: u32) -> Value {
        self.setup_values
            .get()
            .and_then(|v| v.get(i as usize).cloned())
            .unwrap_or(Value::Null)
    }
}

/// The client's DNS options from the plan's `http.dns` and `http.hosts` (addresses the
/// compiler checked; one that does not parse is skipped).
fn dns_options(dns: &volley_plan::DnsOptions, hosts: &BTreeMap<String, Vec<String>>) -> DnsOptions {
    use volley_plan::{DnsPolicy as P, DnsSelect as S};
    let fixed: Hosts = hosts
        .iter()
        .map(|(name, addrs)| {
            let ips: Vec<std::net::IpAddr> = addrs.iter().filter_map(|a| a.parse().ok()).collect();
            (name.clone(), Arc::from(ips))
        })
        .collect();
    DnsOptions {
        ttl: dns.ttl_ms.map(Duration::from_millis),
        select: match dns.select {
            S::First => Select::First,
            S::Random => Select::Random,
            S::RoundRobin => Select::RoundRobin,
        },
        policy: match dns.policy {
            P::PreferIpv4 => Policy::PreferIpv4,
            P::PreferIpv6 => Policy::PreferIpv6,
            P::OnlyIpv4 => Policy::OnlyIpv4,
            P::OnlyIpv6 => Policy::OnlyIpv6,
            P::Any => Policy::Any,
        },
        hosts: (!fixed.is_empty()).then(|| Arc::new(fixed)),
    }
}

/// Each scenario's proxies (its `http.proxy`, else the environment's, read by `var`), then
/// setup and teardown's: the first scenario's own `proxy`, else the environment's.
fn proxies(
    plan: &Plan,
    var: impl Fn(&str) -> Option<String> + Copy,
) -> Result<Vec<Option<Arc<Proxies>>>, ProgramError> {
    let one = |proxy: Option<&str>, no_proxy: &[String]| match proxy {
        Some(p) => Proxies::explicit(p, no_proxy).map(|p| Some(Arc::new(p))),
        None => Proxies::from_env(var, no_proxy).map(|p| p.map(Arc::new)),
    };
    let mut out = Vec::with_capacity(plan.scenarios.len() + 1);
    for s in &plan.scenarios {
        let p = one(s.http.proxy.as_deref(), &s.http.no_proxy)
            .map_err(|e| ProgramError::Proxy(scenario_error(e, &s.name)))?;
        out.push(p);
    }
    let first = plan.scenarios.iter().find(|s| s.http.proxy.is_some());
    let hooks = match first {
        Some(s) => one(s.http.proxy.as_deref(), &s.http.no_proxy),
        None => one(None, &[]),
    };
    out.push(hooks.map_err(ProgramError::Proxy)?);
    Ok(out)
}

fn scenario_error(e: crate::http::HttpError, scenario: &str) -> crate::http::HttpError {
    crate::http::HttpError::new(e.code, format!("scenario {scenario}: {}", e.message))
}

/// The (host, port) of every declared target: the only places a redirect may lead.
fn redirect_origins(plan: &Plan) -> Arc<[(String, u16)]> {
    plan.targets
        .iter()
        .filter_map(|t| {
            let url = url::Url::parse(&t.url).ok()?;
            Some((url.host_str()?.to_owned(), url.port_or_known_default()?))
        })
        .collect()
}

/// Which code a VU runs: a scenario's, or setup/teardown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Scenario(usize),
    Setup,
    Teardown,
}

/// Who a VU is (see the executor for how ids are assigned).
#[derive(Clone, Copy, Debug)]
pub struct Identity {
    /// `vu.id`: fleet-wide, 1-based (0 for setup/teardown).
    pub id: u64,
    /// `vu.local_id`: 1-based on this runner.
    pub local_id: u64,
}

/// One iteration's permission to run.
#[derive(Clone, Copy, Debug)]
pub struct Ticket {
    /// `test.iteration`.
    pub test_iteration: u64,
    /// When the iteration was due (open models): the first request's latency counts from
    /// here, so queueing behind busy VUs is not hidden (coordinated omission).
    pub due: Option<Instant>,
}

/// How an iteration ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    /// Ended by a false `require` or a runtime error (not counted in `iterations`).
    Failed,
    /// Failed, and the VU cannot run any further iteration (out of data).
    StopVu,
}

/// Why code stopped before its end.
#[derive(Debug)]
pub(crate) enum Halt {
    /// A false `require`, by name (its check is already recorded).
    Require(Arc<str>),
    /// A runtime error: the failed check to record (bounded text) and the detail to log.
    Error { check: String, detail: String },
    /// A data source could not give a row.
    Data(DataError),
}

impl Halt {
    pub(crate) fn error(check: impl Into<String>, detail: impl Into<String>) -> Halt {
        Halt::Error {
            check: check.into(),
            detail: detail.into(),
        }
    }
}

pub(crate) type R<T> = Result<T, Halt>;

/// One virtual user.
pub struct Vu {
    pub(crate) shared: Arc<Shared>,
    pub(crate) rec: Recorder,
    pub(crate) client: VuClient,
    pub(crate) role: Role,
    pub(crate) ident: Identity,
    pub(crate) scenario_name: Arc<str>,
    /// `vu.iteration` of the iteration running (or next).
    pub(crate) iteration: u64,
    pub(crate) test_iteration: Option<u64>,
    pub(crate) stack: Vec<Value>,
    pub(crate) base: usize,
    pub(crate) rng: SmallRng,
    pub(crate) cursors: Vec<u64>,
    /// The group path (`a::b`), `None` outside groups.
    pub(crate) group: Option<Arc<str>>,
    /// The due instant, until the first request takes it.
    pub(crate) due: Option<Instant>,
    /// gRPC channels by target (`grpc.invoke`), made on first use.
    pub(crate) grpc: grpc::Channels,
    initialized: bool,
}

impl Vu {
    pub fn new(shared: Arc<Shared>, rec: Recorder, role: Role, ident: Identity) -> Vu {
        let (opts, tls, name, frame) = match role {
            Role::Scenario(i) => (
                shared.client_options.get(i),
                shared.scenario_tls.get(i),
                shared.plan.scenarios.get(i).map(|s| s.name.as_str()),
                shared.program.scenarios.get(i).map_or(0, |s| s.frame_size),
            ),
            Role::Setup => (None, None, Some("setup"), 0),
            Role::Teardown => (None, None, Some("teardown"), 0),
        };
        let opts = opts
            .or(shared.client_options.last())
            .cloned()
            .unwrap_or_default();
        let tls = tls.or(shared.scenario_tls.last()).unwrap_or(&shared.tls);
        let client = VuClient::new(opts, Arc::clone(&shared.resolver), Arc::clone(tls));
        Vu {
            scenario_name: Arc::from(name.unwrap_or("")),
            cursors: vec![0; shared.feeders.len()],
            stack: vec![Value::Null; frame as usize],
            shared,
            rec,
            client,
            role,
            ident,
            iteration: 0,
            test_iteration: None,
            base: 0,
            rng: SmallRng::from_entropy(),
            group: None,
            due: None,
            grpc: grpc::Channels::default(),
            initialized: false,
        }
    }

    pub fn recorder(&mut self) -> &mut Recorder {
        &mut self.rec
    }

    /// Runs one iteration of the VU's scenario (and its `init` first, if not done yet),
    /// recording its samples. Safe to drop at any await point.
    pub async fn run_iteration(&mut self, ticket: Ticket) -> Outcome {
        let Role::Scenario(index) = self.role else {
            return Outcome::StopVu;
        };
        let shared = Arc::clone(&self.shared);
        let Some(code) = shared.program.scenarios.get(index) else {
            return Outcome::StopVu;
        };
        self.reset(code.frame_size as usize);
        self.due = ticket.due;
        let per_vu = self
            .shared
            .plan
            .scenarios
            .get(index)
            .is_some_and(|s| s.http.cookies == volley_plan::CookieReset::PerVu);
        if !per_vu && self.iteration > 0 {
            // k6: every iteration starts with an empty jar (cookies of `init` reach the
            // first iteration only).
            self.client.clear_cookies();
        }
        let outcome = if !self.initialized {
            // `init` runs outside any iteration: no `test.iteration` (see `data`).
            self.test_iteration = None;
            match self.exec(&code.init).await {
                Ok(_) => {
                    self.initialized = true;
                    None
                }
                Err(h) => Some(self.halted(h)),
            }
        } else {
            None
        };
        let outcome = match outcome {
            Some(o) => o,
            None => {
                self.test_iteration = Some(ticket.test_iteration);
                let started = Instant::now();
                match self.exec_stmts(&code.iteration).await {
                    Ok(_) => {
                        self.rec.iteration(ms(started.elapsed()));
                        Outcome::Completed
                    }
                    Err(h) => self.halted(h),
                }
            }
        };
        self.iteration += 1;
        outcome
    }

    /// Runs setup or teardown code once; returns the setup values it produced (see
    /// [`Program::setup_values`]) or why it stopped (its samples are recorded).
    pub async fn run_function(&mut self, f: &code::Function) -> Result<Vec<Value>, HookError> {
        self.reset(0);
        self.stack.resize(f.frame_size as usize, Value::Null);
        match self.exec(&f.body).await {
            Ok(flow) => {
                let returned = match flow {
                    exec::Flow::Return(v) => Some(v),
                    exec::Flow::Next | exec::Flow::Break | exec::Flow::Continue => None,
                };
                let frame = std::mem::take(&mut self.stack);
                Ok(self.shared.program.setup_values(&frame, returned))
            }
            Err(Halt::Require(check)) => Err(HookError::Require {
                function: Arc::clone(&f.name),
                check,
            }),
            Err(Halt::Error { detail, .. }) => Err(HookError::Runtime {
                function: Arc::clone(&f.name),
                detail,
            }),
            Err(Halt::Data(source)) => Err(HookError::Data {
                function: Arc::clone(&f.name),
                source,
            }),
        }
    }

    /// Clears what an interrupted run may have left: flow frames, the group path.
    fn reset(&mut self, frame: usize) {
        self.stack.truncate(frame);
        self.stack.resize(frame, Value::Null);
        self.base = 0;
        self.group = None;
        self.due = None;
    }

    /// Records how an iteration stopped early and what it means for the VU.
    fn halted(&mut self, h: Halt) -> Outcome {
        let stop = match h {
            Halt::Require(_) => false,
            Halt::Error { check, detail } => {
                self.rec.check(&self.group, &Arc::from(check), false);
                self.shared
                    .log
                    .write(log::Line::IterationError, self.ident.id, &detail);
                false
            }
            Halt::Data(e) => {
                self.rec.check(&self.group, &Arc::from(e.check), false);
                self.shared
                    .log
                    .write(log::Line::IterationError, self.ident.id, &e.message);
                e.stop_vu
            }
        };
        if stop {
            Outcome::StopVu
        } else {
            Outcome::Failed
        }
    }

    /// The VU's id, for logs.
    pub fn id(&self) -> u64 {
        self.ident.id
    }

    /// Keeps the first occurrence of error `code` for the summary's errors section: a
    /// request, session or call named `name` to the plan's target number `target`, which
    /// failed with `message` (the client's words; secrets are redacted here, as they
    /// could be in a URL the message quotes).
    fn first_error_at(&mut self, code: u32, name: &str, target: usize, message: &str) {
        let targets = &self.shared.plan.targets;
        let target = targets.get(target).map_or("", |t| t.name.as_str());
        let message = redact(message, &self.shared.secrets);
        self.rec.first_error(code, name, target, message);
    }
}

/// `text` with every secret value in it, as written or percent-encoded (as a URL carries
/// it), replaced by `***`, cut to [`crate::errors::MESSAGE_CHARS`] characters.
fn redact(text: &str, secrets: &[Value]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        let Value::Secret(v) = s else { continue };
        if v.is_empty() {
            continue;
        }
        out = out.replace(&**v, "***");
        let encoded = percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
        if encoded != **v {
            out = out.replace(&encoded, "***");
        }
    }
    match out.char_indices().nth(crate::errors::MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &out[..cut]),
        None => out,
    }
}

/// A duration in (fractional) milliseconds.
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod redact_tests {
    use super::{redact, Value};
    use std::sync::Arc;

    #[test]
    fn secrets_are_redacted_as_written_and_percent_encoded_and_long_text_is_cut() {
        let secrets = [
            Value::Secret(Arc::from("s3cr3t")),
            Value::Secret(Arc::from("a b/c")),
            Value::Secret(Arc::from("")),
        ];
        assert_eq!(
            redact(
                "no host in http://x/?k=s3cr3t&j=a%20b%2Fc and a b/c",
                &secrets
            ),
            "no host in http://x/?k=***&j=*** and ***"
        );
        let long = "é".repeat(300);
        let cut = redact(&long, &secrets);
        assert_eq!(cut.chars().count(), crate::errors::MESSAGE_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
