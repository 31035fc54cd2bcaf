//! Each scenario's TLS configuration from its `http.tls` in the plan: the certificates the
//! compiler read (PEM text), the client key from its secret's value, the machine's trust
//! store when `system_roots` asks for it (read once per run). A scenario without `tls`
//! shares the run's default configuration. Errors name the scenario and the secret, never
//! a value.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use volley_plan::tls::cipher_suite;
use volley_plan::{Plan, TlsOptions, TlsVersion};

use super::ProgramError;
use crate::http::{codes, HttpError, TlsConfig, TlsSettings};

/// One configuration per scenario (in plan order), then one for setup and teardown: the
/// first scenario's that sets `tls`, as the hosts of `http.hosts` are shared.
pub(super) fn configs(
    plan: &Plan,
    secrets: &[String],
    default: &Arc<TlsConfig>,
) -> Result<Vec<Arc<TlsConfig>>, ProgramError> {
    let mut system: Option<Vec<CertificateDer<'static>>> = None;
    let mut out = Vec::with_capacity(plan.scenarios.len() + 1);
    let mut hooks = None;
    for s in &plan.scenarios {
        if s.http.tls.is_default() {
            out.push(Arc::clone(default));
            continue;
        }
        let settings = settings(plan, &s.http.tls, secrets, &mut system)
            .map_err(|e| ProgramError::Tls(prefix(e, &s.name)))?;
        let config = TlsConfig::with_settings(settings)
            .map_err(|e| ProgramError::Tls(prefix(e, &s.name)))?;
        hooks.get_or_insert_with(|| Arc::clone(&config));
        out.push(config);
    }
    out.push(hooks.unwrap_or_else(|| Arc::clone(default)));
    Ok(out)
}

fn prefix(e: HttpError, scenario: &str) -> HttpError {
    HttpError::new(e.code, format!("scenario {scenario}: {}", e.message))
}

fn settings(
    plan: &Plan,
    t: &TlsOptions,
    secrets: &[String],
    system: &mut Option<Vec<CertificateDer<'static>>>,
) -> Result<TlsSettings, HttpError> {
    let bad = |what: String| HttpError::new(codes::TLS, what);
    let mut extra_roots = Vec::new();
    for pem in &t.ca_pem {
        extra_roots.extend(certs(pem).map_err(|e| bad(format!("http.tls.ca: {e}")))?);
    }
    if t.system_roots {
        extra_roots.extend(system.get_or_insert_with(system_roots).iter().cloned());
    }
    let client_cert = match (&t.cert_pem, t.key_secret) {
        (Some(pem), Some(i)) => {
            let chain = certs(pem).map_err(|e| bad(format!("http.tls.cert: {e}")))?;
            let name = plan
                .secrets
                .get(i as usize)
                .map_or("?", |s| s.name.as_str());
            let value = secrets.get(i as usize).map_or("", String::as_str);
            // The parser's error could echo part of the value: only say what is wrong.
            let key = PrivateKeyDer::from_pem_slice(value.as_bytes()).map_err(|_| {
                bad(format!(
                    "secret `{name}` (http.tls.key) is not a PEM private key \
                     (-----BEGIN PRIVATE KEY-----, RSA or EC)"
                ))
            })?;
            Some((chain, key))
        }
        _ => None,
    };
    Ok(TlsSettings {
        extra_roots,
        client_cert,
        tls13_only: t.min_version == Some(TlsVersion::Tls13),
        cipher_suites: t
            .ciphers
            .iter()
            .filter_map(|c| cipher_suite(c).map(|s| s.id))
            .collect(),
    })
}

fn certs(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("bad PEM certificate: {e}"))
}

/// The machine's trust store (`rustls-native-certs`: `SSL_CERT_FILE`/`SSL_CERT_DIR`, else
/// the distribution's bundle). Unreadable entries are logged and skipped; an empty store
/// is a warning, not an error (the bundled roots still apply).
fn system_roots() -> Vec<CertificateDer<'static>> {
    let found = rustls_native_certs::load_native_certs();
    for e in found.errors.iter().take(3) {
        tracing::warn!("system trust store: {e}");
    }
    if found.certs.is_empty() {
        tracing::warn!(
            "http.tls.system_roots: the system trust store is empty or missing \
             (set SSL_CERT_FILE or SSL_CERT_DIR); only the bundled roots are trusted"
        );
    }
    found.certs
}
