//! Reading an import file: CSV bytes into typed rows ([`ParsedFile`]), a bad header refusing
//! the whole file and a bad row becoming a [`Rejection`] that names its line. Also the card
//! number check shared with `patron add`.
//!
//! No database, no hashing: parsing only. Uses [`super::row`] and [`super::header`]; must not
//! import `store`, `auth`, `sip2` or `cli`.

use std::collections::HashMap;

use super::header::{Header, HeaderError};
use super::row::{valid_card, PatronRecord, Rejection};
use crate::accounts::Error;

/// A parsed CSV file: the valid rows and the rejected ones, both in file order.
#[derive(Debug, Default)]
pub struct ParsedFile {
    pub records: Vec<PatronRecord>,
    pub rejected: Vec<Rejection>,
}

/// Checks a card number as the import format does.
pub fn check_card(card: &str) -> Result<(), Error> {
    if card.is_empty() || !valid_card(card) {
        return Err(Error::Invalid {
            what: "card",
            reason: "a card number has 1-64 printable characters without spaces or |".into(),
        });
    }
    Ok(())
}

/// Parses CSV bytes: a bad header refuses the file; a bad row becomes a rejection.
pub fn parse_csv(bytes: &[u8]) -> Result<ParsedFile, Error> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(bytes);
    let mut records = reader.byte_records();
    let header_record = match records.next() {
        None => return Err(header_error(HeaderError::Empty)),
        Some(Err(e)) => {
            return Err(Error::Invalid {
                what: "CSV header",
                reason: e.to_string(),
            })
        }
        Some(Ok(record)) => record,
    };
    let names = header_record
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect::<Vec<_>>();
    let header = Header::parse(names.iter().map(String::as_str)).map_err(header_error)?;
    let width = names.len();
    let mut parsed = ParsedFile::default();
    let mut seen: HashMap<(String, String), u64> = HashMap::new();
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                parsed.rejected.push(Rejection {
                    line,
                    card: None,
                    reason: "malformed CSV (check quotes)".into(),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.len() == 1
            && record
                .get(0)
                .is_some_and(|f| f.iter().all(u8::is_ascii_whitespace))
        {
            continue; // a blank line
        }
        let reject = |reason: String| Rejection {
            line,
            card: None,
            reason,
        };
        if record.len() != width {
            parsed.rejected.push(reject(format!(
                "has {} fields, the header has {width}",
                record.len()
            )));
            continue;
        }
        let Ok(fields) = record
            .iter()
            .map(std::str::from_utf8)
            .collect::<Result<Vec<_>, _>>()
        else {
            parsed.rejected.push(reject(
                "is not valid UTF-8 (export the file as UTF-8)".into(),
            ));
            continue;
        };
        match header.record(line, &fields) {
            Ok(record) => {
                let key = (record.institution.clone(), record.card.clone());
                if let Some(first) = seen.get(&key) {
                    parsed.rejected.push(Rejection {
                        line,
                        card: Some(record.card),
                        reason: format!("card already appears on line {first}"),
                    });
                } else {
                    seen.insert(key, line);
                    parsed.records.push(record);
                }
            }
            Err(rejection) => parsed.rejected.push(rejection),
        }
    }
    Ok(parsed)
}

fn header_error(e: HeaderError) -> Error {
    Error::Invalid {
        what: "CSV header",
        reason: e.to_string(),
    }
}
