//! Patron two-factor log-in: the sealed TOTP secret (confirmed or pending), the last accepted
//! time step, the recovery codes as keyed digests, and the half-done web log-ins waiting for a
//! code. The two checks that must hold across instances are single conditional statements: a
//! step is accepted only if it is later than the stored one, a recovery code is used only if
//! it is still unused.
//!
//! Must not import `auth`, `sip2`, `server` or `http`: callers pass sealed values and digests;
//! the store never sees a secret or a code in clear.

use chrono::{DateTime, Utc};

use super::error::Result;
use super::tokens::TokenDigest;
use super::values::{time_from_secs, PatronId};
use super::web_sessions::MustChange;
use super::Store;

/// The two-factor record of a patron. `Debug` leaves out the sealed values.
#[derive(Clone, PartialEq, Eq)]
pub struct TwoFactorRow {
    pub secret_sealed: Option<String>,
    pub pending_sealed: Option<String>,
    pub last_step: Option<i64>,
}

impl std::fmt::Debug for TwoFactorRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoFactorRow")
            .field("enabled", &self.secret_sealed.is_some())
            .field("pending", &self.pending_sealed.is_some())
            .field("last_step", &self.last_step)
            .finish()
    }
}

/// One stored recovery code (its digest, never the code).
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCodeRow {
    pub id: i64,
    pub key_id: u32,
    pub digest: String,
}

impl std::fmt::Debug for RecoveryCodeRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecoveryCodeRow")
            .field("id", &self.id)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// Which credential a half-done log-in passed (its lock counter takes the code's failures).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckedCredential {
    Pin,
    Password,
}

impl CheckedCredential {
    fn as_str(self) -> &'static str {
        match self {
            CheckedCredential::Pin => "pin",
            CheckedCredential::Password => "password",
        }
    }
}

/// A log-in that passed the PIN or password and waits for the second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HalfLoginRow {
    pub patron: PatronId,
    pub card: String,
    pub checked: CheckedCredential,
    pub must_change: Option<MustChange>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct HalfRow {
    patron_id: i64,
    card: String,
    checked: String,
    must_change: Option<String>,
    created_at: i64,
}

impl Store {
    /// The patron's two-factor record, if any.
    pub(crate) async fn two_factor(&self, patron: PatronId) -> Result<Option<TwoFactorRow>> {
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, (Option<String>, Option<String>, Option<i64>)>(
                "SELECT secret_sealed, pending_sealed, last_step FROM patron_two_factor \
                 WHERE patron_id = $1",
            )
            .bind(patron.0)
            .fetch_optional(pool)
            .await
        })?;
        Ok(
            row.map(|(secret_sealed, pending_sealed, last_step)| TwoFactorRow {
                secret_sealed,
                pending_sealed,
                last_step,
            }),
        )
    }

    /// Keeps a new pending secret (an enrolment begun), beside any confirmed one.
    pub(crate) async fn set_pending_two_factor(
        &self,
        patron: PatronId,
        sealed: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO patron_two_factor (patron_id, pending_sealed, pending_at) \
                 VALUES ($1, $2, $3) ON CONFLICT (patron_id) DO UPDATE SET \
                 pending_sealed = $2, pending_at = $3",
            )
            .bind(patron.0)
            .bind(sealed)
            .bind(now.timestamp())
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// Confirms the pending secret (it must still be `pending`, so two confirmations cannot
    /// both win) as the patron's secret, with the step its first code was accepted at, and
    /// replaces the recovery codes with `codes` (key id, digest). False when the pending
    /// secret changed meanwhile.
    pub(crate) async fn confirm_two_factor(
        &self,
        patron: PatronId,
        pending: &str,
        step: i64,
        codes: &[(u32, String)],
        now: DateTime<Utc>,
    ) -> Result<bool> {
        with_tx!(self, |tx| {
            let done = sqlx::query(
                "UPDATE patron_two_factor SET secret_sealed = pending_sealed, \
                 pending_sealed = NULL, pending_at = NULL, last_step = $3, enabled_at = $4 \
                 WHERE patron_id = $1 AND pending_sealed = $2",
            )
            .bind(patron.0)
            .bind(pending)
            .bind(step)
            .bind(now.timestamp())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done != 1 {
                return Ok(false);
            }
            replace_codes(&mut tx, patron, codes).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Accepts time step `step` for the patron only if it is later than the last accepted one
    /// (one statement: a code is accepted once, across instances). True when accepted.
    pub(crate) async fn accept_two_factor_step(&self, patron: PatronId, step: i64) -> Result<bool> {
        let done = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE patron_two_factor SET last_step = $2 WHERE patron_id = $1 \
                 AND secret_sealed IS NOT NULL AND (last_step IS NULL OR last_step < $2)",
            )
            .bind(patron.0)
            .bind(step)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Ends the patron's two-factor log-in: secret, pending secret and recovery codes.
    pub(crate) async fn remove_two_factor(&self, patron: PatronId) -> Result<()> {
        with_tx!(self, |tx| {
            sqlx::query("DELETE FROM patron_recovery_codes WHERE patron_id = $1")
                .bind(patron.0)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM patron_two_factor WHERE patron_id = $1")
                .bind(patron.0)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// A new set of recovery codes; the old set (used or not) is gone.
    pub(crate) async fn replace_recovery_codes(
        &self,
        patron: PatronId,
        codes: &[(u32, String)],
    ) -> Result<()> {
        with_tx!(self, |tx| {
            replace_codes(&mut tx, patron, codes).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// The patron's unused recovery codes.
    pub(crate) async fn unused_recovery_codes(
        &self,
        patron: PatronId,
    ) -> Result<Vec<RecoveryCodeRow>> {
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, (i64, i64, String)>(
                "SELECT id, key_id, digest FROM patron_recovery_codes \
                 WHERE patron_id = $1 AND used_at IS NULL ORDER BY id",
            )
            .bind(patron.0)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(id, key_id, digest)| RecoveryCodeRow {
                id,
                key_id: u32::try_from(key_id).unwrap_or(u32::MAX),
                digest,
            })
            .collect())
    }

    /// Marks a recovery code used if it still is unused (one statement). True when this call
    /// used it.
    pub(crate) async fn use_recovery_code(
        &self,
        patron: PatronId,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE patron_recovery_codes SET used_at = $3 \
                 WHERE id = $1 AND patron_id = $2 AND used_at IS NULL",
            )
            .bind(id)
            .bind(patron.0)
            .bind(now.timestamp())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Keeps a half-done log-in under the digest of its cookie value.
    pub(crate) async fn create_half_login(
        &self,
        digest: &TokenDigest,
        half: &HalfLoginRow,
    ) -> Result<()> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO web_half_logins (id_sha256, patron_id, card, checked, must_change, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(digest.hex())
            .bind(half.patron.0)
            .bind(&half.card)
            .bind(half.checked.as_str())
            .bind(half.must_change.map(MustChange::as_str))
            .bind(half.created_at.timestamp())
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// The half-done log-in with this digest, if stored.
    pub(crate) async fn half_login(&self, digest: &TokenDigest) -> Result<Option<HalfLoginRow>> {
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, HalfRow>(
                "SELECT patron_id, card, checked, must_change, created_at FROM web_half_logins \
                 WHERE id_sha256 = $1",
            )
            .bind(digest.hex())
            .fetch_optional(pool)
            .await
        })?;
        row.map(|row| {
            Ok(HalfLoginRow {
                patron: PatronId(row.patron_id),
                card: row.card,
                checked: if row.checked == "password" {
                    CheckedCredential::Password
                } else {
                    CheckedCredential::Pin
                },
                must_change: MustChange::parse(row.must_change.as_deref()),
                created_at: time_from_secs(row.created_at, "web_half_logins.created_at")?,
            })
        })
        .transpose()
    }

    /// Ends a half-done log-in; true when this call removed it (so only one code completes it).
    pub(crate) async fn delete_half_login(&self, digest: &TokenDigest) -> Result<bool> {
        let done = with_pool!(self, |pool| {
            sqlx::query("DELETE FROM web_half_logins WHERE id_sha256 = $1")
                .bind(digest.hex())
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Removes half-done log-ins begun before `cutoff` (housekeeping).
    pub(crate) async fn purge_half_logins(&self, cutoff: DateTime<Utc>) -> Result<u64> {
        let done = with_pool!(self, |pool| {
            sqlx::query("DELETE FROM web_half_logins WHERE created_at < $1")
                .bind(cutoff.timestamp())
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done)
    }
}

/// Deletes the patron's recovery codes and inserts `codes`, inside the caller's transaction.
async fn replace_codes<'q, DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    patron: PatronId,
    codes: &'q [(u32, String)],
) -> Result<()>
where
    DB: sqlx::Database,
    for<'e> &'e mut <DB as sqlx::Database>::Connection: sqlx::Executor<'e, Database = DB>,
    <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query::<DB>("DELETE FROM patron_recovery_codes WHERE patron_id = $1")
        .bind(patron.0)
        .execute(&mut **tx)
        .await?;
    for (key_id, digest) in codes {
        sqlx::query::<DB>(
            "INSERT INTO patron_recovery_codes (patron_id, key_id, digest) VALUES ($1, $2, $3)",
        )
        .bind(patron.0)
        .bind(i64::from(*key_id))
        .bind(digest.as_str())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
