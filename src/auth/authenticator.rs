//! The facade: [`Authenticator`] holds the store, the security config, the clock, the hasher with
//! its pepper ring and the hashing pool. Owns start-up (key loading and the fingerprint check),
//! card pseudonyms (the audit entry builder is `audit.rs`).
//!
//! Uses `store`, `config` and `clock`; must not import `sip2`, `server` or `accounts`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::hashing::{HashedSecret, Hasher};
use super::pepper::{KeyRing, PepperError};
use super::pool::{HashPool, PoolCounts};
use super::sealing::Sealer;
use super::{Error, Result};
use crate::clock::SharedClock;
use crate::config::security::{LockoutConfig, SecurityConfig};
use crate::store::{CredentialHash, LockPolicy, PasswordLockPolicy, Store, StoredHash};

/// Meta-table key under which the fingerprint of pepper key `id` is recorded.
fn fingerprint_key(id: u32) -> String {
    format!("pepper.fingerprint.{id}")
}

/// Decides about terminals and patrons. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Authenticator {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) store: Store,
    pub(super) config: SecurityConfig,
    pub(super) clock: SharedClock,
    pub(super) hasher: Hasher,
    pub(super) pool: HashPool,
    pub(super) sealer: Sealer,
    /// Whether a hard lock queues the patron's notification mail (mail is set up).
    pub(super) mail_hard_locks: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("hasher", &self.inner.hasher)
            .field("pool_size", &self.inner.pool.size())
            .finish()
    }
}

impl Authenticator {
    /// Loads the pepper keys named in `config.pepper`, checks them against the fingerprints in the
    /// database (refusing to start on a mismatch, recording them on first use), and builds the
    /// hasher and the pool.
    pub async fn new(store: Store, config: &SecurityConfig, clock: SharedClock) -> Result<Self> {
        let pepper = config.pepper.clone();
        let loaded = tokio::task::spawn_blocking(move || KeyRing::load(&pepper))
            .await
            .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()));
        let keys = match loaded {
            Ok(keys) => keys,
            Err(PepperError::Missing { path, source }) => {
                return Err(missing_key(&store, config.pepper.key_id, path, source).await)
            }
            Err(other) => return Err(other.into()),
        };
        Self::with_keys(store, config, clock, keys).await
    }

    /// Like [`new`](Self::new) with keys already in memory (tests, demos).
    pub async fn with_keys(
        store: Store,
        config: &SecurityConfig,
        clock: SharedClock,
        keys: KeyRing,
    ) -> Result<Self> {
        check_fingerprints(&store, &keys).await?;
        let hashing = config.hashing.clone();
        let keys = Arc::new(keys);
        let sealer = Sealer::new(keys.clone());
        let hasher = tokio::task::spawn_blocking(move || Hasher::new(&hashing, keys))
            .await
            .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                config: config.clone(),
                clock,
                pool: HashPool::new(&config.hashing),
                hasher,
                sealer,
                mail_hard_locks: std::sync::atomic::AtomicBool::new(false),
            }),
        })
    }

    /// The card's pseudonym for audit records and logs (keyed with the active pepper).
    pub fn pseudonym(&self, card: &str) -> String {
        self.inner.hasher.keys().active().pseudonym(card)
    }

    /// From now on a hard lock also queues the patron's notification mail (called once mail is
    /// set up; without it the notification stays an audit record).
    pub(crate) fn mail_hard_locks(&self) {
        self.inner
            .mail_hard_locks
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Seals and opens the secrets the server must read back, with keys derived from the pepper.
    pub fn sealer(&self) -> &Sealer {
        &self.inner.sealer
    }

    /// Work done by the hashing pool (verifications, dummy verifications, hashes, busy answers).
    pub fn pool_counts(&self) -> PoolCounts {
        self.inner.pool.counts()
    }

    /// Whether every loaded pepper key still matches the fingerprint recorded in the database
    /// (a database swapped or restored under the running process would not). Records nothing.
    pub(crate) async fn pepper_matches(&self) -> Result<bool> {
        for (key_id, key) in self.inner.hasher.keys().iter() {
            let recorded = self.inner.store.get_meta(&fingerprint_key(key_id)).await?;
            if !recorded.is_some_and(|r| key.has_fingerprint(&r)) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Hashing slots in all, and held right now.
    pub(crate) fn pool_usage(&self) -> (usize, usize) {
        (self.inner.pool.size(), self.inner.pool.in_use())
    }

    pub(crate) fn config(&self) -> &SecurityConfig {
        &self.inner.config
    }

    pub(super) fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    pub(super) fn pin_policy(&self) -> LockPolicy {
        pin_lock_policy(&self.inner.config.lockout)
    }

    pub(super) fn password_policy(&self) -> PasswordLockPolicy {
        password_lock_policy(&self.inner.config.lockout)
    }
}

/// The password lockout as the store applies it (public for the same reason as the PIN's).
pub fn password_lock_policy(lockout: &LockoutConfig) -> PasswordLockPolicy {
    PasswordLockPolicy {
        threshold: lockout.password_threshold,
        base_lock: duration(lockout.password_lock),
        max_lock: duration(lockout.password_lock_max),
    }
}

/// The PIN lockout thresholds and lock time as the store applies them. Public so that `explain`
/// reads a lock exactly as a check would.
pub fn pin_lock_policy(lockout: &LockoutConfig) -> LockPolicy {
    LockPolicy {
        temp_threshold: lockout.pin_temporary_threshold,
        temp_lock: duration(lockout.pin_temporary_lock),
        hard_threshold: lockout.pin_hard_threshold,
    }
}

/// A std duration as a chrono one (saturating; configured durations are far below the bound).
pub(super) fn duration(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

// The store keeps hashes as opaque strings and `hashing` must not know the store's types: the
// conversions between the two live here, once.
impl From<&CredentialHash> for HashedSecret {
    fn from(stored: &CredentialHash) -> Self {
        HashedSecret {
            phc: stored.phc.clone(),
            key_id: stored.key_id,
        }
    }
}

impl From<StoredHash> for HashedSecret {
    fn from(stored: StoredHash) -> Self {
        HashedSecret {
            phc: stored.phc,
            key_id: stored.key_id,
        }
    }
}

impl From<HashedSecret> for StoredHash {
    fn from(hashed: HashedSecret) -> Self {
        StoredHash {
            phc: hashed.phc,
            key_id: hashed.key_id,
        }
    }
}

/// A copy of a secret's bytes for a blocking job, zeroed when the job drops it.
pub(super) fn secret_bytes(secret: &SecretString) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(secret.expose_secret().as_bytes().to_vec())
}

/// A key file that cannot be read: on a database that already holds hashes made with that key
/// the error says so (the key must be restored, not replaced); on a fresh one it suggests
/// creating a key.
async fn missing_key(
    store: &Store,
    key_id: u32,
    path: std::path::PathBuf,
    source: std::io::Error,
) -> Error {
    match store.count_hashes_with_key(key_id).await {
        Ok(hashes) if hashes > 0 => Error::PepperKeyMissing {
            key_id,
            hashes,
            path,
            reason: source.to_string(),
        },
        Ok(_) => Error::Pepper(PepperError::Missing { path, source }),
        Err(err) => Error::Store(err),
    }
}

/// Every configured key must match its recorded fingerprint; a key without one is recorded, unless
/// hashes made with that key id already exist (then the key cannot be confirmed). Recording never
/// overwrites: of instances racing to record different keys under one id, only one starts.
async fn check_fingerprints(store: &Store, keys: &KeyRing) -> Result<()> {
    for (key_id, key) in keys.iter() {
        match store.get_meta(&fingerprint_key(key_id)).await? {
            Some(recorded) if key.has_fingerprint(&recorded) => {}
            Some(_) => return Err(Error::FingerprintMismatch { key_id }),
            None => {
                let hashes = store.count_hashes_with_key(key_id).await?;
                if hashes > 0 {
                    return Err(Error::FingerprintMissing { key_id, hashes });
                }
                let name = fingerprint_key(key_id);
                if store
                    .insert_meta_if_absent(&name, &key.fingerprint())
                    .await?
                {
                    tracing::info!(key_id, "recorded the fingerprint of a new pepper key");
                } else {
                    // Another instance recorded one meanwhile: ours must be that key.
                    let recorded = store.get_meta(&name).await?;
                    if !recorded.is_some_and(|r| key.has_fingerprint(&r)) {
                        return Err(Error::FingerprintMismatch { key_id });
                    }
                }
            }
        }
    }
    Ok(())
}
