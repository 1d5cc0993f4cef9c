//! The patron pages: the routes, the state they share, the security headers every response
//! carries, and the steps every request shares (finding the session, refusing a foreign POST,
//! reading a form). The pages themselves: log-in and log-out in [`login`], My Account in
//! [`account`], the PIN and password changes in [`change`].
//!
//! Uses `accounts` (sessions, log-in, changes, My Account), `auth` value types, `config` and
//! `clock`. Must not import `store`, `server` or `sip2`.

// A refusal is the response itself (a page), returned early by the shared steps; it is built
// once per request, so its size does not matter.
#![allow(clippy::result_large_err)]

mod account;
mod change;
mod cookies;
mod form;
mod guard;
mod login;
mod pages;
mod text;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

use super::Handles;
use crate::accounts::web::{SessionToken, WebSession};
use crate::accounts::Accounts;
use crate::config::{Config, WebConfig};
use cookies::{Cookie, Jar};
use form::Form;
use guard::AddressLimiter;
use pages::{html, Chrome, Link, MessagePage};

/// The policy of every response: no inline script or style, nothing from elsewhere but the
/// library's logo, never framed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' https:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLE_CSS: &str = include_str!("../assets/style.css");
const REVEAL_JS: &str = include_str!("../assets/reveal.js");

/// What every handler shares.
pub(crate) struct Site {
    accounts: Accounts,
    web: WebConfig,
    library: String,
    origin: String,
    jar: Jar,
    addresses: AddressLimiter,
    theme_css: String,
}

type Shared = Arc<Site>;

/// The routes of the patron pages with their layers.
pub(crate) fn router(config: &Config, origin: &str, handles: Handles) -> Router {
    let web = config.web.clone();
    let library = if web.library_name.is_empty() {
        config.server.library_name.clone()
    } else {
        web.library_name.clone()
    };
    let state = Arc::new(Site {
        accounts: handles.accounts,
        addresses: AddressLimiter::new(
            web.login_attempts_per_address,
            web.login_rate_window,
            handles.clock,
        ),
        theme_css: format!(":root {{ --accent: {}; }}\n", web.accent_colour),
        jar: Jar::new(origin),
        origin: origin.to_owned(),
        library,
        web,
    });
    let body_limit = state.web.max_body_bytes;
    Router::new()
        .route("/", get(root))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::log_out))
        .route("/account", get(account::page))
        .route("/sessions/end-others", post(account::end_others))
        .route(
            "/change-pin",
            get(change::pin_form).post(change::pin_submit),
        )
        .route(
            "/change-password",
            get(change::password_form).post(change::password_submit),
        )
        .route("/.well-known/change-password", get(well_known_change))
        .route("/assets/style.css", get(style))
        .route("/assets/theme.css", get(theme))
        .route("/assets/reveal.js", get(reveal))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(header_layer(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        ))
        .layer(header_layer(header::REFERRER_POLICY, "no-referrer"))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ))
        .with_state(state)
}

fn header_layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
}

impl Site {
    /// The shared frame of a page.
    fn chrome(&self, title: impl Into<String>, session: Option<&WebSession>) -> Chrome {
        Chrome {
            lang: "en",
            title: title.into(),
            library: self.library.clone(),
            logo_url: self.web.logo_url.clone(),
            contact: self.web.contact.clone(),
            signed_in: session.is_some(),
            csrf: session
                .map(|s| s.csrf_token().to_owned())
                .unwrap_or_default(),
            log_out: text::LOG_OUT,
            skip: text::SKIP,
        }
    }

    /// The valid session the request's cookie names, if any.
    async fn session(&self, headers: &HeaderMap) -> Result<Option<WebSession>, Response> {
        let Some(value) = self.jar.read(headers, Cookie::Session) else {
            return Ok(None);
        };
        let token = SessionToken::from_cookie(value);
        self.accounts
            .web_session(&token)
            .await
            .map_err(|err| self.unavailable(&err))
    }

    /// A page of text with a status.
    fn message(
        &self,
        status: StatusCode,
        title: &str,
        paragraphs: Vec<String>,
        links: Vec<Link>,
        session: Option<&WebSession>,
    ) -> Response {
        let page = MessagePage {
            page: self.chrome(title, session),
            paragraphs,
            links,
        };
        html(status, &page)
    }

    /// 503 for a database or hashing failure (logged once, without any secret).
    fn unavailable(&self, err: &crate::accounts::Error) -> Response {
        tracing::warn!(error = %err, "web request could not be served");
        let mut response = self.message(
            StatusCode::SERVICE_UNAVAILABLE,
            text::UNAVAILABLE_TITLE,
            vec![text::UNAVAILABLE.into()],
            Vec::new(),
            None,
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        response
    }

    fn bad_request(&self, reason: &str) -> Response {
        self.message(
            StatusCode::BAD_REQUEST,
            text::BAD_REQUEST_TITLE,
            vec![reason.into()],
            Vec::new(),
            None,
        )
    }

    fn forbidden(&self) -> Response {
        self.message(
            StatusCode::FORBIDDEN,
            text::FORBIDDEN_TITLE,
            vec![text::FORBIDDEN.into()],
            Vec::new(),
            None,
        )
    }

    /// 429 with Retry-After.
    fn too_many(&self, wait: chrono::Duration) -> Response {
        let seconds = wait.num_seconds().max(1);
        let mut response = self.message(
            StatusCode::TOO_MANY_REQUESTS,
            text::TOO_MANY_TITLE,
            vec![text::retry_in(seconds)],
            Vec::new(),
            None,
        );
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }

    /// The checks of every POST before its form is read: body size, origin, form syntax.
    fn posted(
        &self,
        headers: &HeaderMap,
        body: Result<Bytes, BytesRejection>,
    ) -> Result<Form, Response> {
        let body = body.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                self.message(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    text::TOO_LARGE_TITLE,
                    vec![text::TOO_LARGE.into()],
                    Vec::new(),
                    None,
                )
            } else {
                self.bad_request(text::BAD_FORM)
            }
        })?;
        if !guard::same_origin(headers, &self.origin) {
            return Err(self.forbidden());
        }
        Form::parse(&body).map_err(|_| self.bad_request(text::BAD_FORM))
    }

    /// A session's POST: the form, after the CSRF token matched the session's.
    fn session_form(
        &self,
        session: &WebSession,
        headers: &HeaderMap,
        body: Result<Bytes, BytesRejection>,
    ) -> Result<Form, Response> {
        let form = self.posted(headers, body)?;
        let sent = form.text("csrf").map_err(|_| self.forbidden())?;
        if !guard::csrf_matches(sent, session.csrf_token()) {
            return Err(self.forbidden());
        }
        Ok(form)
    }

    /// Where a session must go first: its forced change page, if it has one.
    fn forced_change(&self, session: &WebSession) -> Option<Response> {
        use crate::accounts::web::CredentialKind;
        session.must_change().map(|kind| {
            let to = match kind {
                CredentialKind::Pin => "/change-pin",
                CredentialKind::Password => "/change-password",
            };
            Redirect::to(to).into_response()
        })
    }

    /// The session cookie set to a new session's token.
    fn with_session_cookie(&self, mut response: Response, token: &SessionToken) -> Response {
        response.headers_mut().append(
            header::SET_COOKIE,
            self.jar.set(Cookie::Session, token.expose()),
        );
        response
    }
}

/// The browser's own description, kept with a session so My Account can list it.
fn user_agent(headers: &HeaderMap) -> &str {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(text::UNKNOWN_BROWSER)
}

async fn root(State(state): State<Shared>, headers: HeaderMap) -> Response {
    match state.session(&headers).await {
        Ok(Some(_)) => Redirect::to("/account").into_response(),
        Ok(None) => Redirect::to("/login").into_response(),
        Err(response) => response,
    }
}

/// `/.well-known/change-password`: the page that changes what this site logs in with.
async fn well_known_change(State(state): State<Shared>) -> Redirect {
    match state.web.login_with {
        crate::config::WebLogin::Pin => Redirect::to("/change-pin"),
        _ => Redirect::to("/change-password"),
    }
}

async fn not_found(State(state): State<Shared>) -> Response {
    state.message(
        StatusCode::NOT_FOUND,
        text::NOT_FOUND_TITLE,
        vec![text::NOT_FOUND.into()],
        vec![Link {
            href: "/account",
            text: text::BACK_TO_START,
        }],
        None,
    )
}

fn asset(content_type: &'static str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE_CSS.to_owned())
}

async fn reveal() -> Response {
    asset("text/javascript; charset=utf-8", REVEAL_JS.to_owned())
}

async fn theme(State(state): State<Shared>) -> Response {
    asset("text/css; charset=utf-8", state.theme_css.clone())
}
