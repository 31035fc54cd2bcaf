//! The one integration-test binary: drives the `volley` CLI end to end, as a user would.
//! Tests are data where they can be: `.load` case files carry their expectation inline.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test binary: its helpers panic with the failure message"
)]

mod big_data;
mod bodies_k6;
mod cases;
mod cli;
mod compare_e2e;
mod compression;
mod convert;
mod cookies;
mod cookies_k6;
mod dashboard;
mod data_e2e;
mod dns;
mod docs;
mod editors;
mod first_use;
mod fleet_e2e;
mod fuzz;
mod grpc_e2e;
mod grpc_k6_oracle;
mod grpc_reflect;
mod hostile;
mod hostile_files;
mod image;
mod k6_oracle;
mod k8s;
mod lint_cases;
mod lint_cli;
mod lint_docs;
mod logs;
mod loops;
mod lsp;
mod methods;
mod multipart;
mod otlp;
mod out_files;
mod outputs;
mod proxy_e2e;
mod redirects_k6;
mod rendered;
mod run_e2e;
mod services;
mod signals;
mod sim;
mod spec_examples;
mod strings_e2e;
mod summary_format;
mod summary_snapshots;
mod support;
mod tags_e2e;
mod tags_k6;
mod thresholds_k6;
mod tidy;
mod tls_e2e;
mod websocket_e2e;
