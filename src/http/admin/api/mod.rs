//! The JSON API under `/api/v1/`: every request carries an API key (`Authorization: Bearer
//! KEY`), checked once here; each handler asks for the scope it needs, calls the same `accounts`
//! code as the CLI, and audits its writes with the key's name as operator. Refusals are problem
//! details (`problem.rs`). Patrons are in `patrons.rs`, the audit log in `audit.rs`,
//! terminals in `terminals.rs`. The OpenAPI 3.1 document is generated
//! from the handlers' annotations (utoipa) and served without a key at `/api/v1/openapi.json`.
//!
//! Uses `accounts` and `config`; must not import `store`, `server` or `sip2`.

mod audit;
mod import;
mod patron_pins;
mod patron_records;
mod patrons;
mod problem;
mod terminal_writes;
mod terminals;

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Router};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::Shared;
use crate::accounts::api_key::{ApiKey, ApiScope};
use crate::accounts::{ErrorKind, Operator};
use crate::clock::SharedClock;
use crate::config::AdminConfig;
use crate::http::listener::ClientAddr;
use crate::http::window_limit::WindowLimiter;
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
        patron_records::search,
        patron_records::create,
        import::import,
        patrons::show,
        patron_records::update,
        patron_records::remove,
        patron_pins::set,
        patron_pins::reset,
        patrons::block,
        patrons::unblock,
        patrons::unlock,
        patrons::lost,
        patrons::found,
        audit::query,
        terminals::list,
        terminal_writes::create,
        terminals::show,
        terminal_writes::update,
        terminal_writes::remove,
        terminal_writes::new_secret,
        terminal_writes::enable,
        terminal_writes::disable
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
        // Every operation passes the same key check, so every one may answer 429.
        let too_many = ResponseBuilder::new()
            .description("Over admin.requests_per_minute for this key, or too many unknown keys from this address; see Retry-After")
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ProblemDocument")))
                    .build(),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                operation
                    .responses
                    .responses
                    .insert("429".into(), too_many.clone().into());
            }
        }
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
        .route(
            "/patrons",
            get(patron_records::search).post(patron_records::create),
        )
        .route(
            "/patrons/{card}",
            get(patrons::show)
                .patch(patron_records::update)
                .delete(patron_records::remove),
        )
        .route(
            "/patrons/import",
            post(import::import).layer(DefaultBodyLimit::max(state.config.max_import_bytes)),
        )
        .route("/patrons/{card}/pin", put(patron_pins::set))
        .route("/patrons/{card}/pin/reset", post(patron_pins::reset))
        .route("/patrons/{card}/block", post(patrons::block))
        .route("/patrons/{card}/unblock", post(patrons::unblock))
        .route("/patrons/{card}/unlock", post(patrons::unlock))
        .route("/patrons/{card}/lost", post(patrons::lost))
        .route("/patrons/{card}/found", post(patrons::found))
        .route("/audit", get(audit::query))
        .route(
            "/terminals",
            get(terminals::list).post(terminal_writes::create),
        )
        .route(
            "/terminals/{login_id}",
            get(terminals::show)
                .patch(terminal_writes::update)
                .delete(terminal_writes::remove),
        )
        .route(
            "/terminals/{login_id}/secret",
            post(terminal_writes::new_secret),
        )
        .route(
            "/terminals/{login_id}/enable",
            post(terminal_writes::enable),
        )
        .route(
            "/terminals/{login_id}/disable",
            post(terminal_writes::disable),
        )
        .fallback(|| async { Problem::new(ProblemKind::NotFound) })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state, authenticated))
}

/// The request limits of the API, per instance: per key, and per client address for requests
/// with an unknown key.
pub(super) struct Limits {
    per_key: WindowLimiter<String>,
    unknown_key_per_address: WindowLimiter<IpAddr>,
}

impl Limits {
    pub(super) fn new(config: &AdminConfig, clock: SharedClock) -> Limits {
        let minute = std::time::Duration::from_secs(60);
        Limits {
            per_key: WindowLimiter::new(config.requests_per_minute, minute, clock.clone()),
            unknown_key_per_address: WindowLimiter::new(
                config.unknown_keys_per_minute,
                minute,
                clock,
            ),
        }
    }
}

fn too_many(wait: chrono::Duration) -> Response {
    let seconds = u64::try_from(wait.num_seconds()).unwrap_or(1).max(1);
    Problem::new(ProblemKind::TooManyRequests)
        .retry_after(seconds)
        .into_response()
}

/// Finds the key of the request, or answers 401 (no or unknown key), 429 (over a limit) or 503
/// (database down).
async fn authenticated(
    State(admin): State<Shared>,
    ConnectInfo(ClientAddr(peer)): ConnectInfo<ClientAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    let key = match admin.handles.accounts.authenticate_api_key(presented).await {
        Ok(Some(key)) => key,
        // Only a presented key counts as a guess; a request without one is simply told to send one.
        Ok(None) if !presented.is_empty() => {
            if let Err(wait) = admin.limits.unknown_key_per_address.count(peer.ip()) {
                return too_many(wait);
            }
            return Problem::new(ProblemKind::Unauthorized).into_response();
        }
        Ok(None) => return Problem::new(ProblemKind::Unauthorized).into_response(),
        Err(err) if err.kind() == ErrorKind::Unavailable => {
            return Problem::new(ProblemKind::DatabaseUnavailable).into_response()
        }
        Err(err) => return Problem::from(err).into_response(),
    };
    if let Err(wait) = admin.limits.per_key.count(key.name.clone()) {
        return too_many(wait);
    }
    request.extensions_mut().insert(Caller(Arc::new(key)));
    next.run(request).await
}

/// Lets handlers take the caller as an extractor.
type CallerOf = Extension<Caller>;
