//! Segment arithmetic: how a plan for N runners splits into N segments, exactly as k6's
//! execution segments do it.
//!
//! Runner `k` of `N` (0-based `k`) is k6's `executionSegment` `k/N:(k+1)/N` in the
//! `executionSegmentSequence` `0, 1/N, …, 1`. For such equal segments k6's striping gives
//! runner `k` the global indices `k, k+N, k+2N, …` of every VU count (`constant_vus`,
//! `ramping_vus`, `pre_allocated_vus`, `max_vus`, …): shares differ by at most one and
//! always add up exactly to the whole (10 VUs on 4 runners → 3, 3, 2, 2).
//!
//! Iterations of `shared_iterations` and arrivals of the arrival-rate executors are not
//! striped like that: k6 derives a new segment sequence from the runners' shares of a VU
//! count (`vus`, or `max_vus`), dropping the runners with no VU, and stripes the work
//! over that sequence with its "striped offsets" algorithm
//! (`ExecutionSegmentSequenceWrapper` in k6's `lib/execution_segment.go`). A [`Stripe`] is
//! one runner's part of such a derived sequence ([`Segment::stripe`]): a runner with 2 of
//! 3 VUs runs 3 of 4 shared iterations, a runner with 0 VUs runs none.
//!
//! A segment can further be split among a runner's worker threads: part `p` of `P` owns
//! the runner-local indices `l ≡ p (mod P)` of whatever the runner owns ([`Segment::split`]).
//!
//! Pure integer arithmetic only: no IO, no time, no knowledge of executors (the
//! `schedule` module applies these shares to workloads). Never panics, even on a segment
//! built by hand with invalid fields (such a segment owns nothing).

use serde::{Deserialize, Serialize};

fn is_zero(x: &u32) -> bool {
    *x == 0
}

fn is_one(x: &u32) -> bool {
    *x == 1
}

fn one() -> u32 {
    1
}

/// Runner `index` of `count` (0-based), and of it the worker part `part` of `parts`
/// (`0` of `1` for a whole runner). Build one with [`Segment::new`] or
/// [`Segment::whole`]; deserialising rejects invalid values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawSegment")]
pub struct Segment {
    pub index: u32,
    pub count: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub part: u32,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub parts: u32,
}

/// The unchecked wire form, validated into a [`Segment`].
#[derive(Deserialize)]
struct RawSegment {
    index: u32,
    count: u32,
    #[serde(default)]
    part: u32,
    #[serde(default = "one")]
    parts: u32,
}

/// Why a segment is not one of a plan's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    #[error("a plan splits into at least one segment (count is 0)")]
    NoSegments,
    #[error("segment index {index} is out of range for {count} segments (0..{count})")]
    IndexOutOfRange { index: u32, count: u32 },
    #[error("segment part {part} is out of range for {parts} parts")]
    PartOutOfRange { part: u32, parts: u32 },
}

impl TryFrom<RawSegment> for Segment {
    type Error = SegmentError;

    fn try_from(raw: RawSegment) -> Result<Self, SegmentError> {
        let seg = Segment::new(raw.index, raw.count)?;
        if raw.parts == 0 || raw.part >= raw.parts {
            return Err(SegmentError::PartOutOfRange {
                part: raw.part,
                parts: raw.parts,
            });
        }
        Ok(Segment {
            part: raw.part,
            parts: raw.parts,
            ..seg
        })
    }
}

impl Default for Segment {
    fn default() -> Self {
        Segment::whole()
    }
}

/// `part`'s share of `total` runner-local indices split round robin into `parts`.
fn part_share(total: u64, part: u32, parts: u32) -> u64 {
    let (p, n) = (u64::from(part), u64::from(parts));
    if n == 0 || p >= n || total <= p {
        return 0;
    }
    (total - p - 1) / n + 1
}

impl Segment {
    /// The single segment of a one-runner plan: owns everything.
    pub fn whole() -> Self {
        Segment {
            index: 0,
            count: 1,
            part: 0,
            parts: 1,
        }
    }

    /// Runner `index` of `count`; needs `count >= 1` and `index < count`.
    pub fn new(index: u32, count: u32) -> Result<Self, SegmentError> {
        if count == 0 {
            return Err(SegmentError::NoSegments);
        }
        if index >= count {
            return Err(SegmentError::IndexOutOfRange { index, count });
        }
        Ok(Segment {
            index,
            count,
            part: 0,
            parts: 1,
        })
    }

    /// Part `part` of `parts` of this segment (a worker's share of a runner): the
    /// runner-local indices `l ≡ self.part + self.parts·part (mod self.parts·parts)`.
    /// Invalid arguments give the segment unchanged.
    pub fn split(&self, part: u32, parts: u32) -> Segment {
        if parts == 0 || part >= parts {
            return *self;
        }
        match self.parts.checked_mul(parts) {
            Some(n) => Segment {
                part: self.part.saturating_add(self.parts.saturating_mul(part)),
                parts: n,
                ..*self
            },
            None => *self,
        }
    }

    /// The whole runner this segment is part of.
    pub fn runner(&self) -> Segment {
        Segment {
            part: 0,
            parts: 1,
            ..*self
        }
    }

    /// Whether the fields describe a real segment (only hand-built values can fail this).
    fn is_valid(&self) -> bool {
        self.count >= 1 && self.index < self.count && self.parts >= 1 && self.part < self.parts
    }

    /// How many of the global indices `0..total` of a VU count this segment owns.
    pub fn share(&self, total: u64) -> u64 {
        let (k, n) = (u64::from(self.index), u64::from(self.count));
        if !self.is_valid() || total <= k {
            return 0;
        }
        part_share((total - k - 1) / n + 1, self.part, self.parts)
    }

    /// Whether global index `global` belongs to this segment.
    pub fn owns(&self, global: u64) -> bool {
        let n = u64::from(self.count);
        self.is_valid()
            && global % n == u64::from(self.index)
            && (global / n) % u64::from(self.parts) == u64::from(self.part)
    }

    /// The global index of this segment's `local`-th item, saturating at `u64::MAX`.
    pub fn to_global(&self, local: u64) -> u64 {
        local
            .saturating_mul(u64::from(self.parts))
            .saturating_add(u64::from(self.part))
            .saturating_mul(u64::from(self.count))
            .saturating_add(u64::from(self.index))
    }

    /// This segment's local index of `global`, or `None` when another segment owns it.
    pub fn to_local(&self, global: u64) -> Option<u64> {
        if self.owns(global) {
            Some(global / u64::from(self.count) / u64::from(self.parts))
        } else {
            None
        }
    }

    /// This segment's stripe of work that k6 splits by the runners' shares of the VU count
    /// `vus` (`shared_iterations`: `vus`; arrival-rate executors: `max_vus`): k6's
    /// `GetNewExecutionTupleFromValue(vus)`. Owns nothing when this runner has no VU.
    pub fn stripe(&self, vus: u64) -> Stripe {
        let empty = Stripe {
            lcd: 1,
            owned: Vec::new(),
            part: self.part,
            parts: self.parts,
        };
        if !self.is_valid() {
            return empty;
        }
        let runners: Vec<u64> = (0..self.count)
            .map(|k| {
                Segment::new(k, self.count)
                    .map(|s| s.share(vus))
                    .unwrap_or(0)
            })
            .collect();
        if runners[self.index as usize] == 0 {
            return empty;
        }
        let (lcd, owned) = striped_residues(&runners, self.index as usize);
        Stripe {
            lcd,
            owned,
            part: self.part,
            parts: self.parts,
        }
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// k6's striped offsets (`NewExecutionSegmentSequenceWrapper`) for the sequence whose
/// segment `i` has length `weights[i] / Σ weights` (segments of weight 0 left out):
/// the least common denominator and the residues modulo it that segment `target` owns.
fn striped_residues(weights: &[u64], target: usize) -> (u64, Vec<u64>) {
    let present: Vec<(usize, u64)> = weights
        .iter()
        .copied()
        .enumerate()
        .filter(|&(_, w)| w > 0)
        .collect();
    let g = present.iter().fold(0, |g, &(_, w)| gcd(g, w)).max(1);
    let lcd: u64 = present.iter().map(|&(_, w)| w / g).sum();
    if present.len() <= 1 {
        return (1, vec![0]);
    }
    // Stable sort by normalised numerator, largest first.
    let mut sorted: Vec<(usize, u64)> = present.iter().map(|&(i, w)| (i, w / g)).collect();
    sorted.sort_by_key(|&(_, w)| std::cmp::Reverse(w));
    let mut chosen = vec![0u64; sorted.len()];
    let mut owned = Vec::new();
    let (lcd128, mut i) = (u128::from(lcd), 0u64);
    while i < lcd {
        let i128 = u128::from(i);
        for (s, &(orig, denom)) in sorted.iter().enumerate() {
            let num = u128::from(chosen[s]) * lcd128;
            let denom = u128::from(denom);
            if i128 > num / denom || (i128 == num / denom && num % denom == 0) {
                chosen[s] += 1;
                if orig == target {
                    owned.push(i);
                }
                break;
            }
        }
        i += 1;
    }
    (lcd, owned)
}

/// One runner's (or worker part's) stripe of a derived k6 segment sequence: it owns the
/// global indices whose residue modulo `lcd` is in `owned`, split round robin among
/// `parts`. Built by [`Segment::stripe`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stripe {
    lcd: u64,
    /// Ascending residues modulo `lcd` the runner owns (empty: owns nothing).
    owned: Vec<u64>,
    part: u32,
    parts: u32,
}

impl Stripe {
    /// The runner's count of owned indices below `total` (k6's `ScaleInt64`).
    fn runner_share(&self, total: u64) -> u64 {
        let len = self.owned.len() as u64;
        if len == 0 || self.lcd == 0 {
            return 0;
        }
        let rest = total % self.lcd;
        (total / self.lcd).saturating_mul(len)
            + self.owned.iter().take_while(|&&r| r < rest).count() as u64
    }

    /// How many of the global indices `0..total` this stripe owns.
    pub fn share(&self, total: u64) -> u64 {
        part_share(self.runner_share(total), self.part, self.parts)
    }

    /// Whether the stripe owns nothing at all.
    pub fn is_empty(&self) -> bool {
        self.owned.is_empty()
    }

    /// The global index of this stripe's `local`-th item, saturating at `u64::MAX`.
    pub fn to_global(&self, local: u64) -> u64 {
        let len = self.owned.len() as u64;
        if len == 0 {
            return u64::MAX;
        }
        let l = local
            .saturating_mul(u64::from(self.parts))
            .saturating_add(u64::from(self.part));
        (l / len)
            .saturating_mul(self.lcd)
            .saturating_add(self.owned[(l % len) as usize])
    }

    /// This stripe's local index of `global`, or `None` when it does not own it.
    pub fn to_local(&self, global: u64) -> Option<u64> {
        let len = self.owned.len() as u64;
        if len == 0 || self.lcd == 0 {
            return None;
        }
        let pos = self.owned.binary_search(&(global % self.lcd)).ok()? as u64;
        let l = (global / self.lcd) * len + pos;
        let parts = u64::from(self.parts.max(1));
        (l % parts == u64::from(self.part)).then_some(l / parts)
    }

    /// Whether global index `global` belongs to this stripe.
    pub fn owns(&self, global: u64) -> bool {
        self.to_local(global).is_some()
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
        let s = Segment::new(3, 4).unwrap();
        assert_eq!((s.index, s.count, s.part, s.parts), (3, 4, 0, 1));
    }

    #[test]
    fn hand_built_invalid_segment_owns_nothing_and_does_not_panic() {
        for bad in [
            Segment {
                index: 0,
                count: 0,
                ..Segment::whole()
            },
            Segment {
                index: 5,
                count: 2,
                ..Segment::whole()
            },
            Segment {
                part: 3,
                parts: 2,
                ..Segment::whole()
            },
        ] {
            assert_eq!(bad.share(100), 0);
            assert!(!bad.owns(5));
            assert_eq!(bad.to_local(5), None);
            let _ = bad.to_global(3);
            assert!(bad.stripe(10).is_empty());
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

    /// Shares of `total` for every runner of `n`, split by the runners' shares of `vus`.
    fn stripe_shares(n: u32, vus: u64, total: u64) -> Vec<u64> {
        all(n).iter().map(|s| s.stripe(vus).share(total)).collect()
    }

    #[test]
    fn work_follows_the_share_of_vus_as_in_k6() {
        // k6: 1 VU, 2 iterations on 2 segments: segment 0 runs both.
        assert_eq!(stripe_shares(2, 1, 2), [2, 0]);
        // 3 VUs (2 + 1), 4 iterations: 3 and 1.
        assert_eq!(stripe_shares(2, 3, 4), [3, 1]);
        // 10 VUs on 4 (3, 3, 2, 2): k6 stripes 10 per cycle as {0,4,7} {1,5,8} {2,6} {3,9}.
        assert_eq!(stripe_shares(4, 10, 101), [31, 30, 20, 20]);
        let s0 = Segment::new(0, 4).unwrap().stripe(10);
        assert_eq!(
            (0..10).filter(|&g| s0.owns(g)).collect::<Vec<_>>(),
            [0, 4, 7]
        );
        assert_eq!(s0.to_global(3), 10);
        assert_eq!(s0.to_local(17), Some(5));
        // VUs divisible by the runners: the plain striping.
        let s1 = Segment::new(1, 3).unwrap().stripe(6);
        assert_eq!(
            (0..9).filter(|&g| s1.owns(g)).collect::<Vec<_>>(),
            [1, 4, 7]
        );
        // The whole test owns everything.
        assert_eq!(Segment::whole().stripe(7).share(99), 99);
    }

    #[test]
    fn split_composes_and_serialises_only_when_split() {
        let s = Segment::new(1, 3).unwrap();
        let w = s.split(1, 2);
        assert_eq!((w.part, w.parts), (1, 2));
        assert_eq!(w.split(1, 3).part, 3);
        assert_eq!(w.split(1, 3).parts, 6);
        assert_eq!(w.runner(), s);
        // Worker 1 of 2 owns the runner's locals 1, 3, 5: globals 4, 10, 16.
        assert_eq!(
            (0..20).filter(|&g| w.owns(g)).collect::<Vec<_>>(),
            [4, 10, 16]
        );
        assert_eq!(w.to_global(2), 16);
        assert_eq!(w.to_local(10), Some(1));
        assert_eq!(w.share(20), 3);
        let text = serde_json::to_string(&w).unwrap();
        assert_eq!(text, r#"{"index":1,"count":3,"part":1,"parts":2}"#);
        assert_eq!(serde_json::from_str::<Segment>(&text).unwrap(), w);
        assert!(
            serde_json::from_str::<Segment>(r#"{"index":1,"count":3,"part":2,"parts":2}"#).is_err()
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn stripes_partition_the_work_and_follow_the_vus(
            n in 1u32..=12,
            vus in 0u64..=200,
            total in 0u64..=3_000,
            parts in 1u32..=4,
        ) {
            let mut owner = vec![None; total as usize];
            let mut sum = 0;
            for seg in all(n) {
                let stripe = seg.stripe(vus);
                let share = stripe.share(total);
                sum += share;
                if seg.share(vus) == 0 {
                    prop_assert_eq!(share, 0);
                }
                for l in 0..share {
                    let g = stripe.to_global(l);
                    prop_assert!(g < total);
                    prop_assert_eq!(stripe.to_local(g), Some(l));
                    prop_assert!(owner[g as usize].replace(seg.index).is_none(), "{} owned twice", g);
                }
                // Worker parts split the runner's stripe exactly.
                let mut part_sum = 0;
                let mut seen = Vec::new();
                for p in 0..parts {
                    let ps = seg.split(p, parts).stripe(vus);
                    let k = ps.share(total);
                    part_sum += k;
                    seen.extend((0..k).map(|l| ps.to_global(l)));
                }
                prop_assert_eq!(part_sum, share);
                seen.sort_unstable();
                let mine: Vec<u64> = (0..share).map(|l| stripe.to_global(l)).collect();
                prop_assert_eq!(seen, mine);
            }
            if vus == 0 {
                prop_assert_eq!(sum, 0);
            } else {
                prop_assert_eq!(sum, total);
            }
        }
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
