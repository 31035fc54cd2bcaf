//! Passes that run after the check on explicit data, each with one job: the `--param`
//! rule (`params`), the `after(..)` graph rule (`after_graph`) and the link pass that
//! keeps the reachable flows (`link`). They read tables the check produced (the entry
//! module's names, the checked scenarios, the `ir::Program`) and return diagnostics or
//! a rewritten program; none of them holds or reaches the `Checker`.

pub(crate) mod after_graph;
pub(crate) mod link;
pub(crate) mod params;
