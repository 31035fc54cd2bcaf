//! The linter: static checks that catch, before anything runs, the test designs that make
//! distributed load tests lie (SPEC §4). It reads the typed IR and the plan of a file that
//! compiled, and returns findings as `Diagnostic`s with `L…` codes.
//!
//! * [`RULES`] is the registry: one line per rule. Each rule lives in its own file under
//!   `rules/`, with its documentation as the file's `//!` comment (what, why, a bad and a
//!   good example: the `docs/lints/` pages are generated from it, see [`docs`]), its code,
//!   default severity and unit tests.
//! * [`provenance`] answers "where did this value come from?" for every value a request
//!   sends; most rules read its [`provenance::Facts`].
//! * `// volley: allow(L0101) reason` silences a finding on the same or the next line
//!   ([`allow`]); [`Config`] holds the severities a project's `volley.toml` sets (the CLI
//!   reads the file and passes its text: nothing here does IO).
//!
//! It must not render, print or read files.

pub mod allow;
mod context;
pub mod docs;
pub mod provenance;
mod rules;

pub use context::LintCx;

use crate::ir;
use std::collections::BTreeMap;
use volley_syntax::{Diagnostic, Severity};

/// One lint rule: its identity, documentation and check.
pub struct Rule {
    /// `L0101`.
    pub code: &'static str,
    /// `shared-identity`.
    pub name: &'static str,
    pub severity: Severity,
    /// One line, for the index and SARIF's short description.
    pub summary: &'static str,
    /// The rule's source file; its `//!` comment is the documentation.
    pub source: &'static str,
    /// Adds its findings (severity is applied afterwards).
    pub check: fn(&LintCx, &mut Vec<Diagnostic>),
}

impl Rule {
    /// The documentation: the rule file's `//!` comment, as markdown.
    pub fn doc(&self) -> String {
        docs::module_doc(self.source)
    }
}

/// The registry: every rule, in code order. `L00xx` check allow comments (their findings
/// come from [`allow::apply`]); `L01xx` check the test's design.
pub const RULES: &[&Rule] = &[
    &allow::L0001,
    &allow::L0002,
    &allow::L0003,
    &rules::l0101_shared_identity::RULE,
    &rules::l0102_per_pod_identity::RULE,
    &rules::l0103_too_little_unique_data::RULE,
    &rules::l0104_unique_data_may_run_out::RULE,
    &rules::l0105_identity_shared_by_design::RULE,
    &rules::l0106_per_pod_state::RULE,
    &rules::l0107_undeclared_host::RULE,
    &rules::l0108_target_outside_egress::RULE,
    &rules::l0109_plaintext_secret::RULE,
    &rules::l0110_secret_in_clear::RULE,
    &rules::l0111_starved_runner::RULE,
    &rules::l0112_open_model_without_headroom::RULE,
    &rules::l0113_unreachable_threshold::RULE,
    &rules::l0114_no_thresholds::RULE,
    &rules::l0115_uneven_split::RULE,
    &rules::l0116_closed_loop_without_pause::RULE,
    &rules::l0117_status_outside_expect::RULE,
    &rules::l0118_idle_runner::RULE,
    &rules::l0119_busy_iteration::RULE,
    &rules::l0120_high_cardinality_tag::RULE,
    &rules::l0130_unclosed_ws_session::RULE,
];

/// The rule with this code.
pub fn rule(code: &str) -> Option<&'static Rule> {
    RULES.iter().copied().find(|r| r.code == code)
}

/// Severities set by the project (`volley.toml` `[lints]`); `None` turns a rule off.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    pub severities: BTreeMap<String, Option<Severity>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    lints: BTreeMap<String, String>,
}

/// Why a `volley.toml` was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not TOML, or a table other than `[lints]` (the message is toml's, without its
    /// source excerpt).
    #[error("{}", .0.message())]
    Toml(#[source] toml::de::Error),
    #[error("[lints] names an unknown rule `{code}`{hint}")]
    UnknownRule { code: String, hint: String },
    #[error("[lints] {code} = \"{level}\": use \"error\", \"warning\", \"info\" or \"off\"")]
    UnknownLevel { code: String, level: String },
}

impl Config {
    /// Reads the text of a `volley.toml`: `[lints]` with `L0101 = "error"|"warning"|"info"|"off"`.
    /// Other tables are refused, so a typo does not silently do nothing.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let file: ConfigFile = toml::from_str(text).map_err(ConfigError::Toml)?;
        let mut severities = BTreeMap::new();
        for (code, level) in file.lints {
            if rule(&code).is_none() {
                let known: Vec<&str> = RULES.iter().map(|r| r.code).collect();
                let hint = crate::suggest::did_you_mean(&code, known.iter().copied())
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                return Err(ConfigError::UnknownRule { code, hint });
            }
            let sev = match level.as_str() {
                "error" => Some(Severity::Error),
                "warning" => Some(Severity::Warning),
                "info" => Some(Severity::Info),
                "off" => None,
                _ => return Err(ConfigError::UnknownLevel { code, level }),
            };
            severities.insert(code, sev);
        }
        Ok(Config { severities })
    }

    /// The severity of `rule` in this project; `None` when it is off.
    pub fn severity(&self, rule: &Rule) -> Option<Severity> {
        match self.severities.get(rule.code) {
            Some(s) => *s,
            None => Some(rule.severity),
        }
    }
}

/// Lints a program that compiled: every rule's findings, severities applied, allow
/// comments honoured, sorted by file and position and without duplicates.
pub fn lint(prog: &ir::Program, plan: &volley_plan::Plan, config: &Config) -> Vec<Diagnostic> {
    let cx = LintCx::new(prog, plan);
    let mut found: Vec<Diagnostic> = Vec::new();
    for r in RULES.iter().filter(|r| !r.code.starts_with("L00")) {
        let Some(sev) = config.severity(r) else {
            continue;
        };
        let mut out = Vec::new();
        (r.check)(&cx, &mut out);
        for mut d in out {
            d.code = r.code.to_string();
            // A rule may raise one finding above its default (L0109: a credential in a
            // known format is an error); that finding stays at least that severe.
            d.severity = if d.severity > r.severity {
                d.severity.max(sev)
            } else {
                sev
            };
            found.push(d);
        }
    }
    dedupe(&mut found);
    for d in &mut found {
        call_sites(&cx, d);
    }
    let mut out = allow::apply(prog, found, config);
    out.sort_by(|a, b| {
        let key = |d: &Diagnostic| {
            let m = prog.modules.iter().position(|m| m.file == d.file);
            (m, d.span().map(|s| s.start), d.code.clone())
        };
        key(a).cmp(&key(b))
    });
    out
}

/// A finding inside an imported flow (a library file) also names the calls that reach it
/// from a scenario in another file: that call is what makes the code there a problem (and
/// the file a pull request changes). One related place per calling scenario and call.
fn call_sites(cx: &LintCx, d: &mut Diagnostic) {
    let Some(span) = d.span() else { return };
    let overlaps = |l: ir::Loc| {
        cx.file(l) == d.file
            && l.span.start < span.end.max(span.start + 1)
            && span.start < l.span.end.max(l.span.start + 1)
    };
    let mut seen = std::collections::BTreeSet::new();
    for site in cx.facts.sites.iter().filter(|s| !s.calls.is_empty()) {
        let mut reached = vec![site.loc];
        reached.extend(
            site.fields
                .iter()
                .flat_map(|f| f.prov.parts.iter().map(|p| p.loc)),
        );
        reached.extend(site.guards.iter().map(|(_, l)| *l));
        if !reached.into_iter().any(overlaps) {
            continue;
        }
        // The outermost call written outside the finding's file.
        let Some(call) = site
            .calls
            .iter()
            .find(|c| cx.file(**c) != d.file && !cx.in_std(**c))
        else {
            continue;
        };
        if !seen.insert((call.module, call.span.start, call.span.end)) {
            continue;
        }
        let text = match site.scenario {
            Some(s) => format!(
                "called here by scenario `{}` (up to {} VUs at once)",
                cx.scenario(s).name,
                cx.peak_vus(s)
            ),
            None => "called here".to_string(),
        };
        d.related.push(volley_syntax::Related {
            file: cx.file(*call).to_string(),
            span: call.span,
            text,
        });
    }
}

/// One finding per code and primary span.
fn dedupe(found: &mut Vec<Diagnostic>) {
    let mut seen = std::collections::BTreeSet::new();
    found.retain(|d| {
        let s = d.span().unwrap_or_default();
        seen.insert((d.code.clone(), d.file.clone(), s.start, s.end))
    });
}

#[cfg(test)]
mod tests;
