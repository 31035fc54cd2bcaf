//! `volley convert k6|har FILE [-o OUT.load]`: converts a k6 script or a HAR recording
//! with `volley-convert`, writes the `.load` file, prints the report (converted,
//! approximated, left) and then lints the result as `volley lint` does, so the exit code
//! says whether the converted file compiles and lints clean.

use crate::cmd::lint;
use std::path::{Path, PathBuf};
use volley_plan::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum Source {
    /// A k6 script (JavaScript, parsed with oxc): options, scenarios, thresholds,
    /// requests, checks, groups, data, metrics, setup and teardown.
    K6 {
        file: PathBuf,
        /// The `.load` file to write (default: the script's path with `.load`).
        #[arg(short = 'o', long = "out", value_name = "OUT.load")]
        out: Option<PathBuf>,
    },
    /// A browser recording (HAR 1.2): one request per entry, in order.
    Har {
        file: PathBuf,
        /// The `.load` file to write (default: the recording's path with `.load`).
        #[arg(short = 'o', long = "out", value_name = "OUT.load")]
        out: Option<PathBuf>,
        /// Keep requests for static assets (images, styles, scripts, fonts).
        #[arg(long)]
        keep_static: bool,
    },
}

pub fn run(source: Source) -> ExitCode {
    let (file, out, result) = match source {
        Source::K6 { file, out } => {
            let text = match read(&file) {
                Ok(t) => t,
                Err(code) => return code,
            };
            let r = volley_convert::k6::convert(&text, &display_name(&file));
            (file, out, r)
        }
        Source::Har {
            file,
            out,
            keep_static,
        } => {
            let text = match read(&file) {
                Ok(t) => t,
                Err(code) => return code,
            };
            let opts = volley_convert::har::Options { keep_static };
            let r = volley_convert::har::convert(&text, &display_name(&file), &opts);
            (file, out, r)
        }
    };
    let conversion = match result {
        Ok(c) => c,
        Err(e) => {
            errln!("error: {e}");
            return ExitCode::InvalidInput;
        }
    };
    let out = out.unwrap_or_else(|| file.with_extension("load"));
    if out == file {
        errln!(
            "error: the output would replace the input `{}`: give -o",
            file.display()
        );
        return ExitCode::Usage;
    }
    if let Err(e) = std::fs::write(&out, &conversion.load) {
        errln!("error: cannot write `{}`: {e}", out.display());
        return ExitCode::Usage;
    }
    err!("{}", conversion.report);
    errln!("wrote {}; checking it:", out.display());
    let code = lint::run(std::slice::from_ref(&out), lint::Format::Human, &[], None);
    if code == ExitCode::Ok {
        errln!("ok: {} compiles and lints without errors", out.display());
    }
    code
}

fn read(file: &Path) -> Result<String, ExitCode> {
    std::fs::read_to_string(file).map_err(|e| {
        errln!("error: cannot read `{}`: {e}", file.display());
        ExitCode::Usage
    })
}

fn display_name(file: &Path) -> String {
    file.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
