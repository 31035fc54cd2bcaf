//! The parser: source text → pest pairs → [`ast::File`], with diagnostics as data.
//!
//! Pest pairs never leave this module tree. `parse` never panics: deep nesting is refused
//! by the lexical pre-scan before pest runs, literals are checked while building the AST,
//! and every syntax error becomes an `E0001` diagnostic with a precise span.

mod build;
mod errors;
mod expr;

use crate::ast;
use crate::diagnostic::Diagnostic;
use crate::lex;
use pest::Parser as _;
use pest_derive::Parser;

#[derive(Parser)]
#[grammar = "../load.pest"]
pub(crate) struct LoadParser;

/// Parses a whole `.load` file. Returns the AST when the file has no error, and every
/// diagnostic found (syntax errors stop at the first; literal errors are all reported).
/// `Diagnostic.file` is left empty for the caller to fill in.
pub fn parse(source: &str) -> (Option<ast::File>, Vec<Diagnostic>) {
    let scan = lex::scan(source);
    if let Some(span) = scan.too_deep {
        let d = Diagnostic::error(
            "E0001",
            format!(
                "this file nests too deeply (more than {} levels)",
                lex::MAX_NESTING
            ),
        )
        .with_label(span, "too deeply nested")
        .with_help("split the code into smaller parts with `let`, `fn` or `flow`");
        return (None, vec![d]);
    }
    pest::set_error_detail(true);
    let pairs = match LoadParser::parse(Rule::file, source) {
        Ok(pairs) => pairs,
        Err(e) => return (None, vec![errors::syntax_error(source, &e, &scan)]),
    };
    let mut b = build::Builder::new(source, &scan.comments);
    let items = match pairs.into_iter().next() {
        Some(file) => b.file(file),
        None => Vec::new(),
    };
    let diags = b.finish();
    if diags.iter().any(Diagnostic::is_error) {
        return (None, diags);
    }
    let file = ast::File {
        items,
        comments: scan.comments,
    };
    (Some(file), diags)
}

#[cfg(test)]
pub(crate) mod tests;
