//! What one runner of a fleet does, as data: the per-segment view `volley plan` prints in
//! words and as JSON, and the coordinator logs when a runner joins.
//!
//! Pure: built from a [`Plan`] and a [`Segment`] with the [`schedule`](crate::schedule)
//! arithmetic, so every number here is exactly what the engine will run. Must not do IO.

use crate::schedule;
use crate::segment::Segment;
use crate::{Pick, Plan, Start, Workload};
use serde::Serialize;

/// One runner's share of a plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SegmentView {
    pub segment: Segment,
    pub scenarios: Vec<ScenarioView>,
    pub data: Vec<DataView>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScenarioView {
    pub name: String,
    pub executor: &'static str,
    /// `immediately`, `at 30s` or `after warmup`.
    pub start: String,
    pub duration_ms: u64,
    /// VUs this runner pre-allocates (the most it can need).
    pub max_vus: u64,
    /// The VU target over time: `(t_ms, vus)` at the start and at every stage boundary
    /// (closed models), ending with `(duration_ms, 0)`.
    pub vus: Vec<(u64, u64)>,
    /// Iterations this runner runs in total (iteration-based executors).
    pub iterations: Option<u64>,
    /// Arrivals this runner starts (arrival-rate executors) and the fleet's total.
    pub arrivals: Option<u64>,
    pub fleet_arrivals: Option<u64>,
    /// This runner's share of the arrival rate (iterations per second) over time:
    /// `(t_ms, rate)` at the start and at every stage boundary.
    pub rate: Vec<(u64, f64)>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DataView {
    pub name: String,
    pub pick: Pick,
    pub rows: u64,
    /// Rows this runner receives: its stripe for unique picks, every row otherwise.
    pub slice_rows: u64,
}

fn executor_name(w: &Workload) -> &'static str {
    match w {
        Workload::ConstantVus { .. } => "constant_vus",
        Workload::RampingVus { .. } => "ramping_vus",
        Workload::ConstantArrivalRate { .. } => "constant_arrival_rate",
        Workload::RampingArrivalRate { .. } => "ramping_arrival_rate",
        Workload::SharedIterations { .. } => "shared_iterations",
        Workload::PerVuIterations { .. } => "per_vu_iterations",
    }
}

/// The VU target at the start and at each stage boundary (not every 1-VU step of a
/// ramp), ending with `(duration_ms, 0)`.
fn vu_outline(w: &Workload, seg: Segment) -> Vec<(u64, u64)> {
    let end = schedule::duration_ms(w);
    let mut out = vec![(0, schedule::vus_at(w, seg, 0))];
    if let Workload::RampingVus { stages, .. } = w {
        let mut t = 0u64;
        for st in stages {
            t = t.saturating_add(st.duration_ms);
            let target = if st.target.is_finite() && st.target > 0.0 {
                st.target.floor() as u64
            } else {
                0
            };
            if t < end {
                out.push((t, seg.share(target)));
            }
        }
    }
    out.push((end, 0));
    out.dedup_by_key(|p| p.0);
    out
}

fn rate_outline(w: &Workload, seg: Segment) -> Vec<(u64, f64)> {
    let share = |r: f64| r / f64::from(seg.count.max(1));
    match w {
        Workload::ConstantArrivalRate {
            rate, duration_ms, ..
        } => vec![(0, share(*rate)), (*duration_ms, 0.0)],
        Workload::RampingArrivalRate {
            start_rate, stages, ..
        } => {
            let mut out = vec![(0, share(*start_rate))];
            let mut t = 0u64;
            for st in stages {
                t = t.saturating_add(st.duration_ms);
                out.push((t, share(st.target)));
            }
            out
        }
        _ => Vec::new(),
    }
}

/// Runner `seg`'s part of `plan`.
pub fn segment_view(plan: &Plan, seg: Segment) -> SegmentView {
    let scenarios = plan
        .scenarios
        .iter()
        .map(|s| {
            let w = &s.workload;
            let open = matches!(
                w,
                Workload::ConstantArrivalRate { .. } | Workload::RampingArrivalRate { .. }
            );
            ScenarioView {
                name: s.name.clone(),
                executor: executor_name(w),
                start: match s.start {
                    Start::Immediately => "immediately".into(),
                    Start::At { offset_ms } => format!("at {}", human_ms(offset_ms)),
                    Start::After { scenario } => format!(
                        "after {}",
                        plan.scenarios
                            .get(scenario as usize)
                            .map_or("?", |o| o.name.as_str())
                    ),
                },
                duration_ms: schedule::duration_ms(w),
                max_vus: schedule::max_vus(w, seg),
                vus: if open { Vec::new() } else { vu_outline(w, seg) },
                iterations: schedule::iterations(w, seg),
                arrivals: open.then(|| seg.share(schedule::total_arrivals(w))),
                fleet_arrivals: open.then(|| schedule::total_arrivals(w)),
                rate: rate_outline(w, seg),
            }
        })
        .collect();
    let data = plan
        .data
        .iter()
        .map(|d| {
            let rows = d
                .slice
                .as_ref()
                .map_or(d.rows.len() as u64, |s| s.total_rows);
            let slice_rows = crate::slice::owned_rows(plan, d.pick, rows, seg).len() as u64;
            DataView {
                name: d.name.clone(),
                pick: d.pick,
                rows,
                slice_rows,
            }
        })
        .collect();
    SegmentView {
        segment: seg,
        scenarios,
        data,
    }
}

/// `90s` → `1m30s`, `1500` → `1.5s`, `250` → `250ms`.
pub fn human_ms(ms: u64) -> String {
    if ms < 1000 {
        return format!("{ms}ms");
    }
    if !ms.is_multiple_of(1000) && ms < 60_000 {
        return format!("{}s", ms as f64 / 1000.0);
    }
    let s = ms / 1000;
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if sec > 0 || out.is_empty() {
        out.push_str(&format!("{sec}s"));
    }
    out
}

impl SegmentView {
    /// The view in words, one block per scenario, as `volley plan` prints it.
    pub fn to_words(&self) -> String {
        let mut out = format!("runner {} of {}\n", self.segment.index, self.segment.count);
        for s in &self.scenarios {
            out.push_str(&format!(
                "  scenario {} ({}, starts {}, runs up to {})\n",
                s.name,
                s.executor,
                s.start,
                human_ms(s.duration_ms)
            ));
            if !s.vus.is_empty() {
                let curve: Vec<String> = s
                    .vus
                    .iter()
                    .map(|(t, v)| format!("{v} at {}", human_ms(*t)))
                    .collect();
                out.push_str(&format!("    VUs: {}\n", curve.join(" → ")));
            } else {
                out.push_str(&format!("    VUs: up to {}\n", s.max_vus));
            }
            if let Some(n) = s.iterations {
                let plural = if n == 1 { "" } else { "s" };
                out.push_str(&format!("    {n} iteration{plural}\n"));
            }
            if let (Some(a), Some(total)) = (s.arrivals, s.fleet_arrivals) {
                let rates: Vec<String> = s
                    .rate
                    .iter()
                    .map(|(t, r)| format!("{}/s at {}", trim_float(*r), human_ms(*t)))
                    .collect();
                out.push_str(&format!(
                    "    rate: {}; {a} of the fleet's {total} arrivals\n",
                    rates.join(" → ")
                ));
            }
        }
        for d in &self.data {
            out.push_str(&format!(
                "  data {} (pick {}): {} of {} row{}\n",
                d.name,
                pick_word(d.pick),
                d.slice_rows,
                d.rows,
                if d.rows == 1 { "" } else { "s" }
            ));
        }
        out
    }
}

/// A pick as the language spells it (`unique_per_iteration`).
fn pick_word(p: Pick) -> &'static str {
    match p {
        Pick::Unique => "unique",
        Pick::UniquePerIteration => "unique_per_iteration",
        Pick::Sequential => "sequential",
        Pick::Random => "random",
        Pick::Shared => "shared",
    }
}

fn trim_float(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Stage;

    #[test]
    fn human_durations() {
        assert_eq!(human_ms(250), "250ms");
        assert_eq!(human_ms(1500), "1.5s");
        assert_eq!(human_ms(90_000), "1m30s");
        assert_eq!(human_ms(3_600_000), "1h");
        assert_eq!(human_ms(0), "0ms");
    }

    #[test]
    fn ramp_outline_shows_stage_targets_per_runner() {
        let w = Workload::RampingVus {
            start_vus: 0,
            stages: vec![
                Stage {
                    duration_ms: 10_000,
                    target: 10.0,
                },
                Stage {
                    duration_ms: 10_000,
                    target: 10.0,
                },
                Stage {
                    duration_ms: 5_000,
                    target: 0.0,
                },
            ],
            graceful_ramp_down_ms: 30_000,
        };
        let outline = vu_outline(&w, Segment::new(0, 4).unwrap());
        assert_eq!(outline, vec![(0, 0), (10_000, 3), (20_000, 3), (25_000, 0)]);
    }

    /// The test: stages of 10 s, 20 s and 5 s with 30 s of graceful ramp-down and
    /// stop. `volley plan` says it runs up to 35 s; the progress total is the same 35 s,
    /// not the 1m35s deadline that counts every graceful stop.
    #[test]
    fn planned_duration_is_what_plan_says_it_runs_up_to() {
        let stage = |s: u64, t: f64| Stage {
            duration_ms: s * 1000,
            target: t,
        };
        let scenario = |name: &str, start: Start| crate::Scenario {
            name: name.into(),
            workload: Workload::RampingVus {
                start_vus: 0,
                stages: vec![stage(10, 10.0), stage(20, 10.0), stage(5, 0.0)],
                graceful_ramp_down_ms: 30_000,
            },
            start,
            graceful_stop_ms: 30_000,
            tags: Default::default(),
            http: Default::default(),
            frame_size: 0,
            init: vec![],
            iteration: vec![],
        };
        let mut plan = Plan {
            version: crate::PLAN_VERSION,
            name: "t".into(),
            params: Default::default(),
            targets: vec![],
            secrets: vec![],
            data: vec![],
            metrics: vec![],
            flows: vec![],
            setup: None,
            setup_values: vec![],
            teardown: None,
            scenarios: vec![scenario("a", Start::Immediately)],
            thresholds: vec![],
            fleet: Default::default(),
        };
        let view = segment_view(&plan, Segment::whole());
        assert_eq!(plan.planned_duration_ms(), view.scenarios[0].duration_ms);
        assert_eq!(plan.planned_duration_ms(), 35_000);
        assert_eq!(plan.max_duration_ms(), 95_000);
        plan.scenarios
            .push(scenario("b", Start::After { scenario: 0 }));
        assert_eq!(plan.planned_duration_ms(), 70_000);
    }
}
