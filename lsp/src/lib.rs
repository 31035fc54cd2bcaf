//! volley-lsp: the language server of `.load` files, run by `volley lsp` over stdio.
//!
//! It serves diagnostics (compile errors and lint findings, spans in UTF-16 positions)
//! with their fix-its as code actions, hover (types, units and constant values),
//! completion (names in scope, fields of data rows and records, members of responses
//! and JSON, workload parameters, request options, standard-library functions with
//! their import), go to definition, find references and rename across imports,
//! document symbols and formatting (`volley fmt`'s formatter).
//!
//! Everything is computed from the compiler's own results: `volley_compiler::editor`
//! gives the type of every expression and the built-in vocabulary; [`index`] resolves
//! names on the AST. A document is analysed once per change (edits that arrive
//! together are analysed once), lazily for requests; only the top-level items around an
//! edit are parsed again (`volley_syntax::Parsed::reparse`); files that are not open are
//! read from the disk and cached by modification time, data files parsed ([`tables`]).
//! The server never runs a test.

mod actions;
mod analysis;
mod complete;
#[cfg(test)]
mod fix_cases;
mod hover;
mod index;
mod line_index;
mod nav;
mod reflect;
mod server;
mod shapes;
mod tables;
mod vocab;

pub use reflect::{set_reflector, Reflector};
pub use server::serve;

/// Runs the server on standard input and output until the client says `exit`.
/// `allowed`: the directories `--allow-path` opened outside a test's folder.
pub fn run_stdio(allowed: Vec<std::path::PathBuf>) -> Result<(), String> {
    let (connection, io_threads) = lsp_server::Connection::stdio();
    serve(&connection, allowed)?;
    drop(connection);
    io_threads.join().map_err(|e| e.to_string())
}
