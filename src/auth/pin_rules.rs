//! PIN rules (SECURITY.md §1.3), applied when a PIN is set or changed. One table, [`RULES`], lists
//! every rule with the config switch that enables it and the reason a patron is shown; nothing else
//! decides what a good PIN is. The previous-PIN rule needs the old hash, so the engine checks it
//! (through the hashing pool) and reports it with [`PinRejection::PreviousPin`].
//!
//! Uses `config` only; must not import `store`, `sip2`, `server` or `accounts`.

use std::fmt;

use chrono::{Datelike, NaiveDate};

use crate::config::security::PinRulesConfig;

/// What the patron's own details are, for the personal rules.
#[derive(Debug, Clone, Default)]
pub struct PinContext<'a> {
    pub card: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub birth_date: Option<NaiveDate>,
}

/// Why a PIN was refused; `Display` is the sentence shown to the patron.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinRejection {
    NotDigits,
    TooShort { min: usize },
    TooLong { max: usize },
    AllSame,
    Repeated,
    Sequence,
    Common,
    CardDigits,
    PhoneDigits,
    BirthDate,
    PreviousPin,
    TripleDigit,
    Pairs,
    Year,
    KeypadLine,
}

impl PinRejection {
    /// A stable name for the rule, for machine-readable refusals (the admin API).
    pub fn rule(&self) -> &'static str {
        match self {
            Self::NotDigits => "pin_not_digits",
            Self::TooShort { .. } => "pin_too_short",
            Self::TooLong { .. } => "pin_too_long",
            Self::AllSame => "pin_all_same",
            Self::Repeated => "pin_repeated",
            Self::Sequence => "pin_sequence",
            Self::Common => "pin_common",
            Self::CardDigits => "pin_card_digits",
            Self::PhoneDigits => "pin_phone_digits",
            Self::BirthDate => "pin_birth_date",
            Self::PreviousPin => "pin_previous",
            Self::TripleDigit => "pin_triple_digit",
            Self::Pairs => "pin_pairs",
            Self::Year => "pin_year",
            Self::KeypadLine => "pin_keypad_line",
        }
    }
}

impl fmt::Display for PinRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotDigits => f.write_str("PIN can only contain the digits 0 to 9"),
            Self::TooShort { min } => write!(f, "PIN must have at least {min} digits"),
            Self::TooLong { max } => write!(f, "PIN cannot have more than {max} digits"),
            Self::AllSame => f.write_str("PIN cannot be one digit repeated like 1111"),
            Self::Repeated => f.write_str("PIN cannot be a repeated pattern like 1212"),
            Self::Sequence => f.write_str("PIN cannot be a sequence like 1234"),
            Self::Common => f.write_str("PIN is one of the most commonly used PINs"),
            Self::CardDigits => f.write_str("PIN cannot be the last digits of your card number"),
            Self::PhoneDigits => f.write_str("PIN cannot be your phone number digits"),
            Self::BirthDate => f.write_str("PIN cannot be your date or year of birth"),
            Self::PreviousPin => f.write_str("PIN must be different from your current PIN"),
            Self::TripleDigit => f.write_str("PIN cannot have a digit three times in a row"),
            Self::Pairs => f.write_str("PIN cannot be two pairs like 1122"),
            Self::Year => f.write_str("PIN cannot be a year like 1987"),
            Self::KeypadLine => f.write_str("PIN cannot be a line on the keypad like 2580"),
        }
    }
}

/// Which config switch turns a rule on.
#[derive(Debug, Clone, Copy)]
enum Switch {
    Repeated,
    Sequences,
    Common,
    Personal,
    Strict,
}

impl Switch {
    fn on(self, config: &PinRulesConfig) -> bool {
        match self {
            Self::Repeated => config.reject_repeated,
            Self::Sequences => config.reject_sequences,
            Self::Common => config.reject_common,
            Self::Personal => config.reject_personal,
            Self::Strict => config.strict,
        }
    }
}

type Test = fn(&[u8], &PinContext<'_>) -> bool;

/// The rules after the character and length checks, in the order they are reported.
const RULES: &[(Switch, PinRejection, Test)] = &[
    (Switch::Repeated, PinRejection::AllSame, |d, _| all_same(d)),
    (Switch::Repeated, PinRejection::Repeated, |d, _| {
        repeated_block(d)
    }),
    (Switch::Sequences, PinRejection::Sequence, |d, _| {
        sequence(d)
    }),
    (Switch::Common, PinRejection::Common, |d, _| {
        TOP_20.contains(&d)
    }),
    (Switch::Personal, PinRejection::CardDigits, card_digits),
    (Switch::Personal, PinRejection::PhoneDigits, phone_digits),
    (Switch::Personal, PinRejection::BirthDate, birth_date),
    (Switch::Strict, PinRejection::TripleDigit, |d, _| {
        d.windows(3).any(|w| w[0] == w[1] && w[1] == w[2])
    }),
    (Switch::Strict, PinRejection::Pairs, |d, _| {
        d.len() == 4 && d[0] == d[1] && d[2] == d[3]
    }),
    (Switch::Strict, PinRejection::Year, |d, _| {
        d.len() == 4 && (&b"1900"[..]..=&b"2039"[..]).contains(&d)
    }),
    (Switch::Strict, PinRejection::KeypadLine, |d, _| {
        KEYPAD_LINES.contains(&d)
    }),
];

/// DataGenetics' 20 most common four-digit PINs.
const TOP_20: &[&[u8]] = &[
    b"1234", b"1111", b"0000", b"1212", b"7777", b"1004", b"2000", b"4444", b"2222", b"6969",
    b"9999", b"3333", b"5555", b"6666", b"1122", b"1313", b"8888", b"4321", b"2001", b"1010",
];

/// Straight lines on a phone keypad (1-2-3 / 4-5-6 / 7-8-9 / 0 under 8): the columns through 0
/// both ways, the four corners around in either direction from each corner, and the diagonals
/// down to 0. Strict mode only; with the other strict rules it removes 545 four-digit PINs.
const KEYPAD_LINES: &[&[u8]] = &[
    b"2580", b"0852", b"1470", b"0741", b"3690", b"0963", b"1397", b"3971", b"9713", b"7139",
    b"1793", b"7931", b"9317", b"3179", b"1590", b"0951", b"3570", b"0753",
];

fn all_same(d: &[u8]) -> bool {
    d.iter().all(|&c| c == d[0])
}

/// The PIN is a shorter block repeated (1212, 123123, 2222).
fn repeated_block(d: &[u8]) -> bool {
    (1..d.len()).any(|p| d.len().is_multiple_of(p) && d.chunks(p).all(|c| c == &d[..p]))
}

/// Each digit is one more (or one less) than the previous, wrapping 9 -> 0 (7890, 0987).
/// Works on ASCII digits directly: their differences are the digits' differences.
fn sequence(d: &[u8]) -> bool {
    let step = |a: u8, b: u8| (b + 10 - a) % 10;
    let up = d.windows(2).all(|w| step(w[0], w[1]) == 1);
    let down = d.windows(2).all(|w| step(w[1], w[0]) == 1);
    up || down
}

fn digits_of(text: &str) -> Vec<u8> {
    text.bytes().filter(u8::is_ascii_digit).collect()
}

/// Equal to the last 4, 5 or 6 digits of the card.
fn card_digits(d: &[u8], context: &PinContext<'_>) -> bool {
    let card = context.card.map(digits_of).unwrap_or_default();
    (4..=6).contains(&d.len()) && card.len() >= d.len() && card.ends_with(d)
}

/// Equal to the phone's digits or their ending (where default PINs come from).
fn phone_digits(d: &[u8], context: &PinContext<'_>) -> bool {
    let phone = context.phone.map(digits_of).unwrap_or_default();
    phone.len() >= d.len() && phone.ends_with(d)
}

/// YYYY, DDMM, MMDD, MMYY, DDMMYY (and the 8-digit DDMMYYYY, YYYYMMDD) of the birth date.
fn birth_date(d: &[u8], context: &PinContext<'_>) -> bool {
    let Some(born) = context.birth_date else {
        return false;
    };
    let (yyyy, mm, dd) = (born.year(), born.month(), born.day());
    let yy = yyyy.rem_euclid(100);
    let forms = [
        format!("{yyyy:04}"),
        format!("{dd:02}{mm:02}"),
        format!("{mm:02}{dd:02}"),
        format!("{mm:02}{yy:02}"),
        format!("{dd:02}{mm:02}{yy:02}"),
        format!("{mm:02}{dd:02}{yy:02}"),
        format!("{dd:02}{mm:02}{yyyy:04}"),
        format!("{yyyy:04}{mm:02}{dd:02}"),
    ];
    forms.iter().any(|form| form.as_bytes() == d)
}

/// Every rule a new PIN breaks, in the order they are reported; empty when it passes. A PIN that
/// is not all digits, or too short or too long, is reported for that alone: the other rules read
/// digits of an acceptable length.
pub(crate) fn rejections(
    pin: &str,
    config: &PinRulesConfig,
    context: &PinContext<'_>,
) -> Vec<PinRejection> {
    let digits = pin.as_bytes();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return vec![PinRejection::NotDigits];
    }
    if digits.len() < config.min_length {
        return vec![PinRejection::TooShort {
            min: config.min_length,
        }];
    }
    if digits.len() > config.max_length {
        return vec![PinRejection::TooLong {
            max: config.max_length,
        }];
    }
    RULES
        .iter()
        .filter(|(switch, _, test)| switch.on(config) && test(digits, context))
        .map(|(_, rejection, _)| *rejection)
        .collect()
}

impl PinRejection {
    /// The PIN's shape is wrong (characters or length): no other rule, and no comparison with the
    /// current PIN, applies to it.
    pub(crate) fn is_shape(self) -> bool {
        matches!(
            self,
            Self::NotDigits | Self::TooShort { .. } | Self::TooLong { .. }
        )
    }
}

#[cfg(test)]
/// Checks a new PIN against the configured rules; the first rule broken is the reason.
pub(crate) fn check(
    pin: &str,
    config: &PinRulesConfig,
    context: &PinContext<'_>,
) -> Result<(), PinRejection> {
    match rejections(pin, config, context).first() {
        Some(rejection) => Err(*rejection),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core() -> PinRulesConfig {
        PinRulesConfig::default()
    }

    fn rejected(pin: &str, config: &PinRulesConfig) -> bool {
        check(pin, config, &PinContext::default()).is_err()
    }

    #[test]
    fn malformed_pins_are_rejected_when_set() {
        for pin in [
            "123",
            "1234567890123",
            "12a4",
            " 1234",
            "1234 ",
            "١٢٣٤",
            "１２３４",
            "-123",
            "+1234",
            "",
            "12\u{0}4",
            "\u{0}",
        ] {
            let err = check(pin, &core(), &PinContext::default());
            assert!(err.is_err(), "{pin:?} must be rejected");
        }
        assert_eq!(
            check("123", &core(), &PinContext::default()),
            Err(PinRejection::TooShort { min: 4 })
        );
        assert_eq!(
            check("١٢٣٤", &core(), &PinContext::default()),
            Err(PinRejection::NotDigits)
        );
    }

    #[test]
    fn blocklist_rejects_weak_and_accepts_good_pins() {
        for pin in [
            "0000", "1111", "1212", "6969", "1234", "4321", "0123", "9876", "7890", "123123",
            "121212",
        ] {
            assert!(rejected(pin, &core()), "{pin} must be rejected");
        }
        for pin in TOP_20 {
            assert!(rejected(std::str::from_utf8(pin).unwrap(), &core()));
        }
        for pin in ["4931", "2749"] {
            assert!(!rejected(pin, &core()), "{pin} must be accepted");
        }
        assert_eq!(
            check("1234", &core(), &PinContext::default()),
            Err(PinRejection::Sequence)
        );
        assert_eq!(
            PinRejection::Sequence.to_string(),
            "PIN cannot be a sequence like 1234"
        );
    }

    #[test]
    fn personal_details_are_rejected() {
        let context = PinContext {
            card: Some("29000104938271"),
            phone: Some("+44 20 7946 0958"),
            birth_date: NaiveDate::from_ymd_opt(1987, 3, 14),
        };
        let reason = |pin| check(pin, &core(), &context).err();
        assert_eq!(reason("8271"), Some(PinRejection::CardDigits));
        assert_eq!(reason("938271"), Some(PinRejection::CardDigits));
        assert_eq!(reason("0958"), Some(PinRejection::PhoneDigits));
        assert_eq!(reason("1987"), Some(PinRejection::BirthDate));
        assert_eq!(reason("1403"), Some(PinRejection::BirthDate));
        assert_eq!(reason("0314"), Some(PinRejection::BirthDate));
        assert_eq!(reason("0387"), Some(PinRejection::BirthDate));
        assert_eq!(reason("140387"), Some(PinRejection::BirthDate));
        assert_eq!(reason("4931"), None);
        let off = PinRulesConfig {
            reject_personal: false,
            ..core()
        };
        assert!(check("8271", &off, &context).is_ok());
    }

    fn remaining(config: &PinRulesConfig) -> usize {
        (0..10_000)
            .filter(|n| !rejected(&format!("{n:04}"), config))
            .count()
    }

    #[test]
    fn core_rules_remove_exactly_124_four_digit_pins() {
        assert_eq!(remaining(&core()), 9_876);
    }

    #[test]
    fn strict_rules_remove_545_four_digit_pins_in_total() {
        let strict = PinRulesConfig {
            strict: true,
            ..core()
        };
        assert_eq!(remaining(&strict), 9_455);
        for pin in [
            "1112", "7788", "1987", "2039", "2580", "1470", "3690", "1397",
        ] {
            assert!(
                rejected(pin, &strict),
                "{pin} must be rejected in strict mode"
            );
            assert!(
                !rejected(pin, &core()),
                "{pin} is allowed by the core rules"
            );
        }
    }

    #[test]
    fn each_switch_can_be_turned_off() {
        let none = PinRulesConfig {
            reject_repeated: false,
            reject_sequences: false,
            reject_common: false,
            ..core()
        };
        assert_eq!(remaining(&none), 10_000);
    }

    #[test]
    fn every_rule_a_pin_breaks_is_reported_in_table_order() {
        let strict = PinRulesConfig {
            strict: true,
            ..core()
        };
        assert_eq!(
            rejections("1111", &strict, &PinContext::default()),
            vec![
                PinRejection::AllSame,
                PinRejection::Repeated,
                PinRejection::Common,
                PinRejection::TripleDigit,
                PinRejection::Pairs,
            ]
        );
        let context = PinContext {
            card: Some("29000104931987"),
            phone: None,
            birth_date: NaiveDate::from_ymd_opt(1987, 3, 14),
        };
        assert_eq!(
            rejections("1987", &strict, &context),
            vec![
                PinRejection::CardDigits,
                PinRejection::BirthDate,
                PinRejection::Year
            ]
        );
        assert_eq!(
            rejections("12", &core(), &PinContext::default()),
            vec![PinRejection::TooShort { min: 4 }]
        );
        assert_eq!(
            rejections("1a11", &core(), &PinContext::default()),
            vec![PinRejection::NotDigits]
        );
        assert!(rejections("4931", &strict, &context).is_empty());
    }

    #[test]
    fn longer_pins_follow_the_same_rules() {
        assert!(rejected("999999", &core()));
        assert!(rejected("567890", &core()));
        assert!(rejected("543210", &core()));
        assert!(!rejected("49317265", &core()));
    }
}
