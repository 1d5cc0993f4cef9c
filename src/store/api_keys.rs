//! API keys: one row per key, found by the digest of the key (never the key itself), with its
//! scope as plain text (the vocabulary is `accounts::api_key`'s) and when it was last used.
//! Must not import `auth` or `accounts`.

use chrono::{DateTime, Utc};

use super::error::{Error, Result};
use super::tokens::TokenDigest;
use super::Store;

/// An API key as stored (without its digest).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct ApiKeyRow {
    pub id: i64,
    pub name: String,
    pub scope: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl ApiKeyRow {
    pub(crate) fn created(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(self.created_at, 0)
    }

    pub(crate) fn last_used(&self) -> Option<DateTime<Utc>> {
        self.last_used_at
            .and_then(|at| DateTime::from_timestamp(at, 0))
    }
}

const COLUMNS: &str = "id, name, scope, created_at, last_used_at";

impl Store {
    /// Stores a new key; `Duplicate` when the name is taken.
    pub(crate) async fn insert_api_key(
        &self,
        name: &str,
        scope: &str,
        digest: &TokenDigest,
    ) -> Result<()> {
        let now = self.now_secs();
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO api_keys (name, scope, key_sha256, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(name)
            .bind(scope)
            .bind(digest.hex())
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(|err| Error::from_sqlx(err, "API key name"))
    }

    /// Every key, by name.
    pub(crate) async fn list_api_keys(&self) -> Result<Vec<ApiKeyRow>> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys ORDER BY name");
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, ApiKeyRow>(&sql).fetch_all(pool).await
        })?;
        Ok(rows)
    }

    /// The key with this digest, marked used now.
    pub(crate) async fn use_api_key(&self, digest: &TokenDigest) -> Result<Option<ApiKeyRow>> {
        let now = self.now_secs();
        let sql = format!(
            "UPDATE api_keys SET last_used_at = $1 WHERE key_sha256 = $2 RETURNING {COLUMNS}"
        );
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, ApiKeyRow>(&sql)
                .bind(now)
                .bind(digest.hex())
                .fetch_optional(pool)
                .await
        })?;
        Ok(row)
    }

    /// Removes the key named `name`; false when there is none.
    pub(crate) async fn remove_api_key(&self, name: &str) -> Result<bool> {
        let done = with_pool!(self, |pool| {
            sqlx::query("DELETE FROM api_keys WHERE name = $1")
                .bind(name)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done > 0)
    }
}
