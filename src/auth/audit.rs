//! The audit log's vocabulary and its one entry builder: [`AuditAction`] (what was done) and
//! [`AuditOutcome`] (how it ended), each with the stable text stored in `audit_log`, and
//! [`Authenticator::audit_entry`], which every audit record of the crate goes through (the card
//! pseudonymised with the active pepper key; nothing secret is passed in).
//!
//! Uses `store` (the record type); must not import `sip2`, `server` or `accounts`.

use std::fmt;

use chrono::{DateTime, Utc};

use super::authenticator::Authenticator;
use super::Result;
use crate::store::NewAuditEntry;

/// Declares a fieldless enum with a stable text form (`as_str`, `Display`, `ALL`). The strings are
/// what the audit log stores: changing one changes the meaning of stored records.
macro_rules! audit_vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            #[cfg(test)]
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text stored in the audit log.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

audit_vocabulary! {
    /// What an audit record is about.
    AuditAction {
        /// A patron PIN was checked (by a terminal).
        PinCheck = "pin",
        /// A patron online password was checked (by a terminal).
        PasswordCheck = "password",
        /// A message to the patron was queued (after a hard lock).
        PatronNotification = "patron_notification",
        /// A terminal's failure budget was exceeded.
        TerminalBudget = "terminal_budget",
        /// A terminal login was refused.
        TerminalLogin = "terminal_login",
        PatronAdd = "patron_add",
        PatronUpdate = "patron_update",
        PatronRemove = "patron_remove",
        /// A default PIN (from the phone) was issued to a new patron.
        DefaultPinIssued = "default_pin_issued",
        /// The patron chose a new PIN.
        PinSet = "pin_set",
        /// Staff reset the PIN (one-time PIN or the patron's choice at the desk).
        PinReset = "pin_reset",
        PasswordSet = "password_set",
        Unlock = "unlock",
        Block = "block",
        Unblock = "unblock",
        CardLost = "card_lost",
        CardFound = "card_found",
        /// A bulk patron import.
        Import = "import",
        /// A patron missing from a `--sync` import was expired or removed.
        ImportSync = "import_sync",
        /// An unused legacy (imported, unpeppered) PIN hash was removed.
        ExpireLegacyPin = "expire_legacy_pin",
        /// An unused legacy online-password hash was removed.
        ExpireLegacyPassword = "expire_legacy_password",
        TerminalAdd = "terminal_add",
        /// A terminal's settings were changed (not its secret).
        TerminalUpdate = "terminal_update",
        TerminalSetPassword = "terminal_set_password",
        TerminalEnable = "terminal_enable",
        TerminalDisable = "terminal_disable",
        TerminalRemove = "terminal_remove",
        /// An admin API key was created (its name and scope in the reason).
        ApiKeyAdd = "api_key_add",
        /// An admin API key was revoked.
        ApiKeyRevoke = "api_key_revoke",
        /// Two-factor log-in was turned on (the first code accepted).
        TwoFactorEnable = "two_factor_enable",
        /// Two-factor log-in was turned off.
        TwoFactorDisable = "two_factor_disable",
        /// A new set of recovery codes was made (the old set cancelled).
        RecoveryCodesIssue = "recovery_codes_issue",
        /// A recovery code was used at log-in.
        RecoveryCodeUse = "recovery_code_use",
        /// A forgotten PIN or password mail was queued (by the patron's request or by staff).
        ResetMail = "reset_mail",
        /// A reset link was used to set a new PIN or password.
        ResetByLink = "reset_by_link",
    }
}

audit_vocabulary! {
    /// How the audited action ended.
    AuditOutcome {
        Ok = "ok",
        /// A rule refused it (the reason says which).
        Refused = "refused",
        /// The stored credential cannot be verified (retired key, unreadable hash): reset needed.
        ResetRequired = "reset_required",
        /// A default PIN past its lifetime was presented.
        DefaultExpired = "default_expired",
        /// A default PIN, still to be changed, was used.
        DefaultUsed = "default_used",
        /// Too many failures: locked for a while.
        Locked = "locked",
        /// Too many failures: locked until staff unlock.
        HardLocked = "hard_locked",
        /// Queued for sending.
        Queued = "queued",
        /// An alert for staff.
        Alert = "alert",
        /// Carried out (a staff action without a refusal case).
        Done = "done",
        /// Expired by a `--sync` import.
        Expired = "expired",
        /// Removed by a `--sync=remove` import.
        Removed = "removed",
        /// Stopped by an interrupt (Ctrl-C) after the batches committed so far.
        Interrupted = "interrupted",
    }
}

impl Authenticator {
    /// The audit record of an action at `at` by `actor` (a terminal login id, `staff:NAME` or
    /// `terminal:LOGIN`), with the card pseudonymised. The one place an audit record is built.
    pub(crate) fn audit_entry(
        &self,
        at: DateTime<Utc>,
        actor: String,
        card: Option<&str>,
        action: AuditAction,
        outcome: AuditOutcome,
        reason: Option<String>,
    ) -> NewAuditEntry {
        NewAuditEntry {
            at,
            actor,
            card_pseudonym: card.map(|c| self.pseudonym(c)),
            action: action.as_str().to_owned(),
            outcome: outcome.as_str().to_owned(),
            reason,
        }
    }

    /// Appends an audit record of an engine decision, timed by the engine's clock.
    pub(super) async fn audit(
        &self,
        actor: &str,
        card: Option<&str>,
        action: AuditAction,
        outcome: AuditOutcome,
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn stored_texts_are_stable_and_distinct() {
        let actions: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(actions.len(), actions.iter().collect::<HashSet<_>>().len());
        assert_eq!(AuditAction::PinCheck.as_str(), "pin");
        assert_eq!(AuditAction::PinReset.to_string(), "pin_reset");
        assert_eq!(AuditAction::TerminalLogin.as_str(), "terminal_login");
        let outcomes: Vec<&str> = AuditOutcome::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(
            outcomes.len(),
            outcomes.iter().collect::<HashSet<_>>().len()
        );
        assert_eq!(AuditOutcome::Ok.as_str(), "ok");
        assert_eq!(AuditOutcome::HardLocked.as_str(), "hard_locked");
        for text in actions.iter().chain(&outcomes) {
            assert!(
                text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{text}"
            );
        }
    }
}
