//! One row of the patron CSV format (an ILS export), typed: [`PatronRecord`] for a valid row,
//! [`Rejection`] for a refused one (line and reason), and the rule of every field (card, email,
//! phone, dates, money, PIN, PHC string or legacy ILS hash) that [`super::header`] applies.
//!
//! Owns every field rule of the import format. It never holds a PIN in an error: a rejection
//! reason names the column, not the value. Uses only `store::Money` and `auth::legacy` (the
//! legacy hash forms) from the rest of the crate.

use std::fmt;

use chrono::NaiveDate;
use secrecy::SecretString;

use crate::auth::legacy::LegacyHash;
use crate::store::Money;

/// The patron's standing as exported by the ILS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RecordStatus {
    Active,
    Blocked { reason: Option<String> },
    Lost,
}

/// The PIN column of one row. `Debug` shows which kind it is, never the PIN or the hash.
pub(crate) enum PinSource {
    /// Digits in clear: checked against the PIN rules, then hashed with the pepper.
    Clear(SecretString),
    /// An argon2id PHC string made by another system (no pepper).
    Phc(String),
    /// A hash exported by Koha, Evergreen or FOLIO: kept until the first successful check
    /// replaces it with an argon2id hash with the pepper.
    Legacy(LegacyHash),
}

impl fmt::Debug for PinSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PinSource::Clear(_) => f.write_str("Clear([redacted])"),
            PinSource::Phc(_) => f.write_str("Phc([redacted])"),
            PinSource::Legacy(legacy) => write!(f, "Legacy({})", legacy.scheme()),
        }
    }
}

/// The online-password column of one row. `Debug` shows which kind it is, never the password or
/// the hash.
pub(crate) enum PasswordSource {
    /// In clear: checked against the password rules, then hashed with the pepper.
    Clear(SecretString),
    /// A hash exported by Koha, Evergreen or FOLIO, replaced at the first successful check.
    Legacy(LegacyHash),
}

impl fmt::Debug for PasswordSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordSource::Clear(_) => f.write_str("Clear([redacted])"),
            PasswordSource::Legacy(legacy) => write!(f, "Legacy({})", legacy.scheme()),
        }
    }
}

/// One valid row.
#[derive(Debug)]
pub struct PatronRecord {
    /// Line of the file where the row starts (the header is line 1).
    pub line: u64,
    pub card: String,
    pub institution: String,
    pub family_name: String,
    pub given_names: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub class: Option<String>,
    pub home_library: Option<String>,
    pub expires: Option<NaiveDate>,
    pub status: RecordStatus,
    /// Amount owed in minor units (cents).
    pub fines_minor: i64,
    pub fine_limit_minor: Option<i64>,
    pub currency: Option<String>,
    pub pin: Option<PinSource>,
    pub password: Option<PasswordSource>,
    /// The PIN is temporary: the patron must choose a new one at first use.
    pub pin_must_change: bool,
}

/// A row that cannot be imported, and why (never containing the PIN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub line: u64,
    pub card: Option<String>,
    pub reason: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.card {
            Some(card) => write!(f, "line {} (card {card}): {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

pub(super) fn valid_card(card: &str) -> bool {
    card.len() <= 64 && card.chars().all(|c| c.is_ascii_graphic() && c != '|')
}

pub(crate) fn valid_email(email: &str) -> bool {
    let mut parts = email.splitn(2, '@');
    let (local, domain) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c == '|')
}

/// A phone number: digits with spaces and `+ - ( ) .` between them, at least 3 digits.
pub(crate) fn valid_phone(phone: &str) -> bool {
    phone.chars().filter(char::is_ascii_digit).count() >= 3
        && phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
}

pub(super) fn optional(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_owned())
}

pub(super) fn required_text(value: &str, column: &str) -> Result<String, String> {
    if value.is_empty() {
        Err(format!("{column} is empty"))
    } else if value.contains('|') {
        Err(format!("{column} must not contain |"))
    } else {
        Ok(value.to_owned())
    }
}

/// A date written `YYYY-MM-DD`, alone or as the start of a timestamp (`2027-06-30T00:00:00Z`,
/// `2027-06-30 00:00:00-04`: the date as the ILS wrote it, its time and zone dropped).
pub(super) fn date(value: &str, column: &str) -> Result<Option<NaiveDate>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    let day = match value.char_indices().nth(10) {
        Some((at, 'T' | ' ')) => &value[..at],
        _ => value,
    };
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("{column} must be a date written YYYY-MM-DD"))
}

/// A yes/no column: `true`/`false`, `yes`/`no`, `t`/`f`, `1`/`0`; empty is no.
pub(super) fn flag(value: &str, column: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "f" | "n" | "0" => Ok(false),
        "true" | "yes" | "t" | "y" | "1" => Ok(true),
        _ => Err(format!("{column} must be true or false")),
    }
}

/// An optional amount column in minor units, read by [`Money`] (`12`, `12.5`, `12.50`, `-3`).
pub(crate) fn money(value: &str, column: &str) -> Result<Option<i64>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    value
        .parse::<Money>()
        .map(|amount| Some(amount.minor()))
        .map_err(|_| format!("{column} must be an amount such as 12.50"))
}

/// The password column: a legacy ILS hash (as in the pin column), else the password in clear.
pub(super) fn password(value: &str) -> Result<Option<PasswordSource>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    match LegacyHash::from_import(value) {
        Ok(Some(legacy)) => Ok(Some(PasswordSource::Legacy(legacy))),
        Ok(None) => Ok(Some(PasswordSource::Clear(SecretString::from(
            value.to_owned(),
        )))),
        Err(err) => Err(format!("password: {err}")),
    }
}

pub(super) fn pin(value: &str) -> Result<Option<PinSource>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    match LegacyHash::from_import(value) {
        Ok(Some(legacy)) => return Ok(Some(PinSource::Legacy(legacy))),
        Ok(None) => {}
        Err(err) => return Err(format!("pin: {err}")),
    }
    if value.starts_with('$') {
        let parsed = argon2::PasswordHash::new(value)
            .map_err(|_| "pin looks like a PHC string but cannot be parsed".to_string())?;
        if parsed.algorithm.as_str() != "argon2id" {
            return Err(format!(
                "pin hash uses {}; only argon2id PHC strings can be imported",
                parsed.algorithm
            ));
        }
        if parsed.hash.is_none() || parsed.salt.is_none() {
            return Err("pin PHC string has no salt or no hash".into());
        }
        return Ok(Some(PinSource::Phc(value.to_owned())));
    }
    Ok(Some(PinSource::Clear(SecretString::from(value.to_owned()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_may_be_the_start_of_a_timestamp() {
        let day = NaiveDate::from_ymd_opt(2027, 6, 30);
        assert_eq!(date("2027-06-30", "d"), Ok(day));
        assert_eq!(date("2027-06-30T23:59:59.000+00:00", "d"), Ok(day));
        assert_eq!(date("2027-06-30 00:00:00-04", "d"), Ok(day));
        assert!(date("2027-06-30x", "d").is_err());
        assert!(date("30/06/2027", "d").is_err());
    }

    #[test]
    fn money_is_parsed_into_minor_units() {
        assert_eq!(money("0.05", "f"), Ok(Some(5)));
        assert_eq!(money("-3", "f"), Ok(Some(-300)));
        assert!(money("1.234", "f").is_err());
        assert!(money("1,50", "f").is_err());
    }

    #[test]
    fn debug_output_never_shows_a_pin_or_hash() {
        let phc = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU";
        let shown = format!(
            "{:?} {:?}",
            pin(phc).expect("valid PHC"),
            pin("4931").expect("clear PIN")
        );
        assert!(
            !shown.contains("c2FsdHNhbHRzYWx0") && !shown.contains("4931"),
            "{shown}"
        );
    }
}
