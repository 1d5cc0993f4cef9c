//! A patron's standing: failure counters and locks, blocks, lost cards. Every change is audited.
//!
//! Uses `store` only (through [`Accounts`]). Must not import `sip2`, `server` or `cli`.

use super::CardRef;
use crate::accounts::{Accounts, Error, Operator};
use crate::auth::{AuditAction, AuditOutcome};
use crate::store::{PatronRecord, PatronStatus};

impl Accounts {
    /// Clears every failure counter and lock (PIN and password).
    pub(crate) async fn unlock(&self, operator: &Operator, at: &CardRef) -> Result<(), Error> {
        let record = self.patron(at).await?;
        self.store.unlock(record.patron.id).await?;
        self.audit(
            operator,
            Some(&at.card),
            AuditAction::Unlock,
            AuditOutcome::Ok,
            None,
        )
        .await
    }

    /// Blocks the patron with a reason shown to staff.
    pub(crate) async fn block(
        &self,
        operator: &Operator,
        at: &CardRef,
        reason: &str,
    ) -> Result<PatronRecord, Error> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::Invalid {
                what: "reason",
                reason: "say why the patron is blocked with --reason".into(),
            });
        }
        let record = self.patron(at).await?;
        self.store.block(record.patron.id, reason).await?;
        self.audit(
            operator,
            Some(&at.card),
            AuditAction::Block,
            AuditOutcome::Ok,
            Some(reason.to_owned()),
        )
        .await?;
        Ok(record)
    }

    /// Sets the patron active again (also clears a patron-level lost flag).
    pub(crate) async fn unblock(&self, operator: &Operator, at: &CardRef) -> Result<(), Error> {
        let record = self.patron(at).await?;
        self.store
            .set_status(record.patron.id, &PatronStatus::Active)
            .await?;
        self.audit(
            operator,
            Some(&at.card),
            AuditAction::Unblock,
            AuditOutcome::Ok,
            None,
        )
        .await
    }

    /// Marks this card lost (`lost = false`: found again). The patron's other cards still work.
    pub(crate) async fn mark_lost(
        &self,
        operator: &Operator,
        at: &CardRef,
        lost: bool,
    ) -> Result<(), Error> {
        self.patron(at).await?;
        self.store
            .mark_card_lost(&at.institution, &at.card, lost)
            .await?;
        let action = if lost {
            AuditAction::CardLost
        } else {
            AuditAction::CardFound
        };
        self.audit(operator, Some(&at.card), action, AuditOutcome::Ok, None)
            .await
    }
}
