//! Patron answers (24 and 64) built from an `auth` patron decision: validity (BL, CQ), patron
//! status flags, screen messages, and how much of the patron is disclosed.
//!
//! Owns: `PatronReply` (one description, encoded as 24 or 64), the mapping of verdicts and
//! standing to flags and texts (PROTOCOL.md §6.2-6.3), and text sanitising. Called only from
//! `answer.rs`; must not import `store` queries or touch the network.

use std::time::Duration;

use super::answer::Budget;
use super::refusal::PRIVILEGES_DENIED;
use crate::auth::{BudgetAction, CredentialVerdict as Verdict, PatronDecision};
use crate::config::security::DefaultPinSipPolicy;
use crate::config::MessagesConfig;
use crate::sip2::response::{PatronInformationResponse, PatronStatusResponse};
use crate::sip2::{Language, PatronStatus, PatronStatusFlag, Response, SipDate};

/// Fees owed, as sent in BH, BV and (64) CC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fees {
    pub(crate) currency: String,
    pub(crate) owed: String,
    pub(crate) limit: Option<String>,
}

/// The 64 extension fields (PA, PB, PC).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Extensions {
    pub(crate) expiry: Option<String>,
    pub(crate) birth_date: Option<String>,
    pub(crate) class: Option<String>,
}

/// Everything a 24 or 64 says about a patron.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatronReply {
    pub(crate) status: PatronStatus,
    pub(crate) personal_name: String,
    pub(crate) valid_patron: bool,
    /// `None` leaves CQ out (64 without AD).
    pub(crate) valid_password: Option<bool>,
    pub(crate) fees: Option<Fees>,
    pub(crate) extensions: Option<Extensions>,
    pub(crate) messages: Vec<String>,
}

/// A reply and its outcome name for the request log.
#[derive(Debug)]
pub(crate) struct Checked {
    pub(crate) reply: PatronReply,
    pub(crate) outcome: &'static str,
}

impl Checked {
    pub(crate) fn unavailable(messages: &MessagesConfig) -> Checked {
        Checked {
            reply: PatronReply::unavailable(messages),
            outcome: "unavailable",
        }
    }

    /// No AD where one is required: CQ=N with the `pin_required` text (known patrons only).
    pub(crate) fn require_credential(&mut self, messages: &MessagesConfig) {
        if self.reply.valid_patron && self.reply.valid_password.is_none() {
            self.reply.valid_password = Some(false);
            self.reply
                .messages
                .splice(0..0, text(&messages.pin_required));
            self.outcome = "credential_required";
        }
    }
}

impl PatronReply {
    /// Unknown card (§6.2 rule 1): `YYYY`, AE empty, BL=N, CQ=N.
    pub(crate) fn unknown(messages: &MessagesConfig) -> PatronReply {
        PatronReply::not_validated(text(&messages.unknown_patron))
    }

    /// Database unavailable: shaped like an unknown card, with the `unavailable` text.
    pub(crate) fn unavailable(messages: &MessagesConfig) -> PatronReply {
        PatronReply::not_validated(text(&messages.unavailable))
    }

    /// A 23/63 the terminal may not send: shaped like an unknown card, with `messages`.
    pub(crate) fn refused(messages: Vec<String>) -> PatronReply {
        PatronReply::not_validated(messages)
    }

    fn not_validated(messages: Vec<String>) -> PatronReply {
        PatronReply {
            status: PatronStatus::with(&PRIVILEGES_DENIED),
            personal_name: String::new(),
            valid_patron: false,
            valid_password: Some(false),
            fees: None,
            extensions: None,
            messages,
        }
    }

    pub(crate) fn into_24(self, language: Language, date: SipDate, ao: &str, aa: &str) -> Response {
        let valid_patron = Some(self.valid_patron);
        let valid_password = self.valid_password;
        self.build_24(language, date, ao, aa, valid_patron, valid_password)
    }

    /// A 24 that states nothing about validity (a refused 01: nothing was looked up).
    pub(crate) fn into_24_without_validity(
        self,
        language: Language,
        date: SipDate,
        ao: &str,
        aa: &str,
    ) -> Response {
        self.build_24(language, date, ao, aa, None, None)
    }

    fn build_24(
        self,
        language: Language,
        date: SipDate,
        ao: &str,
        aa: &str,
        valid_patron: Option<bool>,
        valid_password: Option<bool>,
    ) -> Response {
        let (currency_type, fee_amount) = match self.fees {
            Some(fees) => (Some(fees.currency), Some(fees.owed)),
            None => (None, None),
        };
        Response::PatronStatusResponse(PatronStatusResponse {
            patron_status: self.status,
            language,
            transaction_date: date,
            institution_id: ao.to_owned(),
            patron_identifier: aa.to_owned(),
            personal_name: self.personal_name,
            valid_patron,
            valid_patron_password: valid_password,
            currency_type,
            fee_amount,
            screen_message: self.messages,
            print_line: Vec::new(),
            extra: Vec::new(),
        })
    }

    pub(crate) fn into_64(self, language: Language, date: SipDate, ao: &str, aa: &str) -> Response {
        let (currency_type, fee_amount, fee_limit) = match self.fees {
            Some(fees) => (Some(fees.currency), Some(fees.owed), fees.limit),
            None => (None, None, None),
        };
        let extensions = self.extensions.unwrap_or_default();
        Response::PatronInformationResponse(PatronInformationResponse {
            patron_status: self.status,
            language,
            transaction_date: date,
            hold_items_count: Some(0),
            overdue_items_count: Some(0),
            charged_items_count: Some(0),
            fine_items_count: Some(0),
            recall_items_count: Some(0),
            unavailable_holds_count: Some(0),
            institution_id: ao.to_owned(),
            patron_identifier: aa.to_owned(),
            personal_name: self.personal_name,
            hold_items_limit: None,
            overdue_items_limit: None,
            charged_items_limit: None,
            valid_patron: Some(self.valid_patron),
            valid_patron_password: self.valid_password,
            currency_type,
            fee_amount,
            fee_limit,
            hold_items: Vec::new(),
            overdue_items: Vec::new(),
            charged_items: Vec::new(),
            fine_items: Vec::new(),
            recall_items: Vec::new(),
            unavailable_hold_items: Vec::new(),
            home_address: None,
            email_address: None,
            home_phone_number: None,
            patron_expiration_date: extensions.expiry,
            patron_birth_date: extensions.birth_date,
            patron_class: extensions.class,
            patron_internet_profile: None,
            patron_internal_id: None,
            home_library: None,
            screen_message: self.messages,
            print_line: Vec::new(),
            extra: Vec::new(),
        })
    }
}

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
                outcome: "unknown_card",
            };
        };
        let standing = &decision.standing;
        if standing.card_lost && self.lost_card_as_unknown {
            return Checked {
                reply: PatronReply::unknown(m),
                outcome: "card_lost_as_unknown",
            };
        }
        let (valid_password, notice, disclosure, outcome) = match decision.credential {
            Verdict::Valid => (Some(true), None, Disclosure::Verified, "valid"),
            Verdict::DefaultToChange if decision.credential.is_accepted(self.default_pin) => (
                Some(true),
                Some(&m.default_pin_change),
                Disclosure::Verified,
                "valid_default_pin",
            ),
            Verdict::DefaultToChange => (
                Some(false),
                Some(&m.default_pin_change),
                Disclosure::Withheld,
                "default_pin_refused",
            ),
            Verdict::NotGiven => (None, None, Disclosure::Unverified, "no_credential"),
            Verdict::Empty => (
                Some(false),
                Some(&m.pin_required),
                Disclosure::Unverified,
                "empty_credential",
            ),
            Verdict::WrongCredential => (
                Some(false),
                Some(&m.wrong_pin),
                Disclosure::Withheld,
                "wrong_credential",
            ),
            Verdict::NoPinOnFile => (
                Some(false),
                Some(&m.wrong_pin),
                Disclosure::Withheld,
                "no_credential_on_file",
            ),
            Verdict::Locked { .. } => {
                (Some(false), Some(&m.locked), Disclosure::Withheld, "locked")
            }
            Verdict::ResetRequired => (
                Some(false),
                Some(&m.locked),
                Disclosure::Withheld,
                "reset_required",
            ),
            Verdict::DefaultExpired => (
                Some(false),
                Some(&m.default_pin_expired),
                Disclosure::Withheld,
                "default_pin_expired",
            ),
            Verdict::Busy => (Some(false), Some(&m.busy), Disclosure::Withheld, "busy"),
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
                    owed: money(patron.fines_owed_minor),
                    limit: patron.fee_limit_minor.map(money),
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

/// Minor units as a decimal amount with two places (`1250` -> `12.50`, `-5` -> `-0.05`).
pub(crate) fn money(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Text safe for a SIP2 field and for naive clients: no `|`, CR, LF or other control
/// characters (replaced by a space), and never "BLN" (Libki rejects any response containing it).
pub(crate) fn sanitise(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c == '|' || c.is_control() { ' ' } else { c })
        .collect();
    cleaned.replace("BLN", "BL N")
}

/// A configured text as AF fields: none when empty.
pub(crate) fn text(configured: &str) -> Vec<String> {
    if configured.is_empty() {
        Vec::new()
    } else {
        vec![sanitise(configured)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_has_two_places() {
        assert_eq!(money(0), "0.00");
        assert_eq!(money(1250), "12.50");
        assert_eq!(money(1000), "10.00");
        assert_eq!(money(-5), "-0.05");
    }

    #[test]
    fn sanitised_text_has_no_delimiter_line_break_or_bln() {
        assert_eq!(sanitise("a|b\rc\nd"), "a b c d");
        assert_eq!(sanitise("ABLNER"), "ABL NER");
        assert!(!sanitise("BLBLNN").contains("BLN"));
    }
}
