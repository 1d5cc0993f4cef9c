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

use super::pages::{html, Field, FormPage, Link};
use super::{text, user_agent, Shared, Site};
use crate::accounts::web::{
    ChangeOutcome, ChangeRefusal, CredentialKind, NewSecret, OldRefusal, WebSession,
};

/// The words and field settings of one change page.
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
        kind: CredentialKind,
        session: &WebSession,
        has_password: bool,
        refusal: &ChangeRefusal,
    ) -> Response {
        let words = wording(kind, has_password);
        let old_numeric = words.numeric || !has_password;
        let mut old = Field::secret(
            "old",
            words.old_label,
            words.old_hint,
            "current-password",
            old_numeric,
        );
        match refusal.old {
            Some(OldRefusal::Wrong) => old = old.with_error(text::WRONG_OLD),
            Some(OldRefusal::NothingTyped) => old = old.with_error(text::ENTER_OLD),
            Some(OldRefusal::Locked { until }) => {
                old = old.with_error(match until {
                    Some(until) => text::locked_until(until),
                    None => text::LOCKED_RESET.into(),
                });
            }
            None => {}
        }
        let mut new = Field::secret(
            "new",
            words.new_label,
            words.new_hint,
            "new-password",
            words.numeric,
        );
        if refusal.new_missing {
            new = new.with_error(text::ENTER_NEW);
        }
        for rejection in &refusal.new {
            new = new.with_error(rejection.to_string());
        }
        let mut confirm = Field::secret(
            "confirm",
            words.confirm_label,
            "",
            "new-password",
            words.numeric,
        );
        if refusal.confirm_mismatch {
            confirm = confirm.with_error(text::MISMATCH);
        }
        let fields = vec![Field::card(session.card(), true), old, new, confirm];
        let mut page = FormPage::new(
            self.chrome(words.title, Some(session)),
            words.action,
            session.csrf_token(),
            fields,
        );
        page.submit = words.submit;
        if session.must_change() == Some(kind) {
            page.notices.push(words.forced.to_owned());
        }
        page.after.push(text::DIFFERENCE.into());
        if session.must_change().is_none() {
            page.links.push(Link {
                href: "/account",
                text: text::BACK_TO_START,
            });
        }
        html(StatusCode::OK, &page)
    }

    /// The session of a change page, unless it must change the other credential first.
    async fn change_session(
        &self,
        kind: CredentialKind,
        headers: &HeaderMap,
    ) -> Result<WebSession, Response> {
        let session = self.require_session(headers).await?;
        match session.must_change() {
            Some(required) if required != kind => Err(self
                .forced_change(&session)
                .unwrap_or_else(|| Redirect::to("/account").into_response())),
            _ => Ok(session),
        }
    }

    async fn has_password(&self, session: &WebSession) -> Result<bool, Response> {
        self.accounts
            .web_account(session)
            .await
            .map(|view| view.password != crate::accounts::web::CredentialState::NotSet)
            .map_err(|err| self.unavailable(&err))
    }
}

async fn show(site: Shared, kind: CredentialKind, headers: HeaderMap) -> Response {
    let session = match site.change_session(kind, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    match site.has_password(&session).await {
        Ok(has) => site.change_page(kind, &session, has, &ChangeRefusal::default()),
        Err(response) => response,
    }
}

async fn change(
    site: Shared,
    kind: CredentialKind,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let session = match site.change_session(kind, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let form = match site.session_form(&session, &headers, body) {
        Ok(form) => form,
        Err(response) => return response,
    };
    let (Ok(old), Ok(new), Ok(confirm)) = (
        form.secret("old"),
        form.secret("new"),
        form.secret("confirm"),
    ) else {
        return site.bad_request(text::BAD_FORM);
    };
    let has_password = match site.has_password(&session).await {
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
        Ok(ChangeOutcome::Changed { token, .. }) => {
            let to = match kind {
                CredentialKind::Pin => "/account?changed=pin",
                CredentialKind::Password => "/account?changed=password",
            };
            site.with_session_cookie(Redirect::to(to).into_response(), &token)
        }
        Ok(ChangeOutcome::Refused(refusal)) => {
            site.change_page(kind, &session, has_password, &refusal)
        }
        Ok(ChangeOutcome::Busy) => site.message(
            StatusCode::SERVICE_UNAVAILABLE,
            text::BUSY_TITLE,
            vec![text::BUSY.into()],
            Vec::new(),
            Some(&session),
        ),
        Err(err) => site.unavailable(&err),
    }
}

pub(crate) async fn pin_form(State(site): State<Shared>, headers: HeaderMap) -> Response {
    show(site, CredentialKind::Pin, headers).await
}

pub(crate) async fn pin_submit(
    State(site): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    change(site, CredentialKind::Pin, headers, body).await
}

pub(crate) async fn password_form(State(site): State<Shared>, headers: HeaderMap) -> Response {
    show(site, CredentialKind::Password, headers).await
}

pub(crate) async fn password_submit(
    State(site): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    change(site, CredentialKind::Password, headers, body).await
}
