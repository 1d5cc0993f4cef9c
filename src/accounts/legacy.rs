//! The imported legacy hashes (Koha, Evergreen, FOLIO) that no successful check has replaced
//! yet: which patrons still have one, and the staff action that forces those older than a given
//! age to a reset (the hash is removed; the patron sets a new PIN or password through staff or
//! an email reset). Every removal is audited with the operator and the pseudonymised card.
//!
//! Uses `auth::legacy` (to read the stored form) and `store`; must not import `sip2`, `server`
//! or `cli`.

use chrono::{DateTime, Utc};

use super::{Accounts, Error, Operator};
use crate::auth::hashing::{legacy_of, HashedSecret};
use crate::auth::legacy::{LegacyScheme, LEGACY_KEY_ID};
use crate::auth::{AuditAction, AuditOutcome};
use crate::store::{CredentialColumn, CredentialHash, Patron, PatronId};

/// One legacy hash still on file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LegacyCredential {
    pub patron: PatronId,
    pub institution: String,
    pub name: String,
    /// The patron's first card (none when every card was removed).
    pub card: Option<String>,
    pub column: CredentialColumn,
    pub scheme: LegacyScheme,
    /// When the import stored it.
    pub since: Option<DateTime<Utc>>,
    phc: String,
}

/// What `expire_legacy` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct LegacyExpired {
    /// Hashes removed (the patron must now reset).
    pub expired: u32,
    /// Legacy hashes younger than the limit, left in place.
    pub remaining: u32,
}

fn legacy_in(patron: &Patron) -> Vec<(CredentialColumn, &CredentialHash)> {
    [
        (CredentialColumn::Pin, patron.pin.as_ref()),
        (CredentialColumn::Password, patron.password.as_ref()),
    ]
    .into_iter()
    .filter_map(|(column, hash)| Some((column, hash?)))
    .filter(|(_, hash)| hash.key_id == LEGACY_KEY_ID)
    .collect()
}

impl Accounts {
    /// Every legacy hash still on file, in patron order.
    pub(crate) async fn legacy_credentials(&self) -> Result<Vec<LegacyCredential>, Error> {
        let mut found = Vec::new();
        for patron in self.store.patrons_with_hash_key(LEGACY_KEY_ID).await? {
            let card = self
                .store
                .cards(patron.id)
                .await?
                .into_iter()
                .next()
                .map(|c| c.number);
            for (column, hash) in legacy_in(&patron) {
                let Some(legacy) = legacy_of(&HashedSecret::from(hash)) else {
                    continue;
                };
                found.push(LegacyCredential {
                    patron: patron.id,
                    institution: patron.institution.clone(),
                    name: patron.details.name.display.clone(),
                    card: card.clone(),
                    column,
                    scheme: legacy.scheme(),
                    since: legacy.since(),
                    phc: hash.phc.clone(),
                });
            }
        }
        Ok(found)
    }

    /// How many patrons still have a legacy hash (the count `patron list --legacy` lists).
    pub(crate) async fn legacy_patrons_left(&self) -> Result<u64, Error> {
        Ok(self
            .store
            .count_patrons_with_hash_key(LEGACY_KEY_ID)
            .await?)
    }

    /// Removes the legacy hashes imported more than `older_than` ago: those patrons must reset.
    pub(crate) async fn expire_legacy(
        &self,
        operator: &Operator,
        older_than: std::time::Duration,
    ) -> Result<LegacyExpired, Error> {
        let limit = chrono::Duration::from_std(older_than).unwrap_or(chrono::Duration::MAX);
        let cutoff = self.clock.now().checked_sub_signed(limit);
        let mut done = LegacyExpired::default();
        for legacy in self.legacy_credentials().await? {
            let old_enough = match (legacy.since, cutoff) {
                (Some(since), Some(cutoff)) => since <= cutoff,
                (None, _) => true,
                (Some(_), None) => false,
            };
            if !old_enough {
                done.remaining += 1;
                continue;
            }
            let removed = self
                .store
                .clear_hash_if_unchanged(legacy.patron, legacy.column, &legacy.phc)
                .await?;
            if removed {
                done.expired += 1;
                let action = match legacy.column {
                    CredentialColumn::Pin => AuditAction::ExpireLegacyPin,
                    CredentialColumn::Password => AuditAction::ExpireLegacyPassword,
                };
                self.audit(
                    operator,
                    legacy.card.as_deref(),
                    action,
                    AuditOutcome::Done,
                    Some(format!("{} hash", legacy.scheme)),
                )
                .await?;
            }
        }
        Ok(done)
    }
}
