//! The language's built-in vocabulary, read from the checker's own tables, for editors
//! (`crate::editor`): workloads and their parameters, request options, block fields,
//! built-in functions, identity values, built-in metrics and the members of each type.

use super::args::{
    ArgSpec, FLEET_FIELDS, HTTP_FIELDS, REQUEST_OPTIONS, REQUEST_POSITIONAL, SCENARIO_FIELDS,
};
use super::call::{PLACED, REQUEST_METHODS};
use super::data_item::{FORMATS, PICKS};
use super::expr::IDENTITIES;
use super::methods::methods_of;
use super::thresholds::BUILTIN_METRICS;
use super::workload::WORKLOADS;
use crate::types::Type;
use volley_plan::MetricKind;

fn names<K: 'static>(table: &[ArgSpec<K>]) -> Vec<&'static str> {
    table.iter().map(|a| a.name).collect()
}

/// Each workload with its parameters (name, whether it has a default).
pub(crate) fn workloads() -> Vec<(&'static str, Vec<(&'static str, bool)>)> {
    WORKLOADS
        .iter()
        .map(|w| (w.name, w.param_names().collect()))
        .collect()
}

pub(crate) fn request_methods() -> &'static [&'static str] {
    REQUEST_METHODS
}

pub(crate) fn request_options() -> Vec<&'static str> {
    let mut out = names(REQUEST_POSITIONAL);
    out.extend(names(REQUEST_OPTIONS));
    out
}

pub(crate) fn scenario_fields() -> Vec<&'static str> {
    names(SCENARIO_FIELDS)
}

pub(crate) fn http_fields() -> Vec<&'static str> {
    names(HTTP_FIELDS)
}

pub(crate) fn fleet_fields() -> Vec<&'static str> {
    names(FLEET_FIELDS)
}

pub(crate) fn placed() -> &'static [(&'static str, &'static str)] {
    PLACED
}

pub(crate) fn picks() -> &'static [&'static str] {
    PICKS
}

pub(crate) fn formats() -> &'static [&'static str] {
    FORMATS
}

pub(crate) fn identities() -> Vec<(&'static str, Vec<&'static str>)> {
    IDENTITIES
        .iter()
        .map(|(ns, vals)| (*ns, vals.iter().map(|(n, _)| *n).collect()))
        .collect()
}

pub(crate) fn builtin_metrics() -> Vec<(&'static str, &'static str)> {
    BUILTIN_METRICS
        .iter()
        .map(|(n, k, _)| {
            let kind = match k {
                MetricKind::Trend => "trend",
                MetricKind::Counter => "counter",
                MetricKind::Rate => "rate",
                MetricKind::Gauge => "gauge",
            };
            (*n, kind)
        })
        .collect()
}

/// The fields and methods of a value of type `ty`, as help texts write them
/// (`json(path)`, `status`).
pub(crate) fn members(ty: &Type) -> Vec<&'static str> {
    methods_of(ty).0.to_vec()
}
