//! Reading `.load` and data files from disk, safely: the only IO of the compiler.
//!
//! A test's files come from its folder tree (the entry file's directory and below) or from
//! a directory the user allowed (`--allow-path DIR`); anything else, `../../etc/passwd` or
//! `/etc/passwd`, is refused before it is opened. Only regular files are read: a FIFO or a
//! device is opened non-blocking and refused after `fstat`, so `check` never waits on a
//! pipe or reads `/dev/zero`. A file is read through a bound (`take(limit + 1)`), so a file
//! that grows while it is read is refused too. Errors are typed (`LoadError`); the checker
//! words them into diagnostics (`E0103`, `E0401`, `E0407`, `E0408`).

use crate::modules::join_path;
use crate::SourceLoader;
use std::fmt;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// The largest `.load` file read (8 MiB).
pub const MAX_SOURCE_BYTES: u64 = 8 * 1024 * 1024;
/// The largest data file read (64 MiB). Its rows travel apart from the plan, compressed
/// (`volley_plan::pack`), but are held in memory when compiling and by every runner that
/// reads them: these limits keep that memory bounded (a few GiB at the limits).
pub const MAX_DATA_BYTES: u64 = 64 * 1024 * 1024;
/// The most rows a data file may have.
pub const MAX_DATA_ROWS: usize = 1_000_000;
/// The most cells (rows × columns) a data file may have.
pub const MAX_DATA_CELLS: usize = 4_000_000;

/// Why a file could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    NotFound,
    PermissionDenied,
    /// The path leaves the test's folder tree and no `--allow-path` covers it.
    Outside {
        /// The path as resolved (absolute when the file exists).
        resolved: String,
        /// The folder tree it had to stay in.
        root: String,
    },
    /// Not a regular file: "a FIFO (named pipe)", "a character device", "a directory", ...
    NotRegular(&'static str),
    /// Bigger than the limit (both in bytes).
    TooLarge {
        size: u64,
        limit: u64,
    },
    NotUtf8,
    Other(String),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::NotFound => f.write_str("no such file"),
            LoadError::PermissionDenied => f.write_str("permission denied"),
            LoadError::Outside { resolved, root } => {
                write!(f, "`{resolved}` is outside the test's folder `{root}`")
            }
            LoadError::NotRegular(kind) => write!(f, "it is {kind}, not a regular file"),
            LoadError::TooLarge { size, limit } => write!(
                f,
                "it is {} and the limit is {}",
                bytes_text(*size),
                bytes_text(*limit)
            ),
            LoadError::NotUtf8 => f.write_str("the file is not UTF-8 text"),
            LoadError::Other(why) => f.write_str(why),
        }
    }
}

/// `209,715,200 bytes (200.0 MiB)`.
pub fn bytes_text(n: u64) -> String {
    format!(
        "{} bytes ({:.1} MiB)",
        thousands(n),
        n as f64 / 1024.0 / 1024.0
    )
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        let left = digits.len() - i;
        if i > 0 && left.is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Reads files under `base_dir` (the entry file's directory), or under one of `allowed`.
pub struct FsLoader {
    pub base_dir: PathBuf,
    /// Directories outside the test's folder that `--allow-path` opened.
    pub allowed: Vec<PathBuf>,
}

impl FsLoader {
    /// A loader confined to `base_dir`.
    pub fn new(base_dir: impl Into<PathBuf>) -> Self {
        FsLoader {
            base_dir: base_dir.into(),
            allowed: Vec::new(),
        }
    }

    /// The file a loader path names, if it stays in the folder tree or an allowed
    /// directory; symbolic links are followed before the check.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, LoadError> {
        let root = normalise(&absolute(&self.base_dir));
        let full = if Path::new(path).is_absolute() {
            PathBuf::from(path)
        } else {
            root.join(path)
        };
        let full = normalise(&full);
        let roots: Vec<PathBuf> = std::iter::once(root.clone())
            .chain(self.allowed.iter().map(|a| normalise(&absolute(a))))
            .collect();
        let outside = || LoadError::Outside {
            resolved: full.display().to_string(),
            root: root.display().to_string(),
        };
        // Lexically first: a path that leaves every root is refused whether it exists or not.
        if !roots.iter().any(|r| full.starts_with(r)) {
            return Err(outside());
        }
        // Then through symbolic links: a link inside the tree may point out of it.
        let real = std::fs::canonicalize(&full).map_err(io_error)?;
        let real_roots: Vec<PathBuf> = roots
            .iter()
            .filter_map(|r| std::fs::canonicalize(r).ok())
            .collect();
        if !real_roots.iter().any(|r| real.starts_with(r)) {
            return Err(LoadError::Outside {
                resolved: real.display().to_string(),
                root: root.display().to_string(),
            });
        }
        Ok(real)
    }
}

impl SourceLoader for FsLoader {
    fn load_source(&self, path: &str) -> Result<String, LoadError> {
        let bytes = read_regular(&self.resolve(path)?, MAX_SOURCE_BYTES)?;
        String::from_utf8(bytes).map_err(|_| LoadError::NotUtf8)
    }
    fn load_data(&self, path: &str) -> Result<Vec<u8>, LoadError> {
        read_regular(&self.resolve(path)?, MAX_DATA_BYTES)
    }
}

/// The loader path of `rel` as written in a file of directory `dir`: relative to the
/// entry's directory, or absolute when `rel` is absolute.
pub fn data_path(dir: &str, rel: &str) -> String {
    if rel.starts_with('/') {
        format!("/{}", join_path("", rel))
    } else if dir.starts_with('/') {
        format!("/{}", join_path(dir, rel))
    } else {
        join_path(dir, rel)
    }
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// Removes `.` and `..` components without touching the disk.
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn io_error(e: std::io::Error) -> LoadError {
    match e.kind() {
        std::io::ErrorKind::NotFound => LoadError::NotFound,
        std::io::ErrorKind::PermissionDenied => LoadError::PermissionDenied,
        _ => LoadError::Other(e.to_string()),
    }
}

/// Reads a regular file of at most `limit` bytes. The file is opened non-blocking (a FIFO
/// would otherwise block the open) and checked with `fstat` before any byte is read.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, LoadError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = opts.open(path).map_err(io_error)?;
    let meta = file.metadata().map_err(io_error)?;
    if !meta.is_file() {
        return Err(LoadError::NotRegular(kind_of(&meta)));
    }
    if meta.len() > limit {
        return Err(LoadError::TooLarge {
            size: meta.len(),
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() as u64 > limit {
        return Err(LoadError::TooLarge {
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// Reads a `.load` file named on the command line (`volley fmt`): regular, at most
/// `MAX_SOURCE_BYTES`, UTF-8.
pub fn read_source_file(path: &Path) -> Result<String, LoadError> {
    let bytes = read_regular(path, MAX_SOURCE_BYTES)?;
    String::from_utf8(bytes).map_err(|_| LoadError::NotUtf8)
}

fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    if meta.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(16_777_216), "16,777,216");
        assert_eq!(bytes_text(16 * 1024 * 1024), "16,777,216 bytes (16.0 MiB)");
    }

    #[test]
    fn paths_leaving_the_tree_are_refused_before_any_read() {
        let dir = std::env::temp_dir().join(format!("volley-files-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::write(dir.join("data/a.csv"), "x\n1\n").unwrap();
        let l = FsLoader::new(&dir);
        assert_eq!(l.load_data("data/a.csv").unwrap(), b"x\n1\n");
        assert!(matches!(
            l.load_data("../../../../etc/passwd"),
            Err(LoadError::Outside { .. })
        ));
        assert!(matches!(
            l.load_data("/etc/passwd"),
            Err(LoadError::Outside { .. })
        ));
        assert_eq!(l.load_data("data/none.csv"), Err(LoadError::NotFound));
        let allowed = FsLoader {
            base_dir: dir.clone(),
            allowed: vec![PathBuf::from("/etc")],
        };
        assert!(allowed.load_data("/etc/passwd").is_ok());
        assert!(matches!(
            allowed.load_data("/dev/zero"),
            Err(LoadError::Outside { .. })
        ));
        let dev = FsLoader {
            base_dir: dir.clone(),
            allowed: vec![PathBuf::from("/dev")],
        };
        assert!(matches!(
            dev.load_data("/dev/zero"),
            Err(LoadError::NotRegular(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn absolute_paths_keep_their_slash() {
        assert_eq!(data_path("lib/", "/etc/x.csv"), "/etc/x.csv");
        assert_eq!(data_path("lib/", "x.csv"), "lib/x.csv");
        assert_eq!(data_path("/opt/lib/", "x.csv"), "/opt/lib/x.csv");
    }
}
