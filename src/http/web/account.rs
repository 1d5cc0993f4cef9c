//! My Account and "sign out everywhere else". A request without a valid session goes to the
//! log-in page (saying the session ended when a cookie named one); a session that must change
//! its temporary credential goes to that change page and nowhere else.
//!
//! Uses `accounts` (the account view, sessions); must not import `store`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::header::{self, HeaderMap};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::cookies::Cookie;
use super::pages::{html, AccountLabels, AccountPage};
use super::{text, Shared, Site};
use crate::accounts::web::{AccountView, SessionSummary, WebSession};

/// Notices My Account may be sent to show.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AccountQuery {
    changed: Option<String>,
    ended: Option<String>,
}

impl Site {
    /// The valid session of a page request, or where to send the browser instead.
    pub(super) async fn require_session(
        &self,
        headers: &HeaderMap,
    ) -> Result<WebSession, Response> {
        match self.session(headers).await? {
            Some(session) => Ok(session),
            None if self.jar.read(headers, Cookie::Session).is_some() => {
                let mut response = Redirect::to("/login?ended=1").into_response();
                response
                    .headers_mut()
                    .append(header::SET_COOKIE, self.jar.clear(Cookie::Session));
                Err(response)
            }
            None => Err(Redirect::to("/login").into_response()),
        }
    }

    fn account_page(
        &self,
        session: &WebSession,
        view: AccountView,
        notices: Vec<String>,
    ) -> Response {
        let fine_limit = match view.fine_limit {
            Some(limit) => format!("{limit} {}", view.currency),
            None => text::NO_LIMIT.into(),
        };
        let page = AccountPage {
            page: self.chrome(text::MY_ACCOUNT, Some(session)),
            labels: AccountLabels::english(),
            notices,
            name: view.name,
            card: view.masked_card,
            expires: view.expires_on.map_or(text::NO_EXPIRY.into(), text::date),
            standing: view.standing.iter().map(text::standing).collect(),
            fines: format!("{} {}", view.fines, view.currency),
            fine_limit,
            pin_state: text::credential_state(text::PIN, view.pin),
            password_state: text::credential_state(text::PASSWORD, view.password),
            difference: text::DIFFERENCE,
            sessions: view.sessions.iter().map(session_line).collect(),
        };
        html(StatusCode::OK, &page)
    }
}

fn session_line(summary: &SessionSummary) -> String {
    let current = if summary.current {
        format!(" ({})", text::THIS_SESSION)
    } else {
        String::new()
    };
    format!(
        "{}{current}: {} {}, {} {}",
        summary.user_agent,
        text::STARTED,
        text::time(summary.started),
        text::LAST_USED,
        text::time(summary.last_seen)
    )
}

/// GET /account.
pub(crate) async fn page(
    State(site): State<Shared>,
    Query(query): Query<AccountQuery>,
    headers: HeaderMap,
) -> Response {
    let session = match site.require_session(&headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    if let Some(response) = site.forced_change(&session) {
        return response;
    }
    let view = match site.accounts.web_account(&session).await {
        Ok(view) => view,
        Err(err) => return site.unavailable(&err),
    };
    let mut notices = Vec::new();
    match query.changed.as_deref() {
        Some("pin") => notices.push(text::CHANGED_PIN.to_owned()),
        Some("password") => notices.push(text::CHANGED_PASSWORD.to_owned()),
        _ => {}
    }
    if query.ended.is_some() {
        notices.push(text::SIGNED_OUT_OTHERS.to_owned());
    }
    site.account_page(&session, view, notices)
}

/// POST /sessions/end-others: "sign out everywhere else".
pub(crate) async fn end_others(
    State(site): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let session = match site.require_session(&headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    if let Some(response) = site.forced_change(&session) {
        return response;
    }
    if let Err(response) = site.session_form(&session, &headers, body) {
        return response;
    }
    match site.accounts.end_other_web_sessions(&session).await {
        Ok(_) => Redirect::to("/account?ended=1").into_response(),
        Err(err) => site.unavailable(&err),
    }
}
