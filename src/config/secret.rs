//! Secrets held in the configuration: the database URL (which may carry a password) and the
//! pepper key's hex from the environment. Both keep their text in a `secrecy` box (zeroed on
//! drop) and print redacted in `Debug`, so a logged or printed `Config` never shows them; code
//! that needs the text asks for it with `expose_secret`.
//!
//! Uses nothing else in the crate.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// A secret text (the pepper hex). `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct SecretText(SecretString);

impl SecretText {
    pub(crate) fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl From<String> for SecretText {
    fn from(text: String) -> Self {
        Self(SecretString::from(text))
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Compared only when whole configurations are compared (tests of the loader).
impl PartialEq for SecretText {
    fn eq(&self, other: &Self) -> bool {
        self.expose_secret() == other.expose_secret()
    }
}

/// `database.url`: `sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB`. `Debug` shows a SQLite
/// URL whole (a path is no secret) and only the scheme of any other.
#[derive(Clone, Deserialize)]
#[serde(from = "String")]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    pub(crate) fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    pub(crate) fn starts_with(&self, prefix: &str) -> bool {
        self.expose_secret().starts_with(prefix)
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> Self {
        Self(SecretString::from(url))
    }
}

impl From<&str> for DatabaseUrl {
    fn from(url: &str) -> Self {
        Self::from(url.to_owned())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.expose_secret();
        if url.starts_with("sqlite:") {
            return write!(f, "{url:?}");
        }
        match url.split_once("://") {
            Some((scheme, _)) => write!(f, "\"{scheme}://[redacted]\""),
            None => f.write_str("[redacted]"),
        }
    }
}

impl PartialEq for DatabaseUrl {
    fn eq(&self, other: &Self) -> bool {
        self.expose_secret() == other.expose_secret()
    }
}

impl PartialEq<&str> for DatabaseUrl {
    fn eq(&self, other: &&str) -> bool {
        self.expose_secret() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_database_password_or_the_pepper() {
        let url = DatabaseUrl::from("postgres://sip2auth:hunter2@db.example/sip2auth");
        let shown = format!("{url:?}");
        assert_eq!(shown, "\"postgres://[redacted]\"");
        assert!(!shown.contains("hunter2") && !shown.contains("db.example"));
        assert_eq!(
            url.expose_secret(),
            "postgres://sip2auth:hunter2@db.example/sip2auth"
        );
        let unparsed = DatabaseUrl::from("user:hunter2@db");
        assert!(!format!("{unparsed:?}").contains("hunter2"));
        let sqlite = DatabaseUrl::from("sqlite://sip2auth.db");
        assert_eq!(format!("{sqlite:?}"), "\"sqlite://sip2auth.db\"");

        let hex = "a1".repeat(32);
        let pepper = SecretText::from(hex.clone());
        assert_eq!(format!("{pepper:?}"), "[redacted]");
        assert_eq!(pepper.expose_secret(), hex);
    }
}
