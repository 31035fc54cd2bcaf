//! Files the deltas an [`OutputSet`](super::OutputSet) observes under the run's fixed
//! intervals (see [`timeline`](super::timeline): interval `k` covers
//! `((k-1)·PERIOD, k·PERIOD]` since the start) and closes them in order: every interval,
//! even an empty one, each with its true start and end. A delta is filed by when it was
//! taken ([`Snapshot::end_ms`]); one without that time (setup, teardown), or one arriving
//! after its interval was closed, joins the next interval to close, so nothing is ever
//! dropped. Pure: no IO, no clock.

use super::timeline::{interval_of, PERIOD_MS};
use crate::metrics::{Aggregate, Registry, Snapshot};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One closed interval.
pub(crate) struct Closed {
    /// Start and end, ms since the run's start.
    pub start_ms: u64,
    pub end_ms: u64,
    /// Its merged deltas.
    pub delta: Aggregate,
}

/// The open intervals of a run.
pub(crate) struct Intervals {
    registry: Arc<Registry>,
    /// Deltas by interval, for the intervals not closed yet.
    open: BTreeMap<u64, Aggregate>,
    /// The last closed interval (0: none yet) and its end (ms since the start).
    closed: u64,
    closed_ms: u64,
}

impl Intervals {
    pub fn new(registry: Arc<Registry>) -> Intervals {
        Intervals {
            registry,
            open: BTreeMap::new(),
            closed: 0,
            closed_ms: 0,
        }
    }

    /// Files one delta under its interval (or the next one to close).
    pub fn observe(&mut self, s: &Snapshot) {
        let next = self.closed + 1;
        let k = s.end_ms.map_or(next, interval_of).max(next);
        let reg = &self.registry;
        self.open
            .entry(k)
            .or_insert_with(|| Aggregate::new(Arc::clone(reg)))
            .merge(s);
    }

    /// Closes, in order, every interval that ended at or before `until_ms` (since the
    /// start).
    pub fn close_until(&mut self, until_ms: u64) -> Vec<Closed> {
        let last = until_ms / PERIOD_MS;
        (self.closed + 1..=last)
            .map(|k| self.close(k, k * PERIOD_MS))
            .collect()
    }

    /// The end of the run, `end_ms` after the start: closes every interval left, the last
    /// one ending at `end_ms`. That last one is the interval `end_ms` is nearest the end
    /// of ([`interval_of`]), so it lasts between half a period and one and a half
    /// (a run ending 4 ms past a boundary does not end on a 4 ms interval holding the
    /// in-flight requests' completions), or less when the interval before it is already
    /// closed. It is left out when it would be empty and shorter than half a period (the
    /// run wound down just after the last interval closed: no stub of zeros at the end).
    pub fn close_all(&mut self, end_ms: u64) -> Vec<Closed> {
        let end_ms = end_ms.max(self.closed_ms);
        let data_last = self.open.keys().next_back().copied().unwrap_or(0);
        let last = interval_of(end_ms).max(self.closed + 1).max(data_last);
        let mut out: Vec<Closed> = (self.closed + 1..last)
            .map(|k| self.close(k, k * PERIOD_MS))
            .collect();
        // Deltas stamped past the end (a runner's clock ahead of ours) end with the run.
        let final_end = end_ms.max(self.closed_ms);
        let stub = final_end - self.closed_ms < PERIOD_MS / 2;
        if self.open.contains_key(&last) || !stub {
            out.push(self.close(last, final_end));
        }
        out
    }

    fn close(&mut self, k: u64, end_ms: u64) -> Closed {
        let delta = self
            .open
            .remove(&k)
            .unwrap_or_else(|| Aggregate::new(Arc::clone(&self.registry)));
        let start_ms = self.closed_ms;
        self.closed = k;
        self.closed_ms = end_ms.max(start_ms);
        Closed {
            start_ms,
            end_ms: self.closed_ms,
            delta,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{ids, Shard, Tags};

    /// `n` requests taken `end_ms` after the start (`None`: setup or teardown).
    fn reqs(reg: &Arc<Registry>, n: u32, end_ms: Option<u64>) -> Snapshot {
        let mut shard = Shard::new(Arc::clone(reg));
        for _ in 0..n {
            shard.count(ids::HTTP_REQS, &Tags::default(), 1.0);
        }
        let mut s = shard.take();
        s.end_ms = end_ms;
        s
    }

    /// (start, end, requests) of each closed interval.
    fn spans(closed: &[Closed]) -> Vec<(u64, u64, u64)> {
        let none = BTreeMap::new();
        closed
            .iter()
            .map(|c| {
                let n = c.delta.view("http_reqs", &none).map_or(0.0, |v| v.sum);
                (c.start_ms, c.end_ms, n as u64)
            })
            .collect()
    }

    #[test]
    fn deltas_belong_to_the_nearest_boundary() {
        assert_eq!(interval_of(0), 1);
        assert_eq!(interval_of(499), 1);
        assert_eq!(interval_of(1000), 1);
        assert_eq!(
            interval_of(1004),
            1,
            "a worker's last delta just past a boundary"
        );
        assert_eq!(interval_of(1499), 1);
        assert_eq!(interval_of(1500), 2);
        assert_eq!(interval_of(1997), 2, "a tick a little early");
        assert_eq!(interval_of(10_030), 10, "a tick a little late");
    }

    #[test]
    fn the_first_interval_starts_at_the_start_however_late_its_deltas_arrive() {
        let reg = Registry::new(&[]);
        let mut iv = Intervals::new(Arc::clone(&reg));
        // A coordinator: nothing has arrived at 1.2 s; the first second comes at 2.1 s,
        // with the second one, and the flush waits a settle time before closing.
        assert!(iv.close_until(0).is_empty());
        iv.observe(&reqs(&reg, 225, Some(1000)));
        iv.observe(&reqs(&reg, 230, Some(2001)));
        assert_eq!(spans(&iv.close_until(600)), vec![]);
        assert_eq!(
            spans(&iv.close_until(2250)),
            vec![(0, 1000, 225), (1000, 2000, 230)]
        );
    }

    #[test]
    fn every_interval_is_closed_in_order_even_an_empty_one() {
        let reg = Registry::new(&[]);
        let mut iv = Intervals::new(Arc::clone(&reg));
        iv.observe(&reqs(&reg, 5, Some(3000)));
        iv.observe(&reqs(&reg, 7, Some(1000)));
        assert_eq!(
            spans(&iv.close_until(3200)),
            vec![(0, 1000, 7), (1000, 2000, 0), (2000, 3000, 5)]
        );
        assert!(iv.close_until(3900).is_empty(), "nothing ended since");
    }

    #[test]
    fn late_and_untimed_deltas_join_the_next_interval_to_close() {
        let reg = Registry::new(&[]);
        let mut iv = Intervals::new(Arc::clone(&reg));
        iv.observe(&reqs(&reg, 1, None)); // setup, before the start
        iv.observe(&reqs(&reg, 10, Some(1000)));
        assert_eq!(spans(&iv.close_until(1000)), vec![(0, 1000, 11)]);
        iv.observe(&reqs(&reg, 3, Some(1001))); // after its interval closed
        iv.observe(&reqs(&reg, 10, Some(2000)));
        assert_eq!(spans(&iv.close_until(2000)), vec![(1000, 2000, 13)]);
        iv.observe(&reqs(&reg, 2, None)); // teardown, after the end
        assert_eq!(spans(&iv.close_all(2100)), vec![(2000, 2100, 2)]);
    }

    #[test]
    fn the_last_interval_ends_with_the_run() {
        let reg = Registry::new(&[]);
        // The run ends 4 ms past a boundary, before the flush closed it: one last interval
        // of 1.004 s with the in-flight requests, not a 4 ms needle.
        let mut iv = Intervals::new(Arc::clone(&reg));
        iv.observe(&reqs(&reg, 100, Some(1000)));
        iv.close_until(1000);
        iv.observe(&reqs(&reg, 100, Some(2000)));
        iv.observe(&reqs(&reg, 3, Some(2004)));
        assert_eq!(spans(&iv.close_all(2010)), vec![(1000, 2010, 103)]);
        // The run ends 600 ms past a boundary: a last interval of 600 ms.
        let mut iv = Intervals::new(Arc::clone(&reg));
        iv.observe(&reqs(&reg, 100, Some(1000)));
        iv.observe(&reqs(&reg, 60, Some(1600)));
        assert_eq!(
            spans(&iv.close_all(1600)),
            vec![(0, 1000, 100), (1000, 1600, 60)]
        );
        // The last full interval was already closed: the tail is an interval of its own.
        let mut iv = Intervals::new(Arc::clone(&reg));
        iv.observe(&reqs(&reg, 100, Some(1000)));
        iv.close_until(1000);
        iv.observe(&reqs(&reg, 30, Some(1300)));
        assert_eq!(spans(&iv.close_all(1310)), vec![(1000, 1310, 30)]);
        // Nothing after the last flush, a moment later: no empty stub.
        let mut iv = Intervals::new(Arc::clone(&reg));
        iv.observe(&reqs(&reg, 100, Some(1000)));
        iv.close_until(1000);
        assert_eq!(spans(&iv.close_all(1200)), vec![]);
        // A run that never started: nothing at all.
        assert!(Intervals::new(reg).close_all(0).is_empty());
    }
}
