//! SIP2 dates: `YYYYMMDDZZZZHHMMSS`, 18 characters (PROTOCOL.md §1.7).
//!
//! The zone part is kept as received so a date re-encodes byte for byte: four blanks are local
//! time, `   Z` is UTC, `0000` (sent by some clients for UTC) is treated as UTC, and any other
//! four characters are kept and treated as local. Pure: callers pass the time in.
//!
//! Owns: `SipDate` and `Zone`. Must not import anything from the crate outside `sip2`.

use super::fixed::{digits, push_number};
use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use std::fmt;

/// Width of a SIP2 date on the wire.
pub(crate) const DATE_LEN: usize = 18;

/// The four zone characters of a SIP2 date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Zone {
    /// Four blanks: local time (preferred by the spec).
    Local,
    /// `   Z`: UTC.
    Utc,
    /// Any other four characters, kept verbatim (`0000` counts as UTC, anything else as local).
    Other([u8; 4]),
}

impl Zone {
    fn from_bytes(raw: [u8; 4]) -> Option<Zone> {
        match &raw {
            b"    " => Some(Zone::Local),
            b"   Z" => Some(Zone::Utc),
            _ if raw.iter().all(|b| b.is_ascii_graphic() || *b == b' ') && !raw.contains(&b'|') => {
                Some(Zone::Other(raw))
            }
            _ => None,
        }
    }

    /// The four bytes written. `Other` bytes the parser would refuse (control bytes, `|`,
    /// non-ASCII) are written as blanks, so no date can break a message.
    fn bytes(self) -> [u8; 4] {
        match self {
            Zone::Local => *b"    ",
            Zone::Utc => *b"   Z",
            Zone::Other(raw) => raw.map(|b| {
                if b.is_ascii_graphic() && b != b'|' {
                    b
                } else {
                    b' '
                }
            }),
        }
    }

    #[cfg(test)]
    /// Whether the date is in UTC (`   Z` or `0000`).
    pub(crate) fn is_utc(self) -> bool {
        matches!(self, Zone::Utc) || self == Zone::Other(*b"0000")
    }
}

/// An 18-character SIP2 date and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SipDate {
    /// Wall-clock time as written (local or UTC per `zone`). Years outside 0..=9999 are clamped
    /// when encoded.
    pub datetime: NaiveDateTime,
    /// The zone characters.
    pub zone: Zone,
}

impl SipDate {
    /// A local-time date (zone written as four blanks).
    pub fn local(datetime: NaiveDateTime) -> SipDate {
        SipDate {
            datetime,
            zone: Zone::Local,
        }
    }

    /// A UTC date (zone written as `   Z`).
    pub(crate) fn utc(datetime: NaiveDateTime) -> SipDate {
        SipDate {
            datetime,
            zone: Zone::Utc,
        }
    }

    /// Parses exactly 18 bytes; `None` if they are not a valid date.
    pub(crate) fn from_bytes(raw: &[u8]) -> Option<SipDate> {
        if raw.len() != DATE_LEN {
            return None;
        }
        let num = |r: std::ops::Range<usize>| digits(&raw[r]);
        let year = i32::try_from(num(0..4)?).ok()?;
        let date = NaiveDate::from_ymd_opt(year, num(4..6)?, num(6..8)?)?;
        let datetime = date.and_hms_opt(num(12..14)?, num(14..16)?, num(16..18)?)?;
        let zone = Zone::from_bytes([raw[8], raw[9], raw[10], raw[11]])?;
        Some(SipDate { datetime, zone })
    }

    /// Appends the 18 characters.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let d = &self.datetime;
        let year = u32::try_from(d.year().clamp(0, 9999)).unwrap_or(0);
        push_number(year, 4, out);
        push_number(d.month(), 2, out);
        push_number(d.day(), 2, out);
        out.extend_from_slice(&self.zone.bytes());
        push_number(d.hour(), 2, out);
        push_number(d.minute(), 2, out);
        push_number(d.second().min(59), 2, out);
    }
}

impl fmt::Display for SipDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::with_capacity(DATE_LEN);
        self.write(&mut out);
        f.write_str(&String::from_utf8_lossy(&out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn local_date_has_four_blank_zone() {
        let d = SipDate::local(dt("2025-03-14 09:30:00"));
        assert_eq!(d.to_string(), "20250314    093000");
        assert_eq!(SipDate::from_bytes(b"20250314    093000"), Some(d));
    }

    #[test]
    fn utc_date_has_z_in_last_zone_position() {
        let d = SipDate::from_bytes(b"20250314   Z083000").unwrap();
        assert_eq!(d, SipDate::utc(dt("2025-03-14 08:30:00")));
        assert!(d.zone.is_utc());
    }

    #[test]
    fn zone_0000_is_utc_and_kept_verbatim() {
        let d = SipDate::from_bytes(b"202503140000093005").unwrap();
        assert!(d.zone.is_utc());
        assert_eq!(d.to_string(), "202503140000093005");
    }

    #[test]
    fn military_letter_zone_is_kept_and_local() {
        let d = SipDate::from_bytes(b"20250314   Q093005").unwrap();
        assert!(!d.zone.is_utc());
        assert_eq!(d.to_string(), "20250314   Q093005");
    }

    #[test]
    fn a_zone_holding_bytes_the_parser_refuses_is_written_as_blanks() {
        let d = SipDate {
            datetime: dt("2025-03-14 09:30:00"),
            zone: Zone::Other(*b"\r|\xE9Z"),
        };
        assert_eq!(d.to_string(), "20250314   Z093000");
    }

    #[test]
    fn invalid_dates_are_rejected() {
        assert_eq!(SipDate::from_bytes(b"20251314    093000"), None);
        assert_eq!(SipDate::from_bytes(b"2025-03-14 09:30:0"), None);
        assert_eq!(SipDate::from_bytes(b"                  "), None);
        assert_eq!(SipDate::from_bytes(b"20250314    0930"), None);
    }
}
