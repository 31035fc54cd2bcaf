//! The parser: source text → pest pairs → [`ast::File`], with diagnostics as data.
//!
//! Pest pairs never leave this module tree. `parse` never panics: deep nesting is refused
//! by the lexical pre-scan before pest runs, literals are checked while building the AST,
//! and every syntax error becomes an `E0001` diagnostic with a precise span.
//!
//! A file is parsed without pest's error-detail tracking (it allocates at every token tried
//! and was most of the time a parse took); only a file that fails is parsed a second time
//! with it, for the error's expected tokens. The tracking is a process-wide pest switch,
//! so a lock keeps parses on other threads from seeing it on (see [`pairs`]).

mod build;
mod errors;
mod expr;

use crate::ast;
use crate::diagnostic::Diagnostic;
use crate::lex;
use pest::Parser as _;
use pest_derive::Parser;
use std::sync::RwLock;

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
    match pairs(source) {
        Ok(pairs) => to_ast(source, pairs, scan),
        Err(e) => (None, vec![errors::syntax_error(source, &e, &scan)]),
    }
}

/// The AST of a file's pairs (literal errors are diagnostics).
fn to_ast(source: &str, pairs: Pairs<'_>, scan: lex::Scan) -> (Option<ast::File>, Vec<Diagnostic>) {
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

/// `parse` without the second, detailed pass: `None` at a syntax error (or too deep a
/// nesting), for [`crate::incremental`], which then parses the whole file.
pub(crate) fn parse_fast(source: &str) -> Option<(Option<ast::File>, Vec<Diagnostic>)> {
    let scan = lex::scan(source);
    if scan.too_deep.is_some() {
        return None;
    }
    let pairs = {
        let _shared = DETAIL.read().unwrap_or_else(|e| e.into_inner());
        LoadParser::parse(Rule::file, source).ok()?
    };
    Some(to_ast(source, pairs, scan))
}

/// Held shared by parses without error detail, exclusively by the one that turns pest's
/// process-wide switch on for its second pass (and off again before it lets go).
static DETAIL: RwLock<()> = RwLock::new(());

type Pairs<'i> = pest::iterators::Pairs<'i, Rule>;

/// The pairs of `source`, or the error of a second, detailed parse.
fn pairs(source: &str) -> Result<Pairs<'_>, Box<pest::error::Error<Rule>>> {
    let fast = {
        // A poisoned lock only means a parse panicked elsewhere; the switch is off then.
        let _shared = DETAIL.read().unwrap_or_else(|e| e.into_inner());
        LoadParser::parse(Rule::file, source)
    };
    if let Ok(pairs) = fast {
        return Ok(pairs);
    }
    let _exclusive = DETAIL.write().unwrap_or_else(|e| e.into_inner());
    pest::set_error_detail(true);
    let detailed = LoadParser::parse(Rule::file, source);
    pest::set_error_detail(false);
    detailed.map_err(Box::new)
}

#[cfg(test)]
pub(crate) mod tests;
