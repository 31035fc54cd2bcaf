//! A worker's shard: where every VU of one worker thread records its samples, with no
//! lock (the worker owns it, e.g. in an `Rc<RefCell<Shard>>`). Series are keyed by tags
//! then metric id; a one-entry cache makes the usual burst of samples with the same tags
//! (one request gives ~12) hash once. [`Shard::take`] hands out the delta since the last
//! take and keeps every series (and histogram size) allocated, so the hot path does not
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

/// One worker's samples since the last [`Shard::take`].
#[derive(Debug)]
pub struct Shard {
    reg: Arc<Registry>,
    sets: Vec<TagSet>,
    index: HashMap<Tags, usize>,
    last: Option<(Tags, usize)>,
}

impl Shard {
    pub fn new(reg: Arc<Registry>) -> Shard {
        Shard {
            reg,
            sets: Vec::new(),
            index: HashMap::new(),
            last: None,
        }
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.reg
    }

    /// A trend sample (ms for time trends). Non-finite values, and ids that are not a
    /// trend of this registry, are ignored.
    pub fn trend(&mut self, m: MetricId, tags: &Tags, value: f64) {
        if !value.is_finite() {
            return;
        }
        if let Some(Acc::Trend {
            hist,
            sum,
            min,
            max,
            is_time,
        }) = self.acc(m, tags, MetricKind::Trend)
        {
            if hist.is_empty() {
                (*min, *max) = (value, value);
            } else {
                *min = min.min(value);
                *max = max.max(value);
            }
            *sum += value;
            hist::record(hist, value, *is_time);
        }
    }

    /// Adds `n` to a counter (bytes for `data_*`).
    pub fn count(&mut self, m: MetricId, tags: &Tags, n: f64) {
        if !n.is_finite() {
            return;
        }
        if let Some(Acc::Counter { sum, touched }) = self.acc(m, tags, MetricKind::Counter) {
            *sum += n;
            *touched = true;
        }
    }

    /// A rate sample: `hit` is the "true" outcome (a failed request for `http_req_failed`,
    /// a passed check for `checks`).
    pub fn rate(&mut self, m: MetricId, tags: &Tags, hit: bool) {
        if let Some(Acc::Rate { hits, total }) = self.acc(m, tags, MetricKind::Rate) {
            *hits += u64::from(hit);
            *total += 1;
        }
    }

    /// Sets a gauge.
    pub fn gauge(&mut self, m: MetricId, tags: &Tags, value: f64) {
        if !value.is_finite() {
            return;
        }
        if let Some(Acc::Gauge {
            value: v,
            min,
            max,
            set,
        }) = self.acc(m, tags, MetricKind::Gauge)
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
        match self.reg.def(m).map(|d| d.kind) {
            Some(MetricKind::Trend) => self.trend(m, tags, value),
            Some(MetricKind::Counter) => self.count(m, tags, value),
            Some(MetricKind::Rate) => self.rate(m, tags, value != 0.0),
            Some(MetricKind::Gauge) => self.gauge(m, tags, value),
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
                        sum,
                        min,
                        max,
                        ..
                    } if !hist.is_empty() => {
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
        Snapshot { series }
    }

    /// The accumulator of (`m`, `tags`), created on first use; `None` when `m` is not a
    /// metric of kind `kind` in this registry.
    fn acc(&mut self, m: MetricId, tags: &Tags, kind: MetricKind) -> Option<&mut Acc> {
        let def = self.reg.def(m)?;
        if def.kind != kind {
            return None;
        }
        let is_time = def.is_time();
        let set = self.set_index(tags);
        let slot = self.sets.get_mut(set)?.slots.get_mut(usize::from(m.0))?;
        if slot.is_none() {
            *slot = Some(match kind {
                MetricKind::Trend => Acc::Trend {
                    hist: hist::new_hist(),
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

    fn set_index(&mut self, tags: &Tags) -> usize {
        if let Some((t, i)) = &self.last {
            if t == tags {
                return *i;
            }
        }
        let i = match self.index.get(tags) {
            Some(i) => *i,
            None => {
                let i = self.sets.len();
                self.sets.push(TagSet {
                    map: tags.to_map(),
                    slots: (0..self.reg.len()).map(|_| None).collect(),
                });
                self.index.insert(tags.clone(), i);
                i
            }
        };
        self.last = Some((tags.clone(), i));
        i
    }
}
