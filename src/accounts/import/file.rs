//! Reading an import file: CSV bytes into typed rows ([`ParsedFile`]) as its [`FileFormat`]
//! says (delimiter, mapping, default institution). A file that is not text, a bad header or a
//! header without rows refuses the whole file; a bad row becomes a [`Rejection`] that names its
//! line (counted the same for LF, CRLF and CR files). Also the card number check shared with
//! `patron add`.
//!
//! No database, no hashing: parsing only. Uses [`super::row`], [`super::header`],
//! [`super::delimiter`] and [`super::mapping`]; must not import `store`, `auth`, `sip2` or
//! `cli`.

use std::collections::HashMap;

use super::delimiter::{not_text, Delimiter};
use super::header::{Header, HeaderError};
use super::mapping::Mapping;
use super::row::{valid_card, PatronRecord, Rejection};
use crate::accounts::Error;

/// A parsed CSV file: the valid rows and the rejected ones, both in file order.
#[derive(Debug)]
pub(crate) struct ParsedFile {
    pub records: Vec<PatronRecord>,
    pub rejected: Vec<Rejection>,
    /// The delimiter the file was read with, and whether it was detected (not given).
    pub delimiter: Delimiter,
    pub delimiter_detected: bool,
    /// Columns of the file that the mapping does not read (skipped).
    pub ignored_columns: Vec<String>,
}

/// How an import file is read.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileFormat {
    /// The field delimiter; `None` detects it from the header row.
    pub delimiter: Option<Delimiter>,
    /// Another system's columns and status values (`--profile`, `--map`); `None`: ours.
    pub mapping: Option<Mapping>,
    /// The institution of rows when the file has no `institution` column.
    pub institution: String,
}

/// Checks a card number as the import format does.
pub(crate) fn check_card(card: &str) -> Result<(), Error> {
    if card.is_empty() || !valid_card(card) {
        return Err(Error::Invalid {
            what: "card",
            reason: "a card number has 1-64 printable characters without spaces or |".into(),
        });
    }
    Ok(())
}

/// Parses CSV bytes: a file that is not text, a bad header or a header without rows refuses the
/// file; a bad row becomes a rejection.
pub(crate) fn parse_csv(bytes: &[u8], format: &FileFormat) -> Result<ParsedFile, Error> {
    if let Some(reason) = not_text(bytes) {
        return Err(Error::Invalid {
            what: "import file",
            reason: reason.into(),
        });
    }
    let (delimiter, delimiter_detected) = match format.delimiter {
        Some(given) => (given, false),
        None => (Delimiter::detect(bytes), true),
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .delimiter(delimiter.byte())
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
    let header = Header::parse(
        names.iter().map(String::as_str),
        format.mapping.as_ref(),
        &format.institution,
    )
    .map_err(header_error)?;
    let width = names.len();
    let mut parsed = ParsedFile {
        records: Vec::new(),
        rejected: Vec::new(),
        delimiter,
        delimiter_detected,
        ignored_columns: header.ignored.clone(),
    };
    let mut seen = SeenCards::new();
    let mut lines = LineCounter::new(bytes);
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.at(p.byte()));
                parsed.rejected.push(Rejection {
                    line,
                    card: None,
                    reason: "malformed CSV (check quotes)".into(),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| lines.at(p.byte()));
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
        parsed.push(header.record(line, &fields), &mut seen);
    }
    if parsed.records.is_empty() && parsed.rejected.is_empty() {
        return Err(Error::Invalid {
            what: "import file",
            reason: "it has a header row but no patron rows (check that the export is complete)"
                .into(),
        });
    }
    Ok(parsed)
}

/// Where each (institution, card) first appeared: a card given twice is rejected the second
/// time.
pub(super) type SeenCards = HashMap<(String, String), u64>;

impl ParsedFile {
    /// Adds one parsed row: a valid one, unless its card came before; or its rejection.
    pub(super) fn push(&mut self, row: Result<PatronRecord, Rejection>, seen: &mut SeenCards) {
        match row {
            Ok(record) => {
                let key = (record.institution.clone(), record.card.clone());
                if let Some(first) = seen.get(&key) {
                    self.rejected.push(Rejection {
                        line: record.line,
                        card: Some(record.card),
                        reason: format!("card already appears on line {first}"),
                    });
                } else {
                    seen.insert(key, record.line);
                    self.records.push(record);
                }
            }
            Err(rejection) => self.rejected.push(rejection),
        }
    }
}

/// Line numbers from byte offsets. The csv crate counts lines at '\n' but starts a record after
/// a CR, so on a CRLF file it gives each row the line before its own; counting the newlines
/// before the record's first byte is right for LF, CRLF and CR-only files alike.
struct LineCounter<'a> {
    bytes: &'a [u8],
    /// Where counting stopped, and the line that byte is on (records come in file order).
    offset: usize,
    line: u64,
    /// The file ends its lines with CR alone (no LF anywhere): count CRs instead.
    cr_only: bool,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> LineCounter<'a> {
        LineCounter {
            bytes,
            offset: 0,
            line: 1,
            cr_only: !bytes.contains(&b'\n'),
        }
    }

    /// The line of the record that the reader says starts at `byte` (which may be the LF of the
    /// previous row's CRLF, or a CR of a CR-only file: skipped).
    fn at(&mut self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte)
            .unwrap_or(self.bytes.len())
            .min(self.bytes.len());
        while matches!(self.bytes.get(start), Some(b'\n' | b'\r')) {
            start += 1;
        }
        if start > self.offset {
            let skipped = &self.bytes[self.offset..start];
            let end = if self.cr_only { b'\r' } else { b'\n' };
            self.line += skipped.iter().filter(|&&b| b == end).count() as u64;
            self.offset = start;
        }
        self.line
    }
}

fn header_error(e: HeaderError) -> Error {
    Error::Invalid {
        what: "CSV header",
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(text: &str) -> Vec<u64> {
        let parsed = parse_csv(text.as_bytes(), &FileFormat::default()).expect("parses");
        let mut lines: Vec<u64> = parsed.records.iter().map(|r| r.line).collect();
        lines.extend(parsed.rejected.iter().map(|r| r.line));
        lines.sort_unstable();
        lines
    }

    #[test]
    fn line_numbers_are_the_same_for_lf_crlf_and_cr_files() {
        let rows = [
            "card,institution,family_name",
            "1,MAIN,A",
            "",
            "2,MAIN,B",
            "3,MAIN",
        ];
        for newline in ["\n", "\r\n", "\r"] {
            let text = rows.join(newline) + newline;
            assert_eq!(lines_of(&text), vec![2, 4, 5], "newline {newline:?}");
        }
    }
}
