//! Queries the authentication engine needs beyond the patron and terminal tables' own API: how many
//! stored hashes were made with a given pepper key id (the start-up fingerprint check refuses to
//! run with a wrong key while such hashes exist). Hashes stay opaque here: no argon2, no pepper.
//! Must not import `auth`, `sip2`, `server` or `accounts`.

use super::error::Result;
use super::Store;

impl Store {
    /// Stored hashes (patron PINs, patron passwords, terminal passwords) made with `key_id`.
    pub(crate) async fn count_hashes_with_key(&self, key_id: u32) -> Result<u64> {
        let count: i64 = with_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM patrons WHERE pin_key_id = $1) \
                 + (SELECT COUNT(*) FROM patrons WHERE password_key_id = $1) \
                 + (SELECT COUNT(*) FROM terminals WHERE password_key_id = $1)",
            )
            .bind(i64::from(key_id))
            .fetch_one(pool)
            .await
        })?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}
