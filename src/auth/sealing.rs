//! Secrets the server must read back (a patron's TOTP secret, a relayed terminal's upstream
//! password) cannot be hashed; they are sealed instead: XChaCha20-Poly1305 under a key derived
//! from the pepper for one purpose, so a copied database alone reveals none of them, and a sealed
//! value moved to another row or purpose fails to open.
//!
//! Stored form: `s1.<pepper key id>.<hex(nonce ‖ ciphertext)>`. A value sealed under a previous
//! pepper key still opens while that key is configured; [`Sealer::needs_reseal`] tells when to
//! seal it again under the active key.

use std::fmt;
use std::sync::Arc;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use super::pepper::{KeyRing, PepperKey};

/// Format tag of the stored form; a new scheme gets a new tag.
const FORMAT: &str = "s1";
const NONCE_BYTES: usize = 24;

/// What a sealed value is for: each purpose has its own derived key and its own associated data,
/// so a TOTP secret cannot be passed off as an upstream password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealPurpose {
    /// A patron's or staff member's TOTP shared secret.
    TotpSecret,
    /// The password a relayed terminal uses to log in to the library's own SIP2 server.
    UpstreamPassword,
}

impl SealPurpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::TotpSecret => b"sip2auth seal v1: totp secret",
            Self::UpstreamPassword => b"sip2auth seal v1: upstream password",
        }
    }
}

/// Why a sealed value did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("sealed value is not in the s1 format")]
    Malformed,
    #[error(
        "sealed value uses pepper key {key_id}, which is not configured; add it to \
         [security.pepper] previous_keys"
    )]
    KeyRetired { key_id: u32 },
    #[error("sealed value does not open with its key (altered, or moved from another record)")]
    Tampered,
}

/// Seals and opens secrets with keys derived from the pepper ring. Cheap to clone.
#[derive(Clone)]
pub struct Sealer {
    keys: Arc<KeyRing>,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("active_key_id", &self.keys.active_id())
            .finish()
    }
}

impl Sealer {
    pub fn new(keys: Arc<KeyRing>) -> Self {
        Self { keys }
    }

    /// Seals `secret` for `purpose`, bound to `record` (a stable id of the row it is stored in,
    /// such as "patron:42"), under the active pepper key, with a fresh random nonce.
    pub fn seal(&self, purpose: SealPurpose, record: &str, secret: &[u8]) -> String {
        let key_id = self.keys.active_id();
        let cipher = cipher(self.keys.active(), purpose);
        let mut nonce = [0u8; NONCE_BYTES];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
        let aad = associated_data(purpose, record);
        let ciphertext = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: &aad,
                },
            )
            // Encryption fails only for messages beyond 256 GiB.
            .unwrap_or_else(|_| unreachable!("secret within the AEAD size limit"));
        let mut body = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
        body.extend_from_slice(&nonce);
        body.extend_from_slice(&ciphertext);
        format!("{FORMAT}.{key_id}.{}", hex::encode(body))
    }

    /// Opens a value made by [`seal`](Self::seal) with the same purpose and record.
    pub fn open(
        &self,
        purpose: SealPurpose,
        record: &str,
        sealed: &str,
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let (key_id, body) = parse(sealed)?;
        let key = self
            .keys
            .get(key_id)
            .ok_or(SealError::KeyRetired { key_id })?;
        if body.len() <= NONCE_BYTES {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = body.split_at(NONCE_BYTES);
        let aad = associated_data(purpose, record);
        cipher(key, purpose)
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError::Tampered)
    }

    /// Whether `sealed` was made under a key other than the active one (seal it again after
    /// opening it, so the previous key can be retired).
    pub fn needs_reseal(&self, sealed: &str) -> bool {
        parse(sealed).is_ok_and(|(key_id, _)| key_id != self.keys.active_id())
    }
}

fn parse(sealed: &str) -> Result<(u32, Vec<u8>), SealError> {
    let mut parts = sealed.splitn(3, '.');
    let (Some(FORMAT), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(SealError::Malformed);
    };
    let key_id = key_id.parse().map_err(|_| SealError::Malformed)?;
    let body = hex::decode(body).map_err(|_| SealError::Malformed)?;
    Ok((key_id, body))
}

fn cipher(key: &PepperKey, purpose: SealPurpose) -> XChaCha20Poly1305 {
    let derived = key.derive(purpose.label());
    XChaCha20Poly1305::new(derived.as_ref().into())
}

fn associated_data(purpose: SealPurpose, record: &str) -> Vec<u8> {
    let mut aad = purpose.label().to_vec();
    aad.push(0);
    aad.extend_from_slice(record.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(active: u32, keys: &[(u32, u8)]) -> Sealer {
        let key = |byte| PepperKey::from_bytes([byte; 32]);
        let (_, active_byte) = keys.iter().find(|(id, _)| *id == active).unwrap();
        let previous = keys
            .iter()
            .filter(|(id, _)| *id != active)
            .map(|(id, byte)| (*id, key(*byte)))
            .collect();
        Sealer::new(Arc::new(KeyRing::new(active, key(*active_byte), previous)))
    }

    #[test]
    fn a_sealed_secret_opens_with_its_purpose_and_record_only() {
        let sealer = sealer(1, &[(1, 7)]);
        let sealed = sealer.seal(SealPurpose::TotpSecret, "patron:42", b"JBSWY3DPEHPK3PXP");
        assert!(sealed.starts_with("s1.1."));
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        let opened = sealer
            .open(SealPurpose::TotpSecret, "patron:42", &sealed)
            .unwrap();
        assert_eq!(opened.as_slice(), b"JBSWY3DPEHPK3PXP");
        assert_eq!(
            sealer.open(SealPurpose::TotpSecret, "patron:43", &sealed),
            Err(SealError::Tampered)
        );
        assert_eq!(
            sealer.open(SealPurpose::UpstreamPassword, "patron:42", &sealed),
            Err(SealError::Tampered)
        );
        let other = sealer.seal(SealPurpose::TotpSecret, "patron:42", b"JBSWY3DPEHPK3PXP");
        assert_ne!(sealed, other, "a fresh nonce each time");
    }

    #[test]
    fn altered_or_malformed_values_are_refused() {
        let sealer = sealer(1, &[(1, 7)]);
        let mut sealed = sealer.seal(SealPurpose::UpstreamPassword, "terminal:3", b"secret");
        let last = sealed.pop().unwrap();
        sealed.push(if last == '0' { '1' } else { '0' });
        assert_eq!(
            sealer.open(SealPurpose::UpstreamPassword, "terminal:3", &sealed),
            Err(SealError::Tampered)
        );
        for bad in ["", "s1", "s1.x.00", "s2.1.00", "s1.1.zz", "s1.1.00"] {
            assert_eq!(
                sealer.open(SealPurpose::UpstreamPassword, "terminal:3", bad),
                Err(SealError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_value_under_a_previous_key_opens_and_asks_to_be_resealed() {
        let old = sealer(1, &[(1, 7)]);
        let sealed = old.seal(SealPurpose::TotpSecret, "staff:1", b"s");
        let rotated = sealer(2, &[(2, 8), (1, 7)]);
        assert!(rotated.needs_reseal(&sealed));
        assert!(!old.needs_reseal(&sealed));
        assert_eq!(
            rotated
                .open(SealPurpose::TotpSecret, "staff:1", &sealed)
                .unwrap()
                .as_slice(),
            b"s"
        );
        let retired = sealer(2, &[(2, 8)]);
        assert_eq!(
            retired.open(SealPurpose::TotpSecret, "staff:1", &sealed),
            Err(SealError::KeyRetired { key_id: 1 })
        );
    }
}
