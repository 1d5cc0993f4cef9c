//! `GET /api/v1/audit` (scope `read`): the audit log, newest first, by card, operator (the
//! audit actor, such as `staff:alice`, `api:ils-sync` or `terminal:sc_user`), action and time
//! range, paged with `before` (the smallest id of the previous page).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::problem::{Problem, ProblemDocument, ProblemKind};
use super::{CallerOf, Shared};
use crate::accounts::api_key::ApiScope;
use crate::accounts::AuditQuery;

/// Most records one page holds.
const MAX_PAGE: u32 = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct AuditParams {
    /// Only records about this card.
    card: Option<String>,
    /// Only records of this actor: `staff:NAME`, `api:KEY` or `terminal:LOGIN`.
    operator: Option<String>,
    /// Only records of this action, such as `block` or `pin_reset`.
    action: Option<String>,
    /// From this moment on (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<DateTime<Utc>>,
    /// Before this moment (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    until: Option<DateTime<Utc>>,
    /// Records older than this id (the `next_before` of the previous page).
    before: Option<i64>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// One audit record (the card only as its pseudonym).
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct AuditRecord {
    id: i64,
    /// RFC 3339.
    at: String,
    actor: String,
    card_pseudonym: Option<String>,
    action: String,
    outcome: String,
    reason: Option<String>,
}

/// A page of records, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct AuditPage {
    records: Vec<AuditRecord>,
    /// Pass as `before` for the next page; absent on the last page.
    next_before: Option<i64>,
}

#[utoipa::path(get, path = "/audit", summary = "The audit log, newest first (scope read)",
    params(AuditParams),
    responses(
        (status = 200, description = "A page of records", body = AuditPage),
        (status = 400, description = "A bad query", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No known API key", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "A value was refused (the field at fault)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub(super) async fn query(
    State(admin): State<Shared>,
    caller: CallerOf,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Json<AuditPage>, Problem> {
    caller.may(ApiScope::Read)?;
    let Query(params) = params?;
    let limit = params.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Problem::new(ProblemKind::Invalid)
            .field("limit")
            .detail(format!("limit must be between 1 and {MAX_PAGE}")));
    }
    let query = AuditQuery {
        since: params.since,
        until: params.until,
        actor: params.operator.map(|o| o.trim().to_owned()),
        action: params.action.map(|a| a.trim().to_owned()),
        before_id: params.before,
        limit,
        ..AuditQuery::default()
    };
    let entries = admin
        .handles
        .accounts
        .audit_log(params.card.as_deref(), query)
        .await?;
    let full = u32::try_from(entries.len()).is_ok_and(|n| n == limit);
    let next_before = full.then(|| entries.last().map(|e| e.id)).flatten();
    let records = entries
        .into_iter()
        .map(|e| AuditRecord {
            id: e.id,
            at: e.entry.at.to_rfc3339(),
            actor: e.entry.actor,
            card_pseudonym: e.entry.card_pseudonym,
            action: e.entry.action,
            outcome: e.entry.outcome,
            reason: e.entry.reason,
        })
        .collect();
    Ok(Json(AuditPage {
        records,
        next_before,
    }))
}
