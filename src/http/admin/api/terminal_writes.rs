//! Terminal changes over the API (scope `admin`: a terminal's secret lets a machine ask about any
//! patron): create with a generated secret returned once, change settings, set a new secret,
//! enable, disable, remove. The same `accounts` calls and checks as `sip2auth terminal add |
//! update | set-secret | enable | disable | remove`, audited with the key's name. Settings are
//! written as `terminal show` prints them (`"credential": "pin"`, `"terminator": "crlf"`…).

use std::str::FromStr;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ipnet::IpNet;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::problem::{Problem, ProblemDocument, ProblemKind};
use super::terminals::TerminalView;
use super::{CallerOf, Shared};
use crate::accounts::api_key::ApiScope;
use crate::accounts::terminal_changes::{served_only, CertificateChange, TerminalChanges};
use crate::auth::{CertificateBinding, RequestSet, TerminalSettings};
use crate::net::Fingerprint;

type LoginId = Result<Path<String>, PathRejection>;

/// A terminal's settings; on update an absent field keeps its value.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SettingsBody {
    /// Institution id (AO); on create default `server.institution_id`.
    institution: Option<String>,
    /// Location code (CP); an empty string removes it.
    location_code: Option<String>,
    /// Networks it may connect from (replaces the list); empty: any address.
    #[schema(example = json!(["10.0.4.0/24"]))]
    allowed_cidrs: Option<Vec<String>>,
    /// May skip the 93 login from its networks.
    login_optional: Option<bool>,
    /// `pin`, `password` or `either`.
    #[schema(pattern = "^(pin|password|either)$")]
    patron_credential: Option<String>,
    /// Request codes it may send, e.g. `"23 63 35"`.
    #[schema(pattern = "^\\s*([0-9]{2}(\\s+[0-9]{2})*)?\\s*$")]
    allowed_messages: Option<String>,
    /// `full` or `minimal`.
    #[schema(pattern = "^(full|minimal)$")]
    patron_detail: Option<String>,
    /// `utf-8`, `latin-1` or `cp850`.
    #[schema(pattern = "^(utf-8|latin-1|cp850)$")]
    charset: Option<String>,
    /// `cr` or `crlf`.
    #[schema(pattern = "^(cr|crlf)$")]
    terminator: Option<String>,
    /// `off`, `auto` or `required`.
    #[schema(pattern = "^(off|auto|required)$")]
    error_detection: Option<String>,
    /// `flags` or `deny`.
    #[schema(pattern = "^(flags|deny)$")]
    restricted: Option<String>,
    /// What deny mode refuses: any of `expired,blocked,lost,fines`, or `none`.
    denied_restrictions: Option<String>,
    /// `minimal` or `full`.
    #[schema(pattern = "^(minimal|full)$")]
    detail_without_pin: Option<String>,
    /// Refuse it over plain text.
    require_tls: Option<bool>,
    /// Bind it to the client certificate with this SHA-256 fingerprint (hex); an empty string
    /// unbinds it.
    #[schema(pattern = "^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$|^$")]
    client_cert_sha256: Option<String>,
    /// `skip-93` or `require-93`.
    #[schema(pattern = "^(skip-93|require-93)$")]
    certificate_login: Option<String>,
}

/// Parses one setting, naming the field when it is refused.
fn parse_one<T>(field: &'static str, text: &str) -> Result<T, Problem>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    text.trim().parse::<T>().map_err(|e| {
        Problem::new(ProblemKind::Invalid)
            .field(field)
            .detail(e.to_string())
    })
}

/// Parses a setting when it is given.
fn parsed<T>(field: &'static str, value: Option<String>) -> Result<Option<T>, Problem>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    value.map(|text| parse_one(field, &text)).transpose()
}

impl SettingsBody {
    fn changes(self, served: &[[u8; 2]]) -> Result<TerminalChanges, Problem> {
        let allowed_cidrs = match self.allowed_cidrs {
            Some(nets) => Some(
                nets.iter()
                    .map(|net| parse_one::<IpNet>("allowed_cidrs", net))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        let allowed_messages = parsed::<RequestSet>("allowed_messages", self.allowed_messages)?;
        if let Some(requests) = &allowed_messages {
            served_only(requests, served).map_err(|reason| {
                Problem::new(ProblemKind::Invalid)
                    .field("allowed_messages")
                    .detail(reason)
            })?;
        }
        let certificate = match self.client_cert_sha256.as_deref().map(str::trim) {
            None => CertificateChange::Keep,
            Some("") => CertificateChange::Unbind,
            Some(hex) => {
                CertificateChange::Bind(CertificateBinding::Fingerprint(parse_one::<Fingerprint>(
                    "client_cert_sha256",
                    hex,
                )?))
            }
        };
        Ok(TerminalChanges {
            institution: self.institution,
            location_code: self.location_code.map(Some),
            allowed_cidrs,
            login_optional: self.login_optional,
            patron_credential: parsed("patron_credential", self.patron_credential)?,
            allowed_messages,
            patron_detail: parsed("patron_detail", self.patron_detail)?,
            charset: parsed("charset", self.charset)?,
            terminator: parsed("terminator", self.terminator)?,
            error_detection: parsed("error_detection", self.error_detection)?,
            restricted: parsed("restricted", self.restricted)?,
            denied_restrictions: parsed("denied_restrictions", self.denied_restrictions)?,
            detail_without_pin: parsed("detail_without_pin", self.detail_without_pin)?,
            require_tls: self.require_tls,
            certificate,
            certificate_login: parsed("certificate_login", self.certificate_login)?,
            // Relaying is set up with `sip2auth terminal update --upstream`: its password is
            // read from standard input there, never sent over this API.
            upstream: None,
        })
    }
}

/// A new terminal: its login id (CN) and settings.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewTerminalBody {
    #[schema(example = "selfcheck-03")]
    login_id: String,
    /// The same object a PATCH takes; absent settings have their defaults.
    #[serde(default)]
    settings: SettingsBody,
}

/// A terminal with the secret it logs in with, shown this once.
// No `Debug`: it holds a PIN or secret, which no log line may show.
#[derive(Serialize, ToSchema)]
pub(super) struct WithSecret {
    terminal: TerminalView,
    /// Configure it in the terminal (CO of its 93); it is never shown again.
    secret: String,
}

/// A new secret, shown this once.
// No `Debug`: it holds a PIN or secret, which no log line may show.
#[derive(Serialize, ToSchema)]
pub(super) struct NewSecret {
    secret: String,
}

/// An answer carrying a secret is never cached.
fn secret_answer(status: StatusCode, body: impl Serialize) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

#[utoipa::path(post, path = "/terminals", summary = "Create a terminal (scope admin)",
    request_body = NewTerminalBody,
    responses(
        (status = 201, description = "The terminal and its generated secret, shown once", body = WithSecret),
        (status = 400, description = "Bad JSON or an unknown field", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No known API key", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "The key's scope is too small", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "The login id is taken", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Body not application/json", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "A refused setting (field)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub(super) async fn create(
    State(admin): State<Shared>,
    caller: CallerOf,
    body: Result<Json<NewTerminalBody>, JsonRejection>,
) -> Result<Response, Problem> {
    let operator = caller.may(ApiScope::Admin)?;
    let Json(body) = body?;
    let accounts = &admin.handles.accounts;
    let institution = accounts
        .config()
        .server
        .institution_or_default(body.settings.institution.as_deref());
    let mut settings = TerminalSettings::new(institution);
    body.settings
        .changes(&admin.handles.served_requests)?
        .apply(&mut settings);
    let (terminal, secret) = accounts
        .add_terminal(&operator, body.login_id.trim(), settings, None)
        .await?;
    let secret = secret.map_or_else(String::new, |s| s.expose_secret().to_owned());
    let terminal = TerminalView::from(&terminal);
    Ok(secret_answer(
        StatusCode::CREATED,
        WithSecret { terminal, secret },
    ))
}

#[utoipa::path(patch, path = "/terminals/{login_id}", summary = "Change a terminal's settings (scope admin)",
    params(("login_id" = String, Path, description = "The terminal's login id", example = "sc_user")),
    request_body = SettingsBody,
    responses(
        (status = 200, description = "The terminal as changed", body = TerminalView),
        (status = 400, description = "Bad JSON, an unknown field, or a bad path", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No known API key", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "The key's scope is too small", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such terminal", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Body not application/json", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "A refused setting (field)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub(super) async fn update(
    State(admin): State<Shared>,
    caller: CallerOf,
    login_id: LoginId,
    body: Result<Json<SettingsBody>, JsonRejection>,
) -> Result<Json<TerminalView>, Problem> {
    let operator = caller.may(ApiScope::Admin)?;
    let Path(login_id) = login_id?;
    let Json(body) = body?;
    let changes = body.changes(&admin.handles.served_requests)?;
    let terminal = admin
        .handles
        .accounts
        .update_terminal(&operator, login_id.trim(), changes)
        .await?;
    Ok(Json(TerminalView::from(&terminal)))
}

#[utoipa::path(post, path = "/terminals/{login_id}/secret", summary = "Give a terminal a new generated secret (scope admin)",
    params(("login_id" = String, Path, description = "The terminal's login id", example = "sc_user")),
    responses(
        (status = 200, description = "The new secret, shown once; the old one stops working", body = NewSecret),
        (status = 400, description = "A bad path", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No known API key", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "The key's scope is too small", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such terminal", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub(super) async fn new_secret(
    State(admin): State<Shared>,
    caller: CallerOf,
    login_id: LoginId,
) -> Result<Response, Problem> {
    let operator = caller.may(ApiScope::Admin)?;
    let Path(login_id) = login_id?;
    let secret = admin
        .handles
        .accounts
        .set_terminal_secret(&operator, login_id.trim(), None)
        .await?;
    let secret = secret.map_or_else(String::new, |s| s.expose_secret().to_owned());
    Ok(secret_answer(StatusCode::OK, NewSecret { secret }))
}

async fn set_enabled(
    admin: Shared,
    caller: CallerOf,
    login_id: LoginId,
    enabled: bool,
) -> Result<Json<TerminalView>, Problem> {
    let operator = caller.may(ApiScope::Admin)?;
    let Path(login_id) = login_id?;
    let accounts = &admin.handles.accounts;
    accounts
        .set_terminal_enabled(&operator, login_id.trim(), enabled)
        .await?;
    let terminal = accounts.terminal(login_id.trim()).await?;
    Ok(Json(TerminalView::from(&terminal)))
}

/// Declares the enable or disable endpoint with its OpenAPI description.
macro_rules! enabled_endpoint {
    ($name:ident, $enabled:expr, $path:literal, $summary:literal, $answer:literal) => {
        #[utoipa::path(post, path = $path, summary = $summary,
            params(("login_id" = String, Path, description = "The terminal's login id", example = "sc_user")),
            responses(
                (status = 200, description = $answer, body = TerminalView),
                (status = 400, description = "A bad path", body = ProblemDocument, content_type = "application/problem+json"),
                (status = 401, description = "No known API key", body = ProblemDocument, content_type = "application/problem+json"),
                (status = 403, description = "The key's scope is too small", body = ProblemDocument, content_type = "application/problem+json"),
                (status = 404, description = "No such terminal", body = ProblemDocument, content_type = "application/problem+json"),
                (status = 503, description = "The database is unavailable", body = ProblemDocument, content_type = "application/problem+json"),
            ),
            security(("api_key" = [])))]
        pub(super) async fn $name(
            State(admin): State<Shared>,
            caller: CallerOf,
            login_id: LoginId,
        ) -> Result<Json<TerminalView>, Problem> {
            set_enabled(admin, caller, login_id, $enabled).await
        }
    };
}

enabled_endpoint!(
    enable,
    true,
    "/terminals/{login_id}/enable",
    "Enable a terminal (scope admin)",
    "The terminal, enabled"
);
enabled_endpoint!(
    disable,
    false,
    "/terminals/{login_id}/disable",
    "Disable a terminal; its sessions end on every instance (scope admin)",
    "The terminal, disabled"
);

#[utoipa::path(delete, path = "/terminals/{login_id}", summary = "Remove a terminal (scope admin)",
    params(("login_id" = String, Path, description = "The terminal's login id", example = "sc_user")),
    responses(
        (status = 204, description = "Removed; its sessions end on every instance"),
        (status = 400, description = "A bad path", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No known API key", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "The key's scope is too small", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such terminal", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub(super) async fn remove(
    State(admin): State<Shared>,
    caller: CallerOf,
    login_id: LoginId,
) -> Result<StatusCode, Problem> {
    let operator = caller.may(ApiScope::Admin)?;
    let Path(login_id) = login_id?;
    admin
        .handles
        .accounts
        .remove_terminal(&operator, login_id.trim())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
