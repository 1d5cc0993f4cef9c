//! Bulk import: upsert of patron batches keyed by (institution, card number), in one transaction
//! per batch. A rerun after an interruption rewrites nothing that already matches, so it does only
//! the remaining work. A sync (`import --sync`) reads an institution's cards and expires or
//! removes the patrons missing from the file, in one transaction with its audit records. Must not import `auth` (PINs arrive hashed) or any CSV code (rows arrive
//! parsed).

use super::audit::{bind_audit, NewAuditEntry, INSERT_AUDIT};
use super::credentials::{SET_PASSWORD, SET_PIN};
use super::error::{Error, Result};
use super::patron_row::{
    bind_credential, bind_details, insert_patron_with_card, PatronCardRow, PatronInsert,
    FIND_BY_CARD, UPDATE_PATRON_DETAILS,
};
use super::patrons::{CredentialHash, PatronDetails, PatronStatus, SET_STATUS};
use super::values::{date_from_text, date_text, PatronId};
use super::Store;
use chrono::NaiveDate;

/// One imported patron.
#[derive(Debug, Clone)]
pub struct PatronImport {
    pub institution: String,
    pub card_number: String,
    pub details: PatronDetails,
    /// Applied when the patron is created, or when the stored patron has no PIN yet; an existing
    /// PIN is never overwritten by an import (the patron may have changed it).
    pub pin: Option<CredentialHash>,
    /// The online password, applied like the PIN: never over one the patron already has.
    pub password: Option<CredentialHash>,
    /// The standing the ILS reports (active, blocked with a reason, card lost), written in the
    /// same transaction so an interrupted import never leaves a blocked card active.
    pub status: PatronStatus,
}

/// What an upsert did with one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsertOutcome {
    /// A new patron with this card was created.
    Created(PatronId),
    /// The card's patron existed and some imported column (a detail, the status or a missing
    /// PIN) was written.
    Updated(PatronId),
    /// The card's patron existed and every imported column already matched: nothing written.
    Unchanged(PatronId),
}

impl Store {
    /// Creates or updates every row of `batch` and appends `audit` in ONE transaction (all or
    /// nothing: the records of what an import did are written with its effects) and reports,
    /// in batch order, what happened to each. Rows are keyed by (institution, card number); a
    /// card already held by a patron updates that patron's imported columns (`details`), and
    /// counts as `Unchanged` when they all match and no PIN needs setting. A card repeated in the
    /// batch is applied twice, in order.
    pub async fn upsert_patrons(
        &self,
        batch: &[PatronImport],
        audit: &[NewAuditEntry],
    ) -> Result<Vec<UpsertOutcome>> {
        let now = self.now_secs();
        let mut outcomes = Vec::with_capacity(batch.len());
        with_tx!(self, |tx| {
            for row in batch {
                let existing = sqlx::query_as::<_, PatronCardRow>(FIND_BY_CARD)
                    .bind(&row.institution)
                    .bind(&row.card_number)
                    .fetch_optional(&mut *tx)
                    .await?;
                let existing = existing.map(|row| row.patron.into_patron()).transpose()?;
                // (id, status as stored before this row, whether details or PIN were written;
                // `None` for a patron created here, who starts active as the schema says).
                let (id, stored_status, written) = match existing {
                    None => {
                        let new = PatronInsert {
                            institution: &row.institution,
                            card_number: &row.card_number,
                            details: &row.details,
                            pin: row.pin.as_ref(),
                            password: row.password.as_ref(),
                        };
                        let id = insert_patron_with_card(&mut tx, &new, now).await?;
                        (id, PatronStatus::Active, None)
                    }
                    Some(patron) => {
                        let details_differ = patron.details != row.details;
                        let pin_missing = row.pin.is_some() && patron.pin.is_none();
                        let password_missing = row.password.is_some() && patron.password.is_none();
                        if details_differ {
                            let query = sqlx::query(UPDATE_PATRON_DETAILS).bind(patron.id.0);
                            bind_details(query, &row.details)
                                .bind(now)
                                .execute(&mut *tx)
                                .await?;
                        }
                        if pin_missing {
                            let query = sqlx::query(SET_PIN).bind(patron.id.0);
                            bind_credential(query, row.pin.as_ref())
                                .bind(now)
                                .execute(&mut *tx)
                                .await?;
                        }
                        if password_missing {
                            let query = sqlx::query(SET_PASSWORD).bind(patron.id.0);
                            bind_credential(query, row.password.as_ref())
                                .bind(now)
                                .execute(&mut *tx)
                                .await?;
                        }
                        (
                            patron.id.0,
                            patron.status,
                            Some(details_differ || pin_missing || password_missing),
                        )
                    }
                };
                let status_differs = stored_status != row.status;
                if status_differs {
                    let (status, reason) = row.status.columns();
                    sqlx::query(SET_STATUS)
                        .bind(id)
                        .bind(status)
                        .bind(reason)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                let outcome = match written {
                    None => UpsertOutcome::Created(PatronId(id)),
                    Some(written) if written || status_differs => {
                        UpsertOutcome::Updated(PatronId(id))
                    }
                    Some(_) => UpsertOutcome::Unchanged(PatronId(id)),
                };
                outcomes.push(outcome);
            }
            for entry in audit {
                bind_audit(sqlx::query_scalar::<_, i64>(INSERT_AUDIT), entry)
                    .fetch_one(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, Error>(())
        })?;
        Ok(outcomes)
    }
}

/// One card of a patron, as a sync of an institution sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncCard {
    pub patron: PatronId,
    pub card_number: String,
    /// The patron's last valid day (`None`: never expires).
    pub expires_on: Option<NaiveDate>,
}

/// What a sync does to the patrons missing from the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncAction {
    /// Their registration ends: `expires_on` becomes this day (the day before the import).
    Expire { last_day: NaiveDate },
    /// They are deleted with their cards (audit records stay).
    Remove,
}

#[derive(sqlx::FromRow)]
struct SyncCardRow {
    patron_id: i64,
    card_number: String,
    expires_on: Option<String>,
}

impl Store {
    /// Every card of every patron of `institution`, with the holder's expiry.
    pub async fn institution_cards(&self, institution: &str) -> Result<Vec<SyncCard>> {
        const SQL: &str = "SELECT c.patron_id, c.card_number, p.expires_on FROM cards c \
             JOIN patrons p ON p.id = c.patron_id WHERE c.institution = $1 ORDER BY c.patron_id";
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, SyncCardRow>(SQL)
                .bind(institution)
                .fetch_all(pool)
                .await
        })?;
        rows.into_iter()
            .map(|row| {
                Ok(SyncCard {
                    patron: PatronId(row.patron_id),
                    card_number: row.card_number,
                    expires_on: date_from_text(row.expires_on.as_deref(), "patrons.expires_on")?,
                })
            })
            .collect()
    }

    /// Expires or removes `patrons` and appends `audit`, in ONE transaction.
    pub async fn apply_sync(
        &self,
        patrons: &[PatronId],
        action: SyncAction,
        audit: &[NewAuditEntry],
    ) -> Result<()> {
        const EXPIRE: &str = "UPDATE patrons SET expires_on = $2, updated_at = $3 WHERE id = $1";
        const REMOVE: &str = "DELETE FROM patrons WHERE id = $1";
        let now = self.now_secs();
        with_tx!(self, |tx| {
            for id in patrons {
                match action {
                    SyncAction::Expire { last_day } => {
                        sqlx::query(EXPIRE)
                            .bind(id.0)
                            .bind(date_text(Some(last_day)))
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                    }
                    SyncAction::Remove => {
                        sqlx::query(REMOVE).bind(id.0).execute(&mut *tx).await?;
                    }
                }
            }
            for entry in audit {
                bind_audit(sqlx::query_scalar::<_, i64>(INSERT_AUDIT), entry)
                    .fetch_one(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, Error>(())
        })
    }
}
