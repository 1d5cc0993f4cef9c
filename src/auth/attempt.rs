//! One credential attempt for a known patron. Owns the order that makes lockout hold under
//! concurrency — hashing slot first (a "busy" answer never counts), then the atomic reservation in
//! the store, then argon2 — the equal-cost dummy verification for unknown cards, locked accounts
//! and patrons without a credential, re-hash on login, default-PIN handling, and the audit entries
//! for locks and default PINs.
//!
//! Uses `store`, `config` and `clock`; must not import `sip2`, `server` or `accounts`.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::audit::{AuditAction, AuditOutcome};
use super::authenticator::{secret_bytes, Authenticator};
use super::decision::CredentialVerdict;
use super::hashing::{HashedSecret, Verification};
use super::password_rules;
use super::pool::Job;
use super::Result;
use crate::store::{
    AttemptSlot, CredentialHash, FailureEffect, MailKind, NewMail, Patron, PatronRecord,
};

/// Largest presented PIN verified, in bytes (SIP frames are smaller; this bounds the work).
const MAX_PIN_BYTES: usize = 1024;

/// Which of the patron's credentials a check verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Which {
    Pin,
    Password,
}

impl Which {
    pub(super) fn name(self) -> &'static str {
        self.action().as_str()
    }

    /// The audit action of a check of this credential.
    pub(super) fn action(self) -> AuditAction {
        match self {
            Which::Pin => AuditAction::PinCheck,
            Which::Password => AuditAction::PasswordCheck,
        }
    }
}

impl Authenticator {
    /// One dummy verification (equal cost), then `verdict`; `Busy` when no slot was free.
    pub(super) async fn dummy_verdict(
        &self,
        secret: &SecretString,
        verdict: CredentialVerdict,
    ) -> CredentialVerdict {
        let hasher = self.inner.hasher.clone();
        let secret = bounded(secret_bytes(secret));
        match self
            .inner
            .pool
            .run(Job::DummyVerify, move || hasher.verify_dummy(&secret))
            .await
        {
            Ok(()) => verdict,
            Err(_) => CredentialVerdict::Busy,
        }
    }

    /// Slot, reservation, verification, bookkeeping: see the module header.
    pub(super) async fn verify(
        &self,
        which: Which,
        record: &PatronRecord,
        secret: &SecretString,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<CredentialVerdict> {
        let patron = &record.patron;
        let bytes = match which {
            Which::Pin => bounded(secret_bytes(secret)),
            Which::Password => {
                match password_rules::normalize(secret.expose_secret(), &self.inner.config.password)
                {
                    Ok(normalized) => Zeroizing::new(normalized.as_bytes().to_vec()),
                    // Longer than any password can be: wrong, without hashing the excess.
                    Err(_) => {
                        return Ok(self
                            .dummy_verdict(
                                &SecretString::from(""),
                                CredentialVerdict::WrongCredential,
                            )
                            .await)
                    }
                }
            }
        };
        let stored = match which {
            Which::Pin => patron.pin.as_ref(),
            Which::Password => patron.password.as_ref(),
        };
        let Some(stored) = stored else {
            return Ok(self
                .dummy_verdict(secret, CredentialVerdict::NoPinOnFile)
                .await);
        };
        let hasher = self.inner.hasher.clone();
        let Ok(slot) = self.inner.pool.acquire().await else {
            return Ok(CredentialVerdict::Busy);
        };
        let card = record.card.number.as_str();
        let hashed = HashedSecret::from(stored);
        // Retired key or unreadable hash: decided before reserving, so it never counts a failure.
        if !hasher.can_verify(&hashed) {
            let reason = if hasher.keys().get(stored.key_id).is_none() {
                "retired pepper key"
            } else {
                "unreadable stored hash"
            };
            slot.run(Job::DummyVerify, move || hasher.verify_dummy(&bytes))
                .await;
            self.audit(
                actor,
                Some(card),
                which.action(),
                AuditOutcome::ResetRequired,
                Some(reason),
            )
            .await?;
            return Ok(CredentialVerdict::ResetRequired);
        }
        let store = &self.inner.store;
        let reservation = match which {
            Which::Pin => {
                store
                    .reserve_pin_attempt(patron.id, now, &self.pin_policy())
                    .await?
            }
            Which::Password => {
                store
                    .reserve_password_attempt(patron.id, now, &self.password_policy())
                    .await?
            }
        };
        let attempt = match reservation {
            AttemptSlot::Granted { attempt } => attempt,
            refused => {
                let until = match refused {
                    AttemptSlot::LockedUntil(until) => Some(until),
                    _ => None,
                };
                slot.run(Job::DummyVerify, move || hasher.verify_dummy(&bytes))
                    .await;
                return Ok(CredentialVerdict::Locked { until });
            }
        };
        let checked = hashed.clone();
        let (verification, bytes) = slot
            .run(Job::Verify, move || {
                let outcome = hasher.verify(&checked, &bytes);
                (outcome, bytes)
            })
            .await;
        match verification {
            Verification::Match => {
                match which {
                    Which::Pin => store.record_pin_success(patron.id).await?,
                    Which::Password => store.record_password_success(patron.id).await?,
                }
                self.rehash(which, record, &hashed, bytes).await?;
                self.default_verdict(which, stored, actor, card, now).await
            }
            Verification::Mismatch => {
                self.count_failure(which, attempt, actor, card, patron)
                    .await?;
                Ok(CredentialVerdict::WrongCredential)
            }
            Verification::Unverifiable => {
                tracing::warn!(
                    patron_id = patron.id.0,
                    credential = which.name(),
                    "stored hash unreadable"
                );
                Ok(CredentialVerdict::ResetRequired)
            }
        }
    }

    /// A correct credential that is a default one: to change, or expired.
    async fn default_verdict(
        &self,
        which: Which,
        stored: &CredentialHash,
        actor: &str,
        card: &str,
        now: DateTime<Utc>,
    ) -> Result<CredentialVerdict> {
        let Some(expires) = stored.default_expires_at else {
            return Ok(CredentialVerdict::Valid);
        };
        let (verdict, outcome) = if now >= expires {
            (
                CredentialVerdict::DefaultExpired,
                AuditOutcome::DefaultExpired,
            )
        } else {
            (
                CredentialVerdict::DefaultToChange,
                AuditOutcome::DefaultUsed,
            )
        };
        self.audit(actor, Some(card), which.action(), outcome, None)
            .await?;
        Ok(verdict)
    }

    /// Audits what a wrong credential did: a lock, or a hard lock (and the patron notification).
    pub(super) async fn count_failure(
        &self,
        which: Which,
        attempt: u32,
        actor: &str,
        card: &str,
        patron: &Patron,
    ) -> Result<()> {
        let effect = match which {
            Which::Pin => self.pin_policy().effect_of_failure(attempt),
            Which::Password => self.password_policy().effect_of_failure(attempt),
        };
        let outcome = match effect {
            FailureEffect::Counted => return Ok(()),
            FailureEffect::TemporaryLock => AuditOutcome::Locked,
            FailureEffect::HardLock => AuditOutcome::HardLocked,
        };
        tracing::info!(
            credential = which.name(),
            attempt,
            outcome = outcome.as_str(),
            "account locked"
        );
        crate::instruments::lock_set(which.name(), effect == FailureEffect::HardLock);
        self.audit(actor, Some(card), which.action(), outcome, None)
            .await?;
        if effect == FailureEffect::HardLock {
            self.queue_hard_lock_mail(patron).await?;
            self.audit(
                actor,
                Some(card),
                AuditAction::PatronNotification,
                AuditOutcome::Queued,
                Some("hard_lock"),
            )
            .await?;
        }
        Ok(())
    }

    /// The hard-lock notification, when mail is set up and the patron has an address.
    async fn queue_hard_lock_mail(&self, patron: &Patron) -> Result<()> {
        let enabled = self
            .inner
            .mail_hard_locks
            .load(std::sync::atomic::Ordering::Relaxed);
        if !enabled || patron.details.email.as_deref().is_none_or(str::is_empty) {
            return Ok(());
        }
        let mail = NewMail {
            patron: patron.id,
            kind: MailKind::HardLock,
            credential: None,
            operator: None,
            now: self.inner.clock.now(),
        };
        self.inner.store.queue_mail(&mail).await?;
        Ok(())
    }

    /// After a correct credential: replace a hash made with old parameters or an old key.
    async fn rehash(
        &self,
        which: Which,
        record: &PatronRecord,
        stored: &HashedSecret,
        bytes: Zeroizing<Vec<u8>>,
    ) -> Result<()> {
        let hasher = self.inner.hasher.clone();
        if !hasher.needs_rehash(stored) {
            return Ok(());
        }
        let Ok(fresh) = self
            .inner
            .pool
            .run(Job::Hash, move || hasher.hash(&bytes))
            .await
        else {
            return Ok(()); // Busy: the next login tries again.
        };
        let fresh = fresh?;
        let store = &self.inner.store;
        let id = record.patron.id;
        let replaced = match which {
            Which::Pin => {
                store
                    .replace_pin_hash_if_unchanged(id, &stored.phc, &fresh.phc, fresh.key_id)
                    .await?
            }
            Which::Password => {
                store
                    .replace_password_hash_if_unchanged(id, &stored.phc, &fresh.phc, fresh.key_id)
                    .await?
            }
        };
        tracing::debug!(
            patron_id = id.0,
            credential = which.name(),
            replaced,
            "re-hashed on login"
        );
        Ok(())
    }
}

/// Caps a presented PIN's bytes: anything longer is wrong anyway and only costs hashing time.
fn bounded(mut bytes: Zeroizing<Vec<u8>>) -> Zeroizing<Vec<u8>> {
    if bytes.len() > MAX_PIN_BYTES {
        // Replaced by a value no PIN can be, so the verdict stays "wrong" at equal cost.
        bytes.clear();
        bytes.extend_from_slice(b"\xff");
    }
    bytes
}
