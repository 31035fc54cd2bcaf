//! Compiler tests: every SPEC example compiles, each error family reports its code at
//! its span, plans are deterministic, and mutated sources never panic.

mod dns;
mod errors;
mod eval;
mod fleet_pod;
mod fuzz;
mod grpc;
mod grpc_reflect;
mod ir;
mod json;
mod plans;
mod proxy;
mod spec;
mod stdlib;
mod strings;
mod tls;
mod vars;

use crate::{compile, CompileOptions, Compiled, MemLoader};

/// The example data files the SPEC examples read, and the certificates of `http.tls`
/// examples.
pub(crate) fn with_data(loader: MemLoader) -> MemLoader {
    let mut users = String::from("email,password,id\n");
    let mut orders = String::from("[");
    for i in 1..=50 {
        users.push_str(&format!("user{i}@example.com,pw-{i:04},{i}\n"));
        if i > 1 {
            orders.push(',');
        }
        orders.push_str(&format!("{{\"sku\": \"SKU-{i}\", \"qty\": {}}}", i % 5 + 1));
    }
    orders.push(']');
    loader
        .with("data/users.csv", users)
        .with("data/orders.json", orders)
        .with("data/report.csv", "region,orders\nnorth,120\n")
        .with("data/pixels.png", b"\x89PNG\r\n\x1a\n\x00\xff".to_vec())
        .with(
            "protos/shop.proto",
            include_str!("../../../examples/protos/shop.proto"),
        )
        .with("certs/client.pem", tls::CERT)
        .with("certs/ca.pem", tls::CERT)
}

/// Compiles `src` as `test.load` with the example data available.
pub(crate) fn compile_src(src: &str) -> Compiled {
    compile_with(src, &[])
}

pub(crate) fn compile_with(src: &str, params: &[(&str, &str)]) -> Compiled {
    let loader = with_data(MemLoader::new().with("test.load", src));
    let opts = CompileOptions {
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    compile("test.load", &loader, &opts)
}

/// The error diagnostics as (code, the source text under the primary span).
pub(crate) fn errors(src: &str, c: &Compiled) -> Vec<(String, String)> {
    c.diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let span = d.span().unwrap_or_default();
            let text = if d.file == "test.load" {
                src.get(span.start..span.end).unwrap_or("").to_string()
            } else {
                format!("<{}>", d.file)
            };
            (d.code.clone(), text)
        })
        .collect()
}

/// Renders diagnostics for assertion messages.
pub(crate) fn show(c: &Compiled) -> String {
    c.diagnostics
        .iter()
        .map(|d| {
            format!(
                "{} {} {:?} {}: {}\n  help: {}",
                d.code,
                d.file,
                d.span(),
                d.message,
                d.labels.first().map(|l| l.text.as_str()).unwrap_or(""),
                d.help.clone().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
