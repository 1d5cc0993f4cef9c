//! A patron's PIN over the API (scope `write`): set a PIN the patron chose (the PIN rules apply;
//! a refusal lists every rule broken as data), and the desk reset, which issues a one-time PIN
//! returned once (or sets the one the patron chose) and clears the PIN locks. The same
//! `accounts` calls as `sip2auth patron set-pin | reset-pin`. Answers carrying a PIN are never
//! cached.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::patrons::{card_ref, At, Card, Institution};
use super::problem::{Problem, ProblemDocument};
use super::{CallerOf, Shared};
use crate::accounts::api_key::ApiScope;
use crate::accounts::patron::PinReset;

/// A PIN the patron chose.
// No `Debug`: it holds a PIN or secret, which no log line may show.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PinBody {
    /// Never echoed or logged. The PIN rules apply beyond the digits.
    #[schema(value_type = String, format = Password, pattern = "^[0-9]{4,12}$", example = "739154")]
    pin: String,
}

/// A desk reset: with `pin`, the patron's choice is set; without, a one-time PIN is issued.
// No `Debug`: it holds a PIN or secret, which no log line may show.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ResetBody {
    #[schema(value_type = Option<String>, format = Password, pattern = "^[0-9]{4,12}$")]
    pin: Option<String>,
}

/// What a desk reset did.
// No `Debug`: it holds a PIN or secret, which no log line may show.
#[derive(Serialize, ToSchema)]
pub(super) struct ResetAnswer {
    /// The one-time PIN to give the patron, shown this once; absent when the patron's choice
    /// was set. It must be changed at first use.
    one_time_pin: Option<String>,
}

#[utoipa::path(put, path = "/patrons/{card}/pin", summary = "Set the PIN the patron chose (scope write)",
    params(("card" = String, Path, description = "The card number", example = "21234000012345"), At),
    request_body = PinBody,
    responses(
        (status = 204, description = "The PIN is set"),
        (status = 400, description = "Bad JSON, an unknown field, or a bad path or query", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No known API key", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "The key's scope is too small", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such card", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Body not application/json", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "The PIN breaks rules (every one in reasons)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub(super) async fn set(
    State(admin): State<Shared>,
    caller: CallerOf,
    card: Card,
    at: Institution,
    body: Result<Json<PinBody>, JsonRejection>,
) -> Result<StatusCode, Problem> {
    let operator = caller.may(ApiScope::Write)?;
    let at = card_ref(&admin, card, at)?;
    let Json(body) = body?;
    let pin = SecretString::from(body.pin);
    admin.handles.accounts.set_pin(&operator, &at, &pin).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/patrons/{card}/pin/reset", summary = "Desk reset of the PIN (scope write)",
    params(("card" = String, Path, description = "The card number", example = "21234000012345"), At),
    request_body(content = ResetBody, description = "Optional: the PIN the patron chose at the desk"),
    responses(
        (status = 200, description = "Reset; the one-time PIN, if issued, is in the answer this once", body = ResetAnswer),
        (status = 400, description = "Bad JSON, an unknown field, or a bad path or query", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No known API key", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "The key's scope is too small", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such card", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Body not application/json", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "The chosen PIN breaks rules (every one in reasons)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub(super) async fn reset(
    State(admin): State<Shared>,
    caller: CallerOf,
    card: Card,
    at: Institution,
    body: Result<Option<Json<ResetBody>>, JsonRejection>,
) -> Result<Response, Problem> {
    let operator = caller.may(ApiScope::Write)?;
    let at = card_ref(&admin, card, at)?;
    let chosen = body?.and_then(|Json(b)| b.pin).map(SecretString::from);
    let outcome = admin
        .handles
        .accounts
        .reset_pin(&operator, &at, chosen.as_ref())
        .await?;
    let one_time_pin = match outcome {
        PinReset::Issued(pin) => Some(pin.expose_secret().to_owned()),
        PinReset::Chosen => None,
    };
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(ResetAnswer { one_time_pin }),
    )
        .into_response())
}
