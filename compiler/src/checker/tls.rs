//! A scenario's `http = {tls: {..}}`: the client certificate (`cert: file(..)`, its key
//! only as a `secret`), extra trusted roots (`ca: file(..)` or a list), the system trust
//! store (`system_roots`), the minimum protocol version and the cipher suites. Certificate
//! files are read and their PEM checked here, when the test compiles, and carried in the
//! plan as text; a private key anywhere but a secret is E0510, so it never reaches the
//! plan, a ConfigMap or a log.

use super::args::{TlsField, TLS_FIELDS};
use super::{Checker, Ctx, ItemState, Mode};
use crate::codes;
use crate::ir::Const;
use crate::suggest::did_you_mean;
use crate::types::Type;
use rustls_pki_types::pem::{PemObject, SectionKind};
use volley_plan::tls::{cipher_suite, CIPHER_SUITES};
use volley_plan::{HttpOptions, TlsOptions, TlsVersion};
use volley_syntax::ast::{self, ExprKind as A, ItemKind};

const TLS_EXAMPLE: &str =
    "{cert: file(\"certs/client.pem\"), key: client_key, ca: file(\"certs/ca.pem\")}";
const VERSIONS: &[&str] = &["1.2", "1.3"];

/// `file("PATH")` with a constant path: the path and its span.
fn file_call(e: &ast::Expr) -> Option<(String, ast::Span)> {
    match &e.kind {
        A::Paren(inner) => file_call(inner),
        A::Call { callee, args } if matches!(&callee.kind, A::Name(n) if n.name == "file") => {
            match args.as_slice() {
                [a] if a.name.is_none() => {
                    super::items::literal_string(&a.value).map(|p| (p, a.value.span))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// What is wrong with a certificate file's text, or `Ok` with how many certificates it
/// holds. `Err(None)` when it holds a private key (E0510, not E0317). Never quotes the
/// content.
fn check_pem(bytes: &[u8]) -> Result<usize, Option<String>> {
    let text = String::from_utf8_lossy(bytes);
    if text.contains("PRIVATE KEY-----") {
        return Err(None);
    }
    let mut certs = 0;
    for item in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes) {
        match item {
            Ok((SectionKind::Certificate, der)) if der.first() == Some(&0x30) => certs += 1,
            Ok((SectionKind::Certificate, _)) => {
                return Err(Some("a CERTIFICATE section is not DER (ASN.1)".into()))
            }
            Ok(_) => {}
            Err(rustls_pki_types::pem::Error::MissingSectionEnd { .. }) => {
                return Err(Some("a PEM section has no END line".into()))
            }
            Err(rustls_pki_types::pem::Error::Base64Decode(_)) => {
                return Err(Some("a PEM section is not valid base64".into()))
            }
            Err(_) => return Err(Some("it is not PEM text".into())),
        }
    }
    if certs == 0 {
        return Err(Some(
            "it holds no `-----BEGIN CERTIFICATE-----` section".into(),
        ));
    }
    Ok(certs)
}

impl<'a> Checker<'a> {
    /// `http.tls`: a record of the `TLS_FIELDS`.
    pub(crate) fn tls_option(&mut self, h: &mut HttpOptions, v: &ast::Expr) -> bool {
        let Some(fields) = self.record_literal(0, v, TLS_EXAMPLE) else {
            return false;
        };
        let mut t = TlsOptions::default();
        let mut ok = true;
        let (mut cert_span, mut key_span) = (None, None);
        for f in fields {
            let unknown = |sp, n: &str, s: &Option<String>, acc: &[&str]| {
                codes::unknown_field(sp, "tls options", n, s, acc)
            };
            let Some(key) = self.arg_key(0, TLS_FIELDS, &f.key, f.key_span, unknown) else {
                ok = false;
                continue;
            };
            ok &= match key {
                TlsField::Cert => {
                    cert_span = Some(f.key_span);
                    self.tls_cert(&mut t, &f.value)
                }
                TlsField::Key => {
                    key_span = Some(f.key_span);
                    self.tls_key(&mut t, &f.value)
                }
                TlsField::Ca => self.tls_ca(&mut t, &f.value),
                TlsField::SystemRoots => self.tls_system_roots(&mut t, &f.value),
                TlsField::MinVersion => self.tls_min_version(&mut t, &f.value),
                TlsField::Ciphers => self.tls_ciphers(&mut t, &f.value),
            };
        }
        if ok {
            ok = self.tls_consistent(&t, v.span, cert_span, key_span);
        }
        h.tls = t;
        ok
    }

    /// `cert` and `key` come together; the suites leave one for the minimum version.
    fn tls_consistent(
        &mut self,
        t: &TlsOptions,
        span: ast::Span,
        cert: Option<ast::Span>,
        key: Option<ast::Span>,
    ) -> bool {
        let pair = match (cert, key) {
            (Some(sp), None) => Some((
                sp,
                "`cert` without `key`",
                "add `key: client_key`, a `secret` holding the certificate's private key (PEM)",
            )),
            (None, Some(sp)) => Some((
                sp,
                "`key` without `cert`",
                "add `cert: file(\"certs/client.pem\")`, the client certificate the key belongs to",
            )),
            _ => None,
        };
        if let Some((sp, what, help)) = pair {
            let d = codes::tls_conflict(
                sp,
                format!("a client certificate needs both: {what}"),
                "alone",
                help.into(),
            );
            self.emit(0, d);
            return false;
        }
        let min = t.min_version.unwrap_or(TlsVersion::Tls12);
        let usable = t.ciphers.is_empty()
            || t.ciphers
                .iter()
                .filter_map(|c| cipher_suite(c))
                .any(|s| s.version >= min);
        if !usable {
            let d = codes::tls_conflict(
                span,
                format!(
                    "none of the `ciphers` is a TLS {} suite, so no connection could be made",
                    min.as_str()
                ),
                "no usable cipher suite",
                "add a TLS 1.3 suite such as \"TLS_AES_128_GCM_SHA256\", or lower `min_version`"
                    .into(),
            );
            self.emit(0, d);
            return false;
        }
        true
    }

    /// The text of a certificate file named by `file("PATH")`, checked (E0723, E0407,
    /// E0317, E0510).
    fn tls_file(&mut self, field: &str, v: &ast::Expr) -> Option<String> {
        let Some((path, span)) = file_call(v) else {
            if field == "ca" || field == "cert" {
                self.emit(0, codes::tls_file_form(v.span, field));
            }
            return None;
        };
        let full = crate::files::data_path(&self.module(0).dir, &path);
        let bytes = match self.loader.load_data(&full) {
            Ok(b) => b,
            Err(crate::LoadError::Outside { resolved, root }) => {
                self.emit(0, codes::path_outside(span, &path, &resolved, &root));
                return None;
            }
            Err(why) => {
                let d = codes::bad_tls_file(span, field, &path, &why.to_string());
                self.emit(0, d);
                return None;
            }
        };
        match check_pem(&bytes) {
            Ok(_) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            Err(None) => {
                self.emit(0, codes::private_key_not_secret(span, "a certificate file"));
                None
            }
            Err(Some(why)) => {
                self.emit(0, codes::bad_tls_file(span, field, &path, &why));
                None
            }
        }
    }

    fn tls_cert(&mut self, t: &mut TlsOptions, v: &ast::Expr) -> bool {
        match self.tls_file("cert", v) {
            Some(pem) => {
                t.cert_pem = Some(pem);
                true
            }
            None => false,
        }
    }

    /// `ca: file(..)` or `ca: [file(..), ..]`.
    fn tls_ca(&mut self, t: &mut TlsOptions, v: &ast::Expr) -> bool {
        let items: Vec<&ast::Expr> = match &v.kind {
            A::List(items) => items.iter().collect(),
            _ => vec![v],
        };
        let mut ok = true;
        for e in items {
            match self.tls_file("ca", e) {
                Some(pem) => t.ca_pem.push(pem),
                None => ok = false,
            }
        }
        ok
    }

    /// `key: NAME` of a declared secret; anything else is E0510 (or the name's own error).
    fn tls_key(&mut self, t: &mut TlsOptions, v: &ast::Expr) -> bool {
        let cx = Ctx::new(0, Mode::Scenario);
        if let Some((module, index, _)) = self.item_path(&cx, v) {
            let m = self.module(module);
            if matches!(
                m.item(index).map(|i| &i.kind),
                Some(ItemKind::Secret { .. })
            ) {
                return match self.ensure_secret(module, index) {
                    ItemState::Secret(id) => {
                        t.key_secret = Some(id);
                        true
                    }
                    _ => false,
                };
            }
        }
        let what = if file_call(v).is_some() {
            "a file"
        } else if matches!(v.kind, A::Str(_)) {
            "a string"
        } else {
            let mut cx = Ctx::new(0, Mode::Scenario);
            if self.expr(&mut cx, v).ty.is_error() {
                return false;
            }
            "a plain value"
        };
        self.emit(0, codes::private_key_not_secret(v.span, what));
        false
    }

    fn tls_system_roots(&mut self, t: &mut TlsOptions, v: &ast::Expr) -> bool {
        match self.const_of(0, v, &Type::Bool, "`system_roots`", "write true or false") {
            Some(Const::Bool(b)) => {
                t.system_roots = b;
                true
            }
            _ => false,
        }
    }

    /// `min_version: "1.3"` (a string, or the number as written).
    fn tls_min_version(&mut self, t: &mut TlsOptions, v: &ast::Expr) -> bool {
        let given = match &v.kind {
            A::Float(_) | A::Int(_) => self.source_text(0, v.span),
            _ => super::items::literal_string(v).unwrap_or_else(|| self.source_text(0, v.span)),
        };
        let given = given
            .trim_start_matches("TLS")
            .trim_start_matches("tls")
            .trim();
        match given {
            "1.2" => t.min_version = Some(TlsVersion::Tls12),
            "1.3" => t.min_version = Some(TlsVersion::Tls13),
            other => {
                let s = did_you_mean(other, VERSIONS.iter().copied());
                let d = codes::unknown_tls_choice(v.span, "min_version", other, &s, VERSIONS);
                self.emit(0, d);
                return false;
            }
        }
        true
    }

    /// `ciphers: ["TLS_AES_128_GCM_SHA256", ..]`: IANA names of the suites offered.
    fn tls_ciphers(&mut self, t: &mut TlsOptions, v: &ast::Expr) -> bool {
        let A::List(items) = &v.kind else {
            let d = codes::mismatch(
                v.span,
                "a list of cipher suite names",
                "something else",
                "write `ciphers: [\"TLS_AES_128_GCM_SHA256\"]`".into(),
            );
            self.emit(0, d);
            return false;
        };
        let names: Vec<&str> = CIPHER_SUITES.iter().map(|s| s.name).collect();
        let mut ok = true;
        for e in items {
            let given =
                super::items::literal_string(e).unwrap_or_else(|| self.source_text(0, e.span));
            // rustls and OpenSSL spell some differently: `TLS13_..`, lower case.
            let upper = given.to_ascii_uppercase().replace("TLS13_", "TLS_");
            match cipher_suite(&upper) {
                Some(s) if s.name == given => t.ciphers.push(given),
                found => {
                    let s = found
                        .map(|s| s.name.to_owned())
                        .or_else(|| did_you_mean(&upper, names.iter().copied()));
                    let d = codes::unknown_tls_choice(e.span, "ciphers", &given, &s, &names);
                    self.emit(0, d);
                    ok = false;
                }
            }
        }
        ok
    }
}
