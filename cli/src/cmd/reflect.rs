//! The loader the CLI compiles with: files from disk (`FsLoader`), and for `data NAME =
//! proto(reflect: TARGET)` the target's services from its gRPC server reflection,
//! asked while the test compiles (at most `TIMEOUT`); `run --demo` asks the demo shop,
//! which every target points at. `volley lsp` asks through `editor_reflect`.

use std::sync::OnceLock;
use std::time::Duration;
use volley_compiler::{FsLoader, LoadError, SourceLoader};

/// How long compiling waits for a server's reflection service.
const TIMEOUT: Duration = Duration::from_secs(10);

/// How long the editor waits for a server's reflection service (each answer is kept a
/// minute: the language server analyses on every edit).
const EDITOR_TIMEOUT: Duration = Duration::from_secs(3);

/// The language server's reflector (`volley lsp`).
pub fn editor_reflect(url: &str) -> Result<Vec<u8>, String> {
    volley_engine::grpc_reflect::fetch_descriptors(url, EDITOR_TIMEOUT)
}

/// Where reflection goes instead of the target's own URL (`run --demo`).
static REDIRECT: OnceLock<String> = OnceLock::new();

/// Sends every reflection request of this process to `url` (the demo shop's).
pub fn redirect(url: &str) {
    let _ = REDIRECT.set(url.to_string());
}

/// Disk files, and servers' descriptors.
pub struct CliLoader(pub FsLoader);

impl SourceLoader for CliLoader {
    fn load_source(&self, path: &str) -> Result<String, LoadError> {
        self.0.load_source(path)
    }

    fn load_data(&self, path: &str) -> Result<Vec<u8>, LoadError> {
        self.0.load_data(path)
    }

    fn reflect(&self, url: &str) -> Result<Vec<u8>, String> {
        let url = REDIRECT.get().map_or(url, String::as_str);
        volley_engine::grpc_reflect::fetch_descriptors(url, TIMEOUT)
    }
}
