//! The patron's own account on the web: sessions (this file), log-in ([`login`]), changing the
//! PIN and the online password ([`change`]), two-factor log-in ([`two_factor`]) and what My
//! Account shows ([`view`]).
//!
//! A session is a random 256-bit token in the patron's cookie; the database keeps only its
//! SHA-256, the patron's credential epoch at creation, a CSRF token and the times. A session
//! ends when idle for `web.idle_timeout`, `web.session_lifetime` after log-in (both read from
//! the injected clock), at log-out, or when the patron's credential epoch moves on (any PIN or
//! password change, from the web, staff or an import).
//!
//! Uses `auth` (checks, rules, audit vocabulary), `store` (session rows) and `config`. Must not
//! import `sip2`, `server`, `http` or `cli`. Nothing here logs a secret or a token.

mod change;
mod login;
mod two_factor;
mod view;

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::{Accounts, Error};
use crate::store::{MustChange, NewWebSession, PatronId, TokenDigest, WebSessionRow};

pub(crate) use change::{ChangeOutcome, ChangeRefusal, NewSecret, OldRefusal};
pub(crate) use login::{LogInOutcome, LogInRefusal};
pub(crate) use two_factor::{
    ConfirmOutcome, DisableOutcome, Enrolment, RecoveryCodes, SecondStepOutcome, TwoFactorState,
};
pub(crate) use view::{AccountView, CredentialState, SessionSummary, StandingNote};

/// Which of the patron's two credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    Pin,
    Password,
}

impl From<MustChange> for CredentialKind {
    fn from(must: MustChange) -> Self {
        match must {
            MustChange::Pin => CredentialKind::Pin,
            MustChange::Password => CredentialKind::Password,
        }
    }
}

impl From<CredentialKind> for MustChange {
    fn from(kind: CredentialKind) -> Self {
        match kind {
            CredentialKind::Pin => MustChange::Pin,
            CredentialKind::Password => MustChange::Password,
        }
    }
}

/// The value of a session cookie. `Debug` prints nothing of it.
pub(crate) struct SessionToken(SecretString);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken([redacted])")
    }
}

impl SessionToken {
    /// A token as read from a cookie.
    pub(crate) fn from_cookie(value: &str) -> SessionToken {
        SessionToken(SecretString::from(value.to_owned()))
    }

    /// The cookie value.
    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    fn digest(&self) -> TokenDigest {
        TokenDigest(Sha256::digest(self.0.expose_secret().as_bytes()).into())
    }
}

/// 256 random bits as 64 hex digits.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A valid session. `Debug` leaves out its digest and CSRF token.
#[derive(Clone)]
pub(crate) struct WebSession {
    digest_hex: String,
    patron: PatronId,
    card: String,
    must_change: Option<CredentialKind>,
    /// The patron's class must use two-factor log-in and they have not enrolled yet.
    must_enrol: bool,
    csrf_token: String,
}

impl std::fmt::Debug for WebSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSession")
            .field("patron", &self.patron)
            .field("must_change", &self.must_change)
            .field("must_enrol", &self.must_enrol)
            .finish_non_exhaustive()
    }
}

impl WebSession {
    /// The card the patron logged in with.
    pub(crate) fn card(&self) -> &str {
        &self.card
    }

    /// The credential to change before anything else (a default or temporary one).
    pub(crate) fn must_change(&self) -> Option<CredentialKind> {
        self.must_change
    }

    /// Whether the patron must enrol in two-factor log-in before anything else.
    pub(crate) fn must_enrol(&self) -> bool {
        self.must_enrol
    }

    /// The token every form of this session must carry.
    pub(crate) fn csrf_token(&self) -> &str {
        &self.csrf_token
    }

    fn of(row: WebSessionRow) -> WebSession {
        WebSession {
            digest_hex: row.digest_hex,
            patron: row.patron,
            card: row.card,
            must_change: row.must_change.map(CredentialKind::from),
            must_enrol: false,
            csrf_token: row.csrf_token,
        }
    }
}

/// An `auth` error as the account error callers map to a page: the database's own kinds kept.
fn auth_error(err: crate::auth::Error) -> Error {
    match err {
        crate::auth::Error::Store(err) => Error::from(err),
        other => Error::Hashing(other.to_string()),
    }
}

/// Longest user-agent text kept with a session (shown on My Account).
const MAX_USER_AGENT_CHARS: usize = 120;

fn clean_user_agent(user_agent: &str) -> String {
    user_agent
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_USER_AGENT_CHARS)
        .collect()
}

impl Accounts {
    fn web_idle_timeout(&self) -> Duration {
        Duration::from_std(self.config.web.idle_timeout).unwrap_or(Duration::minutes(15))
    }

    fn web_session_lifetime(&self) -> Duration {
        Duration::from_std(self.config.web.session_lifetime).unwrap_or(Duration::hours(8))
    }

    /// Whether a stored session is still valid at `now`.
    fn web_session_valid(&self, row: &WebSessionRow, now: DateTime<Utc>) -> bool {
        row.epoch == row.patron_epoch
            && now - row.last_seen_at < self.web_idle_timeout()
            && now - row.created_at < self.web_session_lifetime()
    }

    /// Starts a session for a patron (at log-in, and after a credential change: a new id).
    async fn start_web_session(
        &self,
        patron: PatronId,
        card: &str,
        must_change: Option<CredentialKind>,
        user_agent: &str,
    ) -> Result<(SessionToken, WebSession), Error> {
        let token = SessionToken(SecretString::from(random_token()));
        let digest = token.digest();
        let csrf_token = random_token();
        self.store
            .create_web_session(&NewWebSession {
                digest: &digest,
                patron,
                card,
                must_change: must_change.map(MustChange::from),
                csrf_token: &csrf_token,
                user_agent: &clean_user_agent(user_agent),
                now: self.clock.now(),
            })
            .await?;
        let session = WebSession {
            digest_hex: digest.hex(),
            patron,
            card: card.to_owned(),
            must_change,
            must_enrol: self.must_enrol(patron).await?,
            csrf_token,
        };
        Ok((token, session))
    }

    /// The session a cookie names, if it is still valid (its last use is recorded); an expired
    /// or superseded one is deleted.
    pub(crate) async fn web_session(
        &self,
        token: &SessionToken,
    ) -> Result<Option<WebSession>, Error> {
        let digest = token.digest();
        let Some(row) = self.store.web_session(&digest).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        if !self.web_session_valid(&row, now) {
            self.store.delete_web_session(&row.digest_hex).await?;
            return Ok(None);
        }
        self.store.touch_web_session(&digest, now).await?;
        let mut session = WebSession::of(row);
        session.must_enrol = self.must_enrol(session.patron).await?;
        Ok(Some(session))
    }

    /// Log-out: ends this session.
    pub(crate) async fn end_web_session(&self, session: &WebSession) -> Result<(), Error> {
        Ok(self.store.delete_web_session(&session.digest_hex).await?)
    }

    /// "Sign out everywhere else": ends every other session of the patron; returns how many.
    pub(crate) async fn end_other_web_sessions(&self, session: &WebSession) -> Result<u64, Error> {
        Ok(self
            .store
            .delete_other_web_sessions(session.patron, &session.digest_hex)
            .await?)
    }

    /// Removes expired sessions, finished log-in windows and stale half-done log-ins
    /// (housekeeping).
    pub(crate) async fn purge_web_sessions(&self, now: DateTime<Utc>) -> Result<u64, Error> {
        let window =
            Duration::from_std(self.config.web.login_rate_window).unwrap_or(Duration::minutes(15));
        let sessions = self
            .store
            .purge_web_sessions(
                now - self.web_idle_timeout(),
                now - self.web_session_lifetime(),
                now - window,
            )
            .await?;
        let half_timeout =
            Duration::from_std(self.config.web.two_factor_timeout).unwrap_or(Duration::minutes(5));
        let half = self.store.purge_half_logins(now - half_timeout).await?;
        Ok(sessions + half)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_shows_no_token_digest_or_csrf_token() {
        let token = SessionToken::from_cookie(&"ab".repeat(32));
        assert_eq!(format!("{token:?}"), "SessionToken([redacted])");
        let session = WebSession {
            digest_hex: "cd".repeat(32),
            patron: PatronId(7),
            card: "21234000012345".into(),
            must_change: None,
            must_enrol: false,
            csrf_token: "ef".repeat(32),
        };
        let shown = format!("{session:?}");
        assert!(
            !shown.contains("cdcd") && !shown.contains("efef"),
            "{shown}"
        );
    }

    #[test]
    fn tokens_are_256_random_bits_in_hex() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn a_user_agent_is_kept_short_and_without_control_characters() {
        let kept = clean_user_agent(&format!("Mozilla\r\n{}", "x".repeat(500)));
        assert!(!kept.contains('\r') && kept.chars().count() == MAX_USER_AGENT_CHARS);
    }
}
