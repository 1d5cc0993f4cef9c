//! The pages as values (askama templates compiled from `src/http/templates/`) and the one way
//! a page becomes a response: HTML, `Cache-Control: no-store`, the status it is given.
//!
//! Uses `accounts` value types; nothing here reads a request or the database.

use askama::Template;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::i18n::Lang;
use super::text;

/// What every page shares: language, title, the library's name, logo and contact, and the
/// log-out form when a patron is logged in.
#[derive(Debug, Clone)]
pub(crate) struct Chrome {
    pub(crate) lang: String,
    pub(crate) title: String,
    pub(crate) library: String,
    pub(crate) logo_url: String,
    pub(crate) contact: String,
    pub(crate) signed_in: bool,
    pub(crate) csrf: String,
    pub(crate) log_out: String,
    pub(crate) skip: String,
    pub(crate) languages_label: String,
    pub(crate) languages: Vec<LanguageChoice>,
}

/// One entry of the language switch.
#[derive(Debug, Clone)]
pub(crate) struct LanguageChoice {
    pub(crate) tag: String,
    pub(crate) name: String,
    pub(crate) href: String,
    pub(crate) current: bool,
}

/// A link in a page's text.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub(crate) href: &'static str,
    pub(crate) text: String,
}

/// An entry of the error summary, linking to its field.
#[derive(Debug, Clone)]
pub(crate) struct ErrorLink {
    pub(crate) field: &'static str,
    pub(crate) text: String,
}

/// One input of a form.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub(crate) id: &'static str,
    pub(crate) name: &'static str,
    pub(crate) label: String,
    pub(crate) hint: String,
    pub(crate) input_type: &'static str,
    pub(crate) autocomplete: &'static str,
    pub(crate) inputmode: &'static str,
    pub(crate) value: String,
    pub(crate) readonly: bool,
    /// A PIN or password field: gets the show/hide control.
    pub(crate) secret: bool,
    pub(crate) errors: Vec<String>,
    pub(crate) describedby: String,
}

impl Field {
    /// The card number field (`autocomplete=username`, numeric keypad, never `type=number`).
    pub(crate) fn card(l: &Lang<'_>, value: &str, readonly: bool) -> Field {
        Field {
            id: "card",
            name: "card",
            label: l.t(text::CARD),
            hint: if readonly {
                String::new()
            } else {
                l.t(text::CARD_HINT)
            },
            input_type: "text",
            autocomplete: "username",
            inputmode: "numeric",
            value: value.to_owned(),
            readonly,
            secret: false,
            errors: Vec::new(),
            describedby: String::new(),
        }
    }

    /// A PIN or password field; `numeric` brings the numeric keypad (PINs).
    pub(crate) fn secret(
        id: &'static str,
        label: String,
        hint: String,
        autocomplete: &'static str,
        numeric: bool,
    ) -> Field {
        Field {
            id,
            name: id,
            label,
            hint,
            input_type: "password",
            autocomplete,
            inputmode: if numeric { "numeric" } else { "" },
            value: String::new(),
            readonly: false,
            secret: true,
            errors: Vec::new(),
            describedby: String::new(),
        }
    }

    /// Adds an error shown next to the field.
    pub(crate) fn with_error(mut self, error: impl Into<String>) -> Field {
        self.errors.push(error.into());
        self
    }

    /// A one-time code field (six digits from an authenticator app; with `recovery`, a
    /// recovery code is taken too, so the keyboard is not only digits).
    pub(crate) fn code(label: String, hint: String, recovery: bool) -> Field {
        Field {
            id: "code",
            name: "code",
            label,
            hint,
            input_type: "text",
            autocomplete: "one-time-code",
            inputmode: if recovery { "" } else { "numeric" },
            value: String::new(),
            readonly: false,
            secret: false,
            errors: Vec::new(),
            describedby: String::new(),
        }
    }

    /// Fills `describedby` from the hint and errors (call once, after the errors).
    pub(crate) fn described(mut self) -> Field {
        let mut ids = Vec::new();
        if !self.hint.is_empty() {
            ids.push(format!("{}-hint", self.id));
        }
        for index in 1..=self.errors.len() {
            ids.push(format!("{}-error-{index}", self.id));
        }
        self.describedby = ids.join(" ");
        self
    }
}

/// A page with one form (log-in, change PIN, change password).
#[derive(Template)]
#[template(path = "form.html")]
pub(crate) struct FormPage {
    pub(crate) page: Chrome,
    pub(crate) errors: Vec<ErrorLink>,
    pub(crate) notices: Vec<String>,
    pub(crate) action: String,
    pub(crate) csrf: String,
    pub(crate) fields: Vec<Field>,
    pub(crate) submit: String,
    pub(crate) after: Vec<String>,
    pub(crate) links: Vec<Link>,
    pub(crate) problem: String,
    pub(crate) show: String,
    pub(crate) hide: String,
}

impl FormPage {
    /// A form page; the error summary is made from the fields' errors.
    pub(crate) fn new(
        l: &Lang<'_>,
        page: Chrome,
        action: &str,
        csrf: &str,
        fields: Vec<Field>,
    ) -> Self {
        let fields: Vec<Field> = fields.into_iter().map(Field::described).collect();
        let errors = fields
            .iter()
            .flat_map(|f| {
                f.errors.iter().map(|e| ErrorLink {
                    field: f.id,
                    text: e.clone(),
                })
            })
            .collect();
        FormPage {
            page,
            errors,
            notices: Vec::new(),
            action: action.to_owned(),
            csrf: csrf.to_owned(),
            fields,
            submit: l.t(text::LOG_IN_BUTTON),
            after: Vec::new(),
            links: Vec::new(),
            problem: l.t(text::PROBLEM),
            show: l.t(text::SHOW),
            hide: l.t(text::HIDE),
        }
    }
}

/// A page of text and links (locked, logged out, errors).
#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage {
    pub(crate) page: Chrome,
    pub(crate) paragraphs: Vec<String>,
    pub(crate) links: Vec<Link>,
}

/// The labels of My Account.
#[derive(Debug, Clone)]
pub(crate) struct AccountLabels {
    pub(crate) name: String,
    pub(crate) card: String,
    pub(crate) expires: String,
    pub(crate) standing: String,
    pub(crate) fines: String,
    pub(crate) fine_limit: String,
    pub(crate) credentials: String,
    pub(crate) change_pin: String,
    pub(crate) change_password: String,
    pub(crate) two_factor: String,
    pub(crate) sessions: String,
    pub(crate) sign_out_others: String,
}

impl AccountLabels {
    pub(crate) fn new(l: &Lang<'_>) -> Self {
        AccountLabels {
            name: l.t(text::NAME),
            card: l.t(text::CARD_SHORT),
            expires: l.t(text::EXPIRES),
            standing: l.t(text::STANDING),
            fines: l.t(text::FINES),
            fine_limit: l.t(text::FINE_LIMIT),
            credentials: l.t(text::CREDENTIALS),
            change_pin: l.t(text::CHANGE_PIN),
            change_password: l.t(text::CHANGE_PASSWORD),
            two_factor: l.t(text::TWO_FACTOR),
            sessions: l.t(text::SESSIONS),
            sign_out_others: l.t(text::SIGN_OUT_OTHERS),
        }
    }
}

/// My Account.
#[derive(Template)]
#[template(path = "account.html")]
pub(crate) struct AccountPage {
    pub(crate) page: Chrome,
    pub(crate) labels: AccountLabels,
    pub(crate) notices: Vec<String>,
    pub(crate) name: String,
    pub(crate) card: String,
    pub(crate) expires: String,
    pub(crate) standing: Vec<String>,
    pub(crate) fines: String,
    pub(crate) fine_limit: String,
    pub(crate) pin_state: String,
    pub(crate) password_state: String,
    pub(crate) two_factor_state: String,
    pub(crate) difference: String,
    pub(crate) sessions: Vec<String>,
}

/// One form of the two-factor page.
#[derive(Debug, Clone)]
pub(crate) struct SmallForm {
    pub(crate) heading: String,
    pub(crate) action: &'static str,
    pub(crate) id: &'static str,
    pub(crate) fields: Vec<Field>,
    pub(crate) submit: String,
}

/// The two-factor page: enrolment (QR code and secret), the recovery codes shown once, and
/// the forms to confirm, renew the codes or turn it off.
#[derive(Template)]
#[template(path = "two_factor.html")]
pub(crate) struct TwoFactorPage {
    pub(crate) page: Chrome,
    pub(crate) errors: Vec<ErrorLink>,
    pub(crate) notices: Vec<String>,
    pub(crate) intro: Vec<String>,
    /// The enrolment QR code as inline SVG made here (never text from a request); empty: none.
    pub(crate) qr_svg: String,
    pub(crate) secret_label: String,
    pub(crate) secret: String,
    pub(crate) codes_title: String,
    pub(crate) codes: Vec<String>,
    pub(crate) csrf: String,
    pub(crate) forms: Vec<SmallForm>,
    pub(crate) links: Vec<Link>,
    pub(crate) problem: String,
    pub(crate) show: String,
    pub(crate) hide: String,
}

impl TwoFactorPage {
    pub(crate) fn new(l: &Lang<'_>, page: Chrome, csrf: &str) -> Self {
        TwoFactorPage {
            page,
            errors: Vec::new(),
            notices: Vec::new(),
            intro: Vec::new(),
            qr_svg: String::new(),
            secret_label: String::new(),
            secret: String::new(),
            codes_title: String::new(),
            codes: Vec::new(),
            csrf: csrf.to_owned(),
            forms: Vec::new(),
            links: Vec::new(),
            problem: l.t(text::PROBLEM),
            show: l.t(text::SHOW),
            hide: l.t(text::HIDE),
        }
    }

    /// Adds a form; its fields' errors join the error summary.
    pub(crate) fn with_form(mut self, mut form: SmallForm) -> Self {
        form.fields = form.fields.into_iter().map(Field::described).collect();
        for field in &form.fields {
            self.errors.extend(field.errors.iter().map(|e| ErrorLink {
                field: field.id,
                text: e.clone(),
            }));
        }
        self.forms.push(form);
        self
    }
}

/// A rendered page with its status: HTML, never cached.
pub(crate) fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => {
            let mut response = (status, body).into_response();
            let headers = response.headers_mut();
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => {
            tracing::error!(%error, "a web page could not be rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}
