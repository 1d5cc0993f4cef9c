//! Parsing: one frame of bytes (without its terminator) into a typed `Request` or `Response`.
//!
//! Steps, in order: skip leading whitespace/control bytes (quirk, PROTOCOL.md §1.3 rule 5) and
//! any trailing CR/LF; strip the `AY`/`AZ` trailer from the END and verify the checksum; reject
//! control bytes (and, with `strict_ascii`, bytes above 0x7F); read the command code, the fixed
//! fields in spec order and the identified fields in any order.
//!
//! Field rules: empty segments (`||`) are ignored; a last field without `|` is accepted; a
//! non-repeatable field that appears twice keeps its FIRST value (SIPServer/Koha, §1.6); fields
//! a message does not define (unknown extensions included) are kept in `extra`, except
//! credentials (AC, AD, CO), which are dropped rather than kept as plain text. AC and AD are
//! always optional; `None` = absent, `Some(empty)` = `AD|`.
//!
//! Owns: `ParseOptions`, `Parsed`, `Trailer`, `request`, `response`. Must not import anything
//! from the crate outside `sip2`.

use super::checksum;
use super::date::SipDate;
use super::error::ParseError;
use super::field::FieldId;
use super::fixed::{FixedError, FixedFormat};
use super::message::{Request, Response};
use super::secret::Secret;
use super::status::SupportedMessages;
use super::Charset;
use nom::bytes::complete::{take_till, take_while_m_n};
use nom::{IResult, Parser};

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

/// Parser settings. `Default` = UTF-8, strict checksum, every named quirk tolerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct ParseOptions {
    /// Charset used to decode field values.
    pub charset: Charset,
    /// Checksum reading.
    pub checksum: ChecksumPolicy,
    /// Reject any byte above 0x7F (`NonAscii`), as a plain-ASCII terminal would.
    pub strict_ascii: bool,
    /// Reject the unpadded 2-digit max print width of a 99 (`990401.00`) instead of reading it.
    pub strict_fixed: bool,
    /// Reject a 97/96 that carries AY instead of accepting it.
    pub strict_resend: bool,
}

/// A parsed message and its error-detection trailer, if it had one.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<T> {
    pub message: T,
    pub trailer: Option<Trailer>,
}

/// The `AY<n>AZ<xxxx>` trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Trailer {
    /// AY digit (absent in 97/96).
    pub sequence: Option<u8>,
    /// The AZ value as received.
    pub checksum: u16,
}

/// Parses a request frame (SC → ACS). Unknown or response codes give `UnknownCommand`
/// (the spec says ignore them; the session decides whether to stay silent or answer 96).
pub fn request(frame: &[u8], opts: &ParseOptions) -> Result<Parsed<Request>, ParseError> {
    let (body, trailer) = prepare(frame, opts)?;
    let message = Request::parse_body(body, &Cx::new(opts, body))?;
    if opts.strict_resend && matches!(message, Request::RequestAcsResend(_)) {
        reject_resend_sequence(body, trailer)?;
    }
    Ok(Parsed { message, trailer })
}

/// Parses a response frame (ACS → SC), for the probe client and tests.
pub fn response(frame: &[u8], opts: &ParseOptions) -> Result<Parsed<Response>, ParseError> {
    let (body, trailer) = prepare(frame, opts)?;
    let message = Response::parse_body(body, &Cx::new(opts, body))?;
    if opts.strict_resend && matches!(message, Response::RequestScResend(_)) {
        reject_resend_sequence(body, trailer)?;
    }
    Ok(Parsed { message, trailer })
}

fn reject_resend_sequence(body: &[u8], trailer: Option<Trailer>) -> Result<(), ParseError> {
    match trailer {
        Some(Trailer {
            sequence: Some(_), ..
        }) => Err(ParseError::ResendWithSequence { offset: body.len() }),
        _ => Ok(()),
    }
}

/// Trims the frame, splits off and checks the trailer, scans for forbidden bytes.
fn prepare<'a>(
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

const AY: [u8; 2] = [b'A', b'Y'];

/// Finds the trailer at the end of `msg`: returns the body length and the trailer.
fn trailer(msg: &[u8], policy: ChecksumPolicy) -> Result<(usize, Option<Trailer>), ParseError> {
    let n = msg.len();
    let az = FieldId::Checksum.code();
    let ay = FieldId::SequenceNumber.code();
    debug_assert_eq!(ay, AY);
    let sequence_before = |z: usize| (z >= 3 && msg[z - 3..z - 1] == ay).then(|| msg[z - 1]);
    let found = (1..=4).rev().find_map(|digits| {
        let z = n.checked_sub(digits + 2)?;
        let hex = &msg[z + 2..];
        (msg[z..z + 2] == az && hex.iter().all(u8::is_ascii_hexdigit)).then_some((z, digits))
    });
    let found = found.filter(|&(z, digits)| {
        // A short checksum is only read as one where a trailer is plausible.
        digits == 4 || z == 2 || sequence_before(z).is_some() || (z > 0 && msg[z - 1] == DELIMITER)
    });
    let Some((z, digits)) = found else {
        let dangling_ay = n >= 4 && msg[n - 3..n - 1] == ay && !msg[n - 4].is_ascii_alphabetic();
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
    let seq_byte = sequence_before(z);
    let sequence = seq_byte.filter(u8::is_ascii_digit).map(|b| b - b'0');
    if !checksum::verify(&msg[..z + 2], value) {
        return Err(ParseError::BadChecksum {
            offset: z + 2,
            found: value,
            expected: checksum::compute(&msg[..z + 2]),
            sequence,
        });
    }
    match seq_byte {
        Some(byte) if sequence.is_none() => Err(ParseError::BadSequence {
            offset: z - 1,
            byte: char::from(byte),
        }),
        Some(_) => Ok((
            z - 3,
            Some(Trailer {
                sequence,
                checksum: value,
            }),
        )),
        None => Ok((
            z,
            Some(Trailer {
                sequence: None,
                checksum: value,
            }),
        )),
    }
}

/// One identified field as found in the message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawField<'a> {
    pub id: FieldId,
    pub value: &'a [u8],
    pub offset: usize,
}

/// Parsing context: options plus the body, to turn remaining input into offsets.
pub(crate) struct Cx<'a> {
    pub opts: &'a ParseOptions,
    len: usize,
}

const DELIMITER: u8 = b'|';

/// `field identifier`: two upper-case letters.
fn field_identifier(input: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while_m_n(2, 2, |b: u8| b.is_ascii_uppercase()).parse(input)
}

/// `field segment`: everything up to the next delimiter.
fn field_segment(input: &[u8]) -> IResult<&[u8], &[u8]> {
    take_till(|b| b == DELIMITER).parse(input)
}

impl<'a> Cx<'a> {
    fn new(opts: &'a ParseOptions, body: &[u8]) -> Cx<'a> {
        Cx {
            opts,
            len: body.len(),
        }
    }

    fn offset(&self, rest: &[u8]) -> usize {
        self.len - rest.len()
    }

    /// Reads one fixed field with format `F`; `name` is reported in errors.
    pub fn fixed<'i, F: FixedFormat>(
        &self,
        input: &'i [u8],
        name: &'static str,
    ) -> Result<(&'i [u8], F::Value), ParseError> {
        F::parse(input, self.opts).map_err(|e| match e {
            nom::Err::Error(FixedError::Bad { at, width })
            | nom::Err::Failure(FixedError::Bad { at, width }) => ParseError::BadFixedValue {
                offset: self.offset(at),
                field: name,
                value: String::from_utf8_lossy(&at[..width.min(at.len())]).into_owned(),
            },
            _ => ParseError::TruncatedFixed {
                offset: self.offset(input),
                field: name,
            },
        })
    }

    /// Splits the identified part into fields.
    pub fn fields<'i>(&self, mut rest: &'i [u8]) -> Result<Vec<RawField<'i>>, ParseError> {
        let mut out = Vec::with_capacity(8);
        while let Some(&first) = rest.first() {
            if first == DELIMITER {
                rest = &rest[1..];
                continue;
            }
            let offset = self.offset(rest);
            let (after, segment) = field_segment(rest).map_err(|_| ParseError::Empty)?;
            let (value, code) = field_identifier(segment).map_err(|_| ParseError::BadFieldId {
                offset,
                id: String::from_utf8_lossy(&segment[..segment.len().min(2)]).into_owned(),
            })?;
            let id = FieldId::from_code([code[0], code[1]]);
            if matches!(id, FieldId::SequenceNumber | FieldId::Checksum) {
                return Err(ParseError::MalformedTrailer { offset });
            }
            out.push(RawField {
                id,
                value,
                offset: offset + 2,
            });
            rest = after;
        }
        Ok(out)
    }

    /// Fields not in `declared`, in arrival order; credentials are dropped.
    pub fn extra(&self, fields: &[RawField<'_>], declared: &[FieldId]) -> Vec<(FieldId, String)> {
        fields
            .iter()
            .filter(|f| !declared.contains(&f.id) && !f.id.is_secret())
            .map(|f| (f.id, self.text(f.value)))
            .collect()
    }

    fn text(&self, raw: &[u8]) -> String {
        self.opts.charset.decode(raw).into_owned()
    }
}

/// How a typed field value is taken from the field list.
pub(crate) trait TakeField: Sized {
    fn take(fields: &[RawField<'_>], id: FieldId, cx: &Cx<'_>) -> Result<Self, ParseError>;
}

fn first<'f, 'a>(fields: &'f [RawField<'a>], id: FieldId) -> Option<&'f RawField<'a>> {
    fields.iter().find(|f| f.id == id)
}

/// A required text field.
impl TakeField for String {
    fn take(fields: &[RawField<'_>], id: FieldId, cx: &Cx<'_>) -> Result<Self, ParseError> {
        first(fields, id)
            .map(|f| cx.text(f.value))
            .ok_or(ParseError::MissingField { field: id })
    }
}

/// An optional text field.
impl TakeField for Option<String> {
    fn take(fields: &[RawField<'_>], id: FieldId, cx: &Cx<'_>) -> Result<Self, ParseError> {
        Ok(first(fields, id).map(|f| cx.text(f.value)))
    }
}

/// A repeatable text field, in arrival order.
impl TakeField for Vec<String> {
    fn take(fields: &[RawField<'_>], id: FieldId, cx: &Cx<'_>) -> Result<Self, ParseError> {
        Ok(fields
            .iter()
            .filter(|f| f.id == id)
            .map(|f| cx.text(f.value))
            .collect())
    }
}

/// A required credential.
impl TakeField for Secret {
    fn take(fields: &[RawField<'_>], id: FieldId, cx: &Cx<'_>) -> Result<Self, ParseError> {
        first(fields, id)
            .map(|f| Secret::from(cx.text(f.value)))
            .ok_or(ParseError::MissingField { field: id })
    }
}

/// An optional credential: `None` = absent, `Some(empty)` = present and empty.
impl TakeField for Option<Secret> {
    fn take(fields: &[RawField<'_>], id: FieldId, cx: &Cx<'_>) -> Result<Self, ParseError> {
        Ok(first(fields, id).map(|f| Secret::from(cx.text(f.value))))
    }
}

fn bad_value(f: &RawField<'_>) -> ParseError {
    ParseError::BadFieldValue {
        offset: f.offset,
        field: f.id,
        value: String::from_utf8_lossy(f.value).into_owned(),
    }
}

/// An optional `Y`/`N` flag (BL, CQ, BO, BI, CI).
impl TakeField for Option<bool> {
    fn take(fields: &[RawField<'_>], id: FieldId, _: &Cx<'_>) -> Result<Self, ParseError> {
        first(fields, id)
            .map(|f| match f.value {
                b"Y" => Ok(true),
                b"N" => Ok(false),
                _ => Err(bad_value(f)),
            })
            .transpose()
    }
}

/// An optional 18-character date field (BW, CJ, CM).
impl TakeField for Option<SipDate> {
    fn take(fields: &[RawField<'_>], id: FieldId, _: &Cx<'_>) -> Result<Self, ParseError> {
        first(fields, id)
            .map(|f| SipDate::from_bytes(f.value).ok_or_else(|| bad_value(f)))
            .transpose()
    }
}

/// BX: `Y`/`N` per position; missing positions are `N`, positions past 16 are ignored.
impl TakeField for SupportedMessages {
    fn take(fields: &[RawField<'_>], id: FieldId, _: &Cx<'_>) -> Result<Self, ParseError> {
        let f = first(fields, id).ok_or(ParseError::MissingField { field: id })?;
        let mut out = SupportedMessages::default();
        for (slot, b) in out.0.iter_mut().zip(f.value) {
            *slot = match b {
                b'Y' => true,
                b'N' => false,
                _ => return Err(bad_value(f)),
            };
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip2::message::{PatronInformationRequest, PatronStatusRequest};
    use crate::sip2::status::{PrintWidth, ProtocolVersion};
    use crate::sip2::ErrorKind;

    fn req(frame: &[u8]) -> Result<Parsed<Request>, ParseError> {
        request(frame, &ParseOptions::default())
    }

    fn patron_status(frame: &[u8]) -> PatronStatusRequest {
        match req(frame).unwrap().message {
            Request::PatronStatusRequest(m) => m,
            other => panic!("not a 23: {other:?}"),
        }
    }

    fn patron_info(frame: &[u8]) -> PatronInformationRequest {
        match req(frame).unwrap().message {
            Request::PatronInformationRequest(m) => m,
            other => panic!("not a 63: {other:?}"),
        }
    }

    #[test]
    fn unpadded_print_width_is_accepted() {
        let Request::ScStatusRequest(m) = req(b"990401.00|").unwrap().message else {
            panic!()
        };
        assert_eq!(
            (m.max_print_width.width, m.protocol_version),
            (40, ProtocolVersion::V1_00)
        );
        let strict = ParseOptions {
            strict_fixed: true,
            ..Default::default()
        };
        assert_eq!(
            request(b"990401.00|", &strict).unwrap_err().kind(),
            ErrorKind::BadFixedValue
        );
    }

    #[test]
    fn space_padded_print_width_is_kept() {
        let Request::ScStatusRequest(m) = req(b"990 802.00").unwrap().message else {
            panic!()
        };
        assert_eq!(
            m.max_print_width,
            PrintWidth {
                width: 80,
                space_padded: true
            }
        );
    }

    #[test]
    fn delimiter_right_after_fixed_fields_is_ignored() {
        assert!(req(b"9920102.00|AY1AZFC29").is_ok());
    }

    #[test]
    fn zone_0000_is_read_as_utc() {
        let m = patron_info(b"63000202503140000093005          AOMAIN|AA1|");
        assert!(m.transaction_date.zone.is_utc());
    }

    #[test]
    fn eighteen_blank_return_date_means_no_date() {
        let frame = b"09N19980821    085721                  APloc|AOinst|ABitem|";
        let Request::CheckinRequest(m) = req(frame).unwrap().message else {
            panic!()
        };
        assert_eq!(m.return_date, None);
    }

    #[test]
    fn missing_final_delimiter_is_accepted() {
        let m = patron_status(b"2300120250314    093000AOMAIN|AA21234000012345|AC|AD1234");
        assert_eq!(m.patron_password, Some(Secret::from("1234")));
    }

    #[test]
    fn lowercase_checksum_hex_is_accepted() {
        let p = req(b"9300CNuser_id|COpassw0rd|AY1AZf594").unwrap();
        assert_eq!(
            p.trailer,
            Some(Trailer {
                sequence: Some(1),
                checksum: 0xF594
            })
        );
    }

    #[test]
    fn unknown_fields_are_kept_in_extra() {
        let m = patron_info(b"6300120250314    093005          AOMAIN|AA1|XYextension value|");
        assert_eq!(
            m.extra,
            [(FieldId::Unknown(*b"XY"), "extension value".to_owned())]
        );
    }

    #[test]
    fn empty_ad_differs_from_absent_ad() {
        let empty = patron_status(b"2300120250314    093000AOMAIN|AA1|AC|AD|");
        assert_eq!(empty.patron_password, Some(Secret::default()));
        assert_eq!(empty.terminal_password, Some(Secret::default()));
        let absent = patron_status(b"2300120250314    093000AOMAIN|AA1|");
        assert_eq!(absent.patron_password, None);
        assert_eq!(absent.terminal_password, None);
    }

    #[test]
    fn renew_all_without_date_is_accepted() {
        let Request::RenewAllRequest(m) = req(b"65AOMAIN|AA1|ADpin|").unwrap().message else {
            panic!()
        };
        assert_eq!(
            (m.transaction_date, m.institution_id.as_str()),
            (None, "MAIN")
        );
    }

    #[test]
    fn leading_whitespace_and_control_bytes_before_the_code_are_skipped() {
        assert!(req(b"\n\x00 \t9900302.00AY1AZFCA5\r\n").is_ok());
    }

    #[test]
    fn repeated_non_repeatable_field_keeps_the_first() {
        let m = patron_status(b"2300120250314    093000AOMAIN|AAfirst|AAsecond|");
        assert_eq!(m.patron_identifier, "first");
        assert!(m.extra.is_empty());
    }

    #[test]
    fn empty_segments_are_ignored() {
        let m = patron_status(b"2300120250314    093000||AOMAIN||AA1|||");
        assert_eq!(m.patron_identifier, "1");
    }

    #[test]
    fn credentials_are_redacted_in_debug_output() {
        let p = req(b"9300CNuser|COsecretpw|CPloc|").unwrap();
        let shown = format!("{p:?}");
        assert!(!shown.contains("secretpw"), "{shown}");
        assert!(shown.contains("[redacted]"));
        let m = patron_status(b"2300120250314    093000AOMAIN|AA1|ACterm|AD9876|");
        assert!(!format!("{m:?}").contains("9876"));
    }

    #[test]
    fn undeclared_credentials_are_dropped_not_kept_as_text() {
        let Request::ItemInformationRequest(m) = req(b"1720250314    093000AOMAIN|ABitem|AD4321|")
            .unwrap()
            .message
        else {
            panic!()
        };
        assert!(m.extra.is_empty());
    }

    #[test]
    fn short_checksum_is_malformed_when_strict_and_verified_when_lenient() {
        let strict = req(b"9900302.00AY1AZFCA").unwrap_err();
        assert_eq!(strict.kind(), ErrorKind::MalformedTrailer);
        let lenient = ParseOptions {
            checksum: ChecksumPolicy::Lenient,
            ..Default::default()
        };
        // FCA is a truncated FCA5, so it does not verify.
        let err = request(b"9900302.00AY1AZFCA", &lenient).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadChecksum);
        // A genuinely unpadded checksum (value below 0x1000) verifies.
        let mut body = b"9900302.00|AF".to_vec();
        while checksum::compute(&[&body[..], b"|AY1AZ"].concat()) >= 0x1000 {
            body.push(b'~');
        }
        body.extend_from_slice(b"|AY1AZ");
        let value = checksum::compute(&body);
        let frame = [&body[..], format!("{value:X}").as_bytes()].concat();
        assert!(frame.len() - body.len() < 4);
        assert!(request(&frame, &lenient).is_ok());
        assert_eq!(req(&frame).unwrap_err().kind(), ErrorKind::MalformedTrailer);
    }

    #[test]
    fn resend_with_sequence_is_accepted_unless_strict() {
        assert!(req(b"97AY3AZFE28").is_ok());
        let strict = ParseOptions {
            strict_resend: true,
            ..Default::default()
        };
        let err = request(b"97AY3AZFE28", &strict).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ResendWithSeq);
    }

    #[test]
    fn non_ascii_is_rejected_only_with_strict_ascii() {
        let frame = b"2300120250314    093000AOMAIN|AAJos\xC3\xA9|";
        assert_eq!(patron_status(frame).patron_identifier, "Jos\u{e9}");
        let strict = ParseOptions {
            strict_ascii: true,
            ..Default::default()
        };
        let err = request(frame, &strict).unwrap_err();
        assert_eq!(
            err,
            ParseError::NonAscii {
                offset: 35,
                byte: 0xC3
            }
        );
    }

    #[test]
    fn errors_say_where() {
        let err = req(b"2300120250314    0930").unwrap_err();
        assert_eq!(
            err,
            ParseError::TruncatedFixed {
                offset: 5,
                field: "transaction_date"
            }
        );
        let err = req(b"2300120250314    093000AOMAIN|aa1|").unwrap_err();
        assert_eq!(
            err,
            ParseError::BadFieldId {
                offset: 30,
                id: "aa".into()
            }
        );
        let err = req(b"XSAY5AZFDEB").unwrap_err();
        assert_eq!(err, ParseError::UnknownCommand { code: "XS".into() });
    }

    #[test]
    fn responses_are_not_requests() {
        assert_eq!(req(b"941").unwrap_err().kind(), ErrorKind::UnknownCommand);
        assert!(response(b"941", &ParseOptions::default()).is_ok());
    }

    #[test]
    fn tiny_and_empty_frames_do_not_panic() {
        for frame in [
            &b""[..],
            b"\r\n",
            b"9",
            b"AZ",
            b"AY1",
            b"|AZ1",
            b"AZFFFF",
            b"97AZ1",
        ] {
            let _ = req(frame);
            let _ = response(frame, &ParseOptions::default());
        }
    }
}
