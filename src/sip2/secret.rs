//! Credentials carried by SIP2 messages (AC terminal password, AD patron password, CO login
//! password). They never print: `Debug` and `Display` show `[redacted]`.
//!
//! A parsed message borrows its credentials from the frame as [`SecretView`]; the owned message
//! copies them into a `Secret`.
//!
//! Owns: `Secret`, `SecretView`. Must not import anything from the crate outside `sip2`.

use std::borrow::Cow;
use std::fmt;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// A credential as text bytes (UTF-8, decoded from the terminal's charset when parsed).
/// Zeroed on drop; compared in constant time for equal lengths.
#[derive(Clone, Default)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps bytes as a secret.
    pub(crate) fn new(bytes: impl Into<Vec<u8>>) -> Secret {
        Secret(bytes.into())
    }

    /// The secret bytes. Call only where the value is actually checked.
    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Whether the field was present but empty (`AD|`).
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Secret {
        Secret(text.as_bytes().to_vec())
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Secret {
        Secret(text.into_bytes())
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Secret) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Secret {}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A credential as parsed from a frame: borrowed from it when its bytes are already text in the
/// terminal's charset, else decoded into a `Secret` (zeroed on drop). Never prints.
#[derive(Clone)]
pub struct SecretView<'a>(SecretBytes<'a>);

#[derive(Clone)]
enum SecretBytes<'a> {
    Borrowed(&'a [u8]),
    Decoded(Secret),
}

impl<'a> SecretView<'a> {
    /// The secret bytes. Call only where the value is actually checked.
    pub(crate) fn expose(&self) -> &[u8] {
        match &self.0 {
            SecretBytes::Borrowed(bytes) => bytes,
            SecretBytes::Decoded(secret) => secret.expose(),
        }
    }

    /// The owned credential.
    pub fn into_owned(self) -> Secret {
        match self.0 {
            SecretBytes::Borrowed(bytes) => Secret::new(bytes),
            SecretBytes::Decoded(secret) => secret,
        }
    }
}

impl<'a> From<Cow<'a, str>> for SecretView<'a> {
    fn from(text: Cow<'a, str>) -> SecretView<'a> {
        SecretView(match text {
            Cow::Borrowed(text) => SecretBytes::Borrowed(text.as_bytes()),
            Cow::Owned(text) => SecretBytes::Decoded(Secret::from(text)),
        })
    }
}

impl PartialEq for SecretView<'_> {
    fn eq(&self, other: &SecretView<'_>) -> bool {
        self.expose().ct_eq(other.expose()).into()
    }
}

impl Eq for SecretView<'_> {}

impl fmt::Debug for SecretView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let s = Secret::from("1234");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(s)), "Some([redacted])");
    }

    #[test]
    fn expose_returns_the_bytes() {
        assert_eq!(Secret::from("pw").expose(), b"pw");
    }

    #[test]
    fn a_view_is_redacted_and_owns_the_same_bytes() {
        let borrowed = SecretView::from(Cow::Borrowed("4931"));
        let decoded = SecretView::from(Cow::<str>::Owned("4931".into()));
        assert_eq!(format!("{borrowed:?} {decoded:?}"), "[redacted] [redacted]");
        assert_eq!(borrowed, decoded);
        assert_eq!(borrowed.expose(), b"4931");
        assert_eq!(decoded.into_owned(), Secret::from("4931"));
        assert_eq!(borrowed.into_owned(), Secret::from("4931"));
    }

    #[test]
    fn equality_compares_contents() {
        assert_eq!(Secret::from("a"), Secret::from("a"));
        assert_ne!(Secret::from("a"), Secret::from("ab"));
        assert!(Secret::default().is_empty());
    }
}
