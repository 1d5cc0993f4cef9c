//! The header row of an import file ([`Header`]: which column sits where, or a [`HeaderError`]
//! refusing the whole file) and the reading of one data row through it into a typed
//! [`PatronRecord`] or a [`Rejection`] naming the line.
//!
//! With a [`Mapping`] (another system's export), header names are theirs and status values are
//! read through the mapping; columns it does not map are skipped ([`Header::ignored`]).
//!
//! Never holds a PIN in an error: a rejection reason names the column, not the value. Uses
//! [`super::column`], [`super::mapping`], [`super::profile`] and [`super::row`] only; nothing
//! else in the crate.

use std::collections::HashMap;

use super::column::{column_names, COLUMNS};
use super::mapping::Mapping;
use super::profile::profile_names;
use super::row::{
    date, flag, money, optional, password, pin, required_text, valid_card, valid_email,
    valid_phone, PatronRecord, RecordStatus, Rejection,
};

/// Which column sits at which position, from the header row, and how its values read.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    positions: HashMap<&'static str, usize>,
    /// Their columns and status values, for an export in another system's format.
    mapping: Option<Mapping>,
    /// The institution of rows when the file has no `institution` column.
    default_institution: String,
    /// Their columns that feed none of ours (only with a mapping; skipped, and said).
    pub ignored: Vec<String>,
}

/// Why the header row is unusable (the whole file is refused).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HeaderError {
    #[error(
        "the file is empty: the first line must be the header ({})",
        column_names()
    )]
    Empty,
    #[error(
        "unknown column {0:?} in the header; known columns: {known}; for another system's \
         export choose --profile {profiles} or --map FILE",
        known = column_names(),
        profiles = profile_names()
    )]
    Unknown(String),
    #[error("column {0:?} appears twice in the header")]
    Repeated(String),
    #[error("required column {column:?} ({meaning}) is missing from the header{}",
        from.as_ref().map(|f| format!(" (the mapping reads it from {f:?})")).unwrap_or_default())]
    Missing {
        column: &'static str,
        meaning: &'static str,
        from: Option<String>,
    },
}

impl Header {
    /// Reads the header row: names are matched case-insensitively, in any order. Without a
    /// mapping an unknown name refuses the file; with one, a name is looked up in the mapping,
    /// then among our own columns, and any other is ignored.
    pub(crate) fn parse<'a>(
        names: impl IntoIterator<Item = &'a str>,
        mapping: Option<&Mapping>,
        default_institution: &str,
    ) -> Result<Header, HeaderError> {
        let mut positions = HashMap::new();
        let mut ignored = Vec::new();
        let mut any = false;
        for (index, raw) in names.into_iter().enumerate() {
            any = true;
            let name = raw.trim().trim_start_matches('\u{feff}').to_lowercase();
            let mut ours = mapping.map(|m| m.ours_for(&name)).unwrap_or_default();
            if ours.is_empty() {
                match COLUMNS.iter().find(|c| c.name == name) {
                    Some(column) => ours.push(column.name),
                    None if mapping.is_some() => {
                        ignored.push(raw.trim().to_owned());
                        continue;
                    }
                    None => return Err(HeaderError::Unknown(raw.trim().to_owned())),
                }
            }
            for column in ours {
                if positions.insert(column, index).is_some() {
                    return Err(HeaderError::Repeated(column.to_owned()));
                }
            }
        }
        if !any {
            return Err(HeaderError::Empty);
        }
        if let Some(missing) = COLUMNS
            .iter()
            .find(|c| c.required && !positions.contains_key(c.name))
        {
            return Err(HeaderError::Missing {
                column: missing.name,
                meaning: missing.meaning,
                from: mapping.and_then(|m| m.theirs_for(missing.name).map(str::to_owned)),
            });
        }
        Ok(Header {
            positions,
            mapping: mapping.cloned(),
            default_institution: default_institution.to_owned(),
            ignored,
        })
    }

    /// Parses one data row. `fields` are the raw cells, `line` where the row starts.
    pub(crate) fn record(&self, line: u64, fields: &[&str]) -> Result<PatronRecord, Rejection> {
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
        let institution = if self.positions.contains_key("institution") {
            required_text(get("institution"), "institution").map_err(&reject)?
        } else {
            self.default_institution.clone()
        };
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
            if !valid_phone(phone) {
                return Err(reject(
                    "phone may hold only digits, spaces and + - ( ) .".into(),
                ));
            }
        }
        let status = self
            .status(get("status"), get("block_reason"))
            .map_err(&reject)?;
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
            // Not trimmed either: spaces may belong to a passphrase.
            password: password(self.raw(fields, "password")).map_err(&reject)?,
            pin_must_change: flag(get("pin_must_change"), "pin_must_change").map_err(&reject)?,
            card,
        })
    }

    /// The row's status: their value through the mapping's `[status]` values, then ours.
    fn status(&self, raw: &str, block_reason: &str) -> Result<RecordStatus, String> {
        let word = self
            .mapping
            .as_ref()
            .and_then(|m| m.status_of(raw))
            .map_or_else(|| raw.to_ascii_lowercase(), str::to_owned);
        match word.as_str() {
            "" | "active" => Ok(RecordStatus::Active),
            "blocked" => Ok(RecordStatus::Blocked {
                reason: optional(block_reason),
            }),
            "lost" => Ok(RecordStatus::Lost),
            _ if self.mapping.is_some() => Err(format!(
                "status {raw:?} is not active, blocked or lost, nor in the mapping's [status] \
                 values"
            )),
            _ => Err("status must be active, blocked or lost".into()),
        }
    }

    fn raw<'f>(&self, fields: &[&'f str], name: &str) -> &'f str {
        self.positions
            .get(name)
            .and_then(|&i| fields.get(i).copied())
            .unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::import::row::PinSource;
    use secrecy::ExposeSecret;

    fn header() -> Header {
        Header::parse(
            "card,institution,family_name,email,birth_date,status,block_reason,fines,pin"
                .split(','),
            None,
            "MAIN",
        )
        .expect("valid header")
    }

    #[test]
    fn header_refuses_unknown_and_missing_columns() {
        assert_eq!(
            Header::parse(["card", "institution", "surname"], None, "MAIN").unwrap_err(),
            HeaderError::Unknown("surname".into())
        );
        assert_eq!(
            Header::parse(["card", "institution"], None, "MAIN").unwrap_err(),
            HeaderError::Missing {
                column: "family_name",
                meaning: "family name",
                from: None
            }
        );
        assert!(Header::parse(["\u{feff}CARD", "Institution", "family_name"], None, "M").is_ok());
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
}
