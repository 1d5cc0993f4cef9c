//! The one read of a patron check: the card's holder with its lock state, and the terminal's
//! failure counts over the budget window, in a single statement, so a check that records no
//! failure (a lookup without a PIN, a right PIN) costs one round trip before any write.
//! Must not import `auth` or `sip2`.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, Row};

use super::budget::{counts_select, CountsRow, TerminalFailureCounts};
use super::error::Result;
use super::patron_row::{patron_columns, PatronCardRow};
use super::patrons::PatronRecord;
use super::values::TerminalId;
use super::Store;

/// `$1` institution, `$2` card number, `$3` terminal id, `$4` window start (unix seconds). One
/// row always: the counts, and the patron columns (NULL for an unknown card).
const FIND_FOR_CHECK: &str = concat!(
    "SELECT f.failures, f.distinct_cards, f.unknown_cards, ",
    patron_columns!(),
    ", c.card_number, c.lost, c.lost_at FROM (",
    counts_select!("$3", "$4"),
    ") f LEFT JOIN cards c ON c.institution = $1 AND c.card_number = $2 \
     LEFT JOIN patrons p ON p.id = c.patron_id"
);

impl Store {
    /// The holder of `card_number` at `institution` (None: no such card) and `terminal`'s
    /// failure counts at or after `since`, read together.
    pub async fn find_for_check(
        &self,
        institution: &str,
        card_number: &str,
        terminal: TerminalId,
        since: DateTime<Utc>,
    ) -> Result<(Option<PatronRecord>, TerminalFailureCounts)> {
        let (row, counts) = with_pool!(self, |pool| {
            let row = sqlx::query(FIND_FOR_CHECK)
                .bind(institution)
                .bind(card_number)
                .bind(terminal.0)
                .bind(since.timestamp())
                .fetch_one(pool)
                .await?;
            let counts = CountsRow::from_row(&row)?;
            let found: Option<String> = row.try_get("card_number")?;
            let patron = match found {
                Some(_) => Some(PatronCardRow::from_row(&row)?),
                None => None,
            };
            Ok::<_, sqlx::Error>((patron, counts))
        })?;
        let record = match row {
            Some(row) => Some(PatronRecord {
                card: row.card.into_card()?,
                patron: row.patron.into_patron()?,
            }),
            None => None,
        };
        Ok((record, counts.into()))
    }
}
