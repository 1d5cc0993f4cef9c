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
