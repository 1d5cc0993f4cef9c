//! The patron's online password, set by staff: the password rules apply with the patron's
//! details as context, and it may not equal the PIN. Audited; the password never leaves as text.
//!
//! Uses `credentials` and `store` (through [`Accounts`]). Must not import `sip2`, `server` or
//! `cli`.

use secrecy::SecretString;

use super::CardRef;
use crate::accounts::{Accounts, Error, Notice, Operator};
use crate::auth::password_rules::PasswordContext;
use crate::auth::{AuditAction, AuditOutcome};

impl Accounts {
    /// Sets the online password (password rules apply; it may not equal the PIN).
    pub(crate) async fn set_password(
        &self,
        operator: &Operator,
        at: &CardRef,
        password: &SecretString,
    ) -> Result<(), Error> {
        let record = self.patron(at).await?;
        let d = &record.patron.details;
        let context = PasswordContext {
            card: Some(&at.card),
            names: vec![d.name.family.as_str(), d.name.given.as_str()],
            email: d.email.as_deref(),
            library_name: Some(self.config.server.library_name.as_str()),
        };
        let verdict = self
            .credentials
            .new_password(password, &context, record.patron.pin.as_ref())
            .await?;
        let stored = match verdict {
            Ok(hash) => hash,
            Err(rejections) => {
                return Err(self
                    .refuse(operator, &at.card, AuditAction::PasswordSet, rejections)
                    .await)
            }
        };
        self.store
            .set_password_hash(record.patron.id, &stored)
            .await?;
        self.notify_patron(record.patron.id, Notice::PasswordChanged)
            .await?;
        self.audit(
            operator,
            Some(&at.card),
            AuditAction::PasswordSet,
            AuditOutcome::Ok,
            None,
        )
        .await
    }
}
