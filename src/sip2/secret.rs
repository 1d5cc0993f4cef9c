//! Credentials carried by SIP2 messages (AC terminal password, AD patron password, CO login
//! password). They never print: `Debug` and `Display` show `[redacted]`.
//!
//! Owns: `Secret`. Must not import anything from the crate outside `sip2`.

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
    fn equality_compares_contents() {
        assert_eq!(Secret::from("a"), Secret::from("a"));
        assert_ne!(Secret::from("a"), Secret::from("ab"));
        assert!(Secret::default().is_empty());
    }
}
