//! Where `accounts` calls the [`Authenticator`]: pepper keys checked against the database
//! fingerprints, hashing on its blocking pool (waiting while it is busy), PIN and password rules
//! with the patron's context, and card pseudonyms. Every other file of `accounts` hashes and
//! checks through [`Credentials`]; they use `auth` directly only for its value types (the rule
//! contexts) and, in `explain`, its standing rules and lock policy.
//!
//! Uses `auth`, `store` (hash types), `config` and `clock`. Must not import `sip2`, `server` or
//! `cli`.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::error::Error;
use crate::auth::{self, Authenticator, NewCredential, PasswordContext, PinContext};
use crate::clock::SharedClock;
use crate::config::SecurityConfig;
use crate::store::{CredentialHash, Store, StoredHash};

/// How long a staff action waits in total for a hashing slot before giving up.
const BUSY_RETRY: Duration = Duration::from_secs(120);

/// Hashing, rules and pseudonyms with the configured pepper keys.
pub struct Credentials {
    auth: Authenticator,
    security: SecurityConfig,
}

impl Credentials {
    /// Builds the authenticator: loads the pepper keys and checks them against the fingerprints
    /// recorded in the database (a wrong key would make every new hash useless).
    pub async fn new(
        store: &Store,
        security: &SecurityConfig,
        clock: SharedClock,
    ) -> Result<Credentials, Error> {
        let auth = Authenticator::new(store.clone(), security, clock)
            .await
            .map_err(|err| match err {
                auth::Error::Store(e) => Error::from(e),
                auth::Error::Hashing(e) => Error::Hashing(e.to_string()),
                other => Error::Pepper(other.to_string()),
            })?;
        Ok(Credentials {
            auth,
            security: security.clone(),
        })
    }

    /// Wraps an authenticator that is already running.
    pub fn from_authenticator(auth: Authenticator, security: &SecurityConfig) -> Credentials {
        Credentials {
            auth,
            security: security.clone(),
        }
    }

    /// Number of hashes computed at once (`security.hashing.max_concurrent`, 0 = cores).
    pub fn parallelism(&self) -> usize {
        match self.security.hashing.max_concurrent {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        }
    }

    /// Whether a pepper key with this id is configured (active or previous).
    pub fn has_key(&self, key_id: u32) -> bool {
        let pepper = &self.security.pepper;
        pepper.key_id == key_id || pepper.previous_keys.iter().any(|k| k.id == key_id)
    }

    /// Applies the PIN rules without hashing; `Err` holds the sentence for the patron.
    pub fn check_pin(&self, pin: &SecretString, context: &PinContext<'_>) -> Result<(), String> {
        auth::pin_rules::check(pin.expose_secret(), &self.security.pin, context)
            .map_err(|rejection| rejection.to_string())
    }

    /// Checks (rules, and "not the current PIN") and hashes a new PIN.
    /// `Ok(Err(reason))` is a refusal with the sentence for the patron.
    pub async fn new_pin(
        &self,
        pin: &SecretString,
        context: &PinContext<'_>,
        current: Option<&CredentialHash>,
    ) -> Result<Result<CredentialHash, String>, Error> {
        self.retry(|| self.auth.hash_pin(pin, context, current))
            .await
    }

    /// Hashes an imported PIN that the rules refuse, flagged must-change (`--weak-pins
    /// must-change`); no rule is applied.
    pub async fn weak_pin(&self, pin: &SecretString) -> Result<CredentialHash, Error> {
        self.retry(|| self.auth.hash_weak_pin(pin))
            .await?
            .map_err(Error::Refused)
    }

    /// Checks (rules, and "not the PIN") and hashes a new online password.
    pub async fn new_password(
        &self,
        password: &SecretString,
        context: &PasswordContext<'_>,
        pin: Option<&CredentialHash>,
    ) -> Result<Result<CredentialHash, String>, Error> {
        self.retry(|| self.auth.hash_password(password, context, pin))
            .await
    }

    /// The default PIN of a new patron without one (`security.default_credential`): the last
    /// `digits` digits of `phone`, hashed, must-change and expiring, made by
    /// [`Authenticator::default_pin`]. `Ok(None)` when the policy is off or the phone has too few
    /// digits. No PIN rule applies: the digits are the phone's by definition, and the PIN only
    /// lasts until the patron chooses one (which may then equal neither).
    pub async fn default_pin(&self, phone: Option<&str>) -> Result<Option<CredentialHash>, Error> {
        let started = std::time::Instant::now();
        loop {
            match self.auth.default_pin(phone).await {
                Ok(None) => return Ok(None),
                Ok(Some(NewCredential::Hashed(hash))) => return Ok(Some(hash)),
                Ok(Some(NewCredential::Busy)) if started.elapsed() < BUSY_RETRY => continue,
                Ok(Some(NewCredential::Busy)) => return Err(busy()),
                Ok(Some(NewCredential::Rejected(rejection))) => {
                    return Err(Error::Refused(rejection.to_string()))
                }
                Err(e) => return Err(Error::Hashing(e.to_string())),
            }
        }
    }

    /// Whether [`Credentials::default_pin`] would issue a PIN for this phone (dry runs: no
    /// hashing), by the same rule [`Authenticator::default_pin`] applies.
    pub fn default_pin_applies(&self, phone: Option<&str>) -> bool {
        auth::default_pin_digits(&self.security.default_credential, phone).is_some()
    }

    /// Hashes a terminal secret (no rules: generated or checked by the caller).
    pub async fn terminal_secret(&self, secret: &SecretString) -> Result<StoredHash, Error> {
        let started = std::time::Instant::now();
        loop {
            match self.auth.hash_terminal_password(secret).await {
                Ok(Some(hash)) => return Ok(hash),
                Ok(None) if started.elapsed() < BUSY_RETRY => continue,
                Ok(None) => return Err(busy()),
                Err(e) => return Err(Error::Hashing(e.to_string())),
            }
        }
    }

    /// A stable pseudonym of a card for the audit log (keyed with the active pepper).
    pub fn pseudonym(&self, card: &str) -> String {
        self.auth.pseudonym(card)
    }

    /// Runs a hashing call, waiting again while the pool answers "busy" (a bulk import fills
    /// every slot with its own jobs; that must not fail the import).
    async fn retry<'a, F, Fut>(&'a self, call: F) -> Result<Result<CredentialHash, String>, Error>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = auth::Result<NewCredential>> + 'a,
    {
        let started = std::time::Instant::now();
        loop {
            match call().await {
                Ok(NewCredential::Hashed(hash)) => return Ok(Ok(hash)),
                Ok(NewCredential::Rejected(rejection)) => return Ok(Err(rejection.to_string())),
                Ok(NewCredential::Busy) if started.elapsed() < BUSY_RETRY => continue,
                Ok(NewCredential::Busy) => return Err(busy()),
                Err(e) if e.is_unavailable() => {
                    return Err(Error::Hashing(
                        "database unavailable while checking the current credential".into(),
                    ))
                }
                Err(e) => return Err(Error::Hashing(e.to_string())),
            }
        }
    }
}

fn busy() -> Error {
    Error::Hashing("every hashing slot stayed busy for 2 minutes; retry later".into())
}
