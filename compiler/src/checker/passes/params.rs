//! The `--param` rule: every `--param NAME=VALUE` must name a `param` of the entry file.
//! Input: the entry module's names and the overrides the check did not consume; output:
//! E0105-family diagnostics (`codes::unknown_param`) at the start of the entry file.

use crate::codes;
use crate::modules::Module;
use crate::suggest::did_you_mean;
use volley_syntax::ast::{ItemKind, Span};
use volley_syntax::Diagnostic;

/// One diagnostic per override left over, with the closest declared param.
pub(crate) fn unknown(entry: &Module, left: &[String]) -> Vec<Diagnostic> {
    if left.is_empty() {
        return Vec::new();
    }
    let declared: Vec<String> = entry
        .values
        .iter()
        .filter(|(_, i)| {
            matches!(
                entry.item(**i).map(|it| &it.kind),
                Some(ItemKind::Param { .. })
            )
        })
        .map(|(n, _)| n.clone())
        .collect();
    let refs: Vec<&str> = declared.iter().map(String::as_str).collect();
    left.iter()
        .map(|k| {
            let s = did_you_mean(k, refs.iter().copied());
            codes::unknown_param(Span::new(0, 0), k, &s, &refs)
        })
        .collect()
}
