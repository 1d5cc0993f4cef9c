//! Patron checks: card plus PIN (from a terminal) or online password (web). Owns the entry points,
//! which credential a terminal's AD is checked against, and the decision assembled from the
//! verdict, the standing and the terminal budget. The order that makes lockout hold lives in
//! [`attempt`](super::attempt); the standing rules in [`standing`](super::standing).
//!
//! Uses `store`, `config` and `clock`; must not import `sip2`, `server` or `accounts`.

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;

use super::attempt::Which;
use super::authenticator::{password_lock_policy, pin_lock_policy, Authenticator};
use super::decision::{
    CredentialVerdict, PatronDecision, PatronView, Presented, Standing, TerminalBudget,
};
use super::terminal_settings::{PatronCredential, TerminalProfile};
use super::Result;
use crate::config::security::LockoutConfig;
use crate::store::{AttemptSlot, FailureKind, PatronRecord};

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

/// The actor of checks made by the web side (audit records of locks and default PINs).
pub(super) const WEB_ACTOR: &str = "web";

/// Which of the patron's credentials a web check verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebChecked {
    Pin,
    Password,
}

/// What a patron types at a terminal, as [`foreseen_verdict`] imagines a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typed {
    /// Their PIN (digits), correct or not.
    Pin { correct: bool },
    /// Their online password (taken to be more than digits), correct or not.
    Password { correct: bool },
}

/// The verdict a check would reach, from stored facts and without hashing (for `explain`). The
/// order is that of a real check (`attempt.rs`): nothing on file, a hash that cannot be verified
/// (`key_known` says whether its pepper key is configured), a lock, a mismatch, a default PIN.
pub fn foreseen_verdict(
    kind: PatronCredential,
    record: &PatronRecord,
    typed: Typed,
    key_known: impl Fn(u32) -> bool,
    lockout: &LockoutConfig,
    now: DateTime<Utc>,
) -> CredentialVerdict {
    let (sample, typed_which, correct) = match typed {
        Typed::Pin { correct } => ("0", Which::Pin, correct),
        Typed::Password { correct } => ("a", Which::Password, correct),
    };
    let which = which_for(kind, record, sample);
    let patron = &record.patron;
    let (stored, refusal) = match which {
        Which::Pin => (
            patron.pin.as_ref(),
            pin_lock_policy(lockout).refusal(&patron.pin_lock, now),
        ),
        Which::Password => (
            patron.password.as_ref(),
            password_lock_policy(lockout).refusal(&patron.password_lock, now),
        ),
    };
    let Some(stored) = stored else {
        return CredentialVerdict::NoPinOnFile;
    };
    if !key_known(stored.key_id) {
        return CredentialVerdict::ResetRequired;
    }
    match refusal {
        Some(AttemptSlot::LockedUntil(until)) => {
            return CredentialVerdict::Locked { until: Some(until) }
        }
        Some(_) => return CredentialVerdict::Locked { until: None },
        None => {}
    }
    if !correct || which != typed_which {
        return CredentialVerdict::WrongCredential;
    }
    match stored.default_expires_at {
        None => CredentialVerdict::Valid,
        Some(expires) if now >= expires => CredentialVerdict::DefaultExpired,
        Some(_) => CredentialVerdict::DefaultToChange,
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
        // One read: the holder, its locks and the terminal's budget counts together.
        let (record, counts) = self
            .inner
            .store
            .find_for_check(
                &terminal.settings.institution,
                card,
                terminal.id,
                self.budget_window_start(now),
            )
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
                let which = which_for(
                    terminal.settings.patron_credential,
                    record,
                    secret.expose_secret(),
                );
                let verdict = self
                    .verify(which, record, &secret, &terminal.login_id, now)
                    .await?;
                if verdict == CredentialVerdict::WrongCredential {
                    failed = Some(FailureKind::WrongCredential);
                }
                verdict
            }
        };
        let budget = self
            .terminal_budget(terminal, card, failed, counts, now)
            .await?;
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
        let (decision, _) = self
            .check_web(institution, card, PatronCredential::Password, presented)
            .await?;
        Ok(decision)
    }

    /// The web side checks `card` at `institution` with what the patron typed, as `kind` says
    /// (for `either`, the same choice a terminal makes). A PIN counts toward the same lock as
    /// at a terminal; the password has its own. No terminal budget applies. Also returns which
    /// credential was checked (`None` when none was: unknown card, nothing typed).
    pub(crate) async fn check_web(
        &self,
        institution: &str,
        card: &str,
        kind: PatronCredential,
        presented: Presented,
    ) -> Result<(PatronDecision, Option<WebChecked>)> {
        let now = self.now();
        let record = self.inner.store.find_by_card(institution, card).await?;
        let mut checked = None;
        let credential = match (&record, presented) {
            (_, Presented::Absent) => CredentialVerdict::NotGiven,
            (_, Presented::Given(s)) if s.expose_secret().is_empty() => CredentialVerdict::Empty,
            (None, Presented::Given(secret)) => {
                self.dummy_verdict(&secret, CredentialVerdict::WrongCredential)
                    .await
            }
            (Some(record), Presented::Given(secret)) => {
                let which = which_for(kind, record, secret.expose_secret());
                checked = Some(match which {
                    Which::Pin => WebChecked::Pin,
                    Which::Password => WebChecked::Password,
                });
                self.verify(which, record, &secret, WEB_ACTOR, now).await?
            }
        };
        let decision = self.decision(record, credential, TerminalBudget::default(), now);
        Ok((decision, checked))
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
                .map(|r| Standing::of(r, now))
                .unwrap_or_default(),
            patron: record.as_ref().map(PatronView::of),
            credential,
            budget,
        }
    }
}
