//! Credentials stored under a given key id — how `auth` finds the imported legacy hashes (key
//! id 0, no pepper) that remain — and their compare-and-swap removal when staff force a reset.
//! The store reads the hash column as opaque text: it must not import `auth` or any hashing
//! crate, and never logs or reports a hash.

use super::error::Result;
use super::patron_row::{patron_columns, PatronRow};
use super::patrons::Patron;
use super::values::PatronId;
use super::Store;

/// Which credential column a removal addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CredentialColumn {
    Pin,
    Password,
}

impl Store {
    /// Every patron whose PIN or password hash was stored under `key_id`, in id order.
    pub(crate) async fn patrons_with_hash_key(&self, key_id: u32) -> Result<Vec<Patron>> {
        const SQL: &str = concat!(
            "SELECT ",
            patron_columns!(),
            " FROM patrons p WHERE p.pin_key_id = $1 OR p.password_key_id = $1 ORDER BY p.id"
        );
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, PatronRow>(SQL)
                .bind(i64::from(key_id))
                .fetch_all(pool)
                .await
        })?;
        rows.into_iter().map(PatronRow::into_patron).collect()
    }

    /// How many patrons have a PIN or password hash stored under `key_id`.
    pub(crate) async fn count_patrons_with_hash_key(&self, key_id: u32) -> Result<u64> {
        const SQL: &str =
            "SELECT COUNT(*) FROM patrons WHERE pin_key_id = $1 OR password_key_id = $1";
        let n = with_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>(SQL)
                .bind(i64::from(key_id))
                .fetch_one(pool)
                .await
        })?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Removes a credential only if its hash is still `phc` (a login may have replaced it
    /// meanwhile). Returns whether it was removed.
    pub(crate) async fn clear_hash_if_unchanged(
        &self,
        patron: PatronId,
        column: CredentialColumn,
        phc: &str,
    ) -> Result<bool> {
        let sql = match column {
            CredentialColumn::Pin => {
                "UPDATE patrons SET pin_hash = NULL, pin_key_id = NULL, pin_must_change = FALSE, \
                 pin_default_expires_at = NULL, updated_at = $3 WHERE id = $1 AND pin_hash = $2"
            }
            CredentialColumn::Password => {
                "UPDATE patrons SET password_hash = NULL, password_key_id = NULL, \
                 password_must_change = FALSE, password_default_expires_at = NULL, \
                 updated_at = $3 WHERE id = $1 AND password_hash = $2"
            }
        };
        let now = self.now_secs();
        let done = with_pool!(self, |pool| {
            sqlx::query(sql)
                .bind(patron.0)
                .bind(phc)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }
}
