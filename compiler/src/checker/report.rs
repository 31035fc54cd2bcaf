//! Where the check's diagnostics go: a list per compile, and a silence that re-checks
//! use (a flow expanded in place or checked a second time) so one mistake gives one
//! diagnostic. While silenced, the first
//! diagnostic dropped is kept: the caller may report it in its own words.

use crate::ir::ModuleId;
use volley_syntax::Diagnostic;

#[derive(Default)]
pub(crate) struct Reports {
    /// Every diagnostic reported, with the module it belongs to.
    pub list: Vec<(ModuleId, Diagnostic)>,
    /// While > 0, diagnostics are dropped; the first one dropped is kept in `silenced`.
    silent: u32,
    silenced: Option<Diagnostic>,
}

/// A silence saved while a part is checked loudly (`Reports::unsilence`).
pub(crate) struct Saved {
    silent: u32,
    silenced: Option<Diagnostic>,
}

impl Reports {
    pub fn emit(&mut self, module: ModuleId, d: Diagnostic) {
        if self.silent > 0 {
            if self.silenced.is_none() {
                self.silenced = Some(d);
            }
            return;
        }
        self.list.push((module, d));
    }

    pub fn error_count(&self) -> usize {
        self.list.iter().filter(|(_, d)| d.is_error()).count()
    }

    /// Starts a silence (nested silences count); returns the outer first-dropped one.
    pub fn silence(&mut self) -> Option<Diagnostic> {
        self.silent += 1;
        self.silenced.take()
    }

    /// Ends a silence started by `silence`; returns the first diagnostic it dropped.
    pub fn end_silence(&mut self, outer: Option<Diagnostic>) -> Option<Diagnostic> {
        self.silent -= 1;
        std::mem::replace(&mut self.silenced, outer)
    }

    /// Lifts every silence (an item's own errors are reported once, wherever it is first
    /// checked from).
    pub fn unsilence(&mut self) -> Saved {
        Saved {
            silent: std::mem::replace(&mut self.silent, 0),
            silenced: self.silenced.take(),
        }
    }

    pub fn restore(&mut self, saved: Saved) {
        self.silent = saved.silent;
        self.silenced = saved.silenced;
    }
}
