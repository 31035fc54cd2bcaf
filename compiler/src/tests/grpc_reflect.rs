//! gRPC services read from a server's reflection service (`proto(reflect: TARGET)`,
//! through `SourceLoader::reflect`: `MemLoader` serves the file `reflect:URL`), and map
//! fields in sent messages.

use super::{errors, show, with_data};
use crate::{compile, CompileOptions, Compiled, MemLoader};

/// The encoded descriptor set of `proto` as `proto("protos/x.proto")` compiles it.
fn descriptors(proto: &str) -> Vec<u8> {
    let src = "data c = proto(\"protos/x.proto\")\n";
    let loader = MemLoader::new()
        .with("test.load", src)
        .with("protos/x.proto", proto);
    let c = compile("test.load", &loader, &CompileOptions::default());
    let plan = c.plan.as_ref().unwrap_or_else(|| panic!("{}", show(&c)));
    plan.protos[0].bytes.clone()
}

fn shop() -> Vec<u8> {
    descriptors(include_str!("../../../examples/protos/shop.proto"))
}

fn reflected(body: &str, server: Option<Vec<u8>>) -> (String, Compiled) {
    let src = format!(
        "target shop = \"http://127.0.0.1:8088\"\n\
         data catalog = proto(reflect: shop)\n\
         scenario s {{\n  workload = shared_iterations(vus: 1, iterations: 1)\n  \
         iteration {{\n{body}\n  }}\n}}\n"
    );
    let mut loader = with_data(MemLoader::new().with("test.load", src.as_str()));
    if let Some(bytes) = server {
        loader = loader.with("reflect:http://127.0.0.1:8088", bytes);
    }
    let c = compile("test.load", &loader, &CompileOptions::default());
    (src, c)
}

#[test]
fn reflected_services_are_checked_like_a_file_and_carried_by_the_plan() {
    let (_, c) = reflected(
        "let r = grpc.invoke(shop, \"shop.Catalog/GetProduct\", {id: 3})\n\
         check \"ok\": r.status == grpc.OK and r.message.list_price.currency == \"USD\"",
        Some(shop()),
    );
    let plan = c.plan.as_ref().unwrap_or_else(|| panic!("{}", show(&c)));
    assert_eq!(plan.protos.len(), 1);
    assert_eq!(plan.protos[0].path, "reflect:http://127.0.0.1:8088");
    assert_eq!(plan.protos[0].bytes, shop());
}

#[test]
fn a_typo_in_a_reflected_message_has_a_fix() {
    let (src, c) = reflected(
        "let r = grpc.invoke(shop, \"shop.Catalog/GetProduct\", {idd: 3})",
        Some(shop()),
    );
    assert_eq!(
        errors(&src, &c),
        vec![("E0824".to_string(), "idd".to_string())],
        "{}",
        show(&c)
    );
    let d = c.diagnostics.iter().find(|d| d.code == "E0824");
    let help = d.and_then(|d| d.help.clone()).unwrap_or_default();
    assert!(help.contains("`id`"), "{help}");
}

#[test]
fn an_unreachable_server_is_e0827_on_its_target() {
    let (src, c) = reflected(
        "let r = grpc.invoke(shop, \"shop.Catalog/GetProduct\", {id: 3})",
        None,
    );
    let found = errors(&src, &c);
    assert_eq!(
        found.first(),
        Some(&("E0827".to_string(), "shop".to_string()))
    );
    let d = c
        .diagnostics
        .iter()
        .find(|d| d.code == "E0827")
        .expect("E0827");
    assert!(d.message.contains("connection refused"), "{}", show(&c));
    assert!(d.message.contains("http://127.0.0.1:8088"), "{}", show(&c));
    // The calls on its services are not reported again: the declaration failed.
    assert!(found.iter().all(|(code, _)| code == "E0827"), "{found:?}");
}

#[test]
fn malformed_proto_declarations_are_e0828() {
    let src = "target shop = \"http://127.0.0.1:8088\"\n\
               data a = proto(reflect: \"http://127.0.0.1:8088\")\n\
               data b = proto(refelct: shop)\n\
               data c = proto()\n\
               data d = proto(\"protos/shop.proto\", reflect: shop)\n";
    let loader = with_data(MemLoader::new().with("test.load", src));
    let c = compile("test.load", &loader, &CompileOptions::default());
    let codes: Vec<String> = errors(src, &c).into_iter().map(|(c, _)| c).collect();
    assert_eq!(codes, ["E0105", "E0828", "E0828", "E0828"], "{}", show(&c));
}

#[test]
fn map_fields_take_records_checked_by_key_and_value() {
    let proto = "syntax = \"proto3\";\npackage t;\n\
                 service S { rpc Put(Item) returns (Item); }\n\
                 message Money { int64 cents = 1; }\n\
                 message Item { map<string, int32> counts = 1; map<int64, Money> prices = 2; \
                 map<bool, string> flags = 3; }\n";
    let src = "target t = \"http://127.0.0.1:1\"\n\
               data api = proto(reflect: t)\n\
               scenario s {\n  workload = shared_iterations(vus: 1, iterations: 1)\n  iteration {\n\
               let a = grpc.invoke(t, \"t.S/Put\", {counts: {a: 1, \"b-c\": 2}, prices: {\"7\": {cents: 5}}, flags: {\"true\": \"x\"}})\n\
               let b = grpc.invoke(t, \"t.S/Put\", {counts: {a: \"one\"}})\n\
               let c = grpc.invoke(t, \"t.S/Put\", {prices: {seven: {cents: 5}}})\n\
               let d = grpc.invoke(t, \"t.S/Put\", {prices: {\"7\": {cent: 5}}})\n\
               let e = grpc.invoke(t, \"t.S/Put\", {counts: [1]})\n\
               check \"x\": a.status == grpc.OK\n\
               }\n}\n";
    let loader = MemLoader::new()
        .with("test.load", src)
        .with("reflect:http://127.0.0.1:1", descriptors(proto));
    let c = compile("test.load", &loader, &CompileOptions::default());
    assert_eq!(
        errors(src, &c),
        vec![
            ("E0825".to_string(), "{a: \"one\"}".to_string()),
            ("E0825".to_string(), "{seven: {cents: 5}}".to_string()),
            ("E0824".to_string(), "cent".to_string()),
            ("E0825".to_string(), "[1]".to_string()),
        ],
        "{}",
        show(&c)
    );
    let d = c.diagnostics.iter().find(|d| d.code == "E0825");
    let msg = d.map(|d| d.message.clone()).unwrap_or_default();
    assert!(
        msg.contains("a map (a record of text keys and int values)"),
        "{msg}"
    );
}
