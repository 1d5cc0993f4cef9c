//! Where `accounts` calls the [`Authenticator`]: pepper keys checked against the database
//! fingerprints, hashing on its blocking pool (one `until_free` loop waits while it is busy), PIN
//! and password rules with the patron's context (every rule broken, as [`Rejections`]), card
//! pseudonyms and audit records. Every other file of `accounts` hashes and checks through
//! [`Credentials`]; they use `auth` directly only for its value types (the rule contexts, the
//! audit vocabulary, rejections) and, in `explain`, its standing rules and lock policy.
//!
//! Uses `auth`, `store` (hash types), `config` and `clock`. Must not import `sip2`, `server` or
//! `cli`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use super::error::Error;
use crate::auth::{
    self, AuditAction, AuditOutcome, Authenticator, Chosen, NewCredential, PasswordContext,
    PinContext, Rejection, Rejections,
};
use crate::clock::SharedClock;
use crate::config::SecurityConfig;
use crate::store::{CredentialHash, NewAuditEntry, Store, StoredHash};

/// How long a staff action waits in total for a hashing slot before giving up.
const BUSY_RETRY: Duration = Duration::from_secs(120);

/// Hashing, rules and pseudonyms with the configured pepper keys.
pub(crate) struct Credentials {
    auth: Authenticator,
    security: SecurityConfig,
}

impl Credentials {
    /// Builds the authenticator: loads the pepper keys and checks them against the fingerprints
    /// recorded in the database (a wrong key would make every new hash useless).
    pub(crate) async fn new(
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
    pub(crate) fn from_authenticator(
        auth: Authenticator,
        security: &SecurityConfig,
    ) -> Credentials {
        Credentials {
            auth,
            security: security.clone(),
        }
    }

    /// The authenticator behind these credentials (the web log-in checks through it).
    pub(crate) fn authenticator(&self) -> &Authenticator {
        &self.auth
    }

    /// Number of hashes computed at once (`security.hashing.max_concurrent`, 0 = cores).
    pub(crate) fn parallelism(&self) -> usize {
        match self.security.hashing.max_concurrent {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        }
    }

    /// Whether a pepper key with this id is configured (active or previous).
    pub(crate) fn has_key(&self, key_id: u32) -> bool {
        let pepper = &self.security.pepper;
        pepper.key_id == key_id || pepper.previous_keys.iter().any(|k| k.id == key_id)
    }

    /// Whether a stored hash with this key id can be checked: made with a configured pepper key,
    /// or a legacy ILS hash (which has none and is checked as its ILS did).
    pub(crate) fn can_verify(&self, key_id: u32) -> bool {
        key_id == auth::legacy::LEGACY_KEY_ID || self.has_key(key_id)
    }

    /// Applies the PIN rules without hashing; `Err` holds every rule broken.
    pub(crate) fn check_pin(
        &self,
        pin: &SecretString,
        context: &PinContext<'_>,
    ) -> Result<(), Rejections> {
        let broken = auth::pin_rules::rejections(pin.expose_secret(), &self.security.pin, context);
        match Rejections::new(broken.into_iter().map(Rejection::Pin)) {
            Some(all) => Err(all),
            None => Ok(()),
        }
    }

    /// Applies the password rules without hashing; `Err` holds every rule broken.
    pub(crate) fn check_password(
        &self,
        password: &SecretString,
        context: &PasswordContext<'_>,
    ) -> Result<(), Rejections> {
        let rules = &self.security.password;
        let broken = match auth::password_rules::normalize(password.expose_secret(), rules) {
            Ok(normalized) => auth::password_rules::rejections(&normalized, rules, context),
            Err(rejection) => vec![rejection],
        };
        match Rejections::new(broken.into_iter().map(Rejection::Password)) {
            Some(all) => Err(all),
            None => Ok(()),
        }
    }

    /// Checks (rules, and "not the current PIN") and hashes a new PIN.
    /// `Ok(Err(rejections))` is a refusal: every rule broken, each with its sentence.
    pub(crate) async fn new_pin(
        &self,
        pin: &SecretString,
        context: &PinContext<'_>,
        current: Option<&CredentialHash>,
    ) -> Result<Result<CredentialHash, Rejections>, Error> {
        until_free(|| async move {
            let outcome = self.auth.choose_pin(pin, context, current).await;
            Ok(chosen(outcome.map_err(hashing)?))
        })
        .await
    }

    /// Hashes an imported PIN that the rules refuse, flagged must-change (`--weak-pins
    /// must-change`); no rule is applied.
    pub(crate) async fn weak_pin(&self, pin: &SecretString) -> Result<CredentialHash, Error> {
        until_free(|| async move {
            Ok(match self.auth.hash_weak_pin(pin).await.map_err(hashing)? {
                NewCredential::Hashed(hash) => Slot::Done(hash),
                NewCredential::Busy => Slot::Busy,
                NewCredential::Rejected(rejection) => {
                    return Err(Error::Refused(rejection.to_string()))
                }
            })
        })
        .await
    }

    /// Checks (rules, and "not the PIN") and hashes a new online password.
    /// `Ok(Err(rejections))` is a refusal: every rule broken, each with its sentence.
    pub(crate) async fn new_password(
        &self,
        password: &SecretString,
        context: &PasswordContext<'_>,
        pin: Option<&CredentialHash>,
    ) -> Result<Result<CredentialHash, Rejections>, Error> {
        until_free(|| async move {
            let outcome = self.auth.choose_password(password, context, pin).await;
            Ok(chosen(outcome.map_err(hashing)?))
        })
        .await
    }

    /// The default PIN of a new patron without one (`security.default_credential`): the last
    /// `digits` digits of `phone`, hashed, must-change and expiring, made by
    /// [`Authenticator::default_pin`]. `Ok(None)` when the policy is off or the phone has too few
    /// digits. No PIN rule applies: the digits are the phone's by definition, and the PIN only
    /// lasts until the patron chooses one (which may then equal neither).
    pub(crate) async fn default_pin(
        &self,
        phone: Option<&str>,
    ) -> Result<Option<CredentialHash>, Error> {
        until_free(|| async move {
            Ok(match self.auth.default_pin(phone).await.map_err(hashing)? {
                None => Slot::Done(None),
                Some(NewCredential::Hashed(hash)) => Slot::Done(Some(hash)),
                Some(NewCredential::Busy) => Slot::Busy,
                Some(NewCredential::Rejected(rejection)) => {
                    return Err(Error::Refused(rejection.to_string()))
                }
            })
        })
        .await
    }

    /// Whether [`Credentials::default_pin`] would issue a PIN for this phone (dry runs: no
    /// hashing), by the same rule [`Authenticator::default_pin`] applies.
    pub(crate) fn default_pin_applies(&self, phone: Option<&str>) -> bool {
        auth::default_pin_digits(&self.security.default_credential, phone).is_some()
    }

    /// Hashes a terminal secret (no rules: generated or checked by the caller).
    pub(crate) async fn terminal_secret(&self, secret: &SecretString) -> Result<StoredHash, Error> {
        until_free(|| async move {
            Ok(
                match self
                    .auth
                    .hash_terminal_password(secret)
                    .await
                    .map_err(hashing)?
                {
                    Some(hash) => Slot::Done(hash),
                    None => Slot::Busy,
                },
            )
        })
        .await
    }

    /// A stable pseudonym of a card for the audit log (keyed with the active pepper).
    pub(crate) fn pseudonym(&self, card: &str) -> String {
        self.auth.pseudonym(card)
    }

    /// An audit record with the card pseudonymised: [`Authenticator::audit_entry`].
    pub(crate) fn audit_entry(
        &self,
        at: DateTime<Utc>,
        actor: String,
        card: Option<&str>,
        action: AuditAction,
        outcome: AuditOutcome,
        reason: Option<String>,
    ) -> NewAuditEntry {
        self.auth
            .audit_entry(at, actor, card, action, outcome, reason)
    }
}

/// One attempt at a hashing call: done, or every hashing slot was busy.
enum Slot<T> {
    Done(T),
    Busy,
}

/// Runs a hashing call, waiting again while the pool answers "busy" (a bulk import fills every
/// slot with its own jobs; that must not fail the import), for at most [`BUSY_RETRY`] in total.
async fn until_free<T, F, Fut>(mut call: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Slot<T>, Error>>,
{
    let started = std::time::Instant::now();
    loop {
        match call().await? {
            Slot::Done(value) => return Ok(value),
            Slot::Busy if started.elapsed() < BUSY_RETRY => continue,
            Slot::Busy => return Err(busy()),
        }
    }
}

/// A new PIN or password: hashed, refused (every rule broken), or busy.
fn chosen(outcome: Chosen) -> Slot<Result<CredentialHash, Rejections>> {
    match outcome {
        Chosen::Hashed(hash) => Slot::Done(Ok(hash)),
        Chosen::Rejected(all) => Slot::Done(Err(all)),
        Chosen::Busy => Slot::Busy,
    }
}

/// A hashing call that could not decide.
fn hashing(err: auth::Error) -> Error {
    if err.is_unavailable() {
        Error::Hashing("database unavailable while checking the current credential".into())
    } else {
        Error::Hashing(err.to_string())
    }
}

fn busy() -> Error {
    Error::Hashing("every hashing slot stayed busy for 2 minutes; retry later".into())
}
