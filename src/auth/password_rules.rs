//! Online password rules (SECURITY.md §1.4): NFKC normalisation (before the rules and before
//! hashing), length in characters and bytes checked before any hashing, the composition rule
//! (a config flag), and the common/breached check through `zxcvbn` with the patron's own details
//! as context words. Spaces are allowed and nothing is truncated. "Must differ from the PIN" needs
//! the PIN hash, so the engine checks it and reports [`PasswordRejection::SameAsPin`].
//!
//! Uses `config` only; must not import `store`, `sip2`, `server` or `accounts`.

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::config::security::PasswordRulesConfig;

/// Largest password accepted, in bytes, before and after normalisation.
pub(crate) const MAX_BYTES: usize = 1024;

/// The patron's own details, which a password may not be built from.
#[derive(Debug, Clone, Default)]
pub struct PasswordContext<'a> {
    pub card: Option<&'a str>,
    pub names: Vec<&'a str>,
    pub email: Option<&'a str>,
    pub library_name: Option<&'a str>,
}

/// Why a password was refused; `Display` is the sentence shown to the patron.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordRejection {
    TooShort {
        min: usize,
    },
    TooLong {
        max: usize,
    },
    MissingUpper,
    MissingLower,
    MissingDigit,
    MissingSpecial,
    /// Common, breached or built from personal details; `hint` is zxcvbn's warning, if any.
    TooGuessable {
        hint: Option<String>,
    },
    SameAsPin,
}

impl PasswordRejection {
    /// A stable name for the rule, for machine-readable refusals (the admin API).
    pub fn rule(&self) -> &'static str {
        match self {
            Self::TooShort { .. } => "password_too_short",
            Self::TooLong { .. } => "password_too_long",
            Self::MissingUpper => "password_missing_upper",
            Self::MissingLower => "password_missing_lower",
            Self::MissingDigit => "password_missing_digit",
            Self::MissingSpecial => "password_missing_special",
            Self::TooGuessable { .. } => "password_too_guessable",
            Self::SameAsPin => "password_same_as_pin",
        }
    }
}

impl fmt::Display for PasswordRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { min } => write!(f, "Password must have at least {min} characters"),
            Self::TooLong { max } => write!(f, "Password cannot have more than {max} characters"),
            Self::MissingUpper => f.write_str("Password needs an upper-case letter"),
            Self::MissingLower => f.write_str("Password needs a lower-case letter"),
            Self::MissingDigit => f.write_str("Password needs a digit"),
            Self::MissingSpecial => {
                f.write_str("Password needs a special character such as ! or #")
            }
            Self::TooGuessable { hint: None } => {
                f.write_str("Password is too common or too easy to guess")
            }
            Self::TooGuessable { hint: Some(hint) } => {
                write!(f, "Password is too common or too easy to guess: {hint}")
            }
            Self::SameAsPin => f.write_str("Password must be different from your PIN"),
        }
    }
}

/// A password after NFKC normalisation: what is checked and what is hashed. Zeroed on drop.
pub(crate) struct NormalizedPassword(Zeroizing<String>);

impl fmt::Debug for NormalizedPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NormalizedPassword([redacted])")
    }
}

impl NormalizedPassword {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// NFKC-normalises a presented password. Refuses (as too long) anything over [`MAX_BYTES`] or
/// `max_length` characters, before or after normalisation, so no hashing ever sees it.
pub(crate) fn normalize(
    raw: &str,
    config: &PasswordRulesConfig,
) -> Result<NormalizedPassword, PasswordRejection> {
    let too_long = PasswordRejection::TooLong {
        max: config.max_length,
    };
    if raw.len() > MAX_BYTES || raw.chars().count() > config.max_length {
        return Err(too_long);
    }
    let normalized = Zeroizing::new(raw.nfkc().collect::<String>());
    if normalized.len() > MAX_BYTES || normalized.chars().count() > config.max_length {
        return Err(too_long);
    }
    Ok(NormalizedPassword(normalized))
}

/// Whether a character is of a kind the composition rule asks for.
type CharTest = fn(&char) -> bool;

/// Every rule a new (normalised) password breaks, in the order they are reported; empty when it
/// passes. Length and each missing kind of character are separate rejections; "too guessable"
/// is one, with the most telling hint (personal details first, then `zxcvbn`'s warning).
pub(crate) fn rejections(
    password: &NormalizedPassword,
    config: &PasswordRulesConfig,
    context: &PasswordContext<'_>,
) -> Vec<PasswordRejection> {
    let text = password.as_str();
    let mut broken = Vec::new();
    if text.chars().count() < config.min_length {
        broken.push(PasswordRejection::TooShort {
            min: config.min_length,
        });
    }
    if config.require_composition {
        let has = |test: CharTest| text.chars().any(|c| test(&c));
        let kinds: [(CharTest, PasswordRejection); 4] = [
            (|c| c.is_uppercase(), PasswordRejection::MissingUpper),
            (|c| c.is_lowercase(), PasswordRejection::MissingLower),
            (|c| c.is_ascii_digit(), PasswordRejection::MissingDigit),
            (|c| !c.is_alphanumeric(), PasswordRejection::MissingSpecial),
        ];
        broken.extend(
            kinds
                .into_iter()
                .filter(|(test, _)| !has(*test))
                .map(|(_, rejection)| rejection),
        );
    }
    broken.extend(guessable(text, config, context));
    broken
}

/// Built from the patron's own details (always refused), or common or breached
/// (`reject_common`).
fn guessable(
    text: &str,
    config: &PasswordRulesConfig,
    context: &PasswordContext<'_>,
) -> Option<PasswordRejection> {
    let words = personal_words(context);
    let lower = text.to_lowercase();
    if words
        .iter()
        .any(|w| w.chars().count() >= 3 && lower.contains(&w.to_lowercase()))
    {
        return Some(PasswordRejection::TooGuessable {
            hint: Some("it contains your name, card number or email".into()),
        });
    }
    if !config.reject_common {
        return None;
    }
    let estimate = zxcvbn::zxcvbn(text, &words);
    if u8::from(estimate.score()) < config.min_strength {
        let hint = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| w.to_string());
        return Some(PasswordRejection::TooGuessable { hint });
    }
    None
}

/// The patron's own words a password must not contain: the card (whole and its last six
/// characters), each part of the names, the email's local part (whole and split at `.`, `-`,
/// `_`, `+`) and the library's name.
fn personal_words<'a>(context: &PasswordContext<'a>) -> Vec<&'a str> {
    let email_local = context.email.map(|e| e.split('@').next().unwrap_or(e));
    // The card's last six characters too: the number printed in full is rarely reused whole.
    let card_end = context.card.map(|c| match c.char_indices().rev().nth(5) {
        Some((at, _)) => &c[at..],
        None => c,
    });
    let parts = |s: &'a str| s.split(|c: char| !c.is_alphanumeric());
    context
        .card
        .into_iter()
        .chain(card_end)
        .chain(context.names.iter().copied().flat_map(parts))
        .chain(email_local)
        .chain(email_local.into_iter().flat_map(parts))
        .chain(context.library_name)
        .filter(|w| !w.is_empty())
        .collect()
}

#[cfg(test)]
/// Checks a new (normalised) password against the configured rules; the first rule broken is the
/// reason.
pub(crate) fn check(
    password: &NormalizedPassword,
    config: &PasswordRulesConfig,
    context: &PasswordContext<'_>,
) -> Result<(), PasswordRejection> {
    match rejections(password, config, context).into_iter().next() {
        Some(rejection) => Err(rejection),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> PasswordRulesConfig {
        PasswordRulesConfig::default()
    }

    fn verdict(raw: &str, context: &PasswordContext<'_>) -> Result<(), PasswordRejection> {
        check(&normalize(raw, &rules())?, &rules(), context)
    }

    #[test]
    fn seven_characters_are_refused_eight_accepted() {
        let none = PasswordContext::default();
        assert_eq!(
            verdict("Xk7#pQ2", &none),
            Err(PasswordRejection::TooShort { min: 8 })
        );
        assert_eq!(verdict("Xk7#pQ2m", &none), Ok(()));
    }

    #[test]
    fn over_128_characters_or_1_kib_is_refused_before_hashing() {
        let long = "Aa1!".repeat(33);
        assert_eq!(
            normalize(&long, &rules()).err(),
            Some(PasswordRejection::TooLong { max: 128 })
        );
        let wide = "é".repeat(600);
        assert!(normalize(&wide, &rules()).is_err());
        assert!(normalize(&"Aa1!".repeat(32), &rules()).is_ok());
    }

    #[test]
    fn composition_is_a_switch() {
        let none = PasswordContext::default();
        assert_eq!(
            verdict("xk7#pq2mzz", &none),
            Err(PasswordRejection::MissingUpper)
        );
        assert_eq!(
            verdict("XK7#PQ2MZZ", &none),
            Err(PasswordRejection::MissingLower)
        );
        assert_eq!(
            verdict("Xkr#pqtmzz", &none),
            Err(PasswordRejection::MissingDigit)
        );
        assert_eq!(
            verdict("Xk7wpQ2mzz", &none),
            Err(PasswordRejection::MissingSpecial)
        );
        let relaxed = PasswordRulesConfig {
            require_composition: false,
            ..rules()
        };
        let pw = normalize("correct horse battery staple", &relaxed).unwrap();
        assert_eq!(check(&pw, &relaxed, &none), Ok(()));
    }

    #[test]
    fn common_passwords_and_personal_details_are_refused_with_a_reason() {
        let err = verdict("Password1!", &PasswordContext::default()).unwrap_err();
        assert!(matches!(err, PasswordRejection::TooGuessable { .. }));
        assert!(err.to_string().starts_with("Password is too common"));
        let context = PasswordContext {
            card: Some("29000104938271"),
            names: vec!["Margaret", "Hamilton"],
            email: Some("mhamilton@example.org"),
            library_name: None,
        };
        assert!(verdict("Hamilton-Qx7!v", &context).is_err());
        assert!(verdict("Mhamilton#1", &context).is_err());
        assert!(verdict("x38271Zz!938271", &context).is_err());
        assert_eq!(
            verdict("Hamilton-Qx7!v", &PasswordContext::default()),
            Ok(())
        );
    }

    #[test]
    fn every_rule_a_password_breaks_is_reported() {
        let password = normalize("xkq", &rules()).unwrap();
        let all = rejections(&password, &rules(), &PasswordContext::default());
        assert_eq!(
            &all[..4],
            &[
                PasswordRejection::TooShort { min: 8 },
                PasswordRejection::MissingUpper,
                PasswordRejection::MissingDigit,
                PasswordRejection::MissingSpecial,
            ]
        );
        assert!(matches!(
            all.get(4),
            Some(PasswordRejection::TooGuessable { .. })
        ));
        assert_eq!(all.len(), 5);
        let good = normalize("Lantern-Quiet-Harbor-71", &rules()).unwrap();
        assert!(rejections(&good, &rules(), &PasswordContext::default()).is_empty());
    }

    #[test]
    fn the_email_local_part_or_a_short_given_name_is_refused_even_with_composition() {
        let context = PasswordContext {
            card: Some("21000123"),
            names: vec!["Lovelace", "Ada"],
            email: Some("ada@example.org"),
            library_name: None,
        };
        assert!(verdict("ada@example.org1A!", &context).is_err());
        assert!(verdict("Xk7#Ada-pQ2m", &context).is_err());
        assert_eq!(verdict("Xk7#pQ2m-zz", &context), Ok(()));
    }

    #[test]
    fn a_long_passphrase_passes_when_composition_is_off() {
        let relaxed = PasswordRulesConfig {
            require_composition: false,
            ..rules()
        };
        let pw = normalize("the otters of the lending library read at noon", &relaxed).unwrap();
        assert_eq!(check(&pw, &relaxed, &PasswordContext::default()), Ok(()));
    }

    #[test]
    fn nfkc_makes_ligatures_equal_to_their_letters() {
        let a = normalize("ﬁsh-Tank-42x", &rules()).unwrap();
        let b = normalize("fish-Tank-42x", &rules()).unwrap();
        assert_eq!(a.as_bytes(), b.as_bytes());
    }

    #[test]
    fn spaces_are_kept_and_nothing_is_truncated() {
        let pw = normalize(" Blue Otter 77! ", &rules()).unwrap();
        assert_eq!(pw.as_str(), " Blue Otter 77! ");
        let long = "Q7!k".repeat(30);
        assert_eq!(normalize(&long, &rules()).unwrap().as_str().len(), 120);
        assert!(!format!("{pw:?}").contains("Otter"));
    }
}
