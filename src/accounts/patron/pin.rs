//! PIN changes after creation: the patron's choice (`set-pin`), the staff reset at the desk (a
//! one-time PIN or the patron's choice), and the one-time PIN of the demo world. The PIN rules
//! apply with the patron's card, phone and birth date as context, and a new PIN must differ from
//! the current one, so a patron moving away from a default PIN can keep neither its digits nor
//! the phone's. Audited; a PIN never appears in an error or an audit record.
//!
//! Uses `credentials` and `store` (through [`Accounts`]). Must not import `sip2`, `server` or
//! `cli`.

use chrono::Duration;
use rand::Rng;
use secrecy::SecretString;

use super::{pin_context, CardRef};
use crate::accounts::{Accounts, Error, Notice, Operator};
use crate::auth::{AuditAction, AuditOutcome, Rejections};
use crate::store::PatronRecord;

/// What a staff PIN reset did.
#[derive(Debug)]
pub(crate) enum PinReset {
    /// A one-time PIN, to give the patron once; it must be changed at first use.
    Issued(SecretString),
    /// The PIN the patron chose at the desk was set.
    Chosen,
}

impl Accounts {
    /// Sets a PIN chosen by the patron (rules apply, and it must differ from the current one).
    pub(crate) async fn set_pin(
        &self,
        operator: &Operator,
        at: &CardRef,
        pin: &SecretString,
    ) -> Result<(), Error> {
        let record = self.patron(at).await?;
        self.apply_chosen_pin(operator, at, &record, pin, AuditAction::PinSet)
            .await?;
        self.notify_patron(record.patron.id, Notice::PinChanged)
            .await?;
        self.audit(
            operator,
            Some(&at.card),
            AuditAction::PinSet,
            AuditOutcome::Ok,
            None,
        )
        .await
    }

    /// The staff reset at the desk: with `chosen = None` a one-time PIN is issued (must change,
    /// expires after `security.default_credential.lifetime`); otherwise the patron's choice is set.
    /// Either way the PIN locks are cleared.
    pub(crate) async fn reset_pin(
        &self,
        operator: &Operator,
        at: &CardRef,
        chosen: Option<&SecretString>,
    ) -> Result<PinReset, Error> {
        let record = self.patron(at).await?;
        let outcome = match chosen {
            Some(pin) => {
                self.apply_chosen_pin(operator, at, &record, pin, AuditAction::PinReset)
                    .await?;
                PinReset::Chosen
            }
            None => {
                let pin = self.one_time_pin(&record)?;
                self.apply_pin(&record, &pin, Some(self.one_time_expiry()))
                    .await?
                    .map_err(Error::Rejected)?;
                PinReset::Issued(pin)
            }
        };
        self.store.unlock(record.patron.id).await?;
        self.notify_patron(record.patron.id, Notice::PinChanged)
            .await?;
        let reason = match outcome {
            PinReset::Issued(_) => "one-time PIN issued; must change",
            PinReset::Chosen => "PIN chosen by the patron",
        };
        self.audit(
            operator,
            Some(&at.card),
            AuditAction::PinReset,
            AuditOutcome::Ok,
            Some(reason.into()),
        )
        .await?;
        Ok(outcome)
    }

    /// Applies a PIN the patron chose (rules apply); a refusal is audited under `action` and
    /// returned with the sentence for the patron.
    async fn apply_chosen_pin(
        &self,
        operator: &Operator,
        at: &CardRef,
        record: &PatronRecord,
        pin: &SecretString,
        action: AuditAction,
    ) -> Result<(), Error> {
        match self.apply_pin(record, pin, None).await? {
            Ok(()) => Ok(()),
            Err(rejections) => Err(self.refuse(operator, &at.card, action, rejections).await),
        }
    }

    /// Checks (rules; not the current PIN unless issuing) and stores a PIN. `one_time` sets the
    /// must-change flag and the expiry of an issued PIN. `Ok(Err(rejections))` is a refusal.
    async fn apply_pin(
        &self,
        record: &PatronRecord,
        pin: &SecretString,
        one_time: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Result<(), Rejections>, Error> {
        let context = pin_context(&record.card.number, &record.patron.details);
        let current = if one_time.is_some() {
            None
        } else {
            record.patron.pin.as_ref()
        };
        let mut hash = match self.credentials.new_pin(pin, &context, current).await? {
            Ok(hash) => hash,
            Err(rejections) => return Ok(Err(rejections)),
        };
        hash.must_change = one_time.is_some();
        hash.default_expires_at = one_time;
        self.store.set_pin_hash(record.patron.id, &hash).await?;
        Ok(Ok(()))
    }

    /// Sets a given PIN as a one-time PIN: must be changed at first use, expires after
    /// `security.default_credential.lifetime` (the demo world's "default PIN" patron).
    pub(crate) async fn set_one_time_pin(
        &self,
        operator: &Operator,
        at: &CardRef,
        pin: &SecretString,
    ) -> Result<(), Error> {
        let record = self.patron(at).await?;
        self.apply_pin(&record, pin, Some(self.one_time_expiry()))
            .await?
            .map_err(Error::Rejected)?;
        self.audit(
            operator,
            Some(&at.card),
            AuditAction::PinReset,
            AuditOutcome::Ok,
            Some("one-time PIN set".into()),
        )
        .await
    }

    fn one_time_expiry(&self) -> chrono::DateTime<chrono::Utc> {
        let lifetime = self.config.security.default_credential.lifetime;
        self.clock.now() + Duration::from_std(lifetime).unwrap_or(Duration::days(14))
    }

    /// A random PIN that passes the rules: 6 digits (or the configured bounds).
    fn one_time_pin(&self, record: &PatronRecord) -> Result<SecretString, Error> {
        let rules = &self.config.security.pin;
        let length = 6usize.clamp(rules.min_length, rules.max_length);
        let context = pin_context(&record.card.number, &record.patron.details);
        let mut rng = rand::rngs::OsRng;
        for _ in 0..1000 {
            let digits: String = (0..length)
                .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
                .collect();
            let pin = SecretString::from(digits);
            if self.credentials.check_pin(&pin, &context).is_ok() {
                return Ok(pin);
            }
        }
        Err(Error::Hashing(
            "could not draw a PIN that passes the PIN rules".into(),
        ))
    }
}
