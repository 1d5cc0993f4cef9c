//! Credential hashing: argon2id v0x13, 16-byte random salt, 32-byte output, PHC string, keyed with
//! the pepper (`Argon2::new_with_secret`). Owns the parameters, the key id stored with every hash,
//! the dummy hash that equalises cost for unknown cards, and the re-hash rule. Every function here
//! is CPU-heavy and synchronous: call it through the [`pool`](super::pool), never on the reactor.
//!
//! Uses `config` only; must not import `store`, `sip2`, `server` or `accounts`.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use super::legacy::{LegacyHash, LEGACY_KEY_ID};
use super::pepper::KeyRing;
use crate::config::security::HashingConfig;

/// Output length of every hash, in bytes.
pub(crate) const OUTPUT_BYTES: usize = 32;

/// A stored credential: the PHC string and the id of the pepper key it was made with. Not a secret
/// in itself, but never logged: `Debug` shows the key id only.
#[derive(Clone, PartialEq, Eq)]
pub struct HashedSecret {
    pub phc: String,
    pub key_id: u32,
}

impl fmt::Debug for HashedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashedSecret")
            .field("phc", &"[redacted]")
            .field("key_id", &self.key_id)
            .finish()
    }
}

/// The result of checking a secret against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    Match,
    Mismatch,
    /// The hash was made with a pepper key that is no longer configured (or cannot be read):
    /// nobody can verify it any more; the credential must be reset.
    Unverifiable,
}

/// Hashing failed for a reason that is not the secret's fault.
#[derive(Debug, thiserror::Error)]
#[error("argon2id: {0}")]
pub struct HashingError(String);

/// Argon2id with the configured parameters and the pepper ring. Cheap to clone.
#[derive(Clone)]
pub struct Hasher {
    params: Params,
    keys: Arc<KeyRing>,
    dummy: Arc<HashedSecret>,
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher")
            .field("params", &self.params)
            .field("active_key_id", &self.keys.active_id())
            .finish()
    }
}

impl Hasher {
    /// Builds the hasher and its dummy hash (one argon2 run: call on a blocking thread).
    pub fn new(config: &HashingConfig, keys: Arc<KeyRing>) -> Result<Self, HashingError> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            Some(OUTPUT_BYTES),
        )
        .map_err(|e| HashingError(e.to_string()))?;
        let mut hasher = Self {
            params,
            keys,
            dummy: Arc::new(HashedSecret {
                phc: String::new(),
                key_id: 0,
            }),
        };
        // A random secret nobody knows: no presented secret can match it.
        let mut unknowable = zeroize::Zeroizing::new([0u8; 32]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, unknowable.as_mut());
        hasher.dummy = Arc::new(hasher.hash(unknowable.as_ref())?);
        Ok(hasher)
    }

    pub(crate) fn keys(&self) -> &KeyRing {
        &self.keys
    }

    fn argon2<'k>(&self, secret: &'k [u8], params: Params) -> Result<Argon2<'k>, HashingError> {
        Argon2::new_with_secret(secret, Algorithm::Argon2id, Version::V0x13, params)
            .map_err(|e| HashingError(e.to_string()))
    }

    /// Hashes `secret` with the active key and a fresh salt.
    pub fn hash(&self, secret: &[u8]) -> Result<HashedSecret, HashingError> {
        let failed = |e: &dyn fmt::Display| HashingError(e.to_string());
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let salt = salt.as_salt();
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(|e| failed(&e))?;
        let argon2 = self.argon2(self.keys.active().bytes(), self.params.clone())?;
        let blocks = self.params.block_count();
        let output = Output::init_with(OUTPUT_BYTES, |out| {
            in_kept_memory(&argon2, blocks, secret, salt_bytes, out)
                .map_err(|_| argon2::password_hash::Error::Crypto)
        })
        .map_err(|e| failed(&e))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(|e| failed(&e))?,
            salt: Some(salt),
            hash: Some(output),
        }
        .to_string();
        Ok(HashedSecret {
            phc,
            key_id: self.keys.active_id(),
        })
    }

    /// Checks `secret` against a stored hash. A retired key or an unreadable PHC string costs a
    /// dummy verification, so the answer takes as long as a real one.
    pub fn verify(&self, stored: &HashedSecret, secret: &[u8]) -> Verification {
        if let Some(legacy) = legacy_of(stored) {
            return self.verify_legacy(&legacy, secret);
        }
        let Some(key) = self.keys.get(stored.key_id) else {
            self.verify_dummy(secret);
            return Verification::Unverifiable;
        };
        let parsed = match PasswordHash::new(&stored.phc) {
            Ok(parsed) if self.can_verify(stored) => parsed,
            _ => {
                self.verify_dummy(secret);
                return Verification::Unverifiable;
            }
        };
        // Algorithm, version and parameters come from the PHC string, the pepper from the key
        // ring: hashes made with older parameters still verify.
        match matches(key.bytes(), &parsed, secret) {
            Ok(true) => Verification::Match,
            Ok(false) => Verification::Mismatch,
            Err(_) => Verification::Unverifiable,
        }
    }

    /// Whether `stored` can be verified at all: its pepper key is configured and its PHC string is
    /// a complete argon2 hash (parameters, salt and output). When false, no secret can match it:
    /// the credential must be reset, and checking it must not count as a failure.
    pub(crate) fn can_verify(&self, stored: &HashedSecret) -> bool {
        if legacy_of(stored).is_some() {
            return true;
        }
        self.keys.get(stored.key_id).is_some()
            && PasswordHash::new(&stored.phc).is_ok_and(|parsed| {
                parsed.salt.is_some()
                    && parsed.hash.is_some()
                    && Algorithm::try_from(parsed.algorithm).is_ok()
                    && Params::try_from(&parsed).is_ok()
            })
    }

    /// A legacy (unpeppered, imported) hash: its own check, then a dummy argon2 verification, so
    /// a legacy check never answers faster than an argon2 one.
    fn verify_legacy(&self, legacy: &LegacyHash, secret: &[u8]) -> Verification {
        let matched = legacy.verify(secret);
        self.verify_dummy(secret);
        if matched {
            Verification::Match
        } else {
            Verification::Mismatch
        }
    }

    /// Verifies `secret` against the dummy hash (same parameters, never matches): the cost of an
    /// unknown card, a locked account or a patron without a PIN equals that of a wrong PIN.
    pub(crate) fn verify_dummy(&self, secret: &[u8]) {
        let Ok(parsed) = PasswordHash::new(&self.dummy.phc) else {
            return;
        };
        let _ = matches(self.keys.active().bytes(), &parsed, secret);
    }

    /// True when a stored hash should be replaced after a successful verification: a different
    /// algorithm, version, parameters or output length, or an older pepper key.
    pub(crate) fn needs_rehash(&self, stored: &HashedSecret) -> bool {
        if stored.key_id != self.keys.active_id() {
            return true;
        }
        let Ok(parsed) = PasswordHash::new(&stored.phc) else {
            return true;
        };
        let current = (
            Algorithm::Argon2id.ident(),
            Some(Version::V0x13 as u32),
            Some(OUTPUT_BYTES),
        );
        let stored_shape = (
            parsed.algorithm,
            parsed.version,
            parsed.hash.map(|h| h.len()),
        );
        current != stored_shape
            || Params::try_from(&parsed).map_or(true, |p| {
                (p.m_cost(), p.t_cost(), p.p_cost())
                    != (
                        self.params.m_cost(),
                        self.params.t_cost(),
                        self.params.p_cost(),
                    )
            })
    }
}

thread_local! {
    /// This thread's argon2 working memory, kept from one hash or verification to the next. The
    /// hashing threads are a fixed set (`hash_threads.rs`), so the process holds one working
    /// set per thread; allocating it per call left the allocator holding several per thread.
    /// The memory is not cleared between calls, as argon2's own allocation is not cleared when
    /// freed: it holds derived blocks, never the secret.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// argon2 of `secret` and `salt` into `out`, in this thread's kept memory (grown to `blocks`).
fn in_kept_memory(
    argon2: &Argon2<'_>,
    blocks: usize,
    secret: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    BLOCKS.with(|kept| {
        let mut kept = kept.borrow_mut();
        if kept.len() < blocks {
            kept.resize(blocks, Block::default());
        }
        argon2.hash_password_into_with_memory(secret, salt, out, &mut kept[..])
    })
}

/// Whether argon2 of `secret` with pepper `key`, at the algorithm, version, parameters and salt
/// of `parsed`, gives its output (compared in constant time). Runs in this thread's kept memory.
fn matches(key: &[u8], parsed: &PasswordHash<'_>, secret: &[u8]) -> Result<bool, HashingError> {
    let failed = |e: &dyn fmt::Display| HashingError(e.to_string());
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| failed(&e))?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(|e| failed(&e))?,
        None => Version::default(),
    };
    let params = Params::try_from(parsed).map_err(|e| failed(&e))?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash.as_ref()) else {
        return Err(HashingError(
            "the PHC string has no salt or output".to_owned(),
        ));
    };
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes).map_err(|e| failed(&e))?;
    let mut out = zeroize::Zeroizing::new(vec![0u8; expected.len()]);
    let blocks = params.block_count();
    let argon2 =
        Argon2::new_with_secret(key, algorithm, version, params).map_err(|e| failed(&e))?;
    in_kept_memory(&argon2, blocks, secret, salt, &mut out).map_err(|e| failed(&e))?;
    Ok(bool::from(subtle::ConstantTimeEq::ct_eq(
        out.as_slice(),
        expected.as_bytes(),
    )))
}

/// The legacy hash a stored credential holds, if it is one (stored under the legacy key id).
pub(crate) fn legacy_of(stored: &HashedSecret) -> Option<LegacyHash> {
    (stored.key_id == LEGACY_KEY_ID)
        .then(|| LegacyHash::from_stored(&stored.phc))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::super::pepper::PepperKey;
    use super::*;

    /// Cheap parameters: these tests are about keys and shapes, not cost.
    fn cheap() -> HashingConfig {
        HashingConfig {
            memory_kib: 64,
            iterations: 1,
            ..HashingConfig::default()
        }
    }

    fn ring(active: u32, ids: &[u32]) -> Arc<KeyRing> {
        let key = |id: u32| PepperKey::from_bytes([id as u8; 32]);
        Arc::new(KeyRing::new(
            active,
            key(active),
            ids.iter().map(|&id| (id, key(id))).collect(),
        ))
    }

    #[test]
    fn default_parameters_give_the_owasp_phc_string() {
        let hasher = Hasher::new(&HashingConfig::default(), ring(1, &[])).unwrap();
        let hash = hasher.hash(b"4931").unwrap();
        assert!(
            hash.phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.phc
        );
        assert_eq!(hash.key_id, 1);
        assert!(!hasher.needs_rehash(&hash));
    }

    #[test]
    fn same_secret_twice_gives_two_hashes_that_both_verify() {
        let hasher = Hasher::new(&cheap(), ring(1, &[])).unwrap();
        let (a, b) = (hasher.hash(b"4931").unwrap(), hasher.hash(b"4931").unwrap());
        assert_ne!(a.phc, b.phc);
        assert_eq!(hasher.verify(&a, b"4931"), Verification::Match);
        assert_eq!(hasher.verify(&b, b"4932"), Verification::Mismatch);
        assert!(!format!("{a:?}").contains("argon2"));
    }

    #[test]
    fn a_hash_does_not_verify_under_another_pepper() {
        let hasher = Hasher::new(&cheap(), ring(1, &[])).unwrap();
        let stored = hasher.hash(b"4931").unwrap();
        let other = Hasher::new(
            &cheap(),
            Arc::new(KeyRing::new(1, PepperKey::from_bytes([9; 32]), vec![])),
        )
        .unwrap();
        assert_eq!(other.verify(&stored, b"4931"), Verification::Mismatch);
    }

    #[test]
    fn previous_keys_verify_and_ask_for_a_rehash_retired_ones_cannot_verify() {
        let old = Hasher::new(&cheap(), ring(1, &[])).unwrap();
        let stored = old.hash(b"4931").unwrap();
        let rotated = Hasher::new(&cheap(), ring(2, &[1])).unwrap();
        assert_eq!(rotated.verify(&stored, b"4931"), Verification::Match);
        assert!(rotated.needs_rehash(&stored));
        let retired = Hasher::new(&cheap(), ring(2, &[])).unwrap();
        assert_eq!(retired.verify(&stored, b"4931"), Verification::Unverifiable);
    }

    #[test]
    fn weaker_stored_parameters_ask_for_a_rehash() {
        let weak = Hasher::new(&cheap(), ring(1, &[])).unwrap();
        let stored = weak.hash(b"4931").unwrap();
        let stronger = HashingConfig {
            memory_kib: 128,
            ..cheap()
        };
        let current = Hasher::new(&stronger, ring(1, &[])).unwrap();
        assert_eq!(current.verify(&stored, b"4931"), Verification::Match);
        assert!(current.needs_rehash(&stored));
        assert!(!current.needs_rehash(&current.hash(b"4931").unwrap()));
    }

    #[test]
    fn garbage_in_the_hash_column_is_unverifiable_not_a_panic() {
        let hasher = Hasher::new(&cheap(), ring(1, &[])).unwrap();
        for phc in [
            "1234",
            "$argon2id$not-a-phc-string",
            "$argon2id$v=19$m=64,t=1,p=1",
        ] {
            let stored = HashedSecret {
                phc: phc.into(),
                key_id: 1,
            };
            assert!(!hasher.can_verify(&stored), "{phc}");
            assert_eq!(hasher.verify(&stored, b"1234"), Verification::Unverifiable);
        }
        assert!(hasher.can_verify(&hasher.hash(b"1234").unwrap()));
    }
}
