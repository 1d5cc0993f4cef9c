//! `[server.login_defence]`: how failed 93 logins are throttled.
//!
//! Two token buckets count failures: one per (source address, login id) and one per source
//! address. A bucket holds `*_burst` failures and regains one every `*_refill`; an attempt that
//! finds its bucket empty starts a penalty, during which logins are answered 940 without the
//! secret being checked. Each new penalty of the same source lasts twice the previous one, up to
//! `penalty_max`; a source that stays quiet for `penalty_max` starts again at `penalty`.
//!
//! The defaults let a burst of 10 failures of one login id (15 from one address) pass and let a
//! client retrying a wrong secret every 30 s go on for ever, while a guesser making 100 attempts
//! a minute is stopped within its first 16 and stays stopped while it goes on.

use std::time::Duration;

use serde::Deserialize;

use super::problems::Section;

/// `[server.login_defence]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LoginDefenceConfig {
    /// Failures of one login id from one address that pass back to back.
    pub per_login_burst: u32,
    /// Time in which one failure of that login id is forgiven.
    #[serde(with = "humantime_serde")]
    pub per_login_refill: Duration,
    /// Failures from one address, whatever the login id, that pass back to back.
    pub per_address_burst: u32,
    /// Time in which one failure from that address is forgiven.
    #[serde(with = "humantime_serde")]
    pub per_address_refill: Duration,
    /// The first penalty of a source.
    #[serde(with = "humantime_serde")]
    pub penalty: Duration,
    /// The longest penalty; also how long a quiet source keeps its doubled penalty.
    #[serde(with = "humantime_serde")]
    pub penalty_max: Duration,
    /// How long a login id that logged in from an address stays exempt from that address's
    /// penalty (a good terminal is not refused because another login id failed beside it).
    #[serde(with = "humantime_serde")]
    pub known_good_for: Duration,
}

impl Default for LoginDefenceConfig {
    fn default() -> Self {
        Self {
            per_login_burst: 10,
            per_login_refill: Duration::from_secs(20),
            per_address_burst: 15,
            per_address_refill: Duration::from_secs(10),
            penalty: Duration::from_secs(60),
            penalty_max: Duration::from_secs(60 * 60),
            known_good_for: Duration::from_secs(24 * 60 * 60),
        }
    }
}

impl LoginDefenceConfig {
    pub(super) fn validate(&self, at: &mut Section<'_>) {
        for (key, burst) in [
            ("per_login_burst", self.per_login_burst),
            ("per_address_burst", self.per_address_burst),
        ] {
            if burst == 0 {
                at.push(key, "must be at least 1");
            }
        }
        for (key, refill) in [
            ("per_login_refill", self.per_login_refill),
            ("per_address_refill", self.per_address_refill),
            ("penalty", self.penalty),
        ] {
            if refill < Duration::from_secs(1) {
                at.push(key, "must be at least 1s");
            }
        }
        if self.penalty_max < self.penalty {
            at.push("penalty_max", "must be at least penalty");
        }
    }
}
