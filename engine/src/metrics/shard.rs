//! A worker's shard: where every VU of one worker thread records its samples, with no
//! lock (the worker owns it, e.g. in an `Rc<RefCell<Shard>>`). Series are keyed by tags
//! then metric id. A caller that records often under the same tags looks them up once
//! ([`Shard::series`], one hash of the tags) and records with the [`SeriesId`] it got
//! (`*_at`: an index, no hashing); the tag-taking methods do both. [`Shard::take`] hands
//! out the delta since the last take and keeps every series (and histogram size)
//! allocated, so series ids stay valid for the shard's life and the hot path does not
//! allocate in steady state. This module must not merge, evaluate or print.

use super::hist::{self, Hist};
use super::registry::{MetricId, Registry};
use super::snapshot::{SeriesData, SeriesSnapshot, Snapshot};
use super::tags::Tags;
use hdrhistogram::Histogram;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use volley_plan::plan::MetricKind;

/// The accumulator of one series between two takes.
#[derive(Debug)]
enum Acc {
    Trend {
        hist: Histogram<u64>,
        /// Samples of 0 units not yet in `hist` (added at the take): a request on a
        /// kept-alive connection has three or four phases of 0, and counting them here
        /// costs far less than a histogram record each.
        zeros: u64,
        sum: f64,
        min: f64,
        max: f64,
        is_time: bool,
    },
    Counter {
        sum: f64,
        touched: bool,
    },
    Rate {
        hits: u64,
        total: u64,
    },
    Gauge {
        value: f64,
        min: f64,
        max: f64,
        set: bool,
    },
}

#[derive(Debug)]
struct TagSet {
    map: BTreeMap<String, String>,
    slots: Vec<Option<Acc>>,
}

/// A tag set of one [`Shard`], from [`Shard::series`]; valid for that shard's life (an id
/// from another shard is ignored or lands on another series: do not mix shards).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeriesId(u32);

/// One worker's samples since the last [`Shard::take`].
#[derive(Debug)]
pub struct Shard {
    reg: Arc<Registry>,
    sets: Vec<TagSet>,
    index: HashMap<Tags, SeriesId>,
    /// Error codes this shard has seen (each one's first occurrence is sent once).
    errors_seen: Vec<u32>,
    first_errors: Vec<crate::errors::FirstError>,
}

impl Shard {
    pub fn new(reg: Arc<Registry>) -> Shard {
        Shard {
            reg,
            sets: Vec::new(),
            index: HashMap::new(),
            errors_seen: Vec::new(),
            first_errors: Vec::new(),
        }
    }

    /// Keeps the first occurrence of error `code` in this shard (`make` runs only then).
    pub fn first_error(&mut self, code: u32, make: impl FnOnce() -> crate::errors::FirstError) {
        if !self.errors_seen.contains(&code) {
            self.errors_seen.push(code);
            self.first_errors.push(make());
        }
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.reg
    }

    /// The series of `tags`, created on first use.
    pub fn series(&mut self, tags: &Tags) -> SeriesId {
        if let Some(s) = self.index.get(tags) {
            return *s;
        }
        let s = SeriesId(u32::try_from(self.sets.len()).unwrap_or(u32::MAX));
        self.sets.push(TagSet {
            map: tags.to_map(),
            slots: (0..self.reg.len()).map(|_| None).collect(),
        });
        self.index.insert(tags.clone(), s);
        s
    }

    /// A trend sample (ms for time trends). Non-finite values, and ids that are not a
    /// trend of this registry, are ignored.
    pub fn trend(&mut self, m: MetricId, tags: &Tags, value: f64) {
        let s = self.series(tags);
        self.trend_at(s, m, value);
    }

    /// [`Shard::trend`] in a series already looked up.
    pub fn trend_at(&mut self, s: SeriesId, m: MetricId, value: f64) {
        self.trends_at(s, &[(m, value)]);
    }

    /// Several trend samples in one series (the phases of a request), looked up once.
    pub fn trends_at(&mut self, s: SeriesId, samples: &[(MetricId, f64)]) {
        let Some(set) = self.sets.get_mut(s.0 as usize) else {
            return;
        };
        for &(m, value) in samples {
            if !value.is_finite() {
                continue;
            }
            if let Some(Acc::Trend {
                hist,
                zeros,
                sum,
                min,
                max,
                is_time,
            }) = acc_in(&self.reg, set, m, MetricKind::Trend)
            {
                if hist.is_empty() && *zeros == 0 {
                    (*min, *max) = (value, value);
                } else {
                    *min = min.min(value);
                    *max = max.max(value);
                }
                *sum += value;
                match hist::to_units(value, *is_time) {
                    0 => *zeros += 1,
                    u => hist::record_units(hist, u),
                }
            }
        }
    }

    /// Adds `n` to a counter (bytes for `data_*`).
    pub fn count(&mut self, m: MetricId, tags: &Tags, n: f64) {
        let s = self.series(tags);
        self.count_at(s, m, n);
    }

    /// [`Shard::count`] in a series already looked up.
    pub fn count_at(&mut self, s: SeriesId, m: MetricId, n: f64) {
        if !n.is_finite() {
            return;
        }
        if let Some(Acc::Counter { sum, touched }) = self.acc(m, s, MetricKind::Counter) {
            *sum += n;
            *touched = true;
        }
    }

    /// A rate sample: `hit` is the "true" outcome (a failed request for `http_req_failed`,
    /// a passed check for `checks`).
    pub fn rate(&mut self, m: MetricId, tags: &Tags, hit: bool) {
        let s = self.series(tags);
        self.rate_at(s, m, hit);
    }

    /// [`Shard::rate`] in a series already looked up.
    pub fn rate_at(&mut self, s: SeriesId, m: MetricId, hit: bool) {
        if let Some(Acc::Rate { hits, total }) = self.acc(m, s, MetricKind::Rate) {
            *hits += u64::from(hit);
            *total += 1;
        }
    }

    /// Sets a gauge.
    pub fn gauge(&mut self, m: MetricId, tags: &Tags, value: f64) {
        let s = self.series(tags);
        self.gauge_at(s, m, value);
    }

    /// [`Shard::gauge`] in a series already looked up.
    pub fn gauge_at(&mut self, s: SeriesId, m: MetricId, value: f64) {
        if !value.is_finite() {
            return;
        }
        if let Some(Acc::Gauge {
            value: v,
            min,
            max,
            set,
        }) = self.acc(m, s, MetricKind::Gauge)
        {
            if *set {
                *min = min.min(value);
                *max = max.max(value);
            } else {
                (*min, *max, *set) = (value, value, true);
            }
            *v = value;
        }
    }

    /// `METRIC.add(v)` for any kind: a trend sample, a counter increment, a rate sample
    /// (`v != 0` is a hit) or a gauge value.
    pub fn add(&mut self, m: MetricId, tags: &Tags, value: f64) {
        let s = self.series(tags);
        self.add_at(s, m, value);
    }

    /// [`Shard::add`] in a series already looked up.
    pub fn add_at(&mut self, s: SeriesId, m: MetricId, value: f64) {
        match self.reg.def(m).map(|d| d.kind) {
            Some(MetricKind::Trend) => self.trend_at(s, m, value),
            Some(MetricKind::Counter) => self.count_at(s, m, value),
            Some(MetricKind::Rate) => self.rate_at(s, m, value != 0.0),
            Some(MetricKind::Gauge) => self.gauge_at(s, m, value),
            None => {}
        }
    }

    /// The delta since the last take: every series with samples, then resets them (their
    /// allocations stay).
    pub fn take(&mut self) -> Snapshot {
        let mut series = Vec::new();
        for set in &mut self.sets {
            for (i, slot) in set.slots.iter_mut().enumerate() {
                let Some(acc) = slot else { continue };
                let data = match acc {
                    Acc::Trend {
                        hist,
                        zeros,
                        sum,
                        min,
                        max,
                        ..
                    } if !hist.is_empty() || *zeros > 0 => {
                        hist::record_zeros(hist, std::mem::take(zeros));
                        let fresh = hist::new_like(hist);
                        let data = SeriesData::Trend {
                            sum: *sum,
                            min: *min,
                            max: *max,
                            hist: Hist(std::mem::replace(hist, fresh)),
                        };
                        (*sum, *min, *max) = (0.0, 0.0, 0.0);
                        data
                    }
                    Acc::Counter { sum, touched } if *touched => {
                        let data = SeriesData::Counter { sum: *sum };
                        (*sum, *touched) = (0.0, false);
                        data
                    }
                    Acc::Rate { hits, total } if *total > 0 => {
                        let data = SeriesData::Rate {
                            hits: *hits,
                            total: *total,
                        };
                        (*hits, *total) = (0, 0);
                        data
                    }
                    Acc::Gauge {
                        value,
                        min,
                        max,
                        set,
                    } if *set => {
                        *set = false;
                        SeriesData::Gauge {
                            value: *value,
                            min: *min,
                            max: *max,
                        }
                    }
                    _ => continue,
                };
                let name = u16::try_from(i)
                    .ok()
                    .and_then(|i| self.reg.def(MetricId(i)))
                    .map(|d| d.name.clone())
                    .unwrap_or_default();
                series.push(SeriesSnapshot {
                    metric: name,
                    tags: set.map.clone(),
                    data,
                });
            }
        }
        Snapshot {
            series,
            first_errors: std::mem::take(&mut self.first_errors),
            end_ms: None,
        }
    }

    /// The accumulator of (`m`, `s`), created on first use; `None` when `m` is not a
    /// metric of kind `kind` in this registry (or `s` not a series of this shard).
    fn acc(&mut self, m: MetricId, s: SeriesId, kind: MetricKind) -> Option<&mut Acc> {
        let set = self.sets.get_mut(s.0 as usize)?;
        acc_in(&self.reg, set, m, kind)
    }
}

/// The accumulator of metric `m` in `set`, created on first use; `None` when `m` is not a
/// metric of kind `kind` in `reg`.
fn acc_in<'a>(
    reg: &Registry,
    set: &'a mut TagSet,
    m: MetricId,
    kind: MetricKind,
) -> Option<&'a mut Acc> {
    let def = reg.def(m)?;
    if def.kind != kind {
        return None;
    }
    let is_time = def.is_time();
    let slot = set.slots.get_mut(usize::from(m.0))?;
    if slot.is_none() {
        *slot = Some(match kind {
            MetricKind::Trend => Acc::Trend {
                hist: hist::new_hist(),
                zeros: 0,
                sum: 0.0,
                min: 0.0,
                max: 0.0,
                is_time,
            },
            MetricKind::Counter => Acc::Counter {
                sum: 0.0,
                touched: false,
            },
            MetricKind::Rate => Acc::Rate { hits: 0, total: 0 },
            MetricKind::Gauge => Acc::Gauge {
                value: 0.0,
                min: 0.0,
                max: 0.0,
                set: false,
            },
        });
    }
    slot.as_mut()
}
