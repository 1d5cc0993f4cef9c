//! API keys for the admin API: created with a scope (`read`, `write`, `admin`), shown once,
//! stored only as the SHA-256 of the key (a 256-bit random value, not a low-entropy secret, so
//! argon2 would add nothing), listed with when each was last used, and revoked by name. Adding
//! and revoking are audited with the operator; writes made with a key are audited with the key's
//! name ([`Operator::api_key`]).
//!
//! Uses `store` and `auth` (the audit vocabulary); must not import `http`, `server` or `sip2`.

use chrono::{DateTime, Utc};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::{Accounts, Error, Operator};
use crate::auth::{AuditAction, AuditOutcome};
use crate::store::{self, ApiKeyRow, TokenDigest};

/// Every key starts so, which makes a leaked key easy to recognise in a scan.
const KEY_PREFIX: &str = "s2a_";

/// What a key may do; each scope includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ApiScope {
    /// Look up patrons, terminals and the audit log.
    Read,
    /// Also change patrons (create, update, PINs, blocks, locks, lost cards).
    Write,
    /// Also manage terminals.
    Admin,
}

impl ApiScope {
    pub(crate) const ALL: [ApiScope; 3] = [ApiScope::Read, ApiScope::Write, ApiScope::Admin];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ApiScope::Read => "read",
            ApiScope::Write => "write",
            ApiScope::Admin => "admin",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<ApiScope> {
        ApiScope::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether a key of this scope may do what `needed` allows.
    pub(crate) fn allows(self, needed: ApiScope) -> bool {
        self >= needed
    }
}

/// An API key as listed (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub name: String,
    pub scope: ApiScope,
    pub created: Option<DateTime<Utc>>,
    pub last_used: Option<DateTime<Utc>>,
}

impl TryFrom<ApiKeyRow> for ApiKey {
    type Error = Error;

    fn try_from(row: ApiKeyRow) -> Result<ApiKey, Error> {
        let scope = ApiScope::parse(&row.scope)
            .ok_or_else(|| Error::from(store::Error::corrupt("api_keys.scope")))?;
        Ok(ApiKey {
            created: row.created(),
            last_used: row.last_used(),
            name: row.name,
            scope,
        })
    }
}

fn digest(key: &str) -> TokenDigest {
    TokenDigest(Sha256::digest(key.as_bytes()).into())
}

/// A key name: 1-64 letters, digits, `-`, `_` or `.` (it appears in the audit log as operator).
fn checked_name(name: &str) -> Result<&str, Error> {
    let name = name.trim();
    let fits = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if fits {
        Ok(name)
    } else {
        Err(Error::Invalid {
            what: "API key name",
            reason: "use 1-64 letters, digits, '-', '_' or '.'".into(),
        })
    }
}

impl Accounts {
    /// Creates a key; the returned key is the only time it exists outside the caller.
    pub async fn add_api_key(
        &self,
        operator: &Operator,
        name: &str,
        scope: ApiScope,
    ) -> Result<SecretString, Error> {
        let name = checked_name(name)?;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let key = SecretString::from(format!("{KEY_PREFIX}{}", hex::encode(bytes)));
        match self
            .store
            .insert_api_key(name, scope.as_str(), &digest(key.expose_secret()))
            .await
        {
            Err(store::Error::Duplicate { .. }) => {
                return Err(Error::Duplicate {
                    what: "API key",
                    id: name.to_owned(),
                })
            }
            other => other?,
        }
        let reason = Some(format!("name={name} scope={}", scope.as_str()));
        self.audit(
            operator,
            None,
            AuditAction::ApiKeyAdd,
            AuditOutcome::Ok,
            reason,
        )
        .await?;
        Ok(key)
    }

    /// Every key, by name, with when it was last used.
    pub async fn api_keys(&self) -> Result<Vec<ApiKey>, Error> {
        let rows = self.store.list_api_keys().await?;
        rows.into_iter().map(ApiKey::try_from).collect()
    }

    /// Revokes the key named `name` at once.
    pub(crate) async fn revoke_api_key(
        &self,
        operator: &Operator,
        name: &str,
    ) -> Result<(), Error> {
        if !self.store.remove_api_key(name.trim()).await? {
            return Err(Error::NotFound {
                what: "API key",
                id: name.trim().to_owned(),
            });
        }
        let reason = Some(format!("name={}", name.trim()));
        self.audit(
            operator,
            None,
            AuditAction::ApiKeyRevoke,
            AuditOutcome::Ok,
            reason,
        )
        .await
    }

    /// The key presented with a request, if it is one (and then it is marked used now).
    pub async fn authenticate_api_key(&self, presented: &str) -> Result<Option<ApiKey>, Error> {
        if !presented.starts_with(KEY_PREFIX) {
            return Ok(None);
        }
        match self.store.use_api_key(&digest(presented)).await? {
            Some(row) => Ok(Some(ApiKey::try_from(row)?)),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scope_includes_the_ones_before_it() {
        assert!(ApiScope::Admin.allows(ApiScope::Write));
        assert!(ApiScope::Write.allows(ApiScope::Read));
        assert!(!ApiScope::Read.allows(ApiScope::Write));
        assert!(!ApiScope::Write.allows(ApiScope::Admin));
        for scope in ApiScope::ALL {
            assert_eq!(ApiScope::parse(scope.as_str()), Some(scope));
        }
    }

    #[test]
    fn names_are_short_and_plain() {
        assert!(checked_name("ils-sync.nightly_1").is_ok());
        for bad in ["", "a b", "x".repeat(65).as_str(), "naïve", "a\nb"] {
            assert!(checked_name(bad).is_err(), "{bad:?}");
        }
    }
}
