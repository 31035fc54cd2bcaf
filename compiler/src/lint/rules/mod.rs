//! One file per lint rule, each with its documentation (`//!`: what, why, a bad and a good
//! example), its `RULE` (code, name, default severity, check) and its unit tests. They are
//! registered in `lint::RULES`; nothing else lives here.

pub mod l0001_allow_without_reason;
pub mod l0002_allow_unknown_code;
pub mod l0003_unused_allow;
pub mod l0101_shared_identity;
pub mod l0102_per_pod_identity;
pub mod l0103_too_little_unique_data;
pub mod l0104_unique_data_may_run_out;
pub mod l0105_identity_shared_by_design;
pub mod l0106_per_pod_state;
pub mod l0107_undeclared_host;
pub mod l0108_target_outside_egress;
pub mod l0109_plaintext_secret;
pub mod l0110_secret_in_clear;
pub mod l0111_starved_runner;
pub mod l0112_open_model_without_headroom;
pub mod l0113_unreachable_threshold;
pub mod l0114_no_thresholds;
pub mod l0115_uneven_split;
pub mod l0116_closed_loop_without_pause;
pub mod l0117_status_outside_expect;
pub mod l0118_idle_runner;
pub mod l0119_busy_iteration;
pub mod l0120_high_cardinality_tag;
pub mod l0130_unclosed_ws_session;

use super::LintCx;
use volley_syntax::Diagnostic;

/// The check of rules whose findings `lint::allow` produces.
pub(crate) fn none(_: &LintCx, _: &mut Vec<Diagnostic>) {}
