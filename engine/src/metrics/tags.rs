//! The tags of one sample (k6's `scenario`, `group`, `name`, `method`, `status`,
//! `expected_response`, `check`, `error_code`, plus the scenario's own tags). Built once
//! per request site where possible and cloned cheaply (`Arc` fields). This module must not
//! know about metrics or values.

use std::collections::BTreeMap;
use std::sync::Arc;

/// Tags of one sample. `Hash + Eq` so a shard can key its series by them; equality of
/// `Arc<str>` fields short-cuts on pointer equality, so tags cloned from one site compare
/// fast.
#[derive(Clone, Hash, Eq, PartialEq, Default, Debug)]
pub struct Tags {
    pub scenario: Option<Arc<str>>,
    /// The group path, `a::b` (no leading `::`); `None` at the root.
    pub group: Option<Arc<str>>,
    /// The request's name (its path template by default).
    pub name: Option<Arc<str>>,
    pub method: Option<Arc<str>>,
    /// The response status; 0 on a transport error.
    pub status: Option<u16>,
    pub expected_response: Option<bool>,
    /// The check's name (on `checks` samples).
    pub check: Option<Arc<str>>,
    pub error_code: Option<u32>,
    /// The scenario's `tags = {..}`.
    pub extra: Option<Arc<BTreeMap<String, String>>>,
}

/// The tag keys [`Tags`] has fields for, in [`Tags::to_map`] order.
pub const TAG_KEYS: &[&str] = &[
    "scenario",
    "group",
    "name",
    "method",
    "status",
    "expected_response",
    "check",
    "error_code",
];

impl Tags {
    /// Tags of a scenario: its name and its own tags.
    pub fn scenario(name: &str, extra: &BTreeMap<String, String>) -> Tags {
        Tags {
            scenario: Some(Arc::from(name)),
            extra: (!extra.is_empty()).then(|| Arc::new(extra.clone())),
            ..Tags::default()
        }
    }

    /// The value of one tag as text (`status` as digits, `expected_response` as
    /// `true`/`false`); a scenario tag is the fallback.
    pub fn get(&self, key: &str) -> Option<String> {
        let s = |v: &Option<Arc<str>>| v.as_deref().map(str::to_string);
        let own = match key {
            "scenario" => s(&self.scenario),
            "group" => s(&self.group),
            "name" => s(&self.name),
            "method" => s(&self.method),
            "status" => self.status.map(|v| v.to_string()),
            "expected_response" => self.expected_response.map(|v| v.to_string()),
            "check" => s(&self.check),
            "error_code" => self.error_code.map(|v| v.to_string()),
            _ => None,
        };
        own.or_else(|| self.extra.as_ref().and_then(|e| e.get(key).cloned()))
    }

    /// Every set tag as text. A scenario tag never overrides a built-in tag of the same key.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> = self.extra.as_deref().cloned().unwrap_or_default();
        for key in TAG_KEYS {
            if let Some(v) = self.get(key) {
                out.insert((*key).to_string(), v);
            }
        }
        out
    }
}

/// Whether every key/value of `filter` is in `tags` (an empty filter matches everything).
pub fn matches(tags: &BTreeMap<String, String>, filter: &BTreeMap<String, String>) -> bool {
    filter.iter().all(|(k, v)| tags.get(k) == Some(v))
}
