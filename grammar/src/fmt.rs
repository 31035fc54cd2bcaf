//! `volley fmt`: the canonical layout of a `.load` file, printed from the AST.
//!
//! Two-space indentation, one item, statement or field per line, at most one blank line
//! where the source had blank lines, spaces around binary operators, `a: b` named
//! arguments, literals with their units as written. A call, list or record stays on one
//! line when it fits in 100 columns and holds no comment; otherwise it is broken one
//! element per line with a trailing comma. Every comment is kept: own-line comments stay
//! above the node that follows them, trailing comments stay at the end of the line of the
//! node they follow. The output is a fixed point: `format(format(x)) == format(x)`.
//! It must not change what a file means: the output parses to the same tree.

mod exprs;
mod flat;
mod items;
mod printer;

use crate::diagnostic::Diagnostic;

/// Formats a whole file, or returns the parse diagnostics when it does not parse.
pub fn format(source: &str) -> Result<String, Vec<Diagnostic>> {
    let (file, diags) = crate::parser::parse(source);
    let Some(file) = file else {
        return Err(diags);
    };
    let mut p = printer::Printer::new(source, &file.comments);
    p.file(&file);
    Ok(p.finish())
}

#[cfg(test)]
pub(crate) mod tests;
