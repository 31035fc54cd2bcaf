//! Segment arithmetic: how a plan for N runners splits into N segments.
//!
//! k6's striping: runner `k` of `N` (0-based `k`) owns the global indices `k, k+N, k+2N, …`
//! of every counted thing (VUs, iterations, arrivals). Shares therefore differ by at most
//! one and always add up exactly to the whole (10 VUs on 4 runners → 3, 3, 2, 2).
//!
//! Pure integer arithmetic only: no IO, no time, no knowledge of executors (the engine's
//! `schedule` module applies these shares to workloads). Never panics, even on a segment
//! built by hand with invalid fields (such a segment owns nothing).

use serde::{Deserialize, Serialize};

/// Runner `index` of `count` (0-based). Build one with [`Segment::new`] or
/// [`Segment::whole`]; deserialising rejects invalid pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawSegment")]
pub struct Segment {
    pub index: u32,
    pub count: u32,
}

/// The unchecked wire form, validated into a [`Segment`].
#[derive(Deserialize)]
struct RawSegment {
    index: u32,
    count: u32,
}

impl TryFrom<RawSegment> for Segment {
    type Error = String;

    fn try_from(raw: RawSegment) -> Result<Self, String> {
        Segment::new(raw.index, raw.count)
    }
}

impl Default for Segment {
    fn default() -> Self {
        Segment::whole()
    }
}

impl Segment {
    /// The single segment of a one-runner plan: owns everything.
    pub fn whole() -> Self {
        Segment { index: 0, count: 1 }
    }

    /// Runner `index` of `count`; needs `count >= 1` and `index < count`.
    pub fn new(index: u32, count: u32) -> Result<Self, String> {
        if count == 0 {
            return Err("a plan splits into at least one segment (count is 0)".into());
        }
        if index >= count {
            return Err(format!(
                "segment index {index} is out of range for {count} segments (0..{count})"
            ));
        }
        Ok(Segment { index, count })
    }

    /// Whether the fields describe a real segment (only hand-built values can fail this).
    fn is_valid(&self) -> bool {
        self.count >= 1 && self.index < self.count
    }

    /// How many of the global indices `0..total` this segment owns.
    pub fn share(&self, total: u64) -> u64 {
        let (k, n) = (u64::from(self.index), u64::from(self.count));
        if !self.is_valid() || total <= k {
            return 0;
        }
        (total - k - 1) / n + 1
    }

    /// Whether global index `global` belongs to this segment.
    pub fn owns(&self, global: u64) -> bool {
        self.is_valid() && global % u64::from(self.count) == u64::from(self.index)
    }

    /// The global index of this segment's `local`-th item (`index + local * count`),
    /// saturating at `u64::MAX`.
    pub fn to_global(&self, local: u64) -> u64 {
        local
            .saturating_mul(u64::from(self.count))
            .saturating_add(u64::from(self.index))
    }

    /// This segment's local index of `global`, or `None` when another segment owns it.
    pub fn to_local(&self, global: u64) -> Option<u64> {
        if self.owns(global) {
            Some(global / u64::from(self.count))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(n: u32) -> Vec<Segment> {
        (0..n).map(|k| Segment::new(k, n).unwrap()).collect()
    }

    #[test]
    fn ten_vus_on_four_runners_is_3_3_2_2() {
        let shares: Vec<u64> = all(4).iter().map(|s| s.share(10)).collect();
        assert_eq!(shares, vec![3, 3, 2, 2]);
    }

    #[test]
    fn whole_owns_everything() {
        let w = Segment::whole();
        assert_eq!(w, Segment::default());
        assert_eq!(w.share(0), 0);
        assert_eq!(w.share(12345), 12345);
        assert!(w.owns(0) && w.owns(u64::MAX));
        assert_eq!(w.to_local(77), Some(77));
        assert_eq!(w.to_global(77), 77);
    }

    #[test]
    fn new_rejects_invalid_pairs() {
        assert!(Segment::new(0, 0).is_err());
        assert!(Segment::new(4, 4).is_err());
        assert!(Segment::new(9, 4).is_err());
        assert_eq!(Segment::new(3, 4), Ok(Segment { index: 3, count: 4 }));
    }

    #[test]
    fn hand_built_invalid_segment_owns_nothing_and_does_not_panic() {
        for bad in [
            Segment { index: 0, count: 0 },
            Segment { index: 5, count: 2 },
        ] {
            assert_eq!(bad.share(100), 0);
            assert!(!bad.owns(5));
            assert_eq!(bad.to_local(5), None);
            let _ = bad.to_global(3);
        }
    }

    #[test]
    fn striping_of_small_totals() {
        let s = Segment::new(1, 3).unwrap();
        assert_eq!(
            (0..10).filter(|&g| s.owns(g)).collect::<Vec<_>>(),
            [1, 4, 7]
        );
        assert_eq!(s.share(10), 3);
        assert_eq!(s.share(1), 0);
        assert_eq!(s.share(2), 1);
        assert_eq!(s.to_global(2), 7);
        assert_eq!(s.to_local(7), Some(2));
        assert_eq!(s.to_local(6), None);
        assert_eq!(s.to_local(0), None);
    }

    #[test]
    fn to_global_saturates_instead_of_overflowing() {
        let s = Segment::new(3, 16).unwrap();
        assert_eq!(s.to_global(u64::MAX), u64::MAX);
    }

    #[test]
    fn serde_round_trip_and_validation() {
        let s = Segment::new(2, 5).unwrap();
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(text, r#"{"index":2,"count":5}"#);
        assert_eq!(serde_json::from_str::<Segment>(&text).unwrap(), s);
        assert!(serde_json::from_str::<Segment>(r#"{"index":5,"count":5}"#).is_err());
        assert!(serde_json::from_str::<Segment>(r#"{"index":0,"count":0}"#).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn shares_sum_to_total_and_differ_by_at_most_one(n in 1u32..=16, total in 0u64..=1_000_000) {
            let shares: Vec<u64> = all(n).iter().map(|s| s.share(total)).collect();
            prop_assert_eq!(shares.iter().sum::<u64>(), total);
            let (lo, hi) = (shares.iter().min().unwrap(), shares.iter().max().unwrap());
            prop_assert!(hi - lo <= 1);
            // Earlier runners get the extra one.
            prop_assert!(shares.windows(2).all(|w| w[0] >= w[1]));
        }

        #[test]
        fn share_counts_owned_indices(n in 1u32..=16, k in 0u32..16, total in 0u64..=2_000) {
            let s = Segment::new(k % n, n).unwrap();
            prop_assert_eq!(s.share(total), (0..total).filter(|&g| s.owns(g)).count() as u64);
        }

        #[test]
        fn global_local_round_trip(n in 1u32..=16, k in 0u32..16, local in 0u64..=1_000_000) {
            let s = Segment::new(k % n, n).unwrap();
            let g = s.to_global(local);
            prop_assert!(s.owns(g));
            prop_assert_eq!(s.to_local(g), Some(local));
            // The local-th owned index is below the total exactly when local < share.
            prop_assert_eq!(g < 1_000_000, local < s.share(1_000_000));
        }

        #[test]
        fn owned_sets_are_disjoint_and_cover(n in 1u32..=16, global in 0u64..=1_000_000) {
            let owners: Vec<Segment> = all(n).into_iter().filter(|s| s.owns(global)).collect();
            prop_assert_eq!(owners.len(), 1);
            let owner = owners[0];
            let local = owner.to_local(global);
            prop_assert_eq!(local.map(|l| owner.to_global(l)), Some(global));
            for s in all(n) {
                prop_assert_eq!(s.to_local(global).is_some(), s == owner);
            }
        }
    }
}
