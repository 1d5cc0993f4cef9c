//! From an `auth` patron decision to a `PatronReply`: the verdict's CQ, notice and outcome name,
//! how much of the patron is disclosed (verified, unverified, withheld), the standing flags and
//! texts (PROTOCOL.md §6.2-6.3), and the terminal budget's action as the session applies it.
//!
//! Part of `answer`, the one place where SIP2 meets `auth`. Must not import `store`, encode
//! responses, or touch the network.

use std::time::Duration;

use super::Budget;
use crate::auth::{BudgetAction, CredentialVerdict as Verdict, Money, PatronDecision};
use crate::config::security::DefaultPinSipPolicy;
use crate::config::MessagesConfig;
use crate::server::outcome::Outcome;
use crate::server::patron::{
    sanitise, text, Checked, Extensions, Fees, PatronReply, PRIVILEGES_DENIED,
};
use crate::sip2::{PatronStatus, PatronStatusFlag};

/// How much of a known patron a reply shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Disclosure {
    /// The credential was verified: everything the terminal's detail level allows.
    Verified,
    /// No credential presented (barcode-only check): name, status flags and fees.
    Unverified,
    /// A presented credential failed: validity and the reason only.
    Withheld,
}

/// The settings that shape patron replies.
pub(crate) struct Rules<'a> {
    pub(crate) messages: &'a MessagesConfig,
    /// The AF of a wrong credential: the PIN's, or the password's at a password terminal.
    pub(crate) wrong_credential: &'a String,
    /// A correct default PIN: accepted with a notice, or refused.
    pub(crate) default_pin: DefaultPinSipPolicy,
    pub(crate) full_detail: bool,
    /// Send PA/PB/PC (64 only, `server.extensions`).
    pub(crate) extensions: bool,
    pub(crate) lost_card_as_unknown: bool,
}

impl Rules<'_> {
    /// The reply to a decided patron check.
    pub(crate) fn reply(&self, decision: &PatronDecision) -> Checked {
        let m = self.messages;
        let Some(patron) = decision.patron.as_ref() else {
            return Checked {
                reply: PatronReply::unknown(m),
                outcome: Outcome::UnknownCard,
            };
        };
        let standing = &decision.standing;
        if standing.card_lost && self.lost_card_as_unknown {
            return Checked {
                reply: PatronReply::unknown(m),
                outcome: Outcome::CardLostAsUnknown,
            };
        }
        let (valid_password, notice, disclosure, outcome) = match decision.credential {
            Verdict::Valid => (Some(true), None, Disclosure::Verified, Outcome::Valid),
            Verdict::DefaultToChange if decision.credential.is_accepted(self.default_pin) => (
                Some(true),
                Some(&m.default_pin_change),
                Disclosure::Verified,
                Outcome::ValidDefaultPin,
            ),
            Verdict::DefaultToChange => (
                Some(false),
                Some(&m.default_pin_change),
                Disclosure::Withheld,
                Outcome::DefaultPinRefused,
            ),
            Verdict::NotGiven => (None, None, Disclosure::Unverified, Outcome::NoCredential),
            Verdict::Empty => (
                Some(false),
                Some(&m.pin_required),
                Disclosure::Unverified,
                Outcome::EmptyCredential,
            ),
            Verdict::WrongCredential => (
                Some(false),
                Some(self.wrong_credential),
                Disclosure::Withheld,
                Outcome::WrongCredential,
            ),
            Verdict::NoPinOnFile => (
                Some(false),
                Some(self.wrong_credential),
                Disclosure::Withheld,
                Outcome::NoCredentialOnFile,
            ),
            Verdict::Locked { .. } => (
                Some(false),
                Some(&m.locked),
                Disclosure::Withheld,
                Outcome::Locked,
            ),
            Verdict::ResetRequired => (
                Some(false),
                Some(&m.locked),
                Disclosure::Withheld,
                Outcome::ResetRequired,
            ),
            Verdict::DefaultExpired => (
                Some(false),
                Some(&m.default_pin_expired),
                Disclosure::Withheld,
                Outcome::DefaultPinExpired,
            ),
            Verdict::Busy => (
                Some(false),
                Some(&m.busy),
                Disclosure::Withheld,
                Outcome::Busy,
            ),
        };
        let mut reply = PatronReply {
            status: PatronStatus::default(),
            personal_name: String::new(),
            valid_patron: true,
            valid_password,
            fees: None,
            extensions: None,
            messages: notice.map(|t| text(t)).unwrap_or_default(),
        };
        if disclosure != Disclosure::Withheld {
            let mut flags: Vec<PatronStatusFlag> = Vec::new();
            let mut standing_texts = Vec::new();
            if standing.expired {
                flags.extend(PRIVILEGES_DENIED);
                standing_texts.extend(text(&m.expired));
            }
            if standing.blocked.is_some() {
                flags.extend(PRIVILEGES_DENIED);
                standing_texts.extend(text(&m.blocked));
            }
            if standing.card_lost {
                flags.extend(PRIVILEGES_DENIED);
                flags.push(PatronStatusFlag::CardReportedLost);
                standing_texts.extend(text(&m.card_lost));
            }
            if standing.fines_over_limit {
                flags.push(PatronStatusFlag::ExcessiveOutstandingFines);
                standing_texts.extend(text(&m.fines_over_limit));
            }
            reply.status = PatronStatus::with(&flags);
            reply.messages.extend(standing_texts);
            if self.full_detail {
                reply.personal_name = sanitise(&patron.display_name);
                reply.fees = Some(Fees {
                    currency: patron.currency.to_string(),
                    owed: Money::from_minor(patron.fines_owed_minor).to_string(),
                    limit: patron
                        .fee_limit_minor
                        .map(|m| Money::from_minor(m).to_string()),
                });
                if disclosure == Disclosure::Verified && self.extensions {
                    reply.extensions = Some(Extensions {
                        expiry: patron.expires_on.map(|d| d.format("%Y%m%d").to_string()),
                        birth_date: patron.birth_date.map(|d| d.format("%Y%m%d").to_string()),
                        class: patron.patron_class.as_deref().map(sanitise),
                    });
                }
            }
            if disclosure == Disclosure::Verified && reply.messages.is_empty() {
                reply.messages = text(&m.welcome);
            }
        }
        Checked { reply, outcome }
    }
}

/// The budget action of a decision, as the session applies it.
///
/// The budget is counted in the database over the window, so it outlives the session it ended:
/// after logging in again, the terminal is still over the threshold. Each further failed check
/// (a wrong PIN, or a PIN for an unknown card) ends the session again; any other check is
/// answered after `delay` and keeps the session, so a patron typing the right PIN is not thrown
/// out with the sprayer.
pub(crate) fn budget(decision: &PatronDecision, delay: Duration) -> Budget {
    match decision.budget.action {
        BudgetAction::None => Budget::Within,
        BudgetAction::Delay(pause) => Budget::Delay(pause),
        BudgetAction::EndSession if decision.credential == Verdict::WrongCredential => {
            Budget::EndSession
        }
        BudgetAction::EndSession => Budget::Delay(delay),
    }
}
