//! Per-terminal failure budget: failure events (wrong credential, unknown card) recorded in the
//! database so that spraying and enumeration are seen across every server instance, window counts
//! over them, and the purge of old events. Must not import `auth` or `sip2`: thresholds and
//! reactions (delay, alert, end session) belong to the caller.

use chrono::{DateTime, Utc};

use super::error::Result;
use super::values::{count_u32, text_enum, TerminalId};
use super::Store;

text_enum! {
    /// Why a patron check at a terminal failed.
    pub enum FailureKind {
        /// A known card with a wrong PIN or password.
        WrongCredential = "wrong_credential",
        /// A card number that matches no patron.
        UnknownCard = "unknown_card",
    }
}

/// A failure event to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTerminalFailure {
    pub terminal: TerminalId,
    /// The card, already pseudonymised by the caller.
    pub card_pseudonym: String,
    pub kind: FailureKind,
    pub at: DateTime<Utc>,
}

/// Counts of one terminal's failure events in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TerminalFailureCounts {
    /// Wrong-credential events.
    pub failures: u32,
    /// Distinct cards among wrong-credential events.
    pub distinct_cards: u32,
    /// Unknown-card events.
    pub unknown_cards: u32,
}

/// The window counts of the terminal bound at `$terminal` at or after `$since` (placeholders,
/// unix seconds), as one row of [`CountsRow`]; also the first part of the check's single read
/// (`check.rs`).
macro_rules! counts_select {
    ($terminal:literal, $since:literal) => {
        concat!(
            "SELECT COUNT(CASE WHEN kind = 'wrong_credential' THEN 1 END) AS failures, \
         COUNT(DISTINCT CASE WHEN kind = 'wrong_credential' THEN card_pseudonym END) \
         AS distinct_cards, \
         COUNT(CASE WHEN kind = 'unknown_card' THEN 1 END) AS unknown_cards \
         FROM terminal_failures WHERE terminal_id = ",
            $terminal,
            " AND at >= ",
            $since
        )
    };
}
pub(super) use counts_select;

#[derive(sqlx::FromRow)]
pub(super) struct CountsRow {
    failures: i64,
    distinct_cards: i64,
    unknown_cards: i64,
}

impl From<CountsRow> for TerminalFailureCounts {
    fn from(row: CountsRow) -> Self {
        TerminalFailureCounts {
            failures: count_u32(row.failures),
            distinct_cards: count_u32(row.distinct_cards),
            unknown_cards: count_u32(row.unknown_cards),
        }
    }
}

impl Store {
    /// Records one failure event. A terminal removed meanwhile (its session not yet ended)
    /// has no budget left to count against: nothing is recorded and the check goes on, so the
    /// patron's own failure (counted before) is answered as such, not as an outage.
    pub async fn record_terminal_failure(&self, event: &NewTerminalFailure) -> Result<()> {
        let done = with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO terminal_failures (terminal_id, card_pseudonym, kind, at) \
                 SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM terminals WHERE id = $1)",
            )
            .bind(event.terminal.0)
            .bind(&event.card_pseudonym)
            .bind(event.kind.as_str())
            .bind(event.at.timestamp())
            .execute(pool)
            .await
            .map(|_| ())
        });
        match done {
            Ok(()) => Ok(()),
            // Removed between the check and the insert.
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => Ok(()),
            Err(e) => Err(super::Error::from_sqlx(e, "terminal failure")),
        }
    }

    /// Counts the terminal's failure events at or after `since`.
    pub async fn terminal_failure_counts(
        &self,
        terminal: TerminalId,
        since: DateTime<Utc>,
    ) -> Result<TerminalFailureCounts> {
        let row = with_pool!(self, |pool| {
            sqlx::query_as::<_, CountsRow>(counts_select!("$1", "$2"))
                .bind(terminal.0)
                .bind(since.timestamp())
                .fetch_one(pool)
                .await
        })?;
        Ok(row.into())
    }

    /// Deletes events older than `cutoff`; returns how many.
    pub async fn purge_terminal_failures_before(&self, cutoff: DateTime<Utc>) -> Result<u64> {
        self.delete_rows(
            "DELETE FROM terminal_failures WHERE at < $1",
            cutoff.timestamp(),
        )
        .await
    }
}
