//! Patron checks: card plus PIN (from a terminal) or online password (web). Owns the order that
//! makes lockout hold under concurrency — hashing slot first (a "busy" answer never counts), then
//! the atomic reservation in the store, then argon2 — the equal-cost dummy verification for
//! unknown cards, locked accounts and patrons without a credential, re-hash on login, default-PIN
//! handling, standing, and the audit entries for locks and default PINs.
//!
//! Uses `store`, `config` and `clock`; must not import `sip2`, `server` or `accounts`.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::authenticator::{secret_bytes, Authenticator};
use super::decision::{
    CredentialVerdict, PatronDecision, PatronView, Presented, Standing, TerminalBudget,
    TerminalProfile,
};
use super::hashing::{HashedSecret, Verification};
use super::password_rules;
use super::pool::Job;
use super::Result;
use crate::store::{
    AttemptSlot, CredentialHash, FailureEffect, FailureKind, PatronCredential, PatronRecord,
    PatronStatus,
};

/// Which of the patron's credentials a check verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Pin,
    Password,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Pin => "pin",
            Which::Password => "password",
        }
    }
}

/// Largest presented PIN verified, in bytes (SIP frames are smaller; this bounds the work).
const MAX_PIN_BYTES: usize = 1024;

fn view(record: &PatronRecord) -> PatronView {
    let (p, d) = (&record.patron, &record.patron.details);
    PatronView {
        id: p.id,
        card: record.card.number.clone(),
        institution: p.institution.clone(),
        display_name: d.name.display.clone(),
        patron_class: d.patron_class.clone(),
        home_library: d.home_library.clone(),
        expires_on: d.expires_on,
        birth_date: d.birth_date,
        email: d.email.clone(),
        phone: d.phone.clone(),
        fines_owed_minor: d.fines_owed_minor,
        fee_limit_minor: d.fee_limit_minor,
        currency: d.currency,
        status: p.status.clone(),
    }
}

fn standing(record: &PatronRecord, now: DateTime<Utc>) -> Standing {
    let (p, d) = (&record.patron, &record.patron.details);
    Standing {
        expired: d.expires_on.is_some_and(|day| day < now.date_naive()),
        blocked: match &p.status {
            PatronStatus::Blocked { reason } => Some(reason.clone()),
            _ => None,
        },
        card_lost: record.card.lost || p.status == PatronStatus::CardLost,
        fines_over_limit: d
            .fee_limit_minor
            .is_some_and(|limit| d.fines_owed_minor > limit),
    }
}

/// Which credential a terminal's AD field is checked against: its configured kind; for `either`,
/// the PIN when the value is all digits and a PIN is on file, else the password.
fn which_for(kind: PatronCredential, record: &PatronRecord, presented: &str) -> Which {
    match kind {
        PatronCredential::Pin => Which::Pin,
        PatronCredential::Password => Which::Password,
        PatronCredential::Either => {
            let digits = presented.bytes().all(|b| b.is_ascii_digit());
            if (digits && record.patron.pin.is_some()) || record.patron.password.is_none() {
                Which::Pin
            } else {
                Which::Password
            }
        }
    }
}

impl Authenticator {
    /// A terminal asks about `card` (at the terminal's institution) with `presented` as its PIN.
    pub async fn check_patron(
        &self,
        terminal: &TerminalProfile,
        card: &str,
        presented: Presented,
    ) -> Result<PatronDecision> {
        let now = self.now();
        let record = self
            .inner
            .store
            .find_by_card(&terminal.institution, card)
            .await?;
        let secret = match presented {
            Presented::Given(secret) => Some(secret),
            Presented::Absent => None,
        };
        let mut failed = None;
        let credential = match (&record, secret) {
            (_, None) => CredentialVerdict::NotGiven,
            (_, Some(s)) if s.expose_secret().is_empty() => CredentialVerdict::Empty,
            (None, Some(secret)) => {
                failed = Some(FailureKind::UnknownCard);
                self.dummy_verdict(&secret, CredentialVerdict::WrongCredential)
                    .await
            }
            (Some(record), Some(secret)) => {
                let which = which_for(terminal.credential, record, secret.expose_secret());
                let verdict = self
                    .verify(which, record, &secret, &terminal.login_id, now)
                    .await?;
                if verdict == CredentialVerdict::WrongCredential {
                    failed = Some(FailureKind::WrongCredential);
                }
                verdict
            }
        };
        let budget = self.terminal_budget(terminal, card, failed, now).await?;
        Ok(self.decision(record, credential, budget, now))
    }

    /// The web side checks `card` at `institution` with the online password. No terminal budget
    /// applies; the password's own counter and exponential lock do.
    pub async fn check_password(
        &self,
        institution: &str,
        card: &str,
        presented: Presented,
    ) -> Result<PatronDecision> {
        let now = self.now();
        let record = self.inner.store.find_by_card(institution, card).await?;
        let credential = match (&record, presented) {
            (_, Presented::Absent) => CredentialVerdict::NotGiven,
            (_, Presented::Given(s)) if s.expose_secret().is_empty() => CredentialVerdict::Empty,
            (None, Presented::Given(secret)) => {
                self.dummy_verdict(&secret, CredentialVerdict::WrongCredential)
                    .await
            }
            (Some(record), Presented::Given(secret)) => {
                self.verify(Which::Password, record, &secret, "web", now)
                    .await?
            }
        };
        Ok(self.decision(record, credential, TerminalBudget::default(), now))
    }

    fn decision(
        &self,
        record: Option<PatronRecord>,
        credential: CredentialVerdict,
        budget: TerminalBudget,
        now: DateTime<Utc>,
    ) -> PatronDecision {
        PatronDecision {
            standing: record
                .as_ref()
                .map(|r| standing(r, now))
                .unwrap_or_default(),
            patron: record.as_ref().map(view),
            credential,
            budget,
        }
    }

    /// One dummy verification (equal cost), then `verdict`; `Busy` when no slot was free.
    async fn dummy_verdict(
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
    async fn verify(
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
        if hasher.keys().get(stored.key_id).is_none() {
            slot.run(Job::DummyVerify, move || hasher.verify_dummy(&bytes))
                .await;
            self.audit(
                actor,
                Some(card),
                which.name(),
                "reset_required",
                Some("retired pepper key"),
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
            AttemptSlot::LockedUntil(until) => {
                slot.run(Job::DummyVerify, move || hasher.verify_dummy(&bytes))
                    .await;
                return Ok(CredentialVerdict::Locked { until: Some(until) });
            }
            AttemptSlot::HardLocked => {
                slot.run(Job::DummyVerify, move || hasher.verify_dummy(&bytes))
                    .await;
                return Ok(CredentialVerdict::Locked { until: None });
            }
        };
        let hashed = HashedSecret {
            phc: stored.phc.clone(),
            key_id: stored.key_id,
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
                self.count_failure(which, attempt, actor, card).await?;
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
            (CredentialVerdict::DefaultExpired, "default_expired")
        } else {
            (CredentialVerdict::DefaultToChange, "default_used")
        };
        self.audit(actor, Some(card), which.name(), outcome, None)
            .await?;
        Ok(verdict)
    }

    /// Audits what a wrong credential did: a lock, or a hard lock (and the patron notification).
    async fn count_failure(
        &self,
        which: Which,
        attempt: u32,
        actor: &str,
        card: &str,
    ) -> Result<()> {
        let effect = match which {
            Which::Pin => self.pin_policy().effect_of_failure(attempt),
            Which::Password => self.password_policy().effect_of_failure(attempt),
        };
        let outcome = match effect {
            FailureEffect::Counted => return Ok(()),
            FailureEffect::TemporaryLock => "locked",
            FailureEffect::HardLock => "hard_locked",
        };
        tracing::info!(
            credential = which.name(),
            attempt,
            outcome,
            "account locked"
        );
        self.audit(actor, Some(card), which.name(), outcome, None)
            .await?;
        if effect == FailureEffect::HardLock {
            // No mail module yet: the queued notification is an audit record the mailer will read.
            self.audit(
                actor,
                Some(card),
                "patron_notification",
                "queued",
                Some("hard_lock"),
            )
            .await?;
        }
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
