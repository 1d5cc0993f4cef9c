//! The one place where `accounts` meets `auth`: PIN and password rules, hashing through the
//! blocking pool, pepper keys and card pseudonyms. Every other file of `accounts` goes through
//! [`Credentials`], so a change in `auth` is absorbed here.
//!
//! Uses `auth`, `store` (hash types) and `config`. Must not import `sip2`, `server` or `cli`.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use super::error::Error;
use crate::auth::hashing::{CredentialHash as AuthHash, Hasher, Verification};
use crate::auth::password_rules::{self, PasswordContext};
use crate::auth::pepper::KeyRing;
use crate::auth::pin_rules::{self, PinContext};
use crate::auth::pool::{HashPool, Job};
use crate::config::SecurityConfig;
use crate::store::Store;

/// A new PHC hash with the id of the pepper key it was made with.
#[derive(Clone, PartialEq, Eq)]
pub struct NewHash {
    pub phc: String,
    pub key_id: u32,
}

impl std::fmt::Debug for NewHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NewHash([redacted], key {})", self.key_id)
    }
}

/// Hashing, rules and pseudonyms with the configured pepper keys.
pub struct Credentials {
    hasher: Hasher,
    pool: HashPool,
    keys: Arc<KeyRing>,
    security: SecurityConfig,
}

impl Credentials {
    /// Loads the pepper keys and builds the hasher (both off the reactor).
    pub async fn new(_store: &Store, security: &SecurityConfig) -> Result<Credentials, Error> {
        let config = security.clone();
        let (keys, hasher) = tokio::task::spawn_blocking(move || {
            let keys =
                Arc::new(KeyRing::load(&config.pepper).map_err(|e| Error::Pepper(e.to_string()))?);
            let hasher = Hasher::new(&config.hashing, keys.clone())
                .map_err(|e| Error::Hashing(e.to_string()))?;
            Ok::<_, Error>((keys, hasher))
        })
        .await
        .map_err(|e| Error::Hashing(e.to_string()))??;
        Ok(Credentials {
            hasher,
            pool: HashPool::new(&security.hashing),
            keys,
            security: security.clone(),
        })
    }

    /// Number of hashes computed at once (`security.hashing.max_concurrent`, 0 = cores).
    pub fn parallelism(&self) -> usize {
        self.pool.size()
    }

    /// Id of the pepper key new hashes are made with.
    pub fn active_key_id(&self) -> u32 {
        self.keys.active_id()
    }

    /// Whether a pepper key with this id is configured (active or previous).
    pub fn has_key(&self, key_id: u32) -> bool {
        self.keys.get(key_id).is_some()
    }

    /// Applies the PIN rules; `Err` holds the sentence for the patron.
    pub fn check_pin(&self, pin: &SecretString, context: &PinContext<'_>) -> Result<(), String> {
        pin_rules::check(pin.expose_secret(), &self.security.pin, context)
            .map_err(|rejection| rejection.to_string())
    }

    /// Applies the password rules; `Err` holds the sentence for the patron.
    pub fn check_password(
        &self,
        password: &SecretString,
        context: &PasswordContext<'_>,
    ) -> Result<(), String> {
        let normalized =
            password_rules::normalize(password.expose_secret(), &self.security.password)
                .map_err(|r| r.to_string())?;
        password_rules::check(&normalized, &self.security.password, context)
            .map_err(|r| r.to_string())
    }

    /// Hashes a PIN or a terminal secret on the blocking pool (waits for a free slot).
    pub async fn hash(&self, secret: &SecretString) -> Result<NewHash, Error> {
        let bytes = zeroize::Zeroizing::new(secret.expose_secret().as_bytes().to_vec());
        self.run(move |hasher| hasher.hash(&bytes)).await
    }

    /// Hashes an online password (NFKC-normalised first, as it is verified).
    pub async fn hash_password(&self, password: &SecretString) -> Result<NewHash, Error> {
        let normalized =
            password_rules::normalize(password.expose_secret(), &self.security.password)
                .map_err(|r| Error::Refused(r.to_string()))?;
        let bytes = zeroize::Zeroizing::new(normalized.as_bytes().to_vec());
        self.run(move |hasher| hasher.hash(&bytes)).await
    }

    /// Whether `secret` matches a stored hash (used to refuse "new PIN = current PIN").
    pub async fn matches(
        &self,
        phc: &str,
        key_id: u32,
        secret: &SecretString,
    ) -> Result<bool, Error> {
        let stored = AuthHash {
            phc: phc.to_owned(),
            key_id,
        };
        let bytes = zeroize::Zeroizing::new(secret.expose_secret().as_bytes().to_vec());
        let hasher = self.hasher.clone();
        let verdict = self
            .pool
            .acquire()
            .await
            .map_err(|_| Error::Hashing("all hashing slots stayed busy; retry".into()))?
            .run(Job::Verify, move || hasher.verify(&stored, &bytes))
            .await;
        Ok(verdict == Verification::Match)
    }

    /// A stable pseudonym of a card for the audit log (keyed with the active pepper).
    pub fn pseudonym(&self, card: &str) -> String {
        self.keys.active().pseudonym(card)
    }

    async fn run<F>(&self, job: F) -> Result<NewHash, Error>
    where
        F: FnOnce(&Hasher) -> Result<AuthHash, crate::auth::hashing::HashingError> + Send + 'static,
    {
        let hasher = self.hasher.clone();
        // A bulk caller queues on the pool; waiting longer than the queue timeout is retried, as
        // an import must not fail because its own jobs fill every slot.
        let slot = loop {
            match self.pool.acquire().await {
                Ok(slot) => break slot,
                Err(_) => continue,
            }
        };
        let hash = slot
            .run(Job::Hash, move || job(&hasher))
            .await
            .map_err(|e| Error::Hashing(e.to_string()))?;
        Ok(NewHash {
            phc: hash.phc,
            key_id: hash.key_id,
        })
    }
}
