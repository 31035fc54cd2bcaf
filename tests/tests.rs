//! The one integration-test binary: drives the `volley` CLI end to end, as a user would.
//! Tests are data where they can be: `.load` case files carry their expectation inline.

mod cases;
mod cli;
mod docs;
mod fleet_e2e;
mod k6_oracle;
mod k8s;
mod lint_cases;
mod lint_cli;
mod lint_docs;
mod outputs;
mod run_e2e;
mod services;
mod spec_examples;
mod support;
