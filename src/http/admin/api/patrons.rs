//! `/api/v1/patrons/{card}`: a patron by card (scope `read`), and the standing changes staff make
//! at the desk (scope `write`): block with a reason, unblock, unlock, card lost and found. The
//! card's institution is `?institution=`, else `server.institution_id`. Each answers with the
//! patron as it is after the change.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::problem::{Problem, ProblemDocument};
use super::{CallerOf, Shared};
use crate::accounts::api_key::ApiScope;
use crate::accounts::patron::CardRef;

/// Which institution issued the card.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct At {
    /// The issuing institution; default `server.institution_id`.
    institution: Option<String>,
}

/// Why the patron is blocked.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct BlockBody {
    /// Shown to staff (and to the patron on My Account when `web.show_block_reason`).
    #[schema(min_length = 1, pattern = "\\S", example = "Owes the library a laptop")]
    reason: String,
}

/// A patron as the API shows them: never a PIN, password or hash.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct PatronView {
    id: i64,
    institution: String,
    /// The card the patron was found by.
    card: String,
    card_lost: bool,
    family_name: String,
    given_names: String,
    display_name: String,
    email: Option<String>,
    phone: Option<String>,
    class: Option<String>,
    home_library: Option<String>,
    /// `active`, `blocked` or `card_lost`.
    status: String,
    block_reason: Option<String>,
    /// Last day of the registration (YYYY-MM-DD).
    expires_on: Option<String>,
    has_pin: bool,
    has_password: bool,
    /// The PIN is locked until then (RFC 3339), after too many wrong PINs.
    pin_locked_until: Option<String>,
}

type Answer = Result<Json<PatronView>, Problem>;
pub(super) type Card = Result<Path<String>, PathRejection>;
pub(super) type Institution = Result<Query<At>, QueryRejection>;

pub(super) fn card_ref(admin: &Shared, card: Card, at: Institution) -> Result<CardRef, Problem> {
    let (Path(card), Query(at)) = (card?, at?);
    let server = &admin.handles.accounts.config().server;
    Ok(CardRef {
        institution: server.institution_or_default(at.institution.as_deref()),
        card: card.trim().to_owned(),
    })
}

pub(super) async fn view(admin: &Shared, at: &CardRef) -> Answer {
    let record = admin.handles.accounts.patron(at).await?;
    let patron = &record.patron;
    let details = &patron.details;
    let (status, block_reason) = patron.status.columns();
    Ok(Json(PatronView {
        id: patron.id.0,
        institution: patron.institution.clone(),
        card: record.card.number.clone(),
        card_lost: record.card.lost,
        family_name: details.name.family.clone(),
        given_names: details.name.given.clone(),
        display_name: details.name.display.clone(),
        email: details.email.clone(),
        phone: details.phone.clone(),
        class: details.patron_class.clone(),
        home_library: details.home_library.clone(),
        status: status.to_owned(),
        block_reason: block_reason.map(str::to_owned),
        expires_on: details.expires_on.map(|d| d.to_string()),
        has_pin: patron.pin.is_some(),
        has_password: patron.password.is_some(),
        pin_locked_until: patron.pin_lock.locked_until.map(|t| t.to_rfc3339()),
    }))
}

/// Scope `read`: the patron holding this card.
#[utoipa::path(get, path = "/patrons/{card}", summary = "A patron by card (scope read)",
    params(("card" = String, Path, description = "The card number", example = "21234000012345"), At),
    responses(
        (status = 200, description = "The patron", body = PatronView),
        (status = 400, description = "A bad path or query", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No known API key", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such card", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub(super) async fn show(
    State(admin): State<Shared>,
    caller: CallerOf,
    card: Card,
    at: Institution,
) -> Answer {
    caller.may(ApiScope::Read)?;
    let at = card_ref(&admin, card, at)?;
    view(&admin, &at).await
}

/// Scope `write`: blocks the patron with a reason.
#[utoipa::path(post, path = "/patrons/{card}/block", summary = "Block a patron (scope write)",
    params(("card" = String, Path, description = "The card number", example = "21234000012345"), At),
    request_body = BlockBody,
    responses(
        (status = 200, description = "The patron, blocked", body = PatronView),
        (status = 400, description = "Bad JSON, an unknown field, or a bad path or query", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No known API key", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "The key's scope is too small", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such card", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Body not application/json", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "An empty reason (field reason)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub(super) async fn block(
    State(admin): State<Shared>,
    caller: CallerOf,
    card: Card,
    at: Institution,
    body: Result<Json<BlockBody>, JsonRejection>,
) -> Answer {
    let operator = caller.may(ApiScope::Write)?;
    let at = card_ref(&admin, card, at)?;
    let Json(body) = body?;
    admin
        .handles
        .accounts
        .block(&operator, &at, &body.reason)
        .await?;
    view(&admin, &at).await
}

/// The desk actions without a body.
#[derive(Debug, Clone, Copy)]
enum Desk {
    Unblock,
    Unlock,
    Lost,
    Found,
}

async fn desk(
    admin: Shared,
    caller: CallerOf,
    card: Card,
    at: Institution,
    action: Desk,
) -> Answer {
    let operator = caller.may(ApiScope::Write)?;
    let at = card_ref(&admin, card, at)?;
    let accounts = &admin.handles.accounts;
    match action {
        Desk::Unblock => accounts.unblock(&operator, &at).await?,
        Desk::Unlock => accounts.unlock(&operator, &at).await?,
        Desk::Lost => accounts.mark_lost(&operator, &at, true).await?,
        Desk::Found => accounts.mark_lost(&operator, &at, false).await?,
    }
    view(&admin, &at).await
}

/// Declares one body-less desk endpoint with its OpenAPI description.
macro_rules! desk_endpoint {
    ($name:ident, $action:expr, $path:literal, $summary:literal) => {
        #[utoipa::path(post, path = $path, summary = $summary,
            params(("card" = String, Path, description = "The card number", example = "21234000012345"), At),
            responses(
                (status = 200, description = "The patron after the change", body = PatronView),
                (status = 400, description = "A bad path or query", body = ProblemDocument, content_type = "application/problem+json"),
                (status = 401, description = "No known API key", body = ProblemDocument, content_type = "application/problem+json"),
                (status = 403, description = "The key's scope is too small", body = ProblemDocument, content_type = "application/problem+json"),
                (status = 404, description = "No such card", body = ProblemDocument, content_type = "application/problem+json"),
                (status = 503, description = "The database is unavailable", body = ProblemDocument, content_type = "application/problem+json"),
            ),
            security(("api_key" = [])))]
        pub(super) async fn $name(
            State(admin): State<Shared>,
            caller: CallerOf,
            card: Card,
            at: Institution,
        ) -> Answer {
            desk(admin, caller, card, at, $action).await
        }
    };
}

desk_endpoint!(
    unblock,
    Desk::Unblock,
    "/patrons/{card}/unblock",
    "Unblock a patron (scope write)"
);
desk_endpoint!(
    unlock,
    Desk::Unlock,
    "/patrons/{card}/unlock",
    "Clear PIN and password locks (scope write)"
);
desk_endpoint!(
    lost,
    Desk::Lost,
    "/patrons/{card}/lost",
    "Mark this card lost (scope write)"
);
desk_endpoint!(
    found,
    Desk::Found,
    "/patrons/{card}/found",
    "Mark this card found (scope write)"
);
