//! A client certificate as a value: the DER certificates the client presented in the TLS
//! handshake (its own first, then any intermediates), the SHA-256 [`Fingerprint`] of its own,
//! its [`SubjectName`], and whether it was issued by a [`CertificateAuthority`].
//!
//! The handshake proves the client holds the certificate's private key; whether the certificate
//! names a terminal (a pinned fingerprint, or a CA and subject) is decided by who binds it.
//! Must not import anything of the crate but `net`.

use std::fmt;
use std::str::FromStr;

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, UnixTime};
use sha2::{Digest, Sha256};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConnection};

/// The SHA-256 fingerprint of a DER certificate (what `openssl x509 -fingerprint -sha256`
/// prints, colons aside).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    pub fn of(der: &[u8]) -> Fingerprint {
        Fingerprint(Sha256::digest(der).into())
    }
}

impl fmt::Display for Fingerprint {
    /// Lower-case hex, no separators.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Why a text is not a SHA-256 fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a SHA-256 fingerprint is 64 hex digits (colons between bytes allowed); got {length} characters")]
pub struct FingerprintError {
    length: usize,
}

impl FromStr for Fingerprint {
    type Err = FingerprintError;

    /// 64 hex digits, either case, with or without `:` between bytes.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let digits: String = text.trim().chars().filter(|c| *c != ':').collect();
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(&digits, &mut bytes).map_err(|_| FingerprintError {
            length: text.trim().chars().count(),
        })?;
        Ok(Fingerprint(bytes))
    }
}

/// The certificate a client presented.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// The client's own certificate, DER.
    pub der: Vec<u8>,
    /// Intermediate certificates it sent after its own, DER.
    pub intermediates: Vec<Vec<u8>>,
    pub fingerprint: Fingerprint,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("fingerprint", &self.fingerprint)
            .field("intermediates", &self.intermediates.len())
            .finish()
    }
}

impl ClientCertificate {
    /// The subject of the client's own certificate (`None` if it does not parse, or holds an
    /// attribute that is not text).
    pub(crate) fn subject(&self) -> Option<SubjectName> {
        let (_, certificate) = x509_parser::parse_x509_certificate(&self.der).ok()?;
        let registry = x509_parser::objects::oid_registry();
        let mut attributes = Vec::new();
        for attribute in certificate.subject().iter_attributes() {
            let kind = x509_parser::objects::oid2abbrev(attribute.attr_type(), registry)
                .map(str::to_owned)
                .unwrap_or_else(|_| attribute.attr_type().to_id_string());
            attributes.push((
                kind.to_ascii_uppercase(),
                attribute.as_str().ok()?.to_owned(),
            ));
        }
        Some(SubjectName::new(attributes))
    }

    /// Whether this certificate (with the intermediates the client sent) chains to
    /// `authority` for client authentication and is valid now.
    pub(crate) fn issued_by(&self, authority: &CertificateAuthority) -> bool {
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let Ok(verifier) =
            WebPkiClientVerifier::builder_with_provider(Arc::clone(&authority.roots), provider)
                .build()
        else {
            return false;
        };
        let intermediates: Vec<CertificateDer<'_>> = self
            .intermediates
            .iter()
            .map(|der| CertificateDer::from(der.as_slice()))
            .collect();
        verifier
            .verify_client_cert(
                &CertificateDer::from(self.der.as_slice()),
                &intermediates,
                UnixTime::now(),
            )
            .is_ok()
    }
}

/// A distinguished name as an administrator writes it, `CN=selfcheck-3, O=City Library`:
/// attributes by their short names (any case), compared as a whole and in any order. Values
/// may not contain commas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectName(Vec<(String, String)>);

impl SubjectName {
    fn new(mut attributes: Vec<(String, String)>) -> SubjectName {
        attributes.sort();
        SubjectName(attributes)
    }
}

impl fmt::Display for SubjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        f.write_str(&parts.join(", "))
    }
}

/// Why a text is not a subject name or a CA certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("a subject is ATTRIBUTE=value pairs separated by commas, e.g. CN=selfcheck-3; {0:?} is not one")]
    Subject(String),
    #[error("no usable CA certificate in the PEM text: {0}")]
    Authority(String),
}

impl FromStr for SubjectName {
    type Err = IdentityError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut attributes = Vec::new();
        for part in text.split(',') {
            let (kind, value) = part
                .split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                .ok_or_else(|| IdentityError::Subject(part.trim().to_owned()))?;
            attributes.push((kind.to_ascii_uppercase(), value.to_owned()));
        }
        Ok(SubjectName::new(attributes))
    }
}

/// A certificate authority whose client certificates a terminal accepts: its PEM text (as
/// stored) and the trust roots read from it.
#[derive(Clone)]
pub struct CertificateAuthority {
    pem: String,
    roots: Arc<RootCertStore>,
}

impl CertificateAuthority {
    /// Reads every certificate of `pem` as a trust root; at least one must be usable.
    pub fn from_pem(pem: &str) -> Result<CertificateAuthority, IdentityError> {
        let mut roots = RootCertStore::empty();
        for certificate in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let certificate =
                certificate.map_err(|error| IdentityError::Authority(error.to_string()))?;
            roots
                .add(certificate)
                .map_err(|error| IdentityError::Authority(error.to_string()))?;
        }
        if roots.is_empty() {
            return Err(IdentityError::Authority("no CERTIFICATE section".into()));
        }
        Ok(CertificateAuthority {
            pem: pem.to_owned(),
            roots: Arc::new(roots),
        })
    }

    /// The PEM text it was read from.
    /// The CA as a trust root set (the relay's upstream TLS client verifies against it).
    pub(crate) fn roots(&self) -> Arc<RootCertStore> {
        self.roots.clone()
    }

    pub(crate) fn pem(&self) -> &str {
        &self.pem
    }
}

impl PartialEq for CertificateAuthority {
    fn eq(&self, other: &Self) -> bool {
        self.pem == other.pem
    }
}

impl Eq for CertificateAuthority {}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertificateAuthority({} roots)", self.roots.len())
    }
}

/// The certificate the client of a finished handshake presented, if any.
pub(super) fn of_connection(connection: &ServerConnection) -> Option<ClientCertificate> {
    let (own, rest) = connection.peer_certificates()?.split_first()?;
    Some(ClientCertificate {
        der: own.as_ref().to_vec(),
        intermediates: rest.iter().map(|c| c.as_ref().to_vec()).collect(),
        fingerprint: Fingerprint::of(own.as_ref()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_reads_with_or_without_colons_in_either_case() {
        let plain = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        let a: Fingerprint = plain.parse().expect("plain");
        let b: Fingerprint = colons.parse().expect("colons");
        assert_eq!(a, b);
        assert_eq!(a.to_string(), plain);
        assert!("abc".parse::<Fingerprint>().is_err());
        assert!("zz".repeat(32).parse::<Fingerprint>().is_err());
    }

    #[test]
    fn subjects_compare_whole_in_any_order_and_any_attribute_case() {
        let a: SubjectName = "CN=selfcheck-3, O=City Library".parse().expect("subject");
        let b: SubjectName = "o=City Library,cn=selfcheck-3".parse().expect("subject");
        assert_eq!(a, b);
        let c: SubjectName = "CN=selfcheck-3".parse().expect("subject");
        assert_ne!(a, c, "a subject is compared whole");
        assert!("selfcheck-3".parse::<SubjectName>().is_err());
        assert!("CN=".parse::<SubjectName>().is_err());
    }
}
