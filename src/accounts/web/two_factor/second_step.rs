//! The second step of a web log-in: the half-done log-in a right PIN or password leaves when
//! two-step log-in is on (its own cookie token, stored as a digest, ended after
//! `web.two_factor_timeout`), and the one check of a code on the lock counter of the credential
//! that passed: a TOTP code of a step later than the last accepted one, or an unused recovery
//! code (then used up).
//!
//! Uses `auth` and `store` through [`Accounts`]; must not import `sip2`, `server` or `http`.

use chrono::Duration;
use secrecy::SecretString;
use subtle::ConstantTimeEq;

use super::{checked_of, record_id, SecondStepOutcome};
use crate::accounts::web::{CredentialKind, SessionToken};
use crate::accounts::{Accounts, Error, Operator};
use crate::auth::two_factor::{SecondFactor, SecondFactorSlot};
use crate::auth::{AuditAction, AuditOutcome, WebChecked};
use crate::store::{CheckedCredential, HalfLoginRow, MustChange, PatronId};

impl Accounts {
    /// After a right PIN or password: whether the log-in needs a code; if so, the half-done
    /// log-in's cookie token.
    pub(in crate::accounts::web) async fn half_log_in(
        &self,
        patron: PatronId,
        card: &str,
        checked: WebChecked,
        must_change: Option<CredentialKind>,
    ) -> Result<Option<SessionToken>, Error> {
        if self.enabled_two_factor(patron).await?.is_none() {
            return Ok(None);
        }
        let token = SessionToken(SecretString::from(crate::accounts::web::random_token()));
        let half = HalfLoginRow {
            patron,
            card: card.to_owned(),
            checked: match checked {
                WebChecked::Pin => CheckedCredential::Pin,
                WebChecked::Password => CheckedCredential::Password,
            },
            must_change: must_change.map(MustChange::from),
            created_at: self.clock.now(),
        };
        self.store.create_half_login(&token.digest(), &half).await?;
        Ok(Some(token))
    }

    /// Whether a half-done log-in's cookie names one still waiting for its code.
    pub(crate) async fn half_login_waiting(&self, token: &SessionToken) -> Result<bool, Error> {
        Ok(self.live_half_login(token).await?.is_some())
    }

    async fn live_half_login(&self, token: &SessionToken) -> Result<Option<HalfLoginRow>, Error> {
        let Some(half) = self.store.half_login(&token.digest()).await? else {
            return Ok(None);
        };
        let timeout =
            Duration::from_std(self.config.web.two_factor_timeout).unwrap_or(Duration::minutes(5));
        if self.clock.now() - half.created_at >= timeout {
            self.store.delete_half_login(&token.digest()).await?;
            return Ok(None);
        }
        Ok(Some(half))
    }

    /// The second step of a log-in: the code (or a recovery code) for the half-done log-in.
    pub(crate) async fn web_second_step(
        &self,
        token: &SessionToken,
        typed: &str,
        user_agent: &str,
    ) -> Result<SecondStepOutcome, Error> {
        let Some(half) = self.live_half_login(token).await? else {
            return Ok(SecondStepOutcome::Expired);
        };
        match self
            .check_second_factor(half.patron, &half.card, half.checked, typed)
            .await?
        {
            Checked::Right => {}
            Checked::Wrong => return Ok(SecondStepOutcome::WrongCode),
            Checked::Locked(until) => {
                self.store.delete_half_login(&token.digest()).await?;
                return Ok(SecondStepOutcome::Locked { until });
            }
        }
        // Only the request that removes the half-done log-in starts the session.
        if !self.store.delete_half_login(&token.digest()).await? {
            return Ok(SecondStepOutcome::Expired);
        }
        let must_change = half.must_change.map(CredentialKind::from);
        let (token, session) = self
            .start_web_session(half.patron, &half.card, must_change, user_agent)
            .await?;
        Ok(SecondStepOutcome::LoggedIn { token, session })
    }

    /// One second-factor check on the lock counter of `checked`: a TOTP code of a step not
    /// yet accepted, or an unused recovery code (then used up).
    pub(super) async fn check_second_factor(
        &self,
        patron: PatronId,
        card: &str,
        checked: CheckedCredential,
        typed: &str,
    ) -> Result<Checked, Error> {
        let auth = self.credentials.authenticator();
        let checked = checked_of(checked);
        let attempt = match auth
            .reserve_second_factor(checked, patron)
            .await
            .map_err(crate::accounts::web::auth_error)?
        {
            SecondFactorSlot::Granted { attempt } => attempt,
            SecondFactorSlot::Locked { until } => return Ok(Checked::Locked(until)),
        };
        let right = match SecondFactor::parse(typed) {
            SecondFactor::Code(code) => self.accept_code(patron, &code).await?,
            SecondFactor::Recovery(code) => self.use_recovery(patron, card, &code).await?,
            SecondFactor::Malformed => false,
        };
        auth.second_factor_checked(checked, patron, card, attempt, right)
            .await
            .map_err(crate::accounts::web::auth_error)?;
        Ok(if right {
            Checked::Right
        } else {
            Checked::Wrong
        })
    }

    /// A TOTP code: right for the patron's secret, and of a step later than the last accepted.
    async fn accept_code(&self, patron: PatronId, code: &str) -> Result<bool, Error> {
        let Some(row) = self.enabled_two_factor(patron).await? else {
            return Ok(false);
        };
        let sealed = row.secret_sealed.unwrap_or_default();
        let auth = self.credentials.authenticator();
        let secret = match auth.open_totp(&record_id(patron), &sealed) {
            Ok(secret) => secret,
            Err(err) => {
                tracing::warn!(patron_id = patron.0, error = %err, "TOTP secret does not open");
                return Ok(false);
            }
        };
        let Some(step) = secret.matched_step(code, self.clock.now()) else {
            return Ok(false);
        };
        Ok(self.store.accept_two_factor_step(patron, step).await?)
    }

    /// A recovery code: one of the patron's unused ones, then used up (audited).
    async fn use_recovery(&self, patron: PatronId, card: &str, code: &str) -> Result<bool, Error> {
        let auth = self.credentials.authenticator();
        let record = record_id(patron);
        let mut found = None;
        for row in self.store.unused_recovery_codes(patron).await? {
            let Some(digest) = auth.recovery_digest(row.key_id, &record, code) else {
                continue;
            };
            if bool::from(digest.as_bytes().ct_eq(row.digest.as_bytes())) {
                found = Some(row.id);
            }
        }
        let Some(id) = found else {
            return Ok(false);
        };
        if !self
            .store
            .use_recovery_code(patron, id, self.clock.now())
            .await?
        {
            return Ok(false);
        }
        self.audit(
            &Operator::patron_web(),
            Some(card),
            AuditAction::RecoveryCodeUse,
            AuditOutcome::Ok,
            None,
        )
        .await?;
        Ok(true)
    }
}

/// The answer of one second-factor check.
pub(super) enum Checked {
    Right,
    Wrong,
    Locked(Option<chrono::DateTime<chrono::Utc>>),
}
