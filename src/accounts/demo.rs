//! The demo world's patrons: `fixtures/demo/patrons.csv` (embedded), read one way for
//! `serve --demo` and for the integration tests' world. The file is in the import format
//! (`accounts::import::column`), so `sip2auth import` loads it too; `fixtures/demo/README.md`
//! describes its patrons.
//!
//! Owns: the row type of that file and how a row becomes patron details. Uses `store` types and
//! the import's money parser; must not import `cli`, `server` or `sip2`.

use chrono::{Duration, NaiveDate};
use serde::Deserialize;

use super::import::row::money;
use super::Error;
use crate::store::{Currency, PatronDetails, PatronStatus, PersonName};

const PATRONS: &str = include_str!("../../fixtures/demo/patrons.csv");

/// The day the fixture world is written for (the transcripts' fixed clock). Expiry dates move by
/// the distance from this day to "today", so each patron keeps its state on any date.
pub(crate) fn fixture_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 3, 14).unwrap_or_default()
}

/// One row of the demo patrons file (import-format column names).
#[derive(Debug, Deserialize)]
pub struct DemoPatron {
    #[serde(rename = "card")]
    pub card_number: String,
    /// Always MAIN, the demo terminals' institution.
    institution: String,
    family_name: String,
    given_names: String,
    email: String,
    phone: String,
    birth_date: Option<NaiveDate>,
    class: String,
    home_library: String,
    expires: Option<NaiveDate>,
    fines: String,
    fine_limit: String,
    currency: String,
    /// `active`, `blocked` (with `block_reason`) or `lost` (the card is reported lost).
    status: String,
    block_reason: String,
    /// The PIN in clear (demo data only); empty means no PIN on file.
    pub pin: String,
    /// The PIN was issued by staff: it must be changed and it expires.
    #[serde(rename = "pin_must_change")]
    pub default_pin: bool,
}

impl DemoPatron {
    /// "Family, Given", as staff see it.
    pub(crate) fn display_name(&self) -> String {
        crate::store::PersonName::new(self.family_name.clone(), self.given_names.clone()).display
    }

    /// The standing the demo gives this card, in a word or two ("active", "blocked: …").
    pub(crate) fn standing(&self) -> String {
        match self.block_reason.as_str() {
            "" => self.status.clone(),
            reason => format!("{}: {reason}", self.status),
        }
    }
}

/// Every demo patron, in file order.
pub fn patrons() -> Result<Vec<DemoPatron>, Error> {
    csv::Reader::from_reader(PATRONS.as_bytes())
        .deserialize()
        .collect::<Result<Vec<DemoPatron>, _>>()
        .map_err(|err| Error::Invalid {
            what: "demo patrons file",
            reason: err.to_string(),
        })
}

fn optional(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

impl DemoPatron {
    /// The patron's details as of `today` (expiry dates shifted from [`fixture_day`]).
    pub fn details(&self, today: NaiveDate) -> Result<PatronDetails, Error> {
        let shift = Duration::days((today - fixture_day()).num_days());
        let invalid = |reason: String| Error::Invalid {
            what: "demo patron",
            reason: format!("{}: {reason}", self.card_number),
        };
        Ok(PatronDetails {
            name: PersonName::new(&self.family_name, &self.given_names),
            email: optional(&self.email),
            phone: optional(&self.phone),
            birth_date: self.birth_date,
            patron_class: optional(&self.class),
            home_library: optional(&self.home_library),
            expires_on: self.expires.map(|day| day + shift),
            fines_owed_minor: money(&self.fines, "fines").map_err(invalid)?.unwrap_or(0),
            fee_limit_minor: money(&self.fine_limit, "fine_limit").map_err(invalid)?,
            currency: self
                .currency
                .parse::<Currency>()
                .map_err(|err| invalid(err.to_string()))?,
        })
    }

    /// The card is reported lost (seeded on the card itself, see [`Self::status`]).
    pub fn card_lost(&self) -> bool {
        self.status == "lost"
    }

    /// The institution the patron belongs to.
    pub(crate) fn institution(&self) -> &str {
        &self.institution
    }

    /// The standing the file gives (a lost card is [`Self::card_lost`], on the card itself).
    pub fn status(&self) -> PatronStatus {
        if self.status == "blocked" {
            PatronStatus::Blocked {
                reason: self.block_reason.clone(),
            }
        } else {
            PatronStatus::Active
        }
    }

    /// The PIN in clear, if the patron has one.
    pub fn pin(&self) -> Option<&str> {
        (!self.pin.is_empty()).then_some(self.pin.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_reads_on_any_date() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).expect("date");
        for patron in patrons().expect("patrons") {
            patron.details(today).expect("details");
        }
    }

    #[test]
    fn expiry_dates_keep_their_state_relative_to_today() {
        let today = NaiveDate::from_ymd_opt(2030, 6, 1).expect("date");
        let patrons = patrons().expect("patrons");
        let find = |card: &str| {
            patrons
                .iter()
                .find(|p| p.card_number == card)
                .expect("patron")
        };
        let good = find("21234000012345").details(today).expect("d");
        let expired = find("21234000022222").details(today).expect("d");
        assert!(good.expires_on > Some(today));
        assert!(expired.expires_on < Some(today));
    }
}
