//! The parsed data files (`data x = csv("..")`, `json(..)`, `lines(..)`) analyses keep
//! for the next one: an analysis runs after every edit, and reading and parsing a large
//! data file each time was most of it. An entry is keyed by the file's canonical path
//! (symbolic links resolved) and format, and stamped with the file's length,
//! modification time and (on Unix) inode and change time; it is used only while the
//! file's stamp is the same, so a file edited, replaced, removed or created on disk is
//! read again by the next analysis. A file modified less than [`RACY`] before it was
//! read is read again too: a write in the same timestamp tick as the read would leave
//! the stamp unchanged. The cache is bounded ([`MAX_ENTRIES`] files, [`MAX_BYTES`] of
//! file bytes; the least recently used go first). Errors (a missing or unreadable file)
//! are not kept: finding them costs no read.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use volley_compiler::data::Table;
use volley_compiler::{FsLoader, LoadError, SourceLoader};
use volley_plan::DataFormat;

/// The most files kept.
pub const MAX_ENTRIES: usize = 8;
/// The most file bytes kept in all (their parsed rows take a few times more memory).
pub const MAX_BYTES: u64 = 128 * 1024 * 1024;
/// A file read less than this after its modification is read again next time.
pub const RACY: Duration = Duration::from_secs(2);

/// What identifies one version of a file on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    /// Inode, device and change time (Unix): a file replaced by another (an editor's
    /// save by rename) or changed and given its old modification time back.
    node: (u64, u64, i64, i64),
}

impl Stamp {
    pub(crate) fn of(meta: &std::fs::Metadata) -> Stamp {
        #[cfg(unix)]
        let node = {
            use std::os::unix::fs::MetadataExt;
            (meta.ino(), meta.dev(), meta.ctime(), meta.ctime_nsec())
        };
        #[cfg(not(unix))]
        let node = (0, 0, 0, 0);
        Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            node,
        }
    }
}

struct Entry<K, V> {
    key: K,
    stamp: Stamp,
    /// When it was read.
    read_at: SystemTime,
    /// The cache's clock when it was last used.
    used: u64,
    value: V,
}

impl<K, V> Entry<K, V> {
    /// Whether the file was modified so shortly before it was read that a later write
    /// may have kept its stamp (or its time is in the future).
    fn racy(&self) -> bool {
        self.stamp
            .modified
            .and_then(|m| self.read_at.duration_since(m).ok())
            .is_none_or(|d| d < RACY)
    }
}

/// What was made from files (parsed rows, a JSON shape), each kept while its file's
/// [`Stamp`] is unchanged, at most [`MAX_ENTRIES`] of them and [`MAX_BYTES`] of file
/// bytes, the least recently used dropped first.
pub(crate) struct FileCache<K, V> {
    entries: Vec<Entry<K, V>>,
    clock: u64,
}

impl<K, V> Default for FileCache<K, V> {
    fn default() -> Self {
        FileCache {
            entries: Vec::new(),
            clock: 0,
        }
    }
}

impl<K: PartialEq, V: Clone> FileCache<K, V> {
    /// The value kept for `key` if it was made from the file as `stamp` finds it now.
    /// A stale entry of `key` is dropped.
    pub(crate) fn get(&mut self, key: &K, stamp: &Stamp) -> Option<V> {
        self.clock += 1;
        let clock = self.clock;
        if let Some(e) = self.entries.iter_mut().find(|e| e.key == *key) {
            if e.stamp == *stamp && !e.racy() {
                e.used = clock;
                return Some(e.value.clone());
            }
        }
        self.forget(key);
        None
    }

    /// Keeps `value`, made from the file stamped `stamp` (taken before the read) and
    /// read at `read_at`. A file over [`MAX_BYTES`] is not kept.
    pub(crate) fn keep(&mut self, key: K, stamp: Stamp, read_at: SystemTime, value: V) {
        self.forget(&key);
        if stamp.len > MAX_BYTES {
            return;
        }
        self.entries.push(Entry {
            key,
            stamp,
            read_at,
            used: self.clock,
            value,
        });
        self.evict();
    }

    /// Drops the entry of `key`.
    pub(crate) fn forget(&mut self, key: &K) {
        self.entries.retain(|e| e.key != *key);
    }

    /// Keeps only the entries whose key passes `keep`.
    fn retain(&mut self, keep: impl Fn(&K) -> bool) {
        self.entries.retain(|e| keep(&e.key));
    }

    /// Drops the least recently used entries until the bounds hold.
    fn evict(&mut self) {
        loop {
            let bytes: u64 = self.entries.iter().map(|e| e.stamp.len).sum();
            if self.entries.len() <= MAX_ENTRIES && bytes <= MAX_BYTES {
                return;
            }
            let Some(oldest) = self
                .entries
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.used)
                .map(|(i, _)| i)
            else {
                return;
            };
            self.entries.remove(oldest);
        }
    }

    /// How many values are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// The kept data files.
#[derive(Default)]
pub struct Tables {
    kept: FileCache<(PathBuf, DataFormat), Arc<Table>>,
    /// Data files read and parsed (rather than found kept), for tests.
    pub reads: u64,
}

impl Tables {
    /// The data file `path` (a loader path of `fs`) parsed as `format`: the kept one
    /// while the file is unchanged, else read and parsed through `fs` (and kept).
    pub fn load(
        &mut self,
        fs: &FsLoader,
        path: &str,
        format: DataFormat,
    ) -> Result<Arc<Table>, LoadError> {
        let real = match fs.resolve(path) {
            Ok(r) => r,
            Err(e) => {
                // Drops entries of files that no longer exist.
                self.kept.retain(|(p, _)| p.is_file());
                return Err(e);
            }
        };
        // Stamped before reading: a write during the read changes the stamp the next
        // analysis sees, so it reads again.
        let stamp = match std::fs::metadata(&real) {
            Ok(m) if m.is_file() => Stamp::of(&m),
            // Gone since, or not a regular file: the loader says why.
            _ => {
                self.kept.retain(|(p, _)| *p != real);
                return fs.load_table(path, format);
            }
        };
        let key = (real, format);
        if let Some(table) = self.kept.get(&key, &stamp) {
            return Ok(table);
        }
        self.reads += 1;
        let read_at = SystemTime::now();
        let table = fs.load_table(path, format)?;
        self.kept.keep(key, stamp, read_at, table.clone());
        Ok(table)
    }

    /// How many files are kept.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.kept.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{analyse, Kept, Place};
    use std::collections::HashMap;
    use std::path::Path;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("volley-lsp-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Writes `text` to `path` and sets its modification time `ago` in the past (well
    /// before the read, so the entry is not racy).
    fn write_at(path: &Path, text: &str, ago: Duration) {
        std::fs::write(path, text).unwrap();
        let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() - ago).unwrap();
    }

    const TEST: &str = r#"target api = "http://127.0.0.1:9"
data users = csv("users.csv", pick: sequential)
scenario s {
  workload = per_vu_iterations(vus: 1, iterations: 1)
  iteration {
    let u = users.next()
    get(api, "/u/{u.email}")
  }
}
"#;

    fn codes(place: &Place, kept: &Kept) -> Vec<String> {
        let a = analyse(place, TEST, &HashMap::new(), &[], kept);
        a.diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| format!("{}: {}", d.code, d.message))
            .collect()
    }

    /// The second analysis of an unchanged data file reads nothing; a change on disk
    /// (even one of the same length, with only a new modification time), a removal and a
    /// re-creation are each seen by the next analysis.
    #[test]
    fn an_unchanged_data_file_is_read_once_and_a_changed_one_again() {
        let dir = temp_dir("tables");
        let csv = dir.join("users.csv");
        let hour = Duration::from_secs(3600);
        write_at(&csv, "email,pw\na@x,1\n", hour);
        let place = Place::of(&dir.join("t.load"));
        let kept = Kept::default();
        let reads = || kept.tables.borrow().reads;

        assert_eq!(codes(&place, &kept), Vec::<String>::new());
        assert_eq!(reads(), 1);
        assert_eq!(codes(&place, &kept), Vec::<String>::new());
        assert_eq!(reads(), 1, "an unchanged file is not read again");

        // Same length, another column name, a new modification time.
        write_at(&csv, "mail_,pw\na@x,1\n", hour / 2);
        let found = codes(&place, &kept);
        assert_eq!(reads(), 2);
        assert!(
            found.iter().any(|f| f.contains("email")),
            "`u.email` is no column now: {found:?}"
        );
        assert_eq!(codes(&place, &kept), found);
        assert_eq!(reads(), 2);

        // Removed: unreadable (nothing kept); back: read again.
        std::fs::remove_file(&csv).unwrap();
        let gone = codes(&place, &kept);
        assert!(
            gone.iter().any(|f| f.contains("users.csv")),
            "a missing data file is an error: {gone:?}"
        );
        assert_eq!(kept.tables.borrow().len(), 0);
        write_at(&csv, "email,pw\nb@x,2\n", hour);
        let before = reads();
        assert_eq!(codes(&place, &kept), Vec::<String>::new());
        assert_eq!(reads(), before + 1);

        // A file whose modification time is in the future (or only just past) is read
        // again each time: a write in the same timestamp tick would keep its stamp.
        std::fs::write(&csv, "email,pw\nc@x,3\n").unwrap();
        let f = std::fs::OpenOptions::new().write(true).open(&csv).unwrap();
        f.set_modified(SystemTime::now() + hour).unwrap();
        assert_eq!(codes(&place, &kept), Vec::<String>::new());
        assert_eq!(codes(&place, &kept), Vec::<String>::new());
        assert_eq!(reads(), before + 3);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// At most `MAX_ENTRIES` files are kept, the least recently used dropped first.
    #[test]
    fn the_cache_is_bounded() {
        let dir = temp_dir("tables-bound");
        let fs = FsLoader::new(&dir);
        let mut t = Tables::default();
        let hour = Duration::from_secs(3600);
        for i in 0..MAX_ENTRIES + 3 {
            write_at(&dir.join(format!("{i}.txt")), "a\nb\n", hour);
        }
        for i in 0..MAX_ENTRIES + 3 {
            let Ok(table) = t.load(&fs, &format!("{i}.txt"), DataFormat::Lines) else {
                panic!("{i}.txt reads");
            };
            assert!(table.is_ok());
            // The first file stays in use, so it is never the least recently used.
            t.load(&fs, "0.txt", DataFormat::Lines).unwrap();
        }
        assert_eq!(t.len(), MAX_ENTRIES);
        assert_eq!(t.reads as usize, MAX_ENTRIES + 3);
        t.load(&fs, "0.txt", DataFormat::Lines).unwrap();
        assert_eq!(t.reads as usize, MAX_ENTRIES + 3, "0.txt is still kept");
        t.load(&fs, "1.txt", DataFormat::Lines).unwrap();
        assert_eq!(t.reads as usize, MAX_ENTRIES + 4, "1.txt was dropped");
        // The same file in another format is another entry.
        let Ok(csv) = t.load(&fs, "0.txt", DataFormat::Csv) else {
            panic!("0.txt reads as CSV");
        };
        assert!(csv.as_ref().as_ref().is_ok_and(|l| l.columns.len() == 1));
        assert_eq!(t.reads as usize, MAX_ENTRIES + 5);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
