//! Data slices: unique data partitioned by segment, so each runner receives only the rows it
//! can read (SPEC §3 "Unique data is partitioned by segment at compile time").
//!
//! Which global rows runner `k` of `N` can read follows from the identity values
//! (see `volley_engine::executor`):
//! * `pick: unique` reads row `vu.id - 1`. VU ids of scenario `s` are
//!   `offset_s + k + j·N + 1` for the runner's `j`-th VU, where `offset_s` is the sum of the
//!   whole-test `max_vus` of the scenarios declared before `s` ([`vu_id_offsets`]); so the
//!   runner owns rows `offset_s + k + j·N` for `j < share(max_vus_s)`, for every scenario.
//! * `pick: unique_per_iteration` reads row `test.iteration`, which is `k + l·N` on runner
//!   `k` for `constant_vus`, `ramping_vus` and `per_vu_iterations`, and follows the
//!   scenario's work stripe (`schedule::work_stripe`: k6's split of the work by the
//!   runners' shares of `vus` or `max_vus`) for `shared_iterations` and the arrival-rate
//!   executors; outside an iteration (a scenario-level `let`) it reads row `vu.id - 1` as
//!   `unique` does. The runner owns the union of these stripes.
//!
//! Other picks (`sequential`, `random`, `shared`) read every row on every runner and are
//! never sliced. The slices of the runners are disjoint for `unique` and together hold every
//! row some VU can read; rows no VU can reach are shipped to nobody.
//!
//! A *fleet plan* ([`split`]) is the plan with every sliced source's rows removed (its
//! [`SliceInfo`] keeps the total); each runner loads the fleet plan plus its own
//! [`DataSlice`] and [`apply`]s it. Pure: no IO.

use crate::schedule;
use crate::segment::Segment;
use crate::{Pick, Plan, SliceInfo, Value};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The format version of a data slice file.
pub const SLICE_VERSION: u32 = 1;

/// One runner's rows of every sliced source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataSlice {
    pub version: u32,
    /// The content hash of the fleet plan this slice belongs to.
    pub plan_hash: String,
    pub segment: Segment,
    /// Source name → its rows for this runner.
    pub sources: BTreeMap<String, SlicedRows>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlicedRows {
    /// Ascending global row indices.
    pub indices: Vec<u64>,
    /// `rows[i]` is global row `indices[i]`.
    pub rows: Vec<Value>,
}

/// Whether a source with this pick is partitioned across runners.
pub fn is_sliced(pick: Pick) -> bool {
    matches!(pick, Pick::Unique | Pick::UniquePerIteration)
}

/// The offset added to every VU id of each scenario: the whole-test `max_vus` of the
/// scenarios declared before it (scenario 1 of 10 VUs uses ids 1..=10, scenario 2 starts
/// at 11).
pub fn vu_id_offsets(plan: &Plan) -> Vec<u64> {
    let mut offset = 0u64;
    plan.scenarios
        .iter()
        .map(|s| {
            let this = offset;
            offset = offset.saturating_add(schedule::max_vus(&s.workload, Segment::whole()));
            this
        })
        .collect()
}

/// The global row indices (ascending, below `total`) that segment `seg` can read from a
/// source with `pick`. Every row for unsliced picks.
pub fn owned_rows(plan: &Plan, pick: Pick, total: u64, seg: Segment) -> Vec<u64> {
    if !is_sliced(pick) {
        return (0..total).collect();
    }
    let mut rows = BTreeSet::new();
    for (s, offset) in plan.scenarios.iter().zip(vu_id_offsets(plan)) {
        let vus = schedule::max_vus(&s.workload, seg);
        for j in 0..vus {
            let g = offset.saturating_add(seg.to_global(j));
            if g >= total {
                break;
            }
            rows.insert(g);
        }
    }
    if pick == Pick::UniquePerIteration {
        // `test.iteration` follows the scenario's work stripe (shared iterations and
        // arrivals), or the runner's own stripe (other closed models).
        let mut plain = plan.scenarios.is_empty();
        for s in &plan.scenarios {
            match schedule::work_stripe(&s.workload, seg) {
                Some(stripe) => {
                    let mut l = 0;
                    loop {
                        let g = stripe.to_global(l);
                        if stripe.is_empty() || g >= total {
                            break;
                        }
                        rows.insert(g);
                        l += 1;
                    }
                }
                None => plain = true,
            }
        }
        let mut l = 0;
        while plain && seg.to_global(l) < total {
            rows.insert(seg.to_global(l));
            l += 1;
        }
    }
    rows.into_iter().collect()
}

/// The fleet plan for `runners` runners and each runner's data slice (in segment order).
/// Sources that are not sliced stay whole in the fleet plan.
pub fn split(plan: &Plan, runners: u32) -> (Plan, Vec<DataSlice>) {
    let mut fleet = crate::pack::without_rows(plan);
    for (d, src) in fleet.data.iter_mut().zip(&plan.data) {
        if !is_sliced(d.pick) {
            d.rows = src.rows.clone();
        }
    }
    split_from(fleet, plan, runners)
}

/// [`split`] onto `fleet`, a copy of `plan` whose sliced sources' rows need not be there
/// (`crate::pack::packed`'s plan): the slices read their rows from `plan`, and the fleet
/// plan is `fleet` with the sliced sources emptied.
pub fn split_from(mut fleet: Plan, plan: &Plan, runners: u32) -> (Plan, Vec<DataSlice>) {
    for (d, src) in fleet
        .data
        .iter_mut()
        .zip(&plan.data)
        .filter(|(d, _)| is_sliced(d.pick))
    {
        let total = src
            .slice
            .as_ref()
            .map_or(src.rows.len() as u64, |s| s.total_rows);
        d.rows.clear();
        d.pack = None;
        d.slice = Some(SliceInfo {
            total_rows: total,
            indices: Vec::new(),
        });
    }
    let plan_hash = crate::content_hash(&fleet);
    let slices = (0..runners.max(1))
        .filter_map(|k| Segment::new(k, runners.max(1)).ok())
        .map(|seg| {
            let sources = plan
                .data
                .iter()
                .filter(|d| is_sliced(d.pick))
                .map(|d| {
                    let indices = owned_rows(plan, d.pick, d.rows.len() as u64, seg);
                    let rows = indices
                        .iter()
                        .filter_map(|&g| d.rows.get(g as usize).cloned())
                        .collect();
                    (d.name.clone(), SlicedRows { indices, rows })
                })
                .collect();
            DataSlice {
                version: SLICE_VERSION,
                plan_hash: plan_hash.clone(),
                segment: seg,
                sources,
            }
        })
        .collect();
    (fleet, slices)
}

/// Whether the plan still waits for a data slice (a fleet plan from [`split`]).
pub fn needs_slice(plan: &Plan) -> bool {
    plan.data.iter().any(|d| {
        d.slice
            .as_ref()
            .is_some_and(|s| s.indices.is_empty() && d.rows.is_empty())
    })
}

/// Why a data slice does not fit a plan.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SliceError {
    #[error(
        "data slice format version {found} is not supported (this volley reads version {SLICE_VERSION})"
    )]
    Version { found: u32 },
    #[error("the data slice belongs to plan {slice}, not to this plan ({plan})")]
    OtherPlan { slice: String, plan: String },
    #[error(
        "the data slice is for runner {} of {}, but this is runner {} of {}",
        slice.index, slice.count, runner.index, runner.count
    )]
    OtherSegment { slice: Segment, runner: Segment },
    #[error("the data slice has no rows for `{0}`")]
    MissingRows(String),
    #[error("the data slice of `{0}` is malformed")]
    Malformed(String),
}

/// Fills a fleet plan's sliced sources with `slice`'s rows. Refuses a slice of another
/// plan (by hash) or another segment, and a slice that does not match the sources.
pub fn apply(plan: &mut Plan, slice: &DataSlice, seg: Segment) -> Result<(), SliceError> {
    if slice.version != SLICE_VERSION {
        return Err(SliceError::Version {
            found: slice.version,
        });
    }
    let hash = crate::content_hash(plan);
    if slice.plan_hash != hash {
        return Err(SliceError::OtherPlan {
            slice: slice.plan_hash.clone(),
            plan: hash,
        });
    }
    if slice.segment != seg {
        return Err(SliceError::OtherSegment {
            slice: slice.segment,
            runner: seg,
        });
    }
    for d in plan.data.iter_mut() {
        let Some(info) = d.slice.as_mut() else {
            continue;
        };
        let rows = slice
            .sources
            .get(&d.name)
            .ok_or_else(|| SliceError::MissingRows(d.name.clone()))?;
        if rows.indices.len() != rows.rows.len()
            || rows.indices.windows(2).any(|w| w[0] >= w[1])
            || rows.indices.last().is_some_and(|&g| g >= info.total_rows)
        {
            return Err(SliceError::Malformed(d.name.clone()));
        }
        info.indices = rows.indices.clone();
        d.rows = rows.rows.clone();
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{DataFormat, DataSource, Fleet, HttpOptions, Scenario, Start, Workload};
    use proptest::prelude::*;

    fn scenario(vus: u64) -> Scenario {
        Scenario {
            name: format!("s{vus}"),
            workload: Workload::ConstantVus {
                vus,
                duration_ms: 1000,
            },
            start: Start::Immediately,
            graceful_stop_ms: 0,
            tags: BTreeMap::new(),
            http: HttpOptions::default(),
            frame_size: 0,
            init: vec![],
            iteration: vec![],
        }
    }

    pub(crate) fn plan(vus: &[u64], pick: Pick, rows: usize) -> Plan {
        Plan {
            version: crate::PLAN_VERSION,
            name: "t".into(),
            params: BTreeMap::new(),
            targets: vec![],
            secrets: vec![],
            data: vec![DataSource {
                name: "users".into(),
                format: DataFormat::Lines,
                path: "u.txt".into(),
                pick,
                columns: vec![],
                rows: (0..rows).map(|i| Value::Int(i as i64)).collect(),
                slice: None,
                pack: None,
            }],
            metrics: vec![],
            flows: vec![],
            setup: None,
            setup_values: vec![],
            teardown: None,
            scenarios: vus.iter().map(|&v| scenario(v)).collect(),
            thresholds: vec![],
            fleet: Fleet::default(),
            files: Vec::new(),
            protos: Vec::new(),
        }
    }

    #[test]
    fn unique_rows_follow_vu_ids_across_scenarios() {
        // Scenario 1 has 3 VUs (ids 1..=3), scenario 2 has 4 (ids 4..=7). On 2 runners,
        // runner 0 has VUs 1, 3 and 4, 6; runner 1 has VU 2 and 5, 7.
        let p = plan(&[3, 4], Pick::Unique, 100);
        let s0 = Segment::new(0, 2).unwrap();
        let s1 = Segment::new(1, 2).unwrap();
        assert_eq!(owned_rows(&p, Pick::Unique, 100, s0), vec![0, 2, 3, 5]);
        assert_eq!(owned_rows(&p, Pick::Unique, 100, s1), vec![1, 4, 6]);
    }

    #[test]
    fn split_then_apply_gives_each_runner_its_rows() {
        let p = plan(&[10], Pick::Unique, 10);
        let (fleet, slices) = split(&p, 4);
        assert!(needs_slice(&fleet));
        assert!(fleet.data[0].rows.is_empty());
        assert_eq!(slices.len(), 4);
        let sizes: Vec<usize> = slices
            .iter()
            .map(|s| s.sources["users"].rows.len())
            .collect();
        assert_eq!(sizes, vec![3, 3, 2, 2]);
        let mut mine = fleet.clone();
        let seg = Segment::new(1, 4).unwrap();
        apply(&mut mine, &slices[1], seg).unwrap();
        assert!(!needs_slice(&mine));
        assert_eq!(
            mine.data[0].rows,
            vec![Value::Int(1), Value::Int(5), Value::Int(9)]
        );
        assert_eq!(mine.data[0].slice.as_ref().unwrap().indices, vec![1, 5, 9]);
    }

    #[test]
    fn apply_refuses_another_plan_or_segment() {
        let p = plan(&[10], Pick::Unique, 10);
        let (fleet, slices) = split(&p, 2);
        let mut other = fleet.clone();
        other.name = "other".into();
        let err = apply(&mut other, &slices[0], Segment::new(0, 2).unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("belongs to plan"), "{err}");
        let mut mine = fleet.clone();
        let err = apply(&mut mine, &slices[0], Segment::new(1, 2).unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("runner 0 of 2"), "{err}");
    }

    #[test]
    fn unsliced_picks_stay_whole() {
        let p = plan(&[10], Pick::Sequential, 5);
        let (fleet, slices) = split(&p, 3);
        assert_eq!(fleet.data[0].rows.len(), 5);
        assert!(!needs_slice(&fleet));
        assert!(slices.iter().all(|s| s.sources.is_empty()));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn unique_slices_are_disjoint_and_cover_every_reachable_row(
            vus in proptest::collection::vec(0u64..40, 1..4),
            rows in 0usize..200,
            n in 1u32..=16,
        ) {
            let p = plan(&vus, Pick::Unique, rows);
            let (_, slices) = split(&p, n);
            let mut seen = BTreeSet::new();
            for s in &slices {
                for &g in &s.sources["users"].indices {
                    prop_assert!(seen.insert(g), "row {} in two slices", g);
                }
            }
            let reachable = vus.iter().sum::<u64>().min(rows as u64);
            prop_assert_eq!(seen.len() as u64, reachable);
        }

        #[test]
        fn per_iteration_slices_partition_every_row(rows in 0usize..300, n in 1u32..=16) {
            let p = plan(&[0], Pick::UniquePerIteration, rows);
            let (_, slices) = split(&p, n);
            let total: usize = slices.iter().map(|s| s.sources["users"].rows.len()).sum();
            prop_assert_eq!(total, rows);
        }
    }
}
