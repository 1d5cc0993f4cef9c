//! Cards: the library card numbers of a patron (several per patron; unique per institution; a
//! card may be marked lost without removing it). Must not import `sip2` or `auth`.

use super::error::{Error, Result};
use super::patrons::{found, Card};
use super::values::{opt_time_from_secs, PatronId};
use super::Store;

/// A `cards` row as selected by `card_number, lost, lost_at` (also flattened into the card
/// lookup's join row).
#[derive(sqlx::FromRow)]
pub(crate) struct CardRow {
    card_number: String,
    lost: bool,
    lost_at: Option<i64>,
}

impl CardRow {
    pub(crate) fn into_card(self) -> Result<Card> {
        Ok(Card {
            number: self.card_number,
            lost: self.lost,
            lost_at: opt_time_from_secs(self.lost_at, "cards.lost_at")?,
        })
    }
}

impl Store {
    /// Gives the patron another card at their institution.
    /// Fails with `Error::Duplicate { what: "card number" }` when the number is taken there, and
    /// `NotFound` when the patron does not exist.
    pub async fn add_card(&self, patron: PatronId, card_number: &str) -> Result<()> {
        let now = self.now_secs();
        let done = with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO cards (patron_id, institution, card_number, created_at) \
                 SELECT id, institution, $2, $3 FROM patrons WHERE id = $1",
            )
            .bind(patron.0)
            .bind(card_number)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })
        .map_err(|e| Error::from_sqlx(e, "card number"))?;
        found(done, "patron")
    }

    /// Marks a card lost (or found again with `lost = false`). The card keeps resolving to its
    /// patron, so callers can refuse it explicitly.
    pub async fn mark_card_lost(
        &self,
        institution: &str,
        card_number: &str,
        lost: bool,
    ) -> Result<()> {
        let lost_at = lost.then(|| self.now_secs());
        let done = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE cards SET lost = $3, lost_at = $4 WHERE institution = $1 AND card_number = $2",
            )
            .bind(institution)
            .bind(card_number)
            .bind(lost)
            .bind(lost_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        found(done, "card")
    }

    /// The patron's cards, oldest first.
    pub async fn cards(&self, patron: PatronId) -> Result<Vec<Card>> {
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, CardRow>(
                "SELECT card_number, lost, lost_at FROM cards WHERE patron_id = $1 ORDER BY id",
            )
            .bind(patron.0)
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter().map(CardRow::into_card).collect()
    }
}
