//! The one integration-test binary: drives the `volley` CLI end to end, as a user would.
//! Tests are data where they can be: `.load` case files carry their expectation inline.

mod cases;
mod cli;
mod docs;
mod k8s;
mod run_e2e;
mod spec_examples;
mod support;
