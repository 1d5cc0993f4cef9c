//! From an `auth` patron decision to a `PatronReply`: encodes what `auth` says the terminal is
//! told (`auth::Told`: BL, CQ, status flags, AF, disclosure; the rules of PROTOCOL.md §6.2-6.3
//! live there, shared with `explain`) with the patron's name, fees and extensions, names the
//! outcome, and applies the terminal budget's action as the session does.
//!
//! Part of `answer`, the one place where SIP2 meets `auth`. Must not import `store`, encode
//! responses, or touch the network.

use std::time::Duration;

use super::Budget;
use crate::auth::{
    BudgetAction, Case, CredentialVerdict as Verdict, Disclosure, Money, PatronDecision,
    StatusFlag, Telling, Told,
};
use crate::server::outcome::Outcome;
use crate::server::patron::{sanitise, Checked, Extensions, Fees, PatronReply};
use crate::sip2::{PatronStatus, PatronStatusFlag};

/// The settings that shape patron replies.
pub(crate) struct Rules<'a> {
    /// What the terminal is told, as `auth` states it.
    pub(crate) telling: Telling<'a>,
    /// Send PA/PB/PC (64 only, `server.extensions`).
    pub(crate) extensions: bool,
}

impl Rules<'_> {
    /// The reply to a decided patron check.
    pub(crate) fn reply(&self, decision: &PatronDecision) -> Checked {
        let told = self.telling.told(decision);
        let mut reply = PatronReply::from(&told);
        if let (true, Some(patron)) = (told.name_and_fees, decision.patron.as_ref()) {
            reply.personal_name = sanitise(&patron.display_name);
            reply.fees = Some(Fees {
                currency: patron.currency.to_string(),
                owed: Money::from_minor(patron.fines_owed_minor).to_string(),
                limit: patron
                    .fee_limit_minor
                    .map(|m| Money::from_minor(m).to_string()),
            });
            if told.disclosure == Disclosure::Verified && self.extensions {
                reply.extensions = Some(Extensions {
                    expiry: patron.expires_on.map(|d| d.format("%Y%m%d").to_string()),
                    birth_date: patron.birth_date.map(|d| d.format("%Y%m%d").to_string()),
                    class: patron.patron_class.as_deref().map(sanitise),
                });
            }
        }
        Checked {
            reply,
            outcome: outcome(told.case, told.valid_credential),
        }
    }

    /// The reply when the check could not be decided.
    pub(crate) fn unavailable(&self) -> Checked {
        let told = self.telling.unavailable();
        Checked {
            reply: PatronReply::from(&told),
            outcome: outcome(told.case, told.valid_credential),
        }
    }
}

impl From<&Told> for PatronReply {
    /// BL, CQ, the status flags and AF as `auth` states them; no name, fees or extensions.
    fn from(told: &Told) -> PatronReply {
        let flags: Vec<PatronStatusFlag> = told.flags.iter().map(|f| flag(*f)).collect();
        PatronReply {
            status: PatronStatus::with(&flags),
            personal_name: String::new(),
            valid_patron: told.valid_patron,
            valid_password: told.valid_credential,
            fees: None,
            extensions: None,
            messages: told.messages.iter().map(|m| sanitise(&m.text)).collect(),
        }
    }
}

/// A status flag at its SIP2 position.
fn flag(flag: StatusFlag) -> PatronStatusFlag {
    match flag {
        StatusFlag::ChargePrivilegesDenied => PatronStatusFlag::ChargePrivilegesDenied,
        StatusFlag::RenewalPrivilegesDenied => PatronStatusFlag::RenewalPrivilegesDenied,
        StatusFlag::RecallPrivilegesDenied => PatronStatusFlag::RecallPrivilegesDenied,
        StatusFlag::HoldPrivilegesDenied => PatronStatusFlag::HoldPrivilegesDenied,
        StatusFlag::CardReportedLost => PatronStatusFlag::CardReportedLost,
        StatusFlag::ExcessiveOutstandingFines => PatronStatusFlag::ExcessiveOutstandingFines,
    }
}

/// The request log's name for what the terminal was told.
fn outcome(case: Case, valid_credential: Option<bool>) -> Outcome {
    match case {
        Case::UnknownCard => Outcome::UnknownCard,
        Case::CardLostAsUnknown => Outcome::CardLostAsUnknown,
        Case::CredentialRequired => Outcome::CredentialRequired,
        Case::Unavailable => Outcome::Unavailable,
        Case::Denied(_) => Outcome::RestrictionDenied,
        Case::Checked(verdict) => match verdict {
            Verdict::Valid => Outcome::Valid,
            Verdict::DefaultToChange if valid_credential == Some(true) => Outcome::ValidDefaultPin,
            Verdict::DefaultToChange => Outcome::DefaultPinRefused,
            Verdict::NotGiven => Outcome::NoCredential,
            Verdict::Empty => Outcome::EmptyCredential,
            Verdict::WrongCredential => Outcome::WrongCredential,
            Verdict::NoPinOnFile => Outcome::NoCredentialOnFile,
            Verdict::Locked { .. } => Outcome::Locked,
            Verdict::ResetRequired => Outcome::ResetRequired,
            Verdict::DefaultExpired => Outcome::DefaultPinExpired,
            Verdict::Busy => Outcome::Busy,
        },
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
