//! accounts: the lifecycle of patrons and terminals (create, change, reset, block, remove,
//! bulk import, explain) and the retention purge (`housekeeping.rs`), shared by the command line,
//! the SIP2 server and, later, the web admin API.
//!
//! Owns every staff action's rules: which secret is generated or accepted, which PIN and password
//! rules apply, what goes to the audit log (with the operator's name and a pseudonymised card).
//! Secrets arrive as `SecretString` and leave only as hashes; no error of this module carries a
//! secret. Errors are [`Error`] (thiserror); the caller maps them to exit codes or HTTP statuses.
//!
//! May use `auth`, `store`, `config`, `clock`. Must not import `sip2`, `server` or `cli`.

pub mod api_key;
mod credentials;
pub mod demo;
mod error;
pub(crate) mod explain;
mod health;
pub(crate) use health::DATABASE_PROBE_INTERVAL;
mod housekeeping;
pub(crate) mod import;
pub(crate) mod legacy;
mod notice;
mod outbox;
pub mod patron;
pub(crate) mod reset;
pub(crate) mod terminal;
pub(crate) mod terminal_changes;
pub(crate) mod web;

use std::sync::Arc;

use crate::auth::{AuditAction, AuditOutcome, Authenticator, Rejections};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::store::{NewAuditEntry, Store};

pub use crate::store::{AuditEntry, AuditQuery, PatronFilter};
pub use crate::store::{MailRecord, MailState, OutboxCounts};
pub(crate) use credentials::Credentials;
pub use error::{Error, ErrorKind};
pub use notice::Notice;
pub use reset::DeskResetMail;
pub use web::CredentialKind;

/// Who performs an account action (recorded in the audit log): a member of staff, or a SIP2
/// terminal acting for the library (a self-check retaining a card with 01).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    actor: String,
}

impl Operator {
    /// A member of staff: 1-64 printable characters.
    pub fn new(name: &str) -> Result<Operator, Error> {
        let name = name.trim();
        if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
            return Err(Error::Invalid {
                what: "operator",
                reason: "give the operator's name (1-64 printable characters) with --operator"
                    .into(),
            });
        }
        Ok(Operator {
            actor: format!("staff:{name}"),
        })
    }

    /// A SIP2 terminal, by its login id.
    pub(crate) fn terminal(login_id: &str) -> Operator {
        Operator {
            actor: format!("terminal:{login_id}"),
        }
    }

    /// A caller of the admin API, by the name of its key.
    pub(crate) fn api_key(name: &str) -> Operator {
        Operator {
            actor: format!("api:{name}"),
        }
    }

    /// The patron themselves, on the web pages.
    pub(crate) fn patron_web() -> Operator {
        Operator {
            actor: "patron:web".into(),
        }
    }

    /// The audit-log actor: `staff:NAME`, `terminal:LOGIN`, `api:KEY` or `patron:web`.
    pub(crate) fn actor(&self) -> String {
        self.actor.clone()
    }
}

/// The shared context of every account operation: database, hashing, rules, clock.
#[derive(Clone)]
pub struct Accounts {
    store: Store,
    credentials: Arc<Credentials>,
    config: Arc<Config>,
    clock: SharedClock,
    /// Wakes this process's outbox task when mail is queued.
    outbox_wake: Arc<tokio::sync::Notify>,
    /// The web listener's origin once bound (links in mails).
    site: Arc<std::sync::OnceLock<String>>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").finish_non_exhaustive()
    }
}

impl Accounts {
    /// Builds the context from an open store. Loads the pepper keys and checks them against the
    /// fingerprint recorded in the database (a wrong key would make every new hash useless).
    pub async fn new(store: Store, config: &Config, clock: SharedClock) -> Result<Accounts, Error> {
        let credentials = Credentials::new(&store, &config.security, clock.clone()).await?;
        Ok(Accounts::of(store, credentials, config, clock))
    }

    /// Builds the context around an authenticator that is already running (the server's), so
    /// one process has one hashing pool.
    pub fn with_authenticator(
        store: Store,
        config: &Config,
        clock: SharedClock,
        auth: Authenticator,
    ) -> Accounts {
        let credentials = Credentials::from_authenticator(auth, &config.security);
        Accounts::of(store, credentials, config, clock)
    }

    fn of(store: Store, credentials: Credentials, config: &Config, clock: SharedClock) -> Accounts {
        if config.mail.enabled() {
            credentials.authenticator().mail_hard_locks();
        }
        Accounts {
            store,
            credentials: Arc::new(credentials),
            config: Arc::new(config.clone()),
            clock,
            outbox_wake: Arc::new(tokio::sync::Notify::new()),
            site: Arc::new(std::sync::OnceLock::new()),
        }
    }

    /// Audit records, newest first. A card in `card` is looked up by its pseudonym (cards are
    /// stored only pseudonymised).
    pub async fn audit_log(
        &self,
        card: Option<&str>,
        mut query: crate::store::AuditQuery,
    ) -> Result<Vec<crate::store::AuditEntry>, Error> {
        query.card_pseudonym = card.map(|c| self.credentials.pseudonym(c.trim()));
        Ok(self.store.list_audit(&query).await?)
    }

    /// Whether the database is on-line, as the last probe and every query since saw it (no
    /// query when a probe ran lately; see `store::Store::online`).
    pub(crate) async fn database_online(&self) -> bool {
        self.store.online().await
    }

    /// Pings the database for [`database_online`](Self::database_online) (the background probe).
    pub(crate) async fn probe_database(&self) -> bool {
        self.store.probe().await
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// Appends one audit record for a staff action.
    async fn audit(
        &self,
        operator: &Operator,
        card: Option<&str>,
        action: AuditAction,
        outcome: AuditOutcome,
        reason: Option<String>,
    ) -> Result<(), Error> {
        let entry = self.audit_entry(operator, card, action, outcome, reason);
        self.store.append_audit(&entry).await?;
        Ok(())
    }

    /// Audits a refusal of `action` by the PIN or password rules and returns it as
    /// [`Error::Rejected`], every rule broken with its sentence for the patron (an audit failure
    /// is returned instead).
    async fn refuse(
        &self,
        operator: &Operator,
        card: &str,
        action: AuditAction,
        rejections: Rejections,
    ) -> Error {
        match self
            .audit(
                operator,
                Some(card),
                action,
                AuditOutcome::Refused,
                Some(rejections.to_string()),
            )
            .await
        {
            Ok(()) => Error::Rejected(rejections),
            Err(err) => err,
        }
    }

    /// The audit record of an action, with the card pseudonymised (for callers that write it in
    /// the same transaction as the action itself).
    fn audit_entry(
        &self,
        operator: &Operator,
        card: Option<&str>,
        action: AuditAction,
        outcome: AuditOutcome,
        reason: Option<String>,
    ) -> NewAuditEntry {
        self.credentials.audit_entry(
            self.clock.now(),
            operator.actor(),
            card,
            action,
            outcome,
            reason,
        )
    }
}
