//! New credentials: a PIN or password chosen by a patron, staff or an import (rules applied, then
//! hashed with the active pepper key), and the default PIN taken from the registered phone at
//! patron creation (hashed, must-change, expiring). What the accounts layer calls.
//!
//! Uses `store` (the hash-with-flags type) and `config`; must not import `sip2`, `server` or
//! `accounts`.

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::authenticator::{duration, secret_bytes, Authenticator};
use super::decision::{Chosen, NewCredential, Rejection, Rejections};
use super::hashing::{HashedSecret, Verification};
use super::password_rules::{self, PasswordContext, PasswordRejection};
use super::pin_rules::{self, PinContext, PinRejection};
use super::pool::Job;
use super::Result;
use crate::config::security::DefaultCredentialConfig;
use crate::store::CredentialHash;

/// The default PIN the policy gives a patron with this phone: its last `digits` digits, or
/// `None` when the policy is off or the phone has too few digits. The one statement of the rule,
/// for issuing a PIN and for dry runs that only count them.
pub fn default_pin_digits(
    policy: &DefaultCredentialConfig,
    phone: Option<&str>,
) -> Option<Zeroizing<Vec<u8>>> {
    let digits: Zeroizing<Vec<u8>> = Zeroizing::new(
        phone
            .unwrap_or_default()
            .bytes()
            .filter(u8::is_ascii_digit)
            .collect(),
    );
    if !policy.enabled || digits.len() < policy.digits {
        return None;
    }
    Some(Zeroizing::new(
        digits[digits.len() - policy.digits..].to_vec(),
    ))
}

impl Authenticator {
    /// Checks a new PIN against the rules (with the patron's details, and against `current`, the
    /// PIN or default PIN it replaces) and hashes it; a refusal names the first rule broken.
    pub async fn hash_pin(
        &self,
        pin: &SecretString,
        context: &PinContext<'_>,
        current: Option<&CredentialHash>,
    ) -> Result<NewCredential> {
        self.choose_pin(pin, context, current)
            .await
            .map(NewCredential::from)
    }

    /// Like [`Authenticator::hash_pin`], reporting every rule the PIN breaks. A PIN of the wrong
    /// shape (not digits, too short or long) is never compared with the current one.
    pub async fn choose_pin(
        &self,
        pin: &SecretString,
        context: &PinContext<'_>,
        current: Option<&CredentialHash>,
    ) -> Result<Chosen> {
        let rules = &self.inner.config.pin;
        let mut broken: Vec<Rejection> = pin_rules::rejections(pin.expose_secret(), rules, context)
            .into_iter()
            .map(Rejection::Pin)
            .collect();
        let well_formed = !broken
            .first()
            .is_some_and(|r| matches!(r, Rejection::Pin(p) if p.is_shape()));
        let bytes = secret_bytes(pin);
        if well_formed && rules.reject_personal {
            match self.matches(current, &bytes).await {
                // Refused by the rules anyway: no need to wait for a slot.
                None if !broken.is_empty() => {}
                None => return Ok(Chosen::Busy),
                Some(true) => broken.push(Rejection::Pin(PinRejection::PreviousPin)),
                Some(false) => {}
            }
        }
        match Rejections::new(broken) {
            Some(all) => Ok(Chosen::Rejected(all)),
            None => self.hashed(bytes, None).await.map(Chosen::from),
        }
    }

    /// Normalises (NFKC) and checks a new online password and hashes it; it must differ from the
    /// patron's PIN (`pin`, compared by verification). A refusal names the first rule broken.
    pub async fn hash_password(
        &self,
        password: &SecretString,
        context: &PasswordContext<'_>,
        pin: Option<&CredentialHash>,
    ) -> Result<NewCredential> {
        self.choose_password(password, context, pin)
            .await
            .map(NewCredential::from)
    }

    /// Like [`Authenticator::hash_password`], reporting every rule the password breaks. A
    /// password refused as too long is neither checked further nor compared with the PIN.
    pub async fn choose_password(
        &self,
        password: &SecretString,
        context: &PasswordContext<'_>,
        pin: Option<&CredentialHash>,
    ) -> Result<Chosen> {
        let rules = &self.inner.config.password;
        let normalized = match password_rules::normalize(password.expose_secret(), rules) {
            Ok(normalized) => normalized,
            Err(too_long) => return Ok(Chosen::Rejected(Rejection::Password(too_long).into())),
        };
        let mut broken: Vec<Rejection> = password_rules::rejections(&normalized, rules, context)
            .into_iter()
            .map(Rejection::Password)
            .collect();
        let bytes = Zeroizing::new(normalized.as_bytes().to_vec());
        match self.matches(pin, &bytes).await {
            None if !broken.is_empty() => {}
            None => return Ok(Chosen::Busy),
            Some(true) => broken.push(Rejection::Password(PasswordRejection::SameAsPin)),
            Some(false) => {}
        }
        match Rejections::new(broken) {
            Some(all) => Ok(Chosen::Rejected(all)),
            None => self.hashed(bytes, None).await.map(Chosen::from),
        }
    }

    /// The default PIN for a new patron without one, when `[security.default_credential]` is
    /// enabled: the last `digits` digits of the registered phone, hashed, flagged must-change and
    /// expiring after `lifetime`. `None` when disabled or the phone has too few digits. Later
    /// phone changes do not touch it.
    pub async fn default_pin(&self, phone: Option<&str>) -> Result<Option<NewCredential>> {
        let Some(last) = default_pin_digits(&self.inner.config.default_credential, phone) else {
            return Ok(None);
        };
        let config = &self.inner.config.default_credential;
        let expires = self.now().checked_add_signed(duration(config.lifetime));
        self.hashed(last, expires).await.map(Some)
    }

    /// Hashes an imported PIN that breaks the PIN rules, flagged must-change without expiry
    /// (`import --weak-pins must-change`): the patron keeps the PIN the library had, and is asked
    /// to choose one the rules accept.
    pub(crate) async fn hash_weak_pin(&self, pin: &SecretString) -> Result<NewCredential> {
        let mut hashed = self.hashed(secret_bytes(pin), None).await?;
        if let NewCredential::Hashed(hash) = &mut hashed {
            hash.must_change = true;
        }
        Ok(hashed)
    }

    /// Whether `secret` verifies against `stored`; `None` when busy.
    async fn matches(&self, stored: Option<&CredentialHash>, secret: &[u8]) -> Option<bool> {
        let Some(stored) = stored else {
            return Some(false);
        };
        let hasher = self.inner.hasher.clone();
        let hashed = HashedSecret::from(stored);
        let secret = Zeroizing::new(secret.to_vec());
        let outcome = self
            .inner
            .pool
            .run(Job::Verify, move || hasher.verify(&hashed, &secret))
            .await;
        outcome.ok().map(|v| v == Verification::Match)
    }

    async fn hashed(
        &self,
        bytes: Zeroizing<Vec<u8>>,
        default_expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<NewCredential> {
        let hasher = self.inner.hasher.clone();
        let Ok(hashed) = self
            .inner
            .pool
            .run(Job::Hash, move || hasher.hash(&bytes))
            .await
        else {
            return Ok(NewCredential::Busy);
        };
        let hashed = hashed?;
        Ok(NewCredential::Hashed(CredentialHash {
            phc: hashed.phc,
            key_id: hashed.key_id,
            must_change: default_expires_at.is_some(),
            default_expires_at,
        }))
    }
}

impl Authenticator {
    /// Hashes a terminal's login password (generated, ≥128-bit: no PIN or password rules apply).
    /// `None` when busy.
    pub async fn hash_terminal_password(
        &self,
        password: &SecretString,
    ) -> Result<Option<crate::store::StoredHash>> {
        Ok(match self.hashed(secret_bytes(password), None).await? {
            NewCredential::Hashed(h) => Some(crate::store::StoredHash {
                phc: h.phc,
                key_id: h.key_id,
            }),
            _ => None,
        })
    }
}
