//! Character sets at the edge of the protocol (PROTOCOL.md §1.4): decoding received field
//! values and encoding outgoing text in the terminal's charset.
//!
//! Decoding never fails: with `Utf8`, bytes that are not valid UTF-8 are read as Latin-1
//! (which maps every byte, so nothing is lost). Encoding replaces characters the charset cannot
//! represent with `?`.
//!
//! Owns: `Charset` and the code page 850 table. Must not import anything from the crate outside
//! `sip2`.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// The character set a terminal uses on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Charset {
    /// UTF-8 (default). Invalid sequences fall back to Latin-1 when decoding.
    #[default]
    Utf8,
    /// ISO 8859-1.
    Latin1,
    /// IBM code page 850 ("English 850", the spec's default).
    Cp850,
}

/// Unknown charset name given to `Charset::from_str`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown charset {0:?} (expected utf-8, latin-1 or cp850)")]
pub struct UnknownCharset(pub String);

impl FromStr for Charset {
    type Err = UnknownCharset;

    fn from_str(s: &str) -> Result<Charset, UnknownCharset> {
        match s.to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Ok(Charset::Utf8),
            "latin-1" | "latin1" | "iso-8859-1" => Ok(Charset::Latin1),
            "cp850" | "ibm850" => Ok(Charset::Cp850),
            _ => Err(UnknownCharset(s.to_owned())),
        }
    }
}

impl fmt::Display for Charset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Charset::Utf8 => "utf-8",
            Charset::Latin1 => "latin-1",
            Charset::Cp850 => "cp850",
        })
    }
}

/// Code page 850, bytes 0x80..=0xFF. The lower half is ASCII.
const CP850_HIGH: [char; 128] = [
    '\u{00C7}', '\u{00FC}', '\u{00E9}', '\u{00E2}', '\u{00E4}', '\u{00E0}', '\u{00E5}', '\u{00E7}',
    '\u{00EA}', '\u{00EB}', '\u{00E8}', '\u{00EF}', '\u{00EE}', '\u{00EC}', '\u{00C4}', '\u{00C5}',
    '\u{00C9}', '\u{00E6}', '\u{00C6}', '\u{00F4}', '\u{00F6}', '\u{00F2}', '\u{00FB}', '\u{00F9}',
    '\u{00FF}', '\u{00D6}', '\u{00DC}', '\u{00F8}', '\u{00A3}', '\u{00D8}', '\u{00D7}', '\u{0192}',
    '\u{00E1}', '\u{00ED}', '\u{00F3}', '\u{00FA}', '\u{00F1}', '\u{00D1}', '\u{00AA}', '\u{00BA}',
    '\u{00BF}', '\u{00AE}', '\u{00AC}', '\u{00BD}', '\u{00BC}', '\u{00A1}', '\u{00AB}', '\u{00BB}',
    '\u{2591}', '\u{2592}', '\u{2593}', '\u{2502}', '\u{2524}', '\u{00C1}', '\u{00C2}', '\u{00C0}',
    '\u{00A9}', '\u{2563}', '\u{2551}', '\u{2557}', '\u{255D}', '\u{00A2}', '\u{00A5}', '\u{2510}',
    '\u{2514}', '\u{2534}', '\u{252C}', '\u{251C}', '\u{2500}', '\u{253C}', '\u{00E3}', '\u{00C3}',
    '\u{255A}', '\u{2554}', '\u{2569}', '\u{2566}', '\u{2560}', '\u{2550}', '\u{256C}', '\u{00A4}',
    '\u{00F0}', '\u{00D0}', '\u{00CA}', '\u{00CB}', '\u{00C8}', '\u{0131}', '\u{00CD}', '\u{00CE}',
    '\u{00CF}', '\u{2518}', '\u{250C}', '\u{2588}', '\u{2584}', '\u{00A6}', '\u{00CC}', '\u{2580}',
    '\u{00D3}', '\u{00DF}', '\u{00D4}', '\u{00D2}', '\u{00F5}', '\u{00D5}', '\u{00B5}', '\u{00FE}',
    '\u{00DE}', '\u{00DA}', '\u{00DB}', '\u{00D9}', '\u{00FD}', '\u{00DD}', '\u{00AF}', '\u{00B4}',
    '\u{00AD}', '\u{00B1}', '\u{2017}', '\u{00BE}', '\u{00B6}', '\u{00A7}', '\u{00F7}', '\u{00B8}',
    '\u{00B0}', '\u{00A8}', '\u{00B7}', '\u{00B9}', '\u{00B3}', '\u{00B2}', '\u{25A0}', '\u{00A0}',
];

impl Charset {
    /// Decodes received bytes. Never fails (see the module header for the UTF-8 fallback).
    pub(crate) fn decode<'a>(self, bytes: &'a [u8]) -> Cow<'a, str> {
        if let Ok(text) = std::str::from_utf8(bytes) {
            if self == Charset::Utf8 || text.is_ascii() {
                return Cow::Borrowed(text);
            }
        }
        let high: fn(u8) -> char = match self {
            Charset::Cp850 => |b| CP850_HIGH[usize::from(b - 0x80)],
            Charset::Utf8 | Charset::Latin1 => char::from,
        };
        Cow::Owned(
            bytes
                .iter()
                .map(|&b| if b < 0x80 { char::from(b) } else { high(b) })
                .collect(),
        )
    }

    /// Appends one character in this charset; `?` if it has no representation.
    pub(crate) fn encode_char(self, c: char, out: &mut Vec<u8>) {
        if c.is_ascii() {
            out.push(c as u8);
            return;
        }
        match self {
            Charset::Utf8 => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            Charset::Latin1 => out.push(u8::try_from(u32::from(c)).unwrap_or(b'?')),
            Charset::Cp850 => {
                let pos = CP850_HIGH.iter().position(|&h| h == c);
                // `pos` < 128, so 0x80 + pos is a byte.
                out.push(pos.map_or(b'?', |p| 0x80 + p as u8));
            }
        }
    }

    /// Encodes a whole string in this charset (the relay re-codes between a terminal's and its
    /// upstream's).
    pub(crate) fn encode(self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len());
        for c in text.chars() {
            self.encode_char(c, &mut out);
        }
        out
    }

    /// Whether one character may be cut after any byte (single-byte charsets).
    pub(crate) fn is_single_byte(self) -> bool {
        self != Charset::Utf8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for cs in [Charset::Utf8, Charset::Latin1, Charset::Cp850] {
            assert_eq!(cs.to_string().parse::<Charset>(), Ok(cs));
        }
        assert!("ebcdic".parse::<Charset>().is_err());
        assert_eq!(Charset::default(), Charset::Utf8);
    }

    #[test]
    fn invalid_utf8_falls_back_to_latin1() {
        assert_eq!(Charset::Utf8.decode(b"Jos\xE9"), "Jos\u{e9}");
        assert_eq!(Charset::Utf8.decode(b"Jos\xC3\xA9"), "Jos\u{e9}");
    }

    #[test]
    fn cp850_decodes_and_encodes_e_acute_as_0x82() {
        assert_eq!(Charset::Cp850.decode(b"Jos\x82"), "Jos\u{e9}");
        assert_eq!(Charset::Cp850.encode("Jos\u{e9}"), b"Jos\x82");
    }

    #[test]
    fn unencodable_characters_become_question_marks() {
        assert_eq!(Charset::Latin1.encode("a\u{2603}b"), b"a?b");
        assert_eq!(Charset::Cp850.encode("\u{20AC}"), b"?");
    }

    #[test]
    fn every_cp850_byte_round_trips() {
        let all: Vec<u8> = (0x20..=0xFF).filter(|b| *b != 0x7F).collect();
        let text = Charset::Cp850.decode(&all);
        assert_eq!(Charset::Cp850.encode(&text), all);
    }
}
