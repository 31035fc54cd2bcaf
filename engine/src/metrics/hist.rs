//! The HDR histograms behind trends: how values become histogram units, and how a
//! histogram travels in JSON (its non-empty buckets, `[[value, count], …]`). Whole histograms travel;
//! percentiles are computed only from merged histograms, never averaged.
//! This module must not know about tags or series.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Significant figures of every histogram.
pub const SIGFIG: u8 = 3;
/// Histogram units per value unit: time trends record microseconds (ms × 1000), other
/// trends value × 1000.
pub const SCALE: f64 = 1000.0;
/// Largest recorded time value in units: one hour in µs. Longer samples saturate here
/// (their exact value still counts in min/max/avg).
pub const MAX_TIME_UNITS: u64 = 3_600_000_000;
/// Largest recorded plain value in units (values up to 10^12).
pub const MAX_NUMBER_UNITS: u64 = 1_000_000_000_000_000;

thread_local! {
    /// Histograms made ahead by [`reserve`], taken by [`new_hist`] first.
    static SPARE: std::cell::RefCell<Vec<Histogram<u64>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Makes `n` histograms ahead on this thread, so the first series recorded after the start
/// do not allocate and zero fresh memory (16 KiB each, and page faults) at the start instant.
pub fn reserve(n: usize) {
    let made: Vec<_> = (0..n).map(|_| fresh()).collect();
    SPARE.with(|s| s.borrow_mut().extend(made));
}

/// A fresh auto-resizing histogram (starts small, grows to the largest value recorded).
pub fn new_hist() -> Histogram<u64> {
    SPARE.with(|s| s.borrow_mut().pop()).unwrap_or_else(fresh)
}

#[allow(
    clippy::expect_used,
    reason = "constant bounds that hdrhistogram accepts (a unit test builds one)"
)]
fn fresh() -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, 2, SIGFIG)
        .expect("1..2 with 3 significant figures is a valid histogram configuration");
    h.auto(true);
    h
}

/// A fresh auto-resizing histogram already sized like `like`, so recording the same
/// range again does not reallocate.
pub fn new_like(like: &Histogram<u64>) -> Histogram<u64> {
    match Histogram::new_with_bounds(1, like.high().max(2), SIGFIG) {
        Ok(mut h) => {
            h.auto(true);
            h
        }
        Err(_) => new_hist(),
    }
}

/// A value (ms for time trends) in histogram units, saturating into the recordable range
/// (negative values record as 0).
pub fn to_units(value: f64, is_time: bool) -> u64 {
    let max = if is_time {
        MAX_TIME_UNITS
    } else {
        MAX_NUMBER_UNITS
    };
    let u = value * SCALE;
    if u.is_nan() || u < 0.5 {
        0
    } else if u >= max as f64 {
        max
    } else {
        // Rounds half up, as `f64::round` does for positive values, without its libm call
        // (one per trend sample, eight per request). Exact: a fraction of an f64 is one.
        let whole = u as u64;
        whole + u64::from(u - whole as f64 >= 0.5)
    }
}

/// Histogram units back to value units (ms for time trends).
pub fn from_units(units: u64) -> f64 {
    units as f64 / SCALE
}

/// Records one value.
pub fn record(h: &mut Histogram<u64>, value: f64, is_time: bool) {
    record_units(h, to_units(value, is_time));
}

/// Records one value already in histogram units ([`to_units`]).
pub fn record_units(h: &mut Histogram<u64>, u: u64) {
    // `record` auto-resizes (`saturating_record` would clamp to the current size).
    if h.record(u).is_err() {
        h.saturating_record(u);
    }
}

/// Records `n` values of 0 units.
pub fn record_zeros(h: &mut Histogram<u64>, n: u64) {
    if n > 0 && h.record_n(0, n).is_err() {
        h.saturating_record_n(0, n);
    }
}

/// Adds `src` into `dst` exactly (counts per bucket). `dst` auto-resizes; should a bucket
/// not fit anyway, the samples are re-recorded saturating, so nothing is lost.
pub fn add(dst: &mut Histogram<u64>, src: &Histogram<u64>) {
    if dst.add(src).is_err() {
        for v in src.iter_recorded() {
            let (value, n) = (v.value_iterated_to(), v.count_at_value());
            if dst.record_n(value, n).is_err() {
                dst.saturating_record_n(value, n);
            }
        }
    }
}

/// The non-empty buckets of a histogram, ascending: (a value in the bucket, in units; its
/// count). Recording each pair into a histogram of the same precision reproduces every
/// bucket exactly, so this is the whole histogram, sparse.
pub fn buckets(h: &Histogram<u64>) -> Vec<(u64, u64)> {
    h.iter_recorded()
        .map(|v| (v.value_iterated_to(), v.count_at_value()))
        .collect()
}

/// Adds sparse buckets ([`buckets`]) into `h` (which auto-resizes; a value beyond any
/// size is recorded saturating, so no count is lost).
pub fn add_buckets(h: &mut Histogram<u64>, pairs: &[(u64, u64)]) {
    for &(v, n) in pairs {
        if h.record_n(v, n).is_err() {
            h.saturating_record_n(v, n);
        }
    }
}

/// A histogram that (de)serialises with serde as its non-empty buckets,
/// `[[value, count], …]` (units: µs for time trends, value × 1000 otherwise). Sparse, so a
/// receiver can merge it without materialising a dense histogram per message
/// (`metrics::wire`).
#[derive(Clone, Debug)]
pub struct Hist(pub Histogram<u64>);

impl PartialEq for Hist {
    fn eq(&self, other: &Hist) -> bool {
        self.0 == other.0
    }
}

impl Serialize for Hist {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(None)?;
        for pair in self.0.iter_recorded() {
            seq.serialize_element(&(pair.value_iterated_to(), pair.count_at_value()))?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Hist {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Hist, D::Error> {
        let pairs = Vec::<(u64, u64)>::deserialize(d)?;
        let mut h = new_hist();
        add_buckets(&mut h, &pairs);
        Ok(Hist(h))
    }
}
