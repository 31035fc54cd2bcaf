//! Executors: when each VU iterates, for k6's six workloads, on one worker thread.
//!
//! # One loop, orthogonal knobs
//!
//! Every VU runs the same loop (`part::vu_task`): get a [`crate::interp::Ticket`] from its
//! *feed*, run the iteration unless it is *interrupted*, repeat. The workloads differ only
//! in those inputs:
//!
//! * the **arrival model** (the feed): closed models (`constant_vus`, `ramping_vus`,
//!   `shared_iterations`, `per_vu_iterations`) let a VU start its next iteration as soon as
//!   the last one ends, while a controller (`closed`) says which VUs are wanted when;
//!   open models (`constant_arrival_rate`, `ramping_arrival_rate`) hand each scheduled
//!   arrival to a free VU (`open`);
//! * the **stop condition**: the executor's end (then `graceful_stop`), a ramp-down (then
//!   `graceful_ramp_down`), an iteration budget (shared by all VUs, or per VU), out of data,
//!   or the run stopping (abort, Ctrl-C: running iterations are interrupted at once).
//!
//! # Threads and segments
//!
//! A scenario runs as one *part* per worker thread. Worker `w` of `W` owns the segment-local
//! indices `j ≡ w (mod W)` of everything the runner owns (VUs, and the runner's stripe of
//! the arrivals): `Segment::split(w, W)`, so [`crate::schedule`] answers for each part
//! directly (its VU steps, its pre-allocated VUs, its arrivals) and the parts add up
//! exactly to the segment. Arrival-rate VUs beyond the pre-allocated ones are numbered from a counter
//! shared by the parts, so `max_vus` bounds the segment as a whole.
//!
//! # Identity values
//!
//! * `vu.id` of segment-local VU `j` of segment `k/N` is `offset + k + j·N + 1`, where
//!   `offset` is the sum of the whole-test `max_vus` of the scenarios declared before this
//!   one: ids are unique fleet-wide and across scenarios (scenario 1 of 10 VUs uses 1..=10,
//!   scenario 2 starts at 11).
//! * `vu.local_id` is `j + 1`; `vu.iteration` counts the VU's iterations from 0.
//! * `test.iteration` is `segment.to_global(l)` where `l` counts the iterations this
//!   runner started in the scenario (closed models; `shared_iterations` numbers them along
//!   the runner's stripe of the iterations), or the arrival's global index (open models,
//!   dropped arrivals included): unique fleet-wide within a scenario.
//!
//! Interrupted iterations are not counted in `iterations`. This module must not interpret
//! code (the VU does) or aggregate metrics.

mod closed;
mod open;
mod part;

use part::Part;

use crate::interp::{Identity, Recorder, Role, Shared, Vu};
use crate::metrics::Shard;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use volley_plan::segment::{Segment, Stripe};
use volley_plan::{Plan, Start, Workload};

/// Run-wide VU counts (all workers), sampled into the `vus` and `vus_max` gauges.
#[derive(Debug, Default)]
pub struct VuCounts {
    /// VUs currently active (wanted by a closed model, or in an open model's pool).
    pub active: AtomicU64,
    /// VUs created so far.
    pub created: AtomicU64,
}

/// A scenario's state shared by its parts on every worker.
pub struct ScenarioState {
    pub index: usize,
    /// Added to every VU id: the whole-test `max_vus` of earlier scenarios.
    pub id_offset: u64,
    /// Iterations started on this runner (closed models), for `test.iteration` and the
    /// `shared_iterations` budget.
    started: AtomicU64,
    /// Open models: the next segment-local VU index to create beyond the pre-allocated.
    next_vu: AtomicU64,
    /// This segment's share of the workload's `max_vus`.
    max_vus: u64,
    /// `shared_iterations`: the runner's stripe of the iterations (by its share of `vus`),
    /// which numbers `test.iteration`.
    iteration_stripe: Option<Stripe>,
    parts_left: AtomicUsize,
    finished_at: OnceLock<Instant>,
    started_at: OnceLock<Instant>,
    finished: Notify,
}

impl ScenarioState {
    /// The state of every scenario of `plan`, for `workers` parts each.
    pub fn for_plan(plan: &Plan, seg: Segment, workers: usize) -> Vec<Arc<ScenarioState>> {
        let offsets = volley_plan::slice::vu_id_offsets(plan);
        plan.scenarios
            .iter()
            .zip(offsets)
            .enumerate()
            .map(|(index, (s, id_offset))| {
                Arc::new(ScenarioState {
                    index,
                    id_offset,
                    started: AtomicU64::new(0),
                    next_vu: AtomicU64::new(crate::schedule::initial_vus(&s.workload, seg)),
                    max_vus: crate::schedule::max_vus(&s.workload, seg),
                    iteration_stripe: match s.workload {
                        Workload::SharedIterations { .. } => {
                            crate::schedule::work_stripe(&s.workload, seg)
                        }
                        _ => None,
                    },
                    parts_left: AtomicUsize::new(workers.max(1)),
                    finished_at: OnceLock::new(),
                    started_at: OnceLock::new(),
                    finished: Notify::new(),
                })
            })
            .collect()
    }

    /// When the scenario finished on every worker (graceful stop included), if it did.
    pub fn finished_at(&self) -> Option<Instant> {
        self.finished_at.get().copied()
    }

    /// When the scenario started, if it did.
    pub fn started_at(&self) -> Option<Instant> {
        self.started_at.get().copied()
    }

    /// Waits until every part has finished; returns the instant the last one did.
    pub async fn wait_finished(&self) -> Instant {
        loop {
            let notified = self.finished.notified();
            if let Some(t) = self.finished_at.get() {
                return *t;
            }
            notified.await;
        }
    }

    fn part_done(&self) {
        if self.parts_left.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _ = self.finished_at.set(Instant::now());
            self.finished.notify_waiters();
        }
    }

    /// A closed model's next `test.iteration`, within `budget` iterations if any.
    fn take_iteration(&self, seg: Segment, budget: Option<u64>) -> Option<u64> {
        let local = match budget {
            None => self.started.fetch_add(1, Ordering::Relaxed),
            Some(total) => self
                .started
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                    (n < total).then_some(n + 1)
                })
                .ok()?,
        };
        Some(match &self.iteration_stripe {
            Some(stripe) => stripe.to_global(local),
            None => seg.to_global(local),
        })
    }

    /// Open models: a new segment-local VU index, while under `max_vus`.
    fn grow(&self) -> Option<u64> {
        self.next_vu
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < self.max_vus).then_some(n + 1)
            })
            .ok()
    }
}

/// A local, level-triggered stop signal (fired once, never reset).
#[derive(Default)]
pub struct Signal {
    fired: Cell<bool>,
    notify: Notify,
}

impl Signal {
    pub fn fire(&self) {
        self.fired.set(true);
        self.notify.notify_waiters();
    }

    pub fn is_fired(&self) -> bool {
        self.fired.get()
    }

    pub async fn wait(&self) {
        loop {
            let n = self.notify.notified();
            if self.fired.get() {
                return;
            }
            n.await;
        }
    }
}

/// Everything a worker's scenario parts share on that worker.
pub struct Worker {
    pub index: usize,
    pub count: usize,
    pub shared: Arc<Shared>,
    pub shard: Rc<RefCell<Shard>>,
    /// The run is stopping (abort or signal): interrupt everything now.
    pub stop: Rc<Signal>,
    /// The test's start instant.
    pub t0: Instant,
    pub vus: Arc<VuCounts>,
    /// VUs created before the start ([`preallocate`]), by (scenario, segment-local
    /// index); a part takes its VU from here before creating one.
    pub pool: RefCell<HashMap<(usize, u64), Vu>>,
}

impl Worker {
    /// This worker's sub-segment of the run's segment (see the module docs).
    fn sub_segment(&self) -> Segment {
        sub_segment(self.shared.segment, self.index, self.count)
    }
}

/// Worker `index` of `count`'s part of `seg`: the runner-local indices `≡ index (mod count)`.
fn sub_segment(seg: Segment, index: usize, count: usize) -> Segment {
    let w = u32::try_from(count.max(1)).unwrap_or(u32::MAX);
    let i = u32::try_from(index).unwrap_or(0);
    seg.split(i, w)
}

/// `vu.id` and `vu.local_id` of segment-local VU `j` of a scenario.
fn identity(st: &ScenarioState, seg: Segment, j: u64) -> Identity {
    Identity {
        id: st
            .id_offset
            .saturating_add(seg.to_global(j))
            .saturating_add(1),
        local_id: j + 1,
    }
}

/// Creates, before the start, the VUs worker `index` of `count` needs at its scenarios'
/// start: the VUs of a closed model's first step, an open model's pre-allocated VUs
/// (k6 initialises VUs before the test starts, too). Nothing runs yet.
pub fn preallocate(
    shared: &Arc<Shared>,
    shard: &Rc<RefCell<Shard>>,
    scenarios: &[Arc<ScenarioState>],
    index: usize,
    count: usize,
) -> HashMap<(usize, u64), Vu> {
    let seg = shared.segment;
    let sub = sub_segment(seg, index, count);
    let (me, workers) = (index as u64, count.max(1) as u64);
    let mut pool = HashMap::new();
    for st in scenarios {
        let Some(s) = shared.plan.scenarios.get(st.index) else {
            continue;
        };
        let n = crate::schedule::initial_vus(&s.workload, sub);
        for m in 0..n {
            let j = me + m * workers;
            let vu = Vu::new(
                Arc::clone(shared),
                Recorder::new(Rc::clone(shard), &s.name, &s.tags),
                Role::Scenario(st.index),
                identity(st, seg, j),
            );
            pool.insert((st.index, j), vu);
        }
    }
    pool
}

/// Runs this worker's part of scenario `st`: waits for its start, runs its executor,
/// and marks the part done (the scenario finishes when every part is done).
pub async fn run_part(worker: Rc<Worker>, st: Arc<ScenarioState>, all: Rc<[Arc<ScenarioState>]>) {
    if let Some(start) = wait_start(&worker, &st, &all).await {
        let _ = st.started_at.set(start);
        let plan = Arc::clone(&worker.shared.plan);
        if let Some(scenario) = plan.scenarios.get(st.index) {
            let part = Part::new(Rc::clone(&worker), Arc::clone(&st), start);
            match &scenario.workload {
                Workload::ConstantArrivalRate { .. } | Workload::RampingArrivalRate { .. } => {
                    open::run(part, scenario).await
                }
                _ => closed::run(part, scenario).await,
            }
        }
    }
    st.part_done();
}

/// The scenario's start instant, or `None` when the run stops first.
async fn wait_start(
    worker: &Worker,
    st: &ScenarioState,
    all: &[Arc<ScenarioState>],
) -> Option<Instant> {
    let plan = &worker.shared.plan;
    let start = match plan.scenarios.get(st.index)?.start {
        Start::Immediately => worker.t0,
        Start::At { offset_ms } => worker.t0 + Duration::from_millis(offset_ms),
        Start::After { scenario } => {
            let other = all.get(scenario as usize).filter(|o| o.index != st.index)?;
            let local = tokio::select! {
                t = other.wait_finished() => t,
                _ = worker.stop.wait() => return None,
            };
            match worker.shared.barrier.clone() {
                None => local,
                // In a fleet the coordinator releases the scenario once every runner has
                // finished `scenario`, with one start instant for all.
                Some(mut released) => {
                    let index = u32::try_from(st.index).unwrap_or(u32::MAX);
                    tokio::select! {
                        r = released.wait_for(|m| m.contains_key(&index)) => match r {
                            Ok(m) => m[&index],
                            Err(_) => return None,
                        },
                        _ = worker.stop.wait() => return None,
                    }
                }
            }
        }
    };
    // A start already reached (the run's own, which the worker waited for precisely) does
    // not go through the runtime's timer: that rounds up to its next ms tick.
    if start > Instant::now() {
        tokio::select! {
            _ = tokio::time::sleep_until(start.into()) => {}
            _ = worker.stop.wait() => return None,
        }
    }
    (!worker.stop.is_fired()).then_some(start)
}
