//! auth: may this terminal connect, and are this card and PIN (or password) good? Owns the
//! decisions ([`decision`]), argon2id hashing with the pepper ([`hashing`], [`pepper`]) and the
//! imported legacy hashes it replaces ([`legacy`]), the
//! hashing pool ([`pool`], on a fixed set of threads, `hash_threads.rs`), PIN and password rules, lockout and per-terminal budgets, the
//! default PIN, what a terminal is told about a patron check ([`told`], with the terminal's
//! restriction and no-PIN settings of [`terminal_access`]), and the audit entries
//! these produce (with pseudonymised cards).
//!
//! The facade is [`Authenticator`]: cheap to clone, built once at start-up.
//!
//! Uses `store`, `config` and `clock`, and `sip2`'s value types for a terminal's SIP2 vocabulary
//! ([`terminal_settings`]) only; must not import `server` or `accounts`.
//! Never logs a PIN, password, hash, token or raw card number, at any level.

mod attempt;
mod audit;
mod authenticator;
mod budget;
mod credential;
pub(crate) mod decision;
mod hash_threads;
pub mod hashing;
pub(crate) mod legacy;
mod login_id;
pub(crate) mod password_rules;
mod patron;
pub(crate) mod pepper;
pub(crate) mod pin_rules;
pub mod pool;
pub(crate) mod sealing;
mod standing;
mod terminal;
pub(crate) mod terminal_access;
pub(crate) mod terminal_settings;
pub(crate) mod told;
pub(crate) mod two_factor;
pub(crate) mod upstream;

/// A terminal's SIP2 vocabulary, for the layers that may not import `sip2` (accounts, http).
pub use crate::sip2::{Charset, RequestSet};
/// Amounts are written one way everywhere; `server` reads them through `auth`.
pub use crate::store::Money;
pub(crate) use audit::{AuditAction, AuditOutcome};
pub use authenticator::{password_lock_policy, pin_lock_policy, Authenticator};
pub use credential::default_pin_digits;
pub use decision::{
    BudgetAction, Chosen, CredentialVerdict, NewCredential, PatronDecision, PatronView, Presented,
    Rejection, Rejections, Standing, TerminalBudget, TerminalDecision, TerminalRefusal,
};
pub use login_id::ShownLoginId;
pub use password_rules::{PasswordContext, PasswordRejection};
pub use patron::{foreseen_verdict, Typed, WebChecked};
pub use pepper::{KeyRing, PepperError, PepperKey};
pub use pin_rules::{PinContext, PinRejection};
pub use pool::{Busy, PoolCounts};
pub use sealing::{SealError, SealPurpose, Sealer};
pub use terminal_access::{
    DetailWithoutPin, RestrictedAnswer, Restriction, RestrictionTelling, Restrictions,
};
pub use terminal_settings::{
    CertificateBinding, CertificateLogin, ErrorDetection, NewTerminal, PatronCredential,
    PatronDetail, Terminal, TerminalProfile, TerminalSettings, Terminator,
};
pub use told::{
    Case, Disclosure, Reason, ScreenMessage, StatusFlag, Telling, Told, PRIVILEGES_DENIED,
};
pub use upstream::{
    record as upstream_password_record, PatronMode, SealedPassword, UnknownHere, Upstream,
    DEFAULT_UPSTREAM_TIMEOUT,
};

/// Why the engine could not decide (or could not start). A refusal is never an `Err`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error(transparent)]
    Pepper(#[from] PepperError),
    #[error(
        "pepper key {key_id} does not match the fingerprint recorded in the database: refusing to \
         start (check [security.pepper] and SIP2AUTH_PEPPER; no patron was locked)"
    )]
    FingerprintMismatch { key_id: u32 },
    #[error(
        "{hashes} stored hashes use pepper key {key_id} but the database records no fingerprint \
         for it: refusing to start with a key that cannot be confirmed"
    )]
    FingerprintMissing { key_id: u32, hashes: u64 },
    /// The key file cannot be read, and the database already holds hashes made with that key:
    /// a new key would make every one of them unverifiable.
    #[error(
        "pepper key {key_id}, which made the {hashes} hash(es) in this database, is missing: {path} \
         cannot be read ({reason}). Restore that key file (security.pepper.key_file, \
         SIP2AUTH_PEPPER_FILE or SIP2AUTH_PEPPER); do not generate a new key, which would make \
         every stored PIN and password unverifiable"
    )]
    PepperKeyMissing {
        key_id: u32,
        hashes: u64,
        path: std::path::PathBuf,
        reason: String,
    },
    #[error(transparent)]
    Hashing(#[from] hashing::HashingError),
}

impl Error {
    /// The database could not be reached: answer "out of service" / 503, retry later.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Error::Store(e) if e.is_unavailable())
    }
}

/// Result alias of the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;
