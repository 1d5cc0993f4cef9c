//! Small value types shared by the store's tables and the column conversions: row ids, currency
//! codes, amounts of money (the one place an amount is written or read as text), unix-second
//! timestamps, ISO calendar dates, and the `text_enum!` macro that gives each
//! TEXT-stored kind its `as_str`/`FromStr`. Imports nothing outside `store`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};

use super::error::{Error, Result};

/// Declares a fieldless enum stored as TEXT, with `as_str`, `Display` and `FromStr`; the listed
/// strings are the single source of truth (the migrations' CHECK constraints repeat them).
macro_rules! text_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored (and configured) spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::store::Error;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::store::Error::Invalid {
                        what: stringify!($name),
                        reason: format!("expected one of: {}", [$($text),+].join(", ")),
                    }),
                }
            }
        }
    };
}
pub(crate) use text_enum;

/// Database id of a patron.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PatronId(pub i64);

/// Database id of a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TerminalId(pub i64);

impl fmt::Display for PatronId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for TerminalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// ISO 4217-shaped currency code: exactly three ASCII capital letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn as_str(&self) -> &str {
        // Invariant: construction only admits ASCII capitals, which are valid UTF-8.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

/// US dollars: what a patron added without a currency owes in (the schema's default too).
impl Default for Currency {
    fn default() -> Self {
        Currency(*b"USD")
    }
}

impl FromStr for Currency {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => {
                Ok(Currency([*a, *b, *c]))
            }
            _ => Err(Error::Invalid {
                what: "currency",
                reason: "expected three capital letters, e.g. EUR".into(),
            }),
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount of money in minor units (cents). Written with two decimals and its sign
/// (`1250` -> `12.50`, `-50` -> `-0.50`); read from `12`, `12.5` or `12.50`, with an optional
/// leading `-`. Every amount shown to staff, patrons or terminals goes through this type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

/// Text that is not an amount such as `12.50`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("expected an amount such as 12.50")]
pub struct MoneyError;

impl Money {
    /// At most this many digits before the decimal point.
    const MAX_WHOLE_DIGITS: usize = 12;

    pub(crate) const fn from_minor(minor: i64) -> Self {
        Self(minor)
    }

    pub(crate) const fn minor(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl FromStr for Money {
    type Err = MoneyError;
    fn from_str(text: &str) -> std::result::Result<Self, MoneyError> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
        if whole.is_empty()
            || whole.len() > Self::MAX_WHOLE_DIGITS
            || fraction.len() > 2
            || !all_digits(whole)
            || !all_digits(fraction)
        {
            return Err(MoneyError);
        }
        let whole: i64 = whole.parse().map_err(|_| MoneyError)?;
        let cents: i64 = format!("{fraction:0<2}").parse().map_err(|_| MoneyError)?;
        let amount = whole * 100 + cents;
        Ok(Self(if negative { -amount } else { amount }))
    }
}

/// Unix seconds -> UTC time.
pub(crate) fn time_from_secs(secs: i64, column: &'static str) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0).ok_or(Error::corrupt(column))
}

pub(crate) fn opt_time_from_secs(
    secs: Option<i64>,
    column: &'static str,
) -> Result<Option<DateTime<Utc>>> {
    secs.map(|s| time_from_secs(s, column)).transpose()
}

/// Calendar date -> `YYYY-MM-DD`.
pub(crate) fn date_text(date: Option<NaiveDate>) -> Option<String> {
    date.map(|d| d.format("%Y-%m-%d").to_string())
}

pub(crate) fn date_from_text(
    text: Option<&str>,
    column: &'static str,
) -> Result<Option<NaiveDate>> {
    text.map(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| Error::corrupt(column)))
        .transpose()
}

/// A stored non-negative counter -> u32 (saturating; counters never approach the bound).
pub(crate) fn count_u32(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

/// Parses a TEXT column into a `FromStr` kind, reporting the column when it does not parse.
pub(crate) fn parse_column<T: FromStr>(text: &str, column: &'static str) -> Result<T> {
    text.parse().map_err(|_| Error::corrupt(column))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_accepts_three_capitals_only() {
        assert_eq!(
            "EUR".parse::<Currency>().map(|c| c.to_string()).ok(),
            Some("EUR".into())
        );
        assert!("eur".parse::<Currency>().is_err());
        assert!("EURO".parse::<Currency>().is_err());
        assert!("€".parse::<Currency>().is_err());
    }

    #[test]
    fn money_has_two_places_and_keeps_its_sign() {
        let shown = |minor| Money::from_minor(minor).to_string();
        assert_eq!(shown(0), "0.00");
        assert_eq!(shown(1250), "12.50");
        assert_eq!(shown(1000), "10.00");
        assert_eq!(shown(-5), "-0.05");
        assert_eq!(shown(-50), "-0.50");
        assert_eq!(shown(-1250), "-12.50");
        assert_eq!(shown(i64::MIN), "-92233720368547758.08");
    }

    #[test]
    fn money_reads_what_it_writes() {
        for minor in [0, 5, 50, 1250, -5, -50, -1250, 99_999_999_999_999] {
            let amount = Money::from_minor(minor);
            assert_eq!(amount.to_string().parse(), Ok(amount), "{minor}");
        }
        assert_eq!("12".parse(), Ok(Money::from_minor(1200)));
        assert_eq!("12.5".parse(), Ok(Money::from_minor(1250)));
        assert_eq!("12.".parse(), Ok(Money::from_minor(1200)));
        for bad in [
            "",
            "-",
            "+5",
            ".5",
            "1.234",
            "1,50",
            "1234567890123",
            "1.-5",
            "1 ",
        ] {
            assert_eq!(bad.parse::<Money>(), Err(MoneyError), "{bad:?}");
        }
    }

    #[test]
    fn dates_round_trip_as_iso_text() {
        let d = NaiveDate::from_ymd_opt(2031, 2, 28);
        let text = date_text(d);
        assert_eq!(text.as_deref(), Some("2031-02-28"));
        assert_eq!(date_from_text(text.as_deref(), "x").ok().flatten(), d);
        assert!(date_from_text(Some("28.02.2031"), "x").is_err());
    }
}
