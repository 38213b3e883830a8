//! TLS to PostgreSQL through rustls, with libpq's `sslmode` words: managed
//! PostgreSQL services refuse plain connections, and libpq's URL is what
//! their consoles hand out. tokio-postgres itself knows only `disable`,
//! `prefer` and `require`, so `sslmode` and `sslrootcert` are taken out of
//! the URL here and the certificate check is chosen to match libpq:
//!
//! | sslmode | encrypted | chain checked | host name checked |
//! |---|---|---|---|
//! | `disable` | no | – | – |
//! | `prefer` (the default) | if the server offers it | no | no |
//! | `require` | yes | only with a CA file (as libpq) | no |
//! | `verify-ca` | yes | yes | no |
//! | `verify-full` | yes | yes | yes |
//!
//! The CA file is `sslrootcert=` in the URL or `--database-ca-file`; without
//! one, `verify-*` trust the system's roots.

use crate::StoreError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_postgres::config::SslMode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(s: &str) -> Result<Mode, StoreError> {
        Ok(match s {
            "disable" => Mode::Disable,
            "allow" | "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            other => {
                return Err(StoreError::Other(format!(
                    "sslmode={other:?} in the database URL: use disable, prefer, require, verify-ca or verify-full"
                )))
            }
        })
    }

    /// What tokio-postgres is told: it only asks for TLS or not.
    pub fn ssl_mode(self) -> SslMode {
        match self {
            Mode::Disable => SslMode::Disable,
            Mode::Prefer => SslMode::Prefer,
            _ => SslMode::Require,
        }
    }
}

/// A database URL with libpq's TLS words taken out.
pub struct Url {
    /// What tokio-postgres parses.
    pub rest: String,
    pub mode: Mode,
    pub root_cert: Option<PathBuf>,
}

/// Takes `sslmode` and `sslrootcert` out of a `postgres://` URL's query.
pub fn split_url(url: &str) -> Result<Url, StoreError> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let (mut mode, mut root_cert) = (Mode::Prefer, None);
    let mut kept = form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "sslmode" => mode = Mode::parse(&v)?,
            "sslrootcert" => root_cert = Some(PathBuf::from(v.as_ref())),
            _ => {
                kept.append_pair(&k, &v);
                any = true;
            }
        }
    }
    let rest = if any {
        format!("{base}?{}", kept.finish())
    } else {
        base.to_string()
    };
    Ok(Url {
        rest,
        mode,
        root_cert,
    })
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn roots(ca_file: Option<&Path>) -> Result<RootCertStore, StoreError> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let bad =
                |e: String| StoreError::Other(format!("database CA file {}: {e}", path.display()));
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
                roots
                    .add(cert.map_err(|e| bad(e.to_string()))?)
                    .map_err(|e| bad(e.to_string()))?;
            }
            if roots.is_empty() {
                return Err(bad("holds no certificate".into()));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(StoreError::Other(
                    "no system root certificates found: give the database's CA with sslrootcert= or --database-ca-file".into(),
                ));
            }
        }
    }
    Ok(roots)
}

/// The rustls client for `mode`; `ca_file` from the URL or the flag.
pub fn client_config(mode: Mode, ca_file: Option<&Path>) -> Result<ClientConfig, StoreError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Other(format!("TLS setup: {e}")))?;
    // libpq: with a root file present, `require` behaves as `verify-ca`.
    let mode = match (mode, ca_file) {
        (Mode::Require, Some(_)) => Mode::VerifyCa,
        (m, _) => m,
    };
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        Mode::Disable | Mode::Prefer | Mode::Require => Arc::new(Unchecked(provider)),
        Mode::VerifyCa | Mode::VerifyFull => {
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots(ca_file)?), provider)
                    .build()
                    .map_err(|e| StoreError::Other(format!("TLS setup: {e}")))?;
            if mode == Mode::VerifyFull {
                webpki
            } else {
                Arc::new(AnyName(webpki))
            }
        }
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// `prefer` and `require` without a CA: encrypted, the certificate taken as
/// it comes (libpq does the same). Handshake signatures are still checked,
/// so the server must hold the key of the certificate it shows.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
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

/// `verify-ca`: the chain must lead to a trusted root; the name is not looked at.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_words_leave_the_url() {
        let u = split_url(
            "postgres://u@db:5432/x?sslmode=verify-full&application_name=a&sslrootcert=%2Ftmp%2Fca.pem",
        )
        .unwrap();
        assert_eq!(u.mode, Mode::VerifyFull);
        assert_eq!(u.root_cert.as_deref(), Some(Path::new("/tmp/ca.pem")));
        assert_eq!(u.rest, "postgres://u@db:5432/x?application_name=a");
        let plain = split_url("postgres://u@db/x").unwrap();
        assert_eq!(
            (plain.mode, plain.rest.as_str()),
            (Mode::Prefer, "postgres://u@db/x")
        );
        assert!(split_url("postgres://u@db/x?sslmode=sometimes").is_err());
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = std::env::temp_dir().join(format!("zcrm-ca-{}", std::process::id()));
        std::fs::write(&dir, "not a certificate").unwrap();
        let err = client_config(Mode::VerifyFull, Some(&dir)).unwrap_err();
        let _ = std::fs::remove_file(&dir);
        assert!(err.to_string().contains("holds no certificate"), "{err}");
    }
}
