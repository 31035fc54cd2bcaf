//! Data feeders: which row `data.next()` gives, for every `pick` strategy.
//!
//! The rows come with the plan (read at compile time) and are converted to runtime values
//! once per run, then shared read-only by every worker thread. Row choice is a pure
//! function of the caller's identity, so it needs no locks and is identical on every
//! runner of a fleet:
//!
//! | pick | row of `next()` |
//! |---|---|
//! | `unique` | `vu.id - 1`: each VU its own row for its whole life, unique fleet-wide (ids are fleet-wide); a VU beyond the last row fails its iteration with a clear error |
//! | `unique_per_iteration` | `test.iteration`: one fresh row per iteration (several `next()` in one iteration give the same row), unique fleet-wide; once out of rows the VU stops (counted as an "out of data" iteration failure) |
//! | `sequential` | `test.iteration mod rows`: rows in order across the fleet, cycling |
//! | `random` | a uniformly random row (the VU's own RNG) |
//! | `shared` | a per-VU cursor: every VU reads every row in order, cycling |
//!
//! Outside an iteration (a scenario-level `let`, run once per VU before its first
//! iteration) there is no `test.iteration`: `unique_per_iteration` and `sequential` then use
//! `vu.id - 1`. In setup and teardown every pick reads rows in order from the first.
//!
//! This module must not do IO (the rows are already in the plan) or know about metrics.

use crate::value::Value;
use rand::rngs::SmallRng;
use rand::Rng;
use std::sync::Arc;
use volley_plan::{DataSource, Pick};

/// One data source, ready to feed.
#[derive(Debug)]
pub struct Feeder {
    pub name: String,
    pub pick: Pick,
    rows: Arc<[Value]>,
    /// For a runner's slice of a unique source: the global index of each row (ascending)
    /// and the whole source's row count.
    slice: Option<(Arc<[u64]>, u64)>,
}

/// Who is asking for a row.
#[derive(Clone, Copy, Debug)]
pub struct PickContext {
    /// The fleet-wide VU id (1-based); 0 for the setup/teardown VU.
    pub vu_id: u64,
    /// `test.iteration` of the current iteration, `None` outside iterations.
    pub test_iteration: Option<u64>,
}

/// A row could not be given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DataError {
    /// A short, bounded description for the failed check it becomes
    /// (`data users: out of rows`); `message` has the details.
    pub check: String,
    pub message: String,
    /// The VU cannot go on (the data is exhausted for every later iteration too).
    pub stop_vu: bool,
}

impl Feeder {
    pub fn new(source: &DataSource) -> Self {
        Feeder {
            name: source.name.clone(),
            pick: source.pick,
            rows: source.rows.iter().map(Value::from).collect(),
            slice: source
                .slice
                .as_ref()
                .map(|s| (s.indices.iter().copied().collect(), s.total_rows)),
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The row `next()` gives; `cursor` is this VU's own position in this source (used by
    /// `shared`, and by every pick in setup/teardown).
    pub fn next(
        &self,
        ctx: PickContext,
        cursor: &mut u64,
        rng: &mut SmallRng,
    ) -> Result<Value, DataError> {
        let len = self.slice.as_ref().map_or(self.rows.len() as u64, |s| s.1);
        if len == 0 {
            return Err(DataError {
                check: format!("data {}: no rows", self.name),
                message: format!("data {}: the source has no rows", self.name),
                stop_vu: true,
            });
        }
        let by_vu = ctx.vu_id.saturating_sub(1);
        let index = if ctx.vu_id == 0 {
            let i = *cursor % len;
            *cursor += 1;
            i
        } else {
            match self.pick {
                Pick::Unique => {
                    if by_vu >= len {
                        return Err(DataError {
                            check: format!("data {}: out of rows", self.name),
                            message: format!(
                                "data {}: pick unique needs row {} for VU {} but the source has only {len} rows",
                                self.name,
                                by_vu + 1,
                                ctx.vu_id
                            ),
                            stop_vu: true,
                        });
                    }
                    by_vu
                }
                Pick::UniquePerIteration => {
                    let i = ctx.test_iteration.unwrap_or(by_vu);
                    if i >= len {
                        return Err(DataError {
                            check: format!("data {}: out of data", self.name),
                            message: format!(
                                "data {}: out of data (pick unique_per_iteration needs row {} but the source has only {len} rows)",
                                self.name,
                                i + 1
                            ),
                            stop_vu: true,
                        });
                    }
                    i
                }
                Pick::Sequential => ctx.test_iteration.unwrap_or(by_vu) % len,
                Pick::Random => rng.gen_range(0..len),
                Pick::Shared => {
                    let i = *cursor % len;
                    *cursor += 1;
                    i
                }
            }
        };
        let position = match &self.slice {
            None => Some(index as usize),
            Some((indices, _)) => indices.binary_search(&index).ok(),
        };
        // `index < len` always holds here; fall back to an error rather than panic.
        position
            .and_then(|p| self.rows.get(p))
            .cloned()
            .ok_or_else(|| DataError {
                check: format!("data {}: out of rows", self.name),
                message: format!(
                    "data {}: row {index} is out of range or in another runner's slice",
                    self.name
                ),
                stop_vu: true,
            })
    }
}

/// Every data source of a plan, by index.
pub fn feeders(sources: &[DataSource]) -> Arc<[Feeder]> {
    sources.iter().map(Feeder::new).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use volley_plan::{DataFormat, Value as PV};

    fn source(pick: Pick, n: usize) -> Feeder {
        Feeder::new(&DataSource {
            name: "users".into(),
            format: DataFormat::Lines,
            path: "users.txt".into(),
            pick,
            columns: vec![],
            rows: (0..n).map(|i| PV::Str(format!("row{i}"))).collect(),
            slice: None,
            pack: None,
        })
    }

    fn text(v: Result<Value, DataError>) -> String {
        v.map(|v| v.to_text()).unwrap_or_else(|e| e.message)
    }

    fn ctx(vu_id: u64, it: Option<u64>) -> PickContext {
        PickContext {
            vu_id,
            test_iteration: it,
        }
    }

    #[test]
    fn unique_rows_follow_the_vu_id() {
        let f = source(Pick::Unique, 3);
        let mut rng = SmallRng::seed_from_u64(1);
        let mut c = 0;
        assert_eq!(text(f.next(ctx(1, Some(7)), &mut c, &mut rng)), "row0");
        assert_eq!(text(f.next(ctx(3, None), &mut c, &mut rng)), "row2");
        let err = f.next(ctx(4, None), &mut c, &mut rng).unwrap_err();
        assert!(
            err.stop_vu && err.message.contains("only 3 rows"),
            "{err:?}"
        );
    }

    #[test]
    fn per_iteration_and_sequential() {
        let mut rng = SmallRng::seed_from_u64(1);
        let mut c = 0;
        let f = source(Pick::UniquePerIteration, 2);
        assert_eq!(text(f.next(ctx(9, Some(1)), &mut c, &mut rng)), "row1");
        let err = f.next(ctx(9, Some(2)), &mut c, &mut rng).unwrap_err();
        assert!(err.stop_vu && err.message.contains("out of data"));
        let f = source(Pick::Sequential, 2);
        assert_eq!(text(f.next(ctx(9, Some(5)), &mut c, &mut rng)), "row1");
        assert_eq!(text(f.next(ctx(2, None), &mut c, &mut rng)), "row1");
    }

    #[test]
    fn shared_and_setup_use_the_cursor() {
        let mut rng = SmallRng::seed_from_u64(1);
        let f = source(Pick::Shared, 2);
        let mut c = 0;
        let got: Vec<String> = (0..3)
            .map(|_| text(f.next(ctx(5, Some(0)), &mut c, &mut rng)))
            .collect();
        assert_eq!(got, ["row0", "row1", "row0"]);
        let f = source(Pick::Unique, 2);
        let mut c = 0;
        assert_eq!(text(f.next(ctx(0, None), &mut c, &mut rng)), "row0");
        assert_eq!(text(f.next(ctx(0, None), &mut c, &mut rng)), "row1");
    }

    #[test]
    fn random_stays_in_range_and_empty_fails() {
        let mut rng = SmallRng::seed_from_u64(1);
        let f = source(Pick::Random, 4);
        let mut c = 0;
        for _ in 0..100 {
            assert!(f.next(ctx(1, Some(0)), &mut c, &mut rng).is_ok());
        }
        let e = source(Pick::Random, 0);
        assert!(e.next(ctx(1, Some(0)), &mut c, &mut rng).is_err());
    }

    #[test]
    fn a_slice_maps_global_rows_to_its_own() {
        let mut d = DataSource {
            name: "users".into(),
            format: DataFormat::Lines,
            path: "users.txt".into(),
            pick: Pick::Unique,
            columns: vec![],
            rows: vec![PV::Str("row1".into()), PV::Str("row3".into())],
            slice: Some(volley_plan::SliceInfo {
                total_rows: 4,
                indices: vec![1, 3],
            }),
            pack: None,
        };
        let f = Feeder::new(&d);
        let mut rng = SmallRng::seed_from_u64(1);
        let ask = |vu_id| PickContext {
            vu_id,
            test_iteration: None,
        };
        assert_eq!(text(f.next(ask(2), &mut 0, &mut rng)), "row1");
        assert_eq!(text(f.next(ask(4), &mut 0, &mut rng)), "row3");
        assert!(text(f.next(ask(1), &mut 0, &mut rng)).contains("another runner's slice"));
        assert!(text(f.next(ask(5), &mut 0, &mut rng)).contains("only 4 rows"));
        d.pick = Pick::UniquePerIteration;
        let f = Feeder::new(&d);
        let it = PickContext {
            vu_id: 9,
            test_iteration: Some(3),
        };
        assert_eq!(text(f.next(it, &mut 0, &mut rng)), "row3");
    }
}
