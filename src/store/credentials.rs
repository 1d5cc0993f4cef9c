//! Credential hashes of patrons: setting, clearing and compare-and-swap replacement (re-hash on
//! login) of the PIN and online-password hashes. The store treats hashes as opaque strings: it
//! must not import `auth` or any hashing crate, and never logs or reports a hash.

use super::error::Result;
use super::patron_row::bind_credential;
use super::patrons::{found, CredentialHash};
use super::values::PatronId;
use super::Store;

/// Sets a patron's PIN hash with its flags: `$1` id, `$2`..`$5` as bound by `bind_credential`,
/// `$6` time. Shared with the import, which sets a missing PIN. Every change raises the
/// patron's credential epoch, which ends their web sessions (`web_sessions.rs`).
pub(super) const SET_PIN: &str = "UPDATE patrons SET pin_hash = $2, pin_key_id = $3, \
    pin_must_change = $4, pin_default_expires_at = $5, updated_at = $6, \
    credential_epoch = credential_epoch + 1 WHERE id = $1";

/// Sets a patron's online-password hash, bound as [`SET_PIN`]. Shared with the import, which
/// sets a missing password.
pub(super) const SET_PASSWORD: &str = "UPDATE patrons SET password_hash = $2, \
    password_key_id = $3, password_must_change = $4, password_default_expires_at = $5, \
    updated_at = $6, credential_epoch = credential_epoch + 1 WHERE id = $1";

/// Which of a patron's two credentials a statement addresses.
#[derive(Debug, Clone, Copy)]
enum Which {
    Pin,
    Password,
}

impl Which {
    fn set_sql(self) -> &'static str {
        match self {
            Which::Pin => SET_PIN,
            Which::Password => SET_PASSWORD,
        }
    }

    fn replace_sql(self) -> &'static str {
        match self {
            Which::Pin => {
                "UPDATE patrons SET pin_hash = $3, pin_key_id = $4, updated_at = $5 \
                 WHERE id = $1 AND pin_hash = $2"
            }
            Which::Password => {
                "UPDATE patrons SET password_hash = $3, password_key_id = $4, updated_at = $5 \
                 WHERE id = $1 AND password_hash = $2"
            }
        }
    }
}

impl Store {
    /// Stores a new PIN hash with its flags. Does not touch the failure counters (see `unlock`).
    pub async fn set_pin_hash(&self, patron: PatronId, pin: &CredentialHash) -> Result<()> {
        self.set_credential(Which::Pin, patron, Some(pin)).await
    }

    /// Removes the PIN: the patron has none until a new one is set.
    pub async fn clear_pin_hash(&self, patron: PatronId) -> Result<()> {
        self.set_credential(Which::Pin, patron, None).await
    }

    /// Stores a new online-password hash with its flags. Does not touch the failure counters.
    pub async fn set_password_hash(
        &self,
        patron: PatronId,
        password: &CredentialHash,
    ) -> Result<()> {
        self.set_credential(Which::Password, patron, Some(password))
            .await
    }

    /// Removes the online password.
    pub async fn clear_password_hash(&self, patron: PatronId) -> Result<()> {
        self.set_credential(Which::Password, patron, None).await
    }

    /// Re-hash on login: replaces the PIN hash only if it still equals `old_phc` (keeping the
    /// flags). Returns false when the PIN changed meanwhile (the new hash is then discarded).
    pub async fn replace_pin_hash_if_unchanged(
        &self,
        patron: PatronId,
        old_phc: &str,
        new_phc: &str,
        key_id: u32,
    ) -> Result<bool> {
        self.replace_credential(Which::Pin, patron, old_phc, new_phc, key_id)
            .await
    }

    /// Re-hash on login for the online password; see `replace_pin_hash_if_unchanged`.
    pub async fn replace_password_hash_if_unchanged(
        &self,
        patron: PatronId,
        old_phc: &str,
        new_phc: &str,
        key_id: u32,
    ) -> Result<bool> {
        self.replace_credential(Which::Password, patron, old_phc, new_phc, key_id)
            .await
    }

    async fn set_credential(
        &self,
        which: Which,
        patron: PatronId,
        credential: Option<&CredentialHash>,
    ) -> Result<()> {
        let now = self.now_secs();
        let done = with_pool!(self, |pool| {
            let query = sqlx::query(which.set_sql()).bind(patron.0);
            bind_credential(query, credential)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        found(done, "patron")
    }

    async fn replace_credential(
        &self,
        which: Which,
        patron: PatronId,
        old_phc: &str,
        new_phc: &str,
        key_id: u32,
    ) -> Result<bool> {
        let now = self.now_secs();
        let done = with_pool!(self, |pool| {
            sqlx::query(which.replace_sql())
                .bind(patron.0)
                .bind(old_phc)
                .bind(new_phc)
                .bind(i64::from(key_id))
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }
}
