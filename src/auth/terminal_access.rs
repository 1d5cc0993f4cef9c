//! What a terminal learns beyond validity: how it is told of a patron's restrictions (status
//! flags only, or a refusal with CQ=N for clients that read only BL and CQ) and how much of a
//! patron it gets for a check without a verified PIN. Typed settings of [`TerminalSettings`]
//! (stored as text columns); the rules that apply them are `told.rs`'s.
//!
//! [`TerminalSettings`]: super::terminal_settings::TerminalSettings
//!
//! Uses `store`'s text-column helpers and `decision::Standing`; must not import `sip2`,
//! `server` or `accounts`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use super::decision::Standing;
use crate::store::values::text_enum;

text_enum! {
    /// How restrictions reach the terminal: `flags` (the patron status flags, CQ as verified)
    /// or `deny` (CQ=N with the reason in AF, flags still set) for the chosen restrictions.
    pub enum RestrictedAnswer { Flags = "flags", Deny = "deny" }
}

text_enum! {
    /// How much of a patron a check without a verified PIN shows: `minimal` (validity, flags
    /// and messages) or `full` (also name and fees: a terminal trusted for barcode-only
    /// look-ups).
    pub enum DetailWithoutPin { Minimal = "minimal", Full = "full" }
}

/// A restriction that deny mode can refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Restriction {
    Expired,
    Blocked,
    CardLost,
    FinesOverLimit,
}

impl Restriction {
    /// Every restriction, in the order they are written.
    pub(crate) const ALL: [Restriction; 4] = [
        Restriction::Expired,
        Restriction::Blocked,
        Restriction::CardLost,
        Restriction::FinesOverLimit,
    ];

    /// The word the command line and the store use.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Restriction::Expired => "expired",
            Restriction::Blocked => "blocked",
            Restriction::CardLost => "lost",
            Restriction::FinesOverLimit => "fines",
        }
    }

    /// Whether `standing` has this restriction.
    pub(crate) fn applies(self, standing: &Standing) -> bool {
        match self {
            Restriction::Expired => standing.expired,
            Restriction::Blocked => standing.blocked.is_some(),
            Restriction::CardLost => standing.card_lost,
            Restriction::FinesOverLimit => standing.fines_over_limit,
        }
    }
}

/// The restrictions deny mode refuses. Written `expired,blocked,lost` (the default: fines over
/// the limit stay a flag, since many libraries let such patrons use PCs and e-resources).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restrictions(BTreeSet<Restriction>);

impl Restrictions {
    /// Whether any of these applies to `standing`.
    pub(crate) fn any_applies(&self, standing: &Standing) -> bool {
        self.0.iter().any(|r| r.applies(standing))
    }
}

impl Default for Restrictions {
    fn default() -> Self {
        Restrictions(
            [
                Restriction::Expired,
                Restriction::Blocked,
                Restriction::CardLost,
            ]
            .into_iter()
            .collect(),
        )
    }
}

impl FromIterator<Restriction> for Restrictions {
    fn from_iter<I: IntoIterator<Item = Restriction>>(iter: I) -> Self {
        Restrictions(iter.into_iter().collect())
    }
}

impl fmt::Display for Restrictions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<&str> = self.0.iter().map(|r| r.as_str()).collect();
        f.write_str(&words.join(","))
    }
}

/// A word that names no restriction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{word:?} is not a restriction; use a comma-separated list of expired, blocked, lost, fines (or none)")]
pub struct RestrictionsError {
    word: String,
}

impl FromStr for Restrictions {
    type Err = RestrictionsError;

    /// `expired,blocked,lost,fines` in any order and case; `none` or nothing is the empty set.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut set = BTreeSet::new();
        for word in text
            .split([',', ' '])
            .map(str::trim)
            .filter(|w| !w.is_empty())
        {
            let word = word.to_ascii_lowercase();
            if word == "none" {
                continue;
            }
            let restriction = Restriction::ALL
                .into_iter()
                .find(|r| r.as_str() == word)
                .ok_or(RestrictionsError { word })?;
            set.insert(restriction);
        }
        Ok(Restrictions(set))
    }
}

/// How a terminal is told of restrictions: the mode and, in deny mode, what it refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestrictionTelling<'a> {
    pub answer: RestrictedAnswer,
    pub denied: &'a Restrictions,
}

impl RestrictionTelling<'_> {
    /// Whether `standing` makes the answer a refusal (CQ=N).
    pub(crate) fn refuses(&self, standing: &Standing) -> bool {
        self.answer == RestrictedAnswer::Deny && self.denied.any_applies(standing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restrictions_read_and_write_one_spelling() {
        assert_eq!(Restrictions::default().to_string(), "expired,blocked,lost");
        let all: Restrictions = "Fines, lost,expired,blocked".parse().expect("parsed");
        assert_eq!(all.to_string(), "expired,blocked,lost,fines");
        assert_eq!(
            "none".parse::<Restrictions>().expect("empty").to_string(),
            ""
        );
        let error = "expired,stolen".parse::<Restrictions>().unwrap_err();
        assert!(error.to_string().contains("stolen"), "{error}");
    }

    #[test]
    fn deny_mode_refuses_only_the_chosen_restrictions() {
        let denied = Restrictions::default();
        let deny = RestrictionTelling {
            answer: RestrictedAnswer::Deny,
            denied: &denied,
        };
        let fines = Standing {
            fines_over_limit: true,
            ..Standing::default()
        };
        let expired = Standing {
            expired: true,
            ..Standing::default()
        };
        assert!(!deny.refuses(&fines));
        assert!(deny.refuses(&expired));
        let flags = RestrictionTelling {
            answer: RestrictedAnswer::Flags,
            ..deny
        };
        assert!(!flags.refuses(&expired));
    }
}
