//! TLS client configurations, built once per run and shared (`Arc`) by every VU.
//!
//! A [`TlsConfig`] holds four `rustls::ClientConfig`s: {verifying, insecure} × {ALPN
//! `http/1.1`, ALPN `h2,http/1.1`}; a client picks one from its options. Verifying
//! configurations trust the webpki (Mozilla) roots plus any extra roots given (a
//! scenario's `http.tls.ca` and `system_roots`; tests use this for self-signed
//! certificates). Insecure ones accept any certificate for any name but still check the
//! handshake signatures. [`TlsSettings`] adds a client certificate (mTLS), TLS 1.3 only
//! and a choice of cipher suites to both. Only the `ring` provider is used (no aws-lc).
//! This module must not do IO: the caller reads files, secrets and the system store.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::error::{codes, HttpError};

/// Shared TLS client configurations; see the module docs.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    verifying_h1: Arc<ClientConfig>,
    verifying_h2: Arc<ClientConfig>,
    insecure_h1: Arc<ClientConfig>,
    insecure_h2: Arc<ClientConfig>,
}

impl TlsConfig {
    /// Trust the webpki roots only. Fails (code 1300) only if the crypto provider cannot
    /// offer the default protocol versions, which does not happen with `ring`.
    pub fn new() -> Result<Arc<Self>, HttpError> {
        Self::with_extra_roots(&[])
    }

    /// Trust the webpki roots plus these DER certificates. Errors (code 1300) on a
    /// certificate rustls cannot use as a trust anchor.
    pub fn with_extra_roots(extra: &[CertificateDer<'static>]) -> Result<Arc<Self>, HttpError> {
        Self::with_settings(TlsSettings {
            extra_roots: extra.to_vec(),
            ..TlsSettings::default()
        })
    }

    /// The configurations for these settings. Errors (code 1300) on a certificate rustls
    /// cannot use as a trust anchor, a client key that does not suit its certificate, or
    /// suites that leave no protocol version.
    pub fn with_settings(settings: TlsSettings) -> Result<Arc<Self>, HttpError> {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for cert in &settings.extra_roots {
            roots
                .add(cert.clone())
                .map_err(|e| HttpError::new(codes::TLS, format!("bad root certificate: {e}")))?;
        }
        let mut provider = rustls::crypto::ring::default_provider();
        if settings.cipher_suites.is_empty() {
            prefer_aes128(&mut provider.cipher_suites);
        } else {
            provider.cipher_suites = settings
                .cipher_suites
                .iter()
                .filter_map(|id| {
                    let found = provider.cipher_suites.iter();
                    found.copied().find(|s| u16::from(s.suite()) == *id)
                })
                .collect();
        }
        let provider = Arc::new(provider);
        let versions: &[&rustls::SupportedProtocolVersion] = if settings.tls13_only {
            &[&rustls::version::TLS13]
        } else {
            rustls::DEFAULT_VERSIONS
        };
        let verifying = builder(&provider, versions)?.with_root_certificates(roots);
        let insecure = builder(&provider, versions)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(Arc::clone(&provider))));
        let (verifying, insecure) = match settings.client_cert {
            Some((chain, key)) => {
                let bad = |e: rustls::Error| {
                    HttpError::new(codes::TLS, format!("client certificate: {e}"))
                };
                (
                    verifying
                        .with_client_auth_cert(chain.clone(), key.clone_key())
                        .map_err(bad)?,
                    insecure.with_client_auth_cert(chain, key).map_err(bad)?,
                )
            }
            None => (
                verifying.with_no_client_auth(),
                insecure.with_no_client_auth(),
            ),
        };
        Ok(Arc::new(TlsConfig {
            verifying_h1: alpn(&verifying, false),
            verifying_h2: alpn(&verifying, true),
            insecure_h1: alpn(&insecure, false),
            insecure_h2: alpn(&insecure, true),
        }))
    }

    /// Trust the webpki roots plus every certificate in this PEM text.
    pub fn with_extra_roots_pem(pem: &[u8]) -> Result<Arc<Self>, HttpError> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| HttpError::new(codes::TLS, format!("bad PEM root certificate: {e}")))?;
        Self::with_extra_roots(&certs)
    }

    /// The configuration for a connection: `insecure` accepts any certificate, `http2`
    /// offers `h2` before `http/1.1` in ALPN.
    pub fn client_config(&self, insecure: bool, http2: bool) -> &Arc<ClientConfig> {
        match (insecure, http2) {
            (false, false) => &self.verifying_h1,
            (false, true) => &self.verifying_h2,
            (true, false) => &self.insecure_h1,
            (true, true) => &self.insecure_h2,
        }
    }
}

/// The default order of the suites offered: AES-128-GCM before AES-256-GCM in each
/// version and key type, as k6 (Go's crypto/tls), Chrome and Firefox offer them, where
/// rustls puts AES-256 first. A server that follows the client's order (nginx's default)
/// then negotiates with Volley what it negotiates with k6 and with browsers, so a test
/// loads it with the cipher its real clients use (AES-256 costs both ends 40 % more AES
/// rounds per record).
fn prefer_aes128(suites: &mut [rustls::SupportedCipherSuite]) {
    use rustls::CipherSuite as C;
    let rank = |s: &rustls::SupportedCipherSuite| match s.suite() {
        C::TLS13_AES_128_GCM_SHA256 => 0,
        C::TLS13_AES_256_GCM_SHA384 => 1,
        C::TLS13_CHACHA20_POLY1305_SHA256 => 2,
        C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => 3,
        C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => 4,
        C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => 5,
        C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => 6,
        C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => 7,
        C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => 8,
        _ => 9,
    };
    suites.sort_by_key(rank);
}

fn builder(
    provider: &Arc<CryptoProvider>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier>, HttpError> {
    ClientConfig::builder_with_provider(Arc::clone(provider))
        .with_protocol_versions(versions)
        .map_err(|e| HttpError::new(codes::TLS, format!("tls setup: {e}")))
}

/// What a scenario's `http.tls` asks for beyond the defaults, its certificates decoded.
#[derive(Debug, Default)]
pub struct TlsSettings {
    /// Trusted beside the webpki roots (`ca`, `system_roots`).
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// The client certificate chain and its key (mTLS).
    pub client_cert: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    /// Offer TLS 1.3 only (`min_version: "1.3"`).
    pub tls13_only: bool,
    /// The suites offered, by IANA code point, in order; empty offers rustls's defaults.
    pub cipher_suites: Vec<u16>,
}

fn alpn(base: &ClientConfig, http2: bool) -> Arc<ClientConfig> {
    let mut config = base.clone();
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Arc::new(config)
}

/// `insecure_tls`: any certificate for any name, signatures still checked.
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
