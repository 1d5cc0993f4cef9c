//! A patron as a check reports it: the non-secret view a terminal may be told and the standing
//! rules (expired, blocked, card lost, fines over limit). The one place these rules live, so the
//! SIP2 answer and `explain` cannot disagree.
//!
//! Uses `store` only; must not import `sip2`, `server` or `accounts`.

use chrono::{DateTime, Utc};

use super::decision::{PatronView, Standing};
use crate::store::{PatronRecord, PatronStatus};

impl PatronView {
    /// What a terminal may be told about the patron holding this card.
    pub(crate) fn of(record: &PatronRecord) -> PatronView {
        let (p, d) = (&record.patron, &record.patron.details);
        PatronView {
            id: p.id,
            card: record.card.number.clone(),
            institution: p.institution.clone(),
            display_name: d.name.display.clone(),
            patron_class: d.patron_class.clone(),
            home_library: d.home_library.clone(),
            expires_on: d.expires_on,
            birth_date: d.birth_date,
            email: d.email.clone(),
            phone: d.phone.clone(),
            fines_owed_minor: d.fines_owed_minor,
            fee_limit_minor: d.fee_limit_minor,
            currency: d.currency,
            status: p.status.clone(),
        }
    }
}

impl Standing {
    /// The standing rules: expired registration (before today), staff block, lost card (this card
    /// or the patron), fines over the limit. The SIP2 answer and `explain` both read this.
    pub(crate) fn of(record: &PatronRecord, now: DateTime<Utc>) -> Standing {
        let (p, d) = (&record.patron, &record.patron.details);
        Standing {
            expired: d.expires_on.is_some_and(|day| day < now.date_naive()),
            blocked: match &p.status {
                PatronStatus::Blocked { reason } => Some(reason.clone()),
                _ => None,
            },
            card_lost: record.card.lost || p.status == PatronStatus::CardLost,
            fines_over_limit: d
                .fee_limit_minor
                .is_some_and(|limit| d.fines_owed_minor > limit),
        }
    }
}
