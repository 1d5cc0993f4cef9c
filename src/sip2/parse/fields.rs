//! The parts of a message body after its command code: fixed fields read in spec order through
//! their `FixedFormat`, then identified fields split on `|` and taken by type ([`TakeField`]).
//!
//! Field rules: empty segments (`||`) are ignored; a last field without `|` is accepted; a
//! non-repeatable field that appears twice keeps its FIRST value (SIPServer/Koha, §1.6); fields
//! a message does not define (unknown extensions included) are kept in `extra`, except
//! credentials (AC, AD, CO), which are dropped rather than kept as plain text. AC and AD are
//! always optional; `None` = absent, `Some(empty)` = `AD|`.
//!
//! Values are borrowed from the frame (`TakeField::View`); the owned message copies them.
//!
//! Owns: `Cx`, `RawField`, `FieldList`, `TakeField`. Must not import anything from the crate outside `sip2`.

use std::borrow::Cow;

use nom::bytes::complete::{take_till, take_while_m_n};
use nom::{IResult, Parser};
use smallvec::SmallVec;

use super::ParseOptions;
use crate::sip2::date::SipDate;
use crate::sip2::error::ParseError;
use crate::sip2::field::{swallowed_secret, FieldId};
use crate::sip2::fixed::{FixedError, FixedFormat};
use crate::sip2::secret::{Secret, SecretView};
use crate::sip2::status::SupportedMessages;

/// One identified field as found in the message. No `Debug`: the value may be a credential.
#[derive(Clone, Copy)]
pub struct RawField<'a> {
    pub id: FieldId,
    pub value: &'a [u8],
    pub offset: usize,
}

/// Parsing context: options plus the body, to turn remaining input into offsets.
pub struct Cx<'a> {
    pub opts: &'a ParseOptions,
    len: usize,
    /// A request: a field the answer repeats must not hold a swallowed credential.
    request: bool,
}

/// The identified fields of one message, in arrival order. A request has a handful; they stay
/// on the stack unless a message carries more than `FIELDS_INLINE`.
pub(crate) type FieldList<'a> = SmallVec<[RawField<'a>; FIELDS_INLINE]>;

const FIELDS_INLINE: usize = 16;

/// Fields a message does not define, borrowed from the frame (see [`own_extra`]).
pub type Extra<'a> = Vec<(FieldId, Cow<'a, str>)>;

/// The owned copy of a message's `extra` fields.
pub(crate) fn own_extra(extra: Extra<'_>) -> Vec<(FieldId, String)> {
    extra
        .into_iter()
        .map(|(id, value)| (id, value.into_owned()))
        .collect()
}

/// Separates identified fields.
pub(super) const DELIMITER: u8 = b'|';

/// `field identifier`: two upper-case letters.
fn field_identifier(input: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while_m_n(2, 2, |b: u8| b.is_ascii_uppercase()).parse(input)
}

/// `field segment`: everything up to the next delimiter.
fn field_segment(input: &[u8]) -> IResult<&[u8], &[u8]> {
    take_till(|b| b == DELIMITER).parse(input)
}

impl<'a> Cx<'a> {
    pub(super) fn new(opts: &'a ParseOptions, body: &[u8]) -> Cx<'a> {
        Cx {
            opts,
            len: body.len(),
            request: false,
        }
    }

    /// The context of a request (SC -> ACS), whose echoed fields are guarded.
    pub(super) fn request(opts: &'a ParseOptions, body: &[u8]) -> Cx<'a> {
        Cx {
            request: true,
            ..Cx::new(opts, body)
        }
    }

    fn offset(&self, rest: &[u8]) -> usize {
        self.len - rest.len()
    }

    /// Reads one fixed field with format `F`; `name` is reported in errors.
    pub(crate) fn fixed<'i, F: FixedFormat>(
        &self,
        input: &'i [u8],
        name: &'static str,
    ) -> Result<(&'i [u8], F::Value), ParseError> {
        F::parse(input, self.opts).map_err(|e| match e {
            nom::Err::Error(FixedError::Bad { at, width })
            | nom::Err::Failure(FixedError::Bad { at, width }) => ParseError::BadFixedValue {
                offset: self.offset(at),
                field: name,
                value: shown_value(&at[..width.min(at.len())]),
            },
            _ => ParseError::TruncatedFixed {
                offset: self.offset(input),
                field: name,
            },
        })
    }

    /// Splits the identified part into fields.
    pub(crate) fn fields<'i>(&self, mut rest: &'i [u8]) -> Result<FieldList<'i>, ParseError> {
        let mut out = FieldList::new();
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
            if !id.is_body_field() {
                return Err(ParseError::MalformedTrailer { offset });
            }
            if self.request && id.is_echoed() {
                if let Some(at) = swallowed_secret(value) {
                    return Err(ParseError::SwallowedCredential {
                        offset: offset + 2 + at,
                        field: id,
                    });
                }
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
    pub(crate) fn extra<'i>(&self, fields: &[RawField<'i>], declared: &[FieldId]) -> Extra<'i> {
        fields
            .iter()
            .filter(|f| !declared.contains(&f.id) && !f.id.is_secret())
            .map(|f| (f.id, self.text(f.value)))
            .collect()
    }

    /// A value as text in the terminal's charset, borrowed from the frame when it already is.
    fn text<'i>(&self, raw: &'i [u8]) -> Cow<'i, str> {
        self.opts.charset.decode(raw)
    }
}

/// How a typed field value is taken from the field list: borrowed from the frame as its
/// `View`, then owned by [`TakeField::own`] when the typed message is built.
pub trait TakeField: Sized {
    /// The value as it borrows from the frame.
    type View<'a>;
    fn take<'a>(
        fields: &[RawField<'a>],
        id: FieldId,
        cx: &Cx<'_>,
    ) -> Result<Self::View<'a>, ParseError>;
    fn own(view: Self::View<'_>) -> Self;
}

fn first<'f, 'a>(fields: &'f [RawField<'a>], id: FieldId) -> Option<&'f RawField<'a>> {
    fields.iter().find(|f| f.id == id)
}

/// A required text field.
impl TakeField for String {
    type View<'a> = Cow<'a, str>;
    fn take<'a>(
        fields: &[RawField<'a>],
        id: FieldId,
        cx: &Cx<'_>,
    ) -> Result<Cow<'a, str>, ParseError> {
        first(fields, id)
            .map(|f| cx.text(f.value))
            .ok_or(ParseError::MissingField { field: id })
    }
    fn own(view: Cow<'_, str>) -> String {
        view.into_owned()
    }
}

/// An optional text field.
impl TakeField for Option<String> {
    type View<'a> = Option<Cow<'a, str>>;
    fn take<'a>(
        fields: &[RawField<'a>],
        id: FieldId,
        cx: &Cx<'_>,
    ) -> Result<Self::View<'a>, ParseError> {
        Ok(first(fields, id).map(|f| cx.text(f.value)))
    }
    fn own(view: Option<Cow<'_, str>>) -> Self {
        view.map(Cow::into_owned)
    }
}

/// A repeatable text field, in arrival order.
impl TakeField for Vec<String> {
    type View<'a> = Vec<Cow<'a, str>>;
    fn take<'a>(
        fields: &[RawField<'a>],
        id: FieldId,
        cx: &Cx<'_>,
    ) -> Result<Self::View<'a>, ParseError> {
        Ok(fields
            .iter()
            .filter(|f| f.id == id)
            .map(|f| cx.text(f.value))
            .collect())
    }
    fn own(view: Vec<Cow<'_, str>>) -> Self {
        view.into_iter().map(Cow::into_owned).collect()
    }
}

/// A required credential.
impl TakeField for Secret {
    type View<'a> = SecretView<'a>;
    fn take<'a>(
        fields: &[RawField<'a>],
        id: FieldId,
        cx: &Cx<'_>,
    ) -> Result<SecretView<'a>, ParseError> {
        first(fields, id)
            .map(|f| SecretView::from(cx.text(f.value)))
            .ok_or(ParseError::MissingField { field: id })
    }
    fn own(view: SecretView<'_>) -> Secret {
        view.into_owned()
    }
}

/// An optional credential: `None` = absent, `Some(empty)` = present and empty.
impl TakeField for Option<Secret> {
    type View<'a> = Option<SecretView<'a>>;
    fn take<'a>(
        fields: &[RawField<'a>],
        id: FieldId,
        cx: &Cx<'_>,
    ) -> Result<Self::View<'a>, ParseError> {
        Ok(first(fields, id).map(|f| SecretView::from(cx.text(f.value))))
    }
    fn own(view: Option<SecretView<'_>>) -> Self {
        view.map(SecretView::into_owned)
    }
}

fn bad_value(f: &RawField<'_>) -> ParseError {
    ParseError::BadFieldValue {
        offset: f.offset,
        field: f.id,
        value: shown_value(f.value),
    }
}

/// Longest part of a bad value an error repeats.
const SHOWN_VALUE_BYTES: usize = 32;

/// What an error may repeat of a bad value (fixed or identified): at most `SHOWN_VALUE_BYTES`, and never past a
/// credential identifier swallowed by a missing delimiter (`BOYADsecret` shows `YAD…`), so a
/// PIN or password cannot reach an error message or a log through it.
fn shown_value(raw: &[u8]) -> String {
    let credential_end = raw
        .windows(2)
        .position(|w| FieldId::from_code([w[0], w[1]]).is_secret())
        .map(|at| at + 2);
    let k = credential_end
        .unwrap_or(raw.len())
        .min(SHOWN_VALUE_BYTES)
        .min(raw.len());
    let mut shown = String::from_utf8_lossy(&raw[..k]).into_owned();
    if k < raw.len() {
        shown.push('…');
    }
    shown
}

/// An optional `Y`/`N` flag (BL, CQ, BO, BI, CI).
impl TakeField for Option<bool> {
    type View<'a> = Self;
    fn own(view: Self) -> Self {
        view
    }
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
    type View<'a> = Self;
    fn own(view: Self) -> Self {
        view
    }
    fn take(fields: &[RawField<'_>], id: FieldId, _: &Cx<'_>) -> Result<Self, ParseError> {
        first(fields, id)
            .map(|f| SipDate::from_bytes(f.value).ok_or_else(|| bad_value(f)))
            .transpose()
    }
}

/// BX: `Y`/`N` per position; missing positions are `N`, positions past 16 are ignored.
impl TakeField for SupportedMessages {
    type View<'a> = Self;
    fn own(view: Self) -> Self {
        view
    }
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
