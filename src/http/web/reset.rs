//! "Forgot your PIN?" and "Forgot your online password?": the request form (card number or
//! email on file, as `web.reset_lookup` says), whose answer is one page for every account (the
//! lookup and the mail happen in the outbox task), and the page a reset link opens. Its GET
//! only shows the form (mail scanners and link previews use nothing up); its POST sets the new
//! secret under the change pages' rules and refusals, and does not log the patron in.
//!
//! Both forms carry a CSRF token that is also in a cookie, as the log-in form does (there is no
//! session). The token of a link is in the path; pages send no Referer (`no-referrer`), and
//! nothing here logs a path or a token.
//!
//! Uses `accounts` (reset request, link use); must not import `store`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::header::{self, HeaderMap};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;

use super::cookies::Cookie;
use super::i18n::Lang;
use super::pages::{html, Field, FormPage, Link};
use super::{text, PageLang, Shared, Site};
use crate::accounts::reset::{ResetForm, ResetOutcome, ResetRequestOutcome, ResetToken};
use crate::accounts::web::{random_token, ChangeRefusal, CredentialKind, NewSecret};
use crate::config::{ResetLookupBy, ResetMode};
use crate::http::listener::ClientAddr;

/// The form's paths and words for one credential.
fn forgot_path(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::Pin => "/forgot-pin",
        CredentialKind::Password => "/forgot-password",
    }
}

impl Site {
    /// The CSRF token of a form without a session: the cookie's, or a new one.
    fn form_token(&self, headers: &HeaderMap) -> String {
        self.jar
            .read(headers, Cookie::LoginForm)
            .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
            .map_or_else(random_token, str::to_owned)
    }

    /// A form page with its CSRF cookie.
    fn with_form_cookie(&self, mut response: Response, csrf: &str) -> Response {
        response
            .headers_mut()
            .append(header::SET_COOKIE, self.jar.set(Cookie::LoginForm, csrf));
        response
    }

    /// What the page says about coming in without an email on file.
    fn in_person(&self, l: &Lang<'_>) -> String {
        if self.web.reset_in_person_text.is_empty() {
            l.t(text::IN_PERSON)
        } else {
            self.web.reset_in_person_text.clone()
        }
    }

    fn forgot_page(
        &self,
        l: &Lang<'_>,
        kind: CredentialKind,
        csrf: &str,
        typed: &str,
        error: Option<&'static str>,
    ) -> Response {
        let mut field = match self.web.reset_lookup {
            ResetLookupBy::Card => Field::card(l, typed, false),
            ResetLookupBy::Email => Field {
                id: "email",
                name: "email",
                label: l.t(text::EMAIL),
                hint: String::new(),
                input_type: "email",
                autocomplete: "email",
                inputmode: "email",
                value: typed.to_owned(),
                readonly: false,
                secret: false,
                errors: Vec::new(),
                describedby: String::new(),
            },
        };
        if let Some(error) = error {
            field = field.with_error(l.t(error));
        }
        let (title, path) = match kind {
            CredentialKind::Pin => (text::FORGOT_PIN_TITLE, forgot_path(kind)),
            CredentialKind::Password => (text::FORGOT_PASSWORD_TITLE, forgot_path(kind)),
        };
        let mut page = FormPage::new(
            l,
            self.chrome(l, l.t(title), None, path),
            path,
            csrf,
            vec![field],
        );
        page.notices.push(l.t(match self.web.reset_lookup {
            ResetLookupBy::Card => text::FORGOT_INTRO_CARD,
            ResetLookupBy::Email => text::FORGOT_INTRO_EMAIL,
        }));
        page.submit = l.t(text::SEND_LINK);
        page.after.push(self.in_person(l));
        page.links.push(Link {
            href: "/login",
            text: l.t(text::LOG_IN),
        });
        self.with_form_cookie(html(StatusCode::OK, &page), csrf)
    }

    fn reset_page(
        &self,
        l: &Lang<'_>,
        token: &ResetToken,
        form: &ResetForm,
        csrf: &str,
        refusal: &ChangeRefusal,
    ) -> Response {
        let (title, new_label, hint, confirm_label, numeric) = match form.credential {
            CredentialKind::Pin => (
                text::RESET_PIN_TITLE,
                text::NEW_PIN,
                text::NEW_PIN_HINT,
                text::CONFIRM_PIN,
                true,
            ),
            CredentialKind::Password => (
                text::RESET_PASSWORD_TITLE,
                text::NEW_PASSWORD,
                text::NEW_PASSWORD_HINT,
                text::CONFIRM_PASSWORD,
                false,
            ),
        };
        let mut new = Field::secret("new", l.t(new_label), l.t(hint), "new-password", numeric);
        if refusal.new_missing {
            new = new.with_error(l.t(text::ENTER_NEW));
        }
        for rejection in &refusal.new {
            new = new.with_error(text::rejection(l, rejection));
        }
        let mut confirm = Field::secret(
            "confirm",
            l.t(confirm_label),
            String::new(),
            "new-password",
            numeric,
        );
        if refusal.confirm_mismatch {
            confirm = confirm.with_error(l.t(text::MISMATCH));
        }
        let action = format!("/reset/{}", token.expose());
        let fields = vec![Field::card(l, &form.card, true), new, confirm];
        let mut page = FormPage::new(
            l,
            self.chrome(l, l.t(title), None, "/login"),
            &action,
            csrf,
            fields,
        );
        page.submit = l.t(match form.credential {
            CredentialKind::Pin => text::SAVE_PIN,
            CredentialKind::Password => text::SAVE_PASSWORD,
        });
        self.with_form_cookie(html(StatusCode::OK, &page), csrf)
    }

    fn reset_invalid(&self, l: &Lang<'_>) -> Response {
        self.message(
            l,
            StatusCode::GONE,
            text::RESET_INVALID_TITLE,
            vec![l.t(text::RESET_INVALID)],
            vec![Link {
                href: "/forgot-pin",
                text: l.t(text::ASK_AGAIN),
            }],
            None,
        )
    }

    /// The token of a link's path, if it can be one (64 hex digits).
    fn link_token(path: &str) -> Option<ResetToken> {
        (path.len() == 64 && path.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| ResetToken::new(path.to_owned()))
    }
}

/// GET /forgot-pin and /forgot-password.
async fn forgot_form(
    site: Shared,
    page: PageLang,
    kind: CredentialKind,
    headers: HeaderMap,
) -> Response {
    let l = site.lang(&page);
    let csrf = site.form_token(&headers);
    site.forgot_page(&l, kind, &csrf, "", None)
}

pub(crate) async fn forgot_pin_form(
    State(site): State<Shared>,
    Extension(page): Extension<PageLang>,
    headers: HeaderMap,
) -> Response {
    forgot_form(site, page, CredentialKind::Pin, headers).await
}

pub(crate) async fn forgot_password_form(
    State(site): State<Shared>,
    Extension(page): Extension<PageLang>,
    headers: HeaderMap,
) -> Response {
    forgot_form(site, page, CredentialKind::Password, headers).await
}

/// POST /forgot-pin and /forgot-password: the same answer for every account.
async fn forgot_submit(
    site: Shared,
    page: PageLang,
    kind: CredentialKind,
    peer: std::net::SocketAddr,
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
    let (name, empty, malformed) = match site.web.reset_lookup {
        ResetLookupBy::Card => ("card", text::ENTER_CARD, text::BAD_CARD),
        ResetLookupBy::Email => ("email", text::ENTER_EMAIL, text::BAD_EMAIL),
    };
    let Ok(typed) = form.text(name) else {
        return site.bad_request(&l, text::BAD_FORM);
    };
    let typed = typed.trim();
    if typed.is_empty() {
        return site.forgot_page(&l, kind, expected, typed, Some(empty));
    }
    match site.accounts.request_reset(kind, typed, peer.ip()).await {
        Ok(ResetRequestOutcome::Accepted) => {
            let sent = match site.web.reset {
                ResetMode::Link => text::FORGOT_SENT,
                ResetMode::TemporaryPassword => text::FORGOT_SENT_TEMPORARY,
            };
            site.message(
                &l,
                StatusCode::OK,
                text::FORGOT_SENT_TITLE,
                vec![l.t(sent), site.in_person(&l)],
                vec![Link {
                    href: "/login",
                    text: l.t(text::LOG_IN),
                }],
                None,
            )
        }
        Ok(ResetRequestOutcome::TooMany { retry_after }) => site.too_many(&l, retry_after),
        Ok(ResetRequestOutcome::Malformed) => {
            site.forgot_page(&l, kind, expected, typed, Some(malformed))
        }
        Err(err) => site.unavailable(&l, &err),
    }
}

pub(crate) async fn forgot_pin_submit(
    State(site): State<Shared>,
    Extension(page): Extension<PageLang>,
    ConnectInfo(ClientAddr(peer)): ConnectInfo<ClientAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    forgot_submit(site, page, CredentialKind::Pin, peer, headers, body).await
}

pub(crate) async fn forgot_password_submit(
    State(site): State<Shared>,
    Extension(page): Extension<PageLang>,
    ConnectInfo(ClientAddr(peer)): ConnectInfo<ClientAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    forgot_submit(site, page, CredentialKind::Password, peer, headers, body).await
}

/// GET /reset/{token}: the form of a valid link; consumes nothing.
pub(crate) async fn link_form(
    State(site): State<Shared>,
    Extension(page): Extension<PageLang>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let l = site.lang(&page);
    let Some(token) = Site::link_token(&token) else {
        return site.reset_invalid(&l);
    };
    match site.accounts.reset_form(&token).await {
        Ok(Some(form)) => {
            let csrf = site.form_token(&headers);
            site.reset_page(&l, &token, &form, &csrf, &ChangeRefusal::default())
        }
        Ok(None) => site.reset_invalid(&l),
        Err(err) => site.unavailable(&l, &err),
    }
}

/// POST /reset/{token}: sets the new secret (once, whatever the number of tabs).
pub(crate) async fn link_submit(
    State(site): State<Shared>,
    Extension(page): Extension<PageLang>,
    Path(token): Path<String>,
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
    let Some(token) = Site::link_token(&token) else {
        return site.reset_invalid(&l);
    };
    let (Ok(new), Ok(confirm)) = (form.secret("new"), form.secret("confirm")) else {
        return site.bad_request(&l, text::BAD_FORM);
    };
    match site
        .accounts
        .complete_reset(&token, NewSecret { new, confirm })
        .await
    {
        Ok(ResetOutcome::Done(kind)) => {
            let done = match kind {
                CredentialKind::Pin => text::RESET_DONE_PIN,
                CredentialKind::Password => text::RESET_DONE_PASSWORD,
            };
            let mut response = site.message(
                &l,
                StatusCode::OK,
                text::RESET_DONE_TITLE,
                vec![l.t(done)],
                vec![Link {
                    href: "/login",
                    text: l.t(text::LOG_IN),
                }],
                None,
            );
            // Whatever session this browser had has ended with the change.
            response
                .headers_mut()
                .append(header::SET_COOKIE, site.jar.clear(Cookie::Session));
            response
        }
        Ok(ResetOutcome::Refused(form, refusal)) => {
            site.reset_page(&l, &token, &form, expected, &refusal)
        }
        Ok(ResetOutcome::Invalid) => site.reset_invalid(&l),
        Ok(ResetOutcome::Busy) => site.message(
            &l,
            StatusCode::SERVICE_UNAVAILABLE,
            text::BUSY_TITLE,
            vec![l.t(text::BUSY)],
            Vec::new(),
            None,
        ),
        Err(err) => site.unavailable(&l, &err),
    }
}

impl Site {
    /// The links under the log-in form (when mail is on).
    pub(super) fn forgot_links(&self, l: &Lang<'_>) -> Vec<Link> {
        if !self.accounts.config().mail.enabled() {
            return Vec::new();
        }
        let mut links = Vec::new();
        if self.web.login_with != crate::config::WebLogin::Password {
            links.push(Link {
                href: forgot_path(CredentialKind::Pin),
                text: l.t(text::FORGOT_PIN_LINK),
            });
        }
        if self.web.login_with != crate::config::WebLogin::Pin {
            links.push(Link {
                href: forgot_path(CredentialKind::Password),
                text: l.t(text::FORGOT_PASSWORD_LINK),
            });
        }
        links
    }
}
