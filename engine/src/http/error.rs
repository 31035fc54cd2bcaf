//! Transport errors of the HTTP client, classified into k6's numeric error codes.
//!
//! Classification walks an error's `source()` chain looking for an `io::Error` or a
//! `rustls::Error`; it never panics and never allocates unless an error actually happened.
//! This module must not decide retries or policy: it only names what went wrong.

use std::error::Error as StdError;
use std::fmt;
use std::io;

/// k6's error codes (<https://grafana.com/docs/k6/latest/javascript-api/error-codes/>).
pub mod codes {
    /// Anything without a more specific code.
    pub const GENERIC: u32 = 1000;
    /// The URL could not be used (unsupported scheme, no host, invalid header).
    pub const INVALID_URL: u32 = 1020;
    /// The proxy could not be reached, or refused the `CONNECT` tunnel. Volley's own code
    /// (Go and k6 report these as dial errors).
    pub const PROXY: u32 = 1030;
    /// The request did not complete within its timeout.
    pub const REQUEST_TIMEOUT: u32 = 1050;
    /// The request was still in flight when its iteration was interrupted (the end of the
    /// test after `graceful_stop`, a ramp-down, an abort): cut, counted failed. Volley's
    /// own code (k6 drops such requests).
    pub const CUT_BY_END: u32 = 1051;
    /// A response body the script reads was larger than the scenario's `http.max_body`.
    /// Volley's own code.
    pub const BODY_TOO_LARGE: u32 = 1060;
    /// The host name could not be resolved.
    pub const DNS: u32 = 1100;
    /// A redirect led to a host (and port) that is not a declared target: not followed
    /// (k6's code for a blocked host name).
    pub const UNDECLARED_HOST: u32 = 1111;
    /// A TCP error after the connection was established.
    pub const TCP: u32 = 1200;
    /// Writing to a connection the peer had closed.
    pub const BROKEN_PIPE: u32 = 1201;
    /// A TCP dial error without a more specific code.
    pub const DIAL: u32 = 1210;
    /// The operating system gave up dialing.
    pub const DIAL_TIMEOUT: u32 = 1211;
    /// Nobody listens on the port.
    pub const CONNECTION_REFUSED: u32 = 1212;
    /// The peer reset the connection.
    pub const CONNECTION_RESET: u32 = 1220;
    /// A TLS error without a more specific code.
    pub const TLS: u32 = 1300;
    /// The server's certificate was not trusted.
    pub const TLS_CERTIFICATE: u32 = 1310;
    /// The server's certificate is valid but not for the requested host.
    pub const TLS_HOSTNAME: u32 = 1311;
    /// An HTTP/2 protocol error.
    pub const HTTP2: u32 = 1600;
    /// A compressed response body could not be decoded (corrupt, truncated): k6's code.
    pub const DECOMPRESSION: u32 = 1701;
    /// A compressed response body the script reads decoded to more than the scenario's
    /// `http.max_body` (a decompression bomb). Volley's own code.
    pub const DECODED_TOO_LARGE: u32 = 1702;
}

/// A failed request: a k6 error code (see [`codes`]) and a human-readable message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpError {
    /// One of [`codes`].
    pub code: u32,
    /// What happened, for logs and summaries.
    pub message: String,
}

impl HttpError {
    /// An error with the given code and message.
    pub fn new(code: u32, message: impl Into<String>) -> Self {
        HttpError {
            code,
            message: message.into(),
        }
    }

    /// A response body to keep was longer than the scenario's `max_body` (code 1060).
    pub fn body_too_large(max: u64) -> Self {
        HttpError::new(
            codes::BODY_TOO_LARGE,
            format!("response body larger than max_body ({max} bytes): not kept"),
        )
    }

    /// The request timed out (code 1050).
    pub fn timeout(after: std::time::Duration) -> Self {
        HttpError::new(
            codes::REQUEST_TIMEOUT,
            format!("request timeout after {after:?}"),
        )
    }

    /// The URL (or a header) cannot be used (code 1020).
    pub fn invalid_url(what: impl fmt::Display) -> Self {
        HttpError::new(codes::INVALID_URL, format!("invalid url: {what}"))
    }

    /// Classify an error from `connect()`.
    pub(crate) fn dial(e: &io::Error) -> Self {
        let code = match e.kind() {
            io::ErrorKind::ConnectionRefused => codes::CONNECTION_REFUSED,
            io::ErrorKind::TimedOut => codes::DIAL_TIMEOUT,
            io::ErrorKind::ConnectionReset => codes::CONNECTION_RESET,
            _ => codes::DIAL,
        };
        HttpError::new(code, format!("dial: {e}"))
    }

    /// Classify an error from the TLS handshake (an `io::Error` that may wrap a `rustls::Error`).
    pub(crate) fn tls(e: &io::Error) -> Self {
        let code = match e.get_ref().and_then(|inner| inner.downcast_ref()) {
            Some(rustls::Error::InvalidCertificate(cert)) => match cert {
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. } => codes::TLS_HOSTNAME,
                _ => codes::TLS_CERTIFICATE,
            },
            Some(_) => codes::TLS,
            None if e.kind() == io::ErrorKind::ConnectionReset => codes::CONNECTION_RESET,
            None => codes::TLS,
        };
        HttpError::new(code, format!("tls: {}", chain(e)))
    }

    /// Classify an IO error on an established connection (below or above TLS).
    pub(crate) fn io(e: &io::Error) -> Self {
        let code = match e.kind() {
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
                codes::CONNECTION_RESET
            }
            io::ErrorKind::BrokenPipe => codes::BROKEN_PIPE,
            _ if e
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()) =>
            {
                codes::TLS
            }
            _ => codes::TCP,
        };
        HttpError::new(code, chain(e))
    }

    /// Classify an error from hyper's HTTP/2 client: an IO error below it by its kind,
    /// anything else as an HTTP/2 error (1600).
    pub(crate) fn h2(e: &hyper::Error) -> Self {
        let mut source: Option<&(dyn StdError + 'static)> = e.source();
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<io::Error>() {
                let mut err = HttpError::io(io);
                err.message = chain(e);
                return err;
            }
            source = s.source();
        }
        HttpError::new(codes::HTTP2, chain(e))
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

impl StdError for HttpError {}

/// "outer: inner: innermost", skipping a source whose text its parent already shows.
fn chain(e: &dyn StdError) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dial_codes() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(HttpError::dial(&refused).code, codes::CONNECTION_REFUSED);
        let timeout = io::Error::from(io::ErrorKind::TimedOut);
        assert_eq!(HttpError::dial(&timeout).code, codes::DIAL_TIMEOUT);
        let other = io::Error::other("boom");
        assert_eq!(HttpError::dial(&other).code, codes::DIAL);
    }

    #[test]
    fn tls_codes() {
        let untrusted = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert_eq!(HttpError::tls(&untrusted).code, codes::TLS_CERTIFICATE);
        let name = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName),
        );
        assert_eq!(HttpError::tls(&name).code, codes::TLS_HOSTNAME);
        let eof = io::Error::from(io::ErrorKind::UnexpectedEof);
        assert_eq!(HttpError::tls(&eof).code, codes::TLS);
    }

    #[test]
    fn io_codes() {
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(HttpError::io(&reset).code, codes::CONNECTION_RESET);
        let pipe = io::Error::from(io::ErrorKind::BrokenPipe);
        assert_eq!(HttpError::io(&pipe).code, codes::BROKEN_PIPE);
        let tls = io::Error::new(io::ErrorKind::InvalidData, rustls::Error::DecryptError);
        assert_eq!(HttpError::io(&tls).code, codes::TLS);
        let other = io::Error::other("boom");
        assert_eq!(HttpError::io(&other).code, codes::TCP);
    }

    #[test]
    fn display_shows_code() {
        let e = HttpError::new(codes::DNS, "no such host");
        assert_eq!(e.to_string(), "no such host (code 1100)");
    }
}
