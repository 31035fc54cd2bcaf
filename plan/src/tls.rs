//! A scenario's `http.tls`: the client certificate (its key only as a secret reference),
//! extra trusted roots, the system trust store, the minimum protocol version and the
//! cipher suites, with the suite names both the compiler (which checks them) and the
//! engine (which maps them to rustls) read from one table.

use serde::{Deserialize, Serialize};

/// `http.tls`. Certificates are PEM text read when the test compiled; the private key is
/// never in the plan, only the secret that holds it at run time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsOptions {
    /// The client certificate chain, PEM (`cert: file(..)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_pem: Option<String>,
    /// The client certificate's private key: the secret (index into `Plan::secrets`)
    /// whose value is its PEM text (`key: client_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_secret: Option<u32>,
    /// Extra trusted roots, PEM bundles (`ca: file(..)` or a list of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ca_pem: Vec<String>,
    /// Also trust the machine's trust store (`system_roots: true`), beside the bundled
    /// Mozilla roots.
    #[serde(default, skip_serializing_if = "is_false")]
    pub system_roots: bool,
    /// The lowest protocol version offered (`min_version: "1.3"`); `None` offers 1.2 and 1.3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<TlsVersion>,
    /// The cipher suites offered, IANA names in preference order (`ciphers: [..]`);
    /// empty offers rustls's defaults.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ciphers: Vec<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl TlsOptions {
    /// Nothing set: the run's shared default configuration serves.
    pub fn is_default(&self) -> bool {
        *self == TlsOptions::default()
    }
}

/// A TLS protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TlsVersion {
    #[serde(rename = "1.2")]
    Tls12,
    #[serde(rename = "1.3")]
    Tls13,
}

impl TlsVersion {
    /// As written in a `.load` file and the plan: `1.2`, `1.3`.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "1.2",
            TlsVersion::Tls13 => "1.3",
        }
    }
}

/// One cipher suite Volley offers: its IANA name (as Go and k6 spell them), its code
/// point and the protocol version it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CipherSuite {
    pub name: &'static str,
    pub id: u16,
    pub version: TlsVersion,
}

const fn suite(name: &'static str, id: u16, version: TlsVersion) -> CipherSuite {
    CipherSuite { name, id, version }
}

/// Every suite `ciphers:` may name: those of rustls's `ring` provider (AEADs with
/// forward secrecy only; there is no CBC or RSA key exchange to choose).
pub const CIPHER_SUITES: &[CipherSuite] = &[
    suite("TLS_AES_128_GCM_SHA256", 0x1301, TlsVersion::Tls13),
    suite("TLS_AES_256_GCM_SHA384", 0x1302, TlsVersion::Tls13),
    suite("TLS_CHACHA20_POLY1305_SHA256", 0x1303, TlsVersion::Tls13),
    suite(
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xc02b,
        TlsVersion::Tls12,
    ),
    suite(
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        0xc02c,
        TlsVersion::Tls12,
    ),
    suite(
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xc02f,
        TlsVersion::Tls12,
    ),
    suite(
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        0xc030,
        TlsVersion::Tls12,
    ),
    suite(
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xcca8,
        TlsVersion::Tls12,
    ),
    suite(
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        0xcca9,
        TlsVersion::Tls12,
    ),
];

/// The suite named `name` (exact IANA spelling).
pub fn cipher_suite(name: &str) -> Option<&'static CipherSuite> {
    CIPHER_SUITES.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_options_leave_the_plan_unchanged() {
        let json = serde_json::to_string(&TlsOptions::default()).unwrap();
        assert_eq!(json, "{}");
        let t = TlsOptions {
            min_version: Some(TlsVersion::Tls13),
            ciphers: vec!["TLS_AES_128_GCM_SHA256".into()],
            ..TlsOptions::default()
        };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(
            json,
            r#"{"min_version":"1.3","ciphers":["TLS_AES_128_GCM_SHA256"]}"#
        );
        assert_eq!(serde_json::from_str::<TlsOptions>(&json).unwrap(), t);
    }

    #[test]
    fn suite_names_are_unique_and_found() {
        for s in CIPHER_SUITES {
            assert_eq!(cipher_suite(s.name), Some(s));
            assert_eq!(
                s.name.starts_with("TLS_ECDHE"),
                s.version == TlsVersion::Tls12
            );
        }
        assert_eq!(cipher_suite("TLS13_AES_128_GCM_SHA256"), None);
    }
}
