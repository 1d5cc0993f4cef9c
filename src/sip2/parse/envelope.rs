//! The envelope around a message body: leading whitespace/control bytes and trailing CR/LF are
//! trimmed (quirk, PROTOCOL.md §1.3 rule 5), the `AY`/`AZ` trailer is split off the END and its
//! checksum verified, and control bytes (and, with `strict_ascii`, bytes above 0x7F) are refused.
//!
//! Owns: `ChecksumPolicy`, `Trailer`. Must not import anything from the crate outside `sip2`.

use super::fields::DELIMITER;
use super::ParseOptions;
use crate::sip2::checksum;
use crate::sip2::error::ParseError;
use crate::sip2::field::FieldId;

/// How strictly the AZ checksum is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum ChecksumPolicy {
    /// Exactly four hex digits (either case).
    #[default]
    Strict,
    /// Also 1–3 hex digits (unpadded checksums, as invenio-sip2 prints values below 0x1000);
    /// the value must still verify.
    Lenient,
}

/// The `AY<n>AZ<xxxx>` trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Trailer {
    /// AY digit (absent in 97/96).
    pub sequence: Option<u8>,
    /// The AZ value as received.
    pub checksum: u16,
}

pub(super) fn reject_resend_sequence(
    body: &[u8],
    trailer: Option<Trailer>,
) -> Result<(), ParseError> {
    match trailer {
        Some(Trailer {
            sequence: Some(_), ..
        }) => Err(ParseError::ResendWithSequence { offset: body.len() }),
        _ => Ok(()),
    }
}

/// Trims the frame, splits off and checks the trailer, scans for forbidden bytes.
pub(super) fn prepare<'a>(
    frame: &'a [u8],
    opts: &ParseOptions,
) -> Result<(&'a [u8], Option<Trailer>), ParseError> {
    let end = frame
        .iter()
        .rposition(|b| !matches!(b, b'\r' | b'\n'))
        .map_or(0, |p| p + 1);
    let frame = &frame[..end];
    let start = frame
        .iter()
        .position(|b| !(b.is_ascii_whitespace() || b.is_ascii_control()))
        .unwrap_or(frame.len());
    let msg = &frame[start..];
    if msg.is_empty() {
        return Err(ParseError::Empty);
    }
    let (body_len, trailer) = trailer(msg, opts.checksum)?;
    for (offset, &byte) in msg.iter().enumerate() {
        if byte < 0x20 || byte == 0x7F {
            return Err(ParseError::ControlChar { offset, byte });
        }
        if opts.strict_ascii && byte > 0x7F {
            return Err(ParseError::NonAscii { offset, byte });
        }
    }
    Ok((&msg[..body_len], trailer))
}

/// Splits an `AY<n>AZxxxx` or `AZxxxx` trailer off the end of `frame` WITHOUT checking it, for
/// links with error detection off: the body, and whether a trailer was there.
pub fn unchecked_trailer(frame: &[u8]) -> (&[u8], bool) {
    let n = frame.len();
    let az = FieldId::Checksum.code();
    if n < 6 || frame[n - 6..n - 4] != az || !frame[n - 4..].iter().all(u8::is_ascii_hexdigit) {
        return (frame, false);
    }
    let z = n - 6;
    let body_len = if sequence_before(frame, z).is_some() {
        z - 3
    } else {
        z
    };
    (&frame[..body_len], true)
}

/// The byte of an `AY<n>` that ends right before `az` (where `AZ` starts), if there is one. A
/// delimiter there ends a field whose value happens to end in "AY" (`…|XXAY|AZ…`); it is never a
/// sequence number.
fn sequence_before(msg: &[u8], az: usize) -> Option<u8> {
    let ay = FieldId::SequenceNumber.code();
    (az >= 3 && msg[az - 3..az - 1] == ay && msg[az - 1] != DELIMITER).then(|| msg[az - 1])
}

/// Finds the trailer at the end of `msg`: returns the body length and the trailer.
fn trailer(msg: &[u8], policy: ChecksumPolicy) -> Result<(usize, Option<Trailer>), ParseError> {
    let n = msg.len();
    let az = FieldId::Checksum.code();
    let ay = FieldId::SequenceNumber.code();
    let found = (1..=4).rev().find_map(|digits| {
        let z = n.checked_sub(digits + 2)?;
        let hex = &msg[z + 2..];
        (msg[z..z + 2] == az && hex.iter().all(u8::is_ascii_hexdigit)).then_some((z, digits))
    });
    let found = found.filter(|&(z, digits)| {
        // A short checksum is only read as one where a trailer is plausible.
        digits == 4
            || z == 2
            || sequence_before(msg, z).is_some()
            || (z > 0 && msg[z - 1] == DELIMITER)
    });
    let Some((z, digits)) = found else {
        // `AY<n>` with no `AZ` after it; a delimiter in the sequence's place ends a field whose
        // value ends in "AY" (`…|AA}AY|`).
        let dangling_ay = n >= 4
            && msg[n - 3..n - 1] == ay
            && msg[n - 1] != DELIMITER
            && !msg[n - 4].is_ascii_alphabetic();
        if dangling_ay {
            return Err(ParseError::MalformedTrailer { offset: n - 3 });
        }
        return Ok((n, None));
    };
    if digits < 4 && policy == ChecksumPolicy::Strict {
        return Err(ParseError::MalformedTrailer { offset: z });
    }
    let value =
        checksum::parse_hex(&msg[z + 2..]).ok_or(ParseError::MalformedTrailer { offset: z })?;
    let seq_byte = sequence_before(msg, z);
    let sequence = seq_byte.filter(u8::is_ascii_digit).map(|b| b - b'0');
    if !checksum::verify(&msg[..z + 2], value) {
        return Err(ParseError::BadChecksum {
            offset: z + 2,
            found: value,
            expected: checksum::compute(&msg[..z + 2]),
            sequence,
        });
    }
    if let (Some(byte), None) = (seq_byte, sequence) {
        return Err(ParseError::BadSequence {
            offset: z - 1,
            byte: char::from(byte),
        });
    }
    let body_len = if seq_byte.is_some() { z - 3 } else { z };
    Ok((
        body_len,
        Some(Trailer {
            sequence,
            checksum: value,
        }),
    ))
}
