//! `volley lsp`: the language server of `.load` files over stdio (the library is
//! `volley-lsp`; see docs/editors.md). Standard output carries the protocol only: logs
//! go to standard error.

use volley_plan::ExitCode;

pub fn run() -> ExitCode {
    volley_lsp::set_reflector(super::reflect::editor_reflect);
    match volley_lsp::run_stdio(super::allowed()) {
        Ok(()) => ExitCode::Ok,
        Err(e) => {
            errln!("error: volley lsp: {e}");
            ExitCode::Failure
        }
    }
}
