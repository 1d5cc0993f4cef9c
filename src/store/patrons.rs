//! Patrons: the descriptive record (name, contact, class, expiry, fees, status) and create /
//! read / list / update / status / remove. Row mapping lives in `patron_row.rs`, cards in
//! `cards.rs`, credential hashes in `credentials.rs`, failure counters in `lockout.rs`.
//!
//! Must not import `sip2` or `auth`: status and fees are stored facts, not SIP2 flags.

use chrono::{DateTime, NaiveDate, Utc};

use super::error::{Error, Result};
use super::lockout::LockCounters;
use super::patron_row::{
    bind_details, insert_patron_with_card, patron_columns, PatronCardRow, PatronInsert, PatronRow,
    FIND_BY_CARD, UPDATE_PATRON_DETAILS,
};
use super::values::{Currency, PatronId};
use super::Store;

/// A patron's name as stored: family, given, and the display form ("Family, Given").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName {
    pub family: String,
    pub given: String,
    pub display: String,
}

impl PersonName {
    /// Builds the name with the display form "Family, Given" (just "Family" without a given name).
    pub fn new(family: impl Into<String>, given: impl Into<String>) -> Self {
        let (family, given) = (family.into(), given.into());
        let display = if given.is_empty() {
            family.clone()
        } else {
            format!("{family}, {given}")
        };
        Self {
            family,
            given,
            display,
        }
    }
}

/// The descriptive columns of a patron: everything an import or an edit may set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatronDetails {
    pub name: PersonName,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub patron_class: Option<String>,
    pub home_library: Option<String>,
    /// Last day the patron's registration is valid.
    pub expires_on: Option<NaiveDate>,
    /// Fines and fees owed, in minor units (cents) of `currency`.
    pub fines_owed_minor: i64,
    /// Owed amount above which borrowing stops, in minor units; `None` means no limit.
    pub fee_limit_minor: Option<i64>,
    pub currency: Currency,
}

/// A stored credential hash (PIN or online password) and its lifecycle flags.
/// `Debug` never prints the hash.
#[derive(Clone, PartialEq, Eq)]
pub struct CredentialHash {
    /// PHC string produced by `auth` (opaque to the store).
    pub phc: String,
    /// Which pepper key the hash was made with.
    pub key_id: u32,
    /// The holder must choose a new value at the next opportunity.
    pub must_change: bool,
    /// A default (issued) credential stops working at this time.
    pub default_expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for CredentialHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialHash")
            .field("phc", &"[redacted]")
            .field("key_id", &self.key_id)
            .field("must_change", &self.must_change)
            .field("default_expires_at", &self.default_expires_at)
            .finish()
    }
}

/// Whether the patron may use the library's services, as recorded by staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatronStatus {
    Active,
    Blocked {
        reason: String,
    },
    /// The patron reported their card lost (patron-level flag; single cards are marked in `cards`).
    CardLost,
}

impl PatronStatus {
    pub(crate) fn columns(&self) -> (&'static str, Option<&str>) {
        match self {
            PatronStatus::Active => ("active", None),
            PatronStatus::Blocked { reason } => ("blocked", Some(reason.as_str())),
            PatronStatus::CardLost => ("card_lost", None),
        }
    }
}

/// A patron to create, with the first card.
#[derive(Debug, Clone)]
pub struct NewPatron {
    pub institution: String,
    pub card_number: String,
    pub details: PatronDetails,
    pub pin: Option<CredentialHash>,
    pub password: Option<CredentialHash>,
}

/// A stored patron.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patron {
    pub id: PatronId,
    pub institution: String,
    pub details: PatronDetails,
    pub status: PatronStatus,
    pub pin: Option<CredentialHash>,
    pub password: Option<CredentialHash>,
    pub pin_lock: LockCounters,
    pub password_lock: LockCounters,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A library card of a patron.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub number: String,
    pub lost: bool,
    pub lost_at: Option<DateTime<Utc>>,
}

/// The result of a card lookup: the holder and the card that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatronRecord {
    pub patron: Patron,
    pub card: Card,
}

/// Which patrons `list_patrons` returns: keyset paging by id (pass the last id seen as `after`).
#[derive(Debug, Clone, Default)]
pub struct PatronFilter {
    pub institution: Option<String>,
    /// Substring of the display name, ignoring case and accents.
    pub name_contains: Option<String>,
    pub after: Option<PatronId>,
    /// Page size; 0 means 100.
    pub limit: u32,
}

/// Sets a patron's status: `$1` id, `$2` status, `$3` block reason, `$4` time.
pub(super) const SET_STATUS: &str =
    "UPDATE patrons SET status = $2, block_reason = $3, updated_at = $4 WHERE id = $1";

impl Store {
    /// Creates a patron with its first card, in one transaction.
    /// Fails with `Error::Duplicate { what: "card number" }` when the card is taken at that
    /// institution.
    pub async fn create_patron(&self, new: &NewPatron) -> Result<PatronId> {
        let now = self.now_secs();
        with_tx!(self, |tx| {
            let insert = PatronInsert {
                institution: &new.institution,
                card_number: &new.card_number,
                details: &new.details,
                pin: new.pin.as_ref(),
                password: new.password.as_ref(),
            };
            let id = insert_patron_with_card(&mut tx, &insert, now).await?;
            tx.commit().await?;
            Ok(PatronId(id))
        })
    }

    /// The patron with this id, if any.
    pub async fn get_patron(&self, id: PatronId) -> Result<Option<Patron>> {
        const SQL: &str = concat!(
            "SELECT ",
            patron_columns!(),
            " FROM patrons p WHERE p.id = $1"
        );
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, PatronRow>(SQL)
                .bind(id.0)
                .fetch_optional(pool)
                .await
        })?;
        row.map(PatronRow::into_patron).transpose()
    }

    /// The holder of `card_number` at `institution`, with that card (which may be marked lost).
    pub async fn find_by_card(
        &self,
        institution: &str,
        card_number: &str,
    ) -> Result<Option<PatronRecord>> {
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, PatronCardRow>(FIND_BY_CARD)
                .bind(institution)
                .bind(card_number)
                .fetch_optional(pool)
                .await
        })?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(PatronRecord {
            card: row.card.into_card()?,
            patron: row.patron.into_patron()?,
        }))
    }

    /// A page of patrons in id order. The name filter ignores case and accents: it is applied
    /// to the folded display name (see [`fold`]), scanning in id order until the page is full.
    pub async fn list_patrons(&self, filter: &PatronFilter) -> Result<Vec<Patron>> {
        const SQL: &str = concat!(
            "SELECT ",
            patron_columns!(),
            " FROM patrons p WHERE ($1 IS NULL OR p.institution = $1) AND p.id > $2 \
             ORDER BY p.id LIMIT $3"
        );
        let limit = if filter.limit == 0 { 100 } else { filter.limit } as usize;
        let wanted = filter.name_contains.as_deref().map(fold);
        let batch = if wanted.is_some() { 500 } else { limit };
        let mut after = filter.after.map_or(0, |id| id.0);
        let mut page = Vec::new();
        loop {
            let rows = with_pool!(self, |pool| {
                sqlx::query_as::<_, PatronRow>(SQL)
                    .bind(filter.institution.as_deref())
                    .bind(after)
                    .bind(batch as i64)
                    .fetch_all(pool)
                    .await
            })?;
            let fetched = rows.len();
            for row in rows {
                let patron = row.into_patron()?;
                after = patron.id.0;
                let keep = wanted
                    .as_deref()
                    .is_none_or(|w| fold(&patron.details.name.display).contains(w));
                if keep && page.len() < limit {
                    page.push(patron);
                }
            }
            if page.len() >= limit || fetched < batch {
                return Ok(page);
            }
        }
    }

    /// Replaces the descriptive columns of a patron.
    pub async fn update_patron(&self, id: PatronId, details: &PatronDetails) -> Result<()> {
        let now = self.now_secs();
        let done = with_pool!(self, |pool| {
            let query = sqlx::query(UPDATE_PATRON_DETAILS).bind(id.0);
            bind_details(query, details)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        found(done, "patron")
    }

    /// Records the patron's status (active, blocked with a reason, card lost).
    pub async fn set_status(&self, id: PatronId, status: &PatronStatus) -> Result<()> {
        let (status, reason) = status.columns();
        let now = self.now_secs();
        let done = with_pool!(self, |pool| {
            sqlx::query(SET_STATUS)
                .bind(id.0)
                .bind(status)
                .bind(reason)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        found(done, "patron")
    }

    /// Blocks the patron with a reason shown to staff.
    pub async fn block(&self, id: PatronId, reason: &str) -> Result<()> {
        let status = PatronStatus::Blocked {
            reason: reason.to_owned(),
        };
        self.set_status(id, &status).await
    }

    /// Sets the patron active again.
    pub async fn unblock(&self, id: PatronId) -> Result<()> {
        self.set_status(id, &PatronStatus::Active).await
    }

    /// Deletes the patron with their cards and reset token. Audit entries stay (they hold only
    /// pseudonyms).
    pub async fn remove_patron(&self, id: PatronId) -> Result<()> {
        let done = self
            .delete_rows("DELETE FROM patrons WHERE id = $1", id.0)
            .await?;
        found(done, "patron")
    }

    /// Number of patrons.
    pub async fn count_patrons(&self) -> Result<u64> {
        self.count("SELECT COUNT(*) FROM patrons").await
    }
}

/// A name for matching: compatibility-decomposed, without combining marks, lower-case
/// ("García" and "GARCIA" both give "garcia").
pub(crate) fn fold(name: &str) -> String {
    use unicode_normalization::char::is_combining_mark;
    use unicode_normalization::UnicodeNormalization;
    name.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// `Ok` when a statement touched a row, `NotFound { what }` otherwise.
pub(crate) fn found(rows_affected: u64, what: &'static str) -> Result<()> {
    if rows_affected == 0 {
        Err(Error::NotFound { what })
    } else {
        Ok(())
    }
}
