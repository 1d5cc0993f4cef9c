//! Patron accounts: add, show, list, update, PIN and password changes, the staff PIN reset at the
//! desk, unlock, block/unblock, lost card, remove. Every staff action is audited with the
//! operator's name and the pseudonymised card; PINs are checked against the PIN rules when set.
//!
//! Uses `store` (patron rows, audit) and `credentials` (rules, hashing). Must not import `sip2`
//! or `cli`.

use chrono::Duration;
use rand::Rng;
use secrecy::SecretString;

use super::{Accounts, Error, Operator};
use crate::auth::password_rules::PasswordContext;
use crate::auth::pin_rules::PinContext;
use crate::store::{
    NewPatron, Patron, PatronDetails, PatronFilter, PatronId, PatronRecord, PatronStatus,
};

/// Where a patron is found: the card and the institution that issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRef {
    pub institution: String,
    pub card: String,
}

/// The descriptive changes of `patron update`; `None` keeps the stored value.
#[derive(Debug, Clone, Default)]
pub struct PatronChanges {
    pub family_name: Option<String>,
    pub given_names: Option<String>,
    /// `Some(None)` clears the value.
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub birth_date: Option<Option<chrono::NaiveDate>>,
    pub class: Option<Option<String>>,
    pub home_library: Option<Option<String>>,
    pub expires: Option<Option<chrono::NaiveDate>>,
    pub fines_minor: Option<i64>,
    pub fine_limit_minor: Option<Option<i64>>,
    pub currency: Option<crate::store::Currency>,
}

impl PatronChanges {
    pub fn apply(self, mut d: PatronDetails) -> PatronDetails {
        if self.family_name.is_some() || self.given_names.is_some() {
            let family = self.family_name.unwrap_or(d.name.family.clone());
            let given = self.given_names.unwrap_or(d.name.given.clone());
            d.name = crate::store::PersonName::new(family, given);
        }
        d.email = self.email.unwrap_or(d.email);
        d.phone = self.phone.unwrap_or(d.phone);
        d.birth_date = self.birth_date.unwrap_or(d.birth_date);
        d.patron_class = self.class.unwrap_or(d.patron_class);
        d.home_library = self.home_library.unwrap_or(d.home_library);
        d.expires_on = self.expires.unwrap_or(d.expires_on);
        d.fines_owed_minor = self.fines_minor.unwrap_or(d.fines_owed_minor);
        d.fee_limit_minor = self.fine_limit_minor.unwrap_or(d.fee_limit_minor);
        d.currency = self.currency.unwrap_or(d.currency);
        d
    }
}

/// What a staff PIN reset did.
#[derive(Debug)]
pub enum PinReset {
    /// A one-time PIN, to give the patron once; it must be changed at first use.
    Issued(SecretString),
    /// The PIN the patron chose at the desk was set.
    Chosen,
}

fn pin_context<'a>(card: &'a str, details: &'a PatronDetails) -> PinContext<'a> {
    PinContext {
        card: Some(card),
        phone: details.phone.as_deref(),
        birth_date: details.birth_date,
    }
}

impl Accounts {
    /// The patron holding this card (which may be marked lost).
    pub async fn patron(&self, at: &CardRef) -> Result<PatronRecord, Error> {
        self.store
            .find_by_card(&at.institution, &at.card)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: "card",
                id: format!("{} at institution {}", at.card, at.institution),
            })
    }

    /// A page of patrons.
    pub async fn patrons(&self, filter: &PatronFilter) -> Result<Vec<Patron>, Error> {
        Ok(self.store.list_patrons(filter).await?)
    }

    /// Creates a patron, optionally with a first PIN (checked against the PIN rules).
    pub async fn add_patron(
        &self,
        operator: &Operator,
        at: &CardRef,
        details: PatronDetails,
        pin: Option<SecretString>,
    ) -> Result<PatronId, Error> {
        super::import::check_card(&at.card)?;
        let pin = match pin {
            Some(pin) => {
                let context = pin_context(&at.card, &details);
                let hash = self.credentials.new_pin(&pin, &context, None).await?;
                Some(hash.map_err(Error::Refused)?)
            }
            None => None,
        };
        let new = NewPatron {
            institution: at.institution.clone(),
            card_number: at.card.clone(),
            details,
            pin,
            password: None,
        };
        let id = self.store.create_patron(&new).await.map_err(|e| match e {
            crate::store::Error::Duplicate { .. } => Error::Duplicate {
                what: "card",
                id: at.card.clone(),
            },
            other => other.into(),
        })?;
        self.audit(operator, Some(&at.card), "patron_add", "ok", None)
            .await?;
        Ok(id)
    }

    /// Changes descriptive fields.
    pub async fn update_patron(
        &self,
        operator: &Operator,
        at: &CardRef,
        changes: PatronChanges,
    ) -> Result<(), Error> {
        let record = self.patron(at).await?;
        let details = changes.apply(record.patron.details);
        self.store.update_patron(record.patron.id, &details).await?;
        self.audit(operator, Some(&at.card), "patron_update", "ok", None)
            .await
    }

    /// Sets a PIN chosen by the patron (rules apply, and it must differ from the current one).
    pub async fn set_pin(
        &self,
        operator: &Operator,
        at: &CardRef,
        pin: &SecretString,
    ) -> Result<(), Error> {
        let record = self.patron(at).await?;
        if let Err(reason) = self.apply_pin(&record, pin, None).await? {
            self.audit(
                operator,
                Some(&at.card),
                "pin_set",
                "refused",
                Some(reason.clone()),
            )
            .await?;
            return Err(Error::Refused(reason));
        }
        self.audit(operator, Some(&at.card), "pin_set", "ok", None)
            .await
    }

    /// The staff reset at the desk: with `chosen = None` a one-time PIN is issued (must change,
    /// expires after `security.default_credential.lifetime`); otherwise the patron's choice is set.
    /// Either way the PIN locks are cleared.
    pub async fn reset_pin(
        &self,
        operator: &Operator,
        at: &CardRef,
        chosen: Option<&SecretString>,
    ) -> Result<PinReset, Error> {
        let record = self.patron(at).await?;
        let outcome = match chosen {
            Some(pin) => {
                if let Err(reason) = self.apply_pin(&record, pin, None).await? {
                    self.audit(
                        operator,
                        Some(&at.card),
                        "pin_reset",
                        "refused",
                        Some(reason.clone()),
                    )
                    .await?;
                    return Err(Error::Refused(reason));
                }
                PinReset::Chosen
            }
            None => {
                let pin = self.one_time_pin(&record)?;
                self.apply_pin(&record, &pin, Some(self.one_time_expiry()))
                    .await?
                    .map_err(Error::Refused)?;
                PinReset::Issued(pin)
            }
        };
        self.store.unlock(record.patron.id).await?;
        let reason = match outcome {
            PinReset::Issued(_) => "one-time PIN issued; must change",
            PinReset::Chosen => "PIN chosen by the patron",
        };
        self.audit(
            operator,
            Some(&at.card),
            "pin_reset",
            "ok",
            Some(reason.into()),
        )
        .await?;
        Ok(outcome)
    }

    /// Sets the online password (password rules apply; it may not equal the PIN).
    pub async fn set_password(
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
            Err(reason) => {
                self.audit(
                    operator,
                    Some(&at.card),
                    "password_set",
                    "refused",
                    Some(reason.clone()),
                )
                .await?;
                return Err(Error::Refused(reason));
            }
        };
        self.store
            .set_password_hash(record.patron.id, &stored)
            .await?;
        self.audit(operator, Some(&at.card), "password_set", "ok", None)
            .await
    }

    /// Clears every failure counter and lock (PIN and password).
    pub async fn unlock(&self, operator: &Operator, at: &CardRef) -> Result<(), Error> {
        let record = self.patron(at).await?;
        self.store.unlock(record.patron.id).await?;
        self.audit(operator, Some(&at.card), "unlock", "ok", None)
            .await
    }

    /// Blocks the patron with a reason shown to staff.
    pub async fn block(
        &self,
        operator: &Operator,
        at: &CardRef,
        reason: &str,
    ) -> Result<(), Error> {
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
            "block",
            "ok",
            Some(reason.to_owned()),
        )
        .await
    }

    /// Sets the patron active again (also clears a patron-level lost flag).
    pub async fn unblock(&self, operator: &Operator, at: &CardRef) -> Result<(), Error> {
        let record = self.patron(at).await?;
        self.store
            .set_status(record.patron.id, &PatronStatus::Active)
            .await?;
        self.audit(operator, Some(&at.card), "unblock", "ok", None)
            .await
    }

    /// Marks this card lost (`lost = false`: found again). The patron's other cards still work.
    pub async fn mark_lost(
        &self,
        operator: &Operator,
        at: &CardRef,
        lost: bool,
    ) -> Result<(), Error> {
        self.patron(at).await?;
        self.store
            .mark_card_lost(&at.institution, &at.card, lost)
            .await?;
        let action = if lost { "card_lost" } else { "card_found" };
        self.audit(operator, Some(&at.card), action, "ok", None)
            .await
    }

    /// Deletes the patron and their cards (audit records stay, pseudonymised).
    pub async fn remove_patron(&self, operator: &Operator, at: &CardRef) -> Result<(), Error> {
        let record = self.patron(at).await?;
        self.store.remove_patron(record.patron.id).await?;
        self.audit(operator, Some(&at.card), "patron_remove", "ok", None)
            .await
    }

    /// Checks (rules; not the current PIN unless issuing) and stores a PIN. `one_time` sets the
    /// must-change flag and the expiry of an issued PIN. `Ok(Err(reason))` is a refusal.
    async fn apply_pin(
        &self,
        record: &PatronRecord,
        pin: &SecretString,
        one_time: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Result<(), String>, Error> {
        let context = pin_context(&record.card.number, &record.patron.details);
        let current = if one_time.is_some() {
            None
        } else {
            record.patron.pin.as_ref()
        };
        let mut hash = match self.credentials.new_pin(pin, &context, current).await? {
            Ok(hash) => hash,
            Err(reason) => return Ok(Err(reason)),
        };
        hash.must_change = one_time.is_some();
        hash.default_expires_at = one_time;
        self.store.set_pin_hash(record.patron.id, &hash).await?;
        Ok(Ok(()))
    }

    /// Sets a given PIN as a one-time PIN: must be changed at first use, expires after
    /// `security.default_credential.lifetime` (the demo world's "default PIN" patron).
    pub async fn set_one_time_pin(
        &self,
        operator: &Operator,
        at: &CardRef,
        pin: &SecretString,
    ) -> Result<(), Error> {
        let record = self.patron(at).await?;
        self.apply_pin(&record, pin, Some(self.one_time_expiry()))
            .await?
            .map_err(Error::Refused)?;
        self.audit(
            operator,
            Some(&at.card),
            "pin_reset",
            "ok",
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
