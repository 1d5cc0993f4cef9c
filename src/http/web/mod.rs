//! The patron pages: the routes, the state they share, the security headers every response
//! carries, and the steps every request shares (finding the session, refusing a foreign POST,
//! reading a form, the language of each page). The pages themselves: log-in and log-out in
//! [`login`] (its two-factor step in [`two_factor`], with the enrolment under My Account), My
//! Account in [`account`], the PIN and password changes in [`change`]; their
//! words in [`text`] (message ids) and [`i18n`] (the catalogues).
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
mod i18n;
mod login;
mod pages;
mod reset;
mod text;
mod two_factor;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Extension;
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

use super::Handles;
use crate::accounts::web::{SessionToken, WebSession};
use crate::accounts::Accounts;
use crate::config::{Config, WebConfig};
use cookies::{Cookie, Jar};
use form::Form;
use guard::AddressLimiter;
use i18n::{Catalogues, Lang};
use pages::{html, Chrome, LanguageChoice, Link, MessagePage};

pub(crate) use i18n::CatalogueError;

/// The language a page is in, as the language layer chose it (a tag the catalogues know).
#[derive(Debug, Clone)]
pub(crate) struct PageLang(String);

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
    catalogues: Catalogues,
}

type Shared = Arc<Site>;

/// The routes of the patron pages with their layers.
pub(crate) fn router(
    config: &Config,
    origin: &str,
    handles: Handles,
) -> Result<Router, CatalogueError> {
    let web = config.web.clone();
    let catalogues = Catalogues::load(&web)?;
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
        catalogues,
    });
    let body_limit = state.web.max_body_bytes;
    let languages = axum::middleware::from_fn_with_state(state.clone(), language);
    let mut routes = Router::new();
    if config.mail.enabled() {
        routes = routes
            .route(
                "/forgot-pin",
                get(reset::forgot_pin_form).post(reset::forgot_pin_submit),
            )
            .route(
                "/forgot-password",
                get(reset::forgot_password_form).post(reset::forgot_password_submit),
            )
            .route(
                "/reset/{token}",
                get(reset::link_form).post(reset::link_submit),
            );
    }
    Ok(routes
        .route("/", get(root))
        .route("/login", get(login::form).post(login::submit))
        .route(
            "/login/code",
            get(two_factor::code_form).post(two_factor::code_submit),
        )
        .route("/logout", post(login::log_out))
        .route("/two-factor", get(two_factor::page))
        .route("/two-factor/enable", post(two_factor::enable))
        .route(
            "/two-factor/recovery-codes",
            post(two_factor::recovery_codes),
        )
        .route("/two-factor/disable", post(two_factor::disable))
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
        .layer(languages)
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
        .with_state(state))
}

/// The name of the cookie that remembers the language chosen on a page (a preference, not a
/// secret).
const LANGUAGE_COOKIE: &str = "sip2auth-lang";

/// Chooses each request's language: `?lang=` (then remembered in a cookie), the cookie, or
/// Accept-Language.
async fn language(
    State(site): State<Shared>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let asked = request.uri().query().and_then(|query| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("lang="))
            .and_then(|tag| site.catalogues.known(tag))
            .map(str::to_owned)
    });
    let remembered = cookie_value(request.headers(), LANGUAGE_COOKIE)
        .and_then(|tag| site.catalogues.known(tag))
        .map(str::to_owned);
    let accept = request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let chosen = asked.clone().or(remembered);
    let tag = site
        .catalogues
        .negotiate(chosen.as_deref(), accept)
        .tag()
        .to_owned();
    request.extensions_mut().insert(PageLang(tag));
    let mut response = next.run(request).await;
    if let Some(tag) = asked {
        let secure = if site.origin.starts_with("https://") {
            "; Secure"
        } else {
            ""
        };
        let cookie =
            format!("{LANGUAGE_COOKIE}={tag}; Path=/; SameSite=Lax; Max-Age=31536000{secure}");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn header_layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
}

impl Site {
    /// The language of a page.
    fn lang(&self, page: &PageLang) -> Lang<'_> {
        self.catalogues.negotiate(Some(&page.0), None)
    }

    /// The shared frame of a page; the language switch leads to `here` (a page to GET).
    fn chrome(
        &self,
        l: &Lang<'_>,
        title: String,
        session: Option<&WebSession>,
        here: &str,
    ) -> Chrome {
        let languages = self
            .catalogues
            .choices()
            .into_iter()
            .map(|(tag, name)| LanguageChoice {
                href: format!("{here}?lang={tag}"),
                current: tag == l.tag(),
                tag,
                name,
            })
            .collect();
        Chrome {
            lang: l.tag().to_owned(),
            title,
            library: self.library.clone(),
            logo_url: self.web.logo_url.clone(),
            contact: self.web.contact.clone(),
            signed_in: session.is_some(),
            csrf: session
                .map(|s| s.csrf_token().to_owned())
                .unwrap_or_default(),
            log_out: l.t(text::LOG_OUT),
            skip: l.t(text::SKIP),
            languages_label: l.t("languages"),
            languages,
        }
    }

    /// The valid session the request's cookie names, if any.
    async fn session(
        &self,
        l: &Lang<'_>,
        headers: &HeaderMap,
    ) -> Result<Option<WebSession>, Response> {
        let Some(value) = self.jar.read(headers, Cookie::Session) else {
            return Ok(None);
        };
        let token = SessionToken::from_cookie(value);
        self.accounts
            .web_session(&token)
            .await
            .map_err(|err| self.unavailable(l, &err))
    }

    /// A page of text with a status; `title` and `paragraphs` are message ids.
    fn message(
        &self,
        l: &Lang<'_>,
        status: StatusCode,
        title: &str,
        paragraphs: Vec<String>,
        links: Vec<Link>,
        session: Option<&WebSession>,
    ) -> Response {
        let here = if session.is_some() {
            "/account"
        } else {
            "/login"
        };
        let page = MessagePage {
            page: self.chrome(l, l.t(title), session, here),
            paragraphs,
            links,
        };
        html(status, &page)
    }

    /// 503 for a database or hashing failure (logged once, without any secret).
    fn unavailable(&self, l: &Lang<'_>, err: &crate::accounts::Error) -> Response {
        tracing::warn!(error = %err, "web request could not be served");
        let mut response = self.message(
            l,
            StatusCode::SERVICE_UNAVAILABLE,
            text::UNAVAILABLE_TITLE,
            vec![l.t(text::UNAVAILABLE)],
            Vec::new(),
            None,
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        response
    }

    fn bad_request(&self, l: &Lang<'_>, reason: &str) -> Response {
        self.message(
            l,
            StatusCode::BAD_REQUEST,
            text::BAD_REQUEST_TITLE,
            vec![l.t(reason)],
            Vec::new(),
            None,
        )
    }

    fn forbidden(&self, l: &Lang<'_>) -> Response {
        self.message(
            l,
            StatusCode::FORBIDDEN,
            text::FORBIDDEN_TITLE,
            vec![l.t(text::FORBIDDEN)],
            Vec::new(),
            None,
        )
    }

    /// 429 with Retry-After.
    fn too_many(&self, l: &Lang<'_>, wait: chrono::Duration) -> Response {
        let seconds = wait.num_seconds().max(1);
        let mut response = self.message(
            l,
            StatusCode::TOO_MANY_REQUESTS,
            text::TOO_MANY_TITLE,
            vec![text::retry_in(l, seconds)],
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
        l: &Lang<'_>,
        headers: &HeaderMap,
        body: Result<Bytes, BytesRejection>,
    ) -> Result<Form, Response> {
        let body = body.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                self.message(
                    l,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    text::TOO_LARGE_TITLE,
                    vec![l.t(text::TOO_LARGE)],
                    Vec::new(),
                    None,
                )
            } else {
                self.bad_request(l, text::BAD_FORM)
            }
        })?;
        if !guard::same_origin(headers, &self.origin) {
            return Err(self.forbidden(l));
        }
        Form::parse(&body).map_err(|_| self.bad_request(l, text::BAD_FORM))
    }

    /// A form posted by a page without a session (log-in, its code step, the reset pages): read
    /// as [`posted`](Self::posted), then its token checked against the log-in form's cookie.
    fn posted_before_log_in(
        &self,
        l: &Lang<'_>,
        headers: &HeaderMap,
        body: Result<Bytes, BytesRejection>,
    ) -> Result<Form, Response> {
        let form = self.posted(l, headers, body)?;
        let expected = self.jar.read(headers, Cookie::LoginForm).unwrap_or("");
        if !guard::csrf_matches(form.text("csrf").unwrap_or(""), expected) {
            return Err(self.forbidden(l));
        }
        Ok(form)
    }

    /// A session's POST: the form, after the CSRF token matched the session's.
    fn session_form(
        &self,
        l: &Lang<'_>,
        session: &WebSession,
        headers: &HeaderMap,
        body: Result<Bytes, BytesRejection>,
    ) -> Result<Form, Response> {
        let form = self.posted(l, headers, body)?;
        let sent = form.text("csrf").map_err(|_| self.forbidden(l))?;
        if !guard::csrf_matches(sent, session.csrf_token()) {
            return Err(self.forbidden(l));
        }
        Ok(form)
    }

    /// Where a session must go first: its forced change page, or the two-factor enrolment its
    /// patron class requires, if it has one.
    fn forced_change(&self, session: &WebSession) -> Option<Response> {
        let to = self.first_page(session);
        (to != "/account").then(|| Redirect::to(to).into_response())
    }

    /// The first page of a session: a temporary credential's change page, then a required
    /// two-factor enrolment, then My Account.
    fn first_page(&self, session: &WebSession) -> &'static str {
        use crate::accounts::web::CredentialKind;
        match session.must_change() {
            Some(CredentialKind::Pin) => "/change-pin",
            Some(CredentialKind::Password) => "/change-password",
            None if session.must_enrol() => "/two-factor",
            None => "/account",
        }
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

async fn root(
    State(state): State<Shared>,
    Extension(page): Extension<PageLang>,
    headers: HeaderMap,
) -> Response {
    let l = state.lang(&page);
    match state.session(&l, &headers).await {
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

async fn not_found(State(state): State<Shared>, Extension(page): Extension<PageLang>) -> Response {
    let l = state.lang(&page);
    state.message(
        &l,
        StatusCode::NOT_FOUND,
        text::NOT_FOUND_TITLE,
        vec![l.t(text::NOT_FOUND)],
        vec![Link {
            href: "/account",
            text: l.t(text::BACK_TO_START),
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
