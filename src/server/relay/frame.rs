//! The bytes the relay moves: a request body made ready for the upstream (the patron PIN and
//! the terminal's own secret taken out, the text re-coded for the upstream's charset), and the
//! upstream's answer split from its own trailer (checked) and re-coded for the terminal.
//!
//! Owns: field removal, trailer handling on the upstream side, charset re-coding. Works on
//! bytes with `sip2`'s field table and checksum; must not log (bodies may hold a PIN).

use crate::auth::ErrorDetection;
use crate::sip2::checksum;
use crate::sip2::{Charset, FieldId};

const DELIMITER: u8 = b'|';

/// Why an upstream frame was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FrameError {
    #[error("upstream answer has a bad checksum")]
    BadChecksum,
    #[error("upstream answer has no trailer though error detection is required")]
    TrailerMissing,
}

/// `body` without every field whose identifier is one of `ids`. A field starts after a `|`; the
/// first field after the fixed part never is AD or AC in any message that carries them (AO
/// comes first), and the caller re-parses the result to be sure.
pub(crate) fn without_fields(body: &[u8], ids: &[FieldId]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.iter().position(|&b| b == DELIMITER) {
        out.extend_from_slice(&rest[..=at]);
        rest = &rest[at + 1..];
        if rest.len() >= 2 && ids.iter().any(|id| rest[..2] == id.code()) {
            let end = rest
                .iter()
                .position(|&b| b == DELIMITER)
                .map_or(rest.len(), |p| p + 1);
            rest = &rest[end..];
        }
    }
    out.extend_from_slice(rest);
    out
}

/// `body` with the value of every `id` field emptied (kept as the bare identifier): for a
/// required field such as AC, whose value must not leave this server.
pub(crate) fn with_empty_field(body: &[u8], id: FieldId) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.iter().position(|&b| b == DELIMITER) {
        out.extend_from_slice(&rest[..=at]);
        rest = &rest[at + 1..];
        if rest.len() >= 2 && rest[..2] == id.code() {
            out.extend_from_slice(&rest[..2]);
            let end = rest
                .iter()
                .position(|&b| b == DELIMITER)
                .unwrap_or(rest.len());
            rest = &rest[end..];
        }
    }
    out.extend_from_slice(rest);
    out
}

/// `body` followed by the upstream-side trailer (`AY<n>AZxxxx`) unless error detection is off,
/// and the terminator.
pub(crate) fn sealed(body: &[u8], detection: ErrorDetection, sequence: u8, end: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 12);
    out.extend_from_slice(body);
    if detection != ErrorDetection::Off {
        out.extend_from_slice(&FieldId::SequenceNumber.code());
        out.push(b'0' + sequence % 10);
        out.extend_from_slice(&FieldId::Checksum.code());
        let value = checksum::compute(&out);
        out.extend_from_slice(format!("{value:04X}").as_bytes());
    }
    out.extend_from_slice(end);
    out
}

/// The upstream's answer without its trailer (checked unless error detection is off).
pub(crate) fn unsealed(frame: &[u8], detection: ErrorDetection) -> Result<&[u8], FrameError> {
    let (body, carried) = crate::sip2::parse::unchecked_trailer(frame);
    if detection == ErrorDetection::Off {
        return Ok(body);
    }
    if !carried {
        return match detection {
            ErrorDetection::Required => Err(FrameError::TrailerMissing),
            _ => Ok(body),
        };
    }
    let n = frame.len();
    let value = std::str::from_utf8(&frame[n - 4..])
        .ok()
        .and_then(|hex| u16::from_str_radix(hex, 16).ok())
        .ok_or(FrameError::BadChecksum)?;
    if checksum::compute(&frame[..n - 4]) != value {
        return Err(FrameError::BadChecksum);
    }
    Ok(body)
}

/// `bytes` re-coded from charset `from` to `to` (unchanged when they are the same).
pub(crate) fn recoded(bytes: &[u8], from: Charset, to: Charset) -> Vec<u8> {
    if from == to || bytes.is_ascii() {
        return bytes.to_vec();
    }
    to.encode(&from.decode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pin_field_is_taken_out_wherever_it_stands() {
        let body = b"11YN20250314    093000                  AOMAIN|AA2123|AB39|AC|AD7391|BON";
        let out = without_fields(body, &[FieldId::PatronPassword]);
        assert_eq!(
            out,
            b"11YN20250314    093000                  AOMAIN|AA2123|AB39|AC|BON".to_vec()
        );
        let last = without_fields(b"23000AOMAIN|AA2|AD1234|", &[FieldId::PatronPassword]);
        assert_eq!(last, b"23000AOMAIN|AA2|".to_vec());
        let end = without_fields(b"23000AOMAIN|AA2|AD1234", &[FieldId::PatronPassword]);
        assert_eq!(end, b"23000AOMAIN|AA2|".to_vec());
    }

    #[test]
    fn the_terminal_secret_is_emptied_but_its_field_kept() {
        let out = with_empty_field(b"09N1AOMAIN|AB39|ACsecret|CHx", FieldId::TerminalPassword);
        assert_eq!(out, b"09N1AOMAIN|AB39|AC|CHx".to_vec());
    }

    #[test]
    fn trailers_are_made_and_checked_on_the_upstream_side() {
        let framed = sealed(b"9300CNa|COb|", ErrorDetection::Auto, 3, b"\r");
        let frame = &framed[..framed.len() - 1];
        assert!(frame.ends_with(&frame[frame.len() - 4..]));
        assert_eq!(
            unsealed(frame, ErrorDetection::Auto),
            Ok(&b"9300CNa|COb|"[..])
        );
        let mut bad = frame.to_vec();
        let last = bad.len() - 1;
        bad[last] = if bad[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            unsealed(&bad, ErrorDetection::Auto),
            Err(FrameError::BadChecksum)
        );
        assert_eq!(
            unsealed(b"941", ErrorDetection::Required),
            Err(FrameError::TrailerMissing)
        );
        assert_eq!(
            sealed(b"941", ErrorDetection::Off, 0, b"\r\n"),
            b"941\r\n".to_vec()
        );
    }
}
