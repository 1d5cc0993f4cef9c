//! `/api/v1/terminals` (scope `read`): every terminal, and one by login id, with its settings
//! as `sip2auth terminal show` prints them. Never a secret or its hash.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::problem::{Problem, ProblemDocument};
use super::{CallerOf, Shared};
use crate::accounts::api_key::ApiScope;
use crate::auth::Terminal;

/// A terminal and its settings.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct TerminalView {
    login_id: String,
    institution: String,
    location_code: Option<String>,
    enabled: bool,
    /// Whether a secret is set (login-free terminals have none).
    has_secret: bool,
    /// Networks it may connect from; empty: any.
    allowed_cidrs: Vec<String>,
    login_optional: bool,
    patron_credential: String,
    /// SIP2 command codes it may send; empty: all.
    allowed_messages: String,
    patron_detail: String,
    charset: String,
    terminator: String,
    error_detection: String,
    /// RFC 3339.
    created_at: String,
    updated_at: String,
}

impl From<&Terminal> for TerminalView {
    fn from(t: &Terminal) -> TerminalView {
        let s = &t.settings;
        TerminalView {
            login_id: t.login_id.clone(),
            institution: s.institution.clone(),
            location_code: s.location_code.clone(),
            enabled: s.enabled,
            has_secret: t.password.is_some(),
            allowed_cidrs: s.allowed_cidrs.iter().map(ToString::to_string).collect(),
            login_optional: s.login_optional,
            patron_credential: s.patron_credential.to_string(),
            allowed_messages: s.allowed_messages.to_string(),
            patron_detail: s.patron_detail.to_string(),
            charset: s.charset.to_string(),
            terminator: s.terminator.to_string(),
            error_detection: s.error_detection.to_string(),
            created_at: t.created_at.to_rfc3339(),
            updated_at: t.updated_at.to_rfc3339(),
        }
    }
}

#[utoipa::path(get, path = "/terminals", summary = "Every terminal (scope read)",
    responses(
        (status = 200, description = "The terminals, by login id", body = Vec<TerminalView>),
        (status = 401, description = "No known API key", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub(super) async fn list(
    State(admin): State<Shared>,
    caller: CallerOf,
) -> Result<Json<Vec<TerminalView>>, Problem> {
    caller.may(ApiScope::Read)?;
    let terminals = admin.handles.accounts.terminals().await?;
    Ok(Json(terminals.iter().map(TerminalView::from).collect()))
}

#[utoipa::path(get, path = "/terminals/{login_id}", summary = "One terminal (scope read)",
    params(("login_id" = String, Path, description = "The terminal's login id", example = "sc_user")),
    responses(
        (status = 200, description = "The terminal", body = TerminalView),
        (status = 400, description = "A bad path", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No known API key", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such terminal", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub(super) async fn show(
    State(admin): State<Shared>,
    caller: CallerOf,
    login_id: Result<Path<String>, PathRejection>,
) -> Result<Json<TerminalView>, Problem> {
    caller.may(ApiScope::Read)?;
    let Path(login_id) = login_id?;
    let terminal = admin.handles.accounts.terminal(login_id.trim()).await?;
    Ok(Json(TerminalView::from(&terminal)))
}
