//! A login id from the wire as logs and the audit log show it: the one rule for every line and
//! record that names the login id of a failed or penalised 93. A login id the store does not
//! know can be anything a client sent (16,000 bytes, or a password typed into the login field),
//! so at most [`SHOWN_LOGIN_ID_CHARS`] characters of it are kept, never past a login password
//! (CO) swallowed by a missing delimiter, and the cut is marked.
//!
//! Pure; uses `sip2`'s field table only. Must not import `store`, `server` or `accounts`.

use std::fmt;

use crate::sip2::field::swallowed_secret;

/// Characters of a login id from the wire that a log line or an audit record keeps.
pub(crate) const SHOWN_LOGIN_ID_CHARS: usize = 64;

/// A login id cut for logs and audit records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownLoginId {
    /// The kept characters.
    pub(crate) text: String,
    /// Something was cut off.
    pub(crate) truncated: bool,
}

impl ShownLoginId {
    /// `login_id` as received: cut before a swallowed credential identifier, then to
    /// [`SHOWN_LOGIN_ID_CHARS`] characters.
    pub(crate) fn of(login_id: &str) -> ShownLoginId {
        let end = swallowed_secret(login_id.as_bytes()).unwrap_or(login_id.len());
        let text: String = login_id
            .char_indices()
            .take_while(|(at, _)| *at < end)
            .take(SHOWN_LOGIN_ID_CHARS)
            .map(|(_, c)| c)
            .collect();
        let truncated = text.len() < login_id.len();
        ShownLoginId { text, truncated }
    }
}

impl fmt::Display for ShownLoginId {
    /// The kept characters, followed by ` [truncated]` when something was cut (the audit
    /// record's actor).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        if self.truncated {
            f.write_str(" [truncated]")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_ids_are_cut_to_64_characters_and_marked() {
        let long = "é".repeat(16_000);
        let shown = ShownLoginId::of(&long);
        assert_eq!(shown.text.chars().count(), SHOWN_LOGIN_ID_CHARS);
        assert!(shown.truncated);
        assert!(shown.to_string().ends_with(" [truncated]"));
        let short = ShownLoginId::of("sc_user");
        assert_eq!(short.to_string(), "sc_user");
        assert!(!short.truncated);
    }

    #[test]
    fn a_swallowed_login_password_is_never_kept() {
        let shown = ShownLoginId::of("sc_userCOk7Qp2vXe9LmT4wZs");
        assert_eq!(shown.text, "sc_user");
        assert!(shown.truncated);
    }
}
