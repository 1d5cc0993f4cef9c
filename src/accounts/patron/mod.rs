//! Patron accounts: the record itself (add, show, list, update, remove) and where a patron is
//! found ([`CardRef`]). PIN and password changes live in [`pin`] and [`password`], the default
//! PIN issued at creation in [`default_pin`], standing (locks, blocks, lost cards) in [`status`].
//! Every staff action is audited with the operator's name and the pseudonymised card.
//!
//! Uses `store` (patron rows, audit) and `credentials` (rules, hashing). Must not import `sip2`,
//! `server` or `cli`.

mod default_pin;
mod password;
mod pin;
mod status;

use secrecy::SecretString;

use super::import::row::{valid_email, valid_phone};
use super::{Accounts, Error, Operator};
use crate::auth::pin_rules::PinContext;
use crate::auth::{AuditAction, AuditOutcome};
use crate::store::{Card, NewPatron, Patron, PatronDetails, PatronFilter, PatronRecord};

pub use crate::store::{Currency, PatronId, PersonName};

pub(crate) use default_pin::DefaultPin;
pub(crate) use pin::PinReset;

/// Where a patron is found: the card and the institution that issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRef {
    pub institution: String,
    pub card: String,
}

/// The descriptive changes of `patron update`; `None` keeps the stored value.
#[derive(Debug, Clone, Default)]
pub(crate) struct PatronChanges {
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
    /// The details of a new patron: the family name is required; the currency defaults to USD.
    pub(crate) fn new_details(self) -> Result<PatronDetails, Error> {
        let Some(family) = self.family_name.clone() else {
            return Err(Error::Invalid {
                what: "family_name",
                reason: "a family name is required to add a patron".into(),
            });
        };
        let base = PatronDetails {
            name: PersonName::new(family, ""),
            email: None,
            phone: None,
            birth_date: None,
            patron_class: None,
            home_library: None,
            expires_on: None,
            fines_owed_minor: 0,
            fee_limit_minor: None,
            currency: Currency::default(),
        };
        Ok(self.apply(base))
    }

    pub(crate) fn apply(self, mut d: PatronDetails) -> PatronDetails {
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

/// Refuses details the import format would refuse: an email or phone that is not one, an
/// empty family name.
fn check_details(details: &PatronDetails) -> Result<(), Error> {
    let invalid = |what, reason: &str| {
        Err(Error::Invalid {
            what,
            reason: reason.into(),
        })
    };
    if details.name.family.trim().is_empty() {
        return invalid("family_name", "the family name cannot be empty");
    }
    if details.email.as_deref().is_some_and(|e| !valid_email(e)) {
        return invalid("email", "not an email address such as ada@example.org");
    }
    if details.phone.as_deref().is_some_and(|p| !valid_phone(p)) {
        return invalid(
            "phone",
            "not a phone number (digits, spaces and + - ( ) . only)",
        );
    }
    Ok(())
}

/// The PIN a new patron starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstPin {
    /// The PIN given at creation (PIN rules applied).
    Chosen,
    /// The default PIN from the registered phone (`security.default_credential`).
    Default(DefaultPin),
    /// No PIN: none was given, and no default PIN applies (policy off, or no usable phone).
    NotSet,
}

/// What `add_patron` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatronAdded {
    pub id: PatronId,
    pub pin: FirstPin,
}

pub(crate) fn pin_context<'a>(card: &'a str, details: &'a PatronDetails) -> PinContext<'a> {
    PinContext {
        card: Some(card),
        phone: details.phone.as_deref(),
        birth_date: details.birth_date,
    }
}

impl Accounts {
    /// The patron holding this card (which may be marked lost).
    pub(crate) async fn patron(&self, at: &CardRef) -> Result<PatronRecord, Error> {
        self.store
            .find_by_card(&at.institution, &at.card)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: "card",
                id: format!("{} at institution {}", at.card, at.institution),
            })
    }

    /// The patron with this internal id (as `patron list` shows it) and their first card.
    pub(crate) async fn patron_by_id(&self, id: PatronId) -> Result<PatronRecord, Error> {
        let not_found = || Error::NotFound {
            what: "card or patron id",
            id: id.0.to_string(),
        };
        let patron = self.store.get_patron(id).await?.ok_or_else(not_found)?;
        let card = self.store.cards(id).await?.into_iter().next();
        let card = card.ok_or_else(not_found)?;
        Ok(PatronRecord { patron, card })
    }

    /// Every card of a patron, lost ones included.
    pub(crate) async fn cards(&self, patron: PatronId) -> Result<Vec<Card>, Error> {
        Ok(self.store.cards(patron).await?)
    }

    /// A page of patrons.
    pub(crate) async fn patrons(&self, filter: &PatronFilter) -> Result<Vec<Patron>, Error> {
        Ok(self.store.list_patrons(filter).await?)
    }

    /// Creates a patron, optionally with a first PIN (checked against the PIN rules). Without
    /// one, the default PIN from the phone is set when `security.default_credential` is enabled
    /// (see [`default_pin`] for its rules).
    pub async fn add_patron(
        &self,
        operator: &Operator,
        at: &CardRef,
        details: PatronDetails,
        pin: Option<SecretString>,
    ) -> Result<PatronAdded, Error> {
        super::import::check_card(&at.card)?;
        check_details(&details)?;
        let (hash, first) = match pin {
            Some(pin) => {
                let context = pin_context(&at.card, &details);
                let hash = self.credentials.new_pin(&pin, &context, None).await?;
                (Some(hash.map_err(Error::Rejected)?), FirstPin::Chosen)
            }
            None => match self.default_pin(details.phone.as_deref()).await? {
                Some((hash, issued)) => (Some(hash), FirstPin::Default(issued)),
                None => (None, FirstPin::NotSet),
            },
        };
        let new = NewPatron {
            institution: at.institution.clone(),
            card_number: at.card.clone(),
            details,
            pin: hash,
            password: None,
        };
        let id = self.store.create_patron(&new).await.map_err(|e| match e {
            crate::store::Error::Duplicate { .. } => Error::Duplicate {
                what: "card",
                id: at.card.clone(),
            },
            other => other.into(),
        })?;
        self.audit(
            operator,
            Some(&at.card),
            AuditAction::PatronAdd,
            AuditOutcome::Ok,
            None,
        )
        .await?;
        if let FirstPin::Default(issued) = &first {
            self.audit_default_pin(operator, &at.card, issued).await?;
        }
        Ok(PatronAdded { id, pin: first })
    }

    /// Changes descriptive fields and returns the patron as updated. The PIN is never touched: a
    /// default PIN keeps the digits of the phone it was made from.
    pub(crate) async fn update_patron(
        &self,
        operator: &Operator,
        at: &CardRef,
        changes: PatronChanges,
    ) -> Result<PatronRecord, Error> {
        let mut record = self.patron(at).await?;
        record.patron.details = changes.apply(record.patron.details);
        check_details(&record.patron.details)?;
        self.store
            .update_patron(record.patron.id, &record.patron.details)
            .await?;
        self.audit(
            operator,
            Some(&at.card),
            AuditAction::PatronUpdate,
            AuditOutcome::Ok,
            None,
        )
        .await?;
        Ok(record)
    }

    /// Deletes the patron and their cards (audit records stay, pseudonymised).
    pub(crate) async fn remove_patron(
        &self,
        operator: &Operator,
        at: &CardRef,
    ) -> Result<(), Error> {
        let record = self.patron(at).await?;
        self.store.remove_patron(record.patron.id).await?;
        self.audit(
            operator,
            Some(&at.card),
            AuditAction::PatronRemove,
            AuditOutcome::Ok,
            None,
        )
        .await
    }
}
