//! The patron record over the API: search by name with paging (scope `read`), create, partial
//! update and remove (scope `write`), through the same `accounts` calls as `sip2auth patron
//! add | update | remove | list`, with the same checks and audit records.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::patrons::{card_ref, view, At, Card, Institution, PatronView};
use super::problem::{Problem, ProblemDocument, ProblemKind};
use super::{CallerOf, Shared};
use crate::accounts::api_key::ApiScope;
use crate::accounts::patron::{CardRef, Currency, FirstPin, PatronChanges};
use crate::accounts::PatronFilter;

/// Largest page of a search.
const MAX_PAGE: u32 = 500;

/// A search: patrons whose name contains `name` (ignoring case and accents), a page at a time.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct Search {
    /// Part of the name, e.g. `garcia` finds García.
    name: Option<String>,
    /// Only this institution's patrons.
    institution: Option<String>,
    /// The `next_after` of the previous page.
    after: Option<i64>,
    /// Page size, 1-500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// One patron in a search page.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct PatronSummary {
    id: i64,
    institution: String,
    display_name: String,
    /// The patron's cards, lost ones included.
    cards: Vec<String>,
    /// `active`, `blocked` or `card_lost`.
    status: String,
}

/// A page of a search.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SearchPage {
    patrons: Vec<PatronSummary>,
    /// Pass as `after` for the next page; absent on the last page.
    next_after: Option<i64>,
}

#[utoipa::path(get, path = "/patrons", summary = "Search patrons by name (scope read)",
    params(Search),
    responses(
        (status = 200, description = "A page of patrons, by id", body = SearchPage),
        (status = 400, description = "A bad query", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No known API key", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub(super) async fn search(
    State(admin): State<Shared>,
    caller: CallerOf,
    query: Result<Query<Search>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<SearchPage>, Problem> {
    caller.may(ApiScope::Read)?;
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Problem::new(ProblemKind::BadRequest)
            .field("limit")
            .detail(format!("limit must be 1-{MAX_PAGE}")));
    }
    let accounts = &admin.handles.accounts;
    let filter = PatronFilter {
        institution: query.institution,
        name_contains: query.name.filter(|n| !n.trim().is_empty()),
        after: query.after.map(crate::accounts::patron::PatronId),
        limit,
    };
    let found = accounts.patrons(&filter).await?;
    let next_after = (found.len() == limit as usize)
        .then(|| found.last().map(|p| p.id.0))
        .flatten();
    let mut patrons = Vec::with_capacity(found.len());
    for patron in found {
        let cards = accounts.cards(patron.id).await?;
        patrons.push(PatronSummary {
            id: patron.id.0,
            institution: patron.institution.clone(),
            display_name: patron.details.name.display.clone(),
            cards: cards.into_iter().map(|c| c.number).collect(),
            status: patron.status.columns().0.to_owned(),
        });
    }
    Ok(Json(SearchPage {
        patrons,
        next_after,
    }))
}

/// Reads a field that may be absent (keep), `null` (clear) or a value (set).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The descriptive fields of a patron. On update, an absent field keeps its value and `null`
/// clears an optional one. Amounts are in minor units (cents).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Details {
    #[schema(example = "García")]
    family_name: Option<String>,
    #[schema(example = "Ana")]
    given_names: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "ana@example.org")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "+1 555 0100")]
    phone: Option<Option<String>>,
    /// YYYY-MM-DD.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date)]
    birth_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    class: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    home_library: Option<Option<String>>,
    /// Last day of registration, YYYY-MM-DD.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date)]
    expires_on: Option<Option<NaiveDate>>,
    #[schema(minimum = 0)]
    fines_minor: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    fine_limit_minor: Option<Option<i64>>,
    /// ISO 4217 code, e.g. USD.
    #[schema(example = "USD", pattern = "^[A-Za-z]{3}$")]
    currency: Option<String>,
}

impl Details {
    fn changes(self) -> Result<PatronChanges, Problem> {
        let amount = |field: &'static str, value: Option<i64>| match value {
            Some(v) if v < 0 => Err(Problem::new(ProblemKind::Invalid)
                .field(field)
                .detail("amounts cannot be negative")),
            _ => Ok(()),
        };
        amount("fines_minor", self.fines_minor)?;
        amount("fine_limit_minor", self.fine_limit_minor.flatten())?;
        let currency = match self.currency {
            Some(code) => Some(
                code.trim()
                    .to_ascii_uppercase()
                    .parse::<Currency>()
                    .map_err(|e| {
                        Problem::new(ProblemKind::Invalid)
                            .field("currency")
                            .detail(e.to_string())
                    })?,
            ),
            None => None,
        };
        let clean = |v: Option<Option<String>>| v.map(|v| v.filter(|t| !t.trim().is_empty()));
        Ok(PatronChanges {
            family_name: self.family_name,
            given_names: self.given_names,
            email: clean(self.email),
            phone: clean(self.phone),
            birth_date: self.birth_date,
            class: clean(self.class),
            home_library: clean(self.home_library),
            expires: self.expires_on,
            fines_minor: self.fines_minor,
            fine_limit_minor: self.fine_limit_minor,
            currency,
        })
    }
}

/// A new patron: the card, the details (`family_name` required) and optionally a first PIN
/// (the PIN rules apply; without one the default PIN policy decides). The details are the same
/// object a PATCH takes.
// No `Debug`: it holds a PIN or secret, which no log line may show.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewPatronBody {
    #[schema(example = "21234000099999")]
    card: String,
    /// Default `server.institution_id`.
    institution: Option<String>,
    /// `family_name` is required here.
    details: Details,
    /// Never echoed or logged. The PIN rules apply beyond the digits.
    #[schema(value_type = Option<String>, format = Password, pattern = "^[0-9]{4,12}$")]
    pin: Option<String>,
}

/// The patron created, and how their first PIN was set.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Created {
    patron: PatronView,
    /// `chosen` (the body's), `default` (from the phone, must change) or `not_set`.
    first_pin: &'static str,
}

#[utoipa::path(post, path = "/patrons", summary = "Create a patron (scope write)",
    request_body = NewPatronBody,
    responses(
        (status = 201, description = "The patron", body = Created),
        (status = 400, description = "Bad JSON or an unknown field", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No known API key", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "The key's scope is too small", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "The card is taken", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Body not application/json", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "A refused value (field), or a PIN breaking the rules (reasons)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub(super) async fn create(
    State(admin): State<Shared>,
    caller: CallerOf,
    body: Result<Json<NewPatronBody>, JsonRejection>,
) -> Result<Response, Problem> {
    let operator = caller.may(ApiScope::Write)?;
    let Json(body) = body?;
    let server = &admin.handles.accounts.config().server;
    let at = CardRef {
        institution: server.institution_or_default(body.institution.as_deref()),
        card: body.card.trim().to_owned(),
    };
    let details = body.details.changes()?.new_details()?;
    let pin = body.pin.map(SecretString::from);
    let added = admin
        .handles
        .accounts
        .add_patron(&operator, &at, details, pin)
        .await?;
    let first_pin = match added.pin {
        FirstPin::Chosen => "chosen",
        FirstPin::Default(_) => "default",
        FirstPin::NotSet => "not_set",
    };
    let Json(patron) = view(&admin, &at).await?;
    Ok((StatusCode::CREATED, Json(Created { patron, first_pin })).into_response())
}

#[utoipa::path(patch, path = "/patrons/{card}", summary = "Change a patron's details (scope write)",
    params(("card" = String, Path, description = "The card number", example = "21234000012345"), At),
    request_body = Details,
    responses(
        (status = 200, description = "The patron as changed", body = PatronView),
        (status = 400, description = "Bad JSON, an unknown field, or a bad path or query", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No known API key", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "The key's scope is too small", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such card", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Body not application/json", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "A refused value (field)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub(super) async fn update(
    State(admin): State<Shared>,
    caller: CallerOf,
    card: Card,
    at: Institution,
    body: Result<Json<Details>, JsonRejection>,
) -> Result<Json<PatronView>, Problem> {
    let operator = caller.may(ApiScope::Write)?;
    let at = card_ref(&admin, card, at)?;
    let Json(body) = body?;
    let changes = body.changes()?;
    admin
        .handles
        .accounts
        .update_patron(&operator, &at, changes)
        .await?;
    view(&admin, &at).await
}

#[utoipa::path(delete, path = "/patrons/{card}", summary = "Remove a patron and their cards (scope write)",
    params(("card" = String, Path, description = "The card number", example = "21234000012345"), At),
    responses(
        (status = 204, description = "Removed (audit records stay, pseudonymised)"),
        (status = 400, description = "A bad path or query", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No known API key", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "The key's scope is too small", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such card", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub(super) async fn remove(
    State(admin): State<Shared>,
    caller: CallerOf,
    card: Card,
    at: Institution,
) -> Result<StatusCode, Problem> {
    let operator = caller.may(ApiScope::Write)?;
    let at = card_ref(&admin, card, at)?;
    admin.handles.accounts.remove_patron(&operator, &at).await?;
    Ok(StatusCode::NO_CONTENT)
}
