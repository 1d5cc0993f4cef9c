//! A set of request kinds, as a terminal's allowed-message list is written: two-digit command
//! codes separated by spaces and/or commas (`"23 63"`, `"23,63,35"`), shown space-separated in
//! code order.
//!
//! Owns: `RequestSet` and its text form. Only codes of the request table are accepted; the
//! meaning of a set (what an empty one allows) belongs to the server. Must not import anything
//! from the crate outside `sip2`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use super::request::RequestKind;

/// Request kinds, ordered by command code.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestSet(BTreeSet<[u8; 2]>);

/// Text given as a request set that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestSetError {
    #[error("{0:?} is not a message code (expected two ASCII digits)")]
    NotACode(String),
    #[error("{0:?} is not the code of a SIP2 request")]
    NotARequest(String),
}

impl RequestSet {
    /// The set of these kinds.
    pub(crate) fn of(kinds: impl IntoIterator<Item = RequestKind>) -> RequestSet {
        RequestSet(kinds.into_iter().map(RequestKind::code).collect())
    }

    pub fn contains(&self, kind: RequestKind) -> bool {
        self.0.contains(&kind.code())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The kinds, in code order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = RequestKind> + '_ {
        self.0
            .iter()
            .filter_map(|code| RequestKind::from_code(*code))
    }
}

impl FromIterator<RequestKind> for RequestSet {
    fn from_iter<I: IntoIterator<Item = RequestKind>>(kinds: I) -> RequestSet {
        RequestSet::of(kinds)
    }
}

impl FromStr for RequestSet {
    type Err = RequestSetError;

    /// Parses codes separated by spaces and/or commas; the empty text is the empty set.
    fn from_str(text: &str) -> Result<RequestSet, RequestSetError> {
        let mut set = BTreeSet::new();
        for code in text.split([' ', ',']).filter(|c| !c.is_empty()) {
            let bytes: [u8; 2] = code
                .as_bytes()
                .try_into()
                .ok()
                .filter(|b: &[u8; 2]| b.iter().all(u8::is_ascii_digit))
                .ok_or_else(|| RequestSetError::NotACode(code.to_owned()))?;
            let kind = RequestKind::from_code(bytes)
                .ok_or_else(|| RequestSetError::NotARequest(code.to_owned()))?;
            set.insert(kind.code());
        }
        Ok(RequestSet(set))
    }
}

impl fmt::Display for RequestSet {
    /// Codes separated by single spaces, in code order (the empty set is the empty text).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, code) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(&String::from_utf8_lossy(code))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_in_code_order() {
        let set: RequestSet = "63,23 01".parse().expect("a set");
        assert_eq!(set.to_string(), "01 23 63");
        assert!(set.contains(RequestKind::BlockPatronRequest));
        assert!(!set.contains(RequestKind::EndPatronSessionRequest));
        assert_eq!(set.to_string().parse::<RequestSet>(), Ok(set));
        assert_eq!("".parse::<RequestSet>(), Ok(RequestSet::default()));
    }

    #[test]
    fn codes_outside_the_request_table_are_refused() {
        assert!(matches!(
            "6".parse::<RequestSet>(),
            Err(RequestSetError::NotACode(_))
        ));
        assert!(matches!(
            "١٢".parse::<RequestSet>(),
            Err(RequestSetError::NotACode(_))
        ));
        assert!(matches!(
            "94".parse::<RequestSet>(),
            Err(RequestSetError::NotARequest(_))
        ));
    }
}
