//! Why a SIP2 message was rejected, and where (offsets count from the first byte of the command
//! code, after any leading whitespace or control bytes were skipped).
//!
//! Owns: `ParseError` and `ErrorKind`. Must not import anything from the crate outside `sip2`.

use super::field::FieldId;

/// A message that could not be parsed. Values of credential fields never appear here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Nothing but whitespace or control bytes.
    #[error("empty message")]
    Empty,
    /// The checksum does not verify. `sequence` is the request's AY digit, if readable, so the
    /// server can answer 96.
    #[error("bad checksum {found:04X} at offset {offset} (expected {expected:04X})")]
    BadChecksum {
        offset: usize,
        found: u16,
        expected: u16,
        sequence: Option<u8>,
    },
    /// An `AY`/`AZ` trailer that is cut short or misplaced (`AY1` alone, `AZ` with fewer than
    /// 4 hex digits in strict mode, `AY1|AZ…`).
    #[error("malformed AY/AZ trailer at offset {offset}")]
    MalformedTrailer { offset: usize },
    /// The AY sequence number is not a digit.
    #[error("sequence number {byte:?} at offset {offset} is not a digit")]
    BadSequence { offset: usize, byte: char },
    /// A 97/96 carries AY (only when `ParseOptions::strict_resend` is set).
    #[error("resend message carries a sequence number at offset {offset}")]
    ResendWithSequence { offset: usize },
    /// NUL, CR, LF or another control byte inside the message.
    #[error("control byte 0x{byte:02X} at offset {offset}")]
    ControlChar { offset: usize, byte: u8 },
    /// A byte above 0x7F (only when `ParseOptions::strict_ascii` is set).
    #[error("non-ASCII byte 0x{byte:02X} at offset {offset}")]
    NonAscii { offset: usize, byte: u8 },
    /// The command code is not a SIP2 message of the expected direction.
    #[error("unknown command code {code:?}")]
    UnknownCommand { code: String },
    /// The message ends inside a fixed-length field.
    #[error("truncated fixed field {field} at offset {offset}")]
    TruncatedFixed { offset: usize, field: &'static str },
    /// A fixed-length field holds a value outside its format.
    #[error("bad value {value:?} for fixed field {field} at offset {offset}")]
    BadFixedValue {
        offset: usize,
        field: &'static str,
        value: String,
    },
    /// A field identifier that is not two upper-case letters.
    #[error("bad field identifier {id:?} at offset {offset}")]
    BadFieldId { offset: usize, id: String },
    /// A required field is absent (often a swallowed delimiter).
    #[error("missing required field {field} ({})", field.name())]
    MissingField { field: FieldId },
    /// A request field that the answer repeats (AO, AA, AB) holds a credential identifier
    /// followed by a value: a missing delimiter let it swallow the PIN or password. Answered
    /// without echoing it; the value is never kept here.
    #[error(
        "field {field} swallowed a credential identifier at offset {offset} (missing delimiter)"
    )]
    SwallowedCredential { offset: usize, field: FieldId },
    /// A field with a constrained value (Y/N flag, date, BX) holds something else (often a
    /// missing delimiter, e.g. `BLYBV7.00`).
    #[error("bad value {value:?} for field {field} at offset {offset}")]
    BadFieldValue {
        offset: usize,
        field: FieldId,
        value: String,
    },
}

/// A coarse classification matching the reason codes of `vectors.txt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Empty,
    BadChecksum,
    MalformedTrailer,
    BadSequence,
    ResendWithSeq,
    ControlChar,
    NonAscii,
    UnknownCommand,
    TruncatedFixed,
    BadFixedValue,
    BadFieldId,
    /// Reported for `MISSING_DELIMITER` vectors, together with `BadFlagValue`.
    MissingField,
    /// Reported for `MISSING_DELIMITER` vectors, together with `MissingField`.
    BadFlagValue,
}

impl ErrorKind {
    /// The reason code used in `vectors.txt` (`MISSING_DELIMITER` for both field kinds).
    pub fn reason_code(self) -> &'static str {
        match self {
            ErrorKind::Empty => "EMPTY",
            ErrorKind::BadChecksum => "BAD_CHECKSUM",
            ErrorKind::MalformedTrailer => "MALFORMED_TRAILER",
            ErrorKind::BadSequence => "BAD_SEQUENCE",
            ErrorKind::ResendWithSeq => "RESEND_WITH_SEQ",
            ErrorKind::ControlChar => "CONTROL_CHAR",
            ErrorKind::NonAscii => "NON_ASCII",
            ErrorKind::UnknownCommand => "UNKNOWN_COMMAND",
            ErrorKind::TruncatedFixed => "TRUNCATED_FIXED",
            ErrorKind::BadFixedValue => "BAD_FIXED_VALUE",
            ErrorKind::BadFieldId => "BAD_FIELD_ID",
            ErrorKind::MissingField | ErrorKind::BadFlagValue => "MISSING_DELIMITER",
        }
    }
}

impl ParseError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ParseError::Empty => ErrorKind::Empty,
            ParseError::BadChecksum { .. } => ErrorKind::BadChecksum,
            ParseError::MalformedTrailer { .. } => ErrorKind::MalformedTrailer,
            ParseError::BadSequence { .. } => ErrorKind::BadSequence,
            ParseError::ResendWithSequence { .. } => ErrorKind::ResendWithSeq,
            ParseError::ControlChar { .. } => ErrorKind::ControlChar,
            ParseError::NonAscii { .. } => ErrorKind::NonAscii,
            ParseError::UnknownCommand { .. } => ErrorKind::UnknownCommand,
            ParseError::TruncatedFixed { .. } => ErrorKind::TruncatedFixed,
            ParseError::BadFixedValue { .. } => ErrorKind::BadFixedValue,
            ParseError::BadFieldId { .. } => ErrorKind::BadFieldId,
            ParseError::MissingField { .. } | ParseError::SwallowedCredential { .. } => {
                ErrorKind::MissingField
            }
            ParseError::BadFieldValue { .. } => ErrorKind::BadFlagValue,
        }
    }

    /// The sequence number of a message that failed its checksum (for the 96 answer).
    pub fn sequence(&self) -> Option<u8> {
        match self {
            ParseError::BadChecksum { sequence, .. } => *sequence,
            _ => None,
        }
    }
}
