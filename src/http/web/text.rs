//! The message ids of every patron-facing sentence of the web pages (the texts are in the
//! Fluent catalogues, `src/http/locales/`, see `i18n`), and the sentences made from values:
//! times, locks, standing, credential states. Rule refusals come from `auth` (the same rule code
//! as the command line and the import): English uses `auth`'s own sentences, other languages
//! their catalogue's translation of each rule.
//!
//! Uses `accounts` and `auth` value types only.

use chrono::{DateTime, NaiveDate, Utc};
use fluent_bundle::FluentValue;

use super::i18n::Lang;
use crate::accounts::web::{CredentialState, StandingNote, TwoFactorState};
use crate::auth::{PasswordRejection, PinRejection, Rejection};

/// What a browser that sends no User-Agent is listed as (stored with the session, not
/// translated).
pub(crate) const UNKNOWN_BROWSER: &str = "Unknown browser";

pub(crate) const LOG_IN: &str = "log-in";
pub(crate) const LOG_IN_BUTTON: &str = "log-in-button";
pub(crate) const LOG_OUT: &str = "log-out";
pub(crate) const MY_ACCOUNT: &str = "my-account";
pub(crate) const CARD: &str = "card";
pub(crate) const CARD_HINT: &str = "card-hint";
pub(crate) const PIN: &str = "pin";
pub(crate) const PASSWORD: &str = "password";
pub(crate) const EITHER: &str = "either";
pub(crate) const SHOW: &str = "show";
pub(crate) const PROBLEM: &str = "problem";
pub(crate) const NEUTRAL: &str = "neutral";
pub(crate) const ENTER_CARD: &str = "enter-card";
pub(crate) const ENTER_SECRET: &str = "enter-secret";
pub(crate) const CHANGE_PIN: &str = "change-pin";
pub(crate) const CHANGE_PASSWORD: &str = "change-password";
pub(crate) const OLD_PIN: &str = "old-pin";
pub(crate) const OLD_PASSWORD: &str = "old-password";
pub(crate) const OLD_PIN_FOR_PASSWORD: &str = "old-pin-for-password";
pub(crate) const OLD_PIN_FOR_PASSWORD_HINT: &str = "old-pin-for-password-hint";
pub(crate) const NEW_PIN: &str = "new-pin";
pub(crate) const NEW_PIN_HINT: &str = "new-pin-hint";
pub(crate) const CONFIRM_PIN: &str = "confirm-pin";
pub(crate) const NEW_PASSWORD: &str = "new-password";
pub(crate) const NEW_PASSWORD_HINT: &str = "new-password-hint";
pub(crate) const CONFIRM_PASSWORD: &str = "confirm-password";
pub(crate) const SAVE_PIN: &str = "save-pin";
pub(crate) const SAVE_PASSWORD: &str = "save-password";
pub(crate) const WRONG_OLD: &str = "wrong-old";
pub(crate) const ENTER_OLD: &str = "enter-old";
pub(crate) const ENTER_NEW: &str = "enter-new";
pub(crate) const MISMATCH: &str = "mismatch";
pub(crate) const DIFFERENCE: &str = "difference";
pub(crate) const MUST_CHANGE_PIN: &str = "must-change-pin";
pub(crate) const MUST_CHANGE_PASSWORD: &str = "must-change-password";
pub(crate) const CHANGED_PIN: &str = "changed-pin";
pub(crate) const CHANGED_PASSWORD: &str = "changed-password";
pub(crate) const SIGNED_OUT_OTHERS: &str = "signed-out-others";
pub(crate) const SESSION_ENDED: &str = "session-ended";
pub(crate) const LOGGED_OUT_TITLE: &str = "logged-out-title";
pub(crate) const LOGGED_OUT: &str = "logged-out";
pub(crate) const LOG_IN_AGAIN: &str = "log-in-again";
pub(crate) const LOCKED_TITLE: &str = "locked-title";
pub(crate) const LOCKED_RESET: &str = "locked-reset";
pub(crate) const LOCK_HELP: &str = "lock-help";
pub(crate) const TEMPORARY_EXPIRED: &str = "temporary-expired";
pub(crate) const RESET_REQUIRED: &str = "reset-required";
pub(crate) const TOO_MANY_TITLE: &str = "too-many-title";
pub(crate) const BUSY_TITLE: &str = "busy-title";
pub(crate) const BUSY: &str = "busy";
pub(crate) const UNAVAILABLE_TITLE: &str = "unavailable-title";
pub(crate) const UNAVAILABLE: &str = "unavailable";
pub(crate) const BAD_REQUEST_TITLE: &str = "bad-request-title";
pub(crate) const BAD_CARD: &str = "bad-card";
pub(crate) const BAD_FORM: &str = "bad-form";
pub(crate) const FORBIDDEN_TITLE: &str = "forbidden-title";
pub(crate) const FORBIDDEN: &str = "forbidden";
pub(crate) const TOO_LARGE_TITLE: &str = "too-large-title";
pub(crate) const TOO_LARGE: &str = "too-large";
pub(crate) const NOT_FOUND_TITLE: &str = "not-found-title";
pub(crate) const NOT_FOUND: &str = "not-found";
pub(crate) const FORGOT_PIN_LINK: &str = "forgot-pin-link";
pub(crate) const FORGOT_PASSWORD_LINK: &str = "forgot-password-link";
pub(crate) const FORGOT_PIN_TITLE: &str = "forgot-pin-title";
pub(crate) const FORGOT_PASSWORD_TITLE: &str = "forgot-password-title";
pub(crate) const FORGOT_INTRO_CARD: &str = "forgot-intro-card";
pub(crate) const FORGOT_INTRO_EMAIL: &str = "forgot-intro-email";
pub(crate) const EMAIL: &str = "email";
pub(crate) const ENTER_EMAIL: &str = "enter-email";
pub(crate) const BAD_EMAIL: &str = "bad-email";
pub(crate) const SEND_LINK: &str = "send-link";
pub(crate) const FORGOT_SENT_TITLE: &str = "forgot-sent-title";
pub(crate) const FORGOT_SENT: &str = "forgot-sent";
pub(crate) const FORGOT_SENT_TEMPORARY: &str = "forgot-sent-temporary";
pub(crate) const IN_PERSON: &str = "in-person";
pub(crate) const RESET_PIN_TITLE: &str = "reset-pin-title";
pub(crate) const RESET_PASSWORD_TITLE: &str = "reset-password-title";
pub(crate) const RESET_DONE_TITLE: &str = "reset-done-title";
pub(crate) const RESET_DONE_PIN: &str = "reset-done-pin";
pub(crate) const RESET_DONE_PASSWORD: &str = "reset-done-password";
pub(crate) const RESET_INVALID_TITLE: &str = "reset-invalid-title";
pub(crate) const RESET_INVALID: &str = "reset-invalid";
pub(crate) const ASK_AGAIN: &str = "ask-again";
pub(crate) const BACK_TO_START: &str = "back-to-start";
pub(crate) const NAME: &str = "name";
pub(crate) const CARD_SHORT: &str = "card-short";
pub(crate) const STANDING: &str = "standing";
pub(crate) const EXPIRES: &str = "expires";
pub(crate) const NO_EXPIRY: &str = "no-expiry";
pub(crate) const FINES: &str = "fines";
pub(crate) const FINE_LIMIT: &str = "fine-limit";
pub(crate) const NO_LIMIT: &str = "no-limit";
pub(crate) const SESSIONS: &str = "sessions";
pub(crate) const SIGN_OUT_OTHERS: &str = "sign-out-others";
pub(crate) const HIDE: &str = "hide";
pub(crate) const SKIP: &str = "skip";
pub(crate) const CREDENTIALS: &str = "credentials";
pub(crate) const TWO_FACTOR: &str = "two-factor";
pub(crate) const CODE_TITLE: &str = "code-title";
pub(crate) const CODE_LABEL: &str = "code-label";
pub(crate) const CODE_HINT: &str = "code-hint";
pub(crate) const CODE_INTRO: &str = "code-intro";
pub(crate) const WRONG_CODE: &str = "wrong-code";
pub(crate) const ENTER_CODE: &str = "enter-code";
pub(crate) const CONFIRM_CODE: &str = "confirm-code";
pub(crate) const ENROL_INTRO: &str = "enrol-intro";
pub(crate) const ENROL_STEPS: &str = "enrol-steps";
pub(crate) const ENROL_REQUIRED: &str = "enrol-required";
pub(crate) const SECRET_LABEL: &str = "secret-label";
pub(crate) const QR_LABEL: &str = "qr-label";
pub(crate) const CODES_TITLE: &str = "codes-title";
pub(crate) const CODES_ONCE: &str = "codes-once";
pub(crate) const ENABLED: &str = "two-factor-enabled";
pub(crate) const NEW_CODES: &str = "new-codes";
pub(crate) const NEW_CODES_HINT: &str = "new-codes-hint";
pub(crate) const NEW_CODES_DONE: &str = "new-codes-done";
pub(crate) const DISABLE: &str = "disable-two-factor";
pub(crate) const DISABLED: &str = "two-factor-disabled";
pub(crate) const REQUIRED_NO_DISABLE: &str = "two-factor-required";

/// A time as patrons read it: date and minutes, UTC.
pub(crate) fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub(crate) fn date(on: NaiveDate) -> String {
    on.format("%Y-%m-%d").to_string()
}

fn text(value: String) -> FluentValue<'static> {
    FluentValue::from(value)
}

pub(crate) fn locked_until(l: &Lang<'_>, until: DateTime<Utc>) -> String {
    l.t_with("locked-until", &[("until", text(time(until)))])
}

pub(crate) fn retry_in(l: &Lang<'_>, seconds: i64) -> String {
    let minutes = (seconds + 59) / 60;
    l.t_with("retry-in", &[("minutes", FluentValue::from(minutes))])
}

pub(crate) fn standing(l: &Lang<'_>, note: &StandingNote) -> String {
    match note {
        StandingNote::Good => l.t("standing-good"),
        StandingNote::ExpiresSoon { days, on } => l.t_with(
            "standing-expires-soon",
            &[("days", FluentValue::from(*days)), ("on", text(date(*on)))],
        ),
        StandingNote::Expired { on } => l.t_with("standing-expired", &[("on", text(date(*on)))]),
        StandingNote::Blocked { reason: Some(r) } => {
            l.t_with("standing-blocked-reason", &[("reason", text(r.clone()))])
        }
        StandingNote::Blocked { reason: None } => l.t("standing-blocked"),
        StandingNote::CardLost => l.t("standing-card-lost"),
        StandingNote::FinesOverLimit => l.t("standing-fines"),
    }
}

pub(crate) fn credential_state(l: &Lang<'_>, what: &str, state: CredentialState) -> String {
    let what = || ("what", text(l.t(what)));
    match state {
        CredentialState::NotSet => l.t_with("state-not-set", &[what()]),
        CredentialState::Set => l.t_with("state-set", &[what()]),
        CredentialState::Temporary => l.t_with("state-temporary", &[what()]),
        CredentialState::LockedUntil(until) => l.t_with(
            "state-locked-until",
            &[what(), ("until", text(time(until)))],
        ),
        CredentialState::LockedUntilReset => l.t_with("state-locked-reset", &[what()]),
    }
}

pub(crate) fn two_factor_state(l: &Lang<'_>, state: TwoFactorState) -> String {
    match state {
        TwoFactorState::Off => l.t("two-factor-state-off"),
        TwoFactorState::On { recovery_left } => l.t_with(
            "two-factor-state-on",
            &[("left", FluentValue::from(recovery_left))],
        ),
    }
}

/// The catalogue id of a rule and its number, if it has one.
fn rule_id(rejection: &Rejection) -> (&'static str, Option<usize>) {
    match rejection {
        Rejection::Pin(rule) => match rule {
            PinRejection::NotDigits => ("rule-pin-not-digits", None),
            PinRejection::TooShort { min } => ("rule-pin-too-short", Some(*min)),
            PinRejection::TooLong { max } => ("rule-pin-too-long", Some(*max)),
            PinRejection::AllSame => ("rule-pin-all-same", None),
            PinRejection::Repeated => ("rule-pin-repeated", None),
            PinRejection::Sequence => ("rule-pin-sequence", None),
            PinRejection::Common => ("rule-pin-common", None),
            PinRejection::CardDigits => ("rule-pin-card-digits", None),
            PinRejection::PhoneDigits => ("rule-pin-phone-digits", None),
            PinRejection::BirthDate => ("rule-pin-birth-date", None),
            PinRejection::PreviousPin => ("rule-pin-previous", None),
            PinRejection::TripleDigit => ("rule-pin-triple-digit", None),
            PinRejection::Pairs => ("rule-pin-pairs", None),
            PinRejection::Year => ("rule-pin-year", None),
            PinRejection::KeypadLine => ("rule-pin-keypad-line", None),
        },
        Rejection::Password(rule) => match rule {
            PasswordRejection::TooShort { min } => ("rule-password-too-short", Some(*min)),
            PasswordRejection::TooLong { max } => ("rule-password-too-long", Some(*max)),
            PasswordRejection::MissingUpper => ("rule-password-missing-upper", None),
            PasswordRejection::MissingLower => ("rule-password-missing-lower", None),
            PasswordRejection::MissingDigit => ("rule-password-missing-digit", None),
            PasswordRejection::MissingSpecial => ("rule-password-missing-special", None),
            PasswordRejection::TooGuessable { .. } => ("rule-password-too-guessable", None),
            PasswordRejection::SameAsPin => ("rule-password-same-as-pin", None),
        },
    }
}

/// A rule refusal for the patron: `auth`'s own sentence in English; the catalogue's
/// translation in another language (that sentence when it has none).
pub(crate) fn rejection(l: &Lang<'_>, rejection: &Rejection) -> String {
    let (id, number) = rule_id(rejection);
    if l.is_english() || !l.has(id) {
        return rejection.to_string();
    }
    match number {
        Some(n) => l.t_with(id, &[("n", FluentValue::from(n))]),
        None => l.t(id),
    }
}
