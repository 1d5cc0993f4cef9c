//! Fixed-length fields (the identifier-less part after the command code): one format per kind
//! of value, each a nom parser paired with its writer.
//!
//! Owns: `FixedFormat` and its formats. Must not import anything from the crate outside `sip2`.

use super::date::{SipDate, DATE_LEN};
use super::parse::ParseOptions;
use super::status::{
    HoldMode, Language, PatronStatus, PrintWidth, ProtocolVersion, Summary, Tristate,
};
use nom::bytes::complete::take;
use nom::{IResult, Parser};

/// Why a fixed field failed, pointing at the input where it starts. No `Debug`: the input runs
/// on to the end of the frame, credentials included.
#[derive(Clone, PartialEq)]
pub(crate) enum FixedError<'a> {
    /// Input ended inside the field.
    Truncated(&'a [u8]),
    /// The field's `width` bytes at `at` do not fit its format.
    Bad { at: &'a [u8], width: usize },
}

impl<'a> nom::error::ParseError<&'a [u8]> for FixedError<'a> {
    fn from_error_kind(input: &'a [u8], kind: nom::error::ErrorKind) -> Self {
        match kind {
            nom::error::ErrorKind::Eof => FixedError::Truncated(input),
            _ => FixedError::Bad {
                at: input,
                width: 1,
            },
        }
    }

    fn append(_: &'a [u8], _: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

pub(crate) type FixedResult<'a, T> = IResult<&'a [u8], T, FixedError<'a>>;

/// A fixed-field format: how a value is read from and written to the wire.
pub(crate) trait FixedFormat {
    type Value;
    fn parse<'a>(input: &'a [u8], opts: &ParseOptions) -> FixedResult<'a, Self::Value>;
    fn write(value: &Self::Value, out: &mut Vec<u8>);
}

/// `width` bytes decoded by `decode`; too few bytes is `Truncated`, `None` is `Bad`.
fn fixed_width<'a, T>(
    width: usize,
    decode: impl Fn(&'a [u8]) -> Option<T>,
) -> impl FnMut(&'a [u8]) -> FixedResult<'a, T> {
    move |input: &'a [u8]| {
        let (rest, raw) = take(width).parse(input)?;
        match decode(raw) {
            Some(value) => Ok((rest, value)),
            None => Err(nom::Err::Error(FixedError::Bad { at: input, width })),
        }
    }
}

/// The decimal value of an all-digit slice.
pub(crate) fn digits(raw: &[u8]) -> Option<u32> {
    if raw.is_empty() || raw.len() > 9 {
        return None;
    }
    raw.iter().try_fold(0u32, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

/// Appends `value` as `width` decimal digits, zero-padded. A value too wide for the field
/// saturates at all nines: a count of 12000 items is sent as `9999`, never as `2000`.
pub(crate) fn push_number(value: u32, width: u32, out: &mut Vec<u8>) {
    let value = value.min(10u32.pow(width) - 1);
    for k in (0..width).rev() {
        // A decimal digit is below 10, so it fits in a byte.
        out.push(b'0' + (value / 10u32.pow(k) % 10) as u8);
    }
}

fn flags<const N: usize>(raw: &[u8], set: u8) -> Option<[bool; N]> {
    let mut out = [false; N];
    for (slot, b) in out.iter_mut().zip(raw) {
        *slot = match *b {
            b' ' => false,
            b if b == set => true,
            _ => return None,
        };
    }
    Some(out)
}

macro_rules! fixed_format {
    ($(#[$m:meta])* $name:ident: $ty:ty, |$i:ident, $o:ident| $parse:expr, |$v:ident, $out:ident| $write:expr) => {
        $(#[$m])*
        pub(crate) struct $name;
        impl FixedFormat for $name {
            type Value = $ty;
            #[allow(unused_variables)]
            fn parse<'a>($i: &'a [u8], $o: &ParseOptions) -> FixedResult<'a, $ty> {
                $parse
            }
            fn write($v: &$ty, $out: &mut Vec<u8>) {
                $write
            }
        }
    };
}

fixed_format!(/// `Y` / `N`.
    YesNo: bool,
    |i, o| fixed_width(1, |r: &[u8]| match r[0] { b'Y' => Some(true), b'N' => Some(false), _ => None })(i),
    |v, out| out.push(if *v { b'Y' } else { b'N' }));

fixed_format!(/// `1` / `0` (ok fields).
    OneZero: bool,
    |i, o| fixed_width(1, |r: &[u8]| match r[0] { b'1' => Some(true), b'0' => Some(false), _ => None })(i),
    |v, out| out.push(if *v { b'1' } else { b'0' }));

fixed_format!(/// `1` = stored, any other printable byte = not stored (20).
    StoredFlag: bool,
    |i, o| fixed_width(1, |r: &[u8]| Some(r[0] == b'1'))(i),
    |v, out| out.push(if *v { b'1' } else { b'0' }));

fixed_format!(/// `Y` / `N` / `U`.
    YesNoUnknown: Tristate,
    |i, o| fixed_width(1, |r: &[u8]| match r[0] {
        b'Y' => Some(Tristate::Yes), b'N' => Some(Tristate::No), b'U' => Some(Tristate::Unknown), _ => None,
    })(i),
    |v, out| out.push(match v { Tristate::Yes => b'Y', Tristate::No => b'N', Tristate::Unknown => b'U' }));

fixed_format!(/// One byte kept as received (93's algorithm fields).
    AnyByte: u8,
    |i, o| fixed_width(1, |r: &[u8]| Some(r[0]))(i),
    |v, out| out.push(if v.is_ascii_control() { b' ' } else { *v }));

fixed_format!(/// One digit (99 status code).
    Digit1: u8,
    |i, o| fixed_width(1, |r: &[u8]| r[0].is_ascii_digit().then(|| r[0] - b'0'))(i),
    |v, out| push_number(u32::from(*v), 1, out));

fixed_format!(/// Two digits.
    Digits2: u8,
    |i, o| fixed_width(2, |r: &[u8]| digits(r).and_then(|n| u8::try_from(n).ok()))(i),
    |v, out| push_number(u32::from(*v), 2, out));

fixed_format!(/// Three digits.
    Digits3: u16,
    |i, o| fixed_width(3, |r: &[u8]| digits(r).and_then(|n| u16::try_from(n).ok()))(i),
    |v, out| push_number(u32::from(*v), 3, out));

fixed_format!(/// Four digits.
    Digits4: u16,
    |i, o| fixed_width(4, |r: &[u8]| digits(r).and_then(|n| u16::try_from(n).ok()))(i),
    |v, out| push_number(u32::from(*v), 4, out));

fixed_format!(/// Item count: four digits, or four blanks = unknown (64).
    Count: Option<u16>,
    |i, o| fixed_width(4, |r: &[u8]| if r == b"    " { Some(None) } else {
        digits(r).and_then(|n| u16::try_from(n).ok()).map(Some)
    })(i),
    |v, out| match v { Some(n) => push_number(u32::from(*n), 4, out), None => out.extend_from_slice(b"    ") });

fixed_format!(/// Language, three digits. Quirk (PROTOCOL.md §5.5: "echo the request's language if it is
    /// 3 digits, else 000"): three other printable bytes read as `000` (unknown) unless
    /// `strict_fixed`; a delimiter or control byte there still means a broken fixed part.
    Lang: Language,
    |i, o| fixed_width(3, |r: &[u8]| match digits(r).and_then(|n| u16::try_from(n).ok()) {
        Some(n) => Some(Language(n)),
        None if !o.strict_fixed && r.iter().all(|b| (b.is_ascii_graphic() && *b != b'|') || *b == b' ') => {
            Some(Language::UNKNOWN)
        }
        None => None,
    })(i),
    |v, out| push_number(u32::from(v.0), 3, out));

fixed_format!(/// A required 18-character date.
    Date: SipDate,
    |i, o| fixed_width(DATE_LEN, SipDate::from_bytes)(i),
    |v, out| v.write(out));

fixed_format!(/// A date where 18 blanks mean "no date" (nb due date, return date).
    NbDate: Option<SipDate>,
    |i, o| fixed_width(DATE_LEN, |r: &[u8]| if r.iter().all(|b| *b == b' ') { Some(None) } else {
        SipDate::from_bytes(r).map(Some)
    })(i),
    |v, out| match v { Some(d) => d.write(out), None => out.extend_from_slice(&[b' '; DATE_LEN]) });

fixed_format!(/// 98 date/time sync: 18 zeros mean "not supported".
    SyncDate: Option<SipDate>,
    |i, o| fixed_width(DATE_LEN, |r: &[u8]| if r.iter().all(|b| *b == b'0') { Some(None) } else {
        SipDate::from_bytes(r).map(Some)
    })(i),
    |v, out| match v { Some(d) => d.write(out), None => out.extend_from_slice(&[b'0'; DATE_LEN]) });

fixed_format!(/// Quirk "65 without its date" (php-sip2): a date that may be left out entirely, detected
    /// by a field identifier (upper-case letter) or the end of the message where it should be.
    MaybeDate: Option<SipDate>,
    |i, o| match i.first() {
        None => Ok((i, None)),
        Some(b) if b.is_ascii_uppercase() => Ok((i, None)),
        Some(_) => fixed_width(DATE_LEN, SipDate::from_bytes).parse(i).map(|(r, d)| (r, Some(d))),
    },
    |v, out| if let Some(d) = v { d.write(out) });

fixed_format!(/// Patron status: 14 × `Y`/blank (never `N`).
    Status: PatronStatus,
    |i, o| fixed_width(PatronStatus::LEN, |r: &[u8]| flags(r, b'Y').map(PatronStatus))(i),
    |v, out| out.extend(v.0.iter().map(|b| if *b { b'Y' } else { b' ' })));

fixed_format!(/// Summary: 10 × `Y`/blank.
    SummaryF: Summary,
    |i, o| fixed_width(Summary::LEN, |r: &[u8]| flags(r, b'Y').map(Summary))(i),
    |v, out| out.extend(v.0.iter().map(|b| if *b { b'Y' } else { b' ' })));

fixed_format!(/// Hold mode `+`, `-`, `*`.
    Hold: HoldMode,
    |i, o| fixed_width(1, |r: &[u8]| match r[0] {
        b'+' => Some(HoldMode::Add), b'-' => Some(HoldMode::Delete), b'*' => Some(HoldMode::Change), _ => None,
    })(i),
    |v, out| out.push(match v { HoldMode::Add => b'+', HoldMode::Delete => b'-', HoldMode::Change => b'*' }));

fixed_format!(/// Currency type: three upper-case letters (37). Written upper-cased; a value that is not
/// three ASCII letters is written `XXX`, ISO 4217's "no currency", which parses back.
Currency: String,
|i, o| fixed_width(3, |r: &[u8]| r.iter().all(u8::is_ascii_uppercase)
    .then(|| String::from_utf8_lossy(r).into_owned()))(i),
|v, out| {
    let b = v.as_bytes();
    if b.len() == 3 && b.iter().all(u8::is_ascii_alphabetic) {
        out.extend(b.iter().map(u8::to_ascii_uppercase));
    } else {
        out.extend_from_slice(b"XXX");
    }
});

fixed_format!(/// Protocol version `d.dd`.
Version: ProtocolVersion,
|i, o| fixed_width(4, version)(i),
|v, out| {
    push_number(u32::from(v.major), 1, out);
    out.push(b'.');
    push_number(u32::from(v.minor), 2, out);
});

fn version(raw: &[u8]) -> Option<ProtocolVersion> {
    match raw {
        [major, b'.', minor @ ..] if major.is_ascii_digit() => Some(ProtocolVersion {
            major: major - b'0',
            minor: u8::try_from(digits(minor)?).ok()?,
        }),
        _ => None,
    }
}

fn print_width(raw: &[u8]) -> Option<PrintWidth> {
    let blanks = raw.iter().take_while(|b| **b == b' ').count();
    let width = u16::try_from(digits(&raw[blanks..])?).ok()?;
    Some(PrintWidth {
        width,
        space_padded: blanks > 0,
    })
}

fixed_format!(/// Max print width of a 99: three digits (zero- or space-padded). Quirk: node-sip2 sends two
/// digits unpadded (`990401.00`); unless `strict_fixed` is set, two digits are taken when
/// that is the only reading under which a valid version follows.
Width: PrintWidth,
|i, o| {
    let version_at = |k: usize| i.get(k..k + 4).and_then(version).is_some();
    let unpadded = !o.strict_fixed && !version_at(3) && version_at(2);
    fixed_width(if unpadded { 2 } else { 3 }, print_width)(i)
},
|v, out| {
    if v.space_padded && v.width < 100 {
        let pad: u32 = if v.width < 10 { 2 } else { 1 };
        out.extend_from_slice(&b"  "[..pad as usize]);
        push_number(u32::from(v.width), 3 - pad, out);
    } else {
        push_number(u32::from(v.width), 3, out);
    }
});
