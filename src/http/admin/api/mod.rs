//! The JSON API under `/api/v1/`: every request carries an API key (`Authorization: Bearer
//! KEY`), checked once here; each handler asks for the scope it needs, calls the same `accounts`
//! code as the CLI, and audits its writes with the key's name as operator. Refusals are problem
//! details (`problem.rs`). Patrons are in `patrons.rs`, the audit log in `audit.rs`,
//! terminals in `terminals.rs`. The OpenAPI 3.1 document is generated
//! from the handlers' annotations (utoipa) and served without a key at `/api/v1/openapi.json`.
//!
//! Uses `accounts` and `config`; must not import `store`, `server` or `sip2`.

mod audit;
mod patrons;
mod problem;
mod terminals;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::Shared;
use crate::accounts::api_key::{ApiKey, ApiScope};
use crate::accounts::{ErrorKind, Operator};
use problem::{Problem, ProblemKind};

/// Largest request body the API reads.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The caller of a request, by its key.
#[derive(Debug, Clone)]
pub(crate) struct Caller(Arc<ApiKey>);

impl Caller {
    /// The operator of a write, after checking the key may do it.
    fn may(&self, needed: ApiScope) -> Result<Operator, Problem> {
        if self.0.scope.allows(needed) {
            Ok(Operator::api_key(&self.0.name))
        } else {
            Err(Problem::new(ProblemKind::Forbidden).detail(format!(
                "this key has scope {}; this needs {}",
                self.0.scope.as_str(),
                needed.as_str()
            )))
        }
    }
}

/// The OpenAPI 3.1 document of the API, generated from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "sip2auth admin API",
        description = "Patrons for ILS synchronisation and the desk. Every request needs an API key: Authorization: Bearer KEY."
    ),
    servers((url = "/api/v1")),
    paths(
        patrons::show,
        patrons::block,
        patrons::unblock,
        patrons::unlock,
        patrons::lost,
        patrons::found,
        audit::query,
        terminals::list,
        terminals::show
    ),
    modifiers(&BearerKey)
)]
struct ApiDocument;

/// The API key scheme of every operation.
struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// `GET /api/v1/openapi.json` (no key: the document holds nothing secret).
pub(super) async fn openapi() -> Response {
    let mut document = ApiDocument::openapi();
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    match document.to_json() {
        Ok(text) => ([(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Err(_) => Problem::new(ProblemKind::Internal).into_response(),
    }
}

pub(super) fn router(state: Shared) -> Router<Shared> {
    Router::new()
        .route("/patrons/{card}", get(patrons::show))
        .route("/patrons/{card}/block", post(patrons::block))
        .route("/patrons/{card}/unblock", post(patrons::unblock))
        .route("/patrons/{card}/unlock", post(patrons::unlock))
        .route("/patrons/{card}/lost", post(patrons::lost))
        .route("/patrons/{card}/found", post(patrons::found))
        .route("/audit", get(audit::query))
        .route("/terminals", get(terminals::list))
        .route("/terminals/{login_id}", get(terminals::show))
        .fallback(|| async { Problem::new(ProblemKind::NotFound) })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state, authenticated))
}

/// Finds the key of the request, or answers 401 (no or unknown key) or 503 (database down).
async fn authenticated(State(admin): State<Shared>, mut request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    let key = match admin.handles.accounts.authenticate_api_key(presented).await {
        Ok(Some(key)) => key,
        Ok(None) => return Problem::new(ProblemKind::Unauthorized).into_response(),
        Err(err) if err.kind() == ErrorKind::Unavailable => {
            return Problem::new(ProblemKind::DatabaseUnavailable).into_response()
        }
        Err(err) => return Problem::from(err).into_response(),
    };
    request.extensions_mut().insert(Caller(Arc::new(key)));
    next.run(request).await
}

/// Lets handlers take the caller as an extractor.
type CallerOf = Extension<Caller>;
