//! A request's own tags (`tags: {..}`). Constant ones are one shared map per request
//! site, prepared once: a request compares it by pointer, so it costs nothing per send.
//! Dynamic ones ([`DynamicTags`]) are evaluated before each send and mapped to one shared
//! map per distinct set of values, so the recorder's cache still compares by pointer; a
//! site keeps at most [`DYNAMIC_TAG_SERIES_CAP`] such sets per process (shared by every
//! worker thread, behind a mutex taken once per send of that site only). Past the cap,
//! every dynamic tag of the site takes [`OVERFLOW_TAG_VALUE`], and a warning says so once
//! per site; the summary notes it from the merged series (see `crate::summary`).
//!
//! This module must not record samples or evaluate expressions.

use super::code::Expr;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
pub use volley_plan::program::{DYNAMIC_TAG_SERIES_CAP, OVERFLOW_TAG_VALUE};

/// A request's tags as recorded: its constant and dynamic tags (not the scenario's).
pub type TagMap = Arc<BTreeMap<String, String>>;

/// The dynamic tags of one request site.
pub struct DynamicTags {
    /// The keys, in the order of `exprs`.
    pub keys: Box<[Arc<str>]>,
    /// Each key's value (a string expression).
    pub exprs: Box<[Expr]>,
    /// The site's constant tags, under the dynamic ones.
    fixed: BTreeMap<String, String>,
    /// The request's name, for the warning.
    name: Arc<str>,
    cap: usize,
    seen: Mutex<HashMap<Box<[String]>, TagMap>>,
    overflow: TagMap,
    warned: AtomicBool,
}

impl DynamicTags {
    pub fn new(
        keys: Box<[Arc<str>]>,
        exprs: Box<[Expr]>,
        fixed: BTreeMap<String, String>,
        name: Arc<str>,
    ) -> DynamicTags {
        let mut overflow = fixed.clone();
        for k in keys.iter() {
            overflow.insert(k.to_string(), OVERFLOW_TAG_VALUE.to_string());
        }
        DynamicTags {
            keys,
            exprs,
            fixed,
            name,
            cap: DYNAMIC_TAG_SERIES_CAP,
            seen: Mutex::new(HashMap::new()),
            overflow: Arc::new(overflow),
            warned: AtomicBool::new(false),
        }
    }

    /// A site with another cap (tests).
    #[cfg(test)]
    fn with_cap(mut self, cap: usize) -> DynamicTags {
        self.cap = cap;
        self
    }

    /// The tags of one send whose dynamic values are `values` (in `keys` order): the
    /// same map for the same values, or the overflow map once the site holds `cap` sets.
    pub fn resolve(&self, values: Vec<String>) -> TagMap {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = seen.get(values.as_slice()) {
            return Arc::clone(t);
        }
        if seen.len() >= self.cap {
            drop(seen);
            if !self.warned.swap(true, Ordering::Relaxed) {
                let keys: Vec<&str> = self.keys.iter().map(|k| &**k).collect();
                tracing::warn!(
                    request = %self.name,
                    "request {}: its tags {} took more than {} distinct values on this runner; later values are recorded as `{}` (use bounded tag values, or `name:` to group URLs)",
                    self.name,
                    keys.join(", "),
                    self.cap,
                    OVERFLOW_TAG_VALUE
                );
            }
            return Arc::clone(&self.overflow);
        }
        let mut m = self.fixed.clone();
        for (k, v) in self.keys.iter().zip(values.iter()) {
            m.insert(k.to_string(), v.clone());
        }
        let t = Arc::new(m);
        seen.insert(values.into_boxed_slice(), Arc::clone(&t));
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(cap: usize) -> DynamicTags {
        DynamicTags::new(
            vec![Arc::from("kind")].into_boxed_slice(),
            Vec::new().into_boxed_slice(),
            BTreeMap::from([("tier".to_string(), "gold".to_string())]),
            Arc::from("search"),
        )
        .with_cap(cap)
    }

    #[test]
    fn the_same_values_give_the_same_map_under_the_site_constants() {
        let s = site(10);
        let a = s.resolve(vec!["x".into()]);
        let b = s.resolve(vec!["x".into()]);
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.get("kind").map(String::as_str), Some("x"));
        assert_eq!(a.get("tier").map(String::as_str), Some("gold"));
    }

    #[test]
    fn past_the_cap_values_overflow_but_known_ones_keep_their_series() {
        let s = site(2);
        s.resolve(vec!["a".into()]);
        s.resolve(vec!["b".into()]);
        let c = s.resolve(vec!["c".into()]);
        assert_eq!(c.get("kind").map(String::as_str), Some(OVERFLOW_TAG_VALUE));
        assert_eq!(c.get("tier").map(String::as_str), Some("gold"));
        let a = s.resolve(vec!["a".into()]);
        assert_eq!(a.get("kind").map(String::as_str), Some("a"));
        assert!(s.warned.load(Ordering::Relaxed));
    }
}
