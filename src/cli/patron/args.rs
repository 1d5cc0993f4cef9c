//! The arguments shared by the `patron` subcommands: which card ([`CardArgs`]) and the
//! descriptive fields ([`DetailArgs`]), parsed into `accounts` values once, here.
//!
//! Holds no secret (PINs and passwords never come from arguments). Uses `accounts` and `store`
//! value types and `config`; must not import `server` or `sip2`.

use chrono::NaiveDate;
use clap::Args;

use crate::accounts::patron::{CardRef, PatronChanges};
use crate::config::Config;
use crate::store::{Currency, PatronDetails, PersonName};

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
            institution: self
                .institution
                .clone()
                .unwrap_or_else(|| config.server.institution_id.clone()),
            card: self.card.trim().to_owned(),
        }
    }
}

fn date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| "write the date as YYYY-MM-DD".into())
}

fn amount(text: &str) -> Result<i64, String> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let ok = !whole.is_empty()
        && whole.len() <= 12
        && frac.len() <= 2
        && whole
            .chars()
            .chain(frac.chars())
            .all(|c| c.is_ascii_digit());
    if !ok {
        return Err("write the amount like 12.50".into());
    }
    let cents: i64 = format!("{frac:0<2}").parse().map_err(|_| "bad amount")?;
    Ok(whole.parse::<i64>().map_err(|_| "bad amount")? * 100 + cents)
}

fn currency(text: &str) -> Result<Currency, String> {
    text.to_ascii_uppercase()
        .parse::<Currency>()
        .map_err(|e| e.to_string())
}

/// Descriptive fields; on `update`, an empty value ("") clears an optional field.
#[derive(Debug, Clone, Args)]
pub struct DetailArgs {
    #[arg(long)]
    pub family_name: Option<String>,
    #[arg(long)]
    pub given_names: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long)]
    pub phone: Option<String>,
    /// YYYY-MM-DD
    #[arg(long, value_name = "DATE")]
    pub birth_date: Option<String>,
    /// Patron class (category).
    #[arg(long)]
    pub class: Option<String>,
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

impl DetailArgs {
    pub(super) fn changes(&self) -> Result<PatronChanges, String> {
        Ok(PatronChanges {
            family_name: self.family_name.clone(),
            given_names: self.given_names.clone(),
            email: optional(&self.email, text)?,
            phone: optional(&self.phone, text)?,
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
        let changes = self.changes()?;
        let Some(family) = changes.family_name.clone() else {
            return Err("--family-name is required to add a patron".into());
        };
        let base = PatronDetails {
            name: PersonName::new(family, ""),
            email: None,
            phone: None,
            birth_date: None,
            patron_class: None,
            home_library: None,
            expires_on: None,
            fines_owed_minor: 0,
            fee_limit_minor: None,
            currency: currency("USD")?,
        };
        Ok(changes.apply(base))
    }
}
