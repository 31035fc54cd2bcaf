//! The coordinator's bookkeeping as a pure state machine: who joined with which plan,
//! who is ready, the exact merge of every runner's sequenced snapshots, the fleet-wide
//! `after(..)` barriers, heartbeats and lost runners, and the per-runner rows of the
//! summary. Every input carries its own [`Now`], so the whole protocol is testable
//! without sockets or clocks. This module must not do IO, sleep or evaluate thresholds.

use super::protocol::{
    Control, Join, Joined, PushAck, Ready, ReceivedPush, Start, StopReason, WireValue, PROTOCOL,
};
use crate::metrics::{
    Aggregate, SeriesData, SeriesSnapshot, Snapshot, SparseData, SparseSeries, SparseSnapshot,
};
use crate::run::supervisor::Delta;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use volley_plan::{Plan, Start as PlanStart};

/// A runner's place in the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunnerState {
    /// No runner has joined for this index yet.
    Absent,
    Joined,
    Ready,
    Running,
    Done,
    Lost,
    /// Left before the start (stopped by a signal, its process exited, or its heartbeat
    /// lapsed when a replacement asked for the index): it never sent load, and its segment
    /// waits for a replacement.
    Left,
}

#[derive(Clone, Debug)]
pub struct RunnerSlot {
    pub state: RunnerState,
    pub instance: String,
    pub last_seen: Option<Instant>,
    /// The highest applied snapshot `seq`.
    pub acked: u64,
    pub first_request_unix_us: Option<u64>,
    /// When its workers actually started (Unix µs).
    pub started_unix_us: Option<u64>,
    pub finished: BTreeSet<u32>,
    pub http_reqs: f64,
    pub iterations: f64,
    /// The latest `vus` and `vus_max` it reported.
    pub vus: f64,
    pub vus_max: f64,
    /// Why it was lost, or why it left before the start.
    pub lost_reason: Option<String>,
    /// When another instance last asked for this index and was told to retry: the fleet
    /// does not start while a replacement waits (the earlier runner may be dead).
    pub contender: Option<Instant>,
}

impl RunnerSlot {
    fn new() -> RunnerSlot {
        RunnerSlot {
            state: RunnerState::Absent,
            instance: String::new(),
            last_seen: None,
            acked: 0,
            first_request_unix_us: None,
            started_unix_us: None,
            finished: BTreeSet::new(),
            http_reqs: 0.0,
            iterations: 0.0,
            vus: 0.0,
            vus_max: 0.0,
            lost_reason: None,
            contender: None,
        }
    }

    fn live(&self) -> bool {
        matches!(
            self.state,
            RunnerState::Joined | RunnerState::Ready | RunnerState::Running
        )
    }
}

/// The run's phase, as `/status` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Waiting,
    Setup,
    Running,
    Teardown,
    Done,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Waiting => "waiting",
            Phase::Setup => "setup",
            Phase::Running => "running",
            Phase::Teardown => "teardown",
            Phase::Done => "done",
        }
    }
}

/// Why a request was refused: the HTTP status and the message for the runner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub message: String,
}

fn refuse(status: u16, message: String) -> Refusal {
    Refusal { status, message }
}

/// The coordinator's state for one run.
pub struct FleetState {
    pub run: String,
    pub plan_hash: String,
    pub phase: Phase,
    pub runners: Vec<RunnerSlot>,
    pub control: Control,
    /// The merged metrics of every applied snapshot.
    pub agg: Aggregate,
    /// `(waiting scenario, scenario it waits for)` of every `start = after(..)`.
    after: Vec<(u32, u32)>,
    pub grace_ms: u64,
    pub heartbeat_timeout: Duration,
    /// Snapshots applied and ignored (already applied), and gaps detected.
    pub applied: u64,
    pub duplicates: u64,
    pub gaps: u64,
    /// Every delta merged into `agg` since the last [`FleetState::take_outbox`], in
    /// order, when collected (the coordinator hands them to the run's supervisor, which
    /// owns the run's metrics; `agg` is the hub's live view for `/status` and `/metrics`).
    pub outbox: Option<Vec<Delta>>,
}

/// How long a runner may stay silent before it is lost.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often runners are expected to push (and poll).
pub const HEARTBEAT: Duration = Duration::from_secs(1);

impl FleetState {
    pub fn new(plan: &Plan, plan_hash: String, runners: u32, agg: Aggregate) -> FleetState {
        let after = plan
            .scenarios
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s.start {
                PlanStart::After { scenario } => Some((i as u32, scenario)),
                _ => None,
            })
            .collect();
        FleetState {
            run: plan.name.clone(),
            plan_hash,
            phase: Phase::Waiting,
            runners: (0..runners.max(1)).map(|_| RunnerSlot::new()).collect(),
            control: Control::default(),
            agg,
            after,
            grace_ms: plan.fleet.grace_ms,
            heartbeat_timeout: HEARTBEAT_TIMEOUT,
            applied: 0,
            duplicates: 0,
            gaps: 0,
            outbox: None,
        }
    }

    pub fn expected(&self) -> u32 {
        self.runners.len() as u32
    }

    fn slot(&mut self, index: u32, instance: &str) -> Result<&mut RunnerSlot, Refusal> {
        let n = self.runners.len();
        let slot = self
            .runners
            .get_mut(index as usize)
            .ok_or_else(|| refuse(409, format!("runner index {index} is out of range 0..{n}")))?;
        if slot.state == RunnerState::Absent {
            return Err(refuse(409, format!("runner {index} has not joined")));
        }
        if slot.state == RunnerState::Left && slot.instance != instance {
            return Err(refuse(
                409,
                format!("runner {index} (`{instance}`) left before the start; its segment waits for a replacement"),
            ));
        }
        if slot.instance != instance {
            return Err(refuse(
                409,
                format!(
                    "runner {index} is now `{}`; `{instance}` was replaced",
                    slot.instance
                ),
            ));
        }
        Ok(slot)
    }

    /// A runner joins. Refused (409): another protocol, another plan, another fleet size,
    /// an index out of range, a second runner for an index after the start, a lost index.
    /// Before the start a runner for a joined index is accepted only once the earlier one
    /// is known gone: it left (a signal, its process exited) or its heartbeat lapsed; while
    /// it may still be alive the answer is 503, and the newcomer retries.
    pub fn join(&mut self, j: &Join, now: Instant) -> Result<Joined, Refusal> {
        if j.protocol != PROTOCOL {
            return Err(refuse(
                409,
                format!(
                    "runner speaks protocol {}, this coordinator speaks {PROTOCOL}",
                    j.protocol
                ),
            ));
        }
        let k = j.segment.index;
        if j.plan_hash != self.plan_hash {
            return Err(refuse(
                409,
                format!(
                    "runner {k} holds plan {} but this run is plan {}: deploy the same plan.json to every runner",
                    j.plan_hash, self.plan_hash
                ),
            ));
        }
        if j.segment.count != self.expected() {
            return Err(refuse(
                409,
                format!(
                    "runner {k} was started for {} runners but this fleet has {}",
                    j.segment.count,
                    self.expected()
                ),
            ));
        }
        let started = self.control.start.is_some();
        let grace_ms = self.grace_ms;
        let timeout = self.heartbeat_timeout;
        let slot = self
            .runners
            .get_mut(k as usize)
            .ok_or_else(|| refuse(409, format!("runner index {k} is out of range")))?;
        let silent = slot
            .last_seen
            .map(|t| now.saturating_duration_since(t))
            .filter(|&d| d > timeout);
        match slot.state {
            RunnerState::Absent | RunnerState::Left if !started => {}
            RunnerState::Joined | RunnerState::Ready
                if !started && (slot.instance == j.instance || silent.is_some()) =>
            {
                // Its own join again (the answer was lost), or a replacement for a runner
                // whose heartbeat lapsed: the new instance takes over, and the earlier one,
                // should it still be alive, is refused on every call from now on.
            }
            RunnerState::Joined | RunnerState::Ready if !started => {
                slot.contender = Some(now);
                let seen = slot
                    .last_seen
                    .map_or(0.0, |t| now.saturating_duration_since(t).as_secs_f64());
                return Err(refuse(
                    503,
                    format!(
                        "runner {k} is `{}`, heard from {seen:.1}s ago: a replacement is accepted once it has left or been silent for {}s (retry)",
                        slot.instance,
                        timeout.as_secs()
                    ),
                ));
            }
            RunnerState::Lost => {
                return Err(refuse(
                    409,
                    format!("runner {k} was lost; a replacement is refused so its segment's load is never run twice"),
                ))
            }
            _ => {
                return Err(refuse(
                    409,
                    format!(
                        "runner {k} is already `{}` and the test has started; a second runner for one segment would double its load",
                        slot.instance
                    ),
                ))
            }
        }
        *slot = RunnerSlot::new();
        slot.state = RunnerState::Joined;
        slot.instance = j.instance.clone();
        slot.last_seen = Some(now);
        Ok(Joined {
            run: self.run.clone(),
            grace_ms,
            heartbeat_ms: HEARTBEAT.as_millis() as u64,
        })
    }

    pub fn ready(&mut self, r: &Ready, now: Instant) -> Result<(), Refusal> {
        let slot = self.slot(r.index, &r.instance)?;
        slot.last_seen = Some(now);
        if slot.state == RunnerState::Joined {
            slot.state = RunnerState::Ready;
        }
        Ok(())
    }

    /// A control poll: a heartbeat.
    pub fn seen(&mut self, index: u32, instance: &str, now: Instant) -> Result<(), Refusal> {
        let slot = self.slot(index, instance)?;
        slot.last_seen = Some(now);
        Ok(())
    }

    /// Every index has a ready runner, and no replacement waits for one of them (a
    /// runner that asked within the heartbeat timeout: the ready one may be dead, and it
    /// is let in once that one's heartbeat lapses).
    pub fn all_ready(&self, now: Instant) -> bool {
        let waiting = |r: &RunnerSlot| {
            r.contender
                .is_some_and(|t| now.saturating_duration_since(t) <= self.heartbeat_timeout)
        };
        self.runners
            .iter()
            .all(|r| r.state == RunnerState::Ready && !waiting(r))
    }

    /// Indices that are not ready, with their state (for the start-timeout error).
    pub fn not_ready(&self) -> Vec<(u32, RunnerState)> {
        self.runners
            .iter()
            .enumerate()
            .filter(|(_, r)| r.state != RunnerState::Ready)
            .map(|(i, r)| (i as u32, r.state))
            .collect()
    }

    fn bump(&mut self) {
        self.control.version += 1;
    }

    /// Fixes the start instant for every runner.
    pub fn start(&mut self, at_unix_ms: u64, setup_values: Vec<WireValue>) {
        self.control.start = Some(Start {
            at_unix_ms,
            setup_values,
        });
        for r in &mut self.runners {
            if r.state == RunnerState::Ready {
                r.state = RunnerState::Running;
            }
        }
        self.phase = Phase::Running;
        self.bump();
    }

    pub fn stop(&mut self, reason: StopReason) {
        if self.control.stop.is_none() {
            self.control.stop = Some(reason);
            self.bump();
        }
    }

    /// Applies a push: exactly the snapshots that follow the last applied one, in order.
    pub fn push(&mut self, p: &ReceivedPush, now: Now) -> Result<PushAck, Refusal> {
        let index = p.index as usize;
        let stopped_alone = p.stopped && self.control.stop.is_none();
        let started = self.control.start.is_some();
        let slot = self.slot(p.index, &p.instance)?;
        if slot.state == RunnerState::Lost {
            return Err(refuse(409, format!("runner {} was declared lost", p.index)));
        }
        slot.last_seen = Some(now.at);
        let mut apply = Vec::new();
        let mut next = slot.acked + 1;
        let mut missing_from = None;
        let mut dup = 0;
        for s in &p.snapshots {
            if s.seq < next {
                dup += 1;
            } else if s.seq == next {
                apply.push(s);
                next += 1;
            } else {
                missing_from = Some(next);
                break;
            }
        }
        slot.acked = next - 1;
        if p.first_request_unix_us.is_some() && slot.first_request_unix_us.is_none() {
            slot.first_request_unix_us = p.first_request_unix_us;
        }
        if p.started_unix_us.is_some() && slot.started_unix_us.is_none() {
            slot.started_unix_us = p.started_unix_us;
        }
        slot.finished.extend(p.finished.iter().copied());
        // A done push counts only once every snapshot before it has been applied. A runner
        // stopped by a signal of its own (the fleet was not stopping) ran a short share: its
        // data is kept, and it is lost with the reason.
        // Before the start it sent no load: it leaves, and its segment waits for a
        // replacement.
        let mut lost_now = false;
        let mut left_now = false;
        if p.done && missing_from.is_none() && slot.state != RunnerState::Left {
            slot.state = RunnerState::Done;
            if stopped_alone && !started {
                slot.state = RunnerState::Left;
                left_now = true;
            } else if stopped_alone {
                slot.state = RunnerState::Lost;
                lost_now = true;
            }
        }
        let acked = slot.acked;
        self.duplicates += dup;
        if missing_from.is_some() {
            self.gaps += 1;
        }
        for s in apply {
            self.apply(index, &s.snapshot);
        }
        if lost_now {
            let r = &mut self.runners[index];
            r.lost_reason = Some(format!(
                "stopped by a signal to its process after {} iterations, before its share was done",
                r.iterations
            ));
            self.after_loss(now);
        }
        if left_now {
            self.leave(index, "stopped by a signal to its process".into(), now);
        }
        self.release_barriers(now.unix_ms);
        Ok(PushAck {
            acked,
            missing_from,
        })
    }

    /// Merges one runner's snapshot. `vus` and `vus_max` are per-runner gauges: the
    /// fleet's value is the sum of every runner's latest.
    fn apply(&mut self, index: usize, snap: &SparseSnapshot) {
        self.applied += 1;
        let mut gauges_changed = false;
        for s in &snap.series {
            match (&s.data, s.metric.as_str()) {
                (SparseData::Gauge { value, .. }, "vus") => {
                    self.runners[index].vus = *value;
                    gauges_changed = true;
                }
                (SparseData::Gauge { value, .. }, "vus_max") => {
                    self.runners[index].vus_max = *value;
                    gauges_changed = true;
                }
                _ => {}
            }
        }
        let fleet_series = |s: &SparseSeries| !matches!(s.metric.as_str(), "vus" | "vus_max");
        let slot = &mut self.runners[index];
        slot.http_reqs += snap.counter("http_reqs");
        slot.iterations += snap.counter("iterations");
        self.agg.merge_sparse_where(snap, fleet_series);
        if let Some(out) = self.outbox.as_mut() {
            let mut fleet = snap.clone();
            fleet.series.retain(fleet_series);
            out.push(Delta::Sparse(Box::new(fleet)));
        }
        if gauges_changed {
            self.merge_fleet_gauges();
        }
    }

    fn merge_fleet_gauges(&mut self) {
        let live = |r: &&RunnerSlot| r.state != RunnerState::Lost;
        // Folded from +0: an f64 `sum()` of nothing (every runner lost) is -0, which the
        // summary printed as `vus: -0`.
        let vus = self.runners.iter().filter(live).fold(0.0, |a, r| a + r.vus);
        let vus_max = self
            .runners
            .iter()
            .filter(live)
            .fold(0.0, |a, r| a + r.vus_max);
        let gauge = |metric: &str, v: f64| SeriesSnapshot {
            metric: metric.into(),
            tags: BTreeMap::new(),
            data: SeriesData::Gauge {
                value: v,
                min: v,
                max: v,
            },
        };
        let gauges = Snapshot {
            series: vec![gauge("vus", vus), gauge("vus_max", vus_max)],
            ..Snapshot::default()
        };
        self.agg.merge(&gauges);
        if let Some(out) = self.outbox.as_mut() {
            out.push(Delta::Gauges(Box::new(gauges)));
        }
    }

    /// Releases every `after(X)` scenario whose X has finished on every runner not lost.
    /// `now_unix_ms` plus a small margin becomes its fleet start instant.
    pub fn release_barriers(&mut self, now_unix_ms: u64) {
        let mut changed = false;
        for &(waiting, on) in &self.after {
            if self.control.released.contains_key(&waiting) {
                continue;
            }
            let relevant: Vec<&RunnerSlot> = self
                .runners
                .iter()
                .filter(|r| r.state != RunnerState::Lost)
                .collect();
            if !relevant.is_empty() && relevant.iter().all(|r| r.finished.contains(&on)) {
                self.control
                    .released
                    .insert(waiting, now_unix_ms + RELEASE_MARGIN_MS);
                changed = true;
            }
        }
        if changed {
            self.bump();
        }
    }

    /// Declares lost every live runner silent for longer than the heartbeat timeout.
    /// Returns the newly lost indices.
    pub fn check_heartbeats(&mut self, now: Now) -> Vec<u32> {
        let timeout = self.heartbeat_timeout;
        let mut lost = Vec::new();
        for (i, r) in self.runners.iter_mut().enumerate() {
            let silent = r
                .last_seen
                .is_some_and(|t| now.at.saturating_duration_since(t) > timeout);
            if r.live() && silent && self.control.start.is_some() {
                r.state = RunnerState::Lost;
                r.lost_reason = Some(format!("no heartbeat for {}s", timeout.as_secs()));
                lost.push(i as u32);
            }
        }
        if !lost.is_empty() {
            self.after_loss(now);
        }
        lost
    }

    /// A local runner process exited before it was done: lost, or before the start, left.
    pub fn process_exited(&mut self, index: u32, status: &str, now: Now) -> bool {
        let Some(r) = self.runners.get(index as usize) else {
            return false;
        };
        if matches!(
            r.state,
            RunnerState::Done | RunnerState::Lost | RunnerState::Left
        ) {
            return false;
        }
        if self.control.start.is_none() {
            self.leave(
                index as usize,
                format!("its process exited ({status})"),
                now,
            );
            return true;
        }
        let r = &mut self.runners[index as usize];
        r.state = RunnerState::Lost;
        r.lost_reason = Some(format!("process exited ({status})"));
        self.after_loss(now);
        true
    }

    /// Runner `index` left before the start: it is known gone and sent no load, so its
    /// segment is free for a replacement. Its gauges (pre-allocated VUs) no longer count.
    fn leave(&mut self, index: usize, reason: String, now: Now) {
        let r = &mut self.runners[index];
        r.state = RunnerState::Left;
        r.lost_reason = Some(reason);
        r.vus = 0.0;
        r.vus_max = 0.0;
        self.after_loss(now);
    }

    /// The runners that left before the start and why, with no replacement yet.
    pub fn left(&self) -> Vec<(u32, String)> {
        self.runners
            .iter()
            .enumerate()
            .filter(|(_, r)| r.state == RunnerState::Left)
            .map(|(i, r)| (i as u32, r.lost_reason.clone().unwrap_or_default()))
            .collect()
    }

    fn after_loss(&mut self, now: Now) {
        self.merge_fleet_gauges();
        self.release_barriers(now.unix_ms);
    }

    /// The deltas merged since the last call, in order (empty when not collected).
    pub fn take_outbox(&mut self) -> Vec<Delta> {
        self.outbox.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// The fleet's VUs and allocated VUs now: the sum of every runner's latest.
    pub fn vus(&self) -> (u64, u64) {
        let live = self.runners.iter().filter(|r| r.state != RunnerState::Lost);
        live.fold((0, 0), |(v, m), r| (v + r.vus as u64, m + r.vus_max as u64))
    }

    /// Every runner has finished or is lost (after the start).
    pub fn all_finished(&self) -> bool {
        self.runners
            .iter()
            .all(|r| matches!(r.state, RunnerState::Done | RunnerState::Lost))
    }

    /// The lost runners and why each was lost.
    pub fn lost_reasons(&self) -> Vec<(u32, String)> {
        self.runners
            .iter()
            .enumerate()
            .filter(|(_, r)| r.state == RunnerState::Lost)
            .map(|(i, r)| (i as u32, r.lost_reason.clone().unwrap_or_default()))
            .collect()
    }

    pub fn lost(&self) -> u32 {
        self.runners
            .iter()
            .filter(|r| r.state == RunnerState::Lost)
            .count() as u32
    }

    pub fn count(&self, state: RunnerState) -> usize {
        self.runners.iter().filter(|r| r.state == state).count()
    }

    /// The fleet's start skew (ms): the spread between the earliest and the latest
    /// runner's actual start (its workers woken at the agreed instant), over the runners
    /// that reported one. Not their first requests: a ramp gives runner k its first VU
    /// later on purpose (see [`FleetState::offsets_ms`]).
    pub fn start_skew_ms(&self) -> Option<f64> {
        let starts: Vec<u64> = self
            .runners
            .iter()
            .filter_map(|r| r.started_unix_us)
            .collect();
        let (lo, hi) = (starts.iter().min()?, starts.iter().max()?);
        Some((hi - lo) as f64 / 1000.0)
    }

    /// Runner `index`'s (start offset, first-request offset) in ms against the agreed
    /// start instant: how late it actually started, and how late its first request went
    /// out (the ramp's offset plus the start's).
    pub fn offsets_ms(&self, index: usize) -> (Option<f64>, Option<f64>) {
        let (Some(start), Some(r)) = (self.control.start.as_ref(), self.runners.get(index)) else {
            return (None, None);
        };
        let agreed = start.at_unix_ms as f64 * 1000.0;
        let off = |us: Option<u64>| us.map(|u| (u as f64 - agreed) / 1000.0);
        (off(r.started_unix_us), off(r.first_request_unix_us))
    }
}

/// How far ahead of "now" a released barrier starts, so every runner hears of it first.
pub const RELEASE_MARGIN_MS: u64 = 250;

/// "Now" as both clocks: the monotonic one for heartbeats, Unix ms for start instants.
#[derive(Clone, Copy, Debug)]
pub struct Now {
    pub at: Instant,
    pub unix_ms: u64,
}

impl Now {
    pub fn read() -> Now {
        Now {
            at: Instant::now(),
            unix_ms: super::unix_ms_now(),
        }
    }
}

#[cfg(test)]
mod tests;
