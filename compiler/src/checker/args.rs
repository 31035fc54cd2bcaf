//! Argument and field schemas as data: one table per built-in (request options, data
//! sources, scenario fields, `http = {..}` and its `dns`, `fleet { .. }` and its `resources`, threshold
//! flags). A row names what a built-in accepts and the key it stands for; the checker
//! matches on the key, so every accepted name has its own arm (the compiler enforces it)
//! and a name that is not in the table is always an error with a "did you mean".
//! Workloads keep their own table of parameters with types and defaults
//! (`workload.rs`, `WORKLOADS`), bound by `Checker::bind_args`.

use super::Checker;
use crate::ir::ModuleId;
use crate::suggest::did_you_mean;
use volley_syntax::ast::Span;
use volley_syntax::Diagnostic;

/// One name a built-in accepts and what it stands for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ArgSpec<K: 'static> {
    pub name: &'static str,
    pub key: K,
}

/// The names of a table, in its order (for "expected one of" lists).
pub(crate) fn names<K>(table: &[ArgSpec<K>]) -> Vec<&'static str> {
    table.iter().map(|a| a.name).collect()
}

/// The key of `name` in `table`, or the diagnostic `unknown(span, name, suggestion,
/// accepted)` built with the closest accepted name.
pub(crate) fn lookup<K: Copy>(
    table: &[ArgSpec<K>],
    name: &str,
    span: Span,
    unknown: impl FnOnce(Span, &str, &Option<String>, &[&str]) -> Diagnostic,
) -> Result<K, Box<Diagnostic>> {
    if let Some(a) = table.iter().find(|a| a.name == name) {
        return Ok(a.key);
    }
    let accepted = names(table);
    let s = did_you_mean(name, accepted.iter().copied());
    Err(Box::new(unknown(span, name, &s, &accepted)))
}

impl<'a> Checker<'a> {
    /// `lookup`, reporting an unknown name in `module`.
    pub(crate) fn arg_key<K: Copy>(
        &mut self,
        module: ModuleId,
        table: &[ArgSpec<K>],
        name: &str,
        span: Span,
        unknown: impl FnOnce(Span, &str, &Option<String>, &[&str]) -> Diagnostic,
    ) -> Option<K> {
        match lookup(table, name, span, unknown) {
            Ok(key) => Some(key),
            Err(d) => {
                self.emit(module, *d);
                None
            }
        }
    }
}

/// Request arguments: the target and the path (usually positional), then the options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RequestArg {
    Target,
    Path,
    Json,
    Body,
    Form,
    Query,
    Headers,
    Name,
    Timeout,
    Expect,
    Cookies,
    Compress,
    Multipart,
    Tags,
    Redirects,
}

/// The two positional arguments of a request, which may also be named.
pub(crate) const REQUEST_POSITIONAL: &[ArgSpec<RequestArg>] = &[
    ArgSpec {
        name: "target",
        key: RequestArg::Target,
    },
    ArgSpec {
        name: "path",
        key: RequestArg::Path,
    },
];

/// The named options of a request (what a "did you mean" offers).
pub(crate) const REQUEST_OPTIONS: &[ArgSpec<RequestArg>] = &[
    ArgSpec {
        name: "json",
        key: RequestArg::Json,
    },
    ArgSpec {
        name: "body",
        key: RequestArg::Body,
    },
    ArgSpec {
        name: "form",
        key: RequestArg::Form,
    },
    ArgSpec {
        name: "query",
        key: RequestArg::Query,
    },
    ArgSpec {
        name: "headers",
        key: RequestArg::Headers,
    },
    ArgSpec {
        name: "name",
        key: RequestArg::Name,
    },
    ArgSpec {
        name: "timeout",
        key: RequestArg::Timeout,
    },
    ArgSpec {
        name: "expect",
        key: RequestArg::Expect,
    },
    ArgSpec {
        name: "cookies",
        key: RequestArg::Cookies,
    },
    ArgSpec {
        name: "compress",
        key: RequestArg::Compress,
    },
    ArgSpec {
        name: "multipart",
        key: RequestArg::Multipart,
    },
    ArgSpec {
        name: "tags",
        key: RequestArg::Tags,
    },
    ArgSpec {
        name: "redirects",
        key: RequestArg::Redirects,
    },
];

/// The named arguments of `csv|json|lines("path", ..)` (the path is positional).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DataArg {
    Pick,
}

pub(crate) const DATA_ARGS: &[ArgSpec<DataArg>] = &[ArgSpec {
    name: "pick",
    key: DataArg::Pick,
}];

/// The fields of a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ScenarioField {
    Workload,
    Start,
    GracefulStop,
    Tags,
    Http,
}

pub(crate) const SCENARIO_FIELDS: &[ArgSpec<ScenarioField>] = &[
    ArgSpec {
        name: "workload",
        key: ScenarioField::Workload,
    },
    ArgSpec {
        name: "start",
        key: ScenarioField::Start,
    },
    ArgSpec {
        name: "graceful_stop",
        key: ScenarioField::GracefulStop,
    },
    ArgSpec {
        name: "tags",
        key: ScenarioField::Tags,
    },
    ArgSpec {
        name: "http",
        key: ScenarioField::Http,
    },
];

/// The fields of a scenario's `http = {..}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HttpField {
    Timeout,
    ReuseConnections,
    Http2,
    InsecureTls,
    Dns,
    Hosts,
    MaxRedirects,
    MaxBody,
    Cookies,
    Compression,
    Tls,
    Proxy,
    NoProxy,
    UserAgent,
}

pub(crate) const HTTP_FIELDS: &[ArgSpec<HttpField>] = &[
    ArgSpec {
        name: "timeout",
        key: HttpField::Timeout,
    },
    ArgSpec {
        name: "reuse_connections",
        key: HttpField::ReuseConnections,
    },
    ArgSpec {
        name: "http2",
        key: HttpField::Http2,
    },
    ArgSpec {
        name: "insecure_tls",
        key: HttpField::InsecureTls,
    },
    ArgSpec {
        name: "dns",
        key: HttpField::Dns,
    },
    ArgSpec {
        name: "hosts",
        key: HttpField::Hosts,
    },
    ArgSpec {
        name: "max_redirects",
        key: HttpField::MaxRedirects,
    },
    ArgSpec {
        name: "max_body",
        key: HttpField::MaxBody,
    },
    ArgSpec {
        name: "cookies",
        key: HttpField::Cookies,
    },
    ArgSpec {
        name: "compression",
        key: HttpField::Compression,
    },
    ArgSpec {
        name: "tls",
        key: HttpField::Tls,
    },
    ArgSpec {
        name: "proxy",
        key: HttpField::Proxy,
    },
    ArgSpec {
        name: "no_proxy",
        key: HttpField::NoProxy,
    },
    ArgSpec {
        name: "user_agent",
        key: HttpField::UserAgent,
    },
];

/// The fields of `http = {tls: {..}}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TlsField {
    Cert,
    Key,
    Ca,
    SystemRoots,
    MinVersion,
    Ciphers,
}

pub(crate) const TLS_FIELDS: &[ArgSpec<TlsField>] = &[
    ArgSpec {
        name: "cert",
        key: TlsField::Cert,
    },
    ArgSpec {
        name: "key",
        key: TlsField::Key,
    },
    ArgSpec {
        name: "ca",
        key: TlsField::Ca,
    },
    ArgSpec {
        name: "system_roots",
        key: TlsField::SystemRoots,
    },
    ArgSpec {
        name: "min_version",
        key: TlsField::MinVersion,
    },
    ArgSpec {
        name: "ciphers",
        key: TlsField::Ciphers,
    },
];

/// The fields of `http = {dns: {..}}` (k6's `dns` option).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DnsField {
    Ttl,
    Select,
    Policy,
}

pub(crate) const DNS_FIELDS: &[ArgSpec<DnsField>] = &[
    ArgSpec {
        name: "ttl",
        key: DnsField::Ttl,
    },
    ArgSpec {
        name: "select",
        key: DnsField::Select,
    },
    ArgSpec {
        name: "policy",
        key: DnsField::Policy,
    },
];

/// The fields of `fleet { .. }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FleetField {
    Runners,
    Namespace,
    Image,
    Resources,
    Placement,
    NodeSelector,
    Tolerations,
    Secrets,
    Egress,
    Cleanup,
    StartTimeout,
    Grace,
    ZoneSpread,
    Env,
    ServiceAccount,
    ImagePullSecrets,
    Labels,
    Annotations,
    PriorityClass,
    Affinity,
}

pub(crate) const FLEET_FIELDS: &[ArgSpec<FleetField>] = &[
    ArgSpec {
        name: "runners",
        key: FleetField::Runners,
    },
    ArgSpec {
        name: "namespace",
        key: FleetField::Namespace,
    },
    ArgSpec {
        name: "image",
        key: FleetField::Image,
    },
    ArgSpec {
        name: "resources",
        key: FleetField::Resources,
    },
    ArgSpec {
        name: "placement",
        key: FleetField::Placement,
    },
    ArgSpec {
        name: "node_selector",
        key: FleetField::NodeSelector,
    },
    ArgSpec {
        name: "tolerations",
        key: FleetField::Tolerations,
    },
    ArgSpec {
        name: "secrets",
        key: FleetField::Secrets,
    },
    ArgSpec {
        name: "egress",
        key: FleetField::Egress,
    },
    ArgSpec {
        name: "cleanup",
        key: FleetField::Cleanup,
    },
    ArgSpec {
        name: "start_timeout",
        key: FleetField::StartTimeout,
    },
    ArgSpec {
        name: "grace",
        key: FleetField::Grace,
    },
    ArgSpec {
        name: "zone_spread",
        key: FleetField::ZoneSpread,
    },
    ArgSpec {
        name: "env",
        key: FleetField::Env,
    },
    ArgSpec {
        name: "service_account",
        key: FleetField::ServiceAccount,
    },
    ArgSpec {
        name: "image_pull_secrets",
        key: FleetField::ImagePullSecrets,
    },
    ArgSpec {
        name: "labels",
        key: FleetField::Labels,
    },
    ArgSpec {
        name: "annotations",
        key: FleetField::Annotations,
    },
    ArgSpec {
        name: "priority_class",
        key: FleetField::PriorityClass,
    },
    ArgSpec {
        name: "affinity",
        key: FleetField::Affinity,
    },
];

/// The fields of `fleet { resources = {..} }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResourceField {
    Cpu,
    Memory,
    /// The coordinator's own `{cpu, memory}` (the flat keys set both roles).
    Coordinator,
    /// The runners' own `{cpu, memory}`.
    Runners,
}

pub(crate) const RESOURCE_FIELDS: &[ArgSpec<ResourceField>] = &[
    ArgSpec {
        name: "cpu",
        key: ResourceField::Cpu,
    },
    ArgSpec {
        name: "memory",
        key: ResourceField::Memory,
    },
    ArgSpec {
        name: "coordinator",
        key: ResourceField::Coordinator,
    },
    ArgSpec {
        name: "runners",
        key: ResourceField::Runners,
    },
];

/// The fields of one role's resources (`resources = {coordinator: {cpu:, memory:}}`).
pub(crate) const ROLE_RESOURCE_FIELDS: &[ArgSpec<ResourceField>] = &[
    ArgSpec {
        name: "cpu",
        key: ResourceField::Cpu,
    },
    ArgSpec {
        name: "memory",
        key: ResourceField::Memory,
    },
];

/// The fields of `fleet.affinity`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AffinityField {
    NodeRequired,
    NodePreferred,
    PodAffinity,
    PodAntiAffinity,
}

pub(crate) const AFFINITY_FIELDS: &[ArgSpec<AffinityField>] = &[
    ArgSpec {
        name: "node_required",
        key: AffinityField::NodeRequired,
    },
    ArgSpec {
        name: "node_preferred",
        key: AffinityField::NodePreferred,
    },
    ArgSpec {
        name: "pod_affinity",
        key: AffinityField::PodAffinity,
    },
    ArgSpec {
        name: "pod_anti_affinity",
        key: AffinityField::PodAntiAffinity,
    },
];

/// The fields of a node match expression (`{key:, operator:, values:, weight:}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExpressionField {
    Key,
    Operator,
    Values,
    Weight,
}

pub(crate) const EXPRESSION_FIELDS: &[ArgSpec<ExpressionField>] = &[
    ArgSpec {
        name: "key",
        key: ExpressionField::Key,
    },
    ArgSpec {
        name: "operator",
        key: ExpressionField::Operator,
    },
    ArgSpec {
        name: "values",
        key: ExpressionField::Values,
    },
    ArgSpec {
        name: "weight",
        key: ExpressionField::Weight,
    },
];

/// The fields of a pod (anti-)affinity term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PodTermField {
    Labels,
    TopologyKey,
    Weight,
    Namespaces,
}

pub(crate) const POD_TERM_FIELDS: &[ArgSpec<PodTermField>] = &[
    ArgSpec {
        name: "labels",
        key: PodTermField::Labels,
    },
    ArgSpec {
        name: "topology_key",
        key: PodTermField::TopologyKey,
    },
    ArgSpec {
        name: "weight",
        key: PodTermField::Weight,
    },
    ArgSpec {
        name: "namespaces",
        key: PodTermField::Namespaces,
    },
];

/// The flags of a threshold after its conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ThresholdFlag {
    AbortOnFail,
    DelayAbortEval,
}

pub(crate) const THRESHOLD_FLAGS: &[ArgSpec<ThresholdFlag>] = &[
    ArgSpec {
        name: "abort_on_fail",
        key: ThresholdFlag::AbortOnFail,
    },
    ArgSpec {
        name: "delay_abort_eval",
        key: ThresholdFlag::DelayAbortEval,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table: names unique, and each key named exactly once (so no two rows share
    /// an arm and no arm is unreachable from the table).
    #[test]
    fn tables_have_unique_names_and_keys() {
        fn check<K: std::fmt::Debug + PartialEq>(table: &[ArgSpec<K>]) {
            for (i, a) in table.iter().enumerate() {
                for b in &table[i + 1..] {
                    assert_ne!(a.name, b.name, "duplicate name");
                    assert_ne!(a.key, b.key, "two names for one key");
                }
            }
        }
        let mut request: Vec<ArgSpec<RequestArg>> = REQUEST_POSITIONAL.to_vec();
        request.extend_from_slice(REQUEST_OPTIONS);
        check(&request);
        check(DATA_ARGS);
        check(SCENARIO_FIELDS);
        check(HTTP_FIELDS);
        check(DNS_FIELDS);
        check(FLEET_FIELDS);
        check(RESOURCE_FIELDS);
        check(ROLE_RESOURCE_FIELDS);
        check(AFFINITY_FIELDS);
        check(EXPRESSION_FIELDS);
        check(POD_TERM_FIELDS);
        check(THRESHOLD_FLAGS);
    }

    #[test]
    fn an_unknown_name_is_an_error_with_a_suggestion() {
        let span = Span::new(3, 9);
        let d = lookup(FLEET_FIELDS, "zone_sprad", span, |sp, n, s, acc| {
            assert_eq!(acc.len(), FLEET_FIELDS.len());
            crate::codes::unknown_field(sp, "fleet", n, s, acc)
        })
        .expect_err("unknown");
        assert_eq!(d.code, crate::codes::Code::E0301.as_str());
        assert!(d.help.as_deref().is_some_and(|h| h.contains("zone_spread")));
        assert_eq!(
            lookup(FLEET_FIELDS, "zone_spread", span, |sp, n, s, acc| {
                crate::codes::unknown_field(sp, "fleet", n, s, acc)
            })
            .ok(),
            Some(FleetField::ZoneSpread)
        );
    }
}
