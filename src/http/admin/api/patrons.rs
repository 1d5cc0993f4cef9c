//! `/api/v1/patrons/{card}`: a patron by card (scope `read`), and the standing changes staff make
//! at the desk (scope `write`): block with a reason, unblock, unlock, card lost and found. The
//! card's institution is `?institution=`, else `server.institution_id`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::problem::Problem;
use super::{CallerOf, Shared};
use crate::accounts::api_key::ApiScope;
use crate::accounts::patron::CardRef;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct At {
    institution: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BlockBody {
    reason: String,
}

fn card_ref(admin: &Shared, card: String, at: At) -> CardRef {
    let server = &admin.handles.accounts.config().server;
    CardRef {
        institution: server.institution_or_default(at.institution.as_deref()),
        card: card.trim().to_owned(),
    }
}

type Answer = Result<(StatusCode, Json<Value>), Problem>;

async fn view(admin: &Shared, at: &CardRef) -> Answer {
    let record = admin.handles.accounts.patron(at).await?;
    let patron = &record.patron;
    let details = &patron.details;
    let (status, block_reason) = patron.status.columns();
    Ok((
        StatusCode::OK,
        Json(json!({
            "id": patron.id.0,
            "institution": patron.institution,
            "card": record.card.number,
            "card_lost": record.card.lost,
            "family_name": details.name.family,
            "given_names": details.name.given,
            "display_name": details.name.display,
            "status": status,
            "block_reason": block_reason,
            "expires_on": details.expires_on,
            "has_pin": patron.pin.is_some(),
            "has_password": patron.password.is_some(),
            "pin_locked_until": patron.pin_lock.locked_until.map(|t| t.to_rfc3339()),
        })),
    ))
}

pub(super) async fn show(
    State(admin): State<Shared>,
    caller: CallerOf,
    Path(card): Path<String>,
    Query(at): Query<At>,
) -> Answer {
    caller.may(ApiScope::Read)?;
    let at = card_ref(&admin, card, at);
    view(&admin, &at).await
}

pub(super) async fn block(
    State(admin): State<Shared>,
    caller: CallerOf,
    Path(card): Path<String>,
    Query(at): Query<At>,
    body: Result<Json<BlockBody>, JsonRejection>,
) -> Answer {
    let operator = caller.may(ApiScope::Write)?;
    let Json(body) = body?;
    let at = card_ref(&admin, card, at);
    admin
        .handles
        .accounts
        .block(&operator, &at, &body.reason)
        .await?;
    view(&admin, &at).await
}

pub(super) async fn unblock(
    State(admin): State<Shared>,
    caller: CallerOf,
    Path(card): Path<String>,
    Query(at): Query<At>,
) -> Answer {
    let operator = caller.may(ApiScope::Write)?;
    let at = card_ref(&admin, card, at);
    admin.handles.accounts.unblock(&operator, &at).await?;
    view(&admin, &at).await
}

pub(super) async fn unlock(
    State(admin): State<Shared>,
    caller: CallerOf,
    Path(card): Path<String>,
    Query(at): Query<At>,
) -> Answer {
    let operator = caller.may(ApiScope::Write)?;
    let at = card_ref(&admin, card, at);
    admin.handles.accounts.unlock(&operator, &at).await?;
    view(&admin, &at).await
}

async fn mark_lost(admin: Shared, caller: CallerOf, card: String, at: At, lost: bool) -> Answer {
    let operator = caller.may(ApiScope::Write)?;
    let at = card_ref(&admin, card, at);
    admin
        .handles
        .accounts
        .mark_lost(&operator, &at, lost)
        .await?;
    view(&admin, &at).await
}

pub(super) async fn lost(
    State(admin): State<Shared>,
    caller: CallerOf,
    Path(card): Path<String>,
    Query(at): Query<At>,
) -> Answer {
    mark_lost(admin, caller, card, at, true).await
}

pub(super) async fn found(
    State(admin): State<Shared>,
    caller: CallerOf,
    Path(card): Path<String>,
    Query(at): Query<At>,
) -> Answer {
    mark_lost(admin, caller, card, at, false).await
}
