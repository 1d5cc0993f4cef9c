//! The patron CSV format (an ILS export): header row, one patron per line, parsed once into a
//! typed [`PatronRecord`] or a [`Rejection`] that names the line and the reason.
//!
//! Owns the column table and every field rule of the import format. It never holds a PIN in an
//! error: a rejection reason names the column, not the value. Uses nothing else in the crate.

use std::collections::HashMap;
use std::fmt;

use chrono::NaiveDate;
use secrecy::SecretString;

/// One column of the format: its header name, whether it is required, what it holds.
pub struct Column {
    pub name: &'static str,
    pub required: bool,
    pub meaning: &'static str,
}

/// The import format, in the order the documentation lists it (the single source of truth).
pub const COLUMNS: &[Column] = &[
    col(
        "card",
        true,
        "library card number (barcode): 1-64 printable characters, no spaces or |",
    ),
    col(
        "institution",
        true,
        "institution id (SIP2 AO) the patron belongs to",
    ),
    col("family_name", true, "family name"),
    col("given_names", false, "given names"),
    col("email", false, "email address"),
    col("phone", false, "phone number: digits, spaces, + - ( ) ."),
    col("birth_date", false, "YYYY-MM-DD"),
    col("class", false, "patron class or category (SIP2 PC)"),
    col("home_library", false, "home library code"),
    col("expires", false, "YYYY-MM-DD; empty means no expiry"),
    col("status", false, "active (default), blocked or lost"),
    col(
        "block_reason",
        false,
        "why the patron is blocked (only with status blocked)",
    ),
    col("fines", false, "amount owed, e.g. 12.50 (default 0)"),
    col(
        "fine_limit",
        false,
        "amount above which the patron is blocked, e.g. 20.00",
    ),
    col("currency", false, "ISO 4217 code such as USD, EUR, GBP"),
    col(
        "pin",
        false,
        "empty: keep the current PIN; 4-12 digits in clear; or an argon2id PHC string",
    ),
];

const fn col(name: &'static str, required: bool, meaning: &'static str) -> Column {
    Column {
        name,
        required,
        meaning,
    }
}

/// The patron's standing as exported by the ILS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordStatus {
    Active,
    Blocked { reason: Option<String> },
    Lost,
}

/// The PIN column of one row.
#[derive(Debug)]
pub enum PinSource {
    /// Digits in clear: checked against the PIN rules, then hashed with the pepper.
    Clear(SecretString),
    /// An argon2id PHC string made by another system (no pepper).
    Phc(String),
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

/// Which column sits at which position, from the header row.
#[derive(Debug, Clone)]
pub struct Header {
    positions: HashMap<&'static str, usize>,
}

/// Why the header row is unusable (the whole file is refused).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error(
        "the file is empty: the first line must be the header ({})",
        column_names()
    )]
    Empty,
    #[error(
        "unknown column {0:?} in the header; known columns: {known}",
        known = column_names()
    )]
    Unknown(String),
    #[error("column {0:?} appears twice in the header")]
    Repeated(String),
    #[error("required column {0:?} is missing from the header")]
    Missing(&'static str),
}

fn column_names() -> String {
    COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>().join(",")
}

impl Header {
    /// Reads the header row: names are matched case-insensitively, in any order.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Header, HeaderError> {
        let mut positions = HashMap::new();
        let mut any = false;
        for (index, raw) in names.into_iter().enumerate() {
            any = true;
            let name = raw
                .trim()
                .trim_start_matches('\u{feff}')
                .to_ascii_lowercase();
            let column = COLUMNS
                .iter()
                .find(|c| c.name == name)
                .ok_or_else(|| HeaderError::Unknown(raw.trim().to_owned()))?;
            if positions.insert(column.name, index).is_some() {
                return Err(HeaderError::Repeated(column.name.to_owned()));
            }
        }
        if !any {
            return Err(HeaderError::Empty);
        }
        if let Some(missing) = COLUMNS
            .iter()
            .find(|c| c.required && !positions.contains_key(c.name))
        {
            return Err(HeaderError::Missing(missing.name));
        }
        Ok(Header { positions })
    }

    /// Parses one data row. `fields` are the raw cells, `line` where the row starts.
    pub fn record(&self, line: u64, fields: &[&str]) -> Result<PatronRecord, Rejection> {
        let get = |name: &str| -> &str {
            self.positions
                .get(name)
                .and_then(|&i| fields.get(i))
                .map_or("", |v| v.trim())
        };
        let card = get("card").to_owned();
        let reject = |reason: String| Rejection {
            line,
            card: (!card.is_empty() && valid_card(&card)).then(|| card.clone()),
            reason,
        };
        if card.is_empty() {
            return Err(reject("card is empty".into()));
        }
        if !valid_card(&card) {
            return Err(reject(
                "card must be 1-64 printable characters without spaces or |".into(),
            ));
        }
        let institution = required_text(get("institution"), "institution").map_err(&reject)?;
        let family_name = required_text(get("family_name"), "family_name").map_err(&reject)?;
        let email = optional(get("email"));
        if let Some(email) = &email {
            if !valid_email(email) {
                return Err(reject(
                    "email is not an address like name@example.org".into(),
                ));
            }
        }
        let phone = optional(get("phone"));
        if let Some(phone) = &phone {
            let ok = phone.chars().filter(char::is_ascii_digit).count() >= 3
                && phone
                    .chars()
                    .all(|c| c.is_ascii_digit() || " +-().".contains(c));
            if !ok {
                return Err(reject(
                    "phone may hold only digits, spaces and + - ( ) .".into(),
                ));
            }
        }
        let status = match get("status").to_ascii_lowercase().as_str() {
            "" | "active" => RecordStatus::Active,
            "blocked" => RecordStatus::Blocked {
                reason: optional(get("block_reason")),
            },
            "lost" => RecordStatus::Lost,
            _ => return Err(reject("status must be active, blocked or lost".into())),
        };
        if !get("block_reason").is_empty() && !matches!(status, RecordStatus::Blocked { .. }) {
            return Err(reject(
                "block_reason is only allowed with status blocked".into(),
            ));
        }
        let currency = optional(get("currency")).map(|c| c.to_ascii_uppercase());
        if let Some(c) = &currency {
            if c.len() != 3 || !c.chars().all(|ch| ch.is_ascii_alphabetic()) {
                return Err(reject(
                    "currency must be a 3-letter ISO 4217 code such as EUR".into(),
                ));
            }
        }
        Ok(PatronRecord {
            line,
            institution,
            family_name,
            given_names: optional(get("given_names")),
            email,
            phone,
            birth_date: date(get("birth_date"), "birth_date").map_err(&reject)?,
            class: optional(get("class")),
            home_library: optional(get("home_library")),
            expires: date(get("expires"), "expires").map_err(&reject)?,
            status,
            fines_minor: money(get("fines"), "fines").map_err(&reject)?.unwrap_or(0),
            fine_limit_minor: money(get("fine_limit"), "fine_limit").map_err(&reject)?,
            currency,
            // The PIN is not trimmed: a space in it is an error the PIN rules report.
            pin: pin(self.raw(fields, "pin")).map_err(&reject)?,
            card,
        })
    }

    fn raw<'f>(&self, fields: &[&'f str], name: &str) -> &'f str {
        self.positions
            .get(name)
            .and_then(|&i| fields.get(i).copied())
            .unwrap_or("")
    }
}

fn valid_card(card: &str) -> bool {
    card.len() <= 64 && card.chars().all(|c| c.is_ascii_graphic() && c != '|')
}

fn valid_email(email: &str) -> bool {
    let mut parts = email.splitn(2, '@');
    let (local, domain) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c == '|')
}

fn optional(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_owned())
}

fn required_text(value: &str, column: &str) -> Result<String, String> {
    if value.is_empty() {
        Err(format!("{column} is empty"))
    } else if value.contains('|') {
        Err(format!("{column} must not contain |"))
    } else {
        Ok(value.to_owned())
    }
}

fn date(value: &str, column: &str) -> Result<Option<NaiveDate>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("{column} must be a date written YYYY-MM-DD"))
}

/// Parses `12`, `12.5` or `12.50` into minor units; refuses signs other than a leading `-`.
pub(crate) fn money(value: &str, column: &str) -> Result<Option<i64>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    let bad = || format!("{column} must be an amount such as 12.50");
    let (negative, digits) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 12
        || fraction.len() > 2
        || !all_digits(whole)
        || !all_digits(fraction)
    {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let cents: i64 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    let amount = whole * 100 + cents;
    Ok(Some(if negative { -amount } else { amount }))
}

fn pin(value: &str) -> Result<Option<PinSource>, String> {
    if value.is_empty() {
        return Ok(None);
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
    use secrecy::ExposeSecret;

    fn header() -> Header {
        Header::parse(
            "card,institution,family_name,email,birth_date,status,block_reason,fines,pin"
                .split(','),
        )
        .expect("valid header")
    }

    #[test]
    fn header_refuses_unknown_and_missing_columns() {
        assert_eq!(
            Header::parse(["card", "institution", "surname"]).unwrap_err(),
            HeaderError::Unknown("surname".into())
        );
        assert_eq!(
            Header::parse(["card", "institution"]).unwrap_err(),
            HeaderError::Missing("family_name")
        );
        assert!(Header::parse(["\u{feff}CARD", "Institution", "family_name"]).is_ok());
    }

    #[test]
    fn a_valid_row_becomes_a_record() {
        let record = header()
            .record(
                2,
                &[
                    "2100001",
                    "MAIN",
                    "Okafor",
                    "a@b.org",
                    "1980-02-29",
                    "blocked",
                    "fines",
                    "12.5",
                    "4931",
                ],
            )
            .expect("valid row");
        assert_eq!(record.fines_minor, 1250);
        assert_eq!(
            record.status,
            RecordStatus::Blocked {
                reason: Some("fines".into())
            }
        );
        match record.pin {
            Some(PinSource::Clear(pin)) => assert_eq!(pin.expose_secret(), "4931"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn rejections_name_the_line_and_never_the_pin() {
        let bad_date = header()
            .record(
                7,
                &["21", "MAIN", "X", "", "1980-13-01", "", "", "", "12a4"],
            )
            .unwrap_err();
        assert_eq!(bad_date.line, 7);
        assert!(
            bad_date.reason.contains("birth_date"),
            "{}",
            bad_date.reason
        );
        let bad_phc = header()
            .record(
                8,
                &[
                    "22",
                    "MAIN",
                    "X",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU",
                ],
            )
            .unwrap_err();
        assert!(bad_phc.reason.contains("argon2id"), "{}", bad_phc.reason);
        assert!(!bad_phc.to_string().contains("c2FsdHNhbHRzYWx0"));
    }

    #[test]
    fn money_is_parsed_into_minor_units() {
        assert_eq!(money("0.05", "f"), Ok(Some(5)));
        assert_eq!(money("-3", "f"), Ok(Some(-300)));
        assert!(money("1.234", "f").is_err());
        assert!(money("1,50", "f").is_err());
    }
}
