//! TLS: verification against a self-signed certificate, extra roots, insecure mode, ALPN h2.

use std::sync::Arc;

use http::Method;
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
