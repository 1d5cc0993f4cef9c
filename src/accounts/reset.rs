//! Forgotten PIN or password: the request (only counted per client address and queued as typed:
//! the lookup happens in the outbox task, so the answer is the same whatever the account), the
//! desk's "send a reset link", the state of a patron's last reset mail, and the use of a link.
//!
//! A link carries a 256-bit random token of which only the SHA-256 is stored, made when the
//! mail is sent (`outbox.rs`), so the newest mail's token replaces every older one. Showing the
//! form consumes nothing; setting the new secret first checks the same rules as the change
//! pages, hashes, then consumes the token in one statement (of two tabs, one wins), sets the
//! secret (raising the credential epoch, which ends every session), clears every lock, audits
//! and queues the "changed" notice. It does not log the patron in.
//!
//! Uses `auth`, `store` through [`Accounts`]; must not import `sip2`, `server`, `http`, `mail`.

use std::net::IpAddr;

use chrono::Duration;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::patron::{pin_context, CardRef};
use super::web::{ChangeRefusal, CredentialKind, NewSecret};
use super::{Accounts, Error, Notice, Operator};
use crate::auth::{AuditAction, AuditOutcome, Rejections};
use crate::config::ResetLookupBy;
use crate::store::{
    CredentialHash, MailKind, MailRecord, NewMail, PatronId, PatronRecord, ResetLookup,
    ResetRequest, TokenDigest,
};

/// What a reset request did (the same for every account).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResetRequestOutcome {
    /// Queued for the background lookup.
    Accepted,
    /// Too many requests from this client address: try again after this long.
    TooMany { retry_after: Duration },
    /// What was typed cannot be a card number (or an email address).
    Malformed,
}

/// What the desk's "send a reset link" did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeskResetMail {
    Queued,
    /// No email on file (or mail is off): nothing was queued.
    NoEmail,
}

/// A valid link, as its form shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResetForm {
    pub credential: CredentialKind,
    /// The patron's card (for the password manager's user-name field).
    pub card: String,
}

/// What using a link did.
#[derive(Debug)]
pub(crate) enum ResetOutcome {
    /// Set; the patron logs in with it.
    Done(CredentialKind),
    /// The new secret was refused (the link stays valid).
    Refused(ResetForm, ChangeRefusal),
    /// Unknown, expired, already used, or replaced by a newer one.
    Invalid,
    /// Every hashing slot was busy; nothing changed.
    Busy,
}

/// The token of a reset link. `Debug` prints nothing of it.
pub(crate) struct ResetToken(SecretString);

impl std::fmt::Debug for ResetToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResetToken([redacted])")
    }
}

impl ResetToken {
    pub(crate) fn new(value: String) -> ResetToken {
        ResetToken(SecretString::from(value))
    }

    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub(crate) fn digest(&self) -> TokenDigest {
        TokenDigest(Sha256::digest(self.0.expose_secret().as_bytes()).into())
    }
}

/// Longest email address accepted in a request (RFC 5321 path limit).
const MAX_EMAIL_BYTES: usize = 254;

impl Accounts {
    /// Counts a reset request for the client address and queues it as typed. Never looks the
    /// account up, so the outcome and its time are the same for every account.
    pub(crate) async fn request_reset(
        &self,
        credential: CredentialKind,
        typed: &str,
        client: IpAddr,
    ) -> Result<ResetRequestOutcome, Error> {
        let outcome = self.queue_reset_request(credential, typed, client).await;
        crate::instruments::reset_request(match &outcome {
            Ok(ResetRequestOutcome::Accepted) => "accepted",
            Ok(ResetRequestOutcome::TooMany { .. }) => "too_many",
            Ok(ResetRequestOutcome::Malformed) => "malformed",
            Err(_) => "error",
        });
        outcome
    }

    async fn queue_reset_request(
        &self,
        credential: CredentialKind,
        typed: &str,
        client: IpAddr,
    ) -> Result<ResetRequestOutcome, Error> {
        let typed = typed.trim();
        let lookup = match self.config.web.reset_lookup {
            ResetLookupBy::Card if super::import::check_card(typed).is_ok() => ResetLookup::Card,
            ResetLookupBy::Email
                if typed.len() <= MAX_EMAIL_BYTES && super::import::row::valid_email(typed) =>
            {
                ResetLookup::Email
            }
            _ => return Ok(ResetRequestOutcome::Malformed),
        };
        let web = &self.config.web;
        let key = format!("address\u{1f}{client}");
        if let Some(retry_after) = self
            .reset_rate(&key, web.reset_requests_per_address)
            .await?
        {
            return Ok(ResetRequestOutcome::TooMany { retry_after });
        }
        self.store
            .queue_reset_request(&ResetRequest {
                lookup,
                value: typed.to_owned(),
                credential: credential.into(),
                requested_at: self.clock.now(),
            })
            .await?;
        self.wake_outbox();
        Ok(ResetRequestOutcome::Accepted)
    }

    /// Counts one request under `key` (pseudonymised); `Some(wait)` past `limit`.
    pub(in crate::accounts) async fn reset_rate(
        &self,
        key: &str,
        limit: u32,
    ) -> Result<Option<Duration>, Error> {
        let window =
            Duration::from_std(self.config.web.reset_rate_window).unwrap_or(Duration::hours(1));
        let now = self.clock.now();
        let key = self.credentials.pseudonym(&format!("reset\u{1f}{key}"));
        let (requests, started) = self.store.count_reset_request(&key, now, window).await?;
        if requests <= limit {
            return Ok(None);
        }
        Ok(Some((started + window - now).max(Duration::seconds(1))))
    }

    /// The desk's "send a reset link" (or temporary password, as `web.reset` says) for the
    /// patron holding `at`, on `operator`'s behalf: queued at once (no per-account limit),
    /// audited with the operator.
    pub async fn send_reset_link(
        &self,
        operator: &Operator,
        at: &CardRef,
        credential: CredentialKind,
    ) -> Result<DeskResetMail, Error> {
        let record = self.patron(at).await?;
        let has_email = record
            .patron
            .details
            .email
            .as_deref()
            .is_some_and(|e| !e.trim().is_empty());
        if !self.config.mail.enabled() || !has_email {
            return Ok(DeskResetMail::NoEmail);
        }
        let actor = operator.actor();
        self.queue_reset_mail(&record, credential, Some(&actor))
            .await?;
        self.audit(
            operator,
            Some(&at.card),
            AuditAction::ResetMail,
            AuditOutcome::Queued,
            Some(format!(
                "{} reset mail for the desk",
                credential_name(credential)
            )),
        )
        .await?;
        Ok(DeskResetMail::Queued)
    }

    /// Queues the reset mail of `record` (the caller checked its email and limits).
    pub(in crate::accounts) async fn queue_reset_mail(
        &self,
        record: &PatronRecord,
        credential: CredentialKind,
        operator: Option<&str>,
    ) -> Result<(), Error> {
        self.store
            .queue_mail(&NewMail {
                patron: record.patron.id,
                kind: MailKind::Reset,
                credential: Some(credential.into()),
                operator,
                now: self.clock.now(),
            })
            .await?;
        self.wake_outbox();
        Ok(())
    }

    /// The state of the patron's last reset mail (queued, sending, sent or failed, with its
    /// times), for the desk; `None` if none was ever queued.
    pub async fn last_reset_mail(&self, at: &CardRef) -> Result<Option<MailRecord>, Error> {
        let record = self.patron(at).await?;
        Ok(self
            .store
            .last_mail(record.patron.id, MailKind::Reset)
            .await?)
    }

    /// The form of a valid link (consumes nothing); `None` for any link that cannot be used.
    pub(crate) async fn reset_form(&self, token: &ResetToken) -> Result<Option<ResetForm>, Error> {
        let Some((patron, credential)) = self
            .store
            .peek_reset_token(&token.digest(), self.clock.now())
            .await?
        else {
            return Ok(None);
        };
        let record = self.patron_by_id(patron).await?;
        Ok(Some(ResetForm {
            credential: credential.into(),
            card: record.card.number,
        }))
    }

    /// Sets the new secret of a valid link (see the module header).
    pub(crate) async fn complete_reset(
        &self,
        token: &ResetToken,
        new: NewSecret,
    ) -> Result<ResetOutcome, Error> {
        let Some(form) = self.reset_form(token).await? else {
            return Ok(ResetOutcome::Invalid);
        };
        let at = CardRef {
            institution: self.config.server.institution_id.clone(),
            card: form.card.clone(),
        };
        let record = self.patron(&at).await?;
        let kind = form.credential;
        let mut refusal = ChangeRefusal {
            new_missing: new.new.expose_secret().is_empty(),
            confirm_mismatch: new.new.expose_secret() != new.confirm.expose_secret(),
            ..ChangeRefusal::default()
        };
        if !refusal.new_missing {
            refusal.new = self.rule_refusals(kind, &record, &new.new);
        }
        if refusal != ChangeRefusal::default() {
            return Ok(ResetOutcome::Refused(form, refusal));
        }
        let hash = match self.hash_new(kind, &record, &new.new).await {
            Ok(Ok(hash)) => hash,
            Ok(Err(rejections)) => {
                let refusal = ChangeRefusal {
                    new: rejections.iter().cloned().collect(),
                    ..ChangeRefusal::default()
                };
                return Ok(ResetOutcome::Refused(form, refusal));
            }
            Err(Error::Hashing(_)) => return Ok(ResetOutcome::Busy),
            Err(err) => return Err(err),
        };
        let consumed = self
            .store
            .consume_reset_token(&token.digest(), self.clock.now())
            .await?;
        if consumed != Some(record.patron.id) {
            return Ok(ResetOutcome::Invalid);
        }
        self.apply_reset(kind, &at, record.patron.id, &hash).await?;
        Ok(ResetOutcome::Done(kind))
    }

    /// Hashes the new secret under the rules (not the current PIN; a password not the PIN).
    async fn hash_new(
        &self,
        kind: CredentialKind,
        record: &PatronRecord,
        new: &SecretString,
    ) -> Result<Result<CredentialHash, Rejections>, Error> {
        match kind {
            CredentialKind::Pin => {
                let context = pin_context(&record.card.number, &record.patron.details);
                let current = record.patron.pin.as_ref();
                self.credentials.new_pin(new, &context, current).await
            }
            CredentialKind::Password => {
                let context = self.password_context(record);
                let pin = record.patron.pin.as_ref();
                self.credentials.new_password(new, &context, pin).await
            }
        }
    }

    /// Stores the new hash (ending every session), clears the locks, audits, notifies.
    async fn apply_reset(
        &self,
        kind: CredentialKind,
        at: &CardRef,
        patron: PatronId,
        hash: &CredentialHash,
    ) -> Result<(), Error> {
        match kind {
            CredentialKind::Pin => self.store.set_pin_hash(patron, hash).await?,
            CredentialKind::Password => self.store.set_password_hash(patron, hash).await?,
        }
        self.store.unlock(patron).await?;
        self.audit(
            &Operator::patron_web(),
            Some(&at.card),
            AuditAction::ResetByLink,
            AuditOutcome::Ok,
            Some(format!("new {} set; locks cleared", credential_name(kind))),
        )
        .await?;
        let notice = match kind {
            CredentialKind::Pin => Notice::PinChanged,
            CredentialKind::Password => Notice::PasswordChanged,
        };
        self.notify_patron(patron, notice).await?;
        Ok(())
    }
}

pub(crate) fn credential_name(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::Pin => "PIN",
        CredentialKind::Password => "online password",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_token_shows_nothing_in_debug_and_hashes_to_its_sha256() {
        let token = ResetToken::new("ab".repeat(32));
        assert_eq!(format!("{token:?}"), "ResetToken([redacted])");
        let expected: [u8; 32] = Sha256::digest("ab".repeat(32).as_bytes()).into();
        assert_eq!(token.digest(), TokenDigest(expected));
    }
}
