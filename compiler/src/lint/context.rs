//! What every rule reads: the typed IR, the plan, the provenance facts, and helpers for
//! the numbers findings quote (runners, peak VUs per scenario and per runner) and for
//! building findings at a place in the source. Pure; no rule logic here.

use super::provenance::{self, Facts};
use crate::ir::{self, Loc};
use volley_plan::segment::Segment;
use volley_plan::{capacity, schedule, Plan};
use volley_syntax::ast::Span;
use volley_syntax::Diagnostic;

pub struct LintCx<'a> {
    pub prog: &'a ir::Program,
    pub plan: &'a Plan,
    pub facts: Facts,
}

impl<'a> LintCx<'a> {
    pub fn new(prog: &'a ir::Program, plan: &'a Plan) -> Self {
        LintCx {
            prog,
            plan,
            facts: provenance::analyse(prog),
        }
    }

    /// The fleet size: `runners = N`, or what `runners = auto` would choose.
    pub fn runners(&self) -> u32 {
        match self.prog.fleet.runners {
            Some(n) => n.max(1),
            None => capacity::auto_runners(self.plan, &self.prog.fleet.resources),
        }
    }

    /// `runners = N` as written (or 1 without a fleet block), as opposed to `auto`.
    pub fn runners_fixed(&self) -> bool {
        self.prog.fleet.runners.is_some()
    }

    pub fn scenario(&self, s: u32) -> &ir::Scenario {
        &self.prog.scenarios[s as usize]
    }

    /// The duration-based closed scenarios (`constant_vus`, `ramping_vus`) whose iteration
    /// never sleeps or thinks, each with its index and whether the iteration sends a
    /// request: the VUs loop back to back (L0116 when they send, L0119 when they don't).
    pub fn unpaused_closed_loops(
        &self,
    ) -> impl Iterator<Item = (u32, &'a ir::Scenario, bool)> + '_ {
        self.prog
            .scenarios
            .iter()
            .enumerate()
            .filter_map(move |(i, sc)| {
                let s = i as u32;
                let closed = matches!(
                    sc.workload,
                    volley_plan::Workload::ConstantVus { .. }
                        | volley_plan::Workload::RampingVus { .. }
                );
                if !closed || self.facts.pausing.contains(&s) {
                    return None;
                }
                let sends = self
                    .facts
                    .sites
                    .iter()
                    .any(|x| x.scenario == Some(s) && x.phase == provenance::Phase::Iteration);
                Some((s, sc, sends))
            })
    }

    /// The most VUs scenario `s` runs at once, fleet-wide.
    pub fn peak_vus(&self, s: u32) -> u64 {
        schedule::max_vus(&self.scenario(s).workload, Segment::whole())
    }

    /// The most VUs one runner holds for scenario `s` (runner 0 has the largest share).
    pub fn runner_vus(&self, s: u32) -> u64 {
        let n = self.runners();
        match Segment::new(0, n) {
            Ok(seg) => schedule::max_vus(&self.scenario(s).workload, seg),
            Err(_) => self.peak_vus(s),
        }
    }

    /// The estimated load of scenario `s` (see `volley_plan::capacity`).
    pub fn load(&self, s: u32) -> capacity::Load {
        capacity::scenario_load(self.plan, &self.plan.scenarios[s as usize])
    }

    pub fn module(&self, loc: Loc) -> &ir::Module {
        &self.prog.modules[loc.module as usize]
    }

    pub fn file(&self, loc: Loc) -> &str {
        &self.module(loc).file
    }

    /// Whether `loc` is in a standard-library module.
    pub fn in_std(&self, loc: Loc) -> bool {
        self.module(loc).is_std
    }

    /// The source text under `loc`.
    pub fn text(&self, loc: Loc) -> &str {
        let src = &self.module(loc).source;
        src.get(loc.span.start..loc.span.end).unwrap_or("")
    }

    /// The first occurrence of `needle` inside `within` (`within` itself if absent).
    pub fn find(&self, within: Loc, needle: &str) -> Loc {
        match self.text(within).find(needle) {
            Some(i) => {
                let start = within.span.start + i;
                Loc::new(within.module, Span::new(start, start + needle.len()))
            }
            None => within,
        }
    }

    /// A place in a user's file for a finding: `loc` itself, or when it is in the
    /// standard library, the innermost call in a user's file that leads to it.
    pub fn user_loc(&self, loc: Loc, calls: &[Loc]) -> Loc {
        if !self.in_std(loc) {
            return loc;
        }
        calls
            .iter()
            .rev()
            .find(|c| !self.in_std(**c))
            .copied()
            .unwrap_or(loc)
    }

    /// A finding with its primary label at `loc` (severity and code are set by the registry).
    pub fn at(&self, loc: Loc, message: impl Into<String>, label: impl Into<String>) -> Diagnostic {
        Diagnostic::warning("", message)
            .in_file(self.file(loc))
            .with_label(loc.span, label)
    }

    /// Adds a secondary label when it is in the finding's file and does not contain the
    /// primary span (a label around the primary one adds nothing and renders poorly).
    pub fn note(&self, d: Diagnostic, loc: Loc, text: impl Into<String>) -> Diagnostic {
        let inside = d
            .span()
            .is_some_and(|p| loc.span.start <= p.start && p.end <= loc.span.end);
        if self.file(loc) == d.file && !inside {
            d.with_note(loc.span, text)
        } else {
            d
        }
    }
}

/// `12,345` for messages.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate or count with at most one decimal, thousands separated (`2,000`, `33.3`).
pub fn num(x: f64) -> String {
    if (x - x.round()).abs() < 0.05 || x >= 100.0 {
        thousands(x.round().max(0.0) as u64)
    } else {
        format!("{x:.1}")
    }
}

/// `512 MiB`, `1.5 GiB`.
pub fn bytes(b: u64) -> String {
    const MI: f64 = 1024.0 * 1024.0;
    let mib = b as f64 / MI;
    if mib >= 1024.0 {
        format!("{:.1} GiB", mib / 1024.0)
    } else {
        format!("{} MiB", mib.ceil() as u64)
    }
}

/// `250 ms`, `1.5 s`.
pub fn millis(ms: f64) -> String {
    if ms >= 1000.0 {
        let s = ms / 1000.0;
        if (s - s.round()).abs() < 0.05 {
            format!("{} s", s.round())
        } else {
            format!("{s:.1} s")
        }
    } else {
        format!("{} ms", ms.round())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_read_well() {
        assert_eq!(super::thousands(1_234_567), "1,234,567");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::num(33.333), "33.3");
        assert_eq!(super::num(2000.0), "2,000");
        assert_eq!(super::bytes(512 * 1024 * 1024), "512 MiB");
        assert_eq!(super::millis(1500.0), "1.5 s");
        assert_eq!(super::millis(250.0), "250 ms");
    }
}
