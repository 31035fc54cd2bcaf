//! Data packs read from a directory (`--data-dir`: the ConfigMaps' `binaryData` as the
//! kubelet mounts them): a shared source's rows (`data-NAME-P.pack`, every pod) and the
//! runners' slices (`slice-K-P.pack`, the coordinator only). Every part is bounded by
//! `volley_plan::pack::PART_BYTES`; a missing, oversized, truncated or altered part is an
//! error naming the file, never a panic. The formats are in `volley_plan::pack`.

use std::io::Read;
use std::path::{Path, PathBuf};
use volley_plan::pack::{self, PackError, PART_BYTES};
use volley_plan::Plan;

/// Why the data of a directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("cannot read data file `{file}`: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("data file `{file}` is {bytes} bytes, over the {PART_BYTES}-byte part size: not a part volley wrote")]
    Oversized { file: String, bytes: u64 },
    #[error("data file `{file}`{more}: {source}")]
    Pack {
        file: String,
        /// ` (and its N other parts)` for a pack of several files.
        more: String,
        #[source]
        source: PackError,
    },
}

impl DataDirError {
    fn pack(dir: &Path, stem: &str, parts: u32, source: PackError) -> DataDirError {
        DataDirError::Pack {
            file: path_of(dir, stem, 0),
            more: match parts {
                0 | 1 => String::new(),
                n => format!(" (and its {} other parts)", n - 1),
            },
            source,
        }
    }
}

fn path_of(dir: &Path, stem: &str, p: u32) -> String {
    dir.join(pack::part_name(stem, p)).display().to_string()
}

fn read_part(path: &PathBuf) -> Result<Vec<u8>, DataDirError> {
    let file = path.display().to_string();
    let io = |source| DataDirError::Io {
        file: file.clone(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(PART_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > PART_BYTES {
        return Err(DataDirError::Oversized {
            file,
            bytes: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

/// The pack `stem` in `dir`: parts `0..parts`, or, when the count is not known (a slice),
/// every part from 0 up to the first missing one.
pub fn read_pack(dir: &Path, stem: &str, parts: Option<u32>) -> Result<Vec<u8>, DataDirError> {
    let mut out = Vec::new();
    let mut p = 0u32;
    loop {
        if parts.is_some_and(|n| p >= n) {
            break;
        }
        let path = dir.join(pack::part_name(stem, p));
        if parts.is_none() && p > 0 && !path.exists() {
            break;
        }
        out.extend(read_part(&path)?);
        p += 1;
    }
    Ok(out)
}

/// Whether `plan` has data that is in packs rather than in the plan.
pub fn needs_packs(plan: &Plan) -> bool {
    plan.data
        .iter()
        .any(|d| d.pack.is_some() && d.rows.is_empty())
}

/// Fills every packed source's rows from its pack in `dir`, checked against the plan's
/// reference (hash and row count).
pub fn fill(plan: &mut Plan, dir: &Path) -> Result<(), DataDirError> {
    for d in plan.data.iter_mut() {
        let Some(r) = d.pack.as_ref().filter(|_| d.rows.is_empty()) else {
            continue;
        };
        let stem = pack::source_stem(&d.name);
        let bytes = read_pack(dir, &stem, Some(r.parts))?;
        d.rows =
            pack::decode_rows(&bytes, r).map_err(|e| DataDirError::pack(dir, &stem, r.parts, e))?;
    }
    Ok(())
}

/// Every runner's slice pack (`slice-K-*.pack`, K below `runners`), each checked (hash,
/// kind) but not decoded: the coordinator hands them over as they are.
pub fn slices(dir: &Path, runners: u32) -> Result<Vec<Vec<u8>>, DataDirError> {
    (0..runners)
        .map(|k| {
            let stem = pack::slice_stem(k);
            let bytes = read_pack(dir, &stem, None)?;
            let parts = pack::parts_needed(bytes.len() as u64) as u32;
            pack::verify_slice(&bytes).map_err(|e| DataDirError::pack(dir, &stem, parts, e))?;
            Ok(bytes)
        })
        .collect()
}

/// One runner's slice from a pack file (`volley runner --data FILE`).
pub fn slice_file(path: &Path) -> Result<volley_plan::slice::DataSlice, DataDirError> {
    let mut bytes = Vec::new();
    let file = path.display().to_string();
    let io = |source| DataDirError::Io {
        file: file.clone(),
        source,
    };
    std::fs::File::open(path)
        .map_err(io)?
        .take(pack::MAX_RAW_BYTES)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    pack::decode_slice(&bytes).map_err(|source| DataDirError::Pack {
        file,
        more: String::new(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use volley_plan::{DataFormat, DataSource, Pick, Value};

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("volley-datadir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn source(rows: usize) -> DataSource {
        DataSource {
            name: "users".into(),
            format: DataFormat::Lines,
            path: "u.txt".into(),
            pick: Pick::Random,
            columns: vec![],
            // Incompressible enough to need several parts.
            rows: (0..rows)
                .map(|i| {
                    Value::Str(format!(
                        "{:x}",
                        (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    ))
                })
                .collect(),
            slice: None,
            pack: None,
        }
    }

    fn plan_with(data: Vec<DataSource>) -> Plan {
        use volley_plan::{Fleet, HttpOptions, Scenario, Start, Workload};
        Plan {
            version: volley_plan::PLAN_VERSION,
            name: "t".into(),
            params: Default::default(),
            targets: vec![],
            secrets: vec![],
            data,
            metrics: vec![],
            flows: vec![],
            setup: None,
            setup_values: vec![],
            teardown: None,
            scenarios: vec![Scenario {
                name: "s".into(),
                workload: Workload::ConstantVus {
                    vus: 40,
                    duration_ms: 1000,
                },
                start: Start::Immediately,
                graceful_stop_ms: 0,
                tags: Default::default(),
                http: HttpOptions::default(),
                frame_size: 0,
                init: vec![],
                iteration: vec![],
            }],
            thresholds: vec![],
            fleet: Fleet::default(),
            files: Vec::new(),
            protos: Vec::new(),
        }
    }

    fn write_pack(d: &Path, stem: &str, bytes: &[u8]) {
        for (p, part) in pack::parts(bytes).into_iter().enumerate() {
            std::fs::write(d.join(pack::part_name(stem, p as u32)), part).unwrap();
        }
    }

    #[test]
    fn a_pack_in_parts_fills_the_rows() {
        let d = dir("fill");
        let mut s = source(120_000);
        let (bytes, r) = pack::encode_rows(&s.rows);
        assert!(r.parts >= 2, "several parts: {r:?}");
        write_pack(&d, "data-users", &bytes);
        let rows = std::mem::take(&mut s.rows);
        s.pack = Some(r);
        let mut plan = plan_with(vec![s]);
        assert!(needs_packs(&plan));
        fill(&mut plan, &d).unwrap();
        assert_eq!(plan.data[0].rows, rows);
        assert!(!needs_packs(&plan));
    }

    #[test]
    fn a_truncated_or_missing_part_names_the_file() {
        let d = dir("bad");
        let mut s = source(120_000);
        let (bytes, r) = pack::encode_rows(&s.rows);
        s.rows.clear();
        s.pack = Some(r.clone());
        let plan = plan_with(vec![s]);
        write_pack(&d, "data-users", &bytes);
        // The last part cut short.
        let last = d.join(pack::part_name("data-users", r.parts - 1));
        let len = std::fs::metadata(&last).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&last)
            .unwrap()
            .set_len(len / 2)
            .unwrap();
        let e = fill(&mut plan.clone(), &d).unwrap_err().to_string();
        assert!(
            e.contains("data-users-0.pack") && e.contains("corrupted"),
            "{e}"
        );
        assert!(e.contains("other parts"), "{e}");
        std::fs::remove_file(&last).unwrap();
        let e = fill(&mut plan.clone(), &d).unwrap_err().to_string();
        assert!(
            e.contains(&format!("data-users-{}.pack", r.parts - 1)),
            "{e}"
        );
        // An oversized part is refused before it is read whole.
        std::fs::write(&last, vec![0u8; PART_BYTES + 10]).unwrap();
        let e = fill(&mut plan.clone(), &d).unwrap_err().to_string();
        assert!(e.contains("over the"), "{e}");
    }

    #[test]
    fn slices_are_read_and_checked() {
        let d = dir("slices");
        let mut s = source(40);
        s.pick = Pick::Unique;
        let plan = plan_with(vec![s]);
        let (_, slices) = volley_plan::slice::split(&plan, 2);
        for sl in &slices {
            write_pack(
                &d,
                &pack::slice_stem(sl.segment.index),
                &pack::encode_slice(sl),
            );
        }
        let packs = super::slices(&d, 2).unwrap();
        assert_eq!(pack::decode_slice(&packs[1]).unwrap(), slices[1]);
        let file = d.join("slice-1-0.pack");
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[60] ^= 0xff;
        std::fs::write(&file, &bytes).unwrap();
        let e = super::slices(&d, 2).unwrap_err().to_string();
        assert!(
            e.contains("slice-1-0.pack") && e.contains("corrupted"),
            "{e}"
        );
        let e = super::slices(&d, 3).unwrap_err().to_string();
        assert!(e.contains("slice-"), "{e}");
        let e = slice_file(&file).unwrap_err().to_string();
        assert!(e.contains("slice-1-0.pack"), "{e}");
        assert_eq!(slice_file(&d.join("slice-0-0.pack")).unwrap(), slices[0]);
    }
}
