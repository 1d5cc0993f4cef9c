//! The default PIN (`security.default_credential`, SECURITY.md §1.2 and §2 item 25): a patron
//! created without a PIN, by `patron add` or by an import, who has a registered phone starts with
//! the last `digits` digits of that phone as PIN — hashed at creation, must-change, and refused
//! after `lifetime`. The hash is made by `auth` ([`crate::auth::Authenticator::default_pin`]).
//!
//! Rules chosen here:
//! - only at creation: existing patrons are never given one, and a later phone change does not
//!   touch the PIN (the old phone's digits keep working, with the change notice, until the patron
//!   chooses a PIN or the lifetime ends);
//! - a phone with fewer digits than `digits` (or no phone) gives no PIN at all;
//! - the PIN rules (blocklist, context) do not apply to it: they would always refuse the phone's
//!   own digits, and the PIN is temporary by construction. When the patron changes it, the new
//!   PIN may equal neither the default (previous PIN) nor the phone digits (context rule);
//! - each issue is audited as `default_pin_issued`; the digits are never shown or logged.
//!
//! Uses `credentials` and `store` (through [`Accounts`]). Must not import `sip2`, `server` or
//! `cli`.

use chrono::{DateTime, Utc};

use crate::accounts::{Accounts, Error, Operator};
use crate::auth::{AuditAction, AuditOutcome};
use crate::config::security::DefaultCredentialConfig;
use crate::store::CredentialHash;
use crate::store::NewAuditEntry;

/// A default PIN that was set: how many phone digits it uses and when it stops working. Never
/// holds the digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultPin {
    pub digits: usize,
    pub expires_at: DateTime<Utc>,
}

impl Accounts {
    /// The default-PIN policy, when enabled.
    pub(crate) fn default_pin_policy(&self) -> Option<&DefaultCredentialConfig> {
        let policy = &self.config.security.default_credential;
        policy.enabled.then_some(policy)
    }

    /// The default PIN for a new patron with this phone, hashed; `None` when the policy is off
    /// or the phone has too few digits.
    pub(in crate::accounts) async fn default_pin(
        &self,
        phone: Option<&str>,
    ) -> Result<Option<(CredentialHash, DefaultPin)>, Error> {
        let Some(hash) = self.credentials.default_pin(phone).await? else {
            return Ok(None);
        };
        let Some(expires_at) = hash.default_expires_at else {
            // `auth` always sets an expiry on a default PIN; a hash without one would be a
            // permanent phone-digit PIN, which must never be stored.
            return Err(Error::Hashing(
                "the default PIN came back without an expiry".into(),
            ));
        };
        let issued = DefaultPin {
            digits: self.config.security.default_credential.digits,
            expires_at,
        };
        Ok(Some((hash, issued)))
    }

    /// Records that `card` was given a default PIN (without the digits).
    pub(in crate::accounts) async fn audit_default_pin(
        &self,
        operator: &Operator,
        card: &str,
        issued: &DefaultPin,
    ) -> Result<(), Error> {
        let entry = self.default_pin_audit_entry(operator, card, issued);
        self.store.append_audit(&entry).await?;
        Ok(())
    }

    /// The `default_pin_issued` audit record (the digits are never in it).
    pub(in crate::accounts) fn default_pin_audit_entry(
        &self,
        operator: &Operator,
        card: &str,
        issued: &DefaultPin,
    ) -> NewAuditEntry {
        let reason = format!(
            "default PIN from the last {} digits of the phone; must change; expires {}",
            issued.digits,
            issued.expires_at.format("%Y-%m-%d %H:%M UTC")
        );
        self.audit_entry(
            operator,
            Some(card),
            AuditAction::DefaultPinIssued,
            AuditOutcome::Ok,
            Some(reason),
        )
    }
}
