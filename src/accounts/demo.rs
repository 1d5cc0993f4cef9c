//! The demo world's patrons: `fixtures/demo/patrons.csv` (embedded), read one way for
//! `serve --demo` and for the integration tests' world. Its columns are described in
//! `fixtures/demo/README.md`.
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
pub fn fixture_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 3, 14).unwrap_or_default()
}

/// One row of the demo patrons file.
#[derive(Debug, Deserialize)]
pub struct DemoPatron {
    pub card_number: String,
    family_name: String,
    given_name: String,
    email: String,
    phone: String,
    birth_date: Option<NaiveDate>,
    patron_class: String,
    home_library: String,
    expires_on: Option<NaiveDate>,
    fines_owed: String,
    fee_limit: String,
    currency: String,
    status: String,
    block_reason: String,
    /// The card is reported lost.
    pub card_lost: bool,
    /// The PIN in clear (demo data only); empty means no PIN on file.
    pub pin: String,
    /// The PIN was issued by staff: it must be changed and it expires.
    pub default_pin: bool,
}

impl DemoPatron {
    /// "Family, Given", as staff see it.
    pub fn display_name(&self) -> String {
        crate::store::PersonName::new(self.family_name.clone(), self.given_name.clone()).display
    }

    /// The standing the demo gives this card, in a word or two ("active", "blocked: …").
    pub fn standing(&self) -> String {
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
            name: PersonName::new(&self.family_name, &self.given_name),
            email: optional(&self.email),
            phone: optional(&self.phone),
            birth_date: self.birth_date,
            patron_class: optional(&self.patron_class),
            home_library: optional(&self.home_library),
            expires_on: self.expires_on.map(|day| day + shift),
            fines_owed_minor: money(&self.fines_owed, "fines_owed")
                .map_err(invalid)?
                .unwrap_or(0),
            fee_limit_minor: money(&self.fee_limit, "fee_limit").map_err(invalid)?,
            currency: self
                .currency
                .parse::<Currency>()
                .map_err(|err| invalid(err.to_string()))?,
        })
    }

    /// The standing the file gives (a lost card is `card_lost`, on the card itself).
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
