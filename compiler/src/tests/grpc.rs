//! gRPC in the compiler: the `.proto` compiled into the plan (imports relative to the
//! declaring file), `grpc.invoke` lowered with its method, metadata and deadline, nested
//! message fields and enum values checked, streams refused, status codes as ints.

use super::{compile_src, errors, show, with_data};
use crate::{compile, CompileOptions, MemLoader};
use volley_plan::program::{walk_exprs, Expr};

fn call(body: &str) -> String {
    format!(
        "target shop = \"http://127.0.0.1:8088\"\n\
         data catalog = proto(\"protos/shop.proto\")\n\
         scenario s {{\n  workload = shared_iterations(vus: 1, iterations: 1)\n  \
         iteration {{\n{body}\n  }}\n}}\n"
    )
}

#[test]
fn a_call_lowers_with_its_descriptor_set_method_metadata_and_deadline() {
    let src = call(
        "let r = grpc.invoke(shop, \"shop.Catalog/GetProduct\", {id: 3}, \
         metadata: {\"x-id\": \"a\"}, timeout: 2s, tags: {kind: \"x\"})\n\
         check \"ok\": r.status == grpc.OK and r.message.list_price.cents > 0",
    );
    let c = compile_src(&src);
    let plan = c.plan.as_ref().unwrap_or_else(|| panic!("{}", show(&c)));
    assert_eq!(plan.protos.len(), 1);
    assert_eq!(plan.protos[0].path, "protos/shop.proto");
    assert!(!plan.protos[0].bytes.is_empty());
    let mut calls = Vec::new();
    walk_exprs(&plan.scenarios[0].iteration, &mut |e| {
        if let Expr::Grpc(g) = e {
            calls.push(g.clone());
        }
    });
    let [g] = calls.as_slice() else {
        panic!("one call: {calls:?}")
    };
    assert_eq!(g.method, "shop.Catalog/GetProduct");
    assert_eq!(g.timeout_ms, Some(2000));
    assert!(g.metadata.is_some());
    assert_eq!(g.tags.get("kind").map(String::as_str), Some("x"));
}

#[test]
fn nested_fields_enums_and_streams_are_checked() {
    let proto = "syntax = \"proto3\";\npackage t;\nimport \"common/money.proto\";\n\
                 service S {\n  rpc Put(Item) returns (Item);\n  \
                 rpc Watch(Item) returns (stream Item);\n}\n\
                 enum Color { RED = 0; BLUE = 1; }\n\
                 message Item { common.Money price = 1; Color color = 2; repeated int32 n = 3; }\n";
    let money = "syntax = \"proto3\";\npackage common;\nmessage Money { int64 cents = 1; }\n";
    let src = "target t = \"http://127.0.0.1:1\"\n\
               data api = proto(\"protos/t.proto\")\n\
               scenario s {\n  workload = shared_iterations(vus: 1, iterations: 1)\n  iteration {\n\
               let a = grpc.invoke(t, \"t.S/Put\", {price: {cents: 5}, color: \"BLUE\", n: [1, 2]})\n\
               let b = grpc.invoke(t, \"t.S/Put\", {price: {cent: 5}})\n\
               let c = grpc.invoke(t, \"t.S/Put\", {color: \"GREEN\"})\n\
               let d = grpc.invoke(t, \"t.S/Put\", {n: [\"x\"]})\n\
               let e = grpc.invoke(t, \"t.S/Watch\", {})\n\
               check \"x\": a.message.price.cents == 5 and a.message.color == \"BLUE\"\n\
               }\n}\n";
    let loader = with_data(
        MemLoader::new()
            .with("test.load", src)
            .with("protos/t.proto", proto)
            .with("common/money.proto", money),
    );
    let c = compile("test.load", &loader, &CompileOptions { params: vec![] });
    let found = errors(src, &c);
    assert_eq!(
        found,
        vec![
            ("E0824".to_string(), "cent".to_string()),
            ("E0824".to_string(), "\"GREEN\"".to_string()),
            ("E0825".to_string(), "[\"x\"]".to_string()),
            ("E0822".to_string(), "\"t.S/Watch\"".to_string()),
        ],
        "{}",
        show(&c)
    );
}

#[test]
fn a_proto_that_does_not_compile_names_the_reason() {
    let src = "data api = proto(\"protos/bad.proto\")\n";
    let loader = with_data(MemLoader::new().with("test.load", src).with(
        "protos/bad.proto",
        "syntax = \"proto3\";\nmessage M { int32 x = 1 }\n",
    ));
    let c = compile("test.load", &loader, &CompileOptions { params: vec![] });
    let found = errors(src, &c);
    assert_eq!(found.len(), 1, "{}", show(&c));
    assert_eq!(found[0], ("E0820".into(), "\"protos/bad.proto\"".into()));
}

#[test]
fn a_proto_is_not_a_value_and_status_codes_are_ints() {
    let src = call("let x = catalog\nlet y = grpc.NOT_FOUND + 1\nlog(\"{y}\")");
    let c = compile_src(&src);
    let found = errors(&src, &c);
    assert_eq!(
        found,
        vec![("E0211".to_string(), "catalog".to_string())],
        "{}",
        show(&c)
    );
}

#[test]
fn calls_reach_declared_targets_only_and_secrets_stay_out_of_tags() {
    let src = call(
        "let a = grpc.invoke(\"http://10.0.0.1:50051\", \"shop.Catalog/GetProduct\", {id: 1})\n\
         let b = grpc.invoke(shop, \"shop.Catalog/GetProduct\", {id: 1}, metadata: {authorization: key}, tags: {who: key})",
    )
    .replace("data catalog", "secret key = env(\"KEY\")\ndata catalog");
    let c = compile_src(&src);
    let codes: Vec<String> = errors(&src, &c).into_iter().map(|(c, _)| c).collect();
    assert_eq!(codes.len(), 2, "{}", show(&c));
    assert_eq!(codes[0], "E0105", "a string is not a declared target");
    assert!(
        codes[1].starts_with("E05"),
        "a secret as a tag: {}",
        show(&c)
    );
}

#[test]
fn streams_check_each_message_and_answer_a_list() {
    let src = call(
        "let a = grpc.stream(shop, \"shop.Catalog/AddToCart\", [{product_id: 1, qty: 2}, {product_id: 2, qtty: 1}])\n\
         let b = grpc.stream(shop, \"shop.Catalog/GetProduct\", [{id: 1}])\n\
         let c = grpc.stream(shop, \"shop.Catalog/ListProducts\", {limit: 3})\n\
         check \"n\": c.messages.len() == 3 and c.messages[0].name != \"\"",
    );
    let c = compile_src(&src);
    assert_eq!(
        errors(&src, &c),
        vec![
            ("E0824".to_string(), "qtty".to_string()),
            (
                "E0822".to_string(),
                "\"shop.Catalog/GetProduct\"".to_string()
            ),
        ],
        "{}",
        show(&c)
    );
}
