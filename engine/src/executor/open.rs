//! The open-model dispatcher (`constant_arrival_rate`, `ramping_arrival_rate`): walks the
//! part's stripe of the schedule's arrivals and, at each due instant, hands the iteration
//! to a free VU; with none free it creates one more while the segment is under `max_vus`
//! (pre-allocated VUs exist from the start); otherwise the arrival counts in
//! `dropped_iterations` (after one yield, so a VU that has just finished can return
//! first). Arrivals already due are dispatched at once, in a batch, so a
//! coarse timer does not lower the rate; each ticket carries its due instant so latency
//! counts from when the iteration should have started.
//! This module must not run iterations (the VU loop does).

use super::part::{Feed, Part};
use crate::schedule;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};
use volley_plan::Scenario;

use crate::interp::Ticket;

pub(crate) async fn run(mut part: Part, scenario: &Scenario) {
    let w = &scenario.workload;
    let sub = part.worker.sub_segment();
    let end = part.start + Duration::from_millis(schedule::duration_ms(w));
    let workers = part.worker.count.max(1) as u64;
    let me = part.worker.index as u64;
    let free = Rc::new(RefCell::new(Vec::new()));
    let mut rec = super::part::recorder(&part.worker, part.st.index);

    for m in 0..schedule::initial_vus(w, sub) {
        let i = part.spawn_vu(
            me + m * workers,
            Feed::Open {
                free: Rc::clone(&free),
            },
        );
        free.borrow_mut().push(i);
    }
    // Hand out the first arrivals to the lowest-numbered VUs first.
    free.borrow_mut().reverse();

    let mut stopped = false;
    for (global, due_ns) in schedule::arrivals(w, sub) {
        let due = part.start + Duration::from_nanos(due_ns);
        if !part.sleep_until(due).await {
            stopped = true;
            break;
        }
        let ticket = Ticket {
            test_iteration: global,
            due: Some(due),
        };
        let mut vu = free.borrow_mut().pop();
        if vu.is_none() {
            // A VU whose iteration ended but that has not run since (this dispatcher held
            // the thread through a batch of due arrivals) is free: let it say so before
            // growing the pool or dropping the arrival.
            tokio::task::yield_now().await;
            vu = free.borrow_mut().pop();
        }
        let vu = match vu {
            Some(i) => Some(i),
            None => part.st.grow().map(|j| {
                part.spawn_vu(
                    j,
                    Feed::Open {
                        free: Rc::clone(&free),
                    },
                )
            }),
        };
        match vu.and_then(|i| part.slots.get(i)) {
            Some(slot) => slot.give(ticket),
            None => rec.dropped_iteration(),
        }
    }
    if !stopped {
        stopped = !part.sleep_until(end).await;
    }
    let deadline = if stopped {
        Instant::now()
    } else {
        end.max(Instant::now()) + Duration::from_millis(scenario.graceful_stop_ms)
    };
    part.finish(deadline).await;
}
