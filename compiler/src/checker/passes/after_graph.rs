//! The `after(..)` graph rule: each scenario waits on at most one other
//! (`start = after(NAME)`); a cycle of waits would never start, and is E0701, reported
//! once, at the `after(..)` of its first scenario in source order. Input: the checked
//! scenarios' names and waits; output: diagnostics of the entry file.

use crate::codes;
use volley_syntax::ast::Span;
use volley_syntax::Diagnostic;

/// One scenario of the graph: its name and the scenario it waits on (index, and the span
/// of the name in `after(..)`).
pub(crate) struct Node {
    pub name: String,
    pub after: Option<(u32, Span)>,
}

/// E0701 for each cycle of waits, in the order of their first scenario.
pub(crate) fn cycles(checked: &[Node]) -> Vec<Diagnostic> {
    let next: Vec<Option<u32>> = checked.iter().map(|c| c.after.map(|(i, _)| i)).collect();
    let mut reported = vec![false; checked.len()];
    let mut out = Vec::new();
    for startn in 0..checked.len() {
        let mut path = vec![startn];
        let mut cur = startn;
        while let Some(n) = next[cur] {
            let n = n as usize;
            if n >= checked.len() {
                break;
            }
            if let Some(pos) = path.iter().position(|p| *p == n) {
                let cycle = &path[pos..];
                if cycle.iter().any(|c| reported[*c]) {
                    break;
                }
                let first = *cycle.iter().min().unwrap_or(&n);
                let mut chain: Vec<String> = Vec::new();
                let mut c = first;
                for _ in 0..=checked.len() {
                    chain.push(checked[c].name.clone());
                    c = next[c].map(|x| x as usize).unwrap_or(first);
                    if c == first || c >= checked.len() {
                        break;
                    }
                }
                chain.push(checked[first].name.clone());
                if let Some((_, span)) = checked[first].after {
                    out.push(codes::after_cycle(span, &chain.join(" → ")));
                }
                for c in cycle {
                    reported[*c] = true;
                }
                break;
            }
            path.push(n);
            cur = n;
        }
    }
    out
}
