//! Every patron-facing sentence of the web pages, in one place (English), so that the pages
//! hold no text of their own. Rule refusals come from `auth` (the same sentences as the command
//! line and the import).
//!
//! Uses `accounts` and `auth` value types only.

use chrono::{DateTime, NaiveDate, Utc};

use crate::accounts::web::{CredentialState, StandingNote};

pub(crate) const LOG_IN: &str = "Log in to My Account";
pub(crate) const LOG_IN_BUTTON: &str = "Log in";
pub(crate) const LOG_OUT: &str = "Log out";
pub(crate) const MY_ACCOUNT: &str = "My Account";
pub(crate) const CARD: &str = "Library card number";
pub(crate) const CARD_HINT: &str = "The number under the barcode on your card.";
pub(crate) const PIN: &str = "PIN";
pub(crate) const PASSWORD: &str = "Online password";
pub(crate) const EITHER: &str = "PIN or online password";
pub(crate) const SHOW: &str = "Show";
pub(crate) const PROBLEM: &str = "There is a problem";
pub(crate) const NEUTRAL: &str =
    "The card number or the PIN/password is not right. Check both and try again.";
pub(crate) const ENTER_CARD: &str = "Enter your library card number.";
pub(crate) const ENTER_SECRET: &str = "Enter your PIN or online password.";
pub(crate) const CHANGE_PIN: &str = "Change PIN";
pub(crate) const CHANGE_PASSWORD: &str = "Change online password";
pub(crate) const OLD_PIN: &str = "Current PIN";
pub(crate) const OLD_PASSWORD: &str = "Current online password";
pub(crate) const OLD_PIN_FOR_PASSWORD: &str = "Your PIN";
pub(crate) const OLD_PIN_FOR_PASSWORD_HINT: &str =
    "You have no online password yet: confirm with your PIN.";
pub(crate) const NEW_PIN: &str = "New PIN";
pub(crate) const NEW_PIN_HINT: &str =
    "4 to 12 digits; no repeats or sequences such as 1212, 2222 or 1234.";
pub(crate) const CONFIRM_PIN: &str = "New PIN again";
pub(crate) const NEW_PASSWORD: &str = "New online password";
pub(crate) const NEW_PASSWORD_HINT: &str =
    "At least 8 characters with upper and lower case, a digit and a special character; not your PIN.";
pub(crate) const CONFIRM_PASSWORD: &str = "New online password again";
pub(crate) const SAVE_PIN: &str = "Change PIN";
pub(crate) const SAVE_PASSWORD: &str = "Change online password";
pub(crate) const WRONG_OLD: &str = "This is not your current one. Check it and try again.";
pub(crate) const ENTER_OLD: &str = "Enter your current one.";
pub(crate) const ENTER_NEW: &str = "Enter the new one.";
pub(crate) const MISMATCH: &str = "The two entries are not the same. Type the new one twice.";
pub(crate) const DIFFERENCE: &str = "Your PIN is what self-checks and PC booking take; the online \
    password is separate from it and is what the web uses.";
pub(crate) const MUST_CHANGE_PIN: &str =
    "Your PIN is temporary. Choose a new PIN now: you can use My Account once it is changed.";
pub(crate) const MUST_CHANGE_PASSWORD: &str = "Your online password is temporary. Choose a new \
    one now: you can use My Account once it is changed.";
pub(crate) const CHANGED_PIN: &str =
    "Your PIN is changed. Use the new PIN from now on, here and at the self-check.";
pub(crate) const CHANGED_PASSWORD: &str = "Your online password is changed.";
pub(crate) const SIGNED_OUT_OTHERS: &str = "Every other session is signed out.";
pub(crate) const SESSION_ENDED: &str =
    "Your session ended (for your safety, after a while without use). Log in again.";
pub(crate) const LOGGED_OUT_TITLE: &str = "You are logged out";
pub(crate) const LOGGED_OUT: &str =
    "You are logged out. On a shared computer, also close the browser window.";
pub(crate) const LOG_IN_AGAIN: &str = "Log in again";
pub(crate) const LOCKED_TITLE: &str = "Account locked";
pub(crate) const LOCKED_RESET: &str =
    "Too many wrong attempts. It stays locked until library staff unlock it or you reset it online.";
pub(crate) const LOCK_HELP: &str =
    "Library staff can unlock it at any desk, and a PIN reset unlocks it too.";
pub(crate) const TEMPORARY_EXPIRED: &str =
    "Your temporary PIN has expired. Please ask library staff for a new one.";
pub(crate) const RESET_REQUIRED: &str =
    "Your PIN must be reset before you can log in. Please ask library staff.";
pub(crate) const TOO_MANY_TITLE: &str = "Too many attempts";
pub(crate) const BUSY_TITLE: &str = "Busy";
pub(crate) const BUSY: &str = "The service is busy. Please try again in a few seconds.";
pub(crate) const UNAVAILABLE_TITLE: &str = "Service unavailable";
pub(crate) const UNAVAILABLE: &str = "The service is unavailable. Please try again later.";
pub(crate) const BAD_REQUEST_TITLE: &str = "The form could not be read";
pub(crate) const BAD_CARD: &str = "A library card number has 1 to 64 letters or digits, without \
    spaces, | or control characters. Go back and check it.";
pub(crate) const BAD_FORM: &str =
    "The form sent could not be read. Go back, reload the page and try again.";
pub(crate) const FORBIDDEN_TITLE: &str = "The form has expired";
pub(crate) const FORBIDDEN: &str = "For your safety this form could not be accepted (it may be \
    old, or sent from another site). Reload the page and try again.";
pub(crate) const TOO_LARGE_TITLE: &str = "Too much data";
pub(crate) const TOO_LARGE: &str = "The form sent was too large.";
pub(crate) const NOT_FOUND_TITLE: &str = "Page not found";
pub(crate) const NOT_FOUND: &str = "There is no page at this address.";
pub(crate) const BACK_TO_START: &str = "Go to My Account";
pub(crate) const NAME: &str = "Name";
pub(crate) const CARD_SHORT: &str = "Card";
pub(crate) const STANDING: &str = "Standing";
pub(crate) const EXPIRES: &str = "Card valid until";
pub(crate) const NO_EXPIRY: &str = "No expiry date";
pub(crate) const FINES: &str = "Fines owed";
pub(crate) const FINE_LIMIT: &str = "Borrowing stops above";
pub(crate) const NO_LIMIT: &str = "No limit";
pub(crate) const SESSIONS: &str = "Where you are logged in";
pub(crate) const THIS_SESSION: &str = "this browser";
pub(crate) const STARTED: &str = "logged in";
pub(crate) const LAST_USED: &str = "last used";
pub(crate) const SIGN_OUT_OTHERS: &str = "Sign out everywhere else";
pub(crate) const UNKNOWN_BROWSER: &str = "Unknown browser";

/// A time as patrons read it: date and minutes, UTC.
pub(crate) fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub(crate) fn date(on: NaiveDate) -> String {
    on.format("%Y-%m-%d").to_string()
}

pub(crate) fn locked_until(until: DateTime<Utc>) -> String {
    format!(
        "Too many wrong attempts. Your account is locked until {}; you can try again then.",
        time(until)
    )
}

pub(crate) fn retry_in(seconds: i64) -> String {
    let minutes = (seconds + 59) / 60;
    format!("Too many log-in attempts. Please try again in {minutes} minute(s).")
}

pub(crate) fn standing(note: &StandingNote) -> String {
    match note {
        StandingNote::Good => "Good: you can use every service.".into(),
        StandingNote::ExpiresSoon { days, on } => {
            format!(
                "Your card expires in {days} day(s), on {}. Renew it at a desk.",
                date(*on)
            )
        }
        StandingNote::Expired { on } => {
            format!("Your card expired on {}. Renew it at a desk.", date(*on))
        }
        StandingNote::Blocked { reason: Some(r) } => {
            format!("Your account is blocked: {r}. Please see staff.")
        }
        StandingNote::Blocked { reason: None } => {
            "Your account is blocked. Please see staff.".into()
        }
        StandingNote::CardLost => {
            "This card is reported lost. Please see staff for a new one.".into()
        }
        StandingNote::FinesOverLimit => {
            "Your fines are over the limit: borrowing is stopped until they are paid.".into()
        }
    }
}

pub(crate) fn credential_state(what: &str, state: CredentialState) -> String {
    match state {
        CredentialState::NotSet => format!("{what}: not set"),
        CredentialState::Set => format!("{what}: set"),
        CredentialState::Temporary => format!("{what}: temporary, please change it"),
        CredentialState::LockedUntil(until) => format!("{what}: locked until {}", time(until)),
        CredentialState::LockedUntilReset => {
            format!("{what}: locked until staff unlock it or it is reset")
        }
    }
}
pub(crate) const HIDE: &str = "Hide";
pub(crate) const SKIP: &str = "Skip to the content";
pub(crate) const CREDENTIALS: &str = "PIN and online password";
