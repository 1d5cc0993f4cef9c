//! Decisions are values: what the engine concluded about a terminal or a patron. A wrong PIN, a
//! lock or an unknown card is a decision; only "could not decide" is an `Err`. Owns the shapes the
//! server and the web side read, and nothing that computes them.
//!
//! Uses `store` (ids, statuses), the terminal type of `terminal_settings`, and `config`; must not import `sip2`, `server`
//! or `accounts`.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use secrecy::SecretString;

use super::password_rules::PasswordRejection;
use super::pin_rules::PinRejection;
use super::terminal_settings::TerminalProfile;
use crate::config::security::DefaultPinSipPolicy;
use crate::store::{Currency, PatronId, PatronStatus};

/// What a terminal sent as the patron's PIN or password.
pub enum Presented {
    /// No credential field at all.
    Absent,
    /// A credential field, possibly empty.
    Given(SecretString),
}

impl fmt::Debug for Presented {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Absent => f.write_str("Absent"),
            Self::Given(_) => f.write_str("Given([redacted])"),
        }
    }
}

/// Non-secret patron data a terminal may be told (subject to its detail level).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatronView {
    pub id: PatronId,
    /// The card number the terminal asked about.
    pub card: String,
    pub institution: String,
    pub display_name: String,
    pub patron_class: Option<String>,
    pub home_library: Option<String>,
    pub expires_on: Option<NaiveDate>,
    pub birth_date: Option<NaiveDate>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Fines owed, in minor units of `currency`.
    pub fines_owed_minor: i64,
    /// Fines above which borrowing stops, in minor units; `None`: no limit.
    pub fee_limit_minor: Option<i64>,
    pub currency: Currency,
    pub status: PatronStatus,
}

/// The verdict on the presented credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialVerdict {
    /// Correct.
    Valid,
    /// Wrong (also for an unknown card when a credential was given). Counted as a failure for a
    /// known patron.
    WrongCredential,
    /// No credential field was sent. Not a failure.
    NotGiven,
    /// The field was present but empty. Not a failure.
    Empty,
    /// The patron has no PIN (or password) on file. Not a failure.
    NoPinOnFile,
    /// Locked after failures: `until` the time it lifts, `None` for a hard lock (reset needed).
    /// Given even for the correct credential; the counter is not reset.
    Locked { until: Option<DateTime<Utc>> },
    /// A correct default PIN that must be changed. SIP policy `accept_with_notice` treats it as
    /// valid with a notice, `reject` as refused.
    DefaultToChange,
    /// A default PIN used after its lifetime: refused.
    DefaultExpired,
    /// The stored hash can no longer be verified (its pepper key was retired): reset needed.
    ResetRequired,
    /// No hashing slot within the queue timeout. Not a failure; ask again later.
    Busy,
}

impl CredentialVerdict {
    /// Whether the terminal may treat the credential as correct.
    pub(crate) fn is_accepted(self, policy: DefaultPinSipPolicy) -> bool {
        match self {
            Self::Valid => true,
            Self::DefaultToChange => policy == DefaultPinSipPolicy::AcceptWithNotice,
            _ => false,
        }
    }
}

/// The patron's standing, independent of the credential.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standing {
    /// The expiry date lies before today.
    pub expired: bool,
    /// Blocked by staff, with the reason.
    pub blocked: Option<String>,
    /// The card used is marked lost, or the patron reported a lost card.
    pub card_lost: bool,
    /// Fines owed exceed the patron's limit.
    pub fines_over_limit: bool,
}

impl Standing {
    /// Nothing stands in the way.
    pub fn is_good(&self) -> bool {
        !self.expired && self.blocked.is_none() && !self.card_lost && !self.fines_over_limit
    }
}

/// What the session should do about the terminal's failure budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BudgetAction {
    #[default]
    None,
    /// Wait this long before answering (spraying or enumeration suspected).
    Delay(Duration),
    /// Close the session; the terminal must log in again.
    EndSession,
}

/// The terminal budget after this check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TerminalBudget {
    pub action: BudgetAction,
    /// This check crossed a threshold and an alert was raised (logged at `warn`).
    pub alert: bool,
}

/// Everything decided about one patron check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatronDecision {
    /// `None`: no patron holds this card at this institution.
    pub patron: Option<PatronView>,
    pub credential: CredentialVerdict,
    pub standing: Standing,
    pub budget: TerminalBudget,
}

/// Why a terminal login was refused. Every reason gets the same answer on the wire and costs the
/// same time; the reason is for the audit trail and the operator's log only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminalRefusal {
    UnknownLogin,
    WrongPassword,
    AddressNotAllowed,
    Disabled,
    /// The terminal requires TLS and the connection is plain text.
    TlsRequired,
    /// The connection's client certificate is not the terminal's (or it has one and the
    /// terminal is bound to none).
    CertificateMismatch,
}

impl TerminalRefusal {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::UnknownLogin => "unknown_login",
            Self::WrongPassword => "wrong_password",
            Self::AddressNotAllowed => "address_not_allowed",
            Self::Disabled => "disabled",
            Self::TlsRequired => "tls_required",
            Self::CertificateMismatch => "certificate_mismatch",
        }
    }
}

/// The answer to a terminal login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminalDecision {
    Accepted(TerminalProfile),
    Refused(TerminalRefusal),
    /// No hashing slot within the queue timeout.
    Busy,
}

/// Why a new PIN or password was refused; `Display` is the sentence for the patron.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    Pin(PinRejection),
    Password(PasswordRejection),
}

impl Rejection {
    /// The rule's stable name (`pin_sequence`, `password_missing_digit`…).
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Pin(r) => r.rule(),
            Self::Password(r) => r.rule(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pin(r) => r.fmt(f),
            Self::Password(r) => r.fmt(f),
        }
    }
}

/// Every rule a new PIN or password breaks, in the rules' order; never empty. Each [`Rejection`]
/// is one sentence for the patron (a form attaches it to its field); `Display` joins them with
/// "; ".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejections {
    first: Rejection,
    rest: Vec<Rejection>,
}

impl Rejections {
    /// `None` when nothing was broken.
    pub(crate) fn new(all: impl IntoIterator<Item = Rejection>) -> Option<Rejections> {
        let mut all = all.into_iter();
        let first = all.next()?;
        Some(Rejections {
            first,
            rest: all.collect(),
        })
    }

    /// The first rule broken (what a single-reason answer shows).
    pub fn first(&self) -> &Rejection {
        &self.first
    }

    /// Every rule broken, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Rejection> {
        std::iter::once(&self.first).chain(&self.rest)
    }
}

impl From<Rejection> for Rejections {
    fn from(rejection: Rejection) -> Self {
        Rejections {
            first: rejection,
            rest: Vec::new(),
        }
    }
}

impl fmt::Display for Rejections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.first.fmt(f)?;
        for rejection in &self.rest {
            write!(f, "; {rejection}")?;
        }
        Ok(())
    }
}

/// The outcome of setting a new PIN or password, with the first rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewCredential {
    /// Store this (hash, key id and flags).
    Hashed(crate::store::CredentialHash),
    /// Refused by the rules.
    Rejected(Rejection),
    /// No hashing slot within the queue timeout.
    Busy,
}

/// The outcome of a PIN or password someone chose, with every rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chosen {
    /// Store this (hash, key id and flags).
    Hashed(crate::store::CredentialHash),
    /// Refused: every rule it breaks.
    Rejected(Rejections),
    /// No hashing slot within the queue timeout.
    Busy,
}

impl From<Chosen> for NewCredential {
    fn from(chosen: Chosen) -> Self {
        match chosen {
            Chosen::Hashed(hash) => NewCredential::Hashed(hash),
            Chosen::Rejected(all) => NewCredential::Rejected(all.first),
            Chosen::Busy => NewCredential::Busy,
        }
    }
}

impl From<NewCredential> for Chosen {
    fn from(new: NewCredential) -> Self {
        match new {
            NewCredential::Hashed(hash) => Chosen::Hashed(hash),
            NewCredential::Rejected(rejection) => Chosen::Rejected(rejection.into()),
            NewCredential::Busy => Chosen::Busy,
        }
    }
}
