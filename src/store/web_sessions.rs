//! Patron web sessions, kept server-side so that several instances behind a load balancer share
//! them: found by the SHA-256 of the cookie value (never the value itself), each with the
//! patron's credential epoch at creation (a PIN or password change raises the epoch in
//! `credentials.rs`, which ends every older session at once), and the per-card log-in windows
//! of the web rate limit (one atomic upsert, so the limit holds across instances).
//!
//! Must not import `auth`, `sip2`, `server` or `http`: callers pass digests and pseudonyms.

use chrono::{DateTime, Utc};

use super::error::Result;
use super::tokens::TokenDigest;
use super::values::{time_from_secs, PatronId};
use super::Store;

/// Which credential a session must change before it may do anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MustChange {
    Pin,
    Password,
}

impl MustChange {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            MustChange::Pin => "pin",
            MustChange::Password => "password",
        }
    }

    pub(super) fn parse(text: Option<&str>) -> Option<MustChange> {
        match text {
            Some("pin") => Some(MustChange::Pin),
            Some("password") => Some(MustChange::Password),
            _ => None,
        }
    }
}

/// A session to create. The CSRF token is stored as given (it protects forms, not the login).
/// `Debug` leaves out the digest and the CSRF token.
#[derive(Clone)]
pub struct NewWebSession<'a> {
    pub digest: &'a TokenDigest,
    pub patron: PatronId,
    pub card: &'a str,
    pub must_change: Option<MustChange>,
    pub csrf_token: &'a str,
    pub user_agent: &'a str,
    pub now: DateTime<Utc>,
}

/// A stored session, with the patron's current credential epoch beside the session's own.
/// `Debug` leaves out the digest and the CSRF token.
#[derive(Clone, PartialEq, Eq)]
pub struct WebSessionRow {
    pub digest_hex: String,
    pub patron: PatronId,
    pub card: String,
    pub epoch: i64,
    pub patron_epoch: i64,
    pub must_change: Option<MustChange>,
    pub csrf_token: String,
    pub user_agent: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

impl std::fmt::Debug for NewWebSession<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewWebSession")
            .field("patron", &self.patron)
            .field("must_change", &self.must_change)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for WebSessionRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSessionRow")
            .field("patron", &self.patron)
            .field("epoch", &self.epoch)
            .field("patron_epoch", &self.patron_epoch)
            .field("must_change", &self.must_change)
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .finish_non_exhaustive()
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id_sha256: String,
    patron_id: i64,
    card: String,
    epoch: i64,
    patron_epoch: i64,
    must_change: Option<String>,
    csrf_token: String,
    user_agent: String,
    created_at: i64,
    last_seen_at: i64,
}

impl TryFrom<Row> for WebSessionRow {
    type Error = super::error::Error;

    fn try_from(row: Row) -> Result<Self> {
        Ok(WebSessionRow {
            digest_hex: row.id_sha256,
            patron: PatronId(row.patron_id),
            card: row.card,
            epoch: row.epoch,
            patron_epoch: row.patron_epoch,
            must_change: MustChange::parse(row.must_change.as_deref()),
            csrf_token: row.csrf_token,
            user_agent: row.user_agent,
            created_at: time_from_secs(row.created_at, "web_sessions.created_at")?,
            last_seen_at: time_from_secs(row.last_seen_at, "web_sessions.last_seen_at")?,
        })
    }
}

const SESSION_COLUMNS: &str = "SELECT s.id_sha256, s.patron_id, s.card, s.epoch, \
    p.credential_epoch AS patron_epoch, s.must_change, s.csrf_token, s.user_agent, \
    s.created_at, s.last_seen_at FROM web_sessions s JOIN patrons p ON p.id = s.patron_id";

/// The window counter: a new window when the stored one started at or before `$3`.
const COUNT_LOGIN: &str = "INSERT INTO web_login_windows (card_pseudonym, window_start, attempts) \
    VALUES ($1, $2, 1) ON CONFLICT (card_pseudonym) DO UPDATE SET \
    attempts = CASE WHEN web_login_windows.window_start <= $3 THEN 1 \
      ELSE web_login_windows.attempts + 1 END, \
    window_start = CASE WHEN web_login_windows.window_start <= $3 THEN $2 \
      ELSE web_login_windows.window_start END \
    RETURNING attempts, window_start";

impl Store {
    /// Creates a session under the patron's current credential epoch.
    pub(crate) async fn create_web_session(&self, new: &NewWebSession<'_>) -> Result<()> {
        let now = new.now.timestamp();
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO web_sessions (id_sha256, patron_id, card, epoch, must_change, \
                 csrf_token, user_agent, created_at, last_seen_at) SELECT $1, id, $2, \
                 credential_epoch, $3, $4, $5, $6, $6 FROM patrons WHERE id = $7",
            )
            .bind(new.digest.hex())
            .bind(new.card)
            .bind(new.must_change.map(MustChange::as_str))
            .bind(new.csrf_token)
            .bind(new.user_agent)
            .bind(now)
            .bind(new.patron.0)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// The session with this digest, if stored (whether still valid is the caller's rule).
    pub(crate) async fn web_session(&self, digest: &TokenDigest) -> Result<Option<WebSessionRow>> {
        let sql = format!("{SESSION_COLUMNS} WHERE s.id_sha256 = $1");
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, Row>(&sql)
                .bind(digest.hex())
                .fetch_optional(pool)
                .await
        })?;
        row.map(WebSessionRow::try_from).transpose()
    }

    /// Every stored session of a patron, newest first.
    pub(crate) async fn web_sessions_of(&self, patron: PatronId) -> Result<Vec<WebSessionRow>> {
        let sql = format!("{SESSION_COLUMNS} WHERE s.patron_id = $1 ORDER BY s.created_at DESC");
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, Row>(&sql)
                .bind(patron.0)
                .fetch_all(pool)
                .await
        })?;
        rows.into_iter().map(WebSessionRow::try_from).collect()
    }

    /// Records activity on a session (the idle timeout counts from here).
    pub(crate) async fn touch_web_session(
        &self,
        digest: &TokenDigest,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_pool!(self, |pool| {
            sqlx::query("UPDATE web_sessions SET last_seen_at = $2 WHERE id_sha256 = $1")
                .bind(digest.hex())
                .bind(now.timestamp())
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// Ends one session.
    pub(crate) async fn delete_web_session(&self, digest_hex: &str) -> Result<()> {
        with_pool!(self, |pool| {
            sqlx::query("DELETE FROM web_sessions WHERE id_sha256 = $1")
                .bind(digest_hex)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// Ends every session of a patron but the one with digest `keep`; returns how many ended.
    pub(crate) async fn delete_other_web_sessions(
        &self,
        patron: PatronId,
        keep: &str,
    ) -> Result<u64> {
        let done = with_pool!(self, |pool| {
            sqlx::query("DELETE FROM web_sessions WHERE patron_id = $1 AND id_sha256 <> $2")
                .bind(patron.0)
                .bind(keep)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done)
    }

    /// Removes sessions idle since before `idle_cutoff` or created before `created_cutoff`, and
    /// log-in windows that started before `window_cutoff` (housekeeping).
    pub(crate) async fn purge_web_sessions(
        &self,
        idle_cutoff: DateTime<Utc>,
        created_cutoff: DateTime<Utc>,
        window_cutoff: DateTime<Utc>,
    ) -> Result<u64> {
        let done = with_pool!(self, |pool| {
            let sessions =
                sqlx::query("DELETE FROM web_sessions WHERE last_seen_at < $1 OR created_at < $2")
                    .bind(idle_cutoff.timestamp())
                    .bind(created_cutoff.timestamp())
                    .execute(pool)
                    .await?
                    .rows_affected();
            sqlx::query("DELETE FROM web_login_windows WHERE window_start < $1")
                .bind(window_cutoff.timestamp())
                .execute(pool)
                .await
                .map(|windows| sessions + windows.rows_affected())
        })?;
        Ok(done)
    }

    /// Counts one web log-in attempt for a card pseudonym in a fixed window of `window` length:
    /// returns the attempts in the current window (this one included) and when it started.
    pub(crate) async fn count_web_login(
        &self,
        card_pseudonym: &str,
        now: DateTime<Utc>,
        window: chrono::Duration,
    ) -> Result<(u32, DateTime<Utc>)> {
        let (attempts, start) = with_pool!(self, |pool| {
            sqlx::query_as::<_, (i64, i64)>(COUNT_LOGIN)
                .bind(card_pseudonym)
                .bind(now.timestamp())
                .bind((now - window).timestamp())
                .fetch_one(pool)
                .await
        })?;
        Ok((
            u32::try_from(attempts).unwrap_or(u32::MAX),
            time_from_secs(start, "web_login_windows.window_start")?,
        ))
    }
}
