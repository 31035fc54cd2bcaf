//! TLS: verification against a self-signed certificate, extra roots, insecure mode, ALPN h2.

use std::sync::Arc;

use http::Method;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::{run, serve, url, Server};
use crate::http::{codes, ClientOptions, Request, Resolver, TlsConfig, VuClient};

struct Cert {
    der: CertificateDer<'static>,
    pem: String,
    server: Arc<rustls::ServerConfig>,
}

/// A self-signed certificate for `localhost` only, and a server config (ALPN h2, http/1.1).
fn cert() -> Cert {
    let rcgen::CertifiedKey { cert, key_pair } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("rcgen");
    let der = cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_pair.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .expect("server cert");
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Cert {
        der,
        pem: cert.pem(),
        server: Arc::new(server),
    }
}

fn tls_client(tls: Arc<TlsConfig>, opts: ClientOptions) -> VuClient {
    VuClient::new(Arc::new(opts), Resolver::new(), tls)
}

fn localhost(server: &Server, path: &str) -> url::Url {
    url(&format!("https://localhost:{}{path}", server.addr.port()))
}

#[test]
fn untrusted_certificate_fails_with_1310() {
    run(async {
        let c = cert();
        let server = serve(Some(c.server)).await;
        let mut client = tls_client(TlsConfig::new().expect("tls"), ClientOptions::default());
        let resp = client
            .send(Request::new(Method::GET, localhost(&server, "/hello")))
            .await;
        assert_eq!(resp.status, 0);
        let err = resp.error.expect("an error");
        assert_eq!(err.code, codes::TLS_CERTIFICATE, "{err}");
    });
}

#[test]
fn extra_root_is_trusted_and_connection_reused() {
    run(async {
        let c = cert();
        let server = serve(Some(c.server)).await;
        let tls = TlsConfig::with_extra_roots_pem(c.pem.as_bytes()).expect("pem root");
        let mut client = tls_client(tls, ClientOptions::default());
        for i in 0..5 {
            let resp = client
                .send(Request::new(Method::GET, localhost(&server, "/hello")))
                .await;
            assert_eq!(resp.error, None);
            assert_eq!(resp.status, 200);
            assert_eq!(&resp.body[..], b"hello");
            assert_eq!(resp.proto, "HTTP/1.1");
            if i == 0 {
                assert!(resp.timings.tls_handshaking > std::time::Duration::ZERO);
                // The handshake's certificate alone is hundreds of bytes.
                assert!(resp.bytes_received > 300, "{}", resp.bytes_received);
            } else {
                assert_eq!(resp.timings.tls_handshaking, std::time::Duration::ZERO);
            }
        }
        assert_eq!(server.accepts.get(), 1);
    });
}

#[test]
fn hostname_mismatch_fails_with_1311() {
    run(async {
        let c = cert();
        let server = serve(Some(c.server)).await;
        let tls = TlsConfig::with_extra_roots(&[c.der]).expect("der root");
        let mut client = tls_client(tls, ClientOptions::default());
        let resp = client
            .send(Request::new(Method::GET, server.url("https", "/hello")))
            .await;
        let err = resp.error.expect("an error");
        assert_eq!(err.code, codes::TLS_HOSTNAME, "{err}");
    });
}

#[test]
fn insecure_accepts_anything() {
    run(async {
        let c = cert();
        let server = serve(Some(c.server)).await;
        let opts = ClientOptions {
            insecure_tls: true,
            ..ClientOptions::default()
        };
        let mut client = tls_client(TlsConfig::new().expect("tls"), opts);
        // Neither trusted nor issued for 127.0.0.1.
        let resp = client
            .send(Request::new(Method::GET, server.url("https", "/hello")))
            .await;
        assert_eq!(resp.error, None);
        assert_eq!(resp.status, 200);
    });
}

#[test]
fn http2_over_tls_by_alpn() {
    run(async {
        let c = cert();
        let server = serve(Some(c.server)).await;
        let tls = TlsConfig::with_extra_roots(&[c.der]).expect("der root");
        let opts = ClientOptions {
            http2: true,
            ..ClientOptions::default()
        };
        let mut client = tls_client(tls, opts);
        for _ in 0..5 {
            let req = Request::new(Method::POST, localhost(&server, "/echo")).body("over h2");
            let resp = client.send(req).await;
            assert_eq!(resp.error, None);
            assert_eq!(resp.proto, "HTTP/2");
            assert_eq!(&resp.body[..], b"over h2");
            assert_eq!(resp.header("x-version"), Some("HTTP/2.0"));
        }
        assert_eq!(server.accepts.get(), 1);
    });
}

#[test]
fn bad_pem_is_an_error_not_a_panic() {
    let err = TlsConfig::with_extra_roots_pem(b"-----BEGIN CERTIFICATE-----\nnot base64!\n")
        .expect_err("bad pem");
    assert_eq!(err.code, codes::TLS);
    let err =
        TlsConfig::with_extra_roots(&[CertificateDer::from(vec![1, 2, 3])]).expect_err("bad der");
    assert_eq!(err.code, codes::TLS);
}

/// A CA, a server certificate for `localhost` and a client certificate it issued.
struct Pki {
    ca: CertificateDer<'static>,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivateKeyDer<'static>,
    client_chain: Vec<CertificateDer<'static>>,
    client_key_pem: String,
}

fn pki() -> Pki {
    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let issue = |names: Vec<String>| {
        let key = rcgen::KeyPair::generate().expect("key");
        let params = rcgen::CertificateParams::new(names).expect("params");
        let cert = params.signed_by(&key, &ca, &ca_key).expect("issued");
        (cert.der().clone(), key)
    };
    let (server, server_key) = issue(vec!["localhost".into()]);
    let (client, client_key) = issue(vec!["load-test-client".into()]);
    Pki {
        ca: ca.der().clone(),
        server_chain: vec![server],
        server_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        client_chain: vec![client],
        client_key_pem: client_key.serialize_pem(),
    }
}

/// A server that requires a client certificate issued by the PKI's CA, with these versions
/// and suites.
fn mtls_server(
    p: &Pki,
    versions: &[&'static rustls::SupportedProtocolVersion],
    suites: Option<&[rustls::CipherSuite]>,
) -> Arc<rustls::ServerConfig> {
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(keep) = suites {
        provider.cipher_suites.retain(|s| keep.contains(&s.suite()));
    }
    let provider = Arc::new(provider);
    let mut roots = rustls::RootCertStore::empty();
    roots.add(p.ca.clone()).expect("ca");
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider.clone())
            .build()
            .expect("verifier");
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(p.server_chain.clone(), p.server_key.clone_key())
        .expect("server cert");
    Arc::new(config)
}

fn client_settings(p: &Pki, with_cert: bool) -> crate::http::TlsSettings {
    let key = PrivateKeyDer::from_pem_slice(p.client_key_pem.as_bytes()).expect("key pem");
    crate::http::TlsSettings {
        extra_roots: vec![p.ca.clone()],
        client_cert: with_cert.then(|| (p.client_chain.clone(), key)),
        ..crate::http::TlsSettings::default()
    }
}

async fn get_once(tls: Arc<TlsConfig>, server: &Server) -> crate::http::Response {
    let mut client = tls_client(tls, ClientOptions::default());
    client
        .send(Request::new(Method::GET, localhost(server, "/hello")))
        .await
}

#[test]
fn client_certificate_is_presented_and_required() {
    run(async {
        let p = pki();
        let server = serve(Some(mtls_server(&p, rustls::DEFAULT_VERSIONS, None))).await;
        let with = TlsConfig::with_settings(client_settings(&p, true)).expect("mtls config");
        let resp = get_once(with, &server).await;
        assert_eq!(resp.error, None);
        assert_eq!(resp.status, 200);
        let without = TlsConfig::with_settings(client_settings(&p, false)).expect("config");
        let resp = get_once(without, &server).await;
        assert_eq!(resp.status, 0);
        let err = resp.error.expect("refused without a client certificate");
        assert_eq!(err.code, codes::TLS, "{err}");
        assert!(err.message.contains("CertificateRequired"), "{err}");
    });
}

#[test]
fn minimum_version_and_suites_are_what_is_offered() {
    run(async {
        let p = pki();
        // A TLS 1.2-only server: refused by a TLS 1.3-only client, fine otherwise.
        let server = serve(Some(mtls_server(&p, &[&rustls::version::TLS12], None))).await;
        let mut s = client_settings(&p, true);
        s.tls13_only = true;
        let resp = get_once(TlsConfig::with_settings(s).expect("1.3"), &server).await;
        assert_eq!(resp.error.map(|e| e.code), Some(codes::TLS));
        let ok = TlsConfig::with_settings(client_settings(&p, true)).expect("config");
        assert_eq!(get_once(ok, &server).await.status, 200);

        // A server with one TLS 1.3 suite: a client offering only another one fails.
        let only = [rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256];
        let server = serve(Some(mtls_server(&p, rustls::ALL_VERSIONS, Some(&only)))).await;
        let mut s = client_settings(&p, true);
        s.cipher_suites = vec![0x1301];
        let resp = get_once(TlsConfig::with_settings(s).expect("aes"), &server).await;
        assert_eq!(resp.error.map(|e| e.code), Some(codes::TLS));
        let mut s = client_settings(&p, true);
        s.cipher_suites = vec![0x1301, 0x1303];
        let resp = get_once(TlsConfig::with_settings(s).expect("chacha"), &server).await;
        assert_eq!((resp.status, resp.error), (200, None));
    });
}

/// By default the client offers AES-128-GCM first in each version, as k6 and browsers
/// do, and a server that follows the client's order picks it.
#[test]
fn aes_128_gcm_is_offered_first_and_negotiated() {
    use rustls::CipherSuite as C;
    let suites = |tls: &TlsConfig| -> Vec<C> {
        let provider = tls.client_config(false, false).crypto_provider();
        provider.cipher_suites.iter().map(|s| s.suite()).collect()
    };
    let offered = suites(&TlsConfig::new().expect("config"));
    let at = |s: C| offered.iter().position(|o| *o == s).expect("offered");
    assert_eq!(offered[0], C::TLS13_AES_128_GCM_SHA256, "{offered:?}");
    assert!(at(C::TLS13_AES_128_GCM_SHA256) < at(C::TLS13_AES_256_GCM_SHA384));
    assert!(
        at(C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
            < at(C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384)
    );
    assert!(
        at(C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) < at(C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384)
    );
    // Every suite rustls offers is still offered.
    assert_eq!(
        offered.len(),
        rustls::crypto::ring::default_provider().cipher_suites.len()
    );
    // The `ciphers:` a test names keep their order.
    let s = crate::http::TlsSettings {
        cipher_suites: vec![0x1302, 0x1301],
        ..crate::http::TlsSettings::default()
    };
    let named = suites(&TlsConfig::with_settings(s).expect("named"));
    assert_eq!(
        named,
        [C::TLS13_AES_256_GCM_SHA384, C::TLS13_AES_128_GCM_SHA256]
    );
}

#[test]
fn every_suite_the_plan_names_is_one_rustls_offers() {
    let provider = rustls::crypto::ring::default_provider();
    for s in volley_plan::tls::CIPHER_SUITES {
        let found = provider
            .cipher_suites
            .iter()
            .find(|c| u16::from(c.suite()) == s.id)
            .unwrap_or_else(|| panic!("{} is not a ring suite", s.name));
        let is13 = found.tls13().is_some();
        assert_eq!(
            is13,
            s.version == volley_plan::TlsVersion::Tls13,
            "{}",
            s.name
        );
    }
}
