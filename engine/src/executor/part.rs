//! A scenario part on one worker: its VUs' slots (the controls a controller sets), the
//! feeds they draw iterations from, and the one VU loop every executor runs. Only its VU's
//! task waits on a slot, so a slot wakes it with a poke counter and one stored waker (no
//! lock, unlike `tokio::sync::Notify`; a VU polls its slot on every wake-up).
//! This module must not decide when VUs are wanted or arrivals due (the controllers do).

use super::{ScenarioState, VuCounts, Worker};
use crate::interp::{Outcome, Recorder, Role, Ticket, Vu};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;
use tokio::sync::Notify;
use volley_plan::segment::Segment;

/// One VU's controls, set by its part's controller.
#[derive(Default)]
pub(crate) struct Slot {
    /// Closed models: the VU should be iterating.
    wanted: Cell<bool>,
    /// No more iterations: exit once the current one ends (or is interrupted).
    ended: Cell<bool>,
    /// The iteration running must end by then.
    interrupt_at: Cell<Option<Instant>>,
    /// Open models: the next iteration to run.
    ticket: Cell<Option<Ticket>>,
    wake: Wake,
}

/// Wakes the one task that waits on a slot (its VU's): the futures of [`Wake::notified`]
/// resolve once [`Wake::poke`] was called after they were made (as with
/// `Notify::notified` and `notify_waiters`).
#[derive(Default)]
struct Wake {
    pokes: Cell<u64>,
    /// The waker of the last poll that found nothing new.
    waker: Cell<Option<Waker>>,
}

impl Wake {
    fn poke(&self) {
        self.pokes.set(self.pokes.get().wrapping_add(1));
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    fn notified(&self) -> Poked<'_> {
        Poked {
            wake: self,
            seen: self.pokes.get(),
        }
    }
}

/// See [`Wake::notified`].
struct Poked<'a> {
    wake: &'a Wake,
    seen: u64,
}

impl Future for Poked<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.wake.pokes.get() != self.seen {
            return Poll::Ready(());
        }
        let waker = match self.wake.waker.take() {
            Some(w) if w.will_wake(cx.waker()) => w,
            _ => cx.waker().clone(),
        };
        self.wake.waker.set(Some(waker));
        Poll::Pending
    }
}

impl Slot {
    fn poke(&self) {
        self.wake.poke();
    }

    /// Closed models: the VU should iterate (a pending ramp-down deadline is dropped).
    pub(super) fn want(&self) {
        if !self.wanted.get() {
            self.interrupt_at.set(None);
            self.wanted.set(true);
            self.poke();
        }
    }

    /// Closed models: the VU should stop after its iteration, which must end by
    /// `deadline`.
    pub(super) fn release(&self, deadline: Instant) {
        if self.wanted.get() {
            self.wanted.set(false);
            self.interrupt_at.set(Some(deadline));
            self.poke();
        }
    }

    /// Open models: the iteration the VU runs next.
    pub(super) fn give(&self, ticket: Ticket) {
        self.ticket.set(Some(ticket));
        self.poke();
    }

    /// Ends the VU: no new iterations; the running one must end by `deadline`.
    fn end(&self, deadline: Instant) {
        self.ended.set(true);
        self.wanted.set(false);
        let at = match self.interrupt_at.get() {
            Some(t) if t < deadline => t,
            _ => deadline,
        };
        self.interrupt_at.set(Some(at));
        self.poke();
    }

    /// Resolves when the running iteration must be interrupted.
    async fn interrupted(&self) {
        loop {
            let n = self.wake.notified();
            match self.interrupt_at.get() {
                Some(t) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(t.into()) => return,
                        _ = n => {}
                    }
                }
                None => n.await,
            }
        }
    }

    /// Closed models: waits until the VU is wanted; false when it has ended instead.
    async fn wait_wanted(&self) -> bool {
        loop {
            let n = self.wake.notified();
            if self.ended.get() {
                return false;
            }
            if self.wanted.get() {
                return true;
            }
            n.await;
        }
    }

    /// Open models: waits for the next ticket; `None` when the VU has ended.
    async fn wait_ticket(&self) -> Option<Ticket> {
        loop {
            let n = self.wake.notified();
            if let Some(t) = self.ticket.take() {
                return Some(t);
            }
            if self.ended.get() {
                return None;
            }
            n.await;
        }
    }
}

/// Where a VU's iterations come from.
pub(crate) enum Feed {
    /// Closed model: iterate while wanted; `budget` bounds the segment's iterations
    /// (`shared_iterations`), `per_vu` each VU's (`per_vu_iterations`).
    Closed {
        budget: Option<u64>,
        per_vu: Option<u64>,
    },
    /// Open model: run the tickets the dispatcher hands over; return to `free` after each.
    Open { free: Rc<RefCell<Vec<usize>>> },
}

/// A scenario part on one worker: its VUs and what they share.
pub(crate) struct Part {
    pub worker: Rc<Worker>,
    pub st: Arc<ScenarioState>,
    pub start: Instant,
    pub slots: Vec<Rc<Slot>>,
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
    /// VU tasks still running, and a wake-up when one exits.
    pub live: Rc<Cell<usize>>,
    pub exited: Rc<Notify>,
}

impl Part {
    pub(super) fn new(worker: Rc<Worker>, st: Arc<ScenarioState>, start: Instant) -> Part {
        Part {
            worker,
            st,
            start,
            slots: Vec::new(),
            tasks: Vec::new(),
            live: Rc::new(Cell::new(0)),
            exited: Rc::new(Notify::new()),
        }
    }

    /// Creates segment-local VU `j` with its slot and spawns its loop; returns its slot
    /// index in this part.
    pub(super) fn spawn_vu(&mut self, j: u64, feed: Feed) -> usize {
        let w = &self.worker;
        let seg = w.shared.segment;
        let pooled = w.pool.borrow_mut().remove(&(self.st.index, j));
        let vu = pooled.unwrap_or_else(|| {
            Vu::new(
                Arc::clone(&w.shared),
                recorder(w, self.st.index),
                Role::Scenario(self.st.index),
                super::identity(&self.st, seg, j),
            )
        });
        w.vus.created.fetch_add(1, Ordering::Relaxed);
        let slot = Rc::new(Slot::default());
        let index = self.slots.len();
        self.slots.push(Rc::clone(&slot));
        self.live.set(self.live.get() + 1);
        let task = VuTask {
            slot,
            index,
            seg,
            st: Arc::clone(&self.st),
            vus: Arc::clone(&w.vus),
            live: Rc::clone(&self.live),
            exited: Rc::clone(&self.exited),
        };
        self.tasks
            .push(tokio::task::spawn_local(vu_task(vu, task, feed)));
        index
    }

    /// Ends every VU (running iterations must end by `deadline`) and waits for them.
    pub(super) async fn finish(&mut self, deadline: Instant) {
        for s in &self.slots {
            s.end(deadline);
        }
        let stop = Rc::clone(&self.worker.stop);
        let stopper = {
            let slots = self.slots.clone();
            async move {
                stop.wait().await;
                let now = Instant::now();
                for s in &slots {
                    s.end(now);
                }
                std::future::pending::<()>().await;
            }
        };
        let join = async {
            for t in self.tasks.drain(..) {
                let _ = t.await;
            }
        };
        tokio::select! {
            _ = join => {}
            _ = stopper => {}
        }
    }

    /// Sleeps until `t`; false when the run stops first.
    pub(super) async fn sleep_until(&self, t: Instant) -> bool {
        if t <= Instant::now() {
            return !self.worker.stop.is_fired();
        }
        tokio::select! {
            _ = tokio::time::sleep_until(t.into()) => !self.worker.stop.is_fired(),
            _ = self.worker.stop.wait() => false,
        }
    }
}

/// A recorder for scenario `index` on worker `w`.
pub(crate) fn recorder(w: &Worker, index: usize) -> Recorder {
    match w.shared.plan.scenarios.get(index) {
        Some(s) => Recorder::new(Rc::clone(&w.shard), &s.name, &s.tags),
        None => Recorder::new(Rc::clone(&w.shard), "", &Default::default()),
    }
}

/// What a VU loop needs besides its VU and feed.
struct VuTask {
    slot: Rc<Slot>,
    index: usize,
    seg: Segment,
    st: Arc<ScenarioState>,
    vus: Arc<VuCounts>,
    live: Rc<Cell<usize>>,
    exited: Rc<Notify>,
}

/// The one VU loop of every executor (see the module docs).
async fn vu_task(mut vu: Vu, t: VuTask, feed: Feed) {
    let slot = &t.slot;
    let mut done = 0u64;
    let mut active = false;
    let set_active = |active: &mut bool, now: bool| {
        if *active != now {
            if now {
                t.vus.active.fetch_add(1, Ordering::Relaxed);
            } else {
                t.vus.active.fetch_sub(1, Ordering::Relaxed);
            }
            *active = now;
        }
    };
    if matches!(feed, Feed::Open { .. }) {
        set_active(&mut active, true);
    }
    loop {
        let ticket = match &feed {
            Feed::Closed { budget, per_vu } => {
                if !slot.wanted.get() {
                    set_active(&mut active, false);
                }
                if !slot.wait_wanted().await {
                    break;
                }
                set_active(&mut active, true);
                if per_vu.is_some_and(|n| done >= n) {
                    break;
                }
                match t.st.take_iteration(t.seg, *budget) {
                    Some(i) => Ticket {
                        test_iteration: i,
                        due: None,
                    },
                    None => break,
                }
            }
            Feed::Open { .. } => match slot.wait_ticket().await {
                Some(ticket) => ticket,
                None => break,
            },
        };
        let outcome = tokio::select! {
            biased;
            _ = slot.interrupted() => None,
            o = vu.run_iteration(ticket) => Some(o),
        };
        done += 1;
        if outcome == Some(Outcome::StopVu) {
            break;
        }
        // An iteration that never awaited (only checks, or a request that failed before
        // any IO) must not starve the controller and the stop: spend a unit of the task's
        // cooperative budget, yielding to the runtime once it is used up (as IO does).
        tokio::task::consume_budget().await;
        if let Feed::Open { free } = &feed {
            if slot.ended.get() {
                break;
            }
            free.borrow_mut().push(t.index);
        }
    }
    set_active(&mut active, false);
    t.live.set(t.live.get().saturating_sub(1));
    t.exited.notify_waiters();
}
