//! Patron rows: the column list, bind order and row mapping of the `patrons` table (and the
//! card join), shared by `patrons.rs` (single writes) and `import.rs` (batch upserts), so each
//! column's position is written once. Must not import `sip2` or `auth`.

use sqlx::query::{Query, QueryScalar};
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Transaction, Type};

use super::cards::CardRow;
use super::error::{Error, Result};
use super::lockout::LockCounters;
use super::patrons::{CredentialHash, Patron, PatronDetails, PatronStatus, PersonName};
use super::values::{
    count_u32, date_from_text, date_text, opt_time_from_secs, parse_column, time_from_secs,
    PatronId,
};

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

/// A query that takes positional binds, as `sqlx::query` and `sqlx::query_scalar` both do, so one
/// bind function serves an `UPDATE … execute` and an `INSERT … RETURNING id`.
pub(crate) trait Binds<'q, DB: Database>: Sized {
    fn with<T: 'q + Encode<'q, DB> + Type<DB>>(self, value: T) -> Self;
}

impl<'q, DB: Database> Binds<'q, DB> for Query<'q, DB, <DB as Database>::Arguments<'q>> {
    fn with<T: 'q + Encode<'q, DB> + Type<DB>>(self, value: T) -> Self {
        self.bind(value)
    }
}

impl<'q, DB: Database, O> Binds<'q, DB>
    for QueryScalar<'q, DB, O, <DB as Database>::Arguments<'q>>
{
    fn with<T: 'q + Encode<'q, DB> + Type<DB>>(self, value: T) -> Self {
        self.bind(value)
    }
}

/// Binds the twelve `PatronDetails` columns in the order family_name … currency.
pub(crate) fn bind_details<'q, DB, Q>(query: Q, d: &'q PatronDetails) -> Q
where
    DB: Database,
    Q: Binds<'q, DB>,
    String: Encode<'q, DB> + Type<DB>,
    Option<String>: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
{
    query
        .with(&d.name.family)
        .with(&d.name.given)
        .with(&d.name.display)
        .with(&d.email)
        .with(&d.phone)
        .with(date_text(d.birth_date))
        .with(&d.patron_class)
        .with(&d.home_library)
        .with(date_text(d.expires_on))
        .with(d.fines_owed_minor)
        .with(d.fee_limit_minor)
        .with(d.currency.as_str())
}

/// Binds the four columns of an optional credential: hash, key id, must_change, default expiry.
pub(crate) fn bind_credential<'q, DB, Q>(query: Q, c: Option<&'q CredentialHash>) -> Q
where
    DB: Database,
    Q: Binds<'q, DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    bool: Encode<'q, DB> + Type<DB>,
{
    query
        .with(c.map(|c| c.phc.as_str()))
        .with(c.map(|c| i64::from(c.key_id)))
        .with(c.is_some_and(|c| c.must_change))
        .with(c.and_then(|c| c.default_expires_at).map(|t| t.timestamp()))
}

/// The holder of a card and that card: `$1` institution, `$2` card number; rows are
/// [`PatronCardRow`]s.
pub(crate) const FIND_BY_CARD: &str = concat!(
    "SELECT ",
    patron_columns!(),
    ", c.card_number, c.lost, c.lost_at FROM cards c \
     JOIN patrons p ON p.id = c.patron_id \
     WHERE c.institution = $1 AND c.card_number = $2"
);

/// A new patron with its first card, as [`insert_patron_with_card`] writes it.
pub(crate) struct PatronInsert<'a> {
    pub institution: &'a str,
    pub card_number: &'a str,
    pub details: &'a PatronDetails,
    pub pin: Option<&'a CredentialHash>,
    pub password: Option<&'a CredentialHash>,
}

/// Inserts a patron with its first card inside the transaction `tx`, at `now` (unix seconds);
/// returns the new id. Fails with `Duplicate { what: "card number" }` when the card is taken at
/// that institution.
pub(crate) async fn insert_patron_with_card<'q, DB>(
    tx: &mut Transaction<'_, DB>,
    new: &PatronInsert<'q>,
    now: i64,
) -> Result<i64>
where
    DB: Database,
    for<'e> &'e mut <DB as Database>::Connection: Executor<'e, Database = DB>,
    <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    (i64,): for<'r> FromRow<'r, <DB as Database>::Row>,
    String: Encode<'q, DB> + Type<DB>,
    Option<String>: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    bool: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
{
    let query = sqlx::query_scalar::<DB, i64>(INSERT_PATRON).with(new.institution);
    let query = bind_details(query, new.details);
    let query = bind_credential(query, new.pin);
    let query = bind_credential(query, new.password);
    let id = query.bind(now).fetch_one(&mut **tx).await?;
    sqlx::query::<DB>(INSERT_CARD)
        .bind(id)
        .bind(new.institution)
        .bind(new.card_number)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(|e| Error::from_sqlx(e, "card number"))?;
    Ok(id)
}

pub(crate) const INSERT_PATRON: &str = "INSERT INTO patrons (institution, family_name, \
    given_name, display_name, email, phone, birth_date, patron_class, home_library, expires_on, \
    fines_owed_minor, fee_limit_minor, currency, pin_hash, pin_key_id, pin_must_change, \
    pin_default_expires_at, password_hash, password_key_id, password_must_change, \
    password_default_expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
    $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $22) RETURNING id";

pub(crate) const INSERT_CARD: &str = "INSERT INTO cards (patron_id, institution, card_number, \
    created_at) VALUES ($1, $2, $3, $4)";

pub(crate) const UPDATE_PATRON_DETAILS: &str =
    "UPDATE patrons SET family_name = $2, given_name = $3, \
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
pub(crate) struct PatronCardRow {
    #[sqlx(flatten)]
    pub(crate) patron: PatronRow,
    #[sqlx(flatten)]
    pub(crate) card: CardRow,
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
                locked_until: opt_time_from_secs(
                    self.pin_locked_until,
                    "patrons.pin_locked_until",
                )?,
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
