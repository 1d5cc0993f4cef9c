//! Patron answers (24 and 64) as the terminal is told them: validity (BL, CQ), patron
//! status flags, screen messages, and how much of the patron is disclosed.
//!
//! Owns: `PatronReply` (one description, encoded as 24 or 64) and text sanitising (amounts are
//! `auth::Money`). What a terminal is told about a patron check is stated by `auth::Told`
//! (PROTOCOL.md §6.2-6.3) and encoded into a reply by `answer/disclosure.rs`. Called only from
//! `answer`; must not import `auth` or `store`, or touch the network.

use crate::config::MessagesConfig;
use crate::server::outcome::Outcome;
use crate::sip2::response::{PatronInformationResponse, PatronStatusResponse};
use crate::sip2::{Language, PatronStatus, PatronStatusFlag, Response, SipDate};

/// Positions 0-3: charge, renewal, recall and hold privileges denied.
pub const PRIVILEGES_DENIED: [PatronStatusFlag; 4] = [
    PatronStatusFlag::ChargePrivilegesDenied,
    PatronStatusFlag::RenewalPrivilegesDenied,
    PatronStatusFlag::RecallPrivilegesDenied,
    PatronStatusFlag::HoldPrivilegesDenied,
];

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

/// A reply and its outcome for the request log.
#[derive(Debug)]
pub(crate) struct Checked {
    pub(crate) reply: PatronReply,
    pub(crate) outcome: Outcome,
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

    /// A 24 for a refused 01: no BL (nothing was looked up), CQ=N (nothing was verified).
    pub(crate) fn into_24_without_validity(
        self,
        language: Language,
        date: SipDate,
        ao: &str,
        aa: &str,
    ) -> Response {
        self.build_24(language, date, ao, aa, None, Some(false))
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
    fn sanitised_text_has_no_delimiter_line_break_or_bln() {
        assert_eq!(sanitise("a|b\rc\nd"), "a b c d");
        assert_eq!(sanitise("ABLNER"), "ABL NER");
        assert!(!sanitise("BLBLNN").contains("BLN"));
    }
}
