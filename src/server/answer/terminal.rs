//! The profile a session serves a terminal with: its identity for logs, and its per-terminal
//! protocol settings (charset, terminator, error detection, patron detail, allowed messages).
//!
//! Owns: `Profile` and the meaning of a terminal's allowed-message list. Wraps the terminal
//! profile `auth` decided on; uses `store` setting kinds and `sip2` value types.
//!
//! Allowed messages: session control (93, 99, 97) is always allowed; an empty list means the
//! messages the service table (`answer/service.rs`) allows by default. Anything not allowed gets
//! its message's negative answer, saying the terminal may not send it.

use super::service::{self, Handling};
use crate::auth::TerminalProfile;
use crate::sip2::{Charset, RequestKind, RequestSet};
use crate::store::{self, ErrorDetection, PatronDetail, Terminator};

/// How a session talks to one terminal.
#[derive(Debug, Clone)]
pub(crate) struct Profile {
    /// The terminal as `auth` admitted it (patron checks take it).
    pub(crate) terminal: TerminalProfile,
    pub(crate) charset: Charset,
    allowed: RequestSet,
}

impl Profile {
    pub(crate) fn new(terminal: TerminalProfile) -> Profile {
        let charset = match terminal.charset {
            store::Charset::Utf8 => Charset::Utf8,
            store::Charset::Latin1 => Charset::Latin1,
            store::Charset::Cp850 => Charset::Cp850,
        };
        // The store checked each code's shape; a code that names no request allows nothing.
        let allowed = terminal
            .allowed_messages
            .iter()
            .filter_map(|code| code.as_bytes().try_into().ok())
            .filter_map(RequestKind::from_code)
            .collect();
        Profile {
            terminal,
            charset,
            allowed,
        }
    }

    pub(crate) fn login_id(&self) -> &str {
        &self.terminal.login_id
    }

    pub(crate) fn institution(&self) -> &str {
        &self.terminal.institution
    }

    pub(crate) fn location(&self) -> Option<&str> {
        self.terminal.location.as_deref()
    }

    pub(crate) fn error_detection(&self) -> ErrorDetection {
        self.terminal.error_detection
    }

    pub(crate) fn terminator(&self) -> &'static [u8] {
        terminator_bytes(self.terminal.terminator)
    }

    pub(crate) fn full_detail(&self) -> bool {
        self.terminal.detail == PatronDetail::Full
    }

    /// Whether this terminal may send `request` (session control is always allowed).
    pub(crate) fn may_send(&self, request: RequestKind) -> bool {
        may_send(&self.allowed, request)
    }
}

/// Whether a terminal allowed `allowed` (empty: the default list) may send `request`.
pub(crate) fn may_send(allowed: &RequestSet, request: RequestKind) -> bool {
    match service::handling(request) {
        Handling::SessionControl => true,
        _ if allowed.is_empty() => service::allowed_by_default(request),
        _ => allowed.contains(request),
    }
}

/// Bytes ending each response.
pub(crate) fn terminator_bytes(terminator: Terminator) -> &'static [u8] {
    match terminator {
        Terminator::Cr => b"\r",
        Terminator::CrLf => b"\r\n",
    }
}
