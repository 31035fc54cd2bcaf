//! The schedule: what each executor should be doing at every instant, for one segment.
//!
//! Pure arithmetic over a [`Workload`] and a [`Segment`]: VU targets, their step points,
//! iteration counts, durations and arrival times, each exactly what k6 computes for the
//! same execution segment (see `volley_plan::segment`). The executors ask this module
//! *what* to do and do the timing themselves; this module must not sleep, spawn, read
//! clocks or depend on tokio, and it never panics on odd input (negative or NaN rates and
//! targets count as 0).
//!
//! * VU counts follow k6's striping of VUs: every per-segment count is `share(global)`.
//! * `shared_iterations` splits its iterations by the runners' shares of `vus`, and the
//!   arrival-rate executors split their arrivals by the runners' shares of `max_vus`
//!   ([`Segment::stripe`]): a runner with no VU gets no work. Global arrival `i` is due at
//!   the same instant whichever runner owns it, so the runners' arrivals union exactly to
//!   the whole schedule.
//! * `ramping_vus` starts VU `v` (1-based) when the linear target reaches `v` and stops it
//!   when the target falls to `v − 1`, to the ns (k6's `getRawExecutionSteps`).
//! * `constant_arrival_rate` starts an iteration at 0 and then every period, the period
//!   truncated to whole ns; `ramping_arrival_rate` starts iteration `i` (from 1) when the
//!   rate's integral reaches `i`, with k6's own floating-point formula. An arrival due at or
//!   after the executor's end is not scheduled.
//!
//! Time is in ns from the scenario start for VU steps and arrivals (ms for `vus_at`).
//! At and after [`duration_ms`] every executor wants 0 VUs: what happens to running
//! iterations then (graceful stop) is the executors' business.

use crate::segment::{Segment, Stripe};
use crate::{Stage, Workload};
use std::iter::FusedIterator;

const NS_PER_MS: u64 = 1_000_000;

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

fn ms_to_ns(ms: u64) -> u64 {
    ms.saturating_mul(NS_PER_MS)
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

/// The k6 VU target `e` ns into a ramp `from → to` of `d` ns (`e < d`): rounded down
/// while ramping up, up while ramping down (VU `v` stops when the target reaches `v − 1`).
fn interpolate(from: u64, to: u64, d: u64, e: u64) -> u64 {
    let (e, d) = (u128::from(e), u128::from(d.max(1)));
    if to >= from {
        let up = u128::from(to - from) * e / d;
        from + up as u64
    } else {
        let down = u128::from(from - to) * e / d;
        from - down as u64
    }
}

/// The global `ramping_vus` target at `t` ns (ignoring the executor's end): `start_vus`,
/// then k6's linear stepping within each stage from the previous target; a zero-length
/// stage jumps to its target.
fn ramping_global(start_vus: u64, stages: &[Stage], t: u64) -> u64 {
    let (mut from, mut start) = (start_vus, 0u64);
    for st in stages {
        let to = vu_count(st.target);
        let d = ms_to_ns(st.duration_ms);
        let end = start.saturating_add(d);
        if t < end {
            return interpolate(from, to, d, t - start);
        }
        from = to;
        start = end;
    }
    from
}

/// VUs that should be active at `t_ms` after the scenario start, for this segment
/// (see [`vus_at_ns`]).
pub fn vus_at(w: &Workload, seg: Segment, t_ms: u64) -> u64 {
    vus_at_ns(w, seg, ms_to_ns(t_ms))
}

/// VUs that should be active at `t_ns` after the scenario start, for this segment:
/// the workload's VUs (closed models), the ramp's target (`ramping_vus`), or the
/// pre-allocated VUs (arrival-rate models). 0 from [`duration_ms`] on.
pub fn vus_at_ns(w: &Workload, seg: Segment, t_ns: u64) -> u64 {
    if t_ns >= ms_to_ns(duration_ms(w)) {
        return 0;
    }
    match w {
        Workload::RampingVus {
            start_vus, stages, ..
        } => seg.share(ramping_global(*start_vus, stages, t_ns)),
        _ => initial_vus(w, seg),
    }
}

/// The VU count arrival-rate work is split by: `max_vus`, never less than
/// `pre_allocated_vus` (k6 refuses `max_vus < pre_allocated_vus`).
fn open_vus(pre_allocated_vus: u64, max_vus: u64) -> u64 {
    max_vus.max(pre_allocated_vus)
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
        } => seg.share(open_vus(*pre_allocated_vus, *max_vus)),
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

/// The stripe of the work this segment runs: `shared_iterations` by its share of `vus`,
/// arrival-rate executors by its share of `max_vus` (k6's tuple derived from that VU
/// count); `None` for the other executors, whose work follows the VUs themselves.
pub fn work_stripe(w: &Workload, seg: Segment) -> Option<Stripe> {
    match w {
        Workload::SharedIterations { vus, .. } => Some(seg.stripe(*vus)),
        Workload::ConstantArrivalRate {
            pre_allocated_vus,
            max_vus,
            ..
        }
        | Workload::RampingArrivalRate {
            pre_allocated_vus,
            max_vus,
            ..
        } => Some(seg.stripe(open_vus(*pre_allocated_vus, *max_vus))),
        _ => None,
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

/// The instants (ns into the stage, in `1..=d`) where the segment's share of a ramp
/// `from → to` over `d` ns changes: k6 starts owned VU `v` (1-based) at
/// `ceil(d (v − from) / diff)` and stops it at `ceil(d (from − v + 1) / diff)`.
fn ramp_change_points(seg: Segment, from: u64, to: u64, d: u64, out: &mut Vec<u64>) {
    let diff = from.abs_diff(to);
    if diff == 0 || d == 0 {
        return;
    }
    let (d128, diff128) = (u128::from(d), u128::from(diff));
    let (lo, hi) = (from.min(to), from.max(to));
    // Owned 0-based indices g in [lo, hi): VU v = g + 1.
    let mut local = seg.share(lo);
    loop {
        let g = seg.to_global(local);
        if g >= hi {
            break;
        }
        let steps = if to > from { g + 1 - from } else { from - g };
        out.push((u128::from(steps) * d128).div_ceil(diff128) as u64);
        local += 1;
    }
}

/// The points where this segment's VU target changes: `(t_ns, vus)`, strictly ascending
/// in time, starting at `t = 0`. Every entry but the last changes the value. The last
/// entry is always `(duration, 0)` in ns: the executor's end, where graceful stop (not
/// graceful ramp-down) applies. A zero-length workload gives `[(0, 0)]`.
///
/// For every `t`, the value of the last entry at or before `t` equals [`vus_at_ns`]`(t)`.
pub fn vu_steps(w: &Workload, seg: Segment) -> Vec<(u64, u64)> {
    let end = ms_to_ns(duration_ms(w));
    let mut steps = vec![(0, vus_at_ns(w, seg, 0))];
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
            let d = ms_to_ns(st.duration_ms);
            points.clear();
            points.push(0);
            ramp_change_points(seg, from, to, d, &mut points);
            points.sort_unstable();
            for &e in &points {
                let t = start.saturating_add(e);
                if t < end {
                    push_step(&mut steps, t, vus_at_ns(w, seg, t));
                }
            }
            from = to;
            start = start.saturating_add(d);
        }
    }
    steps.push((end, 0));
    steps
}

/// Iterations this segment must run in total: `shared_iterations`, its stripe's share of
/// the total (by its share of `vus`); `per_vu_iterations`, this segment's VUs times
/// `iterations`. `None` for duration-based executors.
pub fn iterations(w: &Workload, seg: Segment) -> Option<u64> {
    match w {
        Workload::SharedIterations {
            vus, iterations, ..
        } => Some(seg.stripe(*vus).share(*iterations)),
        Workload::PerVuIterations {
            vus, iterations, ..
        } => Some(seg.share(*vus).saturating_mul(*iterations)),
        _ => None,
    }
}

/// k6's period of a constant arrival rate, in whole ns (truncated): 0 for no rate.
fn period_ns(rate: f64) -> u64 {
    let r = rate_value(rate);
    if r <= 0.0 {
        return 0;
    }
    let p = 1e9 / r;
    if !p.is_finite() || p >= u64::MAX as f64 {
        return 0;
    }
    // k6 inverts the exact rational rate: forgive the last bits of our float rate
    // (1/m is 60 s, not 59.999999999 s).
    let n = p.round();
    if (p - n).abs() <= n * 1e-12 {
        n as u64
    } else {
        p.floor() as u64
    }
}

/// One stage of a `ramping_arrival_rate` in k6's units (iterations per ns, ns).
#[derive(Clone, Copy, Debug)]
struct RateStage {
    start_ns: u64,
    dur: f64,
    from: f64,
    to: f64,
    /// k6's `doneSoFar` and `endCount`: the rate's integral before and after this stage.
    done_before: f64,
    end_count: f64,
}

impl RateStage {
    /// When iteration `i` (1-based integral) starts: k6's `cal`, to the ns.
    fn due(&self, i: f64) -> u64 {
        let x = if self.from != self.to {
            let inner = self.dur
                * (self.from * self.from * self.dur
                    + 2.0 * (i - self.done_before) * (self.to - self.from));
            let root = if inner.is_sign_negative() {
                0.0
            } else {
                inner.sqrt()
            };
            (self.from * self.dur - root) / (self.from - self.to)
        } else {
            (i - self.done_before) / self.to
        };
        // Go's time.Duration(x): truncation towards zero.
        let offset = if x.is_finite() && x > 0.0 {
            x.trunc() as u64
        } else {
            0
        };
        self.start_ns.saturating_add(offset)
    }
}

/// The arrival schedule of a workload.
#[derive(Clone, Debug)]
enum Profile {
    /// Arrival `g` at `g · period`.
    Constant {
        period: u64,
    },
    Ramping {
        stages: Vec<RateStage>,
    },
    None,
}

fn profile(w: &Workload) -> Profile {
    match w {
        Workload::ConstantArrivalRate { rate, .. } => match period_ns(*rate) {
            0 => Profile::None,
            period => Profile::Constant { period },
        },
        Workload::RampingArrivalRate {
            start_rate, stages, ..
        } => {
            let mut out = Vec::new();
            let (mut from, mut start, mut done) = (rate_value(*start_rate) / 1e9, 0u64, 0.0f64);
            for st in stages {
                let to = rate_value(st.target) / 1e9;
                let d = ms_to_ns(st.duration_ms);
                let dur = d as f64;
                let end_count = if from != to {
                    done + dur * ((to - from) / 2.0 + from)
                } else {
                    done + dur * to
                };
                out.push(RateStage {
                    start_ns: start,
                    dur,
                    from,
                    to,
                    done_before: done,
                    end_count,
                });
                done = end_count;
                from = to;
                start = start.saturating_add(d);
            }
            Profile::Ramping { stages: out }
        }
        _ => Profile::None,
    }
}

/// When global arrival `g` (0-based) is due, in ns; `cursor` is the stage the previous
/// lookup ended in (only moves forward). `None` beyond the last stage.
fn due_ns(p: &Profile, g: u64, cursor: &mut usize) -> Option<u64> {
    match p {
        Profile::Constant { period } => g.checked_mul(*period),
        Profile::Ramping { stages } => {
            let i = (g + 1) as f64;
            // k6 emits `i` in the first stage whose cumulative count reaches it (a NaN
            // count never does).
            while *cursor < stages.len()
                && stages[*cursor].end_count.partial_cmp(&i) != Some(std::cmp::Ordering::Greater)
                && stages[*cursor].end_count != i
            {
                *cursor += 1;
            }
            stages.get(*cursor).map(|s| s.due(i))
        }
        Profile::None => None,
    }
}

/// Arrivals of the whole schedule that are due before the executor's end.
fn total_of(p: &Profile, end_ns: u64) -> u64 {
    match p {
        Profile::Constant { period } => end_ns.div_ceil(*period),
        Profile::Ramping { stages } => {
            let last = stages.last().map_or(0.0, |s| s.end_count);
            let mut n = if last.is_finite() && last >= 1.0 {
                last.floor().min(u64::MAX as f64 / 2.0) as u64
            } else {
                0
            };
            // The last arrivals may fall at the very end (an exact integral): not run.
            while n > 0 {
                let mut cursor = 0;
                match due_ns(p, n - 1, &mut cursor) {
                    Some(t) if t < end_ns => break,
                    _ => n -= 1,
                }
            }
            n
        }
        Profile::None => 0,
    }
}

/// Total arrivals the whole (unsplit) workload schedules (0 for closed models).
pub fn total_arrivals(w: &Workload) -> u64 {
    total_of(&profile(w), ms_to_ns(duration_ms(w)))
}

/// This segment's share of the arrival rate: the rate times its share of `max_vus`
/// (k6's scaled arrival rate). The whole rate for the whole test.
pub fn rate_share(w: &Workload, seg: Segment, rate: f64) -> f64 {
    let (pre, max) = match w {
        Workload::ConstantArrivalRate {
            pre_allocated_vus,
            max_vus,
            ..
        }
        | Workload::RampingArrivalRate {
            pre_allocated_vus,
            max_vus,
            ..
        } => (*pre_allocated_vus, *max_vus),
        _ => return 0.0,
    };
    let all = open_vus(pre, max);
    if all == 0 {
        return 0.0;
    }
    let mine = seg.runner().share(all);
    if mine == all {
        rate_value(rate)
    } else {
        rate_value(rate) * mine as f64 / all as f64
    }
}

/// This segment's arrivals of an arrival-rate workload, in order: `(global_index,
/// due_ns)`. Global arrival `g` (`0 ≤ g < total_arrivals`) is due at the same instant
/// whichever segment owns it; the segment owns the arrivals of its [`work_stripe`].
/// Empty for closed models. Built by [`arrivals`].
#[derive(Clone, Debug)]
pub struct Arrivals {
    profile: Profile,
    stripe: Option<Stripe>,
    total: u64,
    next_local: u64,
    /// The stage the last arrival fell in; only moves forward.
    cursor: usize,
}

impl Arrivals {
    fn remaining(&self) -> u64 {
        self.stripe
            .as_ref()
            .map_or(0, |s| s.share(self.total))
            .saturating_sub(self.next_local)
    }
}

impl Iterator for Arrivals {
    type Item = (u64, u64);

    fn next(&mut self) -> Option<(u64, u64)> {
        if self.remaining() == 0 {
            return None;
        }
        let global = self.stripe.as_ref()?.to_global(self.next_local);
        self.next_local += 1;
        let due = due_ns(&self.profile, global, &mut self.cursor)?;
        Some((global, due))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match usize::try_from(self.remaining()) {
            Ok(n) => (n, Some(n)),
            Err(_) => (usize::MAX, None),
        }
    }
}

impl FusedIterator for Arrivals {}

/// This segment's arrivals of an arrival-rate workload (see [`Arrivals`]).
pub fn arrivals(w: &Workload, seg: Segment) -> Arrivals {
    let profile = profile(w);
    let total = total_of(&profile, ms_to_ns(duration_ms(w)));
    Arrivals {
        profile,
        stripe: work_stripe(w, seg),
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

    const S: u64 = 1_000_000_000;
    const MS: u64 = 1_000_000;

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
        assert_eq!(vu_steps(&w, Segment::whole()), [(0, 10), (S, 0)]);
        assert_eq!(iterations(&w, Segment::whole()), None);
    }

    #[test]
    fn constant_arrival_rate_ticks_at_zero_then_every_period() {
        let w = constant_rate(10.0, 2000);
        assert_eq!(total_arrivals(&w), 20);
        let all: Vec<(u64, u64)> = arrivals(&w, Segment::whole()).collect();
        let want: Vec<(u64, u64)> = (0..20).map(|i| (i, i * 100 * MS)).collect();
        assert_eq!(all, want);
        // 50 max VUs on 5 runners: the plain striping.
        let w5 = constant_rate(10.0, 2000);
        let second: Vec<u64> = arrivals(&w5, Segment::new(1, 5).unwrap())
            .map(|a| a.0)
            .collect();
        assert_eq!(second, [1, 6, 11, 16]);
        assert_eq!(
            arrivals(&w5, Segment::new(1, 5).unwrap()).size_hint(),
            (4, Some(4))
        );
        // Arrival-rate VUs are the pre-allocated ones; max is the share of max_vus.
        assert_eq!(vus_at(&w, Segment::new(0, 4).unwrap(), 0), 3);
        assert_eq!(initial_vus(&w, Segment::new(3, 4).unwrap()), 2);
        assert_eq!(max_vus(&w, Segment::new(0, 4).unwrap()), 13);
        // k6: 1/m for 1s is one iteration (at 0); 3/s for 1s is 4 (the period is
        // truncated to 333,333,333 ns, so the 4th tick falls inside the second).
        assert_eq!(total_arrivals(&constant_rate(1.0 / 60.0, 1000)), 1);
        assert_eq!(total_arrivals(&constant_rate(3.0, 1000)), 4);
        assert_eq!(
            arrivals(&constant_rate(3.0, 1000), Segment::whole()).last(),
            Some((3, 999_999_999))
        );
    }

    #[test]
    fn arrivals_follow_the_share_of_max_vus() {
        // 2/s for 1s with 1 VU on 2 runners: runner 0 (the VU's) runs both, runner 1 none.
        let w = Workload::ConstantArrivalRate {
            rate: 2.0,
            duration_ms: 1000,
            pre_allocated_vus: 1,
            max_vus: 1,
        };
        let got: Vec<Vec<(u64, u64)>> = segs(2)
            .into_iter()
            .map(|s| arrivals(&w, s).collect())
            .collect();
        assert_eq!(got, [vec![(0, 0), (1, 500 * MS)], vec![]]);
        assert_eq!(rate_share(&w, Segment::new(0, 2).unwrap(), 2.0), 2.0);
        assert_eq!(rate_share(&w, Segment::new(1, 2).unwrap(), 2.0), 0.0);
        // 10 max VUs on 4 runners (3, 3, 2, 2): rates 30 %, 30 %, 20 %, 20 %.
        let w = constant_rate(10.0, 1000);
        let w = match w {
            Workload::ConstantArrivalRate {
                rate, duration_ms, ..
            } => Workload::ConstantArrivalRate {
                rate,
                duration_ms,
                pre_allocated_vus: 10,
                max_vus: 10,
            },
            other => other,
        };
        let counts: Vec<usize> = segs(4)
            .into_iter()
            .map(|s| arrivals(&w, s).count())
            .collect();
        assert_eq!(counts, [3, 3, 2, 2]);
        let rates: Vec<f64> = segs(4)
            .into_iter()
            .map(|s| rate_share(&w, s, 10.0))
            .collect();
        assert_eq!(rates, [3.0, 3.0, 2.0, 2.0]);
    }

    #[test]
    fn ramping_arrival_rate_0_to_100_over_10s() {
        let w = ramping_rate(0.0, vec![stage(10_000, 100.0)]);
        // k6 starts iteration i (from 1) when the integral reaches i; the 500th falls on
        // the end and is not run.
        assert_eq!(total_arrivals(&w), 499);
        let all: Vec<(u64, u64)> = arrivals(&w, Segment::whole()).collect();
        assert_eq!(all.len(), 499);
        for &(g, t) in &all {
            // rate(t) = t/100 per s, integral = t²/200_000 (ms): arrival g at sqrt(200_000 (g + 1)).
            let exact = (200_000.0 * (g + 1) as f64).sqrt() * 1e6;
            assert!(
                (t as f64 - exact).abs() < 2.0,
                "arrival {g} at {t}, want {exact}"
            );
        }
        assert!(all[498].1 < 10 * S);
    }

    #[test]
    fn flat_ramping_rate_does_not_run_the_arrival_due_at_the_end() {
        // k6: iterations at 0.1 s … 1.0 s; the one at the end races k6's own deadline.
        let w = ramping_rate(10.0, vec![stage(1000, 10.0)]);
        let all: Vec<(u64, u64)> = arrivals(&w, Segment::whole()).collect();
        let want: Vec<(u64, u64)> = (0..9).map(|g| (g, (g + 1) * 100 * MS)).collect();
        assert_eq!(all, want);
    }

    #[test]
    fn per_minute_rates_follow_k6s_truncated_period() {
        for per_minute in 1..=120u64 {
            let w = constant_rate(per_minute as f64 / 60.0, 60_000);
            let period = 60 * S / per_minute;
            assert_eq!(
                total_arrivals(&w),
                (60 * S).div_ceil(period),
                "{per_minute}/m"
            );
        }
        // 1.5/s for 1s: ticks at 0 and 666,666,666 ns.
        let w = constant_rate(1.5, 1000);
        assert_eq!(
            arrivals(&w, Segment::whole()).collect::<Vec<_>>(),
            [(0, 0), (1, 666_666_666)]
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
        // k6's float formula puts the 35th 40 ns before the end (an exact integral would
        // put it on the end, where it is not run).
        assert_eq!(total_arrivals(&w), 35);
        let all: Vec<(u64, u64)> = arrivals(&w, Segment::whole()).collect();
        assert_eq!(all[0], (0, 5100 * MS));
        assert_eq!(all[19], (19, 7000 * MS));
        assert_eq!(all[34], (34, 9_999_999_960));
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
        let mut want: Vec<(u64, u64)> = (0..=10).map(|v| (v * S, v)).collect();
        want.push((15 * S, 0));
        assert_eq!(steps, want);
        // Runner 1 of 4 owns VUs 2, 6, 10: its count rises when the target reaches them.
        let s = Segment::new(1, 4).unwrap();
        assert_eq!(
            vu_steps(&w, s),
            [(0, 0), (2 * S, 1), (6 * S, 2), (10 * S, 3), (15 * S, 0)]
        );
        assert_eq!(max_vus(&w, s), 3);
        assert_eq!(initial_vus(&w, s), 0);
    }

    #[test]
    fn ramping_vus_down_stops_vu_v_when_the_target_reaches_v_minus_1() {
        let w = ramping_vus(6, vec![stage(0, 8.0), stage(600, 2.0), stage(100, 2.0)]);
        assert_eq!(initial_vus(&w, Segment::whole()), 8);
        let want: Vec<(u64, u64)> = (0..=6)
            .map(|k| (k * 100 * MS, 8 - k))
            .chain([(700 * MS, 0)])
            .collect();
        assert_eq!(vu_steps(&w, Segment::whole()), want);
        // The case: 2 → 0 over 2s on 2 runners stops at 2,000 ms and 1,000 ms.
        let w = ramping_vus(2, vec![stage(2000, 0.0)]);
        let got: Vec<Vec<(u64, u64)>> = segs(2).into_iter().map(|s| vu_steps(&w, s)).collect();
        assert_eq!(
            got,
            [vec![(0, 1), (2 * S, 0)], vec![(0, 1), (S, 0), (2 * S, 0)]]
        );
    }

    #[test]
    fn ramp_steps_are_to_the_ns() {
        // 0 → 3 over 1 s: VUs at ceil(1e9 v / 3) ns.
        let w = ramping_vus(0, vec![stage(1000, 3.0), stage(1000, 3.0)]);
        assert_eq!(
            vu_steps(&w, Segment::whole()),
            [
                (0, 0),
                (333_333_334, 1),
                (666_666_667, 2),
                (S, 3),
                (2 * S, 0)
            ]
        );
    }

    /// Regression: a crossing at the stage end (1223 VUs over 161 ms on 8 runners) must
    /// not produce a step at the end instant before the end marker.
    #[test]
    fn crossing_at_the_stage_end_is_not_a_step() {
        let w = ramping_vus(0, vec![stage(161, 1223.0)]);
        let steps = vu_steps(&w, Segment::new(0, 8).unwrap());
        assert!(steps.windows(2).all(|p| p[0].0 < p[1].0), "{steps:?}");
        assert_eq!(steps[steps.len() - 2].1, 153);
        assert_eq!(steps[steps.len() - 1], (161 * MS, 0));
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
        assert_eq!(got, [Some(31), Some(30), Some(20), Some(20)]);
        // The cases: (1 VU, 2 iterations) and (3 VUs, 4 iterations) on 2 runners.
        for (vus, its, want) in [(1, 2, [2, 0]), (3, 4, [3, 1])] {
            let w = Workload::SharedIterations {
                vus,
                iterations: its,
                max_duration_ms: 1000,
            };
            let got: Vec<u64> = segs(2)
                .into_iter()
                .map(|s| iterations(&w, s).unwrap())
                .collect();
            assert_eq!(got, want);
        }
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
        fn arrivals_union_exactly_to_the_whole(w in any_workload(), n in 1u32..=16, parts in 1u32..=3) {
            let whole: Vec<(u64, u64)> = arrivals(&w, Segment::whole()).collect();
            prop_assert_eq!(whole.len() as u64, total_arrivals(&w));
            prop_assert!(whole.len() <= 20_001);
            let end = duration_ms(&w) * MS;
            for (i, pair) in whole.iter().enumerate() {
                prop_assert_eq!(pair.0, i as u64);
                prop_assert!(pair.1 < end, "arrival {} at {} of {}", i, pair.1, end);
            }
            prop_assert!(whole.windows(2).all(|p| p[0].1 <= p[1].1), "not in order");
            let mut union: Vec<(u64, u64)> = Vec::new();
            for s in segs(n) {
                let mine: Vec<(u64, u64)> = arrivals(&w, s).collect();
                let stripe = work_stripe(&w, s);
                prop_assert!(mine.iter().all(|a| stripe.as_ref().is_some_and(|st| st.owns(a.0))));
                prop_assert!(mine.windows(2).all(|p| p[0].0 < p[1].0 && p[0].1 <= p[1].1));
                if max_vus(&w, s) == 0 {
                    prop_assert!(mine.is_empty(), "a runner without VUs got arrivals");
                }
                // The runner's worker parts add up to the runner.
                let mut from_parts: Vec<(u64, u64)> = (0..parts)
                    .flat_map(|p| arrivals(&w, s.split(p, parts)).collect::<Vec<_>>())
                    .collect();
                from_parts.sort_unstable();
                prop_assert_eq!(&from_parts, &mine);
                union.extend(mine);
            }
            union.sort_by_key(|a| a.0);
            prop_assert_eq!(union, whole);
        }

        /// Every number of every runner's view adds up to the whole test's.
        #[test]
        fn runners_add_up_to_the_whole_test(w in any_workload(), n in 1u32..=12) {
            let whole = Segment::whole();
            let sum = |f: &dyn Fn(Segment) -> u64| segs(n).into_iter().map(f).sum::<u64>();
            prop_assert_eq!(sum(&|s| max_vus(&w, s)), max_vus(&w, whole));
            prop_assert_eq!(sum(&|s| initial_vus(&w, s)), initial_vus(&w, whole));
            prop_assert_eq!(
                sum(&|s| iterations(&w, s).unwrap_or(0)),
                iterations(&w, whole).unwrap_or(0)
            );
            prop_assert_eq!(sum(&|s| arrivals(&w, s).count() as u64), total_arrivals(&w));
            let end = duration_ms(&w);
            for t in [0, end / 3, end / 2, end.saturating_sub(1)] {
                prop_assert_eq!(sum(&|s| vus_at(&w, s, t)), vus_at(&w, whole, t));
            }
            for r in [1.0, 7.5, 100.0] {
                let total: f64 = segs(n).into_iter().map(|s| rate_share(&w, s, r)).sum();
                prop_assert!((total - rate_share(&w, whole, r)).abs() < 1e-9);
            }
            // No work without a VU.
            for s in segs(n) {
                if max_vus(&w, s) == 0 {
                    prop_assert_eq!(iterations(&w, s).unwrap_or(0), 0);
                    prop_assert_eq!(arrivals(&w, s).count(), 0);
                }
            }
        }

        #[test]
        fn vu_steps_match_vus_at_every_ms(w in any_workload(), n in 1u32..=16, k in 0u32..16) {
            let s = Segment::new(k % n, n).unwrap();
            let end = duration_ms(&w);
            let steps = vu_steps(&w, s);
            prop_assert_eq!(steps[0].0, 0);
            prop_assert_eq!(*steps.last().unwrap(), (end * MS, 0));
            prop_assert!(steps.windows(2).all(|p| p[0].0 < p[1].0), "{:?}", steps);
            let last = steps.len().saturating_sub(1);
            prop_assert!(steps[..last].windows(2).all(|p| p[0].1 != p[1].1), "{:?}", steps);
            // Every ms for short workloads, a sample otherwise.
            let stride = (end / 5000).max(1);
            let mut t = 0;
            while t <= end + 1 {
                prop_assert_eq!(step_value(&steps, t * MS), vus_at(&w, s, t), "t = {}", t);
                t += stride;
            }
            for &(t, v) in &steps {
                prop_assert_eq!(vus_at_ns(&w, s, t), v);
                if t > 0 {
                    prop_assert_eq!(step_value(&steps, t - 1), vus_at_ns(&w, s, t - 1));
                }
            }
        }
    }
}
