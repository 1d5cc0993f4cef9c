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
use axum::Extension;
use serde::Deserialize;

use super::cookies::Cookie;
use super::i18n::Lang;
use super::pages::{html, AccountLabels, AccountPage};
use super::{text, PageLang, Shared, Site};
use crate::accounts::web::{AccountView, SessionSummary, TwoFactorState, WebSession};

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
        l: &Lang<'_>,
        headers: &HeaderMap,
    ) -> Result<WebSession, Response> {
        match self.session(l, headers).await? {
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
        l: &Lang<'_>,
        session: &WebSession,
        view: AccountView,
        two_factor: TwoFactorState,
        notices: Vec<String>,
    ) -> Response {
        let fine_limit = match view.fine_limit {
            Some(limit) => format!("{limit} {}", view.currency),
            None => l.t(text::NO_LIMIT),
        };
        let page = AccountPage {
            page: self.chrome(l, l.t(text::MY_ACCOUNT), Some(session), "/account"),
            labels: AccountLabels::new(l),
            notices,
            name: view.name,
            card: view.masked_card,
            expires: view.expires_on.map_or(l.t(text::NO_EXPIRY), text::date),
            standing: view.standing.iter().map(|n| text::standing(l, n)).collect(),
            fines: format!("{} {}", view.fines, view.currency),
            fine_limit,
            pin_state: text::credential_state(l, text::PIN, view.pin),
            password_state: text::credential_state(l, text::PASSWORD, view.password),
            two_factor_state: text::two_factor_state(l, two_factor),
            difference: l.t(text::DIFFERENCE),
            sessions: view.sessions.iter().map(|s| session_line(l, s)).collect(),
        };
        html(StatusCode::OK, &page)
    }
}

fn session_line(l: &Lang<'_>, summary: &SessionSummary) -> String {
    use fluent_bundle::FluentValue;
    let current = if summary.current {
        l.t("this-session-mark")
    } else {
        String::new()
    };
    l.t_with(
        "session-line",
        &[
            ("agent", FluentValue::from(summary.user_agent.clone())),
            ("current", FluentValue::from(current)),
            ("started", FluentValue::from(text::time(summary.started))),
            ("last", FluentValue::from(text::time(summary.last_seen))),
        ],
    )
}

/// GET /account.
pub(crate) async fn page(
    State(site): State<Shared>,
    Extension(page): Extension<PageLang>,
    Query(query): Query<AccountQuery>,
    headers: HeaderMap,
) -> Response {
    let l = site.lang(&page);
    let session = match site.require_session(&l, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    if let Some(response) = site.forced_change(&session) {
        return response;
    }
    let view = match site.accounts.web_account(&session).await {
        Ok(view) => view,
        Err(err) => return site.unavailable(&l, &err),
    };
    let two_factor = match site.accounts.two_factor_state(&session).await {
        Ok((state, _)) => state,
        Err(err) => return site.unavailable(&l, &err),
    };
    let mut notices = Vec::new();
    match query.changed.as_deref() {
        Some("pin") => notices.push(l.t(text::CHANGED_PIN)),
        Some("password") => notices.push(l.t(text::CHANGED_PASSWORD)),
        Some("two-factor-off") => notices.push(l.t(text::DISABLED)),
        _ => {}
    }
    if query.ended.is_some() {
        notices.push(l.t(text::SIGNED_OUT_OTHERS));
    }
    site.account_page(&l, &session, view, two_factor, notices)
}

/// POST /sessions/end-others: "sign out everywhere else".
pub(crate) async fn end_others(
    State(site): State<Shared>,
    Extension(page): Extension<PageLang>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let l = site.lang(&page);
    let session = match site.require_session(&l, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    if let Some(response) = site.forced_change(&session) {
        return response;
    }
    if let Err(response) = site.session_form(&l, &session, &headers, body) {
        return response;
    }
    match site.accounts.end_other_web_sessions(&session).await {
        Ok(_) => Redirect::to("/account?ended=1").into_response(),
        Err(err) => site.unavailable(&l, &err),
    }
}
