//! The profile a session serves a terminal with: its identity for logs, and its per-terminal
//! protocol settings (charset, terminator, error detection, patron detail, allowed messages).
//!
//! Owns: `Profile` and the meaning of a terminal's allowed-message list. Wraps the terminal
//! profile `auth` decided on; uses `store` setting kinds and `sip2` value types.
//!
//! Allowed messages: 99 (status), 93 (login) and 97 (resend) are session control and always
//! allowed. An empty list means the authentication messages 23, 63 and 35; block patron (01)
//! must be listed to be honoured. Anything not allowed gets its message's negative answer.

use crate::auth::TerminalProfile;
use crate::sip2::message::{
    BlockPatronRequest, EndPatronSessionRequest, PatronInformationRequest, PatronStatusRequest,
};
use crate::sip2::{Charset, Request};
use crate::store::{self, ErrorDetection, PatronDetail, Terminator};

/// Request codes allowed when a terminal's list is empty. The store keeps a terminal's list as
/// two-digit codes, so the comparison is on codes.
const DEFAULT_ALLOWED: [[u8; 2]; 3] = [
    PatronStatusRequest::CODE,
    PatronInformationRequest::CODE,
    EndPatronSessionRequest::CODE,
];
/// Block Patron's request code, which a terminal's list must name to be honoured.
const BLOCK_PATRON: [u8; 2] = BlockPatronRequest::CODE;

/// How a session talks to one terminal.
#[derive(Debug, Clone)]
pub(crate) struct Profile {
    /// The terminal as `auth` admitted it (patron checks take it).
    pub(crate) terminal: TerminalProfile,
    pub(crate) charset: Charset,
}

impl Profile {
    pub(crate) fn new(terminal: TerminalProfile) -> Profile {
        let charset = match terminal.charset {
            store::Charset::Utf8 => Charset::Utf8,
            store::Charset::Latin1 => Charset::Latin1,
            store::Charset::Cp850 => Charset::Cp850,
        };
        Profile { terminal, charset }
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
    pub(crate) fn may_send(&self, request: &Request) -> bool {
        match request {
            Request::LoginRequest(_)
            | Request::ScStatusRequest(_)
            | Request::RequestAcsResend(_) => true,
            _ => self.allows_code(request.code()),
        }
    }

    /// Whether the terminal may block patrons (01), which the 98 then advertises.
    pub(crate) fn may_block_patrons(&self) -> bool {
        self.allows_code(BLOCK_PATRON)
    }

    fn allows_code(&self, code: [u8; 2]) -> bool {
        let allowed = &self.terminal.allowed_messages;
        if allowed.is_empty() {
            DEFAULT_ALLOWED.contains(&code)
        } else {
            std::str::from_utf8(&code).is_ok_and(|text| allowed.contains(text))
        }
    }
}

/// Bytes ending each response.
pub(crate) fn terminator_bytes(terminator: Terminator) -> &'static [u8] {
    match terminator {
        Terminator::Cr => b"\r",
        Terminator::CrLf => b"\r\n",
    }
}
