//! Audit log: append-only records of who did what to which (pseudonymised) card, with what
//! outcome, and the retention purge. The table refuses UPDATE (a trigger); only purge deletes.
//! Callers pass pseudonyms and reasons; no secret may be passed in. Must not import `auth` or
//! `sip2`: action and outcome are the caller's vocabulary, stored as text.

use chrono::{DateTime, Utc};

use super::error::Result;
use super::values::time_from_secs;
use super::Store;

/// An audit record to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub at: DateTime<Utc>,
    /// Terminal login id or operator name.
    pub actor: String,
    /// The card, already pseudonymised by the caller.
    pub card_pseudonym: Option<String>,
    /// E.g. `pin_check`, `pin_reset`, `unlock`.
    pub action: String,
    /// E.g. `ok`, `wrong_pin`, `locked`.
    pub outcome: String,
    pub reason: Option<String>,
}

/// A stored audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub entry: NewAuditEntry,
}

/// Which records `list_audit` returns, newest first; page with `before_id`.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub actor: Option<String>,
    pub card_pseudonym: Option<String>,
    /// Only records of this action.
    pub action: Option<String>,
    pub before_id: Option<i64>,
    /// Page size; 0 means 100.
    pub limit: u32,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    actor: String,
    card_pseudonym: Option<String>,
    action: String,
    outcome: String,
    reason: Option<String>,
}

/// Appends one audit record; shared by [`Store::append_audit`] and the transactions that must
/// record an action together with its effect (the patron import).
pub(super) const INSERT_AUDIT: &str =
    "INSERT INTO audit_log (at, actor, card_pseudonym, action, outcome, reason) \
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";

/// Binds an entry to [`INSERT_AUDIT`].
pub(super) fn bind_audit<'q, DB, O>(
    query: sqlx::query::QueryScalar<'q, DB, O, <DB as sqlx::Database>::Arguments<'q>>,
    entry: &'q NewAuditEntry,
) -> sqlx::query::QueryScalar<'q, DB, O, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    query
        .bind(entry.at.timestamp())
        .bind(&entry.actor)
        .bind(&entry.card_pseudonym)
        .bind(&entry.action)
        .bind(&entry.outcome)
        .bind(&entry.reason)
}

impl Store {
    /// Appends a record; returns its id.
    pub async fn append_audit(&self, entry: &NewAuditEntry) -> Result<i64> {
        let id = with_pool!(self, |pool| {
            bind_audit(sqlx::query_scalar::<_, i64>(INSERT_AUDIT), entry)
                .fetch_one(pool)
                .await
        })?;
        Ok(id)
    }

    /// Records matching `query`, newest first.
    pub async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let limit = i64::from(if query.limit == 0 { 100 } else { query.limit });
        let rows = with_pool!(self, |pool| {
            sqlx::query_as::<_, AuditRow>(
                "SELECT id, at, actor, card_pseudonym, action, outcome, reason FROM audit_log \
                 WHERE ($1 IS NULL OR at >= $1) AND ($2 IS NULL OR at < $2) \
                 AND ($3 IS NULL OR actor = $3) AND ($4 IS NULL OR card_pseudonym = $4) \
                 AND ($5 IS NULL OR id < $5) AND ($7 IS NULL OR action = $7) \
                 ORDER BY id DESC LIMIT $6",
            )
            .bind(query.since.map(|t| t.timestamp()))
            .bind(query.until.map(|t| t.timestamp()))
            .bind(query.actor.as_deref())
            .bind(query.card_pseudonym.as_deref())
            .bind(query.before_id)
            .bind(limit)
            .bind(query.action.as_deref())
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.id,
                    entry: NewAuditEntry {
                        at: time_from_secs(row.at, "audit_log.at")?,
                        actor: row.actor,
                        card_pseudonym: row.card_pseudonym,
                        action: row.action,
                        outcome: row.outcome,
                        reason: row.reason,
                    },
                })
            })
            .collect()
    }

    /// Deletes records older than `cutoff` (retention); returns how many.
    pub async fn purge_audit_before(&self, cutoff: DateTime<Utc>) -> Result<u64> {
        self.delete_rows("DELETE FROM audit_log WHERE at < $1", cutoff.timestamp())
            .await
    }
}
