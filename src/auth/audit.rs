//! The audit log's one entry builder: [`Authenticator::audit_entry`], which every audit record of
//! the crate goes through (the card pseudonymised with the active pepper key; nothing secret is
//! passed in).
//!
//! Uses `store` (the record type); must not import `sip2`, `server` or `accounts`.

use chrono::{DateTime, Utc};

use super::authenticator::Authenticator;
use super::Result;
use crate::store::NewAuditEntry;

impl Authenticator {
    /// The audit record of an action at `at` by `actor` (a terminal login id, `staff:NAME` or
    /// `terminal:LOGIN`), with the card pseudonymised. The one place an audit record is built.
    pub fn audit_entry(
        &self,
        at: DateTime<Utc>,
        actor: String,
        card: Option<&str>,
        action: &str,
        outcome: &str,
        reason: Option<String>,
    ) -> NewAuditEntry {
        NewAuditEntry {
            at,
            actor,
            card_pseudonym: card.map(|c| self.pseudonym(c)),
            action: action.to_owned(),
            outcome: outcome.to_owned(),
            reason,
        }
    }

    /// Appends an audit record of an engine decision, timed by the engine's clock.
    pub(super) async fn audit(
        &self,
        actor: &str,
        card: Option<&str>,
        action: &str,
        outcome: &str,
        reason: Option<&str>,
    ) -> Result<()> {
        let entry = self.audit_entry(
            self.now(),
            actor.to_owned(),
            card,
            action,
            outcome,
            reason.map(str::to_owned),
        );
        self.inner.store.append_audit(&entry).await?;
        Ok(())
    }
}
