//! The outbox task: turns queued reset requests into reset mails (the lookup the request page
//! never does: by card or by the email on file, every account sharing an email gets its own
//! mail, at most `web.reset_requests_per_account` per window), then sends every due mail
//! through the configured transport. The message, and the token or temporary password in it,
//! is made at sending time, so nothing secret waits in the database. A failed send is retried
//! with doubling waits; after `mail.max_attempts` the mail is given up as failed.
//!
//! Of several instances, each claims a mail by one conditional update (`store::outbox`), so none
//! sends a mail another has claimed. A mail whose sender died after the SMTP server took it but
//! before it was marked sent is sent again once its lease ends: at least once, never twice by
//! two live senders.
//!
//! Uses `auth`, `store`, `mail` and `config`; must not import `sip2`, `server` or `http`.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use tokio_util::sync::CancellationToken;

use super::reset::{credential_name, ResetToken};
use super::web::{random_token, CredentialKind};
use super::{Accounts, Error};
use crate::auth::{AuditAction, AuditOutcome};
use crate::config::ResetMode;
use crate::mail::{Mailer, Outgoing, SendError, TemplateName};
use crate::store::{ClaimedMail, MailKind, OutboxCounts, Patron, ResetLookup, ResetRequest};

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Pass {
    pub sent: u32,
    pub retried: u32,
    pub failed: u32,
}

/// A mail made from its outbox row, and the time its secret (if any) was issued.
struct Made {
    outgoing: Outgoing,
}

impl Accounts {
    /// Wakes the outbox task of this process (mail was queued).
    pub(crate) fn wake_outbox(&self) {
        self.outbox_wake.notify_one();
    }

    /// Depth and failures of the outbox (`sip2auth mail status`, the desk).
    pub async fn mail_status(&self) -> Result<OutboxCounts, Error> {
        Ok(self.store.outbox_counts().await?)
    }

    /// Runs the outbox until `shutdown`: a pass whenever mail is queued here, and every
    /// `mail.poll_interval` (for other instances' mail and retries).
    pub(crate) async fn run_outbox(self, mailer: Mailer, shutdown: CancellationToken) {
        let poll = self.config.mail.poll_interval;
        loop {
            if let Err(error) = self.outbox_pass(&mailer).await {
                tracing::warn!(%error, "mail outbox pass failed");
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.outbox_wake.notified() => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
    }

    /// Looks up every waiting reset request, then sends every due mail.
    pub(crate) async fn outbox_pass(&self, mailer: &Mailer) -> Result<Pass, Error> {
        while let Some(request) = self.store.take_reset_request().await? {
            self.look_up_reset(&request).await?;
        }
        let mut pass = Pass::default();
        let lease = Duration::from_std(self.config.mail.lease).unwrap_or(Duration::minutes(2));
        while let Some(claimed) = self.store.claim_mail(self.clock.now(), lease).await? {
            self.deliver(mailer, &claimed, &mut pass).await?;
        }
        let counts = self.store.outbox_counts().await?;
        crate::instruments::mail_outbox(counts.queued + counts.sending, counts.failed);
        Ok(pass)
    }

    /// The accounts a request names; each with an email on file and under its limit gets a
    /// reset mail.
    async fn look_up_reset(&self, request: &ResetRequest) -> Result<(), Error> {
        let institution = &self.config.server.institution_id;
        let patrons = match request.lookup {
            ResetLookup::Card => self
                .store
                .find_by_card(institution, &request.value)
                .await?
                .filter(|record| !record.card.lost)
                .map(|record| record.patron.id)
                .into_iter()
                .collect(),
            ResetLookup::Email => {
                self.store
                    .patrons_with_email(institution, &request.value)
                    .await?
            }
        };
        let credential = CredentialKind::from(request.credential);
        for id in patrons {
            let record = self.patron_by_id(id).await?;
            if has_email(&record.patron).is_none() {
                continue;
            }
            let limit = self.config.web.reset_requests_per_account;
            let limited = self
                .reset_rate(&format!("patron\u{1f}{}", id.0), limit)
                .await?;
            let (outcome, reason) = if limited.is_some() {
                (
                    AuditOutcome::Refused,
                    "too many reset requests; nothing sent",
                )
            } else {
                self.queue_reset_mail(&record, credential, None).await?;
                (AuditOutcome::Queued, "requested on the web")
            };
            self.audit(
                &super::Operator::patron_web(),
                Some(&record.card.number),
                AuditAction::ResetMail,
                outcome,
                Some(format!("{} reset: {reason}", credential_name(credential))),
            )
            .await?;
        }
        Ok(())
    }

    /// Makes and sends one claimed mail, and records how it went.
    async fn deliver(
        &self,
        mailer: &Mailer,
        claimed: &ClaimedMail,
        pass: &mut Pass,
    ) -> Result<(), Error> {
        let kind = claimed.kind.as_str();
        let made = match self.make(mailer, claimed).await? {
            Ok(made) => made,
            Err(reason) => {
                self.store
                    .mail_failed(claimed.id, self.clock.now(), reason)
                    .await?;
                crate::instruments::mail_failure(kind, "given_up");
                pass.failed += 1;
                return Ok(());
            }
        };
        let sent = mailer.send(&made.outgoing).await;
        let now = self.clock.now();
        match sent {
            Ok(()) => {
                self.store.mail_sent(claimed.id, now).await?;
                crate::instruments::mail_sent(kind);
                tracing::info!(mail = claimed.id, kind, "mail sent");
                pass.sent += 1;
            }
            Err(SendError::Transient(reason))
                if claimed.attempts < self.config.mail.max_attempts =>
            {
                let next = now + self.backoff(claimed.attempts);
                tracing::warn!(mail = claimed.id, kind, attempt = claimed.attempts, %reason, "mail not sent; will retry");
                self.store.mail_retry(claimed.id, next, &reason).await?;
                crate::instruments::mail_failure(kind, "retry");
                pass.retried += 1;
            }
            Err(SendError::Transient(reason) | SendError::Permanent(reason)) => {
                tracing::warn!(mail = claimed.id, kind, attempt = claimed.attempts, %reason, "mail given up");
                self.store.mail_failed(claimed.id, now, &reason).await?;
                crate::instruments::mail_failure(kind, "given_up");
                pass.failed += 1;
            }
        }
        Ok(())
    }

    /// The wait before attempt `attempts + 1`: `retry_initial`, doubled per attempt, capped.
    fn backoff(&self, attempts: u32) -> Duration {
        let mail = &self.config.mail;
        let doubled = mail
            .retry_initial
            .saturating_mul(2u32.saturating_pow(attempts.saturating_sub(1)));
        Duration::from_std(doubled.min(mail.retry_max)).unwrap_or(Duration::hours(1))
    }

    /// The mail of an outbox row; `Err(reason)` when it cannot be made (no address any more).
    async fn make(
        &self,
        mailer: &Mailer,
        claimed: &ClaimedMail,
    ) -> Result<Result<Made, &'static str>, Error> {
        let record = match self.patron_by_id(claimed.patron).await {
            Ok(record) => record,
            Err(Error::NotFound { .. }) => return Ok(Err("the patron has no card any more")),
            Err(err) => return Err(err),
        };
        let Some(to) = has_email(&record.patron) else {
            return Ok(Err("no email address on file"));
        };
        let now = self.clock.now();
        let card = &record.card.number;
        let card_end: String = {
            let digits: Vec<char> = card.chars().collect();
            digits[digits.len().saturating_sub(4)..].iter().collect()
        };
        let site = self.site_origin();
        let when = now.format("%Y-%m-%d %H:%M UTC").to_string();
        let mut values: Vec<(&str, String)> = vec![
            ("library", self.library_name()),
            ("contact", self.mail_contact()),
            ("name", record.patron.details.name.given.clone()),
            ("card_end", card_end),
            ("site", site.clone()),
            ("when", when),
        ];
        let template = match claimed.kind {
            MailKind::Reset => {
                let credential = claimed.credential.map_or(CredentialKind::Pin, Into::into);
                self.reset_secret(&record, credential, now, &mut values)
                    .await?
            }
            MailKind::PinChanged => TemplateName::PinChanged,
            MailKind::PasswordChanged => TemplateName::PasswordChanged,
            MailKind::HardLock => TemplateName::HardLock,
            MailKind::TwoFactorEnabled => TemplateName::TwoFactorEnabled,
            MailKind::TwoFactorDisabled => TemplateName::TwoFactorDisabled,
            MailKind::RecoveryCodesRenewed => TemplateName::RecoveryCodesRenewed,
        };
        let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let rendered = mailer.templates().render(template, &pairs);
        Ok(Ok(Made {
            outgoing: Outgoing {
                to: to.to_owned(),
                to_name: record.patron.details.name.display.clone(),
                rendered,
            },
        }))
    }

    /// Issues the secret of a reset mail now (a link's token, or a temporary password), adds
    /// it to `values`, and names the template.
    async fn reset_secret(
        &self,
        record: &crate::store::PatronRecord,
        credential: CredentialKind,
        now: DateTime<Utc>,
        values: &mut Vec<(&str, String)>,
    ) -> Result<TemplateName, Error> {
        match self.config.web.reset {
            ResetMode::Link => {
                let token = ResetToken::new(random_token());
                let lifetime = Duration::from_std(self.config.web.reset_link_lifetime)
                    .unwrap_or(Duration::minutes(30));
                self.store
                    .issue_reset_token_for(
                        record.patron.id,
                        credential.into(),
                        &token.digest(),
                        now + lifetime,
                    )
                    .await?;
                let link = format!("{}/reset/{}", self.site_origin(), token.expose());
                values.push(("link", link));
                values.push(("credential", credential_name(credential).to_owned()));
                values.push(("lifetime_minutes", lifetime.num_minutes().to_string()));
                Ok(TemplateName::ResetLink)
            }
            ResetMode::TemporaryPassword => {
                let password = self.temporary_password(record).await?;
                values.push(("temporary_password", password.expose_secret().to_owned()));
                let days = self.config.security.default_credential.lifetime.as_secs() / 86_400;
                values.push(("lifetime_days", days.max(1).to_string()));
                Ok(TemplateName::ResetTemporaryPassword)
            }
        }
    }

    /// Draws a temporary online password that passes the rules, and stores it as one to change
    /// at first log-in (with the lifetime of a default credential). Clears the locks.
    async fn temporary_password(
        &self,
        record: &crate::store::PatronRecord,
    ) -> Result<SecretString, Error> {
        let context = self.password_context(record);
        let pin = record.patron.pin.as_ref();
        for _ in 0..20 {
            let password = SecretString::from(draw_password());
            if let Ok(mut hash) = self
                .credentials
                .new_password(&password, &context, pin)
                .await?
            {
                let lifetime = self.config.security.default_credential.lifetime;
                hash.must_change = true;
                hash.default_expires_at = Some(
                    self.clock.now() + Duration::from_std(lifetime).unwrap_or(Duration::days(14)),
                );
                self.store
                    .set_password_hash(record.patron.id, &hash)
                    .await?;
                self.store.unlock(record.patron.id).await?;
                return Ok(password);
            }
        }
        Err(Error::Hashing(
            "could not draw a temporary password that passes the password rules".into(),
        ))
    }

    fn library_name(&self) -> String {
        if self.config.web.library_name.is_empty() {
            self.config.server.library_name.clone()
        } else {
            self.config.web.library_name.clone()
        }
    }

    fn mail_contact(&self) -> String {
        if self.config.mail.contact.is_empty() {
            self.config.web.contact.clone()
        } else {
            self.config.mail.contact.clone()
        }
    }

    /// Where links in mails point: `web.public_url`, else the web listener of this process,
    /// else `http://` and `web.listen`.
    pub(crate) fn site_origin(&self) -> String {
        if let Some(bound) = self.site.get() {
            return bound.clone();
        }
        self.config.web.origin(self.config.web.listen)
    }

    /// Records the web listener's origin (when it has bound), for links in mails.
    pub(crate) fn set_site_origin(&self, origin: &str) {
        let _first = self.site.set(origin.to_owned());
    }
}

/// The patron's email on file, if any.
fn has_email(patron: &Patron) -> Option<&str> {
    patron
        .details
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
}

/// 16 characters from an unambiguous alphabet, with an upper, a lower, a digit and a sign (so
/// the default composition rule passes).
fn draw_password() -> String {
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const DIGIT: &[u8] = b"23456789";
    const SIGN: &[u8] = b"!#%+-=?";
    let mut rng = rand::rngs::OsRng;
    let mut pick = |set: &[u8]| char::from(set[rng.gen_range(0..set.len())]);
    let mut out = String::with_capacity(16);
    for group in 0..4 {
        if group > 0 {
            out.push('-');
        }
        out.push(pick(UPPER));
        out.push(pick(LOWER));
        out.push(pick(DIGIT));
    }
    out.push(pick(SIGN));
    out.push(pick(LOWER));
    out.push(pick(UPPER));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temporary_password_has_every_kind_of_character() {
        let password = draw_password();
        assert!(password.chars().any(|c| c.is_ascii_uppercase()));
        assert!(password.chars().any(|c| c.is_ascii_lowercase()));
        assert!(password.chars().any(|c| c.is_ascii_digit()));
        assert!(password.chars().any(|c| !c.is_ascii_alphanumeric()));
        assert_ne!(password, draw_password());
    }
}
