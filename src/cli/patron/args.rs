//! The arguments shared by the `patron` subcommands: which card ([`CardArgs`]) and the
//! descriptive fields ([`DetailArgs`]), parsed into `accounts` values once, here.
//!
//! Holds no secret (PINs and passwords never come from arguments). Uses `accounts` and `store`
//! value types and `config`; must not import `server` or `sip2`.

use chrono::NaiveDate;
use clap::Args;

use crate::accounts::import::row::{valid_email, valid_phone};
use crate::accounts::patron::{CardRef, PatronChanges};
use crate::config::Config;
use crate::store::{Currency, Money, PatronDetails};

/// The card a command addresses.
#[derive(Debug, Clone, Args)]
pub struct CardArgs {
    /// Library card number.
    pub card: String,
    /// Institution that issued the card [default: server.institution_id]
    #[arg(long)]
    pub institution: Option<String>,
}

impl CardArgs {
    pub(super) fn at(&self, config: &Config) -> CardRef {
        CardRef {
            institution: config
                .server
                .institution_or_default(self.institution.as_deref()),
            card: self.card.trim().to_owned(),
        }
    }
}

fn date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| "write the date as YYYY-MM-DD".into())
}

/// An amount in minor units, read by [`Money`], without a sign.
fn amount(text: &str) -> Result<i64, String> {
    match text.parse::<Money>() {
        Ok(amount) if !text.starts_with('-') => Ok(amount.minor()),
        _ => Err("write the amount like 12.50".into()),
    }
}

fn currency(text: &str) -> Result<Currency, String> {
    text.to_ascii_uppercase()
        .parse::<Currency>()
        .map_err(|e| e.to_string())
}

/// Descriptive fields; on `update`, an empty value ("") clears an optional field.
#[derive(Debug, Clone, Args)]
pub struct DetailArgs {
    /// Family name (surname); required by `patron add`.
    #[arg(long)]
    pub family_name: Option<String>,
    /// Given names, as they should be shown.
    #[arg(long)]
    pub given_names: Option<String>,
    /// Email address, e.g. ada@example.org (for reset mail).
    #[arg(long)]
    pub email: Option<String>,
    /// Phone number: digits, spaces and + - ( ) . (a default PIN may come from it).
    #[arg(long)]
    pub phone: Option<String>,
    /// YYYY-MM-DD
    #[arg(long, value_name = "DATE")]
    pub birth_date: Option<String>,
    /// Patron class (category).
    #[arg(long)]
    pub class: Option<String>,
    /// Code of the patron's home library (branch).
    #[arg(long)]
    pub home_library: Option<String>,
    /// Last day of registration, YYYY-MM-DD.
    #[arg(long, value_name = "DATE")]
    pub expires: Option<String>,
    /// Amount owed, e.g. 12.50.
    #[arg(long, value_parser = amount)]
    pub fines: Option<i64>,
    /// Amount above which the patron is blocked, e.g. 20.00.
    #[arg(long, value_name = "AMOUNT")]
    pub fine_limit: Option<String>,
    /// ISO 4217 currency code [default on add: USD]
    #[arg(long, value_parser = currency)]
    pub currency: Option<Currency>,
}

type Optional<T> = Option<Option<T>>;

/// `Some("")` -> `Some(None)` (clear); `Some(v)` -> parsed.
fn optional<T>(
    value: &Option<String>,
    parse: fn(&str) -> Result<T, String>,
) -> Result<Optional<T>, String> {
    match value.as_deref().map(str::trim) {
        None => Ok(None),
        Some("") => Ok(Some(None)),
        Some(v) => parse(v).map(|v| Some(Some(v))),
    }
}

fn text(v: &str) -> Result<String, String> {
    Ok(v.to_owned())
}

/// An email address: the import format's syntax rule ([`valid_email`]).
fn email(v: &str) -> Result<String, String> {
    if valid_email(v) {
        Ok(v.to_owned())
    } else {
        Err(format!(
            "--email: {v:?} is not an email address such as ada@example.org"
        ))
    }
}

/// A phone number: the import format's rule ([`valid_phone`]).
fn phone(v: &str) -> Result<String, String> {
    if valid_phone(v) {
        Ok(v.to_owned())
    } else {
        Err(format!(
            "--phone: {v:?} is not a phone number (digits, spaces and + - ( ) . only)"
        ))
    }
}

impl DetailArgs {
    pub(super) fn changes(&self) -> Result<PatronChanges, String> {
        Ok(PatronChanges {
            family_name: self.family_name.clone(),
            given_names: self.given_names.clone(),
            email: optional(&self.email, email)?,
            phone: optional(&self.phone, phone)?,
            birth_date: optional(&self.birth_date, date)
                .map_err(|e| format!("--birth-date: {e}"))?,
            class: optional(&self.class, text)?,
            home_library: optional(&self.home_library, text)?,
            expires: optional(&self.expires, date).map_err(|e| format!("--expires: {e}"))?,
            fines_minor: self.fines,
            fine_limit_minor: optional(&self.fine_limit, amount)
                .map_err(|e| format!("--fine-limit: {e}"))?,
            currency: self.currency,
        })
    }

    /// The details of a new patron: `--family-name` is required; the currency defaults to USD.
    pub(super) fn new_patron(&self) -> Result<PatronDetails, String> {
        self.changes()?
            .new_details()
            .map_err(|_| "--family-name is required to add a patron".into())
    }
}

#[cfg(test)]
mod tests {
    use super::amount;

    #[test]
    fn amounts_are_unsigned_with_at_most_two_decimals() {
        assert_eq!(amount("12.5"), Ok(1250));
        assert_eq!(amount("12."), Ok(1200));
        assert_eq!(amount("0.05"), Ok(5));
        for bad in ["", "-5", "-", "+5", ".5", "1.234", "1,50", "1234567890123"] {
            assert_eq!(
                amount(bad),
                Err("write the amount like 12.50".into()),
                "{bad:?}"
            );
        }
    }
}
