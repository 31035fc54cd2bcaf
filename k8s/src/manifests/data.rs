//! The run's data as ConfigMaps: every data pack (`volley_plan::pack`: a source every
//! runner reads, or one runner's slice of a unique source) cut into parts of
//! `PART_BYTES` in `binaryData` (one part per ConfigMap for a shared pack; the runners'
//! slices packed together, several small ones to a ConfigMap), and the projected volume
//! that mounts them at [`DATA_DIR`]: the shared packs in every pod, the slices only in
//! the coordinator (which hands runner K its own). Pure.
//!
//! The arithmetic: a part is at most 720 KiB, 960 KiB in base64, which leaves 64 KiB of
//! the 1 MiB object limit for the key and metadata; a run may have at most
//! [`MAX_DATA_OBJECTS`] data ConfigMaps (about 360 MiB of compressed data).

use super::names::Names;
use super::ManifestError;
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapProjection, KeyToPath, PodSpec, ProjectedVolumeSource, Volume, VolumeMount,
    VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use std::collections::BTreeMap;
use volley_plan::pack::{self, PART_BYTES};
use volley_plan::slice::DataSlice;

/// Where every pod finds the data packs (`--data-dir`).
pub const DATA_DIR: &str = "/etc/volley/data";
pub use volley_plan::pack::{Share, MAX_DATA_OBJECTS};

/// One data ConfigMap: its name and the file (key) it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub config_map: String,
    pub key: String,
}

/// A data ConfigMap's files: key and bytes.
pub type Files = Vec<(String, Vec<u8>)>;

/// The data ConfigMaps of a run and what each role mounts.
#[derive(Clone, Debug, Default)]
pub struct DataObjects {
    /// Each ConfigMap and its keys (files): one part of a shared pack, or the parts of
    /// several runners' slices up to `PART_BYTES` together.
    pub maps: Vec<(ObjectMeta, Files)>,
    /// The ConfigMap that takes the next slice part while it has room (index in `maps`).
    open_slices: Option<usize>,
    /// Parts every pod mounts (sources every runner reads).
    pub shared: Vec<Part>,
    /// Parts only the coordinator mounts (the runners' slices).
    pub slices: Vec<Part>,
    /// Each pack's bytes before and after compression and its objects, for the
    /// arithmetic.
    pub shares: Vec<Share>,
}

impl DataObjects {
    /// A shared pack: one ConfigMap per part, named `meta`'s name and `-P`.
    fn add(&mut self, meta: ObjectMeta, stem: &str, bytes: &[u8]) -> u64 {
        for (p, part) in pack::parts(bytes).into_iter().enumerate() {
            let key = pack::part_name(stem, p as u32);
            let mut m = meta.clone();
            let name = format!("{}-{p}", m.name.clone().unwrap_or_default());
            m.name = Some(name.clone());
            self.shared.push(Part {
                config_map: name,
                key: key.clone(),
            });
            self.maps.push((m, vec![(key, part.to_vec())]));
        }
        pack::parts(bytes).len() as u64
    }

    /// A runner's slice pack: its parts go into the open slices ConfigMap while the
    /// parts there stay within `PART_BYTES`, else into a new one made by `meta_of(n)`
    /// (n counts the slices ConfigMaps). Only the coordinator mounts them, so runners
    /// sharing a ConfigMap never see each other's rows.
    fn add_slice(&mut self, meta_of: &dyn Fn(u32) -> ObjectMeta, stem: &str, bytes: &[u8]) -> u64 {
        for (p, part) in pack::parts(bytes).into_iter().enumerate() {
            let key = pack::part_name(stem, p as u32);
            let room = self
                .open_slices
                .and_then(|i| self.maps.get(i))
                .is_some_and(|(_, keys)| {
                    keys.iter().map(|(_, b)| b.len()).sum::<usize>() + part.len() <= PART_BYTES
                });
            if !room {
                let n = self
                    .slices
                    .iter()
                    .map(|s| &s.config_map)
                    .collect::<std::collections::BTreeSet<_>>()
                    .len();
                self.maps.push((meta_of(n as u32), Vec::new()));
                self.open_slices = Some(self.maps.len() - 1);
            }
            let Some((meta, keys)) = self.open_slices.and_then(|i| self.maps.get_mut(i)) else {
                continue;
            };
            keys.push((key.clone(), part.to_vec()));
            self.slices.push(Part {
                config_map: meta.name.clone().unwrap_or_default(),
                key,
            });
        }
        pack::parts(bytes).len() as u64
    }

    /// Whether the coordinator needs `--data-dir`.
    pub fn any(&self) -> bool {
        !self.maps.is_empty()
    }

    /// The ConfigMaps, or the size arithmetic when there are too many.
    pub fn into_config_maps(self) -> Result<Vec<ConfigMap>, ManifestError> {
        if self.maps.len() > MAX_DATA_OBJECTS {
            return Err(ManifestError::DataTooLarge {
                shares: self.shares,
                objects: self.maps.len(),
            });
        }
        Ok(self
            .maps
            .into_iter()
            .map(|(meta, keys)| {
                let binary: BTreeMap<String, ByteString> =
                    keys.into_iter().map(|(k, b)| (k, ByteString(b))).collect();
                ConfigMap {
                    metadata: meta,
                    binary_data: Some(binary),
                    immutable: Some(true),
                    ..Default::default()
                }
            })
            .collect())
    }
}

/// The packs of the shared sources (`(source index, pack)` of
/// `volley_plan::pack::externalise`, only those still packed in the fleet plan) and of
/// every runner's slice, as data ConfigMaps named by `meta(name, component)`.
pub fn objects(
    fleet_plan: &volley_plan::Plan,
    shared: &[(usize, Vec<u8>)],
    slices: &[DataSlice],
    names: &Names,
    meta: &dyn Fn(String, &str) -> ObjectMeta,
) -> DataObjects {
    let mut out = DataObjects::default();
    for (i, bytes) in shared {
        let Some(d) = fleet_plan.data.get(*i).filter(|d| d.pack.is_some()) else {
            continue;
        };
        let m = meta(names.data(*i as u32), "data");
        let objects = out.add(m, &pack::source_stem(&d.name), bytes);
        out.shares.push(Share {
            sources: vec![d.name.clone()],
            sliced: false,
            rows: d.pack.as_ref().map_or(0, |r| r.rows),
            raw_bytes: d.pack.as_ref().map_or(0, |r| r.raw_bytes),
            packed_bytes: bytes.len() as u64,
            objects,
        });
    }
    let mut sliced = Share {
        sources: fleet_plan
            .data
            .iter()
            .filter(|d| d.slice.is_some())
            .map(|d| d.name.clone())
            .collect(),
        sliced: true,
        rows: 0,
        raw_bytes: 0,
        packed_bytes: 0,
        objects: 0,
    };
    for s in slices {
        let bytes = pack::encode_slice(s);
        sliced.raw_bytes += s
            .sources
            .values()
            .map(|r| pack::raw_len(&r.rows))
            .sum::<u64>();
        sliced.packed_bytes += bytes.len() as u64;
        sliced.rows += s.sources.values().map(|r| r.rows.len() as u64).sum::<u64>();
        let meta_of = |n: u32| meta(names.slices(n), "data");
        sliced.objects += out.add_slice(&meta_of, &pack::slice_stem(s.segment.index), &bytes);
    }
    if !slices.is_empty() {
        out.shares.push(sliced);
    }
    out
}

/// The memory a runner needs to hold `rows` rows whose packed payload is `raw_bytes`:
/// measured, about 3 KiB a row (the plan's record and the engine's copy of it) plus 6 times
/// the payload (a 50 MB CSV of 100,000 rows took 656 MB in a runner).
pub fn runner_memory(rows: u64, raw_bytes: u64) -> u64 {
    rows.saturating_mul(3 * 1024)
        .saturating_add(raw_bytes.saturating_mul(6))
}

/// A note when the data one runner holds may take over half of `fleet.resources.memory`
/// (the other half is for its VUs): every shared source, and its own slice (the slices'
/// average) of the unique ones.
pub fn memory_note(shares: &[Share], runners: u32, memory_bytes: u64) -> Option<String> {
    let n = u64::from(runners.max(1));
    let (rows, raw) = shares.iter().fold((0u64, 0u64), |(r, b), s| {
        if s.sliced {
            (r + s.rows / n, b + s.raw_bytes / n)
        } else {
            (r + s.rows, b + s.raw_bytes)
        }
    });
    let need = runner_memory(rows, raw);
    if need <= memory_bytes / 2 {
        return None;
    }
    let mib = |b: u64| b.div_ceil(1 << 20);
    Some(format!(
        "each runner holds the data it reads in memory: about {} MiB ({rows} rows of {} MiB: \
         about 3 KiB a row plus 6 times their size), over half of fleet.resources.memory ({} \
         MiB): raise `fleet.resources.memory`, or use `pick: unique` so that each runner holds \
         only its rows",
        mib(need),
        mib(raw),
        mib(memory_bytes)
    ))
}

/// Mounts `parts` read-only at [`DATA_DIR`] in the pod's first container (one projected
/// volume, each ConfigMap's key at its own file name). No parts, no volume.
pub fn mount(spec: &mut PodSpec, parts: &[&Part]) {
    if parts.is_empty() {
        return;
    }
    let sources = parts
        .iter()
        .map(|p| VolumeProjection {
            config_map: Some(ConfigMapProjection {
                name: p.config_map.clone(),
                items: Some(vec![KeyToPath {
                    key: p.key.clone(),
                    path: p.key.clone(),
                    ..Default::default()
                }]),
                optional: Some(false),
            }),
            ..Default::default()
        })
        .collect();
    spec.volumes.get_or_insert_with(Vec::new).push(Volume {
        name: "data".into(),
        projected: Some(ProjectedVolumeSource {
            sources: Some(sources),
            ..Default::default()
        }),
        ..Default::default()
    });
    if let Some(c) = spec.containers.first_mut() {
        c.volume_mounts
            .get_or_insert_with(Vec::new)
            .push(VolumeMount {
                name: "data".into(),
                mount_path: DATA_DIR.into(),
                read_only: Some(true),
                ..Default::default()
            });
        if let Some(args) = c.args.as_mut() {
            args.extend(["--data-dir".into(), DATA_DIR.into()]);
        }
    }
}

/// The most compressed bytes one run's data may have: every data ConfigMap full.
pub fn max_packed_bytes() -> u64 {
    (MAX_DATA_OBJECTS * PART_BYTES) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_objects_is_the_size_arithmetic() {
        let mut d = DataObjects::default();
        for i in 0..=MAX_DATA_OBJECTS {
            let meta = ObjectMeta {
                name: Some(format!("r-data-{i}")),
                ..Default::default()
            };
            d.add(meta, "data-users", &[1, 2, 3]);
        }
        d.shares.push(Share {
            sources: vec!["users".into()],
            sliced: false,
            rows: 1,
            raw_bytes: 500 << 20,
            packed_bytes: 370 << 20,
            objects: 514,
        });
        let e = d.into_config_maps().unwrap_err().to_string();
        for part in [
            "`users`: 500.00 MiB of rows, 370.00 MiB compressed, 514 ConfigMaps",
            "720 KiB per ConfigMap",
            "1.00 MiB object limit",
            "513 ConfigMaps",
            "limit of 512 (360.00 MiB compressed)",
            "fewer or smaller data files",
        ] {
            assert!(e.contains(part), "{part}: {e}");
        }
        let mut d = DataObjects::default();
        d.add(ObjectMeta::default(), "data-users", &[1, 2, 3]);
        assert_eq!(d.into_config_maps().unwrap().len(), 1);
    }

    #[test]
    fn a_note_when_the_data_may_not_fit_a_runner() {
        let share = |sliced, rows, raw_bytes| Share {
            sources: vec!["users".into()],
            sliced,
            rows,
            raw_bytes,
            packed_bytes: raw_bytes / 2,
            objects: 1,
        };
        let mem = 512 << 20;
        // The big-data test's file: 100,000 rows, 55 MB of payload.
        let big = share(false, 100_000, 55_000_000);
        let note = memory_note(std::slice::from_ref(&big), 10, mem).unwrap();
        assert!(
            note.contains("about 608 MiB") && note.contains("512 MiB"),
            "{note}"
        );
        assert!(memory_note(std::slice::from_ref(&big), 10, 2048 << 20).is_none());
        // Unique over 10 runners: each holds a tenth.
        assert!(memory_note(&[share(true, 100_000, 55_000_000)], 10, mem).is_none());
        assert!(memory_note(&[share(false, 1000, 100_000)], 1, mem).is_none());
    }
}
