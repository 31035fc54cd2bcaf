//! volley-syntax: the `.load` grammar (pest), the parser to an AST with spans, the
//! canonical formatter and the diagnostics type shared by every phase. No IO.

pub mod ast;
pub mod diagnostic;
mod fmt;
pub mod incremental;
mod lex;
mod parser;

pub use diagnostic::{Diagnostic, Label, Related, Severity};
pub use fmt::format;
pub use incremental::Parsed;
pub use parser::parse;

#[cfg(test)]
mod proptests;
