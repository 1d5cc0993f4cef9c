//! Reading an import as JSON lines (one object per line, keyed by the import format's column
//! names: `{"card":"2123…","family_name":"García","pin":"7391"}`), for the admin API's bulk
//! upsert. Each object is read through the same [`Header`] and row rules as a CSV row, so both
//! formats accept and refuse exactly the same values; a line that is not an object, or that
//! names an unknown column, is that row's rejection.
//!
//! No database, no hashing: parsing only. Must not import `store`, `auth`, `sip2` or `cli`.

use serde_json::{Map, Value};

use super::delimiter::{not_text, Delimiter};
use super::file::{FileFormat, ParsedFile, SeenCards};
use super::header::Header;
use super::row::Rejection;
use crate::accounts::Error;

/// Parses JSON lines; blank lines are skipped, line numbers count from 1.
pub(crate) fn parse_json_lines(bytes: &[u8], format: &FileFormat) -> Result<ParsedFile, Error> {
    if let Some(reason) = not_text(bytes) {
        return Err(Error::Invalid {
            what: "import body",
            reason: reason.into(),
        });
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(Error::Invalid {
            what: "import body",
            reason: "JSON lines must be UTF-8".into(),
        });
    };
    let mut parsed = ParsedFile {
        records: Vec::new(),
        rejected: Vec::new(),
        delimiter: Delimiter::Comma,
        delimiter_detected: false,
        ignored_columns: Vec::new(),
    };
    let mut seen = SeenCards::new();
    for (index, line_text) in text.lines().enumerate() {
        let line = index as u64 + 1;
        if line_text.trim().is_empty() {
            continue;
        }
        parsed.push(row(line, line_text, format), &mut seen);
    }
    if parsed.records.is_empty() && parsed.rejected.is_empty() {
        return Err(Error::Invalid {
            what: "import body",
            reason: "it holds no patron lines".into(),
        });
    }
    Ok(parsed)
}

/// One line: an object whose keys are column names and whose values are strings, numbers,
/// booleans or null (empty).
fn row(line: u64, text: &str, format: &FileFormat) -> Result<super::row::PatronRecord, Rejection> {
    let reject = |reason: String| Rejection {
        line,
        card: None,
        reason,
    };
    let object: Map<String, Value> =
        serde_json::from_str(text).map_err(|e| reject(format!("is not a JSON object: {e}")))?;
    let card = object
        .get("card")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut fields = Vec::with_capacity(object.len());
    for (name, value) in &object {
        let cell = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => String::new(),
            Value::Array(_) | Value::Object(_) => {
                return Err(Rejection {
                    card,
                    ..reject(format!(
                        "{name:?} must be a string, number, boolean or null"
                    ))
                })
            }
        };
        fields.push(cell);
    }
    let header = Header::parse(
        object.keys().map(String::as_str),
        format.mapping.as_ref(),
        &format.institution,
    )
    .map_err(|e| Rejection {
        card: card.clone(),
        ..reject(e.to_string())
    })?;
    let cells: Vec<&str> = fields.iter().map(String::as_str).collect();
    header.record(line, &cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format() -> FileFormat {
        FileFormat {
            institution: "MAIN".into(),
            ..FileFormat::default()
        }
    }

    #[test]
    fn lines_read_like_csv_rows_and_refuse_per_line() {
        let body = concat!(
            r#"{"card":"1001","family_name":"García","given_names":"Ana","fines":2.5}"#,
            "\n\n",
            r#"{"card":"1002"}"#,
            "\n",
            r#"["not", "an object"]"#,
            "\n",
            r#"{"card":"1003","family_name":"B","colour":"red"}"#,
            "\n",
            r#"{"card":"1001","family_name":"Again"}"#,
            "\n",
        );
        let parsed = parse_json_lines(body.as_bytes(), &format()).unwrap();
        assert_eq!(parsed.records.len(), 1);
        let ana = &parsed.records[0];
        assert_eq!((ana.line, ana.card.as_str()), (1, "1001"));
        assert_eq!(ana.institution, "MAIN");
        assert_eq!(ana.fines_minor, 250);
        let lines: Vec<u64> = parsed.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6]);
        assert!(
            parsed.rejected[0].reason.contains("family_name"),
            "{:?}",
            parsed.rejected
        );
        assert!(
            parsed.rejected[2].reason.contains("colour"),
            "{:?}",
            parsed.rejected
        );
        assert!(
            parsed.rejected[3].reason.contains("line 1"),
            "{:?}",
            parsed.rejected
        );
    }

    #[test]
    fn an_empty_or_binary_body_is_refused_whole() {
        assert!(parse_json_lines(b"\n\n", &format()).is_err());
        assert!(parse_json_lines(b"\x00\x01", &format()).is_err());
    }
}
