//! The schedule: what each executor should be doing at every instant, for one segment.
//!
//! Pure arithmetic over a [`Workload`] and a [`Segment`]: VU targets, their step points,
//! iteration counts, durations and arrival times. The executors ask this module *what* to
//! do and do the timing themselves; this module must not sleep, spawn, read clocks or
//! depend on tokio, and it never panics on odd input (negative or NaN rates and targets
//! count as 0).
//!
//! Segments follow k6's striping (see `volley_plan::segment`): every per-segment count is
//! `share(global count)`, so the runners' counts add up exactly to the single-machine plan.
//! Arrival-rate workloads stripe the global arrival sequence instead of splitting the rate:
//! global arrival `i` belongs to runner `i mod N` and is due at the same instant whichever
//! runner computes it, so the runners' arrivals union exactly to the whole schedule.
//!
//! Time is in ms from the scenario start (`u64` for VU steps, `f64` for arrivals).
//! At and after [`duration_ms`] every executor wants 0 VUs: what happens to running
//! iterations then (graceful stop) is the executors' business.

use crate::segment::Segment;
use crate::{Stage, Workload};
use std::iter::FusedIterator;

/// A VU count from a plan number: finite non-negative values, floored; anything else is 0.
fn vu_count(x: f64) -> u64 {
    if x.is_finite() && x > 0.0 {
        // `as` saturates at u64::MAX.
        x.floor() as u64
    } else {
        0
    }
}

/// A rate (iterations per second) from a plan number: finite and non-negative, else 0.
fn rate_value(x: f64) -> f64 {
    if x.is_finite() && x > 0.0 {
        x
    } else {
        0.0
    }
}

fn stages_ms(stages: &[Stage]) -> u64 {
    stages
        .iter()
        .fold(0u64, |acc, st| acc.saturating_add(st.duration_ms))
}

/// How long the executor runs before graceful stop (ms): `duration`, the sum of the
/// stages, or `max_duration` (iteration-based executors may finish earlier).
pub fn duration_ms(w: &Workload) -> u64 {
    match w {
        Workload::ConstantVus { duration_ms, .. }
        | Workload::ConstantArrivalRate { duration_ms, .. } => *duration_ms,
        Workload::RampingVus { stages, .. } | Workload::RampingArrivalRate { stages, .. } => {
            stages_ms(stages)
        }
        Workload::SharedIterations {
            max_duration_ms, ..
        }
        | Workload::PerVuIterations {
            max_duration_ms, ..
        } => *max_duration_ms,
    }
}

/// `floor(from + (to - from) * e / d)` for `e < d`, in exact integer arithmetic.
fn interpolate(from: u64, to: u64, d: u64, e: u64) -> u64 {
    let (e, d) = (u128::from(e), u128::from(d.max(1)));
    if to >= from {
        let up = u128::from(to - from) * e / d;
        from + up as u64
    } else {
        let down = (u128::from(from - to) * e).div_ceil(d);
        from - down as u64
    }
}

/// The global `ramping_vus` target at `t` (ignoring the executor's end): `start_vus`,
/// then linear within each stage from the previous target, floored; a zero-length stage
/// jumps to its target.
fn ramping_global(start_vus: u64, stages: &[Stage], t: u64) -> u64 {
    let (mut from, mut start) = (start_vus, 0u64);
    for st in stages {
        let to = vu_count(st.target);
        let end = start.saturating_add(st.duration_ms);
        if t < end {
            return interpolate(from, to, st.duration_ms, t - start);
        }
        from = to;
        start = end;
    }
    from
}

/// VUs that should be active at `t_ms` after the scenario start, for this segment:
/// the workload's VUs (closed models), the ramp's target (`ramping_vus`), or the
/// pre-allocated VUs (arrival-rate models). 0 from [`duration_ms`] on.
pub fn vus_at(w: &Workload, seg: Segment, t_ms: u64) -> u64 {
    if t_ms >= duration_ms(w) {
        return 0;
    }
    match w {
        Workload::RampingVus {
            start_vus, stages, ..
        } => seg.share(ramping_global(*start_vus, stages, t_ms)),
        _ => initial_vus(w, seg),
    }
}

/// The most VUs this segment can need (what to pre-allocate). Arrival-rate models:
/// the share of `max_vus`, never less than the share of `pre_allocated_vus`.
pub fn max_vus(w: &Workload, seg: Segment) -> u64 {
    match w {
        Workload::ConstantVus { vus, .. }
        | Workload::SharedIterations { vus, .. }
        | Workload::PerVuIterations { vus, .. } => seg.share(*vus),
        Workload::RampingVus {
            start_vus, stages, ..
        } => {
            let peak = stages
                .iter()
                .map(|st| vu_count(st.target))
                .max()
                .unwrap_or(0);
            seg.share(peak.max(*start_vus))
        }
        Workload::ConstantArrivalRate {
            pre_allocated_vus,
            max_vus,
            ..
        }
        | Workload::RampingArrivalRate {
            pre_allocated_vus,
            max_vus,
            ..
        } => seg.share((*max_vus).max(*pre_allocated_vus)),
    }
}

/// VUs to start with: the workload's VUs, the ramp's target at t = 0 (after any
/// zero-length first stages), or the share of `pre_allocated_vus`.
pub fn initial_vus(w: &Workload, seg: Segment) -> u64 {
    match w {
        Workload::ConstantVus { vus, .. }
        | Workload::SharedIterations { vus, .. }
        | Workload::PerVuIterations { vus, .. } => seg.share(*vus),
        Workload::RampingVus {
            start_vus, stages, ..
        } => seg.share(ramping_global(*start_vus, stages, 0)),
        Workload::ConstantArrivalRate {
            pre_allocated_vus, ..
        }
        | Workload::RampingArrivalRate {
            pre_allocated_vus, ..
        } => seg.share(*pre_allocated_vus),
    }
}

/// Appends `(t, vus)` to a step list, keeping one entry per instant and dropping entries
/// that do not change the value.
fn push_step(steps: &mut Vec<(u64, u64)>, t: u64, vus: u64) {
    let n = steps.len();
    match steps.last_mut() {
        Some(last) if last.0 == t => {
            last.1 = vus;
            if n >= 2 && steps[n - 2].1 == vus {
                steps.pop();
            }
        }
        Some(last) if last.1 == vus => {}
        _ => steps.push((t, vus)),
    }
}

/// The instants (ms into the stage, in `1..=d`) where the segment's share of a ramp
/// `from → to` over `d` ms may change, i.e. where the global target crosses a value
/// this segment owns. Duplicates are fine: callers dedupe.
fn ramp_change_points(seg: Segment, from: u64, to: u64, d: u64, out: &mut Vec<u64>) {
    let diff = from.abs_diff(to);
    let crossings = diff / u64::from(seg.count.max(1)) + 1;
    if diff == 0 || d <= 1 {
        return;
    }
    if crossings >= d {
        // Denser than one change per ms: every ms is a candidate.
        out.extend(1..d);
        return;
    }
    let (d128, diff128) = (u128::from(d), u128::from(diff));
    if to > from {
        // share(g) grows when g reaches v with v - 1 owned, at e = ceil((v - from) d / diff).
        let mut local = seg.share(from);
        loop {
            let owned = seg.to_global(local);
            if owned >= to {
                break;
            }
            let rise = u128::from(owned + 1 - from);
            out.push((rise * d128).div_ceil(diff128) as u64);
            local += 1;
        }
    } else {
        // share(g) shrinks when g falls to an owned v: at e = floor((from - v - 1) d / diff) + 1.
        let mut next = seg.share(from).checked_sub(1);
        while let Some(local) = next {
            let owned = seg.to_global(local);
            if owned < to {
                break;
            }
            let fall = u128::from(from - owned - 1);
            out.push((fall * d128 / diff128) as u64 + 1);
            next = local.checked_sub(1);
        }
    }
}

/// The points where this segment's VU target changes: `(t_ms, vus)`, strictly ascending
/// in time, starting at `t = 0`. Every entry but the last changes the value (ramps are
/// resolved to the first ms at which the floored target reaches a new integer). The last
/// entry is always `(duration_ms(w), 0)`: the executor's end, where graceful stop (not
/// graceful ramp-down) applies. A zero-length workload gives `[(0, 0)]`.
///
/// For every `t`, the value of the last entry at or before `t` equals [`vus_at`]`(t)`.
pub fn vu_steps(w: &Workload, seg: Segment) -> Vec<(u64, u64)> {
    let end = duration_ms(w);
    let mut steps = vec![(0, vus_at(w, seg, 0))];
    if end == 0 {
        return steps;
    }
    if let Workload::RampingVus {
        start_vus, stages, ..
    } = w
    {
        let (mut from, mut start) = (*start_vus, 0u64);
        let mut points = Vec::new();
        for st in stages {
            if start >= end {
                break;
            }
            let to = vu_count(st.target);
            push_step(
                &mut steps,
                start,
                seg.share(ramping_global(*start_vus, stages, start)),
            );
            points.clear();
            ramp_change_points(seg, from, to, st.duration_ms, &mut points);
            points.sort_unstable();
            // The stage's end belongs to the next stage (or to the executor's end).
            for &e in points.iter().filter(|&&e| e < st.duration_ms) {
                push_step(
                    &mut steps,
                    start + e,
                    seg.share(interpolate(from, to, st.duration_ms, e)),
                );
            }
            from = to;
            start = start.saturating_add(st.duration_ms);
        }
    }
    steps.push((end, 0));
    steps
}

/// Iterations this segment must run in total: `shared_iterations`, the share of the
/// total; `per_vu_iterations`, this segment's VUs times `iterations`. `None` for
/// duration-based executors.
pub fn iterations(w: &Workload, seg: Segment) -> Option<u64> {
    match w {
        Workload::SharedIterations { iterations, .. } => Some(seg.share(*iterations)),
        Workload::PerVuIterations {
            vus, iterations, ..
        } => Some(seg.share(*vus).saturating_mul(*iterations)),
        _ => None,
    }
}

/// One linear piece of an arrival rate: `from → to` iterations/s over `dur_ms`, starting
/// at `start_ms`, covering the global arrivals whose index lies in `[area_start, area_end)`.
#[derive(Clone, Copy, Debug)]
struct RatePiece {
    start_ms: f64,
    dur_ms: f64,
    from: f64,
    to: f64,
    area_start: f64,
    area_end: f64,
}

impl RatePiece {
    /// Ms into this piece at which the rate's integral since its start reaches `delta`.
    fn solve(&self, delta: f64) -> f64 {
        if self.dur_ms <= 0.0 || delta <= 0.0 {
            return 0.0;
        }
        // Integral over x ms: (from x + c x² / 2) / 1000 with c = (to - from) / dur_ms.
        let goal = 1000.0 * delta;
        let x = if self.from == self.to {
            if self.from > 0.0 {
                goal / self.from
            } else {
                0.0
            }
        } else {
            // The cancellation-free root of c/2 x² + from x - goal = 0.
            let c = (self.to - self.from) / self.dur_ms;
            let disc = (self.from * self.from + 2.0 * c * goal).max(0.0);
            let den = self.from + disc.sqrt();
            if den > 0.0 {
                2.0 * goal / den
            } else {
                0.0
            }
        };
        if x.is_finite() {
            x.clamp(0.0, self.dur_ms)
        } else {
            self.dur_ms
        }
    }
}

/// The arrival-rate profile of a workload as linear pieces (empty for closed models).
fn rate_profile(w: &Workload) -> Vec<RatePiece> {
    let mut pieces = Vec::new();
    let mut push = |start_ms: u64, dur_ms: u64, from: f64, to: f64| {
        let area_start = pieces.last().map_or(0.0, |p: &RatePiece| p.area_end);
        let dur = dur_ms as f64;
        let area = (from + to) / 2.0 * dur / 1000.0;
        pieces.push(RatePiece {
            start_ms: start_ms as f64,
            dur_ms: dur,
            from,
            to,
            area_start,
            area_end: area_start + area,
        });
    };
    match w {
        Workload::ConstantArrivalRate {
            rate, duration_ms, ..
        } => {
            let r = rate_value(*rate);
            push(0, *duration_ms, r, r);
        }
        Workload::RampingArrivalRate {
            start_rate, stages, ..
        } => {
            let (mut from, mut start) = (rate_value(*start_rate), 0u64);
            for st in stages {
                let to = rate_value(st.target);
                push(start, st.duration_ms, from, to);
                from = to;
                start = start.saturating_add(st.duration_ms);
            }
        }
        _ => {}
    }
    pieces
}

/// `floor(x)`, forgiving the last bits of float error (5/m for 1m is 5 arrivals).
fn floor_count(x: f64) -> u64 {
    if x.is_finite() && x > 0.0 {
        (x * (1.0 + 1e-12) + 1e-9).floor() as u64
    } else {
        0
    }
}

fn total_of(pieces: &[RatePiece]) -> u64 {
    floor_count(pieces.last().map_or(0.0, |p| p.area_end))
}

/// Total arrivals the whole (unsplit) workload schedules: the floor of the rate's
/// integral over the duration (0 for closed models).
pub fn total_arrivals(w: &Workload) -> u64 {
    total_of(&rate_profile(w))
}

/// This segment's arrivals of an arrival-rate workload, in order: `(global_index,
/// due_ms)`. Global arrival `i` (`0 ≤ i < total_arrivals`) is due when the integral of
/// the rate since the start reaches `i` (constant rate: `i / rate`); arrival 0 is due at
/// 0. Empty for closed models. Built by [`arrivals`].
#[derive(Clone, Debug)]
pub struct Arrivals {
    pieces: Vec<RatePiece>,
    seg: Segment,
    total: u64,
    next_local: u64,
    /// The piece the last arrival fell in; only moves forward.
    cursor: usize,
}

impl Arrivals {
    /// When global arrival `i` is due (ms). Depends only on `i` and the workload, never
    /// on the segment or the cursor's history, so every runner computes the same instant.
    fn due(&mut self, i: u64) -> f64 {
        let fi = i as f64;
        // The first piece whose area ends beyond i (the last piece as a fallback).
        while self.cursor + 1 < self.pieces.len() && self.pieces[self.cursor].area_end <= fi {
            self.cursor += 1;
        }
        match self.pieces.get(self.cursor) {
            Some(p) => p.start_ms + p.solve(fi - p.area_start),
            None => 0.0,
        }
    }

    fn remaining(&self) -> u64 {
        self.seg.share(self.total).saturating_sub(self.next_local)
    }
}

impl Iterator for Arrivals {
    type Item = (u64, f64);

    fn next(&mut self) -> Option<(u64, f64)> {
        if self.remaining() == 0 {
            return None;
        }
        let global = self.seg.to_global(self.next_local);
        self.next_local += 1;
        Some((global, self.due(global)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match usize::try_from(self.remaining()) {
            Ok(n) => (n, Some(n)),
            Err(_) => (usize::MAX, None),
        }
    }
}

impl FusedIterator for Arrivals {}

/// This segment's arrivals of an arrival-rate workload (see [`Arrivals`]): constant rate,
/// or for `ramping_arrival_rate` a rate linear within each stage from the previous target
/// (`start_rate` for the first) to the stage's target, solved per stage in closed form.
/// Ends with the executor's duration.
pub fn arrivals(w: &Workload, seg: Segment) -> Arrivals {
    let pieces = rate_profile(w);
    let total = total_of(&pieces);
    Arrivals {
        pieces,
        seg,
        total,
        next_local: 0,
        cursor: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn segs(n: u32) -> Vec<Segment> {
        (0..n).map(|k| Segment::new(k, n).unwrap()).collect()
    }

    fn stage(duration_ms: u64, target: f64) -> Stage {
        Stage {
            duration_ms,
            target,
        }
    }

    fn ramping_vus(start_vus: u64, stages: Vec<Stage>) -> Workload {
        Workload::RampingVus {
            start_vus,
            stages,
            graceful_ramp_down_ms: 30_000,
        }
    }

    fn ramping_rate(start_rate: f64, stages: Vec<Stage>) -> Workload {
        Workload::RampingArrivalRate {
            start_rate,
            stages,
            pre_allocated_vus: 10,
            max_vus: 50,
        }
    }

    fn constant_rate(rate: f64, duration_ms: u64) -> Workload {
        Workload::ConstantArrivalRate {
            rate,
            duration_ms,
            pre_allocated_vus: 10,
            max_vus: 50,
        }
    }

    /// The value of a step list at `t`: the last entry at or before `t`.
    fn step_value(steps: &[(u64, u64)], t: u64) -> u64 {
        steps
            .iter()
            .take_while(|s| s.0 <= t)
            .last()
            .map_or(0, |s| s.1)
    }

    #[test]
    fn ten_vus_on_four_runners() {
        let w = Workload::ConstantVus {
            vus: 10,
            duration_ms: 1000,
        };
        let at: Vec<u64> = segs(4).into_iter().map(|s| vus_at(&w, s, 0)).collect();
        assert_eq!(at, [3, 3, 2, 2]);
        let max: Vec<u64> = segs(4).into_iter().map(|s| max_vus(&w, s)).collect();
        assert_eq!(max, [3, 3, 2, 2]);
        assert_eq!(vus_at(&w, Segment::whole(), 999), 10);
        assert_eq!(vus_at(&w, Segment::whole(), 1000), 0);
        assert_eq!(vu_steps(&w, Segment::whole()), [(0, 10), (1000, 0)]);
        assert_eq!(iterations(&w, Segment::whole()), None);
    }

    #[test]
    fn constant_arrival_rate_10_per_s_for_2s() {
        let w = constant_rate(10.0, 2000);
        assert_eq!(total_arrivals(&w), 20);
        let all: Vec<(u64, f64)> = arrivals(&w, Segment::whole()).collect();
        let want: Vec<(u64, f64)> = (0..20).map(|i| (i, i as f64 * 100.0)).collect();
        assert_eq!(all, want);
        let second: Vec<u64> = arrivals(&w, Segment::new(1, 3).unwrap())
            .map(|a| a.0)
            .collect();
        assert_eq!(second, [1, 4, 7, 10, 13, 16, 19]);
        assert_eq!(
            arrivals(&w, Segment::new(1, 3).unwrap()).size_hint(),
            (7, Some(7))
        );
        // Arrival-rate VUs are the pre-allocated ones; max is the share of max_vus.
        assert_eq!(vus_at(&w, Segment::new(0, 4).unwrap(), 0), 3);
        assert_eq!(initial_vus(&w, Segment::new(3, 4).unwrap()), 2);
        assert_eq!(max_vus(&w, Segment::new(0, 4).unwrap()), 13);
    }

    #[test]
    fn ramping_arrival_rate_0_to_100_over_10s_schedules_500() {
        let w = ramping_rate(0.0, vec![stage(10_000, 100.0)]);
        assert_eq!(total_arrivals(&w), 500);
        let all: Vec<(u64, f64)> = arrivals(&w, Segment::whole()).collect();
        assert_eq!(all.len(), 500);
        for &(i, t) in &all {
            // rate(t) = t/100 per s, integral = t²/200_000: arrival i at sqrt(200_000 i).
            let exact = (200_000.0 * i as f64).sqrt();
            assert!((t - exact).abs() < 1e-6, "arrival {i} at {t}, want {exact}");
        }
        assert!(all[499].1 < 10_000.0);
    }

    #[test]
    fn per_minute_rates_are_not_lost_to_float_error() {
        for per_minute in 1..=120u32 {
            let w = constant_rate(f64::from(per_minute) / 60.0, 60_000);
            assert_eq!(total_arrivals(&w), u64::from(per_minute), "{per_minute}/m");
        }
        // A fractional integral is floored: 1.5/s for 1s is one arrival, at 0.
        let w = constant_rate(1.5, 1000);
        assert_eq!(
            arrivals(&w, Segment::whole()).collect::<Vec<_>>(),
            [(0, 0.0)]
        );
    }

    #[test]
    fn zero_rate_stages_and_jumps() {
        let w = ramping_rate(
            0.0,
            vec![
                stage(5000, 0.0),
                stage(0, 10.0),
                stage(2000, 10.0),
                stage(3000, 0.0),
            ],
        );
        assert_eq!(duration_ms(&w), 10_000);
        assert_eq!(total_arrivals(&w), 35);
        let all: Vec<(u64, f64)> = arrivals(&w, Segment::whole()).collect();
        assert_eq!(all[0], (0, 5000.0));
        assert_eq!(all[19], (19, 6900.0));
        assert_eq!(all[20], (20, 7000.0));
        assert!(all[34].1 < 10_000.0);
    }

    #[test]
    fn bad_rates_schedule_nothing() {
        for r in [-5.0, f64::NAN, f64::INFINITY, 0.0] {
            assert_eq!(total_arrivals(&constant_rate(r, 10_000)), 0);
            assert_eq!(
                arrivals(&constant_rate(r, 10_000), Segment::whole()).count(),
                0
            );
            let w = ramping_rate(r, vec![stage(1000, r)]);
            assert_eq!(arrivals(&w, Segment::whole()).count(), 0);
        }
        let closed = Workload::ConstantVus {
            vus: 5,
            duration_ms: 1000,
        };
        assert_eq!(total_arrivals(&closed), 0);
        assert_eq!(arrivals(&closed, Segment::whole()).next(), None);
    }

    #[test]
    fn ramping_vus_steps_once_per_vu() {
        let w = ramping_vus(
            0,
            vec![stage(10_000, 10.0), stage(5000, 10.0), stage(0, 4.0)],
        );
        assert_eq!(duration_ms(&w), 15_000);
        let steps = vu_steps(&w, Segment::whole());
        let mut want: Vec<(u64, u64)> = (0..=10).map(|v| (v * 1000, v)).collect();
        want.push((15_000, 0));
        assert_eq!(steps, want);
        // Runner 1 of 4 owns VUs 1, 5, 9: its count rises when the global one reaches 2, 6, 10.
        let s = Segment::new(1, 4).unwrap();
        assert_eq!(
            vu_steps(&w, s),
            [(0, 0), (2000, 1), (6000, 2), (10_000, 3), (15_000, 0)]
        );
        assert_eq!(max_vus(&w, s), 3);
        assert_eq!(initial_vus(&w, s), 0);
    }

    #[test]
    fn ramping_vus_down_and_jumps() {
        let w = ramping_vus(6, vec![stage(0, 8.0), stage(600, 2.0), stage(100, 2.0)]);
        assert_eq!(initial_vus(&w, Segment::whole()), 8);
        // floor(8 - t/100): 7 at 1ms, then one fewer every 100ms.
        assert_eq!(
            vu_steps(&w, Segment::whole()),
            [
                (0, 8),
                (1, 7),
                (101, 6),
                (201, 5),
                (301, 4),
                (401, 3),
                (501, 2),
                (700, 0)
            ]
        );
    }

    /// Regression: a crossing rounded up to the stage's end (1223 VUs over 161 ms on 8
    /// runners) produced a step at the end instant before the end marker.
    #[test]
    fn crossing_at_the_stage_end_is_not_a_step() {
        let w = ramping_vus(0, vec![stage(161, 1223.0)]);
        let steps = vu_steps(&w, Segment::new(0, 8).unwrap());
        assert!(steps.windows(2).all(|p| p[0].0 < p[1].0), "{steps:?}");
        assert_eq!(steps[steps.len() - 2], (160, 152));
        assert_eq!(steps[steps.len() - 1], (161, 0));
    }

    #[test]
    fn iteration_counts() {
        let shared = Workload::SharedIterations {
            vus: 10,
            iterations: 101,
            max_duration_ms: 600_000,
        };
        let got: Vec<Option<u64>> = segs(4)
            .into_iter()
            .map(|s| iterations(&shared, s))
            .collect();
        assert_eq!(got, [Some(26), Some(25), Some(25), Some(25)]);
        let per_vu = Workload::PerVuIterations {
            vus: 10,
            iterations: 5,
            max_duration_ms: 600_000,
        };
        let got: Vec<Option<u64>> = segs(4)
            .into_iter()
            .map(|s| iterations(&per_vu, s))
            .collect();
        assert_eq!(got, [Some(15), Some(15), Some(10), Some(10)]);
        assert_eq!(duration_ms(&per_vu), 600_000);
    }

    #[test]
    fn empty_workloads() {
        let w = ramping_vus(3, vec![]);
        assert_eq!(duration_ms(&w), 0);
        assert_eq!(vus_at(&w, Segment::whole(), 0), 0);
        assert_eq!(vu_steps(&w, Segment::whole()), [(0, 0)]);
        assert_eq!(max_vus(&w, Segment::whole()), 3);
        assert_eq!(
            arrivals(&ramping_rate(5.0, vec![]), Segment::whole()).count(),
            0
        );
    }

    fn any_stage(max_ms: u64, max_target: u64) -> impl Strategy<Value = Stage> {
        (0..=max_ms, 0..=max_target, prop::bool::weighted(0.2))
            .prop_map(|(d, t, frac)| stage(d, if frac { t as f64 + 0.5 } else { t as f64 }))
    }

    /// Every executor kind, with parameters small enough to enumerate every arrival
    /// (at most 20,000) and every ms.
    fn any_workload() -> impl Strategy<Value = Workload> {
        prop_oneof![
            (0..=2000u64, 0..=20_000u64)
                .prop_map(|(vus, duration_ms)| Workload::ConstantVus { vus, duration_ms }),
            (
                0..=300u64,
                prop::collection::vec(any_stage(3000, 3000), 0..=4)
            )
                .prop_map(|(start, stages)| ramping_vus(start, stages)),
            (0.0..=500.0f64, 0..=20_000u64, 0..=100u64, 0..=200u64).prop_map(
                |(rate, duration_ms, pre_allocated_vus, max_vus)| {
                    Workload::ConstantArrivalRate {
                        rate,
                        duration_ms,
                        pre_allocated_vus,
                        max_vus,
                    }
                }
            ),
            (
                0..=300u64,
                prop::collection::vec(any_stage(10_000, 300), 0..=4)
            )
                .prop_map(|(start, stages)| ramping_rate(start as f64, stages)),
            (0..=500u64, 0..=100_000u64, 0..=60_000u64).prop_map(|(vus, iterations, ms)| {
                Workload::SharedIterations {
                    vus,
                    iterations,
                    max_duration_ms: ms,
                }
            }),
            (0..=500u64, 0..=1000u64, 0..=60_000u64).prop_map(|(vus, iterations, ms)| {
                Workload::PerVuIterations {
                    vus,
                    iterations,
                    max_duration_ms: ms,
                }
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn vu_counts_add_up_at_every_instant(
            w in any_workload(),
            n in 1u32..=16,
            ts in prop::collection::vec(0.0..1.1f64, 1..20),
        ) {
            let end = duration_ms(&w);
            for frac in ts {
                let t = (end as f64 * frac) as u64;
                let sum: u64 = segs(n).into_iter().map(|s| vus_at(&w, s, t)).sum();
                prop_assert_eq!(sum, vus_at(&w, Segment::whole(), t), "t = {}", t);
            }
            let max: u64 = segs(n).into_iter().map(|s| max_vus(&w, s)).sum();
            prop_assert_eq!(max, max_vus(&w, Segment::whole()));
            let init: u64 = segs(n).into_iter().map(|s| initial_vus(&w, s)).sum();
            prop_assert_eq!(init, initial_vus(&w, Segment::whole()));
            for s in segs(n) {
                prop_assert!(initial_vus(&w, s) <= max_vus(&w, s));
            }
        }

        #[test]
        fn iterations_add_up(w in any_workload(), n in 1u32..=16) {
            let parts: Vec<Option<u64>> = segs(n).into_iter().map(|s| iterations(&w, s)).collect();
            match iterations(&w, Segment::whole()) {
                None => prop_assert!(parts.iter().all(Option::is_none)),
                Some(total) => {
                    prop_assert_eq!(parts.iter().map(|p| p.unwrap_or(0)).sum::<u64>(), total);
                    prop_assert!(parts.iter().all(Option::is_some));
                }
            }
        }

        #[test]
        fn arrivals_union_exactly_to_the_whole(w in any_workload(), n in 1u32..=16) {
            let whole: Vec<(u64, f64)> = arrivals(&w, Segment::whole()).collect();
            prop_assert_eq!(whole.len() as u64, total_arrivals(&w));
            prop_assert!(whole.len() <= 20_000);
            let end = duration_ms(&w) as f64;
            for (i, pair) in whole.iter().enumerate() {
                prop_assert_eq!(pair.0, i as u64);
                prop_assert!(pair.1 >= 0.0 && pair.1 < end, "arrival {} at {} of {}", i, pair.1, end);
            }
            prop_assert!(whole.windows(2).all(|p| p[0].1 <= p[1].1), "not in order");
            let mut union: Vec<(u64, f64)> = Vec::new();
            for s in segs(n) {
                let mine: Vec<(u64, f64)> = arrivals(&w, s).collect();
                prop_assert!(mine.iter().all(|a| s.owns(a.0)));
                prop_assert!(mine.windows(2).all(|p| p[0].0 < p[1].0 && p[0].1 <= p[1].1));
                union.extend(mine);
            }
            union.sort_by_key(|a| a.0);
            let bits = |v: &[(u64, f64)]| v.iter().map(|a| (a.0, a.1.to_bits())).collect::<Vec<_>>();
            prop_assert_eq!(bits(&union), bits(&whole));
        }

        #[test]
        fn vu_steps_match_vus_at_every_ms(w in any_workload(), n in 1u32..=16, k in 0u32..16) {
            let s = Segment::new(k % n, n).unwrap();
            let end = duration_ms(&w);
            let steps = vu_steps(&w, s);
            prop_assert_eq!(steps[0].0, 0);
            prop_assert_eq!(*steps.last().unwrap(), (end, 0));
            prop_assert!(steps.windows(2).all(|p| p[0].0 < p[1].0), "{:?}", steps);
            let last = steps.len().saturating_sub(1);
            prop_assert!(steps[..last].windows(2).all(|p| p[0].1 != p[1].1), "{:?}", steps);
            // Every ms for short workloads, a sample otherwise.
            let stride = (end / 5000).max(1);
            let mut t = 0;
            while t <= end + 1 {
                prop_assert_eq!(step_value(&steps, t), vus_at(&w, s, t), "t = {}", t);
                t += stride;
            }
            for &(t, v) in &steps {
                prop_assert_eq!(vus_at(&w, s, t), v);
                if t > 0 {
                    prop_assert_eq!(step_value(&steps, t - 1), vus_at(&w, s, t - 1));
                }
            }
        }
    }
}
