//! `volley fmt FILE… [--check]`: canonical formatting, comments kept, idempotent.

use crate::render;
use std::collections::BTreeMap;
use std::path::PathBuf;
use volley_compiler::LoadError;
use volley_plan::ExitCode;

pub fn run(files: &[PathBuf], check: bool) -> ExitCode {
    let mut code = ExitCode::Ok;
    for file in files {
        // Read like `check` reads: a regular UTF-8 file of at most 8 MiB. A file that is
        // there but cannot be a `.load` file is invalid input (104), like `check` says.
        let source = match volley_compiler::files::read_source_file(file) {
            Ok(s) => s,
            Err(e @ (LoadError::NotFound | LoadError::PermissionDenied | LoadError::Other(_))) => {
                errln!("error: cannot read `{}`: {e}", file.display());
                code = code.max(ExitCode::Usage);
                continue;
            }
            Err(e) => {
                errln!("error[E0103]: cannot read `{}`: {e}", file.display());
                code = code.max(ExitCode::InvalidInput);
                continue;
            }
        };
        let name = file.display().to_string();
        match volley_syntax::format(&source) {
            Ok(formatted) if formatted == source => {}
            Ok(_) if check => {
                outln!("would reformat {name}");
                code = code.max(ExitCode::Failure);
            }
            Ok(formatted) => {
                if let Err(e) = std::fs::write(file, formatted) {
                    errln!("error: cannot write `{name}`: {e}");
                    code = code.max(ExitCode::Usage);
                } else {
                    outln!("formatted {name}");
                }
            }
            Err(diags) => {
                let diags: Vec<_> = diags.into_iter().map(|d| d.in_file(name.clone())).collect();
                let sources = BTreeMap::from([(name.clone(), source)]);
                err!("{}", render::diagnostics(&diags, &sources));
                code = code.max(ExitCode::InvalidInput);
            }
        }
    }
    code
}
