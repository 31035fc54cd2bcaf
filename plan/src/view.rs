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
/// ramp), ending with `(duration_ms, 0)`. At a zero-length stage the value shown is the
/// one after the jump.
fn vu_outline(w: &Workload, seg: Segment) -> Vec<(u64, u64)> {
    let end = schedule::duration_ms(w);
    let mut out = vec![(0, schedule::vus_at(w, seg, 0))];
    if let Workload::RampingVus { stages, .. } = w {
        let mut t = 0u64;
        for st in stages {
            t = t.saturating_add(st.duration_ms);
            if t < end {
                let v = schedule::vus_at(w, seg, t);
                match out.last_mut() {
                    Some(last) if last.0 == t => last.1 = v,
                    _ => out.push((t, v)),
                }
            }
        }
    }
    if out.last().is_some_and(|l| l.0 == end) {
        out.pop();
    }
    out.push((end, 0));
    out
}

fn rate_outline(w: &Workload, seg: Segment) -> Vec<(u64, f64)> {
    let share = |r: f64| schedule::rate_share(w, seg, r);
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
                arrivals: open.then(|| {
                    schedule::work_stripe(w, seg)
                        .map_or(0, |st| st.share(schedule::total_arrivals(w)))
                }),
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

/// Runners that idle in a scenario: their share of its VUs (`max_vus` for arrival-rate
/// executors) is 0, so they run none of its iterations or arrivals (as in k6, work
/// follows the VUs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IdleRunners {
    pub scenario: String,
    /// 0-based runner indices, ascending.
    pub runners: Vec<u32>,
    /// The scenario's VUs fleet-wide (its peak, or `max_vus`).
    pub vus: u64,
    /// Why, in words.
    pub why: String,
}

/// The runners of an `runners`-runner fleet that idle, per scenario (scenarios without
/// idle runners are left out).
pub fn idle_runners(plan: &Plan, runners: u32) -> Vec<IdleRunners> {
    let segs: Vec<Segment> = (0..runners)
        .filter_map(|k| Segment::new(k, runners).ok())
        .collect();
    plan.scenarios
        .iter()
        .filter_map(|s| {
            let w = &s.workload;
            let idle: Vec<u32> = segs
                .iter()
                .filter(|seg| schedule::max_vus(w, **seg) == 0)
                .map(|seg| seg.index)
                .collect();
            if idle.is_empty() {
                return None;
            }
            let vus = schedule::max_vus(w, Segment::whole());
            let what = match w {
                Workload::ConstantArrivalRate { .. } | Workload::RampingArrivalRate { .. } => {
                    format!("max_vus {vus}")
                }
                _ if vus == 1 => "1 VU".to_string(),
                _ => format!("{vus} VUs"),
            };
            let why =
                format!("{what} for {runners} runners: a runner without a VU gets no iterations");
            Some(IdleRunners {
                scenario: s.name.clone(),
                runners: idle,
                vus,
                why,
            })
        })
        .collect()
}

/// `runners 2, 3` / `runner 4` / `runners 1–9` for messages.
pub fn runner_list(runners: &[u32]) -> String {
    let contiguous = runners.windows(2).all(|w| w[1] == w[0] + 1);
    match runners {
        [] => "no runner".into(),
        [one] => format!("runner {one}"),
        [first, .., last] if contiguous && runners.len() > 3 => {
            format!("runners {first}–{last}")
        }
        _ => format!(
            "runners {}",
            runners
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl IdleRunners {
    /// `idle: runners 2, 3 in scenario s (2 VUs for 4 runners: …)`, as `volley plan` prints it.
    pub fn to_words(&self) -> String {
        format!(
            "idle: {} in scenario {} ({})\n",
            runner_list(&self.runners),
            self.scenario,
            self.why
        )
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
    fn idle_runners_are_named_with_the_reason() {
        let mut plan = crate::slice::tests::plan(&[5], Pick::Sequential, 0);
        plan.scenarios[0].workload = Workload::SharedIterations {
            vus: 2,
            iterations: 10,
            max_duration_ms: 1000,
        };
        let idle = idle_runners(&plan, 4);
        assert_eq!(idle.len(), 1);
        assert_eq!(idle[0].runners, [2, 3]);
        assert_eq!(
            idle[0].to_words(),
            format!(
                "idle: runners 2, 3 in scenario {} (2 VUs for 4 runners: a runner without a VU gets no iterations)\n",
                plan.scenarios[0].name
            )
        );
        assert!(idle_runners(&plan, 2).is_empty());
        assert_eq!(runner_list(&[1, 2, 3, 4, 5]), "runners 1–5");
        assert_eq!(runner_list(&[4]), "runner 4");
    }

    #[test]
    fn zero_length_stage_shows_the_value_after_the_jump() {
        let w = Workload::RampingVus {
            start_vus: 0,
            stages: vec![
                Stage {
                    duration_ms: 1000,
                    target: 0.0,
                },
                Stage {
                    duration_ms: 0,
                    target: 2.0,
                },
                Stage {
                    duration_ms: 1000,
                    target: 2.0,
                },
            ],
            graceful_ramp_down_ms: 0,
        };
        assert_eq!(
            vu_outline(&w, Segment::whole()),
            [(0, 0), (1000, 2), (2000, 0)]
        );
    }

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
            files: Vec::new(),
            protos: Vec::new(),
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
