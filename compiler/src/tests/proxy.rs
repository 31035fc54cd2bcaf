//! `http = {proxy: .., no_proxy: [..]}`: what reaches the plan, and E0318 at the value.

use super::{compile_src, errors, show};

fn with_http(fields: &str) -> String {
    format!(
        "target api = \"http://shop.test:8088\"\nscenario s {{\n  workload = constant_vus(vus: 1, duration: 1s)\n  http = {{{fields}}}\n  iteration {{ get(api, \"/\") }}\n}}\n"
    )
}

#[test]
fn proxies_reach_the_plan() {
    let c = compile_src(&with_http(
        r#"proxy: "http://proxy.corp:3128", no_proxy: ["corp.example", "10.0.0.0/8", "*"]"#,
    ));
    let plan = c.plan.clone().unwrap_or_else(|| panic!("{}", show(&c)));
    let h = &plan.scenarios[0].http;
    assert_eq!(h.proxy.as_deref(), Some("http://proxy.corp:3128"));
    assert_eq!(h.no_proxy, ["corp.example", "10.0.0.0/8", "*"]);
}

#[test]
fn a_url_param_can_name_the_proxy() {
    let src = with_http("proxy: proxy_url").replace(
        "target api",
        "param proxy_url: url = \"http://10.0.0.9:3128\"\ntarget api",
    );
    let c = super::compile_with(&src, &[("proxy_url", "http://10.1.1.1:8080")]);
    let plan = c.plan.clone().unwrap_or_else(|| panic!("{}", show(&c)));
    assert_eq!(
        plan.scenarios[0].http.proxy.as_deref(),
        Some("http://10.1.1.1:8080")
    );
}

#[test]
fn bad_proxies_are_e0318_at_the_value_without_the_password() {
    for (fields, under, why) in [
        (
            r#"proxy: "socks5://p:1080""#,
            r#""socks5://p:1080""#,
            "not supported",
        ),
        (
            r#"proxy: "http://u:hunter2@p:3128/x""#,
            r#""http://u:hunter2@p:3128/x""#,
            "no path",
        ),
        (
            r#"no_proxy: ["http://corp.example"]"#,
            r#""http://corp.example""#,
            "not a URL",
        ),
        (
            r#"no_proxy: ["a.test, b.test"]"#,
            r#""a.test, b.test""#,
            "one host",
        ),
    ] {
        let src = with_http(fields);
        let c = compile_src(&src);
        assert_eq!(
            errors(&src, &c),
            vec![("E0318".to_string(), under.to_string())],
            "{}",
            show(&c)
        );
        let d = c.diagnostics.iter().find(|d| d.is_error()).unwrap();
        assert!(d.message.contains(why), "{}", d.message);
        assert!(!d.message.contains("hunter2"), "{}", d.message);
    }
}
