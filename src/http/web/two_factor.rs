//! Two-step log-in on the patron pages: the code page of a half-done log-in (`/login/code`,
//! its own cookie and the log-in form's CSRF token; no session exists before the code), and
//! under My Account the enrolment page (QR code drawn here as SVG, the key as text, the first
//! code), the recovery codes shown once, new codes, and turning it off (PIN or password and a
//! current code).
//!
//! Uses `accounts` (two-factor, sessions); must not import `store`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::header::{self, HeaderMap};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use secrecy::ExposeSecret;

use super::cookies::Cookie;
use super::i18n::Lang;
use super::pages::{html, Field, FormPage, Link, SmallForm, TwoFactorPage};
use super::{text, user_agent, PageLang, Shared, Site};
use crate::accounts::web::{
    ConfirmOutcome, DisableOutcome, Enrolment, RecoveryCodes, SecondStepOutcome, SessionToken,
    TwoFactorState, WebSession,
};
use crate::http::listener::ClientAddr;

/// The enrolment URL as an inline SVG QR code (with its accessible name); empty if it cannot be
/// drawn.
fn qr_svg(url: &str, label: &str) -> String {
    use qrcode::render::svg;
    let Ok(code) = qrcode::QrCode::new(url.as_bytes()) else {
        return String::new();
    };
    let drawn = code
        .render::<svg::Color<'_>>()
        .min_dimensions(220, 220)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    let body = drawn.find("<svg").map_or("", |start| &drawn[start..]);
    // The label is ours (a catalogue text); escape it all the same, it goes into an attribute.
    let label = label
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    body.replacen(
        "<svg",
        &format!("<svg role=\"img\" aria-label=\"{label}\""),
        1,
    )
}

/// The key grouped by four characters, as authenticator apps show it.
fn grouped(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    chars
        .chunks(4)
        .map(|chunk| chunk.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

impl Site {
    fn code_field(&self, l: &Lang<'_>, error: Option<&'static str>, recovery: bool) -> Field {
        let hint = if recovery {
            l.t(text::CODE_HINT)
        } else {
            String::new()
        };
        let field = Field::code(l.t(text::CODE_LABEL), hint, recovery);
        match error {
            Some(id) => field.with_error(l.t(id)),
            None => field,
        }
    }

    fn code_page(&self, l: &Lang<'_>, csrf: &str, error: Option<&'static str>) -> Response {
        let mut page = FormPage::new(
            l,
            self.chrome(l, l.t(text::CODE_TITLE), None, "/login/code"),
            "/login/code",
            csrf,
            vec![self.code_field(l, error, true)],
        );
        page.notices.push(l.t(text::CODE_INTRO));
        html(StatusCode::OK, &page)
    }

    fn two_factor_chrome(&self, l: &Lang<'_>, session: &WebSession) -> TwoFactorPage {
        TwoFactorPage::new(
            l,
            self.chrome(l, l.t(text::TWO_FACTOR), Some(session), "/two-factor"),
            session.csrf_token(),
        )
    }

    fn enrol_page(
        &self,
        l: &Lang<'_>,
        session: &WebSession,
        enrolment: &Enrolment,
        error: Option<&'static str>,
    ) -> Response {
        let mut page = self.two_factor_chrome(l, session).with_form(SmallForm {
            heading: l.t(text::CONFIRM_CODE),
            action: "/two-factor/enable",
            id: "enable",
            fields: vec![self.code_field(l, error, false)],
            submit: l.t(text::CONFIRM_CODE),
        });
        if session.must_enrol() {
            page.notices.push(l.t(text::ENROL_REQUIRED));
        } else {
            page.links.push(Link {
                href: "/account",
                text: l.t(text::BACK_TO_START),
            });
        }
        page.intro = vec![l.t(text::ENROL_INTRO), l.t(text::ENROL_STEPS)];
        page.qr_svg = qr_svg(&enrolment.url, &l.t(text::QR_LABEL));
        page.secret_label = l.t(text::SECRET_LABEL);
        page.secret = grouped(&enrolment.secret);
        html(StatusCode::OK, &page)
    }

    fn codes_page(
        &self,
        l: &Lang<'_>,
        session: &WebSession,
        notice: &'static str,
        codes: RecoveryCodes,
    ) -> Response {
        let mut page = self.two_factor_chrome(l, session);
        page.notices.push(l.t(notice));
        page.codes_title = l.t(text::CODES_TITLE);
        page.intro.push(l.t(text::CODES_ONCE));
        page.codes = codes.0.iter().map(|code| code.to_string()).collect();
        page.links.push(Link {
            href: "/account",
            text: l.t(text::BACK_TO_START),
        });
        html(StatusCode::OK, &page)
    }

    fn manage_page(
        &self,
        l: &Lang<'_>,
        session: &WebSession,
        state: TwoFactorState,
        required: bool,
        errors: (Option<String>, Option<&'static str>),
    ) -> Response {
        let mut page = self.two_factor_chrome(l, session).with_form(SmallForm {
            heading: l.t(text::NEW_CODES),
            action: "/two-factor/recovery-codes",
            id: "new-codes",
            fields: Vec::new(),
            submit: l.t(text::NEW_CODES),
        });
        page.intro.push(text::two_factor_state(l, state));
        page.intro.push(l.t(text::NEW_CODES_HINT));
        if required {
            page.notices.push(l.t(text::REQUIRED_NO_DISABLE));
        } else {
            let mut secret = self.secret_field(l);
            if let Some(error) = errors.0 {
                secret = secret.with_error(error);
            }
            let mut code = self.code_field(l, errors.1, false);
            code.hint = String::new();
            page = page.with_form(SmallForm {
                heading: l.t(text::DISABLE),
                action: "/two-factor/disable",
                id: "disable",
                fields: vec![secret, code],
                submit: l.t(text::DISABLE),
            });
        }
        page.links.push(Link {
            href: "/account",
            text: l.t(text::BACK_TO_START),
        });
        html(StatusCode::OK, &page)
    }

    /// The session of a two-factor page: one that must change a temporary credential goes
    /// there first.
    async fn two_factor_session(
        &self,
        l: &Lang<'_>,
        headers: &HeaderMap,
    ) -> Result<WebSession, Response> {
        let session = self.require_session(l, headers).await?;
        if session.must_change().is_some() {
            if let Some(response) = self.forced_change(&session) {
                return Err(response);
            }
        }
        Ok(session)
    }

    /// The page `/two-factor` shows for this session now.
    async fn two_factor_now(&self, l: &Lang<'_>, session: &WebSession) -> Response {
        let (state, required) = match self.accounts.two_factor_state(session).await {
            Ok(found) => found,
            Err(err) => return self.unavailable(l, &err),
        };
        if let TwoFactorState::On { .. } = state {
            return self.manage_page(l, session, state, required, (None, None));
        }
        match self.accounts.begin_two_factor(session, &self.library).await {
            Ok(Some(enrolment)) => self.enrol_page(l, session, &enrolment, None),
            Ok(None) => Redirect::to("/two-factor").into_response(),
            Err(err) => self.unavailable(l, &err),
        }
    }
}

/// GET /login/code: the code form of a half-done log-in (else the log-in page).
pub(crate) async fn code_form(
    State(site): State<Shared>,
    Extension(page): Extension<PageLang>,
    headers: HeaderMap,
) -> Response {
    let l = site.lang(&page);
    let Some(half) = site.jar.read(&headers, Cookie::HalfLogin) else {
        return Redirect::to("/login").into_response();
    };
    match site
        .accounts
        .half_login_waiting(&SessionToken::from_cookie(half))
        .await
    {
        Ok(true) => {}
        Ok(false) => return Redirect::to("/login?ended=1").into_response(),
        Err(err) => return site.unavailable(&l, &err),
    }
    let csrf = site.jar.read(&headers, Cookie::LoginForm).unwrap_or("");
    site.code_page(&l, csrf, None)
}

/// POST /login/code.
pub(crate) async fn code_submit(
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
    let Some(half) = site.jar.read(&headers, Cookie::HalfLogin) else {
        return Redirect::to("/login").into_response();
    };
    let Ok(code) = form.secret("code") else {
        return site.bad_request(&l, text::BAD_FORM);
    };
    if code.expose_secret().trim().is_empty() {
        return site.code_page(&l, expected, Some(text::ENTER_CODE));
    }
    if let Err(wait) = site.addresses.count(peer.ip()) {
        return site.too_many(&l, wait);
    }
    let token = SessionToken::from_cookie(half);
    let outcome = match site
        .accounts
        .web_second_step(&token, code.expose_secret(), user_agent(&headers))
        .await
    {
        Ok(outcome) => outcome,
        Err(err) => return site.unavailable(&l, &err),
    };
    let mut response = match outcome {
        SecondStepOutcome::LoggedIn { token, session } => {
            let to = site.first_page(&session);
            let mut response = site.with_session_cookie(Redirect::to(to).into_response(), &token);
            response
                .headers_mut()
                .append(header::SET_COOKIE, site.jar.clear(Cookie::LoginForm));
            response
        }
        SecondStepOutcome::WrongCode => {
            return site.code_page(&l, expected, Some(text::WRONG_CODE))
        }
        SecondStepOutcome::Expired => Redirect::to("/login?ended=1").into_response(),
        SecondStepOutcome::Locked { until } => site.locked_page(&l, until),
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, site.jar.clear(Cookie::HalfLogin));
    response
}

/// GET /two-factor: enrolment, or the recovery codes and turning it off.
pub(crate) async fn page(
    State(site): State<Shared>,
    Extension(page): Extension<PageLang>,
    headers: HeaderMap,
) -> Response {
    let l = site.lang(&page);
    match site.two_factor_session(&l, &headers).await {
        Ok(session) => site.two_factor_now(&l, &session).await,
        Err(response) => response,
    }
}

/// POST /two-factor/enable: the first code of the pending secret.
pub(crate) async fn enable(
    State(site): State<Shared>,
    Extension(page): Extension<PageLang>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let l = site.lang(&page);
    let session = match site.two_factor_session(&l, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let form = match site.session_form(&l, &session, &headers, body) {
        Ok(form) => form,
        Err(response) => return response,
    };
    let Ok(code) = form.secret("code") else {
        return site.bad_request(&l, text::BAD_FORM);
    };
    match site
        .accounts
        .confirm_two_factor(&session, code.expose_secret())
        .await
    {
        Ok(ConfirmOutcome::Enabled(codes)) => site.codes_page(&l, &session, text::ENABLED, codes),
        Ok(ConfirmOutcome::NothingPending) => Redirect::to("/two-factor").into_response(),
        Ok(ConfirmOutcome::WrongCode) => {
            let error = if code.expose_secret().trim().is_empty() {
                text::ENTER_CODE
            } else {
                text::WRONG_CODE
            };
            match site
                .accounts
                .begin_two_factor(&session, &site.library)
                .await
            {
                Ok(Some(enrolment)) => site.enrol_page(&l, &session, &enrolment, Some(error)),
                Ok(None) => Redirect::to("/two-factor").into_response(),
                Err(err) => site.unavailable(&l, &err),
            }
        }
        Err(err) => site.unavailable(&l, &err),
    }
}

/// POST /two-factor/recovery-codes: a new set, shown once.
pub(crate) async fn recovery_codes(
    State(site): State<Shared>,
    Extension(page): Extension<PageLang>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let l = site.lang(&page);
    let session = match site.two_factor_session(&l, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    if let Err(response) = site.session_form(&l, &session, &headers, body) {
        return response;
    }
    match site.accounts.new_recovery_codes(&session).await {
        Ok(Some(codes)) => site.codes_page(&l, &session, text::NEW_CODES_DONE, codes),
        Ok(None) => Redirect::to("/two-factor").into_response(),
        Err(err) => site.unavailable(&l, &err),
    }
}

/// POST /two-factor/disable: the PIN or password and a current code.
pub(crate) async fn disable(
    State(site): State<Shared>,
    Extension(page): Extension<PageLang>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let l = site.lang(&page);
    let session = match site.two_factor_session(&l, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let form = match site.session_form(&l, &session, &headers, body) {
        Ok(form) => form,
        Err(response) => return response,
    };
    let (Ok(secret), Ok(code)) = (form.secret("secret"), form.secret("code")) else {
        return site.bad_request(&l, text::BAD_FORM);
    };
    let outcome = match site
        .accounts
        .disable_two_factor(&session, secret, code.expose_secret())
        .await
    {
        Ok(outcome) => outcome,
        Err(err) => return site.unavailable(&l, &err),
    };
    let errors = match outcome {
        DisableOutcome::Disabled => {
            return Redirect::to("/account?changed=two-factor-off").into_response()
        }
        DisableOutcome::WrongSecret => (Some(l.t(text::WRONG_OLD)), None),
        DisableOutcome::WrongCode => (None, Some(text::WRONG_CODE)),
        DisableOutcome::Locked { until } => (
            Some(match until {
                Some(until) => text::locked_until(&l, until),
                None => l.t(text::LOCKED_RESET),
            }),
            None,
        ),
        DisableOutcome::Busy => (Some(l.t(text::BUSY)), None),
        DisableOutcome::Required => (None, None),
    };
    match site.accounts.two_factor_state(&session).await {
        Ok((state, required)) => site.manage_page(&l, &session, state, required, errors),
        Err(err) => site.unavailable(&l, &err),
    }
}
