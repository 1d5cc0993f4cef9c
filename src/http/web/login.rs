//! Log-in and log-out. The log-in form carries a CSRF token that is also in a cookie (there is
//! no session yet); its POST is limited per client address here (memory) and per card in
//! `accounts` (database). One neutral message for an unknown card, a wrong secret and no secret
//! on file; a lock names the time it lifts. A successful log-in always starts a new session id.
//!
//! Uses `accounts` (log-in, sessions) and `auth`'s card check; must not import `store`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::header::{self, HeaderMap};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::cookies::Cookie;
use super::i18n::Lang;
use super::pages::{html, Field, FormPage, Link};
use super::{text, user_agent, PageLang, Shared, Site};
use crate::accounts::web::{random_token, LogInOutcome, LogInRefusal};
use crate::config::WebLogin;
use crate::http::listener::ClientAddr;

/// Notices the log-in page may be sent to show.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LoginQuery {
    /// The session ended by itself (idle or too old).
    ended: Option<String>,
}

/// What the log-in form shows again after a refusal.
#[derive(Default)]
struct Shown<'a> {
    card: &'a str,
    card_error: Option<&'static str>,
    secret_error: Option<&'static str>,
    notice: Option<&'static str>,
}

impl Site {
    pub(super) fn secret_field(&self, l: &Lang<'_>) -> Field {
        let (label, numeric) = match self.web.login_with {
            WebLogin::Pin => (text::PIN, true),
            WebLogin::Password => (text::PASSWORD, false),
            WebLogin::Either => (text::EITHER, false),
        };
        Field::secret(
            "secret",
            l.t(label),
            String::new(),
            "current-password",
            numeric,
        )
    }

    fn login_page(
        &self,
        l: &Lang<'_>,
        status: StatusCode,
        csrf: &str,
        shown: Shown<'_>,
    ) -> Response {
        let mut card = Field::card(l, shown.card, false);
        if let Some(error) = shown.card_error {
            card = card.with_error(l.t(error));
        }
        let mut secret = self.secret_field(l);
        if let Some(error) = shown.secret_error {
            secret = secret.with_error(l.t(error));
        }
        let mut page = FormPage::new(
            l,
            self.chrome(l, l.t(text::LOG_IN), None, "/login"),
            "/login",
            csrf,
            vec![card, secret],
        );
        page.notices.extend(shown.notice.map(|id| l.t(id)));
        page.links.extend(self.forgot_links(l));
        if self.web.login_with == WebLogin::Either {
            page.after.push(l.t(text::DIFFERENCE));
        }
        if !self.web.help_text.is_empty() {
            page.after.push(self.web.help_text.clone());
        }
        let mut response = html(status, &page);
        response
            .headers_mut()
            .append(header::SET_COOKIE, self.jar.set(Cookie::LoginForm, csrf));
        response
    }

    pub(super) fn locked_page(
        &self,
        l: &Lang<'_>,
        until: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Response {
        let first = match until {
            Some(until) => text::locked_until(l, until),
            None => l.t(text::LOCKED_RESET),
        };
        self.message(
            l,
            StatusCode::OK,
            text::LOCKED_TITLE,
            vec![first, l.t(text::LOCK_HELP)],
            vec![Link {
                href: "/login",
                text: l.t(text::LOG_IN),
            }],
            None,
        )
    }
}

/// GET /login: the form (or My Account when already logged in).
pub(crate) async fn form(
    State(site): State<Shared>,
    Extension(page): Extension<PageLang>,
    Query(query): Query<LoginQuery>,
    headers: HeaderMap,
) -> Response {
    let l = site.lang(&page);
    match site.session(&l, &headers).await {
        Ok(Some(_)) => return Redirect::to("/account").into_response(),
        Ok(None) => {}
        Err(response) => return response,
    }
    let csrf = site
        .jar
        .read(&headers, Cookie::LoginForm)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .map_or_else(random_token, str::to_owned);
    let notice = query.ended.is_some().then_some(text::SESSION_ENDED);
    site.login_page(
        &l,
        StatusCode::OK,
        &csrf,
        Shown {
            notice,
            ..Shown::default()
        },
    )
}

/// POST /login.
pub(crate) async fn submit(
    State(site): State<Shared>,
    Extension(page): Extension<PageLang>,
    ConnectInfo(ClientAddr(peer)): ConnectInfo<ClientAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let l = site.lang(&page);
    let form = match site.posted_before_log_in(&l, &headers, body) {
        Ok(form) => form,
        Err(response) => return response,
    };
    // The checked token, for a page shown again.
    let expected = form.text("csrf").unwrap_or("");
    let (Ok(card), Ok(secret)) = (form.text("card"), form.secret("secret")) else {
        return site.bad_request(&l, text::BAD_FORM);
    };
    let card = card.trim();
    if !card.is_empty() && crate::accounts::import::check_card(card).is_err() {
        return site.bad_request(&l, text::BAD_CARD);
    }
    if card.is_empty() || secret.expose_secret().is_empty() {
        let shown = Shown {
            card,
            card_error: card.is_empty().then_some(text::ENTER_CARD),
            secret_error: secret
                .expose_secret()
                .is_empty()
                .then_some(text::ENTER_SECRET),
            notice: None,
        };
        return site.login_page(&l, StatusCode::OK, expected, shown);
    }
    if let Err(wait) = site.addresses.count(peer.ip()) {
        return site.too_many(&l, wait);
    }
    let outcome = match site
        .accounts
        .web_log_in(card, secret, user_agent(&headers))
        .await
    {
        Ok(outcome) => outcome,
        Err(err) => return site.unavailable(&l, &err),
    };
    match outcome {
        LogInOutcome::SecondStep { token } => {
            // The log-in form's CSRF cookie stays: the code form carries the same token.
            let mut response = Redirect::to("/login/code").into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                site.jar.set(Cookie::HalfLogin, token.expose()),
            );
            response
        }
        LogInOutcome::LoggedIn { token, session } => {
            let to = site.first_page(&session);
            let mut response = site.with_session_cookie(Redirect::to(to).into_response(), &token);
            response
                .headers_mut()
                .append(header::SET_COOKIE, site.jar.clear(Cookie::LoginForm));
            response
        }
        LogInOutcome::Refused(refusal) => refused(&site, &l, expected, card, refusal),
    }
}

fn refused(site: &Site, l: &Lang<'_>, csrf: &str, card: &str, refusal: LogInRefusal) -> Response {
    let shown = |error: &'static str| Shown {
        card,
        secret_error: Some(error),
        ..Shown::default()
    };
    match refusal {
        LogInRefusal::Neutral => site.login_page(l, StatusCode::OK, csrf, shown(text::NEUTRAL)),
        LogInRefusal::NothingTyped => {
            site.login_page(l, StatusCode::OK, csrf, shown(text::ENTER_SECRET))
        }
        LogInRefusal::TemporaryExpired => {
            site.login_page(l, StatusCode::OK, csrf, shown(text::TEMPORARY_EXPIRED))
        }
        LogInRefusal::ResetRequired => {
            site.login_page(l, StatusCode::OK, csrf, shown(text::RESET_REQUIRED))
        }
        LogInRefusal::Locked { until } => site.locked_page(l, until),
        LogInRefusal::TooMany { retry_after } => site.too_many(l, retry_after),
        LogInRefusal::Busy => {
            let mut response = site.message(
                l,
                StatusCode::SERVICE_UNAVAILABLE,
                text::BUSY_TITLE,
                vec![l.t(text::BUSY)],
                Vec::new(),
                None,
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
            response
        }
    }
}

/// POST /logout: ends the session and says so.
pub(crate) async fn log_out(
    State(site): State<Shared>,
    Extension(page): Extension<PageLang>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let l = site.lang(&page);
    let session = match site.session(&l, &headers).await {
        Ok(Some(session)) => session,
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(response) => return response,
    };
    if let Err(response) = site.session_form(&l, &session, &headers, body) {
        return response;
    }
    if let Err(err) = site.accounts.end_web_session(&session).await {
        return site.unavailable(&l, &err);
    }
    let mut response = site.message(
        &l,
        StatusCode::OK,
        text::LOGGED_OUT_TITLE,
        vec![l.t(text::LOGGED_OUT)],
        vec![Link {
            href: "/login",
            text: l.t(text::LOG_IN_AGAIN),
        }],
        None,
    );
    response
        .headers_mut()
        .append(header::SET_COOKIE, site.jar.clear(Cookie::Session));
    response
}
