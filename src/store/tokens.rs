//! Reset tokens: stored only as SHA-256 digests (the caller hashes the token it mails), one per
//! patron (issuing replaces the previous one: "newest token only"), consumed atomically by a
//! single `DELETE … RETURNING` so exactly one consumer wins. Must not import `auth`, `sip2`, or
//! any mail code.

use chrono::{DateTime, Utc};

use super::error::{Error, Result};
use super::values::PatronId;
use super::web_sessions::MustChange;
use super::Store;

/// SHA-256 digest of a reset token. `Debug` prints nothing of it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenDigest(pub [u8; 32]);

impl std::fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenDigest([redacted])")
    }
}

impl TokenDigest {
    pub(crate) fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl Store {
    /// Stores the digest of a new reset token for `patron`'s PIN, valid until `expires_at`,
    /// replacing any older token of that patron in the same statement. `NotFound` if there is no
    /// such patron.
    pub async fn issue_reset_token(
        &self,
        patron: PatronId,
        digest: &TokenDigest,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.issue_reset_token_for(patron, MustChange::Pin, digest, expires_at)
            .await
    }

    /// Like [`Store::issue_reset_token`], for the credential the token sets.
    pub async fn issue_reset_token_for(
        &self,
        patron: PatronId,
        credential: MustChange,
        digest: &TokenDigest,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let now = self.now_secs();
        let result = with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO reset_tokens (patron_id, token_sha256, issued_at, expires_at, \
                 credential) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (patron_id) DO UPDATE SET \
                 token_sha256 = excluded.token_sha256, issued_at = excluded.issued_at, \
                 expires_at = excluded.expires_at, credential = excluded.credential",
            )
            .bind(patron.0)
            .bind(digest.hex())
            .bind(now)
            .bind(expires_at.timestamp())
            .bind(credential.as_str())
            .execute(pool)
            .await
            .map(|_| ())
        });
        match result.map_err(|e| Error::from_sqlx(e, "reset token")) {
            Ok(_) => Ok(()),
            Err(Error::Constraint { .. }) => Err(Error::NotFound { what: "patron" }),
            Err(e) => Err(e),
        }
    }

    /// Consumes the token with this digest if it exists and has not expired at `now`: returns its
    /// patron, and the token is gone. Of concurrent consumers, exactly one gets `Some`.
    /// An expired token yields `None` (and stays until purged or replaced).
    pub async fn consume_reset_token(
        &self,
        digest: &TokenDigest,
        now: DateTime<Utc>,
    ) -> Result<Option<PatronId>> {
        let patron = with_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>(
                "DELETE FROM reset_tokens WHERE token_sha256 = $1 AND expires_at > $2 \
                 RETURNING patron_id",
            )
            .bind(digest.hex())
            .bind(now.timestamp())
            .fetch_optional(pool)
            .await
        })?;
        Ok(patron.map(PatronId))
    }

    /// The patron and credential of a valid token, without consuming it (the reset form's GET).
    pub async fn peek_reset_token(
        &self,
        digest: &TokenDigest,
        now: DateTime<Utc>,
    ) -> Result<Option<(PatronId, MustChange)>> {
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, (i64, String)>(
                "SELECT patron_id, credential FROM reset_tokens \
                 WHERE token_sha256 = $1 AND expires_at > $2",
            )
            .bind(digest.hex())
            .bind(now.timestamp())
            .fetch_optional(pool)
            .await
        })?;
        Ok(row.map(|(patron, credential)| {
            let credential = MustChange::parse(Some(&credential)).unwrap_or(MustChange::Pin);
            (PatronId(patron), credential)
        }))
    }

    /// Deletes tokens that expired at or before `now`; returns how many.
    pub async fn purge_expired_reset_tokens(&self, now: DateTime<Utc>) -> Result<u64> {
        self.delete_rows(
            "DELETE FROM reset_tokens WHERE expires_at <= $1",
            now.timestamp(),
        )
        .await
    }
}
