//! What a terminal is told about a patron check: validity (SIP2 BL and CQ), the patron status
//! flags, the screen messages (AF, each with the configured text it sends) and how much of the
//! patron is disclosed, from a patron decision and the terminal's settings (PROTOCOL.md
//! §6.2-6.3). The one statement of these rules: the SIP2 server encodes a [`Told`] as a 24 or
//! 64, and `explain` prints it, so the two cannot disagree.
//!
//! Pure: no I/O, clock or hashing. Uses `config` and `store` setting kinds; must not import
//! `sip2`, `server` or `accounts`.

use std::collections::BTreeSet;

use super::decision::{CredentialVerdict, PatronDecision};
use super::terminal_access::{DetailWithoutPin, RestrictionTelling};
use super::terminal_settings::{PatronCredential, PatronDetail};
use crate::config::security::DefaultPinSipPolicy;
use crate::config::MessagesConfig;

/// A patron status flag a terminal can be sent (positions 0-3, 4 and 10 of SIP2's 14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatusFlag {
    ChargePrivilegesDenied,
    RenewalPrivilegesDenied,
    RecallPrivilegesDenied,
    HoldPrivilegesDenied,
    CardReportedLost,
    ExcessiveOutstandingFines,
}

/// Charge, renewal, recall and hold privileges denied.
pub const PRIVILEGES_DENIED: [StatusFlag; 4] = [
    StatusFlag::ChargePrivilegesDenied,
    StatusFlag::RenewalPrivilegesDenied,
    StatusFlag::RecallPrivilegesDenied,
    StatusFlag::HoldPrivilegesDenied,
];

impl StatusFlag {
    /// The flag in words.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::ChargePrivilegesDenied => "charge privileges denied",
            Self::RenewalPrivilegesDenied => "renewal privileges denied",
            Self::RecallPrivilegesDenied => "recall privileges denied",
            Self::HoldPrivilegesDenied => "hold privileges denied",
            Self::CardReportedLost => "card reported lost",
            Self::ExcessiveOutstandingFines => "excessive outstanding fines",
        }
    }
}

/// Why a screen message is sent: each reason is one `[messages]` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Welcome,
    WrongPin,
    WrongPassword,
    UnknownPatron,
    PinRequired,
    Expired,
    Blocked,
    CardLost,
    FinesOverLimit,
    Locked,
    DefaultPinChange,
    DefaultPinExpired,
    Unavailable,
    Busy,
}

impl Reason {
    /// The `[messages]` key that configures the text.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Welcome => "welcome",
            Self::WrongPin => "wrong_pin",
            Self::WrongPassword => "wrong_password",
            Self::UnknownPatron => "unknown_patron",
            Self::PinRequired => "pin_required",
            Self::Expired => "expired",
            Self::Blocked => "blocked",
            Self::CardLost => "card_lost",
            Self::FinesOverLimit => "fines_over_limit",
            Self::Locked => "locked",
            Self::DefaultPinChange => "default_pin_change",
            Self::DefaultPinExpired => "default_pin_expired",
            Self::Unavailable => "unavailable",
            Self::Busy => "busy",
        }
    }

    /// The configured text.
    pub(crate) fn text(self, m: &MessagesConfig) -> &str {
        match self {
            Self::Welcome => &m.welcome,
            Self::WrongPin => &m.wrong_pin,
            Self::WrongPassword => &m.wrong_password,
            Self::UnknownPatron => &m.unknown_patron,
            Self::PinRequired => &m.pin_required,
            Self::Expired => &m.expired,
            Self::Blocked => &m.blocked,
            Self::CardLost => &m.card_lost,
            Self::FinesOverLimit => &m.fines_over_limit,
            Self::Locked => &m.locked,
            Self::DefaultPinChange => &m.default_pin_change,
            Self::DefaultPinExpired => &m.default_pin_expired,
            Self::Unavailable => &m.unavailable,
            Self::Busy => &m.busy,
        }
    }
}

/// One screen message: why, and the configured text (never empty: an empty text sends nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenMessage {
    pub reason: Reason,
    pub text: String,
}

/// How much of a known patron the answer shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disclosure {
    /// The credential was verified: everything the terminal's detail level allows.
    Verified,
    /// No credential presented (barcode-only check): name, status flags and fees.
    Unverified,
    /// A presented credential failed, or no patron is shown: validity and the reason only.
    Withheld,
}

/// What the check amounts to (the request log names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    UnknownCard,
    /// The card is lost and `server.lost_card_as_unknown` answers it as unknown.
    CardLostAsUnknown,
    /// A known patron, with the verdict on the presented credential.
    Checked(CredentialVerdict),
    /// A known patron refused for a restriction by a terminal in deny mode (CQ=N, the flags
    /// and the reason still told), with the verdict on the presented credential.
    Denied(CredentialVerdict),
    /// No credential where the message requires one.
    CredentialRequired,
    /// The check could not be decided (database unavailable).
    Unavailable,
}

/// What the terminal is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Told {
    pub case: Case,
    /// BL.
    pub valid_patron: bool,
    /// CQ; `None` leaves it out (a 64 without AD).
    pub valid_credential: Option<bool>,
    pub flags: BTreeSet<StatusFlag>,
    /// AF, in order.
    pub messages: Vec<ScreenMessage>,
    pub disclosure: Disclosure,
    /// The patron's name and fees are shown (full detail, not withheld).
    pub name_and_fees: bool,
}

/// The settings that shape what a terminal is told.
#[derive(Debug, Clone, Copy)]
pub struct Telling<'a> {
    pub messages: &'a MessagesConfig,
    /// The terminal's credential kind: a password-only terminal's wrong credential is a password.
    pub credential: PatronCredential,
    pub detail: PatronDetail,
    /// What a check without a verified PIN shows.
    pub detail_without_pin: DetailWithoutPin,
    /// Restrictions as status flags, or refused (deny mode).
    pub restrictions: RestrictionTelling<'a>,
    /// A correct default PIN: accepted with a notice, or refused.
    pub default_pin: DefaultPinSipPolicy,
    pub lost_card_as_unknown: bool,
    /// A check without a credential gets CQ=N and the `pin_required` text.
    pub credential_required: bool,
}

impl Telling<'_> {
    /// What the terminal is told about `decision`.
    pub(crate) fn told(&self, decision: &PatronDecision) -> Told {
        if decision.patron.is_none() {
            return self.not_validated(Case::UnknownCard, Reason::UnknownPatron);
        }
        let standing = &decision.standing;
        if standing.card_lost && self.lost_card_as_unknown {
            return self.not_validated(Case::CardLostAsUnknown, Reason::UnknownPatron);
        }
        let verdict = decision.credential;
        let (valid_credential, notice, disclosure) = self.verdict(verdict);
        let mut told = Told {
            case: Case::Checked(verdict),
            valid_patron: true,
            valid_credential,
            flags: BTreeSet::new(),
            messages: Vec::new(),
            disclosure,
            name_and_fees: self.shows_name_and_fees(disclosure),
        };
        if let Some(reason) = notice {
            self.say(&mut told.messages, reason);
        }
        if disclosure != Disclosure::Withheld {
            if standing.expired {
                told.flags.extend(PRIVILEGES_DENIED);
                self.say(&mut told.messages, Reason::Expired);
            }
            if standing.blocked.is_some() {
                told.flags.extend(PRIVILEGES_DENIED);
                self.say(&mut told.messages, Reason::Blocked);
            }
            if standing.card_lost {
                told.flags.extend(PRIVILEGES_DENIED);
                told.flags.insert(StatusFlag::CardReportedLost);
                self.say(&mut told.messages, Reason::CardLost);
            }
            if standing.fines_over_limit {
                told.flags.insert(StatusFlag::ExcessiveOutstandingFines);
                self.say(&mut told.messages, Reason::FinesOverLimit);
            }
            if disclosure == Disclosure::Verified && told.messages.is_empty() {
                self.say(&mut told.messages, Reason::Welcome);
            }
        }
        if verdict == CredentialVerdict::NotGiven && self.credential_required {
            told.case = Case::CredentialRequired;
            told.valid_credential = Some(false);
            let mut required = Vec::new();
            self.say(&mut required, Reason::PinRequired);
            told.messages.splice(0..0, required);
        }
        // Deny mode: a client that reads only BL and CQ must not accept a restricted patron.
        // The credential was verified (and counted) all the same.
        if disclosure != Disclosure::Withheld && self.restrictions.refuses(standing) {
            told.case = Case::Denied(verdict);
            told.valid_credential = Some(false);
        }
        told
    }

    /// Whether an answer of this disclosure carries the patron's name and fees.
    fn shows_name_and_fees(&self, disclosure: Disclosure) -> bool {
        let full = self.detail == PatronDetail::Full;
        match disclosure {
            Disclosure::Verified => full,
            Disclosure::Unverified => full && self.detail_without_pin == DetailWithoutPin::Full,
            Disclosure::Withheld => false,
        }
    }

    /// What a terminal is told when the check could not be decided.
    pub(crate) fn unavailable(&self) -> Told {
        self.not_validated(Case::Unavailable, Reason::Unavailable)
    }

    /// CQ, the notice and the disclosure of a verdict.
    fn verdict(&self, verdict: CredentialVerdict) -> (Option<bool>, Option<Reason>, Disclosure) {
        use CredentialVerdict as V;
        let wrong = if self.credential == PatronCredential::Password {
            Reason::WrongPassword
        } else {
            Reason::WrongPin
        };
        let refused = |reason| (Some(false), Some(reason), Disclosure::Withheld);
        match verdict {
            V::Valid => (Some(true), None, Disclosure::Verified),
            V::DefaultToChange if verdict.is_accepted(self.default_pin) => (
                Some(true),
                Some(Reason::DefaultPinChange),
                Disclosure::Verified,
            ),
            V::DefaultToChange => refused(Reason::DefaultPinChange),
            V::NotGiven => (None, None, Disclosure::Unverified),
            V::Empty => (
                Some(false),
                Some(Reason::PinRequired),
                Disclosure::Unverified,
            ),
            V::WrongCredential | V::NoPinOnFile => refused(wrong),
            V::Locked { .. } | V::ResetRequired => refused(Reason::Locked),
            V::DefaultExpired => refused(Reason::DefaultPinExpired),
            V::Busy => refused(Reason::Busy),
        }
    }

    /// Shaped like an unknown card: privileges denied, BL=N, CQ=N, one reason.
    fn not_validated(&self, case: Case, reason: Reason) -> Told {
        let mut messages = Vec::new();
        self.say(&mut messages, reason);
        Told {
            case,
            valid_patron: false,
            valid_credential: Some(false),
            flags: PRIVILEGES_DENIED.into_iter().collect(),
            messages,
            disclosure: Disclosure::Withheld,
            name_and_fees: false,
        }
    }

    /// Adds the configured text of `reason`, unless it is empty.
    fn say(&self, messages: &mut Vec<ScreenMessage>, reason: Reason) {
        let text = reason.text(self.messages);
        if !text.is_empty() {
            messages.push(ScreenMessage {
                reason,
                text: text.to_owned(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::decision::{PatronView, Standing, TerminalBudget};
    use crate::auth::terminal_access::{RestrictedAnswer, Restrictions};
    use crate::store::{Currency, PatronId, PatronStatus};

    fn decision(credential: CredentialVerdict, standing: Standing) -> PatronDecision {
        PatronDecision {
            patron: Some(PatronView {
                id: PatronId(1),
                card: "1".into(),
                institution: "MAIN".into(),
                display_name: "Doe, Jane".into(),
                patron_class: None,
                home_library: None,
                expires_on: None,
                birth_date: None,
                email: None,
                phone: None,
                fines_owed_minor: 0,
                fee_limit_minor: None,
                currency: "USD".parse::<Currency>().expect("currency"),
                status: PatronStatus::Active,
            }),
            credential,
            standing,
            budget: TerminalBudget::default(),
        }
    }

    fn telling<'a>(messages: &'a MessagesConfig, denied: &'a Restrictions) -> Telling<'a> {
        Telling {
            messages,
            credential: PatronCredential::Pin,
            detail: PatronDetail::Full,
            detail_without_pin: DetailWithoutPin::Full,
            restrictions: RestrictionTelling {
                answer: RestrictedAnswer::Flags,
                denied,
            },
            default_pin: DefaultPinSipPolicy::AcceptWithNotice,
            lost_card_as_unknown: false,
            credential_required: false,
        }
    }

    fn reasons(told: &Told) -> Vec<Reason> {
        told.messages.iter().map(|m| m.reason).collect()
    }

    #[test]
    fn a_missing_credential_where_one_is_required_is_refused_first() {
        let messages = MessagesConfig::default();
        let denied = Restrictions::default();
        let standing = Standing {
            expired: true,
            ..Standing::default()
        };
        let mut rules = telling(&messages, &denied);
        let open = rules.told(&decision(CredentialVerdict::NotGiven, standing.clone()));
        assert_eq!(open.valid_credential, None);
        assert_eq!(reasons(&open), [Reason::Expired]);
        rules.credential_required = true;
        let required = rules.told(&decision(CredentialVerdict::NotGiven, standing));
        assert_eq!(required.case, Case::CredentialRequired);
        assert_eq!(required.valid_credential, Some(false));
        assert_eq!(reasons(&required), [Reason::PinRequired, Reason::Expired]);
        assert!(required.flags.contains(&StatusFlag::ChargePrivilegesDenied));
    }

    #[test]
    fn the_welcome_is_sent_only_when_verified_and_nothing_else_is_said() {
        let messages = MessagesConfig {
            welcome: "Hello".into(),
            ..MessagesConfig::default()
        };
        let denied = Restrictions::default();
        let rules = telling(&messages, &denied);
        let valid = rules.told(&decision(CredentialVerdict::Valid, Standing::default()));
        assert_eq!(reasons(&valid), [Reason::Welcome]);
        let fines = Standing {
            fines_over_limit: true,
            ..Standing::default()
        };
        let over = rules.told(&decision(CredentialVerdict::Valid, fines));
        assert_eq!(reasons(&over), [Reason::FinesOverLimit]);
        let empty = rules.told(&decision(CredentialVerdict::Empty, Standing::default()));
        assert_eq!(reasons(&empty), [Reason::PinRequired]);
    }

    #[test]
    fn a_failed_credential_withholds_standing_and_an_empty_text_sends_nothing() {
        let messages = MessagesConfig {
            busy: String::new(),
            ..MessagesConfig::default()
        };
        let denied = Restrictions::default();
        let mut rules = telling(&messages, &denied);
        rules.credential = PatronCredential::Password;
        let lost = Standing {
            card_lost: true,
            ..Standing::default()
        };
        let wrong = rules.told(&decision(CredentialVerdict::WrongCredential, lost.clone()));
        assert_eq!(wrong.disclosure, Disclosure::Withheld);
        assert!(wrong.flags.is_empty() && !wrong.name_and_fees);
        assert_eq!(reasons(&wrong), [Reason::WrongPassword]);
        let busy = rules.told(&decision(CredentialVerdict::Busy, lost));
        assert!(busy.messages.is_empty());
        assert_eq!(busy.valid_credential, Some(false));
    }

    #[test]
    fn deny_mode_refuses_a_verified_restricted_patron_and_keeps_the_flags() {
        let messages = MessagesConfig::default();
        let denied = Restrictions::default();
        let mut rules = telling(&messages, &denied);
        rules.restrictions.answer = RestrictedAnswer::Deny;
        let blocked = Standing {
            blocked: Some("staff".into()),
            ..Standing::default()
        };
        let told = rules.told(&decision(CredentialVerdict::Valid, blocked));
        assert_eq!(told.case, Case::Denied(CredentialVerdict::Valid));
        assert_eq!(told.valid_credential, Some(false));
        assert!(told.flags.contains(&StatusFlag::ChargePrivilegesDenied));
        assert_eq!(reasons(&told), [Reason::Blocked]);
        // Fines are not refused by default: told as a flag, CQ as verified.
        let fines = Standing {
            fines_over_limit: true,
            ..Standing::default()
        };
        let told = rules.told(&decision(CredentialVerdict::Valid, fines));
        assert_eq!(told.valid_credential, Some(true));
        // A wrong PIN stays a wrong PIN: nothing of the standing is told.
        let expired = Standing {
            expired: true,
            ..Standing::default()
        };
        let wrong = rules.told(&decision(CredentialVerdict::WrongCredential, expired));
        assert_eq!(
            wrong.case,
            Case::Checked(CredentialVerdict::WrongCredential)
        );
        assert!(wrong.flags.is_empty());
    }

    #[test]
    fn a_check_without_a_pin_shows_no_name_unless_the_terminal_is_trusted_for_it() {
        let messages = MessagesConfig::default();
        let denied = Restrictions::default();
        let mut rules = telling(&messages, &denied);
        let absent = decision(CredentialVerdict::NotGiven, Standing::default());
        assert!(rules.told(&absent).name_and_fees);
        rules.detail_without_pin = DetailWithoutPin::Minimal;
        assert!(!rules.told(&absent).name_and_fees);
        let verified = decision(CredentialVerdict::Valid, Standing::default());
        assert!(rules.told(&verified).name_and_fees);
    }
}
