//! The patron changes their PIN or online password on the web: the new one twice, the rules
//! (the same `auth` rule code as the command line and the import, every rule broken at once),
//! then the old secret through the same check and lock counter as a log-in, then the new hash.
//! The change raises the patron's credential epoch (ending every other session), is audited,
//! and is what SIP2 checks from the next request on (one database). The session that made the
//! change gets a new id.
//!
//! Uses `auth` and `store` through [`Accounts`]; must not import `sip2`, `server` or `http`.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use super::{CredentialKind, SessionToken, WebSession};
use crate::accounts::patron::{pin_context, CardRef};
use crate::accounts::{Accounts, Error, Operator};
use crate::auth::password_rules::PasswordContext;
use crate::auth::{
    AuditAction, AuditOutcome, CredentialVerdict, PatronCredential, Presented, Rejection,
    Rejections,
};
use crate::store::PatronRecord;

/// Why the old secret was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OldRefusal {
    /// Wrong (counted toward the lock, as at log-in).
    Wrong,
    NothingTyped,
    Locked {
        until: Option<DateTime<Utc>>,
    },
}

/// Everything wrong with a change form, each for its field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ChangeRefusal {
    pub old: Option<OldRefusal>,
    /// Nothing typed as the new secret.
    pub new_missing: bool,
    /// Every rule the new secret breaks.
    pub new: Vec<Rejection>,
    /// The two new entries differ.
    pub confirm_mismatch: bool,
}

impl ChangeRefusal {
    fn is_empty(&self) -> bool {
        self.old.is_none() && !self.new_missing && self.new.is_empty() && !self.confirm_mismatch
    }
}

/// What a change did.
#[derive(Debug)]
pub(crate) enum ChangeOutcome {
    /// Changed; the session continues under a new id.
    Changed {
        token: SessionToken,
    },
    Refused(ChangeRefusal),
    /// Every hashing slot was busy; nothing changed.
    Busy,
}

/// A new secret typed twice.
pub(crate) struct NewSecret {
    pub new: SecretString,
    pub confirm: SecretString,
}

impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewSecret([redacted])")
    }
}

impl Accounts {
    /// Changes the PIN of the session's patron. `old` is the current PIN.
    pub(crate) async fn web_change_pin(
        &self,
        session: &WebSession,
        old: SecretString,
        new: NewSecret,
        user_agent: &str,
    ) -> Result<ChangeOutcome, Error> {
        self.web_change(CredentialKind::Pin, session, old, new, user_agent)
            .await
    }

    /// Changes (or sets a first) online password. `old` is the current password, or the PIN
    /// when no password is set yet.
    pub(crate) async fn web_change_password(
        &self,
        session: &WebSession,
        old: SecretString,
        new: NewSecret,
        user_agent: &str,
    ) -> Result<ChangeOutcome, Error> {
        self.web_change(CredentialKind::Password, session, old, new, user_agent)
            .await
    }

    async fn web_change(
        &self,
        kind: CredentialKind,
        session: &WebSession,
        old: SecretString,
        new: NewSecret,
        user_agent: &str,
    ) -> Result<ChangeOutcome, Error> {
        let at = CardRef {
            institution: self.config.server.institution_id.clone(),
            card: session.card.clone(),
        };
        let record = self.patron(&at).await?;
        let mut refusal = ChangeRefusal {
            new_missing: new.new.expose_secret().is_empty(),
            confirm_mismatch: new.new.expose_secret() != new.confirm.expose_secret(),
            ..ChangeRefusal::default()
        };
        if !refusal.new_missing {
            refusal.new = self.rule_refusals(kind, &record, &new.new);
        }
        if old.expose_secret().is_empty() {
            refusal.old = Some(OldRefusal::NothingTyped);
        }
        if !refusal.is_empty() {
            return self.refused(&at, kind, refusal).await;
        }
        match self.check_old(kind, &record, &at, old).await? {
            Ok(()) => {}
            Err(None) => return Ok(ChangeOutcome::Busy),
            Err(Some(old)) => {
                let refusal = ChangeRefusal {
                    old: Some(old),
                    ..ChangeRefusal::default()
                };
                return Ok(ChangeOutcome::Refused(refusal));
            }
        }
        if let Err(rejections) = self.store_new(kind, &record, &new.new).await? {
            let refusal = ChangeRefusal {
                new: rejections.iter().cloned().collect(),
                ..ChangeRefusal::default()
            };
            return self.refused(&at, kind, refusal).await;
        }
        self.audit(
            &Operator::patron_web(),
            Some(&at.card),
            audit_action(kind),
            AuditOutcome::Ok,
            Some("changed by the patron on the web".into()),
        )
        .await?;
        let notice = match kind {
            CredentialKind::Pin => crate::accounts::Notice::PinChanged,
            CredentialKind::Password => crate::accounts::Notice::PasswordChanged,
        };
        self.notify_patron(session.patron, notice).await?;
        // The epoch moved on: every session ends; this one continues under a new id.
        self.end_web_session(session).await?;
        let must_change = session.must_change.filter(|still| *still != kind);
        let (token, renewed) = self
            .start_web_session(session.patron, &session.card, must_change, user_agent)
            .await?;
        self.end_other_web_sessions(&renewed).await?;
        Ok(ChangeOutcome::Changed { token })
    }

    /// Every rule the new secret breaks (no hashing).
    pub(in crate::accounts) fn rule_refusals(
        &self,
        kind: CredentialKind,
        record: &PatronRecord,
        new: &SecretString,
    ) -> Vec<Rejection> {
        let checked = match kind {
            CredentialKind::Pin => {
                let context = pin_context(&record.card.number, &record.patron.details);
                self.credentials.check_pin(new, &context)
            }
            CredentialKind::Password => self
                .credentials
                .check_password(new, &self.password_context(record)),
        };
        checked.map_or_else(|all| all.iter().cloned().collect(), |()| Vec::new())
    }

    pub(in crate::accounts) fn password_context<'a>(
        &'a self,
        record: &'a PatronRecord,
    ) -> PasswordContext<'a> {
        let d = &record.patron.details;
        PasswordContext {
            card: Some(&record.card.number),
            names: vec![d.name.family.as_str(), d.name.given.as_str()],
            email: d.email.as_deref(),
            library_name: Some(self.config.server.library_name.as_str()),
        }
    }

    /// Checks the old secret through the log-in check (same counter and lock). `Err(None)`:
    /// busy.
    async fn check_old(
        &self,
        kind: CredentialKind,
        record: &PatronRecord,
        at: &CardRef,
        old: SecretString,
    ) -> Result<Result<(), Option<OldRefusal>>, Error> {
        let checked_as = match kind {
            CredentialKind::Password if record.patron.password.is_some() => {
                PatronCredential::Password
            }
            _ => PatronCredential::Pin,
        };
        let (decision, _) = self
            .credentials
            .authenticator()
            .check_web(&at.institution, &at.card, checked_as, Presented::Given(old))
            .await
            .map_err(super::auth_error)?;
        Ok(match decision.credential {
            CredentialVerdict::Valid | CredentialVerdict::DefaultToChange => Ok(()),
            CredentialVerdict::Busy => Err(None),
            CredentialVerdict::Locked { until } => Err(Some(OldRefusal::Locked { until })),
            CredentialVerdict::NotGiven | CredentialVerdict::Empty => {
                Err(Some(OldRefusal::NothingTyped))
            }
            CredentialVerdict::WrongCredential
            | CredentialVerdict::NoPinOnFile
            | CredentialVerdict::DefaultExpired
            | CredentialVerdict::ResetRequired => Err(Some(OldRefusal::Wrong)),
        })
    }

    /// Hashes and stores the new secret (rules, "not the current PIN", "not the PIN").
    async fn store_new(
        &self,
        kind: CredentialKind,
        record: &PatronRecord,
        new: &SecretString,
    ) -> Result<Result<(), Rejections>, Error> {
        let id = record.patron.id;
        match kind {
            CredentialKind::Pin => {
                let context = pin_context(&record.card.number, &record.patron.details);
                let current = record.patron.pin.as_ref();
                match self.credentials.new_pin(new, &context, current).await? {
                    Ok(hash) => self.store.set_pin_hash(id, &hash).await?,
                    Err(all) => return Ok(Err(all)),
                }
            }
            CredentialKind::Password => {
                let context = self.password_context(record);
                let pin = record.patron.pin.as_ref();
                match self.credentials.new_password(new, &context, pin).await? {
                    Ok(hash) => self.store.set_password_hash(id, &hash).await?,
                    Err(all) => return Ok(Err(all)),
                }
            }
        }
        Ok(Ok(()))
    }

    /// Audits a refusal by the rules (without the secret) and returns it.
    async fn refused(
        &self,
        at: &CardRef,
        kind: CredentialKind,
        refusal: ChangeRefusal,
    ) -> Result<ChangeOutcome, Error> {
        if let Some(rules) = Rejections::new(refusal.new.iter().cloned()) {
            self.audit(
                &Operator::patron_web(),
                Some(&at.card),
                audit_action(kind),
                AuditOutcome::Refused,
                Some(rules.to_string()),
            )
            .await?;
        }
        Ok(ChangeOutcome::Refused(refusal))
    }
}

fn audit_action(kind: CredentialKind) -> AuditAction {
    match kind {
        CredentialKind::Pin => AuditAction::PinSet,
        CredentialKind::Password => AuditAction::PasswordSet,
    }
}
