//! `http = {tls: {..}}`: what reaches the plan (certificates as PEM text, the key only as a
//! secret index), and each diagnostic at its span: unknown versions and suites with the
//! closest name, a private key outside a secret, unreadable or malformed PEM, `cert`
//! without `key`, suites that leave no protocol version.

use super::{errors, show, with_data};
use crate::{compile, CompileOptions, Compiled, MemLoader};
use volley_plan::{TlsOptions, TlsVersion};

/// A PEM certificate section (a DER SEQUENCE: enough for the compiler's check; the
/// engine tests use real certificates).
pub(crate) const CERT: &str = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMAMCAQE=\n-----END PRIVATE KEY-----\n";

fn src(tls: &str) -> String {
    format!(
        "target api = \"https://shop.test\"\nsecret client_key = env(\"CLIENT_KEY\")\n\
         let plain = \"k\"\n\
         scenario s {{\n  workload = constant_vus(vus: 1, duration: 1s)\n  \
         http = {{tls: {tls}}}\n  iteration {{ get(api, \"/\") }}\n}}\n"
    )
}

fn compile_tls(tls: &str) -> (String, Compiled) {
    let s = src(tls);
    let loader = with_data(MemLoader::new().with("test.load", s.clone()))
        .with("certs/ca.pem", format!("{CERT}{CERT}"))
        .with("certs/both.pem", format!("{CERT}{KEY}"))
        .with("certs/client.key", KEY)
        .with("certs/empty.pem", "just text\n")
        .with("certs/cut.pem", "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n")
        .with(
            "certs/bad64.pem",
            "-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n",
        );
    let c = compile("test.load", &loader, &CompileOptions::default());
    (s, c)
}

#[track_caller]
fn tls_of(tls: &str) -> TlsOptions {
    let (_, c) = compile_tls(tls);
    match &c.plan {
        Some(plan) => plan.scenarios[0].http.tls.clone(),
        None => panic!("{tls}:\n{}", show(&c)),
    }
}

/// The one error: code, the text under it, message and help.
#[track_caller]
fn error_of(tls: &str) -> (String, String, String) {
    let (s, c) = compile_tls(tls);
    let errs = errors(&s, &c);
    assert_eq!(errs.len(), 1, "{tls}:\n{}", show(&c));
    let d = c.diagnostics.iter().find(|d| d.is_error()).unwrap();
    let (code, under) = errs.into_iter().next().unwrap();
    (
        code,
        under,
        format!("{} | {}", d.message, d.help.clone().unwrap_or_default()),
    )
}

#[test]
fn a_client_certificate_keeps_its_pem_and_only_names_its_key() {
    let t = tls_of(
        r#"{cert: file("certs/client.pem"), key: client_key, ca: [file("certs/ca.pem")], system_roots: true}"#,
    );
    assert_eq!(t.cert_pem.as_deref(), Some(CERT));
    assert_eq!(t.key_secret, Some(0));
    assert_eq!(t.ca_pem, vec![format!("{CERT}{CERT}")]);
    assert!(t.system_roots);
    let (_, c) = compile_tls(r#"{cert: file("certs/client.pem"), key: client_key}"#);
    let plan = c.plan.unwrap();
    assert_eq!(plan.secrets[0].name, "client_key");
    let json = volley_plan::to_json(&plan);
    assert!(!json.contains("PRIVATE KEY"), "{json}");
}

#[test]
fn versions_and_suites_reach_the_plan() {
    let t = tls_of(
        r#"{min_version: "1.3", ciphers: ["TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"]}"#,
    );
    assert_eq!(t.min_version, Some(TlsVersion::Tls13));
    assert_eq!(
        t.ciphers,
        ["TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"]
    );
    assert_eq!(
        tls_of("{min_version: 1.2}").min_version,
        Some(TlsVersion::Tls12)
    );
    assert_eq!(tls_of("{}"), TlsOptions::default());
}

#[test]
fn private_keys_outside_a_secret_are_refused() {
    let (code, under, text) =
        error_of(r#"{cert: file("certs/client.pem"), key: file("certs/client.key")}"#);
    assert_eq!(
        (code.as_str(), under.as_str()),
        ("E0510", r#"file("certs/client.key")"#)
    );
    assert!(text.contains("secret client_key = env("), "{text}");
    let (code, under, _) =
        error_of(r#"{cert: file("certs/client.pem"), key: "-----BEGIN PRIVATE KEY-----"}"#);
    assert_eq!(
        (code.as_str(), under.as_str()),
        ("E0510", "\"-----BEGIN PRIVATE KEY-----\"")
    );
    let (code, under, _) = error_of(r#"{cert: file("certs/client.pem"), key: plain}"#);
    assert_eq!((code.as_str(), under.as_str()), ("E0510", "plain"));
    let (code, under, text) = error_of(r#"{cert: file("certs/both.pem"), key: client_key}"#);
    assert_eq!(
        (code.as_str(), under.as_str()),
        ("E0510", "\"certs/both.pem\"")
    );
    assert!(text.contains("certificate file"), "{text}");
    let (code, _, _) = error_of(r#"{ca: file("certs/client.key")}"#);
    assert_eq!(code, "E0510");
}

#[test]
fn certificate_files_are_checked_when_the_test_compiles() {
    for (file, why) in [
        ("certs/nope.pem", "no such file"),
        ("certs/empty.pem", "no `-----BEGIN CERTIFICATE-----`"),
        ("certs/cut.pem", "no END line"),
        ("certs/bad64.pem", "not valid base64"),
    ] {
        let (code, under, text) = error_of(&format!(r#"{{ca: file("{file}")}}"#));
        assert_eq!((code.as_str(), under), ("E0317", format!("\"{file}\"")));
        assert!(text.contains(why), "{file}: {text}");
    }
    let (code, under, _) = error_of(r#"{ca: "certs/ca.pem"}"#);
    assert_eq!(
        (code.as_str(), under.as_str()),
        ("E0723", "\"certs/ca.pem\"")
    );
}

#[test]
fn unknown_versions_and_suites_suggest_the_closest() {
    let (code, under, text) = error_of(r#"{min_version: "1.1"}"#);
    assert_eq!((code.as_str(), under.as_str()), ("E0315", "\"1.1\""));
    assert!(text.contains("1.2"), "{text}");
    let (code, under, text) = error_of(r#"{ciphers: ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265"]}"#);
    assert_eq!(code, "E0315");
    assert_eq!(under, "\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265\"");
    assert!(
        text.contains("did you mean `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`"),
        "{text}"
    );
    // rustls's spelling of a TLS 1.3 suite: the IANA name is offered.
    let (_, _, text) = error_of(r#"{ciphers: ["TLS13_AES_128_GCM_SHA256"]}"#);
    assert!(text.contains("`TLS_AES_128_GCM_SHA256`"), "{text}");
    let (code, _, _) = error_of(r#"{cipher: []}"#);
    assert_eq!(code, "E0301");
}

#[test]
fn options_that_cannot_work_together() {
    let (code, under, text) = error_of(r#"{cert: file("certs/client.pem")}"#);
    assert_eq!((code.as_str(), under.as_str()), ("E0316", "cert"));
    assert!(text.contains("key: client_key"), "{text}");
    let (code, under, _) = error_of("{key: client_key}");
    assert_eq!((code.as_str(), under.as_str()), ("E0316", "key"));
    let (code, _, text) =
        error_of(r#"{min_version: "1.3", ciphers: ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]}"#);
    assert_eq!(code, "E0316");
    assert!(text.contains("TLS 1.3"), "{text}");
}
