//! Meta: the key/value table for facts about the database itself (pepper fingerprint, `demo`
//! marker), and two statement shapes several tables share: a parameterless count and a delete
//! bounded by one integer. Must not import `auth` (the fingerprint arrives computed).

use super::error::Result;
use super::Store;

impl Store {
    /// The value stored under `key`, if any.
    pub async fn get_meta(&self, key: &str) -> Result<Option<String>> {
        let value = with_pool!(self, |pool| {
            sqlx::query_scalar::<_, String>("SELECT value FROM meta WHERE key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await
        })?;
        Ok(value)
    }

    /// Stores `value` under `key`, replacing any previous value.
    pub async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO meta (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(key)
            .bind(value)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// Stores `value` under `key` unless a value is already there; true if this call stored it.
    /// One statement, so of several concurrent callers exactly one wins (first-use records such
    /// as a pepper fingerprint must never be overwritten by a racing instance).
    pub async fn insert_meta_if_absent(&self, key: &str, value: &str) -> Result<bool> {
        let done = with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(value)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Removes `key`; true if it existed.
    pub async fn delete_meta(&self, key: &str) -> Result<bool> {
        let done = with_pool!(self, |pool| {
            sqlx::query("DELETE FROM meta WHERE key = $1")
                .bind(key)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done > 0)
    }

    /// Runs a `SELECT COUNT(*) …` without parameters.
    pub(crate) async fn count(&self, sql: &'static str) -> Result<u64> {
        let n = with_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await
        })?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Runs a `DELETE … WHERE <column> <op> $1` with `bound` as `$1`; returns how many rows went.
    pub(crate) async fn delete_rows(&self, sql: &'static str, bound: i64) -> Result<u64> {
        let done = with_pool!(self, |pool| {
            sqlx::query(sql)
                .bind(bound)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done)
    }
}
