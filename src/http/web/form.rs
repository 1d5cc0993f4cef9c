//! An `application/x-www-form-urlencoded` body, parsed strictly at the edge: percent-decoding
//! that must give UTF-8 (no silent replacement characters), at most [`MAX_FIELDS`] fields, and
//! a named refusal for each problem. Secret fields are taken out as `SecretString` and the
//! decoded buffers are zeroed when dropped.
//!
//! Uses nothing else in the crate.

use std::collections::HashMap;

use percent_encoding::percent_decode;
use secrecy::SecretString;
use zeroize::Zeroizing;

/// A form has at most this many fields.
const MAX_FIELDS: usize = 16;

/// Why a form body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FormError {
    #[error("the form is not valid UTF-8 text")]
    NotUtf8,
    #[error("the form has too many fields")]
    TooManyFields,
    #[error("the form lacks the field {0}")]
    Missing(&'static str),
}

/// The decoded fields of one form. `Debug` shows the names only.
pub(crate) struct Form {
    fields: HashMap<String, Zeroizing<String>>,
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.fields.keys()).finish()
    }
}

fn decode(part: &str) -> Result<Zeroizing<String>, FormError> {
    let spaced = Zeroizing::new(part.replace('+', " "));
    let bytes = Zeroizing::new(percent_decode(spaced.as_bytes()).collect::<Vec<u8>>());
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(FormError::NotUtf8),
    }
}

impl Form {
    /// Parses a body; the first of repeated names wins.
    pub(crate) fn parse(body: &[u8]) -> Result<Form, FormError> {
        let text = std::str::from_utf8(body).map_err(|_| FormError::NotUtf8)?;
        let mut fields = HashMap::new();
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            if fields.len() >= MAX_FIELDS {
                return Err(FormError::TooManyFields);
            }
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(name)?;
            let value = decode(value)?;
            fields.entry(name.to_string()).or_insert(value);
        }
        Ok(Form { fields })
    }

    /// A field that must be present (it may be empty).
    pub(crate) fn text(&self, name: &'static str) -> Result<&str, FormError> {
        self.fields
            .get(name)
            .map(|v| v.as_str())
            .ok_or(FormError::Missing(name))
    }

    /// A secret field that must be present (it may be empty).
    pub(crate) fn secret(&self, name: &'static str) -> Result<SecretString, FormError> {
        self.text(name).map(|v| SecretString::from(v.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn fields_are_percent_and_plus_decoded() {
        let form = Form::parse(b"card=2123+4&pin=%34%39%33%31&empty=").expect("form");
        assert_eq!(form.text("card"), Ok("2123 4"));
        assert_eq!(form.secret("pin").expect("pin").expose_secret(), "4931");
        assert_eq!(form.text("empty"), Ok(""));
        assert_eq!(form.text("other"), Err(FormError::Missing("other")));
    }

    #[test]
    fn invalid_utf8_is_refused_raw_or_percent_encoded() {
        assert_eq!(Form::parse(b"card=\xff").unwrap_err(), FormError::NotUtf8);
        assert_eq!(Form::parse(b"card=%ff%fe").unwrap_err(), FormError::NotUtf8);
    }

    #[test]
    fn a_form_with_too_many_fields_is_refused() {
        let body = (0..40)
            .map(|i| format!("f{i}=x"))
            .collect::<Vec<_>>()
            .join("&");
        assert_eq!(
            Form::parse(body.as_bytes()).unwrap_err(),
            FormError::TooManyFields
        );
    }

    #[test]
    fn debug_shows_no_value() {
        let form = Form::parse(b"pin=4931").expect("form");
        assert!(!format!("{form:?}").contains("4931"));
    }
}
