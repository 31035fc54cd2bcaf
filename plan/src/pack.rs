//! Data packs: a data source's rows, or one runner's data slice, in a compact binary form
//! that travels outside the plan (ConfigMaps' `binaryData`, split into parts, mounted as
//! files). The plan keeps only a [`PackRef`] (content hash, sizes, row count, parts).
//!
//! A pack is `VOLLEYD` and the format version (8 bytes), the SHA-256 of the rest (32
//! bytes), the kind (1 byte: rows or slice), the payload's length before compression
//! (8 bytes, little endian), then the payload compressed with deflate. The payload is
//! length-prefixed rows: the columns once (the keys of the first record row), then each
//! row as its cells in column order, each cell a tag byte and its value (integers as
//! zigzag varints, strings and JSON as a varint length and UTF-8). A slice's payload
//! adds its plan hash, segment and, per source, the delta-coded global row indices.
//!
//! Reading never trusts the bytes: the hash is checked before decompressing, the
//! decompressed length is bounded by [`MAX_RAW_BYTES`] and must match the header, every
//! count is bounded by the bytes left, nesting by [`MAX_DEPTH`]. Pure: no IO.

use crate::segment::Segment;
use crate::slice::{DataSlice, SlicedRows};
use crate::{Plan, Value};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{Read, Write};

/// The first bytes of every pack; the last one is the format version.
pub const MAGIC: &[u8; 8] = b"VOLLEYD\x01";
/// Magic, hash, kind and raw length.
pub const HEADER_BYTES: usize = 8 + 32 + 1 + 8;
/// The most bytes of one part: one part per ConfigMap, whose `binaryData` is base64
/// (4/3 of this is 960 KiB), which leaves 64 KiB of the 1 MiB object limit for the
/// key, metadata and YAML.
pub const PART_BYTES: usize = 720 * 1024;
/// The largest payload a pack may claim before compression (a bound on a hostile file).
pub const MAX_RAW_BYTES: u64 = 1 << 30;
/// How deep lists, records and JSON may nest in a cell.
pub const MAX_DEPTH: usize = 64;
/// The most data objects (ConfigMaps of one part each) a run on Kubernetes may have:
/// about 360 MiB of compressed data, and one object per runner's slice at least.
pub const MAX_DATA_OBJECTS: usize = 512;

/// One pack's part of a run's data objects: the sources it holds (one shared source, or
/// the sliced sources of every runner's slice), its size before and after compression,
/// and the objects (parts) it takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    pub sources: Vec<String>,
    /// Whether these are the runners' slices (one pack per runner).
    pub sliced: bool,
    pub rows: u64,
    pub raw_bytes: u64,
    pub packed_bytes: u64,
    pub objects: u64,
}

const KIND_ROWS: u8 = 1;
const KIND_SLICE: u8 = 2;

/// Where a data source's rows are, when they are not in the plan: a pack of
/// [`PackRef::parts`] files (`<stem>-0.pack`, `<stem>-1.pack`, …, see [`part_name`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackRef {
    /// `sha256:` and the hex digest of the pack after its hash field.
    pub hash: String,
    /// The pack's size in bytes (compressed, with its header).
    pub bytes: u64,
    /// The payload's size before compression.
    pub raw_bytes: u64,
    pub rows: u64,
    pub parts: u32,
}

/// Why a pack cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    #[error("truncated: {found} bytes, fewer than the {HEADER_BYTES}-byte header")]
    Short { found: usize },
    #[error("not a volley data pack (it does not start with `VOLLEYD`)")]
    Magic,
    #[error("data pack format version {0} is not supported (this volley reads version 1)")]
    Version(u8),
    #[error("corrupted: its content hash is {found}, not {expected} (truncated or altered)")]
    Hash { expected: String, found: String },
    #[error("it holds {found}, not {expected}")]
    Kind {
        expected: &'static str,
        found: &'static str,
    },
    #[error("bad compression: {0}")]
    Compression(String),
    #[error("malformed rows: {0}")]
    Malformed(String),
    #[error("it holds {found} rows, the plan says {expected}")]
    Rows { expected: u64, found: u64 },
}

/// The file (and ConfigMap key) of part `p` of the pack named `stem`.
pub fn part_name(stem: &str, p: u32) -> String {
    format!("{stem}-{p}.pack")
}

/// The stem of a shared source's pack.
pub fn source_stem(name: &str) -> String {
    format!("data-{name}")
}

/// The stem of runner `k`'s slice pack.
pub fn slice_stem(k: u32) -> String {
    format!("slice-{k}")
}

/// A pack cut into parts of at most [`PART_BYTES`] (one part for an empty pack).
pub fn parts(pack: &[u8]) -> Vec<&[u8]> {
    if pack.is_empty() {
        return vec![pack];
    }
    pack.chunks(PART_BYTES).collect()
}

/// How many parts a pack of `bytes` bytes takes.
pub fn parts_needed(bytes: u64) -> u64 {
    bytes.div_ceil(PART_BYTES as u64).max(1)
}

// ---- writing ----

struct Writer(Vec<u8>);

impl Writer {
    fn varint(&mut self, mut n: u64) {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.0.push(b);
                return;
            }
            self.0.push(b | 0x80);
        }
    }
    fn str(&mut self, s: &str) {
        self.varint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn f64(&mut self, tag: u8, f: f64) {
        self.0.push(tag);
        self.0.extend_from_slice(&f.to_le_bytes());
    }
    fn value(&mut self, v: &Value) {
        match v {
            Value::Null => self.0.push(0),
            Value::Bool(b) => self.0.push(1 + u8::from(*b)),
            Value::Int(i) => {
                self.0.push(3);
                self.varint(((*i << 1) ^ (*i >> 63)) as u64);
            }
            Value::Float(f) => self.f64(4, *f),
            Value::Str(s) => {
                self.0.push(5);
                self.str(s);
            }
            Value::Duration(f) => self.f64(6, *f),
            Value::Size(f) => self.f64(7, *f),
            Value::Percent(f) => self.f64(8, *f),
            Value::List(items) => {
                self.0.push(9);
                self.varint(items.len() as u64);
                items.iter().for_each(|i| self.value(i));
            }
            Value::Record(fields) => {
                self.0.push(10);
                self.varint(fields.len() as u64);
                for (k, v) in fields {
                    self.str(k);
                    self.value(v);
                }
            }
            Value::Json(j) => {
                self.0.push(11);
                self.str(&j.to_string());
            }
        }
    }
    /// The columns (the first record row's keys), then each row: 0 and its cells in
    /// column order when it is a record of exactly those columns, else 1 and the value.
    fn table(&mut self, rows: &[Value]) {
        let columns: Vec<&String> = match rows.first() {
            Some(Value::Record(r)) => r.keys().collect(),
            _ => Vec::new(),
        };
        self.varint(columns.len() as u64);
        columns.iter().for_each(|c| self.str(c));
        self.varint(rows.len() as u64);
        for row in rows {
            match row {
                Value::Record(r)
                    if !columns.is_empty()
                        && r.len() == columns.len()
                        && r.keys().zip(&columns).all(|(a, b)| a == *b) =>
                {
                    self.0.push(0);
                    r.values().for_each(|v| self.value(v));
                }
                other => {
                    self.0.push(1);
                    self.value(other);
                }
            }
        }
    }
}

#[allow(
    clippy::expect_used,
    reason = "deflate into a Vec cannot fail: writing to memory has no IO error"
)]
fn seal(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
    z.write_all(payload).expect("deflate into memory");
    let body = z.finish().expect("deflate into memory");
    let mut rest = Vec::with_capacity(9 + body.len());
    rest.push(kind);
    rest.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    rest.extend_from_slice(&body);
    let mut out = Vec::with_capacity(HEADER_BYTES + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&Sha256::digest(&rest));
    out.extend_from_slice(&rest);
    out
}

fn hex_hash(digest: &[u8]) -> String {
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The uncompressed size of `rows` as a pack's payload (cheap: no compression).
pub fn raw_len(rows: &[Value]) -> u64 {
    let mut w = Writer(Vec::new());
    w.table(rows);
    w.0.len() as u64
}

/// `rows` as a pack, and its reference.
pub fn encode_rows(rows: &[Value]) -> (Vec<u8>, PackRef) {
    let mut w = Writer(Vec::new());
    w.table(rows);
    let pack = seal(KIND_ROWS, &w.0);
    let r = PackRef {
        hash: hex_hash(&pack[8..40]),
        bytes: pack.len() as u64,
        raw_bytes: w.0.len() as u64,
        rows: rows.len() as u64,
        parts: parts_needed(pack.len() as u64) as u32,
    };
    (pack, r)
}

/// One runner's data slice as a pack.
pub fn encode_slice(slice: &DataSlice) -> Vec<u8> {
    let mut w = Writer(Vec::new());
    w.varint(u64::from(slice.version));
    w.str(&slice.plan_hash);
    let s = slice.segment;
    [s.index, s.count, s.part, s.parts]
        .into_iter()
        .for_each(|n| w.varint(u64::from(n)));
    w.varint(slice.sources.len() as u64);
    for (name, rows) in &slice.sources {
        w.str(name);
        w.varint(rows.indices.len() as u64);
        let mut last = 0u64;
        for &g in &rows.indices {
            w.varint(g.wrapping_sub(last));
            last = g;
        }
        w.table(&rows.rows);
    }
    seal(KIND_SLICE, &w.0)
}

/// `plan` without any data rows: every other field cloned, so a large data file is never
/// copied to make a plan whose rows travel in packs.
pub fn without_rows(plan: &Plan) -> Plan {
    Plan {
        version: plan.version,
        name: plan.name.clone(),
        params: plan.params.clone(),
        targets: plan.targets.clone(),
        secrets: plan.secrets.clone(),
        data: plan
            .data
            .iter()
            .map(|d| crate::DataSource {
                name: d.name.clone(),
                format: d.format,
                path: d.path.clone(),
                pick: d.pick,
                columns: d.columns.clone(),
                rows: Vec::new(),
                slice: d.slice.clone(),
                pack: d.pack.clone(),
            })
            .collect(),
        metrics: plan.metrics.clone(),
        flows: plan.flows.clone(),
        setup: plan.setup.clone(),
        setup_values: plan.setup_values.clone(),
        teardown: plan.teardown.clone(),
        scenarios: plan.scenarios.clone(),
        thresholds: plan.thresholds.clone(),
        fleet: plan.fleet.clone(),
        files: plan.files.clone(),
        protos: plan.protos.clone(),
    }
}

/// `plan` with every source's rows in a pack: the plan (no rows, each source's
/// [`PackRef`]) and the packs by source index. `plan` itself is not copied.
pub fn packed(plan: &Plan) -> (Plan, Vec<(usize, Vec<u8>)>) {
    let mut out = without_rows(plan);
    let mut packs = Vec::new();
    for (i, (d, src)) in out.data.iter_mut().zip(&plan.data).enumerate() {
        if d.pack.is_some() || d.slice.is_some() {
            continue;
        }
        let (pack, r) = encode_rows(&src.rows);
        d.pack = Some(r);
        packs.push((i, pack));
    }
    (out, packs)
}

/// Gives every source with rows a [`PackRef`] and returns its pack, by source index.
/// The rows stay in memory; a packed source's rows are left out of `plan.json` and of
/// the content hash, whose reference holds theirs. Sources already packed are skipped.
pub fn externalise(plan: &mut Plan) -> Vec<(usize, Vec<u8>)> {
    let mut out = Vec::new();
    for (i, d) in plan.data.iter_mut().enumerate() {
        if d.pack.is_some() || d.slice.is_some() {
            continue;
        }
        let (pack, r) = encode_rows(&d.rows);
        d.pack = Some(r);
        out.push((i, pack));
    }
    out
}

// ---- reading ----

struct Reader<'a> {
    b: &'a [u8],
}

fn bad(why: impl Into<String>) -> PackError {
    PackError::Malformed(why.into())
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, PackError> {
        let (&b, rest) = self.b.split_first().ok_or_else(|| bad("it ends early"))?;
        self.b = rest;
        Ok(b)
    }
    fn take(&mut self, n: u64) -> Result<&'a [u8], PackError> {
        if n > self.b.len() as u64 {
            return Err(bad("a length runs past the end"));
        }
        let (head, rest) = self.b.split_at(n as usize);
        self.b = rest;
        Ok(head)
    }
    fn varint(&mut self) -> Result<u64, PackError> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(bad("an integer is too long"))
    }
    /// A count of items that each take at least one byte.
    fn count(&mut self) -> Result<usize, PackError> {
        let n = self.varint()?;
        if n > self.b.len() as u64 {
            return Err(bad("a count exceeds the bytes left"));
        }
        Ok(n as usize)
    }
    fn u32(&mut self) -> Result<u32, PackError> {
        u32::try_from(self.varint()?).map_err(|_| bad("a number is out of range"))
    }
    fn str(&mut self) -> Result<String, PackError> {
        let n = self.varint()?;
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| bad("a string is not UTF-8"))
    }
    fn f64(&mut self) -> Result<f64, PackError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }
    fn value(&mut self, depth: usize) -> Result<Value, PackError> {
        if depth > MAX_DEPTH {
            return Err(bad(format!("cells nest deeper than {MAX_DEPTH}")));
        }
        Ok(match self.byte()? {
            0 => Value::Null,
            1 => Value::Bool(false),
            2 => Value::Bool(true),
            3 => {
                let z = self.varint()?;
                Value::Int(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            4 => Value::Float(self.f64()?),
            5 => Value::Str(self.str()?),
            6 => Value::Duration(self.f64()?),
            7 => Value::Size(self.f64()?),
            8 => Value::Percent(self.f64()?),
            9 => {
                let n = self.count()?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value(depth + 1)?);
                }
                Value::List(items)
            }
            10 => {
                let n = self.count()?;
                let mut fields = BTreeMap::new();
                for _ in 0..n {
                    let k = self.str()?;
                    fields.insert(k, self.value(depth + 1)?);
                }
                Value::Record(fields)
            }
            11 => {
                let text = self.str()?;
                Value::Json(
                    serde_json::from_str(&text).map_err(|e| bad(format!("a JSON cell: {e}")))?,
                )
            }
            t => return Err(bad(format!("unknown cell tag {t}"))),
        })
    }
    fn table(&mut self) -> Result<Vec<Value>, PackError> {
        let ncols = self.count()?;
        let columns = (0..ncols)
            .map(|_| self.str())
            .collect::<Result<Vec<_>, _>>()?;
        let n = self.count()?;
        let mut rows = Vec::with_capacity(n);
        for _ in 0..n {
            let row = match self.byte()? {
                0 if !columns.is_empty() => {
                    let mut rec = BTreeMap::new();
                    for c in &columns {
                        rec.insert(c.clone(), self.value(1)?);
                    }
                    Value::Record(rec)
                }
                1 => self.value(0)?,
                t => return Err(bad(format!("unknown row tag {t}"))),
            };
            rows.push(row);
        }
        Ok(rows)
    }
}

/// Checks a pack's header and hash and decompresses its payload; returns the kind and
/// the payload.
fn open(pack: &[u8], expected_hash: Option<&str>) -> Result<(u8, Vec<u8>), PackError> {
    if pack.len() < HEADER_BYTES {
        if pack.len() >= 7 && pack[..7] != MAGIC[..7] {
            return Err(PackError::Magic);
        }
        return Err(PackError::Short { found: pack.len() });
    }
    if pack[..7] != MAGIC[..7] {
        return Err(PackError::Magic);
    }
    if pack[7] != MAGIC[7] {
        return Err(PackError::Version(pack[7]));
    }
    let rest = &pack[40..];
    let found = hex_hash(&Sha256::digest(rest));
    let stored = hex_hash(&pack[8..40]);
    for expected in [Some(stored.as_str()), expected_hash].into_iter().flatten() {
        if found != expected {
            return Err(PackError::Hash {
                expected: expected.to_string(),
                found,
            });
        }
    }
    let kind = rest[0];
    let mut len = [0u8; 8];
    len.copy_from_slice(&rest[1..9]);
    let raw = u64::from_le_bytes(len);
    if raw > MAX_RAW_BYTES {
        return Err(PackError::Compression(format!(
            "it claims {raw} bytes uncompressed, over the limit of {MAX_RAW_BYTES}"
        )));
    }
    let mut payload = Vec::with_capacity(raw.min(64 << 20) as usize);
    flate2::read::DeflateDecoder::new(&rest[9..])
        .take(raw + 1)
        .read_to_end(&mut payload)
        .map_err(|e| PackError::Compression(e.to_string()))?;
    if payload.len() as u64 != raw {
        return Err(PackError::Compression(format!(
            "it inflates to {} bytes, not the {raw} its header says",
            payload.len()
        )));
    }
    Ok((kind, payload))
}

fn kind_name(k: u8) -> &'static str {
    match k {
        KIND_ROWS => "a data source's rows",
        KIND_SLICE => "a runner's data slice",
        _ => "an unknown kind of data",
    }
}

fn want_kind(found: u8, expected: u8) -> Result<(), PackError> {
    if found == expected {
        return Ok(());
    }
    Err(PackError::Kind {
        expected: kind_name(expected),
        found: kind_name(found),
    })
}

fn finished(r: &Reader) -> Result<(), PackError> {
    if r.b.is_empty() {
        Ok(())
    } else {
        Err(bad(format!("{} bytes follow the last row", r.b.len())))
    }
}

/// The rows of a pack made by [`encode_rows`], checked against its reference.
pub fn decode_rows(pack: &[u8], r: &PackRef) -> Result<Vec<Value>, PackError> {
    let (kind, payload) = open(pack, Some(&r.hash))?;
    want_kind(kind, KIND_ROWS)?;
    let mut rd = Reader { b: &payload };
    let rows = rd.table()?;
    finished(&rd)?;
    if rows.len() as u64 != r.rows {
        return Err(PackError::Rows {
            expected: r.rows,
            found: rows.len() as u64,
        });
    }
    Ok(rows)
}

/// Checks a slice pack's header and hash without decoding its rows.
pub fn verify_slice(pack: &[u8]) -> Result<(), PackError> {
    let (kind, _) = open(pack, None)?;
    want_kind(kind, KIND_SLICE)
}

/// The data slice of a pack made by [`encode_slice`].
pub fn decode_slice(pack: &[u8]) -> Result<DataSlice, PackError> {
    let (kind, payload) = open(pack, None)?;
    want_kind(kind, KIND_SLICE)?;
    let mut rd = Reader { b: &payload };
    let version = rd.u32()?;
    let plan_hash = rd.str()?;
    let (index, count, part, parts) = (rd.u32()?, rd.u32()?, rd.u32()?, rd.u32()?);
    let mut segment = Segment::new(index, count).map_err(|e| bad(e.to_string()))?;
    segment.part = part;
    segment.parts = parts;
    let n = rd.count()?;
    let mut sources = BTreeMap::new();
    for _ in 0..n {
        let name = rd.str()?;
        let k = rd.count()?;
        let mut indices = Vec::with_capacity(k);
        let mut last = 0u64;
        for _ in 0..k {
            last = last.wrapping_add(rd.varint()?);
            indices.push(last);
        }
        let rows = rd.table()?;
        sources.insert(name, SlicedRows { indices, rows });
    }
    finished(&rd)?;
    Ok(DataSlice {
        version,
        plan_hash,
        segment,
        sources,
    })
}

#[cfg(test)]
mod tests;
