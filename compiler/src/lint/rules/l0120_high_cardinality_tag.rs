//! High-cardinality tag: a request tag whose value can take many distinct values.
//!
//! **What it finds.** A value in a request's `tags: {..}` made from something with more
//! than 100 distinct values, or with no bound at all: `vu.id`, `vu.local_id`,
//! `test.iteration`, `vu.iteration`, `uuid()`, the time, a random draw from a large
//! range, anything read from a response (an id, a JSON field), a data column with many
//! distinct values, or a `var` that changes as the test runs (a counter). A constant, a
//! `param` or `env(..)` value, a `pick()` from a short constant list, `vu.id % 10`, a
//! comparison, a var set to one of a few constants (`kind = "b"` under an `if`) and a
//! data column of few distinct values are bounded, and silent.
//!
//! **Why it matters.** Every distinct set of tags is a series of its own: its own
//! histograms in every runner's memory, in every snapshot a runner sends, in every
//! output (a Prometheus series, an InfluxDB series) and in the summary. A tag per user
//! or per id makes the test slower and its outputs expensive and unreadable, and
//! thresholds on it meaningless. Volley bounds it: past 1,000 distinct values per request
//! and runner, the request's dynamic tags are recorded as `__overflow__` (and the summary
//! says so), so the values past the cap are lost anyway. To group requests by URL, use
//! `name:`; to tag, use a value from a small set.
//!
//! Bad:
//!
//! ```load
//! import std/data
//!
//! target api = "http://127.0.0.1:8088"
//!
//! scenario browse {
//!   workload = constant_vus(vus: 10, duration: 30s)
//!   iteration {
//!     let id = data.random_int(1, 100000)
//!     get(api, "/api/products/{id}", tags: {product: "{id}"})
//!     sleep 1s
//!   }
//! }
//!
//! thresholds {
//!   http_req_failed: rate < 1%
//! }
//! ```
//!
//! Good:
//!
//! ```load
//! import std/data
//!
//! target api = "http://127.0.0.1:8088"
//!
//! scenario browse {
//!   workload = constant_vus(vus: 10, duration: 30s)
//!   iteration {
//!     let id = data.random_int(1, 100000)
//!     let kind = ["book", "toy", "tool"].pick()
//!     get(api, "/api/products/{id}?kind={kind}", name: "product", tags: {kind: kind})
//!     sleep 1s
//!   }
//! }
//!
//! thresholds {
//!   http_req_failed: rate < 1%
//! }
//! ```

use crate::ir::{Builtin, Intrinsic, Loc};
use crate::lint::provenance::{Kind, Part, SiteTag};
use crate::lint::{LintCx, Rule};
use std::collections::BTreeSet;
use volley_syntax::{Diagnostic, Severity};

pub const RULE: Rule = Rule {
    code: "L0120",
    name: "high-cardinality-tag",
    severity: Severity::Warning,
    summary: "a request tag whose value can take more than 100 distinct values (ids, `vu.id`, `uuid()`, a response)",
    source: include_str!("l0120_high_cardinality_tag.rs"),
    check,
};

/// More distinct values than this is high cardinality.
const HIGH: u64 = 100;

fn check(cx: &LintCx, out: &mut Vec<Diagnostic>) {
    // One finding per tag as written (a flow called twice gives two sites).
    let mut seen: BTreeSet<(u32, usize, usize)> = BTreeSet::new();
    for site in &cx.facts.sites {
        for t in site.tags.iter().filter(|t| t.value.is_none()) {
            let Some((loc, why)) = unbounded(cx, t) else {
                continue;
            };
            let loc = cx.user_loc(loc, &site.calls);
            if !seen.insert((loc.module, loc.span.start, t.loc.span.start)) {
                continue;
            }
            let d = cx
                .at(
                    loc,
                    format!(
                        "tag `{}` of request `{}` {why}: a series per value",
                        t.key, site.name
                    ),
                    "many distinct values",
                )
                .with_help(format!(
                    "tag with a value from a small set (a constant, `[\"a\", \"b\"].pick()`, `vu.id % 10`), or group URLs with `name:`; past {} values per request and runner the tag is recorded as `__overflow__`",
                    big(volley_plan::program::DYNAMIC_TAG_SERIES_CAP as u64)
                ));
            out.push(cx.note(d, cx.user_loc(t.loc, &site.calls), "tagged here"));
        }
    }
}

/// Where and why a tag's value has more than [`HIGH`] distinct values; `None` when
/// bounded (or a secret: the compiler refuses those).
fn unbounded(cx: &LintCx, t: &SiteTag) -> Option<(Loc, String)> {
    let p = &t.prov;
    if p.has(|k| matches!(k, Kind::Secret(_))) || p.space.is_some_and(|n| n <= HIGH) {
        return None;
    }
    for part in &p.parts {
        if let Some(why) = unbounded_part(cx, part) {
            // A response is labelled where it is tagged, not at the request it came from.
            let at = match part.kind {
                Kind::Response(_) => t.loc,
                _ => part.loc,
            };
            return Some((at, why));
        }
    }
    if let Some(n) = p.space {
        return Some((t.loc, format!("can take {} values", big(n))));
    }
    // No known bound, and no part unbounded by itself: made of constants only, it is a
    // var that changes (a counter); else at most the product of its parts' values.
    if p.has(|k| matches!(k, Kind::Literal | Kind::Param(_)))
        && p.parts
            .iter()
            .all(|x| matches!(x.kind, Kind::Literal | Kind::Param(_)))
    {
        return Some((
            t.loc,
            "changes as the test runs (a `var` assigned in a loop or each iteration)".into(),
        ));
    }
    let n = p.parts.iter().fold(1u64, |n, part| {
        n.saturating_mul(match &part.kind {
            Kind::Data { .. } => data_values(cx, part).map_or(u64::MAX, |(n, _)| n),
            Kind::Random { space, .. } => space.unwrap_or(u64::MAX),
            Kind::PerRunner(Builtin::RunnerIndex) => u64::from(cx.runners()),
            _ => 1,
        })
    });
    (n > HIGH).then(|| (t.loc, format!("can take {} values", big(n))))
}

/// Why one part alone has more than [`HIGH`] values.
fn unbounded_part(cx: &LintCx, part: &Part) -> Option<String> {
    match &part.kind {
        Kind::FleetUnique(Builtin::VuId) => Some("is made from `vu.id`, one value per VU".into()),
        Kind::FleetUnique(_) => {
            Some("is made from `test.iteration`, one value per iteration".into())
        }
        Kind::PerRunner(Builtin::VuLocalId) => {
            Some("is made from `vu.local_id`, one value per VU".into())
        }
        Kind::PerRunner(_) => (u64::from(cx.runners()) > HIGH).then(|| {
            format!(
                "is made from `runner.index`, one value per runner ({} runners)",
                cx.runners()
            )
        }),
        Kind::PerVu(_) => Some("is made from `vu.iteration`, one value per iteration".into()),
        Kind::Response(_) => {
            Some("is read from a response: the server decides how many values it takes".into())
        }
        Kind::Random {
            intrinsic: Intrinsic::Uuid,
            ..
        } => Some("is made from `uuid()`, a new value every time".into()),
        Kind::Random {
            intrinsic: Intrinsic::UnixMs,
            ..
        } => Some("is made from the time, a new value every millisecond".into()),
        Kind::Random { space, .. } => match space {
            Some(n) if *n <= HIGH => None,
            Some(n) => Some(format!("is a random draw from {} values", big(*n))),
            None => Some("is a random draw from an unknown number of values".into()),
        },
        Kind::Data { .. } => match data_values(cx, part) {
            Some((n, what)) if n > HIGH => {
                Some(format!("is made from {what}, {} distinct values", big(n)))
            }
            _ => None,
        },
        Kind::Literal | Kind::Param(_) | Kind::Secret(_) | Kind::Setup(_) => None,
    }
}

/// The distinct values of a data part (its column, else its rows) and its name in words.
fn data_values(cx: &LintCx, part: &Part) -> Option<(u64, String)> {
    let Kind::Data { source, column, .. } = &part.kind else {
        return None;
    };
    let d = cx.prog.data.get(*source as usize)?;
    let distinct: BTreeSet<String> = d
        .rows
        .iter()
        .map(|r| match (r, column) {
            (volley_plan::Value::Record(fs), Some(c)) => {
                fs.get(c).map(|v| format!("{v:?}")).unwrap_or_default()
            }
            (v, _) => format!("{v:?}"),
        })
        .collect();
    let what = match column {
        Some(c) => format!("column `{c}` of data `{}`", d.name),
        None => format!("the rows of data `{}`", d.name),
    };
    Some((distinct.len() as u64, what))
}

/// `100,000`, or "unbounded" for the saturated count.
fn big(n: u64) -> String {
    if n == u64::MAX {
        "unboundedly many".into()
    } else {
        crate::lint::context::thousands(n)
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::tests::codes;

    /// Whether L0120 fires on `tags: {k: VALUE}` after `stmt`, with `decl` at scenario level.
    fn fires(decl: &str, stmt: &str, value: &str) -> bool {
        let src = format!("import std/data\ntarget api = \"http://127.0.0.1:8088\"\nthresholds {{ http_req_failed: rate < 1% }}\nscenario s {{\n  workload = constant_vus(vus: 10, duration: 10s)\n  {decl}\n  iteration {{\n    {stmt}\n    get(api, \"/x\", tags: {{k: {value}}})\n    sleep 1s\n  }}\n}}\n");
        let found = codes(&src);
        found.contains(&"L0120".to_string())
    }

    #[test]
    fn unbounded_sources_fire() {
        assert!(fires("", "", "\"{vu.id}\""));
        assert!(fires("", "", "\"{vu.iteration}\""));
        assert!(fires("", "", "\"{test.iteration}\""));
        assert!(fires("", "", "data.uuid()"));
        assert!(fires("", "", "\"{data.random_int(1, 1000)}\""));
        assert!(fires("var n = 0", "n += 1", "\"{n}\""));
        assert!(fires(
            "",
            "let r = get(api, \"/y\")",
            "r.json(\"id\").string()"
        ));
    }

    #[test]
    fn bounded_sources_are_silent() {
        assert!(!fires("", "", "\"fixed\""));
        assert!(!fires("", "", "[\"a\", \"b\", \"c\"].pick()"));
        assert!(!fires("", "", "\"{vu.id % 10}\""));
        assert!(!fires("", "", "\"{data.random_int(1, 5)}\""));
        assert!(!fires("", "", "\"{vu.id > 5}\""));
        assert!(!fires(
            "var kind = \"a\"",
            "if vu.iteration > 2 { kind = \"b\" }",
            "kind"
        ));
    }
}
