//! Legacy credential hashes brought over from an ILS by the import: Koha (bcrypt), Evergreen
//! (bcrypt over `md5(salt || md5(secret))`) and FOLIO mod-login (PBKDF2-HMAC-SHA1). Owns the
//! forms an import accepts, the form stored in the hash column, and their verification.
//!
//! A legacy hash carries no pepper: it is stored under [`LEGACY_KEY_ID`] (no pepper key has id 0)
//! as `{scheme:since}hash`, where `since` is the unix time of the import, and replaced by an
//! argon2id hash with the pepper at the first successful check (see `attempt.rs`). Verification is
//! CPU-bound: run it through the [`pool`](super::pool), like argon2.
//!
//! Uses no other module of the crate; must not import `store`, `sip2`, `server` or `accounts`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use md5::{Digest, Md5};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::store::CredentialHash;

/// The key id stored with a legacy hash: pepper key ids start at 1, so 0 means "no pepper".
pub(crate) const LEGACY_KEY_ID: u32 = 0;

/// FOLIO mod-login's `AuthUtil` defaults: PBKDF2WithHmacSHA1, 1000 iterations, 160-bit key.
const FOLIO_ITERATIONS: u32 = 1000;
const FOLIO_KEY_BYTES: usize = 20;
/// Length of the bcrypt setting string (`$2a$10$` and 22 salt characters) that Evergreen keeps
/// as the salt in `actor.passwd.salt`.
const BCRYPT_SETTING_CHARS: usize = 29;

/// The system a legacy hash comes from, which fixes how it is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LegacyScheme {
    /// Koha `borrowers.password`: bcrypt (`$2a$08$…`) of the secret.
    Koha,
    /// Evergreen `actor.passwd.passwd` (type `main`): `crypt(md5(salt || md5(secret)), salt)`
    /// with a bcrypt salt, the MD5 digests written in lower-case hex.
    Evergreen,
    /// FOLIO mod-login credentials: PBKDF2-HMAC-SHA1 of the secret with the hex salt, 1000
    /// iterations, 20 bytes, hex.
    Folio,
}

impl LegacyScheme {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            LegacyScheme::Koha => "koha",
            LegacyScheme::Evergreen => "evergreen",
            LegacyScheme::Folio => "folio",
        }
    }
}

impl fmt::Display for LegacyScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LegacyScheme {
    type Err = LegacyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "koha" | "bcrypt" => Ok(LegacyScheme::Koha),
            "evergreen" => Ok(LegacyScheme::Evergreen),
            "folio" => Ok(LegacyScheme::Folio),
            _ => Err(LegacyError::UnknownScheme),
        }
    }
}

/// Why a value is not a usable legacy hash. Never carries the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LegacyError {
    #[error("unknown hash tag (expected {{koha}}, {{evergreen}} or {{folio}})")]
    UnknownScheme,
    #[error("{0} hash is malformed (expected {hint})", hint = expected_form(*.0))]
    Malformed(LegacyScheme),
}

fn expected_form(scheme: LegacyScheme) -> &'static str {
    match scheme {
        LegacyScheme::Koha => "a bcrypt string such as $2a$08$…",
        LegacyScheme::Evergreen => "{evergreen} and the bcrypt string of actor.passwd.passwd",
        LegacyScheme::Folio => "{folio}SALT:HASH, both in hex as mod-login stores them",
    }
}

/// A legacy hash: where it comes from, the ILS's own hash text, and when it was imported.
/// `Debug` never shows the hash.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct LegacyHash {
    scheme: LegacyScheme,
    hash: String,
    since: Option<DateTime<Utc>>,
}

impl fmt::Debug for LegacyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LegacyHash")
            .field("scheme", &self.scheme)
            .field("hash", &"[redacted]")
            .field("since", &self.since)
            .finish()
    }
}

impl LegacyHash {
    /// Reads an import value: a bare bcrypt string (Koha), or `{koha}`, `{evergreen}` or
    /// `{folio}` followed by that system's hash. `Ok(None)` when the value is no legacy form
    /// (a clear PIN, or an argon2 PHC string).
    pub(crate) fn from_import(value: &str) -> Result<Option<LegacyHash>, LegacyError> {
        let (scheme, hash) = if let Some(rest) = value.strip_prefix('{') {
            let (tag, hash) = rest.split_once('}').ok_or(LegacyError::UnknownScheme)?;
            (tag.parse()?, hash)
        } else if is_bcrypt_prefix(value) {
            (LegacyScheme::Koha, value)
        } else {
            return Ok(None);
        };
        let legacy = LegacyHash {
            scheme,
            hash: hash.to_owned(),
            since: None,
        };
        legacy.check_shape()?;
        Ok(Some(legacy))
    }

    /// Reads the hash column: `Some` for a legacy hash as [`stored`](Self::stored) wrote it.
    pub(crate) fn from_stored(stored: &str) -> Option<LegacyHash> {
        let rest = stored.strip_prefix('{')?;
        let (tag, hash) = rest.split_once('}')?;
        let (scheme, since) = tag.split_once(':')?;
        let since = DateTime::from_timestamp(since.parse().ok()?, 0)?;
        let legacy = LegacyHash {
            scheme: scheme.parse().ok()?,
            hash: hash.to_owned(),
            since: Some(since),
        };
        legacy.check_shape().ok()?;
        Some(legacy)
    }

    /// The text for the hash column, recording `since` as the import time.
    pub(crate) fn stored(&self, since: DateTime<Utc>) -> String {
        format!("{{{}:{}}}{}", self.scheme, since.timestamp(), self.hash)
    }

    /// The credential an import stores for this hash, imported at `since`: under
    /// [`LEGACY_KEY_ID`], with no flags (the PIN and the password column alike).
    pub(crate) fn credential(&self, since: DateTime<Utc>) -> CredentialHash {
        CredentialHash {
            phc: self.stored(since),
            key_id: LEGACY_KEY_ID,
            must_change: false,
            default_expires_at: None,
        }
    }

    pub(crate) fn scheme(&self) -> LegacyScheme {
        self.scheme
    }

    /// When the hash was imported (`None` for one just read from an import file).
    pub(crate) fn since(&self) -> Option<DateTime<Utc>> {
        self.since
    }

    fn check_shape(&self) -> Result<(), LegacyError> {
        let malformed = LegacyError::Malformed(self.scheme);
        let ok = match self.scheme {
            LegacyScheme::Koha | LegacyScheme::Evergreen => {
                is_bcrypt_prefix(&self.hash) && bcrypt::HashParts::from_str(&self.hash).is_ok()
            }
            LegacyScheme::Folio => folio_parts(&self.hash).is_some(),
        };
        if ok {
            Ok(())
        } else {
            Err(malformed)
        }
    }

    /// Whether `secret` is the credential this hash was made from (CPU-bound).
    pub(crate) fn verify(&self, secret: &[u8]) -> bool {
        match self.scheme {
            LegacyScheme::Koha => bcrypt::verify(secret, &self.hash).unwrap_or(false),
            LegacyScheme::Evergreen => {
                let Some(salt) = self.hash.get(..BCRYPT_SETTING_CHARS) else {
                    return false;
                };
                let inner = hex::encode(Md5::digest(secret));
                let mut outer = Md5::new();
                outer.update(salt.as_bytes());
                outer.update(inner.as_bytes());
                let prehashed = hex::encode(outer.finalize());
                bcrypt::verify(prehashed.as_bytes(), &self.hash).unwrap_or(false)
            }
            LegacyScheme::Folio => {
                let Some((salt, expected)) = folio_parts(&self.hash) else {
                    return false;
                };
                let mut derived = [0u8; FOLIO_KEY_BYTES];
                pbkdf2::pbkdf2_hmac::<Sha1>(secret, &salt, FOLIO_ITERATIONS, &mut derived);
                derived.ct_eq(&expected).into()
            }
        }
    }
}

fn is_bcrypt_prefix(value: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"]
        .iter()
        .any(|p| value.starts_with(p))
}

/// `SALT:HASH` in hex: the salt's bytes and the 20-byte derived key.
fn folio_parts(value: &str) -> Option<(Vec<u8>, [u8; FOLIO_KEY_BYTES])> {
    let (salt, hash) = value.split_once(':')?;
    let salt = hex::decode(salt).ok().filter(|s| !s.is_empty())?;
    let mut key = [0u8; FOLIO_KEY_BYTES];
    hex::decode_to_slice(hash, &mut key).ok()?;
    Some((salt, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn imported(value: &str) -> LegacyHash {
        LegacyHash::from_import(value).unwrap().unwrap()
    }

    /// Koha hashes with Crypt::Eksblowfish::Bcrypt; these vectors are that module's own tests
    /// (Crypt-Eksblowfish `t/bcrypt.t`), settings and hash as listed there.
    #[test]
    fn koha_bcrypt_matches_crypt_eksblowfish_vectors() {
        let vectors = [
            (
                "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
                "U*U",
            ),
            (
                "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK",
                "U*U*",
            ),
            (
                "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a",
                "U*U*U",
            ),
        ];
        for (hash, secret) in vectors {
            let legacy = imported(hash);
            assert_eq!(legacy.scheme(), LegacyScheme::Koha);
            assert!(legacy.verify(secret.as_bytes()), "{secret}");
            for wrong in ["foo", "quux", "U*U*U*"] {
                assert!(!legacy.verify(wrong.as_bytes()), "{secret} / {wrong}");
            }
        }
    }

    /// Evergreen's own SQL (`actor.migrate_passwd`/`actor.set_passwd`, upgrade 0961) run on
    /// PostgreSQL pgcrypto: `salt := gen_salt('bf', 10)`, `crypt(md5(salt || md5('4931')), salt)`
    /// and the same for 'demo1234'. The salt is the first 29 characters of the hash.
    #[test]
    fn evergreen_matches_hashes_made_by_its_pgcrypto_functions() {
        let vectors = [
            (
                "{evergreen}$2a$10$9T0w3.1ySPJsYH6fbLNX1.qYWYNKUVwDIirEDS4WK6X3FqvWWZZaW",
                "4931",
            ),
            (
                "{evergreen}$2a$10$rklTjUbWBZcPedEvZRDvwurlx0KNLJ6iBfOOAqfccC7kKzYM4oAIO",
                "demo1234",
            ),
        ];
        for (value, secret) in vectors {
            let legacy = imported(value);
            assert_eq!(legacy.scheme(), LegacyScheme::Evergreen);
            assert!(legacy.verify(secret.as_bytes()), "{secret}");
            assert!(!legacy.verify(b"4932"));
        }
    }

    /// mod-login's own test data (`MongoAuthSourceTest`): users jack, jill and joe with the
    /// hash and salt mod-login's `AuthUtil` made for their passwords.
    #[test]
    fn folio_pbkdf2_matches_mod_login_test_credentials() {
        let vectors = [
            (
                "573547B9EF48329FD2285F256C0A330C27D3D0A5",
                "5FB532B6D2926506E3EE32EF3AA73E6B6342E9D5",
                "BigBadWolf",
            ),
            (
                "7D10FB1E347835A05B5847FEF9033A581CC9FEDA",
                "C3B9C87747622CBBEBDC7C1F9F219C392E6B657B",
                "LittleNiceSheep",
            ),
            (
                "9BC945B30568C76F90795EFF062A9D6A38025D57",
                "CBC698A0F5E975CABFAFEAC2B8D28896FEEE5B59",
                "OldLazyDog",
            ),
        ];
        for (salt, hash, secret) in vectors {
            let legacy = imported(&format!("{{folio}}{salt}:{hash}"));
            assert_eq!(legacy.scheme(), LegacyScheme::Folio);
            assert!(legacy.verify(secret.as_bytes()), "{secret}");
            assert!(!legacy.verify(b"floWdaBgiB"));
        }
    }

    #[test]
    fn stored_form_round_trips_with_the_import_time() {
        let legacy = imported("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW");
        let stored = legacy.stored(at(1_733_000_000));
        assert!(stored.starts_with("{koha:1733000000}$2a$05$"), "{stored}");
        let back = LegacyHash::from_stored(&stored).unwrap();
        assert_eq!(back.since(), Some(at(1_733_000_000)));
        assert!(back.verify(b"U*U"));
        assert!(LegacyHash::from_stored("$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA").is_none());
    }

    #[test]
    fn other_values_are_not_legacy_and_broken_ones_are_refused() {
        for value in [
            "4931",
            "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA",
            "hunter2",
        ] {
            assert_eq!(LegacyHash::from_import(value), Ok(None), "{value}");
        }
        assert_eq!(
            LegacyHash::from_import("{sha1}abc"),
            Err(LegacyError::UnknownScheme)
        );
        assert_eq!(
            LegacyHash::from_import("$2a$05$short"),
            Err(LegacyError::Malformed(LegacyScheme::Koha))
        );
        assert_eq!(
            LegacyHash::from_import("{folio}zz:00"),
            Err(LegacyError::Malformed(LegacyScheme::Folio))
        );
        let shown = format!(
            "{:?}",
            imported("{folio}00ff:5FB532B6D2926506E3EE32EF3AA73E6B6342E9D5")
        );
        assert!(!shown.contains("5FB5"), "{shown}");
    }
}
