//! Metrics with k6's model: trends, counters, rates and gauges, tagged, recorded
//! lock-free per worker and merged exactly.
//!
//! The pipe:
//! 1. [`Registry::new`] (once per run, from `Plan::metrics`) numbers the metrics: the
//!    built-ins at the fixed ids of [`ids`] (k6's names: `http_reqs`,
//!    `http_req_duration` and its `_blocked` `_connecting` `_tls_handshaking` `_sending`
//!    `_waiting` `_receiving` phases, `http_req_failed`, `iterations`,
//!    `iteration_duration`, `dropped_iterations`, `vus`, `vus_max`, `checks`,
//!    `data_sent`, `data_received`, `group_duration`), then the plan's own metrics
//!    ([`Registry::custom`] maps `Plan::metrics[i]` to its id).
//! 2. Each worker owns a [`Shard`] (no locks: `Rc<RefCell<Shard>>` on its thread); VUs call
//!    [`Shard::trend`] (ms for time trends), [`Shard::count`], [`Shard::rate`],
//!    [`Shard::gauge`] or the kind-agnostic [`Shard::add`] with a [`MetricId`] and
//!    [`Tags`] (or, on the hot path, look the tags up once with [`Shard::series`] and
//!    record with the [`SeriesId`]: `trend_at`, `count_at`, ...). Once per second and at
//!    the end the worker calls [`Shard::take`] and sends the [`Snapshot`] (the delta since
//!    the last take).
//! 3. The aggregator merges snapshots into an [`Aggregate`] ([`Aggregate::merge`]); a
//!    coordinator does the same with snapshots pushed as JSON ([`Snapshot::to_json`]),
//!    where trend histograms travel as their non-empty buckets and merge without a dense
//!    copy ([`Aggregate::merge_sparse`]). Whole histograms travel, percentiles never do.
//! 4. Thresholds and the summary query [`Aggregate::view`]: one metric merged over the
//!    series whose tags match a filter (a submetric like `http_req_duration{group:
//!    "browse"}`), as a [`MetricView`] with exact count/sum/min/max/avg and percentiles
//!    from the merged histogram.
//!
//! Histograms: `hdrhistogram`, 3 significant figures, auto-resizing; time trends record
//! microseconds (ms × 1000, saturating at 1 h), other trends value × 1000 (saturating at
//! 10^12, negative values record as 0). Percentiles come back in ms (or value units),
//! clamped to the exact min..max; avg/min/max come from exact sums, not the histogram.
//! Counter rates are per second of the elapsed time set with [`Aggregate::set_elapsed`].
//!
//! This module must not evaluate thresholds, print, or do IO.

mod aggregate;
pub mod hist;
mod registry;
mod shard;
mod snapshot;
mod tags;
#[cfg(test)]
mod tests;
pub mod wire;

pub use aggregate::{Aggregate, CheckStat, MetricView};
pub use hist::Hist;
pub use registry::{ids, Contains, MetricId, MetricInfo, Registry, BUILTINS};
pub use shard::{SeriesId, Shard};
pub use snapshot::{SeriesData, SeriesSnapshot, Snapshot};
pub use tags::{matches, Tags, TAG_KEYS};
pub use wire::{SparseData, SparseSeries, SparseSnapshot, WireError};
