//! Web log-in: the per-card rate limit (in the database, so it holds across instances), the
//! check itself through the same `auth` code a terminal's PIN takes (one lock counter for the
//! PIN; the online password has its own), and the session it starts. Unknown cards cost the
//! same dummy hash as at a terminal.
//!
//! Uses `auth` and `store` through [`Accounts`]; must not import `sip2`, `server` or `http`.

use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;

use super::{CredentialKind, SessionToken, WebSession};
use crate::accounts::{Accounts, Error};
use crate::auth::{CredentialVerdict, PatronCredential, Presented, WebChecked};
use crate::config::WebLogin;

/// Why a log-in did not start a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogInRefusal {
    /// Unknown card, wrong secret, or no secret on file: one message for all three.
    Neutral,
    /// Nothing was typed in the secret field (not counted as a failure).
    NothingTyped,
    /// Locked after failures: until this time, or (`None`) until staff or a reset unlock it.
    Locked { until: Option<DateTime<Utc>> },
    /// A temporary PIN or password used after its lifetime.
    TemporaryExpired,
    /// The stored credential can no longer be checked (its key was retired): see staff.
    ResetRequired,
    /// Too many log-ins for this card: try again after this long.
    TooMany { retry_after: Duration },
    /// Every hashing slot was busy: try again shortly (not counted).
    Busy,
}

impl LogInRefusal {
    /// The stable name of the refusal (metrics).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            LogInRefusal::Neutral => "refused",
            LogInRefusal::NothingTyped => "nothing_typed",
            LogInRefusal::Locked { .. } => "locked",
            LogInRefusal::TemporaryExpired => "temporary_expired",
            LogInRefusal::ResetRequired => "reset_required",
            LogInRefusal::TooMany { .. } => "too_many",
            LogInRefusal::Busy => "busy",
        }
    }
}

/// What a log-in attempt did.
#[derive(Debug)]
pub(crate) enum LogInOutcome {
    /// A new session (a new id: nothing from before the log-in is reused).
    LoggedIn {
        token: SessionToken,
        session: WebSession,
    },
    /// The PIN or password was right and the patron uses two-factor log-in: the code is asked
    /// next, for the half-done log-in this token names (no session yet).
    SecondStep {
        token: SessionToken,
    },
    Refused(LogInRefusal),
}

pub(super) fn credential(login: WebLogin) -> PatronCredential {
    match login {
        WebLogin::Pin => PatronCredential::Pin,
        WebLogin::Password => PatronCredential::Password,
        WebLogin::Either => PatronCredential::Either,
    }
}

impl Accounts {
    /// Logs a patron in with `card` (a card number already checked by the caller for its form)
    /// and `secret` as `web.login_with` says; counts the outcome.
    pub(crate) async fn web_log_in(
        &self,
        card: &str,
        secret: SecretString,
        user_agent: &str,
    ) -> Result<LogInOutcome, Error> {
        let outcome = self.check_web_log_in(card, secret, user_agent).await;
        crate::instruments::web_log_in(match &outcome {
            Ok(LogInOutcome::LoggedIn { .. }) => "logged_in",
            Ok(LogInOutcome::SecondStep { .. }) => "second_step",
            Ok(LogInOutcome::Refused(refusal)) => refusal.as_str(),
            Err(_) => "error",
        });
        outcome
    }

    async fn check_web_log_in(
        &self,
        card: &str,
        secret: SecretString,
        user_agent: &str,
    ) -> Result<LogInOutcome, Error> {
        if let Some(retry_after) = self.web_login_rate(card).await? {
            return Ok(LogInOutcome::Refused(LogInRefusal::TooMany { retry_after }));
        }
        let institution = &self.config.server.institution_id;
        let kind = credential(self.config.web.login_with);
        let (decision, checked) = self
            .credentials
            .authenticator()
            .check_web(institution, card, kind, Presented::Given(secret))
            .await
            .map_err(super::auth_error)?;
        let refusal = match decision.credential {
            CredentialVerdict::Valid | CredentialVerdict::DefaultToChange => None,
            CredentialVerdict::WrongCredential | CredentialVerdict::NoPinOnFile => {
                Some(LogInRefusal::Neutral)
            }
            CredentialVerdict::NotGiven | CredentialVerdict::Empty => {
                Some(LogInRefusal::NothingTyped)
            }
            CredentialVerdict::Locked { until } => Some(LogInRefusal::Locked { until }),
            CredentialVerdict::DefaultExpired => Some(LogInRefusal::TemporaryExpired),
            CredentialVerdict::ResetRequired => Some(LogInRefusal::ResetRequired),
            CredentialVerdict::Busy => Some(LogInRefusal::Busy),
        };
        if let Some(refusal) = refusal {
            return Ok(LogInOutcome::Refused(refusal));
        }
        let (Some(patron), Some(checked)) = (decision.patron, checked) else {
            // A valid verdict always names the patron and the credential it checked.
            return Ok(LogInOutcome::Refused(LogInRefusal::Neutral));
        };
        let kind = match &checked {
            WebChecked::Pin => CredentialKind::Pin,
            WebChecked::Password => CredentialKind::Password,
        };
        let must_change = (decision.credential == CredentialVerdict::DefaultToChange
            || self.must_change_flag(patron.id, kind).await?)
            .then_some(kind);
        if let Some(token) = self
            .half_log_in(patron.id, card, checked, must_change)
            .await?
        {
            return Ok(LogInOutcome::SecondStep { token });
        }
        let (token, session) = self
            .start_web_session(patron.id, card, must_change, user_agent)
            .await?;
        Ok(LogInOutcome::LoggedIn { token, session })
    }

    /// Whether the patron's credential of this kind is flagged must-change (a temporary one).
    async fn must_change_flag(
        &self,
        patron: crate::store::PatronId,
        kind: CredentialKind,
    ) -> Result<bool, Error> {
        let Some(stored) = self.store.get_patron(patron).await? else {
            return Ok(false);
        };
        let hash = match kind {
            CredentialKind::Pin => stored.pin,
            CredentialKind::Password => stored.password,
        };
        Ok(hash.is_some_and(|h| h.must_change))
    }

    /// Counts this log-in for the card; `Some(wait)` when the card is over its limit.
    async fn web_login_rate(&self, card: &str) -> Result<Option<Duration>, Error> {
        let web = &self.config.web;
        let window = Duration::from_std(web.login_rate_window).unwrap_or(Duration::minutes(15));
        let now = self.clock.now();
        let key = self.credentials.pseudonym(&format!(
            "{}\u{1f}{card}",
            self.config.server.institution_id
        ));
        let (attempts, started) = self.store.count_web_login(&key, now, window).await?;
        if attempts <= web.login_attempts_per_card {
            return Ok(None);
        }
        Ok(Some((started + window - now).max(Duration::seconds(1))))
    }
}
