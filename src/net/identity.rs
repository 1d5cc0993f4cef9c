//! A client certificate as a value: the DER certificates the client presented in the TLS
//! handshake (its own first, then any intermediates) and the SHA-256 [`Fingerprint`] of its own.
//!
//! The handshake proves the client holds the certificate's private key; whether the certificate
//! names a terminal (a pinned fingerprint, or a CA and subject) is decided by who binds it.
//! Must not import anything of the crate but `net`.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};
use tokio_rustls::rustls::ServerConnection;

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
}
