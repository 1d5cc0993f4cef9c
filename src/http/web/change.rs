//! The change pages: "Change PIN" (current PIN, new PIN twice) and "Change online password"
//! (current password, or the PIN when none is set yet; new password twice). Each refusal is
//! shown next to its field and in the error summary, every broken rule at once, in the rule
//! code's own sentences. A read-only card field lets password managers update the right entry.
//! After a change the session continues under a new id and every other session has ended.
//!
//! Uses `accounts` (the change, sessions); must not import `store`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::header::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;

use super::i18n::Lang;
use super::pages::{html, Field, FormPage, Link};
use super::{text, user_agent, PageLang, Shared, Site};
use crate::accounts::web::{
    ChangeOutcome, ChangeRefusal, CredentialKind, NewSecret, OldRefusal, WebSession,
};

/// The words (message ids) and field settings of one change page.
struct Wording {
    title: &'static str,
    action: &'static str,
    old_label: &'static str,
    old_hint: &'static str,
    new_label: &'static str,
    new_hint: &'static str,
    confirm_label: &'static str,
    submit: &'static str,
    numeric: bool,
    forced: &'static str,
}

fn wording(kind: CredentialKind, has_password: bool) -> Wording {
    match kind {
        CredentialKind::Pin => Wording {
            title: text::CHANGE_PIN,
            action: "/change-pin",
            old_label: text::OLD_PIN,
            old_hint: "",
            new_label: text::NEW_PIN,
            new_hint: text::NEW_PIN_HINT,
            confirm_label: text::CONFIRM_PIN,
            submit: text::SAVE_PIN,
            numeric: true,
            forced: text::MUST_CHANGE_PIN,
        },
        CredentialKind::Password => Wording {
            title: text::CHANGE_PASSWORD,
            action: "/change-password",
            old_label: if has_password {
                text::OLD_PASSWORD
            } else {
                text::OLD_PIN_FOR_PASSWORD
            },
            old_hint: if has_password {
                ""
            } else {
                text::OLD_PIN_FOR_PASSWORD_HINT
            },
            new_label: text::NEW_PASSWORD,
            new_hint: text::NEW_PASSWORD_HINT,
            confirm_label: text::CONFIRM_PASSWORD,
            submit: text::SAVE_PASSWORD,
            numeric: false,
            forced: text::MUST_CHANGE_PASSWORD,
        },
    }
}

impl Site {
    fn change_page(
        &self,
        l: &Lang<'_>,
        kind: CredentialKind,
        session: &WebSession,
        has_password: bool,
        refusal: &ChangeRefusal,
    ) -> Response {
        let words = wording(kind, has_password);
        let old_numeric = words.numeric || !has_password;
        let hint = |id: &str| {
            if id.is_empty() {
                String::new()
            } else {
                l.t(id)
            }
        };
        let mut old = Field::secret(
            "old",
            l.t(words.old_label),
            hint(words.old_hint),
            "current-password",
            old_numeric,
        );
        match refusal.old {
            Some(OldRefusal::Wrong) => old = old.with_error(l.t(text::WRONG_OLD)),
            Some(OldRefusal::NothingTyped) => old = old.with_error(l.t(text::ENTER_OLD)),
            Some(OldRefusal::Locked { until }) => {
                old = old.with_error(match until {
                    Some(until) => text::locked_until(l, until),
                    None => l.t(text::LOCKED_RESET),
                });
            }
            None => {}
        }
        let mut new = Field::secret(
            "new",
            l.t(words.new_label),
            hint(words.new_hint),
            "new-password",
            words.numeric,
        );
        if refusal.new_missing {
            new = new.with_error(l.t(text::ENTER_NEW));
        }
        for rejection in &refusal.new {
            new = new.with_error(text::rejection(l, rejection));
        }
        let mut confirm = Field::secret(
            "confirm",
            l.t(words.confirm_label),
            String::new(),
            "new-password",
            words.numeric,
        );
        if refusal.confirm_mismatch {
            confirm = confirm.with_error(l.t(text::MISMATCH));
        }
        let fields = vec![Field::card(l, session.card(), true), old, new, confirm];
        let mut page = FormPage::new(
            l,
            self.chrome(l, l.t(words.title), Some(session), words.action),
            words.action,
            session.csrf_token(),
            fields,
        );
        page.submit = l.t(words.submit);
        if session.must_change() == Some(kind) {
            page.notices.push(l.t(words.forced));
        }
        page.after.push(l.t(text::DIFFERENCE));
        if session.must_change().is_none() {
            page.links.push(Link {
                href: "/account",
                text: l.t(text::BACK_TO_START),
            });
        }
        html(StatusCode::OK, &page)
    }

    /// The session of a change page, unless it must change the other credential first.
    async fn change_session(
        &self,
        l: &Lang<'_>,
        kind: CredentialKind,
        headers: &HeaderMap,
    ) -> Result<WebSession, Response> {
        let session = self.require_session(l, headers).await?;
        if session.must_change().is_none() && session.must_enrol() {
            return Err(Redirect::to("/two-factor").into_response());
        }
        match session.must_change() {
            Some(required) if required != kind => Err(self
                .forced_change(&session)
                .unwrap_or_else(|| Redirect::to("/account").into_response())),
            _ => Ok(session),
        }
    }

    async fn has_password(&self, l: &Lang<'_>, session: &WebSession) -> Result<bool, Response> {
        self.accounts
            .web_account(session)
            .await
            .map(|view| view.password != crate::accounts::web::CredentialState::NotSet)
            .map_err(|err| self.unavailable(l, &err))
    }
}

async fn show(site: Shared, page: PageLang, kind: CredentialKind, headers: HeaderMap) -> Response {
    let l = site.lang(&page);
    let session = match site.change_session(&l, kind, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    match site.has_password(&l, &session).await {
        Ok(has) => site.change_page(&l, kind, &session, has, &ChangeRefusal::default()),
        Err(response) => response,
    }
}

async fn change(
    site: Shared,
    page: PageLang,
    kind: CredentialKind,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let l = site.lang(&page);
    let session = match site.change_session(&l, kind, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let form = match site.session_form(&l, &session, &headers, body) {
        Ok(form) => form,
        Err(response) => return response,
    };
    let (Ok(old), Ok(new), Ok(confirm)) = (
        form.secret("old"),
        form.secret("new"),
        form.secret("confirm"),
    ) else {
        return site.bad_request(&l, text::BAD_FORM);
    };
    let has_password = match site.has_password(&l, &session).await {
        Ok(has) => has,
        Err(response) => return response,
    };
    let secrets = NewSecret { new, confirm };
    let agent = user_agent(&headers);
    let outcome = match kind {
        CredentialKind::Pin => {
            site.accounts
                .web_change_pin(&session, old, secrets, agent)
                .await
        }
        CredentialKind::Password => {
            site.accounts
                .web_change_password(&session, old, secrets, agent)
                .await
        }
    };
    match outcome {
        Ok(ChangeOutcome::Changed { token }) => {
            let to = match kind {
                CredentialKind::Pin => "/account?changed=pin",
                CredentialKind::Password => "/account?changed=password",
            };
            site.with_session_cookie(Redirect::to(to).into_response(), &token)
        }
        Ok(ChangeOutcome::Refused(refusal)) => {
            site.change_page(&l, kind, &session, has_password, &refusal)
        }
        Ok(ChangeOutcome::Busy) => site.message(
            &l,
            StatusCode::SERVICE_UNAVAILABLE,
            text::BUSY_TITLE,
            vec![l.t(text::BUSY)],
            Vec::new(),
            Some(&session),
        ),
        Err(err) => site.unavailable(&l, &err),
    }
}

pub(crate) async fn pin_form(
    State(site): State<Shared>,
    Extension(page): Extension<PageLang>,
    headers: HeaderMap,
) -> Response {
    show(site, page, CredentialKind::Pin, headers).await
}

pub(crate) async fn pin_submit(
    State(site): State<Shared>,
    Extension(page): Extension<PageLang>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    change(site, page, CredentialKind::Pin, headers, body).await
}

pub(crate) async fn password_form(
    State(site): State<Shared>,
    Extension(page): Extension<PageLang>,
    headers: HeaderMap,
) -> Response {
    show(site, page, CredentialKind::Password, headers).await
}

pub(crate) async fn password_submit(
    State(site): State<Shared>,
    Extension(page): Extension<PageLang>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    change(site, page, CredentialKind::Password, headers, body).await
}
