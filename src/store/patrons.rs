//! Patrons: the descriptive record (name, contact, class, expiry, fees, status), its row mapping,
//! and create / read / list / update / status / remove. Cards live in `cards.rs`, credential
//! hashes in `credentials.rs`, failure counters in `lockout.rs`.
//!
//! Must not import `sip2` or `auth`: status and fees are stored facts, not SIP2 flags.

use chrono::{DateTime, NaiveDate, Utc};

use super::error::{Error, Result};
use super::lockout::LockCounters;
use super::values::{
    count_u32, date_from_text, opt_time_from_secs, parse_column, time_from_secs,
    Currency, PatronId,
};
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
        Self { family, given, display }
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
    Blocked { reason: String },
    /// The patron reported their card lost (patron-level flag; single cards are marked in `cards`).
    CardLost,
}

impl PatronStatus {
    fn columns(&self) -> (&'static str, Option<&str>) {
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
    /// Case-insensitive substring of the display name.
    pub name_contains: Option<String>,
    pub after: Option<PatronId>,
    /// Page size; 0 means 100.
    pub limit: u32,
}

/// The patron columns in `PatronRow` order, qualified with the alias `p`.
macro_rules! patron_columns {
    () => {
        "p.id, p.institution, p.family_name, p.given_name, p.display_name, p.email, p.phone, \
         p.birth_date, p.patron_class, p.home_library, p.expires_on, p.fines_owed_minor, \
         p.fee_limit_minor, p.currency, p.status, p.block_reason, p.pin_hash, p.pin_key_id, \
         p.pin_must_change, p.pin_default_expires_at, p.password_hash, p.password_key_id, \
         p.password_must_change, p.password_default_expires_at, p.pin_failures, \
         p.pin_locked_until, p.password_failures, p.password_locked_until, p.password_locks, \
         p.created_at, p.updated_at"
    };
}
pub(crate) use patron_columns;

/// Binds the twelve `PatronDetails` columns in the order family_name … currency.
macro_rules! bind_details {
    ($query:expr, $d:expr) => {
        $query
            .bind(&$d.name.family)
            .bind(&$d.name.given)
            .bind(&$d.name.display)
            .bind(&$d.email)
            .bind(&$d.phone)
            .bind($crate::store::values::date_text($d.birth_date))
            .bind(&$d.patron_class)
            .bind(&$d.home_library)
            .bind($crate::store::values::date_text($d.expires_on))
            .bind($d.fines_owed_minor)
            .bind($d.fee_limit_minor)
            .bind($d.currency.as_str())
    };
}
pub(crate) use bind_details;

/// Binds the four columns of an optional credential: hash, key id, must_change, default expiry.
macro_rules! bind_credential {
    ($query:expr, $c:expr) => {{
        let c: Option<&$crate::store::patrons::CredentialHash> = $c;
        $query
            .bind(c.map(|c| c.phc.as_str()))
            .bind(c.map(|c| i64::from(c.key_id)))
            .bind(c.is_some_and(|c| c.must_change))
            .bind(c.and_then(|c| c.default_expires_at).map(|t| t.timestamp()))
    }};
}
pub(crate) use bind_credential;

pub(crate) const INSERT_PATRON: &str = "INSERT INTO patrons (institution, family_name, \
    given_name, display_name, email, phone, birth_date, patron_class, home_library, expires_on, \
    fines_owed_minor, fee_limit_minor, currency, pin_hash, pin_key_id, pin_must_change, \
    pin_default_expires_at, password_hash, password_key_id, password_must_change, \
    password_default_expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
    $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $22) RETURNING id";

pub(crate) const INSERT_CARD: &str = "INSERT INTO cards (patron_id, institution, card_number, \
    created_at) VALUES ($1, $2, $3, $4)";

pub(crate) const UPDATE_PATRON_DETAILS: &str = "UPDATE patrons SET family_name = $2, given_name = $3, \
    display_name = $4, email = $5, phone = $6, birth_date = $7, patron_class = $8, \
    home_library = $9, expires_on = $10, fines_owed_minor = $11, fee_limit_minor = $12, \
    currency = $13, updated_at = $14 WHERE id = $1";

/// A `patrons` row as selected by `patron_columns!()`.
#[derive(sqlx::FromRow)]
pub(crate) struct PatronRow {
    id: i64,
    institution: String,
    family_name: String,
    given_name: String,
    display_name: String,
    email: Option<String>,
    phone: Option<String>,
    birth_date: Option<String>,
    patron_class: Option<String>,
    home_library: Option<String>,
    expires_on: Option<String>,
    fines_owed_minor: i64,
    fee_limit_minor: Option<i64>,
    currency: String,
    status: String,
    block_reason: Option<String>,
    pin_hash: Option<String>,
    pin_key_id: Option<i64>,
    pin_must_change: bool,
    pin_default_expires_at: Option<i64>,
    password_hash: Option<String>,
    password_key_id: Option<i64>,
    password_must_change: bool,
    password_default_expires_at: Option<i64>,
    pin_failures: i64,
    pin_locked_until: Option<i64>,
    password_failures: i64,
    password_locked_until: Option<i64>,
    password_locks: i64,
    created_at: i64,
    updated_at: i64,
}

/// A patron row joined with the card that matched.
#[derive(sqlx::FromRow)]
struct PatronCardRow {
    #[sqlx(flatten)]
    patron: PatronRow,
    card_number: String,
    lost: bool,
    lost_at: Option<i64>,
}

fn credential(
    phc: Option<String>,
    key_id: Option<i64>,
    must_change: bool,
    default_expires_at: Option<i64>,
    column: &'static str,
) -> Result<Option<CredentialHash>> {
    let (Some(phc), Some(key_id)) = (phc, key_id) else {
        return Ok(None);
    };
    Ok(Some(CredentialHash {
        phc,
        key_id: u32::try_from(key_id).map_err(|_| Error::corrupt(column))?,
        must_change,
        default_expires_at: opt_time_from_secs(default_expires_at, column)?,
    }))
}

impl PatronRow {
    pub(crate) fn into_patron(self) -> Result<Patron> {
        let status = match (self.status.as_str(), self.block_reason) {
            ("active", _) => PatronStatus::Active,
            ("blocked", reason) => PatronStatus::Blocked {
                reason: reason.unwrap_or_default(),
            },
            ("card_lost", _) => PatronStatus::CardLost,
            _ => return Err(Error::corrupt("patrons.status")),
        };
        let details = PatronDetails {
            name: PersonName {
                family: self.family_name,
                given: self.given_name,
                display: self.display_name,
            },
            email: self.email,
            phone: self.phone,
            birth_date: date_from_text(self.birth_date.as_deref(), "patrons.birth_date")?,
            patron_class: self.patron_class,
            home_library: self.home_library,
            expires_on: date_from_text(self.expires_on.as_deref(), "patrons.expires_on")?,
            fines_owed_minor: self.fines_owed_minor,
            fee_limit_minor: self.fee_limit_minor,
            currency: parse_column(&self.currency, "patrons.currency")?,
        };
        Ok(Patron {
            id: PatronId(self.id),
            institution: self.institution,
            details,
            status,
            pin: credential(
                self.pin_hash,
                self.pin_key_id,
                self.pin_must_change,
                self.pin_default_expires_at,
                "patrons.pin_key_id",
            )?,
            password: credential(
                self.password_hash,
                self.password_key_id,
                self.password_must_change,
                self.password_default_expires_at,
                "patrons.password_key_id",
            )?,
            pin_lock: LockCounters {
                failures: count_u32(self.pin_failures),
                locked_until: opt_time_from_secs(self.pin_locked_until, "patrons.pin_locked_until")?,
                locks: 0,
            },
            password_lock: LockCounters {
                failures: count_u32(self.password_failures),
                locked_until: opt_time_from_secs(
                    self.password_locked_until,
                    "patrons.password_locked_until",
                )?,
                locks: count_u32(self.password_locks),
            },
            created_at: time_from_secs(self.created_at, "patrons.created_at")?,
            updated_at: time_from_secs(self.updated_at, "patrons.updated_at")?,
        })
    }
}

impl Store {
    /// Creates a patron with its first card, in one transaction.
    /// Fails with `Error::Duplicate { what: "card number" }` when the card is taken at that
    /// institution.
    pub async fn create_patron(&self, new: &NewPatron) -> Result<PatronId> {
        let now = self.now_secs();
        with_tx!(self, |tx| {
            let query = sqlx::query_scalar::<_, i64>(INSERT_PATRON).bind(&new.institution);
            let query = bind_details!(query, new.details);
            let query = bind_credential!(query, new.pin.as_ref());
            let query = bind_credential!(query, new.password.as_ref());
            let id = query.bind(now).fetch_one(&mut *tx).await?;
            sqlx::query(INSERT_CARD)
                .bind(id)
                .bind(&new.institution)
                .bind(&new.card_number)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| Error::from_sqlx(e, "card number"))?;
            tx.commit().await?;
            Ok(PatronId(id))
        })
    }

    /// The patron with this id, if any.
    pub async fn get_patron(&self, id: PatronId) -> Result<Option<Patron>> {
        const SQL: &str = concat!("SELECT ", patron_columns!(), " FROM patrons p WHERE p.id = $1");
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
        const SQL: &str = concat!(
            "SELECT ",
            patron_columns!(),
            ", c.card_number, c.lost, c.lost_at FROM cards c \
             JOIN patrons p ON p.id = c.patron_id \
             WHERE c.institution = $1 AND c.card_number = $2"
        );
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, PatronCardRow>(SQL)
                .bind(institution)
                .bind(card_number)
                .fetch_optional(pool)
                .await
        })?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(PatronRecord {
            card: Card {
                number: row.card_number,
                lost: row.lost,
                lost_at: opt_time_from_secs(row.lost_at, "cards.lost_at")?,
            },
            patron: row.patron.into_patron()?,
        }))
    }

    /// A page of patrons in id order.
    pub async fn list_patrons(&self, filter: &PatronFilter) -> Result<Vec<Patron>> {
        const SQL: &str = concat!(
            "SELECT ",
            patron_columns!(),
            " FROM patrons p WHERE ($1 IS NULL OR p.institution = $1) \
             AND ($2 IS NULL OR LOWER(p.display_name) LIKE $2) AND p.id > $3 \
             ORDER BY p.id LIMIT $4"
        );
        let pattern = filter.name_contains.as_ref().map(|s| {
            let escaped = s.to_lowercase().replace(['%', '_'], "");
            format!("%{escaped}%")
        });
        let limit = i64::from(if filter.limit == 0 { 100 } else { filter.limit });
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, PatronRow>(SQL)
                .bind(filter.institution.as_deref())
                .bind(pattern.as_deref())
                .bind(filter.after.map_or(0, |id| id.0))
                .bind(limit)
                .fetch_all(pool)
                .await
        })?;
        rows.into_iter().map(PatronRow::into_patron).collect()
    }

    /// Replaces the descriptive columns of a patron.
    pub async fn update_patron(&self, id: PatronId, details: &PatronDetails) -> Result<()> {
        let now = self.now_secs();
        let done = with_pool!(self, |pool| {
            let query = sqlx::query(UPDATE_PATRON_DETAILS).bind(id.0);
            bind_details!(query, details)
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
            sqlx::query(
                "UPDATE patrons SET status = $2, block_reason = $3, updated_at = $4 WHERE id = $1",
            )
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
        let done = with_pool!(self, |pool| {
            sqlx::query("DELETE FROM patrons WHERE id = $1")
                .bind(id.0)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        found(done, "patron")
    }

    /// Number of patrons.
    pub async fn count_patrons(&self) -> Result<u64> {
        self.count("SELECT COUNT(*) FROM patrons").await
    }
}

/// `Ok` when a statement touched a row, `NotFound { what }` otherwise.
pub(crate) fn found(rows_affected: u64, what: &'static str) -> Result<()> {
    if rows_affected == 0 {
        Err(Error::NotFound { what })
    } else {
        Ok(())
    }
}
