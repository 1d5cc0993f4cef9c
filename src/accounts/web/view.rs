//! What My Account shows the patron: name, card masked but for its last four characters,
//! standing in plain terms (from `auth`'s standing rules, the same as SIP2's), fines and the
//! limit, the state of the PIN and the password (set, temporary, locked until), and the
//! patron's active web sessions. No hash, no lock counter value, no staff data beyond the
//! block reason when `web.show_block_reason` allows it.
//!
//! Uses `auth` (standing, lock policies) and `store` through [`Accounts`].

use chrono::{DateTime, NaiveDate, Utc};

use super::WebSession;
use crate::accounts::patron::CardRef;
use crate::accounts::{Accounts, Error};
use crate::auth::{password_lock_policy, pin_lock_policy, Money, Standing};
use crate::store::{AttemptSlot, CredentialHash};

/// Within this many days of its expiry a card's coming expiry is shown.
const EXPIRY_NOTICE_DAYS: i64 = 30;

/// One fact about the patron's standing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StandingNote {
    Good,
    ExpiresSoon {
        days: i64,
        on: NaiveDate,
    },
    Expired {
        on: NaiveDate,
    },
    /// Blocked by staff; the reason only when the configuration shows it.
    Blocked {
        reason: Option<String>,
    },
    CardLost,
    FinesOverLimit,
}

/// The state of one credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CredentialState {
    NotSet,
    Set,
    /// A default or staff-issued one that must be changed.
    Temporary,
    LockedUntil(DateTime<Utc>),
    /// Locked until staff (or a reset) unlock it.
    LockedUntilReset,
}

/// One of the patron's active web sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionSummary {
    pub started: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub user_agent: String,
    /// The session viewing the page.
    pub current: bool,
}

/// Everything My Account shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccountView {
    pub name: String,
    pub masked_card: String,
    pub expires_on: Option<NaiveDate>,
    pub standing: Vec<StandingNote>,
    pub fines: Money,
    pub fine_limit: Option<Money>,
    pub currency: String,
    pub pin: CredentialState,
    pub password: CredentialState,
    pub sessions: Vec<SessionSummary>,
}

/// The card with every character but the last four replaced by `•`.
pub(crate) fn masked(card: &str) -> String {
    let count = card.chars().count();
    card.chars()
        .enumerate()
        .map(|(i, c)| if i + 4 < count { '•' } else { c })
        .collect()
}

fn state(
    hash: Option<&CredentialHash>,
    refusal: Option<AttemptSlot>,
    now: DateTime<Utc>,
) -> CredentialState {
    match (hash, refusal) {
        (None, _) => CredentialState::NotSet,
        (Some(_), Some(AttemptSlot::LockedUntil(until))) if until > now => {
            CredentialState::LockedUntil(until)
        }
        (Some(_), Some(AttemptSlot::HardLocked)) => CredentialState::LockedUntilReset,
        (Some(h), _) if h.must_change || h.default_expires_at.is_some() => {
            CredentialState::Temporary
        }
        (Some(_), _) => CredentialState::Set,
    }
}

fn standing_notes(
    standing: &Standing,
    expires_on: Option<NaiveDate>,
    today: NaiveDate,
    show_reason: bool,
) -> Vec<StandingNote> {
    let mut notes = Vec::new();
    if let Some(on) = expires_on {
        let days = (on - today).num_days();
        if standing.expired {
            notes.push(StandingNote::Expired { on });
        } else if days <= EXPIRY_NOTICE_DAYS {
            notes.push(StandingNote::ExpiresSoon { days, on });
        }
    }
    if let Some(reason) = &standing.blocked {
        let reason = (show_reason && !reason.is_empty()).then(|| reason.clone());
        notes.push(StandingNote::Blocked { reason });
    }
    if standing.card_lost {
        notes.push(StandingNote::CardLost);
    }
    if standing.fines_over_limit {
        notes.push(StandingNote::FinesOverLimit);
    }
    if notes.is_empty() {
        notes.push(StandingNote::Good);
    }
    notes
}

impl Accounts {
    /// My Account for the session's patron.
    pub(crate) async fn web_account(&self, session: &WebSession) -> Result<AccountView, Error> {
        let at = CardRef {
            institution: self.config.server.institution_id.clone(),
            card: session.card.clone(),
        };
        let record = self.patron(&at).await?;
        let now = self.clock.now();
        let (p, d) = (&record.patron, &record.patron.details);
        let lockout = &self.config.security.lockout;
        let pin_refusal = pin_lock_policy(lockout).refusal(&p.pin_lock, now);
        let password_refusal = password_lock_policy(lockout).refusal(&p.password_lock, now);
        let standing = Standing::of(&record, now);
        let sessions = self.web_session_summaries(session, now).await?;
        Ok(AccountView {
            name: d.name.display.clone(),
            masked_card: masked(&record.card.number),
            expires_on: d.expires_on,
            standing: standing_notes(
                &standing,
                d.expires_on,
                now.date_naive(),
                self.config.web.show_block_reason,
            ),
            fines: Money::from_minor(d.fines_owed_minor),
            fine_limit: d.fee_limit_minor.map(Money::from_minor),
            currency: d.currency.to_string(),
            pin: state(p.pin.as_ref(), pin_refusal, now),
            password: state(p.password.as_ref(), password_refusal, now),
            sessions,
        })
    }

    async fn web_session_summaries(
        &self,
        session: &WebSession,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionSummary>, Error> {
        let rows = self.store.web_sessions_of(session.patron).await?;
        Ok(rows
            .into_iter()
            .filter(|row| self.web_session_valid(row, now))
            .map(|row| SessionSummary {
                current: row.digest_hex == session.digest_hex,
                started: row.created_at,
                last_seen: row.last_seen_at,
                user_agent: row.user_agent,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_is_masked_but_for_its_last_four_characters() {
        assert_eq!(masked("21234000012345"), "••••••••••2345");
        assert_eq!(masked("123"), "123");
    }

    #[test]
    fn the_standing_says_good_expiring_or_every_restriction() {
        let today = NaiveDate::from_ymd_opt(2025, 3, 14).expect("date");
        let soon = NaiveDate::from_ymd_opt(2025, 4, 1).expect("date");
        let good = Standing::default();
        assert_eq!(
            standing_notes(&good, None, today, false),
            [StandingNote::Good]
        );
        assert_eq!(
            standing_notes(&good, Some(soon), today, false),
            [StandingNote::ExpiresSoon { days: 18, on: soon }]
        );
        let blocked = Standing {
            blocked: Some("Unpaid damage".into()),
            card_lost: true,
            ..Standing::default()
        };
        assert_eq!(
            standing_notes(&blocked, None, today, false),
            [
                StandingNote::Blocked { reason: None },
                StandingNote::CardLost
            ]
        );
        assert_eq!(
            standing_notes(&blocked, None, today, true)[0],
            StandingNote::Blocked {
                reason: Some("Unpaid damage".into())
            }
        );
    }
}
