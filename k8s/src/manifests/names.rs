//! Names and labels of a run's objects: the run id (plan name + short content hash,
//! DNS-1123 safe), every object's name derived from it, and the `app.kubernetes.io/*`
//! labels. Pure string arithmetic; it must not build objects.

use std::collections::BTreeMap;
use volley_plan::Plan;

/// The port of the coordinator's protocol (docs/protocol.md), for this run's runners.
pub const PORT: i32 = 6565;
/// The coordinator's status port: `/healthz`, `/status`, `/summary`, `/metrics` and
/// `POST /v1/abort`, for probes and the API server's service proxy.
pub const STATUS_PORT: i32 = 6566;
/// The label every object of a run carries, with the run id as value.
pub const RUN_LABEL: &str = "volley.dev/run";
/// The annotation carrying the full plan hash.
pub const PLAN_HASH_ANNOTATION: &str = "volley.dev/plan-hash";
/// The label of the role of an object (`coordinator`, `runner`, …).
pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
/// The longest base name kept in a run id: with `-` and 8 hex digits the id is at most 40
/// characters, so `ID-coordinator` and `ID-slice-9999-255` stay within 63.
const MAX_BASE: usize = 31;

/// The names of one run's objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    /// `checkout-1a2b3c4d`: the plan name and the first 8 hex digits of its content hash.
    pub run: String,
    /// The DNS-safe plan name (`checkout`), the `app.kubernetes.io/part-of` value.
    pub base: String,
}

impl Names {
    pub fn new(plan: &Plan) -> Names {
        let base = dns_base(&plan.name);
        let hash = volley_plan::content_hash(plan);
        let short: String = hash.trim_start_matches("sha256:").chars().take(8).collect();
        Names {
            run: format!("{base}-{short}"),
            base,
        }
    }

    /// The names of an existing run, from its id (`checkout-1a2b3c4d`).
    pub fn from_run(run: &str) -> Names {
        let base = match run.rsplit_once('-') {
            Some((b, h)) if h.len() == 8 && !b.is_empty() => b.to_string(),
            _ => run.to_string(),
        };
        Names {
            run: run.to_string(),
            base,
        }
    }

    pub fn plan(&self) -> String {
        format!("{}-plan", self.run)
    }
    /// Runner `k`'s slice (its ConfigMaps add `-P`, the part).
    pub fn slice(&self, k: u32) -> String {
        format!("{}-slice-{k}", self.run)
    }
    /// The `n`-th ConfigMap of the runners' slices.
    pub fn slices(&self, n: u32) -> String {
        format!("{}-slices-{n}", self.run)
    }
    /// The pack of source `i` (by index in the plan; its ConfigMaps add `-P`).
    pub fn data(&self, i: u32) -> String {
        format!("{}-data-{i}", self.run)
    }
    pub fn coordinator(&self) -> String {
        format!("{}-coordinator", self.run)
    }
    pub fn runners(&self) -> String {
        format!("{}-runners", self.run)
    }
    pub fn token(&self) -> String {
        format!("{}-token", self.run)
    }
    /// The Secret a plan secret without a `fleet.secrets` entry is read from.
    pub fn default_secrets(&self) -> String {
        format!("{}-secrets", self.base)
    }

    /// The labels of an object of this run with the given role.
    pub fn labels(&self, component: &str) -> BTreeMap<String, String> {
        let mut l = BTreeMap::new();
        l.insert("app.kubernetes.io/name".into(), "volley".into());
        l.insert("app.kubernetes.io/instance".into(), self.run.clone());
        l.insert(COMPONENT_LABEL.into(), component.into());
        l.insert("app.kubernetes.io/part-of".into(), self.base.clone());
        l.insert("app.kubernetes.io/managed-by".into(), "volley".into());
        l.insert(
            "app.kubernetes.io/version".into(),
            env!("CARGO_PKG_VERSION").into(),
        );
        l.insert(RUN_LABEL.into(), self.run.clone());
        l
    }

    /// The labels that select the pods of one role of this run.
    pub fn selector(&self, component: &str) -> BTreeMap<String, String> {
        let mut l = BTreeMap::new();
        l.insert(COMPONENT_LABEL.into(), component.into());
        l.insert(RUN_LABEL.into(), self.run.clone());
        l
    }
}

/// A DNS-1035 label from a plan name: lowercase letters, digits and `-`, starting with a
/// letter, at most [`MAX_BASE`] characters.
fn dns_base(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out = out.trim_matches('-').to_string();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out = format!("load-{out}");
    }
    out.truncate(MAX_BASE);
    out.trim_end_matches('-').to_string()
}

/// Whether `s` is a DNS-1123 label (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63).
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases_are_dns_labels_starting_with_a_letter() {
        for (name, want) in [
            ("checkout", "checkout"),
            ("My_Test.v2", "my-test-v2"),
            ("9lives", "load-9lives"),
            ("---", "load"),
        ] {
            assert_eq!(dns_base(name), want, "{name}");
        }
        let long = dns_base(&"x".repeat(200));
        assert_eq!(long.len(), MAX_BASE);
        let dashy = dns_base(&format!("{}-y", "a".repeat(MAX_BASE - 1)));
        assert!(is_dns_label(&dashy), "{dashy}");
    }

    #[test]
    fn every_derived_name_is_a_dns_label() {
        let plan = volley_plan::Plan {
            name: "Ä very long test name with spaces and ümlauts indeed".into(),
            ..crate::manifests::tests::tiny_plan()
        };
        let n = Names::new(&plan);
        for name in [
            n.run.clone(),
            n.plan(),
            n.slice(9999),
            n.coordinator(),
            n.runners(),
            n.token(),
            n.default_secrets(),
        ] {
            assert!(is_dns_label(&name), "{name}");
        }
        assert!(n.run.len() <= 40, "{}", n.run);
    }
}
